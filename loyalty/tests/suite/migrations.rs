//! Upgrading a SQLite database that already holds points: the ledger is
//! rebuilt (SQLite cannot widen its CHECK in place) and nothing that
//! pointed at it may break.

use std::borrow::Cow;

use loyalty::Db;
use sqlx::migrate::Migrator;

#[tokio::test]
async fn a_database_with_points_upgrades_without_losing_a_row_or_a_reference() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("old.db").display()))
        .await
        .unwrap();
    // The schema as it was before feedback (migrations 1–6).
    let mut old = Migrator::new(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/migrations/sqlite"
    )))
    .await
    .unwrap();
    old.migrations = Cow::Owned(
        old.migrations
            .iter()
            .filter(|m| m.version <= 6)
            .cloned()
            .collect(),
    );
    old.run(db.pool()).await.unwrap();

    // Rows as that schema had them (today's code writes today's columns).
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
    ] {
        sqlx::query(sql).bind(brand_id).execute(db.pool()).await.unwrap();
    }

    db.migrate().await.expect("the upgrade applies");

    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, ref_type FROM points_ledger ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(rows, vec![(1, "purchase".into()), (2, "redemption".into())]);
    assert_eq!(loyalty::points::audit(&db).await.unwrap(), vec![]);
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
