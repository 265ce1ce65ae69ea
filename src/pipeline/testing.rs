//! Test helpers shared by the unit tests of every stage: jobs built the way the parsers build
//! them, so tests of later stages start from realistic input.

use super::command::{self, Placeholders};
use super::{JobSpec, Pos};

/// A job from one command, tokenised like `-c` input (brace sweeps on), positioned at 1:1.
pub(crate) fn job(text: &str) -> JobSpec {
    let parsed = command::parse(
        text,
        None,
        Placeholders {
            braces: true,
            keys: &[],
            params: &[],
        },
    )
    .expect("valid command");
    let mut spec = JobSpec::new(
        text.to_owned(),
        parsed.template,
        Some(Pos { line: 1, column: 1 }),
    );
    spec.axes = parsed.new_axes;
    spec
}
