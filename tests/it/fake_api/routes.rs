//! Routing: maps a path to a discovery document or a resource (collection, object, pod log,
//! access review, CRD), decides the RBAC verb, then runs list/watch/create/get/patch/update/
//! delete/log against the store with the API server's checks (field validation of custom
//! resources included). Runs with the state lock held, so it never awaits.

use std::time::{Duration, SystemTime};

use hyper::header::HeaderValue;
use hyper::http::request::Parts;
use hyper::{Method, Response};
use serde_json::{Value, json};

use super::crd::{CRD_GROUP, CRD_PLURAL};
use super::http::{self, Body, RequestBody};
use super::logs::{LogOptions, LogRead};
use super::resources::{ARGO_GROUP, NETWORKING_GROUP, Res};
use super::select::{FieldSelector, Filter, LabelSelector};
use super::status::{self, ApiError};
use super::validate::Cause;
use super::{Shared, State, clock, discovery, lock, review};

/// What a path names (a CustomResourceDefinition by name, or with `None` their list).
enum Target {
    Doc(Value),
    Collection { res: Res, ns: Option<String> },
    Object { res: Res, ns: String, name: String },
    Log { ns: String, name: String },
    AccessReview,
    Crd(Option<String>),
}

fn resolve(path: &str, st: &State, shared: &Shared) -> Result<Target, ApiError> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let argo = |doc: Value| {
        if st.argo_installed {
            Ok(Target::Doc(doc))
        } else {
            Err(status::path_not_found())
        }
    };
    let (group, rest) = match segs.as_slice() {
        ["version"] => return Ok(Target::Doc(discovery::version())),
        ["api"] => return Ok(Target::Doc(discovery::api_versions(shared.addr))),
        ["apis"] => return Ok(Target::Doc(discovery::api_group_list(st.argo_installed))),
        ["api", "v1"] => return Ok(Target::Doc(discovery::resource_list(""))),
        ["apis", ARGO_GROUP] => return argo(discovery::api_group()),
        ["apis", NETWORKING_GROUP, "v1"] => {
            return Ok(Target::Doc(discovery::resource_list(NETWORKING_GROUP)));
        }
        ["apis", ARGO_GROUP, "v1alpha1"] => return argo(discovery::resource_list(ARGO_GROUP)),
        ["openapi", "v3"] => {
            return Ok(Target::Doc(discovery::openapi_v3_root(st.argo_installed)));
        }
        ["openapi", "v3", "api", "v1"] => return Ok(Target::Doc(discovery::openapi_v3_group(""))),
        ["openapi", "v3", "apis", ARGO_GROUP, "v1alpha1"] => {
            return argo(discovery::openapi_v3_group(ARGO_GROUP));
        }
        ["apis", review::GROUP, "v1", review::PLURAL] if st.access_reviews => {
            return Ok(Target::AccessReview);
        }
        ["apis", CRD_GROUP, "v1", CRD_PLURAL] => return Ok(Target::Crd(None)),
        ["apis", CRD_GROUP, "v1", CRD_PLURAL, name] => {
            return Ok(Target::Crd(Some((*name).to_owned())));
        }
        ["api", "v1", rest @ ..] => ("", rest),
        ["apis", ARGO_GROUP, "v1alpha1", rest @ ..] => (ARGO_GROUP, rest),
        ["apis", NETWORKING_GROUP, "v1", rest @ ..] => (NETWORKING_GROUP, rest),
        _ => return Err(status::path_not_found()),
    };
    let find = |plural: &str| Res::find(group, plural).ok_or_else(status::path_not_found);
    match rest {
        [plural] => Ok(Target::Collection {
            res: find(plural)?,
            ns: None,
        }),
        ["namespaces", ns, plural] => Ok(Target::Collection {
            res: find(plural)?,
            ns: Some((*ns).to_owned()),
        }),
        ["namespaces", ns, plural, name] => Ok(Target::Object {
            res: find(plural)?,
            ns: (*ns).to_owned(),
            name: (*name).to_owned(),
        }),
        ["namespaces", ns, "pods", name, "log"] if group.is_empty() => Ok(Target::Log {
            ns: (*ns).to_owned(),
            name: (*name).to_owned(),
        }),
        _ => Err(status::path_not_found()),
    }
}

/// Query parameters, percent- and plus-decoded.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    fn hex(b: u8) -> Option<u8> {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push(hi << 4 | lo);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                },
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

struct Query(Vec<(String, String)>);

impl Query {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }

    fn filter(&self, res: Res) -> Result<Filter, ApiError> {
        let labels = LabelSelector::parse(self.get("labelSelector").unwrap_or_default())
            .map_err(|e| status::bad_request(&e))?;
        let fields = FieldSelector::parse(self.get("fieldSelector").unwrap_or_default(), res)
            .map_err(|e| status::bad_request(&e))?;
        Ok(Filter { labels, fields })
    }

    /// A signed integer parameter (log options, which the API server validates after parsing).
    fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    status::bad_request(&format!(
                        "strconv.ParseInt: parsing \"{v}\": invalid syntax"
                    ))
                })
            })
            .transpose()
    }

    fn number(&self, key: &str) -> Result<Option<u64>, ApiError> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    status::bad_request(&format!("{key}: Invalid value: \"{v}\": must be a number"))
                })
            })
            .transpose()
    }
}

fn authorize(
    st: &State,
    res: Res,
    verb: &str,
    resource: &str,
    name: Option<&str>,
    ns: Option<&str>,
) -> Result<(), ApiError> {
    if st
        .forbidden
        .contains(&(verb.to_owned(), resource.to_owned()))
    {
        return Err(status::forbidden(res, verb, resource, name, ns));
    }
    // Authorization runs before routing on a real server: only now may a missing CRD show.
    if res.def().group == ARGO_GROUP && !st.argo_installed {
        return Err(status::path_not_found());
    }
    Ok(())
}

/// RBAC for what `Res` does not list (reviews, CRDs): cluster-scoped here.
fn authorize_in(
    st: &State,
    group: &str,
    plural: &str,
    verb: &str,
    name: Option<&str>,
) -> Result<(), ApiError> {
    if st.forbidden.contains(&(verb.to_owned(), plural.to_owned())) {
        return Err(status::forbidden_in(
            group, plural, verb, plural, name, None,
        ));
    }
    Ok(())
}

/// The `fieldValidation` directive of a create, update or patch. Absent means Warn, as on any
/// API server since 1.25 (handlers/rest.go `fieldValidation`); kubectl sends Strict itself.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl FieldValidation {
    fn from_query(query: &Query, options_kind: &str) -> Result<FieldValidation, ApiError> {
        match query.get("fieldValidation").unwrap_or_default() {
            "" | "Warn" => Ok(FieldValidation::Warn),
            "Ignore" => Ok(FieldValidation::Ignore),
            "Strict" => Ok(FieldValidation::Strict),
            other => {
                let cause = Cause {
                    field: "fieldValidation".into(),
                    reason: "FieldValueNotSupported",
                    message: format!(
                        "Unsupported value: \"{other}\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\""
                    ),
                };
                Err(status::invalid_kind(
                    "meta.k8s.io",
                    options_kind,
                    "",
                    &[cause],
                ))
            }
        }
    }

    /// Prunes what the CRD schema does not declare; under Strict, refuses it instead with the
    /// decoder's 400. Returns the `Warning` header values Warn asks for.
    fn apply(
        self,
        st: &State,
        res: Res,
        obj: &mut Value,
        patch: bool,
    ) -> Result<Vec<String>, ApiError> {
        let unknown = st.store.schema.prune(res, obj, patch);
        if unknown.is_empty() {
            return Ok(Vec::new());
        }
        let def = res.def();
        match self {
            FieldValidation::Strict => {
                Err(status::strict_decoding(def.kind, def.version, &unknown))
            }
            FieldValidation::Ignore => Ok(Vec::new()),
            FieldValidation::Warn => Ok(unknown
                .iter()
                .map(|f| {
                    let text = format!("unknown field \"{f}\"");
                    format!("299 - {}", Value::from(text))
                })
                .collect()),
        }
    }
}

/// Adds a `Warning` header per entry (RFC 7234 warn-code 299, agent "-", quoted text).
fn with_warnings(mut resp: Response<Body>, warnings: &[String]) -> Response<Body> {
    for w in warnings {
        if let Ok(v) = HeaderValue::from_str(w) {
            resp.headers_mut().append(hyper::header::WARNING, v);
        }
    }
    resp
}

fn parse_object(body: RequestBody) -> Result<Value, ApiError> {
    let RequestBody::Bytes(bytes) = body else {
        return Err(status::request_too_large());
    };
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        status::bad_request(&format!("couldn't get version/kind; json parse error: {e}"))
    })?;
    if !value.is_object() {
        return Err(status::bad_request(
            "couldn't get version/kind; json parse error: expected a JSON object",
        ));
    }
    Ok(value)
}

pub(super) fn route(
    shared: &Shared,
    parts: &Parts,
    content_type: Option<&str>,
    body: RequestBody,
) -> Result<Response<Body>, ApiError> {
    let query = Query(query_pairs(parts.uri.query().unwrap_or_default()));
    let mut guard = lock(&shared.state);
    let st = &mut *guard;
    let method = &parts.method;
    match resolve(parts.uri.path(), st, shared)? {
        Target::Doc(doc) if method == Method::GET => Ok(http::json(200, &doc)),
        Target::Collection { res, ns } => collection(st, method, &query, res, ns, body),
        Target::Object { res, ns, name } => {
            object(st, method, &query, content_type, res, &ns, &name, body)
        }
        Target::Log { ns, name } => log(st, method, &query, &ns, &name),
        Target::AccessReview if method == Method::POST => {
            authorize_in(st, review::GROUP, review::PLURAL, "create", None)?;
            let obj = parse_object(body)?;
            Ok(http::json(201, &review::review(st, obj)?))
        }
        Target::Crd(name) => crd(st, method, name.as_deref()),
        Target::Doc(_) | Target::AccessReview => Err(status::method_not_allowed()),
    }
}

/// `GET` a CRD or the list, as a cluster with Argo installed (and only Argo's CRDs) answers.
fn crd(st: &State, method: &Method, name: Option<&str>) -> Result<Response<Body>, ApiError> {
    if method != Method::GET {
        return Err(status::method_not_allowed());
    }
    let created = "2024-05-01T00:00:00Z";
    let argo: Vec<Value> = if st.argo_installed {
        Res::ALL
            .into_iter()
            .filter(|r| r.def().group == ARGO_GROUP)
            .filter_map(|r| st.store.schema.crd(&r.def().qualified(), created))
            .collect()
    } else {
        Vec::new()
    };
    let Some(name) = name else {
        authorize_in(st, CRD_GROUP, CRD_PLURAL, "list", None)?;
        return Ok(http::json(
            200,
            &json!({
                "apiVersion": format!("{CRD_GROUP}/v1"),
                "kind": "CustomResourceDefinitionList",
                "metadata": {"resourceVersion": st.store.resource_version().to_string()},
                "items": argo,
            }),
        ));
    };
    authorize_in(st, CRD_GROUP, CRD_PLURAL, "get", Some(name))?;
    argo.into_iter()
        .find(|c| c.pointer("/metadata/name").and_then(Value::as_str) == Some(name))
        .map(|c| http::json(200, &c))
        .ok_or_else(|| status::not_found_in(CRD_GROUP, CRD_PLURAL, name))
}

fn collection(
    st: &mut State,
    method: &Method,
    query: &Query,
    res: Res,
    ns: Option<String>,
    body: RequestBody,
) -> Result<Response<Body>, ApiError> {
    let plural = res.def().plural;
    if method == Method::GET && query.flag("watch") {
        authorize(st, res, "watch", plural, None, ns.as_deref())?;
        let filter = query.filter(res)?;
        let since = query.number("resourceVersion")?;
        let timeout = query.number("timeoutSeconds")?.map(Duration::from_secs);
        let bookmark = query.flag("sendInitialEvents");
        let rx = st.store.watch(res, ns, filter, since, bookmark);
        Ok(http::stream("application/json", rx, timeout))
    } else if method == Method::GET {
        authorize(st, res, "list", plural, None, ns.as_deref())?;
        let filter = query.filter(res)?;
        Ok(http::json(200, &st.store.list(res, ns.as_deref(), &filter)))
    } else if method == Method::POST {
        let Some(ns) = ns else {
            return Err(status::method_not_allowed());
        };
        authorize(st, res, "create", plural, None, Some(&ns))?;
        let obj = parse_object(body)?;
        if let Some(body_ns) = obj.pointer("/metadata/namespace").and_then(Value::as_str)
            && !body_ns.is_empty()
            && body_ns != ns
        {
            return Err(status::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let validation = FieldValidation::from_query(query, "CreateOptions")?;
        let mut obj = obj;
        let warnings = validation.apply(st, res, &mut obj, false)?;
        let dry_run = query.get("dryRun") == Some("All");
        let created = st.store.create(res, &ns, obj, dry_run)?;
        Ok(with_warnings(http::json(201, &created), &warnings))
    } else {
        Err(status::method_not_allowed())
    }
}

#[expect(clippy::too_many_arguments, reason = "one request's parts, each used")]
fn object(
    st: &mut State,
    method: &Method,
    query: &Query,
    content_type: Option<&str>,
    res: Res,
    ns: &str,
    name: &str,
    body: RequestBody,
) -> Result<Response<Body>, ApiError> {
    let def = res.def();
    let verb = match *method {
        Method::GET => "get",
        Method::PATCH => "patch",
        Method::PUT => "update",
        Method::DELETE => "delete",
        _ => return Err(status::method_not_allowed()),
    };
    authorize(st, res, verb, def.plural, Some(name), Some(ns))?;
    match verb {
        "get" => Ok(http::json(200, &st.store.get(res, ns, name)?)),
        "patch" => {
            let media = content_type.map(|c| c.split(';').next().unwrap_or(c).trim());
            if media != Some("application/merge-patch+json") {
                return Err(status::unsupported_patch(content_type));
            }
            let validation = FieldValidation::from_query(query, "PatchOptions")?;
            let mut patch = parse_object(body)?;
            let warnings = validation.apply(st, res, &mut patch, true)?;
            let patched = st.store.patch(res, ns, name, &patch, true)?;
            Ok(with_warnings(http::json(200, &patched), &warnings))
        }
        "update" => {
            let validation = FieldValidation::from_query(query, "UpdateOptions")?;
            let mut obj = parse_object(body)?;
            let warnings = validation.apply(st, res, &mut obj, false)?;
            let replaced = st.store.replace(res, ns, name, obj)?;
            Ok(with_warnings(http::json(200, &replaced), &warnings))
        }
        _ => {
            let last = st.store.delete(res, ns, name)?;
            if def.group.is_empty() {
                return Ok(http::json(200, &last));
            }
            // Custom resources answer a deletion with a Success Status.
            let uid = last.pointer("/metadata/uid").cloned().unwrap_or_default();
            Ok(http::json(
                200,
                &json!({
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {"name": name, "group": def.group, "kind": def.plural, "uid": uid},
                }),
            ))
        }
    }
}

fn log(
    st: &mut State,
    method: &Method,
    query: &Query,
    ns: &str,
    name: &str,
) -> Result<Response<Body>, ApiError> {
    if method != Method::GET {
        return Err(status::method_not_allowed());
    }
    authorize(st, Res::Pods, "get", "pods/log", Some(name), Some(ns))?;
    let pod = st.store.get(Res::Pods, ns, name)?;
    check_container(&pod, name, query.get("container"))?;
    let opts = log_options(query, name)?;
    match st.logs.read(ns, name, opts) {
        LogRead::Text(t) => Ok(http::text(t)),
        LogRead::Follow(rx) => Ok(http::stream("text/plain", rx, None)),
    }
}

/// `PodLogOptions` from the query, checked as `ValidatePodLogOptions` does (422 naming the pod).
/// `sinceTime` is cut to whole seconds, as the API server formats it for the kubelet.
fn log_options(query: &Query, pod: &str) -> Result<LogOptions, ApiError> {
    let tail = query.int("tailLines")?;
    let limit = query.int("limitBytes")?;
    let since_seconds = query.int("sinceSeconds")?;
    let since_time = match query.get("sinceTime").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(clock::parse(v).ok_or_else(|| {
            status::bad_request(&format!(
                "parsing time \"{v}\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"{v}\" as \"2006\""
            ))
        })?),
    };
    let invalid = |field: &str, value: i64, detail: &str| Cause {
        field: field.to_owned(),
        reason: "FieldValueInvalid",
        message: format!("Invalid value: {value}: {detail}"),
    };
    let mut causes = Vec::new();
    if let Some(n) = tail.filter(|n| *n < 0) {
        causes.push(invalid(
            "tailLines",
            n,
            "must be greater than or equal to 0",
        ));
    }
    if let Some(n) = limit.filter(|n| *n < 1) {
        causes.push(invalid("limitBytes", n, "must be greater than 0"));
    }
    match (since_seconds, since_time) {
        (Some(_), Some(_)) => causes.push(Cause {
            field: String::new(),
            reason: "FieldValueForbidden",
            message: "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"
                .into(),
        }),
        (Some(n), None) if n < 1 => {
            causes.push(invalid("sinceSeconds", n, "must be greater than 0"));
        }
        _ => {}
    }
    if !causes.is_empty() {
        return Err(status::invalid_kind("", "PodLogOptions", pod, &causes));
    }
    let since = match (since_seconds, since_time) {
        (Some(secs), _) => SystemTime::now().checked_sub(Duration::from_secs(secs.unsigned_abs())),
        (None, Some(t)) => Some(whole_seconds(t)),
        (None, None) => None,
    };
    let size = |n: Option<i64>| n.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    Ok(LogOptions {
        follow: query.flag("follow"),
        tail: size(tail),
        since,
        timestamps: query.flag("timestamps"),
        limit_bytes: size(limit),
    })
}

fn whole_seconds(t: SystemTime) -> SystemTime {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// The API server's rules: a named container must exist; with several, one must be named.
fn check_container(pod: &Value, name: &str, container: Option<&str>) -> Result<(), ApiError> {
    let names = |pointer: &str| -> Vec<&str> {
        pod.pointer(pointer)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("name").and_then(Value::as_str))
            .collect()
    };
    let containers = names("/spec/containers");
    let init = names("/spec/initContainers");
    match container.filter(|c| !c.is_empty()) {
        Some(c) if !containers.contains(&c) && !init.contains(&c) => Err(status::bad_request(
            &format!("container {c} is not valid for pod {name}"),
        )),
        None if containers.len() > 1 => {
            let mut message = format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            );
            if !init.is_empty() {
                message += &format!(" or one of the init containers: [{}]", init.join(" "));
            }
            Err(status::bad_request(&message))
        }
        _ => Ok(()),
    }
}
