//! Output formats shared by every command that prints objects (`-o yaml|json|name|wide|jsonpath=…`).
//! Pure: turns a value into text; the printer writes it.

use serde_json::Value;

use super::jsonpath::jsonpath;
use crate::argo::{ArgoKind, Manifest};

/// A parsed `-o` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    Yaml,
    Json,
    Name,
    Wide,
    Table,
    JsonPath(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OutputError {
    #[error("unknown output format `{format}`")]
    UnknownFormat {
        format: String,
        /// What this command prints: `yaml`, `json`, `name`, `wide`, `jsonpath`.
        allowed: &'static [&'static str],
    },
    #[error("-o {format} is not something this command prints")]
    NotHere {
        format: String,
        allowed: &'static [&'static str],
    },
    #[error("invalid jsonpath `{expr}`: {message}")]
    BadJsonPath { expr: String, message: String },
    #[error("could not write {format}: {message}")]
    Serialize { format: String, message: String },
}

impl OutputError {
    pub(crate) fn hint(&self) -> String {
        match self {
            OutputError::UnknownFormat { allowed, .. } | OutputError::NotHere { allowed, .. } => {
                let mut names: Vec<String> = allowed
                    .iter()
                    .map(|a| {
                        if *a == "jsonpath" {
                            "jsonpath='{.metadata.name}'".to_owned()
                        } else {
                            (*a).to_owned()
                        }
                    })
                    .collect();
                let last = names.pop().unwrap_or_default();
                if names.is_empty() {
                    format!("use -o {last}")
                } else {
                    format!("use -o {} or {last}", names.join(", "))
                }
            }
            OutputError::BadJsonPath { .. } => {
                "write kubectl style, jsonpath='{.metadata.name}', or a field path, jsonpath=metadata.name".to_owned()
            }
            OutputError::Serialize { .. } => "this is a bug in jupyterflow; please report it".to_owned(),
        }
    }
}

impl OutputFormat {
    /// Parses `-o TEXT` for a command that prints the formats in `allowed` (`yaml`, `json`,
    /// `name`, `wide`, `jsonpath`): a format it does not print is refused before anything
    /// happens, and so is an empty or broken jsonpath.
    pub(crate) fn parse_for(
        text: &str,
        allowed: &'static [&'static str],
    ) -> Result<Self, OutputError> {
        let (kind, format) = match text {
            "yaml" => ("yaml", OutputFormat::Yaml),
            "json" => ("json", OutputFormat::Json),
            "name" => ("name", OutputFormat::Name),
            "wide" => ("wide", OutputFormat::Wide),
            _ => {
                let expr =
                    text.strip_prefix("jsonpath=")
                        .ok_or_else(|| OutputError::UnknownFormat {
                            format: text.to_owned(),
                            allowed,
                        })?;
                // Shells often leave the quotes in when the user writes jsonpath="{…}".
                let expr = expr
                    .strip_prefix(['\'', '"'])
                    .and_then(|e| e.strip_suffix(['\'', '"']))
                    .unwrap_or(expr);
                if expr.trim().is_empty() {
                    return Err(OutputError::BadJsonPath {
                        expr: String::new(),
                        message: "the expression is empty".to_owned(),
                    });
                }
                // Check it now, so a typo fails before anything happens.
                jsonpath(&Value::Null, expr)?;
                ("jsonpath", OutputFormat::JsonPath(expr.to_owned()))
            }
        };
        if allowed.contains(&kind) {
            Ok(format)
        } else {
            Err(OutputError::NotHere {
                format: text.to_owned(),
                allowed,
            })
        }
    }
}

/// Pretty JSON with a final newline.
pub(crate) fn to_json(value: &impl serde::Serialize) -> Result<String, OutputError> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| OutputError::Serialize {
            format: "json".into(),
            message: e.to_string(),
        })
}

/// YAML (block style; strings quoted where YAML would change them). Long and multi-line
/// strings stay on one line, quoted, rather than folded: folding is easy to misread and to
/// break when copying into a shell.
pub(crate) fn to_yaml(value: &impl serde::Serialize) -> Result<String, OutputError> {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.prefer_block_scalars = false;
    serde_saphyr::to_string_with_options(value, options).map_err(|e| OutputError::Serialize {
        format: "yaml".into(),
        message: e.to_string(),
    })
}

/// `value` in a structured format (`json`, `yaml`, `jsonpath=…`), the one way every command
/// prints objects; `None` for the formats each command draws itself (name, table, wide).
pub(crate) fn structured(
    value: &impl serde::Serialize,
    format: &OutputFormat,
) -> Result<Option<String>, OutputError> {
    Ok(match format {
        OutputFormat::Json => Some(to_json(value)?),
        OutputFormat::Yaml => Some(to_yaml(value)?),
        OutputFormat::JsonPath(expr) => {
            let value = serde_json::to_value(value).map_err(|e| OutputError::Serialize {
                format: "json".into(),
                message: e.to_string(),
            })?;
            Some(jsonpath(&value, expr)? + "\n")
        }
        OutputFormat::Name | OutputFormat::Wide | OutputFormat::Table => None,
    })
}

/// A rendered manifest in the chosen `-o` format; `-o name` is kubectl's
/// `workflow.argoproj.io/NAME` (the `generateName` when the name is not known yet).
pub(crate) fn manifest(manifest: &Manifest, format: &OutputFormat) -> Result<String, OutputError> {
    if let Some(text) = structured(manifest, format)? {
        return Ok(text);
    }
    let meta = manifest.metadata();
    let name = meta
        .name
        .clone()
        .or_else(|| meta.generate_name.clone())
        .unwrap_or_default();
    let kind = match manifest {
        Manifest::Workflow(_) => ArgoKind::Workflow,
        Manifest::Cron(_) => ArgoKind::CronWorkflow,
    };
    Ok(format!("{}\n", kind.resource_name(&name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[&str] = &["yaml", "json", "name", "wide", "jsonpath"];

    #[test]
    fn formats_parse_and_reject() {
        assert_eq!(OutputFormat::parse_for("yaml", ALL), Ok(OutputFormat::Yaml));
        assert_eq!(
            OutputFormat::parse_for("jsonpath='{.metadata.name}'", ALL),
            Ok(OutputFormat::JsonPath("{.metadata.name}".into()))
        );
        assert!(matches!(
            OutputFormat::parse_for("xml", ALL),
            Err(OutputError::UnknownFormat { .. })
        ));
        for broken in [
            "jsonpath={.a",
            "jsonpath={range .a}",
            "jsonpath=",
            "jsonpath=''",
        ] {
            assert!(
                matches!(
                    OutputFormat::parse_for(broken, ALL),
                    Err(OutputError::BadJsonPath { .. })
                ),
                "{broken}"
            );
        }
    }

    #[test]
    fn a_format_the_command_does_not_print_is_refused_with_the_ones_it_does() {
        let err = OutputFormat::parse_for("wide", &["yaml", "json", "name", "jsonpath"])
            .expect_err("run has no wide");
        assert_eq!(
            err.to_string(),
            "-o wide is not something this command prints"
        );
        assert_eq!(
            err.hint(),
            "use -o yaml, json, name or jsonpath='{.metadata.name}'"
        );
    }
}
