//! The requests jupyterflow makes, each retried by one loop (bounded, jittered, `Retry-After`
//! honoured, reported as notes for `-v`) and each failure turned into a `ClusterError` that
//! names what was asked. Workflows and CronWorkflows go through `DynamicObject`s and come
//! back as JSON values; the pure `status` module reads them.

use std::future::Future;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, LogParams, Patch, PatchParams,
    PostParams, WatchEvent, WatchParams,
};

use super::connect::{Connection, Origin};
use super::error::{self, ClusterError, FieldCause, Request, TransportKind};
use super::retry::{self, Retry, RetryPolicy, Rng};

/// Argo's two kinds we create and manage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgoKind {
    Workflow,
    CronWorkflow,
}

impl ArgoKind {
    pub fn plural(self) -> &'static str {
        match self {
            ArgoKind::Workflow => "workflows",
            ArgoKind::CronWorkflow => "cronworkflows",
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            ArgoKind::Workflow => "Workflow",
            ArgoKind::CronWorkflow => "CronWorkflow",
        }
    }

    fn resource(self) -> ApiResource {
        ApiResource {
            group: "argoproj.io".into(),
            version: "v1alpha1".into(),
            api_version: "argoproj.io/v1alpha1".into(),
            kind: self.kind().into(),
            plural: self.plural().into(),
        }
    }
}

/// A failed attempt: the error to report if we stop here, and whether to try again.
struct Failure {
    error: ClusterError,
    retry: Retry,
}

/// The cluster, as jupyterflow uses it.
pub struct Cluster {
    pub conn: Connection,
    pub policy: RetryPolicy,
    rng: Rng,
    /// What happened along the way that `-v` shows: retries and their reasons.
    pub notes: Vec<String>,
    /// Whether an attempt of the last `call` may have taken effect without us seeing the answer.
    pub outcome_unknown: bool,
}

impl Cluster {
    pub fn new(conn: Connection) -> Self {
        Cluster {
            conn,
            policy: RetryPolicy::default(),
            rng: Rng::from_entropy(),
            notes: Vec::new(),
            outcome_unknown: false,
        }
    }

    pub fn namespace(&self) -> &str {
        &self.conn.namespace
    }

    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    pub fn request(
        &self,
        verb: &'static str,
        resource: &'static str,
        group: &'static str,
        name: Option<&str>,
    ) -> Request {
        Request {
            verb,
            resource,
            group,
            namespace: self.conn.namespace.clone(),
            name: name.map(str::to_owned),
        }
    }

    fn argo_api(&self, kind: ArgoKind) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.conn.client.clone(),
            &self.conn.namespace,
            &kind.resource(),
        )
    }

    /// Runs `attempt` until it succeeds, fails for good, or the policy gives up.
    pub async fn call<T, F, Fut>(
        &mut self,
        request: &Request,
        mut attempt: F,
    ) -> Result<T, ClusterError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let started = Instant::now();
        let mut number = 1;
        self.outcome_unknown = false;
        loop {
            let mut failure = match tokio::time::timeout(self.conn.request_timeout, attempt()).await
            {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(e)) => self.classify(request, &e),
                Err(_) => Failure {
                    error: ClusterError::Timeout {
                        server: self.conn.server.clone(),
                        request: Box::new(request.clone()),
                        after: self.conn.request_timeout,
                    },
                    retry: Retry::Yes { server_delay: None },
                },
            };
            // The server may have acted on a request that timed out, broke, or got a 5xx
            // other than 429 (which API servers send before doing anything).
            self.outcome_unknown |= match &failure.error {
                ClusterError::Timeout { .. } | ClusterError::Transport { .. } => true,
                ClusterError::Server { code, .. } => *code != 429,
                _ => false,
            };
            // Refused after an earlier attempt reached the server: it is restarting.
            if number > 1 && matches!(failure.error, ClusterError::ConnectionRefused { .. }) {
                failure.retry = Retry::Yes { server_delay: None };
            }
            let Retry::Yes { server_delay } = failure.retry else {
                return Err(failure.error);
            };
            number += 1;
            let random = self.rng.unit();
            let Some(wait) = self
                .policy
                .delay(number, started.elapsed(), server_delay, random)
            else {
                self.notes.push(format!(
                    "gave up on {} {} after {} attempts",
                    request.verb,
                    request.what(),
                    number - 1
                ));
                return Err(failure.error);
            };
            self.notes.push(format!(
                "retrying {} {} in {} ms (attempt {number}): {}",
                request.verb,
                request.what(),
                wait.as_millis(),
                failure.error
            ));
            tokio::time::sleep(wait).await;
        }
    }

    /// Turns a kube error into ours, deciding whether it is worth another attempt.
    fn classify(&self, request: &Request, e: &kube::Error) -> Failure {
        let header_delay = self.conn.observed.lock().ok().and_then(|o| o.retry_after);
        let fatal = |error| Failure {
            error,
            retry: Retry::No,
        };
        match e {
            kube::Error::Api(status) => {
                let code = status.code;
                let message = status.message.clone();
                let details = status.details.as_ref();
                if retry::retryable_status(code, &message) {
                    let body_delay = details
                        .map(|d| d.retry_after_seconds)
                        .filter(|s| *s > 0)
                        .map(|s| Duration::from_secs(u64::from(s)));
                    return Failure {
                        error: ClusterError::Server {
                            request: Box::new(request.clone()),
                            code,
                            message,
                        },
                        retry: Retry::Yes {
                            server_delay: header_delay.or(body_delay),
                        },
                    };
                }
                fatal(self.refusal(request, code, message, details))
            }
            other => {
                let chain = error::chain_text(other);
                match error::transport_kind(&chain) {
                    TransportKind::Refused => fatal(ClusterError::ConnectionRefused {
                        server: self.conn.server.clone(),
                    }),
                    TransportKind::Tls => fatal(ClusterError::Tls {
                        server: self.conn.server.clone(),
                        detail: chain,
                    }),
                    kind => Failure {
                        error: ClusterError::Transport {
                            server: self.conn.server.clone(),
                            request: Box::new(request.clone()),
                            detail: chain,
                        },
                        retry: if kind == TransportKind::Broken
                            || matches!(other, kube::Error::HyperError(_) | kube::Error::Service(_))
                        {
                            Retry::Yes { server_delay: None }
                        } else {
                            Retry::No
                        },
                    },
                }
            }
        }
    }

    /// A status that is not worth retrying, as the error users see.
    fn refusal(
        &self,
        request: &Request,
        code: u16,
        message: String,
        details: Option<&kube::core::response::StatusDetails>,
    ) -> ClusterError {
        match code {
            401 => ClusterError::Unauthorized {
                server: self.conn.server.clone(),
                origin: self.conn.origin.describe(),
            },
            403 => ClusterError::Forbidden {
                request: Box::new(request.clone()),
                user: forbidden_user(&message).unwrap_or_else(|| match &self.conn.origin {
                    Origin::ServiceAccount { .. } => "the notebook's service account".into(),
                    Origin::Kubeconfig { context } => format!("the user of context `{context}`"),
                }),
            },
            // A 404 that names no object means the path itself is unknown: the
            // resource type is not installed.
            404 if details.is_none_or(|d| d.name.is_empty()) && request.group == "argoproj.io" => {
                ClusterError::ArgoNotInstalled {
                    request: Box::new(request.clone()),
                }
            }
            // Creating in a namespace that does not exist names the namespace.
            404 if details.is_some_and(|d| d.kind == "namespaces") => ClusterError::Other {
                message: format!("namespace `{}` does not exist", request.namespace),
                hint: "check -n/--namespace and the config's `namespace`; kubectl get namespaces lists them".into(),
            },
            404 => ClusterError::NotFound {
                request: Box::new(request.clone()),
            },
            409 => ClusterError::Conflict {
                request: Box::new(request.clone()),
                message,
            },
            422 => ClusterError::Invalid {
                request: Box::new(request.clone()),
                message,
                causes: details
                    .map(|d| {
                        d.causes
                            .iter()
                            .map(|c| FieldCause {
                                field: c.field.clone(),
                                message: c.message.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            _ => ClusterError::Server {
                request: Box::new(request.clone()),
                code,
                message,
            },
        }
    }

    pub async fn get_pod(&mut self, name: &str) -> Result<Pod, ClusterError> {
        let api: Api<Pod> = Api::namespaced(self.conn.client.clone(), &self.conn.namespace);
        let request = self.request("get", "pods", "", Some(name));
        self.call(&request, || api.get(name)).await
    }

    pub async fn list_pods(&mut self, selector: &str) -> Result<Vec<Pod>, ClusterError> {
        let api: Api<Pod> = Api::namespaced(self.conn.client.clone(), &self.conn.namespace);
        let request = self.request("list", "pods", "", None);
        let params = ListParams::default().labels(selector);
        Ok(self.call(&request, || api.list(&params)).await?.items)
    }

    pub async fn get_pvc(&mut self, name: &str) -> Result<PersistentVolumeClaim, ClusterError> {
        let api: Api<PersistentVolumeClaim> =
            Api::namespaced(self.conn.client.clone(), &self.conn.namespace);
        let request = self.request("get", "persistentvolumeclaims", "", Some(name));
        self.call(&request, || api.get(name)).await
    }

    /// A pod's log stream (container `main`), following when asked.
    pub async fn pod_log(
        &mut self,
        pod: &str,
        container: &str,
        follow: bool,
    ) -> Result<impl futures::AsyncBufRead + use<>, ClusterError> {
        let api: Api<Pod> = Api::namespaced(self.conn.client.clone(), &self.conn.namespace);
        let request = self.request("get", "pods/log", "", Some(pod));
        let params = LogParams {
            container: Some(container.to_owned()),
            follow,
            ..LogParams::default()
        };
        self.call(&request, || api.log_stream(pod, &params)).await
    }

    pub async fn create(
        &mut self,
        kind: ArgoKind,
        object: &DynamicObject,
    ) -> Result<serde_json::Value, ClusterError> {
        let api = self.argo_api(kind);
        let request = self.request("create", kind.plural(), "argoproj.io", None);
        let params = PostParams::default();
        let created = self.call(&request, || api.create(&params, object)).await?;
        Ok(to_json(&created))
    }

    pub async fn get(
        &mut self,
        kind: ArgoKind,
        name: &str,
    ) -> Result<serde_json::Value, ClusterError> {
        let api = self.argo_api(kind);
        let request = self.request("get", kind.plural(), "argoproj.io", Some(name));
        Ok(to_json(&self.call(&request, || api.get(name)).await?))
    }

    /// Objects matching a label selector (empty = all), and the list's resourceVersion.
    pub async fn list(
        &mut self,
        kind: ArgoKind,
        selector: &str,
    ) -> Result<(Vec<serde_json::Value>, String), ClusterError> {
        let api = self.argo_api(kind);
        let request = self.request("list", kind.plural(), "argoproj.io", None);
        let params = ListParams::default().labels(selector);
        let list = self.call(&request, || api.list(&params)).await?;
        let version = list.metadata.resource_version.clone().unwrap_or_default();
        Ok((list.items.iter().map(to_json).collect(), version))
    }

    pub async fn merge_patch(
        &mut self,
        kind: ArgoKind,
        name: &str,
        patch: &serde_json::Value,
    ) -> Result<serde_json::Value, ClusterError> {
        let api = self.argo_api(kind);
        let request = self.request("patch", kind.plural(), "argoproj.io", Some(name));
        let params = PatchParams::default();
        let patch = Patch::Merge(patch);
        let patched = self
            .call(&request, || api.patch(name, &params, &patch))
            .await?;
        Ok(to_json(&patched))
    }

    /// Deletes one object; already gone counts as done (a retried DELETE meets 404).
    pub async fn delete(&mut self, kind: ArgoKind, name: &str) -> Result<(), ClusterError> {
        let api = self.argo_api(kind);
        let request = self.request("delete", kind.plural(), "argoproj.io", Some(name));
        let params = DeleteParams::background();
        match self.call(&request, || api.delete(name, &params)).await {
            Ok(_) | Err(ClusterError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// One watch request on a single workflow from `version`; the caller re-watches when the
    /// stream ends (the server closes watches after a while).
    pub async fn watch_one(
        &mut self,
        kind: ArgoKind,
        name: &str,
        version: &str,
    ) -> Result<
        impl futures::Stream<Item = Result<WatchEvent<DynamicObject>, kube::Error>> + use<>,
        ClusterError,
    > {
        let api = self.argo_api(kind);
        let request = self.request("watch", kind.plural(), "argoproj.io", Some(name));
        let params = WatchParams::default()
            .fields(&format!("metadata.name={name}"))
            .timeout(290);
        self.call(&request, || api.watch(&params, version)).await
    }
}

pub fn to_json(object: &DynamicObject) -> serde_json::Value {
    serde_json::to_value(object).unwrap_or(serde_json::Value::Null)
}

/// The user a 403 names: `User "system:serviceaccount:ns:name" cannot …`.
fn forbidden_user(message: &str) -> Option<String> {
    let rest = message.split_once("User \"")?.1;
    Some(rest.split_once('"')?.0.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_user_from_a_forbidden_message() {
        let message = "workflows.argoproj.io is forbidden: User \"system:serviceaccount:team:default-editor\" cannot create resource \"workflows\" in API group \"argoproj.io\" in the namespace \"team\"";
        assert_eq!(
            forbidden_user(message).as_deref(),
            Some("system:serviceaccount:team:default-editor")
        );
        assert_eq!(forbidden_user("forbidden"), None);
    }
}
