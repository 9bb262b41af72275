//! What a brand owes its members in stored value, as a prepaid-card issuer
//! must know it: outstanding principal and bonus, where it was paid in, how
//! each month moved it, and which store owes which when a balance topped up
//! at one is spent at another.

use serde::{Deserialize, Serialize};

use super::Balance;
use crate::access::Owner;
use crate::brands::BrandId;
use crate::points::rules::{local_date, local_midnight};
use crate::{Clock, Db, Result};

/// Outstanding balances of the members who topped up at one store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreLiability {
    pub store: String,
    pub outstanding: Balance,
    /// Principal paid in there, ever, net of refunds.
    pub paid_in_fen: i64,
}

/// How one calendar month (in the brand's zone) moved the balances.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Month {
    /// `2026-11`.
    pub month: String,
    pub topped_up_fen: i64,
    pub bonus_given_fen: i64,
    /// Payments net of voids.
    pub spent_principal_fen: i64,
    pub spent_bonus_fen: i64,
    pub refunded_fen: i64,
    pub forfeited_bonus_fen: i64,
    /// What was owed when the month ended (or now, for this month).
    pub outstanding_at_end: Balance,
}

/// Stored value paid in at one store and spent at another: what the second
/// is owed by the first when stores settle with each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    pub topped_up_at: String,
    pub spent_at: String,
    pub principal_fen: i64,
    pub bonus_fen: i64,
}

/// The owner's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Liability {
    pub outstanding: Balance,
    /// Members with a balance above zero.
    pub members: i64,
    pub by_store: Vec<StoreLiability>,
    /// The last twelve months, newest first.
    pub by_month: Vec<Month>,
    pub settlement: Vec<Settlement>,
    pub time_zone: String,
}

/// The brand's stored-value liability now.
pub async fn liability(db: &Db, clock: &dyn Clock, who: &Owner) -> Result<Liability> {
    let brand = who.brand();
    let id = brand.id;
    let (principal, bonus, members): (i64, i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(principal_fen), 0) AS BIGINT), CAST(COALESCE(SUM(bonus_fen), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN principal_fen + bonus_fen > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM stored_value_accounts WHERE brand_id = $1",
    )
    .bind(id.0)
    .fetch_one(db.pool())
    .await?;
    let outstanding = Balance {
        principal_fen: principal,
        bonus_fen: bonus,
    };
    let by_store: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT s.name, CAST(SUM(t.principal_left) AS BIGINT), CAST(SUM(t.bonus_left) AS BIGINT), \
         CAST(SUM(t.amount_fen - t.principal_refunded) AS BIGINT) \
         FROM stored_value_top_ups t JOIN stores s ON s.id = t.store_id \
         WHERE t.brand_id = $1 GROUP BY s.id, s.name ORDER BY s.name",
    )
    .bind(id.0)
    .fetch_all(db.pool())
    .await?;
    let settlement: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT a.name, b.name, CAST(SUM(m.principal_fen) AS BIGINT), CAST(SUM(m.bonus_fen) AS BIGINT) \
         FROM stored_value_moves m \
         JOIN stored_value_payments p ON p.id = m.payment_id AND p.status = 'active' \
         JOIN stored_value_top_ups t ON t.id = m.top_up_id \
         JOIN stores a ON a.id = t.store_id JOIN stores b ON b.id = p.store_id \
         WHERE p.brand_id = $1 AND t.store_id <> p.store_id \
         GROUP BY a.id, a.name, b.id, b.name ORDER BY a.name, b.name",
    )
    .bind(id.0)
    .fetch_all(db.pool())
    .await?;
    let by_month = months(db, clock, id, &brand.time_zone, outstanding).await?;
    Ok(Liability {
        outstanding,
        members,
        by_store: by_store
            .into_iter()
            .map(|(store, p, b, paid_in_fen)| StoreLiability {
                store,
                outstanding: Balance {
                    principal_fen: p,
                    bonus_fen: b,
                },
                paid_in_fen,
            })
            .collect(),
        by_month,
        settlement: settlement
            .into_iter()
            .map(
                |(topped_up_at, spent_at, principal_fen, bonus_fen)| Settlement {
                    topped_up_at,
                    spent_at,
                    principal_fen,
                    bonus_fen,
                },
            )
            .collect(),
        time_zone: brand.time_zone.clone(),
    })
}

/// The last twelve months, newest first: each month's movements by kind,
/// and what was owed at its end, counted back from what is owed now.
async fn months(
    db: &Db,
    clock: &dyn Clock,
    brand: BrandId,
    zone: &str,
    now_owed: Balance,
) -> Result<Vec<Month>> {
    let now = clock.now_ms();
    let today = local_date(zone, now);
    let (mut year, mut month): (i32, u32) = (
        today.get(..4).and_then(|y| y.parse().ok()).unwrap_or(2026),
        today.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1),
    );
    let mut owed = now_owed;
    let mut end = i64::MAX;
    let mut out = Vec::with_capacity(12);
    for _ in 0..12 {
        let label = format!("{year:04}-{month:02}");
        let start = local_midnight(zone, &format!("{label}-01"), 0).unwrap_or(0);
        let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT kind, CAST(SUM(CASE WHEN principal_delta > 0 THEN principal_delta ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN principal_delta < 0 THEN -principal_delta ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN bonus_delta > 0 THEN bonus_delta ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN bonus_delta < 0 THEN -bonus_delta ELSE 0 END) AS BIGINT) \
             FROM stored_value_ledger WHERE brand_id = $1 AND created_at >= $2 AND created_at < $3 \
             GROUP BY kind",
        )
        .bind(brand.0)
        .bind(start)
        .bind(end)
        .fetch_all(db.pool())
        .await?;
        let mut m = Month {
            month: label,
            outstanding_at_end: owed,
            ..Month::default()
        };
        for (kind, p_in, p_out, b_in, b_out) in rows {
            match kind.as_str() {
                "top_up" | "import" => {
                    m.topped_up_fen += p_in;
                    m.bonus_given_fen += b_in;
                }
                "payment" => {
                    m.spent_principal_fen += p_out;
                    m.spent_bonus_fen += b_out;
                }
                "void" => {
                    m.spent_principal_fen -= p_in;
                    m.spent_bonus_fen -= b_in;
                }
                _ => {
                    m.refunded_fen += p_out;
                    m.forfeited_bonus_fen += b_out;
                }
            }
            owed.principal_fen -= p_in - p_out;
            owed.bonus_fen -= b_in - b_out;
        }
        out.push(m);
        end = start;
        (year, month) = if month == 1 {
            (year - 1, 12)
        } else {
            (year, month - 1)
        };
    }
    Ok(out)
}

/// The owner's stored-value page: the offers, how payments split, the
/// stores an offer can be limited to, and the liability report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screen {
    pub offers: Vec<super::rules::TopUpRule>,
    pub split: super::Split,
    pub stores: Vec<crate::brands::stores::Store>,
    pub liability: Liability,
}

pub async fn screen(db: &Db, clock: &dyn Clock, who: &Owner) -> Result<Screen> {
    let brand = who.brand().id;
    let mut conn = db.acquire().await?;
    let split = super::rules::split(&mut conn, brand).await?;
    drop(conn);
    Ok(Screen {
        offers: super::rules::list(db, brand).await?,
        split,
        stores: crate::brands::stores::list(db, brand).await?,
        liability: liability(db, clock, who).await?,
    })
}
