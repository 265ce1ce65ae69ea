//! The labels and annotations jupyterflow and Argo put on objects, by which runs, pods and
//! nodes are found again, and Kubernetes' rules for label keys and values (kept in
//! `pipeline::names`, which checks workflow.yaml with them). Pure.

use crate::pipeline::names::dns_label;

/// On every object jupyterflow makes (and its job pods): how `list` finds our runs.
pub(crate) const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The notebook pod a run was submitted from (`@latest` is the newest of this notebook).
pub(crate) const NOTEBOOK_LABEL: &str = "jupyterflow.io/notebook";
/// The hub user who submitted it.
pub(crate) const USER_LABEL: &str = "jupyterflow.io/user";
/// The `-c` text or workflow file a run was made from.
pub(crate) const SOURCE_ANNOTATION: &str = "jupyterflow.io/source";
/// The workflow's params (`params:` after `--set`), a JSON object in the file's order, for `get`.
pub(crate) const PARAMS_ANNOTATION: &str = "jupyterflow.io/params";
/// The random id of one `jupyterflow run`: how a retried create recognises its own object.
pub(crate) const SUBMISSION_LABEL: &str = "jupyterflow.io/submission-id";
/// On a `retry`'s Workflow: the run it retries.
pub(crate) const RETRY_OF_LABEL: &str = "jupyterflow.io/retry-of";
/// Argo's label on a workflow's pods, naming the workflow.
pub(crate) const WORKFLOW_LABEL: &str = "workflows.argoproj.io/workflow";
/// Argo's annotation on a pod, naming the node (job attempt) it runs.
pub(crate) const NODE_NAME_ANNOTATION: &str = "workflows.argoproj.io/node-name";
/// The label by which an Argo controller started with an `instanceID` picks its workflows
/// (and ignores all others).
pub(crate) const CONTROLLER_INSTANCE_LABEL: &str = "workflows.argoproj.io/controller-instanceid";
/// The label Argo puts on the workflows a CronWorkflow starts.
pub(crate) const CRON_WORKFLOW_LABEL: &str = "workflows.argoproj.io/cron-workflow";

pub(crate) use crate::pipeline::names::{is_label_key, is_label_value};

/// A label value for any text: as is when Kubernetes takes it; a name too long for a label is
/// cut at 63 characters, as a pod's hostname is (so the label of a pod found by its hostname
/// and by its full name is the same); anything else is made a DNS label.
pub(crate) fn label_value(value: &str) -> String {
    if is_label_value(value) {
        return value.to_owned();
    }
    if value.is_ascii() && value.len() > 63 {
        let cut = value[..63].trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
        if is_label_value(cut) {
            return cut.to_owned();
        }
    }
    let mut out = dns_label(value, "unknown");
    out.truncate(63);
    while out.ends_with('-') {
        out.pop();
    }
    out
}
