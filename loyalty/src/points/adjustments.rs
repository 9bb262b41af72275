//! Points staff add or take by hand, with the reason they must give: a
//! form acted on once and audited.
//!
//! An owner adjusts as they see fit. A manager works within the limits the
//! owner sets (per adjustment, and per manager per day in the brand's
//! calendar); an adjustment above them waits for an owner's approval, a
//! second person (OWASP ASVS 5.0 2.3.5), and changes nothing until then.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use crate::access::{Manager, Owner};
use crate::brands::{Brand, BrandId};
use crate::error::Invalid;
use crate::infra::forms::{self, FormKey};
use crate::members::MemberId;
use crate::staff::audit::{self, Change};
use crate::staff::StaffId;
use crate::{Clock, Db, Error, Result};

/// The most points one adjustment may move, by anyone.
const MOST: i64 = 10_000_000;

/// What a manager may adjust without an owner's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Points up or down in one adjustment.
    pub per_adjustment: i64,
    /// Points up and down together, per manager per day.
    pub per_day: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_adjustment: 1_000,
            per_day: 5_000,
        }
    }
}

/// The brand's limits (the defaults until the owner sets them).
pub async fn limits(conn: &mut AnyConnection, brand: BrandId) -> Result<Limits> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT per_adjustment, per_day FROM adjustment_limits WHERE brand_id = $1")
            .bind(brand.0)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(
        row.map_or_else(Limits::default, |(per_adjustment, per_day)| Limits {
            per_adjustment,
            per_day,
        }),
    )
}

/// The owner sets the limits. Audited.
pub async fn save_limits(db: &Db, clock: &dyn Clock, who: &Owner, new: Limits) -> Result<()> {
    for value in [new.per_adjustment, new.per_day] {
        if !(0..=MOST).contains(&value) {
            return Err(Error::invalid(
                "adjustment_limit",
                Invalid::Range("0 to 10,000,000"),
            ));
        }
    }
    let brand = who.brand().id;
    let mut tx = db.begin().await?;
    let before = limits(&mut tx, brand).await?;
    sqlx::query(
        "INSERT INTO adjustment_limits (brand_id, per_adjustment, per_day) VALUES ($1, $2, $3) \
         ON CONFLICT (brand_id) DO UPDATE SET per_adjustment = excluded.per_adjustment, per_day = excluded.per_day",
    )
    .bind(brand.0)
    .bind(new.per_adjustment)
    .bind(new.per_day)
    .execute(&mut *tx)
    .await?;
    let change = Change::brand_setting("brand.adjustment_limits", brand, json!(before), json!(new));
    audit::record(&mut tx, clock, &who.actor(), change).await?;
    tx.commit().await?;
    Ok(())
}

/// The reason, trimmed, when `delta` and `reason` make an adjustment.
pub(crate) fn check(delta: i64, reason: &str) -> Result<&str> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::invalid("reason", Invalid::Empty));
    }
    if reason.chars().count() > 200 {
        return Err(Error::invalid("reason", Invalid::TooLong { max: 200 }));
    }
    if delta == 0 || delta.abs() > MOST {
        return Err(Error::invalid("adjust_points", Invalid::Format));
    }
    Ok(reason)
}

/// A hand adjustment: by how much, and the balance after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjusted {
    pub delta: i64,
    pub balance: i64,
}

/// An adjustment over the manager's limits, waiting for an owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Awaiting {
    pub request: i64,
    pub delta: i64,
}

/// What a hand adjustment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Outcome {
    Adjusted(Adjusted),
    Awaiting(Awaiting),
}

/// Adds or takes points by hand, with the reason staff must give; a
/// manager's adjustment over the owner's limits waits for an owner.
#[allow(clippy::too_many_arguments)]
pub async fn by_hand(
    db: &Db,
    clock: &dyn Clock,
    who: &Manager,
    key: &FormKey,
    member: MemberId,
    delta: i64,
    reason: &str,
) -> Result<Outcome> {
    let (brand, actor) = (who.brand(), &who.actor());
    let staff = actor.staff.ok_or(Error::StaffNotFound)?;
    let hash = forms::fingerprint("adjust", member.0, &[&delta.to_string(), reason.trim()]);
    let limited = !who.is_owner();
    forms::once(db, clock, actor, key, &hash, async |tx| {
        let reason = check(delta, reason)?;
        if limited && over_limits(tx, clock, brand, staff, delta).await? {
            let (request,): (i64,) = sqlx::query_as(
                "INSERT INTO adjustment_requests (brand_id, member_id, delta, reason, requested_by, created_at) \
                 SELECT $1, $2, $3, $4, $5, $6 FROM members WHERE brand_id = $1 AND id = $2 AND status = 'active' \
                 RETURNING id",
            )
            .bind(brand.id.0)
            .bind(member.0)
            .bind(delta)
            .bind(reason)
            .bind(staff.0)
            .bind(clock.now_ms())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::MemberNotFound)?;
            let change = Change {
                action: "member.adjust_points_requested",
                store: None,
                target_type: "member",
                target_id: Some(member.0),
                before: None,
                after: Some(json!({ "request": request, "delta": delta, "reason": reason })),
            };
            return Ok((Outcome::Awaiting(Awaiting { request, delta }), change));
        }
        let balance = super::adjust(tx, clock, brand, member, delta, reason, staff).await?;
        Ok((Outcome::Adjusted(Adjusted { delta, balance }), adjusted(member, delta, balance, reason)))
    })
    .await
}

fn adjusted(member: MemberId, delta: i64, balance: i64, reason: &str) -> Change<'static> {
    Change {
        action: "member.adjust_points",
        store: None,
        target_type: "member",
        target_id: Some(member.0),
        before: Some(json!({ "points": balance - delta })),
        after: Some(json!({ "points": balance, "reason": reason })),
    }
}

/// Whether `delta` by `staff` goes over the brand's limits. Takes the staff
/// member's row first, so their adjustments are counted one at a time and
/// two at once cannot both pass the day's limit.
async fn over_limits(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: &Brand,
    staff: StaffId,
    delta: i64,
) -> Result<bool> {
    sqlx::query("UPDATE staff SET failed_logins = failed_logins WHERE id = $1")
        .bind(staff.0)
        .execute(&mut *conn)
        .await?;
    let limits = limits(conn, brand.id).await?;
    if delta.abs() > limits.per_adjustment {
        return Ok(true);
    }
    let now = clock.now_ms();
    let today = super::rules::local_date(&brand.time_zone, now);
    let since = super::rules::local_midnight(&brand.time_zone, &today, 0).unwrap_or(now);
    let (done,): (Option<i64>,) = sqlx::query_as(
        "SELECT CAST(SUM(ABS(amount)) AS BIGINT) FROM points_ledger \
         WHERE brand_id = $1 AND kind = 'adjust' AND ref_type = 'staff' AND ref_id = $2 AND created_at >= $3",
    )
    .bind(brand.id.0)
    .bind(staff.0)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    Ok(done.unwrap_or(0) + delta.abs() > limits.per_day)
}

/// An adjustment waiting for an owner, as the owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub id: i64,
    pub member_no: String,
    pub member_name: String,
    pub delta: i64,
    pub reason: String,
    /// Who asked for it.
    pub requested_by: String,
    pub created_at: i64,
}

/// The brand's adjustments waiting for an owner, oldest first.
pub async fn pending(db: &Db, who: &Owner) -> Result<Vec<Request>> {
    type Row = (i64, String, String, i64, String, String, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT r.id, m.member_no, m.display_name, r.delta, r.reason, s.display_name, r.created_at \
         FROM adjustment_requests r \
         JOIN members m ON m.brand_id = r.brand_id AND m.id = r.member_id \
         JOIN staff s ON s.id = r.requested_by \
         WHERE r.brand_id = $1 AND r.state = 'pending' ORDER BY r.id LIMIT 100",
    )
    .bind(who.brand().id.0)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, member_no, member_name, delta, reason, requested_by, created_at)| Request {
                id,
                member_no,
                member_name,
                delta,
                reason,
                requested_by,
                created_at,
            },
        )
        .collect())
}

/// An owner's decision on a waiting adjustment: applied in the name of the
/// staff member who asked, or rejected; either way once, audited, and never
/// by the one who asked. Returns the balance after an approval.
pub async fn decide(
    db: &Db,
    clock: &dyn Clock,
    who: &Owner,
    request: i64,
    approve: bool,
) -> Result<Option<i64>> {
    let (brand, actor) = (who.brand(), who.actor());
    let owner = actor.staff.ok_or(Error::StaffNotFound)?;
    let mut tx = db.begin().await?;
    let decided: Option<(i64, i64, String, i64)> = sqlx::query_as(
        "UPDATE adjustment_requests SET state = $1, decided_by = $2, decided_at = $3 \
         WHERE id = $4 AND brand_id = $5 AND state = 'pending' AND requested_by <> $2 \
         RETURNING member_id, delta, reason, requested_by",
    )
    .bind(if approve { "approved" } else { "rejected" })
    .bind(owner.0)
    .bind(clock.now_ms())
    .bind(request)
    .bind(brand.id.0)
    .fetch_optional(&mut *tx)
    .await?;
    let (member, delta, reason, asked_by) = decided.ok_or(Error::AdjustmentNotPending)?;
    let member = MemberId(member);
    let (balance, change) = if approve {
        let balance = super::adjust(
            &mut tx,
            clock,
            brand,
            member,
            delta,
            &reason,
            StaffId(asked_by),
        )
        .await?;
        let mut change = adjusted(member, delta, balance, &reason);
        change.action = "member.adjust_points_approved";
        (Some(balance), change)
    } else {
        let change = Change {
            action: "member.adjust_points_rejected",
            store: None,
            target_type: "member",
            target_id: Some(member.0),
            before: None,
            after: Some(json!({ "request": request, "delta": delta })),
        };
        (None, change)
    };
    audit::record(&mut tx, clock, &actor, change).await?;
    tx.commit().await?;
    Ok(balance)
}

/// Points staff adjusted by hand this calendar month, per staff member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByStaff {
    pub staff: String,
    pub added: i64,
    pub taken: i64,
    pub adjustments: i64,
}

/// This month's hand adjustments of the brand (approved ones in the name
/// of who asked), most points first.
pub async fn this_month(db: &Db, clock: &dyn Clock, who: &Owner) -> Result<Vec<ByStaff>> {
    let brand = who.brand();
    let now = clock.now_ms();
    let today = super::rules::local_date(&brand.time_zone, now);
    let first = format!("{}-01", today.get(..7).unwrap_or_default());
    let since = super::rules::local_midnight(&brand.time_zone, &first, 0).unwrap_or(now);
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT s.display_name, \
                CAST(SUM(CASE WHEN l.amount > 0 THEN l.amount ELSE 0 END) AS BIGINT), \
                CAST(SUM(CASE WHEN l.amount < 0 THEN -l.amount ELSE 0 END) AS BIGINT), \
                CAST(COUNT(*) AS BIGINT) \
         FROM points_ledger l JOIN staff s ON s.id = l.ref_id \
         WHERE l.brand_id = $1 AND l.kind = 'adjust' AND l.ref_type = 'staff' AND l.created_at >= $2 \
         GROUP BY s.id, s.display_name \
         ORDER BY SUM(ABS(l.amount)) DESC, s.display_name",
    )
    .bind(brand.id.0)
    .bind(since)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(staff, added, taken, adjustments)| ByStaff {
            staff,
            added,
            taken,
            adjustments,
        })
        .collect())
}
