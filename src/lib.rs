//! jupyterflow: run a notebook's code as an Argo Workflows pipeline on Kubernetes, or locally.
//! The data flows input → pipeline (validated DAG) → environment → backend → printer.

pub mod environment;
pub mod pipeline;
