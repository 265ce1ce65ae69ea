//! The only code that writes to the terminal. Data goes to stdout; notes, progress and errors
//! to stderr. A closed stdout (`jupyterflow … | head`) is not an error.

#![expect(
    clippy::print_stderr,
    reason = "the printer is the one place allowed to write to the terminal"
)]

use std::io::{self, Write};

use crate::error::Error;

pub(crate) struct Printer {
    out: Box<dyn Write>,
    err: Box<dyn Write>,
    /// Suppresses notes (`-q`).
    pub quiet: bool,
}

impl Default for Printer {
    fn default() -> Self {
        Printer::new(Box::new(io::stdout()), Box::new(io::stderr()))
    }
}

/// Log output as `logs` shows it, byte for byte: every line prefixed with its job,
/// `job | line`; a last line without a newline gets one.
pub(crate) fn prefix_bytes(job: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 16);
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(job.as_bytes());
        out.extend_from_slice(b" | ");
        out.extend_from_slice(line);
        if !line.ends_with(b"\n") {
            out.push(b'\n');
        }
    }
    out
}

/// Log text as `logs` shows it: every line prefixed with its job, `job | line`.
pub(crate) fn prefix_lines(job: &str, text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(job);
        out.push_str(" | ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

impl Printer {
    pub(crate) fn new(out: Box<dyn Write>, err: Box<dyn Write>) -> Self {
        Printer {
            out,
            err,
            quiet: false,
        }
    }

    /// Writes command output. A broken pipe ends output quietly.
    pub(crate) fn data(&mut self, text: &str) {
        self.data_bytes(text.as_bytes());
    }

    /// Writes command output that need not be text (a job's log, byte for byte).
    pub(crate) fn data_bytes(&mut self, bytes: &[u8]) {
        let result = self.out.write_all(bytes).and_then(|()| self.out.flush());
        if let Err(e) = result
            && e.kind() != io::ErrorKind::BrokenPipe
        {
            eprintln!("jupyterflow: cannot write output: {e}");
        }
    }

    /// A note for the user on stderr: what was decided and why.
    pub(crate) fn note(&mut self, text: &str) {
        if !self.quiet {
            let _ = writeln!(self.err, "note: {text}");
        }
    }

    /// A status line on stderr that `-q` does not silence: failures, and a Ctrl-C's effect.
    pub(crate) fn status_always(&mut self, text: &str) {
        let _ = writeln!(self.err, "{text}");
    }

    /// A problem that does not stop the command, and how to fix it, on stderr.
    pub(crate) fn warning(&mut self, text: &str, hint: Option<&str>) {
        let _ = writeln!(self.err, "warning: {text}");
        if let Some(hint) = hint {
            let _ = writeln!(self.err, "  hint: {hint}");
        }
    }

    /// A plain status line on stderr.
    pub(crate) fn status(&mut self, text: &str) {
        if !self.quiet {
            let _ = writeln!(self.err, "{text}");
        }
    }

    /// The error, its causes, and how to fix it.
    pub(crate) fn error(&mut self, error: &Error) {
        // Several pipeline problems: one `error:` line each, with its own hint.
        if let Error::Pipeline(errors) = error {
            for e in &errors.0 {
                let _ = writeln!(self.err, "error: {e}");
                if let Some(hint) = e.kind.hint() {
                    let _ = writeln!(self.err, "  hint: {hint}");
                }
            }
            if errors.0.len() > 1 {
                let _ = writeln!(
                    self.err,
                    "{} problems found; nothing was run",
                    errors.0.len()
                );
            }
            return;
        }
        let _ = writeln!(self.err, "error: {error}");
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            // thiserror's `transparent`/`{source}` already show the first cause inline.
            if !error.to_string().contains(&cause.to_string()) {
                let _ = writeln!(self.err, "  caused by: {cause}");
            }
            source = cause.source();
        }
        if let Some(hint) = error.hint() {
            let _ = writeln!(self.err, "  hint: {hint}");
        }
    }
}

pub(crate) mod checks;
pub(crate) mod events;
pub(crate) mod format;
pub(crate) mod graph;
pub(crate) mod jsonpath;
pub(crate) mod plan;
pub(crate) mod run_view;
pub(crate) mod runs;
pub(crate) mod table;
pub(crate) mod workflows;

impl Printer {
    /// True when stderr is a terminal a live view can redraw.
    pub(crate) fn stderr_is_terminal() -> bool {
        use std::io::IsTerminal as _;
        io::stderr().is_terminal()
    }
}
