//! What every POST takes from its request besides the caller: the
//! `Idempotency-Key` and the JSON body, each refused as a problem document.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use loyalty::infra::idempotency;
use serde::de::DeserializeOwned;

use super::Problem;

/// The `Idempotency-Key` header as sent. Put it before the body among a
/// handler's arguments: a request missing both hears about the key first
/// (it decides whether a retry is safe at all).
pub struct IdempotencyKey(HeaderValue);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        match parts.headers.get("idempotency-key") {
            Some(value) => Ok(IdempotencyKey(value.clone())),
            None => Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_missing",
                "Every POST needs an Idempotency-Key header (1–255 characters), reused on retries.",
            )),
        }
    }
}

impl IdempotencyKey {
    /// The key, if it is 1–255 visible ASCII characters. The envelope asks
    /// when it claims the key, after the body and fields passed: a POS has
    /// always heard about a broken body before a malformed key.
    pub fn check(&self) -> Result<&str, Problem> {
        self.0
            .to_str()
            .ok()
            .and_then(|k| idempotency::check_key(k).ok())
            .ok_or_else(|| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "idempotency_key_invalid",
                    "The Idempotency-Key must be 1–255 visible ASCII characters.",
                )
            })
    }
}

/// A JSON body and the bytes it came as: the idempotency fingerprint is
/// taken over exactly those bytes, so a stored key replays only for the
/// same bytes. Any `Content-Type` is accepted, as it always was.
pub struct JsonBody<T> {
    pub value: T,
    pub raw: Bytes,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    /// Reading the body fails as `Bytes` does (a body over the limit is a
    /// 413 that the router explains); a body that is not the JSON expected
    /// is an `invalid_body` problem.
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let raw = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match serde_json::from_slice(&raw) {
            Ok(value) => Ok(JsonBody { value, raw }),
            Err(e) => Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                format!("The JSON body is not valid: {e}."),
            )
            .into_response()),
        }
    }
}
