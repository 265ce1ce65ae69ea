//! Render benchmark (issue: core): text → pipeline → validated DAG → Argo Workflow → JSON, for
//! chains, layered DAGs and sweeps of 1,000 / 10,000 / 100,000 jobs. Each case runs in its own
//! child process so its peak RSS is its own. The baseline, run in the same process on the same
//! DAG, is the original tool's shape (one template with the whole container per job); ratios are
//! ours/baseline (t ratio: our validate+render+serialise vs building and serialising the original shape). Run: `cargo bench --bench render` (add `-- --quick` for 1,000 and 10,000 only).

#![expect(clippy::print_stdout, reason = "a benchmark prints its report")]
#![expect(
    clippy::unwrap_used,
    reason = "a benchmark may stop at the first failure"
)]
#![expect(
    clippy::cast_precision_loss,
    reason = "byte and job counts are far below 2^52"
)]

use std::fmt::Write as _;
use std::process::Command;
use std::time::Instant;

use jupyterflow::argo::types::{DagTask, Template};
use jupyterflow::argo::{self, Manifest, RenderOptions};
use jupyterflow::environment::discover::read_pod_file;
use jupyterflow::environment::pod::{LocalContext, PodOptions, from_pod};
use jupyterflow::pipeline::{Dag, one_liner, workflow_file};

const ROUNDS: usize = 5;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--case") {
        let shape = &args[i + 1];
        let n: usize = args[i + 2].parse().unwrap();
        run_case(shape, n);
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let sizes: &[usize] = if quick {
        &[1_000, 10_000]
    } else {
        &[1_000, 10_000, 100_000]
    };
    println!(
        "{:<8} {:>8} {:>9} {:>10} {:>9} {:>9} {:>10} {:>7} {:>10} {:>8} {:>8}",
        "shape",
        "jobs",
        "total ms",
        "render ms",
        "status ms",
        "peak MiB",
        "bytes",
        "B/job",
        "orig B/job",
        "B ratio",
        "t ratio"
    );
    let exe = std::env::current_exe().unwrap();
    for shape in ["chain", "layered", "sweep"] {
        for &n in sizes {
            let out = Command::new(&exe)
                .args(["--case", shape, &n.to_string()])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{shape} {n}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            print!("{}", String::from_utf8_lossy(&out.stdout));
        }
    }
    println!(
        "\nmedians of {ROUNDS} rounds. total = parse text + validate + render + serialise JSON; render = the\n\
         same without parsing. status = estimating the status Argo will add (argo::status_size, part of\n\
         check_limits, not in total). peak = VmHWM of the case's own process, before the baseline ran. bytes =\n\
         compact JSON. orig = the same DAG in the original tool's shape (one template holding the whole\n\
         container per job), serialised in the same process; B ratio and t ratio = ours / orig\n\
         (t ratio compares our render with the baseline's serialisation alone)."
    );
}

/// The pipeline text for a case, as a user would write it.
fn input(shape: &str, n: usize) -> (String, bool) {
    match shape {
        "chain" => (
            (0..n)
                .map(|i| format!("python step.py --part {i}"))
                .collect::<Vec<_>>()
                .join(" >> "),
            false,
        ),
        "sweep" => (
            format!(
                "python prep.py >> python train.py --seed {{{}}} >> python eval.py",
                (0..n - 2)
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            false,
        ),
        _ => {
            // 100 jobs per layer, each depending on two jobs of the previous layer.
            let mut yaml = String::from("name: layered\njobs:\n");
            for i in 0..n {
                let _ = writeln!(yaml, "- name: j{i}\n  command: python step.py --part {i}");
                if i >= 100 {
                    let base = (i / 100 - 1) * 100;
                    let (a, b) = (base + i % 100, base + (i + 1) % 100);
                    let _ = writeln!(yaml, "  depends: [j{a}, j{b}]");
                }
            }
            (yaml, true)
        }
    }
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run_case(shape: &str, n: usize) {
    let root = env!("CARGO_MANIFEST_DIR");
    let pod = read_pod_file(format!("{root}/tests/fixtures/pods/zero-to-jupyterhub.json").as_ref())
        .unwrap();
    let local = LocalContext {
        working_dir: "/home/jovyan/project".into(),
        path: Some("/opt/conda/bin:/usr/bin:/bin".into()),
        home: Some("/home/jovyan".into()),
        nb_user: Some("jovyan".into()),
        nb_user_ids: None,
    };
    let env = from_pod(&pod, &local, &PodOptions { pin_image: true }).unwrap();
    let (text, is_yaml) = input(shape, n);
    let mut times = Vec::new();
    let mut render_times = Vec::new();
    let mut bytes = 0;
    let mut last = None;
    for _ in 0..ROUNDS {
        // Free the previous round first: the peak should be what one `run` needs.
        drop(last.take());
        let start = Instant::now();
        let pipeline = if is_yaml {
            workflow_file::parse(&text, "workflow.yaml".as_ref(), None).unwrap()
        } else {
            one_liner::parse(&text, None).unwrap()
        };
        let parsed = Instant::now();
        let dag = Dag::build(pipeline).unwrap();
        let manifest = argo::render(&dag, &env, &RenderOptions::default()).unwrap();
        let json = serde_json::to_vec(&manifest).unwrap();
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        render_times.push(parsed.elapsed().as_secs_f64() * 1000.0);
        bytes = json.len();
        last = Some((dag, manifest));
    }
    let peak = peak_rss_kib();
    let (dag, manifest) = last.unwrap();
    // The status estimate `check_limits` adds, on its own: counts and lengths over the spec.
    let Manifest::Workflow(workflow) = &manifest else {
        panic!("a Workflow")
    };
    let mut status_times = Vec::new();
    for _ in 0..ROUNDS {
        let start = Instant::now();
        std::hint::black_box(argo::status_size::estimate(&workflow.spec, 62));
        status_times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    let jobs = dag.job_count();
    // Baseline: the same DAG with the whole container repeated in one template per job.
    let mut baseline_times = Vec::new();
    let mut baseline_bytes = 0;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let json = serde_json::to_vec(&original_shape(&dag, &manifest)).unwrap();
        baseline_times.push(start.elapsed().as_secs_f64() * 1000.0);
        baseline_bytes = json.len();
    }
    let (ms, render_ms, base_ms) = (median(times), median(render_times), median(baseline_times));
    let status_ms = median(status_times);
    let per_job = bytes as f64 / jobs as f64;
    let base_per_job = baseline_bytes as f64 / jobs as f64;
    println!(
        "{shape:<8} {jobs:>8} {ms:>9.1} {render_ms:>10.1} {status_ms:>9.2} {:>9.1} {bytes:>10} {per_job:>7.1} {base_per_job:>10.1} {:>8.3} {:>8.2}",
        peak as f64 / 1024.0,
        per_job / base_per_job,
        ms / base_ms,
    );
}

/// The original tool's shape: every job its own template holding the full container.
fn original_shape(dag: &Dag, manifest: &Manifest) -> serde_json::Value {
    let Manifest::Workflow(w) = manifest else {
        return serde_json::Value::Null;
    };
    let container = w
        .spec
        .templates
        .iter()
        .find_map(|t| t.container.clone())
        .unwrap();
    let mut templates = Vec::new();
    let mut tasks = Vec::new();
    for job in dag.jobs() {
        let task = &dag.tasks[job.task];
        let mut c = container.clone();
        c.command = Some(task.argv(&job.values));
        templates.push(Template {
            name: job.name.clone(),
            container: Some(c),
            ..Template::default()
        });
        tasks.push(DagTask {
            name: job.name.clone(),
            template: job.name,
            dependencies: task
                .depends
                .iter()
                .map(|&d| dag.tasks[d].name.clone())
                .collect(),
            ..DagTask::default()
        });
    }
    serde_json::json!({ "metadata": w.metadata, "spec": { "templates": templates, "dag": tasks } })
}
