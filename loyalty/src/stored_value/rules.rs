//! The brand's top-up offers (充值赠送: 充 ¥500 送 ¥50, 充 ¥1,000 送 ¥150 …)
//! and how payments split between principal and bonus. The owner sets them;
//! the offer in force at the moment of a top-up, at its store, decides its
//! bonus: the one with the highest threshold the amount reaches.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use super::{Split, MAX_TOP_UP_FEN};
use crate::access::Owner;
use crate::brands::stores::StoreId;
use crate::brands::BrandId;
use crate::error::Invalid;
use crate::staff::audit::{self, Change};
use crate::{Clock, Db, Error, Result};

/// One offer: pay in at least `min_fen`, receive `bonus_fen` beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUpRule {
    pub id: i64,
    pub min_fen: i64,
    pub bonus_fen: i64,
    pub starts_at: i64,
    /// None: until retired.
    pub ends_at: Option<i64>,
    /// None: every store of the brand.
    pub stores: Option<Vec<StoreId>>,
}

impl TopUpRule {
    /// Whether the offer runs at `now` (at some store).
    pub fn runs_at(&self, now: i64) -> bool {
        self.starts_at <= now && self.ends_at.is_none_or(|end| now < end)
    }
}

/// An offer as the owner enters it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRule {
    pub min_fen: i64,
    pub bonus_fen: i64,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
    pub stores: Option<Vec<StoreId>>,
}

impl NewRule {
    fn check(&self) -> Result<()> {
        if !(1..=MAX_TOP_UP_FEN).contains(&self.min_fen) {
            return Err(Error::invalid(
                "min_fen",
                Invalid::Range("between ¥0.01 and ¥1,000,000"),
            ));
        }
        if !(1..=self.min_fen).contains(&self.bonus_fen) {
            return Err(Error::invalid(
                "bonus_fen",
                Invalid::Range("more than zero and at most the top-up"),
            ));
        }
        if self.ends_at.is_some_and(|end| end <= self.starts_at) {
            return Err(Error::invalid("ends_at", Invalid::Range("after the start")));
        }
        if self.stores.as_ref().is_some_and(Vec::is_empty) {
            return Err(Error::invalid("stores", Invalid::Empty));
        }
        Ok(())
    }
}

/// The offer that decides a top-up of `amount` fen at `store` at `now`.
pub(crate) async fn in_force(
    conn: &mut AnyConnection,
    brand: BrandId,
    store: StoreId,
    now: i64,
    amount: i64,
) -> Result<Option<TopUpRule>> {
    let row: Option<(i64, i64, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT r.id, r.min_fen, r.bonus_fen, r.starts_at, r.ends_at FROM top_up_rules r \
         WHERE r.brand_id = $1 AND r.retired_at IS NULL AND r.starts_at <= $2 \
         AND (r.ends_at IS NULL OR r.ends_at > $2) AND r.min_fen <= $3 \
         AND (r.all_stores = 1 OR EXISTS (SELECT 1 FROM top_up_rule_stores s \
              WHERE s.rule_id = r.id AND s.store_id = $4)) \
         ORDER BY r.min_fen DESC, r.bonus_fen DESC, r.id LIMIT 1",
    )
    .bind(brand.0)
    .bind(now)
    .bind(amount)
    .bind(store.0)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(
        row.map(|(id, min_fen, bonus_fen, starts_at, ends_at)| TopUpRule {
            id,
            min_fen,
            bonus_fen,
            starts_at,
            ends_at,
            stores: None,
        }),
    )
}

/// The brand's offers that are not retired, by threshold: those running,
/// and those announced for later or ended (the console shows them all).
pub async fn list(db: &Db, brand: BrandId) -> Result<Vec<TopUpRule>> {
    let rows: Vec<(i64, i64, i64, i64, Option<i64>, i64)> = sqlx::query_as(
        "SELECT id, min_fen, bonus_fen, starts_at, ends_at, all_stores FROM top_up_rules \
         WHERE brand_id = $1 AND retired_at IS NULL ORDER BY min_fen, id",
    )
    .bind(brand.0)
    .fetch_all(db.pool())
    .await?;
    let stores: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT s.rule_id, s.store_id FROM top_up_rule_stores s \
         JOIN top_up_rules r ON r.id = s.rule_id \
         WHERE r.brand_id = $1 AND r.retired_at IS NULL ORDER BY s.store_id",
    )
    .bind(brand.0)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, min_fen, bonus_fen, starts_at, ends_at, all)| TopUpRule {
                id,
                min_fen,
                bonus_fen,
                starts_at,
                ends_at,
                stores: (all == 0).then(|| {
                    stores
                        .iter()
                        .filter(|(rule, _)| *rule == id)
                        .map(|(_, s)| StoreId(*s))
                        .collect()
                }),
            },
        )
        .collect())
}

/// The offers a member can take up now: at `store` when one is known,
/// else at any store.
pub async fn offers(
    db: &Db,
    clock: &dyn Clock,
    brand: BrandId,
    store: Option<StoreId>,
) -> Result<Vec<TopUpRule>> {
    let now = clock.now_ms();
    Ok(list(db, brand)
        .await?
        .into_iter()
        .filter(|r| r.runs_at(now))
        .filter(|r| match (&r.stores, store) {
            (Some(only), Some(here)) => only.contains(&here),
            _ => true,
        })
        .collect())
}

/// Adds an offer; the audit log records it.
pub async fn add(db: &Db, clock: &dyn Clock, who: &Owner, rule: &NewRule) -> Result<i64> {
    let mut tx = db.begin().await?;
    let id = insert(&mut tx, clock, who.brand().id, rule).await?;
    let change = Change {
        action: "stored_value.rule_add",
        store: None,
        target_type: "top_up_rule",
        target_id: Some(id),
        before: None,
        after: Some(json!(rule)),
    };
    audit::record(&mut tx, clock, &who.actor(), change).await?;
    tx.commit().await?;
    Ok(id)
}

/// Writes a checked offer; the demo's seed and [`add`] call it.
pub(crate) async fn insert(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    rule: &NewRule,
) -> Result<i64> {
    rule.check()?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO top_up_rules (brand_id, min_fen, bonus_fen, starts_at, ends_at, all_stores, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(brand.0)
    .bind(rule.min_fen)
    .bind(rule.bonus_fen)
    .bind(rule.starts_at)
    .bind(rule.ends_at)
    .bind(i64::from(rule.stores.is_none()))
    .bind(clock.now_ms())
    .fetch_one(&mut *conn)
    .await?;
    for store in rule.stores.iter().flatten() {
        sqlx::query(
            "INSERT INTO top_up_rule_stores (rule_id, brand_id, store_id) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(brand.0)
        .bind(store.0)
        .execute(&mut *conn)
        .await
        .map_err(crate::error::store_not_found)?;
    }
    Ok(id)
}

/// Whether the brand ever had an offer, retired or not.
pub(crate) async fn any(conn: &mut AnyConnection, brand: BrandId) -> Result<bool> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM top_up_rules WHERE brand_id = $1 LIMIT 1")
            .bind(brand.0)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.is_some())
}

/// Withdraws an offer: top-ups from now on no longer get it; those made
/// under it keep their bonus.
pub async fn retire(db: &Db, clock: &dyn Clock, who: &Owner, rule: i64) -> Result<()> {
    let brand = who.brand().id;
    let mut tx = db.begin().await?;
    let retired: Option<(i64, i64)> = sqlx::query_as(
        "UPDATE top_up_rules SET retired_at = $1 WHERE id = $2 AND brand_id = $3 AND retired_at IS NULL \
         RETURNING min_fen, bonus_fen",
    )
    .bind(clock.now_ms())
    .bind(rule)
    .bind(brand.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((min_fen, bonus_fen)) = retired else {
        return Err(Error::TopUpRuleNotFound);
    };
    let change = Change {
        action: "stored_value.rule_retire",
        store: None,
        target_type: "top_up_rule",
        target_id: Some(rule),
        before: Some(json!({ "min_fen": min_fen, "bonus_fen": bonus_fen })),
        after: None,
    };
    audit::record(&mut tx, clock, &who.actor(), change).await?;
    tx.commit().await?;
    Ok(())
}

/// How the brand's payments split.
pub async fn split(conn: &mut AnyConnection, brand: BrandId) -> Result<Split> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT stored_value_split FROM loyalty_rules WHERE brand_id = $1")
            .bind(brand.0)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row
        .and_then(|(s,)| Split::parse(&s))
        .unwrap_or(Split::Proportional))
}

/// Sets how payments split from now on; the audit log records it.
pub async fn set_split(db: &Db, clock: &dyn Clock, who: &Owner, new: Split) -> Result<()> {
    let brand = who.brand().id;
    let mut tx = db.begin().await?;
    let before = split(&mut tx, brand).await?;
    sqlx::query(
        "INSERT INTO loyalty_rules (brand_id, stored_value_split) VALUES ($1, $2) \
         ON CONFLICT (brand_id) DO UPDATE SET stored_value_split = excluded.stored_value_split",
    )
    .bind(brand.0)
    .bind(new.as_str())
    .execute(&mut *tx)
    .await?;
    let change = Change::brand_setting(
        "stored_value.split",
        brand,
        json!(before.as_str()),
        json!(new.as_str()),
    );
    audit::record(&mut tx, clock, &who.actor(), change).await?;
    tx.commit().await?;
    Ok(())
}
