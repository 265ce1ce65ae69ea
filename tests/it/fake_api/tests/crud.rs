//! Create, validation, get, list with selectors, merge patch and delete of Workflows; pods by
//! field selector.

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
    let mut cron = workflow_json(&"c".repeat(53), "x");
    cron["kind"] = "CronWorkflow".into();
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
