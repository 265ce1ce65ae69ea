//! Following a local run's log files for `logs [-f]`: reads what each job wrote since the last
//! look (bytes, passed on unchanged: a program may print any bytes, and a multi-byte character
//! split across two reads stays whole), and with `follow` keeps looking every 200 ms until the
//! run is no longer running. Hands output to its caller; never prints.

use std::io::{Read as _, Seek as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::record::{self, RecordError, RunRecord};
use crate::events::RunStatus;

/// How often a followed run's logs and record are looked at again.
const POLL: Duration = Duration::from_millis(200);

/// What the caller is handed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TailPiece {
    /// New output of a job: whole lines while the job may still write the rest of a line.
    Output { job: String, bytes: Vec<u8> },
    /// A job that ran has no log file at `path` (deleted, or the disk was lost): said once.
    Missing { job: String, path: PathBuf },
}

/// Hands out (through `show`) the logs of `jobs` (name, log file) of the run in `dir` whose
/// record is `run`; with `follow`, keeps handing out new output until the run ends. Returns the
/// run's status as last read.
pub(crate) fn tail(
    dir: &Path,
    mut run: RunRecord,
    jobs: &[(String, PathBuf)],
    follow: bool,
    mut show: impl FnMut(TailPiece),
) -> Result<RunStatus, RecordError> {
    let mut offsets = vec![0u64; jobs.len()];
    let mut pending: Vec<Vec<u8>> = vec![Vec::new(); jobs.len()];
    let mut missing = vec![false; jobs.len()];
    loop {
        let live = run.status == RunStatus::Running;
        for (i, (job, path)) in jobs.iter().enumerate() {
            let ran = run.jobs.iter().any(|j| &j.name == job && j.attempts > 0);
            let Ok(mut file) = std::fs::File::open(path) else {
                // Not written yet while the run goes on; gone once it has ended.
                if ran && !live && !missing[i] {
                    missing[i] = true;
                    show(TailPiece::Missing {
                        job: job.clone(),
                        path: path.clone(),
                    });
                }
                continue;
            };
            if file.seek(std::io::SeekFrom::Start(offsets[i])).is_err() {
                continue;
            }
            let read = file.read_to_end(&mut pending[i]).unwrap_or(0);
            offsets[i] += read as u64;
            let keep = if live && follow {
                pending[i]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1)
            } else {
                pending[i].len()
            };
            if keep > 0 {
                let bytes: Vec<u8> = pending[i].drain(..keep).collect();
                show(TailPiece::Output {
                    job: job.clone(),
                    bytes,
                });
            }
        }
        if !(follow && live) {
            return Ok(run.status);
        }
        std::thread::sleep(POLL);
        run = record::load(dir)?;
    }
}
