//! The requests jupyterflow makes, each retried by one loop (bounded, jittered, `Retry-After`
//! honoured, reported as notes for `-v`); `classify` turns each failure into a `ClusterError`
//! that names what was asked. Workflows and CronWorkflows go through `DynamicObject`s and come
//! back as JSON values; the pure `status` module reads them.

use std::future::Future;
use std::time::Instant;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, LogParams, Patch, PatchParams,
    PostParams, WatchEvent, WatchParams,
};

use super::classify::{Failure, classify};
use super::connect::Connection;
use super::error::{ClusterError, Request};
use super::retry::{Retry, RetryPolicy, Rng};
use crate::argo::types::{API_VERSION, ArgoKind};

/// kube's description of an Argo kind, for dynamic requests.
fn api_resource(kind: ArgoKind) -> ApiResource {
    ApiResource {
        group: "argoproj.io".into(),
        version: "v1alpha1".into(),
        api_version: API_VERSION.into(),
        kind: kind.kind().into(),
        plural: kind.plural().into(),
    }
}

/// The cluster, as jupyterflow uses it.
pub(crate) struct Cluster {
    pub conn: Connection,
    pub policy: RetryPolicy,
    rng: Rng,
    /// What happened along the way that `-v` shows: retries and their reasons.
    pub notes: Vec<String>,
    /// Whether an attempt of the last `call` may have taken effect without us seeing the answer.
    pub outcome_unknown: bool,
    /// Whether an attempt of the last `call` may still be running on the server after we gave
    /// up on it (timed out, connection lost, gateway timeout): it can land after any later
    /// answer, so a 404 read now proves nothing about it.
    pub in_flight: bool,
}

impl Cluster {
    pub(crate) fn new(conn: Connection) -> Self {
        Cluster {
            conn,
            policy: RetryPolicy::default(),
            rng: Rng::from_entropy(),
            notes: Vec::new(),
            outcome_unknown: false,
            in_flight: false,
        }
    }

    pub(crate) fn namespace(&self) -> &str {
        &self.conn.namespace
    }

    pub(crate) fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    pub(crate) fn request(
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

    fn core_api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.conn.client.clone(), &self.conn.namespace)
    }

    fn argo_api(&self, kind: ArgoKind) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.conn.client.clone(),
            &self.conn.namespace,
            &api_resource(kind),
        )
    }

    /// Runs `attempt` until it succeeds, fails for good, or the policy gives up.
    pub(crate) async fn call<T, F, Fut>(
        &mut self,
        request: &Request,
        mut attempt: F,
    ) -> Result<T, ClusterError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let started = Instant::now();
        // Attempts made, and those that count against `max_attempts` (refusals from a server
        // that is restarting do not: only the time budget bounds them).
        let mut attempts = 0;
        let mut counted = 0;
        let mut refusals = 0;
        self.outcome_unknown = false;
        self.in_flight = false;
        loop {
            attempts += 1;
            let mut failure = match tokio::time::timeout(self.conn.request_timeout, attempt()).await
            {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(e)) => classify(&self.conn, request, &e),
                Err(_) => Failure {
                    error: ClusterError::Timeout {
                        server: self.conn.server.clone(),
                        request: Box::new(request.clone()),
                        after: self.conn.request_timeout,
                    },
                    retry: Retry::Yes { server_delay: None },
                },
            };
            let (took_effect, running) = aftermath(&failure.error);
            self.outcome_unknown |= took_effect;
            self.in_flight |= running;
            // Refused by a server that answered before (this call or an earlier one): it is
            // restarting. A follow must outlive that, for as long as the time budget allows.
            let restarting = matches!(failure.error, ClusterError::ConnectionRefused { .. })
                && (attempts > 1 || self.conn.answered());
            let random = self.rng.unit();
            let wait = if restarting {
                failure.retry = Retry::Yes { server_delay: None };
                refusals += 1;
                self.policy
                    .delay_while_down(refusals, started.elapsed(), random)
            } else {
                let Retry::Yes { server_delay } = failure.retry else {
                    return Err(failure.error);
                };
                counted += 1;
                self.policy
                    .delay(counted + 1, started.elapsed(), server_delay, random)
            };
            let Some(wait) = wait else {
                self.notes.push(format!(
                    "gave up on {} {} after {attempts} attempts",
                    request.verb,
                    request.what(),
                ));
                return Err(failure.error);
            };
            self.notes.push(format!(
                "retrying {} {} in {} ms (attempt {}): {}",
                request.verb,
                request.what(),
                wait.as_millis(),
                attempts + 1,
                failure.error
            ));
            tokio::time::sleep(wait).await;
        }
    }

    pub(crate) async fn get_pod(&mut self, name: &str) -> Result<Pod, ClusterError> {
        let api: Api<Pod> = self.core_api();
        let request = self.request("get", "pods", "", Some(name));
        self.call(&request, || api.get(name)).await
    }

    pub(crate) async fn list_pods(&mut self, selector: &str) -> Result<Vec<Pod>, ClusterError> {
        let api: Api<Pod> = self.core_api();
        let request = self.request("list", "pods", "", None);
        let params = ListParams::default().labels(selector);
        Ok(self.call(&request, || api.list(&params)).await?.items)
    }

    /// A server-side dry run (nothing is stored) of creating `object` in the namespace, with
    /// strict field validation: the API server refuses fields its schema does not declare.
    /// kube's `PostParams` cannot ask for strict validation, hence the request by hand.
    pub(crate) async fn dry_run_create_strict(
        &mut self,
        plural: &'static str,
        object: &serde_json::Value,
    ) -> Result<serde_json::Value, ClusterError> {
        let path = format!(
            "/apis/argoproj.io/v1alpha1/namespaces/{}/{plural}?dryRun=All&fieldValidation=Strict",
            self.conn.namespace
        );
        let body = serde_json::to_vec(object).unwrap_or_default();
        let client = self.conn.client.clone();
        let request = self.request("create", plural, "argoproj.io", None);
        self.call(&request, || {
            let http_request = http::Request::post(&path)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
            let client = client.clone();
            async move {
                let http_request = http_request.map_err(kube::Error::HttpError)?;
                client.request::<serde_json::Value>(http_request).await
            }
        })
        .await
    }

    /// Pods matching a field selector (`status.podIP=10.1.2.3`).
    pub(crate) async fn list_pods_by_fields(
        &mut self,
        selector: &str,
    ) -> Result<Vec<Pod>, ClusterError> {
        let api: Api<Pod> = self.core_api();
        let request = self.request("list", "pods", "", None);
        let params = ListParams::default().fields(selector);
        Ok(self.call(&request, || api.list(&params)).await?.items)
    }

    pub(crate) async fn get_pvc(
        &mut self,
        name: &str,
    ) -> Result<PersistentVolumeClaim, ClusterError> {
        let api: Api<PersistentVolumeClaim> = self.core_api();
        let request = self.request("get", "persistentvolumeclaims", "", Some(name));
        self.call(&request, || api.get(name)).await
    }

    /// A claim's access modes: from its status (what was bound) or, before binding, its spec.
    pub(crate) async fn claim_access_modes(
        &mut self,
        name: &str,
    ) -> Result<Vec<String>, ClusterError> {
        let pvc = self.get_pvc(name).await?;
        Ok(pvc
            .status
            .as_ref()
            .and_then(|s| s.access_modes.clone())
            .or_else(|| pvc.spec.as_ref().and_then(|s| s.access_modes.clone()))
            .unwrap_or_default())
    }

    /// The namespace's NetworkPolicies (one list request), to give job pods the labels the
    /// notebook's select it by.
    pub(crate) async fn list_network_policies(
        &mut self,
    ) -> Result<Vec<NetworkPolicy>, ClusterError> {
        let api: Api<NetworkPolicy> = self.core_api();
        let request = self.request("list", "networkpolicies", "networking.k8s.io", None);
        let params = ListParams::default();
        Ok(self.call(&request, || api.list(&params)).await?.items)
    }

    /// A pod's log stream, read as `params` say (container, follow, timestamps, sinceTime,
    /// tailLines).
    pub(crate) async fn pod_log(
        &mut self,
        pod: &str,
        params: &LogParams,
    ) -> Result<impl futures::AsyncBufRead + use<>, ClusterError> {
        let api: Api<Pod> = self.core_api();
        let request = self.request("get", "pods/log", "", Some(pod));
        self.call(&request, || api.log_stream(pod, params)).await
    }

    pub(crate) async fn create(
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

    pub(crate) async fn get(
        &mut self,
        kind: ArgoKind,
        name: &str,
    ) -> Result<serde_json::Value, ClusterError> {
        let api = self.argo_api(kind);
        let request = self.request("get", kind.plural(), "argoproj.io", Some(name));
        Ok(to_json(&self.call(&request, || api.get(name)).await?))
    }

    /// Objects matching a label selector (empty = all), and the list's resourceVersion.
    pub(crate) async fn list(
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

    pub(crate) async fn merge_patch(
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
    pub(crate) async fn delete(&mut self, kind: ArgoKind, name: &str) -> Result<(), ClusterError> {
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
    pub(crate) async fn watch_one(
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

/// What a failed attempt may have left on the server: (it may have taken effect, it may still
/// be running). A server that answered is done with the request, so a GET settles it; one that
/// did not answer in time, lost the connection, or sat behind a gateway that timed out (502,
/// 504: the API server goes on with a write its client no longer waits for) may still apply it
/// later. 429 is sent before anything is done.
fn aftermath(error: &ClusterError) -> (bool, bool) {
    match error {
        ClusterError::Timeout { .. }
        | ClusterError::Transport { .. }
        | ClusterError::Server {
            code: 502 | 504, ..
        } => (true, true),
        ClusterError::Server { code, .. } => (*code != 429, false),
        _ => (false, false),
    }
}

pub(crate) fn to_json(object: &DynamicObject) -> serde_json::Value {
    serde_json::to_value(object).unwrap_or(serde_json::Value::Null)
}
