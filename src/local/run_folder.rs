//! A cluster run's folder on the shared volume, `<workdir>/.jupyterflow/runs/<workflow>`: the
//! same layout a local run has, so logs outlive the pods. `jupyterflow run` writes `run.json`
//! (backend `argo`, every job Pending) when it submits; each job's supervisor (`exec-job`)
//! writes its log under `logs/` and a small record of its own, `jobs/<job>.json`, at its start
//! and end. Supervisors never touch `run.json`: readers combine the two (`merge`). Pure except
//! for reading and writing those files.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::record::{ArgoJobInfo, Backend, JobRecord, RecordError, RecordSource, RunRecord};
use crate::events::{Exit, JobPhase, RunStatus};
use crate::time;

/// The per-job records, inside the run folder.
pub(crate) const JOBS_DIR: &str = "jobs";
/// The logs, inside the run folder (as a local run has them).
pub(crate) const LOGS_DIR: &str = "logs";
/// Bumped on incompatible changes of [`JobFile`].
const JOB_FILE_VERSION: u32 = 1;
/// Longest file name stem we write; longer job names (long sweep values) are cut and hashed.
const MAX_STEM: usize = 200;

/// What a job's supervisor records about the attempt it runs: `jobs/<job>.json`, rewritten
/// atomically when the attempt starts and when it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JobFile {
    pub version: u32,
    /// As `get` and `logs` name it: `prep`, `train(0:lr:0.1)`.
    pub job: String,
    pub task: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Argo's node name (`wf-abc12.train(0:lr:0.1)(1)`).
    pub node_name: Option<String>,
    pub pod: Option<String>,
    /// The Kubernetes node it ran on.
    pub node: Option<String>,
    /// RFC 3339, UTC.
    pub started: String,
    /// `None` while it runs (or when its pod vanished before it ended).
    pub finished: Option<String>,
    /// Exit code or signal; `None` while it runs.
    pub exit: Option<Exit>,
    /// The log, relative to the run folder.
    pub log: PathBuf,
}

/// A file name for job `job`: as is, except that `/` and `%` (and a leading `.`) are
/// %-escaped, and a name longer than a file name may be is cut and told apart by a hash.
pub(crate) fn file_stem(job: &str) -> String {
    let mut stem = String::with_capacity(job.len());
    for (i, c) in job.chars().enumerate() {
        match c {
            '/' => stem.push_str("%2F"),
            '%' => stem.push_str("%25"),
            '\0' => stem.push_str("%00"),
            '.' if i == 0 => stem.push_str("%2E"),
            c => stem.push(c),
        }
    }
    if stem.len() <= MAX_STEM {
        return stem;
    }
    let mut cut = MAX_STEM - 17;
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, job.as_bytes());
    let hash = digest.as_ref()[..8]
        .iter()
        .fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        });
    format!("{}-{hash}", &stem[..cut])
}

/// `logs/<stem>.log`, relative to the run folder.
pub(crate) fn log_path(job: &str) -> PathBuf {
    Path::new(LOGS_DIR).join(format!("{}.log", file_stem(job)))
}

/// Writes `jobs/<stem>.json` in `run_dir` atomically (temp file, fsync, rename): a reader sees
/// the old record or the new one, whole.
pub(crate) fn write_job_file(run_dir: &Path, file: &JobFile) -> Result<(), RecordError> {
    let dir = run_dir.join(JOBS_DIR);
    let stem = file_stem(&file.job);
    let path = dir.join(format!("{stem}.json"));
    let error = |source| RecordError::Write {
        path: path.clone(),
        source,
    };
    let mut json = serde_json::to_vec_pretty(file).map_err(|e| error(e.into()))?;
    json.push(b'\n');
    fs::create_dir_all(&dir).map_err(error)?;
    let temp = dir.join(format!(".{stem}.json.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut out = fs::File::create(&temp)?;
        out.write_all(&json)?;
        out.sync_all()?;
        fs::rename(&temp, &path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&temp);
        error(e)
    })
}

/// Every readable `jobs/*.json` of `run_dir`, by job name. A record that cannot be read (being
/// replaced on a file system without atomic rename, or foreign) is left out.
pub(crate) fn read_job_files(run_dir: &Path) -> Vec<JobFile> {
    let Ok(entries) = fs::read_dir(run_dir.join(JOBS_DIR)) else {
        return Vec::new();
    };
    let mut files: Vec<JobFile> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.ends_with(".json") && !name.starts_with('.')
        })
        .filter_map(|e| serde_json::from_slice(&fs::read(e.path()).ok()?).ok())
        .filter(|f: &JobFile| f.version <= JOB_FILE_VERSION)
        .collect();
    files.sort_by(|a, b| a.job.cmp(&b.job));
    files
}

/// Whether `dir` holds a run: a `run.json`, or (a run a schedule started, which nobody
/// submitted from here) supervisors' job records.
pub(crate) fn is_run_folder(dir: &Path) -> bool {
    dir.join(super::record::RECORD_FILE).is_file() || dir.join(JOBS_DIR).is_dir()
}

/// The record of a run folder that has job records but no `run.json` (a CronWorkflow's run):
/// what the supervisors wrote, named after the folder.
pub(crate) fn record_without_run_json(dir: &Path, name: &str) -> RunRecord {
    let files = read_job_files(dir);
    let started = files
        .iter()
        .map(|f| f.started.clone())
        .min()
        .unwrap_or_default();
    let mut record = RunRecord {
        version: 1,
        id: name.to_owned(),
        name: name.to_owned(),
        source: RecordSource::CommandLine(String::new()),
        workdir: dir
            .ancestors()
            .nth(3)
            .map_or_else(PathBuf::new, Path::to_path_buf),
        status: RunStatus::Running,
        started,
        finished: None,
        pid: 0,
        pid_started: None,
        retry_of: None,
        params: crate::pipeline::ParamMap::default(),
        jobs: Vec::new(),
        backend: Backend::Argo,
        argo: None,
    };
    merge(&mut record, files, dir);
    record
}

/// Puts what the supervisors recorded into `record` (a cluster run's `run.json`, read from
/// `dir`): each job's phase, attempts, times, exit and log from its latest attempt; jobs the
/// record did not plan are added. Then the run's status as the volume tells it: Succeeded when
/// every job did, Failed when one failed and none runs, Running otherwise (see
/// [`workflow_gone`] for a run whose Workflow no longer exists).
pub(crate) fn merge(record: &mut RunRecord, files: Vec<JobFile>, dir: &Path) {
    for file in files {
        let phase = match file.exit {
            None => JobPhase::Running,
            Some(exit) if exit.success() => JobPhase::Succeeded,
            Some(_) => JobPhase::Failed,
        };
        let log = dir.join(&file.log);
        let info = Some(ArgoJobInfo {
            pod: file.pod,
            node: file.node,
        });
        let reason = file.exit.filter(|e| !e.success()).map(|e| e.to_string());
        if let Some(job) = record.jobs.iter_mut().find(|j| j.name == file.job) {
            job.phase = phase;
            job.attempts = file.attempt;
            job.started = Some(file.started);
            job.finished = file.finished;
            job.exit = file.exit;
            job.reason = reason;
            job.log = log;
            job.argo = info;
        } else {
            record.jobs.push(JobRecord {
                phase,
                attempts: file.attempt,
                started: Some(file.started),
                finished: file.finished,
                exit: file.exit,
                reason,
                argo: info,
                ..JobRecord::pending(file.job, file.task, Vec::new(), log)
            });
        }
    }
    let phases = || record.jobs.iter().map(|j| j.phase);
    record.status = if !record.jobs.is_empty() && phases().all(|p| p == JobPhase::Succeeded) {
        RunStatus::Succeeded
    } else if phases().any(|p| p == JobPhase::Failed) && !phases().any(|p| p == JobPhase::Running) {
        RunStatus::Failed
    } else {
        RunStatus::Running
    };
    record.finished = if record.status == RunStatus::Running {
        None
    } else {
        record.jobs.iter().filter_map(|j| j.finished.clone()).max()
    };
}

/// A cluster run whose Workflow is gone ended however it ended: a job that had started but
/// recorded no end was stopped with its pod (Interrupted), one that never started was Skipped,
/// and a run still Running by its jobs was Interrupted.
pub(crate) fn workflow_gone(record: &mut RunRecord) {
    for job in &mut record.jobs {
        match job.phase {
            JobPhase::Running => job.phase = JobPhase::Interrupted,
            JobPhase::Pending => {
                job.phase = JobPhase::Skipped;
                job.reason = Some("not started".to_owned());
            }
            _ => {}
        }
    }
    if record.status == RunStatus::Running {
        record.status = RunStatus::Interrupted;
        record.finished = record
            .jobs
            .iter()
            .flat_map(|j| [j.started.clone(), j.finished.clone()])
            .flatten()
            .max();
    }
}

/// A fresh [`JobFile`] for an attempt starting now.
pub(crate) fn starting(
    job: &str,
    task: &str,
    attempt: u32,
    node_name: Option<String>,
    pod: Option<String>,
    node: Option<String>,
) -> JobFile {
    JobFile {
        version: JOB_FILE_VERSION,
        job: job.to_owned(),
        task: task.to_owned(),
        attempt,
        node_name,
        pod,
        node,
        started: time::format(std::time::SystemTime::now()),
        finished: None,
        exit: None,
        log: log_path(job),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_keep_names_readable_and_safe() {
        assert_eq!(file_stem("prep"), "prep");
        assert_eq!(file_stem("train(0:lr:0.1)"), "train(0:lr:0.1)");
        assert_eq!(
            file_stem("train(1:path:data/a.csv)"),
            "train(1:path:data%2Fa.csv)"
        );
        assert_eq!(file_stem("a%2Fb"), "a%252Fb");
        assert_eq!(file_stem(".hidden"), "%2Ehidden");
        let long = format!("train(0:x:'{}')", "é".repeat(300));
        let stem = file_stem(&long);
        assert!(stem.len() <= MAX_STEM, "{}", stem.len());
        assert_ne!(
            stem,
            file_stem(&format!("{long}x")),
            "told apart by the hash"
        );
        assert_eq!(
            log_path("train(0:lr:0.1)"),
            Path::new("logs/train(0:lr:0.1).log")
        );
    }

    fn record(jobs: &[&str]) -> RunRecord {
        RunRecord {
            version: 1,
            id: "wf-x7k2p".into(),
            name: "wf".into(),
            source: RecordSource::CommandLine("a >> b".into()),
            workdir: PathBuf::from("/home/jovyan"),
            status: RunStatus::Running,
            started: "2026-11-28T10:00:00.000Z".into(),
            finished: None,
            pid: 0,
            pid_started: None,
            retry_of: None,
            params: crate::pipeline::ParamMap::default(),
            jobs: jobs
                .iter()
                .map(|name| {
                    JobRecord::pending(
                        (*name).into(),
                        (*name).into(),
                        vec!["/bin/sh".into(), "-c".into(), format!("exec {name}")],
                        PathBuf::from("/v/logs").join(format!("{name}.log")),
                    )
                })
                .collect(),
            backend: Backend::Argo,
            argo: None,
        }
    }

    fn ended(job: &str, attempt: u32, exit: Option<Exit>) -> JobFile {
        let mut file = starting(job, job, attempt, None, Some(format!("pod-{job}")), None);
        file.started = "2026-11-28T10:00:05.000Z".into();
        if exit.is_some() {
            file.finished = Some(format!("2026-11-28T10:00:0{attempt}.500Z"));
        }
        file.exit = exit;
        file
    }

    #[test]
    fn the_volume_tells_each_job_and_the_run() {
        let dir = Path::new("/v");
        let mut run = record(&["a", "b"]);
        merge(&mut run, vec![ended("a", 1, Some(Exit::Code(0)))], dir);
        assert_eq!(run.status, RunStatus::Running);
        assert_eq!(run.jobs[0].phase, JobPhase::Succeeded);
        assert_eq!(
            run.jobs[0].argo.as_ref().and_then(|a| a.pod.as_deref()),
            Some("pod-a")
        );
        assert_eq!(run.jobs[0].log, Path::new("/v/logs/a.log"));
        assert_eq!(run.jobs[1].phase, JobPhase::Pending);

        let mut done = record(&["a", "b"]);
        merge(
            &mut done,
            vec![
                ended("a", 1, Some(Exit::Code(0))),
                ended("b", 2, Some(Exit::Code(0))),
            ],
            dir,
        );
        assert_eq!(done.status, RunStatus::Succeeded);
        assert_eq!(done.jobs[1].attempts, 2);
        assert_eq!(done.finished.as_deref(), Some("2026-11-28T10:00:02.500Z"));

        let mut failed = record(&["a", "b"]);
        merge(&mut failed, vec![ended("a", 1, Some(Exit::Signal(9)))], dir);
        assert_eq!(failed.status, RunStatus::Failed);
        assert_eq!(
            failed.jobs[0].reason.as_deref(),
            Some("killed by signal 9 (SIGKILL)")
        );

        // A job the record did not plan (a schedule's run, an older record) is added.
        let mut extra = record(&[]);
        merge(&mut extra, vec![ended("c", 1, None)], dir);
        assert_eq!(extra.jobs.len(), 1);
        assert_eq!(extra.jobs[0].phase, JobPhase::Running);
        workflow_gone(&mut extra);
        assert_eq!(extra.jobs[0].phase, JobPhase::Interrupted);
        assert_eq!(extra.status, RunStatus::Interrupted);

        let mut gone = record(&["a", "b"]);
        merge(&mut gone, vec![ended("a", 1, Some(Exit::Code(0)))], dir);
        workflow_gone(&mut gone);
        assert_eq!(gone.status, RunStatus::Interrupted);
        assert_eq!(gone.jobs[1].phase, JobPhase::Skipped);
    }

    #[test]
    fn job_files_are_written_whole_and_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = ended("train(0:path:a/b)", 1, Some(Exit::Code(3)));
        write_job_file(dir.path(), &file).expect("written");
        assert!(dir.path().join("jobs/train(0:path:a%2Fb).json").is_file());
        // Leftovers and foreign files are skipped.
        fs::write(dir.path().join("jobs/.x.json.1.tmp"), "{").expect("write");
        fs::write(dir.path().join("jobs/broken.json"), "{").expect("write");
        assert_eq!(read_job_files(dir.path()), [file]);
        assert!(is_run_folder(dir.path()));
        let record = record_without_run_json(dir.path(), "nightly-1788224400");
        assert_eq!(record.backend, Backend::Argo);
        assert_eq!(record.status, RunStatus::Failed);
        assert_eq!(record.jobs[0].name, "train(0:path:a/b)");
    }
}
