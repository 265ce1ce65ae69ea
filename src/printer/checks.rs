//! `doctor`'s checks as text: one line each (✓ passed, ✗ failed, – not checked), then what to
//! change for each failure. Pure.

use super::table;
use crate::cluster::doctor::{Check, Verdict};

pub(crate) fn table(checks: &[Check]) -> String {
    let rows: Vec<Vec<String>> = checks
        .iter()
        .map(|c| {
            vec![
                match c.verdict {
                    Verdict::Pass => "✓",
                    Verdict::Fail => "✗",
                    Verdict::Warn => "!",
                    Verdict::Skip => "–",
                }
                .to_owned(),
                c.name.to_owned(),
                c.detail.clone(),
            ]
        })
        .collect();
    let mut text = table::render(&["", "CHECK", "DETAIL"], &rows);
    for check in checks.iter().filter(|c| c.fix.is_some()) {
        let fix = check.fix.as_deref().unwrap_or_default().trim_end();
        text.push_str(&format!("\nto fix {}:\n{fix}\n", check.name));
    }
    let failed = checks.iter().filter(|c| c.verdict == Verdict::Fail).count();
    let warned = checks.iter().filter(|c| c.verdict == Verdict::Warn).count();
    text.push_str(&if failed == 0 && warned > 0 {
        format!(
            "\nready: `jupyterflow run` will work here, but see the warning{} above\n",
            if warned == 1 { "" } else { "s" }
        )
    } else if failed == 0 {
        "\nready: `jupyterflow run` will work here\n".to_owned()
    } else {
        format!(
            "\nnot ready: {failed} check{} failed\n",
            if failed == 1 { "" } else { "s" }
        )
    });
    text
}
