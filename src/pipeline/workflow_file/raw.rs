//! The serde layer of workflow.yaml: the file as YAML gives it, with positions, before any
//! meaning is attached. Hand-written visitors instead of derives, because we need
//! - every unknown key with its position (derives stop at the first, without a suggestion),
//! - "string or mapping" / "string or list" shapes with good errors (no `untagged`),
//! - scalars as their exact text (`yes` stays `yes`, `0.50` stays `0.50`).
//!
//! Scalars reached through `deserialize_any` (the "string or …" shapes) arrive typed when YAML
//! thinks they are booleans or numbers; those become [`Scalar::Typed`] and the conversion
//! recovers their spelling from the source text by the node's span.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::pipeline::Pos;

/// Keys of the top-level mapping, in the order the docs list them.
pub(super) const WORKFLOW_KEYS: &[&str] = &[
    "version",
    "name",
    "jobs",
    "cmd_mode",
    "dags",
    "schedule",
    "timezone",
    "concurrency_policy",
    "parallelism",
    "retries",
    "timeout",
    "ttl",
    "labels",
];

/// Keys of a job written as a mapping.
pub(super) const JOB_KEYS: &[&str] = &[
    "name",
    "command",
    "depends",
    "cmd_mode",
    "env",
    "resources",
    "retries",
    "timeout",
    "matrix",
];

/// Keys of a job's `resources`.
pub(super) const RESOURCE_KEYS: &[&str] = &["cpu", "memory", "gpu"];

/// The position of a spanned node, 1-based as serde-saphyr reports it.
pub(super) fn pos_of<T>(node: &Spanned<T>) -> Pos {
    Pos {
        line: u32::try_from(node.referenced.line()).unwrap_or(u32::MAX),
        column: u32::try_from(node.referenced.column()).unwrap_or(u32::MAX),
    }
}

/// A key that is not one of `expected`, kept so that all of them can be reported at once.
#[derive(Debug)]
pub(super) struct UnknownKey {
    pub key: String,
    pub pos: Pos,
    pub within: &'static str,
    pub expected: &'static [&'static str],
}

/// A scalar read where other shapes were possible too.
#[derive(Debug)]
pub(super) enum Scalar {
    /// YAML gave a string: this is its text.
    Text(String),
    /// YAML read a boolean or number; the payload is its rendering, used only if the source
    /// spelling cannot be recovered (see the module doc).
    Typed(String),
    /// `~`, `null` or nothing.
    Null,
}

/// Implements the scalar visits shared by the "string or …" visitors.
macro_rules! scalar_visits {
    ($wrap:path) => {
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok($wrap(Scalar::Text(v.to_owned())))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok($wrap(Scalar::Text(v)))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok($wrap(Scalar::Typed(v.to_string())))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok($wrap(Scalar::Typed(v.to_string())))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok($wrap(Scalar::Typed(v.to_string())))
        }
        fn visit_i128<E: de::Error>(self, v: i128) -> Result<Self::Value, E> {
            Ok($wrap(Scalar::Typed(v.to_string())))
        }
        fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
            Ok($wrap(Scalar::Typed(v.to_string())))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok($wrap(Scalar::Typed(v.to_string())))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($wrap(Scalar::Null))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($wrap(Scalar::Null))
        }
    };
}

/// The whole file.
#[derive(Debug, Default)]
pub(super) struct RawWorkflow {
    pub version: Option<Spanned<String>>,
    pub name: Option<String>,
    pub jobs: Option<List<Spanned<RawJob>>>,
    pub cmd_mode: Option<Spanned<String>>,
    pub dags: Option<List<Spanned<String>>>,
    pub schedule: Option<Spanned<String>>,
    pub timezone: Option<String>,
    pub concurrency_policy: Option<Spanned<String>>,
    /// Numbers as text, checked by the conversion so the message can name the key.
    pub parallelism: Option<Spanned<String>>,
    pub retries: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub ttl: Option<Spanned<String>>,
    pub labels: Option<OrderedMap<String>>,
    pub unknown: Vec<UnknownKey>,
}

impl<'de> Deserialize<'de> for RawWorkflow {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `any` rather than `map` throughout: the error then says what was expected
        // ("expected a mapping") instead of the parser's "expected mapping start".
        deserializer.deserialize_any(WorkflowVisitor)
    }
}

struct WorkflowVisitor;

impl<'de> Visitor<'de> for WorkflowVisitor {
    type Value = RawWorkflow;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping with `jobs` (and optionally `dags`, `cmd_mode`, `schedule`, …)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawWorkflow, A::Error> {
        let mut wf = RawWorkflow::default();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            match key.value.as_str() {
                "version" => wf.version = map.next_value()?,
                "name" => wf.name = map.next_value()?,
                "jobs" => wf.jobs = map.next_value()?,
                "cmd_mode" => wf.cmd_mode = map.next_value()?,
                "dags" => wf.dags = map.next_value()?,
                "schedule" => wf.schedule = map.next_value()?,
                "timezone" => wf.timezone = map.next_value()?,
                "concurrency_policy" => wf.concurrency_policy = map.next_value()?,
                "parallelism" => wf.parallelism = map.next_value()?,
                "retries" => wf.retries = map.next_value()?,
                "timeout" => wf.timeout = map.next_value()?,
                "ttl" => wf.ttl = map.next_value()?,
                "labels" => wf.labels = map.next_value()?,
                _ => {
                    wf.unknown
                        .push(unknown(&key, "workflow.yaml", WORKFLOW_KEYS));
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(wf)
    }
}

fn unknown(
    key: &Spanned<String>,
    within: &'static str,
    expected: &'static [&'static str],
) -> UnknownKey {
    UnknownKey {
        key: key.value.clone(),
        pos: pos_of(key),
        within,
        expected,
    }
}

/// One entry of `jobs`: the original command string, or the mapping form.
#[derive(Debug)]
pub(super) enum RawJob {
    Command(Scalar),
    Mapping(Box<JobMap>),
    /// A list where a job was expected: reported as an error by the conversion, which knows
    /// the job's position.
    List,
}

impl<'de> Deserialize<'de> for RawJob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JobVisitor)
    }
}

struct JobVisitor;

impl<'de> Visitor<'de> for JobVisitor {
    type Value = RawJob;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a command, or a mapping with `command` (and `name`, `depends`, …)")
    }

    scalar_visits!(RawJob::Command);

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawJob, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(RawJob::List)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawJob, A::Error> {
        let mut job = JobMap::default();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            match key.value.as_str() {
                "name" => job.name = map.next_value()?,
                "command" => job.command = map.next_value()?,
                "depends" => job.depends = map.next_value()?,
                "cmd_mode" => job.cmd_mode = map.next_value()?,
                "env" => job.env = map.next_value()?,
                "resources" => job.resources = map.next_value()?,
                "retries" => job.retries = map.next_value()?,
                "timeout" => job.timeout = map.next_value()?,
                "matrix" => job.matrix = map.next_value()?,
                _ => {
                    job.unknown.push(unknown(&key, "a job", JOB_KEYS));
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(RawJob::Mapping(Box::new(job)))
    }
}

/// A job in mapping form.
#[derive(Debug, Default)]
pub(super) struct JobMap {
    pub name: Option<String>,
    pub command: Option<Spanned<RawCommand>>,
    pub depends: Option<Spanned<RawDepends>>,
    pub cmd_mode: Option<Spanned<String>>,
    pub env: Option<OrderedMap<String>>,
    pub resources: Option<RawResources>,
    pub retries: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    /// Values are optional so that `key:` with nothing parses, for `dag` to report.
    pub matrix: Option<OrderedMap<Option<List<String>>>>,
    pub unknown: Vec<UnknownKey>,
}

/// `command:` as one string (tokenised like the original format) or as an exact argv.
#[derive(Debug)]
pub(super) enum RawCommand {
    Text(Scalar),
    /// Items read as strings, so `- 1` is `"1"`.
    Argv(Vec<String>),
}

impl<'de> Deserialize<'de> for RawCommand {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CommandVisitor)
    }
}

struct CommandVisitor;

impl<'de> Visitor<'de> for CommandVisitor {
    type Value = RawCommand;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a command string, or a list of arguments")
    }

    scalar_visits!(RawCommand::Text);

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawCommand, A::Error> {
        Ok(RawCommand::Argv(strings(seq)?))
    }
}

/// `depends:` as one reference or a list of them.
#[derive(Debug)]
pub(super) enum RawDepends {
    One(Scalar),
    /// Items read as strings; the conversion tells numbers from names.
    Many(Vec<String>),
}

impl<'de> Deserialize<'de> for RawDepends {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DependsVisitor)
    }
}

struct DependsVisitor;

impl<'de> Visitor<'de> for DependsVisitor {
    type Value = RawDepends;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a job name or number, or a list of them")
    }

    scalar_visits!(RawDepends::One);

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawDepends, A::Error> {
        Ok(RawDepends::Many(strings(seq)?))
    }
}

/// Reads every element of a sequence as a string (exact text for plain scalars).
fn strings<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Vec<String>, A::Error> {
    let mut out = Vec::new();
    while let Some(item) = seq.next_element::<String>()? {
        out.push(item);
    }
    Ok(out)
}

/// A job's `resources`. Quantities are strings so `0.5` stays `0.5`; `dag` checks them.
#[derive(Debug, Default)]
pub(super) struct RawResources {
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub gpu: Option<String>,
    pub unknown: Vec<UnknownKey>,
}

impl<'de> Deserialize<'de> for RawResources {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ResourcesVisitor)
    }
}

struct ResourcesVisitor;

impl<'de> Visitor<'de> for ResourcesVisitor {
    type Value = RawResources;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping with `cpu`, `memory` and/or `gpu`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawResources, A::Error> {
        let mut res = RawResources::default();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            match key.value.as_str() {
                "cpu" => res.cpu = map.next_value()?,
                "memory" => res.memory = map.next_value()?,
                "gpu" => res.gpu = map.next_value()?,
                _ => {
                    res.unknown.push(unknown(&key, "resources", RESOURCE_KEYS));
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(res)
    }
}

/// A mapping with string keys, in the order written (matrix axes and env vars keep it).
#[derive(Debug)]
pub(super) struct OrderedMap<V>(pub Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OrderedMapVisitor(PhantomData))
    }
}

struct OrderedMapVisitor<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedMapVisitor<V> {
    type Value = OrderedMap<V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedMap<V>, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, V>()? {
            entries.push(entry);
        }
        Ok(OrderedMap(entries))
    }
}

/// A YAML sequence (see `RawWorkflow::deserialize` for why not `Vec`).
#[derive(Debug)]
pub(super) struct List<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ListVisitor(PhantomData))
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = List<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(List(items))
    }
}
