//! Writing the injected cell in the notebook's own layout: indentation, line endings and key
//! order learnt from the cells around it, so the edited file reads as if Jupyter saved it.

use serde_json::Value;

use super::{INJECTED_TAG, Notebook};

/// A JSON value to write in a chosen layout. Leaves are JSON text already.
pub(super) enum Json {
    Leaf(String),
    List(Vec<Json>),
    Object(Vec<(&'static str, Json)>),
}

fn json_string(text: impl Into<String>) -> Json {
    Json::Leaf(Value::String(text.into()).to_string())
}

/// The injected cell, keys in the sorted order nbformat writes.
pub(super) fn injected_cell(id: Option<String>, lines: Vec<String>) -> Json {
    let mut fields = vec![
        ("cell_type", json_string("code")),
        ("execution_count", Json::Leaf("null".to_owned())),
    ];
    if let Some(id) = id {
        fields.push(("id", json_string(id)));
    }
    fields.push((
        "metadata",
        Json::Object(vec![("tags", Json::List(vec![json_string(INJECTED_TAG)]))]),
    ));
    fields.push(("outputs", Json::List(Vec::new())));
    fields.push((
        "source",
        Json::List(lines.into_iter().map(json_string).collect()),
    ));
    Json::Object(fields)
}

/// How the notebook lays out its cells, learnt from the text around the first one.
pub(super) struct Layout {
    /// What follows the `,` before a cell: a line break and the cells' indentation (Jupyter),
    /// or whatever sits between `[` and the first cell in a compact file.
    pub(super) separator: String,
    /// `\n`, or `\r\n` when the file uses it.
    newline: &'static str,
    /// The indentation of a cell's `{`.
    cell_indent: String,
    /// One level of indentation inside a cell; `None` writes the cell on one line.
    unit: Option<String>,
    /// For a notebook with no cells: the indentation of the line holding `"cells": [`.
    outer_indent: String,
}

impl Layout {
    pub(super) fn detect(text: &str, nb: &Notebook) -> Layout {
        let newline = |before: &str| if before.ends_with('\r') { "\r\n" } else { "\n" };
        if let Some(first) = nb.cells.first() {
            let separator = text[nb.cells_span.start + 1..first.span.start].to_owned();
            let Some(line_break) = separator.rfind('\n') else {
                return Layout::compact(separator);
            };
            let cell_indent = separator[line_break + 1..].to_owned();
            let cell = &text[first.span.clone()];
            let inner_indent = cell.split_once('\n').map(|(_, rest)| {
                let width = rest.len() - rest.trim_start_matches([' ', '\t']).len();
                &rest[..width]
            });
            let unit = inner_indent
                .and_then(|indent| indent.strip_prefix(cell_indent.as_str()))
                .filter(|unit| !unit.is_empty())
                .map(str::to_owned);
            return Layout {
                newline: newline(&separator[..line_break]),
                separator,
                cell_indent,
                unit,
                outer_indent: String::new(),
            };
        }
        // No cells to learn from: in Jupyter's layout `"cells"` sits one level in, so its line's
        // indentation is one unit and cells sit two units in.
        let line_start = text[..nb.cells_span.start].rfind('\n').map(|at| at + 1);
        let Some(line_start) = line_start else {
            return Layout::compact(String::new());
        };
        let line = &text[line_start..nb.cells_span.start];
        let indent = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
        if indent.is_empty() {
            return Layout::compact(String::new());
        }
        Layout {
            newline: newline(&text[..line_start - 1]),
            separator: String::new(),
            cell_indent: indent.repeat(2),
            unit: Some(indent.to_owned()),
            outer_indent: indent.to_owned(),
        }
    }

    fn compact(separator: String) -> Layout {
        Layout {
            separator,
            newline: "\n",
            cell_indent: String::new(),
            unit: None,
            outer_indent: String::new(),
        }
    }

    /// The cells array holding just `cell`, for a notebook that had none.
    pub(super) fn only_cell(&self, cell: &str) -> String {
        if self.unit.is_some() {
            let newline = self.newline;
            format!(
                "[{newline}{}{cell}{newline}{}]",
                self.cell_indent, self.outer_indent
            )
        } else {
            format!("[{cell}]")
        }
    }

    /// `json` as text to put where a cell's `{` goes (the indentation before it is already there).
    pub(super) fn render(&self, json: &Json) -> String {
        let mut out = String::new();
        self.write(&mut out, json, 0);
        out
    }

    fn write(&self, out: &mut String, json: &Json, depth: usize) {
        let (open, close, items): (char, char, Vec<(Option<&str>, &Json)>) = match json {
            Json::Leaf(text) => {
                out.push_str(text);
                return;
            }
            Json::List(items) => ('[', ']', items.iter().map(|j| (None, j)).collect()),
            Json::Object(fields) => (
                '{',
                '}',
                fields.iter().map(|(k, j)| (Some(*k), j)).collect(),
            ),
        };
        out.push(open);
        if items.is_empty() {
            out.push(close);
            return;
        }
        for (n, (key, item)) in items.into_iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            self.break_line(out, depth + 1);
            if let Some(key) = key {
                out.push_str(&Value::String(key.to_owned()).to_string());
                out.push(':');
                if self.unit.is_some() {
                    out.push(' ');
                }
            }
            self.write(out, item, depth + 1);
        }
        self.break_line(out, depth);
        out.push(close);
    }

    /// In the pretty layout, a line break and the indentation of `depth` levels inside the cell.
    fn break_line(&self, out: &mut String, depth: usize) {
        if let Some(unit) = &self.unit {
            out.push_str(self.newline);
            out.push_str(&self.cell_indent);
            out.push_str(&unit.repeat(depth));
        }
    }
}
