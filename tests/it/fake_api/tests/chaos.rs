//! Injected faults, kube's default retry over them, seeded random faults, requests that land
//! after the client gave up, and API-server restarts.

use std::time::Instant;

use futures::AsyncReadExt as _;
use http_body_util::BodyExt as _;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams, LogParams, PostParams, WatchParams};

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

/// A client that gives up on an answer after `timeout`.
async fn impatient_client(api: &FakeApi, timeout: Duration) -> Client {
    let kubeconfig =
        Kubeconfig::from_yaml(&api.kubeconfig_yaml(&[("fake", Some("ns1"))])).expect("kubeconfig");
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("a kube config");
    config.default_retry = false;
    config.read_timeout = Some(timeout);
    Client::try_from(config).expect("a client")
}

/// The bug class this fault exists for: the client times out, concludes nothing happened, and
/// the create lands anyway.
#[tokio::test]
async fn a_slow_create_lands_after_the_client_gave_up() {
    let api = FakeApi::start();
    let impatient = workflows(
        impatient_client(&api, Duration::from_millis(200)).await,
        "ns1",
    );
    api.inject(FaultRule::once(
        "POST",
        "/workflows",
        Fault::ApplyLater(Duration::from_secs(1)),
    ));
    let started = Instant::now();
    let err = impatient
        .create(&PostParams::default(), &dynamic(workflow_json("late", "x")))
        .await
        .expect_err("the client gives up first");
    assert!(!matches!(err, kube::Error::Api(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(900));
    assert!(api.workflows("ns1").is_empty(), "not yet");
    drop(impatient);
    let deadline = Instant::now() + Duration::from_secs(3);
    while api.workflows("ns1").is_empty() {
        assert!(Instant::now() < deadline, "the create never landed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(api.workflows("ns1")[0]["metadata"]["name"], "late");

    // A client that waits gets the answer once the request is applied.
    let patient = workflows(client(&api).await, "ns1");
    api.inject(FaultRule::once(
        "POST",
        "/workflows",
        Fault::ApplyLater(Duration::from_millis(300)),
    ));
    let started = Instant::now();
    let created = patient
        .create(&PostParams::default(), &dynamic(workflow_json("slow", "x")))
        .await
        .expect("a slow answer");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(name_of(&created), "slow");
    // A retry meeting its own late create sees 409 AlreadyExists.
    api.inject(FaultRule::once(
        "POST",
        "/workflows",
        Fault::ApplyLater(Duration::from_millis(400)),
    ));
    let impatient = workflows(
        impatient_client(&api, Duration::from_millis(100)).await,
        "ns1",
    );
    let wf = dynamic(workflow_json("twice", "x"));
    assert!(impatient.create(&PostParams::default(), &wf).await.is_err());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let st = status_of(patient.create(&PostParams::default(), &wf).await);
    assert_eq!((st.code, st.reason.as_str()), (409, "AlreadyExists"));
}

/// Cut body faults: abrupt (the client sees a broken stream) or clean (a normal end), while
/// the log goes on for the next reader.
#[tokio::test]
async fn streams_cut_mid_body() {
    let api = FakeApi::start();
    let pods: Api<Pod> = Api::namespaced(client(&api).await, "ns1");
    api.add_pod("ns1", pod_json("p1", &["main"]));
    api.append_pod_log("ns1", "p1", "0123456789\n");
    let follow = LogParams {
        follow: true,
        ..LogParams::default()
    };
    let read_all = async |stream: &mut (dyn futures::AsyncRead + Unpin + Send)| {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 64];
        loop {
            match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut chunk)).await {
                Ok(Ok(0)) => return (buf, true),
                Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
                Ok(Err(_)) => return (buf, false),
                Err(elapsed) => panic!("the stream neither ended nor broke: {elapsed}"),
            }
        }
    };
    api.inject(FaultRule::once(
        "GET",
        "/pods/p1/log",
        Fault::CutStreamAfter(4),
    ));
    let mut cut = pods.log_stream("p1", &follow).await.expect("follow");
    let (got, clean) = read_all(&mut cut).await;
    assert_eq!((got.as_slice(), clean), (&b"0123"[..], false));
    api.inject(FaultRule::once(
        "GET",
        "/pods/p1/log",
        Fault::EndStreamAfter(14),
    ));
    let mut ended = pods.log_stream("p1", &follow).await.expect("follow");
    api.append_pod_log("ns1", "p1", "abcdefghij\n");
    let (got, clean) = read_all(&mut ended).await;
    assert_eq!((got.as_slice(), clean), (&b"0123456789\nabc"[..], true));
    // The log went on: a new follower gets all of it and what comes next.
    let mut again = pods.log_stream("p1", &follow).await.expect("follow");
    api.append_pod_log("ns1", "p1", "more\n");
    api.finish_pod_log("ns1", "p1");
    let (got, clean) = read_all(&mut again).await;
    assert_eq!(
        (got.as_slice(), clean),
        (&b"0123456789\nabcdefghij\nmore\n"[..], true)
    );

    // A watch cut mid-event: the client sees an error or an early end, never a bad event.
    let wfs = workflows(pods.clone().into_client(), "ns1");
    api.add_workflow("ns1", workflow_json("a", "x"));
    api.inject(FaultRule::once(
        "GET",
        "watch=true",
        Fault::CutStreamAfter(30),
    ));
    let mut stream = wfs
        .watch(&WatchParams::default(), "0")
        .await
        .expect("watch")
        .boxed();
    let end = tokio::time::timeout(Duration::from_secs(2), stream.next())
        .await
        .expect("ends in time");
    assert!(!matches!(end, Some(Ok(_))), "{end:?}");
}

/// A restart cuts every connection, refuses new ones while down, then serves the same
/// objects and resourceVersions on the same address.
#[tokio::test]
async fn restart_cuts_streams_refuses_then_serves_the_same_state() {
    let api = FakeApi::start();
    let client = client(&api).await;
    let wfs = workflows(client.clone(), "ns1");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "ns1");
    api.add_pod("ns1", pod_json("p1", &["main"]));
    api.append_pod_log("ns1", "p1", "before\n");
    let created = wfs
        .create(&PostParams::default(), &dynamic(workflow_json("w1", "x")))
        .await
        .expect("create");
    let rv = created.metadata.resource_version.clone().expect("rv");
    let mut stream = wfs
        .watch(&WatchParams::default(), "0")
        .await
        .expect("watch")
        .boxed();
    assert_eq!(name_of(&next_event(&mut stream).await.1), "w1");
    let follow = LogParams {
        follow: true,
        ..LogParams::default()
    };
    let mut log = pods.log_stream("p1", &follow).await.expect("follow");
    let mut first = [0u8; 7];
    log.read_exact(&mut first).await.expect("the log so far");
    assert_eq!(&first, b"before\n");

    let down_from = Instant::now();
    api.restart(Duration::from_millis(700));
    let end = tokio::time::timeout(Duration::from_secs(2), stream.next())
        .await
        .expect("the watch ends at once");
    assert!(!matches!(end, Some(Ok(_))), "{end:?}");
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(2), log.read_to_end(&mut rest))
        .await
        .expect("the log stream ends at once");
    assert!(read.is_err() || rest.is_empty(), "{read:?} {rest:?}");
    // Nothing listens: the kernel refuses the connection.
    let refused = std::net::TcpStream::connect(("127.0.0.1", api.port()))
        .expect_err("nothing listens while the server is down");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    let err = wfs.get("w1").await.expect_err("no server");
    assert!(!matches!(err, kube::Error::Api(_)), "{err:?}");

    let deadline = Instant::now() + Duration::from_secs(5);
    let back = loop {
        if let Ok(wf) = wfs.get("w1").await {
            break wf;
        }
        assert!(Instant::now() < deadline, "the server never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(down_from.elapsed() >= Duration::from_millis(700));
    assert_eq!(back.metadata.resource_version.as_deref(), Some(rv.as_str()));
    assert_eq!(back.metadata.uid, created.metadata.uid);
    // Resuming the watch from where it was works, and the log is all there.
    let mut resumed = wfs
        .watch(&WatchParams::default().timeout(5), &rv)
        .await
        .expect("watch")
        .boxed();
    api.patch_workflow_status("ns1", "w1", json!({"phase": "Running"}));
    let (ty, modified) = next_event(&mut resumed).await;
    assert_eq!(
        (ty.as_str(), modified.data["status"]["phase"].as_str()),
        ("MODIFIED", Some("Running"))
    );
    assert_eq!(
        pods.logs("p1", &LogParams::default()).await.expect("logs"),
        "before\n"
    );
    // Twice in a row works too.
    api.restart(Duration::from_millis(100));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while wfs.get("w1").await.is_err() {
        assert!(Instant::now() < deadline, "the server never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
