//! Jobs whose program is plainly a data file, not a program: what `python a.py >> log.txt`
//! turns into when `>>` is read as a stage separator (`log.txt` becomes a job of its own), or a
//! workflow.yaml job that names a file to write instead of a command. A pure check over the
//! built `Dag`: what a program word is on the machine comes from a `ProgramProbe` (the real
//! one, which looks at files and `PATH`, is `environment::discover::ProgramLookup`).

use std::collections::HashMap;

use super::command::{CommandTemplate, Segment, Word};
use super::error::{PipelineError, PipelineErrorKind, PipelineErrors};
use super::{Dag, Source};

/// What a program word names where the job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProgramKind {
    /// Found and executable: fine.
    Executable,
    /// An existing regular file that is not executable.
    DataFile,
    /// Not found (or not a regular file): no verdict from the file system.
    Unknown,
}

/// Says what a job's program word is (see `ProgramKind`).
pub(crate) trait ProgramProbe {
    fn probe(&self, program: &str) -> ProgramKind;
}

/// Names that are data, not programs, when nothing executable by that name exists: what a
/// stray redirection target is usually called.
const DATA_EXTENSIONS: [&str; 7] = [".txt", ".log", ".csv", ".json", ".out", ".tsv", ".parquet"];

/// Refuses every job whose program is plainly a data file: an existing non-executable regular
/// file, or a name with a data extension (`.txt`, `.log`, `.csv`, …) that is not found.
pub(crate) fn check(dag: &Dag, probe: &dyn ProgramProbe) -> Result<(), PipelineErrors> {
    let source = dag.source.label();
    let one_liner = matches!(dag.source, Source::CommandLine(_));
    // Many jobs run the same program: ask the file system once per name.
    let mut seen: HashMap<String, bool> = HashMap::new();
    let errors: Vec<PipelineError> = dag
        .tasks
        .iter()
        .filter_map(|task| {
            let program = program_word(&task.command)?;
            // A notebook is a data file to the file system, but a step jupyterflow runs.
            if super::notebook::step::is_notebook(&program) {
                return None;
            }
            let data =
                *seen
                    .entry(program.clone())
                    .or_insert_with(|| match probe.probe(&program) {
                        ProgramKind::Executable => false,
                        ProgramKind::DataFile => true,
                        ProgramKind::Unknown => has_data_extension(&program),
                    });
            data.then(|| {
                PipelineError::new(
                    &source,
                    task.pos,
                    PipelineErrorKind::DataFileProgram {
                        job: task.name.clone(),
                        program,
                        one_liner,
                    },
                )
            })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(PipelineErrors(errors))
    }
}

fn has_data_extension(program: &str) -> bool {
    let lower = program.to_ascii_lowercase();
    DATA_EXTENSIONS.iter().any(|ext| lower.ends_with(ext))
}

/// The program a command starts, when it is plain text: the first word in exec mode; in shell
/// mode the first word that is not an assignment, unless it holds shell syntax (quotes,
/// expansions…), whose meaning only the shell knows. `None` when a sweep value is part of it.
/// The Python interpreters the jobs name other than `python`/`python3` (`python3.11`,
/// `/opt/conda/envs/ml/bin/python`): the drift check looks at their environments too.
pub(crate) fn python_interpreters(dag: &Dag) -> Vec<String> {
    let mut found: Vec<String> = dag
        .tasks
        .iter()
        .filter_map(|task| program_word(&task.command))
        .filter(|program| {
            let name = program.rsplit('/').next().unwrap_or(program);
            name.starts_with("python") && !(program == "python" || program == "python3")
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

fn program_word(command: &CommandTemplate) -> Option<String> {
    match command {
        CommandTemplate::Exec(words) => match words.first() {
            Some(Word(segments)) => match segments.as_slice() {
                [Segment::Text(text)] if !text.is_empty() => Some(text.clone()),
                _ => None,
            },
            None => None,
        },
        CommandTemplate::Shell(segments) => {
            let Some(Segment::Text(text)) = segments.first() else {
                return None;
            };
            let mut words = text.split_whitespace();
            let word = words.find(|w| !w.contains('='))?;
            // The word must end before the first placeholder (or the text goes on after it).
            let complete = segments.len() == 1 || text.len() > text.trim_end().len();
            let plain = !word.contains(|c: char| "'\"\\$`(){}[]<>|&;*?~#!".contains(c));
            (complete && plain).then(|| word.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Pipeline, one_liner};

    /// A probe that knows a few names and nothing else.
    struct Known(HashMap<&'static str, ProgramKind>);

    impl ProgramProbe for Known {
        fn probe(&self, program: &str) -> ProgramKind {
            self.0.get(program).copied().unwrap_or(ProgramKind::Unknown)
        }
    }

    fn probe() -> Known {
        Known(HashMap::from([
            ("python", ProgramKind::Executable),
            ("echo", ProgramKind::Executable),
            ("notes", ProgramKind::DataFile),
            ("report.txt", ProgramKind::Executable),
        ]))
    }

    fn dag(text: &str) -> Dag {
        let pipeline: Pipeline = one_liner::parse(text, None).expect("parses");
        Dag::build(pipeline).expect("builds")
    }

    /// (job, program, column) of each data-file job.
    fn flagged(text: &str) -> Vec<(String, String, u32)> {
        match check(&dag(text), &probe()) {
            Ok(()) => Vec::new(),
            Err(PipelineErrors(errors)) => errors
                .into_iter()
                .map(|e| match e.kind {
                    PipelineErrorKind::DataFileProgram {
                        job,
                        program,
                        one_liner,
                    } => {
                        assert!(one_liner);
                        (job, program, e.pos.map_or(0, |p| p.column))
                    }
                    other => panic!("{other:?}"),
                })
                .collect(),
        }
    }

    #[test]
    fn data_files_as_programs_are_found_with_their_position() {
        assert_eq!(
            flagged("python a.py >> log.txt >> ./out/Results.CSV >> notes --x"),
            [
                ("log-txt".to_owned(), "log.txt".to_owned(), 16),
                ("results-csv".to_owned(), "./out/Results.CSV".to_owned(), 27),
                ("notes".to_owned(), "notes".to_owned(), 48),
            ]
        );
    }

    #[test]
    fn programs_and_unknown_names_pass() {
        for text in [
            "python a.py >>log.txt",
            "python a.py 2>>err.log >> echo done",
            "my-tool --out x.json",
            // Found as a program, whatever its name says.
            "report.txt",
            // A sweep value in the program: no single word to judge.
            "{a,b}.log",
            // Shell syntax in the first word: only the shell knows.
            "$(cat x).log",
        ] {
            assert_eq!(flagged(text), [], "{text}");
        }
    }

    #[test]
    fn shell_commands_are_judged_by_their_first_plain_word() {
        assert_eq!(
            flagged("A=1 log.txt | cat")
                .into_iter()
                .map(|(_, p, _)| p)
                .collect::<Vec<_>>(),
            ["log.txt"]
        );
        assert_eq!(
            program_word(&dag("echo {1,2} > x").tasks[0].command),
            Some("echo".into())
        );
    }
}
