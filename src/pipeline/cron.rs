//! Checks `schedule` the way Argo's CronWorkflow controller reads it: five cron fields, the
//! `@daily`-style macros, `@every <duration>`, and an optional `CRON_TZ=<zone>` prefix; time
//! zone names (`timezone`, `CRON_TZ=`) against the tz database bundled in the binary (jiff's
//! `tzdb-bundle-always`: the same answer on every machine, no file read); and schedules that
//! can never fire (`0 0 30 2 *`), which Argo accepts and then never runs.

use croner::parser::{CronParser, Seconds};
use croner::time::{Weekday, days_in_month};
use jiff::tz::TimeZoneDatabase;

use super::error::suggest;

/// Why a schedule is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScheduleError {
    /// Not a schedule Argo reads; the message says why.
    Invalid(String),
    /// The `CRON_TZ=` zone is unknown (see [`check_zone`]).
    Zone(ZoneError),
    /// Valid, but no date ever matches its day-of-month, month and day-of-week fields.
    NeverFires,
}

/// An unknown time zone name, with the closest known one when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZoneError {
    pub zone: String,
    pub suggestion: Option<String>,
}

/// `Ok(())` when Argo would accept the schedule and it fires at least once in a while.
pub(crate) fn check(schedule: &str) -> Result<(), ScheduleError> {
    let invalid = |message: &str| ScheduleError::Invalid(message.to_owned());
    let mut s = schedule.trim();
    if let Some(rest) = s.strip_prefix("CRON_TZ=") {
        let (zone, expr) = rest
            .split_once(char::is_whitespace)
            .ok_or_else(|| invalid("CRON_TZ= must be followed by a zone and a schedule"))?;
        if zone.is_empty() {
            return Err(invalid("CRON_TZ= names no time zone"));
        }
        check_zone(zone).map_err(ScheduleError::Zone)?;
        s = expr.trim();
    }
    if let Some(every) = s.strip_prefix("@every") {
        return check_go_duration(every.trim()).map_err(|e| {
            ScheduleError::Invalid(format!("@every needs a duration like 1h30m: {e}"))
        });
    }
    if s.starts_with('@') {
        return match s {
            "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight"
            | "@hourly" => Ok(()),
            _ => Err(ScheduleError::Invalid(format!(
                "unknown macro `{s}` (use @yearly, @monthly, @weekly, @daily, @hourly or @every)"
            ))),
        };
    }
    let fields = s.split_whitespace().count();
    if fields != 5 {
        return Err(ScheduleError::Invalid(format!(
            "expected 5 fields, found {fields}"
        )));
    }
    let cron = CronParser::builder()
        .seconds(Seconds::Disallowed)
        .build()
        .parse(s)
        .map_err(|e| ScheduleError::Invalid(e.to_string()))?;
    if fires(&cron.pattern) {
        Ok(())
    } else {
        Err(ScheduleError::NeverFires)
    }
}

/// Whether some date matches the pattern's day and month fields. Hours and minutes always
/// match something once parsed. 28 years from 2000 hold every weekday/leap-year combination
/// (2000 is a leap year and 2100, the next century without one, is past them), so a day
/// that matches none of them never comes: at most 10,227 days to look at.
fn fires(pattern: &croner::CronPattern) -> bool {
    // 2000-01-01 was a Saturday.
    let mut weekday = Weekday::from_days_from_sunday(6);
    for year in 2000..2028 {
        for month in 1..=12u32 {
            let month_matches = pattern.month_match(month).unwrap_or(false);
            for day in 1..=days_in_month(year, month) {
                if month_matches
                    && pattern
                        .day_match(year, month, day, weekday)
                        .unwrap_or(false)
                {
                    return true;
                }
                weekday = weekday.shift(1);
            }
        }
    }
    false
}

/// `Ok(())` when `zone` names a time zone of the tz database (as Go's `time.LoadLocation`,
/// which Argo uses, reads it: names are case-sensitive), or is Go's own `Local`.
pub(crate) fn check_zone(zone: &str) -> Result<(), ZoneError> {
    if zone == "Local" {
        return Ok(());
    }
    let db = TimeZoneDatabase::bundled();
    // jiff finds names whatever their case; Go does not, so the spelling must be exact.
    let exact = db
        .get(zone)
        .ok()
        .is_some_and(|tz| tz.iana_name() == Some(zone));
    if exact {
        return Ok(());
    }
    let names: Vec<String> = db.available().map(|n| n.as_str().to_owned()).collect();
    let suggestion = names
        .iter()
        .find(|n| n.eq_ignore_ascii_case(zone))
        .cloned()
        .or_else(|| suggest(zone, names.iter().map(String::as_str)));
    Err(ZoneError {
        zone: zone.to_owned(),
        suggestion,
    })
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
            // Leap days and 31sts come, if rarely.
            "0 0 29 2 *",
            "0 0 31 1-12 *",
            // Day of month or day of week: Saturdays in February do come.
            "0 0 30 2 SAT",
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
            let Err(ScheduleError::Invalid(err)) = check(s) else {
                panic!("{s}: {:?}", check(s));
            };
            assert!(err.contains(why), "{s}: {err}");
        }
    }

    /// Report #19's `0 0 30 2 *`: Argo takes it and never runs it.
    #[test]
    fn schedules_that_never_fire() {
        for s in ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "CRON_TZ=UTC 0 0 31 2 *"] {
            assert_eq!(check(s), Err(ScheduleError::NeverFires), "{s}");
        }
    }

    /// Report #13: zones are checked against the bundled tz database, exactly spelt.
    #[test]
    fn time_zones() {
        for zone in [
            "Europe/Paris",
            "UTC",
            "America/New_York",
            "Etc/GMT+5",
            "Local",
        ] {
            assert_eq!(check_zone(zone), Ok(()), "{zone}");
        }
        let err = check_zone("Mars/Olympus").expect_err("unknown");
        assert_eq!(err.zone, "Mars/Olympus");
        assert_eq!(
            check_zone("europe/paris").map_err(|e| e.suggestion),
            Err(Some("Europe/Paris".to_owned()))
        );
        assert_eq!(
            check_zone("Europe/Pariss").map_err(|e| e.suggestion),
            Err(Some("Europe/Paris".to_owned()))
        );
        assert!(matches!(
            check("CRON_TZ=Nope/Nope 0 3 * * *"),
            Err(ScheduleError::Zone(ZoneError { zone, .. })) if zone == "Nope/Nope"
        ));
    }
}
