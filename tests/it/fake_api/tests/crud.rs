//! Create, validation, get, list with selectors, merge patch and delete of Workflows; pods by
//! field selector; CronWorkflow field validation and server-side dry run per Argo version.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchParams};

use super::*;

#[tokio::test]
async fn create_fills_metadata_and_refuses_taken_names() {
    let api = FakeApi::start();
    let wfs = workflows(client(&api).await, "ns1");
    let pp = PostParams::default();

    let mut generated = workflow_json("", "jupyterflow");
    generated["metadata"] = json!({"generateName": "pipeline-", "labels": {"app": "jupyterflow"}});
    let created = wfs.create(&pp, &dynamic(generated)).await.expect("create");
    let name = name_of(&created);
    let suffix = name
        .strip_prefix("pipeline-")
        .expect("the generateName prefix");
    assert_eq!(suffix.len(), 5);
    assert!(
        suffix
            .chars()
            .all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c))
    );
    let meta = &created.metadata;
    assert_eq!(meta.namespace.as_deref(), Some("ns1"));
    assert!(meta.uid.as_ref().is_some_and(|u| u.len() == 36));
    assert!(meta.creation_timestamp.is_some());
    let rv1: u64 = meta
        .resource_version
        .as_deref()
        .expect("rv")
        .parse()
        .expect("numeric");

    let second = wfs
        .create(&pp, &dynamic(workflow_json("second", "other")))
        .await
        .expect("create");
    let rv2: u64 = second
        .metadata
        .resource_version
        .clone()
        .expect("rv")
        .parse()
        .expect("num");
    assert!(rv2 > rv1);

    let st = status_of(
        wfs.create(&pp, &dynamic(workflow_json("second", "x")))
            .await,
    );
    assert_eq!((st.code, st.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(
        st.message,
        r#"workflows.argoproj.io "second" already exists"#
    );
    let details = st.details.expect("details");
    assert_eq!(
        (
            details.name.as_str(),
            details.group.as_str(),
            details.kind.as_str()
        ),
        ("second", "argoproj.io", "workflows")
    );
}

#[tokio::test]
async fn create_validates_like_the_api_server() {
    let api = FakeApi::start();
    let wfs = workflows(client(&api).await, "ns1");
    let pp = PostParams::default();
    let st = status_of(
        wfs.create(&pp, &dynamic(workflow_json("Bad_Name", "x")))
            .await,
    );
    assert_eq!((st.code, st.reason.as_str()), (422, "Invalid"));
    assert!(
        st.message.starts_with(r#"Workflow.argoproj.io "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain"#),
        "{}",
        st.message
    );
    let causes = st.details.expect("details").causes;
    assert_eq!(
        (causes[0].reason.as_str(), causes[0].field.as_str()),
        ("FieldValueInvalid", "metadata.name")
    );

    let mut no_spec = workflow_json("no-spec", "bad value!");
    no_spec.as_object_mut().expect("object").remove("spec");
    let st = status_of(wfs.create(&pp, &dynamic(no_spec)).await);
    assert_eq!(st.code, 422);
    assert!(
        st.message
            .contains("metadata.labels: Invalid value: \"bad value!\""),
        "{}",
        st.message
    );
    assert!(
        st.message.ends_with("spec: Required value]"),
        "{}",
        st.message
    );

    let crons: Api<DynamicObject> = Api::namespaced_with(
        wfs.clone().into_client(),
        "ns1",
        &resource("CronWorkflow", "cronworkflows"),
    );
    let mut cron = cron_json(&"c".repeat(53), &json!({"schedules": ["0 3 * * *"]}));
    let st = status_of(crons.create(&pp, &dynamic(cron.clone())).await);
    assert!(
        st.message.contains("must be no more than 52 characters"),
        "{}",
        st.message
    );
    cron["metadata"]["name"] = "c".repeat(52).into();
    crons
        .create(&pp, &dynamic(cron))
        .await
        .expect("52 characters are fine");
    assert_eq!(api.cron_workflows("ns1").len(), 1);
    let st = status_of(
        wfs.create(
            &pp,
            &dynamic(
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}}),
            ),
        )
        .await,
    );
    assert!(
        st.message
            .contains("kind: Invalid value: \"Pod\": must be Workflow"),
        "{}",
        st.message
    );

    // Sizes: over 3 MiB the request is refused; over 1.5 MiB etcd refuses the object.
    let mut big = workflow_json("big", "x");
    big["spec"]["blob"] = "x".repeat(2 * 1024 * 1024).into();
    let st = status_of(wfs.create(&pp, &dynamic(big.clone())).await);
    assert_eq!(
        (st.code, st.message.as_str()),
        (500, "etcdserver: request is too large")
    );
    big["spec"]["blob"] = "x".repeat(3 * 1024 * 1024).into();
    let st = status_of(wfs.create(&pp, &dynamic(big)).await);
    assert_eq!(
        (st.code, st.reason.as_str()),
        (413, "RequestEntityTooLarge")
    );
    assert_eq!(st.message, "Request entity too large: limit is 3145728");

    assert!(api.workflows("ns1").is_empty());
}

#[tokio::test]
async fn get_and_list_with_selectors() {
    let api = FakeApi::start();
    let wfs = workflows(client(&api).await, "ns1");
    let pp = PostParams::default();
    let first = wfs
        .create(&pp, &dynamic(workflow_json("first", "jupyterflow")))
        .await
        .expect("create");
    let name = name_of(&first);
    let second = wfs
        .create(&pp, &dynamic(workflow_json("second", "other")))
        .await
        .expect("create");
    let got = wfs.get("second").await.expect("get");
    assert_eq!(got.metadata.uid, second.metadata.uid);
    let st = status_of(wfs.get("ghost").await);
    assert_eq!(
        (st.code, st.reason.as_str(), st.message.as_str()),
        (
            404,
            "NotFound",
            r#"workflows.argoproj.io "ghost" not found"#
        )
    );

    api.add_workflow("ns1", workflow_json("third", "other"));
    api.add_workflow("ns2", workflow_json("elsewhere", "jupyterflow"));
    let names = |list: kube::core::ObjectList<DynamicObject>| -> Vec<String> {
        list.items.iter().map(name_of).collect()
    };
    let list = |sel: &str| {
        let wfs = wfs.clone();
        let lp = ListParams::default().labels(sel);
        async move { names(wfs.list(&lp).await.expect("list")) }
    };
    assert_eq!(list("").await, [name.as_str(), "second", "third"]);
    assert_eq!(list("app=jupyterflow").await, [name.as_str()]);
    assert_eq!(list("app==other").await, ["second", "third"]);
    assert_eq!(list("app!=other").await, [name.as_str()]);
    assert_eq!(list("app in (other, jupyterflow)").await.len(), 3);
    assert_eq!(list("app notin (other)").await, [name.as_str()]);
    assert_eq!(list("app,!missing").await.len(), 3);
    assert!(list("missing").await.is_empty());
    let by_name = wfs
        .list(&ListParams::default().fields("metadata.name=third"))
        .await
        .expect("list");
    assert_eq!(names(by_name), ["third"]);
    let st = status_of(wfs.list(&ListParams::default().labels("app in (a")).await);
    assert_eq!((st.code, st.reason.as_str()), (400, "BadRequest"));
    let st = status_of(wfs.list(&ListParams::default().fields("spec.x=1")).await);
    assert_eq!(st.code, 400);
    let all: Api<DynamicObject> = Api::all_with(
        wfs.clone().into_client(),
        &resource("Workflow", "workflows"),
    );
    assert_eq!(
        all.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len(),
        4
    );

    let stored: Vec<String> = api
        .workflows("ns1")
        .iter()
        .map(|w| w["metadata"]["name"].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(stored, [name.as_str(), "second", "third"]);
}

#[tokio::test]
async fn merge_patch_and_delete() {
    let api = FakeApi::start();
    let wfs = workflows(client(&api).await, "ns1");
    let second = wfs
        .create(
            &PostParams::default(),
            &dynamic(workflow_json("second", "other")),
        )
        .await
        .expect("create");
    let rv = |o: &DynamicObject| -> u64 {
        o.metadata
            .resource_version
            .as_deref()
            .expect("rv")
            .parse()
            .expect("numeric")
    };
    let patched = wfs
        .patch(
            "second",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"app": null, "stage": "x"}}})),
        )
        .await
        .expect("merge patch");
    let labels = patched.metadata.labels.clone().expect("labels");
    assert_eq!(
        labels.into_iter().collect::<Vec<_>>(),
        [("stage".to_owned(), "x".to_owned())]
    );
    assert!(rv(&patched) > rv(&second));
    assert_eq!(
        api.workflows("ns1")[0]["metadata"]["labels"],
        json!({"stage": "x"})
    );
    // A patch that changes nothing writes nothing.
    let same = wfs
        .patch(
            "second",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"stage": "x"}}})),
        )
        .await
        .expect("no-op patch");
    assert_eq!(rv(&same), rv(&patched));
    let st = status_of(
        wfs.patch(
            "second",
            &PatchParams::default(),
            &Patch::Strategic(json!({})),
        )
        .await,
    );
    assert_eq!((st.code, st.reason.as_str()), (415, "UnsupportedMediaType"));
    let stale = json!({"metadata": {"resourceVersion": rv(&second).to_string()}, "spec": {"x": 1}});
    let st = status_of(
        wfs.patch("second", &PatchParams::default(), &Patch::Merge(stale))
            .await,
    );
    assert_eq!((st.code, st.reason.as_str()), (409, "Conflict"));

    let deleted = wfs
        .delete("second", &DeleteParams::default())
        .await
        .expect("delete");
    let st = deleted.right().expect("a Status for a custom resource");
    assert!(st.is_success());
    assert_eq!(status_of(wfs.get("second").await).code, 404);
    assert_eq!(
        status_of(wfs.delete("second", &DeleteParams::default()).await).code,
        404
    );
}

#[tokio::test]
async fn pods_by_field_selector_and_labels() {
    let api = FakeApi::start();
    let pods: Api<Pod> = Api::namespaced(client(&api).await, "ns1");
    for (name, ip, app) in [
        ("nb", "10.1.2.3", "jupyter"),
        ("job", "10.1.2.4", "argo"),
        ("twin", "10.1.2.3", "argo"),
    ] {
        let mut pod = pod_json(name, &["main"]);
        pod["metadata"]["labels"] = json!({"app": app});
        pod["status"]["podIP"] = ip.into();
        pod["status"]["podIPs"] = json!([{"ip": ip}]);
        api.add_pod("ns1", pod);
    }
    let mut other_ns = pod_json("elsewhere", &["main"]);
    other_ns["status"]["podIP"] = "10.1.2.3".into();
    api.add_pod("ns2", other_ns);
    let names = async |lp: ListParams| -> Vec<String> {
        pods.list(&lp)
            .await
            .expect("list")
            .items
            .into_iter()
            .filter_map(|p| p.metadata.name)
            .collect()
    };
    let by_ip = ListParams::default().fields("status.podIP=10.1.2.3");
    assert_eq!(names(by_ip.clone()).await, ["nb", "twin"]);
    assert_eq!(names(by_ip.clone().labels("app=jupyter")).await, ["nb"]);
    assert_eq!(
        names(ListParams::default().fields("status.podIP=10.1.2.3,metadata.name=twin")).await,
        ["twin"]
    );
    assert_eq!(
        names(ListParams::default().fields("metadata.name=nb")).await,
        ["nb"]
    );
    assert_eq!(
        names(ListParams::default().fields("status.podIP!=10.1.2.3")).await,
        ["job"]
    );
    assert!(
        names(ListParams::default().fields("status.podIP=10.9.9.9"))
            .await
            .is_empty()
    );
    let st = status_of(
        pods.list(&ListParams::default().fields("status.podIPs=10.1.2.3"))
            .await,
    );
    assert_eq!(st.code, 400);
    assert!(
        st.message
            .contains(r#""status.podIPs" is not a known field selector"#),
        "{}",
        st.message
    );
    // The same filter holds for a watch.
    let mut stream = pods
        .watch(
            &WatchParams::default()
                .fields("status.podIP=10.1.2.4")
                .timeout(5),
            "0",
        )
        .await
        .expect("watch")
        .boxed();
    let first = tokio::time::timeout(Duration::from_secs(2), stream.next())
        .await
        .expect("an event")
        .expect("open")
        .expect("decodes");
    let kube::api::WatchEvent::Added(pod) = first else {
        panic!("expected ADDED, got {first:?}");
    };
    assert_eq!(pod.metadata.name.as_deref(), Some("job"));
}

const CRONS: &str = "/apis/argoproj.io/v1alpha1/namespaces/ns1/cronworkflows";

/// A raw create of `cron` with `query` (`dryRun=All&fieldValidation=Strict`): code, Warning
/// headers, body.
async fn post_cron(client: &Client, query: &str, cron: &Value) -> (u16, Vec<String>, Value) {
    let (code, headers, text) = raw(client, "POST", &format!("{CRONS}?{query}"), Some(cron)).await;
    let warnings = headers
        .get_all("warning")
        .iter()
        .map(|w| w.to_str().expect("ASCII").to_owned())
        .collect();
    (
        code,
        warnings,
        serde_json::from_str(&text).expect("a JSON body"),
    )
}

/// The three CronWorkflows the schedule tests send: both fields, the old one, the new one.
fn schedule_variants() -> [Value; 3] {
    [
        json!({"schedule": "0 3 * * *", "schedules": ["0 3 * * *"]}),
        json!({"schedule": "0 3 * * *"}),
        json!({"schedules": ["0 3 * * *"]}),
    ]
    .map(|fields| cron_json("nightly", &fields))
}

const STRICT_DRY_RUN: &str = "dryRun=All&fieldValidation=Strict";

#[tokio::test]
async fn cron_workflow_strict_dry_run_per_argo_version() {
    let api = FakeApi::start();
    let client = client(&api).await;
    let [both, old, new] = schedule_variants();

    // v4 (the default): `schedule` is unknown.
    let (code, _, body) = post_cron(&client, STRICT_DRY_RUN, &both).await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["reason"], "BadRequest");
    assert_eq!(
        body["message"],
        r#"CronWorkflow in version "v1alpha1" cannot be handled as a CronWorkflow: strict decoding error: unknown field "spec.schedule""#
    );
    let mut two_unknown = both.clone();
    two_unknown["spec"]["zone"] = "UTC".into();
    let (_, _, body) = post_cron(&client, STRICT_DRY_RUN, &two_unknown).await;
    assert!(
        body["message"].as_str().is_some_and(
            |m| m.ends_with(r#"unknown field "spec.schedule", unknown field "spec.zone""#)
        ),
        "{body}"
    );
    let (code, warnings, dry) = post_cron(&client, STRICT_DRY_RUN, &new).await;
    assert_eq!(code, 201, "{dry}");
    assert!(warnings.is_empty());
    assert_eq!(dry["metadata"]["name"], "nightly");
    assert!(dry["metadata"]["uid"].is_string());
    assert!(dry["metadata"].get("resourceVersion").is_none(), "{dry}");
    assert!(api.cron_workflows("ns1").is_empty());
    // Only `schedule`: pruned, then the schema misses `schedules`.
    let (code, _, body) = post_cron(&client, "dryRun=All", &old).await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(
        body["message"],
        r#"CronWorkflow.argoproj.io "nightly" is invalid: spec.schedules: Required value"#
    );

    // 3.6 and 3.7 know both fields; 3.5 only `schedule`.
    api.argo_version(ArgoVersion::V3_6);
    assert_eq!(post_cron(&client, STRICT_DRY_RUN, &both).await.0, 201);
    api.argo_version(ArgoVersion::V3_5);
    let (code, _, body) = post_cron(&client, STRICT_DRY_RUN, &both).await;
    assert_eq!(code, 400);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.ends_with(r#"unknown field "spec.schedules""#)),
        "{body}"
    );
    let (code, _, body) = post_cron(&client, "dryRun=All", &new).await;
    assert_eq!(code, 422);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("spec.schedule: Required value")),
        "{body}"
    );
    // Argo's minimal CRDs keep whatever the spec holds.
    api.argo_crds(ArgoCrds::Minimal);
    api.argo_version(ArgoVersion::V4);
    assert_eq!(post_cron(&client, STRICT_DRY_RUN, &both).await.0, 201);
    assert!(
        api.cron_workflows("ns1").is_empty(),
        "dry runs store nothing"
    );
}

#[tokio::test]
async fn cron_workflow_writes_prune_unknown_fields() {
    let api = FakeApi::start();
    let client = client(&api).await;
    let crons: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "ns1",
        &resource("CronWorkflow", "cronworkflows"),
    );
    let [both, _, new] = schedule_variants();
    let mut watch = crons
        .watch(&WatchParams::default().timeout(10), "0")
        .await
        .expect("watch")
        .boxed();
    assert_eq!(post_cron(&client, STRICT_DRY_RUN, &new).await.0, 201);

    // Without Strict the unknown field is dropped, with a warning (Warn is the default).
    let (code, warnings, created) = post_cron(&client, "", &both).await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(warnings, [r#"299 - "unknown field \"spec.schedule\"""#]);
    assert!(created["spec"].get("schedule").is_none());
    let stored = &api.cron_workflows("ns1")[0];
    assert_eq!(stored["spec"]["schedules"], json!(["0 3 * * *"]));
    assert!(stored["spec"].get("schedule").is_none(), "{stored}");
    // The watch saw the real create only, never the dry run.
    let (ty, seen) = next_event(&mut watch).await;
    assert_eq!(
        (ty.as_str(), seen.metadata.resource_version.is_some()),
        ("ADDED", true)
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(200), watch.next())
            .await
            .is_err(),
        "no second event"
    );
    // A dry run meets a taken name as a create does.
    let (code, _, body) = post_cron(&client, STRICT_DRY_RUN, &new).await;
    assert_eq!(
        (code, body["reason"].as_str()),
        (409, Some("AlreadyExists"))
    );
    crons
        .delete("nightly", &DeleteParams::default())
        .await
        .expect("delete");
    let (code, warnings, _) = post_cron(&client, "fieldValidation=Ignore", &both).await;
    assert_eq!((code, warnings.len()), (201, 0));
    let (code, _, body) = post_cron(&client, "fieldValidation=Loose", &both).await;
    assert_eq!(code, 422);
    assert_eq!(
        body["message"],
        r#"CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loose": supported values: "", "Ignore", "Strict", "Warn""#
    );

    // A merge patch is pruned the same way (and may delete an unknown field with null).
    let patch = json!({"spec": {"schedule": "0 4 * * *", "suspend": true}});
    let strict = PatchParams {
        field_validation: Some(kube::api::ValidationDirective::Strict),
        ..PatchParams::default()
    };
    let st = status_of(
        crons
            .patch("nightly", &strict, &Patch::Merge(patch.clone()))
            .await,
    );
    assert_eq!(st.code, 400);
    let patched = crons
        .patch("nightly", &PatchParams::default(), &Patch::Merge(patch))
        .await
        .expect("patch");
    assert_eq!(patched.data["spec"]["suspend"], true);
    assert!(patched.data["spec"].get("schedule").is_none());
    crons
        .patch(
            "nightly",
            &strict,
            &Patch::Merge(json!({"spec": {"schedule": null}})),
        )
        .await
        .expect("deleting an unknown field is no unknown field");
}
