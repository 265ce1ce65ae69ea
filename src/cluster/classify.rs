//! Kubernetes' answers, classified: a kube error (an HTTP status with its `Status` body, or a
//! transport failure) becomes a `ClusterError` that names what was asked, plus whether another
//! attempt could succeed and after what wait the server asked for. Pure apart from reading the
//! last `Retry-After` header the client layer saw.

use std::time::Duration;

use super::connect::{Connection, Origin};
use super::error::{self, ClusterError, FieldCause, Request, TransportKind};
use super::retry::{self, Retry};

/// A failed attempt: the error to report if we stop here, and whether to try again.
pub(super) struct Failure {
    pub(super) error: ClusterError,
    pub(super) retry: Retry,
}

/// Turns a kube error into ours, deciding whether it is worth another attempt.
pub(super) fn classify(conn: &Connection, request: &Request, e: &kube::Error) -> Failure {
    let header_delay = conn.observed.lock().ok().and_then(|o| o.retry_after);
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
            fatal(refusal(conn, request, code, message, details))
        }
        other => {
            let chain = error::chain_text(other);
            match error::transport_kind(&chain) {
                TransportKind::Refused => fatal(ClusterError::ConnectionRefused {
                    server: conn.server.clone(),
                }),
                TransportKind::Tls => fatal(ClusterError::Tls {
                    server: conn.server.clone(),
                    detail: error::readable(&chain),
                }),
                kind => Failure {
                    error: ClusterError::Transport {
                        server: conn.server.clone(),
                        request: Box::new(request.clone()),
                        detail: error::readable(&chain),
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
    conn: &Connection,
    request: &Request,
    code: u16,
    message: String,
    details: Option<&kube::core::response::StatusDetails>,
) -> ClusterError {
    match code {
        401 => ClusterError::Unauthorized {
            server: conn.server.clone(),
            origin: conn.origin.describe(),
        },
        403 => ClusterError::Forbidden {
            request: Box::new(request.clone()),
            user: forbidden_user(&message).unwrap_or_else(|| match &conn.origin {
                // The server did not say who; in a pod we know it.
                Origin::ServiceAccount { .. } => conn.service_account.as_ref().map_or_else(
                    || "the notebook's service account".into(),
                    |(namespace, name)| format!("system:serviceaccount:{namespace}:{name}"),
                ),
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
        404 if details.is_some_and(|d| d.kind == "namespaces") => ClusterError::NoNamespace {
            namespace: request.namespace.clone(),
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
