//! RFC 3339 times without a date crate: whole seconds as `metav1.Time` writes them, nanoseconds
//! as the kubelet prefixes log lines (`timestamps=true`), and parsing what clients send
//! (`sinceTime`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Howard Hinnant's civil_from_days: days since 1970-01-01 → (year, month, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Its inverse, days_from_civil.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn split(t: SystemTime) -> (u64, u32) {
    t.duration_since(UNIX_EPOCH)
        .map_or((0, 0), |d| (d.as_secs(), d.subsec_nanos()))
}

fn date_time(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// `2026-09-01T11:40:00Z`: UTC, whole seconds, like `creationTimestamp`.
pub(super) fn rfc3339(t: SystemTime) -> String {
    format!("{}Z", date_time(split(t).0))
}

/// `2026-09-01T11:40:00.012345678Z`: always nine digits, as the kubelet writes Go's
/// `RFC3339NanoFixed` before each log line.
pub(super) fn rfc3339_nano(t: SystemTime) -> String {
    let (secs, nanos) = split(t);
    format!("{}.{nanos:09}Z", date_time(secs))
}

pub(super) fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` as Go's `time.Parse(time.RFC3339, …)` does
/// (a fraction is accepted though the layout has none). `None` when it is not one.
pub(super) fn parse(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = text.get(from..from + len)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if bytes.len() < 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b't')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut pos = 19;
    let mut nanos: u32 = 0;
    if bytes.get(pos) == Some(&b'.') {
        let start = pos + 1;
        let mut end = start;
        while bytes.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == start {
            return None;
        }
        let digits = &text[start..end.min(start + 9)];
        nanos = digits.parse::<u32>().ok()? * 10u32.pow(9 - u32::try_from(digits.len()).ok()?);
        pos = end;
    }
    let offset = match text.get(pos..)? {
        "Z" | "z" => 0,
        zone if zone.len() == 6 && matches!(zone.as_bytes()[0], b'+' | b'-') => {
            let hours = num(pos + 1, 2)?;
            let minutes = num(pos + 4, 2)?;
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            sign * (hours * 3600 + minutes * 60)
        }
        _ => return None,
    };
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

// Checked (not run) in a bench's build too, where the test is dropped and the import unused.
#[cfg(test)]
#[allow(unused_imports, reason = "see above: only in a bench's check build")]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_rfc3339() {
        let t = UNIX_EPOCH + Duration::new(1_788_262_800, 12_345_678);
        assert_eq!(rfc3339(t), "2026-09-01T11:40:00Z");
        assert_eq!(rfc3339_nano(t), "2026-09-01T11:40:00.012345678Z");
        assert_eq!(parse("2026-09-01T11:40:00.012345678Z"), Some(t));
        assert_eq!(
            parse("2026-09-01T13:40:00+02:00"),
            Some(UNIX_EPOCH + Duration::from_secs(1_788_262_800))
        );
        assert_eq!(
            parse("2026-09-01T11:40:00.5Z"),
            Some(UNIX_EPOCH + Duration::new(1_788_262_800, 500_000_000))
        );
        for bad in [
            "",
            "2026-09-01",
            "2026-13-01T00:00:00Z",
            "2026-09-01T11:40:00",
            "yesterday",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
