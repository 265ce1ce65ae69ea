//! Before `retry` or `resubmit` submit an old run's spec again: the copy of jupyterflow its
//! jobs start (`.jupyterflow/bin/jupyterflow-<version>-<hash>` on the shared volume) must still
//! be there, or every job pod fails to start. A copy that is gone is made again from this
//! binary when it is the same build (the name holds the content's hash); otherwise the
//! submission is refused before anything is created.

use std::path::Path;

use serde_json::Value;

use crate::argo::supervisor;
use crate::environment::discover::binary;
use crate::environment::supervisor::BIN_DIR;
use crate::error::Error;
use crate::printer::Printer;

/// Checks (and restores) the binaries the job containers of `workflow` start; `exe`: the
/// stand-in for this binary (`$JUPYTERFLOW_EXE`).
pub(super) fn ensure(
    workflow: &Value,
    exe: Option<&Path>,
    printer: &mut Printer,
) -> Result<(), Error> {
    for path in supervisor::binaries(workflow) {
        let Some(dir) = path.parent().filter(|dir| dir.ends_with(BIN_DIR)) else {
            // Not a copy jupyterflow made (the image's own, or one on a shared mount).
            continue;
        };
        if path.exists() {
            continue;
        }
        let this = binary::this_binary(exe).ok();
        let same = this
            .as_ref()
            .and_then(|b| binary::copy_path(&b.path, dir).ok())
            .is_some_and(|copy| copy == path);
        match this {
            Some(this) if same => {
                binary::install_copy(&this.path, &path).map_err(|e| {
                    Error::usage(
                        format!("cannot copy this jupyterflow to {}: {e}", path.display()),
                        "check that the working directory's volume is writable",
                    )
                })?;
                printer.note(&format!(
                    "the job binary {} was gone from the shared volume: copied this jupyterflow there again",
                    path.display()
                ));
            }
            _ => {
                return Err(Error::usage(
                    format!(
                        "the jupyterflow binary this run's jobs start, {}, is gone from the shared volume, and this jupyterflow is another build: its jobs could not start",
                        path.display()
                    ),
                    "run the pipeline again with `jupyterflow run` (it copies this binary), or put that file back",
                ));
            }
        }
    }
    Ok(())
}
