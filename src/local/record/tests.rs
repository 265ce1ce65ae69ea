//! Run record: round trips, atomic saves, listing order, deletion rules, interrupted runs,
//! and a whole `run_local` whose record is read (and must parse) while it runs.

use std::time::Duration;

use tempfile::TempDir;
use tokio::sync::{mpsc, watch};

use super::*;
use crate::events::RunEvent;
use crate::local::plan::tests::plan;
use crate::local::{ExecOptions, run_local};

fn record(id: &str, started: &str) -> RunRecord {
    let p = plan(&[("a", "echo a", &[]), ("b", "echo b", &["a"])]);
    let mut r = RunRecord::new(id.to_owned(), &p, "/work".into(), Path::new("/runs/x/logs"));
    r.started = started.to_owned();
    r
}

fn save_in(runs: &TempDir, r: &RunRecord) -> PathBuf {
    let dir = runs.path().join(&r.id);
    fs::create_dir_all(&dir).expect("run folder");
    r.save(&dir).expect("saved");
    dir
}

/// The pid of a process that has exited (and been reaped): certainly not alive.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("true runs");
    let pid = child.id();
    child.wait().expect("reaped");
    pid
}

#[test]
fn saves_and_loads_the_same_record_without_leaving_temp_files() {
    let runs = TempDir::new().expect("tempdir");
    let mut r = record("t-1", "2024-01-01T00:00:00Z");
    r.status = RunStatus::Succeeded;
    r.jobs[0].exit = Some(Exit::Signal(9));
    let dir = save_in(&runs, &r);
    assert_eq!(load(&dir).expect("loads"), r);
    let names: Vec<String> = fs::read_dir(&dir)
        .expect("listable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, [RECORD_FILE]);
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join(RECORD_FILE)).expect("read")).expect("json");
    assert_eq!(json["jobs"][0]["exit"], serde_json::json!({"signal": 9}));
    assert_eq!(json["source"], serde_json::json!({"command_line": "test"}));
}

#[test]
fn a_running_record_of_a_dead_process_reads_as_interrupted() {
    let runs = TempDir::new().expect("tempdir");
    let mut r = record("t-1", "2024-01-01T00:00:00Z");
    let dir = save_in(&runs, &r);
    assert_eq!(
        load(&dir).expect("loads").status,
        RunStatus::Running,
        "we are alive"
    );
    r.pid = dead_pid();
    r.save(&dir).expect("saved");
    assert_eq!(load(&dir).expect("loads").status, RunStatus::Interrupted);
    delete(runs.path(), "t-1").expect("an interrupted run can be deleted");
}

#[test]
fn lists_newest_first_and_skips_folders_without_records() {
    let runs = TempDir::new().expect("tempdir");
    save_in(&runs, &record("old", "2024-01-01T00:00:00Z"));
    save_in(&runs, &record("new", "2024-06-01T00:00:00Z"));
    save_in(&runs, &record("mid", "2024-03-01T00:00:00Z"));
    fs::create_dir_all(runs.path().join("junk")).expect("junk folder");
    fs::write(runs.path().join("broken.json"), "{").expect("stray file");
    let ids: Vec<String> = list(runs.path())
        .expect("lists")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["new", "mid", "old"]);
    assert!(
        list(&runs.path().join("none"))
            .expect("missing is empty")
            .is_empty()
    );
}

#[test]
fn delete_removes_finished_runs_and_refuses_live_or_odd_ids() {
    let runs = TempDir::new().expect("tempdir");
    let mut done = record("done", "2024-01-01T00:00:00Z");
    done.status = RunStatus::Failed;
    let dir = save_in(&runs, &done);
    save_in(&runs, &record("live", "2024-01-01T00:00:00Z"));
    delete(runs.path(), "done").expect("deleted");
    assert!(!dir.exists());
    assert!(matches!(
        delete(runs.path(), "live"),
        Err(RecordError::StillRunning { .. })
    ));
    assert!(matches!(
        delete(runs.path(), "done"),
        Err(RecordError::NotFound { .. })
    ));
    for odd in ["", "..", "../x", "a/b", ".hidden"] {
        assert!(matches!(
            delete(runs.path(), odd),
            Err(RecordError::InvalidId { .. })
        ));
    }
}

#[test]
fn a_corrupt_record_is_an_error_naming_the_file() {
    let runs = TempDir::new().expect("tempdir");
    let dir = runs.path().join("bad");
    fs::create_dir_all(&dir).expect("folder");
    fs::write(dir.join(RECORD_FILE), "{\"version\": 1,").expect("write");
    let err = load(&dir).expect_err("corrupt");
    assert!(err.to_string().contains("run.json"), "{err}");
    delete(runs.path(), "bad").expect("corrupt runs can be deleted");
}

#[test]
fn run_ids_sort_by_time_and_differ_within_a_second() {
    let t = std::time::UNIX_EPOCH + Duration::from_secs(1_714_566_896);
    let id = new_run_id("train", t);
    assert!(id.starts_with("train-20240501-123456-"), "{id}");
    assert_eq!(id.len(), "train-20240501-123456-".len() + 4);
    let later = new_run_id("train", t + Duration::from_secs(1));
    assert!(later > id);
    let ids: std::collections::HashSet<String> = (0..20).map(|_| new_run_id("x", t)).collect();
    assert!(ids.len() > 1, "random suffixes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_is_valid_json_throughout_a_run() {
    let work = TempDir::new().expect("tempdir");
    let runs = TempDir::new().expect("tempdir");
    let p = plan(&[
        ("a", "sleep 0.1", &[]),
        ("b", "sleep 0.1", &["a"]),
        ("c", "sh -c 'exit 1'", &["a"]),
        ("d", "true", &["b", "c"]),
    ]);
    let options = ExecOptions::new(work.path().to_owned());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (_cancel_tx, cancel) = watch::channel(false);
    let runs_path = runs.path().to_owned();
    // Read the record after every event: it must parse at every point (saves are atomic), and
    // once the run is announced finished, it must hold every job's final phase.
    let reader = tokio::spawn(async move {
        let mut checked = 0;
        let mut run_dir = None;
        while let Some(event) = rx.recv().await {
            if let RunEvent::RunStarted { run_id, .. } = &event {
                run_dir = run_id.as_ref().map(|id| runs_path.join(id));
            }
            let Some(dir) = &run_dir else { continue };
            let r = load(dir).expect("run.json parses at every point");
            if let RunEvent::RunFinished { status, .. } = &event {
                assert_eq!(r.status, *status, "saved before announced");
                assert!(r.jobs.iter().all(|j| j.phase.is_terminal()));
            }
            checked += 1;
        }
        checked
    });
    let run = run_local(&p, &options, runs.path(), tx, cancel)
        .await
        .expect("run completes");
    let checked = reader.await.expect("reader finished");
    assert!(checked >= 8, "read the record {checked} times");
    assert!(run.record_error.is_none());
    let dir = runs.path().join(&run.id);
    let stored = load(&dir).expect("final record");
    assert_eq!(stored.status, RunStatus::Failed);
    assert_eq!(stored, run.record);
    assert!(stored.finished.is_some());
    let phases: Vec<JobPhase> = stored.jobs.iter().map(|j| j.phase).collect();
    assert_eq!(
        phases,
        [
            JobPhase::Succeeded,
            JobPhase::Succeeded,
            JobPhase::Failed,
            JobPhase::Skipped
        ]
    );
    assert_eq!(stored.jobs[2].exit, Some(Exit::Code(1)));
    assert!(stored.jobs[0].log.starts_with(&dir));
    assert_eq!(list(runs.path()).expect("lists")[0].id, run.id);
}
