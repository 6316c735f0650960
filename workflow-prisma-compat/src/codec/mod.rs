//! The Prisma storage formats as sqlx types, per database:
//!
//! - [`Ts`]: `DateTime` columns: `TIMESTAMP(3)` holding UTC wall-clock time on PostgreSQL; on SQLite the
//!   text `YYYY-MM-DDTHH:MM:SS.sss+00:00` (also read: other RFC 3339 texts, SQLite's `CURRENT_TIMESTAMP`
//!   form, and integer milliseconds).
//! - [`Json`]: `Json` columns: `JSONB` on PostgreSQL; on SQLite compact JSON text, where a bare number
//!   may be stored as `INTEGER` or `REAL` (column affinity) and is read back as that number.
//! - [`StatusText`]: the `"Status"` enum as text (statements cast it: `CAST($n::text AS "Status")` to
//!   write, `"status"::text` to read, as Prisma does).

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value;
use sqlx::error::BoxDynError;
use workflow_core::ports::Status;

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

/// A millisecond UTC timestamp in Prisma's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ts(pub DateTime<Utc>);

/// A JSON value in Prisma's format.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Json(pub Value);

/// A status, read and written as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StatusText(pub Status);

/// The SQLite text of a timestamp.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn format_ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, false)
}

/// Parses a SQLite timestamp text (see the module docs).
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn parse_ts(text: &str) -> Result<DateTime<Utc>, String> {
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

/// Reads a `"Status"` text strictly (upper case, one of the schema's values).
pub(crate) fn parse_status(text: &str) -> Result<StatusText, BoxDynError> {
    Status::parse(text)
        .map(StatusText)
        .ok_or_else(|| format!("unknown status {text:?}").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prisma_timestamp_text_round_trips() {
        let at = DateTime::parse_from_rfc3339("2026-11-21T22:47:31.5Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_ts(at), "2026-11-21T22:47:31.500+00:00");
        assert_eq!(parse_ts("2026-11-21T22:47:31.500+00:00").unwrap(), at);
    }

    #[test]
    fn other_stored_timestamp_forms_are_read() {
        let expected = DateTime::parse_from_rfc3339("2026-11-21T22:47:31Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_ts("2026-11-21 22:47:31").unwrap(), expected);
        assert_eq!(parse_ts("2026-11-21T22:47:31Z").unwrap(), expected);
        assert_eq!(
            parse_ts(&expected.timestamp_millis().to_string()).unwrap(),
            expected
        );
        assert_eq!(
            parse_ts("yesterday").unwrap_err(),
            "\"yesterday\" is not a timestamp"
        );
    }

    #[test]
    fn statuses_parse_strictly() {
        assert_eq!(
            parse_status("RUNNING").unwrap(),
            StatusText(Status::Running)
        );
        assert_eq!(
            parse_status("running").unwrap_err().to_string(),
            "unknown status \"running\""
        );
    }
}
