//! workflow.yaml → `Pipeline`: the original JupyterFlow format (`jobs` as command strings,
//! `dags` as `1 >> 2`, `cmd_mode`, `schedule`) and our extensions (mapping jobs with `name`,
//! `depends`, `env`, `resources`, `matrix`…, named chains in `dags`, workflow-level options).
//!
//! This module parses faithfully and keeps positions; it does not check references, cycles,
//! cron syntax, quantities or matrix usage — `dag` does, with the positions kept here.
//! `raw` is the serde layer, `dags` the `>>` mini-language.

mod dags;
mod jobs;
mod raw;
#[cfg(test)]
mod tests;

use std::path::Path;

use serde_saphyr::Spanned;

use super::error::{PipelineError, PipelineErrorKind as Kind, PipelineErrors, suggest};
use super::{CommandMode, ConcurrencyPolicy, EdgeSpec, Pipeline, Pos, Source, WorkflowOptions};
use raw::{RawWorkflow, Scalar, UnknownKey, pos_of};

/// Parses workflow.yaml text. `path` is used for messages and `Source::File`.
/// `mode_override` (`--shell`) wins over the file's and the jobs' `cmd_mode`.
/// Returns every problem found, not just the first; YAML shape errors stop parsing at once.
pub fn parse(
    text: &str,
    path: &Path,
    mode_override: Option<CommandMode>,
) -> Result<Pipeline, PipelineErrors> {
    let mut conv = Converter {
        text,
        source: path.display().to_string(),
        mode_override,
        errors: Vec::new(),
    };
    // `Option` so that an empty (or comment-only) file reads as "no jobs", not a YAML error.
    let raw = match serde_saphyr::from_str_with_options::<Option<RawWorkflow>>(text, yaml_options())
    {
        Ok(raw) => raw.unwrap_or_default(),
        Err(e) => return Err(conv.yaml_error(&e).into()),
    };
    let pipeline = conv.pipeline(raw, path);
    // In file order, as a reader goes through them (stable: a job's errors stay together).
    conv.errors
        .sort_by_key(|e| e.pos.map(|p| (p.line, p.column)));
    if conv.errors.is_empty() {
        Ok(pipeline)
    } else {
        Err(PipelineErrors(conv.errors))
    }
}

struct Converter<'a> {
    text: &'a str,
    source: String,
    mode_override: Option<CommandMode>,
    errors: Vec<PipelineError>,
}

impl Converter<'_> {
    fn error(&mut self, pos: Option<Pos>, kind: Kind) {
        self.errors
            .push(PipelineError::new(&self.source, pos, kind));
    }

    fn yaml_error(&self, e: &serde_saphyr::Error) -> PipelineError {
        let pos = e.location().filter(|l| l.line() > 0).map(|l| Pos {
            line: u32::try_from(l.line()).unwrap_or(u32::MAX),
            column: u32::try_from(l.column()).unwrap_or(u32::MAX),
        });
        // The snippet is dropped: the printer shows its own, from `pos`.
        let message = strip_location(&e.without_snippet().to_string());
        PipelineError::new(&self.source, pos, Kind::Syntax(message))
    }

    fn unknown_keys(&mut self, keys: Vec<UnknownKey>) {
        for k in keys {
            let suggestion = suggest(&k.key, k.expected.iter().copied());
            self.error(
                Some(k.pos),
                Kind::UnknownKey {
                    key: k.key,
                    within: k.within.to_owned(),
                    suggestion,
                    expected: k.expected.iter().map(|s| (*s).to_owned()).collect(),
                },
            );
        }
    }

    fn invalid(&mut self, pos: Pos, key: &str, message: String) {
        self.error(
            Some(pos),
            Kind::InvalidValue {
                key: key.to_owned(),
                message,
            },
        );
    }

    /// The text of a scalar: strings as given, booleans and numbers as spelled in the source.
    fn scalar_text<T>(&self, node: &Spanned<T>, scalar: Scalar) -> Option<String> {
        match scalar {
            Scalar::Text(s) => Some(s),
            Scalar::Typed(rendered) => Some(self.source_text(node).unwrap_or(rendered)),
            Scalar::Null => None,
        }
    }

    /// The source text under a node's span. Only used for plain scalars, whose spelling is
    /// exactly their value.
    fn source_text<T>(&self, node: &Spanned<T>) -> Option<String> {
        let span = node.referenced.span();
        let start = usize::try_from(span.byte_offset()?).ok()?;
        let len = usize::try_from(span.byte_len()?).ok()?;
        let raw = self.text.get(start..start.checked_add(len)?)?.trim();
        (!raw.is_empty()).then(|| raw.to_owned())
    }

    /// A whole number such as `retries: 3`.
    fn count(&mut self, key: &str, node: Option<Spanned<String>>) -> Option<u32> {
        let node = node?;
        if let Ok(n) = node.value.trim().parse() {
            Some(n)
        } else {
            let message = format!("expected a whole number, found `{}`", node.value);
            self.invalid(pos_of(&node), key, message);
            None
        }
    }

    fn cmd_mode(&mut self, node: Option<Spanned<String>>) -> Option<CommandMode> {
        let node = node?;
        match node.value.to_ascii_lowercase().as_str() {
            "exec" => Some(CommandMode::Exec),
            "shell" => Some(CommandMode::Shell),
            _ => {
                let message = format!("expected `exec` or `shell`, found `{}`", node.value);
                self.invalid(pos_of(&node), "cmd_mode", message);
                None
            }
        }
    }

    fn duration(
        &mut self,
        key: &str,
        node: Option<Spanned<String>>,
    ) -> Option<std::time::Duration> {
        let node = node?;
        match crate::time::parse_duration(&node.value) {
            Ok(d) => Some(d),
            Err(message) => {
                self.invalid(pos_of(&node), key, message);
                None
            }
        }
    }

    fn pipeline(&mut self, raw: RawWorkflow, path: &Path) -> Pipeline {
        self.unknown_keys(raw.unknown);
        if let Some(version) = raw.version
            && version.value.trim() != "1"
        {
            {
                let message = format!("only version 1 is supported, found `{}`", version.value);
                self.invalid(pos_of(&version), "version", message);
            }
        }
        let file_mode = self.cmd_mode(raw.cmd_mode);
        let options = self.options(raw.schedule, raw.concurrency_policy, raw.parallelism);
        let options = WorkflowOptions {
            retries: self.count("retries", raw.retries),
            timeout: self.duration("timeout", raw.timeout),
            ttl: self.duration("ttl", raw.ttl),
            timezone: raw.timezone,
            labels: raw
                .labels
                .map(|m| m.0.into_iter().collect())
                .unwrap_or_default(),
            ..options
        };
        let raw_jobs = raw.jobs.map(|l| l.0).unwrap_or_default();
        if raw_jobs.is_empty() {
            self.error(None, Kind::EmptyPipeline);
        }
        let jobs = raw_jobs
            .into_iter()
            .enumerate()
            .filter_map(|(i, node)| self.job(i + 1, node, file_mode))
            .collect();
        let mut edges = Vec::new();
        for entry in raw.dags.map(|l| l.0).unwrap_or_default() {
            let pos = pos_of(&entry);
            match dags::edges(&entry.value) {
                Ok(pairs) => edges.extend(pairs.into_iter().map(|(from, to)| EdgeSpec {
                    from,
                    to,
                    pos: Some(pos),
                })),
                Err(message) => self.error(Some(pos), Kind::Syntax(message)),
            }
        }
        Pipeline {
            name: raw.name,
            source: Source::File(path.to_path_buf()),
            jobs,
            edges,
            options,
        }
    }

    /// The options that need checking here (the rest are copied as they are).
    fn options(
        &mut self,
        schedule: Option<Spanned<String>>,
        policy: Option<Spanned<String>>,
        parallelism: Option<Spanned<String>>,
    ) -> WorkflowOptions {
        let mut options = WorkflowOptions {
            schedule_pos: schedule.as_ref().map(pos_of),
            schedule: schedule.map(|s| s.value),
            ..WorkflowOptions::default()
        };
        if let Some(policy) = policy {
            options.concurrency_policy = match policy.value.to_ascii_lowercase().as_str() {
                "allow" => Some(ConcurrencyPolicy::Allow),
                "forbid" => Some(ConcurrencyPolicy::Forbid),
                "replace" => Some(ConcurrencyPolicy::Replace),
                _ => {
                    let message = format!(
                        "expected `Allow`, `Forbid` or `Replace`, found `{}`",
                        policy.value
                    );
                    self.invalid(pos_of(&policy), "concurrency_policy", message);
                    None
                }
            };
        }
        let parallelism_pos = parallelism.as_ref().map(pos_of);
        match (self.count("parallelism", parallelism), parallelism_pos) {
            (Some(0), Some(pos)) => {
                let message = "must be at least 1 (leave it out for no limit)".to_owned();
                self.invalid(pos, "parallelism", message);
            }
            (n, _) => options.parallelism = n,
        }
        options
    }
}

/// serde-saphyr's messages end in "at line N, column M"; the position is kept in `Pos` and
/// shown by the printer, so the text drops it.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at)
            if message[at + " at line ".len()..].chars().all(|c| {
                c.is_ascii_digit() || matches!(c, ',' | ' ') || c.is_ascii_lowercase()
            }) =>
        {
            message[..at].to_owned()
        }
        _ => message.to_owned(),
    }
}

/// The parser's default budget (250,000 nodes, 1M events) guards against hostile input; a
/// workflow.yaml is the user's own file and may list 100,000 jobs (~5 nodes each), so the
/// budget scales to that while keeping the depth and alias guards.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: 5_000_000,
            max_events: 20_000_000,
        },
    }
}
