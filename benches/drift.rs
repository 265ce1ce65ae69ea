//! Drift-check benchmark (issue: environment drift). Builds a fixture in a temp dir shaped like a
//! big conda data-science image plus a home volume: 1,000 dist-info directories in the conda
//! site-packages, 1,000 in the `--user` site on the home volume and 500 conda-meta records, 5%
//! of them modified after the "container start". It times `packages::scan` against the real
//! filesystem and, alternately in the same process, a bare `read_dir` + `metadata` walk of the
//! same three directories (the syscalls no implementation can avoid), and prints both medians and
//! the median of the per-round ratios. Target: well under 50 ms for ~500 distributions.
//! Run: `cargo bench --bench drift [-- ROUNDS]` (default 21).

#![expect(clippy::print_stdout, reason = "a benchmark prints its report")]
#![expect(
    clippy::unwrap_used,
    reason = "a benchmark may stop at the first failure"
)]

use std::fs::{self, File, FileTimes};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jupyterflow::environment::discover::RealFs;
use jupyterflow::environment::packages::{self, Mount};

const SITE_DISTS: usize = 1_000;
const CONDA_RECORDS: usize = 500;
/// One in this many records is "installed after the start".
const NEW_EVERY: usize = 20;

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(21);
    let tmp = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(tmp.path()).unwrap();
    let started = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let fixture = Fixture::build(&root, started);
    let total = 2 * SITE_DISTS + CONDA_RECORDS;

    let path_var = format!("/nonexistent/bin:{}", fixture.conda.join("bin").display());
    let mounts = [Mount {
        path: fixture.home.clone(),
        shared: true,
    }];
    let run_scan = || {
        packages::scan(
            &path_var,
            &[],
            Some(&fixture.home),
            &mounts,
            started,
            &RealFs,
        )
    };

    // Check the fixture is what it claims before timing anything (and warm the caches).
    let drift = run_scan();
    assert_eq!(drift.scanned, total);
    assert_eq!(drift.scanned_dirs, fixture.dirs);
    assert_eq!(
        drift.drifted.len(),
        (SITE_DISTS + CONDA_RECORDS).div_ceil(NEW_EVERY)
    );
    assert_eq!(drift.on_shared.len(), SITE_DISTS.div_ceil(NEW_EVERY));
    assert_eq!(bare_walk(&fixture.dirs), total);

    let mut scan_times = Vec::with_capacity(rounds);
    let mut walk_times = Vec::with_capacity(rounds);
    let mut ratios = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        std::hint::black_box(run_scan());
        let scan = t.elapsed();
        let t = Instant::now();
        std::hint::black_box(bare_walk(&fixture.dirs));
        let walk = t.elapsed();
        scan_times.push(scan.as_secs_f64() * 1e3);
        walk_times.push(walk.as_secs_f64() * 1e3);
        ratios.push(scan.as_secs_f64() / walk.as_secs_f64());
    }
    println!(
        "scan {} dists: median {:.2} ms; bare walk median {:.2} ms; ratio to bare walk {:.2} \
         ({rounds} rounds)",
        thousands(total),
        median(scan_times),
        median(walk_times),
        median(ratios)
    );
}

struct Fixture {
    conda: PathBuf,
    home: PathBuf,
    /// The directories holding records, in the order `scan` lists them.
    dirs: Vec<PathBuf>,
}

impl Fixture {
    fn build(root: &Path, started: SystemTime) -> Fixture {
        let mtime = |i: usize| {
            if i.is_multiple_of(NEW_EVERY) {
                started + Duration::from_secs(60)
            } else {
                started - Duration::from_secs(86_400)
            }
        };
        let conda = root.join("opt/conda");
        fs::create_dir_all(conda.join("bin")).unwrap();
        fs::write(conda.join("bin/python3.11"), "").unwrap();
        std::os::unix::fs::symlink("python3.11", conda.join("bin/python3")).unwrap();
        let site = conda.join("lib/python3.11/site-packages");
        let home = root.join("home/jovyan");
        let user_site = home.join(".local/lib/python3.11/site-packages");
        let meta = conda.join("conda-meta");
        for (dir, prefix) in [(&site, "pkg"), (&user_site, "user_pkg")] {
            for i in 0..SITE_DISTS {
                let path = dir.join(format!("{prefix}_{i:04}-1.{i}.0.dist-info"));
                fs::create_dir_all(&path).unwrap();
                set_mtime(&path, mtime(i));
            }
        }
        fs::create_dir_all(&meta).unwrap();
        for i in 0..CONDA_RECORDS {
            let path = meta.join(format!("conda-pkg-{i:04}-2.{i}-h{i:x}_0.json"));
            fs::write(&path, "{}").unwrap();
            set_mtime(&path, mtime(i));
        }
        fs::write(meta.join("history"), "").unwrap();
        Fixture {
            conda,
            home,
            dirs: vec![site, user_site, meta],
        }
    }
}

fn set_mtime(path: &Path, when: SystemTime) {
    File::open(path)
        .unwrap()
        .set_times(FileTimes::new().set_modified(when))
        .unwrap();
}

/// The baseline: list each directory and stat every entry, nothing else. Returns how many
/// records there were, so that it cannot be optimised away and is checked against the scan.
fn bare_walk(dirs: &[PathBuf]) -> usize {
    let mut records = 0;
    for dir in dirs {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let modified = entry.metadata().unwrap().modified().unwrap();
            std::hint::black_box(modified);
            let name = entry.file_name();
            let name = name.to_string_lossy();
            records += usize::from(name.ends_with(".dist-info") || name.ends_with(".json"));
        }
    }
    records
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
