//! The object store: pods, PVCs, Workflows and CronWorkflows as JSON under one global
//! resourceVersion; create/get/list/patch/replace/delete with the API server's rules; the event
//! history and live watchers. Knows nothing of HTTP or auth.

use std::collections::{BTreeMap, VecDeque};

use hyper::body::Bytes;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::clock::now_rfc3339;
use super::crd::Schema;
use super::faults::Rng;
use super::resources::Res;
use super::select::Filter;
use super::status::{self, ApiError};
use super::validate;

/// etcd's default request limit; a bigger object fails with "request is too large".
const MAX_OBJECT_BYTES: usize = 1_572_864;
/// Events kept for watches that resume from a resourceVersion; older ones get 410 Expired.
const HISTORY: usize = 10_000;
const NAME_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

#[derive(Clone, Copy, PartialEq, Eq)]
enum EventKind {
    Added,
    Modified,
    Deleted,
}

struct Event {
    rv: u64,
    res: Res,
    ns: String,
    kind: EventKind,
    old: Option<Value>,
    new: Value,
}

struct Watcher {
    res: Res,
    ns: Option<String>,
    filter: Filter,
    tx: UnboundedSender<Bytes>,
}

impl Watcher {
    /// The line this watcher gets for `ev`, if any. An update that moves an object into or out
    /// of the selector is ADDED or DELETED, as on a real server.
    fn line(&self, ev: &Event) -> Option<Bytes> {
        if ev.res != self.res || self.ns.as_ref().is_some_and(|ns| *ns != ev.ns) {
            return None;
        }
        let now = self.filter.matches(&ev.new);
        let before = ev.old.as_ref().map(|o| self.filter.matches(o));
        let ty = match (ev.kind, before, now) {
            (EventKind::Added, _, true) | (EventKind::Modified, Some(false), true) => "ADDED",
            (EventKind::Modified, Some(true), true) => "MODIFIED",
            (EventKind::Modified, Some(true), false) | (EventKind::Deleted, _, true) => "DELETED",
            _ => return None,
        };
        Some(event_line(ty, &ev.new))
    }
}

/// One watch line: `{"type":"ADDED","object":{...}}` and a newline.
pub(super) fn event_line(ty: &str, obj: &Value) -> Bytes {
    let mut line = format!("{{\"type\":\"{ty}\",\"object\":").into_bytes();
    serde_json::to_writer(&mut line, obj).expect("a JSON value serialises");
    line.extend_from_slice(b"}\n");
    Bytes::from(line)
}

struct Stored {
    seq: u64,
    obj: Value,
}

type Key = (Res, String, String);

pub(super) struct Store {
    rv: u64,
    seq: u64,
    objects: BTreeMap<Key, Stored>,
    history: VecDeque<Event>,
    /// The resourceVersion of the newest event dropped from `history`.
    compacted: u64,
    watchers: Vec<Watcher>,
    rng: Rng,
    /// The installed Argo CRDs, for the fields their schema requires.
    pub(super) schema: Schema,
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    let Value::Object(o) = obj else {
        unreachable!("objects are checked to be JSON objects first")
    };
    let meta = o
        .entry("metadata")
        .and_modify(|m| {
            if !m.is_object() {
                *m = json!({});
            }
        })
        .or_insert_with(|| json!({}));
    meta.as_object_mut()
        .expect("metadata was just made an object")
}

/// RFC 7386 JSON merge patch: objects merge key by key, `null` deletes, anything else replaces.
pub(super) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let target = target
        .as_object_mut()
        .expect("target was just made an object");
    for (k, v) in patch {
        if v.is_null() {
            target.remove(k);
        } else {
            merge_patch(target.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

impl Store {
    pub(super) fn new() -> Store {
        Store {
            rv: 1000,
            seq: 0,
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            compacted: 0,
            watchers: Vec::new(),
            rng: Rng::from_clock(),
            schema: Schema::default(),
        }
    }

    /// The newest resourceVersion (what a list answers with).
    pub(super) fn resource_version(&self) -> u64 {
        self.rv
    }

    pub(super) fn random_token(&mut self) -> String {
        format!(
            "fake-{:016x}{:016x}",
            self.rng.next_u64(),
            self.rng.next_u64()
        )
    }

    fn uid(&mut self) -> String {
        let a = self.rng.next_u64();
        let b = self.rng.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48 & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    fn key(res: Res, ns: &str, name: &str) -> Key {
        (res, ns.to_owned(), name.to_owned())
    }

    /// Fills apiVersion, kind and metadata.namespace; picks a name from generateName.
    fn prepare(&mut self, res: Res, ns: &str, obj: &mut Value) {
        let def = res.def();
        if let Value::Object(o) = obj {
            o.entry("apiVersion")
                .or_insert_with(|| def.api_version().into());
            o.entry("kind").or_insert_with(|| def.kind.into());
        }
        let has_name = meta_str(obj, "name").is_some_and(|n| !n.is_empty());
        let generate = meta_str(obj, "generateName").map(str::to_owned);
        let meta = meta_mut(obj);
        meta.insert("namespace".into(), ns.into());
        if let (false, Some(prefix)) = (has_name, generate) {
            // The API server retries a taken generated name; so do we.
            let name = loop {
                let suffix: String = (0..5)
                    .map(|_| {
                        let i =
                            usize::try_from(self.rng.below(NAME_CHARS.len() as u64)).unwrap_or(0);
                        char::from(NAME_CHARS[i])
                    })
                    .collect();
                let name = format!("{prefix}{suffix}");
                if !self.objects.contains_key(&Store::key(res, ns, &name)) {
                    break name;
                }
            };
            meta.insert("name".into(), name.into());
        }
    }

    fn check_size(obj: &Value) -> Result<(), ApiError> {
        let len = serde_json::to_vec(obj).map_or(0, |v| v.len());
        if len > MAX_OBJECT_BYTES {
            return Err(status::etcd_too_large());
        }
        Ok(())
    }

    /// Everything wrong with `obj`: the API server's checks and the CRD schema's required fields.
    fn check(&self, res: Res, obj: &Value) -> Vec<validate::Cause> {
        let mut causes = validate::check(res, obj);
        causes.extend(self.schema.required_causes(res, obj));
        causes
    }

    /// POST: validate, refuse a taken name or an oversized object, store, emit ADDED.
    /// With `dry_run`, everything but the storing: the answer has the generated name, uid and
    /// creationTimestamp but no resourceVersion (a real dry run never reaches etcd), and no
    /// watcher hears of it.
    pub(super) fn create(
        &mut self,
        res: Res,
        ns: &str,
        mut obj: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        self.prepare(res, ns, &mut obj);
        let name = meta_str(&obj, "name").unwrap_or_default().to_owned();
        let causes = self.check(res, &obj);
        if !causes.is_empty() {
            return Err(status::invalid(res, &name, &causes));
        }
        if self.objects.contains_key(&Store::key(res, ns, &name)) {
            return Err(status::already_exists(res, &name));
        }
        let uid = self.uid();
        let meta = meta_mut(&mut obj);
        meta.insert("uid".into(), uid.into());
        meta.insert("creationTimestamp".into(), now_rfc3339().into());
        if dry_run {
            meta.remove("resourceVersion");
        } else {
            meta.insert("resourceVersion".into(), (self.rv + 1).to_string().into());
        }
        Store::check_size(&obj)?;
        if !dry_run {
            self.insert(res, ns, &name, obj.clone(), None);
        }
        Ok(obj)
    }

    /// Commits a new or changed object under the next resourceVersion and tells watchers.
    fn insert(&mut self, res: Res, ns: &str, name: &str, obj: Value, old: Option<Value>) {
        self.rv += 1;
        let key = Store::key(res, ns, name);
        let seq = if let Some(s) = self.objects.get(&key) {
            s.seq
        } else {
            self.seq += 1;
            self.seq
        };
        let kind = if old.is_some() {
            EventKind::Modified
        } else {
            EventKind::Added
        };
        self.objects.insert(
            key,
            Stored {
                seq,
                obj: obj.clone(),
            },
        );
        self.emit(Event {
            rv: self.rv,
            res,
            ns: ns.to_owned(),
            kind,
            old,
            new: obj,
        });
    }

    fn emit(&mut self, ev: Event) {
        self.watchers.retain(|w| match w.line(&ev) {
            Some(line) => w.tx.send(line).is_ok(),
            None => !w.tx.is_closed(),
        });
        self.history.push_back(ev);
        while self.history.len() > HISTORY {
            if let Some(old) = self.history.pop_front() {
                self.compacted = old.rv;
            }
        }
    }

    /// The test helpers' add: no validation; an existing object is replaced (MODIFIED);
    /// resourceVersion, uid and creationTimestamp are filled only when missing.
    pub(super) fn upsert(&mut self, res: Res, ns: &str, mut obj: Value) -> Value {
        assert!(
            obj.is_object(),
            "a {} must be a JSON object",
            res.def().kind
        );
        self.prepare(res, ns, &mut obj);
        let name = meta_str(&obj, "name")
            .expect("the object has metadata.name or generateName")
            .to_owned();
        let old = self
            .objects
            .get(&Store::key(res, ns, &name))
            .map(|s| s.obj.clone());
        let uid = old
            .as_ref()
            .and_then(|o| meta_str(o, "uid"))
            .map_or_else(|| self.uid(), str::to_owned);
        let created = old
            .as_ref()
            .and_then(|o| meta_str(o, "creationTimestamp"))
            .map_or_else(now_rfc3339, str::to_owned);
        let rv = (self.rv + 1).to_string();
        let meta = meta_mut(&mut obj);
        meta.entry("uid").or_insert_with(|| uid.into());
        meta.entry("creationTimestamp")
            .or_insert_with(|| created.into());
        meta.entry("resourceVersion").or_insert_with(|| rv.into());
        self.insert(res, ns, &name, obj.clone(), old);
        obj
    }

    pub(super) fn get(&self, res: Res, ns: &str, name: &str) -> Result<Value, ApiError> {
        self.objects
            .get(&Store::key(res, ns, name))
            .map(|s| s.obj.clone())
            .ok_or_else(|| status::not_found(res, name))
    }

    fn matching<'a>(
        &'a self,
        res: Res,
        ns: Option<&'a str>,
        filter: &'a Filter,
    ) -> impl Iterator<Item = &'a Stored> + 'a {
        self.objects
            .iter()
            .filter(move |((r, n, _), s)| {
                *r == res && ns.is_none_or(|ns| ns == n) && filter.matches(&s.obj)
            })
            .map(|(_, s)| s)
    }

    /// A list document, items in name order as etcd returns them.
    pub(super) fn list(&self, res: Res, ns: Option<&str>, filter: &Filter) -> Value {
        let def = res.def();
        let items: Vec<Value> = self
            .matching(res, ns, filter)
            .map(|s| s.obj.clone())
            .collect();
        json!({
            "apiVersion": def.api_version(),
            "kind": def.list_kind,
            "metadata": {"resourceVersion": self.rv.to_string()},
            "items": items,
        })
    }

    /// A namespace's objects in creation order (for test assertions).
    pub(super) fn objects(&self, res: Res, ns: &str) -> Vec<Value> {
        let all = Filter::default();
        let mut found: Vec<&Stored> = self.matching(res, Some(ns), &all).collect();
        found.sort_by_key(|s| s.seq);
        found.into_iter().map(|s| s.obj.clone()).collect()
    }

    /// Writes `new` over `old`, keeping identity fields; refuses invalid or oversized objects.
    fn update(
        &mut self,
        res: Res,
        ns: &str,
        name: &str,
        old: Value,
        mut new: Value,
    ) -> Result<Value, ApiError> {
        if !new.is_object() {
            return Err(status::bad_request("the object must be a JSON object"));
        }
        let rv = (self.rv + 1).to_string();
        let meta = meta_mut(&mut new);
        for field in ["name", "namespace", "uid", "creationTimestamp"] {
            match meta_str(&old, field) {
                Some(v) => meta.insert(field.into(), v.into()),
                None => meta.remove(field),
            };
        }
        meta.insert("resourceVersion".into(), rv.into());
        let causes = self.check(res, &new);
        if !causes.is_empty() {
            return Err(status::invalid(res, name, &causes));
        }
        Store::check_size(&new)?;
        self.insert(res, ns, name, new.clone(), Some(old));
        Ok(new)
    }

    /// Merge-patches an object. A `metadata.resourceVersion` in the patch is a precondition
    /// (409 Conflict when stale). With `skip_noop`, a patch that changes nothing writes nothing,
    /// as on a real server.
    pub(super) fn patch(
        &mut self,
        res: Res,
        ns: &str,
        name: &str,
        patch: &Value,
        skip_noop: bool,
    ) -> Result<Value, ApiError> {
        let old = self.get(res, ns, name)?;
        if let Some(rv) = patch
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            && Some(rv) != meta_str(&old, "resourceVersion")
        {
            return Err(status::conflict(res, name));
        }
        let mut new = old.clone();
        merge_patch(&mut new, patch);
        if skip_noop && new == old {
            return Ok(old);
        }
        self.update(res, ns, name, old, new)
    }

    /// PUT: the body replaces the object. Its resourceVersion must be current; custom
    /// resources require one.
    pub(super) fn replace(
        &mut self,
        res: Res,
        ns: &str,
        name: &str,
        new: Value,
    ) -> Result<Value, ApiError> {
        let old = self.get(res, ns, name)?;
        if let Some(body_name) = meta_str(&new, "name")
            && body_name != name
        {
            return Err(status::bad_request(&format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        match meta_str(&new, "resourceVersion") {
            Some(rv) if Some(rv) != meta_str(&old, "resourceVersion") => {
                return Err(status::conflict(res, name));
            }
            None if !res.def().group.is_empty() => {
                let cause = validate::Cause {
                    field: "metadata.resourceVersion".into(),
                    reason: "FieldValueInvalid",
                    message: "Invalid value: 0x0: must be specified for an update".into(),
                };
                return Err(status::invalid(res, name, &[cause]));
            }
            _ => {}
        }
        self.update(res, ns, name, old, new)
    }

    /// Removes an object and emits DELETED with its last state under a new resourceVersion.
    pub(super) fn delete(&mut self, res: Res, ns: &str, name: &str) -> Result<Value, ApiError> {
        let stored = self
            .objects
            .remove(&Store::key(res, ns, name))
            .ok_or_else(|| status::not_found(res, name))?;
        self.rv += 1;
        let mut last = stored.obj.clone();
        meta_mut(&mut last).insert("resourceVersion".into(), self.rv.to_string().into());
        self.emit(Event {
            rv: self.rv,
            res,
            ns: ns.to_owned(),
            kind: EventKind::Deleted,
            old: Some(stored.obj),
            new: last.clone(),
        });
        Ok(last)
    }

    /// Starts a watch. `since` None or 0: ADDED for every matching object (then, when
    /// `initial_end_bookmark`, the BOOKMARK that `sendInitialEvents=true` asks for), then live
    /// events; `since` N: the history after N, then live events (410 Expired as an ERROR event
    /// when N is older than the history).
    pub(super) fn watch(
        &mut self,
        res: Res,
        ns: Option<String>,
        filter: Filter,
        since: Option<u64>,
        initial_end_bookmark: bool,
    ) -> UnboundedReceiver<Bytes> {
        let (tx, rx) = unbounded_channel();
        let watcher = Watcher {
            res,
            ns,
            filter,
            tx,
        };
        match since {
            None | Some(0) => {
                for s in self.matching(res, watcher.ns.as_deref(), &watcher.filter) {
                    let _ = watcher.tx.send(event_line("ADDED", &s.obj));
                }
                if initial_end_bookmark {
                    let def = res.def();
                    let bookmark = json!({
                        "kind": def.kind,
                        "apiVersion": def.api_version(),
                        "metadata": {
                            "resourceVersion": self.rv.to_string(),
                            "annotations": {"k8s.io/initial-events-end": "true"},
                        },
                    });
                    let _ = watcher.tx.send(event_line("BOOKMARK", &bookmark));
                }
            }
            Some(n) if n < self.compacted => {
                let oldest = self.history.front().map_or(self.rv, |e| e.rv);
                let err = status::expired(n, oldest);
                let _ = watcher.tx.send(event_line("ERROR", &err.body));
                return rx;
            }
            Some(n) => {
                for ev in self.history.iter().filter(|e| e.rv > n) {
                    if let Some(line) = watcher.line(ev) {
                        let _ = watcher.tx.send(line);
                    }
                }
            }
        }
        self.watchers.push(watcher);
        rx
    }
}
