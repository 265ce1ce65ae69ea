//! The names a `parameters` cell assigns at top level (`x = 1`, `x: int = 1`, `a = b = 1`,
//! `a, b = 1, 2`), found by a line scanner rather than a Python parser: it follows brackets,
//! strings (triple-quoted ones across lines), comments and backslash continuations, and only
//! reads statements that start a line at column 0. Good enough to warn about a mistyped `-p`;
//! it never has to be right about code inside `if`, `def` or loops.

use super::value::python_name_problem;

/// Where a line starts: at a new statement, or inside something opened on an earlier line.
#[derive(Default)]
struct State {
    /// Open `(`, `[` and `{`.
    depth: usize,
    /// The quote character of an open triple-quoted string.
    triple: Option<u8>,
    /// The previous line ended in a backslash.
    continued: bool,
}

/// Names assigned at top level in `source`, in order of first assignment, without repeats.
pub(super) fn top_level_assignments(source: &str) -> Vec<String> {
    let mut state = State::default();
    let mut names: Vec<String> = Vec::new();
    for line in source.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let statement_start = state.depth == 0 && state.triple.is_none() && !state.continued;
        let indented = line.starts_with([' ', '\t']);
        let marks = scan_line(line, &mut state);
        if statement_start && !indented {
            for name in targets(line, &marks) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    names
}

/// Byte positions, in one line, of what matters to a statement that starts the line: `=` that
/// assign and `;` that separate statements, both outside brackets and strings, and the end of
/// the code (a comment, or the line's end).
struct Marks {
    assigns: Vec<usize>,
    semicolons: Vec<usize>,
    code_end: usize,
}

/// Advances `state` over `line` and records its marks.
fn scan_line(line: &str, state: &mut State) -> Marks {
    let bytes = line.as_bytes();
    let mut marks = Marks {
        assigns: Vec::new(),
        semicolons: Vec::new(),
        code_end: bytes.len(),
    };
    let mut string: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(quote) = state.triple {
            if b == b'\\' {
                i += 2;
                continue;
            }
            if bytes[i..].starts_with(&[quote; 3]) {
                state.triple = None;
                i += 3;
                continue;
            }
        } else if let Some(quote) = string {
            if b == b'\\' {
                i += 2;
                continue;
            }
            if b == quote {
                string = None;
            }
        } else {
            match b {
                b'#' => {
                    marks.code_end = i;
                    break;
                }
                b'"' | b'\'' => {
                    if bytes[i..].starts_with(&[b; 3]) {
                        state.triple = Some(b);
                        i += 3;
                        continue;
                    }
                    string = Some(b);
                }
                b'(' | b'[' | b'{' => state.depth += 1,
                b')' | b']' | b'}' => state.depth = state.depth.saturating_sub(1),
                b'=' if state.depth == 0 && is_assignment(bytes, i) => {
                    marks.assigns.push(i);
                }
                b';' if state.depth == 0 => marks.semicolons.push(i),
                _ => {}
            }
        }
        i += 1;
    }
    // A backslash continues the line, unless it sits in a comment (then the loop broke early
    // and `code_end` is before it). An unterminated one-line string ends with its line.
    state.continued =
        state.triple.is_none() && marks.code_end == bytes.len() && line.ends_with('\\');
    marks
}

/// `=` at `i` assigns: it is not part of `==`, `!=`, `<=`, `>=`, `:=` or an augmented `+=`.
fn is_assignment(bytes: &[u8], i: usize) -> bool {
    let before = i.checked_sub(1).and_then(|j| bytes.get(j));
    let after = bytes.get(i + 1);
    after != Some(&b'=')
        && !matches!(
            before,
            Some(
                b'=' | b'!'
                    | b'<'
                    | b'>'
                    | b':'
                    | b'+'
                    | b'-'
                    | b'*'
                    | b'/'
                    | b'%'
                    | b'&'
                    | b'|'
                    | b'^'
                    | b'@'
                    | b'~'
            )
        )
}

/// The names assigned by the statements of one line that starts a statement.
fn targets(line: &str, marks: &Marks) -> Vec<String> {
    let mut names = Vec::new();
    let mut statement_start = 0;
    let ends = marks
        .semicolons
        .iter()
        .copied()
        .filter(|&s| s < marks.code_end)
        .chain(std::iter::once(marks.code_end));
    for statement_end in ends {
        // Every piece before an assigning `=` is a target; the piece after the last is the value.
        let mut piece_start = statement_start;
        for &eq in marks
            .assigns
            .iter()
            .filter(|&&eq| eq > statement_start && eq < statement_end)
        {
            names.extend(target_names(&line[piece_start..eq]));
            piece_start = eq + 1;
        }
        statement_start = statement_end + 1;
    }
    names
}

/// `x`, `x: int`, `a, b`, `(a, b)`, `[a, *rest]` → the names; anything else (`d["k"]`,
/// `obj.attr`, `for i in x: y`) → none.
fn target_names(target: &str) -> Vec<String> {
    let target = target.trim();
    // An annotation: `name: type`. Only a plain name can be annotated and assigned at once.
    if let Some((name, _annotation)) = target.split_once(':') {
        let name = name.trim();
        return if python_name_problem(name).is_none() {
            vec![name.to_owned()]
        } else {
            Vec::new()
        };
    }
    let inner = target
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .or_else(|| target.strip_prefix('[').and_then(|t| t.strip_suffix(']')))
        .unwrap_or(target);
    let mut names = Vec::new();
    for part in inner.split(',') {
        let part = part.trim();
        if part.is_empty() {
            // `a, = f()`: a trailing comma makes a one-element tuple.
            continue;
        }
        let name = part.strip_prefix('*').unwrap_or(part).trim();
        if python_name_problem(name).is_some() {
            return Vec::new();
        }
        names.push(name.to_owned());
    }
    names
}
