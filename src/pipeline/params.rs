//! Workflow params: `params: {lr: 0.1}` in workflow.yaml, named constants that commands use as
//! `{lr}` (like a matrix key that never sweeps) and `env` values as `{lr}`; `--set lr=0.01`
//! overrides one for a run. Pure: the overrides as given, applying them to a `Pipeline`, the
//! substitution in `env` values, and the ordered `name → value` map runs are recorded with.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::suggest;
use super::{Pipeline, Pos};

/// One param: declared in `params:`, its value possibly given by `--set`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    /// As written in the file (a number keeps its spelling: `0.10`, `1e-3`), or as `--set`
    /// gave it.
    pub value: String,
    /// Where it is declared.
    pub pos: Option<Pos>,
}

/// `--set NAME=VALUE`, as given: the value is everything after the first `=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSet {
    pub name: String,
    pub value: String,
}

/// A `--set` that is not `NAME=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadSet {
    #[error("`--set {0}` has no `=`: it takes NAME=VALUE")]
    NoEquals(String),
    #[error("`--set {0}` names no param: it takes NAME=VALUE")]
    NoName(String),
}

impl BadSet {
    pub fn hint(&self) -> String {
        "write it like --set lr=0.01 (the value is everything after the first `=`, and may be empty)"
            .to_owned()
    }
}

impl ParamSet {
    pub fn parse(text: &str) -> Result<ParamSet, BadSet> {
        match text.split_once('=') {
            None => Err(BadSet::NoEquals(text.to_owned())),
            Some(("", _)) => Err(BadSet::NoName(text.to_owned())),
            Some((name, value)) => Ok(ParamSet {
                name: name.to_owned(),
                value: value.to_owned(),
            }),
        }
    }
}

/// `--set` named a param the workflow does not declare.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`--set {name}=…`: {file} declares no param `{name}`")]
pub struct UnknownParam {
    pub name: String,
    /// The workflow file, for the message.
    pub file: String,
    pub suggestion: Option<String>,
    /// Every declared param, for the hint.
    pub declared: Vec<String>,
}

impl UnknownParam {
    pub fn hint(&self) -> String {
        let guess = self
            .suggestion
            .as_ref()
            .map_or_else(String::new, |s| format!("did you mean `{s}`? "));
        if self.declared.is_empty() {
            format!(
                "--set only overrides `params:` the file declares, and it declares none; add `params: {{{}: …}}` to it",
                self.name
            )
        } else {
            format!(
                "{guess}--set overrides the params the file declares: {}",
                self.declared.join(", ")
            )
        }
    }
}

impl Pipeline {
    /// Applies `--set` (a later one for the same name wins): each must name a declared param.
    /// The jobs take the new values when the pipeline is built (`Dag::build`).
    pub fn set_params(&mut self, sets: &[ParamSet]) -> Result<(), UnknownParam> {
        let params = &mut self.options.params;
        if let Some(unknown) = sets
            .iter()
            .find(|set| !params.iter().any(|p| p.name == set.name))
        {
            let declared: Vec<String> = params.iter().map(|p| p.name.clone()).collect();
            return Err(UnknownParam {
                suggestion: suggest(&unknown.name, declared.iter().map(String::as_str)),
                name: unknown.name.clone(),
                file: self.source.label(),
                declared,
            });
        }
        for set in sets {
            if let Some(param) = params.iter_mut().find(|p| p.name == set.name) {
                param.value.clone_from(&set.value);
            }
        }
        Ok(())
    }
}

/// An `env` value with each `{name}` of a param replaced by its value, verbatim (an env value
/// never passes through a shell). `\{name}` keeps `{name}` literally; any other text,
/// braces included (JSON, `${HOME}`), is kept as written.
pub fn substitute(text: &str, params: &[Param]) -> String {
    if params.is_empty() || !text.contains('{') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let param = after.find('}').and_then(|close| {
            let name = &after[..close];
            params
                .iter()
                .find(|p| p.name == name)
                .map(|p| (p, &after[close + 1..]))
        });
        let Some((param, remainder)) = param else {
            out.push_str(&rest[..=open]);
            rest = after;
            continue;
        };
        let before = &rest[..open];
        if let Some(escaped) = before.strip_suffix('\\') {
            out.push_str(escaped);
            out.push('{');
            out.push_str(&param.name);
            out.push('}');
        } else {
            out.push_str(before);
            out.push_str(&param.value);
        }
        rest = remainder;
    }
    out.push_str(rest);
    out
}

/// `name → value` in the order the file declares them, stored as a JSON object (the run
/// record's `params`, the Workflow's `jupyterflow.io/params` annotation), read back in the
/// same order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParamMap(pub Vec<(String, String)>);

impl ParamMap {
    pub fn of(params: &[Param]) -> ParamMap {
        ParamMap(
            params
                .iter()
                .map(|p| (p.name.clone(), p.value.clone()))
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `lr=0.01, data=s3://bucket/x`, as `get` shows them.
impl fmt::Display for ParamMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, value)) in self.0.iter().enumerate() {
            let comma = if i == 0 { "" } else { ", " };
            write!(f, "{comma}{name}={value}")?;
        }
        Ok(())
    }
}

impl Serialize for ParamMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ParamMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = ParamMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of param names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ParamMap, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, String>()? {
                    entries.push(entry);
                }
                Ok(ParamMap(entries))
            }
        }
        deserializer.deserialize_map(InOrder)
    }
}

#[cfg(test)]
mod tests;
