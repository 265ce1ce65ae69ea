//! `-o jsonpath=…`, kubectl style: `{.a.b}` segments inside literal text, `{range …}{end}`,
//! `{"\n"}` literals, several results joined by spaces; also the original tool's bare field
//! path (`metadata.name`) and RFC 9535 paths (`$.a`), evaluated with `serde_json_path`. Pure.

use std::fmt::Write as _;

use serde_json::Value;
use serde_json_path::JsonPath;

use super::format::OutputError;

/// Evaluates `expr` against `value`, kubectl style: `{.a.b}` segments inside literal text,
/// `{range .items[*]}…{end}`, `{"\n"}` literals; several results are joined by spaces.
/// A bare field path (`metadata.name`, the original tool's form) or an RFC 9535 path (`$.a`)
/// is taken as one expression.
pub(crate) fn jsonpath(value: &Value, expr: &str) -> Result<String, OutputError> {
    let bad = |message: String| OutputError::BadJsonPath {
        expr: expr.to_owned(),
        message,
    };
    if !expr.contains('{') {
        let path = to_rfc9535(expr.trim()).map_err(bad)?;
        return eval(value, &path).map_err(bad);
    }
    let parts = split_template(expr).map_err(bad)?;
    let mut out = String::new();
    render_parts(&parts, value, &mut out).map_err(bad)?;
    Ok(out)
}

#[derive(Debug)]
enum Part {
    Text(String),
    Expr(String),
    Range(String, Vec<Part>),
}

fn split_template(expr: &str) -> Result<Vec<Part>, String> {
    let mut stack: Vec<(Option<String>, Vec<Part>)> = vec![(None, Vec::new())];
    let mut rest = expr;
    while !rest.is_empty() {
        let top = &mut stack.last_mut().ok_or("unbalanced {end}")?.1;
        if let Some(open) = rest.find('{') {
            if open > 0 {
                top.push(Part::Text(rest[..open].to_owned()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("unclosed `{{` at character {}", open + 1))?
                + open;
            let inner = rest[open + 1..close].trim();
            rest = &rest[close + 1..];
            if let Some(path) = inner.strip_prefix("range ") {
                stack.push((Some(path.trim().to_owned()), Vec::new()));
            } else if inner == "end" {
                let (path, parts) = stack.pop().ok_or("unbalanced {end}")?;
                let path = path.ok_or("{end} without {range}")?;
                stack
                    .last_mut()
                    .ok_or("{end} without {range}")?
                    .1
                    .push(Part::Range(path, parts));
            } else if let Some(literal) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"'))
            {
                top.push(Part::Text(unescape(literal)));
            } else {
                top.push(Part::Expr(inner.to_owned()));
            }
        } else {
            top.push(Part::Text(rest.to_owned()));
            rest = "";
        }
    }
    if stack.len() != 1 {
        return Err("{range} without {end}".into());
    }
    Ok(stack.pop().map(|s| s.1).unwrap_or_default())
}

fn unescape(s: &str) -> String {
    s.replace("\\n", "\n").replace("\\t", "\t")
}

fn render_parts(parts: &[Part], value: &Value, out: &mut String) -> Result<(), String> {
    for part in parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Expr(e) => out.push_str(&eval(value, &to_rfc9535(e)?)?),
            Part::Range(path, inner) => {
                let path = JsonPath::parse(&to_rfc9535(path)?).map_err(|e| e.to_string())?;
                for item in path.query(value).all() {
                    render_parts(inner, item, out)?;
                }
            }
        }
    }
    Ok(())
}

fn eval(value: &Value, path: &str) -> Result<String, String> {
    let path = JsonPath::parse(path).map_err(|e| e.to_string())?;
    let items: Vec<String> = path
        .query(value)
        .all()
        .into_iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    Ok(items.join(" "))
}

/// kubectl's `.a.b[0].c\.d` (or the original's `a.b`) → RFC 9535 `$['a']['b'][0]['c.d']`.
fn to_rfc9535(expr: &str) -> Result<String, String> {
    let expr = expr.trim();
    if expr.starts_with('$') {
        return Ok(expr.to_owned());
    }
    if expr == "." || expr == "@" {
        return Ok("$".to_owned());
    }
    let mut out = String::from("$");
    let mut chars = expr.trim_start_matches(['@']).chars().peekable();
    let mut key = String::new();
    let mut in_key = false;
    let flush = |key: &mut String, out: &mut String| {
        if !key.is_empty() {
            let _ = write!(
                out,
                "['{}']",
                key.replace('\\', "\\\\").replace('\'', "\\'")
            );
            key.clear();
        }
    };
    if !expr.starts_with(['.', '@', '[']) {
        in_key = true;
    }
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => key.push(n),
                None => return Err("trailing backslash".into()),
            },
            '.' => {
                flush(&mut key, &mut out);
                in_key = true;
            }
            '[' => {
                flush(&mut key, &mut out);
                let mut index = String::from("[");
                for n in chars.by_ref() {
                    index.push(n);
                    if n == ']' {
                        break;
                    }
                }
                if !index.ends_with(']') {
                    return Err("unclosed `[`".into());
                }
                out.push_str(&index);
                in_key = false;
            }
            _ if in_key => key.push(c),
            _ => return Err(format!("unexpected `{c}`")),
        }
    }
    flush(&mut key, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "metadata": {"name": "wf-abc", "labels": {"app.kubernetes.io/managed-by": "jupyterflow"}},
            "spec": {"templates": [{"name": "main"}, {"name": "job"}]},
            "items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]
        })
    }

    #[test]
    fn kubectl_and_original_forms_agree() {
        assert_eq!(
            jsonpath(&doc(), "{.metadata.name}").ok(),
            Some("wf-abc".into())
        );
        assert_eq!(
            jsonpath(&doc(), "metadata.name").ok(),
            Some("wf-abc".into())
        );
        assert_eq!(
            jsonpath(&doc(), "$.metadata.name").ok(),
            Some("wf-abc".into())
        );
    }

    #[test]
    fn wildcards_join_with_spaces_and_text_stays() {
        assert_eq!(
            jsonpath(&doc(), "names: {.spec.templates[*].name}!").ok(),
            Some("names: main job!".into())
        );
        assert_eq!(
            jsonpath(&doc(), "{.spec.templates[0].name}").ok(),
            Some("main".into())
        );
    }

    #[test]
    fn escaped_dots_in_keys() {
        assert_eq!(
            jsonpath(&doc(), r"{.metadata.labels.app\.kubernetes\.io/managed-by}").ok(),
            Some("jupyterflow".into())
        );
    }

    #[test]
    fn range_and_literals() {
        assert_eq!(
            jsonpath(&doc(), r#"{range .items[*]}{.metadata.name}{"\n"}{end}"#).ok(),
            Some("a\nb\n".into())
        );
    }
}
