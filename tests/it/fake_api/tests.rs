//! Self-tests of the fake API server through the real clients (kube::Client and kubectl): TLS
//! verification, bearer auth, create/get/list/watch/patch/delete, logs, RBAC, faults. This file
//! holds the shared helpers; each submodule one area.

mod access;
mod chaos;
mod controller;
mod crud;
mod streams;

use std::time::Duration;

use futures::StreamExt as _;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, WatchEvent};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::json;

use super::*;

/// A client that shows the server's answers as they are: kube 5 retries 429/503/504 by default
/// (`Config::default_retry`), which `retrying_client_from_yaml` keeps.
async fn client_from_yaml(yaml: &str) -> Client {
    let kubeconfig = Kubeconfig::from_yaml(yaml).expect("a valid kubeconfig");
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("a kube config");
    config.default_retry = false;
    Client::try_from(config).expect("a client")
}

async fn retrying_client_from_yaml(yaml: &str) -> Client {
    let kubeconfig = Kubeconfig::from_yaml(yaml).expect("a valid kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("a kube config");
    assert!(config.default_retry);
    Client::try_from(config).expect("a client")
}

async fn client(api: &FakeApi) -> Client {
    client_from_yaml(&api.kubeconfig_yaml(&[("fake", Some("ns1"))])).await
}

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", kind),
        plural,
    )
}

fn workflows(client: Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client, ns, &resource("Workflow", "workflows"))
}

fn workflow_json(name: &str, app: &str) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "busybox"}}]},
    })
}

/// A CronWorkflow running `workflow_json`'s spec, with `schedule` fields (`{"schedules": […]}`,
/// `{"schedule": "…"}`, or both) merged into its spec.
fn cron_json(name: &str, schedule: &Value) -> Value {
    let mut spec = json!({"workflowSpec": workflow_json(name, "x")["spec"]});
    store::merge_patch(&mut spec, schedule);
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "CronWorkflow",
        "metadata": {"name": name},
        "spec": spec,
    })
}

fn dynamic(value: Value) -> DynamicObject {
    serde_json::from_value(value).expect("a DynamicObject")
}

fn pod_json(name: &str, containers: &[&str]) -> Value {
    let containers: Vec<Value> = containers
        .iter()
        .map(|c| json!({"name": c, "image": "busybox"}))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"workflows.argoproj.io/workflow": "wf"}},
        "spec": {"containers": containers},
        "status": {"phase": "Running"},
    })
}

/// The `Status` of an API error; panics on any other error.
fn status_of<T: std::fmt::Debug>(result: kube::Result<T>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn name_of(obj: &DynamicObject) -> String {
    obj.metadata.name.clone().expect("a name")
}

async fn next_event(
    stream: &mut (impl futures::Stream<Item = kube::Result<WatchEvent<DynamicObject>>> + Unpin),
) -> (String, DynamicObject) {
    let event = tokio::time::timeout(Duration::from_secs(2), stream.next())
        .await
        .expect("an event within 2 s")
        .expect("the stream is open")
        .expect("a decodable event");
    match event {
        WatchEvent::Added(o) => ("ADDED".into(), o),
        WatchEvent::Modified(o) => ("MODIFIED".into(), o),
        WatchEvent::Deleted(o) => ("DELETED".into(), o),
        other => panic!("unexpected event {other:?}"),
    }
}

/// One raw request through `client` (its auth and TLS): status, headers and body text.
async fn raw(
    client: &Client,
    method: &str,
    uri: &str,
    body: Option<&Value>,
) -> (u16, hyper::HeaderMap, String) {
    use http_body_util::BodyExt as _;
    let req = hyper::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map_or_else(kube::client::Body::empty, |b| {
            kube::client::Body::from(b.to_string().into_bytes())
        }))
        .expect("a request");
    let resp = client.send(req).await.expect("a response");
    let code = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .expect("the whole body")
        .to_bytes();
    (code, headers, String::from_utf8_lossy(&bytes).into_owned())
}

/// How one request ended, for comparing fault sequences.
fn outcome<T>(result: &kube::Result<T>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(kube::Error::Api(st)) => st.code.to_string(),
        Err(_) => "dropped".into(),
    }
}
