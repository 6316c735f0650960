//! The Prisma formats on PostgreSQL: `TIMESTAMP(3)` as UTC wall-clock time, `JSONB`, the `"Status"` enum as
//! text.

use super::{Json, StatusText, Ts, parse_status};
use chrono::NaiveDateTime;
use serde_json::Value;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

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
