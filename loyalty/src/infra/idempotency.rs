//! Idempotency of the POS API's writes, in the request's one transaction:
//! [`hold`] looks the key up before the operation runs, and [`record`]
//! stores the response beside the operation's effect, so both commit
//! together, in one commit, or neither does. A retry after any failure
//! either replays that response or finds nothing done.
//!
//! Two requests with one key at once: on SQLite the transaction holds the
//! database's one write lock from its start, so the second waits and then
//! replays the first's answer; on PostgreSQL the first holds a
//! transaction-scoped advisory lock on the key, and the second is told at
//! once that the request is in progress (409), without waiting and without
//! writing anything.
//!
//! Servers before this one claimed a key in a commit of its own and could
//! leave a claim without a response behind when they crashed; such a claim
//! still blocks its key for [`ABANDONED_AFTER_MS`] and is then taken over.

use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use crate::infra::secret::hex;
use crate::{Backend, Clock, Db, Error, Result};

/// How long a claim without a response (left by an older server) blocks
/// its key before a retry may take it over: far longer than any request
/// runs.
pub const ABANDONED_AFTER_MS: i64 = 30_000;
/// Stored responses are kept at least this long.
pub const KEEP_MS: i64 = 24 * 3_600_000;

/// A key as sent in `Idempotency-Key`: 1–255 visible ASCII characters.
pub fn check_key(key: &str) -> Result<&str> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(Error::invalid(
            "idempotency_key",
            crate::error::Invalid::Format,
        ));
    }
    Ok(key)
}

/// The fingerprint of a request: same method, path and body, same hash.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex(&h.finalize())
}

/// A key held for one request, inside its transaction: where its response
/// goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    api_key: i64,
    key: String,
    request_hash: String,
    /// An older server's claim that died without an answer, taken over:
    /// its row and when it was made.
    abandoned: Option<(i64, i64)>,
}

impl Slot {
    /// The slot of a key that a read just before the request's transaction
    /// did not find ([`is_new`]), taken without looking again: [`record`]
    /// then finds out whether another request took the key meanwhile
    /// (`RequestInProgress`, with this request's work to be undone).
    pub fn unseen(api_key: i64, key: &str, request_hash: &str) -> Slot {
        Slot {
            api_key,
            key: key.to_owned(),
            request_hash: request_hash.to_owned(),
            abandoned: None,
        }
    }
}

/// Whether `key` has never been used by `api_key`, as read on `conn`
/// outside the request's transaction.
pub async fn is_new(conn: &mut AnyConnection, api_key: i64, key: &str) -> Result<bool> {
    Ok(find(conn, api_key, key).await?.is_none())
}

#[derive(Debug, PartialEq, Eq)]
pub enum Held {
    /// New: run the operation, then [`record`] in the same transaction.
    New(Slot),
    /// Done before: send this again (and write nothing).
    Replay { status: u16, body: String },
}

/// The advisory lock of a key on PostgreSQL: 64 bits of a hash of the API
/// key and the idempotency key.
fn lock_id(api_key: i64, key: &str) -> i64 {
    let mut h = Sha256::new();
    h.update(api_key.to_le_bytes());
    h.update(key.as_bytes());
    let digest = h.finalize();
    i64::from_le_bytes(digest[..8].try_into().expect("eight bytes"))
}

/// A key's row: id, request hash, status and response (once answered),
/// when it was made.
type StoredKey = (i64, String, Option<i64>, Option<String>, i64);

/// Looks `key` up inside the request's transaction (`conn`), before its
/// operation. `Err(RequestInProgress)` when another request with the key
/// is running (PostgreSQL) or an older server's claim of it is recent;
/// `Err(IdempotencyKeyReused)` when the key was used for another request.
pub async fn hold(
    conn: &mut AnyConnection,
    backend: Backend,
    clock: &dyn Clock,
    api_key: i64,
    key: &str,
    request_hash: &str,
) -> Result<Held> {
    let found = match backend {
        Backend::Sqlite => find(conn, api_key, key).await?,
        // The key's row and its lock in one statement. Answered before, or
        // another request's key: decided whatever the lock says (two
        // retries of an answered key both replay). Else the lock decides:
        // held by another request, it is in progress. (A request that
        // committed the key between this statement's snapshot and its lock
        // is not seen: this one then finds the key taken when it records,
        // and answers 409 with nothing written.)
        Backend::Postgres => {
            let (locked, id, hash, status, body, created_at): LockedKey = sqlx::query_as(
                "SELECT pg_try_advisory_xact_lock($3), k.id, k.request_hash, k.status, \
                 k.response_body, k.created_at \
                 FROM (SELECT 1) AS one LEFT JOIN idempotency_keys k \
                 ON k.api_key_id = $1 AND k.idem_key = $2",
            )
            .bind(api_key)
            .bind(key)
            .bind(lock_id(api_key, key))
            .fetch_one(&mut *conn)
            .await?;
            let found = match (id, hash, created_at) {
                (Some(id), Some(hash), Some(created_at)) => {
                    Some((id, hash, status, body, created_at))
                }
                _ => None,
            };
            let settled = match &found {
                Some((_, hash, status, _, _)) => hash != request_hash || status.is_some(),
                None => false,
            };
            if !settled && !locked {
                return Err(Error::RequestInProgress);
            }
            found
        }
    };
    let abandoned = match found {
        None => None,
        Some((_, hash, ..)) if hash != request_hash => return Err(Error::IdempotencyKeyReused),
        Some((_, _, Some(status), Some(body), _)) => {
            return Ok(Held::Replay {
                status: u16::try_from(status).unwrap_or(500),
                body,
            })
        }
        Some((_, _, _, _, created_at)) if clock.now_ms() - created_at < ABANDONED_AFTER_MS => {
            return Err(Error::RequestInProgress)
        }
        Some((id, _, _, _, created_at)) => Some((id, created_at)),
    };
    Ok(Held::New(Slot {
        api_key,
        key: key.to_owned(),
        request_hash: request_hash.to_owned(),
        abandoned,
    }))
}

/// The advisory lock's answer and the key's row, if it has one.
type LockedKey = (
    bool,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

/// The row of `key`, if it has one.
async fn find(conn: &mut AnyConnection, api_key: i64, key: &str) -> Result<Option<StoredKey>> {
    Ok(sqlx::query_as(
        "SELECT id, request_hash, status, response_body, created_at FROM idempotency_keys \
         WHERE api_key_id = $1 AND idem_key = $2",
    )
    .bind(api_key)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Stores the response of the request that holds `slot`, in the transaction
/// that made its effect (and that [`hold`] ran in).
pub async fn record(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    slot: &Slot,
    status: u16,
    body: &str,
) -> Result<()> {
    let now = clock.now_ms();
    let done = match slot.abandoned {
        None => {
            sqlx::query(
                "INSERT INTO idempotency_keys \
                 (api_key_id, idem_key, request_hash, created_at, status, response_body, completed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $4) \
                 ON CONFLICT (api_key_id, idem_key) DO NOTHING",
            )
            .bind(slot.api_key)
            .bind(&slot.key)
            .bind(&slot.request_hash)
            .bind(now)
            .bind(i64::from(status))
            .bind(body)
            .execute(&mut *conn)
            .await?
        }
        Some((id, created_at)) => {
            sqlx::query(
                "UPDATE idempotency_keys SET status = $1, response_body = $2, completed_at = $3 \
                 WHERE id = $4 AND created_at = $5 AND completed_at IS NULL",
            )
            .bind(i64::from(status))
            .bind(body)
            .bind(now)
            .bind(id)
            .bind(created_at)
            .execute(&mut *conn)
            .await?
        }
    };
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(Error::RequestInProgress)
    }
}

/// Drops stored responses older than a day.
pub async fn purge_old(db: &Db, clock: &dyn Clock) -> Result<u64> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(clock.now_ms() - KEEP_MS)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_visible_characters() {
        assert!(check_key("abc-123").is_ok());
        assert!(check_key("").is_err());
        assert!(check_key(&"k".repeat(256)).is_err());
        assert!(check_key("tab\there").is_err());
        assert!(check_key("键").is_err());
    }

    #[test]
    fn the_fingerprint_covers_method_path_and_body() {
        let a = fingerprint("POST", "/api/v1/purchases", b"{}");
        assert_eq!(a, fingerprint("POST", "/api/v1/purchases", b"{}"));
        assert_ne!(a, fingerprint("POST", "/api/v1/purchases", b"{ }"));
        assert_ne!(a, fingerprint("POST", "/api/v1/points/redeem", b"{}"));
    }
}
