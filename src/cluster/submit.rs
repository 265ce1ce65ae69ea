//! Idempotent submission: the name is chosen here (the shape `generateName` would give) and the
//! object carries a submission-id label, so a POST retried after a lost response that meets
//! 409 AlreadyExists is recognised as our own: never a duplicate run, never a lost one.

use serde_json::Value;

use super::api::{ArgoKind, Cluster};
use super::error::ClusterError;
use crate::argo::Manifest;

/// Label carrying the random id of one `jupyterflow run`.
pub const SUBMISSION_LABEL: &str = "jupyterflow.io/submission-id";

/// The characters the API server uses for `generateName` suffixes (no vowels, no look-alikes).
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const SUFFIX_LEN: usize = 5;

/// CronWorkflow names are capped at 52 characters (Argo appends a timestamp to make
/// workflow names), Workflow names at 253.
fn max_name_len(kind: ArgoKind) -> usize {
    match kind {
        ArgoKind::Workflow => 253,
        ArgoKind::CronWorkflow => 52,
    }
}

pub fn kind_of(manifest: &Manifest) -> ArgoKind {
    match manifest {
        Manifest::Workflow(_) => ArgoKind::Workflow,
        Manifest::Cron(_) => ArgoKind::CronWorkflow,
    }
}

/// The object with a concrete name and the submission label. Pure.
pub fn named_object(kind: ArgoKind, mut object: Value, suffix: &str, submission_id: &str) -> Value {
    let meta = &mut object["metadata"];
    let prefix = meta["generateName"]
        .as_str()
        .or(meta["name"].as_str())
        .unwrap_or("jupyterflow-")
        .to_owned();
    let keep = max_name_len(kind) - suffix.len();
    let mut prefix: String = prefix.chars().take(keep).collect();
    if !prefix.ends_with('-') {
        // A cut prefix must not leave a dot or dash before the suffix in a bad place.
        prefix = prefix.trim_end_matches(['.', '-']).to_owned();
        prefix.truncate(keep.saturating_sub(1));
        prefix.push('-');
    }
    if let Some(meta) = meta.as_object_mut() {
        meta.remove("generateName");
        meta.insert("name".into(), Value::String(format!("{prefix}{suffix}")));
        let labels = meta
            .entry("labels")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Some(labels) = labels.as_object_mut() {
            labels.insert(SUBMISSION_LABEL.into(), Value::String(submission_id.into()));
        }
    }
    object
}

/// What was created.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub kind: ArgoKind,
    pub name: String,
    pub object: Value,
}

fn is_ours(object: &Value, submission_id: &str) -> bool {
    object["metadata"]["labels"][SUBMISSION_LABEL].as_str() == Some(submission_id)
}

/// Creates the manifest's object exactly once.
pub async fn submit(cluster: &mut Cluster, manifest: &Manifest) -> Result<Submitted, ClusterError> {
    let object = serde_json::to_value(manifest).unwrap_or(Value::Null);
    submit_object(cluster, kind_of(manifest), &object).await
}

/// Creates `object` (named by its `generateName`) exactly once. A name taken by someone
/// else's object gets a new suffix; a failure that leaves it unknown whether the POST landed
/// is settled with a GET.
pub async fn submit_object(
    cluster: &mut Cluster,
    kind: ArgoKind,
    template: &Value,
) -> Result<Submitted, ClusterError> {
    let submission_id = cluster.rng().string(b"0123456789abcdef", 16);
    for _ in 0..3 {
        let suffix = cluster.rng().string(SUFFIX_ALPHABET, SUFFIX_LEN);
        let object = named_object(kind, template.clone(), &suffix, &submission_id);
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let dynamic = serde_json::from_value(object).map_err(|e| ClusterError::Other {
            message: format!("cannot build the {} to submit: {e}", kind.kind()),
            hint: "this is a bug in jupyterflow; please report it with the workflow".into(),
        })?;
        match cluster.create(kind, &dynamic).await {
            Ok(object) => return Ok(Submitted { kind, name, object }),
            Err(ClusterError::Conflict { .. }) => {
                // Our own earlier attempt (its response was lost), or a name clash.
                let existing = cluster.get(kind, &name).await?;
                if is_ours(&existing, &submission_id) {
                    cluster.notes.push(format!(
                        "{name} already existed from our own earlier attempt"
                    ));
                    return Ok(Submitted {
                        kind,
                        name,
                        object: existing,
                    });
                }
            }
            Err(
                e @ (ClusterError::Transport { .. }
                | ClusterError::Timeout { .. }
                | ClusterError::Server { .. }),
            ) => return settle(cluster, kind, &name, &submission_id, e).await,
            Err(e) => return Err(e),
        }
    }
    Err(ClusterError::Other {
        message: format!("three generated {} names were all taken", kind.kind()),
        hint: "give the workflow another `name:`".into(),
    })
}

/// After retries ran out, did the object land anyway? Look it up once more.
async fn settle(
    cluster: &mut Cluster,
    kind: ArgoKind,
    name: &str,
    submission_id: &str,
    error: ClusterError,
) -> Result<Submitted, ClusterError> {
    match cluster.get(kind, name).await {
        Ok(existing) if is_ours(&existing, submission_id) => Ok(Submitted {
            kind,
            name: name.to_owned(),
            object: existing,
        }),
        Err(ClusterError::NotFound { .. }) | Ok(_) => Err(error),
        Err(_) => Err(ClusterError::Other {
            message: format!("{error}; it is not known whether {name} was created"),
            hint: format!("check with `jupyterflow get {name}` before running again"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argo::types::{CronWorkflow, CronWorkflowSpec, Workflow, WorkflowSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn meta(generate_name: &str) -> ObjectMeta {
        ObjectMeta {
            generate_name: Some(generate_name.into()),
            ..ObjectMeta::default()
        }
    }

    fn workflow(generate_name: &str) -> Manifest {
        Manifest::Workflow(Box::new(Workflow {
            api_version: "argoproj.io/v1alpha1".into(),
            kind: "Workflow".into(),
            metadata: meta(generate_name),
            spec: WorkflowSpec::default(),
            status: None,
        }))
    }

    fn json(manifest: &Manifest) -> Value {
        serde_json::to_value(manifest).expect("serialises")
    }

    #[test]
    fn names_like_generate_name_and_labels_the_submission() {
        let object = named_object(
            ArgoKind::Workflow,
            json(&workflow("train-")),
            "x2b4z",
            "abc",
        );
        assert_eq!(object["metadata"]["name"], "train-x2b4z");
        assert!(object["metadata"].get("generateName").is_none());
        assert_eq!(object["metadata"]["labels"][SUBMISSION_LABEL], "abc");
        assert!(is_ours(&object, "abc"));
        assert!(!is_ours(&object, "abd"));
    }

    #[test]
    fn long_cron_names_are_cut_to_fit() {
        let cron = Manifest::Cron(Box::new(CronWorkflow {
            api_version: "argoproj.io/v1alpha1".into(),
            kind: "CronWorkflow".into(),
            metadata: meta(&format!("{}-", "a".repeat(60))),
            spec: CronWorkflowSpec::default(),
        }));
        let object = named_object(ArgoKind::CronWorkflow, json(&cron), "bcdfg", "id");
        let name = object["metadata"]["name"].as_str().expect("name");
        assert!(name.len() <= 52, "{name}");
        assert!(name.ends_with("a-bcdfg"), "{name}");
    }
}
