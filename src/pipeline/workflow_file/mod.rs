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

use std::fmt::Display;
use std::path::Path;

use super::command::is_placeholder_name;
use super::error::{PipelineError, PipelineErrorKind as Kind, PipelineErrors, suggest, thousands};
use super::{
    CommandMode, ConcurrencyPolicy, EdgeSpec, NotebookEngine, Param, Pipeline, Pos, Source,
    WorkflowOptions,
};
use raw::{
    Entries, Found, ListNode, Located, MapNode, Node, RawWorkflow, Scalar, Shape, Skip, UnknownKey,
    pos_of,
};

/// What a setting must be, as type errors say it (`` `retries` must be a whole number, not a
/// list ``).
mod expect {
    pub(super) const FILE: &str =
        "a mapping with `jobs` (and optionally `dags`, `cmd_mode`, `schedule`, …)";
    pub(super) const TEXT: &str = "a string";
    pub(super) const VERSION: &str = "the number 1";
    pub(super) const WHOLE: &str = "a whole number";
    pub(super) const DURATION: &str = "a duration like 90s, 30m or 2h";
    pub(super) const MODE: &str = "`exec` or `shell`";
    pub(super) const SCHEDULE: &str = "a cron schedule like \"0 3 * * *\"";
    pub(super) const ZONE: &str = "a time zone name like Europe/Paris";
    pub(super) const POLICY: &str = "`Allow`, `Forbid` or `Replace`";
    pub(super) const ENGINE: &str = "`nbclient` or `papermill`";
    pub(super) const LABELS: &str = "a mapping of key: value";
    pub(super) const PARAMS: &str = "a mapping of name: value";
    pub(super) const PARAM_VALUE: &str = "a value (a string or a number)";
    pub(super) const JOBS: &str = "a list of jobs (command strings or mappings with `command`)";
    pub(super) const JOB: &str = "a command string or a mapping with `command`";
    pub(super) const DAGS: &str = "a list of entries like `1 >> 2`";
    pub(super) const DAG: &str = "an entry like `1 >> 2`";
    pub(super) const COMMAND: &str = "a command string or a list of arguments";
    pub(super) const ARGUMENT: &str = "a string (one argument)";
    pub(super) const DEPENDS: &str = "a job name or number, or a list of them";
    pub(super) const REFERENCE: &str = "a job name or number";
    pub(super) const ENV: &str = "a mapping of NAME: value";
    pub(super) const ENV_VALUE: &str = "a string or a number";
    pub(super) const RESOURCES: &str = "a mapping with `cpu`, `memory` and/or `gpu`";
    pub(super) const QUANTITY: &str = "a quantity like 2, 500m or 4Gi";
    pub(super) const NODE_SELECTOR: &str = "a mapping of node label: value";
    pub(super) const LABEL_VALUE: &str = "a label value (a string)";
    pub(super) const TOLERATIONS: &str =
        "a list of tolerations (mappings with `key`, `operator`, `value`, `effect`)";
    pub(super) const TOLERATION: &str =
        "a mapping with `key`, `operator`, `value`, `effect` and/or `tolerationSeconds`";
    pub(super) const OPERATOR: &str = "`Exists` or `Equal`";
    pub(super) const EFFECT: &str = "`NoSchedule`, `PreferNoSchedule` or `NoExecute`";
    pub(super) const MATRIX: &str = "a mapping of key: list of values";
    pub(super) const PARAMETERS: &str = "a mapping of name: value";
    pub(super) const PARAMETER: &str = "a string, a number, a boolean or null";
    pub(super) const AXIS: &str = "a list of values, e.g. [0.1, 0.01]";
    pub(super) const AXIS_VALUE: &str = "a value (a string or a number)";
}

/// Parses workflow.yaml text. `path` is used for messages and `Source::File`.
/// `mode_override` (`--shell`) wins over the file's and the jobs' `cmd_mode`.
/// Returns every problem found, not just the first; YAML syntax errors stop parsing at once.
pub fn parse(
    text: &str,
    path: &Path,
    mode_override: Option<CommandMode>,
) -> Result<Pipeline, PipelineErrors> {
    let mut conv = Converter {
        text,
        source: path.display().to_string(),
        mode_override,
        params: Vec::new(),
        errors: Vec::new(),
    };
    // `Option` so that an empty (or comment-only) file reads as "no jobs", not a YAML error.
    let root = match serde_saphyr::from_str_with_options::<Option<Node<Skip, Box<RawWorkflow>>>>(
        text,
        yaml_options(),
    ) {
        Ok(root) => root,
        Err(e) => return Err(conv.yaml_error(&e).into()),
    };
    let raw = match root {
        None => RawWorkflow::default(),
        Some(Located {
            value: Shape::Mapping(raw),
            ..
        }) => *raw,
        Some(node) => {
            let found = node.value.found();
            conv.wrong(pos_of(&node), &"", expect::FILE, found);
            return Err(PipelineErrors(conv.errors));
        }
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

/// The longest `timeout` and `ttl`, in seconds: Kubernetes takes a pod's
/// `activeDeadlineSeconds` from 1 to 2^31-1, and Argo's `secondsAfterCompletion` is an int32.
const MAX_SECONDS: u64 = 2_147_483_647;

/// A scalar's text and where it is.
struct Text {
    value: String,
    pos: Pos,
}

struct Converter<'a> {
    text: &'a str,
    source: String,
    mode_override: Option<CommandMode>,
    /// `params:`, read before the jobs, whose commands use them.
    params: Vec<Param>,
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
        // Messages that would speak of the parser's options or types, in the user's words;
        // the rest are YAML's own ("unclosed bracket '['"). The snippet is dropped: the
        // printer shows its own, from `pos`.
        let message = match e.without_snippet() {
            serde_saphyr::Error::DuplicateMappingKey { key: Some(key), .. } => {
                format!("`{key}` appears twice in the same mapping; keep one")
            }
            serde_saphyr::Error::DuplicateMappingKey { key: None, .. } => {
                "a key appears twice in the same mapping; keep one".to_owned()
            }
            serde_saphyr::Error::Budget { .. } => {
                "the file holds more YAML nodes or alias expansions than jupyterflow reads (5,000,000 nodes); split the pipeline or use sweeps (`matrix`)".to_owned()
            }
            other => strip_location(&other.to_string()),
        };
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

    fn invalid(&mut self, pos: Pos, key: &dyn Display, message: String) {
        self.error(
            Some(pos),
            Kind::InvalidValue {
                key: key.to_string(),
                message,
            },
        );
    }

    /// `path` (`jobs[2].env`; empty for the whole file) must be `expected` but is `found`.
    /// Paths are `Display` (often `format_args!`) so that they are only built for a message.
    fn wrong(&mut self, pos: Pos, path: &dyn Display, expected: &str, found: Found) {
        self.error(
            Some(pos),
            Kind::WrongType {
                path: path.to_string(),
                expected: expected.to_owned(),
                found: found.describe().to_owned(),
            },
        );
    }

    /// The text of a scalar: strings as given, booleans and numbers as spelled in the source.
    fn scalar_text<T>(&self, node: &Located<T>, scalar: Scalar) -> Option<String> {
        match scalar {
            Scalar::Text(s) => Some(s),
            Scalar::Typed(rendered, _) => Some(self.source_text(node).unwrap_or(rendered)),
            Scalar::Null => None,
        }
    }

    /// The source text under a node's span. Only used for plain scalars, whose spelling is
    /// exactly their value.
    fn source_text<T>(&self, node: &Located<T>) -> Option<String> {
        let (start, len) = node.bytes?;
        let raw = self.text.get(start..start.checked_add(len)?)?.trim();
        (!raw.is_empty()).then(|| raw.to_owned())
    }

    /// An optional scalar setting: its text, `None` when it is absent or empty (`key:`), or
    /// when it is a list or mapping (reported: `path` must be `expected`).
    fn setting<L, M>(
        &mut self,
        node: Option<Node<L, M>>,
        path: &dyn Display,
        expected: &str,
    ) -> Option<Text> {
        let mut node = node?;
        let pos = pos_of(&node);
        match std::mem::replace(&mut node.value, Shape::Scalar(Scalar::Null)) {
            Shape::Scalar(scalar) => self
                .scalar_text(&node, scalar)
                .map(|value| Text { value, pos }),
            shape => {
                self.wrong(pos, path, expected, shape.found());
                None
            }
        }
    }

    /// A scalar that must be there (a list item, a mapping's value): empty is reported too.
    fn required<L, M>(
        &mut self,
        node: Node<L, M>,
        path: &dyn Display,
        expected: &str,
    ) -> Option<Text> {
        let pos = pos_of(&node);
        let found = node.value.found();
        let text = self.setting(Some(node), path, expected);
        if text.is_none() && found == Found::Nothing {
            self.wrong(pos, path, expected, found);
        }
        text
    }

    /// The items of an optional list (none when absent); anything but a list is reported.
    fn list<T>(&mut self, node: Option<ListNode<T>>, path: &dyn Display, expected: &str) -> Vec<T> {
        let Some(node) = node else {
            return Vec::new();
        };
        let pos = pos_of(&node);
        match node.value {
            Shape::List(items) => items,
            shape => {
                self.wrong(pos, path, expected, shape.found());
                Vec::new()
            }
        }
    }

    /// The entries of an optional mapping (none when absent); anything else is reported.
    fn entries<V>(
        &mut self,
        node: Option<MapNode<V>>,
        path: &dyn Display,
        expected: &str,
    ) -> Vec<(Located<String>, V)> {
        let Some(node) = node else {
            return Vec::new();
        };
        let pos = pos_of(&node);
        match node.value {
            Shape::Mapping(Entries(entries)) => entries,
            shape => {
                self.wrong(pos, path, expected, shape.found());
                Vec::new()
            }
        }
    }

    /// A whole number such as `retries: 3`.
    fn count(&mut self, path: &dyn Display, node: Option<Node>) -> Option<u32> {
        let text = self.setting(node, path, expect::WHOLE)?;
        if let Ok(n) = text.value.trim().parse() {
            Some(n)
        } else {
            let message = format!("expected a whole number, found `{}`", text.value);
            self.invalid(text.pos, path, message);
            None
        }
    }

    fn cmd_mode(&mut self, path: &dyn Display, node: Option<Node>) -> Option<CommandMode> {
        let text = self.setting(node, path, expect::MODE)?;
        match text.value.to_ascii_lowercase().as_str() {
            "exec" => Some(CommandMode::Exec),
            "shell" => Some(CommandMode::Shell),
            _ => {
                let message = format!("expected `exec` or `shell`, found `{}`", text.value);
                self.invalid(text.pos, path, message);
                None
            }
        }
    }

    /// A duration of at least `min` seconds and at most `MAX_SECONDS`.
    fn duration(
        &mut self,
        path: &dyn Display,
        node: Option<Node>,
        min: u64,
    ) -> Option<std::time::Duration> {
        let text = self.setting(node, path, expect::DURATION)?;
        let message = match crate::time::parse_duration(&text.value) {
            Ok(d) if d.as_secs() < min => format!(
                "`{}` is zero: a job cannot finish in no time (leave `{}` out for no limit)",
                text.value,
                path.to_string().rsplit('.').next().unwrap_or_default()
            ),
            Ok(d) if d.as_secs() > MAX_SECONDS => format!(
                "`{}` is {} seconds, more than Kubernetes and Argo hold ({} seconds, about 68 years)",
                text.value,
                thousands(d.as_secs()),
                thousands(MAX_SECONDS)
            ),
            Ok(d) => return Some(d),
            Err(message) => message,
        };
        self.invalid(text.pos, path, message);
        None
    }

    /// A job's time limit: Argo's `activeDeadlineSeconds`, which becomes the pod's, and a
    /// pod's must be from 1 to `MAX_SECONDS` (0 would fail every job at once).
    fn timeout(&mut self, path: &dyn Display, node: Option<Node>) -> Option<std::time::Duration> {
        self.duration(path, node, 1)
    }

    /// How long a finished run is kept: Argo's `ttlStrategy.secondsAfterCompletion`, an int32;
    /// 0 deletes it as soon as it finishes.
    fn ttl(&mut self, node: Option<Node>) -> Option<std::time::Duration> {
        self.duration(&"ttl", node, 0)
    }

    fn pipeline(&mut self, raw: RawWorkflow, path: &Path) -> Pipeline {
        self.unknown_keys(raw.unknown);
        if let Some(version) = self.setting(raw.version, &"version", expect::VERSION)
            && version.value.trim() != "1"
        {
            let message = format!("only version 1 is supported, found `{}`", version.value);
            self.invalid(version.pos, &"version", message);
        }
        let name = self
            .setting(raw.name, &"name", expect::TEXT)
            .map(|t| t.value);
        let file_mode = self.cmd_mode(&"cmd_mode", raw.cmd_mode);
        let options = self.options(raw.schedule, raw.concurrency_policy, raw.parallelism);
        let mut labels = std::collections::BTreeMap::new();
        for (key, value) in self.entries(raw.labels, &"labels", expect::LABELS) {
            let path = format_args!("labels.{}", key.value);
            if let Some(value) = self.required(value, &path, expect::TEXT) {
                labels.insert(key.value, value.value);
            }
        }
        let timezone = self.setting(raw.timezone, &"timezone", expect::ZONE);
        self.params = self.params(raw.params);
        let options = WorkflowOptions {
            retries: self.count(&"retries", raw.retries),
            timeout: self.timeout(&"timeout", raw.timeout),
            ttl: self.ttl(raw.ttl),
            notebook_engine: self.notebook_engine(raw.notebook_engine),
            timezone_pos: timezone.as_ref().map(|t| t.pos),
            timezone: timezone.map(|t| t.value),
            labels,
            ..options
        };
        let errors_before = self.errors.len();
        let raw_jobs = self.list(raw.jobs, &"jobs", expect::JOBS);
        // `jobs` of the wrong shape is reported as such, not again as "no jobs".
        if raw_jobs.is_empty() && self.errors.len() == errors_before {
            self.error(None, Kind::EmptyPipeline);
        }
        let jobs = raw_jobs
            .into_iter()
            .enumerate()
            .filter_map(|(i, node)| self.job(i + 1, node, file_mode))
            .collect();
        let options = WorkflowOptions {
            params: std::mem::take(&mut self.params),
            ..options
        };
        let mut edges = Vec::new();
        let entries = self.list(raw.dags, &"dags", expect::DAGS);
        for (k, entry) in entries.into_iter().enumerate() {
            let Some(entry) = self.required(entry, &format_args!("dags[{}]", k + 1), expect::DAG)
            else {
                continue;
            };
            match dags::edges(&entry.value) {
                Ok(pairs) => edges.extend(pairs.into_iter().map(|(from, to)| EdgeSpec {
                    from,
                    to,
                    pos: Some(entry.pos),
                })),
                Err(message) => self.error(Some(entry.pos), Kind::Syntax(message)),
            }
        }
        Pipeline {
            name,
            source: Source::File(path.to_path_buf()),
            jobs,
            edges,
            options,
        }
    }

    /// `params:` name → value, values as written (`0.10` stays `0.10`). A name must read as a
    /// placeholder (`lr`, `batch_size`), or no command could use it.
    fn params(&mut self, node: Option<MapNode<Node>>) -> Vec<Param> {
        let mut params = Vec::new();
        for (key, value) in self.entries(node, &"params", expect::PARAMS) {
            let path = format_args!("params.{}", key.value);
            let Some(value) = self.required(value, &path, expect::PARAM_VALUE) else {
                continue;
            };
            if !is_placeholder_name(&key.value) {
                self.error(
                    Some(pos_of(&key)),
                    Kind::InvalidParamName {
                        name: key.value.clone(),
                    },
                );
                continue;
            }
            params.push(Param {
                pos: Some(pos_of(&key)),
                name: key.value,
                value: value.value,
            });
        }
        params
    }

    /// `notebook_engine:` (default nbclient); an unknown name gets a did-you-mean.
    fn notebook_engine(&mut self, node: Option<Node>) -> NotebookEngine {
        let Some(engine) = self.setting(node, &"notebook_engine", expect::ENGINE) else {
            return NotebookEngine::default();
        };
        if let Some(known) = NotebookEngine::parse(&engine.value) {
            return known;
        }
        let found = engine.value.trim().to_ascii_lowercase();
        let guess = suggest(&found, NotebookEngine::NAMES)
            .map_or_else(String::new, |s| format!("; did you mean `{s}`?"));
        let message = format!(
            "expected {}, found `{}`{guess}",
            expect::ENGINE,
            engine.value
        );
        self.invalid(engine.pos, &"notebook_engine", message);
        NotebookEngine::default()
    }

    /// The options that need checking here (the rest are copied as they are).
    fn options(
        &mut self,
        schedule: Option<Node>,
        policy: Option<Node>,
        parallelism: Option<Node>,
    ) -> WorkflowOptions {
        let schedule = self.setting(schedule, &"schedule", expect::SCHEDULE);
        let mut options = WorkflowOptions {
            schedule_pos: schedule.as_ref().map(|s| s.pos),
            schedule: schedule.map(|s| s.value),
            ..WorkflowOptions::default()
        };
        if let Some(policy) = self.setting(policy, &"concurrency_policy", expect::POLICY) {
            options.concurrency_policy = match policy.value.to_ascii_lowercase().as_str() {
                "allow" => Some(ConcurrencyPolicy::Allow),
                "forbid" => Some(ConcurrencyPolicy::Forbid),
                "replace" => Some(ConcurrencyPolicy::Replace),
                _ => {
                    let message = format!(
                        "expected `Allow`, `Forbid` or `Replace`, found `{}`",
                        policy.value
                    );
                    self.invalid(policy.pos, &"concurrency_policy", message);
                    None
                }
            };
        }
        let parallelism_pos = parallelism.as_ref().map(pos_of);
        match (self.count(&"parallelism", parallelism), parallelism_pos) {
            (Some(0), Some(pos)) => {
                let message = "must be at least 1 (leave it out for no limit)".to_owned();
                self.invalid(pos, &"parallelism", message);
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
