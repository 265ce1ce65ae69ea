//! Run record: round trips, atomic saves, listing order, deletion rules, interrupted runs,
//! and a whole `run_local` whose record is read (and must parse) while it runs.

use std::time::Duration;

use tempfile::TempDir;
use tokio::sync::{mpsc, watch};

use super::*;
use crate::events::RunEvent;
use crate::local::plan::tests::plan;
use crate::local::signals::Cancel;
use crate::local::{ExecOptions, run_local};

fn record(id: &str, started: &str) -> RunRecord {
    let p = plan(&[("a", "echo a", &[]), ("b", "echo b", &["a"])]);
    let mut r = RunRecord::new(
        id.to_owned(),
        &p,
        "/work".into(),
        Path::new("/runs/x/logs"),
        None,
    );
    r.started = started.to_owned();
    r
}

/// Saves `r` in its run folder under `runs`, its logs in that folder as a real run's are.
fn save_in(runs: &TempDir, r: &mut RunRecord) -> PathBuf {
    let dir = runs.path().join(&r.id);
    fs::create_dir_all(&dir).expect("run folder");
    for job in &mut r.jobs {
        job.log = dir.join("logs").join(format!("{}.log", job.name));
    }
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
    let dir = save_in(&runs, &mut r);
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
    let dir = save_in(&runs, &mut r);
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
    save_in(&runs, &mut record("old", "2024-01-01T00:00:00Z"));
    save_in(&runs, &mut record("new", "2024-06-01T00:00:00Z"));
    save_in(&runs, &mut record("mid", "2024-03-01T00:00:00Z"));
    fs::create_dir_all(runs.path().join("junk")).expect("junk folder");
    fs::write(runs.path().join("broken.json"), "{").expect("stray file");
    let ids: Vec<String> = list(runs.path())
        .expect("lists")
        .into_iter()
        .map(|r| r.name)
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
    let dir = save_in(&runs, &mut done);
    save_in(&runs, &mut record("live", "2024-01-01T00:00:00Z"));
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
    let id = new_run_id("train", t, &jiff::tz::TimeZone::UTC);
    assert!(id.starts_with("train-20240501-123456-"), "{id}");
    assert_eq!(id.len(), "train-20240501-123456-".len() + 4);
    let later = new_run_id(
        "train",
        t + Duration::from_secs(1),
        &jiff::tz::TimeZone::UTC,
    );
    assert!(later > id);
    let ids: std::collections::HashSet<String> = (0..20)
        .map(|_| new_run_id("x", t, &jiff::tz::TimeZone::UTC))
        .collect();
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
    let (_cancel_tx, cancel) = watch::channel(Cancel::No);
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
    let new_run =
        crate::local::create_run(&p, &options.workdir, runs.path(), None).expect("run folder");
    let run = run_local(new_run, &p, &options, tx, cancel)
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
    assert_eq!(list(runs.path()).expect("lists")[0].name, run.id);
}

#[test]
fn log_paths_are_stored_relative_so_a_moved_or_copied_folder_keeps_its_logs() {
    let runs = TempDir::new().expect("tempdir");
    let dir = runs.path().join("r-1");
    fs::create_dir_all(&dir).expect("run folder");
    let p = plan(&[("a", "echo a", &[])]);
    let r = RunRecord::new("r-1".into(), &p, "/work".into(), &dir.join("logs"), None);
    r.save(&dir).expect("saved");
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join(RECORD_FILE)).expect("read")).expect("json");
    assert_eq!(json["jobs"][0]["log"], "logs/a.log");
    let moved = runs.path().join("elsewhere");
    fs::rename(&dir, &moved).expect("moved");
    assert_eq!(
        load(&moved).expect("loads").jobs[0].log,
        moved.join("logs/a.log")
    );
    // A record from before paths were relative still finds its logs after a move.
    let mut old = r.clone();
    old.jobs[0].log = PathBuf::from("/gone/r-1/logs/a.log");
    fs::write(
        moved.join(RECORD_FILE),
        serde_json::to_vec(&old).expect("json"),
    )
    .expect("write");
    assert_eq!(
        load(&moved).expect("loads").jobs[0].log,
        moved.join("logs/a.log")
    );
}

#[test]
fn a_damaged_record_is_listed_with_why_and_deleted_by_its_folder() {
    let runs = TempDir::new().expect("tempdir");
    save_in(&runs, &mut record("good", "2024-01-01T00:00:00Z"));
    let bad = runs.path().join("bad");
    fs::create_dir_all(&bad).expect("folder");
    fs::write(bad.join(RECORD_FILE), "{garbage").expect("write");
    let listed = list(runs.path()).expect("lists");
    let names: Vec<&str> = listed.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["good", "bad"], "unreadable runs last");
    assert!(matches!(listed[1].record, Err(RecordError::Parse { .. })));
    delete(runs.path(), "bad").expect("deleted");
    assert!(!bad.exists());
}

#[test]
fn the_jobs_of_a_dead_run_read_as_interrupted() {
    let runs = TempDir::new().expect("tempdir");
    let mut r = record("t-1", "2024-01-01T00:00:00Z");
    r.pid = dead_pid();
    r.jobs[0].phase = JobPhase::Running;
    r.jobs[1].phase = JobPhase::Pending;
    let dir = save_in(&runs, &mut r);
    let loaded = load(&dir).expect("loads");
    assert_eq!(loaded.status, RunStatus::Interrupted);
    assert!(loaded.jobs.iter().all(|j| j.phase == JobPhase::Interrupted));
}

#[test]
fn with_the_disk_full_the_record_is_rewritten_in_the_room_it_left() {
    let runs = TempDir::new().expect("tempdir");
    let mut r = record("t-1", "2024-01-01T00:00:00Z");
    let dir = save_in(&runs, &mut r);
    let size = fs::metadata(dir.join(RECORD_FILE)).expect("stat").len();
    r.status = RunStatus::Succeeded;
    for job in &mut r.jobs {
        job.phase = JobPhase::Succeeded;
        job.finished = Some("2024-01-01T00:00:01.000Z".into());
        job.exit = Some(Exit::Code(0));
    }
    let mut json = serde_json::to_vec_pretty(&r).expect("json");
    json.push(b'\n');
    overwrite_in_place(&dir.join(RECORD_FILE), &json).expect("fits in the padding");
    assert_eq!(
        fs::metadata(dir.join(RECORD_FILE)).expect("stat").len(),
        size,
        "no new room used"
    );
    assert_eq!(load(&dir).expect("loads").status, RunStatus::Succeeded);
    let too_big = vec![b'x'; usize::try_from(size).expect("small") + 1];
    assert!(overwrite_in_place(&dir.join(RECORD_FILE), &too_big).is_err());
}
