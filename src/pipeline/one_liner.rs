//! The `jupyterflow run -c TEXT` one-liner: splits `a >> [b, c] >> d` into stages and
//! parallel groups, tokenises each command with `command`, and builds a `Pipeline` whose jobs
//! depend (by 1-based index) on every job of the stage before.

use super::command::{self, CommandError, CommandMode, Placeholders, bare_chars};
use super::error::{PipelineError, PipelineErrorKind, PipelineErrors};
use super::{JobRef, JobSpec, Pipeline, Pos, Source, WorkflowOptions};

/// What errors name as the source of the pipeline.
const SOURCE: &str = "-c";

/// Parses `jupyterflow run -c TEXT`. `mode`: Some(..) when `--shell` forced shell mode (None = auto per command).
pub fn parse(text: &str, mode: Option<CommandMode>) -> Result<Pipeline, PipelineErrors> {
    if text.trim().is_empty() {
        return Err(PipelineError::new(SOURCE, None, PipelineErrorKind::EmptyPipeline).into());
    }
    let mut parser = Parser::new(text, mode);
    parser.run();
    if parser.errors.is_empty() {
        Ok(Pipeline {
            name: None,
            source: Source::CommandLine(text.to_owned()),
            jobs: parser.jobs,
            edges: Vec::new(),
            options: WorkflowOptions::default(),
        })
    } else {
        // In reading order, whatever pass found them.
        let mut errors = parser.errors;
        errors.sort_by_key(|e| e.pos.map(|p| p.column));
        Err(PipelineErrors(errors))
    }
}

/// A range of char indices `[start, end)` into the text.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

/// A stage as split at `>>`, with the char index of the `>>` on each side (for messages).
struct Stage {
    span: Span,
    sep_before: Option<usize>,
    sep_after: Option<usize>,
}

struct Parser<'a> {
    text: &'a str,
    mode: Option<CommandMode>,
    chars: Vec<(usize, char)>,
    /// Whether each char is outside quotes and not backslash-escaped: only those can be our
    /// syntax (`>>`, `[`, `]`, `,`), so `echo '>>'` or `echo \[a, b]` stay command text.
    bare: Vec<bool>,
    /// An unclosed quote: its char and char index. Everything after it is quoted text.
    unclosed: Option<(char, usize)>,
    jobs: Vec<JobSpec>,
    errors: Vec<PipelineError>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, mode: Option<CommandMode>) -> Self {
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let (bare, unclosed) = bare_chars(&chars);
        Parser {
            text,
            mode,
            chars,
            bare,
            unclosed,
            jobs: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn is_bare(&self, i: usize, c: char) -> bool {
        self.bare.get(i).copied().unwrap_or(false) && self.chars[i].1 == c
    }

    fn is_blank(&self, i: usize) -> bool {
        self.chars[i].1.is_whitespace()
    }

    fn error(&mut self, at: Option<usize>, message: String) {
        let pos = at.map(|i| Pos {
            line: 1,
            column: column(i),
        });
        self.errors.push(PipelineError::new(
            SOURCE,
            pos,
            PipelineErrorKind::Syntax(message),
        ));
    }

    /// `span` without leading and trailing whitespace.
    fn trim(&self, span: Span) -> Span {
        let Span { mut start, mut end } = span;
        while start < end && self.is_blank(start) {
            start += 1;
        }
        while end > start && self.is_blank(end - 1) {
            end -= 1;
        }
        Span { start, end }
    }

    fn slice(&self, span: Span) -> &'a str {
        let byte = |i: usize| self.chars.get(i).map_or(self.text.len(), |&(b, _)| b);
        &self.text[byte(span.start)..byte(span.end)]
    }

    fn run(&mut self) {
        if let Some((quote, at)) = self.unclosed {
            self.error(
                Some(at),
                format!(
                    "unclosed {quote} quote; close it, or escape it with a backslash to pass it literally"
                ),
            );
        }
        let stages = self.split_stages();
        let count = stages.len();
        let mut previous: Vec<usize> = Vec::new();
        for (n, stage) in stages.iter().enumerate() {
            // The stage holding an unclosed quote runs to the end of the text; it is reported.
            if self.unclosed.is_some() && n + 1 == count {
                break;
            }
            let commands = self.stage_commands(stage, n + 1, count);
            let depends: Vec<JobRef> = previous.iter().map(|&i| JobRef::Index(i)).collect();
            previous.clear();
            for span in commands {
                if let Some(mut job) = self.job(span) {
                    job.depends.clone_from(&depends);
                    self.jobs.push(job);
                    previous.push(self.jobs.len());
                }
            }
        }
    }

    /// Splits the text at bare `>>` that stand alone (see `separator_at`). A stage starting
    /// with `[` is a group up to its matching `]`, and a `>>` inside it does not split (the
    /// group reports it).
    fn split_stages(&mut self) -> Vec<Stage> {
        let mut stages = Vec::new();
        let mut start = 0;
        let mut sep_before = None;
        // `Some(depth)` while inside a group that opened the current stage.
        let mut group: Option<usize> = None;
        // The `]` that closed the current stage's group: a `>>` right after it still separates.
        let mut group_closed_at: Option<usize> = None;
        let mut at_stage_start = true;
        let mut i = 0;
        while i < self.chars.len() {
            if at_stage_start && !self.is_blank(i) {
                at_stage_start = false;
                if self.is_bare(i, '[') {
                    group = Some(0);
                }
            }
            if let Some(depth) = group.as_mut() {
                if self.is_bare(i, '[') {
                    *depth += 1;
                } else if self.is_bare(i, ']') {
                    *depth -= 1;
                    if *depth == 0 {
                        group = None;
                        group_closed_at = Some(i);
                    }
                }
                i += 1;
                continue;
            }
            // `>>>` is neither our separator nor shell syntax, glued or not.
            if self.is_bare(i, '>')
                && self.is_bare(i + 1, '>')
                && self.is_bare(i + 2, '>')
                && !(i > 0 && self.is_bare(i - 1, '>'))
            {
                self.error(
                    Some(i),
                    "`>>>` is not a stage separator; use `>>` (quote `'>>>'` to pass it to a command)"
                        .to_owned(),
                );
            }
            let after_group = group_closed_at.is_some_and(|g| g + 1 == i);
            if let Some(end) = self.separator_at(i, after_group) {
                stages.push(Stage {
                    span: Span { start, end: i },
                    sep_before,
                    sep_after: Some(i),
                });
                sep_before = Some(i);
                start = end;
                i = end;
                at_stage_start = true;
                group_closed_at = None;
                continue;
            }
            i += 1;
        }
        stages.push(Stage {
            span: Span {
                start,
                end: self.chars.len(),
            },
            sep_before,
            sep_after: None,
        });
        stages
    }

    /// Whether a stage separator starts at char `i`, and if so where it ends: a bare `>>` that
    /// stands alone, with a blank (or the start or end of the text) on each side. A `>>` glued
    /// to a word is the shell's append redirection of that command (`2>>err.log`, `&>>x`,
    /// `python a.py >>log.txt`). `after_group`: `i` follows the `]` of the stage's group, which
    /// counts as a blank on the left (`[a, b]>> c`), as a `[` does on the right (`a >>[b, c]`).
    /// A run of more `>` (`>>>`) is one separator (reported by the caller as a mistake).
    fn separator_at(&self, i: usize, after_group: bool) -> Option<usize> {
        if !(self.is_bare(i, '>') && self.is_bare(i + 1, '>')) {
            return None;
        }
        if i > 0 && self.is_bare(i - 1, '>') {
            return None;
        }
        let mut end = i + 2;
        while self.is_bare(end, '>') {
            end += 1;
        }
        let left = i == 0 || self.is_blank(i - 1) || after_group;
        let right = end == self.chars.len() || self.is_blank(end) || self.is_bare(end, '[');
        (left && right).then_some(end)
    }

    /// The command spans of stage `n` (1-based) of `count`: one, or a group's. Reports empty
    /// stages and malformed groups.
    fn stage_commands(&mut self, stage: &Stage, n: usize, count: usize) -> Vec<Span> {
        let span = self.trim(stage.span);
        if span.start == span.end {
            let (where_, at) = match (stage.sep_before, stage.sep_after) {
                (None, _) => ("nothing before the first `>>`", stage.sep_after),
                (_, None) => ("nothing after the last `>>`", stage.sep_before),
                (Some(_), Some(_)) => ("nothing between two `>>`", stage.sep_after),
            };
            // Never the only stage: the whole text is not blank (checked in `parse`).
            self.error(
                at,
                format!(
                    "stage {n} of {count} is empty ({where_}); put a command there or remove the extra `>>`"
                ),
            );
            return Vec::new();
        }
        if !self.is_bare(span.start, '[') {
            return vec![span];
        }
        self.bracketed(span, n)
    }

    /// The commands of `span` (trimmed, not empty), which starts with a bare `[`: the group's
    /// commands when the matching `]` ends it, else `span` itself as one command that starts
    /// with `[` (`[ -f x ] && y`). Reports an unclosed `[`, two groups side by side
    /// (`[a][b]`) and a group followed by more text.
    fn bracketed(&mut self, span: Span, n: usize) -> Vec<Span> {
        let Some(close) = self.matching_bracket(span) else {
            self.error(
                Some(span.start),
                format!(
                    "unclosed `[` in stage {n}; end the group with `]`, e.g. `a >> [b, c] >> d` (quote `'['` to pass it to a command)"
                ),
            );
            return Vec::new();
        };
        let inner = Span {
            start: span.start + 1,
            end: close,
        };
        if close + 1 == span.end {
            return self.group_commands(inner, n);
        }
        let next = self.trim(Span {
            start: close + 1,
            end: span.end,
        });
        if self.is_bare(next.start, '[') {
            self.error(
                Some(next.start),
                format!(
                    "two groups side by side in stage {n}; put `>>` between them to run one after the other (`[a, b] >> [c, d]`), or make them one group (`[a, b, c, d]`)"
                ),
            );
            return Vec::new();
        }
        // A list of commands followed by more text is a mistake; without a top-level comma
        // it is a command that starts with `[` (`[ -f x ] && y`).
        if !self.scan_group(inner).0.is_empty() {
            self.error(
                Some(close + 1),
                format!(
                    "text after the `]` of the group in stage {n}; a group is a whole stage: end it with `]` and put `>>` after it, e.g. `a >> [b, c] >> d`"
                ),
            );
            return Vec::new();
        }
        vec![span]
    }

    /// The char index of the bare `]` matching the bare `[` at `span.start`.
    fn matching_bracket(&self, span: Span) -> Option<usize> {
        let mut depth = 0usize;
        for i in span.start..span.end {
            if self.is_bare(i, '[') {
                depth += 1;
            } else if self.is_bare(i, ']') {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
        }
        None
    }

    /// Splits a group's inside at top-level bare commas (not inside `{…}` sweeps or nested
    /// `[…]` globs).
    /// The top-level commas of a group's inside (not within `{…}` or `[…]`), and the first
    /// `>>` in it, if any.
    fn scan_group(&self, inner: Span) -> (Vec<usize>, Option<usize>) {
        let mut commas = Vec::new();
        let (mut braces, mut brackets) = (0usize, 0usize);
        for i in inner.start..inner.end {
            if self.is_bare(i, '{') {
                braces += 1;
            } else if self.is_bare(i, '}') {
                braces = braces.saturating_sub(1);
            } else if self.is_bare(i, '[') {
                brackets += 1;
            } else if self.is_bare(i, ']') {
                brackets = brackets.saturating_sub(1);
            } else if self.is_bare(i, ',') && braces == 0 && brackets == 0 {
                commas.push(i);
            } else if i + 1 < inner.end && self.separator_at(i, false).is_some() {
                return (commas, Some(i));
            }
        }
        (commas, None)
    }

    fn group_commands(&mut self, inner: Span, n: usize) -> Vec<Span> {
        let open = inner.start - 1;
        if self.trim(inner).start == inner.end {
            self.error(
                Some(open),
                format!(
                    "the group in stage {n} is empty; list commands to run in parallel, e.g. `[python a.py, python b.py]`"
                ),
            );
            return Vec::new();
        }
        let (commas, chain) = self.scan_group(inner);
        if let Some(i) = chain {
            self.error(
                Some(i),
                format!(
                    "`>>` inside the `[…]` group of stage {n}; a group holds commands that run in parallel, so chain outside it, e.g. `a >> [b, c] >> d`"
                ),
            );
            return Vec::new();
        }
        let mut bounds = vec![inner.start];
        bounds.extend(commas.iter().map(|&c| c + 1));
        let mut ends = commas.clone();
        ends.push(inner.end);
        let total = bounds.len();
        let mut spans = Vec::new();
        for (k, (&start, &end)) in bounds.iter().zip(&ends).enumerate() {
            let span = self.trim(Span { start, end });
            if span.start == span.end {
                let hint = if k + 1 == total {
                    "remove the trailing comma"
                } else {
                    "remove the extra comma"
                };
                // Point at the separator before the empty command (`[` or `,`).
                self.error(
                    Some(start - 1),
                    format!(
                        "command {} of {total} in the group of stage {n} is empty; {hint}",
                        k + 1
                    ),
                );
            } else if self.is_bare(span.start, '[') {
                // A group inside a group adds its commands to the same stage: `[a, [b, c]]`
                // runs a, b and c in parallel.
                spans.extend(self.bracketed(span, n));
            } else {
                spans.push(span);
            }
        }
        spans
    }

    /// Tokenises one command into a job, or reports why it cannot be.
    fn job(&mut self, span: Span) -> Option<JobSpec> {
        let cmd = self.slice(span);
        if let Some(at) = self.stray_bracket(span) {
            self.error(
                Some(at),
                "a `]` with no `[` before it; remove it, or quote it (`']'`) to pass it to a command"
                    .to_owned(),
            );
            return None;
        }
        if let Some(at) = self.blank_in_sweep(span) {
            self.error(
                Some(at),
                "a `{…}` sweep cannot hold blanks; write the values without spaces, e.g. `{0.1,0.01}`, or quote the braces to pass them literally"
                    .to_owned(),
            );
            return None;
        }
        let placeholders = Placeholders {
            braces: true,
            keys: &[],
            params: &[],
        };
        match command::parse(cmd, self.mode, placeholders) {
            Ok(parsed) => {
                let pos = Pos {
                    line: 1,
                    column: column(span.start),
                };
                let mut job = JobSpec::new(cmd.to_owned(), parsed.template, Some(pos));
                job.axes = parsed.new_axes;
                Some(job)
            }
            Err(e) => {
                let byte_start = self.chars[span.start].0;
                let at = |offset: usize| self.char_index(byte_start + offset);
                let (at, message) = match e {
                    CommandError::Empty => (span.start, "the command is empty".to_owned()),
                    CommandError::UnclosedQuote { quote, offset } => (
                        at(offset),
                        format!(
                            "unclosed {quote} quote; close it, or escape it with a backslash to pass it literally"
                        ),
                    ),
                    CommandError::UnclosedBrace { offset } => (
                        at(offset),
                        "unclosed `{` sweep; close it with `}`, e.g. `--lr {0.1,0.01}`, or quote it to pass it literally"
                            .to_owned(),
                    ),
                    CommandError::NestedBrace { offset } => (
                        at(offset),
                        "a `{…}` sweep inside another; list every value in one sweep, e.g. `{a,b,c}`, or quote the inner braces to pass them literally"
                            .to_owned(),
                    ),
                    CommandError::EmptySweepValue { offset } => (
                        at(offset),
                        "a `{…}` sweep with an empty value (it would make an empty or a repeated job); remove the extra comma, or write `''` for an empty value"
                            .to_owned(),
                    ),
                };
                self.error(Some(at), message);
                None
            }
        }
    }

    /// The char index of the first bare `]` in `span` that closes no `[` (`echo b]`): a typo
    /// for a group, never a glob or a `test`, whose brackets pair up. A quoted or escaped `[`
    /// still pairs (`echo \[a, b]` is the shell's `[a,` `b]`).
    fn stray_bracket(&self, span: Span) -> Option<usize> {
        let mut depth = 0usize;
        for i in span.start..span.end {
            match self.chars[i].1 {
                '[' => depth += 1,
                ']' if depth == 0 && self.bare[i] => return Some(i),
                ']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        None
    }

    /// A bare blank after a bare comma inside bare braces (`{0.1, 0.01}`): the shell, and
    /// `command`, would take the braces literally, which is never what a sweep meant.
    /// Returns the char index of the `{`. `${…}` is shell expansion and skipped.
    fn blank_in_sweep(&self, span: Span) -> Option<usize> {
        let mut open: Option<usize> = None;
        let mut comma = false;
        for i in span.start..span.end {
            if self.is_bare(i, '{') {
                let dollar = i > span.start && self.is_bare(i - 1, '$');
                open = (!dollar).then_some(i);
                comma = false;
            } else if self.is_bare(i, '}') {
                open = None;
            } else if open.is_some() && self.is_bare(i, ',') {
                comma = true;
            } else if open.is_some() && comma && self.bare[i] && self.is_blank(i) {
                return open;
            }
        }
        None
    }

    /// The char index of byte offset `byte` in the text.
    fn char_index(&self, byte: usize) -> usize {
        self.chars.partition_point(|&(b, _)| b < byte)
    }
}

/// The 1-based column of char index `i`.
fn column(i: usize) -> u32 {
    u32::try_from(i + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
