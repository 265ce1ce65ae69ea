//! Plain aligned tables (kubectl style: upper-case headers, two spaces between columns) and the
//! short durations and ages shown in them. Pure: returns strings.

use std::time::Duration;

use unicode_width::UnicodeWidthStr as _;

use crate::events::Exit;

/// Left-aligned columns; the last column is not padded. Widths are terminal columns (a CJK
/// character or an emoji takes two).
pub(crate) fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.width());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            if i + 1 < columns {
                text.push_str(cell);
                let pad = widths[i] - cell.width() + 2;
                text.extend(std::iter::repeat_n(' ', pad));
            } else {
                text.push_str(cell);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

/// `850ms`, `12.3s`, `4m05s`, `2h03m`, `3d04h`: short, and precise where it matters.
pub(crate) fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    let s = d.as_secs();
    if ms < 1000 {
        format!("{ms}ms")
    } else if s < 60 {
        format!("{:.1}s", d.as_secs_f64())
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600)
    }
}

/// kubectl-style age: `45s`, `12m`, `3h`, `5d`.
pub(crate) fn age(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86_400 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86_400)
    }
}

/// The EXIT cell: the code, `signal N`, or `-` when the process did not end (or never ran).
pub(crate) fn exit(exit: Option<Exit>) -> String {
    match exit {
        Some(Exit::Code(code)) => code.to_string(),
        Some(Exit::Signal(signal)) => format!("signal {signal}"),
        None => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_last_is_not_padded() {
        let text = render(
            &["NAME", "STATUS"],
            &[
                vec!["a".into(), "Succeeded".into()],
                vec!["longer-name".into(), "Failed".into()],
            ],
        );
        assert_eq!(
            text,
            "NAME         STATUS\na            Succeeded\nlonger-name  Failed\n"
        );
    }

    #[test]
    fn wide_characters_take_two_columns() {
        let text = render(
            &["JOB", "STATUS"],
            &[
                vec!["日本語".into(), "Failed".into()],
                vec!["ab".into(), "Succeeded".into()],
            ],
        );
        assert_eq!(text, "JOB     STATUS\n日本語  Failed\nab      Succeeded\n");
    }

    #[test]
    fn durations_and_ages() {
        assert_eq!(duration(Duration::from_millis(850)), "850ms");
        assert_eq!(duration(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(duration(Duration::from_secs(245)), "4m05s");
        assert_eq!(duration(Duration::from_secs(7380)), "2h03m");
        assert_eq!(duration(Duration::from_secs(273_600)), "3d04h");
        assert_eq!(age(Duration::from_secs(45)), "45s");
        assert_eq!(age(Duration::from_secs(3 * 86_400 + 5)), "3d");
    }
}
