//! The resources the fake serves (pods, PVCs, NetworkPolicies, Argo Workflows and
//! CronWorkflows): names, kinds, groups, short names, name-length limits and field selectors.
//! Data only.

/// The resources the fake serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Res {
    Pods,
    Pvcs,
    Workflows,
    CronWorkflows,
    NetworkPolicies,
}

pub(super) struct ResDef {
    pub(super) plural: &'static str,
    pub(super) singular: &'static str,
    pub(super) kind: &'static str,
    pub(super) list_kind: &'static str,
    pub(super) group: &'static str,
    pub(super) version: &'static str,
    pub(super) short_names: &'static [&'static str],
    pub(super) max_name: usize,
    pub(super) field_selectors: &'static [&'static str],
}

pub(super) const ARGO_GROUP: &str = "argoproj.io";
pub(super) const NETWORKING_GROUP: &str = "networking.k8s.io";

const CRD_FIELDS: &[&str] = &["metadata.name", "metadata.namespace"];

static DEFS: [ResDef; 5] = [
    ResDef {
        plural: "pods",
        singular: "pod",
        kind: "Pod",
        list_kind: "PodList",
        group: "",
        version: "v1",
        short_names: &["po"],
        max_name: 253,
        field_selectors: &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
    },
    ResDef {
        plural: "persistentvolumeclaims",
        singular: "persistentvolumeclaim",
        kind: "PersistentVolumeClaim",
        list_kind: "PersistentVolumeClaimList",
        group: "",
        version: "v1",
        short_names: &["pvc"],
        max_name: 253,
        field_selectors: CRD_FIELDS,
    },
    ResDef {
        plural: "workflows",
        singular: "workflow",
        kind: "Workflow",
        list_kind: "WorkflowList",
        group: ARGO_GROUP,
        version: "v1alpha1",
        short_names: &["wf"],
        max_name: 253,
        field_selectors: CRD_FIELDS,
    },
    ResDef {
        plural: "cronworkflows",
        singular: "cronworkflow",
        kind: "CronWorkflow",
        list_kind: "CronWorkflowList",
        group: ARGO_GROUP,
        version: "v1alpha1",
        short_names: &["cwf", "cronwf"],
        // Argo derives child Workflow names from it and refuses longer ones.
        max_name: 52,
        field_selectors: CRD_FIELDS,
    },
    ResDef {
        plural: "networkpolicies",
        singular: "networkpolicy",
        kind: "NetworkPolicy",
        list_kind: "NetworkPolicyList",
        group: NETWORKING_GROUP,
        version: "v1",
        short_names: &["netpol"],
        max_name: 253,
        field_selectors: CRD_FIELDS,
    },
];

impl Res {
    pub(super) const ALL: [Res; 5] = [
        Res::Pods,
        Res::Pvcs,
        Res::Workflows,
        Res::CronWorkflows,
        Res::NetworkPolicies,
    ];

    pub(super) fn def(self) -> &'static ResDef {
        &DEFS[self as usize]
    }

    /// The resource with this plural in this API group ("" for core).
    pub(super) fn find(group: &str, plural: &str) -> Option<Res> {
        Res::ALL
            .into_iter()
            .find(|r| r.def().group == group && r.def().plural == plural)
    }
}

impl ResDef {
    pub(super) fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `pods`, `workflows.argoproj.io`: how messages name the resource.
    pub(super) fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}
