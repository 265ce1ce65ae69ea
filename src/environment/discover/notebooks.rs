//! The notebooks of notebook steps on disk: read (capped) from the jobs' working directory,
//! and the injected copies and the driver written there, each under a name made from its
//! content, so writing one again (a rerun, a retry, another pipeline) changes nothing.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use super::{ReadCap, read_capped};
use crate::pipeline::notebook::{CellError, NotebookFile, first_error};

/// A notebook with outputs (plots, tables) can be large; past this it is surely not the one meant.
pub(crate) const NOTEBOOK_CAP: ReadCap = ReadCap {
    what: "a notebook",
    bytes: 256 << 20,
};

/// The text of the notebook `path` (as a job names it, relative to `workdir`), or why not.
pub(crate) fn read_notebook(workdir: &Path, path: &str) -> Result<String, String> {
    read_capped(&workdir.join(path), NOTEBOOK_CAP).map_err(|e| e.to_string())
}

/// The failing cell of each executed notebook of `executed` (job, path) that has one, with its
/// traceback's last `traceback_lines` lines; notebooks that cannot be read are left out.
pub(crate) fn cell_failures(
    executed: Vec<(String, PathBuf)>,
    traceback_lines: usize,
) -> Vec<(String, PathBuf, CellError)> {
    executed
        .into_iter()
        .filter_map(|(job, path)| {
            let text = read_capped(&path, NOTEBOOK_CAP).ok()?;
            let error = first_error(&text, traceback_lines)?;
            Some((job, path, error))
        })
        .collect()
}

/// Writes each file under `workdir` unless it is already there (its name is its content's
/// hash). Atomic: a temporary file in the same folder, then a rename, so a job never reads half
/// a notebook. On failure, the path that could not be written.
pub(crate) fn write_files(
    workdir: &Path,
    files: &[NotebookFile],
) -> Result<(), (PathBuf, io::Error)> {
    for file in files {
        let path = workdir.join(&file.path);
        if path.is_file() {
            continue;
        }
        write_atomically(&path, &file.content).map_err(|e| (path.clone(), e))?;
    }
    Ok(())
}

fn write_atomically(path: &Path, content: &str) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut out = std::fs::File::create(&temp)?;
        out.write_all(content.as_bytes())?;
        out.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_written_once_and_whole() {
        let dir = tempfile::tempdir().expect("valid");
        let files = [NotebookFile {
            path: ".jupyterflow/notebooks/ab.ipynb".into(),
            content: "{}".into(),
        }];
        write_files(dir.path(), &files).expect("valid");
        let path = dir.path().join(".jupyterflow/notebooks/ab.ipynb");
        assert_eq!(std::fs::read_to_string(&path).expect("valid"), "{}");
        // Already there: left alone (same name, same content).
        std::fs::write(&path, "kept").expect("valid");
        write_files(dir.path(), &files).expect("valid");
        assert_eq!(std::fs::read_to_string(&path).expect("valid"), "kept");
        let leftovers = std::fs::read_dir(path.parent().expect("valid"))
            .expect("valid")
            .count();
        assert_eq!(leftovers, 1);
        assert!(read_notebook(dir.path(), "missing.ipynb").is_err());
    }
}
