//! The `jupyterflow run -c TEXT` one-liner: splits `a >> [b, c] >> d` into stages and
//! parallel groups, tokenises each command with `command`, and builds a `Pipeline` whose jobs
//! depend (by 1-based index) on every job of the stage before.

use super::command::{self, CmdMode, CommandError, Placeholders};
use super::error::{PipelineError, PipelineErrorKind, PipelineErrors};
use super::{JobRef, JobSpec, Pipeline, Pos, Source, WorkflowOptions};

/// What errors name as the source of the pipeline.
const SOURCE: &str = "-c";

/// Parses `jupyterflow run -c TEXT`. `mode`: Some(..) when `--shell` forced shell mode (None = auto per command).
pub fn parse(text: &str, mode: Option<CmdMode>) -> Result<Pipeline, PipelineErrors> {
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
    mode: Option<CmdMode>,
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
    fn new(text: &'a str, mode: Option<CmdMode>) -> Self {
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

    /// Splits the text at bare `>>`. A stage starting with `[` is a group up to its matching
    /// `]`, and a `>>` inside it does not split (the group reports it).
    fn split_stages(&mut self) -> Vec<Stage> {
        let mut stages = Vec::new();
        let mut start = 0;
        let mut sep_before = None;
        // `Some(depth)` while inside a group that opened the current stage.
        let mut group: Option<usize> = None;
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
                    }
                }
                i += 1;
                continue;
            }
            if self.is_bare(i, '>') && self.is_bare(i + 1, '>') {
                if self.is_bare(i + 2, '>') {
                    self.error(
                        Some(i),
                        "`>>>` is not a stage separator; use `>>` (quote `'>>>'` to pass it to a command)"
                            .to_owned(),
                    );
                }
                stages.push(Stage {
                    span: Span { start, end: i },
                    sep_before,
                    sep_after: Some(i),
                });
                sep_before = Some(i);
                // Skip the whole run of `>`, so `>>>` is one (reported) separator.
                i += 2;
                while self.is_bare(i, '>') {
                    i += 1;
                }
                start = i;
                at_stage_start = true;
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
        let Some(close) = self.matching_bracket(span) else {
            self.error(
                Some(span.start),
                format!(
                    "unclosed `[` in stage {n}; end the group with `]`, e.g. `a >> [b, c] >> d` (quote `'['` to pass it to a command)"
                ),
            );
            return Vec::new();
        };
        if close + 1 != span.end {
            let inner = Span {
                start: span.start + 1,
                end: close,
            };
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
            return vec![span];
        }
        self.group_commands(
            Span {
                start: span.start + 1,
                end: close,
            },
            n,
        )
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
            } else if self.is_bare(i, '>') && self.is_bare(i + 1, '>') && i + 1 < inner.end {
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
            } else {
                spans.push(span);
            }
        }
        spans
    }

    /// Tokenises one command into a job, or reports why it cannot be.
    fn job(&mut self, span: Span) -> Option<JobSpec> {
        let cmd = self.slice(span);
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
                };
                self.error(Some(at), message);
                None
            }
        }
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

/// Marks which chars are bare (outside quotes, not escaped), following POSIX quoting like
/// `command` does; also returns an unclosed quote (its char and index), if any.
fn bare_chars(chars: &[(usize, char)]) -> (Vec<bool>, Option<(char, usize)>) {
    let mut bare = vec![false; chars.len()];
    let mut i = 0;
    while i < chars.len() {
        match chars[i].1 {
            // The backslash and the char it escapes are both not ours.
            '\\' => i += 2,
            q @ ('\'' | '"') => {
                let open = i;
                i += 1;
                loop {
                    match chars.get(i).map(|p| p.1) {
                        None => return (bare, Some((q, open))),
                        Some(c) if c == q => break,
                        // In double quotes a backslash escapes the next char (`\"`).
                        Some('\\') if q == '"' => i += 2,
                        Some(_) => i += 1,
                    }
                }
                i += 1;
            }
            _ => {
                bare[i] = true;
                i += 1;
            }
        }
    }
    (bare, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Axis, CommandTemplate};

    fn ok(text: &str) -> Pipeline {
        match parse(text, None) {
            Ok(p) => p,
            Err(e) => panic!("{text:?} did not parse:\n{e}"),
        }
    }

    /// The errors of `text`, as (column, message).
    fn errors(text: &str) -> Vec<(Option<u32>, PipelineErrorKind)> {
        match parse(text, None) {
            Ok(p) => panic!("{text:?} parsed: {p:?}"),
            Err(PipelineErrors(errors)) => errors
                .into_iter()
                .map(|e| {
                    assert_eq!(e.source, "-c");
                    (e.pos.map(|p| p.column), e.kind)
                })
                .collect(),
        }
    }

    /// Each job as (text, depends as indices).
    fn shape(p: &Pipeline) -> Vec<(&str, Vec<usize>)> {
        p.jobs
            .iter()
            .map(|j| {
                let deps = j
                    .depends
                    .iter()
                    .map(|d| match d {
                        JobRef::Index(i) => *i,
                        JobRef::Name(n) => panic!("named dependency {n}"),
                    })
                    .collect();
                (j.text.as_str(), deps)
            })
            .collect()
    }

    fn argv(job: &JobSpec) -> Vec<String> {
        job.command.argv(&[])
    }

    #[test]
    fn single_command() {
        let p = ok("  python hello.py  ");
        assert_eq!(p.name, None);
        assert_eq!(
            p.source,
            Source::CommandLine("  python hello.py  ".to_owned())
        );
        assert_eq!(p.edges, []);
        assert_eq!(p.options, WorkflowOptions::default());
        assert_eq!(shape(&p), [("python hello.py", vec![])]);
        assert_eq!(p.jobs[0].pos, Some(Pos { line: 1, column: 3 }));
        assert_eq!(argv(&p.jobs[0]), ["python", "hello.py"]);
        assert_eq!(p.jobs[0].name, None);
    }

    #[test]
    fn chains_and_groups() {
        type Jobs<'a> = &'a [(&'a str, &'a [usize])];
        let cases: &[(&str, Jobs)] = &[
            ("a >> b >> c", &[("a", &[]), ("b", &[1]), ("c", &[2])]),
            ("a>>b", &[("a", &[]), ("b", &[1])]),
            (
                "a >> [b, c] >> d",
                &[("a", &[]), ("b", &[1]), ("c", &[1]), ("d", &[2, 3])],
            ),
            (
                "[a,b] >> [c , d,e]",
                &[
                    ("a", &[]),
                    ("b", &[]),
                    ("c", &[1, 2]),
                    ("d", &[1, 2]),
                    ("e", &[1, 2]),
                ],
            ),
            ("[ a ]", &[("a", &[])]),
            // Commas inside a sweep or a nested glob do not split the group.
            (
                "[t {1,2}, ls [ab]*] >> z",
                &[("t {1,2}", &[]), ("ls [ab]*", &[]), ("z", &[1, 2])],
            ),
            // `[` not at the start of a stage is command text (a glob).
            ("ls x[ab] >> y", &[("ls x[ab]", &[]), ("y", &[1])]),
            // A stage that starts with `[` but goes on after the `]` is a command (`test`).
            (
                "[ -f x ] && echo y >> z",
                &[("[ -f x ] && echo y", &[]), ("z", &[1])],
            ),
        ];
        for (text, expected) in cases {
            let p = ok(text);
            let expected: Vec<(&str, Vec<usize>)> =
                expected.iter().map(|(t, d)| (*t, d.to_vec())).collect();
            assert_eq!(shape(&p), expected, "text {text:?}");
        }
    }

    #[test]
    fn positions_are_char_columns_of_each_command() {
        let p = ok("é >> [ b,  c ] >>  d");
        let columns: Vec<u32> = p
            .jobs
            .iter()
            .map(|j| j.pos.map_or(0, |p| p.column))
            .collect();
        assert_eq!(columns, [1, 8, 12, 20]);
        assert!(p.jobs.iter().all(|j| j.pos.is_some_and(|p| p.line == 1)));
    }

    #[test]
    fn sweep_example() {
        let p = ok(
            "python prep.py >> python train.py --lr {0.1,0.01} --act {relu,tanh} >> python eval.py",
        );
        assert_eq!(
            shape(&p),
            [
                ("python prep.py", vec![]),
                ("python train.py --lr {0.1,0.01} --act {relu,tanh}", vec![1]),
                ("python eval.py", vec![2]),
            ]
        );
        assert_eq!(p.jobs[0].axes, []);
        assert_eq!(
            p.jobs[1].axes,
            [
                Axis {
                    key: "p1".to_owned(),
                    values: vec!["0.1".to_owned(), "0.01".to_owned()],
                },
                Axis {
                    key: "p2".to_owned(),
                    values: vec!["relu".to_owned(), "tanh".to_owned()],
                },
            ]
        );
        assert_eq!(
            p.jobs[1].command.argv(&["0.01", "relu"]),
            ["python", "train.py", "--lr", "0.01", "--act", "relu"]
        );
        assert_eq!(p.jobs[2].depends, [JobRef::Index(2)]);
    }

    #[test]
    fn quoted_and_escaped_syntax_is_literal() {
        let p = ok(r#"echo '>>' >> echo "[a, b]""#);
        assert_eq!(
            shape(&p),
            [("echo '>>'", vec![]), (r#"echo "[a, b]""#, vec![1])]
        );
        assert_eq!(argv(&p.jobs[0]), ["echo", ">>"]);
        assert_eq!(argv(&p.jobs[1]), ["echo", "[a, b]"]);

        let p = ok(r#"[echo ',', echo "]" ] >> echo a\>>b"#);
        assert_eq!(argv(&p.jobs[0]), ["echo", ","]);
        assert_eq!(argv(&p.jobs[1]), ["echo", "]"]);
        assert_eq!(p.jobs.len(), 3);
        assert_eq!(p.jobs[2].text, r"echo a\>>b");
        assert_eq!(
            p.jobs[2].command.mode(),
            CmdMode::Shell,
            "`>b` is a redirection"
        );

        let p = ok(r"echo \[a, b] >> x");
        assert_eq!(argv(&p.jobs[0]), ["echo", "[a,", "b]"]);
    }

    #[test]
    fn shell_detection_is_per_command() {
        let p = ok("cat a | wc -l >> echo done");
        assert_eq!(
            p.jobs[0].command,
            CommandTemplate::Shell(vec![crate::pipeline::Segment::Text(
                "cat a | wc -l".to_owned()
            )])
        );
        assert_eq!(argv(&p.jobs[1]), ["echo", "done"]);

        let p = parse("echo a >> echo b", Some(CmdMode::Shell)).expect("parses");
        assert!(p.jobs.iter().all(|j| j.command.mode() == CmdMode::Shell));
        assert_eq!(argv(&p.jobs[1]), ["/bin/sh", "-c", "echo b"]);
    }

    fn syntax(column: u32, message: &str) -> (Option<u32>, PipelineErrorKind) {
        (Some(column), PipelineErrorKind::Syntax(message.to_owned()))
    }

    #[test]
    fn empty_input() {
        for text in ["", "   ", "\n\t"] {
            assert_eq!(errors(text), [(None, PipelineErrorKind::EmptyPipeline)]);
        }
    }

    #[test]
    fn empty_stages_and_groups() {
        let cases: &[(&str, &[(u32, &str)])] = &[
            (
                "a >> >> b",
                &[(
                    6,
                    "stage 2 of 3 is empty (nothing between two `>>`); put a command there or remove the extra `>>`",
                )],
            ),
            (
                ">> a",
                &[(
                    1,
                    "stage 1 of 2 is empty (nothing before the first `>>`); put a command there or remove the extra `>>`",
                )],
            ),
            (
                "a >>  ",
                &[(
                    3,
                    "stage 2 of 2 is empty (nothing after the last `>>`); put a command there or remove the extra `>>`",
                )],
            ),
            (
                "a >> []",
                &[(
                    6,
                    "the group in stage 2 is empty; list commands to run in parallel, e.g. `[python a.py, python b.py]`",
                )],
            ),
            (
                "[a, ] >> b",
                &[(
                    3,
                    "command 2 of 2 in the group of stage 1 is empty; remove the trailing comma",
                )],
            ),
            (
                "[a,,b]",
                &[(
                    3,
                    "command 2 of 3 in the group of stage 1 is empty; remove the extra comma",
                )],
            ),
        ];
        for (text, expected) in cases {
            let expected: Vec<_> = expected.iter().map(|(c, m)| syntax(*c, m)).collect();
            assert_eq!(errors(text), expected, "text {text:?}");
        }
    }

    #[test]
    fn malformed_syntax_reports_columns() {
        let cases: &[(&str, &[(u32, &str)])] = &[
            (
                "a >> [b, c >> d",
                &[(
                    6,
                    "unclosed `[` in stage 2; end the group with `]`, e.g. `a >> [b, c] >> d` (quote `'['` to pass it to a command)",
                )],
            ),
            (
                "[a >> b, c]",
                &[(
                    4,
                    "`>>` inside the `[…]` group of stage 1; a group holds commands that run in parallel, so chain outside it, e.g. `a >> [b, c] >> d`",
                )],
            ),
            (
                "a >> echo 'oops >> b",
                &[(
                    11,
                    "unclosed ' quote; close it, or escape it with a backslash to pass it literally",
                )],
            ),
            (
                "a >> t --lr {0.1,0.01 >> b",
                &[(
                    13,
                    "unclosed `{` sweep; close it with `}`, e.g. `--lr {0.1,0.01}`, or quote it to pass it literally",
                )],
            ),
            (
                "é >> t --lr {0.1, 0.01}",
                &[(
                    13,
                    "a `{…}` sweep cannot hold blanks; write the values without spaces, e.g. `{0.1,0.01}`, or quote the braces to pass them literally",
                )],
            ),
            (
                "a >>> b",
                &[(
                    3,
                    "`>>>` is not a stage separator; use `>>` (quote `'>>>'` to pass it to a command)",
                )],
            ),
        ];
        for (text, expected) in cases {
            let expected: Vec<_> = expected.iter().map(|(c, m)| syntax(*c, m)).collect();
            assert_eq!(errors(text), expected, "text {text:?}");
        }
    }

    #[test]
    fn all_errors_are_reported() {
        let found = errors(">> [] >> t {a,b >> [x,] >> ok >> echo \"");
        let columns: Vec<Option<u32>> = found.iter().map(|e| e.0).collect();
        assert_eq!(columns, [Some(1), Some(4), Some(12), Some(22), Some(39)]);
    }

    #[test]
    fn braces_that_are_shell_syntax_are_allowed() {
        let p = ok("echo ${HOME} >> find . -name x -exec rm {} ;");
        assert!(p.jobs.iter().all(|j| j.axes.is_empty()));
        assert!(p.jobs.iter().all(|j| j.command.mode() == CmdMode::Shell));
    }

    #[test]
    fn snapshot_group_pipeline() {
        insta::assert_debug_snapshot!(ok(
            "python prep.py >> [python a.py --x {1,2}, cat log | wc -l] >> python eval.py"
        ));
    }

    #[test]
    fn snapshot_errors() {
        let text = "a >> >> [b, ] >> echo 'x";
        let rendered = match parse(text, None) {
            Ok(p) => panic!("parsed: {p:?}"),
            Err(e) => e.to_string(),
        };
        insta::assert_snapshot!(rendered);
    }

    #[test]
    fn text_after_a_group_is_an_error_but_a_test_command_is_not() {
        let errs = errors("echo a >> [echo b, echo c] -v >> echo d");
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].0, Some(27));
        assert!(
            matches!(&errs[0].1, PipelineErrorKind::Syntax(m) if m.contains("text after the `]`")),
            "{errs:?}"
        );
        let p = ok("[ -f x ] && echo y >> echo d");
        assert_eq!(p.jobs.len(), 2);
        assert_eq!(p.jobs[0].text, "[ -f x ] && echo y");
    }
}
