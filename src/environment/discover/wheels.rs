//! The wheel cache `drift: replay` installs from in every job: `pip wheel` of exactly the
//! drifted versions, run once with the notebook's own interpreter (and its pip settings: index,
//! proxy, credentials) into a folder on the shared volume, so jobs need no index at all. Then a
//! trial install of those wheels into a scratch folder, timed: it proves each job's install
//! will work, and says what it adds to each job's start. A cache is complete only once renamed
//! into place, so an interrupted download is never used; the same set reuses it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The marker a complete cache holds: the trial install's time, in milliseconds.
const COMPLETE: &str = ".complete";
/// How many lines of pip's output an error quotes.
const PIP_LINES: usize = 12;

/// A ready cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelCache {
    pub dir: PathBuf,
    pub wheels: usize,
    pub bytes: u64,
    /// How long installing them took here (pip, from the cache, no index): about what each job
    /// adds before its command.
    pub install: Duration,
    /// Made by an earlier run.
    pub reused: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum WheelError {
    #[error("`{command}` failed ({status}) while saving the wheels for drift replay:\n{output}")]
    Pip {
        command: String,
        status: String,
        output: String,
    },
    #[error("cannot run {}: {source}", .interpreter.display())]
    Start {
        interpreter: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the wheel cache {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl WheelError {
    pub fn hint(&self) -> String {
        match self {
            WheelError::Pip { .. } => "pip could not fetch or build these versions from here (its output above says why); install them on your home volume instead (`pip install --user …`), or submit with `--drift warn`".to_owned(),
            WheelError::Start { .. } => "the interpreter the packages were installed with is gone; submit with `--drift warn`".to_owned(),
            WheelError::Write { .. } => "the cache is written under the working directory's .jupyterflow/wheels: it must be writable".to_owned(),
        }
    }
}

/// Makes (or reuses) the cache at `dir` for `requirements`, with `interpreter`'s pip.
pub fn prepare(
    interpreter: &Path,
    requirements: &[String],
    dir: &Path,
) -> Result<WheelCache, WheelError> {
    if let Ok(text) = std::fs::read_to_string(dir.join(COMPLETE)) {
        let millis = text.trim().parse().unwrap_or(0);
        return Ok(measure(dir, Duration::from_millis(millis), true));
    }
    let write = |path: &Path, source| WheelError::Write {
        path: path.to_owned(),
        source,
    };
    let parent = dir.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent).map_err(|e| write(parent, e))?;
    let building = parent.join(format!(
        ".{}.{}",
        dir.file_name().and_then(|n| n.to_str()).unwrap_or("wheels"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&building);
    std::fs::create_dir(&building).map_err(|e| write(&building, e))?;
    let result = fill(interpreter, requirements, &building);
    let install = match result {
        Ok(install) => install,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&building);
            return Err(e);
        }
    };
    let marker = building.join(COMPLETE);
    std::fs::write(&marker, format!("{}\n", install.as_millis())).map_err(|e| write(&marker, e))?;
    if std::fs::rename(&building, dir).is_err() {
        // Another run finished the same set first: use that one.
        let _ = std::fs::remove_dir_all(&building);
        if !dir.join(COMPLETE).is_file() {
            return Err(write(
                dir,
                std::io::Error::other("could not move the cache into place"),
            ));
        }
    }
    Ok(measure(dir, install, false))
}

/// `pip wheel` into `dir`, then the timed trial install.
fn fill(interpreter: &Path, requirements: &[String], dir: &Path) -> Result<Duration, WheelError> {
    pip(
        interpreter,
        &[
            &["wheel", "--no-deps", "--wheel-dir"],
            &[&dir.display().to_string()],
        ],
        requirements,
    )?;
    let trial = dir.join(".trial");
    let started = Instant::now();
    pip(
        interpreter,
        &[
            &["install", "--no-deps", "--no-index", "--find-links"],
            &[&dir.display().to_string()],
            &["--target", &trial.display().to_string()],
        ],
        requirements,
    )?;
    let install = started.elapsed();
    let _ = std::fs::remove_dir_all(&trial);
    Ok(install)
}

fn pip(interpreter: &Path, args: &[&[&str]], requirements: &[String]) -> Result<(), WheelError> {
    let mut command = Command::new(interpreter);
    command
        .args(["-m", "pip"])
        .args(args.iter().flat_map(|a| a.iter()))
        .args(["--quiet", "--disable-pip-version-check"])
        .args(requirements)
        .stdin(Stdio::null());
    let shown = format!(
        "{} -m pip {} {}",
        interpreter.display(),
        args.first().and_then(|a| a.first()).unwrap_or(&""),
        requirements.join(" ")
    );
    let output = command.output().map_err(|source| WheelError::Start {
        interpreter: interpreter.to_owned(),
        source,
    })?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(PIP_LINES)..].join("\n");
    Err(WheelError::Pip {
        command: shown,
        status: output.status.to_string(),
        output: tail,
    })
}

/// Counts the wheels and their size.
fn measure(dir: &Path, install: Duration, reused: bool) -> WheelCache {
    let (wheels, bytes) = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map_while(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".whl"))
                .fold((0, 0), |(n, b), e| {
                    (n + 1, b + e.metadata().map_or(0, |m| m.len()))
                })
        })
        .unwrap_or_default();
    WheelCache {
        dir: dir.to_owned(),
        wheels,
        bytes,
        install,
        reused,
    }
}
