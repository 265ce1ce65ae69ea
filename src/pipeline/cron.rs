//! Checks `schedule` the way Argo's CronWorkflow controller reads it: five cron fields, the
//! `@daily`-style macros, `@every <duration>`, and an optional `CRON_TZ=<zone>` prefix.

use croner::parser::{CronParser, Seconds};

/// `Ok(())` when Argo would accept the schedule; otherwise why not.
pub(crate) fn check(schedule: &str) -> Result<(), String> {
    let mut s = schedule.trim();
    if let Some(rest) = s.strip_prefix("CRON_TZ=") {
        let (zone, expr) = rest
            .split_once(char::is_whitespace)
            .ok_or_else(|| "CRON_TZ= must be followed by a zone and a schedule".to_owned())?;
        if zone.is_empty() {
            return Err("CRON_TZ= names no time zone".to_owned());
        }
        s = expr.trim();
    }
    if let Some(every) = s.strip_prefix("@every") {
        return check_go_duration(every.trim())
            .map_err(|e| format!("@every needs a duration like 1h30m: {e}"));
    }
    if s.starts_with('@') {
        return match s {
            "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight"
            | "@hourly" => Ok(()),
            _ => Err(format!(
                "unknown macro `{s}` (use @yearly, @monthly, @weekly, @daily, @hourly or @every)"
            )),
        };
    }
    let fields = s.split_whitespace().count();
    if fields != 5 {
        return Err(format!("expected 5 fields, found {fields}"));
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .build()
        .parse(s)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Go's `time.ParseDuration` shape, which `@every` uses: `1h30m`, `90s`, `1.5h`.
fn check_go_duration(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("no duration given".to_owned());
    }
    let mut rest = s;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{s}` has a number without a unit"))?;
        if number_len == 0 {
            return Err(format!("`{s}` is not a duration"));
        }
        let after = &rest[number_len..];
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        if !matches!(
            &after[..unit_len],
            "ns" | "us" | "µs" | "ms" | "s" | "m" | "h"
        ) {
            return Err(format!("unknown unit `{}`", &after[..unit_len]));
        }
        rest = &after[unit_len..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_argo_accepts() {
        for s in [
            "*/2 * * * *",
            "0 3 * * *",
            "0 0 * * MON-FRI",
            "@daily",
            "@every 1h30m",
            "CRON_TZ=Europe/Paris 0 9 * * *",
        ] {
            assert_eq!(check(s), Ok(()), "{s}");
        }
    }

    #[test]
    fn rejects_with_reason() {
        for (s, why) in [
            ("* * * *", "expected 5 fields"),
            ("0 0 0 * * *", "expected 5 fields"),
            ("61 * * * *", ""),
            ("@sometimes", "unknown macro"),
            ("@every", "duration"),
            ("@every 5x", "unknown unit"),
            ("CRON_TZ=", "CRON_TZ"),
        ] {
            let err = check(s).expect_err(s);
            assert!(err.contains(why), "{s}: {err}");
        }
    }
}
