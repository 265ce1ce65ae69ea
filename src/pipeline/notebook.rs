//! Jupyter notebooks (`.ipynb`, nbformat 4) as pipeline steps, the papermill way: inject the
//! `-p` values as a cell tagged `injected-parameters`, read the names the `parameters` cell
//! assigns (for `lint`), the kernel name, and the first error of an executed notebook.
//! Pure: text in, text and values out; no files, no processes.
//!
//! Injection edits the notebook's text instead of re-serialising it, so every byte outside the
//! new cell stays as it was (key order, escapes, number spelling, indentation): the notebook a
//! run leaves behind diffs cleanly against the one the user wrote.

mod assigned;
mod layout;
pub mod lint;
pub mod prepare;
mod spans;
pub mod step;
mod value;

use std::ops::Range;

use serde_json::{Map, Value};

use layout::{Layout, injected_cell};

pub use prepare::{NotebookFile, PrepareError, PreparedNotebook, prepare};
pub use step::{NotebookStep, StepError};
pub use value::{Param, ParamValue};

/// The tag papermill and jupyterflow look for on the cell holding the defaults.
pub const PARAMETERS_TAG: &str = "parameters";
/// The tag of the cell holding the values given for a run.
pub const INJECTED_TAG: &str = "injected-parameters";
/// The tag of the markdown cells papermill adds to a notebook that failed (a banner on top and
/// an anchor before the failing cell); they are left out of cell numbers.
pub const PAPERMILL_ERROR_TAG: &str = "papermill-error-cell-tag";

/// Why a text cannot be used as a notebook, or a parameter cannot be injected.
/// Each message says what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotebookError {
    #[error(
        "the file is empty, not a notebook: save the notebook from Jupyter, or restore it from version control"
    )]
    Empty,
    #[error(
        "not valid JSON at line {line} column {column}: {reason}; an .ipynb file is JSON: fix that spot (often a merge conflict marker) or save the notebook again from Jupyter"
    )]
    Json {
        line: usize,
        column: usize,
        reason: String,
    },
    #[error(
        "the file is a JSON {found}, not a notebook: an .ipynb file is a JSON object with `cells`, `metadata` and `nbformat`; check that the path names a notebook"
    )]
    NotAnObject { found: &'static str },
    #[error(
        "the JSON has no `nbformat` field, so it is not a notebook: Jupyter writes `\"nbformat\": 4`; check that the path names an .ipynb file"
    )]
    MissingNbformat,
    #[error(
        "nbformat {version} is not supported, only nbformat 4: open the notebook in a current Jupyter and save it, which upgrades it"
    )]
    UnsupportedNbformat {
        /// The value as written in the file.
        version: String,
    },
    #[error(
        "the notebook has no `cells` list: an nbformat 4 notebook keeps its cells in `\"cells\": [...]`; save it again from Jupyter"
    )]
    MissingCells,
    #[error(
        "`cells` is a JSON {found}, not a list: an nbformat 4 notebook keeps its cells in `\"cells\": [...]`; save it again from Jupyter"
    )]
    CellsNotAList { found: &'static str },
    #[error(
        "cell {number} {problem}: each cell is an object with a `cell_type` (code, markdown or raw); fix or delete that cell"
    )]
    BadCell {
        /// 1-based position among all cells.
        number: usize,
        problem: String,
    },
    #[error(
        "`{name}` cannot be a notebook parameter: {reason}; use the name of a variable the parameters cell assigns"
    )]
    BadParameterName { name: String, reason: &'static str },
    #[error(
        "the notebook's JSON is valid but could not be taken apart for editing; please report this with the notebook"
    )]
    Unreadable,
}

/// The first cell tagged `parameters`, and the names it assigns at top level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParametersCell {
    /// 1-based position among all cells (markdown and raw cells count), as in "cell 3".
    pub number: usize,
    /// Names assigned at top level, in order of first assignment.
    pub names: Vec<String>,
}

/// The first error output of an executed notebook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    /// 1-based position among all cells (markdown and raw cells count), as in "cell 3".
    pub number: usize,
    /// The `In [N]` number Jupyter shows, when the cell has one.
    pub execution_count: Option<u64>,
    /// The cell id (nbformat 4.5 and later).
    pub id: Option<String>,
    /// The exception's class, e.g. `ZeroDivisionError`.
    pub ename: String,
    /// The exception's message.
    pub evalue: String,
    /// The last lines of the traceback, without terminal colour codes.
    pub traceback: Vec<String>,
}

impl CellError {
    /// `cell 4 (In [3]) failed: ZeroDivisionError: division by zero`: what the summary and
    /// `get` say of a failed notebook step.
    pub fn headline(&self) -> String {
        let label = self
            .execution_count
            .map(|n| format!(" (In [{n}])"))
            .unwrap_or_default();
        format!(
            "cell {}{label} failed: {}: {}",
            self.number, self.ename, self.evalue
        )
    }
}

/// Puts `params` into `notebook` as papermill does, and returns the new notebook text.
///
/// The values go into a code cell tagged `injected-parameters` whose source is `# Parameters`,
/// then `source_note` as comment lines (when not empty), then `name = literal` per parameter
/// (a repeated name is written once, with its last value, at its first place). The cell
/// replaces the notebook's first `injected-parameters` cell (left by an earlier papermill or
/// jupyterflow run), else goes right after the first cell tagged `parameters`, else first.
/// With no parameters an earlier injected cell is still replaced, by one assigning nothing,
/// so values from an earlier run never linger unseen; with no parameters and no such cell
/// the text comes back unchanged.
///
/// The cell is written in the layout of the notebook's own cells (Jupyter's one-space indent,
/// or whatever the file uses; CRLF kept), with keys in Jupyter's order. It has an `id` only in
/// nbformat 4.5 and later, where ids are required: the replaced cell's id, else
/// `injected-parameters` (with `-2`, `-3`… if another cell has it).
pub fn inject_parameters(
    notebook: &str,
    params: &[Param],
    source_note: &str,
) -> Result<String, NotebookError> {
    for param in params {
        if let Some(reason) = value::python_name_problem(&param.name) {
            return Err(NotebookError::BadParameterName {
                name: param.name.clone(),
                reason,
            });
        }
    }
    let nb = read(notebook)?;
    let injected = nb.first_tagged(INJECTED_TAG);
    if params.is_empty() && injected.is_none() {
        return Ok(notebook.to_owned());
    }
    let id = (nb.minor >= 5).then(|| injected_cell_id(&nb.cells, injected));
    let layout = Layout::detect(notebook, &nb);
    let cell = layout.render(&injected_cell(id, source_lines(params, source_note)));
    let (range, replacement) = match (injected, nb.first_tagged(PARAMETERS_TAG)) {
        (Some(i), _) => (nb.cells[i].span.clone(), cell),
        (None, Some(p)) => {
            let end = nb.cells[p].span.end;
            (end..end, format!(",{}{cell}", layout.separator))
        }
        (None, None) => match nb.cells.first() {
            Some(first) => (
                first.span.start..first.span.start,
                format!("{cell},{}", layout.separator),
            ),
            None => (nb.cells_span.clone(), layout.only_cell(&cell)),
        },
    };
    let mut out = String::with_capacity(notebook.len() + replacement.len());
    out.push_str(&notebook[..range.start]);
    out.push_str(&replacement);
    out.push_str(&notebook[range.end..]);
    Ok(out)
}

/// The first cell tagged `parameters` and the names it assigns; `None` when no cell has the
/// tag. The source may be a string or a list of strings, as nbformat allows.
pub fn parameter_names(notebook: &str) -> Result<Option<ParametersCell>, NotebookError> {
    let nb = read(notebook)?;
    Ok(nb.first_tagged(PARAMETERS_TAG).map(|i| ParametersCell {
        number: i + 1,
        names: assigned::top_level_assignments(&nb.cells[i].source()),
    }))
}

/// For `lint`: `None` when the parameters cell assigns `name`; otherwise a warning saying the
/// injected value may go unused, with a did-you-mean or the names it does assign.
pub fn unknown_parameter_hint(name: &str, cell: &ParametersCell) -> Option<String> {
    if cell.names.iter().any(|n| n == name) {
        return None;
    }
    let what = format!(
        "`-p {name}`: the parameters cell (cell {}) does not assign `{name}`, so the value may go unused",
        cell.number
    );
    let candidates = cell.names.iter().map(String::as_str);
    Some(match crate::pipeline::error::suggest(name, candidates) {
        Some(close) => format!("{what}; did you mean `{close}`?"),
        None if cell.names.is_empty() => format!("{what}; it assigns no variables"),
        None => format!("{what}; it assigns: {}", cell.names.join(", ")),
    })
}

/// `metadata.kernelspec.name`, e.g. `python3`; `None` when absent or the text is not JSON.
pub fn kernel_name(notebook: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Notebook {
        metadata: Option<Metadata>,
    }
    #[derive(serde::Deserialize)]
    struct Metadata {
        kernelspec: Option<KernelSpec>,
    }
    #[derive(serde::Deserialize)]
    struct KernelSpec {
        name: Option<String>,
    }
    let nb: Notebook = serde_json::from_str(notebook).ok()?;
    nb.metadata?.kernelspec?.name
}

/// The first cell, in notebook order, with an `error` output, as nbconvert and papermill
/// write them; `None` when there is none or `executed` is not a notebook. The traceback keeps
/// its last `last_lines` lines (entries may hold several lines each; trailing blank lines are
/// dropped first), with ANSI escape sequences removed.
///
/// Cells are numbered from 1 among all cells, markdown included, because that is the position
/// a reader can count to in any viewer; `execution_count` is the `In [N]` label (what
/// papermill's error names), which markdown cells and unexecuted cells do not have. The cells
/// papermill adds on failure are not counted, so the number is the same as with nbclient.
pub fn first_error(executed: &str, last_lines: usize) -> Option<CellError> {
    let nb = read(executed).ok()?;
    let cells = nb.cells.iter().filter(|c| !c.has_tag(PAPERMILL_ERROR_TAG));
    cells.enumerate().find_map(|(i, cell)| {
        let outputs = cell.fields.get("outputs")?.as_array()?;
        let error = outputs
            .iter()
            .find(|o| o.get("output_type").and_then(Value::as_str) == Some("error"))?;
        let text = |key: &str| {
            error
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let traceback = error
            .get("traceback")
            .and_then(Value::as_array)
            .map(|entries| traceback_tail(entries, last_lines))
            .unwrap_or_default();
        Some(CellError {
            number: i + 1,
            execution_count: cell.fields.get("execution_count").and_then(Value::as_u64),
            id: cell.id().map(str::to_owned),
            ename: text("ename"),
            evalue: text("evalue"),
            traceback,
        })
    })
}

fn traceback_tail(entries: &[Value], last_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = entries
        .iter()
        .filter_map(Value::as_str)
        .flat_map(str::lines)
        .map(strip_ansi)
        .collect();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    let skip = lines.len().saturating_sub(last_lines);
    lines.split_off(skip)
}

/// `text` without terminal escape sequences: CSI (`ESC [ … final`, colours and cursor moves),
/// OSC (`ESC ] … BEL` or `ESC ] … ESC \`, e.g. hyperlinks), and the short `ESC x` and
/// `ESC ( x` forms.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                // Parameter and intermediate bytes, then one final byte in @..~.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            // `ESC ( B` and friends: intermediate bytes, then one final byte.
            Some(' '..='/') => {
                for c in chars.by_ref() {
                    if !(' '..='/').contains(&c) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// One cell: where its text is, and its fields.
struct Cell {
    span: Range<usize>,
    fields: Map<String, Value>,
}

impl Cell {
    fn has_tag(&self, tag: &str) -> bool {
        self.fields
            .get("metadata")
            .and_then(|m| m.get("tags"))
            .and_then(Value::as_array)
            .is_some_and(|tags| tags.iter().any(|t| t.as_str() == Some(tag)))
    }

    fn id(&self) -> Option<&str> {
        self.fields.get("id").and_then(Value::as_str)
    }

    /// The source as one string; nbformat allows a string or a list of lines.
    fn source(&self) -> String {
        match self.fields.get("source") {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Array(lines)) => lines.iter().filter_map(Value::as_str).collect(),
            _ => String::new(),
        }
    }
}

/// A checked nbformat 4 notebook: its minor version, where the cells array is, and its cells.
struct Notebook {
    minor: u64,
    cells_span: Range<usize>,
    cells: Vec<Cell>,
}

impl Notebook {
    fn first_tagged(&self, tag: &str) -> Option<usize> {
        self.cells.iter().position(|c| c.has_tag(tag))
    }
}

fn read(text: &str) -> Result<Notebook, NotebookError> {
    if text.trim().is_empty() {
        return Err(NotebookError::Empty);
    }
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| json_error(&e))?;
    let document = spans::document(text).ok_or(NotebookError::Unreadable)?;
    if !text[document.clone()].starts_with('{') {
        return Err(NotebookError::NotAnObject {
            found: kind_of(&text[document]),
        });
    }
    let members = spans::object_members(text, document).ok_or(NotebookError::Unreadable)?;
    // A repeated key counts with its last value, as in Python's json module and serde_json.
    let member = |name: &str| {
        members
            .iter()
            .rev()
            .find(|m| serde_json::from_str::<String>(&text[m.key.clone()]).is_ok_and(|k| k == name))
            .map(|m| m.value.clone())
    };
    let nbformat = member("nbformat").ok_or(NotebookError::MissingNbformat)?;
    if parse(text, &nbformat)?.as_u64() != Some(4) {
        return Err(NotebookError::UnsupportedNbformat {
            version: text[nbformat].to_owned(),
        });
    }
    let minor = match member("nbformat_minor") {
        Some(span) => parse(text, &span)?.as_u64().unwrap_or(0),
        None => 0,
    };
    let cells_span = member("cells").ok_or(NotebookError::MissingCells)?;
    if !text[cells_span.clone()].starts_with('[') {
        return Err(NotebookError::CellsNotAList {
            found: kind_of(&text[cells_span]),
        });
    }
    let spans = spans::array_elements(text, cells_span.clone()).ok_or(NotebookError::Unreadable)?;
    let mut cells = Vec::with_capacity(spans.len());
    for (i, span) in spans.into_iter().enumerate() {
        let bad = |problem: String| NotebookError::BadCell {
            number: i + 1,
            problem,
        };
        let Value::Object(fields) = parse(text, &span)? else {
            return Err(bad(format!(
                "is a JSON {}, not an object",
                kind_of(&text[span])
            )));
        };
        match fields.get("cell_type") {
            Some(Value::String(_)) => {}
            Some(other) => {
                return Err(bad(format!(
                    "has a `cell_type` that is a JSON {}, not a string",
                    kind_of(&other.to_string())
                )));
            }
            None => return Err(bad("has no `cell_type`".to_owned())),
        }
        cells.push(Cell { span, fields });
    }
    Ok(Notebook {
        minor,
        cells_span,
        cells,
    })
}

fn parse(text: &str, span: &Range<usize>) -> Result<Value, NotebookError> {
    serde_json::from_str(&text[span.clone()]).map_err(|_| NotebookError::Unreadable)
}

/// A JSON value's kind, in words, from its text.
fn kind_of(json: &str) -> &'static str {
    match json.as_bytes().first() {
        Some(b'{') => "object",
        Some(b'[') => "list",
        Some(b'"') => "string",
        Some(b't' | b'f') => "true/false",
        Some(b'n') => "null",
        _ => "number",
    }
}

/// serde_json's syntax error as "line L column C: reason", in words a notebook user knows.
fn json_error(error: &serde_json::Error) -> NotebookError {
    let message = error.to_string();
    let reason = message
        .rfind(" at line ")
        .map_or(message.as_str(), |at| &message[..at]);
    let reason = reason
        .replace("EOF while parsing", "the text ends inside")
        .replace("trailing characters", "more text after the end of the JSON")
        .replace(
            "control character (\\u0000-\\u001F) found while parsing a string",
            "a raw control character inside a string (JSON needs it escaped)",
        )
        .replace("while parsing", "in");
    NotebookError::Json {
        line: error.line(),
        column: error.column(),
        reason,
    }
}

/// The injected cell's id: the replaced cell's, else one no other cell has.
fn injected_cell_id(cells: &[Cell], replacing: Option<usize>) -> String {
    if let Some(id) = replacing.and_then(|i| cells[i].id()) {
        return id.to_owned();
    }
    let taken = |candidate: &str| {
        cells
            .iter()
            .enumerate()
            .any(|(i, c)| Some(i) != replacing && c.id() == Some(candidate))
    };
    let mut candidate = INJECTED_TAG.to_owned();
    let mut n = 1;
    while taken(&candidate) {
        n += 1;
        candidate = format!("{INJECTED_TAG}-{n}");
    }
    candidate
}

/// The injected cell's source lines, each ending in a newline, as papermill writes them.
fn source_lines(params: &[Param], note: &str) -> Vec<String> {
    let mut lines = vec!["# Parameters\n".to_owned()];
    if !note.is_empty() {
        // Any character Python or IPython might take as a line break ends the comment line,
        // so nothing in the note can become code.
        let breaks =
            |c: char| (c.is_control() && c != '\t') || matches!(c, '\u{2028}' | '\u{2029}');
        for line in note.split(breaks) {
            let line = line.trim_end();
            lines.push(if line.is_empty() {
                "#\n".to_owned()
            } else {
                format!("# {line}\n")
            });
        }
    }
    let mut merged: Vec<&Param> = Vec::with_capacity(params.len());
    for param in params {
        match merged.iter_mut().find(|m| m.name == param.name) {
            Some(slot) => *slot = param,
            None => merged.push(param),
        }
    }
    for param in merged {
        lines.push(format!(
            "{} = {}\n",
            param.name,
            param.value.python_literal()
        ));
    }
    lines
}

#[cfg(test)]
mod tests;
