//! One entry of `jobs:` → `JobSpec`: the original command string, or the mapping form with
//! `name`, `command` (string or exact argv), `depends`, `env`, `resources`, `matrix`…
//! Errors are recorded on the `Converter` so every job is checked, not just the first bad one.

use serde_saphyr::Spanned;

use super::raw::{JobMap, RawCommand, RawDepends, RawJob, pos_of};
use super::{Converter, dags};
use crate::pipeline::command::{self, CommandError, Placeholders, Segment, Word};
use crate::pipeline::error::{PipelineErrorKind as Kind, suggest};
use crate::pipeline::{Axis, CommandMode, CommandTemplate, JobSpec, Pos, ResourceSpec};

impl Converter<'_> {
    /// One job (`index` is 1-based). `None` when it has errors (already recorded).
    pub(super) fn job(
        &mut self,
        index: usize,
        mut node: Spanned<RawJob>,
        file_mode: Option<CommandMode>,
    ) -> Option<JobSpec> {
        let pos = pos_of(&node);
        let label = index.to_string();
        let raw = std::mem::replace(&mut node.value, RawJob::List);
        match raw {
            RawJob::Command(scalar) => {
                let mode = self.mode_override.or(file_mode);
                let Some(text) = self.scalar_text(&node, scalar) else {
                    self.error(Some(pos), Kind::EmptyCommand { job: label });
                    return None;
                };
                let (command, axes) = self.command_text(&text, mode, Vec::new(), &label, pos)?;
                Some(JobSpec {
                    axes,
                    ..JobSpec::new(text, command, Some(pos))
                })
            }
            RawJob::Mapping(map) => self.mapping_job(*map, &label, pos, file_mode),
            RawJob::List => {
                let message =
                    "a job is a command string or a mapping with `command`, not a list".to_owned();
                self.error(
                    Some(pos),
                    Kind::BadCommand {
                        job: label,
                        message,
                    },
                );
                None
            }
        }
    }

    /// Tokenises a command string; `axes` are the matrix axes, brace sweeps are appended.
    fn command_text(
        &mut self,
        text: &str,
        mode: Option<CommandMode>,
        mut axes: Vec<Axis>,
        label: &str,
        pos: Pos,
    ) -> Option<(CommandTemplate, Vec<Axis>)> {
        let placeholders = Placeholders {
            braces: true,
            keys: &axes,
        };
        match command::parse(text, mode, placeholders) {
            Ok(parsed) => {
                for name in parsed.unknown_keys {
                    let keys: Vec<String> = axes.iter().map(|a| a.key.clone()).collect();
                    self.error(
                        Some(pos),
                        Kind::UnknownMatrixKey {
                            job: label.to_owned(),
                            suggestion: suggest(&name, keys.iter().map(String::as_str)),
                            name,
                            keys,
                        },
                    );
                }
                axes.extend(parsed.new_axes);
                Some((parsed.template, axes))
            }
            Err(e) => {
                let job = label.to_owned();
                let kind = match e {
                    CommandError::Empty => Kind::EmptyCommand { job },
                    other => Kind::BadCommand {
                        job,
                        message: other.to_string(),
                    },
                };
                self.error(Some(pos), kind);
                None
            }
        }
    }

    fn mapping_job(
        &mut self,
        map: JobMap,
        index_label: &str,
        pos: Pos,
        file_mode: Option<CommandMode>,
    ) -> Option<JobSpec> {
        let errors_before = self.errors.len();
        self.unknown_keys(map.unknown);
        let label = map.name.clone().unwrap_or_else(|| index_label.to_owned());
        let axes: Vec<Axis> = map
            .matrix
            .map(|m| {
                m.0.into_iter()
                    .map(|(key, values)| Axis {
                        key,
                        values: values.map(|l| l.0).unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let job_mode_pos = map.cmd_mode.as_ref().map(pos_of);
        let job_mode = self.cmd_mode(map.cmd_mode);
        let mode = self.mode_override.or(job_mode).or(file_mode);

        let command = match map.command {
            None => {
                self.error(Some(pos), Kind::EmptyCommand { job: label.clone() });
                None
            }
            Some(node) => {
                let job_shell_pos = job_mode_pos.filter(|_| job_mode == Some(CommandMode::Shell));
                self.job_command(node, mode, job_shell_pos, axes, &label, pos)
            }
        };

        let depends = map
            .depends
            .map(|mut node| {
                match std::mem::replace(&mut node.value, RawDepends::Many(Vec::new())) {
                    RawDepends::One(scalar) => self
                        .scalar_text(&node, scalar)
                        .map(|t| vec![dags::job_ref(&t)])
                        .unwrap_or_default(),
                    RawDepends::Many(items) => items.iter().map(|t| dags::job_ref(t)).collect(),
                }
            })
            .unwrap_or_default();

        let mut resources = ResourceSpec::default();
        if let Some(res) = map.resources {
            self.unknown_keys(res.unknown);
            resources = ResourceSpec {
                cpu: res.cpu,
                memory: res.memory,
                gpu: res.gpu,
            };
        }
        let timeout = self.duration("timeout", map.timeout);
        let retries = self.count("retries", map.retries);

        let (text, command, axes) = command?;
        if self.errors.len() > errors_before {
            return None;
        }
        Some(JobSpec {
            name: map.name,
            text,
            command,
            axes,
            depends,
            env: map.env.map(|m| m.0).unwrap_or_default(),
            resources,
            retries,
            timeout,
            pos: Some(pos),
        })
    }

    /// A mapping job's `command`: a string is tokenised like the original format, a list is
    /// an exact argv. Returns the text as written, the template and all axes.
    fn job_command(
        &mut self,
        mut node: Spanned<RawCommand>,
        mode: Option<CommandMode>,
        // Where the job itself asked for shell mode, which a list cannot honour.
        job_shell_pos: Option<Pos>,
        axes: Vec<Axis>,
        label: &str,
        pos: Pos,
    ) -> Option<(String, CommandTemplate, Vec<Axis>)> {
        match std::mem::replace(&mut node.value, RawCommand::Argv(Vec::new())) {
            RawCommand::Text(scalar) => {
                let Some(text) = self.scalar_text(&node, scalar) else {
                    self.error(
                        Some(pos),
                        Kind::EmptyCommand {
                            job: label.to_owned(),
                        },
                    );
                    return None;
                };
                self.command_text(&text, mode, axes, label, pos)
                    .map(|(command, axes)| (text, command, axes))
            }
            RawCommand::Argv(items) => {
                if let Some(shell_pos) = job_shell_pos {
                    let message = "a command given as a list runs without a shell; \
                                   write it as one string to use `cmd_mode: shell`"
                        .to_owned();
                    self.invalid(shell_pos, "cmd_mode", message);
                }
                self.argv(&items, axes, label, pos)
            }
        }
    }

    /// A list command: one argv word per item, exactly; only `{key}` matrix references are
    /// replaced (no quoting rules, no brace sweeps, no shell detection).
    fn argv(
        &mut self,
        items: &[String],
        axes: Vec<Axis>,
        label: &str,
        pos: Pos,
    ) -> Option<(String, CommandTemplate, Vec<Axis>)> {
        if items.is_empty() {
            self.error(
                Some(pos),
                Kind::EmptyCommand {
                    job: label.to_owned(),
                },
            );
            return None;
        }
        let words = items
            .iter()
            .map(|item| Word(split_keys(item, &axes)))
            .collect();
        let text = items
            .iter()
            .map(|item| command::quote(item))
            .collect::<Vec<_>>()
            .join(" ");
        Some((text, CommandTemplate::Exec(words), axes))
    }
}

/// Splits one argv item at `{key}` references to matrix axes. (`command` does the same inside
/// its tokenizer, privately; an exact argv item needs only this part of it.)
fn split_keys(item: &str, axes: &[Axis]) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut rest = item;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let param = after.find('}').and_then(|close| {
            let key = &after[..close];
            axes.iter()
                .position(|a| a.key == key)
                .map(|n| (n, &after[close + 1..]))
        });
        if let Some((n, remainder)) = param {
            literal.push_str(&rest[..open]);
            if !literal.is_empty() {
                segments.push(Segment::Text(std::mem::take(&mut literal)));
            }
            segments.push(Segment::Param(n));
            rest = remainder;
        } else {
            literal.push_str(&rest[..=open]);
            rest = after;
        }
    }
    literal.push_str(rest);
    // An empty item is still one (empty) argument.
    if !literal.is_empty() || segments.is_empty() {
        segments.push(Segment::Text(literal));
    }
    segments
}
