//! Timestamps as the engine stores them: UTC, truncated to milliseconds (Prisma's `DateTime` precision), and
//! serialized in events as JavaScript's `Date.toISOString()` (`2025-01-01T00:00:00.000Z`).

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use std::time::Duration;

/// `at` truncated to whole milliseconds.
pub fn truncate_ms(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at)
}

/// `Date.toISOString()` format: `YYYY-MM-DDTHH:MM:SS.sssZ`.
pub fn to_js_iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `at + duration`, saturating at the far future instead of overflowing.
pub fn add(at: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(duration)
        .ok()
        .and_then(|delta| at.checked_add_signed(delta))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `at - duration`, saturating at the distant past.
pub fn sub(at: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(duration)
        .ok()
        .and_then(|delta| at.checked_sub_signed(delta))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Milliseconds from `from` to `to` as a Prisma `Int` column holds them (clamped to `0..=i32::MAX`).
pub fn millis_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i32 {
    (to - from).num_milliseconds().clamp(0, i64::from(i32::MAX)) as i32
}

/// A duration in whole milliseconds, clamped to a Prisma `Int`.
pub fn duration_ms(duration: Duration) -> i32 {
    duration.as_millis().min(i32::MAX as u128) as i32
}

/// Serde helpers for `DateTime<Utc>` fields written as `Date.toISOString()` strings.
pub mod js_date {
    use super::to_js_iso;
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes as `YYYY-MM-DDTHH:MM:SS.sssZ`.
    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&to_js_iso(*at))
    }

    /// Parses any RFC 3339 timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }

    /// The same for `Option<DateTime<Utc>>`.
    pub mod option {
        use super::super::to_js_iso;
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serializer};

        /// Serializes `Some` as an ISO string and `None` as `null`.
        pub fn serialize<S: Serializer>(
            at: &Option<DateTime<Utc>>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => serializer.serialize_str(&to_js_iso(*at)),
                None => serializer.serialize_none(),
            }
        }

        /// Parses an RFC 3339 string or `null`.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            Option::<String>::deserialize(deserializer)?
                .map(|text| {
                    DateTime::parse_from_rfc3339(&text)
                        .map(|at| at.with_timezone(&Utc))
                        .map_err(serde::de::Error::custom)
                })
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_format_matches_javascript() {
        let at = DateTime::parse_from_rfc3339("2025-01-01T00:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(to_js_iso(truncate_ms(at)), "2025-01-01T00:00:00.123Z");
        assert_eq!(to_js_iso(at), "2025-01-01T00:00:00.123Z");
    }

    #[test]
    fn arithmetic_saturates_and_clamps() {
        let at = DateTime::<Utc>::MAX_UTC;
        assert_eq!(add(at, Duration::from_secs(1)), DateTime::<Utc>::MAX_UTC);
        let start = Utc::now();
        assert_eq!(millis_between(start, start - TimeDelta::seconds(1)), 0);
        assert_eq!(
            millis_between(start, start + TimeDelta::days(100)),
            i32::MAX
        );
        assert_eq!(duration_ms(Duration::from_millis(1500)), 1500);
    }
}
