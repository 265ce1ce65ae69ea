use super::*;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn parse_inverts_format() {
    for millis in [0u64, 951_782_400_123, 1_700_000_000_999, 4_102_444_799_000] {
        let t = UNIX_EPOCH + Duration::from_millis(millis);
        assert_eq!(parse(&format(t)), Some(t), "{millis}");
    }
    assert_eq!(parse("2024-13-01T00:00:00Z"), None);
    assert_eq!(parse("yesterday"), None);
}

#[test]
fn known_instants() {
    assert_eq!(format(at(0)), "1970-01-01T00:00:00.000Z");
    assert_eq!(format(at(951_782_400)), "2000-02-29T00:00:00.000Z");
    assert_eq!(format(at(1_714_566_896)), "2024-05-01T12:34:56.000Z");
    assert_eq!(
        compact(at(1_714_566_896), &TimeZone::UTC),
        "20240501-123456"
    );
    let new_york = TimeZone::get("America/New_York").expect("in the bundled tz database");
    assert_eq!(compact(at(1_714_566_896), &new_york), "20240501-083456");
    assert_eq!(clock(at(1_714_566_896), &new_york), "08:34:56");
    assert_eq!(format(at(4_102_444_799)), "2099-12-31T23:59:59.000Z");
    assert_eq!(parse("2024-05-01T12:34:56Z"), Some(at(1_714_566_896)));
}

#[test]
fn before_the_epoch_is_clamped() {
    let early = UNIX_EPOCH - Duration::from_secs(10);
    assert_eq!(format(early), "1970-01-01T00:00:00.000Z");
}

fn secs(s: &str) -> u64 {
    match parse_duration(s) {
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
        assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
    }
}

#[test]
fn rejects_overflow() {
    let result = parse_duration("99999999999999999999d");
    assert!(
        result.as_ref().is_err_and(|e| e.contains("too large")),
        "{result:?}"
    );
    assert!(parse_duration("999999999999999999d").is_err());
}
