//! One pool type for both backends. `DATABASE_URL` picks SQLite (a file, the
//! default) or PostgreSQL; queries are written once in SQL both accept
//! (`$1` placeholders, `RETURNING`), migrations live in one folder per backend.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, AnyPool, Executor};

use super::writer::Writer;
use crate::brands::key_cache::KeyCache;

pub(crate) static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");

/// The newest schema version this program's SQLite migrations reach.
pub fn latest_sqlite_migration() -> i64 {
    SQLITE_MIGRATIONS
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Applied to every new SQLite connection: durability first (a purchase that
/// was acknowledged must survive a power cut), then concurrency.
const SQLITE_PRAGMAS: &str = "PRAGMA foreign_keys = ON; \
     PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = FULL; \
     PRAGMA busy_timeout = 5000;";

/// The page cache of each reading connection on SQLite, in KiB (SQLite's
/// default is 2,000 per connection): eight readers kept 16 MiB of pages in
/// the server's memory, most of them the same pages, which the system's
/// file cache holds anyway. The writer keeps the default.
const SQLITE_READER_CACHE: &str = "PRAGMA cache_size = -1024;";

/// `columns` ("a, b, c") of the table named `alias` in a join ("t.a, t.b, t.c").
pub(crate) fn qualified(alias: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A transaction of the core's database, as `Db::begin` opens it.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// One pooled connection, as `Db::acquire` hands it out.
pub type Conn = sqlx::pool::PoolConnection<sqlx::Any>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The database `conn` is connected to.
    pub fn of(conn: &AnyConnection) -> Backend {
        if conn.backend_name() == <sqlx::Sqlite as sqlx::Database>::NAME {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// Everything that can go wrong before the first query, each with a sentence
/// that says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "DATABASE_URL {0:?} is not understood: use sqlite://path/to/file.db or postgres://user:password@host/database"
    )]
    UnsupportedUrl(String),
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the database directory {0} is not writable: fix its permissions or point DATABASE_URL elsewhere")]
    NotWritable(PathBuf),
    #[error("cannot open the database at {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("after the migrations, rows of table {0} refer to rows that do not exist; the database needs repair")]
    ForeignKeys(String),
    #[error("cannot apply database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A pooled PostgreSQL connection idle this long is checked before use.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// On a writable SQLite file: the one writer the POS's writes queue to
    /// ([`Db::write`]).
    writer: Option<Writer>,
    /// The POS keys read lately, with their brands.
    keys: Arc<KeyCache>,
}

/// How to open the pool; `search_path` lets the test harness give every
/// PostgreSQL test a schema of its own.
#[derive(Clone, Debug)]
pub struct DbOptions {
    pub url: String,
    pub max_connections: u32,
    pub search_path: Option<String>,
}

impl DbOptions {
    pub fn new(url: impl Into<String>) -> Self {
        DbOptions {
            url: url.into(),
            max_connections: 8,
            search_path: None,
        }
    }
}

pub fn backend_of(url: &str) -> Result<Backend, ConnectError> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(ConnectError::UnsupportedUrl(url.to_owned()))
    }
}

/// The file a `sqlite:` URL points at, or None for an in-memory database.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(PathBuf::from(path))
    }
}

/// Creates the directory of a SQLite file and proves we can write there, so
/// a bad path fails with one clear line instead of a driver error.
fn prepare_sqlite_dir(file: &Path) -> Result<(), ConnectError> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|source| ConnectError::CreateDir {
        path: dir.clone(),
        source,
    })?;
    let probe = dir.join(format!(".tablecard-write-test-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(_) => Err(ConnectError::NotWritable(dir)),
    }
}

fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

impl Db {
    pub async fn connect(url: &str) -> Result<Db, ConnectError> {
        Db::connect_with(DbOptions::new(url)).await
    }

    pub async fn connect_with(options: DbOptions) -> Result<Db, ConnectError> {
        install_default_drivers();
        stable_sqlite_plans();
        let backend = backend_of(&options.url)?;
        let url = match backend {
            Backend::Sqlite => {
                if let Some(file) = sqlite_file(&options.url) {
                    prepare_sqlite_dir(&file)?;
                }
                with_create_mode(&options.url)
            }
            Backend::Postgres => options.url.clone(),
        };
        let search_path = options.search_path.clone();
        // A read-only file (`mode=ro`: a backup being checked) cannot be
        // switched to WAL; it only needs to wait for locks.
        let read_only = options.url.contains("mode=ro");
        let pool_options = move |reader: bool| {
            let search_path = search_path.clone();
            AnyPoolOptions::new()
                .acquire_timeout(Duration::from_secs(10))
                // A SQLite connection is a file in this process: nothing on
                // the way can break it, and the check was one more round trip
                // to its thread per acquire. A PostgreSQL one is checked when
                // it has been idle a while (the server or the network may
                // have closed it since); one in use a moment ago is not: the
                // check was a round trip per acquire. (sqlx checks every
                // connection as it comes back to the pool besides.)
                .test_before_acquire(false)
                .before_acquire(move |conn, meta| {
                    Box::pin(async move {
                        if backend == Backend::Postgres && meta.idle_for >= CHECK_AFTER_IDLE {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                .after_connect(move |conn, _meta| {
                    let search_path = search_path.clone();
                    Box::pin(async move {
                        match backend {
                            Backend::Sqlite if read_only => {
                                conn.execute(sqlx::raw_sql("PRAGMA busy_timeout = 5000;"))
                                    .await?;
                            }
                            Backend::Sqlite => {
                                conn.execute(sqlx::raw_sql(SQLITE_PRAGMAS)).await?;
                                if reader {
                                    conn.execute(sqlx::raw_sql(SQLITE_READER_CACHE)).await?;
                                }
                            }
                            Backend::Postgres => {
                                if let Some(schema) = search_path {
                                    let sql = format!("SET search_path TO \"{schema}\"");
                                    conn.execute(sqlx::raw_sql(&sql)).await?;
                                }
                            }
                        }
                        Ok(())
                    })
                })
        };
        let open = |source| ConnectError::Open {
            url: redact(&options.url),
            source,
        };
        let pool = pool_options(true)
            .max_connections(options.max_connections)
            .connect(&url)
            .await
            .map_err(open)?;
        // The writer's connection: opened when the first write comes.
        let writer = (backend == Backend::Sqlite && !read_only).then(|| {
            let pool = pool_options(false).max_connections(1).connect_lazy(&url);
            pool.map(Writer::start).map_err(open)
        });
        let writer = writer.transpose()?;
        let keys = KeyCache::new(backend, &url);
        Ok(Db {
            pool,
            backend,
            writer,
            keys,
        })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The same database, its writes waiting at most `wait` for the writer.
    #[cfg(test)]
    pub(crate) fn with_write_wait(self, wait: Duration) -> Db {
        Db {
            writer: self.writer.map(|w| w.with_wait(wait)),
            ..self
        }
    }

    /// One connection from the pool, for reads and single statements.
    pub async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        timed_acquire(self.pool.acquire()).await
    }

    /// Starts a transaction; the core's writes take `&mut AnyConnection`, so
    /// they run inside one (`&mut *tx`) or on a single pooled connection.
    ///
    /// On SQLite the transaction takes the write lock at once (sqlx 0.8 opens
    /// a deferred one): a transaction that read first and wrote later could
    /// otherwise fail with `SQLITE_BUSY` when another writer got in between,
    /// a case the busy timeout does not cover. An update that matches no row
    /// is enough to take the lock.
    ///
    /// Even a single write goes in one: SQLite commits an `INSERT …
    /// RETURNING` after handing over the row, and a commit that fails then
    /// (a full disk) would go unreported; an explicit `COMMIT` reports it.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        let mut tx = timed_acquire(self.pool.begin()).await?;
        if self.backend == Backend::Sqlite {
            sqlx::query("UPDATE brands SET id = id WHERE 0 = 1")
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// Runs one write in a transaction of its own, or on SQLite in the
    /// writer's next batch ([`super::writer`]): answered once it is
    /// committed. `Ok` keeps what `work` wrote; `Err` undoes it all.
    ///
    /// `work` must own what it uses (`move` it in): the writer runs it to
    /// its end even when the caller stops waiting.
    pub async fn write<T, E>(
        &self,
        work: impl for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<crate::Error> + Send + 'static,
    {
        if let Some(writer) = &self.writer {
            return writer.write(work).await;
        }
        let mut tx = self.begin().await.map_err(crate::Error::from)?;
        match work(&mut tx).await {
            Ok(value) => {
                tx.commit().await.map_err(crate::Error::from)?;
                Ok(value)
            }
            Err(e) => {
                // Now, not when the pool gets round to it: on PostgreSQL a
                // transaction's advisory locks go with it.
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    /// Runs `work` in one transaction (see [`Db::begin`]): committed when it
    /// returns `Ok`, rolled back when it returns an error.
    pub async fn in_transaction<T>(
        &self,
        work: impl AsyncFnOnce(&mut sqlx::AnyConnection) -> crate::Result<T>,
    ) -> crate::Result<T> {
        let mut tx = self.begin().await?;
        let out = work(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The POS keys read lately ([`crate::brands::key_cache`]).
    pub fn key_cache(&self) -> &Arc<KeyCache> {
        &self.keys
    }

    /// A key or a brand changed, and the change is committed: keys read
    /// before are read again. (Other servers on the same PostgreSQL hear of
    /// it from the database.)
    pub fn auth_changed(&self) {
        self.keys.clear();
    }

    /// Applies the migrations of this backend that have not run yet.
    ///
    /// On SQLite they run on one connection with foreign keys off: a table
    /// that others reference can only be rebuilt that way (SQLite's own
    /// recipe for schema changes it cannot make in place). The keys are
    /// checked before the connection goes back to the pool, and a violation
    /// stops the server with the table named.
    pub async fn migrate(&self) -> Result<(), ConnectError> {
        match self.backend {
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
            Backend::Sqlite => {
                let mut conn = self
                    .pool
                    .acquire()
                    .await
                    .map_err(sqlx::migrate::MigrateError::from)?;
                conn.execute("PRAGMA foreign_keys = OFF")
                    .await
                    .map_err(sqlx::migrate::MigrateError::from)?;
                let before = applied(&mut conn).await;
                let ran = SQLITE_MIGRATIONS.run(&mut *conn).await;
                // sqlx commits each migration by itself, so this check comes
                // after the fact: it cannot undo a bad rebuild, but it stops
                // the server with the table named before anything builds on it.
                // Only when a migration ran: it reads the whole database.
                let broken: Result<Vec<(String,)>, sqlx::Error> =
                    if applied(&mut conn).await != before {
                        sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
                            .fetch_all(&mut *conn)
                            .await
                    } else {
                        Ok(Vec::new())
                    };
                let restored = conn.execute("PRAGMA foreign_keys = ON").await;
                if restored.is_err() {
                    // Never hand a connection without foreign keys back to the pool.
                    conn.detach();
                }
                ran?;
                let broken = broken.map_err(sqlx::migrate::MigrateError::from)?;
                if let Some((table,)) = broken.first() {
                    return Err(ConnectError::ForeignKeys(table.clone()));
                }
                restored.map_err(sqlx::migrate::MigrateError::from)?;
            }
        }
        Ok(())
    }

    /// True when the database answers a trivial query: what `/readyz` asks.
    pub async fn is_ready(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
        self.pool.close().await;
    }
}

/// A savepoint in the transaction `conn` is in: committing it keeps its
/// writes in that transaction; rolling it back (or dropping it) undoes only
/// them.
pub async fn savepoint(
    conn: &mut sqlx::AnyConnection,
) -> Result<sqlx::Transaction<'_, sqlx::Any>, sqlx::Error> {
    sqlx::Acquire::begin(conn).await
}

/// Gets a connection (or a transaction on one) from the pool, telling the
/// operator's metrics how long it took (`tablecard_db_pool_acquire_seconds`),
/// how many wait now (`tablecard_db_pool_waiting`) and how many gave up
/// after the pool's timeout (`tablecard_db_pool_timeouts_total`). sqlx does
/// not count its waiters, so they are counted here, where transactions and
/// explicit connections are taken (every write); reads that go straight to
/// the pool are not.
async fn timed_acquire<T>(
    acquire: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    /// One waiter, counted until it is dropped: also when the request is
    /// cancelled while it waits (the client went away).
    struct Waiting(std::time::Instant);
    impl Drop for Waiting {
        fn drop(&mut self) {
            metrics::gauge!("tablecard_db_pool_waiting").decrement(1.0);
            metrics::histogram!("tablecard_db_pool_acquire_seconds")
                .record(self.0.elapsed().as_secs_f64());
        }
    }
    metrics::gauge!("tablecard_db_pool_waiting").increment(1.0);
    let waiting = Waiting(std::time::Instant::now());
    let got = acquire.await;
    drop(waiting);
    if matches!(got, Err(sqlx::Error::PoolTimedOut)) {
        metrics::counter!("tablecard_db_pool_timeouts_total").increment(1);
    }
    got
}

/// How many migrations the database records as applied (0 before the first).
async fn applied(conn: &mut sqlx::AnyConnection) -> i64 {
    sqlx::query_as::<_, (i64,)>("SELECT CAST(COUNT(*) AS BIGINT) FROM _sqlx_migrations")
        .fetch_one(&mut *conn)
        .await
        .map(|r| r.0)
        .unwrap_or(0)
}

/// A URL fit for a log line: the password replaced by `***`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Every SQLite connection this process opens plans a statement once.
///
/// Once an operator has run `ANALYZE`, SQLite (built with STAT4, as sqlx's
/// is) re-plans a statement whenever a parameter compared by range changes,
/// that is on every execution of the card, a purchase or a redemption: the
/// card spent 8 % of its time re-preparing one statement (a profile of the
/// bench's card load, whose database is analysed). The query planner
/// stability guarantee keeps the plan made at prepare time, as PostgreSQL's
/// generic plans do. Registered once, before any connection is opened, as an
/// automatic extension: sqlx's `Any` connections give no way to the handle.
pub fn stable_sqlite_plans() {
    use std::sync::Once;
    static REGISTER: Once = Once::new();

    unsafe extern "C" fn on_open(
        db: *mut libsqlite3_sys::sqlite3,
        _error: *mut *mut std::ffi::c_char,
        _api: *const libsqlite3_sys::sqlite3_api_routines,
    ) -> std::ffi::c_int {
        // SAFETY: SQLite calls this with the connection it is opening.
        unsafe {
            libsqlite3_sys::sqlite3_db_config(
                db,
                libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
                1 as std::ffi::c_int,
                std::ptr::null_mut::<std::ffi::c_int>(),
            )
        }
    }

    REGISTER.call_once(|| {
        // SAFETY: `on_open` has the entry point's signature and lives as long
        // as the process.
        let rc = unsafe { libsqlite3_sys::sqlite3_auto_extension(Some(on_open)) };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::warn!(code = rc, "SQLite query plans will follow bound values");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A statement run again with new values after `ANALYZE` keeps its plan
    /// and is not prepared again (SQLite's own count says so).
    #[test]
    fn analysed_statements_are_not_prepared_again_for_each_value() {
        use libsqlite3_sys as ffi;
        use std::ffi::CString;

        stable_sqlite_plans();
        // SAFETY: a private in-memory connection, used and closed here.
        unsafe {
            let mut db = std::ptr::null_mut();
            let name = CString::new(":memory:").unwrap();
            assert_eq!(ffi::sqlite3_open(name.as_ptr(), &mut db), ffi::SQLITE_OK);
            let setup = CString::new(
                "CREATE TABLE coupons (id INTEGER PRIMARY KEY, member_id INTEGER, valid_until INTEGER); \
                 CREATE INDEX coupons_member_idx ON coupons (member_id, valid_until); \
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
                 INSERT INTO coupons (member_id, valid_until) SELECT i % 50, i FROM n; \
                 ANALYZE;",
            )
            .unwrap();
            let rc = ffi::sqlite3_exec(
                db,
                setup.as_ptr(),
                None,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            );
            assert_eq!(rc, ffi::SQLITE_OK);

            let mut on = -1;
            ffi::sqlite3_db_config(
                db,
                ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
                -1,
                &mut on as *mut i32,
            );
            assert_eq!(
                on, 1,
                "every connection opened in the process keeps its plans"
            );

            let sql = CString::new(
                "SELECT COUNT(*) FROM coupons WHERE member_id = ?1 AND valid_until > ?2",
            )
            .unwrap();
            let mut stmt = std::ptr::null_mut();
            let rc = ffi::sqlite3_prepare_v3(
                db,
                sql.as_ptr(),
                -1,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut stmt,
                std::ptr::null_mut(),
            );
            assert_eq!(rc, ffi::SQLITE_OK);
            let mut counts = Vec::new();
            for (member, after) in [(1, 0), (2, 1000), (3, 1990)] {
                ffi::sqlite3_bind_int64(stmt, 1, member);
                ffi::sqlite3_bind_int64(stmt, 2, after);
                assert_eq!(ffi::sqlite3_step(stmt), ffi::SQLITE_ROW);
                counts.push(ffi::sqlite3_column_int64(stmt, 0));
                ffi::sqlite3_reset(stmt);
            }
            let reprepared = ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
            ffi::sqlite3_finalize(stmt);
            ffi::sqlite3_close(db);
            assert_eq!(counts, [40, 20, 0], "the answers are the same");
            assert_eq!(reprepared, 0);
        }
    }

    #[test]
    fn urls_choose_the_backend() {
        assert_eq!(backend_of("sqlite://data/x.db").unwrap(), Backend::Sqlite);
        assert_eq!(backend_of("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(backend_of("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert_eq!(
            backend_of("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        let err = backend_of("mysql://u@h/db").unwrap_err().to_string();
        assert!(err.contains("sqlite://"), "{err}");
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file("sqlite://data/tablecard.db"),
            Some(PathBuf::from("data/tablecard.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:///tmp/a.db?mode=rwc"),
            Some(PathBuf::from("/tmp/a.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }

    #[test]
    fn passwords_never_reach_the_log() {
        assert_eq!(
            redact("postgres://app:s3cret@db/tc"),
            "postgres://app:***@db/tc"
        );
        assert_eq!(redact("postgres://app@db/tc"), "postgres://app@db/tc");
        assert_eq!(redact("sqlite://data/tc.db"), "sqlite://data/tc.db");
    }

    /// What a till's "recorded" means rests on these: every connection the
    /// pool hands out, the one that ran the migrations included (it turns
    /// foreign keys off for a while), writes ahead to a WAL, syncs it on
    /// every commit, enforces foreign keys and waits for a lock.
    #[tokio::test]
    async fn every_sqlite_connection_is_durable_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect_with(DbOptions {
            max_connections: 3,
            ..DbOptions::new(format!("sqlite://{}", dir.path().join("d.db").display()))
        })
        .await
        .unwrap();
        db.migrate().await.unwrap();
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(db.pool().acquire().await.unwrap());
        }
        for conn in &mut held {
            let pragma = |name: &'static str| format!("PRAGMA {name}");
            let (journal,): (String,) = sqlx::query_as(&pragma("journal_mode"))
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(journal, "wal");
            for (name, expected) in [
                ("synchronous", 2), // FULL
                ("foreign_keys", 1),
                ("busy_timeout", 5000),
            ] {
                let (value,): (i64,) = sqlx::query_as(&pragma(name))
                    .fetch_one(&mut **conn)
                    .await
                    .unwrap();
                assert_eq!(value, expected, "PRAGMA {name}");
            }
        }
        drop(held);
        db.close().await;
    }
}
