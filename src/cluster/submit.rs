//! Idempotent submission: the name is chosen here (the shape `generateName` would give) and the
//! object carries a submission-id label, so a POST retried after a lost response that meets
//! 409 AlreadyExists is recognised as our own: never a duplicate run, never a lost one.

use serde_json::Value;

use super::api::Cluster;
use super::error::ClusterError;
use crate::argo::ArgoKind;
use crate::argo::Manifest;
use crate::argo::labels::SUBMISSION_LABEL;

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

pub(crate) fn kind_of(manifest: &Manifest) -> ArgoKind {
    match manifest {
        Manifest::Workflow(_) => ArgoKind::Workflow,
        Manifest::Cron(_) => ArgoKind::CronWorkflow,
    }
}

/// The object with a concrete name and the submission label. Pure.
pub(crate) fn named_object(
    kind: ArgoKind,
    mut object: Value,
    suffix: &str,
    submission_id: &str,
) -> Value {
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
    let name = if suffix.is_empty() {
        prefix.trim_end_matches(['-', '.']).to_owned()
    } else {
        format!("{prefix}{suffix}")
    };
    if let Some(meta) = meta.as_object_mut() {
        meta.remove("generateName");
        meta.insert("name".into(), Value::String(name));
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
pub(crate) struct Submitted {
    pub kind: ArgoKind,
    pub name: String,
    pub object: Value,
}

fn is_ours(object: &Value, submission_id: &str) -> bool {
    object["metadata"]["labels"][SUBMISSION_LABEL].as_str() == Some(submission_id)
}

/// Creates the manifest's object exactly once.
pub(crate) async fn submit(
    cluster: &mut Cluster,
    manifest: &Manifest,
) -> Result<Submitted, ClusterError> {
    let object = serde_json::to_value(manifest).unwrap_or(Value::Null);
    submit_object(cluster, kind_of(manifest), &object).await
}

/// Creates `object` (named by its `generateName`) exactly once. A name taken by someone
/// else's object gets a new suffix; when an attempt may have landed unseen (a lost response,
/// a timeout, a 5xx), a later refusal or failure is settled with a GET before giving up.
/// While an attempt may still be in flight (it timed out or lost its connection, and the server
/// may apply it at any moment), a GET that finds nothing proves nothing: the outcome is
/// unknown (exit 4, naming the workflow), and no new name is tried, which could make a second
/// run next to the late one.
/// CronWorkflows keep their plain name: a schedule is one object, so running the same
/// scheduled file twice is refused instead of doubling the schedule.
pub(crate) async fn submit_object(
    cluster: &mut Cluster,
    kind: ArgoKind,
    template: &Value,
) -> Result<Submitted, ClusterError> {
    let submission_id = cluster.rng().string(b"0123456789abcdef", 16);
    let numbered = kind == ArgoKind::Workflow;
    for _ in 0..3 {
        let suffix = if numbered {
            cluster.rng().string(SUFFIX_ALPHABET, SUFFIX_LEN)
        } else {
            String::new()
        };
        let object = named_object(kind, template.clone(), &suffix, &submission_id);
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let dynamic = serde_json::from_value(object).map_err(|e| ClusterError::BuildObject {
            kind: kind.kind(),
            detail: e.to_string(),
        })?;
        let created = cluster.create(kind, &dynamic).await;
        let attempt = Attempts {
            name: &name,
            submission_id: &submission_id,
            uncertain: cluster.outcome_unknown,
            in_flight: cluster.in_flight,
        };
        let submitted = |object| Submitted {
            kind,
            name: name.clone(),
            object,
        };
        match created {
            Ok(object) => return Ok(submitted(object)),
            Err(conflict @ ClusterError::Conflict { .. }) => {
                match cluster.get(kind, &name).await {
                    // Our own earlier attempt, whose response was lost.
                    Ok(existing) if is_ours(&existing, &submission_id) => {
                        cluster.notes.push(format!(
                            "{name} already existed from our own earlier attempt"
                        ));
                        return Ok(submitted(existing));
                    }
                    Ok(_) if !numbered => {
                        return Err(ClusterError::CronExists {
                            name,
                            namespace: cluster.namespace().to_owned(),
                        });
                    }
                    // Gone again, while an attempt of ours may still land under this name:
                    // trying another name could make two runs.
                    Err(ClusterError::NotFound { .. }) if attempt.in_flight => {
                        return Err(attempt.unsettled(&conflict));
                    }
                    // Someone else's object holds the name (ours cannot land under it), or
                    // it was deleted since: try another name.
                    Ok(_) | Err(ClusterError::NotFound { .. }) => {}
                    Err(e) => return Err(attempt.unsettled(&e)),
                }
            }
            Err(e) if attempt.uncertain => return settle(cluster, kind, &attempt, e).await,
            Err(e) => return Err(e),
        }
    }
    Err(ClusterError::NamesTaken { kind: kind.kind() })
}

/// How the attempts at one name went, for settling their outcome.
struct Attempts<'a> {
    name: &'a str,
    submission_id: &'a str,
    /// One may have taken effect without us seeing the answer.
    uncertain: bool,
    /// One may still be running on the server, and land later.
    in_flight: bool,
}

impl Attempts<'_> {
    fn unsettled(&self, cause: &ClusterError) -> ClusterError {
        ClusterError::Unsettled {
            name: self.name.to_owned(),
            cause: cause.to_string(),
            in_flight: self.in_flight,
        }
    }
}

/// An attempt may have landed unseen and the last one failed: look the object up once more.
async fn settle(
    cluster: &mut Cluster,
    kind: ArgoKind,
    attempt: &Attempts<'_>,
    error: ClusterError,
) -> Result<Submitted, ClusterError> {
    let name = attempt.name;
    match cluster.get(kind, name).await {
        Ok(existing) if is_ours(&existing, attempt.submission_id) => {
            cluster.notes.push(format!(
                "{name} was created by an attempt whose answer was lost"
            ));
            Ok(Submitted {
                kind,
                name: name.to_owned(),
                object: existing,
            })
        }
        // Not there yet: an attempt still in flight may land at any moment.
        Err(ClusterError::NotFound { .. }) if attempt.in_flight => Err(attempt.unsettled(&error)),
        // Someone else's object holds the name (none of ours can land under it), or nothing
        // is there and every attempt was answered: none landed.
        Ok(_) | Err(ClusterError::NotFound { .. }) => Err(error),
        Err(_) => Err(attempt.unsettled(&error)),
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
