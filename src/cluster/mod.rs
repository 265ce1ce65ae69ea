//! The Kubernetes backend: connecting (service account or kubeconfig), the requests with their
//! retries and errors, pre-flight checks, idempotent submission, and reading Argo's status
//! into views and run events. Commands drive it; it never prints.

pub mod api;
pub mod classify;
pub mod connect;
pub mod error;
pub mod follow;
pub mod logs;
pub mod retry;
pub mod submit;
pub mod watch;

pub use api::Cluster;
pub use connect::{Connection, Target};
pub use error::ClusterError;
