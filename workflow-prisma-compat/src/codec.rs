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
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite, Type, TypeInfo, ValueRef};
use workflow_core::ports::Status;

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
pub(crate) fn format_ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, false)
}

/// Parses a SQLite timestamp text (see the module docs).
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

// ---- PostgreSQL ----

impl Type<Postgres> for Ts {
    fn type_info() -> PgTypeInfo {
        <NaiveDateTime as Type<Postgres>>::type_info()
    }
}

impl PgHasArrayType for Ts {
    fn array_type_info() -> PgTypeInfo {
        <NaiveDateTime as PgHasArrayType>::array_type_info()
    }
}

impl Encode<'_, Postgres> for Ts {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <NaiveDateTime as Encode<Postgres>>::encode_by_ref(&self.0.naive_utc(), buf)
    }
}

impl<'r> Decode<'r, Postgres> for Ts {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Ts(
            <NaiveDateTime as Decode<Postgres>>::decode(value)?.and_utc()
        ))
    }
}

impl Type<Postgres> for Json {
    fn type_info() -> PgTypeInfo {
        <sqlx::types::Json<Value> as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <sqlx::types::Json<Value> as Type<Postgres>>::compatible(ty)
    }
}

impl PgHasArrayType for Json {
    fn array_type_info() -> PgTypeInfo {
        <sqlx::types::Json<Value> as PgHasArrayType>::array_type_info()
    }
}

impl Encode<'_, Postgres> for Json {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <sqlx::types::Json<&Value> as Encode<Postgres>>::encode_by_ref(
            &sqlx::types::Json(&self.0),
            buf,
        )
    }
}

impl<'r> Decode<'r, Postgres> for Json {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Json(
            <sqlx::types::Json<Value> as Decode<Postgres>>::decode(value)?.0,
        ))
    }
}

impl Type<Postgres> for StatusText {
    fn type_info() -> PgTypeInfo {
        <String as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for StatusText {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<Postgres>>::encode_by_ref(&self.0.as_str(), buf)
    }
}

impl<'r> Decode<'r, Postgres> for StatusText {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        parse_status(<&str as Decode<Postgres>>::decode(value)?)
    }
}

// ---- SQLite ----

/// The storage class of a value (`NULL`, `INTEGER`, `REAL`, `TEXT`, `BLOB`).
fn storage_class(value: &SqliteValueRef<'_>) -> String {
    if value.is_null() {
        return "NULL".to_owned();
    }
    value.type_info().name().to_owned()
}

impl Type<Sqlite> for Ts {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }

    fn compatible(_: &SqliteTypeInfo) -> bool {
        true
    }
}

impl Encode<'_, Sqlite> for Ts {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<Sqlite>>::encode(format_ts(self.0), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Ts {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        match storage_class(&value).as_str() {
            "INTEGER" => {
                let millis = <i64 as Decode<Sqlite>>::decode(value)?;
                DateTime::from_timestamp_millis(millis)
                    .map(Ts)
                    .ok_or_else(|| format!("timestamp {millis} ms is out of range").into())
            }
            "TEXT" => Ok(Ts(parse_ts(&<String as Decode<Sqlite>>::decode(value)?)?)),
            class => Err(format!("expected a timestamp, found storage class {class}").into()),
        }
    }
}

impl Type<Sqlite> for Json {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }

    fn compatible(_: &SqliteTypeInfo) -> bool {
        true
    }
}

impl Encode<'_, Sqlite> for Json {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<Sqlite>>::encode(self.0.to_string(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Json {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        match storage_class(&value).as_str() {
            "TEXT" => {
                let text = <String as Decode<Sqlite>>::decode(value)?;
                serde_json::from_str(&text)
                    .map(Json)
                    .map_err(|e| format!("malformed JSON: {e}").into())
            }
            "INTEGER" => Ok(Json(<i64 as Decode<Sqlite>>::decode(value)?.into())),
            "REAL" => Ok(Json(<f64 as Decode<Sqlite>>::decode(value)?.into())),
            class => Err(format!("expected JSON, found storage class {class}").into()),
        }
    }
}

impl Type<Sqlite> for StatusText {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }

    fn compatible(_: &SqliteTypeInfo) -> bool {
        true
    }
}

impl Encode<'_, Sqlite> for StatusText {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<Sqlite>>::encode(self.0.as_str().to_owned(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for StatusText {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let class = storage_class(&value);
        if class != "TEXT" {
            return Err(format!("expected a status, found storage class {class}").into());
        }
        parse_status(&<String as Decode<Sqlite>>::decode(value)?)
    }
}

fn parse_status(text: &str) -> Result<StatusText, BoxDynError> {
    Status::ALL
        .into_iter()
        .find(|status| status.as_str() == text)
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
