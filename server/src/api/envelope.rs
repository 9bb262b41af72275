//! The idempotency envelope around every POST: claim the key, run the
//! operation in a transaction, store its response in that same transaction.

use std::future::{ready, Future};

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use loyalty::access::PosKey;
use loyalty::infra::db::Tx;
use loyalty::infra::idempotency::{self, Claim, Owner};
use loyalty::SystemClock;
use serde::Serialize;

use super::extract::IdempotencyKey;
use super::Problem;
use crate::http::AppState;

/// What an operation writes through: the transaction's connection, which
/// the core's writes take. (Not `&mut Tx` itself: a closure over a type
/// with a lifetime of its own trips the compiler's proof that the handler's
/// future is `Send`.)
type Connection = <Tx as std::ops::Deref>::Target;

pub const REPLAYED: &str = "idempotent-replayed";

enum Begin {
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

async fn begin(
    state: &AppState,
    api_key: i64,
    key: &IdempotencyKey,
    path: &str,
    body: &[u8],
) -> Result<Begin, Problem> {
    let key = key.check()?;
    let fingerprint = idempotency::fingerprint("POST", path, body);
    let claimed =
        idempotency::claim(&state.portal.db, &SystemClock, api_key, key, &fingerprint).await;
    if let Err(loyalty::Error::IdempotencyKeyReused | loyalty::Error::RequestInProgress) = &claimed
    {
        metrics::counter!("tablecard_pos_idempotency_conflicts_total").increment(1);
    }
    match claimed? {
        Claim::Owned(owner) => Ok(Begin::Run(owner)),
        Claim::Replay { status, body } => {
            metrics::counter!("tablecard_pos_idempotent_replays_total").increment(1);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = json_response(status, body);
            response
                .headers_mut()
                .insert(REPLAYED, HeaderValue::from_static("true"));
            Ok(Begin::Replay(response))
        }
    }
}

/// Runs an operation once per Idempotency-Key, in a transaction: a request
/// seen before gets the stored response. `path` and `body` are what the key
/// is bound to: the path as routed (its parameters decoded) and the body's
/// bytes as sent. The operation's answer is a 200.
///
/// An `Err` is a refusal before the key was claimed (a malformed key, one
/// reused with another request, one still running): nothing is kept.
pub async fn run<T: Serialize>(
    state: &AppState,
    caller: &PosKey,
    key: &IdempotencyKey,
    path: &str,
    body: &[u8],
    operation: impl AsyncFnOnce(&mut Connection) -> Result<T, Problem>,
) -> Result<Response, Problem> {
    let nothing_to_prepare = ready(Ok(()));
    run_prepared(
        state,
        caller,
        key,
        path,
        body,
        nothing_to_prepare,
        async move |tx, ()| operation(tx).await,
    )
    .await
}

/// `run`, with a step that reads what the operation needs (such as the
/// member) after the key is claimed but before the transaction opens: a
/// transaction must never wait for a second pooled connection, or a burst
/// of requests would starve each other.
pub async fn run_prepared<P, T: Serialize>(
    state: &AppState,
    caller: &PosKey,
    key: &IdempotencyKey,
    path: &str,
    body: &[u8],
    prepare: impl Future<Output = Result<P, Problem>>,
    operation: impl AsyncFnOnce(&mut Connection, P) -> Result<T, Problem>,
) -> Result<Response, Problem> {
    let claim = match begin(state, caller.key_id(), key, path, body).await? {
        Begin::Run(claim) => claim,
        Begin::Replay(response) => return Ok(response),
    };
    let prepared = match prepare.await {
        Ok(p) => p,
        Err(problem) => return Ok(refuse(state, claim, problem).await),
    };
    let mut tx = match state.portal.db.begin().await {
        Ok(tx) => tx,
        Err(e) => return Ok(refuse(state, claim, loyalty::Error::from(e).into()).await),
    };
    let result = operation(&mut tx, prepared).await;
    Ok(finish(state, claim, tx, result).await)
}

/// Commits the effect with its response, or (on a refusal) rolls it back
/// and stores the refusal, or (on a server error) frees the key for a retry.
async fn finish<T: Serialize>(
    state: &AppState,
    claim: Owner,
    mut tx: Tx,
    result: Result<T, Problem>,
) -> Response {
    match result {
        Ok(value) => {
            let status = StatusCode::OK;
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
async fn refuse(state: &AppState, claim: Owner, problem: Problem) -> Response {
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
