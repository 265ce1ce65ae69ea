//! `jupyterflow ipython-extension DIR`: writes the IPython extension (python/jupyterflow, built
//! into the binary) to `DIR/jupyterflow`, for a binary installed without the wheel (which
//! carries the package itself). It also records this binary's path there, so `%jupyterflow`
//! runs this very binary whatever the kernel's PATH.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::printer::Printer;

/// The package's files, as the wheel ships them.
const FILES: &[(&str, &str)] = &[
    (
        "__init__.py",
        include_str!("../../python/jupyterflow/__init__.py"),
    ),
    (
        "_magic.py",
        include_str!("../../python/jupyterflow/_magic.py"),
    ),
    (
        "_table.py",
        include_str!("../../python/jupyterflow/_table.py"),
    ),
];

/// The binary's path, read by `_magic.find_binary`; also marks a package this command wrote.
const BINARY_FILE: &str = "_binary.txt";

pub(super) fn install(dir: &Path, printer: &mut Printer) -> Result<(), Error> {
    let package = dir.join("jupyterflow");
    if package.exists() && !package.join(BINARY_FILE).exists() {
        // pip's copy (the wheel's): overwriting it would leave pip's record of it wrong.
        return Err(Error::usage(
            format!(
                "{} exists and was not written by `jupyterflow ipython-extension`",
                package.display()
            ),
            "a pip-installed jupyterflow has the extension already (`%load_ext jupyterflow`); \
             else remove that folder or choose another DIR",
        ));
    }
    let write = |path: PathBuf, text: &str| {
        std::fs::write(&path, text).map_err(|source| Error::Write { path, source })
    };
    std::fs::create_dir_all(&package).map_err(|source| Error::Write {
        path: package.clone(),
        source,
    })?;
    for (name, text) in FILES {
        write(package.join(name), text)?;
    }
    let binary = std::env::current_exe().map_err(|source| Error::Write {
        path: package.join(BINARY_FILE),
        source,
    })?;
    write(
        package.join(BINARY_FILE),
        &format!("{}\n", binary.display()),
    )?;
    printer.status(&format!(
        "wrote {}; in a notebook whose Python path has {}: %load_ext jupyterflow",
        package.display(),
        dir.display()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::FILES;

    #[test]
    fn every_file_of_the_package_is_built_in() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/jupyterflow");
        let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
            .expect("python/jupyterflow")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| {
                std::path::Path::new(name)
                    .extension()
                    .is_some_and(|ext| ext == "py")
            })
            .collect();
        let built_in: BTreeSet<String> = FILES.iter().map(|(n, _)| (*n).to_owned()).collect();
        assert_eq!(built_in, on_disk);
    }
}
