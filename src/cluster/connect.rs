//! Finding the cluster and building the kube client: the pod's service account (in a
//! notebook pod) or a kubeconfig (elsewhere). Makes no request; the first request is the
//! caller's. Owns which namespace and which notebook pod the other commands use.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::config::{KubeConfigOptions, Kubeconfig};

use super::error::ClusterError;
use crate::environment::discover::ProcessEnv;

/// Sent with every request: `jupyterflow/<version>`.
const USER_AGENT: &str = concat!("jupyterflow/", env!("CARGO_PKG_VERSION"));

/// What the user asked for on the command line (`--context`, `-n`, `--pod`) and the process
/// environment that decides the rest. Built once by the command; pure data.
#[derive(Debug, Clone, Default)]
pub(crate) struct Target {
    pub context: Option<String>,
    pub namespace: Option<String>,
    /// The notebook pod whose environment jobs reuse (`--pod`, else `$HOSTNAME` in a pod).
    pub pod: Option<String>,
    /// Per-attempt time limit for requests that are not streams.
    pub request_timeout: Duration,
    pub env: ProcessEnv,
}

/// How we reached the cluster, for messages ("the pod's service account", "context prod").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    ServiceAccount { dir: PathBuf },
    Kubeconfig { context: String },
}

impl Origin {
    pub(crate) fn describe(&self) -> String {
        match self {
            Origin::ServiceAccount { dir } => {
                format!("the pod's service account ({})", dir.display())
            }
            Origin::Kubeconfig { context } => format!("kubeconfig context `{context}`"),
        }
    }
}

/// What the client layer saw, shared with the retry loop: the last `Retry-After` header and
/// how many HTTP requests went out (the benchmark and `-v` report it).
#[derive(Debug, Default)]
pub(crate) struct Observed {
    pub requests: u64,
    /// HTTP answers received (any status): once there is one, the server exists, and a refused
    /// connection means it is restarting.
    pub responses: u64,
    pub retry_after: Option<Duration>,
}

/// A ready client: where it points, its default namespace, and the notebook pod name.
#[derive(Clone)]
pub(crate) struct Connection {
    pub client: kube::Client,
    pub namespace: String,
    pub origin: Origin,
    pub server: String,
    pub own_pod: Option<String>,
    pub request_timeout: Duration,
    pub observed: Arc<Mutex<Observed>>,
    /// In a pod, the service account we act as, `(namespace, name)`: from the token, else from
    /// the notebook pod once it was read. For the RoleBinding printed after a 403 that names
    /// no user.
    pub service_account: Option<(String, String)>,
}

impl Connection {
    pub(crate) fn requests(&self) -> u64 {
        self.observed.lock().map_or(0, |o| o.requests)
    }

    /// In a pod whose token did not say who we are: the notebook pod's service account (the
    /// pod's token is that account's), once its pod was read.
    pub(crate) fn learn_service_account(&mut self, pod: &Pod) {
        if self.service_account.is_some() || !matches!(self.origin, Origin::ServiceAccount { .. }) {
            return;
        }
        let spec = pod.spec.as_ref();
        let name = spec
            .and_then(|s| s.service_account_name.clone())
            .or_else(|| spec.and_then(|s| s.service_account.clone()));
        let namespace = pod
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| self.namespace.clone());
        self.service_account = name.map(|name| (namespace, name));
    }

    /// Whether the API server has answered any request on this connection.
    pub(crate) fn answered(&self) -> bool {
        self.observed.lock().is_ok_and(|o| o.responses > 0)
    }
}

/// The kubeconfig path that `kubectl` would read, for messages.
fn kubeconfig_label(env: &ProcessEnv) -> String {
    env.kubeconfig
        .clone()
        .unwrap_or_else(|| "~/.kube/config".to_owned())
}

/// Connects with an explicit kubeconfig (`$KUBECONFIG` or `--context`) first, then the pod's
/// service account, then `~/.kube/config`. This is not kubectl's order: kubectl prefers
/// `~/.kube/config` over the service account. We prefer the service account in a pod unless
/// `$KUBECONFIG` or `--context` is given, deliberately: a notebook image may ship a stale
/// `~/.kube/config` (another cluster, an expired token).
pub(crate) async fn connect(target: &Target) -> Result<Connection, ClusterError> {
    let env = &target.env;
    let explicit_kubeconfig = env.kubeconfig.is_some() || target.context.is_some();
    let (config, origin) = if !explicit_kubeconfig && env.in_pod() {
        in_cluster_config(env, target.namespace.as_deref()).await?
    } else if env.kubeconfig.is_some() || env.default_kubeconfig().is_some() {
        kubeconfig_config(target).await?
    } else if let Some(context) = &target.context {
        // Not "no cluster": there may well be a service account; --context just cannot use it.
        return Err(ClusterError::BadContext {
            message: format!(
                "--context {context} needs a kubeconfig ($KUBECONFIG or ~/.kube/config), and none was found"
            ),
            hint: if env.in_pod() {
                "in a notebook pod, drop --context to use the pod's service account".into()
            } else {
                "set KUBECONFIG to your kubeconfig file, or drop --context".into()
            },
        });
    } else {
        return Err(ClusterError::NoCluster {
            service_account_dir: env.service_account_dir.clone(),
        });
    };
    let namespace = target
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let own_pod = target.pod.clone().or_else(|| match origin {
        // $HOSTNAME is the pod's name only inside a pod.
        Origin::ServiceAccount { .. } => env.hostname.clone(),
        Origin::Kubeconfig { .. } => None,
    });
    let service_account = match &origin {
        Origin::ServiceAccount { dir } => std::fs::read_to_string(dir.join("token"))
            .ok()
            .and_then(|token| service_account_of(&token)),
        Origin::Kubeconfig { .. } => None,
    };
    let mut conn = build(config, origin, namespace, own_pod, target.request_timeout)?;
    conn.service_account = service_account;
    Ok(conn)
}

/// The service account a projected service-account token stands for: the token is a JWT whose
/// payload's `sub` is `system:serviceaccount:NAMESPACE:NAME`. Read, not verified: it only
/// names the account in a hint; the API server is the one that checks the token.
fn service_account_of(token: &str) -> Option<(String, String)> {
    let payload = token.trim().split('.').nth(1)?;
    let claims: serde_json::Value = serde_json::from_slice(&base64url(payload)?).ok()?;
    let (namespace, name) = claims["sub"]
        .as_str()?
        .strip_prefix("system:serviceaccount:")?
        .split_once(':')?;
    (!namespace.is_empty() && !name.is_empty()).then(|| (namespace.to_owned(), name.to_owned()))
}

/// Decodes base64url (RFC 4648 §5), padded or not, as JWTs carry their parts.
fn base64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut bits: u32 = 0;
    let mut count = 0;
    for byte in text.trim_end_matches('=').bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(u8::try_from((bits >> count) & 0xff).ok()?);
        }
    }
    Some(out)
}

fn build(
    mut config: kube::Config,
    origin: Origin,
    namespace: String,
    own_pod: Option<String>,
    request_timeout: Duration,
) -> Result<Connection, ClusterError> {
    // Our own retry loop decides (bounded, reported with -v, and safe for POST); kube's
    // built-in one would retry underneath it, unseen.
    config.default_retry = false;
    // Who made a change, in managedFields and audit logs ("unknown" without it).
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_static(USER_AGENT),
    ));
    config.connect_timeout = Some(request_timeout.min(Duration::from_secs(10)));
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_owned();
    let observed = Arc::new(Mutex::new(Observed::default()));
    let builder =
        kube::client::ClientBuilder::try_from(config).map_err(|e| ClusterError::Config {
            message: format!("cannot set up a client for {server}: {e}"),
            hint: "check the cluster's certificate authority and credentials".into(),
        })?;
    let on_request = Arc::clone(&observed);
    let on_response = Arc::clone(&observed);
    let client = builder
        .with_layer(&tower::util::MapRequestLayer::new(
            move |req: http::Request<kube::client::Body>| {
                if let Ok(mut seen) = on_request.lock() {
                    seen.requests += 1;
                    seen.retry_after = None;
                }
                req
            },
        ))
        .with_layer(&tower::util::MapResponseLayer::new(
            move |res: http::Response<Box<kube::client::DynBody>>| {
                let retry_after = res
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                if let Ok(mut seen) = on_response.lock() {
                    seen.responses += 1;
                    if let Some(delay) = retry_after {
                        seen.retry_after = Some(delay);
                    }
                }
                res
            },
        ))
        .build();
    Ok(Connection {
        client,
        namespace,
        origin,
        server,
        own_pod,
        request_timeout,
        observed,
        service_account: None,
    })
}

/// The in-cluster config from a service-account directory. Built as an in-memory kubeconfig so
/// kube reads the CA bundle and re-reads the token file as it rotates (about every minute).
/// `namespace` is the one asked for (`-n`, the config); without it the directory's `namespace`
/// file must name one: guessing `default` would send the run somewhere nobody looks.
async fn in_cluster_config(
    env: &ProcessEnv,
    namespace: Option<&str>,
) -> Result<(kube::Config, Origin), ClusterError> {
    let dir = &env.service_account_dir;
    let host = env.service_host.clone().unwrap_or_default();
    let port = env.service_port.clone().unwrap_or_else(|| "443".into());
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]") // IPv6 literal
    } else {
        host
    };
    let file = dir.join("namespace");
    let from_file = std::fs::read_to_string(&file)
        .ok()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    let Some(namespace) = from_file.or_else(|| namespace.map(str::to_owned)) else {
        let problem = if file.exists() {
            "an empty namespace file"
        } else {
            "no namespace file"
        };
        return Err(ClusterError::Config {
            message: format!(
                "the service account directory {} has {problem}, so jupyterflow cannot tell which namespace to use",
                dir.display(),
            ),
            hint: "pass -n NAMESPACE (or set `namespace` in the config)".into(),
        });
    };
    let ca = dir.join("ca.crt");
    let yaml = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "in-cluster", "cluster": {
            "server": format!("https://{host}:{port}"),
            "certificate-authority": path_text(&ca),
        }}],
        "users": [{"name": "service-account", "user": {"tokenFile": path_text(&dir.join("token"))}}],
        "contexts": [{"name": "in-cluster", "context": {
            "cluster": "in-cluster", "user": "service-account", "namespace": namespace,
        }}],
        "current-context": "in-cluster",
    });
    let kubeconfig: Kubeconfig =
        serde_json::from_value(yaml).map_err(|e| ClusterError::Config {
            message: format!("cannot use the service account in {}: {e}", dir.display()),
            hint: "check KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT".into(),
        })?;
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|e| ClusterError::Config {
                message: format!("cannot use the service account in {}: {e}", dir.display()),
                hint: format!(
                    "the directory needs token, ca.crt and namespace files{}",
                    if ca.is_file() {
                        ""
                    } else {
                        " (ca.crt is missing)"
                    }
                ),
            })?;
    // Re-read the CA bundle too when the cluster rotates it.
    config.root_cert_file = Some(ca);
    Ok((config, Origin::ServiceAccount { dir: dir.clone() }))
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

async fn kubeconfig_config(target: &Target) -> Result<(kube::Config, Origin), ClusterError> {
    let label = kubeconfig_label(&target.env);
    let kubeconfig = Kubeconfig::read().map_err(|e| ClusterError::Config {
        message: format!("cannot read kubeconfig {label}: {e}"),
        hint: "check the file (kubectl config view), or unset KUBECONFIG".into(),
    })?;
    let context = target
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())
        .unwrap_or_default();
    if !kubeconfig.contexts.iter().any(|c| c.name == context) {
        let known: Vec<&str> = kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        return Err(ClusterError::BadContext {
            message: if context.is_empty() {
                format!("kubeconfig {label} has no current context")
            } else {
                format!("kubeconfig {label} has no context `{context}`")
            },
            hint: if known.is_empty() {
                "add a context (kubectl config set-context) or run inside the notebook pod".into()
            } else {
                format!("pass --context with one of: {}", known.join(", "))
            },
        });
    }
    let options = KubeConfigOptions {
        context: Some(context.clone()),
        ..KubeConfigOptions::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| ClusterError::Config {
            message: format!("cannot use context `{context}` of kubeconfig {label}: {e}"),
            hint: "check it with kubectl config view --minify".into(),
        })?;
    Ok((config, Origin::Kubeconfig { context }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(dir: &Path) -> ProcessEnv {
        ProcessEnv {
            service_host: Some("10.0.0.1".into()),
            service_port: Some("443".into()),
            service_account_dir: dir.to_owned(),
            ..ProcessEnv::default()
        }
    }

    #[test]
    fn the_service_account_is_read_from_the_tokens_subject() {
        // {"alg":"RS256"} . {"iss":"kubernetes/serviceaccount","sub":"system:serviceaccount:jhub:notebook-sa"} . sig
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50Iiwic3ViIjoic3lzdGVtOnNlcnZpY2VhY2NvdW50OmpodWI6bm90ZWJvb2stc2EifQ.c2ln\n";
        assert_eq!(
            service_account_of(token),
            Some(("jhub".to_owned(), "notebook-sa".to_owned()))
        );
        assert_eq!(service_account_of("opaque-token"), None);
        assert_eq!(service_account_of("a.!!.c"), None);
        assert_eq!(base64url("aGk"), Some(b"hi".to_vec()));
        assert_eq!(base64url("aGk="), Some(b"hi".to_vec()));
    }

    #[test]
    fn a_pod_needs_both_the_env_and_the_token() {
        let dir = tempfile::tempdir().expect("temp dir");
        let env = env_with(dir.path());
        assert!(!env.in_pod(), "no token file yet");
        std::fs::write(dir.path().join("token"), "t").expect("write token");
        assert!(env.in_pod());
        let no_host = ProcessEnv {
            service_host: None,
            ..env
        };
        assert!(!no_host.in_pod());
    }

    /// A service-account directory with a token and a (self-signed) CA, and no namespace file.
    fn service_account_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("token"), "t").expect("write token");
        let ca = rcgen::generate_simple_self_signed(vec!["kubernetes".to_owned()])
            .expect("self-signed CA");
        std::fs::write(dir.path().join("ca.crt"), ca.cert.pem()).expect("write ca.crt");
        dir
    }

    fn in_pod(dir: &Path, namespace: Option<&str>) -> Target {
        Target {
            namespace: namespace.map(str::to_owned),
            env: ProcessEnv {
                home: Some(dir.join("home")),
                ..env_with(dir)
            },
            ..Target::default()
        }
    }

    #[tokio::test]
    async fn a_missing_namespace_file_needs_a_namespace_from_the_user() {
        let dir = service_account_dir();
        for content in [None, Some("\n")] {
            if let Some(text) = content {
                std::fs::write(dir.path().join("namespace"), text).expect("write namespace");
            }
            let Err(err) = connect(&in_pod(dir.path(), None)).await else {
                panic!("connected without knowing the namespace");
            };
            let ClusterError::Config { message, hint } = &err else {
                panic!("not a config error: {err}");
            };
            let expected = if content.is_some() {
                "has an empty namespace file"
            } else {
                "has no namespace file"
            };
            assert!(
                message.contains(&format!("{} {expected}", dir.path().display())),
                "{message}"
            );
            assert!(hint.contains("-n NAMESPACE"), "{hint}");
        }
        // -n (or the config's namespace) is enough without the file…
        let conn = connect(&in_pod(dir.path(), Some("team-a")))
            .await
            .expect("connects with -n");
        assert_eq!(conn.namespace, "team-a");
        // …and the file is enough without -n.
        std::fs::write(dir.path().join("namespace"), "jhub\n").expect("write namespace");
        let conn = connect(&in_pod(dir.path(), None))
            .await
            .expect("connects with the file");
        assert_eq!(conn.namespace, "jhub");
        assert!(matches!(conn.origin, Origin::ServiceAccount { .. }));
    }

    #[tokio::test]
    async fn context_without_a_kubeconfig_says_so_and_how_to_use_the_pod() {
        let dir = service_account_dir();
        std::fs::write(dir.path().join("namespace"), "jhub").expect("write namespace");
        let mut target = in_pod(dir.path(), None);
        target.context = Some("prod".into());
        assert!(target.env.in_pod());
        let Err(err) = connect(&target).await else {
            panic!("connected to context prod without a kubeconfig");
        };
        let ClusterError::BadContext { message, hint } = &err else {
            panic!("not a context error: {err}");
        };
        assert_eq!(
            message,
            "--context prod needs a kubeconfig ($KUBECONFIG or ~/.kube/config), and none was found"
        );
        assert_eq!(
            hint,
            "in a notebook pod, drop --context to use the pod's service account"
        );
        // Outside a pod, the same mistake has another fix.
        target.env.service_host = None;
        let Err(ClusterError::BadContext { hint, .. }) = connect(&target).await else {
            panic!("expected a context error outside the pod too");
        };
        assert!(hint.contains("set KUBECONFIG"), "{hint}");
    }

    #[tokio::test]
    async fn no_cluster_says_where_it_looked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = Target {
            env: ProcessEnv {
                service_account_dir: dir.path().join("sa"),
                home: Some(dir.path().to_owned()),
                ..ProcessEnv::default()
            },
            ..Target::default()
        };
        let Err(err) = connect(&target).await else {
            panic!("connected without a cluster");
        };
        assert!(matches!(err, ClusterError::NoCluster { .. }), "{err}");
    }
}
