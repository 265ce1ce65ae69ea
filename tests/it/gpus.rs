//! GPUs through the binary: jobs inherit the notebook's, the peak-demand note on submit and
//! with `--dry-run`, `gpu: 0`, the config's `gpu_tolerations`, the refusal of GPU jobs pinned
//! to the notebook's node (and its override), the pod-file warning, and the local note.

use serde_json::{Value, json};

use crate::cluster_helpers::{NAMESPACE, Notebook, Volume, notebook_pod};
use crate::helpers::{jupyterflow, run, temp_home};

/// The pipeline most GPU notebooks run: data prep (no GPU), a sweep of trainings, a report.
const WORKFLOW: &str = "name: gpu
jobs:
- {name: prep, command: python prep.py, resources: {gpu: 0}}
- name: train
  command: python train.py --seed {seed}
  depends: prep
  matrix: {seed: [1, 2, 3, 4]}
- {name: report, command: python report.py, depends: train, resources: {gpu: 0}}
";

const PEAK_NOTE: &str = "note: these jobs may ask for up to 4 GPUs at once (stage `train`: 4 jobs × 1 GPU); the notebook holds 1; set `gpu: 0` (`resources: {gpu: 0}`) on jobs that need none";

/// The zero-to-jupyterhub pod with one NVIDIA GPU, its volume over `workdir`.
fn gpu_pod(workdir: &std::path::Path, volume: Volume) -> Value {
    let mut pod = notebook_pod(workdir, volume);
    let resources = &mut pod["spec"]["containers"][0]["resources"];
    resources["limits"]["nvidia.com/gpu"] = json!("1");
    resources["requests"]["nvidia.com/gpu"] = json!("1");
    pod
}

/// A notebook with a GPU on the fake cluster, and the workflow file in its working directory.
fn gpu_notebook(volume: Volume) -> Notebook {
    let nb = Notebook::start(volume);
    nb.api.add_pod(NAMESPACE, gpu_pod(&nb.workdir, volume));
    std::fs::write(nb.workdir.join("workflow.yaml"), WORKFLOW).expect("write workflow");
    nb
}

fn template<'a>(wf: &'a Value, name: &str) -> &'a Value {
    wf["spec"]["templates"]
        .as_array()
        .expect("templates")
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no template {name}: {wf}"))
}

#[test]
fn jobs_inherit_the_gpu_and_the_peak_is_noted() {
    let nb = gpu_notebook(Volume::Nfs);
    std::fs::write(
        nb.home.path().join(".jupyterflow.yaml"),
        "gpu_tolerations:\n- {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}\n",
    )
    .expect("write config");
    let dry = run(nb
        .in_pod()
        .args(["run", "--dry-run", "-f", "workflow.yaml"]));
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stderr.contains(PEAK_NOTE), "{}", dry.stderr);
    assert!(nb.workflows().is_empty());

    let out = run(nb.in_pod().args(["run", "-f", "workflow.yaml"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains(PEAK_NOTE), "{}", out.stderr);
    let wf = &nb.workflows()[0];
    // `train` runs in the shared template: the notebook's GPU, and the GPU toleration after
    // the notebook's own.
    let shared = template(wf, "job");
    assert_eq!(
        shared["container"]["resources"]["limits"]["nvidia.com/gpu"],
        "1"
    );
    let tolerations = shared["tolerations"].as_array().expect("tolerations");
    assert_eq!(tolerations.len(), 5, "the notebook's four and the GPU's");
    assert_eq!(tolerations[4]["key"], "nvidia.com/gpu");
    // `prep` and `report` (gpu: 0): no GPU in requests or limits, no GPU toleration.
    for name in ["job-prep", "job-report"] {
        let own = template(wf, name);
        let resources = &own["container"]["resources"];
        assert!(resources["limits"].get("nvidia.com/gpu").is_none(), "{own}");
        assert!(
            resources["requests"].get("nvidia.com/gpu").is_none(),
            "{own}"
        );
        assert_eq!(resources["limits"]["memory"], "4Gi", "the rest stays");
        assert!(own.get("tolerations").is_none(), "{own}");
    }
}

#[test]
fn gpu_jobs_pinned_to_the_notebooks_node_are_refused_unless_allowed() {
    let nb = gpu_notebook(Volume::Claim("ReadWriteOnce"));
    let out = run(nb.in_pod().args(["run", "-f", "workflow.yaml"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("error: job `train` asks for GPUs, but job pods must run on the notebook's node gke-jhub-user-pool-3f1c9a2b-k7xq (claim `claim-alice` is ReadWriteOnce), where the notebook itself holds 1 GPU"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("hint: set `gpu: 0` (`resources: {gpu: 0}`) on jobs that need no GPU, put the working directory on a ReadWriteMany volume, or pass --allow-gpu-on-notebook-node"),
        "{}",
        out.stderr
    );
    assert!(nb.workflows().is_empty(), "nothing submitted");

    // A dry run shows the refusal and goes on.
    let dry = run(nb
        .in_pod()
        .args(["run", "--dry-run", "-f", "workflow.yaml"]));
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stderr
            .contains("note: a submission would be refused: job `train` asks for GPUs"),
        "{}",
        dry.stderr
    );

    let allowed =
        run(nb
            .in_pod()
            .args(["run", "--allow-gpu-on-notebook-node", "-f", "workflow.yaml"]));
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    assert!(
        allowed.stderr.contains("note: --allow-gpu-on-notebook-node: job `train` asks for GPUs on the notebook's node gke-jhub-user-pool-3f1c9a2b-k7xq, where the notebook itself holds 1 GPU"),
        "{}",
        allowed.stderr
    );
    assert_eq!(nb.workflows().len(), 1);
}

#[test]
fn a_pinned_notebook_without_gpu_jobs_is_fine() {
    let nb = gpu_notebook(Volume::Claim("ReadWriteOnce"));
    std::fs::write(
        nb.workdir.join("cpu.yaml"),
        "jobs:\n- {name: prep, command: python prep.py, resources: {gpu: 0}}\n",
    )
    .expect("write");
    let out = run(nb.in_pod().args(["run", "-f", "cpu.yaml"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("GPU"), "{}", out.stderr);
    assert_eq!(nb.workflows().len(), 1);
}

#[test]
fn a_pod_file_dry_run_warns_instead_of_refusing() {
    let home = temp_home();
    let workdir = std::fs::canonicalize(home.path()).expect("canonical");
    let pod_file = workdir.join("pod.json");
    let pod = gpu_pod(&workdir, Volume::Claim("ReadWriteOnce"));
    std::fs::write(&pod_file, pod.to_string()).expect("write pod");
    std::fs::write(workdir.join("workflow.yaml"), WORKFLOW).expect("write workflow");
    let out = run(jupyterflow(home.path())
        .current_dir(&workdir)
        .args(["run", "--dry-run", "--pod-file"])
        .arg(&pod_file)
        .args(["-f", "workflow.yaml"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("note: if claim `claim-alice` is ReadWriteOnce, a submission would be refused: job `train` asks for GPUs"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(PEAK_NOTE), "{}", out.stderr);
    assert!(out.stdout.contains("kind: Workflow"), "{}", out.stdout);
}

#[test]
fn the_local_backend_says_once_that_it_ignores_node_selectors_and_tolerations() {
    let home = temp_home();
    std::fs::write(
        home.path().join("workflow.yaml"),
        "jobs:
- {name: a, command: echo a, node_selector: {pool: gpu}}
- name: b
  command: echo b
  depends: a
  tolerations: [{key: nvidia.com/gpu, operator: Exists}]
- {name: c, command: echo c, depends: b}
",
    )
    .expect("write");
    let out = run(jupyterflow(home.path()).args(["run", "--local", "-f", "workflow.yaml"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let note = "note: `node_selector` and `tolerations` (jobs `a`, `b`) choose the cluster nodes job pods run on; running here, they are ignored";
    assert_eq!(out.stderr.matches(note).count(), 1, "{}", out.stderr);
    let plan =
        run(jupyterflow(home.path()).args(["run", "--local", "--dry-run", "-f", "workflow.yaml"]));
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert_eq!(plan.stderr.matches(note).count(), 1, "{}", plan.stderr);
}
