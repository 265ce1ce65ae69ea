//! What jupyterflow does about environment drift (packages installed into the notebook
//! container's own layer after it started, which job pods do not have: see `packages`): the
//! policy, the words of the warning and the refusal, and `replay`'s plan, the shell lines every
//! job runs first to install exactly those versions from a wheel cache on the shared volume.
//! Pure: the scan's result comes in, text and a plan go out. Downloading the wheels is
//! `discover::wheels`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::packages::{Dist, DistKind, Drift};
use crate::pipeline::command::{quote, quote_program};

/// What to do about drift (`drift:` in the config, `run --drift`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftPolicy {
    /// Name the missing packages and submit anyway.
    #[default]
    Warn,
    /// Submit nothing while any package is missing.
    Refuse,
    /// Each job installs exactly those versions first, from wheels saved on the shared volume.
    Replay,
    /// Do not check.
    Ignore,
}

impl DriftPolicy {
    pub const NAMES: [&'static str; 4] = ["warn", "refuse", "replay", "ignore"];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "warn" => Some(DriftPolicy::Warn),
            "refuse" => Some(DriftPolicy::Refuse),
            "replay" => Some(DriftPolicy::Replay),
            "ignore" => Some(DriftPolicy::Ignore),
            _ => None,
        }
    }
}

/// Where the wheel caches live, under the working directory (which the pre-flight made sure
/// job pods mount).
pub const WHEELS_DIR: &str = ".jupyterflow/wheels";

/// How many packages a message names before it says "and N more".
const NAMED: usize = 8;

/// `seaborn 0.13.2, tqdm 4.66.1 and 3 more`.
pub fn names(dists: &[Dist]) -> String {
    let mut named: Vec<String> = dists
        .iter()
        .take(NAMED)
        .map(|d| format!("{} {}", d.name, d.version))
        .collect();
    if dists.len() > NAMED {
        named.push(format!("{} more", dists.len() - NAMED));
    }
    match named.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

/// The problem, in one sentence: what is missing in the jobs, and why.
pub fn problem(drift: &Drift) -> String {
    let count = drift.drifted.len();
    format!(
        "{} installed after the notebook started, outside every volume the jobs mount, so \
         job pods (started from the image) will not have {}: {}",
        if count == 1 {
            "1 Python package was".to_owned()
        } else {
            format!("{count} Python packages were")
        },
        if count == 1 { "it" } else { "them" },
        names(&drift.drifted)
    )
}

/// How to fix it for good, or for this run.
pub const HINT: &str = "install them on your home volume (`pip install --user …`), or add them \
                        to the notebook image; `--drift replay` installs these versions in \
                        each job first, `--drift ignore` submits as is";

/// A drifted distribution pip can install again: it has a `.dist-info` or `.egg-info` record
/// (a conda package that is only a conda-meta record, like a C library, is not pip's).
fn pip_installable(dist: &Dist) -> bool {
    std::iter::once(&dist.path).chain(&dist.also_at).any(|p| {
        p.extension()
            .is_some_and(|e| e == "dist-info" || e == "egg-info")
    }) || dist.kind != DistKind::Conda
}

/// The pip requirements `replay` installs (`name==version`, in the drift's order), grouped by
/// the environment each package was found in (its pip installs it again), and the drifted
/// distributions pip cannot install (conda-only packages).
pub fn replay_plan(drift: &Drift) -> (BTreeMap<PathBuf, Vec<String>>, Vec<Dist>) {
    let mut groups: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    let mut conda_only = Vec::new();
    for dist in &drift.drifted {
        match environment_of(dist, &drift.environments) {
            Some(prefix) if pip_installable(dist) => groups
                .entry(prefix.to_owned())
                .or_default()
                .push(format!("{}=={}", dist.name, dist.version)),
            _ => conda_only.push(dist.clone()),
        }
    }
    (groups, conda_only)
}

/// The environment a drifted distribution was found in: the interpreter whose pip installs it
/// again. `environments` are the prefixes the scan resolved, in PATH order; the deepest one
/// holding the distribution wins, else the first (a user-site package belongs to the first).
pub fn environment_of<'e>(dist: &Dist, environments: &'e [PathBuf]) -> Option<&'e Path> {
    environments
        .iter()
        .filter(|prefix| dist.path.starts_with(prefix))
        .max_by_key(|prefix| prefix.components().count())
        .or_else(|| environments.first())
        .map(PathBuf::as_path)
}

/// The cache folder for one set of requirements: the same set always maps to the same folder,
/// so it is written once and reused by later runs. FNV-1a over the sorted set.
pub fn cache_name(requirements: &[String]) -> String {
    let mut sorted: Vec<&String> = requirements.iter().collect();
    sorted.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for requirement in sorted {
        for byte in requirement.bytes().chain(std::iter::once(b'\n')) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// What replay installs, from where, with which interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// The interpreter whose pip installs them: the same path in the job's image.
    pub interpreter: String,
    /// The wheel cache, an absolute path on the shared volume.
    pub wheels: String,
    pub requirements: Vec<String>,
}

impl Replay {
    /// The shell lines each job runs before its command: install from the cache only (no
    /// index: the cluster may have no internet), and fail the job, saying why, if that fails.
    pub fn prelude(&self) -> String {
        let requirements: Vec<String> = self.requirements.iter().map(|r| quote(r)).collect();
        format!(
            "{} -m pip install --quiet --disable-pip-version-check --no-deps --no-index \
             --find-links {} {} || {{ echo 'jupyterflow: installing the packages installed \
             in the notebook after it started failed (drift: replay)' >&2; exit 1; }}",
            quote_program(&self.interpreter),
            quote(&self.wheels),
            requirements.join(" ")
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn dist(name: &str, version: &str, path: &str, kind: DistKind) -> Dist {
        Dist {
            name: name.into(),
            version: version.into(),
            path: path.into(),
            kind,
            modified: UNIX_EPOCH + Duration::from_secs(10),
            shared_root: None,
            also_at: Vec::new(),
        }
    }

    #[test]
    fn a_long_list_is_cut_and_counted() {
        let many: Vec<Dist> = (0..11)
            .map(|i| dist(&format!("p{i}"), "1.0", "/x", DistKind::DistInfo))
            .collect();
        assert_eq!(
            names(&many),
            "p0 1.0, p1 1.0, p2 1.0, p3 1.0, p4 1.0, p5 1.0, p6 1.0, p7 1.0 and 3 more"
        );
        assert_eq!(names(&many[..1]), "p0 1.0");
        assert_eq!(names(&many[..2]), "p0 1.0 and p1 1.0");
        let drift = Drift {
            drifted: many[..1].to_vec(),
            ..Drift::default()
        };
        assert!(problem(&drift).starts_with("1 Python package was installed"));
        assert!(problem(&drift).contains("will not have it: p0 1.0"));
    }

    #[test]
    fn conda_only_packages_cannot_be_replayed_with_pip() {
        let mut python_part = dist(
            "numpy",
            "2.1.0",
            "/opt/conda/conda-meta/numpy-2.1.0-py311h.json",
            DistKind::Conda,
        );
        python_part.also_at = vec![PathBuf::from(
            "/opt/conda/lib/python3.11/site-packages/numpy-2.1.0.dist-info",
        )];
        let drift = Drift {
            environments: vec![PathBuf::from("/opt/conda")],
            drifted: vec![
                dist(
                    "libgfortran",
                    "14.2.0",
                    "/opt/conda/conda-meta/libgfortran-14.2.0-h.json",
                    DistKind::Conda,
                ),
                python_part,
                dist(
                    "seaborn",
                    "0.13.2",
                    "/opt/conda/lib/python3.11/site-packages/seaborn-0.13.2.dist-info",
                    DistKind::DistInfo,
                ),
            ],
            ..Drift::default()
        };
        let (groups, conda_only) = replay_plan(&drift);
        assert_eq!(
            groups,
            BTreeMap::from([(
                PathBuf::from("/opt/conda"),
                vec!["numpy==2.1.0".to_owned(), "seaborn==0.13.2".to_owned()]
            )])
        );
        assert_eq!(conda_only.len(), 1);
        assert_eq!(conda_only[0].name, "libgfortran");
    }

    #[test]
    fn the_cache_name_depends_on_the_set_only() {
        let a = cache_name(&["b==2".into(), "a==1".into()]);
        assert_eq!(a, cache_name(&["a==1".into(), "b==2".into()]));
        assert_ne!(a, cache_name(&["a==1".into(), "b==3".into()]));
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn a_package_belongs_to_the_environment_holding_it() {
        let envs = vec![
            PathBuf::from("/opt/conda"),
            PathBuf::from("/opt/conda/envs/ml"),
        ];
        let in_ml = dist(
            "x",
            "1",
            "/opt/conda/envs/ml/lib/python3.11/site-packages/x-1.dist-info",
            DistKind::DistInfo,
        );
        assert_eq!(
            environment_of(&in_ml, &envs),
            Some(Path::new("/opt/conda/envs/ml"))
        );
        let user_site = dist(
            "y",
            "1",
            "/home/jovyan/.local/lib/python3.11/site-packages/y-1.dist-info",
            DistKind::DistInfo,
        );
        assert_eq!(
            environment_of(&user_site, &envs),
            Some(Path::new("/opt/conda"))
        );
    }

    /// The prelude installs exactly these versions, offline, and stops the job when it fails;
    /// it runs as shell text, so every path and requirement is quoted.
    #[test]
    fn the_prelude_installs_offline_and_fails_the_job_on_error() {
        let replay = Replay {
            interpreter: "/opt/conda/bin/python3.11".into(),
            wheels: "/home/jovyan/my work/.jupyterflow/wheels/00ff".into(),
            requirements: vec!["seaborn==0.13.2".into(), "tqdm==4.66.1".into()],
        };
        assert_eq!(
            replay.prelude(),
            "/opt/conda/bin/python3.11 -m pip install --quiet --disable-pip-version-check \
             --no-deps --no-index --find-links '/home/jovyan/my work/.jupyterflow/wheels/00ff' \
             seaborn==0.13.2 tqdm==4.66.1 || { echo 'jupyterflow: installing the packages \
             installed in the notebook after it started failed (drift: replay)' >&2; exit 1; }"
        );
    }

    #[test]
    fn policies_parse_by_name() {
        for name in DriftPolicy::NAMES {
            assert!(DriftPolicy::parse(name).is_some(), "{name}");
        }
        assert_eq!(DriftPolicy::parse("Warn"), None);
    }
}
