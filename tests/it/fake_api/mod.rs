//! An in-process fake Kubernetes API server for the integration tests and the benchmark: HTTPS
//! with a test CA, bearer tokens, pods/logs/PVCs/NetworkPolicies and Argo Workflows/CronWorkflows with watch
//! streams, RBAC denials and access reviews, Argo CRDs per version, fault injection (restarts
//! included), a request log, and a simulated Argo controller. Self-contained (no other test
//! module), so a bench can include it with `#[path = "../tests/it/fake_api/mod.rs"]`.
// The bench uses only part of this surface.
#![allow(dead_code)]

mod clock;
mod controller;
mod crd;
mod discovery;
mod faults;
mod http;
mod logs;
mod resources;
mod review;
mod routes;
mod select;
mod status;
mod store;
// A bench that includes this module is checked with cfg(test) but without the test harness,
// which drops the #[test] functions and leaves the imports they use unused.
#[cfg(test)]
#[allow(unused_imports, reason = "see above: only in a bench's check build")]
mod tests;
mod tls;
mod validate;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

#[allow(unused_imports, reason = "a bench that plays no controller names none")]
pub(crate) use controller::{ArgoRun, JobOutcome};
#[allow(
    unused_imports,
    reason = "a bench that keeps the default Argo names neither"
)]
pub(crate) use crd::{ArgoCrds, ArgoVersion};
use faults::Faults;
#[allow(
    unused_imports,
    reason = "a bench that injects no faults names neither"
)]
pub(crate) use faults::{Fault, FaultRule};
use logs::Logs;
use resources::Res;
use store::Store;

/// One request as the server saw it (faulted and unauthorized ones too).
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) token: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) body_len: usize,
}

struct State {
    store: Store,
    logs: Logs,
    tokens: HashSet<String>,
    current_token: String,
    /// (verb, resource) pairs RBAC denies, e.g. ("get", "pods/log").
    forbidden: HashSet<(String, String)>,
    argo_installed: bool,
    /// Whether `selfsubjectaccessreviews` exists at all (some proxies and clusters lack it).
    access_reviews: bool,
}

struct Shared {
    state: Mutex<State>,
    faults: Mutex<Faults>,
    requests: Mutex<Vec<Recorded>>,
    addr: SocketAddr,
}

/// A panicking test thread must not take the server down with it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Orders for the server thread.
enum Control {
    /// Close the listener and every connection, say so on `closed`, listen again after `down_for`.
    Restart {
        down_for: Duration,
        closed: std::sync::mpsc::Sender<()>,
    },
}

/// The fake API server. Dropping it stops the server and closes every connection.
pub(crate) struct FakeApi {
    shared: Arc<Shared>,
    ca_pem: String,
    stop: Option<oneshot::Sender<()>>,
    control: mpsc::UnboundedSender<Control>,
    thread: Option<JoinHandle<()>>,
}

/// Listens on `addr` again after a restart. The port was ours a moment ago, but a client
/// socket may hold it briefly (SO_REUSEADDR covers TIME_WAIT only): retry for a while.
async fn listen_again(addr: SocketAddr) -> tokio::net::TcpListener {
    let mut last = None;
    for _ in 0..200 {
        let bound = tokio::net::TcpSocket::new_v4().and_then(|socket| {
            socket.set_reuseaddr(true)?;
            socket.bind(addr)?;
            socket.listen(1024)
        });
        match bound {
            Ok(listener) => return listener,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the fake API server cannot listen on {addr} again: {last:?}");
}

/// The server thread's loop: serve until stopped; on a restart drop the listener (new
/// connections are refused: nothing listens), cut every open connection, wait, listen again on
/// the same address. The store, the CA and every setting stay as they are.
async fn supervise(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    shared: Arc<Shared>,
    mut control: mpsc::UnboundedReceiver<Control>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut listener = Some(listener);
    loop {
        let Some(current) = listener.take() else {
            return;
        };
        let (cut, cut_rx) = watch::channel(false);
        let mut serve = Box::pin(http::serve(
            current,
            Arc::clone(&tls),
            Arc::clone(&shared),
            cut_rx,
        ));
        let order = tokio::select! {
            () = &mut serve => return,
            _ = &mut stopped => return,
            order = control.recv() => order,
        };
        let Some(Control::Restart { down_for, closed }) = order else {
            return;
        };
        // The listener goes with the accept loop; then every connection task sees the cut.
        drop(serve);
        let _ = cut.send(true);
        let _ = closed.send(());
        tokio::select! {
            () = tokio::time::sleep(down_for) => {}
            _ = &mut stopped => return,
        }
        listener = Some(listen_again(shared.addr).await);
    }
}

impl FakeApi {
    /// Binds 127.0.0.1 on a free port and serves HTTPS from a runtime of its own on a
    /// background thread, so sync and async tests alike can use it.
    pub(crate) fn start() -> FakeApi {
        let certs = tls::generate();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let addr = listener.local_addr().expect("the listener's address");
        let mut store = Store::new();
        let token = store.random_token();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                store,
                logs: Logs::default(),
                tokens: HashSet::from([token.clone()]),
                current_token: token,
                forbidden: HashSet::new(),
                argo_installed: true,
                access_reviews: true,
            }),
            faults: Mutex::new(Faults::default()),
            requests: Mutex::new(Vec::new()),
            addr,
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let (control, control_rx) = mpsc::unbounded_channel();
        let server_shared = Arc::clone(&shared);
        let tls_config = certs.server;
        let thread = std::thread::Builder::new()
            .name(format!("fake-api-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("fake-api-worker")
                    .enable_all()
                    .build()
                    .expect("the fake API server's runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .expect("register the listener with tokio");
                    supervise(listener, tls_config, server_shared, control_rx, stopped).await;
                });
                // Dropping the runtime here drops every connection task, closing its socket.
            })
            .expect("spawn the fake API server thread");
        FakeApi {
            shared,
            ca_pem: certs.ca_pem,
            stop: Some(stop),
            control,
            thread: Some(thread),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared.state)
    }

    /// `https://127.0.0.1:PORT`
    pub(crate) fn url(&self) -> String {
        format!("https://{}", self.shared.addr)
    }

    pub(crate) fn host(&self) -> String {
        self.shared.addr.ip().to_string()
    }

    pub(crate) fn port(&self) -> u16 {
        self.shared.addr.port()
    }

    /// The CA that signed the server certificate (SANs: IP 127.0.0.1, DNS localhost).
    pub(crate) fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// A CA that signed nothing this server presents: for TLS-failure tests.
    pub(crate) fn foreign_ca_pem() -> String {
        tls::foreign_ca_pem()
    }

    /// The currently valid bearer token.
    pub(crate) fn token(&self) -> String {
        self.state().current_token.clone()
    }

    /// Makes a new token the valid one; the old one gets 401 from now on. Returns the new one.
    pub(crate) fn rotate_token(&self) -> String {
        let mut st = self.state();
        let old = st.current_token.clone();
        st.tokens.remove(&old);
        let new = st.store.random_token();
        st.tokens.insert(new.clone());
        st.current_token.clone_from(&new);
        new
    }

    pub(crate) fn set_token_valid(&self, token: &str, valid: bool) {
        let mut st = self.state();
        if valid {
            st.tokens.insert(token.to_owned());
        } else {
            st.tokens.remove(token);
        }
    }

    /// Writes `token`, `ca.crt` and `namespace` as in /var/run/secrets/kubernetes.io/serviceaccount.
    pub(crate) fn write_service_account_dir(&self, dir: &Path, namespace: &str) {
        std::fs::create_dir_all(dir).expect("create the service account directory");
        for (file, content) in [
            ("token", self.token()),
            ("ca.crt", self.ca_pem()),
            ("namespace", namespace.to_owned()),
        ] {
            std::fs::write(dir.join(file), content).expect("write a service account file");
        }
    }

    /// A kubeconfig with one cluster (this server, its CA inline), one user (the current
    /// token) and `contexts` (name, namespace); the first is the current context.
    pub(crate) fn kubeconfig_yaml(&self, contexts: &[(&str, Option<&str>)]) -> String {
        // JSON strings are YAML strings: quoting this way escapes whatever a test passes.
        let q = |s: &str| Value::from(s).to_string();
        let mut y =
            String::from("apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n");
        let _ = writeln!(y, "    server: {}", q(&self.url()));
        let _ = writeln!(
            y,
            "    certificate-authority-data: {}",
            base64(self.ca_pem.as_bytes())
        );
        y.push_str("users:\n- name: fake-user\n  user:\n");
        let _ = writeln!(y, "    token: {}", q(&self.token()));
        y.push_str("contexts:\n");
        for (name, ns) in contexts {
            let _ = writeln!(
                y,
                "- name: {}\n  context:\n    cluster: fake\n    user: fake-user",
                q(name)
            );
            if let Some(ns) = ns {
                let _ = writeln!(y, "    namespace: {}", q(ns));
            }
        }
        if let Some((first, _)) = contexts.first() {
            let _ = writeln!(y, "current-context: {}", q(first));
        }
        y
    }

    /// Adds (or replaces) a pod; resourceVersion, uid and creationTimestamp are filled when
    /// missing. Watchers see ADDED (or MODIFIED).
    pub(crate) fn add_pod(&self, ns: &str, pod: Value) {
        self.state().store.upsert(Res::Pods, ns, pod);
    }

    pub(crate) fn add_pvc(&self, ns: &str, pvc: Value) {
        self.state().store.upsert(Res::Pvcs, ns, pvc);
    }

    /// Adds (or replaces) a NetworkPolicy; `list` serves it (a 403 with `forbid("list",
    /// "networkpolicies")`).
    pub(crate) fn add_network_policy(&self, ns: &str, policy: Value) {
        self.state().store.upsert(Res::NetworkPolicies, ns, policy);
    }

    /// Adds (or replaces) a Workflow without validation, e.g. for list/get tests.
    pub(crate) fn add_workflow(&self, ns: &str, wf: Value) {
        self.state().store.upsert(Res::Workflows, ns, wf);
    }

    /// Adds (or replaces) a CronWorkflow without validation.
    pub(crate) fn add_cron_workflow(&self, ns: &str, cron: Value) {
        self.state().store.upsert(Res::CronWorkflows, ns, cron);
    }

    /// The namespace's Workflows in creation order.
    pub(crate) fn workflows(&self, ns: &str) -> Vec<Value> {
        self.state().store.objects(Res::Workflows, ns)
    }

    pub(crate) fn cron_workflows(&self, ns: &str) -> Vec<Value> {
        self.state().store.objects(Res::CronWorkflows, ns)
    }

    /// The namespace's pods in creation order.
    pub(crate) fn pods(&self, ns: &str) -> Vec<Value> {
        self.state().store.objects(Res::Pods, ns)
    }

    /// What Argo's pod GC (or a node scale-down) does: removes every pod of workflow
    /// `workflow`, their logs with them. Watchers see DELETED.
    pub(crate) fn remove_pods(&self, ns: &str, workflow: &str) {
        let mut state = self.state();
        let names: Vec<String> = state
            .store
            .objects(Res::Pods, ns)
            .iter()
            .filter(|p| p["metadata"]["labels"]["workflows.argoproj.io/workflow"] == workflow)
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_owned))
            .collect();
        for name in names {
            state
                .store
                .delete(Res::Pods, ns, &name)
                .expect("listed pod");
        }
    }

    /// What the Argo controller does: merge-patches `status` (RFC 7386) into the Workflow,
    /// bumps its resourceVersion and emits MODIFIED. Panics when the Workflow is missing.
    pub(crate) fn patch_workflow_status(&self, ns: &str, name: &str, status: Value) {
        let patch = Value::Object(serde_json::Map::from_iter([("status".to_owned(), status)]));
        if let Err(e) = self
            .state()
            .store
            .patch(Res::Workflows, ns, name, &patch, false)
        {
            panic!("patch_workflow_status {ns}/{name}: {}", e.body);
        }
    }

    /// Appends to the pod's log, written now: one record per line (and one for a trailing
    /// partial line), each with this time for `sinceTime` and `timestamps=true`; followers
    /// receive it at once.
    pub(crate) fn append_pod_log(&self, ns: &str, pod: &str, text: &str) {
        self.append_pod_log_at(ns, pod, text, SystemTime::now());
    }

    /// Appends to the pod's log as written at `at` (records keep the order of the calls, as a
    /// runtime's log file does, whatever times they carry).
    pub(crate) fn append_pod_log_at(&self, ns: &str, pod: &str, text: &str, at: SystemTime) {
        self.state().logs.append(ns, pod, text, at);
    }

    /// Ends the pod's follow streams, now and later (its container terminated).
    pub(crate) fn finish_pod_log(&self, ns: &str, pod: &str) {
        self.state().logs.finish(ns, pod);
    }

    /// Denies `verb` on `resource` (a plural, or `pods/log`) with a 403 like RBAC's.
    pub(crate) fn forbid(&self, verb: &str, resource: &str) {
        self.state()
            .forbidden
            .insert((verb.to_owned(), resource.to_owned()));
    }

    pub(crate) fn allow(&self, verb: &str, resource: &str) {
        self.state()
            .forbidden
            .remove(&(verb.to_owned(), resource.to_owned()));
    }

    /// As if Argo's CRDs were missing: every argoproj.io path answers 404 and discovery no
    /// longer lists the group.
    pub(crate) fn uninstall_argo(&self) {
        self.state().argo_installed = false;
    }

    /// Which Argo release's CRDs are installed (default `V4`): decides the CronWorkflow schema
    /// that `GET …/customresourcedefinitions/cronworkflows.argoproj.io` returns, which schedule
    /// field a CronWorkflow write keeps (the other is pruned, with a `Warning` header, or refused
    /// with 400 under `fieldValidation=Strict`), and which one a create requires (422 without).
    pub(crate) fn argo_version(&self, version: ArgoVersion) {
        self.state().store.schema.version = version;
    }

    /// Which of Argo's CRD sets is installed (default `Full`); with `Minimal` nothing about a
    /// CronWorkflow's spec is checked, pruned or told by the CRD.
    pub(crate) fn argo_crds(&self, crds: ArgoCrds) {
        self.state().store.schema.crds = crds;
    }

    /// With `false`, `selfsubjectaccessreviews` answers 404 as a path the server does not
    /// serve (an old or proxied API). To make it 403 instead, `forbid("create",
    /// "selfsubjectaccessreviews")`; to make the CRD read 403 as it is for a notebook's service
    /// account on most clusters, `forbid("get", "customresourcedefinitions")`.
    pub(crate) fn serve_access_reviews(&self, served: bool) {
        self.state().access_reviews = served;
    }

    /// An API-server restart: closes the listener and every open connection at once (watches
    /// and log streams end mid-stream, requests in flight get no answer), so that connecting is
    /// refused while it is down, then listens again after `down_for` on the same address, with
    /// the same CA, token, objects and resourceVersions. Returns once the old connections are
    /// cut; the server is back `down_for` later. Watch history survives too, unlike a real
    /// restart that may answer an old resourceVersion with 410 (inject that when needed).
    pub(crate) fn restart(&self, down_for: Duration) {
        let (closed, wait) = std::sync::mpsc::channel();
        self.control
            .send(Control::Restart { down_for, closed })
            .expect("the fake API server is running");
        wait.recv_timeout(Duration::from_secs(10))
            .expect("the fake API server closed its connections");
    }

    pub(crate) fn inject(&self, rule: FaultRule) {
        lock(&self.shared.faults).inject(rule);
    }

    /// From now on each request gets, with `probability`, one fault picked uniformly from
    /// {429 with Retry-After 0, 500, 502, 503, 504, DropBefore, DropAfter, StatusAfter 504,
    /// Delay 50 ms}, deterministically from `seed`. Probability 0 turns this off.
    pub(crate) fn random_faults(&self, seed: u64, probability: f64) {
        lock(&self.shared.faults).random(seed, probability);
    }

    /// With random faults on, each request first gets, with `probability`, `ApplyLater(delay)`:
    /// a slow request the server still applies after the client gave up (with a `delay` past
    /// the client's timeout). Probability 0 turns this off; `clear_faults` too.
    pub(crate) fn random_late_faults(&self, probability: f64, delay: Duration) {
        lock(&self.shared.faults).random_late(probability, delay);
    }

    /// Removes every rule and the random faults.
    pub(crate) fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.requests).clone()
    }

    pub(crate) fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Standard base64 with padding (kubeconfig `certificate-authority-data`).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
