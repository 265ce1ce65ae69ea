//! The I/O around the environment: reading a pod file, finding and reading the user's config
//! file, reading the current process's context (env vars, the NB_USER account), and looking up
//! what a job's program is (`ProgramLookup`). Kept small so that `pod` and `user_config` stay
//! pure and testable.

use std::io::{self, Read as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Pod;

pub(crate) mod binary;
pub(crate) mod notebooks;
pub mod wheels;

use super::packages;
use super::pod::{LocalContext, SERVICE_ACCOUNT_MOUNT_PATH};
use crate::pipeline::programs::{ProgramKind, ProgramProbe};

/// The process environment that decides where jobs run and how to connect: read once (by
/// `Settings::resolve`), so every decision made from it is pure and testable.
#[derive(Debug, Clone, Default)]
pub struct ProcessEnv {
    pub service_host: Option<String>,
    pub service_port: Option<String>,
    pub service_account_dir: PathBuf,
    pub kubeconfig: Option<String>,
    pub home: Option<PathBuf>,
    pub hostname: Option<String>,
    /// Where the kubelet writes this pod's IP next to its hostname (`/etc/hosts`).
    pub hosts_file: PathBuf,
}

impl ProcessEnv {
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        ProcessEnv {
            service_host: var("KUBERNETES_SERVICE_HOST"),
            service_port: var("KUBERNETES_SERVICE_PORT"),
            service_account_dir: var("JUPYTERFLOW_SERVICEACCOUNT_DIR")
                .map_or_else(|| PathBuf::from(SERVICE_ACCOUNT_MOUNT_PATH), PathBuf::from),
            kubeconfig: var("KUBECONFIG"),
            home: var("HOME").map(PathBuf::from),
            hostname: var("HOSTNAME"),
            hosts_file: var("JUPYTERFLOW_HOSTS_FILE")
                .map_or_else(|| PathBuf::from("/etc/hosts"), PathBuf::from),
        }
    }

    /// Running in a pod with a mounted service account token.
    pub fn in_pod(&self) -> bool {
        self.service_host.is_some() && self.service_account_dir.join("token").is_file()
    }

    /// Any way to reach a cluster at all: a service account, or a kubeconfig.
    pub fn has_cluster(&self) -> bool {
        self.in_pod() || self.kubeconfig.is_some() || self.default_kubeconfig().is_some()
    }

    /// This pod's IP, as the kubelet wrote it next to `$HOSTNAME` in the hosts file.
    pub fn pod_ip(&self) -> Option<String> {
        let hostname = self.hostname.as_deref()?;
        let hosts = std::fs::read_to_string(&self.hosts_file).ok()?;
        ip_of(&hosts, hostname)
    }

    pub fn default_kubeconfig(&self) -> Option<PathBuf> {
        self.home
            .as_ref()
            .map(|h| h.join(".kube/config"))
            .filter(|p| p.is_file())
    }
}

/// The address `hostname` has in hosts-file text (`10.1.2.3  name  alias…`).
fn ip_of(hosts: &str, hostname: &str) -> Option<String> {
    hosts.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or_default();
        let mut words = line.split_whitespace();
        let ip = words.next()?;
        words.any(|name| name == hostname).then(|| ip.to_owned())
    })
}

/// The most jupyterflow reads from a file it is given, so that a wrong path (`-f /dev/zero`,
/// a log of gigabytes) is refused at once instead of filling memory: what one is, and how
/// many bytes. Generous for real files: a workflow.yaml of the 100,000 jobs a pipeline may
/// have is ~6-10 MB; a pod as `kubectl get pod -o json` prints it is tens of KiB (a huge env
/// a few MiB); a config file a few KiB.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadCap {
    pub what: &'static str,
    pub bytes: u64,
}

pub(crate) const WORKFLOW_FILE_CAP: ReadCap = ReadCap {
    what: "a workflow file",
    bytes: 16 << 20,
};
pub(crate) const POD_FILE_CAP: ReadCap = ReadCap {
    what: "a pod file",
    bytes: 4 << 20,
};
pub(crate) const CONFIG_FILE_CAP: ReadCap = ReadCap {
    what: "a config file",
    bytes: 1 << 20,
};

/// Reads `path` as UTF-8 text, reading at most `cap.bytes + 1` bytes: a longer file (or one
/// that never ends, like /dev/zero) is an `io::ErrorKind::FileTooLarge` error that names the
/// cap. The other errors are the file system's, as `std::fs::read_to_string` gives them. A
/// FIFO nobody writes to blocks, as it would for `cat`.
pub(crate) fn read_capped(path: &Path, cap: ReadCap) -> io::Result<String> {
    let file = std::fs::File::open(path)?;
    let expected = file.metadata().map_or(0, |m| m.len());
    read_capped_from(file, expected, cap)
}

/// Reads this process's stdin (`-f -`) up to `cap`, as `read_capped` reads a file.
pub(crate) fn read_capped_stdin(cap: ReadCap) -> io::Result<String> {
    read_capped_from(io::stdin().lock(), 0, cap)
}

/// Reads `reader` (`expected` bytes long, when known) up to `cap`.
fn read_capped_from(reader: impl io::Read, expected: u64, cap: ReadCap) -> io::Result<String> {
    let limit = cap.bytes.saturating_add(1);
    let expected = expected.min(limit);
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    reader.take(limit).read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > cap.bytes {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!(
                "it is larger than {} MiB, the most jupyterflow reads from {}",
                cap.bytes >> 20,
                cap.what
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// The real filesystem. Each listing is one `read_dir` plus one `statx` per accepted entry,
/// relative to the open directory.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

/// `pyvenv.cfg` is a few lines; a bigger file there is not one.
const MAX_CFG_BYTES: u64 = 64 * 1024;

impl packages::Fs for RealFs {
    fn list(&self, dir: &Path, keep: &dyn Fn(&str) -> bool) -> Option<Vec<packages::Entry>> {
        let entries = std::fs::read_dir(dir).ok()?;
        let mut out = Vec::new();
        // `map_while`: a read error mid-listing ends it rather than risking an endless loop.
        for entry in entries.map_while(Result::ok) {
            let name = entry.file_name();
            let Some(name) = name.to_str().filter(|n| keep(n)) else {
                continue;
            };
            // `DirEntry::metadata` does not follow symlinks: the entry's own mtime is the one
            // the installer set.
            let Ok(modified) = entry.metadata().and_then(|m| m.modified()) else {
                continue;
            };
            out.push(packages::Entry {
                name: name.to_owned(),
                modified,
            });
        }
        Some(out)
    }

    fn canonicalize(&self, path: &Path) -> Option<PathBuf> {
        std::fs::canonicalize(path).ok()
    }

    fn read_to_string(&self, path: &Path) -> Option<String> {
        let mut text = String::new();
        std::fs::File::open(path)
            .ok()?
            .take(MAX_CFG_BYTES)
            .read_to_string(&mut text)
            .ok()?;
        Some(text)
    }
}

/// Looks in this container (the notebook's) for packages installed after it started that the
/// jobs in `env` would miss: the interpreters on the jobs' PATH plus `interpreters` (named by
/// commands), the user site under `home`, against `env`'s mounts. `None` when the pod does not
/// say when the container started.
pub fn scan_drift(
    env: &super::Environment,
    interpreters: &[String],
    home: Option<&Path>,
) -> Option<packages::Drift> {
    let started = env.container_started?;
    let path_var = env
        .env
        .iter()
        .find(|e| e.name == "PATH")
        .and_then(|e| e.value.clone())
        .unwrap_or_default();
    Some(packages::scan(
        &path_var,
        interpreters,
        home,
        &super::workdir::drift_mounts(env),
        started,
        &RealFs,
    ))
}

/// The interpreter of the Python environment at `prefix`: `bin/python3`, else `bin/python`.
pub fn interpreter_in(prefix: &Path) -> Option<PathBuf> {
    ["python3", "python"]
        .iter()
        .map(|name| prefix.join("bin").join(name))
        .find(|path| path.is_file())
}

/// Why the pod file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{} is not a pod in JSON or YAML ({message}); \
         write it with `kubectl get pod NAME -o json`",
        .path.display()
    )]
    BadPod { path: PathBuf, message: String },
}

/// Reads a pod saved as JSON (`kubectl get pod -o json`) or YAML (`-o yaml`).
pub fn read_pod_file(path: &Path) -> Result<Pod, DiscoverError> {
    let text = read_capped(path, POD_FILE_CAP).map_err(|source| DiscoverError::Read {
        path: path.to_owned(),
        source,
    })?;
    let bad = |message: String| DiscoverError::BadPod {
        path: path.to_owned(),
        message,
    };
    if text.trim().is_empty() {
        return Err(bad("the file is empty".to_owned()));
    }
    // JSON first when it looks like JSON: serde_json's messages are the clearer ones for it.
    if text.trim_start().starts_with('{') {
        serde_json::from_str(&text).map_err(|e| bad(e.to_string()))
    } else {
        serde_saphyr::from_str(&text).map_err(|e| bad(e.without_snippet().to_string()))
    }
}

/// The current process's context: PATH, HOME and NB_USER from the environment, and NB_USER's
/// uid/gid from the account database (the notebook image defines the user, e.g. jovyan
/// 1000:100): the system's, or the passwd-format file `$JUPYTERFLOW_PASSWD_FILE` names (for
/// images whose users live elsewhere, and for tests, which must not depend on the machine's
/// users). `working_dir` should be absolute (the current directory).
pub fn local_context(working_dir: &Path) -> LocalContext {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let nb_user = var("NB_USER");
    let nb_user_ids = nb_user
        .as_deref()
        .and_then(|name| match var("JUPYTERFLOW_PASSWD_FILE") {
            Some(file) => ids_in_passwd(&std::fs::read_to_string(file).ok()?, name),
            None => user_ids(name),
        });
    LocalContext {
        working_dir: working_dir.display().to_string(),
        path: var("PATH"),
        home: var("HOME"),
        nb_user,
        nb_user_ids,
    }
}

/// Finds a job's program the way `execvp` does: a name with a `/` relative to the job's working
/// directory, any other name on `PATH`. A name not on `PATH` that is a plain file in the
/// working directory is reported too (`log.txt` left by an earlier run). Only facts: which
/// names count as data is `pipeline::programs`' decision.
#[derive(Debug, Clone)]
pub(crate) struct ProgramLookup {
    working_dir: PathBuf,
    path: Option<String>,
}

impl ProgramLookup {
    /// `path`: the `PATH` the job would get (tests pass their own).
    pub(crate) fn new(working_dir: &Path, path: Option<&str>) -> Self {
        ProgramLookup {
            working_dir: working_dir.to_owned(),
            path: path.map(str::to_owned),
        }
    }

    /// With this process's `PATH`, which jobs inherit (locally, and in the notebook's pod).
    pub(crate) fn from_process(working_dir: &Path) -> Self {
        Self::new(working_dir, std::env::var("PATH").ok().as_deref())
    }

    /// The permission bits of `path` when it is a regular file (symlinks followed).
    fn file_mode(&self, path: &Path) -> Option<u32> {
        let metadata = std::fs::metadata(self.working_dir.join(path)).ok()?;
        metadata.is_file().then(|| metadata.permissions().mode())
    }
}

impl ProgramProbe for ProgramLookup {
    fn probe(&self, program: &str) -> ProgramKind {
        let executable = |mode: u32| mode & 0o111 != 0;
        if program.contains('/') {
            return match self.file_mode(Path::new(program)) {
                Some(mode) if executable(mode) => ProgramKind::Executable,
                Some(_) => ProgramKind::DataFile,
                None => ProgramKind::Unknown,
            };
        }
        let on_path = self
            .path
            .as_deref()
            .unwrap_or_default()
            .split(':')
            .any(|dir| {
                // An empty entry is the working directory, as for `execvp`.
                let dir = if dir.is_empty() { "." } else { dir };
                self.file_mode(&Path::new(dir).join(program))
                    .is_some_and(executable)
            });
        if on_path {
            return ProgramKind::Executable;
        }
        match self.file_mode(Path::new(program)) {
            Some(mode) if !executable(mode) => ProgramKind::DataFile,
            _ => ProgramKind::Unknown,
        }
    }
}

/// uid and gid of a local account. A failed lookup is not an error: the ids are only a
/// fallback when the pod names no uid.
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let user = nix::unistd::User::from_name(name).ok().flatten()?;
    Some((user.uid.as_raw(), user.gid.as_raw()))
}

/// uid and gid of `name` in passwd-format text (`name:x:uid:gid:…`).
fn ids_in_passwd(text: &str, name: &str) -> Option<(u32, u32)> {
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == name).then_some(())?;
        let _password = fields.next()?;
        Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write temp file");
        path
    }

    #[test]
    fn reads_json_pod() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/pods/kubeflow-notebook.json"
        ));
        let pod = read_pod_file(path).expect("fixture reads");
        assert_eq!(pod.metadata.name.as_deref(), Some("mynb-0"));
    }

    #[test]
    fn reads_yaml_pod() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write(
            dir.path(),
            "pod.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: nb\nspec:\n  containers:\n    - name: notebook\n      image: me/nb:1\n",
        );
        let pod = read_pod_file(&path).expect("yaml pod reads");
        let spec = pod.spec.expect("spec");
        assert_eq!(spec.containers[0].image.as_deref(), Some("me/nb:1"));
    }

    #[test]
    fn bad_pod_names_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write(dir.path(), "pod.json", "{\"spec\": 3}");
        let err = read_pod_file(&path).expect_err("not a pod");
        assert!(matches!(&err, DiscoverError::BadPod { path: p, .. } if *p == path));
        assert!(err.to_string().contains("pod.json"), "{err}");
    }

    #[test]
    fn missing_pod_file_is_a_read_error() {
        let err = read_pod_file(Path::new("/nonexistent/pod.json")).expect_err("missing");
        assert!(matches!(err, DiscoverError::Read { .. }));
        assert!(
            err.to_string()
                .starts_with("cannot read /nonexistent/pod.json")
        );
    }

    #[test]
    fn the_pod_ip_is_read_next_to_the_hostname() {
        let hosts = "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n10.8.1.7\tjupyter-a-very-long-name\n";
        assert_eq!(
            ip_of(hosts, "jupyter-a-very-long-name").as_deref(),
            Some("10.8.1.7")
        );
        assert_eq!(ip_of(hosts, "localhost").as_deref(), Some("127.0.0.1"));
        assert_eq!(ip_of(hosts, "other"), None);
    }

    #[test]
    fn ids_come_from_passwd_lines() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\njovyan:x:1000:100::/home/jovyan:/bin/bash\nbad:x:y:z\n";
        assert_eq!(ids_in_passwd(passwd, "jovyan"), Some((1000, 100)));
        assert_eq!(ids_in_passwd(passwd, "root"), Some((0, 0)));
        assert_eq!(ids_in_passwd(passwd, "bad"), None);
        assert_eq!(ids_in_passwd(passwd, "nobody-here"), None);
    }

    #[test]
    fn program_lookup_follows_execvp_with_the_given_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let work = dir.path().join("work");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&work).expect("mkdir");
        std::fs::create_dir_all(&bin).expect("mkdir");
        let mode = |path: &Path, mode: u32| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        };
        let tool = write(&bin, "tool", "#!/bin/sh\n");
        mode(&tool, 0o755);
        let script = write(&work, "run.sh", "#!/bin/sh\n");
        mode(&script, 0o755);
        write(&work, "err.log", "old output\n");
        write(&work, "notes", "text\n");
        write(&bin, "plain", "not executable\n");
        std::fs::create_dir(work.join("data")).expect("mkdir");
        // Never the test machine's PATH: only `bin` is searched.
        let lookup = ProgramLookup::new(&work, Some(&bin.display().to_string()));
        for (program, kind) in [
            ("tool", ProgramKind::Executable),
            ("./run.sh", ProgramKind::Executable),
            ("./err.log", ProgramKind::DataFile),
            ("err.log", ProgramKind::DataFile),
            ("notes", ProgramKind::DataFile),
            // Not executable on PATH, not in the working directory: no verdict.
            ("plain", ProgramKind::Unknown),
            ("run.sh", ProgramKind::Unknown),
            ("missing.txt", ProgramKind::Unknown),
            ("./data", ProgramKind::Unknown),
            ("ls", ProgramKind::Unknown),
        ] {
            assert_eq!(lookup.probe(program), kind, "{program}");
        }
        assert_eq!(
            ProgramLookup::new(&work, None).probe("tool"),
            ProgramKind::Unknown
        );
        assert_eq!(
            ProgramLookup::new(&work, Some(&bin.display().to_string()))
                .probe(&tool.display().to_string()),
            ProgramKind::Executable
        );
    }

    /// Report #28: reads stop at the cap (a file that never ends included) and say it.
    #[test]
    fn reads_are_capped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cap = ReadCap {
            what: "a test file",
            bytes: 4 << 20,
        };
        let exact = dir.path().join("exact");
        std::fs::write(&exact, "x".repeat(4 << 20)).expect("write");
        assert_eq!(read_capped(&exact, cap).expect("at the cap").len(), 4 << 20);
        let over = dir.path().join("over");
        std::fs::write(&over, "x".repeat((4 << 20) + 1)).expect("write");
        let err = read_capped(&over, cap).expect_err("over the cap");
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(
            err.to_string(),
            "it is larger than 4 MiB, the most jupyterflow reads from a test file"
        );
        let endless = read_capped(Path::new("/dev/zero"), cap).expect_err("never ends");
        assert_eq!(endless.kind(), io::ErrorKind::FileTooLarge);
        let bad = dir.path().join("bad");
        std::fs::write(&bad, [0xff, 0xfe]).expect("write");
        assert_eq!(
            read_capped(&bad, cap).expect_err("not UTF-8").to_string(),
            "stream did not contain valid UTF-8"
        );
        assert_eq!(
            read_capped(&dir.path().join("missing"), cap)
                .expect_err("missing")
                .kind(),
            io::ErrorKind::NotFound
        );
    }
}
