//! The Prisma formats on SQLite: timestamps and JSON as text (a bare JSON number may be stored as a number
//! by column affinity), status as text.

use super::{Json, StatusText, Ts, format_ts, parse_status, parse_ts};
use chrono::DateTime;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Sqlite, Type, TypeInfo, ValueRef};

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
