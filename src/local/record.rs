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
use super::run_folder;
use crate::events::{Exit, JobPhase, RunStatus};
use crate::pipeline::notebook::prepare::notebook_job_of;
use crate::pipeline::{ParamMap, Source};
use crate::time;

/// Where local runs are kept, relative to the working directory, unless the config's `log_dir`
/// says otherwise.
pub(crate) const DEFAULT_RUNS_DIR: &str = ".jupyterflow/runs";
/// The record's file name inside the run folder.
pub(crate) const RECORD_FILE: &str = "run.json";
/// Bumped on changes, so an old reader can refuse instead of misreading. 2: each job keeps
/// what `retry` needs to run it again (dependencies, env, retries, timeout), and a run may be
/// the retry of another.
pub(crate) const FORMAT_VERSION: u32 = 2;

/// Where a notebook step's driver keeps the executed copy of its notebook, in the run folder.
pub(crate) fn executed_notebook(run_dir: &Path, job: &str) -> PathBuf {
    run_dir.join("notebooks").join(format!("{job}.ipynb"))
}

/// Each failed notebook step of `run` (kept in `run_dir`) and its executed notebook.
pub(crate) fn failed_notebooks(run_dir: &Path, run: &RunRecord) -> Vec<(String, PathBuf)> {
    run.jobs
        .iter()
        .filter(|j| j.phase == JobPhase::Failed && j.notebook.is_some())
        .map(|j| {
            // A cluster run's record names a sweep point as Argo's node does.
            let job = notebook_job_of(&j.name).unwrap_or(&j.name);
            (job.to_owned(), executed_notebook(run_dir, job))
        })
        .collect()
}

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
    /// The run this one retried (`jupyterflow retry`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<String>,
    /// The params the run's commands were filled with (`params:` after `--set`).
    #[serde(default, skip_serializing_if = "ParamMap::is_empty")]
    pub params: ParamMap,
    pub jobs: Vec<JobRecord>,
    /// Which backend ran it. Records from before cluster runs kept one read as `local`.
    #[serde(default)]
    pub backend: Backend,
    /// A cluster run: where its Workflow was submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argo: Option<ArgoRunInfo>,
}

/// Which backend ran a run: this machine, or Argo Workflows (whose run folder on the shared
/// volume `run` writes when it submits, and each job's supervisor fills in).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Backend {
    #[default]
    Local,
    Argo,
}

impl Backend {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Backend::Local => "local",
            Backend::Argo => "argo",
        }
    }
}

/// Where a cluster run's Workflow was submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ArgoRunInfo {
    pub namespace: Option<String>,
}

/// A cluster job's last attempt: the pod that ran it and the node it ran on, as its supervisor
/// recorded them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ArgoJobInfo {
    pub pod: Option<String>,
    pub node: Option<String>,
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
    /// The jobs it waits for, by name (version 2).
    #[serde(default)]
    pub depends: Vec<String>,
    /// Its own environment variables, added to the run's (version 2).
    #[serde(default)]
    pub env: Vec<(String, String)>,
    #[serde(default)]
    pub retries: u32,
    /// Per attempt, in seconds.
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// The notebook of a notebook step, as written; its executed copy is
    /// `notebooks/<name>.ipynb` in the run folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notebook: Option<String>,
    /// A cluster job: its pod and node (from its supervisor's record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argo: Option<ArgoJobInfo>,
}

impl JobRecord {
    /// A job that has not started, writing its log to `log`; nothing else known about it.
    pub(crate) fn pending(name: String, task: String, argv: Vec<String>, log: PathBuf) -> Self {
        JobRecord {
            name,
            task,
            argv,
            phase: JobPhase::Pending,
            attempts: 0,
            started: None,
            finished: None,
            exit: None,
            reason: None,
            log,
            argo: None,
            notebook: None,
            depends: Vec::new(),
            env: Vec::new(),
            retries: 0,
            timeout_seconds: None,
        }
    }
}

impl RunRecord {
    /// A fresh record: status Running, every job Pending, logs under `log_dir`.
    pub(crate) fn new(
        id: String,
        plan: &Plan,
        workdir: PathBuf,
        log_dir: &Path,
        retry_of: Option<&str>,
    ) -> Self {
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
            retry_of: retry_of.map(str::to_owned),
            params: plan.params.clone(),
            jobs: plan
                .jobs
                .iter()
                .map(|job| JobRecord {
                    depends: job
                        .depends
                        .iter()
                        .map(|&d| plan.jobs[d].name.clone())
                        .collect(),
                    env: job.env.clone(),
                    retries: job.retries,
                    timeout_seconds: job.timeout.map(|t| t.as_secs()),
                    notebook: job.notebook.clone(),
                    ..JobRecord::pending(
                        job.name.clone(),
                        job.task.clone(),
                        job.argv.clone(),
                        log_dir.join(format!("{}.log", job.name)),
                    )
                })
                .collect(),
            backend: Backend::Local,
            argo: None,
        }
    }

    /// The record `run` writes in a cluster run's folder when it submits the Workflow `id`:
    /// status Running, every job Pending with its log where its supervisor will write it.
    /// Supervisors never rewrite it; readers merge their job records in (`run_folder`).
    pub(crate) fn argo(
        id: String,
        name: String,
        source: &Source,
        workdir: PathBuf,
        namespace: Option<String>,
        jobs: Vec<(String, String, Vec<String>)>,
        dir: &Path,
    ) -> Self {
        RunRecord {
            version: FORMAT_VERSION,
            id,
            name,
            source: RecordSource::from(source),
            workdir,
            status: RunStatus::Running,
            started: time::format(SystemTime::now()),
            finished: None,
            pid: std::process::id(),
            pid_started: None,
            retry_of: None,
            params: ParamMap::default(),
            jobs: jobs
                .into_iter()
                .map(|(name, task, argv)| {
                    let log = dir.join(run_folder::log_path(&name));
                    JobRecord::pending(name, task, argv, log)
                })
                .collect(),
            backend: Backend::Argo,
            argo: Some(ArgoRunInfo { namespace }),
        }
    }

    /// The plan this run ran, from what version 2 records keep: to run parts of it again
    /// (`retry`). Jobs keep their names, argv, env, dependencies, retries and timeouts.
    pub(crate) fn plan(&self) -> Plan {
        let index: std::collections::HashMap<&str, usize> = self
            .jobs
            .iter()
            .enumerate()
            .map(|(i, j)| (j.name.as_str(), i))
            .collect();
        Plan {
            name: self.name.clone(),
            params: self.params.clone(),
            source: match &self.source {
                RecordSource::CommandLine(text) => Source::CommandLine(text.clone()),
                RecordSource::File(path) => Source::File(path.clone()),
            },
            jobs: self
                .jobs
                .iter()
                .map(|job| super::PlannedJob {
                    name: job.name.clone(),
                    task: job.task.clone(),
                    argv: job.argv.clone(),
                    notebook: job.notebook.clone(),
                    env: job.env.clone(),
                    depends: job
                        .depends
                        .iter()
                        .filter_map(|d| index.get(d.as_str()).copied())
                        .collect(),
                    retries: job.retries,
                    timeout: job.timeout_seconds.map(std::time::Duration::from_secs),
                    left_out: None,
                })
                .collect(),
        }
    }

    /// Writes `<dir>/run.json` atomically: a reader sees the old or the new record, whole. Log
    /// paths are stored relative to `dir`, so a moved or copied run folder keeps its logs.
    ///
    /// When the disk is full the atomic write (which needs room for a second copy) fails; the
    /// record is then rewritten in place, which needs no new room because every save leaves
    /// padding (spaces after the JSON) for what the run's remaining events add. Without room
    /// even for that, the error says what happened (ENOSPC), and the old record stays whole.
    pub(crate) fn save(&self, dir: &Path) -> Result<(), RecordError> {
        let path = dir.join(RECORD_FILE);
        let error = |source| RecordError::Write {
            path: path.clone(),
            source,
        };
        let mut stored = self.clone();
        for job in &mut stored.jobs {
            if let Ok(relative) = job.log.strip_prefix(dir) {
                job.log = relative.to_path_buf();
            }
        }
        let mut json = serde_json::to_vec_pretty(&stored).map_err(|e| error(e.into()))?;
        json.push(b'\n');
        json.resize(json.len() + padding(self), b' ');
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
        match write() {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = fs::remove_file(&temp);
                if is_disk_full(&e) && overwrite_in_place(&path, &json).is_ok() {
                    return Ok(());
                }
                Err(error(e))
            }
        }
    }
}

/// Room left after the JSON for what the rest of the run adds: start and finish times, exit
/// and reason of every job, and the run's end.
fn padding(record: &RunRecord) -> usize {
    let pending = record.jobs.iter().filter(|j| j.finished.is_none()).count();
    1024 + 160 * pending
}

fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

/// Overwrites `path` with `json` (padded to the file's length) without truncating it, so the
/// blocks it already holds are reused. Only when `json` fits.
fn overwrite_in_place(path: &Path, json: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt as _;
    let file = fs::OpenOptions::new().write(true).open(path)?;
    let len = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
    let body = json.trim_ascii_end();
    if body.len() + 1 > len {
        return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
    }
    let mut bytes = body.to_vec();
    bytes.push(b'\n');
    bytes.resize(len, b' ');
    file.write_all_at(&bytes, 0)?;
    file.sync_all()
}

/// Reads `<dir>/run.json`. A Running record whose writer process is gone is reported as
/// Interrupted, and so are its jobs that were still running or waiting (the file is not
/// changed). Log paths come back absolute, under `dir` (a record from before they were stored
/// relative, whose folder moved, is pointed at `dir/logs` too).
pub(crate) fn load(dir: &Path) -> Result<RunRecord, RecordError> {
    let path = dir.join(RECORD_FILE);
    let text = match fs::read(&path) {
        Ok(text) => text,
        // A schedule's cluster run: its supervisors wrote job records, nobody a run.json.
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && dir.join(run_folder::JOBS_DIR).is_dir() =>
        {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Ok(run_folder::record_without_run_json(dir, &name));
        }
        Err(source) => return Err(RecordError::Read { path, source }),
    };
    let mut record: RunRecord =
        serde_json::from_slice(&text).map_err(|source| RecordError::Parse { path, source })?;
    for job in &mut record.jobs {
        if job.log.is_relative() {
            job.log = dir.join(&job.log);
        } else if !job.log.exists()
            && let Some(file) = job.log.file_name()
        {
            job.log = dir.join("logs").join(file);
        }
    }
    if record.backend == Backend::Argo {
        // Its jobs ran in pods: what they recorded, not a process here, says how it goes.
        run_folder::merge(&mut record, run_folder::read_job_files(dir), dir);
        return Ok(record);
    }
    if record.status == RunStatus::Running && !process_alive(record.pid, record.pid_started) {
        record.status = RunStatus::Interrupted;
        for job in &mut record.jobs {
            if !job.phase.is_terminal() {
                job.phase = JobPhase::Interrupted;
            }
        }
    }
    Ok(record)
}

/// A run folder under the runs folder: its name (how the user names the run) and its record,
/// or why the record cannot be read (a corrupt `run.json` is listed, so it can be deleted).
#[derive(Debug)]
pub(crate) struct StoredRun {
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
    pub(crate) record: Result<RunRecord, RecordError>,
}

/// Every run folder under `runs_dir` that holds a `run.json` (or a cluster run's job
/// records), newest first, unreadable ones
/// last. Other folders and files are left out (a run being created, or foreign files). No
/// `runs_dir` means no runs.
pub(crate) fn list(runs_dir: &Path) -> Result<Vec<StoredRun>, RecordError> {
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
    let mut runs: Vec<StoredRun> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| run_folder::is_run_folder(&e.path()))
        .map(|e| StoredRun {
            name: e.file_name().to_string_lossy().into_owned(),
            record: load(&e.path()),
            dir: e.path(),
        })
        .collect();
    // RFC 3339 UTC strings of one format sort like the instants; the name breaks ties.
    runs.sort_by(|a, b| {
        let key = |r: &StoredRun| {
            (
                r.record.as_ref().ok().map(|r| r.started.clone()),
                r.name.clone(),
            )
        };
        key(b).cmp(&key(a))
    });
    Ok(runs)
}

/// Removes the run `id` (record and logs). Refuses a local run that is still running.
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
    // A cluster run's folder: no process here runs it, so the caller decides (`delete`).
    if record.status == RunStatus::Running && record.backend == Backend::Local {
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

/// A new run id: `<name>-<yyyymmdd-hhmmss>-<4 hex>`, in the user's time zone (`zone`) as they
/// read clocks; the random suffix separates runs started in the same second.
pub(crate) fn new_run_id(name: &str, now: SystemTime, zone: &jiff::tz::TimeZone) -> String {
    // RandomState is seeded from the OS per instance: randomness without a dependency.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let suffix = hasher.finish() & 0xffff;
    format!("{name}-{}-{suffix:04x}", time::compact(now, zone))
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
