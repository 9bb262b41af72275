//! Tiers (会员等级): qualified by spend in the last 12 months. A purchase
//! that reaches a tier upgrades at once; only the periodic review moves a
//! member down, so a refund never demotes anyone mid-period.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::brands::{BrandId, Language};
use crate::members::MemberId;
use crate::{Clock, Result};

/// Twelve months, as the qualifying window (365 days; a leap day is a gift).
pub const QUALIFYING_WINDOW_MS: i64 = 365 * 24 * 3_600_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub code: String,
    pub rank: i64,
    pub name_zh_cn: String,
    pub name_zh_tw: String,
    pub name_en: String,
    pub threshold_fen: i64,
    pub discount_pct: i64,
    pub multiplier_permille: i64,
}

impl Tier {
    pub fn name(&self, language: Language) -> &str {
        match language {
            Language::ZhCn => &self.name_zh_cn,
            Language::ZhTw => &self.name_zh_tw,
            Language::En => &self.name_en,
        }
    }
}

/// A brand's tiers, lowest first. Never empty: rank 0 always exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierTable(Vec<Tier>);

impl TierTable {
    pub fn tiers(&self) -> &[Tier] {
        &self.0
    }

    pub fn by_rank(&self, rank: i64) -> &Tier {
        self.0
            .iter()
            .rev()
            .find(|t| t.rank <= rank)
            .unwrap_or(&self.0[0])
    }

    /// The highest tier `spend_fen` qualifies for.
    pub fn for_spend(&self, spend_fen: i64) -> &Tier {
        self.0
            .iter()
            .rev()
            .find(|t| t.threshold_fen <= spend_fen)
            .unwrap_or(&self.0[0])
    }

    /// The tier after `rank` and how much more spend reaches it.
    pub fn next(&self, rank: i64, spend_fen: i64) -> Option<(&Tier, i64)> {
        let next = self.0.iter().find(|t| t.rank > rank)?;
        Some((next, (next.threshold_fen - spend_fen).max(0)))
    }
}

/// Seed 003's five tiers.
pub fn default_table() -> TierTable {
    let t = |code: &str, rank, cn: &str, tw: &str, en: &str, yuan: i64, pct, mult| Tier {
        code: code.into(),
        rank,
        name_zh_cn: cn.into(),
        name_zh_tw: tw.into(),
        name_en: en.into(),
        threshold_fen: yuan * 100,
        discount_pct: pct,
        multiplier_permille: mult,
    };
    TierTable(vec![
        t("base", 0, "普通会员", "普通會員", "Member", 0, 0, 1000),
        t(
            "silver",
            1,
            "银卡会员",
            "銀卡會員",
            "Silver",
            1_000,
            5,
            1200,
        ),
        t("gold", 2, "金卡会员", "金卡會員", "Gold", 5_000, 8, 1500),
        t(
            "platinum",
            3,
            "白金会员",
            "白金會員",
            "Platinum",
            10_000,
            10,
            1800,
        ),
        t(
            "diamond",
            4,
            "钻石会员",
            "鑽石會員",
            "Diamond",
            20_000,
            12,
            2000,
        ),
    ])
}

pub(crate) async fn create_defaults(conn: &mut AnyConnection, brand: BrandId) -> Result<()> {
    for t in default_table().tiers() {
        sqlx::query(
            "INSERT INTO tiers (brand_id, code, rank, name_zh_cn, name_zh_tw, name_en, \
                                threshold_fen, discount_pct, multiplier_permille) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(brand.0)
        .bind(&t.code)
        .bind(t.rank)
        .bind(&t.name_zh_cn)
        .bind(&t.name_zh_tw)
        .bind(&t.name_en)
        .bind(t.threshold_fen)
        .bind(t.discount_pct)
        .bind(t.multiplier_permille)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct TierRow {
    code: String,
    rank: i64,
    name_zh_cn: String,
    name_zh_tw: String,
    name_en: String,
    threshold_fen: i64,
    discount_pct: i64,
    multiplier_permille: i64,
}

pub async fn load(conn: &mut AnyConnection, brand: BrandId) -> Result<TierTable> {
    let rows: Vec<TierRow> = sqlx::query_as(
        "SELECT code, rank, name_zh_cn, name_zh_tw, name_en, threshold_fen, discount_pct, \
                multiplier_permille \
         FROM tiers WHERE brand_id = $1 ORDER BY rank",
    )
    .bind(brand.0)
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(default_table());
    }
    Ok(TierTable(
        rows.into_iter()
            .map(|r| Tier {
                code: r.code,
                rank: r.rank,
                name_zh_cn: r.name_zh_cn,
                name_zh_tw: r.name_zh_tw,
                name_en: r.name_en,
                threshold_fen: r.threshold_fen,
                discount_pct: r.discount_pct,
                multiplier_permille: r.multiplier_permille,
            })
            .collect(),
    ))
}

/// Paid and not refunded, over the last 12 months: the qualifying spend of
/// member `$2` of brand `$1`, counting purchases after `$3` (see
/// [`spend_since`]), as a scalar subquery.
pub(crate) const SPEND: &str = "(SELECT CAST(SUM(amount_fen - refunded_fen) AS BIGINT) \
     FROM purchases WHERE brand_id = $1 AND member_id = $2 AND occurred_at > $3)";

/// Where the qualifying window starts now.
pub(crate) fn spend_since(clock: &dyn Clock) -> i64 {
    clock.now_ms() - QUALIFYING_WINDOW_MS
}

/// Paid and not refunded, over the last 12 months.
pub async fn qualifying_spend(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    member: MemberId,
) -> Result<i64> {
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("SELECT {SPEND}"));
    let (spend,): (Option<i64>,) = sqlx::query_as(&SQL)
        .bind(brand.0)
        .bind(member.0)
        .bind(spend_since(clock))
        .fetch_one(&mut *conn)
        .await?;
    Ok(spend.unwrap_or(0))
}

/// Moves a member to `to_rank` if they are still at `from_rank`, and records
/// why. A concurrent change wins; this one then does nothing.
pub(crate) struct TierMove {
    pub member: MemberId,
    pub from_rank: i64,
    pub to_rank: i64,
    /// `purchase` (upgrade) or `review`.
    pub reason: &'static str,
    /// The qualifying spend that decided it.
    pub spend_fen: i64,
}

pub(crate) async fn change(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    m: TierMove,
) -> Result<bool> {
    let TierMove {
        member,
        from_rank,
        to_rank,
        reason,
        spend_fen,
    } = m;
    let moved = sqlx::query(
        "UPDATE members SET tier_rank = $1 WHERE brand_id = $2 AND id = $3 AND tier_rank = $4",
    )
    .bind(to_rank)
    .bind(brand.0)
    .bind(member.0)
    .bind(from_rank)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if moved {
        sqlx::query(
            "INSERT INTO tier_changes (brand_id, member_id, from_rank, to_rank, reason, spend_fen, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(brand.0)
        .bind(member.0)
        .bind(from_rank)
        .bind(to_rank)
        .bind(reason)
        .bind(spend_fen)
        .bind(clock.now_ms())
        .execute(&mut *conn)
        .await?;
    }
    Ok(moved)
}

/// The periodic review: every member of the brand moves to the tier their
/// last 12 months qualify for (down as well as up). Returns how many moved.
///
/// Every member's spend is read in one statement, streamed; only a member
/// whose tier it changes is then moved, in a transaction of its own that
/// reads their spend again (a purchase since counts) and moves them only if
/// still at the tier read (a concurrent change wins). A review of a million
/// members was a million transactions.
pub async fn review(db: &crate::Db, clock: &dyn Clock, brand: BrandId) -> Result<u64> {
    use futures_util::TryStreamExt;
    let table = {
        let mut conn = db.pool().acquire().await?;
        load(&mut conn, brand).await?
    };
    let due: Vec<(i64, i64)> = {
        let mut rows = sqlx::query_as::<_, (i64, i64, i64)>(
            "SELECT m.id, m.tier_rank, \
                    CAST(COALESCE(SUM(p.amount_fen - p.refunded_fen), 0) AS BIGINT) \
             FROM members m LEFT JOIN purchases p \
               ON p.brand_id = m.brand_id AND p.member_id = m.id AND p.occurred_at > $2 \
             WHERE m.brand_id = $1 AND m.status = 'active' \
             GROUP BY m.id, m.tier_rank ORDER BY m.id",
        )
        .bind(brand.0)
        .bind(spend_since(clock))
        .fetch(db.pool());
        let mut due = Vec::new();
        while let Some((id, rank, spend)) = rows.try_next().await? {
            if table.for_spend(spend).rank != rank {
                due.push((id, rank));
            }
        }
        due
    };
    let mut moved = 0;
    for (id, rank) in due {
        let mut tx = db.begin().await?;
        let spend = qualifying_spend(&mut tx, clock, brand, MemberId(id)).await?;
        let target = table.for_spend(spend).rank;
        if target != rank
            && change(
                &mut tx,
                clock,
                brand,
                TierMove {
                    member: MemberId(id),
                    from_rank: rank,
                    to_rank: target,
                    reason: "review",
                    spend_fen: spend,
                },
            )
            .await?
        {
            moved += 1;
        }
        tx.commit().await?;
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spend_picks_the_highest_tier_reached() {
        let t = default_table();
        assert_eq!(t.for_spend(0).code, "base");
        assert_eq!(t.for_spend(99_999).code, "base");
        assert_eq!(t.for_spend(100_000).code, "silver");
        assert_eq!(t.for_spend(1_999_999).code, "platinum");
        assert_eq!(t.for_spend(50_000_000).code, "diamond");
    }

    #[test]
    fn the_next_tier_says_how_much_is_missing() {
        let t = default_table();
        let (next, missing) = t.next(1, 320_000).unwrap();
        assert_eq!(next.code, "gold");
        assert_eq!(missing, 180_000);
        assert!(t.next(4, 0).is_none());
    }
}
