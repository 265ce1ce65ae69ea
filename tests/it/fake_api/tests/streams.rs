//! Watch streams (selectors, resume, timeout), pod logs with follow and the kubelet's read
//! options, and streams ending when the server goes away.

use std::time::{Instant, UNIX_EPOCH};

use futures::{AsyncBufReadExt as _, AsyncReadExt as _};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams, LogParams, Patch, PatchParams, WatchEvent, WatchParams};

use super::*;

#[tokio::test]
async fn watch_streams_events_with_selectors_and_resume() {
    let api = FakeApi::start();
    let wfs = workflows(client(&api).await, "ns1");
    api.add_workflow("ns1", workflow_json("a", "x"));
    api.add_workflow("ns1", workflow_json("b", "y"));
    api.add_workflow("ns2", workflow_json("c", "x"));

    let wp = WatchParams::default().labels("app=x").timeout(10);
    let mut stream = wfs.watch(&wp, "0").await.expect("watch").boxed();
    let (ty, first) = next_event(&mut stream).await;
    assert_eq!((ty.as_str(), name_of(&first).as_str()), ("ADDED", "a"));

    api.patch_workflow_status("ns1", "b", json!({"phase": "Running"}));
    api.patch_workflow_status(
        "ns1",
        "a",
        json!({"phase": "Running", "nodes": {"n": {"phase": "Running"}}}),
    );
    let (ty, modified) = next_event(&mut stream).await;
    assert_eq!(
        (ty.as_str(), name_of(&modified).as_str()),
        ("MODIFIED", "a")
    );
    assert_eq!(modified.data["status"]["phase"], "Running");
    api.patch_workflow_status("ns1", "a", json!({"phase": "Succeeded", "nodes": null}));
    let (_, done) = next_event(&mut stream).await;
    assert_eq!(done.data["status"], json!({"phase": "Succeeded"}));
    assert_eq!(
        api.workflows("ns1")[0]["status"],
        json!({"phase": "Succeeded"})
    );

    // Moving into the selector is ADDED, out of it DELETED.
    let pp = PatchParams::default();
    wfs.patch(
        "b",
        &pp,
        &Patch::Merge(json!({"metadata": {"labels": {"app": "x"}}})),
    )
    .await
    .expect("patch");
    let (ty, moved) = next_event(&mut stream).await;
    assert_eq!((ty.as_str(), name_of(&moved).as_str()), ("ADDED", "b"));
    wfs.delete("a", &DeleteParams::default())
        .await
        .expect("delete");
    let (ty, gone) = next_event(&mut stream).await;
    assert_eq!((ty.as_str(), name_of(&gone).as_str()), ("DELETED", "a"));

    // Resuming from the first MODIFIED replays what came after it, in order.
    let rv = modified.metadata.resource_version.clone().expect("rv");
    let mut resumed = wfs.watch(&wp, &rv).await.expect("watch").boxed();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (ty, o) = next_event(&mut resumed).await;
        seen.push(format!("{ty} {}", name_of(&o)));
    }
    assert_eq!(seen, ["MODIFIED a", "ADDED b", "DELETED a"]);

    // sendInitialEvents: the current objects, then a BOOKMARK that marks their end.
    let streaming = WatchParams {
        send_initial_events: true,
        ..WatchParams::default().timeout(10)
    };
    let mut initial = wfs.watch(&streaming, "").await.expect("watch").boxed();
    assert_eq!(name_of(&next_event(&mut initial).await.1), "b");
    let bookmark = tokio::time::timeout(Duration::from_secs(2), initial.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("decodes");
    let WatchEvent::Bookmark(bookmark) = bookmark else {
        panic!("expected a bookmark, got {bookmark:?}");
    };
    assert_eq!(
        bookmark.metadata.annotations["k8s.io/initial-events-end"],
        "true"
    );

    // timeoutSeconds ends the stream.
    let started = Instant::now();
    let mut short = wfs
        .watch(&WatchParams::default().timeout(1), "0")
        .await
        .expect("watch")
        .boxed();
    let (_, only) = next_event(&mut short).await;
    assert_eq!(name_of(&only), "b");
    let end = tokio::time::timeout(Duration::from_secs(3), short.next())
        .await
        .expect("ends");
    assert!(end.is_none());
    assert!(started.elapsed() >= Duration::from_millis(900));
    let watches: Vec<Recorded> = api
        .requests()
        .into_iter()
        .filter(|r| r.query.contains("watch=true"))
        .collect();
    assert_eq!(watches.len(), 4);
    assert!(
        watches[0].query.contains("labelSelector=app%3Dx"),
        "{}",
        watches[0].query
    );
}

#[tokio::test]
async fn pod_logs_and_follow() {
    let api = FakeApi::start();
    let client = client(&api).await;
    let pods: Api<Pod> = Api::namespaced(client, "ns1");
    api.add_pod("ns1", pod_json("p1", &["wait", "main"]));
    api.add_pvc(
        "ns1",
        json!({"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}),
    );

    let pod = pods.get("p1").await.expect("get");
    assert_eq!(pod.status.and_then(|s| s.phase).as_deref(), Some("Running"));
    let running = pods
        .list(&ListParams::default().fields("status.phase=Running"))
        .await
        .expect("list");
    assert_eq!(running.items.len(), 1);
    let pvcs: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
        Api::namespaced(pods.clone().into_client(), "ns1");
    assert_eq!(
        pvcs.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len(),
        1
    );

    let main = LogParams {
        container: Some("main".into()),
        ..LogParams::default()
    };
    let st = status_of(pods.logs("p1", &LogParams::default()).await);
    assert_eq!(st.code, 400);
    assert_eq!(
        st.message,
        "a container name must be specified for pod p1, choose one of: [wait main]"
    );
    let nope = LogParams {
        container: Some("nope".into()),
        ..LogParams::default()
    };
    let st = status_of(pods.logs("p1", &nope).await);
    assert_eq!(
        (st.code, st.message.as_str()),
        (400, "container nope is not valid for pod p1")
    );
    let st = status_of(pods.logs("ghost", &main).await);
    assert_eq!(
        (st.code, st.message.as_str()),
        (404, r#"pods "ghost" not found"#)
    );

    assert_eq!(pods.logs("p1", &main).await.expect("logs"), "");
    api.append_pod_log("ns1", "p1", "line 1\n");
    api.append_pod_log("ns1", "p1", "line 2\n");
    assert_eq!(
        pods.logs("p1", &main).await.expect("logs"),
        "line 1\nline 2\n"
    );
    let tail = LogParams {
        tail_lines: Some(1),
        ..main.clone()
    };
    assert_eq!(pods.logs("p1", &tail).await.expect("logs"), "line 2\n");

    let follow = LogParams {
        follow: true,
        ..main.clone()
    };
    let mut lines = pods
        .log_stream("p1", &follow)
        .await
        .expect("follow")
        .lines();
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(2), lines.next())
            .await
            .expect("a line in time")
            .map(|l| l.expect("readable"))
    };
    assert_eq!(next().await.as_deref(), Some("line 1"));
    assert_eq!(next().await.as_deref(), Some("line 2"));
    api.append_pod_log("ns1", "p1", "line 3\n");
    assert_eq!(next().await.as_deref(), Some("line 3"));
    api.finish_pod_log("ns1", "p1");
    assert_eq!(next().await, None);

    // After the container ended, follow returns the whole log at once.
    let mut all = String::new();
    pods.log_stream("p1", &follow)
        .await
        .expect("follow")
        .read_to_string(&mut all)
        .await
        .expect("read");
    assert_eq!(all, "line 1\nline 2\nline 3\n");
}

#[tokio::test]
async fn dropping_the_server_ends_streams() {
    let api = FakeApi::start();
    let wfs = workflows(client(&api).await, "ns1");
    let pods: Api<Pod> = Api::namespaced(wfs.clone().into_client(), "ns1");
    api.add_pod("ns1", pod_json("p1", &["main"]));
    let mut stream = wfs
        .watch(&WatchParams::default(), "0")
        .await
        .expect("watch")
        .boxed();
    let follow = LogParams {
        follow: true,
        ..LogParams::default()
    };
    let mut log = pods.log_stream("p1", &follow).await.expect("follow");
    drop(api);
    let end = tokio::time::timeout(Duration::from_secs(2), stream.next())
        .await
        .expect("ends in time");
    assert!(!matches!(end, Some(Ok(_))), "{end:?}");
    let mut rest = String::new();
    let read = tokio::time::timeout(Duration::from_secs(2), log.read_to_string(&mut rest))
        .await
        .expect("ends in time");
    assert!(read.is_err() || rest.is_empty());
}

/// `GET …/pods/p1/log?{query}` in ns1: code and body.
async fn log_query(client: &Client, query: &str) -> (u16, String) {
    let (code, _, text) = raw(
        client,
        "GET",
        &format!("/api/v1/namespaces/ns1/pods/p1/log?{query}"),
        None,
    )
    .await;
    (code, text)
}

/// `sinceTime`, `sinceSeconds`, `timestamps`, `tailLines` and `limitBytes` as the kubelet
/// applies them.
#[tokio::test]
async fn pod_log_read_options() {
    let api = FakeApi::start();
    let client = client(&api).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "ns1");
    api.add_pod("ns1", pod_json("p1", &["main"]));
    let t0 = UNIX_EPOCH + Duration::new(1_788_262_800, 120_000_000);
    let at = |secs: u64| t0 + Duration::from_secs(secs);
    api.append_pod_log_at("ns1", "p1", "one\ntwo\n", at(0));
    api.append_pod_log_at("ns1", "p1", "three\n", at(1));
    api.append_pod_log_at("ns1", "p1", "four (partial)", at(2));
    let get = async |query: &str| log_query(&client, query).await;
    assert_eq!(get("").await.1, "one\ntwo\nthree\nfour (partial)");
    assert_eq!(
        get("timestamps=true").await.1,
        "2026-09-01T11:40:00.120000000Z one\n2026-09-01T11:40:00.120000000Z two\n\
         2026-09-01T11:40:01.120000000Z three\n2026-09-01T11:40:02.120000000Z four (partial)"
    );
    // sinceTime reaches the kubelet in whole seconds: 11:40:01.9 means 11:40:01.
    assert_eq!(
        get("sinceTime=2026-09-01T11:40:01Z").await.1,
        "three\nfour (partial)"
    );
    assert_eq!(
        get("sinceTime=2026-09-01T11:40:01.900Z").await.1,
        "three\nfour (partial)"
    );
    assert_eq!(
        get("sinceTime=2026-09-01T13:40:02%2B02:00").await.1,
        "four (partial)"
    );
    assert_eq!(get("sinceTime=2030-01-01T00:00:00Z").await.1, "");
    // tailLines counts records from the end before sinceTime filters.
    assert_eq!(get("tailLines=2").await.1, "three\nfour (partial)");
    assert_eq!(
        get("tailLines=3&sinceTime=2026-09-01T11:40:02Z").await.1,
        "four (partial)"
    );
    assert_eq!(get("tailLines=0").await.1, "");
    // limitBytes counts what goes out, timestamps included, and cuts mid-line.
    assert_eq!(get("limitBytes=6").await.1, "one\ntw");
    assert_eq!(
        get("limitBytes=35&timestamps=true").await.1,
        "2026-09-01T11:40:00.120000000Z one\n"
    );
    // kube's LogParams say the same.
    let lp = LogParams {
        tail_lines: Some(1),
        timestamps: true,
        ..LogParams::default()
    };
    assert_eq!(
        pods.logs("p1", &lp).await.expect("logs"),
        "2026-09-01T11:40:02.120000000Z four (partial)"
    );
    let recent = LogParams {
        since_seconds: Some(5),
        ..LogParams::default()
    };
    assert_eq!(pods.logs("p1", &recent).await.expect("logs"), "");
    api.append_pod_log("ns1", "p1", "\nnow\n");
    assert_eq!(pods.logs("p1", &recent).await.expect("logs"), "\nnow\n");
    let now = LogParams {
        timestamps: true,
        since_seconds: Some(60),
        ..LogParams::default()
    };
    let stamped = pods.logs("p1", &now).await.expect("logs");
    let (stamp, _) = stamped.split_once(' ').expect("a timestamp");
    assert_eq!(
        (stamp.len(), &stamp[19..20], &stamp[29..]),
        (30, ".", "Z"),
        "{stamp}"
    );
}

/// The API server's checks of the log options, and a follow that a limit ends.
#[tokio::test]
async fn pod_log_option_checks_and_a_limited_follow() {
    let api = FakeApi::start();
    let client = client(&api).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "ns1");
    api.add_pod("ns1", pod_json("p1", &["main"]));
    api.append_pod_log("ns1", "p1", "before\nnow\n");
    let get = async |query: &str| log_query(&client, query).await;
    // 422 naming the pod, 400 for what does not parse.
    let (code, text) = get("tailLines=-1&limitBytes=0").await;
    assert_eq!(code, 422);
    let st: Value = serde_json::from_str(&text).expect("a Status");
    assert_eq!(
        st["message"],
        r#"PodLogOptions "p1" is invalid: [tailLines: Invalid value: -1: must be greater than or equal to 0, limitBytes: Invalid value: 0: must be greater than 0]"#
    );
    assert_eq!(st["details"]["kind"], "PodLogOptions");
    let (code, text) = get("sinceSeconds=10&sinceTime=2026-09-01T11:40:01Z").await;
    assert_eq!(code, 422);
    assert!(
        text.contains("at most one of `sinceTime` or `sinceSeconds` may be specified"),
        "{text}"
    );
    let (code, text) = get("sinceTime=yesterday").await;
    assert_eq!(code, 400, "{text}");

    // Following from a time, with a limit: the stream ends once the limit is used up.
    let mut follow = pods
        .log_stream(
            "p1",
            &LogParams {
                follow: true,
                tail_lines: Some(1),
                limit_bytes: Some(12),
                ..LogParams::default()
            },
        )
        .await
        .expect("follow");
    api.append_pod_log("ns1", "p1", "later line\n");
    let mut got = String::new();
    tokio::time::timeout(Duration::from_secs(2), follow.read_to_string(&mut got))
        .await
        .expect("the limit ends the stream")
        .expect("read");
    assert_eq!(got, "now\nlater li");
}
