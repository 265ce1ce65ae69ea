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
        group: "networking.k8s.io",
        resources: &["networkpolicies"],
        verbs: &["list"],
        needed_by: "run (job pods get the notebook's network confinement)",
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

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    const PLATFORM_GUIDE: &str = include_str!("../../docs/platform.md");
    const README: &str = include_str!("../../README.md");

    /// The fenced blocks of `lang` in markdown `text`, un-indented (a block inside a list item
    /// is indented with its fence).
    fn blocks(text: &str, lang: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut open: Option<(usize, String)> = None;
        for line in text.lines() {
            let indent = line.len() - line.trim_start().len();
            let fence = line.trim_start();
            match &mut open {
                None if fence == format!("```{lang}") => open = Some((indent, String::new())),
                Some((_, block)) if fence == "```" => {
                    found.push(std::mem::take(block));
                    open = None;
                }
                Some((at, block)) => {
                    block.push_str(line.get(*at..).unwrap_or_default());
                    block.push('\n');
                }
                None => {}
            }
        }
        found
    }

    fn documents(yaml: &str) -> Vec<Value> {
        serde_saphyr::from_multiple::<Value>(yaml)
            .unwrap_or_else(|e| panic!("not YAML: {e}\n{yaml}"))
    }

    #[test]
    fn every_yaml_in_the_platform_guide_parses_and_its_roles_are_ours() {
        let yaml = blocks(PLATFORM_GUIDE, "yaml");
        assert!(yaml.len() >= 8, "found {} YAML blocks", yaml.len());
        let ours = documents(&role_yaml("jhub", ("jhub", "jupyterflow")));
        let mut roles = 0;
        let mut bindings = 0;
        for block in &yaml {
            for document in documents(block) {
                match document["kind"].as_str() {
                    Some("Role") => {
                        roles += 1;
                        assert_eq!(document, ours[0], "a Role in the guide is not doctor's");
                    }
                    Some("RoleBinding") => {
                        bindings += 1;
                        let namespace = document["metadata"]["namespace"].as_str().expect("ns");
                        let account = document["subjects"][0]["name"].as_str().expect("name");
                        let expected = documents(&role_yaml(namespace, (namespace, account)));
                        assert_eq!(document, expected[1], "a RoleBinding in the guide");
                    }
                    _ => {}
                }
            }
        }
        assert_eq!((roles, bindings), (1, 2));
        // Printed as doctor and the 403 hint print it, comments included.
        assert!(
            PLATFORM_GUIDE.contains(&role_yaml("jhub", ("jhub", "jupyterflow"))),
            "the guide's Role and RoleBinding differ from role_yaml's text"
        );
    }

    #[test]
    fn the_readme_lists_the_same_rules() {
        let role = role_yaml("ns", ("ns", "sa"));
        let rules = role
            .split_once("rules:\n")
            .and_then(|(_, rest)| rest.split_once("---\n"))
            .map(|(rules, _)| rules)
            .expect("rules");
        assert!(
            blocks(README, "yaml")
                .iter()
                .any(|block| block == &format!("rules:\n{rules}")),
            "README's Role rules differ from rbac::RULES:\n{rules}"
        );
    }
}
