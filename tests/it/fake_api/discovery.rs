//! Discovery documents for clients that map kinds to paths (kubectl): `/api`, `/apis`,
//! `/api/v1`, `/apis/argoproj.io[/v1alpha1]`, `/apis/networking.k8s.io/v1`, `/version`, and just enough OpenAPI v3 for
//! kubectl to see that the server validates fields itself. Only legacy discovery: kubectl asks
//! for the aggregated form but accepts plain JSON in its place.

use std::net::SocketAddr;

use serde_json::{Value, json};

use super::resources::{ARGO_GROUP, NETWORKING_GROUP, Res};

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

pub(super) fn api_versions(addr: SocketAddr) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr.to_string()}],
    })
}

fn argo_group() -> Value {
    let gv = json!({"groupVersion": format!("{ARGO_GROUP}/v1alpha1"), "version": "v1alpha1"});
    json!({"name": ARGO_GROUP, "versions": [gv.clone()], "preferredVersion": gv})
}

pub(super) fn api_group() -> Value {
    let mut group = argo_group();
    group["kind"] = "APIGroup".into();
    group["apiVersion"] = "v1".into();
    group
}

fn networking_group() -> Value {
    let gv = json!({"groupVersion": format!("{NETWORKING_GROUP}/v1"), "version": "v1"});
    json!({"name": NETWORKING_GROUP, "versions": [gv.clone()], "preferredVersion": gv})
}

pub(super) fn api_group_list(argo_installed: bool) -> Value {
    let mut groups: Vec<Value> = vec![networking_group()];
    if argo_installed {
        groups.push(argo_group());
    }
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn resource(res: Res) -> Value {
    let def = res.def();
    let mut r = json!({
        "name": def.plural,
        "singularName": def.singular,
        "namespaced": true,
        "kind": def.kind,
        "verbs": VERBS,
        "shortNames": def.short_names,
    });
    if res == Res::Pods {
        r["categories"] = json!(["all"]);
    }
    r
}

/// The APIResourceList of `v1` (group ""), `networking.k8s.io/v1` or `argoproj.io/v1alpha1`.
pub(super) fn resource_list(group: &str) -> Value {
    let mut resources: Vec<Value> = Res::ALL
        .into_iter()
        .filter(|r| r.def().group == group)
        .map(resource)
        .collect();
    let group_version = if group.is_empty() {
        resources.insert(
            1,
            json!({"name": "pods/log", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get"]}),
        );
        "v1".to_owned()
    } else if group == NETWORKING_GROUP {
        format!("{group}/v1")
    } else {
        format!("{group}/v1alpha1")
    };
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    })
}

pub(super) fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-fake",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-12-11T00:00:00Z",
        "goVersion": "go1.23.4",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `/openapi/v3`: where each group version's document lives. kubectl reads it (then the
/// document) to learn whether the server takes `fieldValidation`; without it kubectl falls back
/// to `/openapi/v2` and, finding none, refuses to create anything unless `--validate=false`.
pub(super) fn openapi_v3_root(argo_installed: bool) -> Value {
    let mut paths = serde_json::Map::new();
    paths.insert(
        "api/v1".into(),
        json!({"serverRelativeURL": "/openapi/v3/api/v1?hash=fake"}),
    );
    if argo_installed {
        paths.insert(
            format!("apis/{ARGO_GROUP}/v1alpha1"),
            json!({"serverRelativeURL": format!("/openapi/v3/apis/{ARGO_GROUP}/v1alpha1?hash=fake")}),
        );
    }
    json!({ "paths": paths })
}

/// A group version's OpenAPI v3 document, reduced to what kubectl's field-validation check
/// reads: a PATCH operation per kind, tagged with its group-version-kind, that takes
/// `fieldValidation`.
pub(super) fn openapi_v3_group(group: &str) -> Value {
    let mut paths = serde_json::Map::new();
    for res in Res::ALL.into_iter().filter(|r| r.def().group == group) {
        let def = res.def();
        let prefix = if group.is_empty() {
            "/api/v1".to_owned()
        } else {
            format!("/apis/{}", def.api_version())
        };
        paths.insert(
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", def.plural),
            json!({"patch": {
                "x-kubernetes-group-version-kind": {"group": def.group, "version": def.version, "kind": def.kind},
                "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "OK"}},
            }}),
        );
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0-fake"},
        "paths": paths,
    })
}
