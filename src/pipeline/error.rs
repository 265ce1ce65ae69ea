//! Everything that can be wrong with a pipeline as written, each with where it is and how to fix
//! it. Produced by the input parsers and by `dag`; printed by the printer.

use std::fmt;

use super::Pos;

/// What is wrong. Each variant's message says what; `hint()` says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineErrorKind {
    #[error("{0}")]
    Syntax(String),
    #[error("unknown key `{key}` in {within}")]
    UnknownKey {
        key: String,
        within: String,
        suggestion: Option<String>,
        expected: Vec<String>,
    },
    #[error("invalid value for `{key}`: {message}")]
    InvalidValue { key: String, message: String },
    /// A value of the wrong shape in workflow.yaml, named by its key path (`jobs[2].env`,
    /// `matrix.lr[1]`; jobs and list items counted from 1). An empty `path` is the file.
    #[error("{}", wrong_type(path, expected, found))]
    WrongType {
        path: String,
        expected: String,
        found: String,
    },
    #[error("the pipeline has no jobs")]
    EmptyPipeline,
    #[error("job {job} has an empty command")]
    EmptyCommand { job: String },
    #[error("job {job}: {message}")]
    BadCommand { job: String, message: String },
    #[error("`{reference}` does not name a job")]
    UnknownJob {
        reference: String,
        known: Vec<String>,
    },
    #[error("job index {index} is out of range: there are {count} jobs, numbered from 1")]
    IndexOutOfRange { index: usize, count: usize },
    #[error("two jobs are named `{name}`")]
    DuplicateName { name: String },
    /// Two different names that become one job name once made DNS-safe (lowercase, `-`, at
    /// most 63 characters). `first_pos`: where the first is written.
    #[error("{}", name_collision(first, *first_pos, second, name))]
    NameCollision {
        first: String,
        first_pos: Option<Pos>,
        second: String,
        name: String,
    },
    /// A job named only with digits: `depends`/`dags` would read it as a position.
    #[error(
        "job name `{name}` is a number, and `depends` and `dags` read numbers as positions (1 = the first job)"
    )]
    NumericName { name: String },
    #[error("job `{job}` depends on itself")]
    SelfDependency { job: String },
    #[error("the dependencies form a cycle: {}", .cycle.join(" → "))]
    Cycle { cycle: Vec<String> },
    #[error("invalid schedule `{schedule}`: {message}")]
    InvalidSchedule { schedule: String, message: String },
    /// Valid cron that no date ever matches (`0 0 30 2 *`): Argo would take it and never run.
    #[error(
        "schedule `{schedule}` never fires: no date matches its day-of-month, month and day-of-week fields"
    )]
    ScheduleNeverFires { schedule: String },
    /// `timezone:` or a schedule's `CRON_TZ=` names no zone of the tz database.
    #[error("unknown time zone `{zone}` in `{key}`")]
    UnknownTimezone {
        key: String,
        zone: String,
        suggestion: Option<String>,
    },
    /// An `env` name Kubernetes refuses (and a process could not be given as written).
    #[error("`{path}`: `{name}` is not a valid environment variable name")]
    InvalidEnvName { path: String, name: String },
    #[error("job `{job}`: invalid {resource} quantity `{value}`")]
    InvalidQuantity {
        job: String,
        resource: String,
        value: String,
    },
    #[error("job `{job}`: matrix key `{key}` has no values")]
    EmptyMatrixAxis { job: String, key: String },
    #[error("job `{job}`: matrix key `{key}` is not used in the command")]
    UnusedMatrixKey { job: String, key: String },
    /// `{name}` in a command where `name` is no matrix key of the job and no param of the
    /// workflow (reported when there are any).
    #[error(
        "job `{job}`: `{{{name}}}` in the command names no {}",
        match (keys.is_empty(), params.is_empty()) {
            (false, false) => "matrix key or param",
            (true, false) => "param",
            _ => "matrix key",
        }
    )]
    UnknownMatrixKey {
        job: String,
        name: String,
        suggestion: Option<String>,
        keys: Vec<String>,
        params: Vec<String>,
    },
    /// A `params:` name no `{…}` placeholder could spell.
    #[error("param name `{name}` cannot be used as `{{{name}}}` in a command")]
    InvalidParamName { name: String },
    /// A matrix key named like a param: `{key}` would mean either. `param_pos`: where the
    /// param is declared.
    #[error(
        "job `{job}`: matrix key `{key}` has the name of a param{}, so `{{{key}}}` would mean either",
        at(*param_pos, " (declared at ")
    )]
    MatrixKeyIsParam {
        job: String,
        key: String,
        param_pos: Option<Pos>,
    },
    /// The job's program is plainly a data file (see `programs`). `one_liner`: it came from
    /// `-c`, where a `>>` meant as a redirection is the likely cause.
    #[error("job `{job}` runs `{program}`, which is a data file, not a program")]
    DataFileProgram {
        job: String,
        program: String,
        one_liner: bool,
    },
    /// A job's command is longer than Linux takes in one argument: it reaches the job as the
    /// one argument of `/bin/sh -c`, on Argo and locally. `sweep`: measured at the longest
    /// value of each sweep axis.
    #[error(
        "job `{job}`: the command is {} bytes{}, over the {} bytes Linux takes in one argument (MAX_ARG_STRLEN, 128 KiB)",
        thousands(*bytes as u64),
        if *sweep { " with its longest sweep values" } else { "" },
        thousands(super::command::MAX_ARGUMENT_BYTES as u64)
    )]
    CommandTooLong {
        job: String,
        bytes: usize,
        sweep: bool,
    },
    /// A task (`job: Some`) or the whole pipeline expands past `dag::MAX_JOBS`. `count` is
    /// `None` past `u64::MAX`; `sizes` are the task's sweep lengths.
    #[error("{}", too_many_jobs(job.as_deref(), *count, sizes))]
    TooManyJobs {
        job: Option<String>,
        count: Option<u64>,
        sizes: Vec<usize>,
    },
}

fn name_collision(first: &str, first_pos: Option<Pos>, second: &str, name: &str) -> String {
    let at = at(first_pos, " (at ");
    format!("`{first}`{at} and `{second}` both become the job name `{name}`")
}

/// What a bare `{name}` could have meant, and how to keep it literal.
fn unknown_placeholder_hint(
    name: &str,
    suggestion: Option<&str>,
    keys: &[String],
    params: &[String],
) -> String {
    let braced = |names: &[String]| -> String {
        names
            .iter()
            .map(|k| format!("{{{k}}}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let guess = suggestion.map_or_else(String::new, |s| format!("did you mean `{{{s}}}`? "));
    let known = match (keys.is_empty(), params.is_empty()) {
        (false, false) => format!(
            "the matrix keys are {}, the params {}",
            braced(keys),
            braced(params)
        ),
        (true, false) => format!("the params are {}", braced(params)),
        _ => format!("the matrix keys are {}", braced(keys)),
    };
    format!(
        "{guess}{known}; to pass `{{{name}}}` literally, quote it (`'{{{name}}}'`) or escape the brace (`\\{{{name}}}`)"
    )
}

/// ` (at 3:5)`-style text for a position, when there is one; `open` is the text before it.
fn at(pos: Option<Pos>, open: &str) -> String {
    match pos {
        Some(Pos { line, column }) if line > 0 => format!("{open}{line}:{column})"),
        _ => String::new(),
    }
}

fn wrong_type(path: &str, expected: &str, found: &str) -> String {
    let what = if path.is_empty() {
        "the file".to_owned()
    } else {
        format!("`{path}`")
    };
    if found == "empty" {
        format!("{what} is empty; it must be {expected}")
    } else {
        format!("{what} must be {expected}, not {found}")
    }
}

fn too_many_jobs(job: Option<&str>, count: Option<u64>, sizes: &[usize]) -> String {
    let count = count.map_or_else(|| "2^64 or more".to_owned(), thousands);
    let max = thousands(super::dag::MAX_JOBS);
    match job {
        Some(job) => {
            // The factors show which sweep is the big one; past a few they are noise.
            let factors = if sizes.len() <= 6 {
                let sizes: Vec<String> = sizes.iter().map(ToString::to_string).collect();
                format!("{} values", sizes.join(" × "))
            } else {
                let (min, max) = (sizes.iter().min(), sizes.iter().max());
                match (min, max) {
                    (Some(min), Some(max)) if min == max => {
                        format!("{} sweeps of {min} values", sizes.len())
                    }
                    (Some(min), Some(max)) => {
                        format!("{} sweeps of {min} to {max} values", sizes.len())
                    }
                    _ => format!("{} sweeps", sizes.len()),
                }
            };
            format!(
                "job `{job}` expands to {count} jobs ({factors}); a pipeline may have at most {max}"
            )
        }
        None => format!("the pipeline has {count} jobs in all; a pipeline may have at most {max}"),
    }
}

/// `1234567` as `1,234,567`: counts a reader has to compare with a limit.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl PipelineErrorKind {
    /// How to fix it, in one line.
    pub fn hint(&self) -> Option<String> {
        use PipelineErrorKind as K;
        match self {
            K::UnknownKey {
                suggestion: Some(s),
                ..
            }
            | K::UnknownTimezone {
                suggestion: Some(s),
                ..
            } => Some(format!("did you mean `{s}`?")),
            K::UnknownKey { expected, .. } if !expected.is_empty() => {
                Some(format!("expected one of: {}", expected.join(", ")))
            }
            K::EmptyPipeline => Some(
                "give at least one command, e.g. -c \"python prep.py >> python train.py\"".into(),
            ),
            K::EmptyCommand { .. } => Some("remove the job or give it a command".into()),
            K::BadCommand { .. } => Some(
                "close each quote and brace, or escape a literal one with a backslash".into(),
            ),
            K::UnknownJob { known, .. } if !known.is_empty() => {
                let shown: Vec<&str> = known.iter().take(8).map(String::as_str).collect();
                let more = if known.len() > 8 { ", …" } else { "" };
                Some(format!(
                    "jobs are named: {}{more} (or numbered from 1)",
                    shown.join(", ")
                ))
            }
            K::IndexOutOfRange { count, .. } => Some(format!("use a number from 1 to {count}")),
            K::DuplicateName { .. } => Some("give each job its own `name`".into()),
            K::NameCollision { .. } => Some(
                "job names become Kubernetes names (lowercase letters, digits and `-`, at most 63 characters): rename one of the two"
                    .into(),
            ),
            K::NumericName { name } => Some(format!(
                "give the job a name with a letter in it, e.g. `job-{name}`"
            )),
            K::SelfDependency { .. } => Some("a job cannot wait for itself: remove that dependency".into()),
            K::Cycle { .. } => Some("remove one of these dependencies to break the cycle".into()),
            K::InvalidSchedule { .. } => Some(
                "use five cron fields (minute hour day-of-month month day-of-week), e.g. \"0 3 * * *\", or @daily / @every 1h"
                    .into(),
            ),
            K::ScheduleNeverFires { .. } => Some(
                "check the day-of-month and month fields (February has at most 29 days; April, June, September and November 30)"
                    .into(),
            ),
            K::UnknownTimezone { .. } => Some(
                "use a tz database name (spelt exactly), like Europe/Paris, America/New_York or UTC"
                    .into(),
            ),
            K::InvalidEnvName { .. } => Some(
                "use letters, digits, `_`, `-` and `.`, not starting with a digit, e.g. `EPOCHS` (Kubernetes refuses other names)"
                    .into(),
            ),
            K::InvalidQuantity { resource, .. } => Some(match resource.as_str() {
                "cpu" => "use cores like 2 or 0.5, or millicores like 500m".into(),
                "gpu" => "use a whole number of GPUs, like 1 (0: the job needs none)".into(),
                _ => "use bytes with a unit, like 512Mi, 4Gi or 1G".into(),
            }),
            K::EmptyMatrixAxis { .. } => Some("give the key a list of values, or remove it".into()),
            K::DataFileProgram {
                one_liner: true, ..
            } => Some(
                "`>>` with blanks on both sides starts a new stage; to append a command's output to a file, write the redirection without the blank: `python a.py >>log.txt` (or `2>>err.log`)"
                    .into(),
            ),
            K::DataFileProgram { .. } => Some(
                "a job's command starts with the program to run; to append its output to a file, add a redirection: `python a.py >> log.txt`"
                    .into(),
            ),
            K::UnknownMatrixKey {
                name,
                suggestion,
                keys,
                params,
                ..
            } => Some(unknown_placeholder_hint(name, suggestion.as_deref(), keys, params)),
            K::InvalidParamName { .. } => Some(
                "a param name is letters, digits, `_`, `-` and `.`, starting with a letter or `_`, like `lr` or `batch_size`"
                    .into(),
            ),
            K::MatrixKeyIsParam { .. } => Some(
                "rename the matrix key or the param: a param is one value for the whole pipeline, a matrix key sweeps this job"
                    .into(),
            ),
            K::TooManyJobs { .. } => Some(format!(
                "sweep fewer values, or split the pipeline: {} jobs is the cap, as many as the local engine runs well and more than an Argo workflow holds (1 MiB, ~30 bytes a sweep point)",
                thousands(super::dag::MAX_JOBS)
            )),
            K::CommandTooLong { .. } => Some(
                "a job's command reaches it as one argument of `/bin/sh -c`, on Argo and locally: put the long data in a file on the shared volume (the working directory is shared with the jobs) and pass its path, e.g. `python train.py --params params.json`"
                    .into(),
            ),
            K::UnusedMatrixKey { key, .. } => Some(format!(
                "put {{{key}}} in the command where the value goes, or remove the key"
            )),
            _ => None,
        }
    }
}

/// A pipeline error with its place: the source (file or `-c`), line and column, and job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineError {
    pub source: String,
    pub pos: Option<Pos>,
    pub kind: PipelineErrorKind,
}

impl PipelineError {
    pub fn new(source: &str, pos: Option<Pos>, kind: PipelineErrorKind) -> Self {
        PipelineError {
            source: source.to_owned(),
            pos,
            kind,
        }
    }
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(Pos { line, column }) if line > 0 => {
                write!(f, "{}:{line}:{column}: {}", self.source, self.kind)
            }
            _ => write!(f, "{}: {}", self.source, self.kind),
        }
    }
}

/// All the problems found in one pipeline (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineErrors(pub Vec<PipelineError>);

impl fmt::Display for PipelineErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
            if let Some(hint) = e.kind.hint() {
                write!(f, "\n  hint: {hint}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for PipelineErrors {}

impl From<PipelineError> for PipelineErrors {
    fn from(e: PipelineError) -> Self {
        PipelineErrors(vec![e])
    }
}

/// The closest of `candidates` to `word`, when it is close enough to be a likely typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_owned())
}
