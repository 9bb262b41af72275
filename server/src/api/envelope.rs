//! The idempotency envelope around every POST: claim the key, run the
//! operation in a transaction, store its response in that same transaction.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use loyalty::idempotency::{self, Claim, Owner};
use loyalty::SystemClock;
use serde::Serialize;

use super::Problem;
use crate::http::AppState;

pub const REPLAYED: &str = "idempotent-replayed";

pub enum Begin {
    /// Seen before: the stored response, marked as replayed.
    Replay(Response),
    /// New: run it, then `finish`.
    Run(Owner),
}

fn json_response(status: StatusCode, body: String) -> Response {
    let content_type = if status.is_success() {
        "application/json"
    } else {
        "application/problem+json"
    };
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    response
}

pub async fn begin(
    state: &AppState,
    api_key: i64,
    headers: &HeaderMap,
    path: &str,
    body: &[u8],
) -> Result<Begin, Problem> {
    let key = headers
        .get("idempotency-key")
        .ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_missing",
                "Idempotency-Key is missing.",
            )
        })?
        .to_str()
        .ok()
        .and_then(|k| idempotency::check_key(k).ok())
        .ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_invalid",
                "The Idempotency-Key must be 1–255 visible ASCII characters.",
            )
        })?;
    let fingerprint = idempotency::fingerprint("POST", path, body);
    match idempotency::claim(&state.portal.db, &SystemClock, api_key, key, &fingerprint).await? {
        Claim::Owned(owner) => Ok(Begin::Run(owner)),
        Claim::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = json_response(status, body);
            response
                .headers_mut()
                .insert(REPLAYED, HeaderValue::from_static("true"));
            Ok(Begin::Replay(response))
        }
    }
}

/// Commits the effect with its response, or (on a refusal) rolls it back
/// and stores the refusal, or (on a server error) frees the key for a retry.
pub async fn finish<T: Serialize>(
    state: &AppState,
    claim: Owner,
    mut tx: loyalty::db::Tx,
    result: Result<(StatusCode, T), Problem>,
) -> Response {
    match result {
        Ok((status, value)) => {
            let body = serde_json::to_string(&value).unwrap_or_default();
            match idempotency::complete(&mut tx, &SystemClock, claim, status.as_u16(), &body).await
            {
                Ok(()) => match tx.commit().await {
                    Ok(()) => json_response(status, body),
                    Err(e) => server_error(state, claim, loyalty::Error::from(e)).await,
                },
                // A retry took the key over while this one was stuck: this
                // effect rolls back, and the retry's answer is the one that counts.
                Err(e @ loyalty::Error::RequestInProgress) => {
                    drop(tx);
                    Problem::from(e).into_response()
                }
                // Roll back first: on SQLite the transaction holds the write
                // lock, and freeing the key would wait for it in vain.
                Err(e) => {
                    drop(tx);
                    server_error(state, claim, e).await
                }
            }
        }
        Err(problem) => {
            drop(tx);
            refuse(state, claim, problem).await
        }
    }
}

/// Answers a refusal before or during the operation (its effects, if any,
/// already rolled back): a 4xx is stored for retries, anything else frees
/// the key so a retry runs afresh.
pub async fn refuse(state: &AppState, claim: Owner, problem: Problem) -> Response {
    if !problem.status().is_client_error() {
        let _ = idempotency::release(&state.portal.db, claim).await;
        return problem.into_response();
    }
    let body = problem.body();
    let mut conn = match state.portal.db.pool().acquire().await {
        Ok(c) => c,
        Err(e) => return server_error(state, claim, e.into()).await,
    };
    if let Err(e) =
        idempotency::complete(&mut conn, &SystemClock, claim, problem.status, &body).await
    {
        return server_error(state, claim, e).await;
    }
    problem.into_response()
}

async fn server_error(state: &AppState, claim: Owner, e: loyalty::Error) -> Response {
    let _ = idempotency::release(&state.portal.db, claim).await;
    Problem::from(e).into_response()
}
