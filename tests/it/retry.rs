//! Continuing a failed run (`retry`) and running part of a pipeline (`--from`, `--only`), on
//! both backends, through the binary: locally with real processes, on the cluster against the
//! fake API server and its simulated controller.

use std::path::Path;

use serde_json::Value;

use crate::cluster_helpers::{NAMESPACE, Notebook, Volume};
use crate::fake_api::JobOutcome;
use crate::helpers::{jupyterflow, pod, run, temp_home};

/// Five jobs in a chain; each prints its name and appends it to ran.txt. `c` fails until the
/// file `fixed` exists.
const CHAIN: &str = "jobs:
- name: a
  command: sh -c 'echo a; echo a >> ran.txt'
- name: b
  command: sh -c 'echo b; echo b >> ran.txt'
- name: c
  command: sh -c 'echo c; echo c >> ran.txt; test -f fixed'
- name: d
  command: sh -c 'echo d; echo d >> ran.txt'
- name: e
  command: sh -c 'echo e; echo e >> ran.txt'
dags:
- a >> b >> c >> d >> e
";

fn ran(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("ran.txt"))
        .unwrap_or_default()
        .replace('\n', " ")
}

/// What ran, in any order: jobs that do not wait for each other run side by side.
fn ran_sorted(dir: &Path) -> Vec<String> {
    let mut jobs: Vec<String> = ran(dir).split_whitespace().map(str::to_owned).collect();
    jobs.sort();
    jobs
}

fn get_json(home: &Path, run: &str) -> Value {
    let out = run_in(home, &["get", run, "-o", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("json")
}

fn run_in(home: &Path, args: &[&str]) -> crate::helpers::Output {
    run(jupyterflow(home).args(args))
}

fn phases(record: &Value) -> Vec<(String, String, u64)> {
    record["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| {
            (
                j["name"].as_str().expect("name").to_owned(),
                j["phase"].as_str().expect("phase").to_owned(),
                j["attempts"].as_u64().expect("attempts"),
            )
        })
        .collect()
}

#[test]
fn a_local_run_that_failed_at_job_3_of_5_is_retried_from_there() {
    let home = temp_home();
    std::fs::write(home.path().join("chain.yaml"), CHAIN).expect("write");
    let first = run_in(home.path(), &["run", "-f", "chain.yaml"]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert_eq!(ran(home.path()), "a b c ");
    let failed_id = first.stdout.lines().last().expect("the run id").to_owned();

    std::fs::write(home.path().join("fixed"), "").expect("fix");
    let again = run_in(home.path(), &["retry", &failed_id]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        ran(home.path()),
        "a b c c d e ",
        "a and b did not run again"
    );
    assert!(
        again.stderr.contains(&format!(
            "note: retry of {failed_id}: 3 of 5 jobs run: c, d, e"
        )),
        "{}",
        again.stderr
    );
    assert!(again.stdout.contains("c | c"), "{}", again.stdout);
    assert!(!again.stdout.contains("a | a"), "{}", again.stdout);
    let retry_id = again.stdout.lines().last().expect("the run id").to_owned();
    assert_ne!(retry_id, failed_id);

    // Both attempts are on record: the failed run as it was, the retry naming it.
    let failed = get_json(home.path(), &failed_id);
    assert_eq!(
        phases(&failed),
        [
            ("a".into(), "Succeeded".into(), 1),
            ("b".into(), "Succeeded".into(), 1),
            ("c".into(), "Failed".into(), 1),
            ("d".into(), "Skipped".into(), 0),
            ("e".into(), "Skipped".into(), 0),
        ]
    );
    let retried = get_json(home.path(), &retry_id);
    assert_eq!(retried["retry_of"], failed_id.as_str());
    assert_eq!(retried["status"], "Succeeded");
    assert_eq!(
        phases(&retried),
        [
            ("a".into(), "Succeeded".into(), 0),
            ("b".into(), "Succeeded".into(), 0),
            ("c".into(), "Succeeded".into(), 1),
            ("d".into(), "Succeeded".into(), 1),
            ("e".into(), "Succeeded".into(), 1),
        ]
    );
    assert_eq!(
        retried["jobs"][0]["reason"],
        format!("succeeded in run {failed_id}; not run again")
    );
    let table = run_in(home.path(), &["get", &retry_id]);
    assert!(
        table
            .stdout
            .contains(&format!("\nRetry of:   {failed_id}\n")),
        "{}",
        table.stdout
    );
    // The kept job's log is the earlier run's.
    let logs = run_in(home.path(), &["logs", &retry_id, "a"]);
    assert_eq!(logs.code, 0, "{}", logs.stderr);
    assert_eq!(logs.stdout, "a | a\n");

    // Nothing left to retry.
    let nothing = run_in(home.path(), &["retry", &retry_id]);
    assert_eq!(nothing.code, 0, "{}", nothing.stderr);
    assert!(
        nothing.stderr.contains("nothing to retry: every job of"),
        "{}",
        nothing.stderr
    );
    assert_eq!(ran(home.path()), "a b c c d e ");
}

#[test]
fn from_and_only_run_part_of_a_local_pipeline() {
    let home = temp_home();
    std::fs::write(home.path().join("chain.yaml"), CHAIN).expect("write");
    std::fs::write(home.path().join("fixed"), "").expect("fixed");
    let from = run_in(home.path(), &["run", "-f", "chain.yaml", "--from", "c"]);
    assert_eq!(from.code, 0, "{}", from.stderr);
    assert_eq!(ran(home.path()), "c d e ");
    assert!(
        from.stderr
            .contains("note: --from c: 3 of 5 jobs run: c, d, e"),
        "{}",
        from.stderr
    );
    let record = get_json(home.path(), from.stdout.lines().last().expect("id"));
    assert_eq!(record["jobs"][0]["phase"], "Skipped");
    assert_eq!(record["jobs"][0]["reason"], "not chosen to run (--from c)");

    std::fs::remove_file(home.path().join("ran.txt")).expect("reset");
    let only = run_in(home.path(), &["run", "-f", "chain.yaml", "--only", "b,d"]);
    assert_eq!(only.code, 0, "{}", only.stderr);
    assert_eq!(ran_sorted(home.path()), ["b", "d"]);

    // lint and the local plan show exactly what would run.
    let lint = run_in(
        home.path(),
        &["lint", "-f", "chain.yaml", "--only", "e", "--only", "a"],
    );
    assert_eq!(lint.code, 0, "{}", lint.stderr);
    assert!(
        lint.stdout.contains("--only e,a: 2 of 5 jobs run: a, e"),
        "{}",
        lint.stdout
    );
    let plan = run_in(
        home.path(),
        &[
            "run",
            "--dry-run",
            "--local",
            "-f",
            "chain.yaml",
            "--from",
            "d",
            "-o",
            "name",
        ],
    );
    assert_eq!(plan.stdout, "d\ne\n", "{}", plan.stderr);

    let typo = run_in(home.path(), &["run", "-f", "chain.yaml", "--from", "dd"]);
    assert_eq!(typo.code, 2, "{}", typo.stderr);
    assert!(
        typo.stderr
            .contains("error: `dd` is not a job of this pipeline; did you mean `d`?"),
        "{}",
        typo.stderr
    );
    assert!(typo.stderr.contains("hint: name a task (a, b, c, d, e)"));
}

/// The Argo manifest of a chosen part: only its tasks, sweeps cut to the chosen points, edges
/// to left-out tasks gone; Argo's schema accepts it.
#[test]
fn from_and_only_shape_the_argo_workflow() {
    let home = temp_home();
    let pipeline = "python prep.py >> python train.py --lr {0.1,0.01,0.001} >> python eval.py";
    let render = |pick: &[&str]| -> Value {
        let mut args = vec![
            "run".to_owned(),
            "--dry-run".to_owned(),
            "--pod-file".to_owned(),
            pod("zero-to-jupyterhub").display().to_string(),
            "-o".to_owned(),
            "json".to_owned(),
            "-c".to_owned(),
            pipeline.to_owned(),
        ];
        args.extend(pick.iter().map(|s| (*s).to_owned()));
        let out = run(jupyterflow(home.path()).args(&args));
        assert_eq!(out.code, 0, "{}", out.stderr);
        let path = home
            .path()
            .join(format!("pick-{}.json", pick.join("-").replace('-', "_")));
        std::fs::write(&path, &out.stdout).expect("write");
        crate::schema::assert_valid(&[path]);
        serde_json::from_str(&out.stdout).expect("json")
    };
    let tasks = |w: &Value| -> Vec<(String, Option<String>, usize)> {
        w["spec"]["templates"][0]["dag"]["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .map(|t| {
                (
                    t["name"].as_str().expect("name").to_owned(),
                    t["depends"].as_str().map(str::to_owned),
                    t["withItems"].as_array().map_or(0, Vec::len),
                )
            })
            .collect()
    };
    assert_eq!(
        tasks(&render(&["--from", "train"])),
        [
            ("train".into(), None, 3),
            ("eval".into(), Some("train".into()), 0)
        ]
    );
    let one_point = render(&["--only", "train-0-01"]);
    assert_eq!(tasks(&one_point), [("train".into(), None, 1)]);
    assert_eq!(
        one_point["spec"]["templates"][0]["dag"]["tasks"][0]["withItems"][0]["lr"],
        "0.01"
    );
}

/// Submits `run ARGS` (a pipeline with a sweep `train`), plays it to its end with the second
/// point of `train` failed, and retries it: the old run's name and the retry's output.
fn fail_point_1_and_retry(nb: &Notebook, args: &[&str]) -> (String, crate::helpers::Output) {
    let out = run(nb.in_pod().arg("run").args(args));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let name = crate::cluster_helpers::submitted_name(&out.stdout);
    nb.api
        .argo_run(NAMESPACE, &name)
        .point_outcome("train", 1, JobOutcome::Failed(1))
        .run_to_end();
    let retried = run(nb.in_pod().args(["retry", &name]));
    assert_eq!(retried.code, 0, "{}", retried.stderr);
    (name, retried)
}

/// On the cluster: a run whose second sweep point failed; `retry` creates a Workflow (linked
/// to the old one) with just that point and what follows it.
#[test]
fn a_cluster_retry_reruns_the_failed_sweep_point_and_what_follows() {
    let nb = Notebook::start(Volume::Nfs);
    let (name, retried) = fail_point_1_and_retry(
        &nb,
        &[
            "-c",
            "python prep.py >> python train.py --lr {0.1,0.01,0.001} >> python eval.py",
        ],
    );
    assert!(
        retried.stderr.contains(&format!(
            "note: retry of {name}: 2 of 5 jobs run: train(1:lr:0.01), eval"
        )),
        "{}",
        retried.stderr
    );
    let workflows = nb.api.workflows(NAMESPACE);
    assert_eq!(workflows.len(), 2);
    let new = workflows
        .iter()
        .find(|w| w["metadata"]["name"] != name.as_str())
        .expect("the retry");
    assert_eq!(
        new["metadata"]["labels"]["jupyterflow.io/retry-of"],
        name.as_str()
    );
    let tasks = new["spec"]["templates"][0]["dag"]["tasks"]
        .as_array()
        .expect("tasks");
    let names: Vec<&str> = tasks.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["train", "eval"]);
    assert_eq!(tasks[0]["withItems"].as_array().map(Vec::len), Some(1));
    assert_eq!(tasks[0]["withItems"][0]["lr"], "0.01");
    assert!(tasks[0].get("depends").is_none(), "prep succeeded: no edge");
    assert_eq!(tasks[1]["depends"], "train");
    let path = nb.workdir.join("retry.json");
    std::fs::write(&path, serde_json::to_string(new).expect("json")).expect("write");
    crate::schema::assert_valid(&[path]);

    // A retry of a run still going is refused.
    let running = run(nb
        .in_pod()
        .args(["retry", new["metadata"]["name"].as_str().expect("name")]));
    assert_eq!(running.code, 2, "{}", running.stderr);
    assert!(
        running.stderr.contains("has not finished"),
        "{}",
        running.stderr
    );

    // Flags of local runs are refused on the cluster, not ignored; nothing is submitted.
    for (flags, says) in [
        (
            &["-p", "2"][..],
            "-p/--parallelism applies to retrying local runs",
        ),
        (
            &["--keep-going"][..],
            "--keep-going applies to retrying local runs",
        ),
    ] {
        let out = run(nb.in_pod().arg("retry").arg(&name).args(flags));
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains(says), "{}", out.stderr);
    }
    assert_eq!(nb.api.workflows(NAMESPACE).len(), 2);

    // `--only`: just that job, its edges to done tasks dropped.
    let only = run(nb.in_pod().args(["retry", &name, "--only", "eval"]));
    assert_eq!(only.code, 0, "{}", only.stderr);
    let only_name = crate::cluster_helpers::submitted_name(&only.stdout);
    let workflows = nb.api.workflows(NAMESPACE);
    let tasks = workflows
        .iter()
        .find(|w| w["metadata"]["name"] == only_name.as_str())
        .expect("the --only retry")["spec"]["templates"][0]["dag"]["tasks"]
        .clone();
    assert_eq!(tasks.as_array().map(Vec::len), Some(1), "{tasks}");
    assert_eq!(tasks[0]["name"], "eval");
    assert!(tasks[0].get("depends").is_none(), "{tasks}");
}

/// A pipeline with params and a matrix sweep whose second point fails.
const SWEEP_WITH_PARAMS: &str = "params:
  epochs: 3
jobs:
- name: prep
  command: python prep.py
- name: train
  command: python train.py --epochs {epochs} --lr {lr}
  matrix:
    lr: [0.1, 0.01, 0.001]
- name: eval
  command: python eval.py
dags:
- prep >> train >> eval
";

/// A cluster retry writes its own `run.json` at submit, as `run` does (backend argo, the old
/// run named, its params, only the jobs it runs, named as Argo names them), so `get` and
/// `list` show it from the volume once its Workflow is gone.
#[test]
fn a_cluster_retry_records_its_run_folder_at_submit() {
    let nb = Notebook::start(Volume::Nfs);
    std::fs::write(nb.workdir.join("workflow.yaml"), SWEEP_WITH_PARAMS).expect("write");
    let (name, retried) =
        fail_point_1_and_retry(&nb, &["-f", "workflow.yaml", "--set", "epochs=5"]);
    assert!(!retried.stderr.contains("warning"), "{}", retried.stderr);
    let new = crate::cluster_helpers::submitted_name(&retried.stdout);
    let folder = nb.workdir.join(".jupyterflow/runs").join(&new);
    let record: Value = serde_json::from_slice(
        &std::fs::read(folder.join("run.json")).expect("the retry's run.json at submit"),
    )
    .expect("JSON");
    assert_eq!(record["backend"], "argo");
    assert_eq!(record["retry_of"], name.as_str());
    assert_eq!(record["params"]["epochs"], "5");
    assert_eq!(record["argo"]["namespace"], NAMESPACE);
    let jobs: Vec<(&str, &str)> = record["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| {
            (
                j["name"].as_str().expect("name"),
                j["argv"][2].as_str().expect("the script"),
            )
        })
        .collect();
    // The one point left is point 0 of the retry's sweep, with the old point's command.
    assert_eq!(
        jobs,
        [
            (
                "train(0:lr:0.01)",
                "exec python train.py --epochs 5 --lr 0.01"
            ),
            ("eval", "exec python eval.py")
        ]
    );

    // While its Workflow is there, `get` names the run it retries too.
    let table = run(nb.in_pod().args(["get", &new]));
    assert!(
        table.stdout.contains(&format!("\nRetry of:   {name}\n")),
        "{}",
        table.stdout
    );

    // `resubmit` records its run folder too: every job again, and no retry_of.
    let again = run(nb.in_pod().args(["resubmit", &name]));
    assert_eq!(again.code, 0, "{}", again.stderr);
    let again = crate::cluster_helpers::submitted_name(&again.stdout);
    let record: Value = serde_json::from_slice(
        &std::fs::read(
            nb.workdir
                .join(".jupyterflow/runs")
                .join(&again)
                .join("run.json"),
        )
        .expect("the resubmission's run.json"),
    )
    .expect("JSON");
    assert!(record.get("retry_of").is_none(), "{record}");
    assert_eq!(record["params"]["epochs"], "5");
    assert_eq!(record["jobs"].as_array().map(Vec::len), Some(5), "{record}");
    assert_eq!(record["jobs"][2]["name"], "train(1:lr:0.01)");

    // Both Workflows gone: the retry is read from the volume, naming what it retried.
    nb.api.argo_run(NAMESPACE, &new).run_to_end();
    for workflow in [&name, &new] {
        let deleted = run(nb.in_pod().args(["delete", workflow]));
        assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    }
    let got = run(nb.in_pod().args(["get", &new, "-o", "json"]));
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert!(
        got.stderr.contains("the Workflow is gone from the cluster"),
        "{}",
        got.stderr
    );
    let shown: Value = serde_json::from_str(&got.stdout).expect("JSON");
    assert_eq!(shown["retry_of"], name.as_str());
    assert_eq!(shown["jobs"].as_array().map(Vec::len), Some(2));
    // No job left a record (no supervisor ran here): the run ended with its Workflow.
    let table = run(nb.in_pod().args(["get", &new]));
    assert_eq!(table.code, 0, "{}", table.stderr);
    for line in [
        format!("Retry of:   {name}"),
        "Status:     Interrupted".to_owned(),
        "Message:    it had not ended when its Workflow went".to_owned(),
    ] {
        assert!(table.stdout.contains(&line), "{line}\n{}", table.stdout);
    }
    let list = run(nb.in_pod().args(["list", "--argo"]));
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(
        list.stdout
            .lines()
            .any(|l| l.starts_with(new.as_str()) && l.contains("argo")),
        "{}",
        list.stdout
    );
}

/// `retry RUN --from JOB` and `--only JOB`: the chosen jobs run, whatever they did before; the
/// rest is recorded as kept (succeeded before) or not chosen. A name the run lacks is refused.
#[test]
fn a_local_retry_takes_from_and_only() {
    let home = temp_home();
    std::fs::write(home.path().join("chain.yaml"), CHAIN).expect("write");
    std::fs::write(home.path().join("fixed"), "").expect("no failure");
    let first = run_in(home.path(), &["run", "-f", "chain.yaml"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let id = first.stdout.lines().last().expect("the run id").to_owned();
    std::fs::remove_file(home.path().join("ran.txt")).expect("reset");

    let from = run_in(home.path(), &["retry", &id, "--from", "d"]);
    assert_eq!(from.code, 0, "{}", from.stderr);
    assert_eq!(ran(home.path()), "d e ");
    assert!(
        from.stderr
            .contains(&format!("note: retry of {id}: 2 of 5 jobs run: d, e")),
        "{}",
        from.stderr
    );
    std::fs::remove_file(home.path().join("ran.txt")).expect("reset");

    let only = run_in(home.path(), &["retry", &id, "--only", "b,e"]);
    assert_eq!(only.code, 0, "{}", only.stderr);
    assert_eq!(ran_sorted(home.path()), ["b", "e"]);
    let retry_id = only.stdout.lines().last().expect("the run id").to_owned();
    let phases = phases(&get_json(home.path(), &retry_id));
    assert_eq!(
        phases.iter().map(|(_, _, n)| *n).collect::<Vec<_>>(),
        [0, 1, 0, 0, 1],
        "{phases:?}"
    );

    let typo = run_in(home.path(), &["retry", &id, "--only", "zz"]);
    assert_eq!(typo.code, 2, "{}", typo.stderr);
    assert!(
        typo.stderr.contains("`zz` is not a job of this pipeline"),
        "{}",
        typo.stderr
    );
}

/// The copy of jupyterflow an old run's jobs start is gone from the volume: `retry` and
/// `resubmit` copy this binary there again when it is the same build, and refuse (creating
/// nothing) when it is another one.
#[test]
fn retry_and_resubmit_restore_a_job_binary_that_is_gone() {
    let nb = Notebook::start(Volume::Nfs);
    let out = run(nb.in_pod().args(["run", "-c", "echo a >> echo b"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let name = crate::cluster_helpers::submitted_name(&out.stdout);
    nb.api
        .argo_run(NAMESPACE, &name)
        .outcome("echo-2", JobOutcome::Failed(1))
        .run_to_end();
    let bin = nb.workdir.join(".jupyterflow/bin");
    let copies = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&bin)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    let copy = copies().pop().expect("the copy made at submit");

    for verb in ["retry", "resubmit"] {
        std::fs::remove_dir_all(&bin).expect("remove the copies");
        let again = run(nb.in_pod().args([verb, &name]));
        assert_eq!(again.code, 0, "{verb}: {}", again.stderr);
        assert!(
            again.stderr.contains(&format!(
                "note: the job binary {} was gone from the shared volume: copied this jupyterflow there again",
                copy.display()
            )),
            "{verb}: {}",
            again.stderr
        );
        assert_eq!(copies(), std::slice::from_ref(&copy), "{verb}");
    }

    // Another build cannot stand in for the copy: refused, nothing created.
    std::fs::remove_dir_all(&bin).expect("remove the copies");
    let other = nb.workdir.join("other-jupyterflow");
    std::fs::write(&other, "#!/bin/sh\nexit 0\n").expect("write another build");
    let before = nb.workflows().len();
    for verb in ["retry", "resubmit"] {
        let refused = run(nb
            .in_pod()
            .env("JUPYTERFLOW_EXE", &other)
            .args([verb, &name]));
        assert_eq!(refused.code, 2, "{verb}: {}", refused.stderr);
        assert!(
            refused
                .stderr
                .contains("is gone from the shared volume, and this jupyterflow is another build"),
            "{verb}: {}",
            refused.stderr
        );
        assert!(
            refused.stderr.contains("hint: run the pipeline again"),
            "{}",
            refused.stderr
        );
    }
    assert_eq!(nb.workflows().len(), before);
    assert!(copies().is_empty());
}
