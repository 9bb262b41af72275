//! Backups of a SQLite database, taken while the server runs, and restores.
//!
//! A backup is `VACUUM INTO`: one read transaction, so the copy is the
//! database as it was at one instant, consistent however busy the server is;
//! it is checked (`integrity_check`, the books balance) before it is called
//! done. A restore checks the backup the same way, keeps the database it
//! replaces beside it, and swaps the file in with a rename, so a crash
//! half-way leaves one or the other, never a mix. PostgreSQL has `pg_dump`
//! and `pg_restore` for both.

use std::path::{Path, PathBuf};

use crate::infra::db::{Backend, Db, DbOptions};
use crate::{Error, Result};

/// What a finished backup or restore holds, to show the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub path: PathBuf,
    pub bytes: u64,
    pub brands: i64,
    pub members: i64,
    pub ledger_rows: i64,
    pub schema_version: i64,
}

/// How to back up and restore PostgreSQL, for the operator who asks us.
pub const POSTGRES_GUIDANCE: &str = "tablecard backup copies SQLite databases. For PostgreSQL \
use its own tools, which take a consistent snapshot while the server runs:\n  \
pg_dump --format=custom --file=tablecard-$(date +%F).dump \"$DATABASE_URL\"\n\
and to restore (server stopped, into an empty or the same database):\n  \
pg_restore --clean --if-exists --no-owner --dbname=\"$DATABASE_URL\" tablecard-YYYY-MM-DD.dump";

/// The file a `sqlite:` URL names.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Backup(format!("{what} {}: {e}", path.display()))
}

/// Copies the live database to `to` (which must not exist) and checks the
/// copy.
pub async fn backup(db: &Db, to: &Path) -> Result<Summary> {
    if db.backend() != Backend::Sqlite {
        return Err(Error::Backup(POSTGRES_GUIDANCE.to_owned()));
    }
    if to.exists() {
        return Err(Error::Backup(format!(
            "{} exists already: a backup never overwrites a file",
            to.display()
        )));
    }
    let target = to
        .to_str()
        .ok_or_else(|| Error::Backup(format!("{} is not a UTF-8 path", to.display())))?;
    // `tablecard backup backups/today.db` on a first run: the folder is made.
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io("cannot create", dir, e))?;
    }
    if let Err(e) = sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(db.pool())
        .await
    {
        // A disk that filled half-way leaves a partial file: not a backup.
        let _ = std::fs::remove_file(to);
        return Err(e.into());
    }
    match verify(to).await {
        Ok(summary) => Ok(summary),
        Err(e) => {
            let _ = std::fs::remove_file(to);
            Err(e)
        }
    }
}

/// Opens a backup read-only and checks that SQLite finds it intact, that it
/// is a Tablecard database no newer than this program, and that every
/// member's balance equals their ledger.
pub async fn verify(path: &Path) -> Result<Summary> {
    verify_as(path, "a usable backup").await
}

/// As [`verify`], saying what the file is not (`"a database to copy"`)
/// when it fails.
pub async fn verify_as(path: &Path, what: &str) -> Result<Summary> {
    let bytes = std::fs::metadata(path)
        .map_err(|e| io("cannot read", path, e))?
        .len();
    let url = format!("sqlite://{}?mode=ro", path.display());
    let db = Db::connect_with(DbOptions {
        max_connections: 1,
        ..DbOptions::new(url)
    })
    .await
    .map_err(|e| Error::Backup(format!("{} is not a database: {e}", path.display())))?;
    let result = summarize(&db, path, bytes, what).await;
    db.close().await;
    result
}

async fn summarize(db: &Db, path: &Path, bytes: u64, what: &str) -> Result<Summary> {
    let bad = |why: String| Error::Backup(format!("{} is not {what}: {why}", path.display()));
    let (check,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(db.pool())
        .await
        .map_err(|e| bad(e.to_string()))?;
    if check != "ok" {
        return Err(bad(format!("SQLite reports {check}")));
    }
    let (schema_version,): (i64,) =
        sqlx::query_as("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(db.pool())
            .await
            .map_err(|_| bad("it has no Tablecard schema".into()))?;
    let known = crate::infra::db::latest_sqlite_migration();
    if schema_version > known {
        return Err(bad(format!(
            "it is from a newer Tablecard (schema {schema_version}, this program knows {known})"
        )));
    }
    let stored = crate::stored_value::audit(db).await?;
    if !stored.is_empty() {
        return Err(bad(format!(
            "{} members' stored value differs from its ledger",
            stored.len()
        )));
    }
    let unbalanced = crate::points::audit(db).await?;
    if !unbalanced.is_empty() {
        return Err(bad(format!(
            "{} members' balances differ from their ledgers",
            unbalanced.len()
        )));
    }
    let count = |sql: &'static str| async move {
        sqlx::query_as::<_, (i64,)>(sql)
            .fetch_one(db.pool())
            .await
            .map(|r| r.0)
    };
    Ok(Summary {
        path: path.to_owned(),
        bytes,
        brands: count("SELECT COUNT(*) FROM brands").await?,
        members: count("SELECT COUNT(*) FROM members").await?,
        ledger_rows: count("SELECT COUNT(*) FROM points_ledger").await?,
        schema_version,
    })
}

/// Puts `backup` in the place of the database at `target` (the server must
/// be stopped). The database it replaces is first folded into its one file
/// (its write-ahead log checkpointed) and kept, as a hard link, under
/// `<target>.before-restore-<unix seconds>`; then one rename puts the
/// checked copy in its place, so at every moment `target` is the old
/// database or the new one. The restored one is migrated to this program's
/// schema.
pub async fn restore(
    backup: &Path,
    target: &Path,
    now_secs: i64,
) -> Result<(Summary, Option<PathBuf>)> {
    verify(backup).await?;
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io("cannot create", dir, e))?;
    let with = |suffix: &str| {
        let mut name = target.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let kept = if target.exists() {
        // Everything the old database holds moves into its main file, so
        // that one file (kept below) is the whole of it.
        let url = format!("sqlite://{}", target.display());
        let old = Db::connect_with(DbOptions {
            max_connections: 1,
            ..DbOptions::new(url)
        })
        .await
        .map_err(|e| Error::Backup(format!("cannot open {}: {e}", target.display())))?;
        let folded =
            sqlx::raw_sql("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;")
                .execute(old.pool())
                .await;
        old.close().await;
        folded.map_err(|e| {
            Error::Backup(format!(
                "cannot fold {}'s write-ahead log (is a server still using it?): {e}",
                target.display()
            ))
        })?;
        let kept = with(&format!(".before-restore-{now_secs}"));
        // A link, not a move: the old database stays where it is until the
        // new one replaces it. An existing name is never overwritten.
        std::fs::hard_link(target, &kept)
            .map_err(|e| io("cannot keep the old database as", &kept, e))?;
        Some(kept)
    } else {
        None
    };
    let where_kept = || {
        kept.as_ref()
            .map(|k| format!(" (the old database is kept as {})", k.display()))
            .unwrap_or_default()
    };
    // The copy goes beside the target first, so the swap is one rename.
    let incoming = with(".restoring");
    let swapped = std::fs::copy(backup, &incoming)
        .and_then(|_| std::fs::File::open(&incoming)?.sync_all())
        .and_then(|_| std::fs::rename(&incoming, target));
    if let Err(e) = swapped {
        let _ = std::fs::remove_file(&incoming);
        return Err(Error::Backup(format!(
            "cannot put the backup in place of {}: {e}{}",
            target.display(),
            where_kept()
        )));
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    let url = format!("sqlite://{}", target.display());
    let migrated = async {
        let db = Db::connect(&url).await.map_err(|e| e.to_string())?;
        let done = db.migrate().await.map_err(|e| e.to_string());
        db.close().await;
        done
    }
    .await;
    if let Err(e) = migrated {
        return Err(Error::Backup(format!(
            "the backup is in place but cannot be migrated: {e}{}",
            where_kept()
        )));
    }
    Ok((verify(target).await?, kept))
}
