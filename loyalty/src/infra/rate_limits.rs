//! The POS API's rate limit per key, counted in the database so that every
//! server process on one PostgreSQL shares it (SQLite deployments run one
//! process and count in memory instead; see `server::api::auth`); and staff
//! sign-in attempts per client address, in the database on both.
//!
//! Fixed one-minute windows: a key may make `per_minute` requests in each
//! calendar minute. One conditional upsert counts a request and refuses it
//! once the window is full, so concurrent requests on several processes can
//! never pass on a stale count.

use crate::{Backend, Clock, Db, Result};

const WINDOW_MS: i64 = 60_000;

/// Counts one request of `key_id`; `Err(seconds)` when the key's window is
/// full, with the seconds until the next one starts.
pub async fn take(
    db: &Db,
    clock: &dyn Clock,
    key_id: i64,
    per_minute: u32,
) -> Result<std::result::Result<(), u64>> {
    let now = clock.now_ms();
    let window = now - now.rem_euclid(WINDOW_MS);
    let mut tx = db.begin().await?;
    if db.backend() == Backend::Postgres {
        // A count lost in a crash costs nothing, so this write does not wait
        // for the disk: every API request, reads included, makes one.
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
    }
    let counted: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO api_rate_windows (key_id, window_start, used) VALUES ($1, $2, 1) \
         ON CONFLICT (key_id, window_start) \
         DO UPDATE SET used = api_rate_windows.used + 1 WHERE api_rate_windows.used < $3 \
         RETURNING used",
    )
    .bind(key_id)
    .bind(window)
    .bind(i64::from(per_minute))
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    match counted {
        Some(_) => Ok(Ok(())),
        None => {
            let wait_ms = window + WINDOW_MS - now;
            Ok(Err(((wait_ms + 999) / 1000).max(1) as u64))
        }
    }
}

const SIGN_IN_WINDOW_MS: i64 = 10 * 60_000;

/// Counts one staff sign-in attempt from `client` (an address); `Err(seconds)`
/// when it has made `limit` in this ten-minute window, with the seconds
/// until the next one starts.
pub async fn sign_in(
    db: &Db,
    clock: &dyn Clock,
    client: &str,
    limit: i64,
) -> Result<std::result::Result<(), u64>> {
    let now = clock.now_ms();
    let window = now - now.rem_euclid(SIGN_IN_WINDOW_MS);
    let client: String = client.chars().take(64).collect();
    let mut tx = db.begin().await?;
    let counted: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO sign_in_windows (client_key, window_start, used) VALUES ($1, $2, 1) \
         ON CONFLICT (client_key, window_start) \
         DO UPDATE SET used = sign_in_windows.used + 1 WHERE sign_in_windows.used < $3 \
         RETURNING used",
    )
    .bind(&client)
    .bind(window)
    .bind(limit)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    match counted {
        Some(_) => Ok(Ok(())),
        None => {
            let wait_ms = window + SIGN_IN_WINDOW_MS - now;
            Ok(Err(((wait_ms + 999) / 1000).max(1) as u64))
        }
    }
}

/// Forgets windows older than an hour (run by the hourly purge).
pub async fn purge_old(db: &Db, clock: &dyn Clock) -> Result<u64> {
    let mut done = 0;
    for table in ["api_rate_windows", "sign_in_windows"] {
        done += sqlx::query(&format!("DELETE FROM {table} WHERE window_start < $1"))
            .bind(clock.now_ms() - 3_600_000)
            .execute(db.pool())
            .await?
            .rows_affected();
    }
    Ok(done)
}
