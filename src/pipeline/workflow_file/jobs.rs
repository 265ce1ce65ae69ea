//! One entry of `jobs:` → `JobSpec`: the original command string, or the mapping form with
//! `name`, `command` (string or exact argv), `depends`, `env`, `resources`, `matrix`…
//! Errors are recorded on the `Converter` so every job is checked, not just the first bad one.

use std::collections::BTreeMap;

use super::raw::{
    JobMap, ListNode, MapNode, Node, RawResources, RawToleration, Scalar, Shape, Skip, pos_of,
};
use super::{Converter, dags, expect};
use crate::pipeline::command::{self, CommandError, Const, Placeholders, Segment, Word};
use crate::pipeline::error::{PipelineErrorKind as Kind, suggest};
use crate::pipeline::names::{is_label_key, is_label_value};
use crate::pipeline::{
    Axis, CommandMode, CommandTemplate, JobRef, JobSpec, Param, Pos, ResourceSpec, TolerationSpec,
};

/// The effects a taint (and so a toleration) may have.
const EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// What a label key may be, said after a bad one.
const LABEL_KEY_RULE: &str = "a label key is a name of at most 63 letters, digits, `-`, `_` and `.` (starting and ending with a letter or digit), optionally after a DNS prefix and `/`, like `cloud.google.com/gke-nodepool`";
/// What a label value may be, said after a bad one.
const LABEL_VALUE_RULE: &str = "a label value is at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit (or empty)";

impl Converter<'_> {
    /// One job (`index` is 1-based). `None` when it has errors (already recorded).
    pub(super) fn job(
        &mut self,
        index: usize,
        mut node: Node<Skip, Box<JobMap>>,
        file_mode: Option<CommandMode>,
    ) -> Option<JobSpec> {
        let pos = pos_of(&node);
        let label = index.to_string();
        let path = format!("jobs[{index}]");
        match std::mem::replace(&mut node.value, Shape::Scalar(Scalar::Null)) {
            Shape::Scalar(scalar) => {
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
            Shape::Mapping(map) => self.mapping_job(*map, &label, &path, pos, file_mode),
            shape @ Shape::List(_) => {
                self.wrong(pos, &path, expect::JOB, shape.found());
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
            params: &self.params,
        };
        match command::parse(text, mode, placeholders) {
            Ok(parsed) => {
                for name in parsed.unknown_keys {
                    let keys: Vec<String> = axes.iter().map(|a| a.key.clone()).collect();
                    let params: Vec<String> = self.params.iter().map(|p| p.name.clone()).collect();
                    self.error(
                        Some(pos),
                        Kind::UnknownMatrixKey {
                            job: label.to_owned(),
                            suggestion: suggest(
                                &name,
                                keys.iter().chain(&params).map(String::as_str),
                            ),
                            name,
                            keys,
                            params,
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
        path: &str,
        pos: Pos,
        file_mode: Option<CommandMode>,
    ) -> Option<JobSpec> {
        let errors_before = self.errors.len();
        self.unknown_keys(map.unknown);
        let name = self
            .setting(map.name, &format_args!("{path}.name"), expect::TEXT)
            .map(|t| t.value);
        let label = name.clone().unwrap_or_else(|| index_label.to_owned());
        let axes = self.matrix(map.matrix, path, &label);
        let job_mode_pos = map.cmd_mode.as_ref().map(pos_of);
        let job_mode = self.cmd_mode(&format_args!("{path}.cmd_mode"), map.cmd_mode);
        let mode = self.mode_override.or(job_mode).or(file_mode);

        let command = match map.command {
            None => {
                self.error(Some(pos), Kind::EmptyCommand { job: label.clone() });
                None
            }
            Some(node) => {
                let job_shell_pos = job_mode_pos.filter(|_| job_mode == Some(CommandMode::Shell));
                self.job_command(node, mode, job_shell_pos, axes, &label, path, pos)
            }
        };
        let depends = self.depends(map.depends, path);
        let env = self
            .entries(map.env, &format_args!("{path}.env"), expect::ENV)
            .into_iter()
            .filter_map(|(key, value)| {
                if !is_env_name(&key.value) {
                    self.error(
                        Some(pos_of(&key)),
                        Kind::InvalidEnvName {
                            path: format!("{path}.env"),
                            name: key.value.clone(),
                        },
                    );
                }
                let value_path = format_args!("{path}.env.{}", key.value);
                self.required(value, &value_path, expect::ENV_VALUE)
                    .map(|value| (key.value, value.value))
            })
            .collect();
        let resources = self.resources(map.resources, path);
        let node_selector = self.node_selector(map.node_selector, path);
        let tolerations = self.tolerations(map.tolerations, path);
        let timeout = self.timeout(&format_args!("{path}.timeout"), map.timeout);
        let retries = self.count(&format_args!("{path}.retries"), map.retries);

        let (text, command, axes) = command?;
        if self.errors.len() > errors_before {
            return None;
        }
        Some(JobSpec {
            name,
            text,
            command,
            axes,
            depends,
            env,
            resources,
            node_selector,
            tolerations,
            retries,
            timeout,
            pos: Some(pos),
        })
    }

    /// `node_selector:` node label → value, checked as Kubernetes checks labels.
    fn node_selector(
        &mut self,
        node: Option<MapNode<Node>>,
        path: &str,
    ) -> BTreeMap<String, String> {
        let path = format!("{path}.node_selector");
        let mut selector = BTreeMap::new();
        for (key, value) in self.entries(node, &path, expect::NODE_SELECTOR) {
            let value_path = format!("{path}.{}", key.value);
            let Some(value) = self.required(value, &value_path, expect::LABEL_VALUE) else {
                continue;
            };
            if !is_label_key(&key.value) {
                let message = format!("`{}` is not a node label key: {LABEL_KEY_RULE}", key.value);
                self.invalid(pos_of(&key), &path, message);
            } else if !is_label_value(&value.value) {
                let message = format!("`{}` is not a label value: {LABEL_VALUE_RULE}", value.value);
                self.invalid(value.pos, &value_path, message);
            } else {
                selector.insert(key.value, value.value);
            }
        }
        selector
    }

    /// `tolerations:` Kubernetes tolerations, each checked as the API server checks them.
    fn tolerations(
        &mut self,
        node: Option<ListNode<Node<Skip, RawToleration>>>,
        path: &str,
    ) -> Vec<TolerationSpec> {
        let path = format!("{path}.tolerations");
        self.list(node, &path, expect::TOLERATIONS)
            .into_iter()
            .enumerate()
            .filter_map(|(k, item)| self.toleration(item, &format!("{path}[{}]", k + 1)))
            .collect()
    }

    /// One toleration (`path` is `jobs[2].tolerations[1]`); `None` when it has errors.
    fn toleration(
        &mut self,
        node: Node<Skip, RawToleration>,
        path: &str,
    ) -> Option<TolerationSpec> {
        let pos = pos_of(&node);
        let raw = match node.value {
            Shape::Mapping(raw) => raw,
            shape => {
                self.wrong(pos, &path, expect::TOLERATION, shape.found());
                return None;
            }
        };
        let errors_before = self.errors.len();
        self.unknown_keys(raw.unknown);
        // An empty string means the same as leaving the key out, as in Kubernetes.
        let text = |this: &mut Self, node, key: &str, expected| {
            this.setting(node, &format_args!("{path}.{key}"), expected)
                .filter(|t| !t.value.is_empty())
        };
        let key = text(self, raw.key, "key", expect::TEXT);
        let operator = text(self, raw.operator, "operator", expect::OPERATOR);
        let value = text(self, raw.value, "value", expect::TEXT);
        let effect = text(self, raw.effect, "effect", expect::EFFECT);
        let seconds = text(
            self,
            raw.toleration_seconds,
            "tolerationSeconds",
            expect::WHOLE,
        );

        if let Some(key) = &key
            && !is_label_key(&key.value)
        {
            let message = format!("`{}` is not a taint key: {LABEL_KEY_RULE}", key.value);
            self.invalid(key.pos, &format_args!("{path}.key"), message);
        }
        let exists = match &operator {
            None => false,
            Some(op) if op.value == "Exists" => true,
            Some(op) if op.value == "Equal" => false,
            Some(op) => {
                let message = format!("expected `Exists` or `Equal`, found `{}`", op.value);
                self.invalid(op.pos, &format_args!("{path}.operator"), message);
                false
            }
        };
        if key.is_none() && !exists && operator.as_ref().is_none_or(|op| op.value == "Equal") {
            let message = "a toleration without `key` must have `operator: Exists` (it then tolerates every taint)".to_owned();
            self.invalid(pos, &path, message);
        }
        match &value {
            Some(value) if exists => {
                let message = format!(
                    "`operator: Exists` takes no value (it matches any), found `{}`; remove `value`, or use `operator: Equal`",
                    value.value
                );
                self.invalid(value.pos, &format_args!("{path}.value"), message);
            }
            Some(value) if !is_label_value(&value.value) => {
                let message = format!("`{}` is not a taint value: {LABEL_VALUE_RULE}", value.value);
                self.invalid(value.pos, &format_args!("{path}.value"), message);
            }
            _ => {}
        }
        if let Some(effect) = &effect
            && !EFFECTS.contains(&effect.value.as_str())
        {
            let message = format!(
                "expected `NoSchedule`, `PreferNoSchedule` or `NoExecute` (or no `effect`: every effect), found `{}`",
                effect.value
            );
            self.invalid(effect.pos, &format_args!("{path}.effect"), message);
        }
        let toleration_seconds = match &seconds {
            None => None,
            Some(text) => {
                let seconds_path = format_args!("{path}.tolerationSeconds");
                match text.value.trim().parse::<i64>() {
                    Err(_) => {
                        let message =
                            format!("expected a whole number of seconds, found `{}`", text.value);
                        self.invalid(text.pos, &seconds_path, message);
                        None
                    }
                    Ok(_) if effect.as_ref().is_none_or(|e| e.value != "NoExecute") => {
                        let message = "`tolerationSeconds` only applies to `effect: NoExecute` (how long the pod stays on a node after such a taint appears)".to_owned();
                        self.invalid(text.pos, &seconds_path, message);
                        None
                    }
                    Ok(n) => Some(n),
                }
            }
        };
        if self.errors.len() > errors_before {
            return None;
        }
        Some(TolerationSpec {
            key: key.map(|t| t.value),
            operator: operator.map(|t| t.value),
            value: value.map(|t| t.value),
            effect: effect.map(|t| t.value),
            toleration_seconds,
        })
    }

    /// `matrix:` as axes in the order written; `key:` with nothing is an axis without values,
    /// for `dag` to report. A key named like a param is refused: `{key}` would mean both.
    fn matrix(
        &mut self,
        matrix: Option<super::raw::MapNode<Option<ListNode<Node>>>>,
        path: &str,
        label: &str,
    ) -> Vec<Axis> {
        let entries = self.entries(matrix, &format_args!("{path}.matrix"), expect::MATRIX);
        let mut axes = Vec::with_capacity(entries.len());
        for (key, values) in entries {
            if let Some(param) = self.params.iter().find(|p| p.name == key.value) {
                let kind = Kind::MatrixKeyIsParam {
                    job: label.to_owned(),
                    key: key.value.clone(),
                    param_pos: param.pos,
                };
                self.error(Some(pos_of(&key)), kind);
            }
            let axis_path = format_args!("{path}.matrix.{}", key.value);
            let items = self.list(values, &axis_path, expect::AXIS);
            let values = items
                .into_iter()
                .enumerate()
                .filter_map(|(n, item)| {
                    let item_path = format_args!("{path}.matrix.{}[{}]", key.value, n + 1);
                    self.required(item, &item_path, expect::AXIS_VALUE)
                        .map(|t| t.value)
                })
                .collect();
            axes.push(Axis {
                key: key.value,
                values,
            });
        }
        axes
    }

    /// `depends:` as one reference or a list of them.
    fn depends(&mut self, depends: Option<ListNode<Node>>, path: &str) -> Vec<JobRef> {
        let Some(mut node) = depends else {
            return Vec::new();
        };
        let pos = pos_of(&node);
        let path = format_args!("{path}.depends");
        match std::mem::replace(&mut node.value, Shape::Scalar(Scalar::Null)) {
            Shape::Scalar(scalar) => self
                .scalar_text(&node, scalar)
                .map(|t| vec![dags::job_ref(&t)])
                .unwrap_or_default(),
            Shape::List(items) => items
                .into_iter()
                .enumerate()
                .filter_map(|(k, item)| {
                    let item_path = format_args!("{path}[{}]", k + 1);
                    self.required(item, &item_path, expect::REFERENCE)
                        .map(|t| dags::job_ref(&t.value))
                })
                .collect(),
            shape @ Shape::Mapping(_) => {
                self.wrong(pos, &path, expect::DEPENDS, shape.found());
                Vec::new()
            }
        }
    }

    fn resources(
        &mut self,
        resources: Option<Node<Skip, RawResources>>,
        path: &str,
    ) -> ResourceSpec {
        let Some(node) = resources else {
            return ResourceSpec::default();
        };
        let pos = pos_of(&node);
        let path = format_args!("{path}.resources");
        match node.value {
            Shape::Mapping(res) => {
                self.unknown_keys(res.unknown);
                let mut quantity = |node, key: &str| {
                    self.setting(node, &format_args!("{path}.{key}"), expect::QUANTITY)
                        .map(|t| t.value)
                };
                ResourceSpec {
                    cpu: quantity(res.cpu, "cpu"),
                    memory: quantity(res.memory, "memory"),
                    gpu: quantity(res.gpu, "gpu"),
                }
            }
            shape => {
                self.wrong(pos, &path, expect::RESOURCES, shape.found());
                ResourceSpec::default()
            }
        }
    }

    /// A mapping job's `command`: a string is tokenised like the original format, a list is
    /// an exact argv. Returns the text as written, the template and all axes.
    #[expect(
        clippy::too_many_arguments,
        reason = "the job's context, passed down once"
    )]
    fn job_command(
        &mut self,
        mut node: ListNode<Node>,
        mode: Option<CommandMode>,
        // Where the job itself asked for shell mode, which a list cannot honour.
        job_shell_pos: Option<Pos>,
        axes: Vec<Axis>,
        label: &str,
        path: &str,
        pos: Pos,
    ) -> Option<(String, CommandTemplate, Vec<Axis>)> {
        let node_pos = pos_of(&node);
        match std::mem::replace(&mut node.value, Shape::Scalar(Scalar::Null)) {
            Shape::Scalar(scalar) => {
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
            Shape::List(items) => {
                if let Some(shell_pos) = job_shell_pos {
                    let message = "a command given as a list runs without a shell; \
                                   write it as one string to use `cmd_mode: shell`"
                        .to_owned();
                    self.invalid(shell_pos, &format_args!("{path}.cmd_mode"), message);
                }
                let count = items.len();
                let items: Vec<String> = items
                    .into_iter()
                    .enumerate()
                    .filter_map(|(k, item)| {
                        let item_path = format_args!("{path}.command[{}]", k + 1);
                        self.required(item, &item_path, expect::ARGUMENT)
                            .map(|t| t.value)
                    })
                    .collect();
                if items.len() < count {
                    return None;
                }
                self.argv(&items, axes, label, pos)
            }
            shape @ Shape::Mapping(_) => {
                self.wrong(
                    node_pos,
                    &format_args!("{path}.command"),
                    expect::COMMAND,
                    shape.found(),
                );
                None
            }
        }
    }

    /// A list command: one argv word per item, exactly; only `{key}` matrix references and
    /// `{name}` params are replaced (no quoting rules, no brace sweeps, no shell detection).
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
            .map(|item| Word(split_keys(item, &axes, &self.params)))
            .collect();
        let text = items
            .iter()
            .map(|item| command::quote(item))
            .collect::<Vec<_>>()
            .join(" ");
        Some((text, CommandTemplate::Exec(words), axes))
    }
}

/// Whether Kubernetes takes `name` as an env var name on every version: letters, digits, `_`,
/// `-` and `.`, not starting with a digit (newer clusters relax this, older ones do not, and
/// a `=` or an empty name breaks the local run too: `1BAD=X: v` would set `1BAD` to `X=v`).
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '_' | '-' | '.'))
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Splits one argv item at `{key}` references to matrix axes and `{name}` references to
/// params. (`command` does the same inside its tokenizer, privately; an exact argv item needs
/// only this part of it.)
fn split_keys(item: &str, axes: &[Axis], params: &[Param]) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut rest = item;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let placeholder = after.find('}').and_then(|close| {
            let key = &after[..close];
            let remainder = &after[close + 1..];
            if let Some(n) = axes.iter().position(|a| a.key == key) {
                return Some((Segment::Param(n), remainder));
            }
            params.iter().find(|p| p.name == key).map(|p| {
                let value = Const {
                    name: p.name.clone(),
                    value: p.value.clone(),
                };
                (Segment::Const(Box::new(value)), remainder)
            })
        });
        if let Some((segment, remainder)) = placeholder {
            literal.push_str(&rest[..open]);
            if !literal.is_empty() {
                segments.push(Segment::Text(std::mem::take(&mut literal)));
            }
            segments.push(segment);
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
