//! The move from SQLite to PostgreSQL when something is wrong: nothing is
//! half-copied. (The whole move, after real traffic and an import, served
//! by a server on PostgreSQL: `server/tests/suite/crash.rs`.)

use loyalty::infra::copy;
use loyalty::testing::TestDb;
use loyalty::SystemClock;

/// Every table of the target, with the rows it holds.
async fn rows_in(db: &loyalty::Db) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for table in loyalty::testing::table_names(db).await {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(db.pool())
            .await
            .unwrap();
        out.push((table, n));
    }
    out
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TABLECARD_TEST_POSTGRES_URL (make test then runs it)"]
async fn a_row_postgresql_refuses_stops_the_copy_and_leaves_the_target_empty() {
    let source = TestDb::sqlite().await;
    loyalty::infra::demo::seed(&source.db, &SystemClock)
        .await
        .unwrap();
    // SQLite keeps a NUL inside text; PostgreSQL's text cannot hold one.
    sqlx::query("UPDATE stores SET name = 'Bund' || char(0) || 'Store' WHERE code = 'SH02'")
        .execute(source.db.pool())
        .await
        .unwrap();
    let target = TestDb::postgres_empty().await;
    let mut reported = Vec::new();
    let err = copy::sqlite_to_postgres(
        &source.sqlite_file().unwrap(),
        &target.postgres_options().unwrap(),
        |table, rows| reported.push((table.to_owned(), rows)),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "copy_failed");
    assert!(err.to_string().contains("stores"), "names the table: {err}");
    assert!(
        reported.iter().any(|(t, n)| t == "brands" && *n == 1),
        "the tables before it were copied: {reported:?}"
    );
    let left = rows_in(&target.db).await;
    assert!(!left.is_empty(), "the schema was migrated");
    assert!(
        left.iter().all(|(_, n)| *n == 0),
        "nothing stays half-copied: {left:?}"
    );

    // Mended, the same target takes the copy.
    sqlx::query("UPDATE stores SET name = 'Bund Store' WHERE code = 'SH02'")
        .execute(source.db.pool())
        .await
        .unwrap();
    let copied = copy::sqlite_to_postgres(
        &source.sqlite_file().unwrap(),
        &target.postgres_options().unwrap(),
        |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(copied.source.brands, 1);
    assert_eq!(rows_in(&target.db).await, rows_in(&source.db).await);
    target.finish().await;
    source.finish().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TABLECARD_TEST_POSTGRES_URL (make test then runs it)"]
async fn a_database_whose_books_do_not_balance_is_not_copied() {
    let source = TestDb::sqlite().await;
    let clock = SystemClock;
    loyalty::infra::demo::seed(&source.db, &clock)
        .await
        .unwrap();
    let brand = loyalty::brands::find_by_slug(
        &source.db,
        &loyalty::brands::BrandSlug::parse("demo").unwrap(),
    )
    .await
    .unwrap();
    loyalty::testing::join_member(&source.db, &clock, &brand, "13700137000").await;
    sqlx::query("UPDATE members SET points_balance = points_balance + 100")
        .execute(source.db.pool())
        .await
        .unwrap();
    let target = TestDb::postgres_empty().await;
    let err = copy::sqlite_to_postgres(
        &source.sqlite_file().unwrap(),
        &target.postgres_options().unwrap(),
        |_, _| {},
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("balances differ from their ledgers"),
        "{err}"
    );
    assert_eq!(
        loyalty::testing::table_names(&target.db).await,
        Vec::<String>::new(),
        "refused before PostgreSQL was touched"
    );
    target.finish().await;
    source.finish().await;
}
