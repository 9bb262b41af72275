//! Upgrading a database that already holds points, on both backends: SQLite
//! rebuilds the ledger (it cannot widen a CHECK in place), PostgreSQL
//! alters it, and on neither may a row or a reference get lost.

use std::borrow::Cow;

use loyalty::testing::TestDb;
use loyalty::Db;
use sqlx::migrate::Migrator;

/// The schema as it was before feedback (migrations 1–6): the migrations of
/// `backend` (a folder under migrations/) up to that version, run from the
/// same files `Db::migrate` embeds, so it recognises them as applied.
async fn before_feedback(backend: &str) -> Migrator {
    let dir = format!("{}/migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
    let mut old = Migrator::new(std::path::Path::new(&dir)).await.unwrap();
    old.migrations = Cow::Owned(
        old.migrations
            .iter()
            .filter(|m| m.version <= 6)
            .cloned()
            .collect(),
    );
    old
}

/// Rows as that schema had them (today's code writes today's columns): a
/// brand with a store, a member with points earned and partly spent, and a
/// job run still under way.
async fn fill_old_schema(db: &Db) -> i64 {
    sqlx::query("INSERT INTO brands (slug, name, created_at) VALUES ('laoma', '老马家', 0)")
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO stores (brand_id, code, name, created_at) VALUES (1, 'S1', '一店', 0)",
    )
    .execute(db.pool())
    .await
    .unwrap();
    let brand_id: i64 = 1;
    for sql in [
        "INSERT INTO members (brand_id, member_no, phone, terms_version, terms_accepted_at, created_at) \
         VALUES ($1, '12345678', '+8613800138000', 'v1', 0, 0)",
        "INSERT INTO points_ledger (brand_id, member_id, kind, amount, reason, ref_type, created_at) \
         VALUES ($1, 1, 'earn', 120, 'purchase', 'purchase', 0)",
        "INSERT INTO points_lots (brand_id, member_id, ledger_id, earned, remaining, created_at) \
         VALUES ($1, 1, 1, 120, 100, 0)",
        "INSERT INTO points_ledger (brand_id, member_id, kind, amount, reason, ref_type, created_at) \
         VALUES ($1, 1, 'spend', -20, 'points as payment', 'redemption', 0)",
        "INSERT INTO points_lot_moves (ledger_id, lot_id, amount) VALUES (2, 1, 20)",
        "UPDATE members SET points_balance = 100 WHERE id = 1 AND $1 > 0",
        "INSERT INTO job_runs (job, brand_id, period, started_at) VALUES ('tier_review', $1, '2026-11', 5)",
    ] {
        sqlx::query(sql)
            .bind(brand_id)
            .execute(db.pool())
            .await
            .unwrap();
    }
    brand_id
}

/// After `db.migrate()`: every row and reference of `fill_old_schema` is
/// there, and the ledger takes what only the new schema allows.
async fn assert_nothing_lost(db: &Db, brand_id: i64) {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, ref_type FROM points_ledger ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(rows, vec![(1, "purchase".into()), (2, "redemption".into())]);
    let lots: Vec<(i64, i64, i64)> =
        sqlx::query_as("SELECT id, ledger_id, remaining FROM points_lots ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(lots, vec![(1, 1, 100)]);
    let moves: Vec<(i64, i64, i64)> =
        sqlx::query_as("SELECT ledger_id, lot_id, amount FROM points_lot_moves ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(moves, vec![(2, 1, 20)]);
    assert_eq!(loyalty::points::audit(db).await.unwrap(), vec![]);
    // A run under way gets a lease that lapsed when it started: the
    // scheduler may take it over.
    let runs: Vec<(String, i64, Option<i64>, i64)> =
        sqlx::query_as("SELECT job, lease_until, finished_at, attempts FROM job_runs")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(runs, vec![("tier_review".into(), 5, None, 1)]);

    // The new kind of reference is allowed, and foreign keys are enforced again.
    sqlx::query(
        "INSERT INTO points_ledger (brand_id, member_id, kind, amount, reason, ref_type, created_at) \
         VALUES ($1, 1, 'earn', 10, 'feedback reward', 'feedback', 0)",
    )
    .bind(brand_id)
    .execute(db.pool())
    .await
    .unwrap();
    let dangling =
        sqlx::query("INSERT INTO points_lot_moves (ledger_id, lot_id, amount) VALUES (999, 1, 1)")
            .execute(db.pool())
            .await;
    assert!(
        dangling.is_err(),
        "a move to a ledger row that does not exist is refused"
    );
    let (next,): (i64,) = sqlx::query_as(
        "INSERT INTO points_ledger (brand_id, member_id, kind, amount, reason, created_at) \
         VALUES ($1, 1, 'adjust', 1, 'x', 0) RETURNING id",
    )
    .bind(brand_id)
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(next, 4, "ids carry on where they were");
}

/// Brings an empty database to the schema before feedback, fills it the way
/// that schema's code did, migrates it to today's and checks every row.
async fn upgrades_without_losing_anything(db: &Db, backend: &str) {
    before_feedback(backend).await.run(db.pool()).await.unwrap();
    let brand_id = fill_old_schema(db).await;
    db.migrate().await.expect("the upgrade applies");
    assert_nothing_lost(db, brand_id).await;
}

#[tokio::test]
async fn a_database_with_points_upgrades_without_losing_a_row_or_a_reference() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("old.db").display()))
        .await
        .unwrap();
    upgrades_without_losing_anything(&db, "sqlite").await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TABLECARD_TEST_POSTGRES_URL (make test then runs it)"]
async fn a_postgres_schema_with_points_upgrades_without_losing_a_row_or_a_reference() {
    let t = TestDb::postgres_empty().await;
    let db = t.db.clone();
    upgrades_without_losing_anything(&db, "postgres").await;
    t.finish().await;
}
