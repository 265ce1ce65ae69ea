//! Notebook steps through the real binary: real notebooks executed locally with the Jupyter of
//! `target/venv-jupyter` (`JUPYTERFLOW_TEST_JUPYTER_BIN`, made by scripts/test), the Argo
//! manifest of a notebook step (schema-checked, snapshot), and `lint`'s notebook checks.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

use crate::helpers::{fixture, jupyterflow, pod, run, scrub, temp_home};

/// The bin folder of a venv with nbclient, nbconvert and ipykernel.
pub(crate) fn jupyter_bin() -> PathBuf {
    let Some(bin) = std::env::var_os("JUPYTERFLOW_TEST_JUPYTER_BIN") else {
        panic!(
            "JUPYTERFLOW_TEST_JUPYTER_BIN is not set: run ./scripts/test, which makes target/venv-jupyter (nbclient, nbconvert, ipykernel) and sets it"
        );
    };
    PathBuf::from(bin)
}

/// The binary with that venv first on PATH, and Jupyter's own folders (kernel specs, runtime
/// files, config) inside the venv and `home`, so nothing of the machine's Jupyter is used.
pub(crate) fn with_jupyter(home: &Path) -> Command {
    let bin = jupyter_bin();
    let venv = bin.parent().expect("venv").to_path_buf();
    let mut cmd = jupyterflow(home);
    cmd.env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("JUPYTER_PATH", venv.join("share/jupyter"))
        .env("JUPYTER_DATA_DIR", home.join(".jupyter-data"))
        .env("JUPYTER_CONFIG_DIR", home.join(".jupyter"))
        .env("JUPYTER_RUNTIME_DIR", home.join(".jupyter-runtime"))
        .env("JUPYTER_PLATFORM_DIRS", "1")
        .env("IPYTHONDIR", home.join(".ipython"));
    cmd
}

pub(crate) fn copy_notebook(home: &Path, fixture_name: &str, as_name: &str) -> String {
    let text =
        std::fs::read_to_string(fixture(&format!("notebooks/{fixture_name}"))).expect("fixture");
    std::fs::write(home.join(as_name), &text).expect("copy");
    text
}

/// The only run folder under `home`.
pub(crate) fn run_dir(home: &Path) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(home.join(".jupyterflow/runs"))
        .expect("runs folder")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

fn cells(notebook: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(notebook).expect("executed notebook");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    json["cells"].as_array().expect("cells").clone()
}

fn source(cell: &serde_json::Value) -> String {
    match &cell["source"] {
        serde_json::Value::Array(lines) => lines.iter().filter_map(|l| l.as_str()).collect(),
        other => other.as_str().unwrap_or_default().to_owned(),
    }
}

fn outputs_text(cell: &serde_json::Value) -> String {
    cell["outputs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| match &o["text"] {
            serde_json::Value::Array(lines) => lines.iter().filter_map(|l| l.as_str()).collect(),
            other => other.as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

#[test]
fn a_sweep_of_two_notebook_runs_injects_each_value() {
    let home = temp_home();
    let original = copy_notebook(home.path(), "with_parameters.ipynb", "train.ipynb");
    let out = run(with_jupyter(home.path())
        .args(["run", "--local", "-c"])
        .arg("train.ipynb -p learning_rate {0.5,0.25} -p epochs=3 -p data_path 'a b.csv'"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let dir = run_dir(home.path());
    for (job, lr) in [("train-0-5", "0.5"), ("train-0-25", "0.25")] {
        let cells = cells(&dir.join(format!("notebooks/{job}.ipynb")));
        let injected = &cells[3];
        assert_eq!(injected["metadata"]["tags"][0], "injected-parameters");
        assert_eq!(
            source(injected),
            format!(
                "# Parameters\n# injected by jupyterflow into train.ipynb\nlearning_rate = {lr}\nepochs = 3\ndata_path = \"a b.csv\"\n"
            )
        );
        assert_eq!(
            outputs_text(&cells[4]),
            format!("{lr} 3 a b.csv\n"),
            "{job}"
        );
    }
    // The injected copies keep every byte of the notebook as written around the new cell.
    let injected_dir = home.path().join(".jupyterflow/notebooks");
    let injected: Vec<String> = std::fs::read_dir(&injected_dir)
        .expect("notebooks folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
        .map(|p| std::fs::read_to_string(p).expect("read"))
        .collect();
    assert_eq!(injected.len(), 2);
    for text in injected {
        let prefix = common_prefix(&text, &original);
        let suffix = common_suffix(&text, &original);
        assert!(
            prefix + suffix >= original.len(),
            "only the injected cell differs: {prefix} + {suffix} of {}",
            original.len()
        );
    }
    // The notebook as written is untouched.
    let now = std::fs::read_to_string(home.path().join("train.ipynb")).expect("read");
    assert_eq!(now, original);
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

fn common_suffix(a: &str, b: &str) -> usize {
    a.bytes()
        .rev()
        .zip(b.bytes().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

#[test]
fn a_failing_cell_is_named_in_the_summary_and_by_get() {
    let home = temp_home();
    copy_notebook(home.path(), "fails.ipynb", "fails.ipynb");
    let out = run(with_jupyter(home.path()).args([
        "run",
        "--local",
        "-c",
        "fails.ipynb -p divisor 0 >> echo after",
    ]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("cell 4 (In [3]) failed: ZeroDivisionError: division by zero"),
        "{all}"
    );
    assert!(all.contains("return a / b"), "the traceback's end: {all}");
    let dir = run_dir(home.path());
    let executed = dir.join("notebooks/fails.ipynb");
    let cells = cells(&executed);
    // Counted in the executed copy, the injected cell included: what the user opens.
    assert_eq!(cells[3]["outputs"][0]["ename"], "ZeroDivisionError");
    assert_eq!(
        cells[4]["execution_count"],
        serde_json::Value::Null,
        "stopped there"
    );

    let get = run(with_jupyter(home.path()).args(["get", "@latest"]));
    assert_eq!(get.code, 0, "{}", get.stderr);
    assert!(
        get.stdout
            .contains("fails: cell 4 (In [3]) failed: ZeroDivisionError: division by zero"),
        "{}",
        get.stdout
    );
    assert!(get.stdout.contains("return a / b"), "{}", get.stdout);
    assert!(
        get.stdout
            .contains(&format!("executed notebook: {}", executed.display())),
        "{}",
        get.stdout
    );
}

#[test]
fn workflow_file_notebook_form_with_a_matrix() {
    let home = temp_home();
    copy_notebook(home.path(), "with_parameters.ipynb", "train.ipynb");
    std::fs::write(
        home.path().join("workflow.yaml"),
        "jobs:\n  - name: train\n    notebook: train.ipynb\n    parameters:\n      learning_rate: \"{lr}\"\n      epochs: 2\n    matrix:\n      lr: [0.125]\n",
    )
    .expect("write");
    let out = run(with_jupyter(home.path()).args(["run", "--local", "-f", "workflow.yaml"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let cells = cells(&run_dir(home.path()).join("notebooks/train-0-125.ipynb"));
    assert_eq!(outputs_text(&cells[4]), "0.125 2 data/train.csv\n");
}

#[test]
fn the_argo_manifest_of_a_notebook_step() {
    let home = temp_home();
    copy_notebook(home.path(), "with_parameters.ipynb", "train.ipynb");
    let out = run(jupyterflow(home.path())
        .args(["run", "--dry-run", "--pod-file"])
        .arg(pod("zero-to-jupyterhub"))
        .args([
            "-c",
            "train.ipynb -p epochs 3 >> train.ipynb -p learning_rate {0.5,0.25} >> python eval.py",
        ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        !home.path().join(".jupyterflow").exists(),
        "a dry run writes nothing"
    );
    let path = home.path().join("manifest.yaml");
    std::fs::write(&path, &out.stdout).expect("write");
    crate::schema::assert_valid(&[path]);
    // Per task only paths: a task, sweep items aside, stays within 200 bytes of JSON.
    let json = run(jupyterflow(home.path())
        .args(["run", "--dry-run", "-o", "json", "--pod-file"])
        .arg(pod("zero-to-jupyterhub"))
        .args(["-c", "train.ipynb -p learning_rate {0.5,0.25}"]));
    let manifest: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let task = &manifest["spec"]["templates"][0]["dag"]["tasks"][0];
    let mut bare = task.clone();
    bare.as_object_mut().expect("object").remove("withItems");
    let bytes = serde_json::to_string(&bare).expect("JSON").len();
    assert!(bytes <= 200, "{bytes} bytes: {bare}");
    assert_eq!(task["withItems"].as_array().map(Vec::len), Some(2));
    insta::assert_snapshot!("notebook-steps", scrub(&out.stdout, home.path()));
}

#[test]
fn lint_checks_notebooks_and_their_parameters() {
    let home = temp_home();
    copy_notebook(home.path(), "with_parameters.ipynb", "train.ipynb");
    let warned = run(jupyterflow(home.path()).args([
        "lint",
        "-c",
        "train.ipynb -p learning_rat 0.1 -p epochs 2",
    ]));
    assert_eq!(warned.code, 0, "{}", warned.stderr);
    assert!(
        warned.stderr.contains(
            "warning: job `train`: train.ipynb: `-p learning_rat`: the parameters cell (cell 3) does not assign `learning_rat`, so the value may go unused; did you mean `learning_rate`?"
        ),
        "{}",
        warned.stderr
    );
    assert!(warned.stdout.contains("ok"), "{}", warned.stdout);

    let missing = run(jupyterflow(home.path()).args(["lint", "-c", "prep.ipynb >> train.ipynb"]));
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing
            .stderr
            .contains("job `prep`: cannot read the notebook `prep.ipynb`"),
        "{}",
        missing.stderr
    );

    std::fs::write(
        home.path().join("broken.ipynb"),
        "{\"cells\": [\n<<<<<<< HEAD\n",
    )
    .expect("write");
    let broken = run(jupyterflow(home.path()).args(["lint", "-c", "broken.ipynb"]));
    assert_eq!(broken.code, 2, "{}", broken.stderr);
    assert!(
        broken
            .stderr
            .contains("`broken.ipynb` is not a usable notebook: not valid JSON at line 2"),
        "{}",
        broken.stderr
    );
}

#[test]
fn wrong_arguments_after_a_notebook_are_refused_with_a_hint() {
    let home = temp_home();
    let out = run(jupyterflow(home.path()).args([
        "run",
        "--dry-run",
        "--local",
        "-c",
        "train.ipynb -P lr 1",
    ]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("job `train`: `-P` is not an option of a notebook step"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("did you mean `-p`?"), "{}", out.stderr);
    let shell = run(jupyterflow(home.path()).args(["lint", "-c", "train.ipynb -p lr 1 > out.txt"]));
    assert_eq!(shell.code, 2, "{}", shell.stderr);
    assert!(
        shell.stderr.contains("runs without a shell"),
        "{}",
        shell.stderr
    );
}

#[test]
fn graph_and_the_local_plan_mark_notebook_steps() {
    let home = temp_home();
    let graph = run(jupyterflow(home.path()).args(["graph", "-c", "prep.ipynb >> python eval.py"]));
    assert_eq!(graph.code, 0, "{}", graph.stderr);
    assert!(
        graph.stdout.contains("[notebook] prep.ipynb"),
        "{}",
        graph.stdout
    );
    let plan = run(jupyterflow(home.path()).args([
        "run",
        "--dry-run",
        "--local",
        "-c",
        "train.ipynb -p lr {1,2}",
    ]));
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("[notebook] train.ipynb -p lr 2"),
        "{}",
        plan.stdout
    );
    assert!(
        !home.path().join(".jupyterflow").exists(),
        "a dry run writes nothing"
    );
}

#[test]
fn workflow_params_reach_notebook_parameters_and_set_overrides_them() {
    let home = temp_home();
    copy_notebook(home.path(), "with_parameters.ipynb", "train.ipynb");
    std::fs::write(
        home.path().join("workflow.yaml"),
        "params: {lr: 0.5}\njobs:\n  - train.ipynb -p learning_rate {lr}\n",
    )
    .expect("write");
    let out = run(with_jupyter(home.path()).args([
        "run",
        "--local",
        "-f",
        "workflow.yaml",
        "--set",
        "lr=0.75",
    ]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let cells = cells(&run_dir(home.path()).join("notebooks/train.ipynb"));
    assert_eq!(outputs_text(&cells[4]), "0.75 10 data/train.csv\n");
}

#[test]
fn get_on_the_cluster_reads_the_failed_cell_from_the_shared_volume() {
    use crate::cluster_helpers::{NAMESPACE, Notebook, Volume};
    let nb = Notebook::start(Volume::Nfs);
    let workdir = nb.workdir.display().to_string();
    nb.api.add_workflow(
        NAMESPACE,
        serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": "nb-abc12", "namespace": NAMESPACE,
                         "creationTimestamp": "2026-12-01T09:00:00Z",
                         "labels": {"app.kubernetes.io/managed-by": "jupyterflow",
                                    "jupyterflow.io/notebook": "jupyter-alice"},
                         "annotations": {"jupyterflow.io/source": "train.ipynb",
                                         "jupyterflow.io/notebooks": "train=train.ipynb"}},
            "spec": {"entrypoint": "main", "templates": [
                {"name": "main", "dag": {"tasks": [{"name": "train", "template": "job"}]}},
                {"name": "job", "container": {"image": "i", "workingDir": workdir}}]},
            "status": {"phase": "Failed", "startedAt": "2026-12-01T09:00:01Z",
                       "finishedAt": "2026-12-01T09:01:00Z",
                       "nodes": {"nb-abc12-1": {"id": "nb-abc12-1", "name": "nb-abc12.train",
                           "displayName": "train", "type": "Pod", "phase": "Failed",
                           "templateName": "job", "startedAt": "2026-12-01T09:00:02Z",
                           "finishedAt": "2026-12-01T09:00:59Z",
                           "outputs": {"exitCode": "1"}}}}
        }),
    );
    let executed = nb.workdir.join(".jupyterflow/runs/nb-abc12/notebooks");
    std::fs::create_dir_all(&executed).expect("mkdir");
    std::fs::copy(
        fixture("notebooks/executed_error.ipynb"),
        executed.join("train.ipynb"),
    )
    .expect("copy");
    let out = run(nb.in_pod().args(["get", "nb-abc12"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("train: cell 3 (In [2]) failed: ZeroDivisionError: division by zero"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "executed notebook: {workdir}/.jupyterflow/runs/nb-abc12/notebooks/train.ipynb"
        )),
        "{}",
        out.stdout
    );
}
