//! `jupyterflow config`: where the config file is, the settings in effect, and a template to
//! start from.

use serde::Serialize;
use serde_json::Value;

use crate::error::Error;
use crate::local::DEFAULT_KILL_GRACE;
use crate::local::record::DEFAULT_RUNS_DIR;
use crate::printer::Printer;
use crate::printer::format::{self, OutputError};
use crate::settings::config_file::{self, Backend, ConfigSpec, CronScheduleField, DriftPolicy};
use crate::settings::{Generate, Settings};

/// Every setting with the value in effect, defaults filled in.
#[derive(Serialize)]
struct Effective<'a> {
    backend: Backend,
    argo_ui_url: Option<&'a str>,
    cron_schedule_field: CronScheduleField,
    argo_instance_id: Option<&'a str>,
    drift: DriftPolicy,
    namespace: &'a str,
    log_dir: &'a str,
    kill_grace_period: String,
    job_supervisor: bool,
    spec: &'a ConfigSpec,
}

pub(super) fn config(
    settings: &Settings,
    generate: Option<&Generate>,
    printer: &mut Printer,
) -> Result<(), Error> {
    if let Some(generate) = generate {
        let Some(path) = &generate.path else {
            return Err(Error::usage(
                "no config file location: neither JUPYTERFLOW_CONFIG_FILE nor HOME is set",
                "set JUPYTERFLOW_CONFIG_FILE=/path/to/jupyterflow.yaml",
            ));
        };
        if path.exists() && !generate.force {
            return Err(Error::usage(
                format!("{} already exists", path.display()),
                "pass --force to overwrite it",
            ));
        }
        std::fs::write(path, config_file::template()).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
        printer.status(&format!("wrote {}", path.display()));
        return Ok(());
    }
    let config = &settings.config;
    match &settings.config_path {
        Some(path) => printer.note(&format!("config file: {}", path.display())),
        None => printer.note(
            "no config file ($JUPYTERFLOW_CONFIG_FILE or ~/.jupyterflow.yaml); defaults apply \
             (jupyterflow config --generate-config writes a template)",
        ),
    }
    let effective = Effective {
        backend: config.backend.unwrap_or(Backend::Auto),
        argo_ui_url: config.argo_ui_url.as_deref(),
        cron_schedule_field: config
            .cron_schedule_field
            .unwrap_or(CronScheduleField::Schedules),
        argo_instance_id: config.argo_instance_id.as_deref(),
        drift: config.drift.unwrap_or_default(),
        namespace: config
            .namespace
            .as_deref()
            .unwrap_or("(the notebook pod's)"),
        log_dir: config.log_dir.as_deref().unwrap_or(DEFAULT_RUNS_DIR),
        kill_grace_period: config
            .kill_grace_period
            .clone()
            .unwrap_or_else(|| format!("{}s", DEFAULT_KILL_GRACE.as_secs())),
        job_supervisor: config.job_supervisor.unwrap_or(true),
        spec: &config.spec,
    };
    let mut value = serde_json::to_value(&effective).map_err(|e| OutputError::Serialize {
        format: "json".into(),
        message: e.to_string(),
    })?;
    drop_nulls(&mut value);
    printer.data(&format::to_yaml(&value)?);
    Ok(())
}

/// Unset optional fields serialise as `null`; leave them out instead.
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}
