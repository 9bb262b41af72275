//! The database test harness: every test gets a fresh, migrated database —
//! a temporary SQLite file always, and a schema of its own on PostgreSQL
//! when `TABLECARD_TEST_POSTGRES_URL` is set (required when `CI` is set).

use rand::Rng;

use crate::db::{Db, DbOptions};

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
    /// small file system, to fill it up).
    pub async fn sqlite_in(dir: tempfile::TempDir) -> TestDb {
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let db = Db::connect(&url).await.expect("open test SQLite database");
        db.migrate().await.expect("migrate test SQLite database");
        TestDb {
            db,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// None when no PostgreSQL URL is configured outside CI; in CI a missing
    /// URL fails the test, so the PostgreSQL suite can never be skipped there.
    pub async fn postgres() -> Option<TestDb> {
        TestDb::postgres_through(None).await
    }

    /// As `postgres`, but the pool connects through `proxy` (host:port)
    /// instead of the server's own address: a test can cut the line.
    pub async fn postgres_through(proxy: Option<&str>) -> Option<TestDb> {
        let url = match std::env::var(POSTGRES_URL_VAR) {
            Ok(url) if !url.is_empty() => url,
            _ => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "{POSTGRES_URL_VAR} must be set in CI: the PostgreSQL suite is required there"
                );
                return None;
            }
        };
        let suffix: u64 = rand::thread_rng().r#gen();
        let schema = format!("test_{suffix:016x}");
        let admin = Db::connect_with(DbOptions {
            max_connections: 1,
            ..DbOptions::new(url.clone())
        })
        .await
        .expect("connect to PostgreSQL test server");
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
        db.migrate().await.expect("migrate test schema");
        Some(TestDb {
            db,
            cleanup: Cleanup::Postgres { url, schema },
        })
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

/// Declares one async test that runs on SQLite and, when configured, on
/// PostgreSQL: `db_test!(async fn name(db) { ... })` makes `name::sqlite` and
/// `name::postgres`, each on a fresh database.
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
            async fn postgres() {
                if let Some(t) = $crate::testing::TestDb::postgres().await {
                    body(t.db.clone()).await;
                    t.finish().await;
                }
            }
        }
    };
}

/// A code sender that keeps what it was asked to send, for tests to read.
#[derive(Debug, Default, Clone)]
pub struct CapturingSender {
    sent: std::sync::Arc<std::sync::Mutex<Vec<crate::delivery::CodeMessage>>>,
    notices: std::sync::Arc<std::sync::Mutex<Vec<crate::delivery::Notice>>>,
    failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
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
            .map(|m| m.code.as_str().to_owned())
    }

    /// The marketing messages sent so far: (phone, text).
    pub fn notices(&self) -> Vec<(String, String)> {
        self.notices
            .lock()
            .unwrap()
            .iter()
            .map(|n| (n.phone.as_str().to_owned(), n.text.clone()))
            .collect()
    }

    pub fn count(&self) -> usize {
        self.sent.lock().unwrap().len()
    }

    /// Makes every following send fail, like an SMS provider that is down.
    pub fn fail(&self, failing: bool) {
        self.failing
            .store(failing, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl crate::delivery::CodeSender for CapturingSender {
    async fn send(
        &self,
        message: &crate::delivery::CodeMessage,
    ) -> Result<(), crate::delivery::DeliveryError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(crate::delivery::DeliveryError("provider down".into()));
        }
        self.sent.lock().unwrap().push(message.clone());
        Ok(())
    }

    async fn notify(
        &self,
        notice: &crate::delivery::Notice,
    ) -> Result<(), crate::delivery::DeliveryError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(crate::delivery::DeliveryError("provider down".into()));
        }
        self.notices.lock().unwrap().push(notice.clone());
        Ok(())
    }
}

/// A brand (default rules and tiers) with one store, for tests that need a
/// till: `slug` names the brand, the store is `S1`.
pub async fn brand_with_store(
    db: &crate::Db,
    clock: &dyn crate::Clock,
    slug: &str,
) -> (crate::brands::Brand, crate::stores::StoreId) {
    use crate::brands::{self, BrandSlug, Language, NewBrand, ThemeColor};
    use crate::stores::{self, NewStore};
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
        brand,
        &crate::phone::Phone::parse("86", national).expect("phone"),
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
