//! Which field carries a CronWorkflow's schedule on this cluster. Argo ≤ 3.5 reads only
//! `spec.schedule`, 3.6–3.7 read both, 4.x only `spec.schedules` (its full CRDs reject the old
//! field), and clusters run all of them. Asked anew before each scheduled submission (nothing
//! cached to go stale) with one request that needs no cluster-wide rights: a server-side dry
//! run, with strict field validation, of a CronWorkflow carrying `schedules` and a made-up
//! field. The API server names the fields its CRD does not declare: the made-up one alone
//! means `schedules` is known; `schedules` too means the old CRD; no complaint at all means
//! minimal CRDs, which say nothing about what the controller reads.

use serde_json::json;

use super::api::Cluster;
use super::error::ClusterError;
use crate::argo::CronScheduleField;

/// A field no CRD declares: proof that the dry run's validation is strict.
const PROBE_FIELD: &str = "jupyterflowSchemaProbe";

/// What the dry run told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The CRD declares this field (and, for `schedules`, the controller reads it).
    Field(CronScheduleField),
    /// The CRDs keep every field (Argo's minimal CRDs): the controller's version decides, and
    /// cannot be seen from here.
    Unknown,
}

/// Asks the cluster (see the module doc).
pub(crate) async fn detect(cluster: &mut Cluster) -> Result<Answer, ClusterError> {
    let body = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "CronWorkflow",
        "metadata": {"name": "jupyterflow-schedule-probe"},
        "spec": {
            "schedules": ["0 0 1 1 *"],
            PROBE_FIELD: true,
            "workflowSpec": {
                "entrypoint": "main",
                "templates": [{"name": "main", "container": {"image": "busybox"}}]
            }
        }
    });
    match cluster.dry_run_create_strict("cronworkflows", &body).await {
        Ok(_) => Ok(Answer::Unknown),
        Err(ClusterError::Server {
            code: 400, message, ..
        }) => Ok(read(&message)),
        Err(e) => Err(e),
    }
}

/// The answer in a strict-decoding refusal: `… strict decoding error: unknown field
/// "spec.jupyterflowSchemaProbe", unknown field "spec.schedules"`.
fn read(message: &str) -> Answer {
    if message.contains("unknown field \"spec.schedules\"") {
        Answer::Field(CronScheduleField::Schedule)
    } else if message.contains(&format!("unknown field \"spec.{PROBE_FIELD}\"")) {
        Answer::Field(CronScheduleField::Schedules)
    } else {
        Answer::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_names_what_the_crd_does_not_know() {
        let old = "CronWorkflow in version \"v1alpha1\" cannot be handled as a CronWorkflow: strict decoding error: unknown field \"spec.jupyterflowSchemaProbe\", unknown field \"spec.schedules\"";
        assert_eq!(read(old), Answer::Field(CronScheduleField::Schedule));
        let new = "CronWorkflow in version \"v1alpha1\" cannot be handled as a CronWorkflow: strict decoding error: unknown field \"spec.jupyterflowSchemaProbe\"";
        assert_eq!(read(new), Answer::Field(CronScheduleField::Schedules));
        assert_eq!(read("something else"), Answer::Unknown);
    }
}
