//! The audit log: who changed what, when and from where. Every staff write
//! appends one row in the same transaction as the change, so a change
//! without its row (or a row without its change) cannot be committed. The
//! schema refuses UPDATE and DELETE on the table.
//!
//! Rows carry identifiers and amounts, never a phone number or a name in
//! clear: an erased member must not live on in the log.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AnyConnection;

use crate::brands::stores::StoreId;
use crate::brands::BrandId;
use crate::staff::StaffId;
use crate::{Clock, Db, Result};

/// Who acts: a staff member of a brand, from an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub brand: BrandId,
    /// None: the command line.
    pub staff: Option<StaffId>,
    pub ip: Option<String>,
}

/// One change to record.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    /// `till.purchase`, `feedback.reply`, `api_key.revoke`, …
    pub action: &'a str,
    pub store: Option<StoreId>,
    /// `member`, `coupon`, `feedback`, `api_key`, `staff`, …
    pub target_type: &'a str,
    pub target_id: Option<i64>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl<'a> Change<'a> {
    /// A brand-wide setting changed from `before` to `after`.
    pub fn brand_setting(
        action: &'a str,
        brand: crate::brands::BrandId,
        before: Value,
        after: Value,
    ) -> Self {
        Change {
            action,
            store: None,
            target_type: "brand",
            target_id: Some(brand.0),
            before: Some(before),
            after: Some(after),
        }
    }
}

/// Appends `change` made by `actor`, inside the caller's transaction.
pub async fn record(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    actor: &Actor,
    change: Change<'_>,
) -> Result<()> {
    let ip = actor.ip.as_deref().map(|ip| &ip[..ip.len().min(64)]);
    sqlx::query(
        "INSERT INTO audit_log (brand_id, staff_id, store_id, action, target_type, target_id, \
         before_json, after_json, ip, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(actor.brand.0)
    .bind(actor.staff.map(|s| s.0))
    .bind(change.store.map(|s| s.0))
    .bind(change.action)
    .bind(change.target_type)
    .bind(change.target_id)
    .bind(change.before.map(|v| v.to_string()))
    .bind(change.after.map(|v| v.to_string()))
    .bind(ip)
    .bind(clock.now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A row of the log as owners read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: i64,
    pub at: i64,
    /// The staff member's display name and login; None: the command line.
    pub staff: Option<(String, String)>,
    pub store: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<i64>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub ip: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    created_at: i64,
    display_name: Option<String>,
    login: Option<String>,
    store_name: Option<String>,
    action: String,
    target_type: String,
    target_id: Option<i64>,
    before_json: Option<String>,
    after_json: Option<String>,
    ip: Option<String>,
}

/// The brand's log, newest first, `limit` rows older than `before_id`.
pub async fn list(
    db: &Db,
    brand: BrandId,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Entry>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT a.id, a.created_at, s.display_name, s.login, st.name AS store_name, a.action, \
         a.target_type, a.target_id, a.before_json, a.after_json, a.ip \
         FROM audit_log a \
         LEFT JOIN staff s ON s.id = a.staff_id \
         LEFT JOIN stores st ON st.brand_id = a.brand_id AND st.id = a.store_id \
         WHERE a.brand_id = $1 AND a.id < $2 ORDER BY a.id DESC LIMIT $3",
    )
    .bind(brand.0)
    .bind(before_id.unwrap_or(i64::MAX))
    .bind(limit.clamp(1, 500))
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Entry {
            id: r.id,
            at: r.created_at,
            staff: r.display_name.zip(r.login),
            store: r.store_name,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            before: r.before_json,
            after: r.after_json,
            ip: r.ip,
        })
        .collect())
}
