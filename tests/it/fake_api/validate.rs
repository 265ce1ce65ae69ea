//! Create/update validation as the API server (and Argo's CRD schema) does it: kind and
//! apiVersion, metadata.name as a DNS-1123 subdomain, label keys and values, a required `spec`.
//! Returns causes only; `status.rs` builds the 422 from them.

use serde_json::Value;

use super::resources::Res;

/// One `details.causes` entry of a 422.
#[derive(Debug)]
pub(super) struct Cause {
    pub(super) field: String,
    pub(super) reason: &'static str,
    pub(super) message: String,
}

fn invalid(field: &str, value: &str, detail: &str) -> Cause {
    Cause {
        field: field.to_owned(),
        reason: "FieldValueInvalid",
        message: format!("Invalid value: \"{value}\": {detail}"),
    }
}

fn required(field: &str, detail: Option<&str>) -> Cause {
    Cause {
        field: field.to_owned(),
        reason: "FieldValueRequired",
        message: match detail {
            Some(d) => format!("Required value: {d}"),
            None => "Required value".to_owned(),
        },
    }
}

const DNS1123_SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_VALUE: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const LABEL_NAME: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

/// The problems with `name` as a DNS-1123 subdomain of at most `max` characters.
pub(super) fn subdomain_errors(name: &str, max: usize) -> Vec<String> {
    let mut errs = Vec::new();
    if name.len() > max {
        errs.push(format!("must be no more than {max} characters"));
    }
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
    };
    if !name.split('.').all(label_ok) {
        errs.push(DNS1123_SUBDOMAIN.to_owned());
    }
    errs
}

/// Alphanumeric at both ends, `[-A-Za-z0-9_.]` between.
fn label_chars_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// The problems with a label (or selector) value.
pub(super) fn label_value_errors(v: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if v.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    if !v.is_empty() && !label_chars_ok(v) {
        errs.push(LABEL_VALUE.to_owned());
    }
    errs
}

/// The problems with a label key: an optional DNS-subdomain prefix and `/`, then a name part.
pub(super) fn label_key_errors(k: &str) -> Vec<String> {
    let (prefix, name) = match k.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    let mut errs = Vec::new();
    if let Some(p) = prefix {
        if p.is_empty() {
            errs.push("prefix part must be non-empty".to_owned());
        } else {
            errs.extend(
                subdomain_errors(p, 253)
                    .into_iter()
                    .map(|e| format!("prefix part {e}")),
            );
        }
    }
    if name.is_empty() {
        errs.push("name part must be non-empty".to_owned());
    } else {
        if name.len() > 63 {
            errs.push("name part must be no more than 63 characters".to_owned());
        }
        if !label_chars_ok(name) {
            errs.push(LABEL_NAME.to_owned());
        }
    }
    errs
}

/// Everything wrong with `obj` as a new or updated `res` object (its name already chosen).
pub(super) fn check(res: Res, obj: &Value) -> Vec<Cause> {
    let def = res.def();
    let mut causes = Vec::new();
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    if kind != def.kind {
        causes.push(invalid("kind", kind, &format!("must be {}", def.kind)));
    }
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if api_version != def.api_version() {
        causes.push(invalid(
            "apiVersion",
            api_version,
            &format!("must be {}", def.api_version()),
        ));
    }
    let meta = obj.get("metadata");
    match meta.and_then(|m| m.get("name")).and_then(Value::as_str) {
        None | Some("") => causes.push(required(
            "metadata.name",
            Some("name or generateName is required"),
        )),
        Some(name) => causes.extend(
            subdomain_errors(name, def.max_name)
                .iter()
                .map(|e| invalid("metadata.name", name, e)),
        ),
    }
    if let Some(labels) = meta.and_then(|m| m.get("labels")) {
        match labels.as_object() {
            Some(labels) => {
                for (k, v) in labels {
                    causes.extend(
                        label_key_errors(k)
                            .iter()
                            .map(|e| invalid("metadata.labels", k, e)),
                    );
                    match v.as_str() {
                        Some(v) => causes.extend(
                            label_value_errors(v)
                                .iter()
                                .map(|e| invalid("metadata.labels", v, e)),
                        ),
                        None => causes.push(invalid(
                            &format!("metadata.labels.{k}"),
                            &v.to_string(),
                            "must be a string",
                        )),
                    }
                }
            }
            None if labels.is_null() => {}
            None => causes.push(invalid(
                "metadata.labels",
                &labels.to_string(),
                "must be an object",
            )),
        }
    }
    if obj.get("spec").is_none_or(Value::is_null) {
        causes.push(required("spec", None));
    }
    causes
}
