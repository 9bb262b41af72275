//! Tables (桌台) and their QR tokens. A token is the only thing printed on a
//! table card, so it must be unguessable: 26 Crockford base32 characters,
//! 130 bits of randomness.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::brands::stores::StoreId;
use crate::brands::{Brand, BrandId, BrandRef};
use crate::error::{violation, Invalid, Violation};
use sqlx::AnyConnection;

use crate::{Clock, Db, Error, Result};

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const TOKEN_LEN: usize = 26;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableId(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableToken(String);

impl TableToken {
    pub fn generate() -> Self {
        let mut rng = rand::rngs::OsRng;
        let s = (0..TOKEN_LEN)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
            .collect();
        TableToken(s)
    }

    /// Accepts what a person might type from a printed card: any case, and
    /// the letters Crockford base32 reads as digits (o→0, i/l→1).
    pub fn parse(input: &str) -> Result<Self> {
        let s: String = input
            .trim()
            .chars()
            .map(|c| match c.to_ascii_lowercase() {
                'o' => '0',
                'i' | 'l' => '1',
                c => c,
            })
            .collect();
        if s.len() != TOKEN_LEN || !s.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(Error::invalid("table_token", Invalid::Format));
        }
        Ok(TableToken(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiningTable {
    pub id: TableId,
    pub brand_id: BrandId,
    pub store_id: StoreId,
    pub label: String,
    pub token: TableToken,
}

/// What a scanned table QR tells us: where the diner sits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableVisit {
    pub brand: BrandRef,
    pub store_id: StoreId,
    pub store_name: String,
    pub table_id: TableId,
    pub table_label: String,
}

#[derive(sqlx::FromRow)]
struct TableRow {
    id: i64,
    brand_id: i64,
    store_id: i64,
    label: String,
    token: String,
}

impl From<TableRow> for DiningTable {
    fn from(r: TableRow) -> Self {
        DiningTable {
            id: TableId(r.id),
            brand_id: BrandId(r.brand_id),
            store_id: StoreId(r.store_id),
            label: r.label,
            token: TableToken(r.token),
        }
    }
}

fn check_label(label: &str) -> Result<String> {
    crate::brands::check_name("label", label, 20)
}

/// Adds a table to a store of `brand`. A store of another brand is refused by
/// the composite foreign key and reported as not found.
pub async fn create(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: &Brand,
    store: StoreId,
    label: &str,
) -> Result<DiningTable> {
    let label = check_label(label)?;
    let row: TableRow = sqlx::query_as(
        "INSERT INTO dining_tables (brand_id, store_id, label, token, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id, brand_id, store_id, label, token",
    )
    .bind(brand.id.0)
    .bind(store.0)
    .bind(&label)
    .bind(TableToken::generate().as_str())
    .bind(clock.now_ms())
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match violation(&e) {
        Some(Violation::Unique) => Error::TableLabelTaken,
        Some(Violation::ForeignKey) => Error::StoreNotFound,
        _ => e.into(),
    })?;
    Ok(row.into())
}

/// Gives a table a new token: the old QR code stops working at once (a
/// card that was photographed or taken away).
pub async fn regenerate(
    conn: &mut AnyConnection,
    brand: BrandId,
    table: TableId,
) -> Result<DiningTable> {
    let row: Option<TableRow> = sqlx::query_as(
        "UPDATE dining_tables SET token = $3 WHERE brand_id = $1 AND id = $2 \
         RETURNING id, brand_id, store_id, label, token",
    )
    .bind(brand.0)
    .bind(table.0)
    .bind(TableToken::generate().as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(DiningTable::from).ok_or(Error::TableNotFound)
}

pub async fn list(db: &Db, brand: BrandId, store: StoreId) -> Result<Vec<DiningTable>> {
    let rows: Vec<TableRow> = sqlx::query_as(
        "SELECT id, brand_id, store_id, label, token FROM dining_tables \
         WHERE brand_id = $1 AND store_id = $2 ORDER BY id",
    )
    .bind(brand.0)
    .bind(store.0)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(DiningTable::from).collect())
}

#[derive(sqlx::FromRow)]
struct VisitRow {
    brand_id: i64,
    slug: String,
    name: String,
    theme_color: String,
    store_id: i64,
    store_name: String,
    table_id: i64,
    label: String,
}

impl From<VisitRow> for TableVisit {
    fn from(r: VisitRow) -> Self {
        TableVisit {
            brand: BrandRef {
                id: BrandId(r.brand_id),
                slug: r.slug,
                name: r.name,
                theme_color: r.theme_color,
            },
            store_id: StoreId(r.store_id),
            store_name: r.store_name,
            table_id: TableId(r.table_id),
            table_label: r.label,
        }
    }
}

const VISIT_SELECT: &str = "SELECT b.id AS brand_id, b.slug, b.name, b.theme_color, \
     s.id AS store_id, s.name AS store_name, t.id AS table_id, t.label \
     FROM dining_tables t \
     JOIN stores s ON s.id = t.store_id AND s.brand_id = t.brand_id \
     JOIN brands b ON b.id = t.brand_id";

/// Resolves a scanned token to its brand, store and table.
pub async fn resolve(db: &Db, token: &TableToken) -> Result<TableVisit> {
    let row: Option<VisitRow> = sqlx::query_as(&format!("{VISIT_SELECT} WHERE t.token = $1"))
        .bind(token.as_str())
        .fetch_optional(db.pool())
        .await?;
    row.map(TableVisit::from).ok_or(Error::TableNotFound)
}

/// The table a visit cookie names, only if it still belongs to `brand`.
pub async fn find_in_brand(db: &Db, brand: BrandId, table: TableId) -> Result<TableVisit> {
    let row: Option<VisitRow> = sqlx::query_as(&format!(
        "{VISIT_SELECT} WHERE t.brand_id = $1 AND t.id = $2"
    ))
    .bind(brand.0)
    .bind(table.0)
    .fetch_optional(db.pool())
    .await?;
    row.map(TableVisit::from).ok_or(Error::TableNotFound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_tokens_parse_and_differ() {
        let tokens: HashSet<String> = (0..1000).map(|_| TableToken::generate().0).collect();
        assert_eq!(tokens.len(), 1000);
        for t in tokens.iter().take(20) {
            assert_eq!(TableToken::parse(t).unwrap().as_str(), t);
        }
    }

    #[test]
    fn typed_tokens_forgive_case_and_lookalikes() {
        let t = TableToken::parse("0123456789ABCDEFGHJKMNPQRS").unwrap();
        assert_eq!(t.as_str(), "0123456789abcdefghjkmnpqrs");
        let lookalike = TableToken::parse("O1I3456789abcdefghjkmnpqrs").unwrap();
        assert_eq!(lookalike.as_str(), "0113456789abcdefghjkmnpqrs");
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in [
            "",
            "short",
            &"a".repeat(27),
            "0123456789abcdefghjkmnpqr!",
            "0123456789abcdefghjkmnpqru",
        ] {
            assert!(TableToken::parse(bad).is_err(), "{bad:?}");
        }
    }
}
