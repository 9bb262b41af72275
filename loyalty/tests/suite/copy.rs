//! The move from SQLite to PostgreSQL: every value arrives as it was
//! (bytes, text with tabs and backslashes), ids SQLite handed out are not
//! handed out again, and when something is wrong nothing is half-copied.
//! (The whole move, after real traffic and an import, served by a server on
//! PostgreSQL: `server/tests/suite/crash.rs`.)

use loyalty::infra::copy;
use loyalty::testing::TestDb;
use loyalty::SystemClock;

/// A SQLite database with the demo brand, and its brand.
async fn demo_source() -> (TestDb, loyalty::brands::Brand) {
    let source = TestDb::sqlite().await;
    loyalty::infra::demo::seed(&source.db, &SystemClock)
        .await
        .unwrap();
    let brand = loyalty::brands::find_by_slug(
        &source.db,
        &loyalty::brands::BrandSlug::parse("demo").unwrap(),
    )
    .await
    .unwrap();
    (source, brand)
}

/// Copies `source` into `target`, reporting each table to `progress`.
async fn copy_into(
    source: &TestDb,
    target: &TestDb,
    progress: impl FnMut(&str, u64),
) -> loyalty::Result<copy::Copied> {
    copy::sqlite_to_postgres(
        &source.sqlite_file().unwrap(),
        &target.postgres_options().unwrap(),
        progress,
    )
    .await
}

/// Every row of every table, each value as text (bytes as hex), sorted:
/// the same on both databases when the copy is faithful.
async fn contents(db: &loyalty::Db) -> Vec<(String, Vec<Vec<Option<String>>>)> {
    let sqlite = db.backend() == loyalty::Backend::Sqlite;
    let mut out = Vec::new();
    for table in loyalty::testing::table_names(db).await {
        let blobs: Vec<(String,)> = sqlx::query_as(if sqlite {
            "SELECT name FROM pragma_table_info($1) WHERE type = 'BLOB'"
        } else {
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 AND data_type = 'bytea'"
        })
        .bind(&table)
        .fetch_all(db.pool())
        .await
        .unwrap();
        // By name: the two schemas may order a table's columns differently.
        let mut columns = loyalty::testing::column_names(db, &table).await;
        columns.sort();
        let select: Vec<String> = columns
            .iter()
            .map(|c| match (blobs.iter().any(|b| &b.0 == c), sqlite) {
                (true, true) => format!("lower(hex({c}))"),
                (true, false) => format!("encode({c}, 'hex')"),
                (false, _) => format!("CAST({c} AS TEXT)"),
            })
            .collect();
        let sql = format!("SELECT {} FROM {table}", select.join(", "));
        let rows = sqlx::query(&sql).fetch_all(db.pool()).await.unwrap();
        let mut rows: Vec<Vec<Option<String>>> = rows
            .iter()
            .map(|r| {
                (0..columns.len())
                    .map(|i| sqlx::Row::try_get::<Option<String>, _>(r, i).unwrap())
                    .collect()
            })
            .collect();
        rows.sort();
        out.push((table, rows));
    }
    out
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TABLECARD_TEST_POSTGRES_URL (make test then runs it)"]
async fn every_value_arrives_as_it_was_and_no_id_is_handed_out_twice() {
    let clock = SystemClock;
    let (source, brand) = demo_source().await;
    // Bytes (a logo with every byte value), and text COPY must escape.
    let logo: Vec<u8> = (0..=255u8).cycle().take(1_000).collect();
    sqlx::query(
        "INSERT INTO brand_logos (brand_id, content_type, bytes, updated_at) VALUES ($1, 'image/png', $2, 1)",
    )
    .bind(brand.id.0)
    .bind(&logo)
    .execute(source.db.pool())
    .await
    .unwrap();
    sqlx::query("UPDATE stores SET address = 'Tab\there, back\\slash,\nnew line\r and 王府井' WHERE code = 'SH01'")
        .execute(source.db.pool())
        .await
        .unwrap();
    loyalty::testing::join_member(&source.db, &clock, &brand, "13700137000").await;
    // A sign-in code with the highest id, deleted (as codes are purged).
    sqlx::query(
        "INSERT INTO login_codes (id, brand_id, phone, client_ip, code_hash, created_at, expires_at) \
         VALUES (900, $1, '+8613700137001', '127.0.0.1', $2, 1, 2)",
    )
    .bind(brand.id.0)
    .bind("a".repeat(64))
    .execute(source.db.pool())
    .await
    .unwrap();
    sqlx::query("DELETE FROM login_codes WHERE id = 900")
        .execute(source.db.pool())
        .await
        .unwrap();

    let target = TestDb::postgres_empty().await;
    copy_into(&source, &target, |_, _| {}).await.unwrap();
    let (copied, original) = (contents(&target.db).await, contents(&source.db).await);
    assert_eq!(copied.len(), original.len());
    for ((table, rows), (_, was)) in copied.iter().zip(&original) {
        assert_eq!(rows, was, "the rows of {table}");
    }
    let (address,): (String,) = sqlx::query_as("SELECT address FROM stores WHERE code = 'SH01'")
        .fetch_one(target.db.pool())
        .await
        .unwrap();
    assert_eq!(address, "Tab\there, back\\slash,\nnew line\r and 王府井");
    let (bytes,): (Vec<u8>,) = sqlx::query_as("SELECT bytes FROM brand_logos")
        .fetch_one(target.db.pool())
        .await
        .unwrap();
    assert_eq!(bytes, logo);
    let (next,): (i64,) = sqlx::query_as(
        "INSERT INTO login_codes (brand_id, phone, client_ip, code_hash, created_at, expires_at) \
         VALUES ($1, '+8613700137002', '127.0.0.1', $2, 1, 2) RETURNING id",
    )
    .bind(brand.id.0)
    .bind("b".repeat(64))
    .fetch_one(target.db.pool())
    .await
    .unwrap();
    assert!(next > 900, "id {next}: SQLite had handed out 900 already");
    target.finish().await;
    source.finish().await;
}

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
    let (source, _) = demo_source().await;
    // SQLite keeps a NUL inside text; PostgreSQL's text cannot hold one.
    sqlx::query("UPDATE stores SET name = 'Bund' || char(0) || 'Store' WHERE code = 'SH02'")
        .execute(source.db.pool())
        .await
        .unwrap();
    let target = TestDb::postgres_empty().await;
    let mut reported = Vec::new();
    let err = copy_into(&source, &target, |table, rows| {
        reported.push((table.to_owned(), rows))
    })
    .await
    .unwrap_err();
    assert_eq!(err.code(), "copy_failed");
    assert!(
        err.to_string()
            .contains("table stores, row 2 (id 2): column name holds a NUL"),
        "names the table, the row and the column: {err}"
    );
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
    let copied = copy_into(&source, &target, |_, _| {}).await.unwrap();
    assert_eq!(copied.source.brands, 1);
    assert_eq!(rows_in(&target.db).await, rows_in(&source.db).await);
    target.finish().await;
    source.finish().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TABLECARD_TEST_POSTGRES_URL (make test then runs it)"]
async fn a_database_whose_books_do_not_balance_is_not_copied() {
    let clock = SystemClock;
    let (source, brand) = demo_source().await;
    loyalty::testing::join_member(&source.db, &clock, &brand, "13700137000").await;
    sqlx::query("UPDATE members SET points_balance = points_balance + 100")
        .execute(source.db.pool())
        .await
        .unwrap();
    let target = TestDb::postgres_empty().await;
    let err = copy_into(&source, &target, |_, _| {}).await.unwrap_err();
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

#[tokio::test]
#[ignore = "needs PostgreSQL: set TABLECARD_TEST_POSTGRES_URL (make test then runs it)"]
async fn a_database_written_to_while_it_is_copied_is_not_copied() {
    let (source, _) = demo_source().await;
    // A server that is still running, whatever address it listens on.
    let writer = source.db.clone();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = done.clone();
    let writes = tokio::spawn(async move {
        let mut n = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            sqlx::query("UPDATE stores SET address = $1 WHERE code = 'SH01'")
                .bind(format!("address {n}"))
                .execute(writer.pool())
                .await
                .unwrap();
            n += 1;
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        n
    });
    let target = TestDb::postgres_empty().await;
    let err = copy_into(&source, &target, |_, _| {}).await.unwrap_err();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(writes.await.unwrap() > 0);
    assert!(
        err.to_string().contains("changed while it was copied"),
        "{err}"
    );
    let left = rows_in(&target.db).await;
    assert!(left.iter().all(|(_, n)| *n == 0), "{left:?}");
    target.finish().await;
    source.finish().await;
}
