//! Store API keys for the POS: shown once at creation, stored as SHA-256.
//! A key acts for exactly one store of one brand.

use rand::Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use crate::brands::key_cache::Found;
use crate::brands::stores::StoreId;
use crate::brands::BrandId;
use crate::infra::secret::hex;
use crate::{brands, Clock, Db, Error, Result};

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// `tck_` and 40 base32 characters: 200 bits.
const SECRET_LEN: usize = 40;

/// The key as the POS holds it. Only ever shown once.
pub struct NewKey {
    pub id: i64,
    pub key: String,
    pub prefix: String,
}

fn hash(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

pub async fn create(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    store: StoreId,
    name: &str,
) -> Result<NewKey> {
    let name = brands::check_name("name", name, 60)?;
    let mut rng = rand::rngs::OsRng;
    let secret: String = (0..SECRET_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    let key = format!("tck_{secret}");
    let prefix = key[..12].to_owned();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO api_keys (brand_id, store_id, name, prefix, key_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(brand.0)
    .bind(store.0)
    .bind(&name)
    .bind(&prefix)
    .bind(hash(&key))
    .bind(clock.now_ms())
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match crate::error::violation(&e) {
        Some(crate::error::Violation::ForeignKey) => Error::StoreNotFound,
        _ => e.into(),
    })?;
    Ok(NewKey { id, key, prefix })
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    key_id: i64,
    store_id: i64,
    last_used_at: Option<i64>,
    #[sqlx(flatten)]
    brand: brands::BrandRow,
}

/// The live key matching `presented`, if any. Marks it used (at most once a
/// minute, so a busy till does not turn every read into a write). A key
/// read in the last seconds is taken from memory
/// ([`super::key_cache`]).
pub async fn authenticate(
    db: &Db,
    clock: &dyn Clock,
    presented: &str,
) -> Result<Option<crate::access::PosKey>> {
    if !presented.starts_with("tck_") || presented.len() != 4 + SECRET_LEN {
        return Ok(None);
    }
    let hashed = hash(presented);
    let cache = db.key_cache();
    let (cached, generation) = cache.get(&hashed);
    let from_db = cached.is_none();
    let mut found = match cached {
        Some(found) => found,
        None => match read(db, &hashed).await? {
            Some(found) => found,
            None => return Ok(None),
        },
    };
    let now = clock.now_ms();
    let touch = found.last_used.is_none_or(|t| now - t > 60_000);
    if touch {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(found.key.key_id())
            .execute(db.pool())
            .await?;
        found.last_used = Some(now);
    }
    if !(from_db || touch) {
        return Ok(Some(found.key));
    }
    let key = found.key.clone();
    cache.put(generation, hashed, found);
    Ok(Some(key))
}

/// The live key hashed to `hashed`, and its brand, in one statement.
async fn read(db: &Db, hashed: &str) -> Result<Option<Found>> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT k.id AS key_id, k.store_id, k.last_used_at, {} \
             FROM api_keys k JOIN brands b ON b.id = k.brand_id \
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
            brands::brand_columns_of("b")
        )
    });
    let read_at = std::time::Instant::now();
    let row: Option<KeyRow> = sqlx::query_as(&SQL)
        .bind(hashed)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|row| Found {
        key: crate::access::PosKey::new(row.key_id, row.brand.into(), StoreId(row.store_id)),
        last_used: row.last_used_at,
        read_at,
    }))
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct KeyInfo {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub async fn list(db: &Db, brand: BrandId, store: StoreId) -> Result<Vec<KeyInfo>> {
    let rows: Vec<KeyInfo> = sqlx::query_as(
        "SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_keys \
         WHERE brand_id = $1 AND store_id = $2 ORDER BY id",
    )
    .bind(brand.0)
    .bind(store.0)
    .fetch_all(db.pool())
    .await?;
    Ok(rows)
}

/// An owner's new key for one of their stores, audited. The key itself is
/// shown once and never stored.
pub async fn create_as(
    db: &Db,
    clock: &dyn Clock,
    owner: &crate::access::Owner,
    store: StoreId,
    name: &str,
) -> Result<NewKey> {
    let name = if name.trim().is_empty() { "POS" } else { name };
    let mut tx = db.begin().await?;
    let key = create(&mut tx, clock, owner.brand().id, store, name).await?;
    let change = crate::staff::audit::Change {
        action: "api_key.create",
        store: Some(store),
        target_type: "api_key",
        target_id: Some(key.id),
        before: None,
        after: Some(serde_json::json!({ "name": name.trim(), "prefix": key.prefix })),
    };
    crate::staff::audit::record(&mut tx, clock, &owner.actor(), change).await?;
    tx.commit().await?;
    Ok(key)
}

/// An owner withdraws one of their brand's keys, audited; a key already
/// revoked (or not theirs) is `ApiKeyNotFound`.
pub async fn revoke_as(
    db: &Db,
    clock: &dyn Clock,
    owner: &crate::access::Owner,
    key: i64,
) -> Result<()> {
    let mut tx = db.begin().await?;
    revoke(&mut tx, clock, owner.brand().id, key).await?;
    let change = crate::staff::audit::Change {
        action: "api_key.revoke",
        store: None,
        target_type: "api_key",
        target_id: Some(key),
        before: Some(serde_json::json!({ "revoked": false })),
        after: Some(serde_json::json!({ "revoked": true })),
    };
    crate::staff::audit::record(&mut tx, clock, &owner.actor(), change).await?;
    tx.commit().await?;
    db.auth_changed();
    Ok(())
}

/// Revokes a key in the transaction `conn`; once it is committed, tell
/// the server ([`Db::auth_changed`]), which may have it in memory.
pub async fn revoke(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    key: i64,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND brand_id = $3 AND revoked_at IS NULL",
    )
    .bind(clock.now_ms())
    .bind(key)
    .bind(brand.0)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(Error::ApiKeyNotFound)
    }
}
