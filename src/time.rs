//! Time as jupyterflow reads and writes it: RFC 3339 instants (run records, Argo's status) and
//! the one duration grammar every setting uses (`90s`, `1h30m`, `7d`, or a bare number of
//! seconds: workflow `timeout`/`ttl`, `--request-timeout`, `--older-than`,
//! `kill_grace_period`, Argo's backoff). Pure: the clock is read by callers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// `2024-05-01T12:34:56.789Z`: UTC with milliseconds, the run record's format. Instants
/// before the epoch (a broken clock) are shown as the epoch.
pub(crate) fn format(time: SystemTime) -> String {
    timestamp(time)
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// The user's time zone: `$TZ`, else the system's; UTC when neither can be read.
pub(crate) fn local_zone() -> TimeZone {
    TimeZone::system()
}

/// `20240501-123456` in `zone`: the time part of a run id, as people read it.
pub(crate) fn compact(time: SystemTime, zone: &TimeZone) -> String {
    timestamp(time)
        .to_zoned(zone.clone())
        .strftime("%Y%m%d-%H%M%S")
        .to_string()
}

/// `12:34:56` in `zone`: the clock of plain progress lines.
pub(crate) fn clock(time: SystemTime, zone: &TimeZone) -> String {
    timestamp(time)
        .to_zoned(zone.clone())
        .strftime("%H:%M:%S")
        .to_string()
}

/// An RFC 3339 instant (`2024-05-01T12:34:56Z`, with or without a fraction or an offset), as
/// Argo and our records write them; `None` for anything else.
pub(crate) fn parse(text: &str) -> Option<SystemTime> {
    text.parse::<Timestamp>().ok().map(SystemTime::from)
}

fn timestamp(time: SystemTime) -> Timestamp {
    let time = time.max(UNIX_EPOCH);
    Timestamp::try_from(time).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Units in the order they must appear in a compound duration (`1d2h3m4s`).
const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];

/// Parses `90s`, `2h`, `1h30m`, `7d`, `1d12h`, or `300` (seconds). Units must come from largest to
/// smallest, each at most once. Whole seconds only: Argo's `activeDeadlineSeconds` and TTLs are
/// whole seconds, so finer units would only pretend to a precision we cannot keep. The error
/// says what was expected, for use in an "invalid value" message.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
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

#[cfg(test)]
mod tests;
