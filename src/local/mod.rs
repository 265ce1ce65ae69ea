//! The local engine: runs a pipeline as processes on this machine, the way Argo would run it
//! as pods. Split in layers so each can be tested on its own:
//!
//! - [`Plan`]: the pure job list built from a `Dag` — names, exact argv (the same words
//!   Argo runs), environment, retries, timeout, and the job-level dependency graph.
//! - [`scheduler`]: pure rules for which job starts next (fail-fast / keep-going, parallelism).
//! - [`executor`]: tokio I/O — processes, process groups, logs, retries, timeouts, cancellation.
//! - [`record`]: the `run.json` run record, written atomically on every state change.
//! - [`run_folder`]: a cluster run's folder on the shared volume (the same layout), which
//!   `run` starts and each job's supervisor fills in.
//! - [`run_local`] (`runner`): ties executor and record together for the CLI.
//! - [`supervisor`]: `exec-job`, one cluster job run under jupyterflow so its output is kept
//!   on the shared volume too (the same process and log code).
//! - `log_pump`: job output into log files (and lines for the live view); `signals`: Ctrl-C and
//!   friends as a cancel handle; `tail`: following a run's log files for `logs -f`.

pub(crate) mod executor;
pub(crate) mod log_pump;
pub(crate) mod plan;
mod process;
pub(crate) mod record;
pub(crate) mod run_folder;
mod runner;
pub(crate) mod scheduler;
pub(crate) mod signals;
pub(crate) mod supervisor;
pub(crate) mod tail;

pub(crate) use executor::{DEFAULT_KILL_GRACE, ExecOptions};
pub(crate) use plan::{Plan, PlannedJob, parallelism};
pub(crate) use record::executed_notebook;
pub(crate) use runner::{LocalError, create_run, run_local};
pub(crate) use scheduler::FailurePolicy;
pub(crate) use signals::cancel_on_signals;
