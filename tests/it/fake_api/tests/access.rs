//! TLS verification, bearer tokens, service-account files, RBAC denials and access reviews,
//! discovery, Argo's CRDs per version, a missing Argo, and kubectl against the server.

use std::process::Command;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ListParams, LogParams, PostParams, WatchParams};

use super::*;

#[tokio::test]
async fn tls_verification_and_bearer_auth() {
    let api = FakeApi::start();
    let yaml = api.kubeconfig_yaml(&[("main", Some("ns1")), ("other", None)]);
    let lp = ListParams::default();
    let good = workflows(client_from_yaml(&yaml).await, "ns1");
    assert!(good.list(&lp).await.expect("list").items.is_empty());
    assert_eq!(api.requests().len(), 1);

    // A client that trusts another CA never gets as far as a request.
    let foreign = yaml.replace(
        &base64(api.ca_pem().as_bytes()),
        &base64(FakeApi::foreign_ca_pem().as_bytes()),
    );
    assert_ne!(foreign, yaml);
    let err = workflows(client_from_yaml(&foreign).await, "ns1")
        .list(&lp)
        .await
        .expect_err("an untrusted server certificate");
    assert!(!matches!(err, kube::Error::Api(_)), "{err:?}");
    assert_eq!(api.requests().len(), 1);

    // The second context has no namespace: the client's default is "default".
    let other = KubeConfigOptions {
        context: Some("other".into()),
        ..KubeConfigOptions::default()
    };
    let config =
        Config::from_custom_kubeconfig(Kubeconfig::from_yaml(&yaml).expect("yaml"), &other)
            .await
            .expect("config");
    assert_eq!(config.default_namespace, "default");

    let bad = workflows(
        client_from_yaml(&yaml.replace(&api.token(), "nope")).await,
        "ns1",
    );
    let st = status_of(bad.list(&lp).await);
    assert_eq!(
        (st.code, st.reason.as_str(), st.message.as_str()),
        (401, "Unauthorized", "Unauthorized")
    );

    let old = api.token();
    let new = api.rotate_token();
    assert_ne!(old, new);
    assert_eq!(api.token(), new);
    assert_eq!(status_of(good.list(&lp).await).code, 401);
    let rotated = workflows(client(&api).await, "ns1");
    rotated.list(&lp).await.expect("the new token works");
    api.set_token_valid(&old, true);
    good.list(&lp).await.expect("the old token is valid again");
    api.set_token_valid(&new, false);
    assert_eq!(status_of(rotated.list(&lp).await).code, 401);
    api.set_token_valid(&new, true);

    let tokens: Vec<Option<String>> = api.requests().into_iter().map(|r| r.token).collect();
    assert_eq!(
        tokens,
        [&old, "nope", &old, &new, &old, &new].map(|t| Some(t.to_owned()))
    );
}

/// The service-account files are enough for an in-cluster style config (token file reread).
#[tokio::test]
async fn service_account_dir() {
    let api = FakeApi::start();
    let lp = ListParams::default();
    let dir = tempfile::tempdir().expect("a temp dir");
    api.write_service_account_dir(dir.path(), "ns9");
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).expect("a file");
    assert_eq!(
        (read("token"), read("ca.crt"), read("namespace")),
        (api.token(), api.ca_pem(), "ns9".to_owned())
    );
    let mut config = Config::new(api.url().parse().expect("a URL"));
    config.root_cert_file = Some(dir.path().join("ca.crt"));
    config.auth_info.token_file = Some(dir.path().join("token").display().to_string());
    let in_cluster = workflows(Client::try_from(config).expect("client"), "ns9");
    in_cluster.list(&lp).await.expect("service account works");
}

#[tokio::test]
async fn rbac_denials() {
    let api = FakeApi::start();
    let client = client(&api).await;
    let wfs = workflows(client.clone(), "ns1");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "ns1");
    api.add_pod("ns1", pod_json("p1", &["main"]));

    api.forbid("create", "workflows");
    let st = status_of(
        wfs.create(&PostParams::default(), &dynamic(workflow_json("w", "x")))
            .await,
    );
    assert_eq!((st.code, st.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        st.message,
        r#"workflows.argoproj.io is forbidden: User "system:serviceaccount:ns1:default-editor" cannot create resource "workflows" in API group "argoproj.io" in the namespace "ns1""#
    );
    assert!(api.workflows("ns1").is_empty());
    wfs.list(&ListParams::default())
        .await
        .expect("list is still allowed");

    api.forbid("get", "pods");
    let st = status_of(pods.get("p1").await);
    assert_eq!(
        st.message,
        r#"pods "p1" is forbidden: User "system:serviceaccount:ns1:default-editor" cannot get resource "pods" in API group "" in the namespace "ns1""#
    );
    let details = st.details.expect("details");
    assert_eq!(
        (
            details.name.as_str(),
            details.group.as_str(),
            details.kind.as_str()
        ),
        ("p1", "", "pods")
    );
    api.forbid("get", "pods/log");
    let st = status_of(pods.logs("p1", &LogParams::default()).await);
    assert!(
        st.message
            .contains(r#"cannot get resource "pods/log" in API group """#),
        "{}",
        st.message
    );
    api.forbid("watch", "workflows");
    assert_eq!(
        status_of(wfs.watch(&WatchParams::default(), "0").await.map(|_| ())).code,
        403
    );
}

#[tokio::test]
async fn discovery_and_missing_argo() {
    let api = FakeApi::start();
    let client = client(&api).await;
    let wfs = workflows(client.clone(), "ns1");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "ns1");
    let groups = client.list_api_groups().await.expect("groups");
    let names: Vec<&str> = groups.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["networking.k8s.io", "argoproj.io"]);
    let networking = client
        .list_api_group_resources("networking.k8s.io/v1")
        .await
        .expect("networking resources");
    assert_eq!(networking.group_version, "networking.k8s.io/v1");
    assert_eq!(networking.resources[0].kind, "NetworkPolicy");
    let resources = client
        .list_api_group_resources("argoproj.io/v1alpha1")
        .await
        .expect("resources");
    let workflow = resources
        .resources
        .iter()
        .find(|r| r.name == "workflows")
        .expect("workflows");
    assert_eq!(
        (workflow.kind.as_str(), workflow.short_names.as_deref()),
        ("Workflow", Some(&["wf".to_owned()][..]))
    );
    let core = client.list_core_api_resources("v1").await.expect("core");
    assert!(core.resources.iter().any(|r| r.name == "pods/log"));
    assert_eq!(
        client.apiserver_version().await.expect("version").major,
        "1"
    );

    api.uninstall_argo();
    let st = status_of(wfs.list(&ListParams::default()).await);
    assert_eq!(
        (st.code, st.reason.as_str(), st.message.as_str()),
        (
            404,
            "NotFound",
            "the server could not find the requested resource"
        )
    );
    assert!(
        st.details
            .is_some_and(|d| d.name.is_empty() && d.kind.is_empty())
    );
    let groups = client.list_api_groups().await.expect("groups");
    let names: Vec<&str> = groups.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["networking.k8s.io"], "Argo's group is gone");
    assert_eq!(
        status_of(
            client
                .list_api_group_resources("argoproj.io/v1alpha1")
                .await
        )
        .code,
        404
    );
    pods.list(&ListParams::default())
        .await
        .expect("core API still served");
}

#[test]
#[expect(clippy::print_stderr, reason = "says why the test is skipped")]
fn kubectl_create_and_get() {
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        eprintln!("kubectl is not on PATH: skipping");
        return;
    }
    let api = FakeApi::start();
    api.add_pod("ns1", pod_json("p1", &["main"]));
    let dir = tempfile::tempdir().expect("a temp dir");
    let kubeconfig = dir.path().join("config");
    std::fs::write(&kubeconfig, api.kubeconfig_yaml(&[("fake", Some("ns1"))]))
        .expect("write kubeconfig");
    let wf = dir.path().join("workflow.json");
    std::fs::write(&wf, workflow_json("from-kubectl", "x").to_string()).expect("write workflow");
    let kubectl = |args: &[&str]| {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .args(args)
            .output()
            .expect("run kubectl");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "kubectl {args:?}: {stderr}");
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let created = kubectl(&[
        "create",
        "-o",
        "name",
        "-f",
        wf.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(created, "workflow.argoproj.io/from-kubectl\n");
    assert_eq!(api.workflows("ns1").len(), 1);
    let pod: Value =
        serde_json::from_str(&kubectl(&["get", "pod", "p1", "-o", "json"])).expect("JSON");
    assert_eq!(pod["metadata"]["name"], "p1");
    assert_eq!(
        kubectl(&["get", "wf", "-o", "name"]),
        "workflow.argoproj.io/from-kubectl\n"
    );
    // Table output: kubectl asks for a Table, gets the object, and prints names.
    assert!(kubectl(&["get", "pods"]).contains("p1"));
    api.append_pod_log("ns1", "p1", "hello\n");
    assert_eq!(kubectl(&["logs", "p1"]), "hello\n");
    assert!(kubectl(&["delete", "wf", "from-kubectl"]).contains("deleted"));
    assert!(api.workflows("ns1").is_empty());
}

fn can_i(verb: &str, resource: &str, subresource: &str, group: &str) -> SelfSubjectAccessReview {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: some(verb),
                group: Some(group.to_owned()),
                resource: some(resource),
                subresource: some(subresource),
                namespace: Some("ns1".to_owned()),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    }
}

#[tokio::test]
async fn self_subject_access_reviews_follow_the_rbac_denials() {
    let api = FakeApi::start();
    let client = client(&api).await;
    let reviews: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let pp = PostParams::default();
    api.forbid("get", "pods/log");
    api.forbid("create", "cronworkflows");
    let allowed = async |verb: &str, resource: &str, sub: &str, group: &str| {
        let review = reviews
            .create(&pp, &can_i(verb, resource, sub, group))
            .await
            .expect("a review");
        review.status.expect("a status")
    };
    let log = allowed("get", "pods", "log", "").await;
    assert!(!log.allowed);
    assert_eq!((log.reason, log.denied), (None, None));
    assert!(allowed("get", "pods", "", "").await.allowed);
    assert!(
        !allowed("create", "cronworkflows", "", "argoproj.io")
            .await
            .allowed
    );
    let create = allowed("create", "workflows", "", "argoproj.io").await;
    assert!(create.allowed);
    assert!(
        create
            .reason
            .is_some_and(|r| r.starts_with("RBAC: allowed by RoleBinding")),
    );
    api.allow("get", "pods/log");
    assert!(allowed("get", "pods", "log", "").await.allowed);

    // On the wire: 201 Created, the spec echoed, nothing stored.
    let path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
    let body = json!({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "create", "group": "argoproj.io", "resource": "cronworkflows", "namespace": "ns1"}},
    });
    let (code, _, text) = raw(&client, "POST", path, Some(&body)).await;
    let answer: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(code, 201);
    assert_eq!(answer["metadata"], json!({"creationTimestamp": null}));
    assert_eq!(answer["spec"], body["spec"]);
    assert_eq!(answer["status"], json!({"allowed": false}));
    let (code, _, text) = raw(&client, "POST", path, Some(&json!({"spec": {}}))).await;
    assert_eq!(code, 422, "{text}");
    assert!(
        text.contains(r#"SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified"#),
        "{text}"
    );
    let non_resource =
        json!({"spec": {"nonResourceAttributes": {"path": "/version", "verb": "get"}}});
    let (code, _, text) = raw(&client, "POST", path, Some(&non_resource)).await;
    assert_eq!(code, 201);
    assert!(text.contains(r#""allowed":true"#), "{text}");

    // The review endpoint itself: denied by RBAC, or not served at all.
    api.forbid("create", "selfsubjectaccessreviews");
    let st = status_of(reviews.create(&pp, &can_i("get", "pods", "", "")).await);
    assert_eq!((st.code, st.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        st.message,
        r#"selfsubjectaccessreviews.authorization.k8s.io is forbidden: User "system:serviceaccount:default:default-editor" cannot create resource "selfsubjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope"#
    );
    api.allow("create", "selfsubjectaccessreviews");
    api.serve_access_reviews(false);
    let st = status_of(reviews.create(&pp, &can_i("get", "pods", "", "")).await);
    assert_eq!(
        (st.code, st.message.as_str()),
        (404, "the server could not find the requested resource")
    );
    assert!(api.requests().iter().all(|r| r.token.is_some()));
}

#[tokio::test]
async fn cron_workflow_crd_per_argo_version() {
    let api = FakeApi::start();
    let client = client(&api).await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let spec_fields = async || {
        let crd = crds
            .get("cronworkflows.argoproj.io")
            .await
            .expect("the CRD");
        assert_eq!(crd.spec.names.kind, "CronWorkflow");
        let schema = crd.spec.versions[0]
            .schema
            .clone()
            .and_then(|s| s.open_api_v3_schema)
            .expect("a schema");
        let spec = schema.properties.expect("properties")["spec"].clone();
        let required = spec.required.clone().unwrap_or_default();
        let props = spec.properties.unwrap_or_default();
        let has = |f: &str| props.contains_key(f);
        (
            has("schedule"),
            has("schedules"),
            required,
            spec.x_kubernetes_preserve_unknown_fields,
        )
    };
    // The default is Argo v4: only `schedules`, and required.
    let (schedule, schedules, required, _) = spec_fields().await;
    assert_eq!((schedule, schedules), (false, true));
    assert_eq!(required, ["schedules", "workflowSpec"]);
    api.argo_version(ArgoVersion::V3_6);
    let (schedule, schedules, required, _) = spec_fields().await;
    assert_eq!(
        (schedule, schedules, required),
        (true, true, vec!["workflowSpec".to_owned()])
    );
    api.argo_version(ArgoVersion::V3_5);
    let (schedule, schedules, required, _) = spec_fields().await;
    assert_eq!((schedule, schedules), (true, false));
    assert_eq!(required, ["schedule", "workflowSpec"]);
    api.argo_crds(ArgoCrds::Minimal);
    let (schedule, schedules, _, preserve) = spec_fields().await;
    assert_eq!((schedule, schedules, preserve), (false, false, Some(true)));

    let all = crds.list(&ListParams::default()).await.expect("list");
    let mut names: Vec<String> = all
        .items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["cronworkflows.argoproj.io", "workflows.argoproj.io"]
    );
    let st = status_of(crds.get("pods").await);
    assert_eq!(
        (st.code, st.message.as_str()),
        (
            404,
            r#"customresourcedefinitions.apiextensions.k8s.io "pods" not found"#
        )
    );

    // What a notebook's service account usually gets.
    api.forbid("get", "customresourcedefinitions");
    let st = status_of(crds.get("cronworkflows.argoproj.io").await);
    assert_eq!((st.code, st.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        st.message,
        r#"customresourcedefinitions.apiextensions.k8s.io "cronworkflows.argoproj.io" is forbidden: User "system:serviceaccount:default:default-editor" cannot get resource "customresourcedefinitions" in API group "apiextensions.k8s.io" at the cluster scope"#
    );
    let details = st.details.expect("details");
    assert_eq!(
        (
            details.name.as_str(),
            details.group.as_str(),
            details.kind.as_str()
        ),
        (
            "cronworkflows.argoproj.io",
            "apiextensions.k8s.io",
            "customresourcedefinitions"
        )
    );
    api.allow("get", "customresourcedefinitions");
    api.uninstall_argo();
    assert_eq!(
        status_of(crds.get("cronworkflows.argoproj.io").await).code,
        404
    );
}
