//! Job supervisor benchmark (issue 12): what `jupyterflow exec-job` adds to a cluster job.
//!
//! - Start: `jupyterflow exec-job --workflow W -- /bin/sh -c true` against `/bin/sh -c true`
//!   started directly, alternately in the same process; the supervisor's run includes writing
//!   the job's record twice (start and end, each an fsynced atomic rename) and its log file.
//!   Target: under 20 ms more.
//! - Throughput: a 100 MB log (`cat` of a 100 MB file of text lines) through the supervisor,
//!   whose stdout goes to /dev/null as a pod's does to the runtime, against the same `cat`
//!   with its stdout on /dev/null. The supervisor also writes the 100 MB to the job's log in
//!   the run folder. Target: no measurable loss. Then against `cat | tee FILE > /dev/null`,
//!   which does the same work (one more pipe, one copy into a file) with two plain tools; and
//!   the pass-through alone (no run folder can be made) against `cat | cat > /dev/null`.
//!
//! Prints the medians and the median of the per-round ratios. Run: `cargo bench --bench
//! supervisor [-- ROUNDS]` (default 31 start rounds; a fifth of that, at least 5, for 100 MB).
//! The run folder is a temp dir: on a real shared volume (NFS) the record's fsyncs cost more.

#![expect(clippy::print_stdout, reason = "a benchmark prints its report")]
#![expect(
    clippy::unwrap_used,
    reason = "a benchmark may stop at the first failure"
)]

use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WORKFLOW: &str = "bench-x7k2p";
const LOG_MIB: u32 = 100;
const LOG_BYTES: usize = LOG_MIB as usize * 1024 * 1024;

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(31);
    let exe = env!("CARGO_BIN_EXE_jupyterflow");
    let tmp = tempfile::tempdir().unwrap();
    let workdir = fs::canonicalize(tmp.path()).unwrap();

    let direct = |script: &str| {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", script]);
        cmd
    };
    let supervised = |script: &str| {
        let mut cmd = Command::new(exe);
        cmd.env("JUPYTERFLOW_ARGO_NODE", format!("{WORKFLOW}.job"))
            .env("JUPYTERFLOW_POD_NAME", format!("{WORKFLOW}-job-1"))
            .env("JUPYTERFLOW_K8S_NODE", "bench-node")
            .args(["exec-job", "--workflow", WORKFLOW, "--", "/bin/sh", "-c"])
            .arg(script);
        cmd
    };

    // Check the supervisor does what is timed (and warm the caches).
    time(&mut supervised("echo checked"), &workdir);
    let log = workdir
        .join(".jupyterflow/runs")
        .join(WORKFLOW)
        .join("logs/job.log");
    assert_eq!(fs::read_to_string(&log).unwrap(), "checked\n");

    println!("start: /bin/sh -c true, {rounds} rounds each, alternating");
    let (bare, sup, ratios) = alternate(
        rounds,
        || time(&mut direct("true"), &workdir),
        || time(&mut supervised("true"), &workdir),
    );
    println!("  direct:     median {}", ms(bare));
    println!("  supervised: median {}", ms(sup));
    println!(
        "  added:      {} per job start (target < 20 ms); ratio median {:.2}",
        ms(sup.saturating_sub(bare)),
        ratios
    );

    throughput(rounds, &workdir, &supervised, &direct, &log);
}

/// The 100 MiB log: through the supervisor against `cat` alone, `cat | tee`, and (without a
/// log) `cat | cat`.
fn throughput(
    rounds: usize,
    workdir: &Path,
    supervised: &dyn Fn(&str) -> Command,
    direct: &dyn Fn(&str) -> Command,
    log: &Path,
) {
    let input = workdir.join("log.txt");
    write_log(&input);
    let script = format!("cat '{}'", input.display());
    let big = (rounds / 5).max(5);
    println!("throughput: a 100 MB log, {big} rounds each, alternating");
    let (bare, sup, ratios) = alternate(
        big,
        || time(&mut direct(&script), workdir),
        || time(&mut supervised(&script), workdir),
    );
    assert_eq!(fs::metadata(log).unwrap().len(), LOG_BYTES as u64);
    println!(
        "  cat > /dev/null:              median {} ({})",
        ms(bare),
        rate(bare)
    );
    println!(
        "  through the supervisor + log: median {} ({})",
        ms(sup),
        rate(sup)
    );
    println!("  ratio median {ratios:.2} (target: no measurable loss)");
    // The same work done by two plain tools: one more pipe and a copy into a file.
    let teed = format!(
        "{script} | tee '{}' > /dev/null",
        workdir.join("tee.log").display()
    );
    let (tee, sup, ratios) = alternate(
        big,
        || time(&mut direct(&teed), workdir),
        || time(&mut supervised(&script), workdir),
    );
    println!(
        "  cat | tee FILE > /dev/null:   median {} ({})",
        ms(tee),
        rate(tee)
    );
    println!(
        "  through the supervisor + log: median {} ({})",
        ms(sup),
        rate(sup)
    );
    println!("  ratio median {ratios:.2} against cat | tee");
    // The pass-through alone: a working directory where no run folder can be made (its
    // `.jupyterflow` is a file), against the same extra pipe hop by `cat`.
    let nolog = workdir.join("nolog");
    fs::create_dir(&nolog).unwrap();
    fs::write(nolog.join(".jupyterflow"), "").unwrap();
    let piped = format!("{script} | cat > /dev/null");
    let (hop, sup, ratios) = alternate(
        big,
        || time(&mut direct(&piped), workdir),
        || time(&mut supervised(&script), &nolog),
    );
    println!(
        "  cat | cat > /dev/null:        median {} ({})",
        ms(hop),
        rate(hop)
    );
    println!(
        "  through the supervisor, no log: median {} ({})",
        ms(sup),
        rate(sup)
    );
    println!("  ratio median {ratios:.2} against cat | cat");
}

/// Runs `a` and `b` alternately `rounds` times: their medians and the median of b/a per round.
fn alternate(
    rounds: usize,
    mut a: impl FnMut() -> Duration,
    mut b: impl FnMut() -> Duration,
) -> (Duration, Duration, f64) {
    let mut xs = Vec::with_capacity(rounds);
    let mut ys = Vec::with_capacity(rounds);
    let mut ratios = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let x = a();
        let y = b();
        ratios.push(y.as_secs_f64() / x.as_secs_f64());
        xs.push(x);
        ys.push(y);
    }
    xs.sort();
    ys.sort();
    ratios.sort_by(f64::total_cmp);
    (xs[rounds / 2], ys[rounds / 2], ratios[rounds / 2])
}

/// Wall time from spawn to exit, stdout and stderr on /dev/null; the command must succeed.
fn time(cmd: &mut Command, workdir: &Path) -> Duration {
    let start = Instant::now();
    let status = cmd
        .current_dir(workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let took = start.elapsed();
    assert!(status.success(), "{cmd:?}: {status}");
    took
}

/// 100 MB of 100-byte lines, as a chatty training loop writes them.
fn write_log(path: &Path) {
    let mut out = std::io::BufWriter::new(fs::File::create(path).unwrap());
    let line = format!(
        "{:<99}\n",
        "epoch 1 step 100 loss 0.4213 lr 0.001 accuracy 0.8731"
    );
    for _ in 0..LOG_BYTES / line.len() {
        out.write_all(line.as_bytes()).unwrap();
    }
    out.write_all(&line.as_bytes()[..LOG_BYTES % line.len()])
        .unwrap();
    out.flush().unwrap();
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn rate(d: Duration) -> String {
    format!("{:.0} MiB/s", f64::from(LOG_MIB) / d.as_secs_f64())
}
