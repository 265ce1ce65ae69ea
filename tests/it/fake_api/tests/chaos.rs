//! Injected faults, kube's default retry over them, and seeded random faults.

use std::time::Instant;

use http_body_util::BodyExt as _;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams, PostParams};

use super::*;

#[tokio::test]
async fn injected_faults() {
    let api = FakeApi::start();
    let client = client(&api).await;
    let wfs = workflows(client.clone(), "ns1");
    let create = |name: &str| {
        let wfs = wfs.clone();
        let wf = dynamic(workflow_json(name, "x"));
        async move { wfs.create(&PostParams::default(), &wf).await }
    };
    let stored = || api.workflows("ns1").len();

    api.inject(FaultRule::once(
        "POST",
        "/workflows",
        Fault::Status {
            code: 429,
            retry_after: Some(3),
        },
    ));
    let st = status_of(create("w1").await);
    assert_eq!((st.code, st.reason.as_str()), (429, "TooManyRequests"));
    assert_eq!(st.details.expect("details").retry_after_seconds, 3);
    assert_eq!(stored(), 0);
    create("w1").await.expect("the rule was used up");
    assert_eq!(stored(), 1);

    api.inject(FaultRule::once("POST", "/workflows", Fault::DropBefore));
    assert_eq!(outcome(&create("w2").await), "dropped");
    assert_eq!(stored(), 1);
    api.inject(FaultRule::once("POST", "/workflows", Fault::DropAfter));
    assert_eq!(outcome(&create("w2").await), "dropped");
    assert_eq!(stored(), 2, "the lost response still created the workflow");
    api.inject(FaultRule::once(
        "post",
        "/workflows",
        Fault::StatusAfter { code: 504 },
    ));
    let st = status_of(create("w3").await);
    assert_eq!((st.code, st.reason.as_str()), (504, "Timeout"));
    assert_eq!(stored(), 3);
    api.inject(FaultRule::once(
        "GET",
        "/workflows/w1",
        Fault::Delay(Duration::from_millis(300)),
    ));
    let started = Instant::now();
    wfs.get("w1").await.expect("a delayed get");
    assert!(started.elapsed() >= Duration::from_millis(300));
    // A rule for another path or method leaves this request alone; `clear_faults` drops it.
    api.inject(FaultRule::always("DELETE", "/workflows", Fault::DropBefore));
    wfs.get("w1").await.expect("not a DELETE");
    api.clear_faults();
    wfs.delete("w1", &DeleteParams::default())
        .await
        .expect("rule cleared");

    // Every request was recorded, faulted ones included.
    let posts = api.requests().iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, 5);
    let first = &api.requests()[0];
    assert_eq!(first.content_type.as_deref(), Some("application/json"));
    assert!(first.body_len > 100);
}

/// What kube's default retry makes of faults: a 503 is retried away; a 504 after the commit is
/// retried into 409 AlreadyExists, since the first attempt did create the workflow.
#[tokio::test]
async fn kube_default_retry_over_faults() {
    let api = FakeApi::start();
    let retrying = workflows(
        retrying_client_from_yaml(&api.kubeconfig_yaml(&[("r", Some("ns1"))])).await,
        "ns1",
    );
    let wf = dynamic(workflow_json("w4", "x"));
    api.inject(FaultRule::once(
        "POST",
        "/workflows",
        Fault::Status {
            code: 503,
            retry_after: None,
        },
    ));
    retrying
        .create(&PostParams::default(), &wf)
        .await
        .expect("retried");
    api.inject(FaultRule::once(
        "POST",
        "/workflows",
        Fault::StatusAfter { code: 504 },
    ));
    let wf = dynamic(workflow_json("w5", "x"));
    let st = status_of(retrying.create(&PostParams::default(), &wf).await);
    assert_eq!((st.code, st.reason.as_str()), (409, "AlreadyExists"));

    let kinds: Vec<String> = api
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");
}

/// The Retry-After header and body, seen through a raw request.
#[tokio::test]
async fn retry_after_header() {
    let api = FakeApi::start();
    let client = client(&api).await;
    api.inject(FaultRule::once(
        "GET",
        "/api/v1",
        Fault::Status {
            code: 429,
            retry_after: Some(0),
        },
    ));
    let req = hyper::Request::get("/api/v1")
        .body(kube::client::Body::empty())
        .expect("request");
    let resp = client.send(req).await.expect("a response");
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "0");
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let body: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(body["details"]["retryAfterSeconds"], 0);
}

/// Random faults: the same seed gives the same sequence, on any server.
#[tokio::test]
async fn random_faults_are_deterministic() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let api = FakeApi::start();
        let pods: Api<Pod> = Api::namespaced(
            client_from_yaml(&api.kubeconfig_yaml(&[("f", Some("ns1"))])).await,
            "ns1",
        );
        api.random_faults(42, 0.5);
        let mut seen = Vec::new();
        for _ in 0..30 {
            seen.push(outcome(&pods.list(&ListParams::default()).await));
        }
        api.random_faults(42, 0.0);
        assert_eq!(outcome(&pods.list(&ListParams::default()).await), "ok");
        runs.push(seen);
    }
    assert_eq!(runs[0], runs[1]);
    let kinds: std::collections::BTreeSet<&String> = runs[0].iter().collect();
    assert!(kinds.len() >= 4, "{kinds:?}");
}
