//! The figures an owner or manager opens the console for: members, who is
//! active, the points liability, coupons, feedback and NPS, and the last
//! 30 days day by day. Member figures are the brand's; visits, sales,
//! redemptions and feedback are limited to a manager's stores.

use serde::{Deserialize, Serialize};

use crate::brands::stores::{scope_sql, StoreId};
use crate::brands::Brand;
use crate::feedback::Nps;
use crate::{points::rules, Clock, Db, Result};

const DAY_MS: i64 = 86_400_000;
/// Days in the charts.
pub const CHART_DAYS: i64 = 30;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub members: i64,
    pub new_this_week: i64,
    pub active_30: i64,
    pub active_90: i64,
    /// Points members hold, and what they would pay as cash.
    pub points_outstanding: i64,
    pub liability_fen: i64,
    /// Over the last 30 days.
    pub coupons_issued: i64,
    pub coupons_redeemed: i64,
    pub sales_fen: i64,
    /// This calendar month in the brand's zone.
    pub nps_month: Nps,
    /// The last 30 local days, oldest first: (date, new members, sales fen).
    pub days: Vec<(String, i64, i64)>,
}

async fn count(db: &Db, sql: &str, binds: &[i64]) -> Result<i64> {
    let mut q = sqlx::query_as::<_, (Option<i64>,)>(sql);
    for b in binds {
        q = q.bind(*b);
    }
    Ok(q.fetch_one(db.pool()).await?.0.unwrap_or(0))
}

pub async fn summary(
    db: &Db,
    clock: &dyn Clock,
    brand: &Brand,
    within: Option<&[StoreId]>,
) -> Result<Summary> {
    let now = clock.now_ms();
    let b = brand.id.0;
    let p_scope = scope_sql("store_id", within);
    let members = count(
        db,
        "SELECT CAST(COUNT(*) AS BIGINT) FROM members WHERE brand_id = $1 AND status = 'active'",
        &[b],
    )
    .await?;
    let new_this_week = count(
        db,
        "SELECT CAST(COUNT(*) AS BIGINT) FROM members WHERE brand_id = $1 AND status = 'active' AND created_at >= $2",
        &[b, now - 7 * DAY_MS],
    )
    .await?;
    let active = |days: i64| {
        let sql = format!(
            "SELECT CAST(COUNT(DISTINCT member_id) AS BIGINT) FROM purchases \
             WHERE brand_id = $1 AND occurred_at >= $2{p_scope}"
        );
        async move { count(db, &sql, &[b, now - days * DAY_MS]).await }
    };
    let (active_30, active_90) = (active(30).await?, active(90).await?);
    let points_outstanding = count(
        db,
        "SELECT CAST(SUM(points_balance) AS BIGINT) FROM members WHERE brand_id = $1 AND status = 'active'",
        &[b],
    )
    .await?;
    let mut conn = db.acquire().await?;
    let liability_fen = rules::load(&mut conn, brand)
        .await?
        .redeem_value_fen(points_outstanding);
    drop(conn);
    let since = now - CHART_DAYS * DAY_MS;
    let coupons_issued = count(
        db,
        "SELECT CAST(COUNT(*) AS BIGINT) FROM coupons WHERE brand_id = $1 AND issued_at >= $2",
        &[b, since],
    )
    .await?;
    let coupons_redeemed = count(
        db,
        &format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM coupon_redemptions \
             WHERE brand_id = $1 AND created_at >= $2 AND status = 'active'{p_scope}"
        ),
        &[b, since],
    )
    .await?;
    let sales_fen = count(
        db,
        &format!(
            "SELECT CAST(SUM(amount_fen - refunded_fen) AS BIGINT) FROM purchases \
             WHERE brand_id = $1 AND occurred_at >= $2{p_scope}"
        ),
        &[b, since],
    )
    .await?;
    let month = rules::local_date(&brand.time_zone, now)[..7].to_owned();
    let nps: Vec<(i64,)> = sqlx::query_as(&format!(
        "SELECT nps FROM feedback WHERE brand_id = $1 AND SUBSTR(local_day, 1, 7) = $2{}",
        scope_sql("store_id", within)
    ))
    .bind(b)
    .bind(&month)
    .fetch_all(db.pool())
    .await?;
    let mut nps_month = Nps::default();
    for (n,) in nps {
        nps_month.add(n);
    }
    // Day buckets in the brand's zone: the zone's offset now, applied to
    // every moment (a DST change inside the window shifts an hour, no more).
    let offset = rules::utc_offset_ms(&brand.time_zone, now);
    let today = (now + offset).div_euclid(DAY_MS);
    let first = today - (CHART_DAYS - 1);
    let from = first * DAY_MS - offset;
    let joined: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT CAST((created_at + $3) / 86400000 AS BIGINT) AS d, CAST(COUNT(*) AS BIGINT) FROM members \
         WHERE brand_id = $1 AND created_at >= $2 GROUP BY d",
    )
    .bind(b)
    .bind(from)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    let sold: Vec<(i64, Option<i64>)> = sqlx::query_as(&format!(
        "SELECT CAST((occurred_at + $3) / 86400000 AS BIGINT) AS d, CAST(SUM(amount_fen - refunded_fen) AS BIGINT) \
         FROM purchases WHERE brand_id = $1 AND occurred_at >= $2{p_scope} GROUP BY d"
    ))
    .bind(b)
    .bind(from)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    let days = (first..=today)
        .map(|d| {
            let new = joined.iter().find(|(x, _)| *x == d).map_or(0, |r| r.1);
            let fen = sold
                .iter()
                .find(|(x, _)| *x == d)
                .and_then(|r| r.1)
                .unwrap_or(0);
            (
                rules::local_date(&brand.time_zone, d * DAY_MS - offset + DAY_MS / 2),
                new,
                fen,
            )
        })
        .collect();
    Ok(Summary {
        members,
        new_this_week,
        active_30,
        active_90,
        points_outstanding,
        liability_fen,
        coupons_issued,
        coupons_redeemed,
        sales_fen,
        nps_month,
        days,
    })
}

/// Everything the console's dashboard shows, from one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screen {
    /// The figures, of the viewer's stores.
    pub summary: Summary,
    /// The newest five feedbacks the viewer may read.
    pub feedback: Vec<crate::feedback::Feedback>,
    /// For an owner: managers' adjustments waiting for approval, and this
    /// month's points adjusted by hand, per staff member.
    pub approvals: Vec<crate::points::adjustments::Request>,
    pub hand_points: Vec<crate::points::adjustments::ByStaff>,
    /// For an owner: erasures managers asked for at the counter.
    pub erasures: Vec<crate::members::erasure::Request>,
    /// Sign-in codes the brand sent in the last 24 hours, and its budget.
    pub codes_sent: i64,
    pub code_budget: i64,
    /// Today's text messages: sent, failed, estimated cost.
    pub messages: crate::marketing::messages::Today,
}

/// The dashboard as `who` sees it; `otp` holds the brand's code budget.
pub async fn screen(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Manager,
    otp: &crate::members::otp::OtpPolicy,
) -> Result<Screen> {
    use crate::points::adjustments;
    let brand = who.brand();
    let (approvals, hand_points, erasures) = match who.clone().owner() {
        Some(owner) => (
            adjustments::pending(db, &owner).await?,
            adjustments::this_month(db, clock, &owner).await?,
            crate::members::erasure::pending(db, &owner).await?,
        ),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let (codes_sent, code_budget) =
        crate::members::otp::budget_used(db, clock, otp, brand.id).await?;
    let mut feedback =
        crate::feedback::inbox(db, who, &crate::feedback::InboxFilter::default()).await?;
    feedback.truncate(5);
    Ok(Screen {
        summary: summary(db, clock, brand, who.scope()).await?,
        feedback,
        approvals,
        hand_points,
        erasures,
        codes_sent,
        code_budget,
        messages: crate::marketing::messages::today(db, clock, brand).await?,
    })
}

/// What every brand owes its members, for the operator's gauges: (slug,
/// points members hold, stored value in fen).
pub async fn outstanding(db: &Db) -> Result<Vec<(String, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT b.slug, \
           CAST(COALESCE((SELECT SUM(m.points_balance) FROM members m \
                          WHERE m.brand_id = b.id AND m.status = 'active'), 0) AS BIGINT), \
           CAST(COALESCE((SELECT SUM(a.principal_fen + a.bonus_fen) FROM stored_value_accounts a \
                          WHERE a.brand_id = b.id), 0) AS BIGINT) \
         FROM brands b ORDER BY b.id",
    )
    .fetch_all(db.pool())
    .await?)
}
