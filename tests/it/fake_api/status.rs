//! Kubernetes `Status` error bodies with the real API server's codes, reasons, messages and
//! details. Builds values only; `http.rs` turns an `ApiError` into a response.

use serde_json::{Map, Value, json};

use super::resources::Res;
use super::validate::Cause;

/// An error answer: HTTP code, `Status` body, and an optional `Retry-After` header.
#[derive(Debug)]
pub(super) struct ApiError {
    pub(super) code: u16,
    pub(super) body: Value,
    pub(super) retry_after: Option<u32>,
}

fn failure(code: u16, reason: &str, message: &str, details: Option<Value>) -> ApiError {
    let mut body = Map::new();
    body.insert("kind".into(), "Status".into());
    body.insert("apiVersion".into(), "v1".into());
    body.insert("metadata".into(), json!({}));
    body.insert("status".into(), "Failure".into());
    body.insert("message".into(), message.into());
    // The API server leaves out an unknown (empty) reason.
    if !reason.is_empty() {
        body.insert("reason".into(), reason.into());
    }
    if let Some(details) = details {
        body.insert("details".into(), details);
    }
    body.insert("code".into(), code.into());
    ApiError {
        code,
        body: Value::Object(body),
        retry_after: None,
    }
}

fn details(res: Res, name: Option<&str>) -> Value {
    let def = res.def();
    let mut d = Map::new();
    if let Some(name) = name {
        d.insert("name".into(), name.into());
    }
    d.insert("group".into(), def.group.into());
    d.insert("kind".into(), def.plural.into());
    Value::Object(d)
}

pub(super) fn unauthorized() -> ApiError {
    failure(401, "Unauthorized", "Unauthorized", None)
}

/// `resource` may name a subresource (`pods/log`); the message names the resource as RBAC sees it.
pub(super) fn forbidden(
    res: Res,
    verb: &str,
    resource: &str,
    name: Option<&str>,
    ns: Option<&str>,
) -> ApiError {
    let def = res.def();
    forbidden_in(def.group, def.plural, verb, resource, name, ns)
}

/// RBAC's 403 for any resource, by API group and plural (also the ones `Res` does not list:
/// selfsubjectaccessreviews, customresourcedefinitions).
pub(super) fn forbidden_in(
    group: &str,
    plural: &str,
    verb: &str,
    resource: &str,
    name: Option<&str>,
    ns: Option<&str>,
) -> ApiError {
    let qualified = if group.is_empty() {
        plural.to_owned()
    } else {
        format!("{plural}.{group}")
    };
    let subject = match name {
        Some(name) => format!("{qualified} \"{name}\""),
        None => qualified,
    };
    let user_ns = ns.unwrap_or("default");
    let scope = match ns {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_owned(),
    };
    let message = format!(
        "{subject} is forbidden: User \"system:serviceaccount:{user_ns}:default-editor\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}"
    );
    let mut d = Map::new();
    if let Some(name) = name {
        d.insert("name".into(), name.into());
    }
    d.insert("group".into(), group.into());
    d.insert("kind".into(), plural.into());
    failure(403, "Forbidden", &message, Some(Value::Object(d)))
}

/// An unknown path, or an Argo path when Argo is not installed.
pub(super) fn path_not_found() -> ApiError {
    failure(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

pub(super) fn not_found(res: Res, name: &str) -> ApiError {
    let message = format!("{} \"{name}\" not found", res.def().qualified());
    failure(404, "NotFound", &message, Some(details(res, Some(name))))
}

pub(super) fn already_exists(res: Res, name: &str) -> ApiError {
    let message = format!("{} \"{name}\" already exists", res.def().qualified());
    failure(
        409,
        "AlreadyExists",
        &message,
        Some(details(res, Some(name))),
    )
}

pub(super) fn conflict(res: Res, name: &str) -> ApiError {
    let message = format!(
        "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
        res.def().qualified()
    );
    failure(409, "Conflict", &message, Some(details(res, Some(name))))
}

pub(super) fn invalid(res: Res, name: &str, causes: &[Cause]) -> ApiError {
    let def = res.def();
    let kind = if def.group.is_empty() {
        def.kind.to_owned()
    } else {
        format!("{}.{}", def.kind, def.group)
    };
    let lines: Vec<String> = causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect();
    let summary = if let [one] = lines.as_slice() {
        one.clone()
    } else {
        format!("[{}]", lines.join(", "))
    };
    let message = format!("{kind} \"{name}\" is invalid: {summary}");
    let mut d = details(res, Some(name));
    d["causes"] = causes
        .iter()
        .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
        .collect();
    failure(422, "Invalid", &message, Some(d))
}

/// `errors.NewInvalid` for a kind `Res` does not list (`PodLogOptions`,
/// `SelfSubjectAccessReview.authorization.k8s.io`): details name the kind, not the plural.
pub(super) fn invalid_kind(group: &str, kind: &str, name: &str, causes: &[Cause]) -> ApiError {
    let qualified = if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}.{group}")
    };
    let lines: Vec<String> = causes
        .iter()
        .map(|c| {
            if c.field.is_empty() {
                format!(": {}", c.message)
            } else {
                format!("{}: {}", c.field, c.message)
            }
        })
        .collect();
    let summary = if let [one] = lines.as_slice() {
        one.clone()
    } else {
        format!("[{}]", lines.join(", "))
    };
    let message = format!("{qualified} \"{name}\" is invalid: {summary}");
    let d = json!({
        "name": name,
        "group": group,
        "kind": kind,
        "causes": causes
            .iter()
            .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
            .collect::<Vec<Value>>(),
    });
    failure(422, "Invalid", &message, Some(d))
}

/// The 400 a create or update gets with `fieldValidation=Strict` when the body has fields the
/// schema does not declare: the decoder's strict error (`unknown field "spec.x"`, sorted,
/// comma-separated) wrapped by the handler's `transformDecodeError`.
pub(super) fn strict_decoding(kind: &str, version: &str, unknown: &[String]) -> ApiError {
    let errors: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    let message = format!(
        "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
        errors.join(", ")
    );
    bad_request(&message)
}

/// A 404 for a named object of a resource `Res` does not list (a CustomResourceDefinition).
pub(super) fn not_found_in(group: &str, plural: &str, name: &str) -> ApiError {
    let message = format!("{plural}.{group} \"{name}\" not found");
    failure(
        404,
        "NotFound",
        &message,
        Some(json!({"name": name, "group": group, "kind": plural})),
    )
}

/// A 422 from an admission policy: no object details, one field cause.
pub(super) fn policy_invalid(field: &str, message: &str) -> ApiError {
    failure(
        422,
        "Invalid",
        &format!("admission webhook \"policy.example.com\" denied the request: {field}: {message}"),
        Some(
            json!({"causes": [{"reason": "FieldValueInvalid", "message": message, "field": field}]}),
        ),
    )
}

pub(super) fn bad_request(message: &str) -> ApiError {
    failure(400, "BadRequest", message, None)
}

pub(super) fn method_not_allowed() -> ApiError {
    failure(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        None,
    )
}

pub(super) fn unsupported_patch(content_type: Option<&str>) -> ApiError {
    let message = format!(
        "the body of the request was in an unknown format - accepted media types include: application/merge-patch+json (got {})",
        content_type.unwrap_or("no Content-Type")
    );
    failure(415, "UnsupportedMediaType", &message, None)
}

pub(super) fn request_too_large() -> ApiError {
    failure(
        413,
        "RequestEntityTooLarge",
        "Request entity too large: limit is 3145728",
        None,
    )
}

/// What a real server answers when etcd refuses an object over its 1.5 MiB request limit: the
/// raw etcd error, so no reason.
pub(super) fn etcd_too_large() -> ApiError {
    failure(500, "", "etcdserver: request is too large", None)
}

/// The 410 a watch gets, as an ERROR event, when its resourceVersion left the event history.
pub(super) fn expired(asked: u64, oldest: u64) -> ApiError {
    let message = format!("too old resource version: {asked} ({oldest})");
    failure(410, "Expired", &message, None)
}

/// An injected fault, shaped like what the API server (or its priority-and-fairness filter)
/// answers with that code.
pub(super) fn fault(code: u16, retry_after: Option<u32>) -> ApiError {
    let (reason, message) = match code {
        400 => ("BadRequest", "injected fault: bad request"),
        401 => ("Unauthorized", "Unauthorized"),
        403 => ("Forbidden", "injected fault: forbidden"),
        404 => (
            "NotFound",
            "the server could not find the requested resource",
        ),
        409 => ("Conflict", "injected fault: conflict"),
        410 => ("Expired", "injected fault: resource version too old"),
        429 => (
            "TooManyRequests",
            "Too many requests, please try again later.",
        ),
        500 => ("InternalError", "Internal error occurred: injected fault"),
        503 => (
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        ),
        504 => (
            "Timeout",
            "Timeout: request did not complete within requested timeout - context deadline exceeded",
        ),
        _ => ("", "injected fault"),
    };
    let details = retry_after.map(|s| json!({ "retryAfterSeconds": s }));
    let mut e = failure(code, reason, message, details);
    e.retry_after = retry_after;
    e
}
