//! The run record: `<runs_dir>/<run-id>/run.json`, what `runs list`/`logs`/`status` read
//! later. Rewritten atomically (temp file in the same folder, fsync, rename) on every job
//! state change, so readers — and a user after `kill -9` of the tool — always find a complete
//! JSON file. A record still saying Running whose writer process is gone reads as Interrupted.

use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::Plan;
use crate::events::{Exit, JobPhase, RunStatus};
use crate::pipeline::Source;
use crate::time;

/// Where local runs are kept, relative to the working directory, unless the config's `log_dir`
/// says otherwise.
pub(crate) const DEFAULT_RUNS_DIR: &str = ".jupyterflow/runs";
/// The record's file name inside the run folder.
pub(crate) const RECORD_FILE: &str = "run.json";
/// Bumped on incompatible changes, so an old reader can refuse instead of misreading.
const FORMAT_VERSION: u32 = 1;

/// Why a record could not be read, written or deleted.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RecordError {
    #[error("cannot read the run record {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the run record {} is not valid: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write the run record {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no run `{id}` in {}", runs_dir.display())]
    NotFound { id: String, runs_dir: PathBuf },
    #[error("`{id}` is not a run id")]
    InvalidId { id: String },
    #[error("run `{id}` is still running (pid {pid}); stop it first")]
    StillRunning { id: String, pid: u32 },
    #[error("cannot delete run folder {}: {source}", path.display())]
    Delete {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where the pipeline came from, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RecordSource {
    /// The `-c` text.
    CommandLine(String),
    File(PathBuf),
}

impl RecordSource {
    /// The `-c` text or the file path, for tables and summaries.
    pub(crate) fn text(&self) -> String {
        match self {
            RecordSource::CommandLine(text) => text.clone(),
            RecordSource::File(path) => path.display().to_string(),
        }
    }
}

impl From<&Source> for RecordSource {
    fn from(source: &Source) -> Self {
        match source {
            Source::CommandLine(text) => RecordSource::CommandLine(text.clone()),
            Source::File(path) => RecordSource::File(path.clone()),
        }
    }
}

/// One run, as stored in `run.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RunRecord {
    pub version: u32,
    pub id: String,
    /// The workflow name (the id's prefix).
    pub name: String,
    pub source: RecordSource,
    pub workdir: PathBuf,
    pub status: RunStatus,
    /// RFC 3339, UTC.
    pub started: String,
    pub finished: Option<String>,
    /// The process that runs (ran) it, to tell a live run from an interrupted one.
    pub pid: u32,
    /// When that process started (clock ticks since boot, from /proc): pids are reused, so a
    /// live pid with another start time is not our run.
    #[serde(default)]
    pub pid_started: Option<u64>,
    pub jobs: Vec<JobRecord>,
}

/// One job of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JobRecord {
    pub name: String,
    pub task: String,
    pub argv: Vec<String>,
    pub phase: JobPhase,
    pub attempts: u32,
    pub started: Option<String>,
    pub finished: Option<String>,
    pub exit: Option<Exit>,
    pub reason: Option<String>,
    pub log: PathBuf,
}

impl RunRecord {
    /// A fresh record: status Running, every job Pending, logs under `log_dir`.
    pub(crate) fn new(id: String, plan: &Plan, workdir: PathBuf, log_dir: &Path) -> Self {
        RunRecord {
            version: FORMAT_VERSION,
            id,
            name: plan.name.clone(),
            source: RecordSource::from(&plan.source),
            workdir,
            status: RunStatus::Running,
            started: time::format(SystemTime::now()),
            finished: None,
            pid: std::process::id(),
            pid_started: process_start_time(std::process::id()),
            jobs: plan
                .jobs
                .iter()
                .map(|job| JobRecord {
                    name: job.name.clone(),
                    task: job.task.clone(),
                    argv: job.argv.clone(),
                    phase: JobPhase::Pending,
                    attempts: 0,
                    started: None,
                    finished: None,
                    exit: None,
                    reason: None,
                    log: log_dir.join(format!("{}.log", job.name)),
                })
                .collect(),
        }
    }

    /// Writes `<dir>/run.json` atomically: a reader sees the old or the new record, whole.
    pub(crate) fn save(&self, dir: &Path) -> Result<(), RecordError> {
        let path = dir.join(RECORD_FILE);
        let error = |source| RecordError::Write {
            path: path.clone(),
            source,
        };
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| error(e.into()))?;
        json.push(b'\n');
        // Unique per process so two writers (which should not exist) cannot share a temp file.
        let temp = dir.join(format!(".{RECORD_FILE}.{}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut file = fs::File::create(&temp)?;
            file.write_all(&json)?;
            file.sync_all()?;
            fs::rename(&temp, &path)?;
            // Make the rename itself durable; not all filesystems allow syncing a folder.
            if let Ok(folder) = fs::File::open(dir) {
                let _ = folder.sync_all();
            }
            Ok(())
        };
        write().map_err(|source| {
            let _ = fs::remove_file(&temp);
            error(source)
        })
    }
}

/// Reads `<dir>/run.json`. A Running record whose writer process is gone is reported as
/// Interrupted (the file is not changed).
pub(crate) fn load(dir: &Path) -> Result<RunRecord, RecordError> {
    let path = dir.join(RECORD_FILE);
    let text = fs::read(&path).map_err(|source| RecordError::Read {
        path: path.clone(),
        source,
    })?;
    let mut record: RunRecord =
        serde_json::from_slice(&text).map_err(|source| RecordError::Parse { path, source })?;
    if record.status == RunStatus::Running && !process_alive(record.pid, record.pid_started) {
        record.status = RunStatus::Interrupted;
    }
    Ok(record)
}

/// Every readable run under `runs_dir`, newest first. Folders without a readable record are
/// left out (a run being created, or foreign files). No `runs_dir` means no runs.
pub(crate) fn list(runs_dir: &Path) -> Result<Vec<RunRecord>, RecordError> {
    let entries = match fs::read_dir(runs_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(RecordError::Read {
                path: runs_dir.to_owned(),
                source,
            });
        }
    };
    let mut runs: Vec<RunRecord> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| load(&e.path()).ok())
        .collect();
    // RFC 3339 UTC strings of one format sort like the instants; the id breaks ties.
    runs.sort_by(|a, b| (&b.started, &b.id).cmp(&(&a.started, &a.id)));
    Ok(runs)
}

/// Removes the run `id` (record and logs). Refuses a run that is still running.
pub(crate) fn delete(runs_dir: &Path, id: &str) -> Result<(), RecordError> {
    let plain = !id.is_empty()
        && id != "."
        && id != ".."
        && !id.contains(['/', '\\'])
        && !id.starts_with('.');
    if !plain {
        return Err(RecordError::InvalidId { id: id.to_owned() });
    }
    let dir = runs_dir.join(id);
    let record = match load(&dir) {
        Ok(record) => record,
        Err(RecordError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(RecordError::NotFound {
                id: id.to_owned(),
                runs_dir: runs_dir.to_owned(),
            });
        }
        // A corrupt record should still be deletable: that is how users clean it up.
        Err(_) => return remove(&dir),
    };
    if record.status == RunStatus::Running {
        return Err(RecordError::StillRunning {
            id: id.to_owned(),
            pid: record.pid,
        });
    }
    remove(&dir)
}

fn remove(dir: &Path) -> Result<(), RecordError> {
    fs::remove_dir_all(dir).map_err(|source| RecordError::Delete {
        path: dir.to_owned(),
        source,
    })
}

/// A new run id: `<name>-<yyyymmdd-hhmmss>-<4 hex>` (UTC). Ids of one name sort by start
/// time; the random suffix separates runs started in the same second.
pub(crate) fn new_run_id(name: &str, now: SystemTime) -> String {
    // RandomState is seeded from the OS per instance: randomness without a dependency.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let suffix = hasher.finish() & 0xffff;
    format!("{name}-{}-{suffix:04x}", time::compact(now))
}

/// Whether a process with this id exists. EPERM means it exists but belongs to someone else.
fn process_alive(pid: u32, started: Option<u64>) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if raw <= 0 {
        return false;
    }
    let exists = match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) {
        Ok(()) => true,
        Err(e) => e == nix::errno::Errno::EPERM,
    };
    // Where /proc tells the start time, a different one means the pid was reused.
    exists
        && match (started, process_start_time(pid)) {
            (Some(recorded), Some(now)) => recorded == now,
            _ => true,
        }
}

/// Field 22 of /proc/PID/stat (start time in clock ticks since boot); `None` off Linux.
fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last `)`.
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests;
