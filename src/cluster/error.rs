//! Everything that can go wrong talking to the cluster, each with what to do about it. Turns
//! kube's errors (HTTP status + Kubernetes `Status` body, or a transport failure) into these,
//! using what the request was (verb, resource, namespace). Never includes the bearer token.

use std::path::PathBuf;

use super::rbac::role_yaml;
use std::time::Duration;

/// What a request was about, for messages: "create workflows.argoproj.io in namespace ns".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub verb: &'static str,
    /// Plural resource, with `/subresource` when there is one (`pods/log`).
    pub resource: &'static str,
    /// API group: "" for core, "argoproj.io" for Argo.
    pub group: &'static str,
    pub namespace: String,
    pub name: Option<String>,
}

impl Request {
    /// `workflows.argoproj.io "x"` / `pods "x"`, the way Kubernetes names things.
    pub(crate) fn what(&self) -> String {
        let kind = if self.group.is_empty() {
            self.resource.to_owned()
        } else {
            format!("{}.{}", self.resource, self.group)
        };
        match &self.name {
            Some(name) => format!("{kind} \"{name}\""),
            None => kind,
        }
    }
}

/// One field the API server refused, from a 422 `Status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldCause {
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ClusterError {
    #[error(
        "no Kubernetes cluster is configured: no service account at {} and no kubeconfig",
        .service_account_dir.display()
    )]
    NoCluster { service_account_dir: PathBuf },
    #[error("{message}")]
    Config { message: String, hint: String },
    /// A kubeconfig context that cannot be used: not in the kubeconfig, or `--context` with no
    /// kubeconfig at all. Bad input: nothing was asked of a cluster.
    #[error("{message}")]
    BadContext { message: String, hint: String },
    #[error("the API server at {server} rejected our credentials (401 Unauthorized) from {origin}")]
    Unauthorized { server: String, origin: String },
    #[error("{user} cannot {verb} {resource} in namespace `{namespace}` (403 Forbidden)", verb = .request.verb, resource = .request.what(), namespace = .request.namespace)]
    Forbidden { request: Box<Request>, user: String },
    #[error("notebook pod `{name}` was not found in namespace `{namespace}`")]
    OwnPodNotFound {
        name: String,
        namespace: String,
        in_pod: bool,
    },
    #[error("this version cannot tell which pod is the notebook: {reason}")]
    NoOwnPod { reason: String },
    #[error(
        "Argo Workflows is not installed in this cluster: the API server does not know {group}/{resource}",
        group = .request.group, resource = .request.resource
    )]
    ArgoNotInstalled { request: Box<Request> },
    #[error("{} not found in namespace `{}`", .request.what(), .request.namespace)]
    NotFound { request: Box<Request> },
    #[error("{} already exists in namespace `{}` (409 Conflict)", .request.what(), .request.namespace)]
    Conflict {
        request: Box<Request>,
        message: String,
    },
    #[error("the API server refused {}: {message}", .request.what())]
    Invalid {
        request: Box<Request>,
        message: String,
        causes: Vec<FieldCause>,
    },
    #[error("cannot verify the API server at {server}: {detail}")]
    Tls { server: String, detail: String },
    #[error("cannot connect to the API server at {server}: connection refused")]
    ConnectionRefused { server: String },
    #[error("the API server at {server} did not answer {} within {}s", .request.what(), .after.as_secs())]
    Timeout {
        server: String,
        request: Box<Request>,
        after: Duration,
    },
    #[error("the API server answered {code} to {verb} {}: {message}", .request.what(), verb = .request.verb)]
    Server {
        request: Box<Request>,
        code: u16,
        message: String,
    },
    #[error("lost the connection to the API server at {server} ({verb} {}): {detail}", .request.what(), verb = .request.verb)]
    Transport {
        server: String,
        request: Box<Request>,
        detail: String,
    },
    #[error("namespace `{namespace}` does not exist")]
    NoNamespace { namespace: String },
    #[error("cannot build the {kind} to submit: {detail}")]
    BuildObject { kind: &'static str, detail: String },
    #[error("a CronWorkflow named {name} already exists in namespace `{namespace}`")]
    CronExists { name: String, namespace: String },
    #[error("three generated {kind} names were all taken")]
    NamesTaken { kind: &'static str },
    #[error("watching {name} failed: {message}")]
    WatchFailed { name: String, message: String },
    #[error("workflow {name} was deleted while being followed")]
    Deleted { name: String },
    /// The task watching the workflow ended without a last word (it should not).
    #[error("the workflow watch stopped")]
    WatchStopped { name: String },
    #[error(
        "the job pods of {name} are gone (removed by Argo's pod garbage collection), and their logs with them"
    )]
    PodsGone { name: String },
    #[error("reading the log of {pod}: {detail}")]
    ReadLog { pod: String, detail: String },
    /// A create whose outcome could not be settled: it may or may not exist. `in_flight`: an
    /// attempt may still be running on the server, so it may appear later.
    #[error("{cause}; it is not known whether {name} was created{}", if *.in_flight { " (an earlier attempt got no answer and the server may still be creating it)" } else { "" })]
    Unsettled {
        name: String,
        cause: String,
        in_flight: bool,
    },
    /// The workflow was submitted, then following it failed: it goes on without us.
    #[error("{name} was submitted and goes on running, but following it failed: {cause}")]
    AfterSubmit { name: String, cause: String },
}

/// What a failed command leaves behind on the cluster (the exit code is chosen from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Nothing was submitted or changed.
    Unchanged,
    /// Something may have been submitted: check before running again.
    Unknown,
    /// No cluster was asked anything: the input was wrong (a usage error).
    NotAsked,
}

impl ClusterError {
    /// Whether anything may have been submitted.
    pub(crate) fn outcome(&self) -> Outcome {
        match self {
            ClusterError::Unsettled { .. } | ClusterError::AfterSubmit { .. } => Outcome::Unknown,
            ClusterError::BadContext { .. } => Outcome::NotAsked,
            _ => Outcome::Unchanged,
        }
    }

    /// How to fix it. Multi-line for 403 (the RBAC objects to apply). Errors a misconfigured
    /// hub causes (401, 403, the notebook pod or Argo not found, no answer) also point to
    /// `doctor`, which checks everything else at once.
    pub(crate) fn hint(&self) -> String {
        let hint = self.own_hint();
        if self.is_about_the_platform() {
            format!("{hint}\n{DOCTOR_HINT}")
        } else {
            hint
        }
    }

    fn is_about_the_platform(&self) -> bool {
        matches!(
            self,
            ClusterError::Unauthorized { .. }
                | ClusterError::Forbidden { .. }
                | ClusterError::OwnPodNotFound { in_pod: true, .. }
                | ClusterError::NoOwnPod { .. }
                | ClusterError::ArgoNotInstalled { .. }
                | ClusterError::Timeout { .. }
                | ClusterError::ConnectionRefused { .. }
        )
    }

    fn own_hint(&self) -> String {
        match self {
            ClusterError::NoCluster { .. } => "run inside the notebook pod, set KUBECONFIG or --context, or use --local to run here".into(),
            ClusterError::Config { hint, .. } | ClusterError::BadContext { hint, .. } => hint.clone(),
            ClusterError::NoNamespace { .. } => "check -n/--namespace and the config's `namespace`; kubectl get namespaces lists them".into(),
            ClusterError::BuildObject { .. } => "this is a bug in jupyterflow; please report it with the workflow".into(),
            ClusterError::CronExists { name, .. } => format!("to replace the schedule, delete it first (jupyterflow delete --cron {name}); or give the workflow another `name:`"),
            ClusterError::NamesTaken { .. } => "give the workflow another `name:`".into(),
            ClusterError::WatchFailed { name, .. } | ClusterError::WatchStopped { name } => {
                format!("try again: jupyterflow watch {name}")
            }
            ClusterError::Deleted { .. } => "someone ran jupyterflow delete or kubectl delete; `jupyterflow resubmit` cannot bring it back, run the pipeline again".into(),
            ClusterError::PodsGone { .. } => "to keep logs, configure an artifact repository with archiveLogs, or a podGC strategy that keeps pods".into(),
            ClusterError::ReadLog { .. } => "try again; the pod may have been deleted meanwhile".into(),
            ClusterError::Unauthorized { .. } => "the token has expired or was revoked: restart the notebook server to get a fresh service-account token, or log in again (kubeconfig)".into(),
            ClusterError::Forbidden { request, user } => {
                let service_account = user
                    .strip_prefix("system:serviceaccount:")
                    .and_then(|rest| rest.split_once(':'))
                    .unwrap_or((request.namespace.as_str(), "<notebook-service-account>"));
                format!(
                    "ask a cluster admin to apply this Role and RoleBinding (kubectl apply -f -):\n{}",
                    role_yaml(&request.namespace, service_account)
                )
            }
            ClusterError::OwnPodNotFound { in_pod: true, .. } => "jupyterflow reads the notebook's own pod ($HOSTNAME); if this is not a notebook pod, pass --pod NAME, or --dry-run --pod-file POD.json".into(),
            ClusterError::OwnPodNotFound { in_pod: false, .. } => "check the name with kubectl get pods, and -n/--namespace".into(),
            ClusterError::NoOwnPod { .. } => "pass --pod NAME (the notebook pod to take the image and volumes from), or --dry-run --pod-file POD.json".into(),
            ClusterError::ArgoNotInstalled { .. } => "install Argo Workflows (https://argo-workflows.readthedocs.io/en/latest/quick-start/) or ask your cluster admin; --local runs the pipeline here".into(),
            ClusterError::NotFound { request } => not_found_hint(request),
            ClusterError::Conflict { .. } => "another object has that name: pick another `name:` or delete the old one".into(),
            ClusterError::Invalid { causes, .. } => {
                let mut text = String::from("fix these fields:");
                for cause in causes {
                    text.push_str(&format!("\n  {}: {}", cause.field, cause.message));
                }
                if causes.is_empty() {
                    text = "check the workflow's name and labels".into();
                }
                text
            }
            ClusterError::Tls { .. } => "the server's certificate does not match the CA jupyterflow trusts: check certificate-authority in the kubeconfig, or the service account's ca.crt".into(),
            ClusterError::ConnectionRefused { .. } => "is the API server address right and reachable from here? (kubectl cluster-info)".into(),
            ClusterError::Timeout { .. } => "the API server is slow or unreachable; try again, or raise --request-timeout".into(),
            ClusterError::Server { code, message, .. } if super::retry::retryable_status(*code, message) => "jupyterflow retried and gave up; try again in a moment (-v shows the retries)".into(),
            ClusterError::Server { .. } => "the API server refused the request; its message above says why".into(),
            ClusterError::Transport { .. } => "jupyterflow retried and gave up; try again in a moment (-v shows the retries)".into(),
            ClusterError::Unsettled { name, in_flight: false, .. } => format!("check with `jupyterflow get {name}` before running again: if it exists, it is this run"),
            ClusterError::Unsettled { name, in_flight: true, .. } => format!("it may still appear: check with `jupyterflow get {name}` in a minute, before running again; if it exists, it is this run"),
            ClusterError::AfterSubmit { name, .. } => format!("re-attach with `jupyterflow watch {name}`"),
        }
    }
}

const DOCTOR_HINT: &str = "run `jupyterflow doctor` in a notebook terminal: it checks everything `run` needs and says what to change";

/// What to do about a 404, for the kind of thing that was not found.
fn not_found_hint(request: &Request) -> String {
    let namespace = &request.namespace;
    match (request.group, request.resource) {
        ("argoproj.io", "workflows") => {
            "jupyterflow list shows the runs (add --all for runs not made by jupyterflow)".into()
        }
        ("argoproj.io", "cronworkflows") => "jupyterflow list --cron shows the schedules".into(),
        ("", "persistentvolumeclaims") => format!(
            "the notebook pod mounts this claim, but namespace `{namespace}` has no such claim: \
             jobs run in `{namespace}` (check -n/--namespace); kubectl get pvc -n {namespace} \
             lists the claims there"
        ),
        ("", "pods/log") => {
            "the pod is gone: deleted, or removed by Argo's pod garbage collection".into()
        }
        _ => format!(
            "check the name and -n/--namespace (kubectl get {} -n {namespace})",
            request.resource
        ),
    }
}

/// Why a transport-level failure happened, from the error chain's text (hyper and rustls do not
/// expose typed kinds through kube's boxed errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportKind {
    Refused,
    Tls,
    /// Reset, closed early, incomplete message: worth retrying.
    Broken,
    Other,
}

pub(crate) fn transport_kind(chain: &str) -> TransportKind {
    let text = chain.to_ascii_lowercase();
    if text.contains("connection refused") {
        TransportKind::Refused
    } else if text.contains("certificate")
        || text.contains("invalidcertificate")
        || text.contains("unknownissuer")
        || text.contains("tls handshake")
        || text.contains("handshake")
    {
        TransportKind::Tls
    } else if text.contains("reset")
        || text.contains("closed")
        || text.contains("incomplete")
        || text.contains("broken pipe")
        || text.contains("eof")
        || text.contains("timed out")
        || text.contains("timeout")
    {
        TransportKind::Broken
    } else {
        TransportKind::Other
    }
}

/// A transport failure's text as users read it: the cause, without the links to documentation
/// that rustls writes into its messages and without the client layers' wrapper names
/// (`ServiceError`, `client error (SendRequest)`), which say nothing about what went wrong.
pub(crate) fn readable(chain: &str) -> String {
    let is_link = |word: &str| word.starts_with("https://") || word.starts_with("http://");
    let parts: Vec<String> = chain
        .split(": ")
        .filter(|part| {
            !(is_link(part) || *part == "ServiceError" || part.starts_with("client error ("))
        })
        .map(|part| {
            part.split(' ')
                .filter(|word| !is_link(word))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|part| !part.trim().is_empty())
        .collect();
    if parts.is_empty() {
        chain.to_owned()
    } else {
        parts.join(": ")
    }
}

/// The whole `source()` chain of an error, joined, for classification and messages.
pub(crate) fn chain_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            verb: "create",
            resource: "workflows",
            group: "argoproj.io",
            namespace: "team-a".into(),
            name: None,
        }
    }

    #[test]
    fn forbidden_names_the_verb_resource_namespace_and_prints_the_role() {
        let err = ClusterError::Forbidden {
            request: Box::new(request()),
            user: "system:serviceaccount:team-a:default-editor".into(),
        };
        assert_eq!(
            err.to_string(),
            "system:serviceaccount:team-a:default-editor cannot create workflows.argoproj.io in namespace `team-a` (403 Forbidden)"
        );
        let hint = err.hint();
        assert!(hint.contains("kind: RoleBinding"), "{hint}");
        assert!(
            hint.contains("  name: default-editor\n  namespace: team-a"),
            "{hint}"
        );
        // The job pods' executor runs as the same service account.
        assert!(
            hint.contains(
                "- apiGroups: [argoproj.io]\n  resources: [workflowtaskresults]\n  verbs: [create, patch]\n"
            ),
            "{hint}"
        );
        assert!(
            hint.contains("  resources: [workflows, cronworkflows]\n  verbs: [create, get, list, watch, patch, delete]\n"),
            "the rest stays: {hint}"
        );
    }

    #[test]
    fn not_found_hints_fit_what_was_not_found() {
        let not_found = |group, resource| ClusterError::NotFound {
            request: Box::new(Request {
                verb: "get",
                resource,
                group,
                namespace: "team-a".into(),
                name: Some("x".into()),
            }),
        };
        assert!(
            not_found("argoproj.io", "workflows")
                .hint()
                .contains("jupyterflow list")
        );
        let claim = not_found("", "persistentvolumeclaims").hint();
        assert!(claim.contains("kubectl get pvc -n team-a"), "{claim}");
        assert!(!claim.contains("jupyterflow list"), "{claim}");
        let pod = not_found("", "pods").hint();
        assert!(pod.contains("kubectl get pods -n team-a"), "{pod}");
    }

    #[test]
    fn errors_a_hub_causes_point_to_doctor_and_others_do_not() {
        let platform = [
            ClusterError::Unauthorized {
                server: "https://10.0.0.1".into(),
                origin: "the service account".into(),
            },
            ClusterError::Forbidden {
                request: Box::new(request()),
                user: "system:serviceaccount:team-a:default".into(),
            },
            ClusterError::OwnPodNotFound {
                name: "jupyter-alice".into(),
                namespace: "team-a".into(),
                in_pod: true,
            },
            ClusterError::ArgoNotInstalled {
                request: Box::new(request()),
            },
            ClusterError::Timeout {
                server: "https://10.0.0.1".into(),
                request: Box::new(request()),
                after: Duration::from_secs(30),
            },
        ];
        for err in platform {
            let hint = err.hint();
            assert!(hint.ends_with(DOCTOR_HINT), "{err}: {hint}");
            assert!(
                !hint.starts_with(DOCTOR_HINT),
                "its own hint comes first: {hint}"
            );
        }
        let not_a_platform_problem = [
            ClusterError::NotFound {
                request: Box::new(request()),
            },
            ClusterError::OwnPodNotFound {
                name: "jupyter-alice".into(),
                namespace: "team-a".into(),
                in_pod: false,
            },
            ClusterError::CronExists {
                name: "nightly".into(),
                namespace: "team-a".into(),
            },
        ];
        for err in not_a_platform_problem {
            assert!(!err.hint().contains("doctor"), "{err}: {}", err.hint());
        }
    }

    #[test]
    fn invalid_lists_the_field_causes() {
        let err = ClusterError::Invalid {
            request: Box::new(request()),
            message: "Workflow.argoproj.io \"x\" is invalid".into(),
            causes: vec![FieldCause {
                field: "metadata.labels".into(),
                message: "must be no more than 63 characters".into(),
            }],
        };
        assert!(
            err.hint()
                .contains("metadata.labels: must be no more than 63 characters")
        );
    }

    #[test]
    fn transport_messages_keep_the_cause_and_drop_links_and_wrappers() {
        assert_eq!(
            readable(
                "ServiceError: client error (SendRequest): connection error: peer closed connection without sending TLS close_notify: https://docs.rs/rustls/latest/rustls/manual/_03_howto/index.html#unexpected-eof"
            ),
            "connection error: peer closed connection without sending TLS close_notify"
        );
        assert_eq!(
            readable("invalid peer certificate: UnknownIssuer"),
            "invalid peer certificate: UnknownIssuer"
        );
        assert_eq!(readable("ServiceError"), "ServiceError");
    }

    #[test]
    fn transport_failures_are_told_apart() {
        assert_eq!(
            transport_kind(
                "client error (Connect): tcp connect error: Connection refused (os error 111)"
            ),
            TransportKind::Refused
        );
        assert_eq!(
            transport_kind("invalid peer certificate: UnknownIssuer"),
            TransportKind::Tls
        );
        assert_eq!(
            transport_kind("connection closed before message completed"),
            TransportKind::Broken
        );
    }
}
