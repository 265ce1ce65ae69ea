//! The one integration-test binary: runs the real `jupyterflow` binary on fixture pods and
//! workflows, checks what users see (snapshots), exit codes, and Argo schema validity.

mod cluster_drift;
mod cluster_faults;
mod cluster_helpers;
mod cluster_platform;
mod cluster_runs;
mod cluster_submit;
mod cluster_volume;
mod commands;
mod confinement;
mod dry_run;
mod errors;
mod events;
mod fake_api;
mod first_use;
mod gpus;
mod helpers;
mod limits;
mod local;
mod magic;
mod notebooks;
mod papermill;
mod params;
mod retry;
mod schema;
mod supervisor;
