//! The database test harness: every test gets a fresh, migrated database —
//! a temporary SQLite file, or a schema of its own on the PostgreSQL server
//! `TABLECARD_TEST_POSTGRES_URL` names (`make test` requires it under CI).

use rand::Rng;

use crate::infra::db::{Db, DbOptions};

pub const POSTGRES_URL_VAR: &str = "TABLECARD_TEST_POSTGRES_URL";

pub struct TestDb {
    pub db: Db,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { url: String, schema: String },
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        TestDb::sqlite_in(tempfile::tempdir().expect("temporary directory")).await
    }

    /// A fresh SQLite database in a directory of the caller's choosing (a
    /// small file system, to fill it up): a copy of a template migrated
    /// once (a copy takes a millisecond, the migrations much longer),
    /// migrated again, which finds nothing to do and proves the copy is
    /// today's schema.
    pub async fn sqlite_in(dir: tempfile::TempDir) -> TestDb {
        let file = dir.path().join("test.db");
        std::fs::copy(sqlite_template().await, &file).expect("copy the migrated SQLite template");
        let url = format!("sqlite://{}", file.display());
        let db = Db::connect(&url).await.expect("open test SQLite database");
        db.migrate().await.expect("migrate test SQLite database");
        TestDb {
            db,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A fresh schema on the PostgreSQL server `TABLECARD_TEST_POSTGRES_URL`
    /// names. Tests that call this are `#[ignore]`d with that reason, so
    /// without a server they are listed as ignored, never passed; run
    /// anyway, they fail here.
    pub async fn postgres() -> TestDb {
        TestDb::postgres_through(None).await
    }

    /// The PostgreSQL server the tests use (see `postgres`).
    pub fn postgres_url() -> String {
        match std::env::var(POSTGRES_URL_VAR) {
            Ok(url) if !url.is_empty() => url,
            _ => panic!(
                "{POSTGRES_URL_VAR} is not set: this test needs a PostgreSQL server \
                 (make test runs the PostgreSQL tests when it is set)"
            ),
        }
    }

    /// As `postgres`, but the pool connects through `proxy` (host:port)
    /// instead of the server's own address: a test can cut the line.
    pub async fn postgres_through(proxy: Option<&str>) -> TestDb {
        let t = TestDb::postgres_empty_through(proxy).await;
        t.db.migrate().await.expect("migrate test schema");
        t
    }

    /// A fresh PostgreSQL schema with nothing in it, not even migrations:
    /// an upgrade test brings it to an old version itself.
    pub async fn postgres_empty() -> TestDb {
        TestDb::postgres_empty_through(None).await
    }

    async fn postgres_empty_through(proxy: Option<&str>) -> TestDb {
        let url = TestDb::postgres_url();
        let suffix: u32 = rand::thread_rng().r#gen();
        let schema = format!("test_{:x}_{suffix:08x}", unix_seconds());
        let admin = Db::connect_with(DbOptions {
            max_connections: 1,
            ..DbOptions::new(url.clone())
        })
        .await
        .expect("connect to PostgreSQL test server");
        sweep_abandoned_schemas(&admin).await;
        sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
            .execute(admin.pool())
            .await
            .expect("create test schema");
        admin.close().await;
        let pool_url = match proxy {
            // postgres://user:password@HOST:PORT/database…
            Some(proxy) => {
                let at = url.rfind('@').expect("a user in the PostgreSQL URL") + 1;
                let end = url[at..].find('/').map_or(url.len(), |i| at + i);
                format!("{}{proxy}{}", &url[..at], &url[end..])
            }
            None => url.clone(),
        };
        let db = Db::connect_with(DbOptions {
            max_connections: 4,
            search_path: Some(schema.clone()),
            ..DbOptions::new(pool_url)
        })
        .await
        .expect("connect to test schema");
        TestDb {
            db,
            cleanup: Cleanup::Postgres { url, schema },
        }
    }

    /// The SQLite file of a SQLite test database.
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        match &self.cleanup {
            Cleanup::Sqlite(dir) => Some(dir.path().join("test.db")),
            Cleanup::Postgres { .. } => None,
        }
    }

    /// How to open another pool on a PostgreSQL test schema.
    pub fn postgres_options(&self) -> Option<DbOptions> {
        match &self.cleanup {
            Cleanup::Postgres { url, schema } => Some(DbOptions {
                search_path: Some(schema.clone()),
                ..DbOptions::new(url.clone())
            }),
            Cleanup::Sqlite(_) => None,
        }
    }

    /// Closes the pool and removes what the test made.
    pub async fn finish(self) {
        self.db.close().await;
        if let Cleanup::Postgres { url, schema } = self.cleanup {
            if let Ok(admin) = Db::connect_with(DbOptions {
                max_connections: 1,
                ..DbOptions::new(url)
            })
            .await
            {
                let _ = sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                    .execute(admin.pool())
                    .await;
                admin.close().await;
            }
        }
    }
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// A schema a test made and did not remove: one that panicked before
/// `finish`, or a run that was killed. Test schemas are named
/// `test_<creation time in unix seconds, hex>_<random>`; one over an hour
/// old belongs to no running test (older names, `test_<16 hex>`, carry no
/// time and are all abandoned). Left alone they filled the disk: 1,227 of
/// them held 4.9 GB.
fn abandoned(schema: &str, now: u64) -> bool {
    let Some(rest) = schema.strip_prefix("test_") else {
        return false;
    };
    match rest.split_once('_') {
        Some((created, random)) => {
            random.len() == 8
                && u64::from_str_radix(created, 16).is_ok_and(|created| created + 3600 < now)
        }
        None => rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_hexdigit()),
    }
}

/// Drops abandoned test schemas, once per test process.
async fn sweep_abandoned_schemas(admin: &Db) {
    static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    SWEPT
        .get_or_init(|| async {
            let now = unix_seconds();
            let schemas: Vec<String> = sqlx::query_scalar(
                "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'test\\_%'",
            )
            .fetch_all(admin.pool())
            .await
            .expect("list test schemas");
            for schema in schemas.iter().filter(|s| abandoned(s, now)) {
                // Another test process may be sweeping the same schema.
                let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                    .execute(admin.pool())
                    .await;
            }
        })
        .await;
}

/// A SQLite database migrated to today's schema, shared by every test (and
/// every test process) as long as the migrations are the same: its name is
/// their checksums' digest, it is written under another name and renamed
/// into place whole, and its write-ahead log is folded into the file so that
/// the file alone is the database.
async fn sqlite_template() -> &'static std::path::Path {
    static TEMPLATE: tokio::sync::OnceCell<std::path::PathBuf> = tokio::sync::OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            use sha2::{Digest, Sha256};
            let mut digest = Sha256::new();
            for m in crate::infra::db::SQLITE_MIGRATIONS.iter() {
                digest.update(m.version.to_le_bytes());
                digest.update(&*m.checksum);
            }
            let digest = digest.finalize();
            let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            let file = std::env::temp_dir().join(format!("tablecard-test-template-{name}.db"));
            if file.exists() {
                return file;
            }
            let dir = tempfile::tempdir_in(std::env::temp_dir()).expect("temporary directory");
            let fresh = dir.path().join("template.db");
            let db = Db::connect(&format!("sqlite://{}", fresh.display()))
                .await
                .expect("open the SQLite template");
            db.migrate().await.expect("migrate the SQLite template");
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(db.pool())
                .await
                .expect("fold the template's WAL into its file");
            db.close().await;
            std::fs::rename(&fresh, &file).expect("put the SQLite template in place");
            file
        })
        .await
}

/// The application's tables, by name: neither the migrations' bookkeeping
/// nor SQLite's own.
pub async fn table_names(db: &Db) -> Vec<String> {
    let sql = match db.backend() {
        crate::infra::db::Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_sqlx%' ESCAPE '\\' ORDER BY name"
        }
        crate::infra::db::Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             AND table_name NOT LIKE '\\_sqlx%' ESCAPE '\\' ORDER BY table_name"
        }
    };
    let rows: Vec<(String,)> = sqlx::query_as(sql)
        .fetch_all(db.pool())
        .await
        .expect("list the tables");
    rows.into_iter().map(|(name,)| name).collect()
}

/// A table's columns, in their order.
pub async fn column_names(db: &Db, table: &str) -> Vec<String> {
    let sql = match db.backend() {
        crate::infra::db::Backend::Sqlite => "SELECT name FROM pragma_table_info($1) ORDER BY cid",
        crate::infra::db::Backend::Postgres => {
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
        }
    };
    let rows: Vec<(String,)> = sqlx::query_as(sql)
        .bind(table)
        .fetch_all(db.pool())
        .await
        .expect("list a table's columns");
    rows.into_iter().map(|(name,)| name).collect()
}

/// Declares one async test that runs on SQLite and on PostgreSQL:
/// `db_test!(async fn name(db) { ... })` makes `name::sqlite` and
/// `name::postgres`, each on a fresh database. The PostgreSQL one is
/// ignored (listed by name, not passed) unless the run includes ignored
/// tests, as `make test` does when a server is configured.
/// Runs `body` on a fresh database (PostgreSQL or SQLite) on a runtime of
/// its own: what a property test's case does, outside any async test.
pub fn on_fresh_db<F: std::future::Future<Output = ()>>(
    postgres: bool,
    body: impl FnOnce(crate::Db) -> F,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async move {
        let t = if postgres {
            TestDb::postgres().await
        } else {
            TestDb::sqlite().await
        };
        body(t.db.clone()).await;
        t.finish().await;
    });
}

#[macro_export]
macro_rules! db_test {
    ($(#[$meta:meta])* async fn $name:ident($db:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($db: $crate::Db) $body

            #[tokio::test]
            async fn sqlite() {
                let t = $crate::testing::TestDb::sqlite().await;
                body(t.db.clone()).await;
                t.finish().await;
            }

            #[tokio::test]
            #[ignore = "needs PostgreSQL: set TABLECARD_TEST_POSTGRES_URL (make test then runs it)"]
            async fn postgres() {
                let t = $crate::testing::TestDb::postgres().await;
                body(t.db.clone()).await;
                t.finish().await;
            }
        }
    };
}

/// A sender that keeps what it was asked to send, for tests to read.
#[derive(Debug, Default, Clone)]
pub struct CapturingSender {
    sent: std::sync::Arc<std::sync::Mutex<Vec<crate::marketing::delivery::Sms>>>,
    failing: std::sync::Arc<std::sync::Mutex<Option<crate::marketing::delivery::Failure>>>,
}

impl CapturingSender {
    /// The newest code sent to `phone` (E.164), if any.
    pub fn last_code(&self, phone: &str) -> Option<String> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m.phone.as_str() == phone)
            .and_then(|m| m.code().map(str::to_owned))
    }

    /// Every message sent so far.
    pub fn messages(&self) -> Vec<crate::marketing::delivery::Sms> {
        self.sent.lock().unwrap().clone()
    }

    /// The marketing messages sent so far: (phone, text).
    pub fn notices(&self) -> Vec<(String, String)> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.purpose == crate::marketing::delivery::Purpose::Marketing)
            .map(|m| (m.phone.as_str().to_owned(), m.text.clone()))
            .collect()
    }

    /// The sign-in codes sent so far.
    pub fn count(&self) -> usize {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.purpose == crate::marketing::delivery::Purpose::SignIn)
            .count()
    }

    /// Makes every following send fail, like an SMS provider that is down.
    pub fn fail(&self, failing: bool) {
        self.fail_with(
            failing.then(|| crate::marketing::delivery::Failure::transient("provider down")),
        );
    }

    /// Makes every following send fail so (None: succeed again).
    pub fn fail_with(&self, failure: Option<crate::marketing::delivery::Failure>) {
        *self.failing.lock().unwrap() = failure;
    }
}

#[async_trait::async_trait]
impl crate::marketing::delivery::Sender for CapturingSender {
    async fn send(
        &self,
        sms: &crate::marketing::delivery::Sms,
    ) -> Result<(), crate::marketing::delivery::Failure> {
        if let Some(failure) = self.failing.lock().unwrap().clone() {
            return Err(failure);
        }
        self.sent.lock().unwrap().push(sms.clone());
        Ok(())
    }
}

/// A brand (default rules and tiers) with one store, for tests that need a
/// till: `slug` names the brand, the store is `S1`.
pub async fn brand_with_store(
    db: &crate::Db,
    clock: &dyn crate::Clock,
    slug: &str,
) -> (crate::brands::Brand, crate::brands::stores::StoreId) {
    use crate::brands::stores::{self, NewStore};
    use crate::brands::{self, BrandSlug, Language, NewBrand, ThemeColor};
    let mut tx = db.begin().await.expect("begin");
    let brand = brands::create(
        &mut tx,
        clock,
        NewBrand {
            slug: BrandSlug::parse(slug).expect("slug"),
            name: format!("品牌 {slug}"),
            theme_color: ThemeColor::default(),
            default_language: Language::ZhCn,
        },
    )
    .await
    .expect("create brand");
    let store = stores::create(
        &mut tx,
        clock,
        brand.id,
        NewStore {
            code: "S1".into(),
            name: "一店".into(),
            address: String::new(),
        },
    )
    .await
    .expect("create store");
    tx.commit().await.expect("commit");
    (brand, store.id)
}

/// The server secret of the core's tests.
pub fn secret() -> crate::ServerSecret {
    crate::ServerSecret::from_master(b"test secret")
}

/// A member of `brand` who joined with the mainland number `national`
/// (terms accepted, no marketing), committed.
pub async fn join_member(
    db: &crate::Db,
    clock: &dyn crate::Clock,
    brand: &crate::brands::Brand,
    national: &str,
) -> crate::members::MemberId {
    use crate::members::{self, Consent};
    let mut tx = db.begin().await.expect("begin");
    let (m, _) = members::join(
        &mut tx,
        clock,
        &secret(),
        brand,
        &crate::members::phone::Phone::parse("86", national).expect("phone"),
        Consent {
            terms_accepted: true,
            marketing: false,
        },
    )
    .await
    .expect("join");
    tx.commit().await.expect("commit");
    m.id
}

/// The capability of staff member `staff`, as a signed-in session would
/// give it (tests of the core have no session token to present).
pub async fn staff_capability(db: &Db, staff: crate::staff::StaffId) -> crate::access::Cashier {
    crate::access::Cashier::for_tests(db, staff, None)
        .await
        .expect("the staff member exists")
}

/// An owner of `brand` (a fresh account) and their capability.
pub async fn owner(db: &Db, brand: crate::brands::BrandId) -> crate::access::Owner {
    let mut conn = db.acquire().await.expect("a connection");
    let login = format!("owner{}", rand::thread_rng().gen_range(100_000..1_000_000));
    let made = crate::staff::create(
        &mut conn,
        &crate::SystemClock,
        brand,
        crate::staff::Role::Owner,
        &login,
        "Test owner",
        "a long test password",
    )
    .await
    .expect("an owner account");
    drop(conn);
    staff_capability(db, made.id)
        .await
        .manager()
        .and_then(|m| m.owner())
        .expect("an owner's session is an owner's capability")
}

/// The manager's (or owner's) capability of staff member `staff`.
pub async fn manager(db: &Db, staff: crate::staff::StaffId) -> crate::access::Manager {
    staff_capability(db, staff)
        .await
        .manager()
        .unwrap_or_else(|| panic!("staff member {} manages", staff.0))
}

#[cfg(test)]
mod tests {
    use super::abandoned;

    #[test]
    fn a_test_schema_is_abandoned_an_hour_after_it_was_made() {
        let now = 0x6760_0000;
        assert!(!abandoned(&format!("test_{:x}_0123abcd", now - 60), now));
        assert!(abandoned(&format!("test_{:x}_0123abcd", now - 3601), now));
        assert!(
            abandoned("test_8a0e7abc1850c47b", now),
            "the old names carry no time"
        );
        assert!(!abandoned("public", now));
        assert!(!abandoned("test_bench", now), "not a test's name");
        assert!(!abandoned("test_zz_0123abcd", now));
    }
}
