//! The I/O behind the job supervisor's choice (`environment::supervisor`): this binary's path
//! and age, how a path's file system is mounted, and the content-addressed copy of this binary
//! onto the shared volume that job pods run when they cannot see the original.

use std::fmt::Write as _;
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::environment::supervisor::{Binary, MountFlags, copy_name, mount_flags};

/// This process's binary (or `exe`, the stand-in `$JUPYTERFLOW_EXE` names): its path with
/// symlinks resolved, and when it last changed.
pub(crate) fn this_binary(exe: Option<&Path>) -> io::Result<Binary> {
    let path = match exe {
        Some(path) => std::fs::canonicalize(path)?,
        None => std::env::current_exe()?,
    };
    let metadata = std::fs::metadata(&path)?;
    let ctime = u64::try_from(metadata.ctime())
        .ok()
        .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s));
    let changed = match (metadata.modified().ok(), ctime) {
        (Some(m), Some(c)) => Some(m.max(c)),
        (m, c) => m.or(c),
    };
    Ok(Binary { path, changed })
}

/// How the file system holding `path` is mounted, from the mountinfo file (`mountinfo`:
/// `/proc/self/mountinfo`, or what `$JUPYTERFLOW_MOUNTINFO_FILE` names). `None` when it cannot
/// be read.
pub(crate) fn mount_of(mountinfo: &Path, path: &Path) -> Option<MountFlags> {
    let text = std::fs::read_to_string(mountinfo).ok()?;
    mount_flags(&text, path)
}

/// The first 16 hex digits of the SHA-256 of `path`'s content.
pub(crate) fn content_hash(path: &Path) -> io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        context.update(&buf[..n]);
    }
    Ok(context.finish().as_ref()[..8]
        .iter()
        .fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        }))
}

/// Where the copy of `binary` goes in `dir`: `jupyterflow-<version>-<hash>`.
pub(crate) fn copy_path(binary: &Path, dir: &Path) -> io::Result<PathBuf> {
    let hash = content_hash(binary)?;
    Ok(dir.join(copy_name(env!("CARGO_PKG_VERSION"), &hash)))
}

/// Copies `binary` to `target` (from [`copy_path`]) unless it is there already: the name holds
/// the content's hash, so an existing file is this very binary. Atomic: written to a temp file
/// in the same folder, made executable, synced, then renamed, so a job never starts a half
/// copy, and two submissions racing both end with the same whole file. Returns whether it
/// copied.
pub(crate) fn install_copy(binary: &Path, target: &Path) -> io::Result<bool> {
    if std::fs::metadata(target).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0) {
        return Ok(false);
    }
    let dir = target
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no folder to copy into"))?;
    std::fs::create_dir_all(dir)?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let copy = || -> io::Result<()> {
        let mut from = std::fs::File::open(binary)?;
        let mut to = std::fs::File::create(&temp)?;
        io::copy(&mut from, &mut to)?;
        to.flush()?;
        to.set_permissions(std::fs::Permissions::from_mode(0o755))?;
        to.sync_all()?;
        std::fs::rename(&temp, target)
    };
    copy().inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_made_once_per_content_and_whole() {
        let dir = tempfile::tempdir().expect("temp dir");
        let binary = dir.path().join("jupyterflow");
        std::fs::write(&binary, b"#!/bin/sh\necho one\n").expect("write");
        let bin = dir.path().join("shared/.jupyterflow/bin");
        let target = copy_path(&binary, &bin).expect("hashed");
        let name = target
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with(&format!("jupyterflow-{}-", env!("CARGO_PKG_VERSION"))),
            "{name}"
        );
        assert_eq!(
            name.len(),
            "jupyterflow--".len() + env!("CARGO_PKG_VERSION").len() + 16
        );
        assert!(install_copy(&binary, &target).expect("copied"));
        assert_eq!(
            std::fs::read(&target).expect("read"),
            b"#!/bin/sh\necho one\n"
        );
        assert_eq!(
            std::fs::metadata(&target)
                .expect("meta")
                .permissions()
                .mode()
                & 0o777,
            0o755
        );
        assert!(
            !install_copy(&binary, &target).expect("reused"),
            "copied once"
        );
        // No temp file is left behind.
        let files: Vec<_> = std::fs::read_dir(&bin).expect("dir").collect();
        assert_eq!(files.len(), 1);
        // Other content, another name.
        std::fs::write(&binary, b"#!/bin/sh\necho two\n").expect("write");
        assert_ne!(copy_path(&binary, &bin).expect("hashed"), target);
    }

    #[test]
    fn the_binary_knows_where_it_is_and_how_old_it_is() {
        let dir = tempfile::tempdir().expect("temp dir");
        let stand_in = dir.path().join("jf");
        std::fs::write(&stand_in, b"x").expect("write");
        let binary = this_binary(Some(&stand_in)).expect("found");
        assert_eq!(
            binary.path,
            std::fs::canonicalize(&stand_in).expect("canonical")
        );
        let changed = binary.changed.expect("a time");
        assert!(changed <= SystemTime::now() + Duration::from_secs(5));
        assert!(this_binary(None).expect("the test binary").path.is_file());
        let mountinfo = dir.path().join("mountinfo");
        std::fs::write(&mountinfo, "27 1 8:1 / / rw,noexec - ext4 /dev/sda1 rw\n").expect("write");
        assert!(mount_of(&mountinfo, Path::new("/x")).expect("flags").noexec);
        assert_eq!(mount_of(&dir.path().join("none"), Path::new("/x")), None);
    }
}
