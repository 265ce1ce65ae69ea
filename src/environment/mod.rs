//! The environment every job runs in: taken from the notebook's own pod, adjusted by the user's
//! config file and the current process (working directory, PATH, HOME, NB_USER).
//! `pod`, `overrides`, `workdir`, `resources`, `gpu` and `supervisor` are pure; `discover` does
//! the reading (and the one write: the copy of this binary job pods run).

pub mod discover;
pub mod drift;
pub(crate) mod gpu;
pub(crate) mod overrides;
pub mod packages;
pub mod pod;
pub(crate) mod resources;
pub(crate) mod supervisor;
pub(crate) mod workdir;

use std::collections::BTreeMap;
use std::time::SystemTime;

use k8s_openapi::api::core::v1::{
    Affinity, EnvFromSource, EnvVar, LocalObjectReference, PodSecurityContext,
    ResourceRequirements, SecurityContext, Toleration, Volume, VolumeMount,
};

/// Everything a job pod needs from the notebook, resolved. Rendering trusts it as is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Environment {
    /// The notebook pod this environment was taken from.
    pub pod_name: String,
    pub namespace: Option<String>,
    /// The notebook container's name (for messages).
    pub container_name: String,
    /// The image jobs run in: pinned by digest unless the user opted out or configured an image.
    pub image: String,
    pub image_pull_policy: Option<String>,
    /// Container env: notebook env minus JupyterHub credentials, plus config env, plus
    /// PATH/HOME/NB_USER from the current process. Later entries win on a name clash, so
    /// names are unique here.
    pub env: Vec<EnvVar>,
    pub env_from: Vec<EnvFromSource>,
    pub resources: Option<ResourceRequirements>,
    /// The GPUs the notebook container holds (every `*/gpu` resource), before the config: what
    /// the peak GPU demand of a pipeline is compared with.
    pub notebook_gpus: u64,
    /// Mounts of the notebook container (never the service-account token mount).
    pub volume_mounts: Vec<VolumeMount>,
    /// The pod volumes those mounts use, plus any from the config.
    pub volumes: Vec<Volume>,
    pub image_pull_secrets: Vec<LocalObjectReference>,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    /// The config's `gpu_tolerations`: added to every job that asks for a GPU, unless it has
    /// the same one already (GPU node pools are usually tainted `nvidia.com/gpu:NoSchedule`).
    pub gpu_tolerations: Vec<Toleration>,
    /// The notebook's labels job pods carry so that the NetworkPolicies confining the notebook
    /// select them too (see `argo::confinement`); jupyterflow's own labels come on top.
    pub pod_labels: BTreeMap<String, String>,
    pub affinity: Option<Affinity>,
    pub service_account_name: Option<String>,
    /// Pod-level: runAsUser, runAsGroup, fsGroup (and whatever else the notebook pod set).
    pub security_context: Option<PodSecurityContext>,
    /// Container-level settings other than the uid/gid (e.g. allowPrivilegeEscalation).
    pub container_security_context: Option<SecurityContext>,
    /// Absolute directory jobs start in.
    pub working_dir: String,
    /// The notebook's user (NB_USER / JUPYTERHUB_USER), for labels.
    pub user: Option<String>,
    /// The node the notebook runs on (for ReadWriteOnce volume pinning).
    pub node_name: Option<String>,
    /// When the notebook container started: anything installed into its own layer later is
    /// missing in job pods (see `packages`).
    pub container_started: Option<SystemTime>,
    /// Shell lines every job runs before its command (`drift: replay`'s installs).
    pub setup: Option<String>,
    /// The `jupyterflow` binary every job container starts as its supervisor (`exec-job`),
    /// as job pods see it; `None`: jobs run their `/bin/sh -c` script directly.
    pub supervisor: Option<String>,
    /// Things the user should know about how the environment was built (printed on stderr by
    /// `--dry-run`): the pinned digest, variables left out, config applied.
    pub notes: Vec<String>,
}
