//! UTC timestamps for the run record and run ids, without a date-time dependency: only
//! formatting is needed, and the civil-from-days conversion is a few lines (H. Hinnant's
//! algorithm, exact for the proleptic Gregorian calendar).

use std::time::{SystemTime, UNIX_EPOCH};

/// `2024-05-01T12:34:56Z`. Times before 1970 are clamped to the epoch (clocks that wrong
/// are not worth a second code path).
pub(crate) fn format(time: SystemTime) -> String {
    let (date, (h, m, s)) = parts(time);
    format!("{}T{h:02}:{m:02}:{s:02}Z", date_string(date, "-"))
}

/// `20240501-123456`, for run ids: sorts like the time it names.
pub(crate) fn compact(time: SystemTime) -> String {
    let (date, (h, m, s)) = parts(time);
    format!("{}-{h:02}{m:02}{s:02}", date_string(date, ""))
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
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn known_instants() {
        assert_eq!(format(at(0)), "1970-01-01T00:00:00Z");
        // `date -u -d @951782400` → 2000-02-29 (a leap day of a century leap year)
        assert_eq!(format(at(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(format(at(1_714_566_896)), "2024-05-01T12:34:56Z");
        assert_eq!(compact(at(1_714_566_896)), "20240501-123456");
        assert_eq!(format(at(4_102_444_799)), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn before_the_epoch_is_clamped() {
        let early = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(format(early), "1970-01-01T00:00:00Z");
    }
}
