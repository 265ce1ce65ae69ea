//! Argo's CRDs as the API server knows them, per Argo version and CRD set: the
//! CustomResourceDefinition documents, the structural-schema pruning of unknown CronWorkflow
//! fields on writes, and the fields that schema requires. Data and pure functions only;
//! `routes.rs` applies the `fieldValidation` directive, `store.rs` the required fields.

use serde_json::{Map, Value, json};

use super::resources::{ARGO_GROUP, Res};
use super::validate::Cause;

/// Which Argo Workflows release installed the CRDs: it decides which schedule field the
/// CronWorkflow schema declares. Up to 3.5, `spec.schedule` (a string, required); 3.6 and 3.7
/// added `spec.schedules` (a list) and kept `schedule`, deprecated, both optional; v4 removed
/// `schedule` and requires `schedules` (hera's Argo v4 migration: "v4 removed `spec.schedule`";
/// ../shared/argo/crds/argoproj.io_cronworkflows.yaml, v4.1.2: `required: [schedules,
/// workflowSpec]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ArgoVersion {
    V3_5,
    /// 3.6 and 3.7.
    V3_6,
    #[default]
    V4,
}

/// Which of Argo's two CRD sets is installed. `Full` (manifests/base/crds/full) carries the
/// whole schema, so the API server prunes and, under `fieldValidation=Strict`, refuses fields it
/// does not declare. `Minimal` (manifests/base/crds/minimal, used by Argo's install.yaml because
/// the full ones are too big for client-side apply) declares `spec` as an object with
/// `x-kubernetes-preserve-unknown-fields: true`: any field is kept, nothing is unknown, and the
/// CRD says nothing about which schedule field the controller reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ArgoCrds {
    #[default]
    Full,
    Minimal,
}

/// The installed Argo CRDs: version and set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Schema {
    pub(super) version: ArgoVersion,
    pub(super) crds: ArgoCrds,
}

pub(super) const CRD_GROUP: &str = "apiextensions.k8s.io";
pub(super) const CRD_PLURAL: &str = "customresourcedefinitions";

/// Fields every CronWorkflow schema of 3.5 and later declares under `spec`.
const CRON_SPEC_COMMON: &[&str] = &[
    "concurrencyPolicy",
    "failedJobsHistoryLimit",
    "startingDeadlineSeconds",
    "successfulJobsHistoryLimit",
    "suspend",
    "timezone",
    "workflowMetadata",
    "workflowSpec",
];

/// What a structural schema declares at the root of every custom resource.
const ROOT_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];

impl Schema {
    /// The fields the full CronWorkflow schema declares under `spec`, sorted.
    fn cron_spec_fields(self) -> Vec<&'static str> {
        let mut fields = CRON_SPEC_COMMON.to_vec();
        fields.extend(match self.version {
            ArgoVersion::V3_5 => &["schedule"][..],
            ArgoVersion::V3_6 => &["schedule", "schedules", "stopStrategy", "when"][..],
            ArgoVersion::V4 => &["schedules", "stopStrategy", "when"][..],
        });
        fields.sort_unstable();
        fields
    }

    fn cron_spec_required(self) -> &'static [&'static str] {
        match self.version {
            ArgoVersion::V3_5 => &["schedule", "workflowSpec"],
            ArgoVersion::V3_6 => &["workflowSpec"],
            ArgoVersion::V4 => &["schedules", "workflowSpec"],
        }
    }

    fn prunes(self, res: Res) -> bool {
        res == Res::CronWorkflows && self.crds == ArgoCrds::Full
    }

    /// What the API server's decoder does to a CronWorkflow body under a full CRD: drops the
    /// fields the schema does not declare (at the root and directly under `spec`; deeper levels
    /// are declared with preserved unknown fields here, see `cron_crd`) and returns their paths,
    /// sorted, as `unknown field "spec.schedule"` names them. A merge patch's `null`s delete
    /// fields and are not unknown fields. Other resources are left alone.
    pub(super) fn prune(self, res: Res, obj: &mut Value, patch: bool) -> Vec<String> {
        if !self.prunes(res) {
            return Vec::new();
        }
        let Some(root) = obj.as_object_mut() else {
            return Vec::new();
        };
        let mut pruned = drop_unknown(root, ROOT_FIELDS, "", patch);
        if let Some(spec) = root.get_mut("spec").and_then(Value::as_object_mut) {
            pruned.extend(drop_unknown(spec, &self.cron_spec_fields(), "spec.", patch));
        }
        pruned.sort();
        pruned
    }

    /// The schema's required `spec` fields that `obj` lacks, as the 422 causes a real server
    /// gives (`spec.schedules: Required value`). Only CronWorkflows under a full CRD.
    pub(super) fn required_causes(self, res: Res, obj: &Value) -> Vec<Cause> {
        if !self.prunes(res) {
            return Vec::new();
        }
        let Some(spec) = obj.get("spec").and_then(Value::as_object) else {
            return Vec::new();
        };
        self.cron_spec_required()
            .iter()
            .filter(|f| spec.get(**f).is_none_or(Value::is_null))
            .map(|f| Cause {
                field: format!("spec.{f}"),
                reason: "FieldValueRequired",
                message: "Required value".to_owned(),
            })
            .collect()
    }

    /// The CustomResourceDefinition `name` as `GET /apis/apiextensions.k8s.io/v1/
    /// customresourcedefinitions/{name}` returns it, for the Argo kinds the fake serves.
    pub(super) fn crd(self, name: &str, created: &str) -> Option<Value> {
        let res = Res::ALL
            .into_iter()
            .find(|r| r.def().group == ARGO_GROUP && r.def().qualified() == name)?;
        let spec_schema = if res == Res::CronWorkflows && self.crds == ArgoCrds::Full {
            self.cron_spec_schema()
        } else {
            // The minimal CRDs, and (in this fake) the Workflow CRD of either set: the full
            // Workflow schema is 2.8 MB and nothing here reads it.
            json!({"type": "object", "x-kubernetes-map-type": "atomic", "x-kubernetes-preserve-unknown-fields": true})
        };
        let def = res.def();
        let names = json!({
            "kind": def.kind,
            "listKind": def.list_kind,
            "plural": def.plural,
            "shortNames": def.short_names,
            "singular": def.singular,
        });
        Some(json!({
            "apiVersion": format!("{CRD_GROUP}/v1"),
            "kind": "CustomResourceDefinition",
            "metadata": {
                "name": name,
                "uid": format!("00000000-0000-4000-8000-{:012x}", fnv(name)),
                "resourceVersion": "1",
                "generation": 1,
                "creationTimestamp": created,
            },
            "spec": {
                "group": ARGO_GROUP,
                "names": names,
                "scope": "Namespaced",
                "versions": [{
                    "name": def.version,
                    "served": true,
                    "storage": true,
                    "schema": {"openAPIV3Schema": {
                        "properties": {
                            "apiVersion": {"type": "string"},
                            "kind": {"type": "string"},
                            "metadata": {"type": "object"},
                            "spec": spec_schema,
                            "status": {"type": "object", "x-kubernetes-map-type": "atomic", "x-kubernetes-preserve-unknown-fields": true},
                        },
                        "required": ["metadata", "spec"],
                        "type": "object",
                    }},
                }],
                "conversion": {"strategy": "None"},
            },
            "status": {
                "acceptedNames": names,
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": created},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": created},
                ],
                "storedVersions": [def.version],
            },
        }))
    }

    /// `spec` of the full CronWorkflow schema, built from ../shared/argo/crds (v4.1.2) and the
    /// 3.5/3.6 CronWorkflowSpec docs, with `workflowSpec` and `workflowMetadata` reduced to
    /// objects that keep unknown fields (their real schemas are megabytes).
    fn cron_spec_schema(self) -> Value {
        let mut props = Map::new();
        for field in self.cron_spec_fields() {
            let schema = match field {
                "concurrencyPolicy" => json!({
                    "description": "ConcurrencyPolicy is the K8s-style concurrency policy that will be used",
                    "enum": ["Allow", "Forbid", "Replace"],
                    "type": "string",
                }),
                "failedJobsHistoryLimit" | "successfulJobsHistoryLimit" => {
                    json!({"format": "int32", "type": "integer"})
                }
                "schedule" => json!({
                    "description": if self.version == ArgoVersion::V3_5 {
                        "Schedule is a schedule to run the Workflow in Cron format"
                    } else {
                        "Schedule is a schedule to run the Workflow in Cron format. Deprecated, use Schedules"
                    },
                    "type": "string",
                }),
                "schedules" => json!({
                    "description": "v3.6 and after: Schedules is a list of schedules to run the Workflow in Cron format",
                    "items": {"type": "string"},
                    "type": "array",
                }),
                "startingDeadlineSeconds" => {
                    json!({"format": "int64", "minimum": 0, "type": "integer"})
                }
                "stopStrategy" => json!({
                    "properties": {"expression": {"type": "string"}},
                    "required": ["expression"],
                    "type": "object",
                }),
                "suspend" => json!({"type": "boolean"}),
                "timezone" | "when" => json!({"type": "string"}),
                _ => json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
            };
            props.insert(field.to_owned(), schema);
        }
        json!({
            "description": "CronWorkflowSpec is the specification of a CronWorkflow",
            "properties": props,
            "required": self.cron_spec_required(),
            "type": "object",
        })
    }
}

/// Removes the keys of `map` not in `known`; returns their paths (`prefix` + key).
fn drop_unknown(
    map: &mut Map<String, Value>,
    known: &[&str],
    prefix: &str,
    patch: bool,
) -> Vec<String> {
    let unknown: Vec<String> = map
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .cloned()
        .collect();
    let mut paths = Vec::new();
    for key in unknown {
        if let Some(v) = map.remove(&key)
            && !(patch && v.is_null())
        {
            paths.push(format!("{prefix}{key}"));
        }
    }
    paths
}

/// A stable number from a name (for the CRD's uid).
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) & 0xffff_ffff_ffff
}
