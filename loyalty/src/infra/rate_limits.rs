//! The POS API's rate limit per key, counted in the database so that every
//! server process on one PostgreSQL shares it ([`ApiLimit`]; SQLite
//! deployments run one process and count in memory instead; see
//! `server::api::auth`); and staff sign-in attempts per client address, in
//! the database on both.
//!
//! Fixed windows (a calendar minute per API key, ten minutes per address):
//! one conditional upsert counts (a sign-in, a lease of API requests) and
//! refuses once the window is full, so concurrent requests on several
//! processes can never pass on a stale count.

use crate::{Backend, Clock, Db, Result};

/// The API's windows: a calendar minute per key.
const API_WINDOW_MS: i64 = 60_000;
/// Sign-in windows: ten minutes per client address.
const SIGN_IN_WINDOW_MS: i64 = 10 * 60_000;

/// The window of `window_ms` that `now` falls in, and the seconds from
/// `now` until the next one starts (what a refusal's `Retry-After` says).
fn window_at(now: i64, window_ms: i64) -> (i64, u64) {
    let window = now - now.rem_euclid(window_ms);
    let wait_ms = window + window_ms - now;
    (window, ((wait_ms + 999) / 1000).max(1) as u64)
}

/// A transaction for a count: on PostgreSQL it does not wait for the disk,
/// for a count lost in a crash costs nothing.
async fn counting(db: &Db) -> Result<crate::infra::db::Tx> {
    let mut tx = db.begin().await?;
    if db.backend() == Backend::Postgres {
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

/// The API's limit per key on PostgreSQL, shared by every server process.
///
/// A process takes a key's requests of a minute from the database in
/// leases (one conditional upsert grants up to [`ApiLimit::lease`] of them,
/// never more than the minute has left) and spends them in memory, so a
/// request costs no commit of its own. The window's row counts what all
/// processes took together, so together they never pass more than the
/// limit; a process that stops spending leaves the rest of its lease
/// unused until the minute ends, which can refuse a key up to a lease per
/// process early. One lease at a time per key and process: a burst waits
/// for it instead of each request taking one.
pub struct ApiLimit {
    per_minute: i64,
    lease: i64,
    keys:
        std::sync::Mutex<std::collections::HashMap<i64, std::sync::Arc<tokio::sync::Mutex<Lease>>>>,
}

/// What a process holds of one key's minute.
#[derive(Default)]
struct Lease {
    window: i64,
    left: i64,
    /// The database granted nothing more in `window`.
    spent: bool,
}

impl ApiLimit {
    /// A limit of `per_minute` requests per key, leased a fiftieth of it at
    /// a time (between 1 and 100).
    pub fn new(per_minute: u32) -> ApiLimit {
        let per_minute = i64::from(per_minute.max(1));
        ApiLimit {
            per_minute,
            lease: (per_minute / 50).clamp(1, 100),
            keys: Default::default(),
        }
    }

    /// How many requests one lease takes from the database.
    pub fn lease(&self) -> i64 {
        self.lease
    }

    /// Counts one request of the API key `key_id`; `Err(seconds)` when the
    /// key's minute is full, with the seconds until the next one starts.
    pub async fn take(
        &self,
        db: &Db,
        clock: &dyn Clock,
        key_id: i64,
    ) -> Result<std::result::Result<(), u64>> {
        let (window, wait) = window_at(clock.now_ms(), API_WINDOW_MS);
        let lease = {
            let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            keys.entry(key_id).or_default().clone()
        };
        let mut lease = lease.lock().await;
        if lease.window != window {
            *lease = Lease {
                window,
                ..Lease::default()
            };
        }
        if lease.left == 0 {
            if lease.spent {
                return Ok(Err(wait));
            }
            lease.left = self.lease_from_db(db, key_id, window).await?;
            lease.spent = lease.left == 0;
            if lease.spent {
                return Ok(Err(wait));
            }
        }
        lease.left -= 1;
        Ok(Ok(()))
    }

    /// Takes up to a lease of `key_id`'s `window` from the database: how
    /// many it granted (0 when the window is full).
    async fn lease_from_db(&self, db: &Db, key_id: i64, window: i64) -> Result<i64> {
        let mut tx = counting(db).await?;
        // In the update every right-hand side reads the row as it was:
        // `granted` is what this lease got.
        // (The lease or what is left, whichever is less: LEAST on
        // PostgreSQL is min on SQLite, and a CASE is both.)
        let granted: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO api_rate_windows (key_id, window_start, used, granted) \
             VALUES ($1, $2, $3, $3) \
             ON CONFLICT (key_id, window_start) DO UPDATE \
             SET used = api_rate_windows.used + CASE WHEN $4 - api_rate_windows.used < $3 \
                     THEN $4 - api_rate_windows.used ELSE $3 END, \
                 granted = CASE WHEN $4 - api_rate_windows.used < $3 \
                     THEN $4 - api_rate_windows.used ELSE $3 END \
             WHERE api_rate_windows.used < $4 \
             RETURNING granted",
        )
        .bind(key_id)
        .bind(window)
        .bind(self.lease.min(self.per_minute))
        .bind(self.per_minute)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(granted.map_or(0, |(n,)| n))
    }
}

/// Counts one staff sign-in attempt from `client` (an address); `Err(seconds)`
/// when it has made `limit` in this ten-minute window.
pub async fn sign_in(
    db: &Db,
    clock: &dyn Clock,
    client: &str,
    limit: i64,
) -> Result<std::result::Result<(), u64>> {
    let (window, wait) = window_at(clock.now_ms(), SIGN_IN_WINDOW_MS);
    let mut tx = counting(db).await?;
    let counted: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO sign_in_windows (client_key, window_start, used) VALUES ($1, $2, 1) \
         ON CONFLICT (client_key, window_start) \
         DO UPDATE SET used = sign_in_windows.used + 1 WHERE sign_in_windows.used < $3 \
         RETURNING used",
    )
    .bind(client.chars().take(64).collect::<String>())
    .bind(window)
    .bind(limit)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(match counted {
        Some(_) => Ok(()),
        None => Err(wait),
    })
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
