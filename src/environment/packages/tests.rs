//! Tests for drift detection: the pure parts over tables and a fake filesystem, then `scan` with
//! `RealFs` over a temporary tree. Nothing here reads the machine's own PATH, HOME or
//! site-packages.

use std::cell::RefCell;
use std::fs::{self, File, FileTimes};
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::environment::discover::RealFs;

fn started() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}
fn before() -> SystemTime {
    started() - Duration::from_secs(3600)
}
fn after() -> SystemTime {
    started() + Duration::from_secs(60)
}

// --- names ------------------------------------------------------------------------------------

#[test]
fn site_entries_parse_to_name_version_and_kind() {
    use DistKind::{DistInfo, EggInfo};
    type Want = Option<(&'static str, &'static str, DistKind)>;
    let table: &[(&str, Want)] = &[
        (
            "numpy-1.26.0.dist-info",
            Some(("numpy", "1.26.0", DistInfo)),
        ),
        (
            "ruamel.yaml-0.17.21.dist-info",
            Some(("ruamel.yaml", "0.17.21", DistInfo)),
        ),
        (
            "backports.zoneinfo-0.2.1.dist-info",
            Some(("backports.zoneinfo", "0.2.1", DistInfo)),
        ),
        (
            "python_dateutil-2.8.2.dist-info",
            Some(("python_dateutil", "2.8.2", DistInfo)),
        ),
        (
            "zope.interface-6.0.dist-info",
            Some(("zope.interface", "6.0", DistInfo)),
        ),
        (
            "torch-2.1.0+cu121.dist-info",
            Some(("torch", "2.1.0+cu121", DistInfo)),
        ),
        (
            "pytz-2023.3.post1.dist-info",
            Some(("pytz", "2023.3.post1", DistInfo)),
        ),
        // Old installers did not escape the name's dashes; the version still has none.
        ("foo-bar-1.0.dist-info", Some(("foo-bar", "1.0", DistInfo))),
        (
            "PyYAML-6.0-py3.11.egg-info",
            Some(("PyYAML", "6.0", EggInfo)),
        ),
        (
            "python_apt-2.4.0.egg-info",
            Some(("python_apt", "2.4.0", EggInfo)),
        ),
        (
            "pycairo-1.20.1-py3.11-linux-x86_64.egg-info",
            Some(("pycairo", "1.20.1", EggInfo)),
        ),
        ("py-1.11.0-py3.11.egg-info", Some(("py", "1.11.0", EggInfo))),
        (
            "six-1.16.0-py2.py3.egg-info",
            Some(("six", "1.16.0", EggInfo)),
        ),
        (
            "foo-pybar-1.0.egg-info",
            Some(("foo-pybar", "1.0", EggInfo)),
        ),
        // Not distributions, or no version to tell.
        ("numpy", None),
        ("numpy.libs", None),
        ("six.py", None),
        ("__pycache__", None),
        ("distutils-precedence.pth", None),
        ("__editable__.mypkg-0.1.pth", None),
        ("foo.egg-info", None),
        ("foo.dist-info", None),
        ("-1.0.dist-info", None),
        ("foo-.dist-info", None),
        ("foo-1.0.dist-info.bak", None),
        ("numpy-1.26.0-py311_0.json", None),
    ];
    for (entry, want) in table {
        let got = parse_site_entry(entry).map(|p| (p.name, p.version, p.kind));
        assert_eq!(got, *want, "{entry}");
    }
}

#[test]
fn conda_meta_entries_split_from_the_right_twice() {
    let table: &[(&str, Option<(&str, &str)>)] = &[
        (
            "ca-certificates-2023.7.22-hbcca054_0.json",
            Some(("ca-certificates", "2023.7.22")),
        ),
        (
            "_libgcc_mutex-0.1-conda_forge.json",
            Some(("_libgcc_mutex", "0.1")),
        ),
        (
            "python-3.11.4-hab00c5b_0_cpython.json",
            Some(("python", "3.11.4")),
        ),
        ("r-base-4.3.1-h0887e52_5.json", Some(("r-base", "4.3.1"))),
        (
            "python-dateutil-2.8.2-pyhd8ed1ab_0.json",
            Some(("python-dateutil", "2.8.2")),
        ),
        ("history", None),
        ("foo-1.0.json", None),
        ("foo-1.0-.json", None),
        ("-1.0-0.json", None),
        ("numpy-1.26.0.dist-info", None),
    ];
    for (entry, want) in table {
        let got = parse_conda_entry(entry).map(|p| {
            assert_eq!(p.kind, DistKind::Conda);
            (p.name, p.version)
        });
        assert_eq!(got, *want, "{entry}");
    }
}

#[test]
fn names_normalise_per_pep_503() {
    let table = [
        ("numpy", "numpy"),
        ("PyYAML", "pyyaml"),
        ("ruamel.yaml", "ruamel-yaml"),
        ("python_dateutil", "python-dateutil"),
        ("Foo.Bar_baz--qux", "foo-bar-baz-qux"),
        ("a-_.b", "a-b"),
        ("_libgcc_mutex", "-libgcc-mutex"),
        ("backports.zoneinfo", "backports-zoneinfo"),
    ];
    for (name, want) in table {
        assert_eq!(normalize(name), want, "{name}");
    }
    assert_eq!(normalize("python-dateutil"), normalize("python_dateutil"));
}

#[test]
fn python_versions_come_from_names_with_major_and_minor() {
    let table = [
        ("python3.11", Some("3.11")),
        ("python3.13t", Some("3.13t")),
        ("python2.7", Some("2.7")),
        ("python3", None),
        ("python", None),
        ("python3.11-config", None),
        ("python3.x", None),
        ("python3.", None),
        ("pythonw", None),
        ("ipython3.11", None),
    ];
    for (name, want) in table {
        assert_eq!(python_version(name), want, "{name}");
    }
}

#[test]
fn candidate_directories_for_a_prefix() {
    assert_eq!(
        site_packages_of(Path::new("/opt/conda"), "3.11"),
        [
            "/opt/conda/lib/python3.11/site-packages",
            "/opt/conda/lib/python3.11/dist-packages",
            "/opt/conda/lib64/python3.11/site-packages",
        ]
        .map(PathBuf::from)
    );
    let usr = site_packages_of(Path::new("/usr"), "3.11");
    assert!(usr.contains(&PathBuf::from("/usr/lib/python3.11/dist-packages")));
    assert!(usr.contains(&PathBuf::from("/usr/local/lib/python3.11/dist-packages")));
    assert!(usr.contains(&PathBuf::from("/usr/lib/python3/dist-packages")));
    assert_eq!(
        user_site_of(Path::new("/home/jovyan"), "3.11"),
        Path::new("/home/jovyan/.local/lib/python3.11/site-packages")
    );
    assert_eq!(
        conda_meta_of(Path::new("/opt/conda/envs/x")),
        Path::new("/opt/conda/envs/x/conda-meta")
    );
}

#[test]
fn pyvenv_cfg_keys() {
    let cfg = parse_pyvenv_cfg(
        "home = /usr/bin\ninclude-system-site-packages = True\nversion = 3.11.4\nexecutable\n",
    );
    assert_eq!(cfg.home, Some("/usr/bin"));
    assert!(cfg.system_site);
    assert!(!parse_pyvenv_cfg("include-system-site-packages = false").system_site);
    assert_eq!(parse_pyvenv_cfg(""), PyvenvCfg::default());
}

// --- shared roots -----------------------------------------------------------------------------

fn mount(path: &str, shared: bool) -> Mount {
    Mount {
        path: PathBuf::from(path),
        shared,
    }
}

#[test]
fn shared_roots_match_whole_components_and_the_deepest_mount_wins() {
    let mounts = [
        mount("/home/jovyan/", true),
        mount("/home/jovyan/.cache", false),
        mount("/data", false),
        mount("/data/team", true),
        mount("relative", true),
    ];
    let root = |p: &str| shared_root(Path::new(p), &mounts).map(Path::to_owned);
    let some = |p: &str| Some(PathBuf::from(p));
    assert_eq!(root("/home/jovyan/.local/x"), some("/home/jovyan/"));
    assert_eq!(root("/home/jovyan"), some("/home/jovyan/"));
    assert_eq!(root("/home/jovyan2/.local/x"), None);
    assert_eq!(root("/home/jovyan/.cache/pip/x"), None);
    assert_eq!(root("/home/jovyan/.cachex/x"), some("/home/jovyan/"));
    assert_eq!(root("/data/x"), None);
    assert_eq!(root("/data/team/env/x"), some("/data/team"));
    assert_eq!(root("/opt/conda/x"), None);
    assert_eq!(root("relative/x"), None);
    assert_eq!(shared_root(Path::new("/home/jovyan/x"), &[]), None);
}

// --- the decision -----------------------------------------------------------------------------

fn dist(name: &str, version: &str, path: &str, kind: DistKind, modified: SystemTime) -> Dist {
    Dist {
        name: name.into(),
        version: version.into(),
        path: path.into(),
        kind,
        modified,
        shared_root: None,
        also_at: Vec::new(),
    }
}

const SP: &str = "/opt/conda/lib/python3.11/site-packages";
const USER_SP: &str = "/home/jovyan/.local/lib/python3.11/site-packages";

#[test]
fn only_records_modified_after_the_start_count() {
    let found = vec![
        dist(
            "numpy",
            "1.26.0",
            &format!("{SP}/numpy-1.26.0.dist-info"),
            DistKind::DistInfo,
            before(),
        ),
        dist(
            "at_start",
            "1",
            &format!("{SP}/at_start-1.dist-info"),
            DistKind::DistInfo,
            started(),
        ),
        dist(
            "seaborn",
            "0.13.0",
            &format!("{SP}/seaborn-0.13.0.dist-info"),
            DistKind::DistInfo,
            after(),
        ),
    ];
    let drift = decide(found, &[mount("/home/jovyan", true)], started());
    assert_eq!(drift.scanned, 3);
    let names: Vec<_> = drift.drifted.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["seaborn"]);
    assert!(drift.on_shared.is_empty());
}

#[test]
fn drift_is_sorted_by_normalised_name_and_deduplicated_keeping_every_path() {
    let found = vec![
        dist(
            "Zope.Interface",
            "6.0",
            &format!("{SP}/Zope.Interface-6.0.dist-info"),
            DistKind::DistInfo,
            after(),
        ),
        dist(
            "seaborn",
            "0.13.0",
            &format!("{SP}/seaborn-0.13.0.dist-info"),
            DistKind::DistInfo,
            after(),
        ),
        dist(
            "attrs",
            "23.1.0",
            &format!("{SP}/attrs-23.1.0.dist-info"),
            DistKind::DistInfo,
            after(),
        ),
        dist(
            "python_dateutil",
            "2.8.2",
            &format!("{SP}/python_dateutil-2.8.2.dist-info"),
            DistKind::DistInfo,
            after(),
        ),
        dist(
            "seaborn",
            "0.13.0",
            "/opt/conda/conda-meta/seaborn-0.13.0-pyhd8ed1ab_0.json",
            DistKind::Conda,
            after(),
        ),
        dist(
            "python-dateutil",
            "2.8.2",
            "/opt/conda/conda-meta/python-dateutil-2.8.2-pyhd8ed1ab_0.json",
            DistKind::Conda,
            after(),
        ),
        // Another version of the same name is another distribution.
        dist(
            "seaborn",
            "0.12.2",
            "/opt/conda/envs/old/conda-meta/seaborn-0.12.2-py_0.json",
            DistKind::Conda,
            after(),
        ),
    ];
    let drift = decide(found, &[], started());
    let got: Vec<_> = drift
        .drifted
        .iter()
        .map(|d| (d.name.as_str(), d.version.as_str(), d.kind, d.also_at.len()))
        .collect();
    assert_eq!(
        got,
        [
            ("attrs", "23.1.0", DistKind::DistInfo, 0),
            ("python_dateutil", "2.8.2", DistKind::DistInfo, 1),
            ("seaborn", "0.12.2", DistKind::Conda, 0),
            ("seaborn", "0.13.0", DistKind::DistInfo, 1),
            ("Zope.Interface", "6.0", DistKind::DistInfo, 0),
        ]
    );
    let seaborn = &drift.drifted[3];
    assert_eq!(
        seaborn.path,
        Path::new(&format!("{SP}/seaborn-0.13.0.dist-info"))
    );
    assert_eq!(
        seaborn.also_at,
        [PathBuf::from(
            "/opt/conda/conda-meta/seaborn-0.13.0-pyhd8ed1ab_0.json"
        )]
    );
    assert_eq!(seaborn.shared_root, None);
}

#[test]
fn a_copy_on_a_shared_mount_makes_the_distribution_fine() {
    let found = vec![
        dist(
            "plotly",
            "5.18.0",
            &format!("{SP}/plotly-5.18.0.dist-info"),
            DistKind::DistInfo,
            after(),
        ),
        dist(
            "plotly",
            "5.18.0",
            &format!("{USER_SP}/plotly-5.18.0.dist-info"),
            DistKind::DistInfo,
            after(),
        ),
        dist(
            "rich",
            "13.0",
            &format!("{USER_SP}/rich-13.0.dist-info"),
            DistKind::DistInfo,
            after(),
        ),
        dist(
            "old",
            "1.0",
            &format!("{USER_SP}/old-1.0.dist-info"),
            DistKind::DistInfo,
            before(),
        ),
    ];
    let drift = decide(found, &[mount("/home/jovyan", true)], started());
    assert!(drift.drifted.is_empty(), "{:?}", drift.drifted);
    let got: Vec<_> = drift
        .on_shared
        .iter()
        .map(|d| {
            (
                d.name.as_str(),
                d.path.clone(),
                d.shared_root.clone(),
                d.also_at.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "plotly",
                PathBuf::from(format!("{USER_SP}/plotly-5.18.0.dist-info")),
                Some(PathBuf::from("/home/jovyan")),
                vec![PathBuf::from(format!("{SP}/plotly-5.18.0.dist-info"))],
            ),
            (
                "rich",
                PathBuf::from(format!("{USER_SP}/rich-13.0.dist-info")),
                Some(PathBuf::from("/home/jovyan")),
                vec![],
            ),
        ]
    );
}

// --- environments over a fake filesystem ------------------------------------------------------

/// A fake tree: directories with their (already stat'ed) entries, files with contents, and
/// symlinks given as what they resolve to. It records every listing, to show nothing recurses.
#[derive(Default)]
struct FakeFs {
    dirs: BTreeMap<PathBuf, Vec<Entry>>,
    files: BTreeMap<PathBuf, String>,
    links: BTreeMap<PathBuf, PathBuf>,
    listed: RefCell<Vec<PathBuf>>,
}

impl FakeFs {
    fn dir(mut self, dir: &str, entries: &[(&str, SystemTime)]) -> Self {
        let entries = entries
            .iter()
            .map(|(name, modified)| Entry {
                name: (*name).to_owned(),
                modified: *modified,
            })
            .collect();
        self.dirs.insert(dir.into(), entries);
        self
    }
    fn file(mut self, path: &str, text: &str) -> Self {
        self.files.insert(path.into(), text.into());
        self
    }
    fn link(mut self, path: &str, resolved: &str) -> Self {
        self.links.insert(path.into(), resolved.into());
        self
    }
    /// A real interpreter file plus `python3`/`python` links to it in the same bin directory.
    fn python(self, bin: &str, version: &str) -> Self {
        let real = format!("{bin}/python{version}");
        self.file(&real, "")
            .link(&format!("{bin}/python3"), &real)
            .link(&format!("{bin}/python"), &real)
            .dir(bin, &[])
    }
}

impl Fs for FakeFs {
    fn list(&self, dir: &Path, keep: &dyn Fn(&str) -> bool) -> Option<Vec<Entry>> {
        let entries = self.dirs.get(dir)?;
        self.listed.borrow_mut().push(dir.to_owned());
        Some(entries.iter().filter(|e| keep(&e.name)).cloned().collect())
    }
    fn canonicalize(&self, path: &Path) -> Option<PathBuf> {
        if let Some(resolved) = self.links.get(path) {
            return Some(resolved.clone());
        }
        (self.dirs.contains_key(path) || self.files.contains_key(path)).then(|| path.to_owned())
    }
    fn read_to_string(&self, path: &Path) -> Option<String> {
        self.files.get(path).cloned()
    }
}

fn env(prefix: &str, versions: &[&str], user_site: bool) -> PythonEnv {
    PythonEnv {
        prefix: prefix.into(),
        versions: versions.iter().map(|v| (*v).to_owned()).collect(),
        user_site,
    }
}

#[test]
fn the_first_match_on_path_wins_and_missing_entries_are_skipped() {
    let fs = FakeFs::default()
        .python("/opt/conda/bin", "3.11")
        .python("/usr/bin", "3.10");
    let path = ":relative/bin:/nonexistent/bin:/opt/conda/bin:/usr/bin";
    assert_eq!(
        environments(path, &[], &fs),
        [env("/opt/conda", &["3.11"], true)]
    );
    // Without the conda bin directory, the system Python.
    assert_eq!(
        environments("/nonexistent:/usr/bin", &[], &fs),
        [env("/usr", &["3.10"], true)]
    );
    assert_eq!(environments("", &[], &fs), []);
}

#[test]
fn python3_and_python_may_resolve_to_different_environments() {
    let fs = FakeFs::default()
        .file("/usr/bin/python3.11", "")
        .link("/usr/bin/python3", "/usr/bin/python3.11")
        .file("/usr/bin/python2.7", "")
        .link("/usr/bin/python", "/usr/bin/python2.7")
        .dir("/usr/bin", &[]);
    assert_eq!(
        environments("/usr/bin", &[], &fs),
        [env("/usr", &["3.11", "2.7"], true)]
    );
    let fs = FakeFs::default()
        .file("/usr/local/bin/python3.12", "")
        .link("/usr/local/bin/python3", "/usr/local/bin/python3.12")
        .file("/opt/conda/bin/python3.11", "")
        .link("/opt/conda/bin/python", "/opt/conda/bin/python3.11");
    assert_eq!(
        environments("/usr/local/bin:/opt/conda/bin", &[], &fs),
        [
            env("/usr/local", &["3.12"], true),
            env("/opt/conda", &["3.11"], true)
        ]
    );
}

#[test]
fn a_symlinked_interpreter_counts_where_it_resolves() {
    // /usr/local/bin/python3 -> /usr/bin/python3.11: Python finds its prefix from the real file.
    let fs = FakeFs::default()
        .python("/usr/bin", "3.11")
        .link("/usr/local/bin/python3", "/usr/bin/python3.11")
        .dir("/usr/local/bin", &[]);
    assert_eq!(
        environments("/usr/local/bin", &[], &fs),
        [env("/usr", &["3.11"], true)]
    );
}

#[test]
fn an_interpreter_without_a_version_in_its_name_uses_the_lib_directories() {
    let fs = FakeFs::default()
        .file("/opt/py/bin/python3", "")
        .dir("/opt/py/bin", &[])
        .dir(
            "/opt/py/lib",
            &[
                ("python3.12", before()),
                ("libpython3.12.so", before()),
                ("python3.11", before()),
                ("pkgconfig", before()),
            ],
        );
    assert_eq!(
        environments("/opt/py/bin", &[], &fs),
        [env("/opt/py", &["3.11", "3.12"], true)]
    );
}

#[test]
fn venvs_are_their_own_environment_and_include_the_base_only_when_configured() {
    let base = FakeFs::default()
        .python("/usr/bin", "3.11")
        .link("/home/jovyan/venv/bin/python3", "/usr/bin/python3.11")
        .link("/home/jovyan/venv/bin/python", "/usr/bin/python3.11")
        .dir("/home/jovyan/venv/bin", &[]);
    let isolated = base.file(
        "/home/jovyan/venv/pyvenv.cfg",
        "home = /usr/bin\ninclude-system-site-packages = false\n",
    );
    assert_eq!(
        environments("/home/jovyan/venv/bin:/usr/bin", &[], &isolated),
        [env("/home/jovyan/venv", &["3.11"], false)]
    );

    // `--copies` and system site-packages: no symlink, `home` names the base.
    let copies = FakeFs::default()
        .python("/usr/bin", "3.11")
        .file("/srv/venv/bin/python3.11", "")
        .link("/srv/venv/bin/python3", "/srv/venv/bin/python3.11")
        .dir("/srv/venv/bin", &[])
        .file(
            "/srv/venv/pyvenv.cfg",
            "home = /usr/bin\ninclude-system-site-packages = true\n",
        );
    assert_eq!(
        environments("/srv/venv/bin", &[], &copies),
        [
            env("/srv/venv", &["3.11"], true),
            env("/usr", &["3.11"], true)
        ]
    );
}

#[test]
fn interpreters_named_by_commands_are_found_too() {
    let fs = FakeFs::default()
        .python("/opt/conda/bin", "3.11")
        .python("/opt/conda/envs/x/bin", "3.10")
        .file("/usr/bin/python3.12", "")
        .dir("/usr/bin", &[]);
    let extra = [
        "/opt/conda/envs/x/bin/python".to_owned(),
        "python3.12".to_owned(),
        "envs/y/bin/python".to_owned(),
        "/nonexistent/bin/python".to_owned(),
        "python3.11".to_owned(),
    ];
    assert_eq!(
        environments("/opt/conda/bin:/usr/bin", &extra, &fs),
        [
            env("/opt/conda", &["3.11"], true),
            env("/opt/conda/envs/x", &["3.10"], true),
            env("/usr", &["3.12"], true),
        ]
    );
}

#[test]
fn scan_lists_only_the_candidate_directories_never_inside_them() {
    let fs = FakeFs::default()
        .python("/opt/conda/bin", "3.11")
        .dir(
            SP,
            &[
                ("numpy", before()),
                ("numpy-1.26.0.dist-info", before()),
                ("seaborn-0.13.0.dist-info", after()),
                ("seaborn", after()),
            ],
        )
        .dir(
            "/opt/conda/conda-meta",
            &[
                ("history", after()),
                ("numpy-1.26.0-py311h_0.json", before()),
                ("seaborn-0.13.0-pyhd8ed1ab_0.json", after()),
            ],
        )
        .dir(USER_SP, &[("rich-13.0.dist-info", after())])
        .dir("/home/jovyan", &[])
        // Would be wrong to list: inside a distribution.
        .dir(&format!("{SP}/seaborn-0.13.0.dist-info"), &[]);
    let mounts = [mount("/home/jovyan", true)];
    let drift = scan(
        "/opt/conda/bin",
        &[],
        Some(Path::new("/home/jovyan")),
        &mounts,
        started(),
        &fs,
    );
    assert_eq!(
        *fs.listed.borrow(),
        [SP, USER_SP, "/opt/conda/conda-meta"].map(PathBuf::from)
    );
    assert_eq!(drift.scanned_dirs, *fs.listed.borrow());
    assert_eq!(drift.environments, [PathBuf::from("/opt/conda")]);
    assert_eq!(drift.scanned, 5);
    let drifted: Vec<_> = drift
        .drifted
        .iter()
        .map(|d| (d.name.as_str(), d.also_at.len()))
        .collect();
    assert_eq!(drifted, [("seaborn", 1)]);
    let shared: Vec<_> = drift.on_shared.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(shared, ["rich"]);
}

// --- the scan over a real temporary tree ------------------------------------------------------

fn set_mtime(path: &Path, when: SystemTime) {
    File::open(path)
        .and_then(|f| f.set_times(FileTimes::new().set_modified(when)))
        .unwrap_or_else(|e| panic!("set mtime of {}: {e}", path.display()));
}

fn make_dir(path: &Path, when: SystemTime) {
    fs::create_dir_all(path).expect("create dir");
    set_mtime(path, when);
}

fn make_file(path: &Path, when: SystemTime) {
    fs::write(path, "{}").expect("write file");
    set_mtime(path, when);
}

#[test]
fn scan_finds_drift_in_a_real_tree() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Mount paths are real paths; keep the tree's paths comparable with them.
    let root = fs::canonicalize(tmp.path()).expect("canonical tempdir");

    // A conda install: bin/python3 -> python3.11, site-packages and conda-meta.
    let conda = root.join("opt/conda");
    fs::create_dir_all(conda.join("bin")).expect("bin");
    fs::write(conda.join("bin/python3.11"), "").expect("interpreter");
    std::os::unix::fs::symlink("python3.11", conda.join("bin/python3")).expect("symlink");
    let sp = conda.join("lib/python3.11/site-packages");
    make_dir(&sp.join("numpy"), after());
    make_dir(&sp.join("numpy-1.26.0.dist-info"), before());
    make_dir(&sp.join("ruamel.yaml-0.17.21.dist-info"), before());
    make_dir(&sp.join("seaborn-0.13.0.dist-info"), after());
    make_file(&sp.join("PyYAML-6.0-py3.11.egg-info"), after());
    let meta = conda.join("conda-meta");
    make_dir(&meta, after());
    make_file(&meta.join("history"), after());
    make_file(&meta.join("numpy-1.26.0-py311h64a7726_0.json"), before());
    make_file(&meta.join("seaborn-0.13.0-hd8ed1ab_0.json"), after());
    make_file(
        &meta.join("ca-certificates-2023.7.22-hbcca054_0.json"),
        after(),
    );

    // The home volume, with a `pip install --user` site.
    let home = root.join("home/jovyan");
    let user_sp = home.join(".local/lib/python3.11/site-packages");
    make_dir(&user_sp.join("plotly-5.18.0.dist-info"), after());
    make_dir(&user_sp.join("rich-13.0.dist-info"), before());

    // A PATH entry without a python and one that does not exist are both skipped.
    let path_var = format!(
        "{}:{}:{}",
        root.join("missing/bin").display(),
        root.join("home").display(),
        conda.join("bin").display()
    );
    let mounts = [Mount {
        path: home.clone(),
        shared: true,
    }];
    let drift = scan(&path_var, &[], Some(&home), &mounts, started(), &RealFs);

    assert_eq!(drift.environments, std::slice::from_ref(&conda));
    assert_eq!(
        drift.scanned_dirs,
        [sp.clone(), user_sp.clone(), meta.clone()]
    );
    assert_eq!(drift.scanned, 9);
    let drifted: Vec<_> = drift
        .drifted
        .iter()
        .map(|d| {
            (
                d.name.as_str(),
                d.version.as_str(),
                d.kind,
                d.path.clone(),
                d.also_at.clone(),
            )
        })
        .collect();
    assert_eq!(
        drifted,
        [
            (
                "ca-certificates",
                "2023.7.22",
                DistKind::Conda,
                meta.join("ca-certificates-2023.7.22-hbcca054_0.json"),
                vec![],
            ),
            (
                "PyYAML",
                "6.0",
                DistKind::EggInfo,
                sp.join("PyYAML-6.0-py3.11.egg-info"),
                vec![],
            ),
            (
                "seaborn",
                "0.13.0",
                DistKind::DistInfo,
                sp.join("seaborn-0.13.0.dist-info"),
                vec![meta.join("seaborn-0.13.0-hd8ed1ab_0.json")],
            ),
        ]
    );
    assert_eq!(drift.drifted[2].modified, after());
    let shared: Vec<_> = drift
        .on_shared
        .iter()
        .map(|d| (d.name.as_str(), d.path.clone(), d.shared_root.clone()))
        .collect();
    assert_eq!(
        shared,
        [(
            "plotly",
            user_sp.join("plotly-5.18.0.dist-info"),
            Some(home.clone())
        )]
    );

    // Extra interpreters named by path, and a home reached through a symlink.
    let link = root.join("home-link");
    std::os::unix::fs::symlink(&home, &link).expect("home symlink");
    let extra = [conda.join("bin/python3").display().to_string()];
    let again = scan("", &extra, Some(&link), &mounts, started(), &RealFs);
    assert_eq!(again, drift);
}
