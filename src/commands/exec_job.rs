//! `jupyterflow exec-job` (hidden): what a cluster job's container runs. Hands the job to its
//! supervisor with this process's stdout and stderr as the job's, says why the volume has no
//! copy of its output when it has none, and exits as the job did.

use std::os::fd::AsFd as _;

use crate::error::Error;
use crate::local::log_pump::Tee;
use crate::local::supervisor::{self, JobSpec};
use crate::printer::Printer;

pub(super) fn exec_job(job: &JobSpec, printer: &mut Printer) -> Result<u8, Error> {
    let done = super::block_on(async {
        let tees = [
            own(std::io::stdout().as_fd()),
            own(std::io::stderr().as_fd()),
        ];
        Ok(supervisor::supervise(job, tees).await?)
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
        Ok(fd) => Box::new(tokio::fs::File::from_std(std::fs::File::from(fd))),
        Err(_) => Box::new(tokio::io::sink()),
    }
}
