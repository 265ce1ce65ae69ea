//! `jupyterflow exec-job` (hidden): what a cluster job's container runs. Hands the job to its
//! supervisor with this process's stdout and stderr as the job's, says why the volume has no
//! copy of its output when it has none, and exits as the job did.

use std::os::fd::AsFd as _;

use crate::error::Error;
use crate::local::log_pump::{Direct, Tee};
use crate::local::supervisor::{self, JobSpec};
use crate::printer::Printer;

pub(super) fn exec_job(job: &JobSpec, printer: &mut Printer) -> Result<u8, Error> {
    // Worker threads of its own: the pipes, the log and the signals are served side by side,
    // and a write that blocks (see `log_pump::Direct`) holds one worker, not the others. The
    // child is started from this thread (the future below runs here), which lives as long as
    // the process: the child's parent-death signal follows the thread that forked it.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let done = runtime.block_on(async {
        let tees = [
            own(std::io::stdout().as_fd()),
            own(std::io::stderr().as_fd()),
        ];
        Ok::<_, Error>(supervisor::supervise(job, tees).await?)
    })?;
    for note in &done.notes {
        printer.warning(&format!("jupyterflow: {note}"), None);
    }
    Ok(supervisor::exit_status(done.exit))
}

/// A writer of its own onto this process's stdout or stderr (written unbuffered, unlike
/// Rust's line-buffered stdout), or one that drops everything when the descriptor is closed.
fn own(fd: std::os::fd::BorrowedFd<'_>) -> Tee {
    match fd.try_clone_to_owned() {
        Ok(fd) => Box::new(Direct(std::fs::File::from(fd))),
        Err(_) => Box::new(tokio::io::sink()),
    }
}
