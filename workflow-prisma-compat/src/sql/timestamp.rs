//! Timestamps as text, the way Prisma 7's SQLite adapter stores them: `YYYY-MM-DDTHH:MM:SS.sss+00:00`
//! (three fraction digits, `+00:00` rather than `Z`). SQLite compares them as text, so every writer must
//! use exactly this format.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

/// The stored text of `at`.
pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, false)
}

/// Parses a stored timestamp: the Prisma format, any RFC 3339 text, `YYYY-MM-DD HH:MM:SS[.fff]` (SQLite's
/// `CURRENT_TIMESTAMP`, read as UTC), or milliseconds since the epoch.
pub fn parse(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    for pattern in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, pattern) {
            return Ok(naive.and_utc());
        }
    }
    if let Ok(millis) = text.parse::<i64>() {
        return DateTime::from_timestamp_millis(millis)
            .ok_or_else(|| format!("timestamp {millis} ms is out of range"));
    }
    Err(format!("{text:?} is not a timestamp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prisma_format_round_trips() {
        let at = DateTime::parse_from_rfc3339("2026-11-21T22:47:31.5Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format(at), "2026-11-21T22:47:31.500+00:00");
        assert_eq!(parse("2026-11-21T22:47:31.500+00:00").unwrap(), at);
    }

    #[test]
    fn other_stored_forms_are_read() {
        let expected = DateTime::parse_from_rfc3339("2026-11-21T22:47:31Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse("2026-11-21 22:47:31").unwrap(), expected);
        assert_eq!(parse("2026-11-21T22:47:31Z").unwrap(), expected);
        assert_eq!(
            parse(&expected.timestamp_millis().to_string()).unwrap(),
            expected
        );
        assert_eq!(
            parse("yesterday").unwrap_err(),
            "\"yesterday\" is not a timestamp"
        );
    }
}
