//! The drift guard before a cluster submission (see `environment::packages`): which Python
//! packages were installed in the notebook after it started, outside every volume the jobs
//! mount, and what `--drift` says to do about them: warn, refuse, or replay (every job installs
//! exactly those versions first, from wheels saved now on the shared volume).

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::environment::Environment;
use crate::environment::discover::{self, wheels};
use crate::environment::drift::{self, DriftPolicy, Replay};
use crate::environment::packages::Drift;
use crate::environment::workdir::{self, Workdir};
use crate::error::Error;
use crate::pipeline::Dag;
use crate::pipeline::programs::python_interpreters;
use crate::printer::Printer;

/// Scans this container (the notebook's) and applies `policy`. `verbose` collects what only
/// `-v` shows. A dry run never refuses and never downloads: it says what a submission would do.
pub(super) fn guard(
    policy: DriftPolicy,
    dag: &Dag,
    env: &mut Environment,
    home: Option<&Path>,
    dry_run: bool,
    printer: &mut Printer,
    verbose: &mut Vec<String>,
) -> Result<(), Error> {
    if policy == DriftPolicy::Ignore {
        return Ok(());
    }
    let clock = Instant::now();
    let Some(drift) = discover::scan_drift(env, &python_interpreters(dag), home) else {
        verbose.push(format!(
            "drift: the pod does not say when container `{}` started, so packages installed since were not looked for",
            env.container_name
        ));
        return Ok(());
    };
    verbose.push(format!(
        "drift: {} package records in {} folders of {} environment(s) looked at in {} ms; {} installed since the notebook started are missing in jobs, {} more are on shared volumes",
        drift.scanned,
        drift.scanned_dirs.len(),
        drift.environments.len(),
        clock.elapsed().as_millis(),
        drift.drifted.len(),
        drift.on_shared.len()
    ));
    if drift.drifted.is_empty() {
        return Ok(());
    }
    let problem = drift::problem(&drift);
    match policy {
        DriftPolicy::Ignore => Ok(()),
        DriftPolicy::Warn => {
            printer.warning(&problem, Some(drift::HINT));
            Ok(())
        }
        DriftPolicy::Refuse if dry_run => {
            env.notes.push(format!(
                "a submission would be refused (drift: refuse): {problem}"
            ));
            Ok(())
        }
        DriftPolicy::Refuse => Err(Error::usage(
            format!("{problem} (drift: refuse)"),
            drift::HINT,
        )),
        DriftPolicy::Replay => replay(&drift, env, dry_run, printer),
    }
}

/// Saves the wheels (unless `dry_run`) and makes every job install them first.
fn replay(
    drift: &Drift,
    env: &mut Environment,
    dry_run: bool,
    printer: &mut Printer,
) -> Result<(), Error> {
    let (groups, conda_only) = drift::replay_plan(drift);
    if !conda_only.is_empty() {
        printer.warning(
            &format!(
                "conda packages cannot be replayed with pip, so jobs will still lack {}",
                drift::names(&conda_only)
            ),
            Some("add them to the notebook image, or create the conda environment on your home volume"),
        );
    }
    if let Workdir::Unshared { reason } = workdir::locate(env) {
        return Err(Error::usage(
            format!(
                "drift replay saves wheels for the jobs under the working directory, but {reason}"
            ),
            "run from a folder on a shared volume, or submit with `--drift warn`",
        ));
    }
    let mut lines = Vec::new();
    for (prefix, requirements) in groups {
        let Some(interpreter) = discover::interpreter_in(&prefix) else {
            return Err(Error::usage(
                format!(
                    "drift replay: no python in {}/bin to save the wheels of {} with",
                    prefix.display(),
                    requirements.join(" ")
                ),
                "submit with `--drift warn`",
            ));
        };
        let dir = PathBuf::from(&env.working_dir)
            .join(drift::WHEELS_DIR)
            .join(drift::cache_name(&requirements));
        let count = requirements.len();
        let replay = Replay {
            interpreter: interpreter.display().to_string(),
            wheels: dir.display().to_string(),
            requirements,
        };
        if dry_run {
            env.notes.push(format!(
                "drift replay: a submission saves the wheels of {count} package(s) in {} and every job installs them first",
                dir.display()
            ));
        } else {
            let cache =
                wheels::prepare(&interpreter, &replay.requirements, &dir).map_err(Error::Wheels)?;
            env.notes.push(format!(
                "drift replay: every job first installs {count} package(s) from {} ({} wheel(s), {} KiB{}); installing them took {:.1} s here, about what it adds to each job's start",
                cache.dir.display(),
                cache.wheels,
                cache.bytes.div_ceil(1024),
                if cache.reused { ", saved by an earlier run" } else { ", saved now" },
                cache.install.as_secs_f64()
            ));
        }
        lines.push(replay.prelude());
    }
    if !lines.is_empty() {
        env.setup = Some(lines.join("\n"));
    }
    Ok(())
}
