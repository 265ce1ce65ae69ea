//! The switchboard: one file per verb, each taking the resolved `Settings`, calling the stages
//! one per line and handing what they return to the printer. Engines live in the stages;
//! `history` holds what list/get/logs/delete do alike for both backends, `argo_session` the
//! connection those verbs share on the cluster.

mod about;
mod argo_session;
mod config;
mod control;
mod delete;
mod doctor;
mod exec_job;
mod get;
mod graph;
mod history;
mod ipython_extension;
mod job_binary;
mod lint;
mod list;
mod logs;
mod retry;
mod run;
mod volume;

use std::future::Future;
use std::path::{Path, PathBuf};

use crate::argo::view::Shutdown;
use crate::environment::discover::notebooks;
use crate::environment::discover::{
    ProgramLookup, WORKFLOW_FILE_CAP, read_capped, read_capped_stdin,
};
use crate::error::Error;
use crate::pipeline::selection::Pick;
use crate::pipeline::{Dag, notebook, one_liner, programs, workflow_file};
use crate::printer::Printer;
use crate::settings::{Input, InputSource, Settings, Verb};

/// Runs the verb; returns the exit code (errors are printed by the caller).
pub(crate) fn dispatch(settings: &Settings, printer: &mut Printer) -> Result<u8, Error> {
    match &settings.verb {
        Verb::Run(run) => run::run(settings, run, printer),
        Verb::Lint(input, pick) => lint::lint(settings, input, pick.as_ref(), printer).map(|()| 0),
        Verb::Graph(input, format) => graph::graph(settings, input, *format, printer).map(|()| 0),
        Verb::Config { generate } => {
            config::config(settings, generate.as_ref(), printer).map(|()| 0)
        }
        Verb::List(list) => list::list(list, printer).map(|()| 0),
        Verb::Get(get) => get::get(get, printer).map(|()| 0),
        Verb::Logs(logs) => logs::logs(logs, &settings.cwd, printer),
        Verb::Delete(delete) => delete::delete(delete, printer).map(|()| 0),
        Verb::Watch { run, events } => control::watch(settings, run, *events, printer),
        Verb::Stop(run) => control::shutdown(run, Shutdown::Stop, printer).map(|()| 0),
        Verb::Terminate(run) => control::shutdown(run, Shutdown::Terminate, printer).map(|()| 0),
        Verb::Resubmit(resubmit) => control::resubmit(resubmit, &settings.cwd, printer),
        Verb::Retry(retry) => retry::retry(settings, retry, printer),
        Verb::Doctor { target, output } => doctor::doctor(settings, target, output, printer),
        Verb::Completions(shell) => {
            about::completions(*shell, printer);
            Ok(0)
        }
        Verb::Man => about::man(printer).map(|()| 0),
        Verb::IpythonExtension(dir) => ipython_extension::install(dir, printer).map(|()| 0),
        Verb::Version => {
            about::version(printer);
            Ok(0)
        }
        Verb::ExecJob(job) => exec_job::exec_job(job, printer),
    }
}

/// Runs `future` on a runtime of its own: one thread is plenty for a handful of requests, a
/// watch stream and the local jobs' pipes.
fn block_on<T>(future: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?
        .block_on(future)
}

/// How messages name a workflow read from stdin (`-f -`).
const STDIN_NAME: &str = "<stdin>";

/// A pipeline read from `-c` or `-f`, with the directory its jobs start in.
pub(crate) struct LoadedPipeline {
    pub dag: Dag,
    /// `-c`: the current directory; `-f`: the workflow file's directory.
    pub working_dir: PathBuf,
}

/// Reads and validates the pipeline named by `-c`/`-f`.
pub(crate) fn load(input: &Input, cwd: &Path) -> Result<LoadedPipeline, Error> {
    let (mut pipeline, working_dir) = match &input.source {
        InputSource::OneLiner(text) => (one_liner::parse(text, input.mode)?, cwd.to_path_buf()),
        InputSource::File(path) => {
            let text = read_capped(path, WORKFLOW_FILE_CAP).map_err(|source| Error::ReadInput {
                path: path.clone(),
                source,
            })?;
            let dir = absolute_parent(path, cwd);
            (workflow_file::parse(&text, path, input.mode)?, dir)
        }
        InputSource::Stdin => {
            let path = Path::new(STDIN_NAME);
            let text = read_capped_stdin(WORKFLOW_FILE_CAP).map_err(|source| Error::ReadInput {
                path: path.to_path_buf(),
                source,
            })?;
            (
                workflow_file::parse(&text, path, input.mode)?,
                cwd.to_path_buf(),
            )
        }
    };
    pipeline.set_params(&input.sets)?;
    if let Some(engine) = input.notebook_engine {
        pipeline.options.notebook_engine = engine;
    }
    let dag = Dag::build(pipeline)?;
    // After the build, so that a job named by a data file is found by its task's name.
    programs::check(&dag, &ProgramLookup::from_process(&working_dir))?;
    Ok(LoadedPipeline { dag, working_dir })
}

/// Makes the notebook steps ready (`pipeline::notebook::prepare`): their notebooks read from
/// the working directory, parameters injected. `write`: the injected notebooks and the driver
/// are written there too (not for a dry run, which only shows where they would go).
pub(crate) fn prepare_notebooks(loaded: &mut LoadedPipeline, write: bool) -> Result<(), Error> {
    let workdir = loaded.working_dir.clone();
    let files = notebook::prepare(&mut loaded.dag, &mut |path| {
        notebooks::read_notebook(&workdir, path)
    })
    .map_err(|e| Error::usage(e.to_string(), e.hint()))?;
    if write {
        notebooks::write_files(&workdir, &files)
            .map_err(|(path, source)| Error::Write { path, source })?;
    }
    Ok(())
}

/// `--from`/`--only`: only the jobs they name run; the rest are left out. Returns what to tell
/// the user: which jobs run.
pub(crate) fn choose(
    loaded: &mut LoadedPipeline,
    pick: Option<&Pick>,
) -> Result<Option<String>, Error> {
    let Some(pick) = pick else {
        return Ok(None);
    };
    let graph = loaded.dag.job_graph();
    let chosen = graph.pick(pick)?;
    loaded.dag.select(&chosen);
    let names: Vec<String> = chosen.iter().map(|&i| graph.jobs[i].clone()).collect();
    Ok(Some(chosen_note(
        &pick.describe(),
        &names,
        graph.jobs.len(),
    )))
}

/// `--from train: 4 of 6 jobs run: train-0-1, train-0-01, train-0-001, eval`.
pub(crate) fn chosen_note(why: &str, names: &[String], total: usize) -> String {
    const NAMED: usize = 10;
    let mut list = names
        .iter()
        .take(NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > NAMED {
        list.push_str(&format!(" and {} more", names.len() - NAMED));
    }
    format!("{why}: {} of {total} jobs run: {list}", names.len())
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
