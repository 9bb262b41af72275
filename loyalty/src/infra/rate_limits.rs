//! The POS API's rate limit per key, counted in the database so that every
//! server process on one PostgreSQL shares it (SQLite deployments run one
//! process and count in memory instead; see `server::api::auth`); and staff
//! sign-in attempts per client address, in the database on both.
//!
//! Fixed windows (a calendar minute per API key, ten minutes per address):
//! one conditional upsert counts a request and refuses it once the window
//! is full, so concurrent requests on several processes can never pass on a
//! stale count.

use crate::{Backend, Clock, Db, Result};

/// A fixed-window counter kept in one table: a row per key and window.
struct Windows {
    table: &'static str,
    key: &'static str,
    window_ms: i64,
}

const API: Windows = Windows {
    table: "api_rate_windows",
    key: "key_id",
    window_ms: 60_000,
};

const SIGN_IN: Windows = Windows {
    table: "sign_in_windows",
    key: "client_key",
    window_ms: 10 * 60_000,
};

/// What a window is counted for: an API key's id, or a client's address.
enum Key<'a> {
    Id(i64),
    Text(&'a str),
}

impl Windows {
    /// Counts one request of `key`; `Err(seconds)` when its window already
    /// holds `limit`, with the seconds until the next window starts.
    async fn take(
        &self,
        db: &Db,
        clock: &dyn Clock,
        key: Key<'_>,
        limit: i64,
    ) -> Result<std::result::Result<(), u64>> {
        let now = clock.now_ms();
        let window = now - now.rem_euclid(self.window_ms);
        let mut tx = db.begin().await?;
        if db.backend() == Backend::Postgres {
            // A count lost in a crash costs nothing, so this write does not
            // wait for the disk: every API request, reads included, makes one.
            sqlx::query("SET LOCAL synchronous_commit = off")
                .execute(&mut *tx)
                .await?;
        }
        let (table, column) = (self.table, self.key);
        let sql = format!(
            "INSERT INTO {table} ({column}, window_start, used) VALUES ($1, $2, 1) \
             ON CONFLICT ({column}, window_start) \
             DO UPDATE SET used = {table}.used + 1 WHERE {table}.used < $3 \
             RETURNING used"
        );
        let query = sqlx::query_as::<_, (i64,)>(&sql);
        let query = match key {
            Key::Id(id) => query.bind(id),
            Key::Text(text) => query.bind(text.chars().take(64).collect::<String>()),
        };
        let counted = (query.bind(window).bind(limit))
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        match counted {
            Some(_) => Ok(Ok(())),
            None => {
                let wait_ms = window + self.window_ms - now;
                Ok(Err(((wait_ms + 999) / 1000).max(1) as u64))
            }
        }
    }
}

/// Counts one request of the API key `key_id`; `Err(seconds)` when the
/// key's minute is full, with the seconds until the next one starts.
pub async fn take(
    db: &Db,
    clock: &dyn Clock,
    key_id: i64,
    per_minute: u32,
) -> Result<std::result::Result<(), u64>> {
    API.take(db, clock, Key::Id(key_id), i64::from(per_minute))
        .await
}

/// Counts one staff sign-in attempt from `client` (an address); `Err(seconds)`
/// when it has made `limit` in this ten-minute window.
pub async fn sign_in(
    db: &Db,
    clock: &dyn Clock,
    client: &str,
    limit: i64,
) -> Result<std::result::Result<(), u64>> {
    SIGN_IN.take(db, clock, Key::Text(client), limit).await
}

/// Forgets windows older than an hour (run by the hourly purge).
pub async fn purge_old(db: &Db, clock: &dyn Clock) -> Result<u64> {
    let mut done = 0;
    for table in [API.table, SIGN_IN.table] {
        done += sqlx::query(&format!("DELETE FROM {table} WHERE window_start < $1"))
            .bind(clock.now_ms() - 3_600_000)
            .execute(db.pool())
            .await?
            .rows_affected();
    }
    Ok(done)
}
