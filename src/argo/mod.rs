//! Argo Workflows: the typed objects (`types`) and the pure renderer (`render`) that turns a
//! validated `Dag` and an `Environment` into a `Workflow` or `CronWorkflow`; `confinement`
//! chooses the labels job pods carry so the notebook's NetworkPolicies select them too;
//! `supervisor` is what job containers run when `jupyterflow exec-job` keeps their output.

pub(crate) mod confinement;
pub(crate) mod deletion;
pub(crate) mod labels;
pub mod manifest;
pub(crate) mod notebooks;
pub(crate) mod pods;
pub mod render;
pub(crate) mod resubmit;
pub(crate) mod retry;
pub mod status_size;
pub(crate) mod supervisor;
pub(crate) mod tracker;
pub mod types;
pub(crate) mod view;

pub use manifest::{Manifest, RenderError};
pub use render::{RenderOptions, check, render, render_checked};
pub use types::{ArgoKind, CronScheduleField};
