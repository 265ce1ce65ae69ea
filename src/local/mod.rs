//! The local engine: runs a pipeline as processes on this machine, the way Argo would run it
//! as pods. Split in layers so each can be tested on its own:
//!
//! - [`Plan`]: the pure job list built from a `Dag` — names, exact argv (the same words
//!   Argo runs), environment, retries, timeout, and the job-level dependency graph.
//! - [`scheduler`]: pure rules for which job starts next (fail-fast / keep-going, parallelism).
//! - [`executor`]: tokio I/O — processes, process groups, logs, retries, timeouts, cancellation.
//! - [`record`]: the `run.json` run record, written atomically on every state change.
//! - [`run_local`] (`runner`): ties executor and record together for the CLI.
//! - `log_pump`: job output into log files (and lines for the live view); `signals`: Ctrl-C and
//!   friends as a cancel handle; `tail`: following a run's log files for `logs -f`.

pub mod executor;
mod log_pump;
pub(crate) mod plan;
mod process;
pub mod record;
mod runner;
pub mod scheduler;
pub mod signals;
pub mod tail;

pub use executor::{
    Backoff, DEFAULT_KILL_GRACE, ExecError, ExecOptions, JobResult, RunOutcome, execute,
};
pub use plan::{Plan, PlannedJob, parallelism};
pub use record::{JobRecord, RecordError, RunRecord};
pub use runner::{LocalError, LocalRun, run_local};
pub use scheduler::FailurePolicy;
pub use signals::cancel_on_signals;
