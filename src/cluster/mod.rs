//! The Kubernetes backend: Argo workflows on a cluster. `status` reads what a Workflow or
//! CronWorkflow object says into views; `progress` turns successive snapshots of one workflow
//! into the `RunEvent`s the local engine sends. Both are pure; the client does the I/O.

pub mod progress;
pub mod status;
