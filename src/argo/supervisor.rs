//! The job supervisor as Argo runs it, pure: every job's container starts `jupyterflow
//! exec-job`, which runs the job's usual `/bin/sh -c` script as its child and keeps a copy of
//! its output on the shared volume (see `local::supervisor`). Here: the container command, the
//! downward-API variables that tell the supervisor which pod and node it is, and the names of
//! the jobs a rendered workflow will have, as Argo names them (for the run record `run` writes).
//!
//! All of it lives in the templates (the shared `job` template and jobs' own templates), never
//! in a task: a task still costs only its name, dependencies and `cmd`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector};

use super::labels::NODE_NAME_ANNOTATION;

/// The hidden subcommand the container runs.
pub(crate) const SUBCOMMAND: &str = "exec-job";
/// Its flag naming the workflow (`{{workflow.name}}`, substituted by Argo).
pub(crate) const WORKFLOW_FLAG: &str = "--workflow";
/// What Argo substitutes with the workflow's name in any template field.
pub(crate) const WORKFLOW_NAME_TAG: &str = "{{workflow.name}}";

/// The node the pod runs (`wf-abc12.train(0:lr:0.1)(1)`): Argo's annotation on the pod.
pub(crate) const NODE_VAR: &str = "JUPYTERFLOW_ARGO_NODE";
/// The pod's own name.
pub(crate) const POD_VAR: &str = "JUPYTERFLOW_POD_NAME";
/// The Kubernetes node the pod was scheduled on.
pub(crate) const HOST_VAR: &str = "JUPYTERFLOW_K8S_NODE";
/// Every variable the supervisor is given; none of them reaches the job.
pub(crate) const VARS: [&str; 3] = [NODE_VAR, POD_VAR, HOST_VAR];

/// The container command: the supervisor, then exactly the argv the container ran before it
/// (`/bin/sh -c SCRIPT`) as its child. `binary` is written with `$` doubled, as every value
/// the kubelet expands.
pub(crate) fn command(binary: &str, script: String) -> Vec<String> {
    vec![
        super::render::escape_kubernetes(binary),
        SUBCOMMAND.to_owned(),
        WORKFLOW_FLAG.to_owned(),
        WORKFLOW_NAME_TAG.to_owned(),
        "--".to_owned(),
        "/bin/sh".to_owned(),
        "-c".to_owned(),
        script,
    ]
}

/// The supervisor binaries the job containers of `workflow` (a Workflow's JSON) start, as
/// paths (the kubelet's `$$` undone).
pub(crate) fn binaries(workflow: &serde_json::Value) -> BTreeSet<PathBuf> {
    workflow["spec"]["templates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|template| template["container"]["command"].as_array())
        .filter(|command| command.get(1).and_then(serde_json::Value::as_str) == Some(SUBCOMMAND))
        .filter_map(|command| command.first().and_then(serde_json::Value::as_str))
        .map(|path| PathBuf::from(path.replace("$$", "$")))
        .collect()
}

/// The downward-API variables: which node and pod this is, and where it runs.
pub(crate) fn env() -> Vec<EnvVar> {
    [
        (
            NODE_VAR,
            format!("metadata.annotations['{NODE_NAME_ANNOTATION}']"),
        ),
        (POD_VAR, "metadata.name".to_owned()),
        (HOST_VAR, "spec.nodeName".to_owned()),
    ]
    .into_iter()
    .map(|(name, path)| EnvVar {
        name: name.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: None,
                field_path: path,
            }),
            ..EnvVarSource::default()
        }),
    })
    .collect()
}
