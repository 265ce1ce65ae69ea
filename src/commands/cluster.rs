//! What every cluster command shares: turning `-n`/`--context`/`--pod` and the config into a
//! connection target, the async runtime, and whether a history command means the cluster's
//! runs or the local ones.

use std::future::Future;

use crate::cli::{ClusterArgs, HistoryArgs};
use crate::cluster::{Cluster, Target, connect};
use crate::environment::discover::ProcessEnv;
use crate::error::Error;
use crate::printer::Printer;
use crate::settings::config_file::{Backend, UserConfig};
use crate::time;

/// The connection target: flags first, then the config's `namespace`, then the service
/// account's or kubeconfig context's namespace (decided when connecting).
pub fn target(
    args: &ClusterArgs,
    pod: Option<String>,
    config: &UserConfig,
) -> Result<Target, Error> {
    let request_timeout = time::parse_duration(&args.request_timeout)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            Error::usage(
                format!(
                    "--request-timeout `{}` is not a duration",
                    args.request_timeout
                ),
                "write it like 30s, 2m or 1h",
            )
        })?;
    Ok(Target {
        context: args.context.clone(),
        namespace: args.namespace.clone().or_else(|| config.namespace.clone()),
        pod,
        request_timeout,
        env: ProcessEnv::from_process(),
    })
}

/// One thread is plenty for a handful of requests and a watch stream.
pub fn block_on<T>(future: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(e.to_string()))?
        .block_on(future)
}

pub async fn connect_cluster(target: &Target) -> Result<Cluster, Error> {
    Ok(Cluster::new(connect::connect(target).await?))
}

/// Whether `list`/`get`/`logs`/`delete` mean cluster runs: `--local` says no; `-n`,
/// `--context` or `backend: argo` say yes; otherwise yes inside a notebook pod.
pub fn wants_cluster(history: &HistoryArgs, config: &UserConfig) -> bool {
    if history.local {
        return false;
    }
    if history.cluster.namespace.is_some() || history.cluster.context.is_some() || history.all {
        return true;
    }
    match config.backend {
        Some(Backend::Argo) => true,
        Some(Backend::Local) => false,
        Some(Backend::Auto) | None => ProcessEnv::from_process().in_pod(),
    }
}

/// Prints what the client did behind the scenes (retries), with `-v`.
pub fn report(cluster: &mut Cluster, verbose: bool, printer: &mut Printer) {
    let notes = std::mem::take(&mut cluster.notes);
    if verbose {
        for note in notes {
            printer.note(&note);
        }
    }
}
