//! The Kubernetes backend: Argo workflows on a cluster. `status` reads what a Workflow or
//! CronWorkflow object says into views. Pure; the client does the I/O.

pub mod status;
