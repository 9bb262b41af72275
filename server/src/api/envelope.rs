//! The idempotency envelope around every POST, in one transaction and one
//! commit: look the key up, run the operation, store its response beside
//! its effect (`loyalty::infra::idempotency`).

use std::future::{ready, Future};

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use loyalty::access::PosKey;
use loyalty::infra::db::Tx;
use loyalty::infra::idempotency::{self, Held};
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

/// Runs an operation once per Idempotency-Key, in a transaction: a request
/// seen before gets the stored response. `path` and `body` are what the key
/// is bound to: the path as routed (its parameters decoded) and the body's
/// bytes as sent. The operation's answer is a 200.
///
/// An `Err` is an answer for which nothing is kept: a malformed key, one
/// reused with another request, one still running, a server error.
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
/// member) before the transaction opens: a transaction must never wait for
/// a second pooled connection, or a burst of requests would starve each
/// other. What it read is only used when the key is new: a retry of a
/// request that was answered gets that answer, whatever the step finds now.
///
/// The operation runs under a savepoint: a refusal (a 4xx) undoes its own
/// writes and is stored for the key; a server error rolls everything back
/// and keeps nothing, so a retry runs afresh.
pub async fn run_prepared<P, T: Serialize>(
    state: &AppState,
    caller: &PosKey,
    key: &IdempotencyKey,
    path: &str,
    body: &[u8],
    prepare: impl Future<Output = Result<P, Problem>>,
    operation: impl AsyncFnOnce(&mut Connection, P) -> Result<T, Problem>,
) -> Result<Response, Problem> {
    let key = key.check()?;
    let fingerprint = idempotency::fingerprint("POST", path, body);
    let prepared = prepare.await;
    let db = &state.portal.db;
    let mut tx = db.begin().await.map_err(loyalty::Error::from)?;
    let answered = in_transaction(
        &mut tx,
        db.backend(),
        (caller.key_id(), key, &fingerprint),
        prepared,
        operation,
    )
    .await;
    match answered {
        Ok(Answer::Ran(status, body)) => {
            tx.commit().await.map_err(loyalty::Error::from)?;
            Ok(json_response(status, body))
        }
        // Rolled back before answering, not when the pool gets round to
        // it: on PostgreSQL the key's lock goes with the transaction, and a
        // retry must not find it still held.
        Ok(Answer::Replay(response)) => {
            let _ = tx.rollback().await;
            Ok(response)
        }
        Err(problem) => {
            let _ = tx.rollback().await;
            Err(problem)
        }
    }
}

enum Answer {
    /// The operation ran (or was refused): this answer is stored with the
    /// key; commit.
    Ran(StatusCode, String),
    /// Answered before: this again, with nothing written.
    Replay(Response),
}

/// The key's lookup, the operation under a savepoint and the stored
/// answer, in the request's transaction `tx`.
async fn in_transaction<P, T: Serialize>(
    tx: &mut Connection,
    backend: loyalty::Backend,
    (api_key, key, fingerprint): (i64, &str, &str),
    prepared: Result<P, Problem>,
    operation: impl AsyncFnOnce(&mut Connection, P) -> Result<T, Problem>,
) -> Result<Answer, Problem> {
    let clock = SystemClock;
    let held = idempotency::hold(tx, backend, &clock, api_key, key, fingerprint).await;
    let slot = match held {
        Ok(Held::New(slot)) => slot,
        Ok(Held::Replay { status, body }) => {
            metrics::counter!("tablecard_pos_idempotent_replays_total").increment(1);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = json_response(status, body);
            response
                .headers_mut()
                .insert(REPLAYED, HeaderValue::from_static("true"));
            return Ok(Answer::Replay(response));
        }
        Err(e) => return Err(key_refused(e)),
    };
    let (status, answer) = match prepared {
        Err(problem) => refusal(problem)?,
        Ok(prepared) => {
            let mut savepoint = loyalty::infra::db::savepoint(tx)
                .await
                .map_err(loyalty::Error::from)?;
            match operation(&mut savepoint, prepared).await {
                Ok(value) => {
                    savepoint.commit().await.map_err(loyalty::Error::from)?;
                    let body = serde_json::to_string(&value).unwrap_or_default();
                    (StatusCode::OK, body)
                }
                Err(problem) => {
                    savepoint.rollback().await.map_err(loyalty::Error::from)?;
                    refusal(problem)?
                }
            }
        }
    };
    idempotency::record(tx, &clock, &slot, status.as_u16(), &answer)
        .await
        .map_err(key_refused)?;
    Ok(Answer::Ran(status, answer))
}

/// What the key's lookup or its record refused, as a problem; a key used
/// for another request or one still running is counted as a conflict.
fn key_refused(e: loyalty::Error) -> Problem {
    if matches!(
        e,
        loyalty::Error::IdempotencyKeyReused | loyalty::Error::RequestInProgress
    ) {
        metrics::counter!("tablecard_pos_idempotency_conflicts_total").increment(1);
    }
    e.into()
}

/// A refusal to store for the key (a 4xx, which a retry would get again),
/// or a server error to answer with nothing kept (`Err`).
fn refusal(problem: Problem) -> Result<(StatusCode, String), Problem> {
    if problem.status().is_client_error() {
        Ok((problem.status(), problem.body()))
    } else {
        Err(problem)
    }
}
