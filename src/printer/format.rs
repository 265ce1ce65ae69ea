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
    #[error("unknown output format `{0}`")]
    UnknownFormat(String),
    #[error("invalid jsonpath `{expr}`: {message}")]
    BadJsonPath { expr: String, message: String },
    #[error("could not write {format}: {message}")]
    Serialize { format: String, message: String },
}

impl OutputError {
    pub(crate) fn hint(&self) -> &'static str {
        match self {
            OutputError::UnknownFormat(_) => {
                "use -o yaml, json, name, wide or jsonpath='{.metadata.name}'"
            }
            OutputError::BadJsonPath { .. } => {
                "write kubectl style, jsonpath='{.metadata.name}', or a field path, jsonpath=metadata.name"
            }
            OutputError::Serialize { .. } => "this is a bug in jupyterflow; please report it",
        }
    }
}

impl OutputFormat {
    pub(crate) fn parse(text: &str) -> Result<Self, OutputError> {
        match text {
            "yaml" => Ok(OutputFormat::Yaml),
            "json" => Ok(OutputFormat::Json),
            "name" => Ok(OutputFormat::Name),
            "wide" => Ok(OutputFormat::Wide),
            _ => {
                let expr = text
                    .strip_prefix("jsonpath=")
                    .ok_or_else(|| OutputError::UnknownFormat(text.to_owned()))?;
                // Shells often leave the quotes in when the user writes jsonpath="{…}".
                let expr = expr
                    .strip_prefix(['\'', '"'])
                    .and_then(|e| e.strip_suffix(['\'', '"']))
                    .unwrap_or(expr);
                // Check it now, so a typo fails before anything happens.
                jsonpath(&Value::Null, expr)?;
                Ok(OutputFormat::JsonPath(expr.to_owned()))
            }
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

    #[test]
    fn formats_parse_and_reject() {
        assert_eq!(OutputFormat::parse("yaml"), Ok(OutputFormat::Yaml));
        assert_eq!(
            OutputFormat::parse("jsonpath='{.metadata.name}'"),
            Ok(OutputFormat::JsonPath("{.metadata.name}".into()))
        );
        assert!(matches!(
            OutputFormat::parse("xml"),
            Err(OutputError::UnknownFormat(_))
        ));
        assert!(matches!(
            OutputFormat::parse("jsonpath={.a"),
            Err(OutputError::BadJsonPath { .. })
        ));
        assert!(matches!(
            OutputFormat::parse("jsonpath={range .a}"),
            Err(OutputError::BadJsonPath { .. })
        ));
    }
}
