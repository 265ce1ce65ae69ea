//! `jupyterflow config`: where the config file is, the settings in effect, and a template to
//! start from.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use crate::cli::ConfigArgs;
use crate::error::Error;
use crate::output;
use crate::printer::Printer;
use crate::settings::config_file::{
    self, Backend, ConfigSpec, CronScheduleField, UserConfig, config_path,
    load_user_config as read_config,
};

/// Defaults for settings the config file leaves out (also documented in the template).
pub const DEFAULT_LOG_DIR: &str = ".jupyterflow/runs";
pub const DEFAULT_KILL_GRACE: &str = "10s";

fn env_config_file() -> Option<String> {
    std::env::var("JUPYTERFLOW_CONFIG_FILE").ok()
}

fn home() -> Option<String> {
    std::env::var("HOME").ok()
}

/// The user's config and where it came from (`None`: no file, defaults apply).
pub fn load_user_config() -> Result<(Option<PathBuf>, UserConfig), Error> {
    Ok(
        match read_config(env_config_file().as_deref(), home().as_deref())? {
            Some((path, config)) => (Some(path), config),
            None => (None, UserConfig::default()),
        },
    )
}

/// Every setting with the value in effect, defaults filled in.
#[derive(Serialize)]
struct Effective<'a> {
    backend: Backend,
    argo_ui_url: Option<&'a str>,
    cron_schedule_field: CronScheduleField,
    namespace: &'a str,
    log_dir: &'a str,
    kill_grace_period: &'a str,
    spec: &'a ConfigSpec,
}

pub fn config(args: &ConfigArgs, printer: &mut Printer) -> Result<(), Error> {
    if args.generate_config {
        let Some(path) = config_path(env_config_file().as_deref(), home().as_deref()) else {
            return Err(Error::usage(
                "no config file location: neither JUPYTERFLOW_CONFIG_FILE nor HOME is set",
                "set JUPYTERFLOW_CONFIG_FILE=/path/to/jupyterflow.yaml",
            ));
        };
        if path.exists() && !args.force {
            return Err(Error::usage(
                format!("{} already exists", path.display()),
                "pass --force to overwrite it",
            ));
        }
        std::fs::write(&path, config_file::template()).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
        printer.status(&format!("wrote {}", path.display()));
        return Ok(());
    }
    let (path, config) = load_user_config()?;
    match &path {
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
        namespace: config
            .namespace
            .as_deref()
            .unwrap_or("(the notebook pod's)"),
        log_dir: config.log_dir.as_deref().unwrap_or(DEFAULT_LOG_DIR),
        kill_grace_period: config
            .kill_grace_period
            .as_deref()
            .unwrap_or(DEFAULT_KILL_GRACE),
        spec: &config.spec,
    };
    let mut value =
        serde_json::to_value(&effective).map_err(|e| output::OutputError::Serialize {
            format: "json".into(),
            message: e.to_string(),
        })?;
    drop_nulls(&mut value);
    printer.data(&output::to_yaml(&value)?);
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
