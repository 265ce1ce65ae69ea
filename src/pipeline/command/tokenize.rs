//! Tokenising one command the way a POSIX shell splits words: quotes, escapes, sweep braces
//! `{a,b}`, matrix `{key}` and param `{name}` placeholders, and detection of shell syntax
//! (`|`, `&&`, `>`, `$VAR`, globs…) that makes the command run under `/bin/sh -c`. Pure.

use super::{
    Axis, CommandError, CommandMode, CommandTemplate, Const, Parsed, Placeholders, Segment, Word,
};
use crate::pipeline::Param;

/// Tokenises `text`. `mode`: `None` detects shell syntax (`|`, `&&`, `;`, `>`, `$VAR`, globs…)
/// and picks shell mode for it; `Some` forces the mode.
pub fn parse(
    text: &str,
    mode: Option<CommandMode>,
    placeholders: Placeholders<'_>,
) -> Result<Parsed, CommandError> {
    let tokens = Tokenizer::new(text, placeholders).run()?;
    if tokens.words.is_empty() {
        return Err(CommandError::Empty);
    }
    let chosen = match mode {
        Some(m) => m,
        None if tokens.shell_reason.is_some() => CommandMode::Shell,
        None => CommandMode::Exec,
    };
    let template = match chosen {
        CommandMode::Exec => CommandTemplate::Exec(tokens.words),
        CommandMode::Shell => CommandTemplate::Shell(tokens.shell),
    };
    Ok(Parsed {
        template,
        new_axes: tokens.new_axes,
        shell_reason: if mode.is_none() {
            tokens.shell_reason
        } else {
            None
        },
        unknown_keys: tokens.unknown_keys,
    })
}

struct Tokens {
    words: Vec<Word>,
    /// The raw text with placeholders cut out, for shell mode.
    shell: Vec<Segment>,
    new_axes: Vec<Axis>,
    shell_reason: Option<String>,
    unknown_keys: Vec<String>,
}

struct Tokenizer<'a> {
    text: &'a str,
    chars: Vec<(usize, char)>,
    i: usize,
    placeholders: Placeholders<'a>,
    words: Vec<Word>,
    current: Option<Vec<Segment>>,
    shell: Vec<Segment>,
    new_axes: Vec<Axis>,
    shell_reason: Option<String>,
    /// See `Parsed::unknown_keys`.
    unknown_keys: Vec<String>,
    /// An unquoted line break came after a word: if another word follows, the text is several
    /// shell commands (`a\nb` runs `a`, then `b`), not one argv.
    after_line_break: bool,
    /// Char index of the last unquoted, unescaped `$`, to recognise `${…}`.
    bare_dollar_at: Option<usize>,
}

/// Appends text, merging with a preceding text segment. An empty string still starts a word
/// (`''` is an empty argument), but never adds an empty segment after others.
fn push_text(segments: &mut Vec<Segment>, s: &str) {
    if let Some(Segment::Text(last)) = segments.last_mut() {
        last.push_str(s);
    } else if !s.is_empty() || segments.is_empty() {
        segments.push(Segment::Text(s.to_owned()));
    }
}

/// Appends a placeholder, dropping an empty text segment left by `''` before it.
fn push_param(segments: &mut Vec<Segment>, n: usize) {
    push_placeholder(segments, Segment::Param(n));
}

/// Appends a workflow param, like `push_param`.
fn push_const(segments: &mut Vec<Segment>, param: &Param) {
    push_placeholder(
        segments,
        Segment::Const(Box::new(Const {
            name: param.name.clone(),
            value: param.value.clone(),
        })),
    );
}

fn push_placeholder(segments: &mut Vec<Segment>, placeholder: Segment) {
    if matches!(segments.last(), Some(Segment::Text(t)) if t.is_empty()) {
        segments.pop();
    }
    segments.push(placeholder);
}

impl<'a> Tokenizer<'a> {
    fn new(text: &'a str, placeholders: Placeholders<'a>) -> Self {
        Tokenizer {
            text,
            chars: text.char_indices().collect(),
            i: 0,
            placeholders,
            words: Vec::new(),
            current: None,
            shell: Vec::new(),
            new_axes: Vec::new(),
            shell_reason: None,
            unknown_keys: Vec::new(),
            after_line_break: false,
            bare_dollar_at: None,
        }
    }

    fn offset(&self, i: usize) -> usize {
        self.chars.get(i).map_or(self.text.len(), |&(o, _)| o)
    }

    fn word(&mut self) -> &mut Vec<Segment> {
        self.current.get_or_insert_with(Vec::new)
    }

    fn end_word(&mut self) {
        if let Some(segments) = self.current.take() {
            self.words.push(Word(segments));
        }
    }

    fn note_shell(&mut self, what: &str) {
        if self.shell_reason.is_none() {
            self.shell_reason = Some(what.to_owned());
        }
    }

    /// Copies raw source text (from char index `from` to `to`) into the shell-mode template.
    fn raw(&mut self, from: usize, to: usize) {
        let (a, b) = (self.offset(from), self.offset(to));
        let s = &self.text[a..b];
        push_text(&mut self.shell, s);
    }

    fn run(mut self) -> Result<Tokens, CommandError> {
        while self.i < self.chars.len() {
            let (offset, c) = self.chars[self.i];
            let start = self.i;
            if !matches!(c, ' ' | '\t' | '\n') && self.after_line_break {
                self.note_shell("a line break between commands");
            }
            match c {
                ' ' | '\t' | '\n' => {
                    self.end_word();
                    if c == '\n' && !self.words.is_empty() {
                        self.after_line_break = true;
                    }
                    self.i += 1;
                }
                '\'' => {
                    let close = self.find(self.i + 1, |c| c == '\'').ok_or(
                        CommandError::UnclosedQuote {
                            quote: '\'',
                            offset,
                        },
                    )?;
                    let literal: String =
                        self.chars[self.i + 1..close].iter().map(|p| p.1).collect();
                    self.literal_with_keys(&literal);
                    self.i = close + 1;
                    self.raw_quoted(start, self.i, '\'');
                }
                '"' => self.double_quoted()?,
                '\\' => {
                    if let Some(&(_, next)) = self.chars.get(self.i + 1) {
                        if next != '\n' {
                            push_text(self.word(), &next.to_string());
                        }
                        self.i += 2;
                    } else {
                        push_text(self.word(), "\\");
                        self.i += 1;
                    }
                    self.raw(start, self.i);
                }
                '{' => self.brace(offset)?,
                _ => {
                    self.detect_unquoted(c);
                    if c == '$' {
                        self.bare_dollar_at = Some(self.i);
                    }
                    push_text(self.word(), &c.to_string());
                    self.i += 1;
                    self.raw(start, self.i);
                }
            }
            if matches!(c, ' ' | '\t' | '\n') {
                self.raw(start, self.i);
            }
        }
        self.end_word();
        Ok(Tokens {
            words: self.words,
            shell: self.shell,
            new_axes: self.new_axes,
            shell_reason: self.shell_reason,
            unknown_keys: self.unknown_keys,
        })
    }

    fn find(&self, from: usize, pred: impl Fn(char) -> bool) -> Option<usize> {
        (from..self.chars.len()).find(|&j| pred(self.chars[j].1))
    }

    /// Unquoted characters that mean the user wrote shell syntax, not a plain argv.
    fn detect_unquoted(&mut self, c: char) {
        let at_word_start = self.current.is_none();
        let reason = match c {
            '|' => Some("`|`"),
            '&' => Some("`&`"),
            ';' => Some("`;`"),
            '<' | '>' => Some("a redirection"),
            '$' => Some("`$` expansion"),
            '`' => Some("backticks"),
            '*' | '?' | '[' => Some("a glob"),
            '(' | ')' => Some("parentheses"),
            '~' if at_word_start => Some("`~`"),
            '#' if at_word_start => Some("a comment"),
            '!' if at_word_start && self.words.is_empty() => Some("`!`"),
            // `NAME=value cmd` sets a variable; `--lr=0.1` or `a/b=c` is just a word.
            '=' if self.words.is_empty() && self.current_is_name() => Some("a variable assignment"),
            _ => None,
        };
        if let Some(reason) = reason {
            self.note_shell(reason);
        }
    }

    /// Whether the word read so far is a shell variable name (so a following `=` assigns).
    fn current_is_name(&self) -> bool {
        match self.current.as_deref() {
            Some([Segment::Text(t)]) => is_name(t),
            _ => false,
        }
    }

    /// Quoted text keeps its quotes in the shell-mode template, but matrix keys and params
    /// inside it must still become placeholders there. `quote` is the quote character of the
    /// text.
    fn raw_quoted(&mut self, from: usize, to: usize, quote: char) {
        if self.placeholders.keys.is_empty() && self.placeholders.params.is_empty() {
            self.raw(from, to);
            return;
        }
        let (a, b) = (self.offset(from), self.offset(to));
        let s = self.text[a..b].to_owned();
        let placeholders = self.placeholders;
        split_keys(&s, placeholders, &mut self.shell, Some(quote));
    }

    /// Adds literal text to the current word, turning `{key}` matrix references and `{name}`
    /// params into placeholders.
    fn literal_with_keys(&mut self, literal: &str) {
        let placeholders = self.placeholders;
        let word = self.word();
        if literal.is_empty() {
            push_text(word, "");
            return;
        }
        split_keys(literal, placeholders, word, None);
    }

    fn double_quoted(&mut self) -> Result<(), CommandError> {
        let start = self.i;
        let (literal, close, expansion) = self.read_double_quoted(start)?;
        if let Some(reason) = expansion {
            self.note_shell(reason);
        }
        self.literal_with_keys(&literal);
        self.i = close + 1;
        self.raw_quoted(start, self.i, '"');
        Ok(())
    }

    /// Reads the double-quoted string opening at char `open`: its value (`\"`, `\\`, `\$`,
    /// `` \` `` and `\<newline>` unescaped), the index of the closing quote, and whether it
    /// holds an expansion (`$` or a backtick) that only a shell can do.
    fn read_double_quoted(
        &self,
        open: usize,
    ) -> Result<(String, usize, Option<&'static str>), CommandError> {
        let mut literal = String::new();
        let mut expansion = None;
        let mut j = open + 1;
        loop {
            let Some(&(_, c)) = self.chars.get(j) else {
                return Err(CommandError::UnclosedQuote {
                    quote: '"',
                    offset: self.offset(open),
                });
            };
            match c {
                '"' => return Ok((literal, j, expansion)),
                '\\' => match self.chars.get(j + 1).map(|p| p.1) {
                    Some(next @ ('"' | '\\' | '$' | '`')) => {
                        literal.push(next);
                        j += 2;
                    }
                    Some('\n') => j += 2,
                    _ => {
                        literal.push('\\');
                        j += 1;
                    }
                },
                '$' | '`' => {
                    expansion.get_or_insert(if c == '$' {
                        "`$` expansion"
                    } else {
                        "backticks"
                    });
                    literal.push(c);
                    j += 1;
                }
                _ => {
                    literal.push(c);
                    j += 1;
                }
            }
        }
    }

    /// `{…}` unquoted: a matrix key, a brace sweep, or literal text.
    fn brace(&mut self, offset: usize) -> Result<(), CommandError> {
        let start = self.i;
        // `${…}` is the shell's parameter expansion (`${HOME}`, `${a,b}` in bash), never ours;
        // the `$` already chose shell mode.
        if start > 0 && self.bare_dollar_at == Some(start - 1) {
            push_text(self.word(), "{");
            self.i += 1;
            self.raw(start, self.i);
            return Ok(());
        }
        // A matrix key or param reference: `{name}` exactly.
        if let Some(close) = self.find(self.i + 1, |c| c == '}') {
            let inner: String = self.chars[self.i + 1..close].iter().map(|p| p.1).collect();
            if let Some(n) = self.placeholders.keys.iter().position(|a| a.key == inner) {
                push_param(self.word(), n);
                push_param(&mut self.shell, n);
                self.i = close + 1;
                return Ok(());
            }
            if let Some(param) = self.placeholders.params.iter().find(|p| p.name == inner) {
                push_const(self.word(), param);
                push_const(&mut self.shell, param);
                self.i = close + 1;
                return Ok(());
            }
            // Among matrix keys or params, a bare `{name}` that names none is a misspelt one,
            // not text (quoted or escaped, it stays text: that is how to write it literally).
            let named = !self.placeholders.keys.is_empty() || !self.placeholders.params.is_empty();
            if named && is_placeholder_name(&inner) {
                self.unknown_keys.push(inner);
            }
        }
        if self.placeholders.braces
            && let Some((values, end)) = self.sweep_values(offset)?
        {
            let n = self.placeholders.keys.len() + self.new_axes.len();
            self.new_axes.push(Axis {
                key: format!("p{}", self.new_axes.len() + 1),
                values,
            });
            push_param(self.word(), n);
            push_param(&mut self.shell, n);
            self.i = end;
            return Ok(());
        }
        push_text(self.word(), "{");
        self.i += 1;
        self.raw(start, self.i);
        Ok(())
    }

    /// Reads `{a,b,…}` from `self.i`; `None` when there is no top-level comma (a literal brace,
    /// as the shell leaves it). Values may be quoted: `{'a b',c}`, and `''` is an empty value.
    /// Refused: a sweep holding another brace (`{a,{b,c}}`: nested sweeps are not ours to
    /// expand) and an empty value (`{a,}`, `{,}`: an empty or repeated job is never meant).
    fn sweep_values(&self, offset: usize) -> Result<Option<(Vec<String>, usize)>, CommandError> {
        let mut values = vec![String::new()];
        // Whether each value has a quoted part, so `''` counts as written.
        let mut quoted = vec![false];
        let mut j = self.i + 1;
        let mut commas = 0;
        // The first `{` inside, and how deep we are in inner braces.
        let mut nested: Option<usize> = None;
        let mut depth = 0usize;
        loop {
            let Some(&(_, c)) = self.chars.get(j) else {
                return if commas > 0 {
                    Err(CommandError::UnclosedBrace { offset })
                } else {
                    Ok(None)
                };
            };
            match c {
                '}' if depth == 0 => break,
                '}' => {
                    depth -= 1;
                    j += 1;
                }
                '{' => {
                    nested.get_or_insert(self.offset(j));
                    depth += 1;
                    j += 1;
                }
                ',' if depth == 0 => {
                    commas += 1;
                    values.push(String::new());
                    quoted.push(false);
                    j += 1;
                }
                ' ' | '\t' | '\n' => return Ok(None),
                '\'' | '"' => {
                    // Values may be quoted; an expansion in one is kept literally, as it is
                    // filled in quoted.
                    let (text, close) = if c == '"' {
                        let (text, close, _) = self.read_double_quoted(j)?;
                        (text, close)
                    } else {
                        let close =
                            self.find(j + 1, |x| x == '\'')
                                .ok_or(CommandError::UnclosedQuote {
                                    quote: '\'',
                                    offset: self.offset(j),
                                })?;
                        (
                            self.chars[j + 1..close].iter().map(|p| p.1).collect(),
                            close,
                        )
                    };
                    if let Some(last) = values.last_mut() {
                        last.push_str(&text);
                    }
                    if let Some(last) = quoted.last_mut() {
                        *last = true;
                    }
                    j = close + 1;
                }
                _ => {
                    if let Some(last) = values.last_mut() {
                        last.push(c);
                    }
                    j += 1;
                }
            }
        }
        if commas == 0 {
            return Ok(None);
        }
        if let Some(offset) = nested {
            return Err(CommandError::NestedBrace { offset });
        }
        if values
            .iter()
            .zip(&quoted)
            .any(|(value, quoted)| value.is_empty() && !quoted)
        {
            return Err(CommandError::EmptySweepValue { offset });
        }
        Ok(Some((values, j + 1)))
    }
}

/// Whether `s` is a shell variable name: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `{s}` reads as a placeholder: a name like a matrix key or param (`lr`,
/// `batch_size`, `model.depth`), not `{}` or shell text.
pub(crate) fn is_placeholder_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Axes made from `{a,b}` braces are named `p1`, `p2`, … (see `Tokenizer::brace`).
pub(super) fn is_brace_key(key: &str) -> bool {
    key.strip_prefix('p')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Splits `s` at `{key}` references to matrix axes and `{name}` references to params,
/// appending to `out`.
///
/// `quote`: `s` is raw shell text inside that quote character. Placeholders are filled with
/// shell-quoted values, which only work outside quotes, so the quote is closed before each
/// placeholder and reopened after it (`'--a={k}'` → `'--a='` + value + `''`).
fn split_keys(
    s: &str,
    placeholders: Placeholders<'_>,
    out: &mut Vec<Segment>,
    quote: Option<char>,
) {
    let mut rest = s;
    'outer: while let Some(open) = rest.find('{') {
        if let Some(close) = rest[open..].find('}') {
            let inner = &rest[open + 1..open + close];
            let key = placeholders.keys.iter().position(|a| a.key == inner);
            let param = placeholders.params.iter().find(|p| p.name == inner);
            if key.is_some() || param.is_some() {
                let before = &rest[..open];
                push_text(out, before);
                if let Some(q) = quote {
                    // In double quotes `\{` is a backslash then `{`; once the `{` is cut out an
                    // odd backslash run would escape our closing quote instead, so double it.
                    let backslashes = before.chars().rev().take_while(|&c| c == '\\').count();
                    if q == '"' && backslashes % 2 == 1 {
                        push_text(out, "\\");
                    }
                    push_text(out, &q.to_string());
                }
                match (key, param) {
                    (Some(n), _) => push_param(out, n),
                    (None, Some(param)) => push_const(out, param),
                    (None, None) => {}
                }
                if let Some(q) = quote {
                    push_text(out, &q.to_string());
                }
                rest = &rest[open + close + 1..];
                continue 'outer;
            }
        }
        push_text(out, &rest[..=open]);
        rest = &rest[open + 1..];
    }
    if !rest.is_empty() || out.is_empty() {
        push_text(out, rest);
    }
}
