//! The serde layer of workflow.yaml: the file as YAML gives it, with positions, before any
//! meaning is attached. Hand-written visitors instead of derives, because we need
//! - every unknown key with its position (derives stop at the first, without a suggestion),
//! - every value in whatever shape it was written, so that a wrong one is reported by the
//!   conversion with its key path in plain words (`jobs[2].env must be a mapping of NAME:
//!   value, not a list`), never as serde's "invalid type: sequence, expected …" (no
//!   `untagged` either),
//! - scalars as their exact text (`yes` stays `yes`, `0.50` stays `0.50`).
//!
//! One generic node, [`Shape`], serves every value: a scalar, a list read as `L` or a mapping
//! read as `M`, whichever YAML gave. "One or many" (`command`, `depends`) is a `Shape` whose
//! list holds scalars; a plain setting is a `Shape` that reads past lists and mappings
//! ([`Skip`]), keeping only that they were there.
//!
//! Scalars reached through `deserialize_any` arrive typed when YAML thinks they are booleans
//! or numbers; those become [`Scalar::Typed`] and the conversion recovers their spelling from
//! the source text by the node's span.

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
    "params",
    "notebook_engine",
];

/// Keys of a job written as a mapping.
pub(super) const JOB_KEYS: &[&str] = &[
    "name",
    "command",
    "depends",
    "cmd_mode",
    "env",
    "resources",
    "node_selector",
    "tolerations",
    "retries",
    "timeout",
    "matrix",
    "notebook",
    "parameters",
];

/// Keys of a job's `resources`.
pub(super) const RESOURCE_KEYS: &[&str] = &["cpu", "memory", "gpu"];

/// Keys of a toleration, as Kubernetes spells them (users paste them from pod specs).
pub(super) const TOLERATION_KEYS: &[&str] =
    &["key", "operator", "value", "effect", "tolerationSeconds"];

/// A value and where it was written: its position, 1-based, and its bytes in the source (for
/// the spelling of a typed scalar). What serde-saphyr's `Spanned` says, kept small: a file
/// near the job cap holds a million of these, and `Spanned` keeps two full locations each.
#[derive(Debug)]
pub(super) struct Located<T> {
    pub value: T,
    pub pos: Pos,
    /// Byte offset and length in the source, when the parser knows them.
    pub bytes: Option<(usize, usize)>,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Located<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<T>::deserialize(deserializer)?;
        let at = &spanned.referenced;
        let span = at.span();
        let bytes = span
            .byte_offset()
            .zip(span.byte_len())
            .and_then(|(offset, len)| {
                Some((usize::try_from(offset).ok()?, usize::try_from(len).ok()?))
            });
        Ok(Located {
            pos: Pos {
                line: u32::try_from(at.line()).unwrap_or(u32::MAX),
                column: u32::try_from(at.column()).unwrap_or(u32::MAX),
            },
            bytes,
            value: spanned.value,
        })
    }
}

/// The position of a node.
pub(super) fn pos_of<T>(node: &Located<T>) -> Pos {
    node.pos
}

/// A key that is not one of `expected`, kept so that all of them can be reported at once.
#[derive(Debug)]
pub(super) struct UnknownKey {
    pub key: String,
    pub pos: Pos,
    pub within: &'static str,
    pub expected: &'static [&'static str],
}

/// The shape YAML gave a value, as messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Found {
    Nothing,
    Text,
    Boolean,
    Number,
    List,
    Mapping,
}

impl Found {
    pub(super) fn describe(self) -> &'static str {
        match self {
            Found::Nothing => "empty",
            Found::Text => "a string",
            Found::Boolean => "true/false",
            Found::Number => "a number",
            Found::List => "a list",
            Found::Mapping => "a mapping",
        }
    }
}

/// A scalar.
#[derive(Debug)]
pub(super) enum Scalar {
    /// YAML gave a string: this is its text.
    Text(String),
    /// YAML read a boolean or number (`Found::Boolean` or `Found::Number`); the text is its
    /// rendering, used only if the source spelling cannot be recovered (see the module doc).
    Typed(String, Found),
    /// `~`, `null` or nothing.
    Null,
}

/// A value in the shape YAML gave it: a scalar, a list read as `L`, or a mapping read as `M`.
#[derive(Debug)]
pub(super) enum Shape<L = Skip, M = Skip> {
    Scalar(Scalar),
    List(L),
    Mapping(M),
}

impl<L, M> Shape<L, M> {
    pub(super) fn found(&self) -> Found {
        match self {
            Shape::Scalar(Scalar::Text(_)) => Found::Text,
            Shape::Scalar(Scalar::Typed(_, found)) => *found,
            Shape::Scalar(Scalar::Null) => Found::Nothing,
            Shape::List(_) => Found::List,
            Shape::Mapping(_) => Found::Mapping,
        }
    }
}

/// Any value with its position.
pub(super) type Node<L = Skip, M = Skip> = Located<Shape<L, M>>;
/// A value that should be a list of `T`.
pub(super) type ListNode<T> = Node<Vec<T>>;
/// A value that should be a mapping with string keys and `V` values.
pub(super) type MapNode<V> = Node<Skip, Entries<V>>;

/// A list or mapping read past: where a scalar belongs, only its shape matters.
#[derive(Debug)]
pub(super) struct Skip;

/// How a `Shape` reads a list.
pub(super) trait FromList<'de>: Sized {
    fn from_list<A: SeqAccess<'de>>(seq: A) -> Result<Self, A::Error>;
}

/// How a `Shape` reads a mapping.
pub(super) trait FromMapping<'de>: Sized {
    fn from_mapping<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

impl<'de> FromList<'de> for Skip {
    fn from_list<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Skip)
    }
}

impl<'de> FromMapping<'de> for Skip {
    fn from_mapping<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Skip)
    }
}

impl<'de, T: Deserialize<'de>> FromList<'de> for Vec<T> {
    fn from_list<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(items)
    }
}

impl<'de, M: FromMapping<'de>> FromMapping<'de> for Box<M> {
    fn from_mapping<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        M::from_mapping(map).map(Box::new)
    }
}

/// A mapping's entries in the order written (matrix axes and env vars keep it), keys with
/// their positions.
#[derive(Debug)]
pub(super) struct Entries<V>(pub Vec<(Located<String>, V)>);

impl<'de, V: Deserialize<'de>> FromMapping<'de> for Entries<V> {
    fn from_mapping<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Entries(entries))
    }
}

impl<'de, L: FromList<'de>, M: FromMapping<'de>> Deserialize<'de> for Shape<L, M> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ShapeVisitor(PhantomData))
    }
}

struct ShapeVisitor<L, M>(PhantomData<(L, M)>);

impl<'de, L: FromList<'de>, M: FromMapping<'de>> Visitor<'de> for ShapeVisitor<L, M> {
    type Value = Shape<L, M>;

    // Only seen if YAML hands over something no visit below takes (an unusual tag); every
    // shape of plain YAML is accepted and judged by the conversion.
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a plain YAML value (a string, number, list or mapping)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Shape::Scalar(Scalar::Text(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Shape::Scalar(Scalar::Text(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Shape::Scalar(Scalar::Typed(v.to_string(), Found::Boolean)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Shape::Scalar(Scalar::Typed(v.to_string(), Found::Number)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Shape::Scalar(Scalar::Typed(v.to_string(), Found::Number)))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Self::Value, E> {
        Ok(Shape::Scalar(Scalar::Typed(v.to_string(), Found::Number)))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
        Ok(Shape::Scalar(Scalar::Typed(v.to_string(), Found::Number)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Shape::Scalar(Scalar::Typed(v.to_string(), Found::Number)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Shape::Scalar(Scalar::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Shape::Scalar(Scalar::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        Shape::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        L::from_list(seq).map(Shape::List)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        M::from_mapping(map).map(Shape::Mapping)
    }
}

/// The whole file.
#[derive(Debug, Default)]
pub(super) struct RawWorkflow {
    pub version: Option<Node>,
    pub name: Option<Node>,
    /// Each job: a command string (a scalar) or a mapping.
    pub jobs: Option<ListNode<Node<Skip, Box<JobMap>>>>,
    pub cmd_mode: Option<Node>,
    pub dags: Option<ListNode<Node>>,
    pub schedule: Option<Node>,
    pub timezone: Option<Node>,
    pub concurrency_policy: Option<Node>,
    pub parallelism: Option<Node>,
    pub retries: Option<Node>,
    pub timeout: Option<Node>,
    pub ttl: Option<Node>,
    pub labels: Option<MapNode<Node>>,
    pub params: Option<MapNode<Node>>,
    pub notebook_engine: Option<Node>,
    pub unknown: Vec<UnknownKey>,
}

impl<'de> FromMapping<'de> for RawWorkflow {
    fn from_mapping<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut wf = RawWorkflow::default();
        while let Some(key) = map.next_key::<Located<String>>()? {
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
                "params" => wf.params = map.next_value()?,
                "notebook_engine" => wf.notebook_engine = map.next_value()?,
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
    key: &Located<String>,
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

/// A job in mapping form.
#[derive(Debug, Default)]
pub(super) struct JobMap {
    pub name: Option<Node>,
    /// One string (tokenised like the original format) or a list: an exact argv.
    pub command: Option<ListNode<Node>>,
    /// One reference or a list of them.
    pub depends: Option<ListNode<Node>>,
    pub cmd_mode: Option<Node>,
    pub env: Option<MapNode<Node>>,
    pub resources: Option<Node<Skip, RawResources>>,
    pub node_selector: Option<MapNode<Node>>,
    pub tolerations: Option<ListNode<Node<Skip, RawToleration>>>,
    pub retries: Option<Node>,
    pub timeout: Option<Node>,
    /// Values are optional so that `key:` with nothing parses, for `dag` to report.
    pub matrix: Option<MapNode<Option<ListNode<Node>>>>,
    /// A notebook step instead of `command`: the notebook's path.
    pub notebook: Option<Node>,
    /// The notebook's parameters, `name: value`.
    pub parameters: Option<MapNode<Node>>,
    pub unknown: Vec<UnknownKey>,
}

impl<'de> FromMapping<'de> for JobMap {
    fn from_mapping<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut job = JobMap::default();
        while let Some(key) = map.next_key::<Located<String>>()? {
            match key.value.as_str() {
                "name" => job.name = map.next_value()?,
                "command" => job.command = map.next_value()?,
                "depends" => job.depends = map.next_value()?,
                "cmd_mode" => job.cmd_mode = map.next_value()?,
                "env" => job.env = map.next_value()?,
                "resources" => job.resources = map.next_value()?,
                "node_selector" => job.node_selector = map.next_value()?,
                "tolerations" => job.tolerations = map.next_value()?,
                "retries" => job.retries = map.next_value()?,
                "timeout" => job.timeout = map.next_value()?,
                "matrix" => job.matrix = map.next_value()?,
                "notebook" => job.notebook = map.next_value()?,
                "parameters" => job.parameters = map.next_value()?,
                _ => {
                    job.unknown.push(unknown(&key, "a job", JOB_KEYS));
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(job)
    }
}

/// A job's `resources`. Quantities are text so `0.5` stays `0.5`; `dag` checks them.
#[derive(Debug, Default)]
pub(super) struct RawResources {
    pub cpu: Option<Node>,
    pub memory: Option<Node>,
    pub gpu: Option<Node>,
    pub unknown: Vec<UnknownKey>,
}

impl<'de> FromMapping<'de> for RawResources {
    fn from_mapping<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut res = RawResources::default();
        while let Some(key) = map.next_key::<Located<String>>()? {
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

/// One of a job's `tolerations`.
#[derive(Debug, Default)]
pub(super) struct RawToleration {
    pub key: Option<Node>,
    pub operator: Option<Node>,
    pub value: Option<Node>,
    pub effect: Option<Node>,
    pub toleration_seconds: Option<Node>,
    pub unknown: Vec<UnknownKey>,
}

impl<'de> FromMapping<'de> for RawToleration {
    fn from_mapping<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut t = RawToleration::default();
        while let Some(key) = map.next_key::<Located<String>>()? {
            match key.value.as_str() {
                "key" => t.key = map.next_value()?,
                "operator" => t.operator = map.next_value()?,
                "value" => t.value = map.next_value()?,
                "effect" => t.effect = map.next_value()?,
                "tolerationSeconds" => t.toleration_seconds = map.next_value()?,
                _ => {
                    t.unknown
                        .push(unknown(&key, "a toleration", TOLERATION_KEYS));
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(t)
    }
}
