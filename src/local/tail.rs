//! Following a local run's log files for `logs [-f]`: reads what each job wrote since the last
//! look (bytes, so a multi-byte character split across two reads stays whole), and with `follow`
//! keeps looking every 200 ms until the run is no longer running. Hands text to its caller; never
//! prints.

use std::io::{Read as _, Seek as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::record::{self, RecordError, RunRecord};
use crate::events::RunStatus;

/// How often a followed run's logs and record are looked at again.
const POLL: Duration = Duration::from_millis(200);

/// Prints (through `show(job, text)`) the logs of `jobs` (name, log file) of `run`, kept in
/// `runs_dir`; with `follow`, keeps printing new output until the run ends. Returns the run's
/// status as last read.
pub(crate) fn tail(
    runs_dir: &Path,
    mut run: RunRecord,
    jobs: &[(String, PathBuf)],
    follow: bool,
    mut show: impl FnMut(&str, &str),
) -> Result<RunStatus, RecordError> {
    let mut offsets = vec![0u64; jobs.len()];
    // Bytes, not text: a multi-byte character may arrive split across two reads.
    let mut pending: Vec<Vec<u8>> = vec![Vec::new(); jobs.len()];
    loop {
        let live = run.status == RunStatus::Running;
        for (i, (job, path)) in jobs.iter().enumerate() {
            let Ok(mut file) = std::fs::File::open(path) else {
                continue;
            };
            if file.seek(std::io::SeekFrom::Start(offsets[i])).is_err() {
                continue;
            }
            let read = file.read_to_end(&mut pending[i]).unwrap_or(0);
            offsets[i] += read as u64;
            // Whole lines only while the job may still write the rest of a line.
            let keep = if live && follow {
                pending[i]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1)
            } else {
                pending[i].len()
            };
            let text = String::from_utf8_lossy(&pending[i][..keep]).into_owned();
            pending[i].drain(..keep);
            show(job, &text);
        }
        if !(follow && live) {
            return Ok(run.status);
        }
        std::thread::sleep(POLL);
        run = record::load(&runs_dir.join(&run.id))?;
    }
}
