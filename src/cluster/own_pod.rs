//! Finding the notebook's own pod. By name first (`--pod`, else `$HOSTNAME`); when that is not
//! its name, by this container's IP. KubeSpawner 7 names pods `jupyter-<user>---<hash>`, which
//! can be longer than the 63 characters a hostname holds, so `$HOSTNAME` is then a cut name
//! and `GET pods/$HOSTNAME` a 404; the kubelet writes the pod's IP next to the hostname in
//! /etc/hosts, and a `status.podIP` field selector finds the pod from it.

use k8s_openapi::api::core::v1::Pod;

use super::api::Cluster;
use super::error::ClusterError;

/// How the pod was found, for `-v`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    ByName,
    /// `$HOSTNAME` named no pod; the one pod with this IP is it.
    ByIp {
        ip: String,
        name: String,
    },
}

/// The pod named `name`, or, when `ip` is known (we run inside the pod, and the name came
/// from `$HOSTNAME`) and no pod has that name, the one pod with that IP. Otherwise the 404.
pub(crate) async fn find(
    cluster: &mut Cluster,
    name: &str,
    ip: Option<&str>,
) -> Result<(Pod, Found), ClusterError> {
    let not_found = match cluster.get_pod(name).await {
        Ok(pod) => return Ok((pod, Found::ByName)),
        Err(e @ ClusterError::NotFound { .. }) => e,
        Err(e) => return Err(e),
    };
    let Some(ip) = ip else {
        return Err(not_found);
    };
    let mut pods = cluster
        .list_pods_by_fields(&format!("status.podIP={ip}"))
        .await?;
    // Only a running pod owns its IP now; a finished one may still list it.
    pods.retain(|p| {
        p.status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_none_or(|phase| phase == "Running" || phase == "Pending")
    });
    match pods.len() {
        1 => {
            let pod = pods.remove(0);
            let found = pod.metadata.name.clone().unwrap_or_default();
            Ok((
                pod,
                Found::ByIp {
                    ip: ip.to_owned(),
                    name: found,
                },
            ))
        }
        _ => Err(not_found),
    }
}
