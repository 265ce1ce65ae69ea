//! Environment drift: Python distributions that pip or conda installed into the notebook
//! container's own writable layer after it started. Job pods start from the notebook's image, so
//! those are missing in every job; what was installed on a volume the jobs also mount is not.
//!
//! Part A is pure: entry names → distributions, interpreter → candidate directories, and the
//! drift decision. Part B, [`scan`], reaches the filesystem only through the small [`Fs`] trait
//! (the real one is `discover::RealFs`), so tests run it over a fake tree: a handful of
//! directory listings, never a recursive walk, and nothing it cannot read is an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

// ---------------------------------------------------------------------------------------------
// A. Pure logic
// ---------------------------------------------------------------------------------------------

/// Which kind of record a distribution was found as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DistKind {
    /// `name-version.dist-info`, a directory in site-packages (pip, wheels, conda's python
    /// packages).
    DistInfo,
    /// `name-version[-pyX.Y].egg-info`, a directory or file in site-packages (setuptools,
    /// distutils, Debian's packages).
    EggInfo,
    /// `conda-meta/name-version-build.json`.
    Conda,
}

/// One installed distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dist {
    /// As written in the entry name (`python_dateutil`, `ruamel.yaml`); compare with
    /// [`normalize`].
    pub name: String,
    pub version: String,
    /// The `.dist-info`/`.egg-info` entry or the conda-meta JSON file.
    pub path: PathBuf,
    pub kind: DistKind,
    /// When that entry was last modified: pip and conda create it at install time.
    pub modified: SystemTime,
    /// For distributions in [`Drift::on_shared`]: the shared mount `path` is under.
    pub shared_root: Option<PathBuf>,
    /// The same distribution (normalised name and version) found in other places too, e.g. the
    /// conda-meta record of a package whose dist-info is in `path`.
    pub also_at: Vec<PathBuf>,
}

/// The result of a drift check: plain data, the printer words it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Drift {
    /// Installed after the container started, outside every shared mount: missing in jobs.
    /// Sorted by normalised name, then version.
    pub drifted: Vec<Dist>,
    /// Installed after the container started on a shared mount: jobs see them. Same order.
    pub on_shared: Vec<Dist>,
    /// How many distribution records were read, before any filtering.
    pub scanned: usize,
    /// The prefixes of the Python environments the jobs' interpreters resolve to, in PATH order.
    pub environments: Vec<PathBuf>,
    /// The directories that were actually listed, in order.
    pub scanned_dirs: Vec<PathBuf>,
}

/// One of the notebook container's mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Absolute mount path in the container.
    pub path: PathBuf,
    /// Whether job pods see this mount's contents (a PVC, NFS, hostPath…); `false` for mounts
    /// each pod gets afresh (emptyDir) or that the caller does not pass on to jobs. A non-shared
    /// mount nested in a shared one hides it, which is why mounts carry this flag rather than
    /// the caller passing shared paths alone.
    pub shared: bool,
}

/// A distribution record's name, version and kind, borrowed from the entry name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub kind: DistKind,
}

/// Parses a site-packages entry name: `name-version.dist-info` (PEP 376/427: the name has its
/// dashes escaped, the version never holds one, so the last dash splits them; splitting from the
/// right also copes with old unescaped names), or `name-version[-pyX.Y[-platform]].egg-info`.
/// Anything else (package directories, modules, `.pth` files) is `None`.
pub fn parse_site_entry(entry: &str) -> Option<Parsed<'_>> {
    if let Some(stem) = entry.strip_suffix(".dist-info") {
        let (name, version) = split_name_version(stem)?;
        return Some(Parsed {
            name,
            version,
            kind: DistKind::DistInfo,
        });
    }
    let stem = entry.strip_suffix(".egg-info")?;
    // The version is the part right before the `pyX.Y` tag when there is one (a platform may
    // follow the tag), else the last part.
    let head = stem
        .match_indices('-')
        .map(|(i, _)| i)
        .find(|&i| is_python_tag(&stem[i + 1..]))
        .map_or(stem, |i| &stem[..i]);
    let (name, version) = split_name_version(head)?;
    Some(Parsed {
        name,
        version,
        kind: DistKind::EggInfo,
    })
}

/// Parses a `conda-meta` entry name: `name-version-build.json`. Conda names may hold dashes
/// (`ca-certificates`) but versions and build strings never do, so split from the right twice.
pub fn parse_conda_entry(entry: &str) -> Option<Parsed<'_>> {
    let stem = entry.strip_suffix(".json")?;
    let (rest, build) = stem.rsplit_once('-')?;
    let (name, version) = split_name_version(rest)?;
    (!build.is_empty()).then_some(Parsed {
        name,
        version,
        kind: DistKind::Conda,
    })
}

fn split_name_version(stem: &str) -> Option<(&str, &str)> {
    let (name, version) = stem.rsplit_once('-')?;
    (!name.is_empty() && !version.is_empty()).then_some((name, version))
}

/// `py3.11`, `py2.py3`, `py3`: an egg's Python tag.
fn is_python_tag(part: &str) -> bool {
    part.strip_prefix("py")
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// PEP 503 normalisation: lowercase, every run of `-`, `_` and `.` becomes one `-`. Only for
/// comparing; [`Dist::name`] keeps what was written.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator {
                out.push('-');
            }
            in_separator = true;
        } else {
            out.extend(c.to_lowercase());
            in_separator = false;
        }
    }
    out
}

/// The `X.Y` (or `X.Yt`, free-threaded) of an interpreter or `lib` directory name:
/// `python3.11` → `3.11`. `python3` and `python` name no version.
pub fn python_version(file_name: &str) -> Option<&str> {
    let version = file_name.strip_prefix("python")?;
    let (major, minor) = version.split_once('.')?;
    let minor = minor.strip_suffix('t').unwrap_or(minor);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(major) && digits(minor)).then_some(version)
}

/// Where an interpreter with this prefix and version keeps its distributions: `site-packages`,
/// Debian's `dist-packages` (and, for the system `/usr`, `/usr/local/…/dist-packages`, where pip
/// installs there, and `/usr/lib/python3/dist-packages`, where apt does), and `lib64` on
/// Fedora-like systems. Candidates only: most do not exist, and listing a missing one is one
/// failed `open`.
pub fn site_packages_of(prefix: &Path, version: &str) -> Vec<PathBuf> {
    let lib = prefix.join("lib").join(format!("python{version}"));
    let mut dirs = vec![
        lib.join("site-packages"),
        lib.join("dist-packages"),
        prefix
            .join("lib64")
            .join(format!("python{version}"))
            .join("site-packages"),
    ];
    if prefix == Path::new("/usr") {
        dirs.push(PathBuf::from(format!(
            "/usr/local/lib/python{version}/dist-packages"
        )));
        if version.starts_with("3.") {
            dirs.push(PathBuf::from("/usr/lib/python3/dist-packages"));
        }
    }
    dirs
}

/// The user site directory (`pip install --user`) for a Python version.
pub fn user_site_of(home: &Path, version: &str) -> PathBuf {
    home.join(".local/lib")
        .join(format!("python{version}"))
        .join("site-packages")
}

/// Where conda keeps its records for an environment with this prefix.
pub fn conda_meta_of(prefix: &Path) -> PathBuf {
    prefix.join("conda-meta")
}

/// One directory entry, as [`Fs::list`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    /// The entry's own mtime (a symlink is not followed).
    pub modified: SystemTime,
}

/// The little filesystem access the drift check needs; [`RealFs`] is the real one.
pub trait Fs {
    /// The entries of `dir` whose names `keep` accepts, with their mtimes, in any order. Only
    /// accepted entries are stat'ed. `None` when `dir` cannot be read; entries that vanish or
    /// have non-UTF-8 names are left out.
    fn list(&self, dir: &Path, keep: &dyn Fn(&str) -> bool) -> Option<Vec<Entry>>;
    /// `path` with every symlink resolved, `None` when it does not exist.
    fn canonicalize(&self, path: &Path) -> Option<PathBuf>;
    /// A small text file's contents (`pyvenv.cfg`), `None` when it cannot be read.
    fn read_to_string(&self, path: &Path) -> Option<String>;
}

/// A Python environment the jobs' interpreters resolve to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonEnv {
    /// `sys.prefix`: `/opt/conda`, `/usr`, a venv's directory.
    pub prefix: PathBuf,
    /// `X.Y` of each interpreter found here (the `lib/pythonX.Y` directories).
    pub versions: Vec<String>,
    /// Whether the user site directory is on `sys.path` (it is not in an isolated venv).
    pub user_site: bool,
}

/// The interpreter names every job may run; commands may name more (`extra`).
const DEFAULT_INTERPRETERS: [&str; 2] = ["python3", "python"];

/// The distinct Python environments that `python3`, `python` and the `extra` interpreter names
/// resolve to for jobs with this `PATH`, in order. A bare name is looked up on `PATH` like a
/// shell does (first directory holding it wins; empty, relative and missing entries are
/// skipped); a name with a `/` is taken as a path (absolute only: relative ones depend on a
/// working directory). Symlinks are resolved to find the real interpreter, since
/// `bin/python3 -> python3.11` names the version and `/usr/bin/python3 -> /usr/bin/python3.11`
/// the prefix. A venv (a `pyvenv.cfg` next to its `bin`) is its own environment, plus its base
/// when it includes system site-packages.
pub fn environments(path_var: &str, extra: &[String], fs: &impl Fs) -> Vec<PythonEnv> {
    let mut envs: Vec<PythonEnv> = Vec::new();
    let names = DEFAULT_INTERPRETERS
        .iter()
        .copied()
        .chain(extra.iter().map(String::as_str));
    for name in names {
        let Some((bin_dir, resolved)) = find_interpreter(name, path_var, fs) else {
            continue;
        };
        let version = resolved
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(python_version)
            .or_else(|| {
                Path::new(name)
                    .file_name()?
                    .to_str()
                    .and_then(python_version)
            });
        for (prefix, user_site) in prefixes(&bin_dir, &resolved, fs) {
            let versions = match version {
                Some(v) => vec![v.to_owned()],
                None => versions_in(&prefix, fs),
            };
            merge(&mut envs, prefix, versions, user_site);
        }
    }
    envs
}

/// The directory an interpreter was found in (as named) and the interpreter with symlinks
/// resolved.
fn find_interpreter(name: &str, path_var: &str, fs: &impl Fs) -> Option<(PathBuf, PathBuf)> {
    if name.contains('/') {
        let path = Path::new(name);
        if !path.is_absolute() {
            return None;
        }
        return Some((path.parent()?.to_owned(), fs.canonicalize(path)?));
    }
    path_var
        .split(':')
        .map(Path::new)
        .filter(|dir| dir.is_absolute())
        .find_map(|dir| Some((dir.to_owned(), fs.canonicalize(&dir.join(name))?)))
}

/// The prefixes an interpreter contributes, each with whether the user site applies. Outside a
/// venv Python finds its prefix from the resolved executable, so that one alone counts.
fn prefixes(bin_dir: &Path, resolved: &Path, fs: &impl Fs) -> Vec<(PathBuf, bool)> {
    let resolved_prefix = prefix_of_bin(resolved.parent());
    let venv = fs
        .canonicalize(bin_dir)
        .and_then(|bin| prefix_of_bin(Some(&bin)))
        .and_then(|prefix| {
            let cfg = fs.read_to_string(&prefix.join("pyvenv.cfg"))?;
            Some((prefix, cfg))
        });
    let Some((venv_prefix, cfg)) = venv else {
        return resolved_prefix.map(|p| (p, true)).into_iter().collect();
    };
    let venv_cfg = parse_pyvenv_cfg(&cfg);
    let mut out = vec![(venv_prefix.clone(), venv_cfg.system_site)];
    if venv_cfg.system_site {
        // `home` names the base interpreter's bin directory; a venv made with `--copies` has
        // no symlink to follow to it.
        let base = venv_cfg
            .home
            .and_then(|home| fs.canonicalize(Path::new(home)))
            .and_then(|bin| prefix_of_bin(Some(&bin)))
            .or(resolved_prefix);
        out.extend(base.filter(|b| *b != venv_prefix).map(|b| (b, true)));
    }
    out
}

/// `/opt/conda/bin` → `/opt/conda`; `None` when the directory is not a `bin`.
fn prefix_of_bin(bin: Option<&Path>) -> Option<PathBuf> {
    let bin = bin?;
    if bin.file_name()? == "bin" {
        bin.parent().map(Path::to_owned)
    } else {
        None
    }
}

/// The `X.Y` of every `lib/pythonX.Y` directory, for an interpreter whose name says no version.
fn versions_in(prefix: &Path, fs: &impl Fs) -> Vec<String> {
    let mut versions: Vec<String> = fs
        .list(&prefix.join("lib"), &|n| python_version(n).is_some())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| python_version(&e.name).map(str::to_owned))
        .collect();
    versions.sort();
    versions
}

fn merge(envs: &mut Vec<PythonEnv>, prefix: PathBuf, versions: Vec<String>, user_site: bool) {
    if let Some(env) = envs.iter_mut().find(|e| e.prefix == prefix) {
        for v in versions {
            if !env.versions.contains(&v) {
                env.versions.push(v);
            }
        }
        env.user_site |= user_site;
    } else {
        envs.push(PythonEnv {
            prefix,
            versions,
            user_site,
        });
    }
}

/// What the drift check needs from a venv's `pyvenv.cfg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PyvenvCfg<'a> {
    /// The base interpreter's directory (`home = /usr/bin`).
    pub home: Option<&'a str>,
    /// `include-system-site-packages = true`.
    pub system_site: bool,
}

/// Reads the `key = value` lines of a `pyvenv.cfg` that matter here; anything else is ignored.
pub fn parse_pyvenv_cfg(text: &str) -> PyvenvCfg<'_> {
    let mut cfg = PyvenvCfg::default();
    for (key, value) in text.lines().filter_map(|l| l.split_once('=')) {
        match key.trim() {
            "home" => cfg.home = Some(value.trim()),
            "include-system-site-packages" => {
                cfg.system_site = value.trim().eq_ignore_ascii_case("true");
            }
            _ => {}
        }
    }
    cfg
}

/// The deepest mount holding `path` (by whole components, so `/home/jovyan2` is not under
/// `/home/jovyan`), when that mount is shared. Relative mount paths never match.
pub fn shared_root<'m>(path: &Path, mounts: &'m [Mount]) -> Option<&'m Path> {
    mounts
        .iter()
        .filter(|m| m.path.is_absolute() && path.starts_with(&m.path))
        .max_by_key(|m| m.path.components().count())
        .filter(|m| m.shared)
        .map(|m| m.path.as_path())
}

/// Decides drift over everything scanned. Only records modified after `started` count; those are
/// grouped by normalised name and version (a conda package is usually both a conda-meta record
/// and a dist-info directory). A group with any copy on a shared mount is fine, since jobs see
/// that copy: it goes to `on_shared` with that copy first. Every other group is drifted.
/// `environments` and `scanned_dirs` are left empty for the caller.
pub fn decide(found: Vec<Dist>, mounts: &[Mount], started: SystemTime) -> Drift {
    let scanned = found.len();
    let mut groups: BTreeMap<(String, String), Vec<Dist>> = BTreeMap::new();
    for dist in found.into_iter().filter(|d| d.modified > started) {
        groups
            .entry((normalize(&dist.name), dist.version.clone()))
            .or_default()
            .push(dist);
    }
    let mut drift = Drift {
        scanned,
        ..Drift::default()
    };
    for mut members in groups.into_values() {
        let shared = members
            .iter()
            .enumerate()
            .find_map(|(i, d)| Some((i, shared_root(&d.path, mounts)?.to_owned())));
        let first = shared.as_ref().map_or(0, |(i, _)| *i);
        let mut dist = members.remove(first);
        for other in members {
            if other.path != dist.path && !dist.also_at.contains(&other.path) {
                dist.also_at.push(other.path);
            }
        }
        match shared {
            Some((_, root)) => {
                dist.shared_root = Some(root);
                drift.on_shared.push(dist);
            }
            None => drift.drifted.push(dist),
        }
    }
    drift
}

// ---------------------------------------------------------------------------------------------
// B. The scan, over any `Fs` (the real one is `discover::RealFs`)
// ---------------------------------------------------------------------------------------------

/// Checks for drift: finds the environments the jobs' interpreters resolve to (see
/// [`environments`]), lists their site-packages (plus the user site under `home`, whose path is
/// canonicalised so it compares with mount paths) and conda-meta directories, and
/// [`decide`]s. Directories that are missing or unreadable are skipped.
pub fn scan(
    path_var: &str,
    extra_interpreters: &[String],
    home: Option<&Path>,
    mounts: &[Mount],
    started: SystemTime,
    fs: &impl Fs,
) -> Drift {
    let envs = environments(path_var, extra_interpreters, fs);
    let home = home.map(|h| fs.canonicalize(h).unwrap_or_else(|| h.to_owned()));
    // `true` for conda-meta, `false` for a site directory.
    let mut dirs: Vec<(PathBuf, bool)> = Vec::new();
    let mut add = |dir: PathBuf, conda: bool| {
        if !dirs.iter().any(|(d, _)| *d == dir) {
            dirs.push((dir, conda));
        }
    };
    for env in &envs {
        for version in &env.versions {
            for dir in site_packages_of(&env.prefix, version) {
                add(dir, false);
            }
            if let (Some(home), true) = (&home, env.user_site) {
                add(user_site_of(home, version), false);
            }
        }
        add(conda_meta_of(&env.prefix), true);
    }

    let mut found = Vec::new();
    let mut scanned = 0;
    let mut scanned_dirs = Vec::new();
    for (dir, conda) in dirs {
        let parse = if conda {
            parse_conda_entry
        } else {
            parse_site_entry
        };
        let Some(entries) = fs.list(&dir, &|name| parse(name).is_some()) else {
            continue;
        };
        scanned += entries.len();
        // Only records newer than the start can be drift; building a `Dist` for the rest of a
        // big image (hundreds, nearly all old) would be most of the scan's own work.
        found.extend(
            entries
                .iter()
                .filter(|entry| entry.modified > started)
                .filter_map(|entry| {
                    let parsed = parse(&entry.name)?;
                    Some(Dist {
                        name: parsed.name.to_owned(),
                        version: parsed.version.to_owned(),
                        path: dir.join(&entry.name),
                        kind: parsed.kind,
                        modified: entry.modified,
                        shared_root: None,
                        also_at: Vec::new(),
                    })
                }),
        );
        scanned_dirs.push(dir);
    }
    let mut drift = decide(found, mounts, started);
    drift.scanned = scanned;
    drift.environments = envs.into_iter().map(|e| e.prefix).collect();
    drift.scanned_dirs = scanned_dirs;
    drift
}

#[cfg(test)]
mod tests;
