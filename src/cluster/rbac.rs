//! The rights jupyterflow needs in the namespace it runs in, as data: the one list the Role
//! printed after a 403, `doctor`'s checks and the platform guide are all made from, so they
//! cannot drift apart. Pure.

/// One rule of the Role: verbs on resources of an API group, and why they are needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    /// `""` for core.
    pub(crate) group: &'static str,
    pub(crate) resources: &'static [&'static str],
    pub(crate) verbs: &'static [&'static str],
    /// What needs it, said by `doctor` and as a comment in the Role.
    pub(crate) needed_by: &'static str,
}

/// Every right, grouped by what needs it.
pub(crate) const RULES: &[Rule] = &[
    Rule {
        group: "",
        resources: &["pods", "pods/log", "persistentvolumeclaims"],
        verbs: &["get", "list", "watch"],
        needed_by: "run, logs, watch",
    },
    Rule {
        group: "argoproj.io",
        resources: &["workflows", "cronworkflows"],
        verbs: &["create", "get", "list", "watch", "patch", "delete"],
        needed_by: "run, list, get, watch, stop, delete, resubmit",
    },
    Rule {
        group: "argoproj.io",
        resources: &["workflowtaskresults"],
        verbs: &["create", "patch"],
        needed_by: "the job pods: Argo's executor reports each job's result",
    },
];

/// The Role and RoleBinding a notebook's service account needs. The service account is the
/// job pods' too (they copy the notebook's `serviceAccountName`), so the Role also grants what
/// Argo's executor in each job pod needs. `service_account` is `(its namespace, its name)`: it
/// may live in another namespace than the workflows (with `-n`).
pub(crate) fn role_yaml(namespace: &str, service_account: (&str, &str)) -> String {
    let (account_namespace, account) = service_account;
    let mut rules = String::new();
    for rule in RULES {
        if rule.resources == ["workflowtaskresults"] {
            rules.push_str(
                "# Job pods run as this service account too: Argo's executor (3.4 and later) reports each\n\
                 # job's result as a WorkflowTaskResult; without this their `wait` container errors.\n",
            );
        }
        rules.push_str(&format!(
            "- apiGroups: [{}]\n  resources: [{}]\n  verbs: [{}]\n",
            if rule.group.is_empty() {
                "\"\"".to_owned()
            } else {
                rule.group.to_owned()
            },
            rule.resources.join(", "),
            rule.verbs.join(", ")
        ));
    }
    format!(
        "apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: jupyterflow
  namespace: {namespace}
rules:
{rules}---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: jupyterflow
  namespace: {namespace}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: jupyterflow
subjects:
- kind: ServiceAccount
  name: {account}
  namespace: {account_namespace}
"
    )
}
