//! The pipeline: what the user wrote (`-c` one-liner or workflow.yaml) parsed into a `Pipeline`,
//! then checked into a `Dag` every later stage trusts. Pure data and parsing: no I/O, no
//! Kubernetes, no processes. This file only declares and re-exports.

pub mod command;
pub(crate) mod cron;
pub mod dag;
pub mod error;
pub(crate) mod names;
pub mod notebook;
pub mod one_liner;
pub mod params;
pub(crate) mod programs;
pub(crate) mod quantity;
pub mod selection;
pub mod spec;
#[cfg(test)]
pub(crate) mod testing;
pub mod workflow_file;

pub use command::{CommandMode, CommandTemplate, Segment, Word};
pub use dag::{Dag, Job, Task};
pub use params::{Param, ParamMap, ParamSet};
pub use spec::{
    Axis, ConcurrencyPolicy, EdgeSpec, JobRef, JobSpec, NotebookEngine, Pipeline, Pos,
    ResourceSpec, Source, TolerationSpec, WorkflowOptions,
};
