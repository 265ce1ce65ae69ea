//! The object `resubmit` creates from an earlier run, pure: the old spec under a fresh name.

use serde_json::{Value, json};

use super::labels::SUBMISSION_LABEL;

/// The object a resubmission creates: the old spec (without the shutdown a stop left there),
/// jupyterflow's labels and annotations, a fresh name.
pub(crate) fn resubmission(old: &Value) -> Value {
    let meta = &old["metadata"];
    let name = meta["name"].as_str().unwrap_or("jupyterflow");
    let generate_name = meta["generateName"].as_str().map_or_else(
        || {
            // Drop a generated `-xxxxx` suffix so the new run reads as the same pipeline.
            let base = name
                .rsplit_once('-')
                .filter(|(_, s)| s.len() == 5)
                .map_or(name, |(b, _)| b);
            format!("{base}-")
        },
        str::to_owned,
    );
    let keep = |map: &Value| -> serde_json::Map<String, Value> {
        map.as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| {
                        !k.starts_with("workflows.argoproj.io/") && k.as_str() != SUBMISSION_LABEL
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut spec = old["spec"].clone();
    if let Some(spec) = spec.as_object_mut() {
        spec.remove("shutdown");
    }
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {
            "generateName": generate_name,
            "labels": keep(&meta["labels"]),
            "annotations": keep(&meta["annotations"]),
        },
        "spec": spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resubmission_keeps_the_spec_and_our_labels_but_not_the_shutdown() {
        let old = json!({
            "metadata": {
                "name": "train-x2b4z",
                "generateName": "train-",
                "labels": {
                    "app.kubernetes.io/managed-by": "jupyterflow",
                    SUBMISSION_LABEL: "abc",
                    "workflows.argoproj.io/completed": "true",
                    "workflows.argoproj.io/phase": "Failed"
                },
                "annotations": {"jupyterflow.io/source": "-c a >> b"},
                "resourceVersion": "12",
                "uid": "u"
            },
            "spec": {"entrypoint": "main", "shutdown": "Stop"},
            "status": {"phase": "Failed"}
        });
        let new = resubmission(&old);
        assert_eq!(new["metadata"]["generateName"], "train-");
        assert_eq!(
            new["metadata"]["labels"],
            json!({"app.kubernetes.io/managed-by": "jupyterflow"})
        );
        assert_eq!(
            new["metadata"]["annotations"]["jupyterflow.io/source"],
            "-c a >> b"
        );
        assert_eq!(new["spec"], json!({"entrypoint": "main"}));
        assert!(new.get("status").is_none());
    }

    #[test]
    fn resubmitting_a_named_run_drops_its_generated_suffix() {
        let old = json!({"metadata": {"name": "etl-b2c4d"}, "spec": {}});
        assert_eq!(resubmission(&old)["metadata"]["generateName"], "etl-");
    }
}
