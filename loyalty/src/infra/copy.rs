//! Moving a restaurant from SQLite to PostgreSQL: every row of a SQLite
//! database copied into an empty PostgreSQL schema, checked as a backup is.
//!
//! The SQLite file is checked first (`integrity_check`, the books balance,
//! the schema this program writes). The PostgreSQL schema is migrated to the
//! same version and must hold no rows. Then, in one PostgreSQL transaction,
//! each table is streamed from one SQLite read transaction (one instant of
//! the database) with `COPY … FROM STDIN`, parents before children; the
//! identity sequences are moved past the copied ids. Before it commits, the
//! same invariants a backup must pass are asked of the copy inside that
//! transaction: every table holds as many rows as its source, every
//! member's points equal their ledger and their lots, every stored-value
//! account its ledger and its top-ups; PostgreSQL checks the foreign keys
//! and the schema's checks. Anything that fails leaves the target as empty
//! as it was.
//!
//! The tables and columns copied are PostgreSQL's (its information schema),
//! each asked of SQLite by name, so a column one side lacks stops the copy
//! with the table named instead of losing data. The schema's own triggers
//! that refuse rewriting history (append-only ledgers, a ledger row only at
//! its account's `seq`) are paused for the copy inside its transaction: the
//! copy writes history in bulk, which those rules exist to forbid to the
//! application; the foreign keys and checks stay on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;

use futures_util::TryStreamExt;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteRow};
use sqlx::{ConnectOptions, Connection, Row, TypeInfo, ValueRef};

use crate::infra::backup::{self, Summary};
use crate::infra::db::{latest_sqlite_migration, redact, Backend, Db, DbOptions};
use crate::{Error, Result};

/// What a copy did, to show the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The SQLite database as it was checked before the copy.
    pub source: Summary,
    /// Every table copied, in the order it was, with its rows.
    pub tables: Vec<(String, u64)>,
}

impl Copied {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// Rows are sent to PostgreSQL in pieces of about this many bytes.
const CHUNK: usize = 1 << 20;

fn fail(why: impl std::fmt::Display) -> Error {
    Error::Copy(why.to_string())
}

/// Copies the SQLite database at `from` into the PostgreSQL schema `to`
/// names (migrated here, and empty), reporting each table as it is done.
pub async fn sqlite_to_postgres(
    from: &Path,
    to: &DbOptions,
    mut progress: impl FnMut(&str, u64),
) -> Result<Copied> {
    let source = backup::verify_as(from, "a database to copy").await?;
    let latest = latest_sqlite_migration();
    if source.schema_version != latest {
        return Err(fail(format!(
            "{} is at schema {}, this program's is {latest}: run `tablecard migrate` on it first \
             (DATABASE_URL=sqlite://{} tablecard migrate)",
            from.display(),
            source.schema_version,
            from.display()
        )));
    }

    // Migrated and found empty through the pool, then copied on a
    // connection of its own (`COPY` is PostgreSQL's, not the pool's).
    open_target(to).await?.close().await;
    let tables = copy_into(from, to, &mut progress).await?;
    Ok(Copied { source, tables })
}

/// The target pool, migrated, after making sure it holds nothing yet.
async fn open_target(to: &DbOptions) -> Result<Db> {
    let target = Db::connect_with(DbOptions {
        max_connections: 2,
        ..to.clone()
    })
    .await
    .map_err(fail)?;
    if target.backend() != Backend::Postgres {
        target.close().await;
        return Err(fail(format!(
            "{} is not a PostgreSQL URL: the copy goes from SQLite to PostgreSQL",
            redact(&to.url)
        )));
    }
    let checked = async {
        target.migrate().await.map_err(|e| {
            fail(format!(
                "cannot bring {} to this program's schema: {e}",
                redact(&to.url)
            ))
        })?;
        for table in base_tables(&target).await? {
            let (has_rows,): (bool,) =
                sqlx::query_as(&format!("SELECT EXISTS (SELECT 1 FROM {})", quoted(&table)))
                    .fetch_one(target.pool())
                    .await?;
            if has_rows {
                return Err(fail(format!(
                    "{} already holds data (table {table} has rows): copy into an empty database \
                     or schema",
                    redact(&to.url)
                )));
            }
        }
        Ok(())
    }
    .await;
    match checked {
        Ok(()) => Ok(target),
        Err(e) => {
            target.close().await;
            Err(e)
        }
    }
}

/// The schema's own tables, without sqlx's bookkeeping.
async fn base_tables(target: &Db) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
           AND table_name <> '_sqlx_migrations' ORDER BY table_name",
    )
    .fetch_all(target.pool())
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A table as PostgreSQL has it: the columns a row is written through (not
/// generated ones), and whether each is `bytea`.
struct Table {
    name: String,
    columns: Vec<(String, bool)>,
}

async fn pg_connection(to: &DbOptions) -> Result<PgConnection> {
    let mut options = PgConnectOptions::from_str(&to.url).map_err(fail)?;
    if let Some(schema) = &to.search_path {
        options = options.options([("search_path", schema.as_str())]);
    }
    // A table read whole is a slow statement by design, not news for the log.
    PgConnection::connect_with(&options.disable_statement_logging())
        .await
        .map_err(|e| fail(format!("cannot connect to {}: {e}", redact(&to.url))))
}

/// The tables in an order where every table comes after those its rows
/// refer to (references deferred to commit, and a table's references to
/// itself, may point either way).
async fn tables_in_order(pg: &mut PgConnection) -> Result<Vec<Table>> {
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT), CAST(data_type AS TEXT) \
         FROM information_schema.columns c \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
           AND is_generated = 'NEVER' \
           AND EXISTS (SELECT 1 FROM information_schema.tables t \
                       WHERE t.table_schema = c.table_schema AND t.table_name = c.table_name \
                         AND t.table_type = 'BASE TABLE') \
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&mut *pg)
    .await?;
    let mut tables: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
    for (table, column, kind) in columns {
        tables
            .entry(table)
            .or_default()
            .push((column, kind == "bytea"));
    }
    let references: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(child.relname AS TEXT), CAST(parent.relname AS TEXT) \
         FROM pg_constraint k \
         JOIN pg_class child ON child.oid = k.conrelid \
         JOIN pg_class parent ON parent.oid = k.confrelid \
         WHERE k.contype = 'f' AND NOT k.condeferrable AND k.conrelid <> k.confrelid \
           AND k.connamespace = CAST(current_schema() AS regnamespace)",
    )
    .fetch_all(&mut *pg)
    .await?;
    let mut parents: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (child, parent) in &references {
        parents.entry(child).or_default().insert(parent);
    }
    let mut order: Vec<Table> = Vec::with_capacity(tables.len());
    let mut placed: BTreeSet<String> = BTreeSet::new();
    while placed.len() < tables.len() {
        let ready: Vec<String> = tables
            .keys()
            .filter(|t| !placed.contains(*t))
            .filter(|t| {
                parents
                    .get(t.as_str())
                    .is_none_or(|ps| ps.iter().all(|p| placed.contains(*p)))
            })
            .cloned()
            .collect();
        if ready.is_empty() {
            let left: Vec<&String> = tables.keys().filter(|t| !placed.contains(*t)).collect();
            return Err(fail(format!(
                "the tables {left:?} refer to each other in a circle: no order copies them"
            )));
        }
        for name in ready {
            placed.insert(name.clone());
            let columns = tables[&name].clone();
            order.push(Table { name, columns });
        }
    }
    Ok(order)
}

/// Checks that SQLite has the tables and columns PostgreSQL has, and no
/// others that would be left behind.
async fn match_sqlite(sqlite: &mut SqliteConnection, tables: &[Table]) -> Result<()> {
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut *sqlite)
    .await?;
    let in_sqlite: BTreeSet<String> = names.into_iter().map(|r| r.0).collect();
    let in_pg: BTreeSet<String> = tables.iter().map(|t| t.name.clone()).collect();
    if let Some(extra) = in_sqlite.difference(&in_pg).next() {
        return Err(fail(format!(
            "SQLite has a table {extra} that PostgreSQL lacks: its rows would be lost"
        )));
    }
    if let Some(missing) = in_pg.difference(&in_sqlite).next() {
        return Err(fail(format!("SQLite lacks the table {missing}")));
    }
    for table in tables {
        let columns: Vec<(String,)> = sqlx::query_as("SELECT name FROM pragma_table_info($1)")
            .bind(&table.name)
            .fetch_all(&mut *sqlite)
            .await?;
        let in_sqlite: BTreeSet<String> = columns.into_iter().map(|r| r.0).collect();
        let in_pg: BTreeSet<String> = table.columns.iter().map(|c| c.0.clone()).collect();
        if in_sqlite != in_pg {
            return Err(fail(format!(
                "table {} differs: SQLite has {:?}, PostgreSQL {:?}",
                table.name,
                in_sqlite.difference(&in_pg).collect::<Vec<_>>(),
                in_pg.difference(&in_sqlite).collect::<Vec<_>>()
            )));
        }
    }
    Ok(())
}

async fn copy_into(
    from: &Path,
    to: &DbOptions,
    progress: &mut impl FnMut(&str, u64),
) -> Result<Vec<(String, u64)>> {
    let mut pg = pg_connection(to).await?;
    let tables = tables_in_order(&mut pg).await?;
    let mut sqlite = SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(from)
            .read_only(true)
            .busy_timeout(std::time::Duration::from_secs(5))
            .disable_statement_logging(),
    )
    .await
    .map_err(|e| fail(format!("cannot open {}: {e}", from.display())))?;
    // Another connection's commit moves this number: a server still
    // writing while the copy runs is found out before PostgreSQL commits.
    let (version_before,): (i64,) = sqlx::query_as("PRAGMA data_version")
        .fetch_one(&mut sqlite)
        .await?;
    // One read transaction: every table as it was at one instant.
    let mut snapshot = sqlite.begin().await?;
    match_sqlite(&mut snapshot, &tables).await?;
    // The ids SQLite has handed out (AUTOINCREMENT), deleted rows' too:
    // PostgreSQL must not hand them out again.
    let handed_out: BTreeMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("SELECT name, seq FROM sqlite_sequence")
            .fetch_all(&mut *snapshot)
            .await
            .unwrap_or_default()
            .into_iter()
            .collect();

    let mut tx = pg.begin().await?;
    for table in &tables {
        sqlx::query(&format!(
            "ALTER TABLE {} DISABLE TRIGGER USER",
            quoted(&table.name)
        ))
        .execute(&mut *tx)
        .await?;
    }
    let mut copied = Vec::with_capacity(tables.len());
    for table in &tables {
        let rows = copy_table(&mut snapshot, &mut tx, table).await?;
        progress(&table.name, rows);
        copied.push((table.name.clone(), rows));
    }
    snapshot.rollback().await?;
    let (version_after,): (i64,) = sqlx::query_as("PRAGMA data_version")
        .fetch_one(&mut sqlite)
        .await?;
    if version_after != version_before {
        return Err(fail(format!(
            "{} changed while it was copied: a Tablecard server is still writing to it. \
             Stop it (every process that uses this file) and copy again; PostgreSQL was left empty",
            from.display()
        )));
    }
    // The references checked at commit are checked now: a table with
    // checks still pending cannot have its triggers turned back on.
    sqlx::query("SET CONSTRAINTS ALL IMMEDIATE")
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            fail(format!(
                "the copied rows do not refer to each other as they must: {}",
                said(&e)
            ))
        })?;
    for table in &tables {
        sqlx::query(&format!(
            "ALTER TABLE {} ENABLE TRIGGER USER",
            quoted(&table.name)
        ))
        .execute(&mut *tx)
        .await?;
    }
    // New rows get ids after the copied ones.
    let identities: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns \
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (table, column) in identities {
        let (t, c) = (quoted(&table), quoted(&column));
        let handed = handed_out.get(&table).copied().unwrap_or(0);
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), GREATEST(COALESCE(MAX({c}), 0), $3, 1), \
             MAX({c}) IS NOT NULL OR $3 > 0) FROM {t}"
        ))
        .bind(&t)
        .bind(&column)
        .bind(handed)
        .execute(&mut *tx)
        .await?;
    }
    check_copy(&mut tx).await?;
    tx.commit().await.map_err(|e| {
        fail(format!(
            "PostgreSQL refused the copied rows when they were committed: {}",
            said(&e)
        ))
    })?;
    let _ = sqlite.close().await;
    let _ = pg.close().await;
    Ok(copied)
}

/// Streams one table from SQLite into `COPY … FROM STDIN`; its row count.
async fn copy_table(
    sqlite: &mut SqliteConnection,
    pg: &mut PgConnection,
    table: &Table,
) -> Result<u64> {
    let list = table
        .columns
        .iter()
        .map(|(c, _)| quoted(c))
        .collect::<Vec<_>>()
        .join(", ");
    let name = quoted(&table.name);
    let mut copy = pg
        .copy_in_raw(&format!("COPY {name} ({list}) FROM STDIN"))
        .await?;
    let select = format!("SELECT {list} FROM {name}");
    let mut rows = sqlx::query(&select).fetch(&mut *sqlite);
    let mut buffer = Vec::with_capacity(CHUNK + 4096);
    let mut read = 0u64;
    let streamed: Result<()> = async {
        while let Some(row) = rows.try_next().await? {
            read += 1;
            write_row(&mut buffer, &row, table).map_err(|why| {
                let id = row
                    .try_get::<i64, _>("id")
                    .map(|id| format!(" (id {id})"))
                    .unwrap_or_default();
                fail(format!("table {}, row {read}{id}: {why}", table.name))
            })?;
            if buffer.len() >= CHUNK {
                copy.send(std::mem::take(&mut buffer)).await?;
                buffer.reserve(CHUNK + 4096);
            }
        }
        if !buffer.is_empty() {
            copy.send(buffer).await?;
        }
        Ok(())
    }
    .await;
    drop(rows);
    if let Err(e) = streamed {
        let _ = copy.abort(e.to_string()).await;
        return Err(e);
    }
    let written = copy.finish().await.map_err(|e| {
        fail(format!(
            "PostgreSQL refused a row of table {}: {}",
            table.name,
            said(&e)
        ))
    })?;
    if written != read {
        return Err(fail(format!(
            "table {}: {read} rows read, {written} written",
            table.name
        )));
    }
    Ok(written)
}

/// What PostgreSQL said, with where (the `COPY` line and column) and the
/// detail (the key), so the operator can find the row.
fn said(e: &sqlx::Error) -> String {
    let Some(db) = e.as_database_error() else {
        return e.to_string();
    };
    let mut out = db.message().to_owned();
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        if let Some(detail) = pg.detail() {
            out.push_str(&format!(" ({detail})"));
        }
        if let Some(at) = pg.r#where() {
            out.push_str(&format!("; at {at}"));
        }
    }
    out
}

/// One row in `COPY`'s text format: tab between values, `\N` for NULL,
/// backslash escapes, `bytea` as `\x` and hex.
fn write_row(out: &mut Vec<u8>, row: &SqliteRow, table: &Table) -> std::result::Result<(), String> {
    for (i, (column, bytea)) in table.columns.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        let value = row.try_get_raw(i).map_err(|e| e.to_string())?;
        if value.is_null() {
            out.extend_from_slice(b"\\N");
            continue;
        }
        let storage = value.type_info().name().to_owned();
        let bad = |e: sqlx::Error| format!("column {column}: {e}");
        match storage.as_str() {
            "INTEGER" => {
                let n: i64 = row.try_get_unchecked(i).map_err(bad)?;
                out.extend_from_slice(n.to_string().as_bytes());
            }
            "REAL" => {
                let x: f64 = row.try_get_unchecked(i).map_err(bad)?;
                out.extend_from_slice(x.to_string().as_bytes());
            }
            "BLOB" | "TEXT" if *bytea => {
                let bytes: Vec<u8> = row.try_get_unchecked(i).map_err(bad)?;
                // `\x…` with its backslash escaped for the text format.
                out.extend_from_slice(b"\\\\x");
                for b in bytes {
                    out.extend_from_slice(format!("{b:02x}").as_bytes());
                }
            }
            "TEXT" => {
                let text: &str = row.try_get_unchecked(i).map_err(bad)?;
                if text.contains('\0') {
                    return Err(format!(
                        "column {column} holds a NUL character, which PostgreSQL's text cannot \
                         hold; correct the value in SQLite and copy again"
                    ));
                }
                escape_text(out, text);
            }
            other => {
                return Err(format!(
                    "column {column} holds a {other} value PostgreSQL's column cannot take"
                ))
            }
        }
    }
    out.push(b'\n');
    Ok(())
}

fn escape_text(out: &mut Vec<u8>, text: &str) {
    for b in text.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// The invariants a backup must pass, asked of the copy before it commits
/// (each table's rows were checked as its `COPY` finished): the books.
async fn check_copy(pg: &mut PgConnection) -> Result<()> {
    let points = crate::points::audit_failures(
        sqlx::query_as(crate::points::AUDIT_SQL)
            .fetch_all(&mut *pg)
            .await?,
    );
    if !points.is_empty() {
        return Err(fail(format!(
            "{} members' points differ from their ledgers in the copy",
            points.len()
        )));
    }
    let stored = crate::stored_value::audit_failures(
        sqlx::query_as(crate::stored_value::AUDIT_SQL)
            .fetch_all(&mut *pg)
            .await?,
    );
    if !stored.is_empty() {
        return Err(fail(format!(
            "{} members' stored value differs from its ledger in the copy",
            stored.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::escape_text;

    #[test]
    fn text_is_escaped_for_copy() {
        let mut out = Vec::new();
        escape_text(&mut out, "a\tb\\c\nd\re 王");
        assert_eq!(String::from_utf8(out).unwrap(), "a\\tb\\\\c\\nd\\re 王");
    }
}
