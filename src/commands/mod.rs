//! One function per verb. Commands receive resolved arguments, call the pure stages and the
//! backends, and hand everything they show to the printer.

pub mod cluster;
pub mod cluster_delete;
pub mod cluster_logs;
pub mod cluster_runs;
pub mod config;
pub mod follow;
pub mod graph;
pub mod lint;
pub mod local_run;
pub mod run;
pub mod runs;
pub mod submit;

use std::path::{Path, PathBuf};

use crate::cli::InputArgs;
use crate::error::Error;
use crate::pipeline::{CmdMode, Dag, Pipeline, one_liner, workflow_file};

/// A pipeline read from `-c` or `-f`, with the directory its jobs start in.
pub struct LoadedPipeline {
    pub dag: Dag,
    /// `-c`: the current directory; `-f`: the workflow file's directory.
    pub working_dir: PathBuf,
}

/// Reads and validates the pipeline named by `-c`/`-f`.
pub fn load(input: &InputArgs) -> Result<LoadedPipeline, Error> {
    let mode = input.shell.then_some(CmdMode::Shell);
    let cwd = std::env::current_dir().map_err(|source| Error::ReadInput {
        path: PathBuf::from("."),
        source,
    })?;
    let (pipeline, working_dir): (Pipeline, PathBuf) =
        match (&input.input.command, &input.input.file) {
            (Some(text), _) => (one_liner::parse(text, mode)?, cwd),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|source| Error::ReadInput {
                    path: path.clone(),
                    source,
                })?;
                let dir = absolute_parent(path, &cwd);
                (workflow_file::parse(&text, path, mode)?, dir)
            }
            (None, None) => {
                return Err(Error::usage(
                    "no pipeline given",
                    "pass -c \"a >> b\" or -f workflow.yaml",
                ));
            }
        };
    Ok(LoadedPipeline {
        dag: Dag::build(pipeline)?,
        working_dir,
    })
}

fn absolute_parent(path: &Path, cwd: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let parent = absolute
        .parent()
        .map_or_else(|| cwd.to_path_buf(), Path::to_path_buf);
    // Resolve `..` and symlinks so jobs see the same path the user's files live at.
    std::fs::canonicalize(&parent).unwrap_or(parent)
}
