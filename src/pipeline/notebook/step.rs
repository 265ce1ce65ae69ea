//! Which jobs are notebook steps, and their `-p` parameters: read from a job's final argv (after
//! sweep and matrix values are filled in), so `-p lr {0.1,0.01}` and `matrix:` need nothing
//! of their own.

use super::Param;
use crate::pipeline::Axis;
use crate::pipeline::command::{CommandTemplate, Segment, Word};
use crate::pipeline::dag::{MAX_JOBS, argvs};

/// The file extension that makes a program a notebook step.
pub const NOTEBOOK_EXTENSION: &str = ".ipynb";

/// A job that runs a notebook: its path as written and the values to inject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookStep {
    /// As written, relative to the job's working directory (or absolute).
    pub path: String,
    /// In the order given; a repeated name keeps its last value when injected.
    pub params: Vec<Param>,
}

/// Why the words after a notebook cannot be read as its parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("`{flag}` after the notebook needs a name and a value")]
    MissingValue { flag: String },
    #[error("`{flag}` is not an option of a notebook step")]
    UnknownFlag { flag: String },
    #[error("`{word}` after the notebook is neither `-p NAME VALUE` nor part of one")]
    StrayWord { word: String },
    #[error("`{name}` cannot be a notebook parameter: {reason}")]
    BadName { name: String, reason: &'static str },
    #[error("`{notebook}` is run through a shell here (because of {why}), where it cannot run")]
    InShell { notebook: String, why: String },
}

impl StepError {
    /// How to fix it, in one line.
    pub fn hint(&self) -> String {
        match self {
            StepError::MissingValue { .. } | StepError::StrayWord { .. } => {
                "give each parameter as `-p NAME VALUE` (or `-p NAME=VALUE`), e.g. `train.ipynb -p lr 0.1 -p epochs 10`".to_owned()
            }
            StepError::UnknownFlag { flag } => {
                let like = strsim::levenshtein(flag, "-p") <= 1
                    || strsim::levenshtein(flag, "--parameters") <= 2;
                if like {
                    format!("did you mean `-p`? A notebook step takes only `-p NAME VALUE` (`{flag}` is not one)")
                } else {
                    "a notebook step takes only `-p NAME VALUE`; to pass other arguments, run a script instead (`python train.py …`)".to_owned()
                }
            }
            StepError::BadName { .. } => {
                "use the name of a variable the notebook's `parameters` cell assigns, e.g. `-p lr 0.1`".to_owned()
            }
            StepError::InShell { .. } => {
                "a notebook step runs without a shell: make it a job of its own (`a.ipynb -p x 1 >> next`), and move redirections, pipes and `$VARS` to other jobs".to_owned()
            }
        }
    }
}

/// Whether `program` names a notebook.
pub fn is_notebook(program: &str) -> bool {
    program.len() > NOTEBOOK_EXTENSION.len() && program.ends_with(NOTEBOOK_EXTENSION)
}

/// The notebook step `argv` runs: `None` when its program is not a notebook, else the step or
/// why its arguments are not parameters. Takes `-p NAME VALUE`, `-p NAME=VALUE` and
/// `--parameters NAME VALUE`, as papermill does.
pub fn parse(argv: &[String]) -> Option<Result<NotebookStep, StepError>> {
    let (program, rest) = argv.split_first()?;
    is_notebook(program).then(|| parse_parameters(program, rest))
}

fn parse_parameters(program: &str, rest: &[String]) -> Result<NotebookStep, StepError> {
    let mut params = Vec::new();
    let mut words = rest.iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "-p" | "--parameters" => {
                let missing = || StepError::MissingValue { flag: word.clone() };
                let name = words.next().ok_or_else(missing)?;
                let (name, value) = match name.split_once('=') {
                    // A Python name never holds `=`, so `-p lr=0.1` is one word, not two.
                    Some((name, value)) => (name, value.to_owned()),
                    None => (name.as_str(), words.next().ok_or_else(missing)?.clone()),
                };
                if let Some(reason) = super::value::python_name_problem(name) {
                    return Err(StepError::BadName {
                        name: name.to_owned(),
                        reason,
                    });
                }
                params.push(Param::from_cli(name, &value));
            }
            flag if flag.starts_with('-') && flag.len() > 1 => {
                return Err(StepError::UnknownFlag {
                    flag: flag.to_owned(),
                });
            }
            other => {
                return Err(StepError::StrayWord {
                    word: other.to_owned(),
                });
            }
        }
    }
    Ok(NotebookStep {
        path: program.to_owned(),
        params,
    })
}

/// What is wrong with a job's notebook step, for `Dag::build`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub hint: String,
}

impl From<StepError> for Problem {
    fn from(e: StepError) -> Self {
        Problem {
            message: e.to_string(),
            hint: e.hint(),
        }
    }
}

/// Checks a job's command at every sweep point: the words after a notebook are parameters, a
/// sweep does not mix notebooks and programs, a notebook is not run by a shell. Only commands
/// whose program word is, or may become, a notebook are walked point by point; a sweep past
/// `MAX_JOBS` is left to the job count's own error.
pub fn check(command: &CommandTemplate, axes: &[Axis]) -> Option<Problem> {
    let words = match command {
        CommandTemplate::Shell(segments) => {
            let text: String = segments
                .iter()
                .map(|s| match s {
                    Segment::Text(t) => t.as_str(),
                    Segment::Const(c) => c.value.as_str(),
                    Segment::Param(_) => "x",
                })
                .collect();
            return in_shell(&text, None).map(Problem::from);
        }
        CommandTemplate::Exec(words) => words,
    };
    let may_be_notebook = words.first().is_some_and(|Word(segments)| {
        segments.iter().any(|s| match s {
            Segment::Text(t) => is_notebook(t),
            Segment::Param(_) | Segment::Const(_) => true,
        })
    });
    let count = axes.iter().try_fold(1u64, |count, axis| {
        count.checked_mul(u64::try_from(axis.values.len()).ok()?)
    })?;
    if !may_be_notebook || count == 0 || count > MAX_JOBS {
        return None;
    }
    let (mut notebooks, mut programs) = (false, false);
    for argv in argvs(command, axes, usize::try_from(count).ok()?) {
        match parse(&argv) {
            None => programs = true,
            Some(Ok(_)) => notebooks = true,
            Some(Err(e)) => return Some(e.into()),
        }
    }
    (notebooks && programs).then(|| Problem {
        message: "its sweep runs notebooks at some points and other programs at others".to_owned(),
        hint: "make the notebooks and the other programs separate jobs".to_owned(),
    })
}

/// Whether a shell-mode command's first word is a notebook: such a step cannot run (the values
/// are injected before any shell would expand them). `why` is what made it a shell command.
pub fn in_shell(text: &str, why: Option<&str>) -> Option<StepError> {
    let first = text.split_whitespace().next()?;
    let first = first.trim_matches(['\'', '"']);
    is_notebook(first).then(|| StepError::InShell {
        notebook: first.to_owned(),
        why: why
            .unwrap_or("its shell syntax or the shell mode")
            .to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::notebook::ParamValue;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn a_notebook_with_parameters_in_both_forms() {
        let step = parse(&argv(&[
            "nb/train.ipynb",
            "-p",
            "lr",
            "0.1",
            "-p",
            "name=a b",
            "--parameters",
            "epochs",
            "10",
        ]))
        .expect("valid")
        .expect("valid");
        assert_eq!(step.path, "nb/train.ipynb");
        let values: Vec<(&str, &ParamValue)> = step
            .params
            .iter()
            .map(|p| (p.name.as_str(), &p.value))
            .collect();
        assert_eq!(
            values,
            [
                ("lr", &ParamValue::parse_yaml_scalar("0.1")),
                ("name", &ParamValue::parse_yaml_scalar("a b")),
                ("epochs", &ParamValue::parse_yaml_scalar("10")),
            ]
        );
    }

    #[test]
    fn other_programs_are_not_steps() {
        assert_eq!(parse(&argv(&["python", "train.ipynb"])), None);
        assert_eq!(parse(&argv(&[".ipynb"])), None);
        assert_eq!(parse(&[]), None);
    }

    #[test]
    fn wrong_arguments_say_how_to_fix_them() {
        let err = |words: &[&str]| parse(&argv(words)).expect("valid").expect_err("refused");
        let e = err(&["a.ipynb", "-P", "lr", "1"]);
        assert_eq!(e, StepError::UnknownFlag { flag: "-P".into() });
        assert!(e.hint().contains("did you mean `-p`"), "{}", e.hint());
        assert!(
            err(&["a.ipynb", "--lr", "1"])
                .hint()
                .contains("run a script instead")
        );
        assert_eq!(
            err(&["a.ipynb", "-p", "lr"]),
            StepError::MissingValue { flag: "-p".into() }
        );
        assert_eq!(
            err(&["a.ipynb", "lr", "1"]),
            StepError::StrayWord { word: "lr".into() }
        );
        assert!(matches!(
            err(&["a.ipynb", "-p", "2x", "1"]),
            StepError::BadName { name, .. } if name == "2x"
        ));
    }

    #[test]
    fn every_sweep_point_is_checked() {
        let problem = |text: &str| {
            let job = crate::pipeline::testing::job(text);
            check(&job.command, &job.axes)
        };
        assert_eq!(problem("train.ipynb -p lr {1,2}"), None);
        assert_eq!(problem("python a.py --lr {1,2}"), None);
        let mixed = problem("{a.ipynb,b.py} -p lr 1").expect("refused");
        assert!(
            mixed.message.contains("notebooks at some points"),
            "{mixed:?}"
        );
        let flag = problem("train.ipynb {-p,-q} lr 1").expect("refused");
        assert_eq!(flag.message, "`-q` is not an option of a notebook step");
        let shell = problem("train.ipynb -p lr 1 | tee log").expect("refused");
        assert!(shell.hint.contains("runs without a shell"), "{shell:?}");
    }

    #[test]
    fn a_notebook_in_a_shell_command_is_refused() {
        let e = in_shell("train.ipynb -p lr 1 > out.txt", Some("`>`")).expect("valid");
        assert!(e.to_string().contains("because of `>`"), "{e}");
        assert_eq!(in_shell("python a.py | tee x.ipynb", Some("`|`")), None);
    }
}
