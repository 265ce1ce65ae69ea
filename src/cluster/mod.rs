//! The Kubernetes backend: connecting (service account or kubeconfig), the requests with their
//! retries and errors, pre-flight checks, idempotent submission, and reading Argo's status
//! into views and run events. Commands drive it; it never prints.

pub(crate) mod api;
pub(crate) mod classify;
pub(crate) mod connect;
pub(crate) mod cron_field;
pub(crate) mod doctor;
pub(crate) mod error;
pub(crate) mod follow;
pub(crate) mod logs;
pub(crate) mod own_pod;
pub(crate) mod rbac;
pub(crate) mod retry;
pub(crate) mod submit;
pub(crate) mod watch;

pub(crate) use api::Cluster;
pub(crate) use connect::Target;
pub(crate) use error::ClusterError;
