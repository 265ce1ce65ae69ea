//! One job's command: POSIX-style tokenising, shell-syntax detection, sweep placeholders, and
//! turning the result back into an argv or a `sh -c` string. Pure; used by both input parsers,
//! the local executor and the Argo renderer, so every backend runs the same thing.

mod quote;
mod tokenize;

pub use quote::quote;
pub(crate) use quote::{bare_chars, quote_program, quoted_len, quoted_program_len};
use tokenize::is_brace_key;
pub(crate) use tokenize::is_placeholder_name;
pub use tokenize::parse;

use super::{Axis, Param};

/// The longest text one argument may have on Linux: `MAX_ARG_STRLEN`, 32 pages of 4 KiB,
/// counts the terminating NUL. A job's command reaches it as one argument (`/bin/sh -c
/// <text>`, on Argo and locally), so a longer one cannot start (`E2BIG`).
pub const MAX_ARGUMENT_BYTES: usize = 128 * 1024 - 1;

/// How a command is run. `Exec`: split into argv and started directly. `Shell`: handed to
/// `/bin/sh -c` as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandMode {
    Exec,
    Shell,
}

impl CommandMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandMode::Exec => "exec",
            CommandMode::Shell => "shell",
        }
    }
}

/// A piece of a command: text taken literally, the value of sweep axis `n` of the job, or a
/// workflow param.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Text(String),
    Param(usize),
    /// A workflow param (`params:`): a constant, never a sweep axis, so job names and Argo's
    /// `withItems` never see it. Boxed: a `Segment` stays as small as its text.
    Const(Box<Const>),
}

/// A workflow param where a command uses it: its name (for plans and job names, which show
/// `{lr}`) and its value (filled in as one word, quoted for the shell like a sweep value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Const {
    pub name: String,
    pub value: String,
}

/// One argv entry of an exec-mode command, possibly built from several segments
/// (`--lr={0.1,0.01}` is `Text("--lr=")` + `Param(0)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word(pub Vec<Segment>);

/// A tokenised command, still holding sweep placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandTemplate {
    /// argv, started without a shell.
    Exec(Vec<Word>),
    /// the command text for `/bin/sh -c`; placeholders are filled with shell-quoted values.
    Shell(Vec<Segment>),
}

/// Which `{…}` forms are placeholders.
#[derive(Debug, Clone, Copy)]
pub struct Placeholders<'a> {
    /// Unquoted `{a,b,c}` creates a new axis (the `-c` brace sweep).
    pub braces: bool,
    /// `{key}` refers to the matrix axis with that key, quoted or not.
    pub keys: &'a [Axis],
    /// `{name}` refers to the workflow param with that name, quoted or not (a matrix key of
    /// the same name is refused by the caller; here the key wins).
    pub params: &'a [Param],
}

/// Why a command could not be tokenised. `offset` is a byte offset into the command text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("the command is empty")]
    Empty,
    #[error("unclosed {quote} quote (opened at position {pos} of the command)", pos = .offset + 1)]
    UnclosedQuote { quote: char, offset: usize },
    #[error("unclosed `{{` sweep (opened at position {pos} of the command)", pos = .offset + 1)]
    UnclosedBrace { offset: usize },
    /// `{a,{b,c}}`: `offset` is the inner `{`.
    #[error(
        "a `{{…}}` sweep inside another (at position {pos} of the command); list every value in one sweep, e.g. `{{a,b,c}}`",
        pos = .offset + 1
    )]
    NestedBrace { offset: usize },
    /// `{a,}`, `{,}`: `offset` is the `{`.
    #[error(
        "a `{{…}}` sweep with an empty value (at position {pos} of the command); remove the extra comma",
        pos = .offset + 1
    )]
    EmptySweepValue { offset: usize },
}

/// The result of parsing one command: its template and the axes its braces created
/// (appended after the `keys` axes, so `Param(n)` indexes `keys ++ new_axes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub template: CommandTemplate,
    pub new_axes: Vec<Axis>,
    /// Why the command runs in a shell, when it was detected rather than forced
    /// (e.g. "`|`"). `None` for exec mode or a forced shell.
    pub shell_reason: Option<String>,
    /// Unquoted `{name}` words that name no matrix key or param, in order, when there are
    /// any (`Placeholders::keys`, `Placeholders::params`): almost surely a misspelt
    /// placeholder, which the caller reports. Kept as literal text in the template.
    pub unknown_keys: Vec<String>,
}

impl CommandTemplate {
    pub fn mode(&self) -> CommandMode {
        match self {
            CommandTemplate::Exec(_) => CommandMode::Exec,
            CommandTemplate::Shell(_) => CommandMode::Shell,
        }
    }

    /// The argv a job runs, with sweep values filled in: the words for exec mode,
    /// `["/bin/sh", "-c", text]` for shell mode.
    pub fn argv(&self, values: &[&str]) -> Vec<String> {
        match self {
            CommandTemplate::Exec(words) => words
                .iter()
                .map(|Word(segments)| {
                    segments
                        .iter()
                        .map(|s| match s {
                            Segment::Text(t) => t.as_str(),
                            Segment::Param(n) => values.get(*n).copied().unwrap_or(""),
                            Segment::Const(c) => c.value.as_str(),
                        })
                        .collect()
                })
                .collect(),
            CommandTemplate::Shell(segments) => vec![
                "/bin/sh".to_owned(),
                "-c".to_owned(),
                segments
                    .iter()
                    .map(|s| match s {
                        Segment::Text(t) => t.clone(),
                        Segment::Param(n) => quote(values.get(*n).copied().unwrap_or("")),
                        Segment::Const(c) => quote(&c.value),
                    })
                    .collect(),
            ],
        }
    }

    /// The text for `/bin/sh -c` that runs this command: exec mode becomes `exec` + the quoted
    /// argv (same process, same argv), shell mode is the text itself. `param` renders a
    /// placeholder (already quoted by the caller when needed).
    pub fn shell_text(&self, param: &dyn Fn(usize) -> String) -> String {
        match self {
            CommandTemplate::Exec(words) => {
                let mut out = String::from("exec");
                for (i, Word(segments)) in words.iter().enumerate() {
                    out.push(' ');
                    for segment in segments {
                        match segment {
                            Segment::Text(t) if i == 0 => out.push_str(&quote_program(t)),
                            Segment::Text(t) => out.push_str(&quote(t)),
                            Segment::Param(n) => out.push_str(&param(*n)),
                            Segment::Const(c) if i == 0 => out.push_str(&quote_program(&c.value)),
                            Segment::Const(c) => out.push_str(&quote(&c.value)),
                        }
                    }
                }
                out
            }
            CommandTemplate::Shell(segments) => segments
                .iter()
                .map(|s| match s {
                    Segment::Text(t) => t.clone(),
                    Segment::Param(n) => param(*n),
                    Segment::Const(c) => quote(&c.value),
                })
                .collect(),
        }
    }

    /// `shell_text(…).len()` without building it; `param` gives each placeholder's length.
    pub fn shell_text_len(&self, param: &dyn Fn(usize) -> usize) -> usize {
        match self {
            CommandTemplate::Exec(words) => {
                let mut len = "exec".len();
                for (i, Word(segments)) in words.iter().enumerate() {
                    len += 1;
                    for segment in segments {
                        len += match segment {
                            Segment::Text(t) if i == 0 => quoted_program_len(t),
                            Segment::Text(t) => quoted_len(t),
                            Segment::Param(n) => param(*n),
                            Segment::Const(c) if i == 0 => quoted_program_len(&c.value),
                            Segment::Const(c) => quoted_len(&c.value),
                        };
                    }
                }
                len
            }
            CommandTemplate::Shell(segments) => segments
                .iter()
                .map(|s| match s {
                    Segment::Text(t) => t.len(),
                    Segment::Param(n) => param(*n),
                    Segment::Const(c) => quoted_len(&c.value),
                })
                .sum(),
        }
    }

    /// The words of an exec command with placeholders shown as `{key}`; for shell mode the text.
    /// Used to derive job names and show plans.
    pub fn display(&self, axes: &[Axis]) -> String {
        // A brace sweep (auto-named `p1`, `p2`…) reads best as the values the user typed;
        // a matrix key as its name.
        let key = |n: usize| match axes.get(n) {
            Some(a) if is_brace_key(&a.key) => a.values.join(","),
            Some(a) => a.key.clone(),
            None => format!("p{n}"),
        };
        match self {
            CommandTemplate::Exec(words) => words
                .iter()
                .map(|Word(segments)| {
                    let w: String = segments
                        .iter()
                        .map(|s| match s {
                            Segment::Text(t) => quote(t),
                            Segment::Param(n) => format!("{{{}}}", key(*n)),
                            Segment::Const(c) => format!("{{{}}}", c.name),
                        })
                        .collect();
                    w
                })
                .collect::<Vec<_>>()
                .join(" "),
            CommandTemplate::Shell(segments) => segments
                .iter()
                .map(|s| match s {
                    Segment::Text(t) => t.clone(),
                    Segment::Param(n) => format!("{{{}}}", key(*n)),
                    Segment::Const(c) => format!("{{{}}}", c.name),
                })
                .collect(),
        }
    }

    /// Gives every param this command uses its value in `params` (after `--set`).
    pub fn fill_params(&mut self, params: &[Param]) {
        let fill = |segment: &mut Segment| {
            if let Segment::Const(c) = segment
                && let Some(param) = params.iter().find(|p| p.name == c.name)
            {
                c.value.clone_from(&param.value);
            }
        };
        match self {
            CommandTemplate::Exec(words) => {
                words.iter_mut().flat_map(|w| w.0.iter_mut()).for_each(fill);
            }
            CommandTemplate::Shell(segments) => segments.iter_mut().for_each(fill),
        }
    }
}

#[cfg(test)]
mod tests;
