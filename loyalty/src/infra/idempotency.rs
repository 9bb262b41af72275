//! Idempotency of the POS API's writes. The first request with a key claims
//! it (committed at once, so a concurrent duplicate can be told "in
//! progress"); its response is stored in the same transaction as its effect,
//! so a retry after any failure either replays that response or finds
//! nothing done. A claim whose request died (a crash mid-way) is taken over
//! after a grace period.

use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use crate::infra::secret::hex;
use crate::{Clock, Db, Error, Result};

/// How long a claim without a response blocks its key before a retry may
/// take it over: far longer than any request runs.
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

/// Ownership of a key: the claim row and when this owner claimed it. A
/// retry that takes over an abandoned claim moves `since`, so the first
/// owner, should it wake up, can no longer complete (its effect rolls back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub id: i64,
    pub since: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// This request owns the key: run it, then `complete` in its transaction.
    Owned(Owner),
    /// Done before: send this again.
    Replay { status: u16, body: String },
}

pub async fn claim(
    db: &Db,
    clock: &dyn Clock,
    api_key: i64,
    key: &str,
    request_hash: &str,
) -> Result<Claim> {
    let now = clock.now_ms();
    // In a transaction of its own: SQLite commits an INSERT … RETURNING
    // after handing over the row, and a commit that fails then (a full
    // disk) would go unreported; an explicit COMMIT reports it.
    let mut tx = db.begin().await?;
    let inserted: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO idempotency_keys (api_key_id, idem_key, request_hash, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (api_key_id, idem_key) DO NOTHING RETURNING id",
    )
    .bind(api_key)
    .bind(key)
    .bind(request_hash)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    if let Some((id,)) = inserted {
        return Ok(Claim::Owned(Owner { id, since: now }));
    }
    let (id, hash, status, body, created_at): (i64, String, Option<i64>, Option<String>, i64) =
        sqlx::query_as(
            "SELECT id, request_hash, status, response_body, created_at FROM idempotency_keys \
         WHERE api_key_id = $1 AND idem_key = $2",
        )
        .bind(api_key)
        .bind(key)
        .fetch_one(db.pool())
        .await?;
    if hash != request_hash {
        return Err(Error::IdempotencyKeyReused);
    }
    if let (Some(status), Some(body)) = (status, body) {
        return Ok(Claim::Replay {
            status: u16::try_from(status).unwrap_or(500),
            body,
        });
    }
    if now - created_at < ABANDONED_AFTER_MS {
        return Err(Error::RequestInProgress);
    }
    // The first request died without an answer: this retry takes over.
    let mut tx = db.begin().await?;
    let taken: Option<(i64,)> = sqlx::query_as(
        "UPDATE idempotency_keys SET created_at = $1 \
         WHERE id = $2 AND completed_at IS NULL AND created_at = $3 RETURNING id",
    )
    .bind(now)
    .bind(id)
    .bind(created_at)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    match taken {
        Some(_) => Ok(Claim::Owned(Owner { id, since: now })),
        None => Err(Error::RequestInProgress),
    }
}

/// Stores the response; call inside the transaction that made the effect.
/// Fails with `RequestInProgress` when this request no longer owns the key
/// (a retry took it over): the caller must then roll its effect back.
pub async fn complete(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    owner: Owner,
    status: u16,
    body: &str,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE idempotency_keys SET status = $1, response_body = $2, completed_at = $3 \
         WHERE id = $4 AND created_at = $5 AND completed_at IS NULL",
    )
    .bind(i64::from(status))
    .bind(body)
    .bind(clock.now_ms())
    .bind(owner.id)
    .bind(owner.since)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(Error::RequestInProgress)
    }
}

/// Gives a key back after a failure that changed nothing and said nothing
/// final (a server error), so the client's retry runs afresh.
pub async fn release(db: &Db, owner: Owner) -> Result<()> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE id = $1 AND created_at = $2 AND completed_at IS NULL",
    )
    .bind(owner.id)
    .bind(owner.since)
    .execute(db.pool())
    .await?;
    Ok(())
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
