//! UTC timestamps for the run record and run ids, without a date-time dependency: only
//! formatting is needed, and the civil-from-days conversion is a few lines (H. Hinnant's
//! algorithm, exact for the proleptic Gregorian calendar).

use std::time::{SystemTime, UNIX_EPOCH};

/// `2024-05-01T12:34:56.789Z`: milliseconds, so runs started within one second still sort in
/// order. Times before 1970 are clamped to the epoch (clocks that wrong are not worth a
/// second code path).
pub fn format(time: SystemTime) -> String {
    let (date, (h, m, s)) = parts(time);
    let millis = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_millis());
    format!(
        "{}T{h:02}:{m:02}:{s:02}.{millis:03}Z",
        date_string(date, "-")
    )
}

/// `20240501-123456`, for run ids: sorts like the time it names.
pub fn compact(time: SystemTime) -> String {
    let (date, (h, m, s)) = parts(time);
    format!("{}-{h:02}{m:02}{s:02}", date_string(date, ""))
}

/// Parses what `format` writes (`2024-05-01T12:34:56.789Z`, or without the milliseconds);
/// `None` for anything else.
pub fn parse(text: &str) -> Option<SystemTime> {
    let (text, millis) = match text.len() {
        24 if text.as_bytes()[19] == b'.' => (
            format!("{}Z", &text[..19]),
            text.get(20..23)?.parse::<u64>().ok()?,
        ),
        _ => (text.to_owned(), 0),
    };
    let text = text.as_str();
    let bytes = text.as_bytes();
    if bytes.len() != 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || bytes[10] != b'T'
        || bytes[19] != b'Z'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| text.get(range)?.parse::<u64>().ok();
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(i64::try_from(year).ok()?, month, day);
    let secs = u64::try_from(days).ok()? * 86_400 + hour * 3600 + minute * 60 + second;
    Some(UNIX_EPOCH + std::time::Duration::from_millis(secs * 1000 + millis))
}

/// (year, month, day) → days since 1970-01-01 (the inverse of `civil_from_days`).
fn days_from_civil(year: i64, month: u64, day: u64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::try_from(month).unwrap_or(1);
    let d = i64::try_from(day).unwrap_or(1);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn date_string((y, mo, d): (i64, u32, u32), sep: &str) -> String {
    format!("{y:04}{sep}{mo:02}{sep}{d:02}")
}

type Date = (i64, u32, u32);
type Clock = (u64, u64, u64);

fn parts(time: SystemTime) -> (Date, Clock) {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let rest = secs % 86_400;
    let date = civil_from_days(i64::try_from(days).unwrap_or(i64::MAX / 2));
    (date, (rest / 3600, (rest % 3600) / 60, rest % 60))
}

/// Days since 1970-01-01 → (year, month, day).
fn civil_from_days(days: i64) -> Date {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are small by construction (1..=31, 1..=12).
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn parse_inverts_format() {
        for millis in [0u64, 951_782_400_123, 1_700_000_000_999, 4_102_444_799_000] {
            let t = super::UNIX_EPOCH + std::time::Duration::from_millis(millis);
            assert_eq!(super::parse(&super::format(t)), Some(t), "{millis}");
        }
        assert_eq!(super::parse("2024-13-01T00:00:00Z"), None);
        assert_eq!(super::parse("yesterday"), None);
    }

    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn known_instants() {
        assert_eq!(format(at(0)), "1970-01-01T00:00:00.000Z");
        // `date -u -d @951782400` → 2000-02-29 (a leap day of a century leap year)
        assert_eq!(format(at(951_782_400)), "2000-02-29T00:00:00.000Z");
        assert_eq!(format(at(1_714_566_896)), "2024-05-01T12:34:56.000Z");
        assert_eq!(compact(at(1_714_566_896)), "20240501-123456");
        assert_eq!(format(at(4_102_444_799)), "2099-12-31T23:59:59.000Z");
    }

    #[test]
    fn before_the_epoch_is_clamped() {
        let early = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(format(early), "1970-01-01T00:00:00.000Z");
    }
}
