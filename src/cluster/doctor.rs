//! `jupyterflow doctor`: will `run` work here, and if not, exactly what to change. Each check
//! is a local look or one cheap read-only request that needs no cluster-wide rights; a check
//! that cannot be made (an earlier one failed, or the cluster does not let us ask) is skipped
//! and says why. Returns data; the printer draws the table.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use serde::Serialize;

use super::api::Cluster;
use super::connect::{self, Target};
use super::cron_field::{self, Answer};
use super::error::ClusterError;
use super::own_pod::{self, Found};
use super::rbac::{RULES, role_yaml};
use crate::argo::CronScheduleField;
use crate::environment::overrides::{self, ConfigSpec};
use crate::environment::{discover, drift, workdir};

/// A stuck connection means a NetworkPolicy drops it; nothing else takes this long to answer.
const REACH_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Verdict {
    Pass,
    Fail,
    /// `run` works, but something will surprise the user (packages the jobs lack).
    Warn,
    /// Not checked: why is in the detail.
    Skip,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Check {
    pub(crate) name: &'static str,
    pub(crate) verdict: Verdict,
    pub(crate) detail: String,
    /// What to change, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fix: Option<String>,
}

impl Check {
    fn pass(check: &'static str, detail: impl Into<String>) -> Self {
        Check {
            name: check,
            verdict: Verdict::Pass,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fail(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            name: check,
            verdict: Verdict::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn warn(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            name: check,
            verdict: Verdict::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn skip(check: &'static str, detail: impl Into<String>) -> Self {
        Check {
            name: check,
            verdict: Verdict::Skip,
            detail: detail.into(),
            fix: None,
        }
    }
}

/// What doctor looks at besides the cluster: the config's `spec` and the working directory,
/// as `run` would use them.
pub(crate) struct Context<'a> {
    pub(crate) target: &'a Target,
    pub(crate) spec: &'a ConfigSpec,
    pub(crate) workdir: &'a Path,
}

/// Every check, in the order a user fixes them.
pub(crate) async fn examine(context: &Context<'_>) -> Vec<Check> {
    let env = &context.target.env;
    let mut checks = Vec::new();
    let in_pod = env.service_host.is_some();
    let token = env.service_account_dir.join("token");
    if in_pod {
        checks.push(Check::pass(
            "notebook pod",
            format!(
                "KUBERNETES_SERVICE_HOST={}",
                env.service_host.as_deref().unwrap_or_default()
            ),
        ));
        if !token.is_file() {
            // Nothing else can be asked without one.
            checks.push(Check::fail(
                "service-account token",
                format!("no token at {}", token.display()),
                NO_TOKEN_FIX,
            ));
            return checks;
        }
        checks.push(Check::pass(
            "service-account token",
            token.display().to_string(),
        ));
    } else if env.has_cluster() {
        checks.push(Check::skip(
            "notebook pod",
            "not in a pod: checking through the kubeconfig instead",
        ));
    } else {
        checks.push(Check::fail(
            "notebook pod",
            "not in a pod (no KUBERNETES_SERVICE_HOST), and no kubeconfig",
            "run `jupyterflow doctor` in a terminal of the notebook server (JupyterLab: File > New > Terminal); elsewhere set KUBECONFIG",
        ));
        return checks;
    }
    let reach = context.target.request_timeout.min(REACH_TIMEOUT);
    let short = Target {
        request_timeout: reach,
        ..context.target.clone()
    };
    let mut cluster = match connect::connect(&short).await {
        Ok(conn) => Cluster::new(conn),
        Err(e) => {
            checks.push(Check::fail("API server", e.to_string(), e.hint()));
            return checks;
        }
    };
    let server = cluster.conn.server.clone();
    match tokio::time::timeout(reach, cluster.conn.client.apiserver_version()).await {
        Ok(Ok(version)) => checks.push(Check::pass(
            "API server",
            format!("{server} answers (Kubernetes {})", version.git_version),
        )),
        Ok(Err(e)) => {
            let detail = super::error::chain_text(&e);
            checks.push(Check::fail(
                "API server",
                format!("{server}: {detail}"),
                "check the address and the CA (kubectl cluster-info)",
            ));
            return checks;
        }
        Err(_) => {
            checks.push(Check::fail(
                "API server",
                format!(
                    "{server} did not answer within {}s: a NetworkPolicy is probably dropping the connection",
                    reach.as_secs()
                ),
                egress_fix(env.service_host.as_deref(), env.service_port.as_deref()),
            ));
            return checks;
        }
    }
    let pod = own_pod_check(&mut cluster, context, &mut checks).await;
    if let Some(pod) = &pod {
        cluster.conn.learn_service_account(pod);
    }
    checks.extend(permissions(&mut cluster).await);
    let argo = argo_check(&cluster).await;
    let argo_installed = argo.verdict == Verdict::Pass;
    checks.push(argo);
    checks.push(if argo_installed {
        schedule_field_check(&mut cluster).await
    } else {
        Check::skip("CronWorkflow schedules", "needs Argo Workflows")
    });
    checks.extend(pod_checks(&mut cluster, context, pod.as_ref()).await);
    checks
}

/// The checks of what job pods get from the notebook's pod.
async fn pod_checks(cluster: &mut Cluster, context: &Context<'_>, pod: Option<&Pod>) -> [Check; 3] {
    let Some(pod) = pod else {
        return ["working directory", "Istio sidecar", "installed packages"]
            .map(|check| Check::skip(check, "needs the notebook's pod"));
    };
    [
        workdir_check(cluster, context, pod).await,
        istio_check(pod),
        if context.target.pod.is_none() {
            drift_check(context, pod)
        } else {
            Check::skip(
                "installed packages",
                "--pod names another pod: only the notebook itself can be looked in",
            )
        },
    ]
}

/// Packages installed in this container after it started, outside every volume the jobs
/// mount: `run` works, but the jobs will miss them (see `environment::packages`).
fn drift_check(context: &Context<'_>, pod: &Pod) -> Check {
    let check = "installed packages";
    let local = discover::local_context(context.workdir);
    let env = match overrides::resolve(pod, &local, context.spec, false, None) {
        Ok(env) => env,
        Err(e) => return Check::skip(check, format!("cannot build the jobs' environment: {e}")),
    };
    let home = context.target.env.home.as_deref();
    match discover::scan_drift(&env, &[], home) {
        None => Check::skip(
            check,
            "the pod does not say when the notebook container started",
        ),
        Some(drift) if drift.environments.is_empty() => Check::skip(
            check,
            "no Python interpreter (python3, python) on the jobs' PATH",
        ),
        Some(drift) if drift.drifted.is_empty() => Check::pass(
            check,
            format!(
                "nothing installed since the notebook started is missing in jobs ({} package records looked at)",
                drift.scanned
            ),
        ),
        Some(drift) => Check::warn(check, drift::problem(&drift), drift::HINT),
    }
}

/// The notebook's own pod, by `$HOSTNAME` (or `--pod`), else by this container's IP.
async fn own_pod_check(
    cluster: &mut Cluster,
    context: &Context<'_>,
    checks: &mut Vec<Check>,
) -> Option<Pod> {
    let Some(name) = cluster.conn.own_pod.clone() else {
        checks.push(Check::skip(
            "notebook's own pod",
            "not in a pod: pass --pod NAME to check one",
        ));
        return None;
    };
    let ip = if context.target.pod.is_none() {
        context.target.env.pod_ip()
    } else {
        None
    };
    match own_pod::find(cluster, &name, ip.as_deref()).await {
        Ok((pod, Found::ByName)) => {
            checks.push(Check::pass(
                "notebook's own pod",
                format!("{}/{name}", cluster.namespace()),
            ));
            Some(pod)
        }
        Ok((pod, Found::ByIp { ip, name: found })) => {
            checks.push(Check::pass(
                "notebook's own pod",
                format!(
                    "{}/{found}, found by this container's IP {ip} ($HOSTNAME `{name}` is a cut name)",
                    cluster.namespace()
                ),
            ));
            Some(pod)
        }
        Err(e) => {
            checks.push(Check::fail("notebook's own pod", e.to_string(), e.hint()));
            None
        }
    }
}

/// Every right in `RULES`, asked with SelfSubjectAccessReview (which anyone may ask about
/// themselves): one row per rule, naming what is missing.
async fn permissions(cluster: &mut Cluster) -> Vec<Check> {
    let namespace = cluster.namespace().to_owned();
    let mut checks = Vec::new();
    let mut missing_any = false;
    for rule in RULES {
        let mut missing = Vec::new();
        for resource in rule.resources {
            for verb in rule.verbs {
                match allowed(cluster, &namespace, rule.group, resource, verb).await {
                    Ok(true) => {}
                    Ok(false) => missing.push(format!(
                        "{verb} {resource}{}",
                        if rule.group.is_empty() {
                            String::new()
                        } else {
                            format!(".{}", rule.group)
                        }
                    )),
                    Err(e) => {
                        return vec![Check::skip(
                            "permissions",
                            format!(
                                "cannot ask the API server (SelfSubjectAccessReview: {e}); `kubectl auth can-i --list` shows them"
                            ),
                        )];
                    }
                }
            }
        }
        let check = "permissions";
        checks.push(if missing.is_empty() {
            Check::pass(
                check,
                format!(
                    "{}: {} ({})",
                    rule.resources.join(", "),
                    rule.verbs.join(", "),
                    rule.needed_by
                ),
            )
        } else {
            missing_any = true;
            Check {
                name: check,
                verdict: Verdict::Fail,
                detail: format!(
                    "cannot {} (needed by {})",
                    missing.join(", "),
                    rule.needed_by
                ),
                fix: None,
            }
        });
    }
    if missing_any {
        let account = cluster.conn.service_account.clone();
        let fix = format!(
            "ask a cluster admin to apply this Role and RoleBinding (kubectl apply -f -):\n{}",
            role_yaml(
                &namespace,
                account.as_ref().map_or(
                    (namespace.as_str(), "<notebook-service-account>"),
                    |(ns, name)| { (ns.as_str(), name.as_str()) }
                )
            )
        );
        if let Some(last) = checks.iter_mut().rev().find(|c| c.verdict == Verdict::Fail) {
            last.fix = Some(fix);
        }
    }
    checks
}

/// Whether we may `verb` `resource` (`pods/log`: resource and subresource) in `namespace`.
async fn allowed(
    cluster: &mut Cluster,
    namespace: &str,
    group: &str,
    resource: &str,
    verb: &str,
) -> Result<bool, ClusterError> {
    let (resource, subresource) = match resource.split_once('/') {
        Some((resource, sub)) => (resource, Some(sub.to_owned())),
        None => (resource, None),
    };
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(namespace.to_owned()),
                group: Some(group.to_owned()),
                resource: Some(resource.to_owned()),
                subresource,
                verb: Some(verb.to_owned()),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let api: Api<SelfSubjectAccessReview> = Api::all(cluster.conn.client.clone());
    let request = cluster.request(
        "create",
        "selfsubjectaccessreviews",
        "authorization.k8s.io",
        None,
    );
    let params = PostParams::default();
    let answer = cluster
        .call(&request, || api.create(&params, &review))
        .await?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

/// Argo's API group answers (its CRDs are installed).
async fn argo_check(cluster: &Cluster) -> Check {
    let check = "Argo Workflows";
    match cluster
        .conn
        .client
        .list_api_group_resources("argoproj.io/v1alpha1")
        .await
    {
        Ok(list) if list.resources.iter().any(|r| r.name == "workflows") => {
            Check::pass(check, "argoproj.io/v1alpha1 serves workflows")
        }
        Ok(_) | Err(kube::Error::Api(_)) => Check::fail(
            check,
            "the API server does not know argoproj.io/v1alpha1 workflows",
            "install Argo Workflows (https://argo-workflows.readthedocs.io/en/latest/quick-start/) or ask your cluster admin",
        ),
        Err(e) => Check::skip(
            check,
            format!("could not ask: {}", super::error::chain_text(&e)),
        ),
    }
}

/// Which schedule field this cluster's CronWorkflows take (see `cron_field`).
async fn schedule_field_check(cluster: &mut Cluster) -> Check {
    let check = "CronWorkflow schedules";
    match cron_field::detect(cluster).await {
        Ok(Answer::Field(CronScheduleField::Schedules)) => Check::pass(
            check,
            "spec.schedules (Argo 3.6 or later): scheduled pipelines use it",
        ),
        Ok(Answer::Field(CronScheduleField::Schedule)) => Check::pass(
            check,
            "spec.schedule (Argo 3.5 or older): scheduled pipelines use it",
        ),
        Ok(Answer::Unknown) => Check::skip(
            check,
            "the CRDs keep every field (minimal CRDs): `schedules` is written; set `cron_schedule_field: schedule` for Argo 3.5 or older",
        ),
        Err(e) => Check::skip(check, format!("could not ask: {e}")),
    }
}

/// The working directory is on a volume job pods mount (a claim's access mode read).
async fn workdir_check(cluster: &mut Cluster, context: &Context<'_>, pod: &Pod) -> Check {
    let check = "working directory";
    let local = discover::local_context(context.workdir);
    let mut env = match overrides::resolve(pod, &local, context.spec, false, None) {
        Ok(env) => env,
        Err(e) => return Check::fail(check, e.to_string(), "check the pod and the config's spec"),
    };
    let modes = match workdir::claim_to_read(&env) {
        Some(claim) => match cluster.claim_access_modes(&claim).await {
            Ok(modes) => Some(modes),
            Err(e) => return Check::skip(check, format!("cannot read claim `{claim}`: {e}")),
        },
        None => Some(Vec::new()),
    };
    env.notes.clear();
    match workdir::preflight(&mut env, modes.as_deref(), false) {
        Ok(_) => Check::pass(
            check,
            env.notes.pop().unwrap_or_else(|| {
                format!(
                    "{} is on a volume job pods mount",
                    context.workdir.display()
                )
            }),
        ),
        Err(refusal) => Check::fail(check, refusal.to_string(), refusal.hint()),
    }
}

/// Istio injects a sidecar that never exits, so a job pod would never end: jupyterflow's job
/// pods opt out (`sidecar.istio.io/inject: false`); said when the notebook has one.
fn istio_check(pod: &Pod) -> Check {
    let check = "Istio sidecar";
    let injected = pod
        .spec
        .as_ref()
        .is_some_and(|s| s.containers.iter().any(|c| c.name == "istio-proxy"))
        || pod
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key("sidecar.istio.io/status"));
    if injected {
        Check::pass(
            check,
            "the namespace injects Istio sidecars; job pods opt out (sidecar.istio.io/inject: false)",
        )
    } else {
        Check::skip(check, "no sidecar in the notebook's pod")
    }
}

/// Why a JupyterHub notebook has no token, and the helm values that give it one.
const NO_TOKEN_FIX: &str = "zero-to-jupyterhub mounts a token only when the user pods have a service account; \
in the hub's helm values:
  singleuser:
    serviceAccountName: jupyterflow   # create it, and bind the Role `jupyterflow doctor` prints
or the pod sets automountServiceAccountToken: false (KubeSpawner: c.KubeSpawner.automount_service_account_token = True fixes it).
Then restart the notebook server.";

/// The zero-to-jupyterhub rule that lets user pods reach the API server.
fn egress_fix(host: Option<&str>, port: Option<&str>) -> String {
    let host = host.unwrap_or("<API server address>");
    let port = port.unwrap_or("443");
    let cidr = if host.contains(':') {
        format!("{host}/128")
    } else {
        format!("{host}/32")
    };
    format!(
        "zero-to-jupyterhub's default singleuser NetworkPolicy blocks private addresses; in the hub's helm values:
  singleuser:
    networkPolicy:
      egress:
        - to:
            - ipBlock:
                cidr: {cidr}
          ports:
            - port: {port}
              protocol: TCP
Most network plugins match the API server's own address after the service is translated: add the addresses `kubectl get endpoints kubernetes -n default` lists (port 443 or 6443) the same way."
    )
}

/// Whether `run` would work: every check it depends on passed (skipped ones are not needed,
/// or were skipped because of one that failed).
pub(crate) fn ready(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.verdict != Verdict::Fail)
}
