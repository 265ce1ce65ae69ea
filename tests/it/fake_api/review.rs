//! SelfSubjectAccessReview (`kubectl auth can-i`): `POST /apis/authorization.k8s.io/v1/
//! selfsubjectaccessreviews` decided from the fake's RBAC denials. Builds the answer only;
//! `routes.rs` authorizes the create itself (RBAC may deny the review endpoint too).

use serde_json::{Value, json};

use super::State;
use super::status::{self, ApiError};
use super::validate::Cause;

pub(super) const GROUP: &str = "authorization.k8s.io";
pub(super) const PLURAL: &str = "selfsubjectaccessreviews";
const KIND: &str = "SelfSubjectAccessReview";

/// The review as a real API server answers it (201 Created, nothing stored): the request's
/// `spec` echoed, `metadata.creationTimestamp: null`, and `status.allowed`. RBAC only ever says
/// "allowed" with a reason naming the binding, or has no opinion: a denial is `{allowed: false}`
/// with no reason (both shapes as in kubernetes/kubernetes#71791 and apache/camel-k#2020).
///
/// `resourceAttributes` are matched against `forbid(verb, resource)` with `resource/subresource`
/// (pods + log = `pods/log`); group, name and namespace do not narrow a denial, as the fake's
/// denials hold in every group and namespace. `nonResourceAttributes` are always allowed
/// (system:discovery covers the paths a client asks about). Exactly one of the two must be
/// given, else 422 as `ValidateSelfSubjectAccessReviewSpec` says.
pub(super) fn review(st: &State, mut obj: Value) -> Result<Value, ApiError> {
    let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
    let attrs = spec.get("resourceAttributes").filter(|v| !v.is_null());
    let non_resource = spec.get("nonResourceAttributes").filter(|v| !v.is_null());
    let invalid = |field: &str, value: &str, detail: &str| {
        let cause = Cause {
            field: field.to_owned(),
            reason: "FieldValueInvalid",
            message: format!("Invalid value: \"{value}\": {detail}"),
        };
        status::invalid_kind(GROUP, KIND, "", &[cause])
    };
    let status = match (attrs, non_resource) {
        (Some(_), Some(nr)) => {
            return Err(invalid(
                "spec.nonResourceAttributes",
                &nr.to_string(),
                "cannot be specified in combination with resourceAttributes",
            ));
        }
        (None, None) => {
            return Err(invalid(
                "spec.resourceAttributes",
                "null",
                "exactly one of nonResourceAttributes or resourceAttributes must be specified",
            ));
        }
        (None, Some(_)) => json!({
            "allowed": true,
            "reason": "RBAC: allowed by ClusterRoleBinding \"system:discovery\" of ClusterRole \"system:discovery\" to Group \"system:authenticated\"",
        }),
        (Some(attrs), None) => {
            let field = |k: &str| attrs.get(k).and_then(Value::as_str).unwrap_or_default();
            let resource = match field("subresource") {
                "" => field("resource").to_owned(),
                sub => format!("{}/{sub}", field("resource")),
            };
            let denied = st
                .forbidden
                .contains(&(field("verb").to_owned(), resource.clone()));
            if denied {
                json!({"allowed": false})
            } else {
                let ns = Some(field("namespace")).filter(|n| !n.is_empty());
                let reason = match ns {
                    Some(ns) => format!(
                        "RBAC: allowed by RoleBinding \"default-editor/{ns}\" of ClusterRole \"kubeflow-edit\" to ServiceAccount \"default-editor/{ns}\""
                    ),
                    None => "RBAC: allowed by ClusterRoleBinding \"default-editor\" of ClusterRole \"edit\" to ServiceAccount \"default-editor/default\"".to_owned(),
                };
                json!({"allowed": true, "reason": reason})
            }
        }
    };
    if let Value::Object(o) = &mut obj {
        o.insert("kind".into(), KIND.into());
        o.insert("apiVersion".into(), format!("{GROUP}/v1").into());
        o.insert("metadata".into(), json!({"creationTimestamp": null}));
        o.insert("status".into(), status);
    }
    Ok(obj)
}
