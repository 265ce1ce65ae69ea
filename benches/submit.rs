//! Submit benchmark (issue: Kubernetes backend). Against the in-process fake API server on
//! loopback, it runs `jupyterflow run -c …` the way a notebook does (service account,
//! $HOSTNAME) and, alternately, `kubectl create -f` of the same Workflow (rendered once by
//! `jupyterflow run --dry-run -o json`), and prints: requests per `run` (target: exactly 2), the
//! median wall time of each and their ratio (target ≤ 0.5 × kubectl), and each one's peak RSS.
//! kubectl's discovery cache is warmed first, so it is measured at its fastest. A kubectl too old
//! to use the server's OpenAPI v3 (Debian's 1.20) runs with `--validate=false`, which only
//! makes it faster.
//! Run: `cargo bench --bench submit [-- ROUNDS]` (default 21). `$KUBECTL` picks the kubectl
//! binary (default: `kubectl` on PATH), e.g. Debian's `kubernetes-client` extracted with
//! `apt-get download kubernetes-client && dpkg -x kubernetes-client_*.deb /tmp/k`.

#![expect(clippy::print_stdout, reason = "a benchmark prints its report")]
#![expect(
    clippy::unwrap_used,
    reason = "a benchmark may stop at the first failure"
)]
#![expect(clippy::cast_precision_loss, reason = "small counts and durations")]

#[path = "../tests/it/fake_api/mod.rs"]
mod fake_api;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

const JUPYTERFLOW: &str = env!("CARGO_BIN_EXE_jupyterflow");
const NAMESPACE: &str = "jhub";
const POD: &str = "jupyter-alice";
const PIPELINE: &str = "python prep.py >> python train.py --lr 0.1 >> python eval.py";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // Wrapper mode: run the command, then report the peak RSS of that child alone.
    if args.get(1).map(String::as_str) == Some("--measure") {
        let status = Command::new(&args[2])
            .args(&args[3..])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        let usage =
            nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).unwrap();
        println!("{} {}", status.code().unwrap_or(-1), usage.max_rss());
        return;
    }
    let rounds: usize = args
        .iter()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(21);
    let api = fake_api::FakeApi::start();
    let dir = tempfile::tempdir().unwrap();
    let work = std::fs::canonicalize(dir.path()).unwrap();
    let env = setup(&api, &work);

    let manifest = render_manifest(&env, &work);
    let kubeconfig = work.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        api.kubeconfig_yaml(&[("fake", Some(NAMESPACE))]),
    )
    .unwrap();
    let kubectl_env = vec![
        ("PATH".to_owned(), std::env::var("PATH").unwrap_or_default()),
        ("HOME".to_owned(), work.to_string_lossy().into_owned()),
        (
            "KUBECONFIG".to_owned(),
            kubeconfig.to_string_lossy().into_owned(),
        ),
    ];
    let kubectl = std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into());
    let manifest_arg = manifest.to_string_lossy().into_owned();
    let mut kubectl_args = vec!["create", "-f", &manifest_arg, "-o", "name"];
    // Warm kubectl's discovery cache (~/.kube/cache), as on a machine that has used it before.
    if try_run(&kubectl, &kubectl_args, &kubectl_env, &work).is_err() {
        kubectl_args.push("--validate=false");
        println!(
            "{kubectl}: client-side validation needs OpenAPI v2; measuring with --validate=false"
        );
        timed(&kubectl, &kubectl_args, &kubectl_env, &work);
    }
    let version = Command::new(&kubectl)
        .args(["version", "--client"])
        .output()
        .unwrap();
    println!(
        "kubectl: {}",
        String::from_utf8_lossy(&version.stdout)
            .lines()
            .next()
            .unwrap_or("?")
    );

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut requests = Vec::new();
    let mut kubectl_requests = Vec::new();
    let mut ratios = Vec::new();
    for _ in 0..rounds {
        api.clear_requests();
        let ours_time = timed(JUPYTERFLOW, &["run", "-c", PIPELINE], &env, &work);
        requests.push(api.requests().len());
        api.clear_requests();
        let kubectl_time = timed(&kubectl, &kubectl_args, &kubectl_env, &work);
        kubectl_requests.push(api.requests().len());
        ratios.push(ours_time.as_secs_f64() / kubectl_time.as_secs_f64());
        ours.push(ours_time);
        theirs.push(kubectl_time);
    }
    let ours_rss = peak_rss(JUPYTERFLOW, &["run", "-c", PIPELINE], &env, &work);
    let kubectl_rss = peak_rss(&kubectl, &kubectl_args, &kubectl_env, &work);
    let created = api.workflows(NAMESPACE).len();
    report(
        rounds,
        Measured {
            ours,
            theirs,
            requests,
            kubectl_requests,
            ratios,
            ours_rss,
            kubectl_rss,
            created,
        },
    );
}

/// The manifest kubectl will create: the very same object jupyterflow submits.
fn render_manifest(env: &[(String, String)], work: &Path) -> std::path::PathBuf {
    let manifest = work.join("workflow.json");
    let out = command(
        JUPYTERFLOW,
        &["run", "--dry-run", "-o", "json", "-c", PIPELINE],
        env,
        work,
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&manifest, &out.stdout).unwrap();
    manifest
}

struct Measured {
    ours: Vec<Duration>,
    theirs: Vec<Duration>,
    requests: Vec<usize>,
    kubectl_requests: Vec<usize>,
    ratios: Vec<f64>,
    ours_rss: u64,
    kubectl_rss: u64,
    created: usize,
}

fn report(rounds: usize, m: Measured) {
    let Measured {
        mut ours,
        mut theirs,
        mut requests,
        mut kubectl_requests,
        mut ratios,
        ours_rss,
        kubectl_rss,
        created,
    } = m;
    requests.sort_unstable();
    kubectl_requests.sort_unstable();
    println!("submit benchmark: {rounds} rounds against the fake API server on 127.0.0.1");
    println!("{:<28} {:>12} {:>12}", "", "jupyterflow", "kubectl");
    println!(
        "{:<28} {:>12} {:>12}",
        "requests per submit (min-max)",
        format!("{}-{}", requests[0], requests[requests.len() - 1]),
        format!(
            "{}-{}",
            kubectl_requests[0],
            kubectl_requests[kubectl_requests.len() - 1]
        )
    );
    println!(
        "{:<28} {:>12.1} {:>12.1}",
        "median wall time (ms)",
        median_ms(&mut ours),
        median_ms(&mut theirs)
    );
    println!(
        "{:<28} {:>12.1} {:>12.1}",
        "peak RSS (MiB)",
        ours_rss as f64 / 1024.0,
        kubectl_rss as f64 / 1024.0
    );
    ratios.sort_by(f64::total_cmp);
    println!(
        "median ratio jupyterflow/kubectl: {:.3} (target <= 0.5); range {:.3}-{:.3}",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
    println!("workflows created: {created}");
}

/// The notebook pod (an NFS volume over `work`, so no claim read), its service account, and
/// the environment a notebook process has.
fn setup(api: &fake_api::FakeApi, work: &Path) -> Vec<(String, String)> {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pods/zero-to-jupyterhub.json"
    );
    let mut pod: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let mounts = pod["spec"]["containers"][0]["volumeMounts"]
        .as_array_mut()
        .unwrap();
    mounts.retain(|m| m["name"] != "shared-nfs");
    mounts.push(json!({"name": "shared-nfs", "mountPath": work.to_string_lossy()}));
    api.add_pod(NAMESPACE, pod);
    let sa = work.join("sa");
    std::fs::create_dir_all(&sa).unwrap();
    api.write_service_account_dir(&sa, NAMESPACE);
    vec![
        ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
        ("HOME".into(), work.to_string_lossy().into_owned()),
        ("NB_USER".into(), "jovyan".into()),
        ("HOSTNAME".into(), POD.into()),
        ("KUBERNETES_SERVICE_HOST".into(), api.host()),
        ("KUBERNETES_SERVICE_PORT".into(), api.port().to_string()),
        (
            "JUPYTERFLOW_SERVICEACCOUNT_DIR".into(),
            sa.to_string_lossy().into_owned(),
        ),
    ]
}

/// `program args` with exactly `env`, in `dir`.
fn command(program: &str, args: &[&str], env: &[(String, String)], dir: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(env.iter().cloned())
        .current_dir(dir);
    command
}

fn try_run(
    program: &str,
    args: &[&str],
    env: &[(String, String)],
    dir: &Path,
) -> Result<Duration, String> {
    let started = Instant::now();
    let out = command(program, args, env, dir).output().unwrap();
    let elapsed = started.elapsed();
    if out.status.success() {
        Ok(elapsed)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn timed(program: &str, args: &[&str], env: &[(String, String)], dir: &Path) -> Duration {
    try_run(program, args, env, dir).unwrap_or_else(|e| panic!("{program} failed: {e}"))
}

/// Peak RSS in KiB of one run, measured by this binary re-run as a wrapper.
fn peak_rss(program: &str, args: &[&str], env: &[(String, String)], dir: &Path) -> u64 {
    let exe = std::env::current_exe().unwrap();
    let wrapped: Vec<&str> = ["--measure", program]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    let out = command(&exe.to_string_lossy(), &wrapped, env, dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.split_whitespace();
    assert_eq!(
        fields.next(),
        Some("0"),
        "{program} failed under the wrapper"
    );
    fields.next().unwrap().parse().unwrap()
}

fn median_ms(times: &mut [Duration]) -> f64 {
    times.sort_unstable();
    times[times.len() / 2].as_secs_f64() * 1000.0
}
