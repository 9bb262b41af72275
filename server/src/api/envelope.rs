//! The idempotency envelope around every POST, in one transaction and one
//! commit: look the key up, run the operation, store its response beside
//! its effect (`loyalty::infra::idempotency`). On SQLite that transaction
//! is a savepoint in the writer's batch, committed with the batch. A
//! refusal undoes the transaction and is stored for the key in a second.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use loyalty::infra::db::Tx;
use loyalty::infra::idempotency::{self, Held, Slot};
use loyalty::SystemClock;
use serde::Serialize;

use super::extract::IdempotencyKey;
use super::Problem;
use crate::http::AppState;

/// What an operation writes through: the transaction's connection, which
/// the core's writes take. (Not `&mut Tx` itself: a closure over a type
/// with a lifetime of its own trips the compiler's proof that the handler's
/// future is `Send`.)
pub type Connection = <Tx as std::ops::Deref>::Target;

/// What an operation is: a future over the transaction's connection,
/// owning all else it uses (`move`), for on SQLite it runs on the writer's
/// task (`loyalty::Db::write`).
pub type Operation<'c, T> = BoxFuture<'c, Result<T, Problem>>;

/// A read for `run_reading`: gives the closure the signature it needs (a
/// closure's lifetimes are not inferred from where it is passed).
pub fn read<P, F>(read: F) -> F
where
    F: for<'c> FnOnce(&'c mut Connection) -> Operation<'c, P>,
{
    read
}

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

/// Runs an operation once per Idempotency-Key of the API key `caller`, in
/// one transaction and one commit: a request seen before gets the stored
/// response. `path` and `body` are what the key is bound to: the path as
/// routed (its parameters decoded) and the body's bytes as sent. The
/// operation's answer is a 200.
///
/// An `Err` is an answer for which nothing is kept: a malformed key, one
/// reused with another request, one still running, a server error.
pub async fn run<T: Serialize + Send + 'static>(
    state: &AppState,
    caller: i64,
    key: &IdempotencyKey,
    path: &str,
    body: &[u8],
    operation: impl for<'c> FnOnce(&'c mut Connection) -> Operation<'c, T> + Send + 'static,
) -> Result<Response, Problem> {
    let prepared = Ok(());
    run_prepared(state, caller, key, path, body, prepared, move |tx, ()| {
        operation(tx)
    })
    .await
}

/// `run`, with what the operation needs that was read before (such as the
/// member, or why it was not found): reads are done before the write
/// starts, on a connection of their own, so the writes' transactions stay
/// short. What was read is only used when the key is new: a retry of a
/// request that was answered gets that answer, whatever was found now.
///
/// The operation runs in the transaction itself, with no savepoint of its
/// own (two statements fewer for every write that succeeds). A refusal (a
/// 4xx) undoes the whole transaction, and its answer is then stored for the
/// key in a second, small one; a server error keeps nothing, so a retry
/// runs afresh.
pub async fn run_prepared<P: Send + 'static, T: Serialize + Send + 'static>(
    state: &AppState,
    caller: i64,
    key: &IdempotencyKey,
    path: &str,
    body: &[u8],
    prepared: Result<P, Problem>,
    operation: impl for<'c> FnOnce(&'c mut Connection, P) -> Operation<'c, T> + Send + 'static,
) -> Result<Response, Problem> {
    let ready = read(move |_| Box::pin(async move { prepared }));
    let seen = Seen::Unknown;
    run_in(state, caller, key, path, body, seen, ready, operation).await
}

/// `run_prepared`, with what the operation needs read by `read` (the member
/// a request names, or why there is none). On SQLite it reads before the
/// write, on a reader's connection: the one writer never waits on a read;
/// the idempotency key is looked up there too, and a key not found then is
/// not looked up again on the writer (its final insert decides).
/// On PostgreSQL it reads inside the write's transaction, once the key is
/// held: one pooled connection fewer per request (an acquire, and the check
/// sqlx makes as it goes back), and a replayed retry reads nothing.
pub async fn run_reading<P: Send + 'static, T: Serialize + Send + 'static>(
    state: &AppState,
    caller: i64,
    key: &IdempotencyKey,
    path: &str,
    body: &[u8],
    read: impl for<'c> FnOnce(&'c mut Connection) -> Operation<'c, P> + Send + 'static,
    operation: impl for<'c> FnOnce(&'c mut Connection, P) -> Operation<'c, T> + Send + 'static,
) -> Result<Response, Problem> {
    let db = &state.portal.db;
    match db.backend() {
        loyalty::Backend::Sqlite => {
            let (seen, prepared) = match db.acquire().await {
                Ok(mut conn) => {
                    let seen = match key.check() {
                        Ok(k) => match idempotency::is_new(&mut conn, caller, k).await {
                            Ok(true) => Seen::New,
                            _ => Seen::Unknown,
                        },
                        Err(_) => Seen::Unknown,
                    };
                    (seen, read(&mut conn).await)
                }
                Err(e) => (Seen::Unknown, Err(loyalty::Error::from(e).into())),
            };
            let ready = self::read(move |_| Box::pin(async move { prepared }));
            run_in(state, caller, key, path, body, seen, ready, operation).await
        }
        loyalty::Backend::Postgres => {
            let seen = Seen::Unknown;
            run_in(state, caller, key, path, body, seen, read, operation).await
        }
    }
}

/// What was known of the idempotency key before the request's transaction.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Not found by a read just before: not looked up again.
    New,
    /// Looked up in the transaction.
    Unknown,
}

/// The envelope around `prepare` and `operation`, run in turn in the
/// request's transaction.
#[allow(clippy::too_many_arguments)]
async fn run_in<P: Send + 'static, T: Serialize + Send + 'static>(
    state: &AppState,
    caller: i64,
    key: &IdempotencyKey,
    path: &str,
    body: &[u8],
    seen: Seen,
    prepare: impl for<'c> FnOnce(&'c mut Connection) -> Operation<'c, P> + Send + 'static,
    operation: impl for<'c> FnOnce(&'c mut Connection, P) -> Operation<'c, T> + Send + 'static,
) -> Result<Response, Problem> {
    let key = Key {
        api_key: caller,
        key: key.check()?.to_owned(),
        fingerprint: idempotency::fingerprint("POST", path, body),
    };
    let db = &state.portal.db;
    let backend = db.backend();
    let held = key.clone();
    let ran = db
        .write(move |tx| {
            Box::pin(
                async move { in_transaction(tx, backend, &held, seen, prepare, operation).await },
            )
        })
        .await;
    let answered = match ran {
        Ok(answered) => answered,
        Err(Undone::Failed(problem)) => return Err(problem),
        Err(Undone::Taken) => {
            db.write(move |tx| Box::pin(async move { answer_of(tx, backend, &key).await }))
                .await?
        }
        Err(Undone::Refused(status, answer)) => {
            db.write(move |tx| {
                Box::pin(async move { store_refusal(tx, backend, &key, status, answer).await })
            })
            .await?
        }
    };
    Ok(match answered {
        Answer::Ran(status, body) => json_response(status, body),
        Answer::Replay(response) => response,
    })
}

/// The idempotency key a request holds: its API key's, as sent, and the
/// fingerprint of the request it is bound to.
#[derive(Clone)]
struct Key {
    api_key: i64,
    key: String,
    fingerprint: String,
}

enum Answer {
    /// The operation ran (or was refused): this answer is stored with the
    /// key; commit.
    Ran(StatusCode, String),
    /// Answered before: this again, with nothing written.
    Replay(Response),
}

/// Why a request's transaction was undone.
enum Undone {
    /// The operation refused: this answer is to be stored for the key, in
    /// a transaction of its own.
    Refused(StatusCode, String),
    /// A server error (or the key's refusal): nothing is kept.
    Failed(Problem),
    /// Another request took the key after the read that found it new: its
    /// answer is this one's.
    Taken,
}

impl From<Problem> for Undone {
    fn from(problem: Problem) -> Self {
        Undone::Failed(problem)
    }
}

impl From<loyalty::Error> for Undone {
    fn from(e: loyalty::Error) -> Self {
        Undone::Failed(e.into())
    }
}

/// The key's lookup, the operation and the stored answer, in the request's
/// transaction `tx`.
async fn in_transaction<P, T: Serialize>(
    tx: &mut Connection,
    backend: loyalty::Backend,
    key: &Key,
    seen: Seen,
    prepare: impl for<'c> FnOnce(&'c mut Connection) -> Operation<'c, P>,
    operation: impl for<'c> FnOnce(&'c mut Connection, P) -> Operation<'c, T>,
) -> Result<Answer, Undone> {
    let slot = match seen {
        Seen::New => Slot::unseen(key.api_key, &key.key, &key.fingerprint),
        Seen::Unknown => match hold(tx, backend, key).await? {
            Ok(slot) => slot,
            Err(replay) => return Ok(replay),
        },
    };
    let (status, answer) = match prepare(tx).await {
        // Nothing was written: the refusal is stored in this transaction.
        Err(problem) => refusal(problem)?,
        Ok(prepared) => match operation(tx, prepared).await {
            Ok(value) => {
                let body = serde_json::to_string(&value).unwrap_or_default();
                (StatusCode::OK, body)
            }
            Err(problem) => {
                let (status, answer) = refusal(problem)?;
                return Err(Undone::Refused(status, answer));
            }
        },
    };
    let recorded = idempotency::record(tx, &SystemClock, &slot, status.as_u16(), &answer).await;
    match recorded {
        Ok(()) => Ok(Answer::Ran(status, answer)),
        Err(loyalty::Error::RequestInProgress) if seen == Seen::New => Err(Undone::Taken),
        Err(e) => Err(Undone::Failed(key_refused(e))),
    }
}

/// The answer of a key another request took: its stored one, or (when that
/// request's work was undone since) that it is in progress.
async fn answer_of(
    tx: &mut Connection,
    backend: loyalty::Backend,
    key: &Key,
) -> Result<Answer, Problem> {
    match hold(tx, backend, key).await? {
        Ok(_) => Err(key_refused(loyalty::Error::RequestInProgress)),
        Err(replay) => Ok(replay),
    }
}

/// Stores a refusal for the key, once the transaction that was refused has
/// been undone: unless, meanwhile, a retry with the key was answered (its
/// answer is then this one's too) or is running.
async fn store_refusal(
    tx: &mut Connection,
    backend: loyalty::Backend,
    key: &Key,
    status: StatusCode,
    answer: String,
) -> Result<Answer, Problem> {
    match hold(tx, backend, key).await? {
        Ok(slot) => record(tx, &slot, status, answer).await,
        Err(replay) => Ok(replay),
    }
}

/// Looks the key up in `tx`: new (`Ok`), answered before (`Err`, the
/// answer to send again), or refused (a key reused for another request,
/// or one still running).
async fn hold(
    tx: &mut Connection,
    backend: loyalty::Backend,
    key: &Key,
) -> Result<Result<Slot, Answer>, Problem> {
    let clock = SystemClock;
    let held = idempotency::hold(tx, backend, &clock, key.api_key, &key.key, &key.fingerprint);
    match held.await {
        Ok(Held::New(slot)) => Ok(Ok(slot)),
        Ok(Held::Replay { status, body }) => {
            metrics::counter!("tablecard_pos_idempotent_replays_total").increment(1);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = json_response(status, body);
            response
                .headers_mut()
                .insert(REPLAYED, HeaderValue::from_static("true"));
            Ok(Err(Answer::Replay(response)))
        }
        Err(e) => Err(key_refused(e)),
    }
}

/// Stores the answer for the key, beside what the request wrote.
async fn record(
    tx: &mut Connection,
    slot: &Slot,
    status: StatusCode,
    answer: String,
) -> Result<Answer, Problem> {
    idempotency::record(tx, &SystemClock, slot, status.as_u16(), &answer)
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
