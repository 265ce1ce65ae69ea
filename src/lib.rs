pub mod argo;
pub mod cli;
pub mod environment;
pub mod graph;
pub mod output;
pub mod pipeline;
