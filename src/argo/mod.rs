//! Argo Workflows: the typed objects (`types`) and the pure renderer (`render`) that turns a
//! validated `Dag` and an `Environment` into a `Workflow` or `CronWorkflow`.

pub mod render;
pub mod types;

pub use render::{CronScheduleField, Manifest, RenderError, RenderOptions, render};
