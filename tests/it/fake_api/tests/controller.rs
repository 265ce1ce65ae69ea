//! The simulated Argo controller against the real status fixtures: the same node ids, names,
//! types, edges and messages Argo wrote there, a consistent node graph, job pods annotated with
//! their nodes, and their logs. (That jupyterflow reads what it writes is tested through the
//! binary, in the run-management tests.)

use std::collections::{BTreeMap, BTreeSet};

use super::*;

/// The job nodes (everything but DAG and TaskGroup nodes) by display name: (phase, exit code), in the order
/// they started, unstarted last.
fn jobs(wf: &Value) -> Vec<(String, String, Option<i64>)> {
    let mut nodes: Vec<&Value> = wf["status"]["nodes"]
        .as_object()
        .expect("nodes")
        .values()
        .filter(|n| n["type"] != "DAG" && n["type"] != "TaskGroup")
        .collect();
    nodes.sort_by_key(|n| {
        (
            n["startedAt"]
                .as_str()
                .map_or((1, String::new()), |t| (0, t.to_owned())),
            n["displayName"].as_str().unwrap_or_default().to_owned(),
        )
    });
    nodes
        .into_iter()
        .map(|n| {
            let exit = n["outputs"]["exitCode"]
                .as_str()
                .and_then(|c| c.parse().ok())
                .or_else(|| n["outputs"]["exitCode"].as_i64());
            (
                n["displayName"].as_str().unwrap_or_default().to_owned(),
                n["phase"].as_str().unwrap_or_default().to_owned(),
                exit,
            )
        })
        .collect()
}

/// (display name, phase) of every job node, sorted by name.
fn phases(wf: &Value) -> Vec<(String, String)> {
    let mut phases: Vec<(String, String)> = jobs(wf)
        .into_iter()
        .map(|(name, phase, _)| (name, phase))
        .collect();
    phases.sort();
    phases
}

/// The pod annotated with the node of `display_name`.
fn pod_of(api: &FakeApi, wf: &Value, display_name: &str) -> Value {
    let node = wf["status"]["nodes"]
        .as_object()
        .expect("nodes")
        .values()
        .find(|n| n["displayName"] == display_name)
        .expect("the node");
    api.pods(NS)
        .into_iter()
        .find(|p| p["metadata"]["annotations"]["workflows.argoproj.io/node-name"] == node["name"])
        .expect("the node's pod")
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = pairs
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    v.sort();
    v
}

const NS: &str = "jhub";

/// A fixture's Workflow as `jupyterflow run` submits it: spec only, no status.
fn submitted(fixture: &str) -> (Value, Value) {
    let path = format!(
        "{}/tests/fixtures/argo-status/{fixture}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let full: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    let mut wf = full.clone();
    let o = wf.as_object_mut().expect("an object");
    o.remove("status");
    for label in [
        "workflows.argoproj.io/phase",
        "workflows.argoproj.io/completed",
    ] {
        o["metadata"]["labels"]
            .as_object_mut()
            .expect("labels")
            .remove(label);
    }
    for field in ["uid", "resourceVersion", "creationTimestamp", "generation"] {
        o["metadata"]
            .as_object_mut()
            .expect("metadata")
            .remove(field);
    }
    (wf, full)
}

fn stored(api: &FakeApi, name: &str) -> Value {
    api.workflows(NS)
        .into_iter()
        .find(|w| w["metadata"]["name"] == name)
        .expect("the workflow")
}

/// The graph is whole: one root DAG node named like the workflow; every other node's id is
/// `<workflow>-<FNV-1a of its name>`, its boundary a DAG node, and it is reachable from the
/// root through `children`, which all exist.
fn check_graph(wf: &Value) {
    let name = wf["metadata"]["name"].as_str().expect("name");
    let nodes = wf["status"]["nodes"].as_object().expect("nodes");
    assert_eq!(nodes[name]["type"], "DAG");
    let mut reachable = BTreeSet::from([name.to_owned()]);
    let mut todo = vec![name.to_owned()];
    while let Some(id) = todo.pop() {
        for child in nodes[&id]["children"].as_array().into_iter().flatten() {
            let child = child.as_str().expect("an id");
            assert!(
                nodes.contains_key(child),
                "{id} has a missing child {child}"
            );
            if reachable.insert(child.to_owned()) {
                todo.push(child.to_owned());
            }
        }
    }
    for (id, node) in nodes {
        assert_eq!(node["id"], id.as_str());
        assert!(
            reachable.contains(id),
            "{id} is not reachable from the root"
        );
        let node_name = node["name"].as_str().expect("a name");
        if id != name {
            let hash = node_name.bytes().fold(0x811c_9dc5_u32, |h, b| {
                (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
            });
            assert_eq!(id, &format!("{name}-{hash}"));
            let boundary = node["boundaryID"].as_str().expect("a boundary");
            assert_eq!(nodes[boundary]["type"], "DAG", "{id}'s boundary");
        }
        assert!(node_name.ends_with(node["displayName"].as_str().expect("display")));
        let done = node["phase"] != "Running";
        assert_eq!(node["finishedAt"].is_null(), !done, "{id}");
    }
}

/// Ours against Argo's, for every node of the fixture: the fields that do not depend on when
/// it ran or on which host.
fn same_nodes(ours: &Value, argo: &Value) {
    let fields = [
        "id",
        "name",
        "displayName",
        "type",
        "phase",
        "templateName",
        "boundaryID",
        "message",
        "children",
        "outboundNodes",
        "inputs",
        "outputs",
        "templateScope",
    ];
    let ours = ours["status"]["nodes"].as_object().expect("nodes");
    for (id, theirs) in argo["status"]["nodes"].as_object().expect("nodes") {
        let mine = ours.get(id).unwrap_or_else(|| panic!("no node {id}"));
        for f in fields {
            assert_eq!(mine.get(f), theirs.get(f), "{id}.{f}");
        }
    }
    assert_eq!(
        ours.len(),
        argo["status"]["nodes"]
            .as_object()
            .map_or(0, serde_json::Map::len)
    );
}

#[tokio::test]
async fn a_failed_chain_matches_argos_status() {
    let api = FakeApi::start();
    let (wf, argo) = submitted("failed");
    api.add_workflow(NS, wf);
    let mut run = api
        .argo_run(NS, "chain-q9z4m")
        .outcome("train", JobOutcome::Failed(2))
        .log(
            "train",
            "Traceback (most recent call last):\nValueError: lr\n",
        );
    let mut rounds = Vec::new();
    while run.step() {
        let wf = stored(&api, "chain-q9z4m");
        check_graph(&wf);
        rounds.push(
            jobs(&wf)
                .into_iter()
                .filter(|(_, phase, _)| phase != "Pending")
                .map(|(name, phase, _)| format!("{name} {phase}"))
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(
        rounds,
        [
            vec!["prep Running"],
            vec!["prep Succeeded", "train Running"],
        ]
    );
    let wf = stored(&api, "chain-q9z4m");
    check_graph(&wf);
    same_nodes(&wf, &argo);
    assert_eq!(wf["status"]["phase"], "Failed");
    assert_eq!(wf["status"]["message"], argo["status"]["message"]);
    assert_eq!(
        wf["metadata"]["labels"]["workflows.argoproj.io/completed"],
        "true"
    );
    assert!(!run.step(), "a finished run stays finished");

    let exits: Vec<(String, Option<i64>)> = jobs(&wf)
        .into_iter()
        .map(|(name, _, exit)| (name, exit))
        .collect();
    assert_eq!(
        exits,
        [
            ("prep".to_owned(), Some(0)),
            ("train".to_owned(), Some(2)),
            ("eval".to_owned(), None),
        ]
    );
    assert_eq!(
        phases(&wf),
        owned(&[
            ("eval", "Omitted"),
            ("prep", "Succeeded"),
            ("train", "Failed")
        ])
    );

    check_chain_pods(&api, &run, &wf).await;
}

/// The pods of the failed chain: named as the status reader expects, annotated with their
/// node, in their phase, with their logs.
async fn check_chain_pods(api: &FakeApi, run: &ArgoRun<'_>, wf: &Value) {
    let pods: BTreeMap<String, Value> = api
        .pods(NS)
        .into_iter()
        .map(|p| (p["metadata"]["name"].as_str().expect("name").to_owned(), p))
        .collect();
    assert_eq!(pods.len(), 2);
    for job in ["prep", "train"] {
        let pod = pod_of(api, wf, job);
        assert_eq!(
            run.pod_name(job).as_deref(),
            pod["metadata"]["name"].as_str(),
            "the pod Argo names for {job}"
        );
        assert_eq!(
            pod["metadata"]["labels"]["workflows.argoproj.io/workflow"],
            "chain-q9z4m"
        );
        assert_eq!(pod["spec"]["containers"][1]["name"], "main");
    }
    let train = run.pod_name("train").expect("train's pod");
    assert_eq!(pods[&train]["status"]["phase"], "Failed");
    assert_eq!(
        pods[&train]["spec"]["containers"][1]["command"],
        json!(["/bin/sh", "-c", "exec python train.py"])
    );
    let prep = run.pod_name("prep").expect("prep's pod");
    assert_eq!(
        pods[&prep]["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
        0
    );
    let logs: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client(api).await, NS);
    let lp = kube::api::LogParams {
        container: Some("main".into()),
        follow: true,
        ..kube::api::LogParams::default()
    };
    assert_eq!(
        logs.logs(&train, &lp).await.expect("train's log"),
        "Traceback (most recent call last):\nValueError: lr\n"
    );
    assert_eq!(
        logs.logs(&prep, &lp).await.expect("prep's log"),
        "prep: exec python prep.py\n"
    );
}

#[test]
fn a_sweep_expands_its_points_and_omits_what_follows_a_failed_one() {
    let api = FakeApi::start();
    let (wf, argo) = submitted("sweep");
    api.add_workflow(NS, wf);
    let mut run = api
        .argo_run(NS, "sweep-b2v8c")
        .point_outcome("train", 2, JobOutcome::Failed(3));
    assert!(run.step());
    assert!(run.step());
    let wf = stored(&api, "sweep-b2v8c");
    check_graph(&wf);
    // While the points run, the nodes Argo had at that stage are the same ones.
    let ours = wf["status"]["nodes"].as_object().expect("nodes");
    for (id, theirs) in argo["status"]["nodes"].as_object().expect("nodes") {
        let mine = &ours[id];
        for f in [
            "name",
            "displayName",
            "type",
            "templateName",
            "boundaryID",
            "inputs",
        ] {
            assert_eq!(mine.get(f), theirs.get(f), "{id}.{f}");
        }
    }
    assert_eq!(
        ours["sweep-b2v8c-32511609"]["children"],
        argo["status"]["nodes"]["sweep-b2v8c-32511609"]["children"]
    );
    assert_eq!(
        jobs(&wf)
            .iter()
            .filter(|(_, phase, _)| phase == "Succeeded")
            .count(),
        1
    );
    assert!(!run.step());
    let wf = stored(&api, "sweep-b2v8c");
    check_graph(&wf);
    assert_eq!(
        phases(&wf),
        owned(&[
            ("prep", "Succeeded"),
            ("train(0:p0:0.1,p1:relu)", "Succeeded"),
            ("train(1:p0:0.1,p1:tanh)", "Succeeded"),
            ("train(2:p0:0.01,p1:relu)", "Failed"),
            ("train(3:p0:0.01,p1:tanh)", "Succeeded"),
            ("eval", "Omitted"),
        ])
    );
    // eval hangs under every point, as Argo connects a dependent of a sweep.
    let nodes = &wf["status"]["nodes"];
    let eval_id = nodes
        .as_object()
        .expect("nodes")
        .iter()
        .find(|(_, n)| n["displayName"] == "eval")
        .map(|(id, _)| id.as_str())
        .expect("eval's node");
    for point in nodes["sweep-b2v8c-32511609"]["children"]
        .as_array()
        .expect("points")
    {
        assert_eq!(
            nodes[point.as_str().expect("id")]["children"],
            json!([eval_id])
        );
    }
    assert_eq!(
        wf["status"]["message"],
        "child 'sweep-b2v8c-32511609' failed"
    );
    assert_eq!(wf["status"]["phase"], "Failed");
    assert_eq!(api.pods(NS).len(), 5);
    let point = run.pod_name("train(2:p0:0.01,p1:relu)").expect("a pod");
    let pod = api
        .pods(NS)
        .into_iter()
        .find(|p| p["metadata"]["name"] == point.as_str())
        .expect("the point's pod");
    assert_eq!(pod["status"]["phase"], "Failed");
    assert_eq!(
        pod["spec"]["containers"][1]["command"][2],
        "exec python train.py --lr 0.01 --act relu"
    );
}

#[test]
fn nested_parts_run_in_order_and_succeed() {
    let api = FakeApi::start();
    let (wf, argo) = submitted("nested");
    api.add_workflow(NS, wf);
    let mut run = api.argo_run(NS, "big-r8m2x");
    let mut steps = 1;
    while run.step() {
        steps += 1;
        check_graph(&stored(&api, "big-r8m2x"));
    }
    // load, clean, then feat (with part-1-2 starting), fit, then the end: five rounds.
    assert_eq!(steps, 5);
    let wf = stored(&api, "big-r8m2x");
    check_graph(&wf);
    let nodes = &wf["status"]["nodes"];
    for (id, theirs) in argo["status"]["nodes"].as_object().expect("nodes") {
        for f in ["name", "displayName", "type", "templateName", "boundaryID"] {
            assert_eq!(nodes[id].get(f), theirs.get(f), "{id}.{f}");
        }
    }
    // The edges Argo writes across parts: clean (part-1-1's outbound node) → part-1-2.
    assert_eq!(
        nodes["big-r8m2x-3892854129"]["children"],
        json!(["big-r8m2x-1414895459"])
    );
    assert_eq!(
        nodes["big-r8m2x-1431673078"]["outboundNodes"],
        json!(["big-r8m2x-3892854129"])
    );
    assert_eq!(wf["status"]["phase"], "Succeeded");
    assert_eq!(wf["status"]["progress"], "4/4");
    assert_eq!(
        phases(&wf),
        owned(&[
            ("clean", "Succeeded"),
            ("feat", "Succeeded"),
            ("fit", "Succeeded"),
            ("load", "Succeeded"),
        ])
    );
    assert!(
        api.pods(NS)
            .iter()
            .all(|p| p["status"]["phase"] == "Succeeded"
                && p["metadata"]["labels"]["workflows.argoproj.io/completed"] == "true")
    );
}

#[test]
fn tasks_not_reached_are_omitted_and_the_run_succeeds() {
    let api = FakeApi::start();
    let (wf, _) = submitted("succeeded");
    api.add_workflow(NS, wf);
    let name = "nightly-1788224400";
    let mut run = api
        .argo_run(NS, name)
        .outcome("train", JobOutcome::NotReached);
    run.run_to_end();
    assert!(run.is_finished());
    let wf = stored(&api, name);
    check_graph(&wf);
    assert_eq!(
        phases(&wf),
        owned(&[
            ("eval", "Omitted"),
            ("prep", "Succeeded"),
            ("train", "Omitted"),
        ])
    );
    assert_eq!(wf["status"]["phase"], "Succeeded");
    assert_eq!(api.pods(NS).len(), 1);
}
