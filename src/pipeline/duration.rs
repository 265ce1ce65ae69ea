//! Durations as people write them in workflow.yaml and on the command line: `90s`, `2h`,
//! `1h30m`, `7d`, or a bare number of seconds. Whole seconds only: Argo's `activeDeadlineSeconds`
//! and TTLs are whole seconds, so finer units would only pretend to a precision we cannot keep.

use std::time::Duration;

/// Units in the order they must appear in a compound duration (`1d2h3m4s`).
const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];

/// Parses `90s`, `2h`, `1h30m`, `7d`, `1d12h`, or `300` (seconds). Units must come from largest to
/// smallest, each at most once. The error says what was expected, for use as an `InvalidValue`.
pub fn parse(s: &str) -> Result<Duration, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err("the duration is empty".to_owned());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| format!("`{text}` is too large"));
    }
    let expected = || {
        format!(
            "`{text}` is not a duration; use e.g. 90s, 30m, 2h, 1h30m, 7d or a number of seconds"
        )
    };
    let mut total: u64 = 0;
    let mut rest = text;
    // Index into UNITS of the next unit allowed: enforces order and no repeats.
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(expected());
        }
        let (number, after) = rest.split_at(digits);
        let mut chars = after.chars();
        let unit = chars.next().ok_or_else(expected)?;
        let Some(offset) = UNITS[next_unit..].iter().position(|(u, _)| *u == unit) else {
            return Err(expected());
        };
        let index = next_unit + offset;
        next_unit = index + 1;
        let value: u64 = number
            .parse()
            .map_err(|_| format!("`{text}` is too large"))?;
        total = value
            .checked_mul(UNITS[index].1)
            .and_then(|secs| total.checked_add(secs))
            .ok_or_else(|| format!("`{text}` is too large"))?;
        rest = chars.as_str();
        if next_unit == UNITS.len() && !rest.is_empty() {
            return Err(expected());
        }
    }
    Ok(Duration::from_secs(total))
}

/// Formats whole seconds compactly, largest units first: `1h30m`, `7d`, `45s`, `0s`.
/// Sub-second parts are dropped (see the module doc).
pub fn format(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in UNITS {
        let n = secs / size;
        if n > 0 {
            out.push_str(&n.to_string());
            out.push(unit);
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> u64 {
        match parse(s) {
            Ok(d) => d.as_secs(),
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn single_units() {
        assert_eq!(secs("90s"), 90);
        assert_eq!(secs("30m"), 1_800);
        assert_eq!(secs("2h"), 7_200);
        assert_eq!(secs("7d"), 604_800);
    }

    #[test]
    fn compound_and_bare_seconds() {
        assert_eq!(secs("1h30m"), 5_400);
        assert_eq!(secs("1d2h3m4s"), 93_784);
        assert_eq!(secs("300"), 300);
        assert_eq!(secs(" 0 "), 0);
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "", "s", "1x", "1.5h", "30m1h", "1h1h", "1h 30m", "h1", "-5", "500ms", "1s2",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn rejects_overflow() {
        let result = parse("99999999999999999999d");
        assert!(
            result.as_ref().is_err_and(|e| e.contains("too large")),
            "{result:?}"
        );
        assert!(parse("999999999999999999d").is_err());
    }

    #[test]
    fn formats_compactly() {
        assert_eq!(format(Duration::from_secs(5_400)), "1h30m");
        assert_eq!(format(Duration::from_secs(604_800)), "7d");
        assert_eq!(format(Duration::from_secs(93_784)), "1d2h3m4s");
        assert_eq!(format(Duration::from_secs(45)), "45s");
        assert_eq!(format(Duration::ZERO), "0s");
    }

    #[test]
    fn format_then_parse_round_trips() {
        for s in [1, 59, 60, 61, 3_599, 3_600, 86_399, 86_400, 1_000_000] {
            let d = Duration::from_secs(s);
            assert_eq!(parse(&format(d)), Ok(d));
        }
    }
}
