//! The bearer token of the mutating routes: `Authorization: Bearer <token>`, compared in constant time.
//! A server started without a token refuses them all.

use super::errors::ApiError;
use axum::http::{HeaderMap, StatusCode, header};

/// `Ok` when `headers` carry `token`.
pub(crate) fn require(token: Option<&str>, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = token else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this server has no API token (start it with --token or WF_API_TOKEN); cancel and rerun are refused",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match given {
        Some(given) if same(given.as_bytes(), token.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong bearer token",
        )),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing `Authorization: Bearer <token>` header",
        )),
    }
}

/// Equality whose time depends only on the lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_the_right_token_passes() {
        assert!(require(Some("s3cret"), &headers("Bearer s3cret")).is_ok());
        for bad in ["Bearer s3cre", "Bearer s3cret2", "Basic s3cret", "s3cret"] {
            let error = require(Some("s3cret"), &headers(bad)).unwrap_err();
            assert_eq!(error.status, StatusCode::UNAUTHORIZED, "{bad}");
        }
        assert_eq!(
            require(Some("t"), &HeaderMap::new()).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        let error = require(None, &headers("Bearer anything")).unwrap_err();
        assert!(error.message.contains("no API token"), "{}", error.message);
    }
}
