//! Whether cluster jobs run under their supervisor (`jupyterflow exec-job`, which keeps their
//! logs on the shared volume), and which `jupyterflow` binary job pods start, pure. The facts
//! (where this binary is, when it last changed, how the working directory is mounted) are read
//! by `discover`; the copy onto the volume is made there too.
//!
//! Where the binary comes from decides:
//! - under a mount job pods get too (a claim or a shared file system): they see the same file,
//!   so its path is used as is;
//! - on the image's own file system and older than the notebook container's start: it came
//!   with the image, which job pods run too, so its path is used as is;
//! - anything else (`pip install jupyterflow*.whl` in the running notebook writes the
//!   container's own layer, which job pods lack): it is copied once per content to
//!   `<workdir>/.jupyterflow/bin/jupyterflow-<version>-<hash>`.
//!
//! A binary from the shared volume was built for this machine's CPU, so job pods are pinned to
//! it (`kubernetes.io/arch`). Jobs run their command directly, as before, when the working
//! directory is not shared, is mounted `noexec` or read-only, or the config says
//! `job_supervisor: false`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::Environment;
use super::workdir::{self, Workdir};

/// Where copies of this binary go, under the working directory (on the shared volume).
pub(crate) const BIN_DIR: &str = ".jupyterflow/bin";
/// The node label job pods are pinned to a CPU architecture with.
pub(crate) const ARCH_LABEL: &str = "kubernetes.io/arch";

/// This process's binary, as the notebook sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Binary {
    pub path: PathBuf,
    /// When its content or inode last changed (the later of mtime and ctime: an image layer's
    /// files were extracted before the container started; a file written since was not).
    pub changed: Option<SystemTime>,
}

/// How the working directory's file system is mounted here (from `/proc/self/mountinfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountFlags {
    pub mount_point: PathBuf,
    pub read_only: bool,
    pub noexec: bool,
}

/// What job containers run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Choice {
    /// Their command directly, as without a supervisor; why, for a note.
    Off(String),
    /// The supervisor at `path`, which job pods see as it is; pinned to `arch` when it lies on
    /// the shared volume.
    InPlace { path: PathBuf, arch: Option<String> },
    /// The supervisor copied into `dir` (on the shared volume) first; pinned to `arch`.
    Copy { dir: PathBuf, arch: Option<String> },
}

/// Decides what job containers run (see the module doc). `on`: what may turn it off (see
/// [`why_off`]); `arch`: this binary's CPU (`std::env::consts::ARCH`).
pub(crate) fn choose(
    env: &Environment,
    binary: &Binary,
    on: &Conditions<'_>,
    arch: &str,
) -> Choice {
    if let Some(why) = why_off(env, on) {
        return Choice::Off(why);
    }
    let arch = kubernetes_arch(arch).map(str::to_owned);
    match mount_of(env, &binary.path) {
        Some(shared) if shared => Choice::InPlace {
            path: binary.path.clone(),
            arch,
        },
        // The image's own file system: used in place when it came with the image.
        None if binary
            .changed
            .zip(env.container_started)
            .is_some_and(|(changed, started)| changed < started) =>
        {
            Choice::InPlace {
                path: binary.path.clone(),
                arch: None,
            }
        }
        _ => Choice::Copy {
            dir: copy_dir(env),
            arch,
        },
    }
}

/// What may keep jobs from running under their supervisor.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Conditions<'a> {
    /// The config's `job_supervisor` (default true).
    pub enabled: bool,
    /// `--allow-unshared-workdir`: a working directory job pods do not share is submitted.
    /// (Without it such a submission is refused; a dry run then shows the manifest a shared
    /// working directory would get.)
    pub allow_unshared: bool,
    /// How the working directory is mounted here, when known.
    pub workdir_mount: Option<&'a MountFlags>,
}

/// Why jobs must run their command directly, if they must: the config says so, the working
/// directory is not shared (and is submitted anyway), or it is mounted noexec or read-only.
pub(crate) fn why_off(env: &Environment, on: &Conditions<'_>) -> Option<String> {
    const DIRECT: &str = "jobs run their command directly, and their logs stay in their pods only";
    if !on.enabled {
        return Some(format!("job_supervisor: false in the config: {DIRECT}"));
    }
    if on.allow_unshared
        && let Workdir::Unshared { .. } = workdir::locate(env)
    {
        return Some(format!(
            "the working directory is not on a volume job pods share, so nothing can be kept there: {DIRECT}"
        ));
    }
    let mount = on.workdir_mount?;
    let problem = if mount.noexec {
        "noexec, so job pods could not run jupyterflow from it"
    } else if mount.read_only {
        "read-only, so no log could be written there"
    } else {
        return None;
    };
    Some(format!(
        "the working directory's file system ({}) is mounted {problem}: {DIRECT}",
        mount.mount_point.display()
    ))
}

/// Where copies of this binary go: `<workdir>/.jupyterflow/bin`, on the shared volume.
pub(crate) fn copy_dir(env: &Environment) -> PathBuf {
    Path::new(&env.working_dir).join(BIN_DIR)
}

/// The deepest notebook mount holding `path`, and whether job pods share it: `None` when the
/// path is on the image's own file system.
fn mount_of(env: &Environment, path: &Path) -> Option<bool> {
    let mounts = workdir::drift_mounts(env);
    mounts
        .iter()
        .filter(|m| path.starts_with(&m.path))
        .max_by_key(|m| m.path.components().count())
        .map(|m| m.shared)
}

/// The file name of a copy: `jupyterflow-<version>-<first 16 hex digits of its SHA-256>`.
pub(crate) fn copy_name(version: &str, hash: &str) -> String {
    format!("jupyterflow-{version}-{hash}")
}

/// Kubernetes' name for a CPU architecture (`kubernetes.io/arch`), for Rust's.
pub(crate) fn kubernetes_arch(rust_arch: &str) -> Option<&'static str> {
    match rust_arch {
        "x86_64" => Some("amd64"),
        "aarch64" => Some("arm64"),
        "powerpc64" => Some("ppc64le"),
        "s390x" => Some("s390x"),
        "riscv64" => Some("riscv64"),
        _ => None,
    }
}

/// Makes job containers start the supervisor at `path` (as job pods see it), pinned to `arch`.
pub(crate) fn apply(env: &mut Environment, path: &Path, arch: Option<&str>) {
    env.supervisor = Some(path.display().to_string());
    if let Some(arch) = arch {
        env.node_selector
            .insert(ARCH_LABEL.to_owned(), arch.to_owned());
    }
}

/// How the file system holding `path` is mounted, from `/proc/self/mountinfo` text: the last
/// mount whose mount point is the deepest one holding `path` (a later mount hides an earlier
/// one at the same point). Read-only counts at the mount or the superblock.
pub(crate) fn mount_flags(mountinfo: &str, path: &Path) -> Option<MountFlags> {
    let mut best: Option<(usize, MountFlags)> = None;
    for line in mountinfo.lines() {
        let (mount, super_part) = line.split_once(" - ").unwrap_or((line, ""));
        let fields: Vec<&str> = mount.split(' ').collect();
        let (Some(point), Some(options)) = (fields.get(4), fields.get(5)) else {
            continue;
        };
        let point = PathBuf::from(unescape(point));
        if !path.starts_with(&point) {
            continue;
        }
        let depth = point.components().count();
        if best.as_ref().is_some_and(|(d, _)| *d > depth) {
            continue;
        }
        let has = |list: &str, flag: &str| list.split(',').any(|o| o == flag);
        let super_options = super_part.split(' ').nth(2).unwrap_or("");
        best = Some((
            depth,
            MountFlags {
                read_only: has(options, "ro") || has(super_options, "ro"),
                noexec: has(options, "noexec"),
                mount_point: point,
            },
        ));
    }
    best.map(|(_, flags)| flags)
}

/// mountinfo writes space, tab, newline and backslash in paths as `\040`, `\011`, `\012`,
/// `\134`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && let Ok(code) = u8::from_str_radix(&field[i + 1..i + 4], 8)
        {
            out.push(code);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use k8s_openapi::api::core::v1::{
        EmptyDirVolumeSource, NFSVolumeSource, PersistentVolumeClaimVolumeSource, Volume,
        VolumeMount,
    };

    use super::*;

    const MOUNTINFO: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
30 27 0:40 / /home/jovyan rw,relatime - nfs4 nfs:/export/alice rw,vers=4.1
31 30 0:41 / /home/jovyan/scratch rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw
32 27 0:42 / /data rw,relatime - ext4 /dev/sdb ro
33 27 0:43 / /my\\040data ro,relatime - ext4 /dev/sdc rw
34 30 0:44 / /home/jovyan/scratch rw,relatime - tmpfs tmpfs rw
";

    #[test]
    fn the_deepest_latest_mount_decides_its_flags() {
        let flags = |path: &str| mount_flags(MOUNTINFO, Path::new(path)).expect("a mount");
        let home = flags("/home/jovyan/project");
        assert_eq!(home.mount_point, Path::new("/home/jovyan"));
        assert!(!home.read_only && !home.noexec);
        // Mounted over: the later mount at the same point wins.
        assert!(!flags("/home/jovyan/scratch/x").noexec);
        assert!(flags("/data/x").read_only, "read-only superblock");
        let spaced = flags("/my data/x");
        assert_eq!(spaced.mount_point, Path::new("/my data"));
        assert!(spaced.read_only);
        assert_eq!(flags("/opt/conda").mount_point, Path::new("/"));
        let noexec = mount_flags(
            "31 30 0:41 / /w rw,noexec - tmpfs tmpfs rw\n",
            Path::new("/w/a"),
        )
        .expect("a mount");
        assert!(noexec.noexec);
        assert_eq!(mount_flags(MOUNTINFO, Path::new("relative")), None);
    }

    fn env() -> Environment {
        let mount = |name: &str, path: &str| VolumeMount {
            name: name.into(),
            mount_path: path.into(),
            ..VolumeMount::default()
        };
        Environment {
            working_dir: "/home/jovyan/project".into(),
            volume_mounts: vec![
                mount("home", "/home/jovyan"),
                mount("tools", "/tools"),
                mount("scratch", "/scratch"),
            ],
            volumes: vec![
                Volume {
                    name: "home".into(),
                    persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                        claim_name: "claim-jovyan".into(),
                        read_only: None,
                    }),
                    ..Volume::default()
                },
                Volume {
                    name: "tools".into(),
                    nfs: Some(NFSVolumeSource {
                        path: "/export".into(),
                        server: "nfs".into(),
                        read_only: None,
                    }),
                    ..Volume::default()
                },
                Volume {
                    name: "scratch".into(),
                    empty_dir: Some(EmptyDirVolumeSource::default()),
                    ..Volume::default()
                },
            ],
            container_started: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1000)),
            ..Environment::default()
        }
    }

    fn on(enabled: bool, allow_unshared: bool, mount: Option<&MountFlags>) -> Conditions<'_> {
        Conditions {
            enabled,
            allow_unshared,
            workdir_mount: mount,
        }
    }

    fn binary(path: &str, changed: u64) -> Binary {
        Binary {
            path: path.into(),
            changed: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(changed)),
        }
    }

    #[test]
    fn where_the_binary_lies_decides_whether_it_is_copied() {
        let env = env();
        let rw = MountFlags {
            mount_point: "/home/jovyan".into(),
            read_only: false,
            noexec: false,
        };
        let on = Conditions {
            enabled: true,
            allow_unshared: false,
            workdir_mount: Some(&rw),
        };
        let choose = |b: &Binary| choose(&env, b, &on, "x86_64");
        // On the user's claim or an NFS mount: job pods see it there, built for this CPU.
        for path in [
            "/home/jovyan/.local/bin/jupyterflow",
            "/tools/bin/jupyterflow",
        ] {
            assert_eq!(
                choose(&binary(path, 5000)),
                Choice::InPlace {
                    path: path.into(),
                    arch: Some("amd64".into())
                },
                "{path}"
            );
        }
        // In the image, older than the container: it came with the image.
        assert_eq!(
            choose(&binary("/opt/conda/bin/jupyterflow", 500)),
            Choice::InPlace {
                path: "/opt/conda/bin/jupyterflow".into(),
                arch: None
            }
        );
        // Installed into the running container, or on a volume only this pod has: copied.
        let copy = Choice::Copy {
            dir: "/home/jovyan/project/.jupyterflow/bin".into(),
            arch: Some("amd64".into()),
        };
        assert_eq!(choose(&binary("/opt/conda/bin/jupyterflow", 5000)), copy);
        assert_eq!(choose(&binary("/scratch/jupyterflow", 500)), copy);
        let unknown = Binary {
            path: "/usr/local/bin/jupyterflow".into(),
            changed: None,
        };
        assert_eq!(choose(&unknown), copy);
        let mut apply_to = env.clone();
        apply(
            &mut apply_to,
            Path::new("/home/jovyan/project/.jupyterflow/bin/jupyterflow-1-ab"),
            Some("arm64"),
        );
        assert_eq!(
            apply_to.supervisor.as_deref(),
            Some("/home/jovyan/project/.jupyterflow/bin/jupyterflow-1-ab")
        );
        assert_eq!(
            apply_to.node_selector.get(ARCH_LABEL).map(String::as_str),
            Some("arm64")
        );
    }

    #[test]
    fn jobs_run_their_command_directly_when_the_volume_cannot_take_it() {
        let mut env = env();
        let bin = binary("/home/jovyan/bin/jupyterflow", 5000);
        let flags = |read_only, noexec| MountFlags {
            mount_point: "/home/jovyan".into(),
            read_only,
            noexec,
        };
        let off = |choice: Choice| match choice {
            Choice::Off(why) => why,
            other => panic!("not off: {other:?}"),
        };
        let noexec = flags(false, true);
        let why = off(choose(
            &env,
            &bin,
            &on(true, false, Some(&noexec)),
            "x86_64",
        ));
        assert!(why.contains("(/home/jovyan) is mounted noexec"), "{why}");
        let read_only = flags(true, false);
        let why = off(choose(
            &env,
            &bin,
            &on(true, false, Some(&read_only)),
            "x86_64",
        ));
        assert!(why.contains("read-only"), "{why}");
        let why = off(choose(&env, &bin, &on(false, false, None), "x86_64"));
        assert!(why.starts_with("job_supervisor: false"), "{why}");
        env.working_dir = "/scratch/x".into();
        let why = off(choose(&env, &bin, &on(true, true, None), "x86_64"));
        assert!(why.contains("not on a volume job pods share"), "{why}");
        // Refused without --allow-unshared-workdir; a dry run shows the usual manifest.
        assert!(matches!(
            choose(&env, &bin, &on(true, false, None), "x86_64"),
            Choice::InPlace { .. }
        ));
    }

    #[test]
    fn architectures_are_named_as_kubernetes_names_them() {
        assert_eq!(kubernetes_arch("x86_64"), Some("amd64"));
        assert_eq!(kubernetes_arch("aarch64"), Some("arm64"));
        assert_eq!(kubernetes_arch("m68k"), None);
        assert_eq!(copy_name("0.1.0", "0123"), "jupyterflow-0.1.0-0123");
    }
}
