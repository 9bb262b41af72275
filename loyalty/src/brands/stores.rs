//! Stores (门店) of a brand.

use serde::{Deserialize, Serialize};

use crate::brands::{check_name, BrandId};
use crate::error::{violation, Invalid, Violation};
use sqlx::AnyConnection;

use crate::{Clock, Db, Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StoreId(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Store {
    pub id: StoreId,
    pub brand_id: BrandId,
    pub code: String,
    pub name: String,
    pub address: String,
}

#[derive(Debug, Clone)]
pub struct NewStore {
    pub code: String,
    pub name: String,
    pub address: String,
}

/// A store code is what staff and receipts use: 1–20 of `A-Z 0-9 - _`, kept uppercase.
fn check_code(code: &str) -> Result<String> {
    let code = code.trim().to_ascii_uppercase();
    if code.is_empty() {
        return Err(Error::invalid("store_code", Invalid::Empty));
    }
    if code.len() > 20 {
        return Err(Error::invalid("store_code", Invalid::TooLong { max: 20 }));
    }
    if !code
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(Error::invalid("store_code", Invalid::Characters));
    }
    Ok(code)
}

#[derive(sqlx::FromRow)]
struct StoreRow {
    id: i64,
    brand_id: i64,
    code: String,
    name: String,
    address: String,
}

impl From<StoreRow> for Store {
    fn from(r: StoreRow) -> Self {
        Store {
            id: StoreId(r.id),
            brand_id: BrandId(r.brand_id),
            code: r.code,
            name: r.name,
            address: r.address,
        }
    }
}

pub async fn create(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    new: NewStore,
) -> Result<Store> {
    let code = check_code(&new.code)?;
    let name = check_name("name", &new.name, 80)?;
    let row: StoreRow = sqlx::query_as(
        "INSERT INTO stores (brand_id, code, name, address, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id, brand_id, code, name, address",
    )
    .bind(brand.0)
    .bind(&code)
    .bind(&name)
    .bind(new.address.trim())
    .bind(clock.now_ms())
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match violation(&e) {
        Some(Violation::Unique) => Error::StoreCodeTaken,
        Some(Violation::ForeignKey) => Error::BrandNotFound,
        _ => e.into(),
    })?;
    Ok(row.into())
}

/// Changes a store's code, name and address.
pub async fn update(
    conn: &mut AnyConnection,
    brand: BrandId,
    id: StoreId,
    new: NewStore,
) -> Result<Store> {
    let code = check_code(&new.code)?;
    let name = check_name("name", &new.name, 80)?;
    let row: Option<StoreRow> = sqlx::query_as(
        "UPDATE stores SET code = $3, name = $4, address = $5 WHERE brand_id = $1 AND id = $2 \
         RETURNING id, brand_id, code, name, address",
    )
    .bind(brand.0)
    .bind(id.0)
    .bind(&code)
    .bind(&name)
    .bind(new.address.trim())
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| match violation(&e) {
        Some(Violation::Unique) => Error::StoreCodeTaken,
        _ => e.into(),
    })?;
    row.map(Store::from).ok_or(Error::StoreNotFound)
}

pub async fn list(db: &Db, brand: BrandId) -> Result<Vec<Store>> {
    let rows: Vec<StoreRow> = sqlx::query_as(
        "SELECT id, brand_id, code, name, address FROM stores WHERE brand_id = $1 ORDER BY code",
    )
    .bind(brand.0)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Store::from).collect())
}

/// A store of this brand; another brand's store is "not found", never "forbidden".
pub async fn find(db: &Db, brand: BrandId, id: StoreId) -> Result<Store> {
    let row: Option<StoreRow> = sqlx::query_as(
        "SELECT id, brand_id, code, name, address FROM stores WHERE brand_id = $1 AND id = $2",
    )
    .bind(brand.0)
    .bind(id.0)
    .fetch_optional(db.pool())
    .await?;
    row.map(Store::from).ok_or(Error::StoreNotFound)
}

/// `AND <column> IN (…)` for a manager's stores (ids are numbers, never
/// text from outside); nothing for an owner, nothing matches for no stores.
pub fn scope_sql(column: &str, within: Option<&[StoreId]>) -> String {
    match within {
        None => String::new(),
        Some([]) => " AND 1 = 0".into(),
        Some(stores) => format!(
            " AND {column} IN ({})",
            stores
                .iter()
                .map(|s| s.0.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_codes_are_uppercased_and_checked() {
        assert_eq!(check_code(" sh-01 ").unwrap(), "SH-01");
        assert!(check_code("").is_err());
        assert!(check_code("上海").is_err());
        assert!(check_code(&"A".repeat(21)).is_err());
    }
}
