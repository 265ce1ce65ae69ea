pub mod argo;
pub mod cli;
pub mod environment;
pub mod events;
pub mod graph;
pub mod local;
pub mod output;
pub mod pipeline;
