//! The pre-flight before anything is submitted, pure: will job pods see the user's files (is
//! the working directory on a volume other pods can mount?), and must they run on the
//! notebook's node (a ReadWriteOnce claim)? The one read this may need, the claim's access
//! modes, is done by the caller.

use super::Environment;

/// Volume types whose data other pods on other nodes see too.
const SHARED_VOLUME_TYPES: &[&str] = &["nfs", "cephfs", "glusterfs", "azureFile", "quobyte"];

/// Where the working directory lives, as far as job pods are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Workdir {
    /// On a shared file system: nothing more to check.
    Shared {
        mount_path: String,
        volume_type: String,
    },
    /// On a PersistentVolumeClaim: its access modes decide.
    Claim { mount_path: String, claim: String },
    /// Not on anything job pods can see: the image's own file system or a per-pod volume.
    Unshared { reason: String },
}

/// Finds the notebook container's mount that holds the working directory (the deepest one)
/// and classifies its volume.
pub(crate) fn locate(env: &Environment) -> Workdir {
    let dir = env.working_dir.trim_end_matches('/');
    let mount = env
        .volume_mounts
        .iter()
        .filter(|m| {
            let path = m.mount_path.trim_end_matches('/');
            path.is_empty() || dir == path || dir.starts_with(&format!("{path}/"))
        })
        .max_by_key(|m| m.mount_path.trim_end_matches('/').len());
    let Some(mount) = mount else {
        return Workdir::Unshared {
            reason: format!(
                "{} is on the notebook image's own file system, which job pods do not share",
                env.working_dir
            ),
        };
    };
    let volume = env.volumes.iter().find(|v| v.name == mount.name);
    let Some(volume) = volume else {
        return Workdir::Unshared {
            reason: format!(
                "volume `{}` of mount {} is not in the pod",
                mount.name, mount.mount_path
            ),
        };
    };
    if let Some(claim) = &volume.persistent_volume_claim {
        return Workdir::Claim {
            mount_path: mount.mount_path.clone(),
            claim: claim.claim_name.clone(),
        };
    }
    let value = serde_json::to_value(volume).unwrap_or_default();
    let volume_type = value
        .as_object()
        .and_then(|o| o.keys().find(|k| k.as_str() != "name").cloned())
        .unwrap_or_else(|| "unknown".into());
    if SHARED_VOLUME_TYPES.contains(&volume_type.as_str()) {
        return Workdir::Shared {
            mount_path: mount.mount_path.clone(),
            volume_type,
        };
    }
    Workdir::Unshared {
        reason: format!(
            "{} is on volume `{}` ({volume_type}), which exists only inside the notebook pod",
            env.working_dir, mount.name
        ),
    }
}

/// What the claim's access modes mean for job pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClaimAccess {
    /// ReadWriteMany/ReadOnlyMany: any node.
    AnyNode,
    /// ReadWriteOnce: only the node that already mounts it (the notebook's).
    NotebookNode,
    /// ReadWriteOncePod: only the notebook pod itself; no job pod can mount it.
    NotebookPodOnly,
}

/// Access modes from the claim's status (what was bound) or, before binding, its spec.
pub(crate) fn claim_access(modes: &[String]) -> ClaimAccess {
    if modes
        .iter()
        .any(|m| m == "ReadWriteMany" || m == "ReadOnlyMany")
    {
        ClaimAccess::AnyNode
    } else if modes.iter().any(|m| m == "ReadWriteOnce") {
        ClaimAccess::NotebookNode
    } else if modes.iter().any(|m| m == "ReadWriteOncePod") {
        ClaimAccess::NotebookPodOnly
    } else {
        ClaimAccess::AnyNode
    }
}

/// The node label job pods are pinned with for a ReadWriteOnce claim.
pub(crate) const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// Pins job pods to the notebook's node. Returns the note to show, or None when the pod has
/// no node yet (it always has one when it is running the notebook).
pub(crate) fn pin_to_notebook_node(env: &mut Environment, claim: &str) -> Option<String> {
    let node = env.node_name.clone()?;
    env.node_selector
        .insert(HOSTNAME_LABEL.to_owned(), node.clone());
    Some(format!(
        "claim `{claim}` is ReadWriteOnce: job pods will run on the notebook's node {node} so they can mount it"
    ))
}

/// Why job pods would not see the user's files, and where they would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("job pods would not see your files: {reason}")]
pub(crate) struct Unshared {
    pub(crate) reason: String,
    /// The notebook's mounts that job pods do see (`/home/jovyan (claim `claim-jovyan`)`).
    pub(crate) alternatives: Vec<String>,
}

impl Unshared {
    pub(crate) fn hint(&self) -> String {
        let into = if self.alternatives.is_empty() {
            "a shared volume (a PersistentVolumeClaim or NFS mount)".to_owned()
        } else {
            format!("one the jobs see: {}", self.alternatives.join(", "))
        };
        format!(
            "cd into {into} and run again, or pass --allow-unshared-workdir if the jobs do not need the files"
        )
    }
}

/// Where job pods may run, as the pre-flight found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Wherever the scheduler puts them: the files are on a shared volume, a claim any node
    /// mounts, or nowhere job pods need.
    Anywhere,
    /// On the notebook's node: the working directory's claim is ReadWriteOnce.
    NotebookNode { claim: String },
    /// Perhaps on the notebook's node: the claim's access mode is not known (a dry run from a
    /// pod file).
    MaybeNotebookNode { claim: String },
}

/// The claim whose access modes decide where job pods may run, when the working directory is
/// on one: the caller reads its modes and hands them to [`preflight`].
pub(crate) fn claim_to_read(env: &Environment) -> Option<String> {
    match locate(env) {
        Workdir::Claim { claim, .. } => Some(claim),
        _ => None,
    }
}

/// The pre-flight: refuses a working directory job pods cannot see (unless `allow_unshared`,
/// which leaves a note instead), and pins job pods to the notebook's node when its claim is
/// ReadWriteOnce. `claim_modes`: the access modes of [`claim_to_read`]'s claim, `None` when
/// they cannot be known (a dry run from a pod file): then a note says what a submission does.
/// Returns where job pods may run, for the GPU check (`gpu::check_placement`).
pub(crate) fn preflight(
    env: &mut Environment,
    claim_modes: Option<&[String]>,
    allow_unshared: bool,
) -> Result<Placement, Unshared> {
    let refuse = |reason: String, env: &Environment| {
        if allow_unshared {
            Ok(Some(format!("--allow-unshared-workdir: {reason}")))
        } else {
            Err(Unshared {
                reason,
                alternatives: shared_mounts(env),
            })
        }
    };
    let mut placement = Placement::Anywhere;
    let note = match locate(env) {
        Workdir::Shared { .. } => None,
        Workdir::Unshared { reason } => refuse(reason, env)?,
        Workdir::Claim { claim, .. } => match claim_modes.map(claim_access) {
            None => {
                let note = env.node_name.as_ref().map(|node| {
                    format!(
                        "the working directory is on claim `{claim}`: if it is ReadWriteOnce, job pods will run on the notebook's node {node} (its access mode is read when submitting)"
                    )
                });
                placement = Placement::MaybeNotebookNode { claim };
                note
            }
            Some(ClaimAccess::AnyNode) => None,
            Some(ClaimAccess::NotebookNode) => {
                let note = pin_to_notebook_node(env, &claim).unwrap_or_else(|| {
                    format!(
                        "claim `{claim}` is ReadWriteOnce but the notebook pod has no node yet; job pods may wait for it"
                    )
                });
                placement = Placement::NotebookNode { claim };
                Some(note)
            }
            Some(ClaimAccess::NotebookPodOnly) if allow_unshared => Some(format!(
                "--allow-unshared-workdir: claim `{claim}` is ReadWriteOncePod, so job pods cannot mount it"
            )),
            Some(ClaimAccess::NotebookPodOnly) => {
                return Err(Unshared {
                    reason: format!(
                        "claim `{claim}` is ReadWriteOncePod: only the notebook pod may mount it"
                    ),
                    alternatives: shared_mounts(env)
                        .into_iter()
                        .filter(|m| !m.contains(&format!("claim `{claim}`")))
                        .collect(),
                });
            }
        },
    };
    env.notes.extend(note);
    Ok(placement)
}

/// The notebook container's mounts as the drift check sees them: shared when job pods see the
/// same files (a claim or a shared file system), not when each pod gets its own (emptyDir,
/// the image's layer).
pub(crate) fn drift_mounts(env: &Environment) -> Vec<super::packages::Mount> {
    env.volume_mounts
        .iter()
        .map(|mount| {
            let volume = env.volumes.iter().find(|v| v.name == mount.name);
            let shared = volume.is_some_and(|volume| {
                volume.persistent_volume_claim.is_some()
                    || serde_json::to_value(volume).ok().is_some_and(|value| {
                        value.as_object().is_some_and(|o| {
                            o.keys().any(|k| SHARED_VOLUME_TYPES.contains(&k.as_str()))
                        })
                    })
            });
            super::packages::Mount {
                path: mount.mount_path.clone().into(),
                shared,
            }
        })
        .collect()
}

/// The notebook's mounts job pods would see the files of (a claim, or a shared file system),
/// for the hint after a refusal: `/home/jovyan (claim `claim-jovyan`)`.
fn shared_mounts(env: &Environment) -> Vec<String> {
    env.volume_mounts
        .iter()
        .filter_map(|mount| {
            let volume = env.volumes.iter().find(|v| v.name == mount.name)?;
            if let Some(claim) = &volume.persistent_volume_claim {
                return Some(format!(
                    "{} (claim `{}`)",
                    mount.mount_path, claim.claim_name
                ));
            }
            let kind = serde_json::to_value(volume)
                .ok()?
                .as_object()?
                .keys()
                .find(|k| k.as_str() != "name")?
                .clone();
            SHARED_VOLUME_TYPES
                .contains(&kind.as_str())
                .then(|| format!("{} ({kind})", mount.mount_path))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{
        EmptyDirVolumeSource, NFSVolumeSource, PersistentVolumeClaimVolumeSource, Volume,
        VolumeMount,
    };

    use super::*;

    fn env(working_dir: &str, volumes: Vec<(&str, &str, Volume)>) -> Environment {
        Environment {
            working_dir: working_dir.into(),
            volume_mounts: volumes
                .iter()
                .map(|(name, path, _)| VolumeMount {
                    name: (*name).into(),
                    mount_path: (*path).into(),
                    ..VolumeMount::default()
                })
                .collect(),
            volumes: volumes.into_iter().map(|(_, _, v)| v).collect(),
            node_name: Some("node-7".into()),
            ..Environment::default()
        }
    }

    fn claim(name: &str, claim: &str) -> Volume {
        Volume {
            name: name.into(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.into(),
                read_only: None,
            }),
            ..Volume::default()
        }
    }

    #[test]
    fn the_deepest_mount_holding_the_workdir_decides() {
        let scratch = Volume {
            name: "scratch".into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        };
        let env = env(
            "/home/jovyan/project",
            vec![
                ("home", "/home/jovyan", claim("home", "claim-jovyan")),
                ("scratch", "/home/jovyan/scratch", scratch),
            ],
        );
        assert_eq!(
            locate(&env),
            Workdir::Claim {
                mount_path: "/home/jovyan".into(),
                claim: "claim-jovyan".into()
            }
        );
        let in_scratch = Environment {
            working_dir: "/home/jovyan/scratch/x".into(),
            ..env
        };
        let Workdir::Unshared { reason } = locate(&in_scratch) else {
            panic!("emptyDir is not shared");
        };
        assert!(reason.contains("emptyDir"), "{reason}");
    }

    #[test]
    fn a_prefix_that_is_not_a_parent_does_not_count() {
        let env = env(
            "/home/jovyan2",
            vec![("home", "/home/jovyan", claim("home", "c"))],
        );
        assert!(matches!(locate(&env), Workdir::Unshared { .. }));
    }

    #[test]
    fn nfs_is_shared() {
        let nfs = Volume {
            name: "data".into(),
            nfs: Some(NFSVolumeSource {
                path: "/export".into(),
                server: "nfs".into(),
                read_only: None,
            }),
            ..Volume::default()
        };
        let env = env("/data/x", vec![("data", "/data", nfs)]);
        assert!(
            matches!(locate(&env), Workdir::Shared { volume_type, .. } if volume_type == "nfs")
        );
    }

    #[test]
    fn access_modes_and_pinning() {
        let modes = |m: &[&str]| m.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            claim_access(&modes(&["ReadWriteMany"])),
            ClaimAccess::AnyNode
        );
        assert_eq!(
            claim_access(&modes(&["ReadWriteOnce"])),
            ClaimAccess::NotebookNode
        );
        assert_eq!(
            claim_access(&modes(&["ReadWriteOncePod"])),
            ClaimAccess::NotebookPodOnly
        );
        let mut env = env(
            "/home/jovyan",
            vec![("home", "/home/jovyan", claim("home", "c"))],
        );
        let note = pin_to_notebook_node(&mut env, "c").expect("pinned");
        assert!(note.contains("node-7"));
        assert_eq!(
            env.node_selector.get(HOSTNAME_LABEL).map(String::as_str),
            Some("node-7")
        );
    }
}
