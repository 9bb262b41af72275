//! The member's points page: balance, tier progress, what expires next and
//! the history.

use crate::error::AppError;
use serde::{Deserialize, Serialize};

use crate::functions::members::{BrandInfo, TierNames};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    pub id: i64,
    /// earn, spend, expire, adjust, reverse
    pub kind: String,
    /// purchase, refund, points as payment, …
    pub reason: String,
    pub store: Option<String>,
    pub amount: i64,
    pub date: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsPage {
    pub brand: BrandInfo,
    pub balance: i64,
    pub tier: TierNames,
    /// The next tier and the spend (fen) still missing for it.
    pub next_tier: Option<(TierNames, i64)>,
    /// Qualifying spend over the last 12 months, and the next tier's threshold.
    pub progress: (i64, i64),
    /// Points expiring next, and their last valid day (brand calendar).
    pub expiring: Option<(i64, String)>,
    pub entries: Vec<EntryView>,
    /// Where the next page starts, when there is one.
    pub more: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PointsLoad {
    NoBrand,
    SignedOut,
    Points(Box<PointsPage>),
}

pub const PAGE_SIZE: i64 = 20;

pub async fn load_points(slug: String, before: Option<i64>) -> Result<PointsLoad, AppError> {
    use crate::server::{current_member, find_brand, portal_state, see_other};
    use loyalty::{members, points, points::rules, points::tiers};

    let state = portal_state()?;
    let Some(brand) = find_brand(&state.db, &slug).await? else {
        return Ok(PointsLoad::NoBrand);
    };
    let Some(member_id) = current_member(&state, brand.id).await? else {
        see_other(&format!("/r/{0}/join?next=/r/{0}/points", brand.slug));
        return Ok(PointsLoad::SignedOut);
    };
    let m = members::find(&state.db, brand.id, member_id).await?;
    let mut conn = crate::server::connection(&state).await?;
    let table = tiers::load(&mut conn, brand.id).await?;
    let spend =
        tiers::qualifying_spend(&mut conn, &loyalty::SystemClock, brand.id, member_id).await?;
    drop(conn);
    let tier = table.by_rank(m.tier_rank);
    let next = table.next(m.tier_rank, spend);
    let progress = (spend, next.map_or(spend, |(t, _)| t.threshold_fen));
    let mut entries =
        points::history(&state.db, brand.id, member_id, before, PAGE_SIZE + 1).await?;
    let more = (entries.len() as i64 > PAGE_SIZE).then(|| {
        entries.truncate(PAGE_SIZE as usize);
        entries.last().map(|e| e.id).unwrap_or_default()
    });
    let expiring = points::next_expiry(&state.db, brand.id, member_id)
        .await?
        // Shown as the last day the points can be used.
        .map(|(points, at)| (points, rules::local_date(&brand.time_zone, at - 1)));
    Ok(PointsLoad::Points(Box::new(PointsPage {
        brand: BrandInfo::from(&brand),
        balance: m.points_balance,
        tier: TierNames::from(tier),
        next_tier: next.map(|(t, missing)| (TierNames::from(t), missing)),
        progress,
        expiring,
        entries: entries
            .into_iter()
            .map(|e| EntryView {
                id: e.id,
                kind: e.kind.as_str().to_owned(),
                reason: e.reason,
                store: e.store_name,
                amount: e.amount,
                date: rules::local_date(&brand.time_zone, e.created_at),
            })
            .collect(),
        more,
    })))
}
