//! Who the diners are (seeds 000–003): RFM segments, churn risk and
//! lifetime value, computed from the purchases.
//!
//! **RFM** over a window (90, 180 or 365 days): for every member with a
//! purchase in it, R = days since the last one, F = purchases, M = spend
//! net of refunds. Each is compared with the mean of those members: recent
//! (R at most the mean), frequent (F at least the mean), big-spending (M at
//! least the mean). The three yes/no answers give the eight classic
//! segments (重要价值 … 一般挽留), as 西贝 and most Chinese CRMs use them.
//!
//! **Churn risk** (seed 002: a monthly diner absent for two months): a
//! member with at least `min_visits` visits whose time since the last visit
//! exceeds `k` times their usual interval (first to last visit, divided by
//! the gaps between).
//!
//! **Lifetime value**: everything a member has spent, net of refunds.
//!
//! A purchase refunded in full is not a visit.
//!
//! One aggregate pass over the brand's purchases does all of it; the rest
//! is arithmetic here (`make bench-insight` times it on 100,000 members and
//! 2,000,000 purchases).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::brands::BrandId;
use crate::{Clock, Db, Result};

const DAY: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Segment {
    /// 重要价值: recent, frequent, big-spending.
    ImportantValue,
    /// 重要发展: recent, big-spending, not yet frequent.
    ImportantDevelop,
    /// 重要保持: frequent and big-spending, but not lately.
    ImportantKeep,
    /// 重要挽留: big-spending, neither recent nor frequent.
    ImportantWinBack,
    /// 一般价值: recent and frequent, small spend.
    GeneralValue,
    /// 一般发展: recent only.
    GeneralDevelop,
    /// 一般保持: frequent only.
    GeneralKeep,
    /// 一般挽留: none of the three.
    GeneralWinBack,
}

impl Segment {
    pub const ALL: [Segment; 8] = [
        Segment::ImportantValue,
        Segment::ImportantDevelop,
        Segment::ImportantKeep,
        Segment::ImportantWinBack,
        Segment::GeneralValue,
        Segment::GeneralDevelop,
        Segment::GeneralKeep,
        Segment::GeneralWinBack,
    ];

    pub fn of(recent: bool, frequent: bool, big: bool) -> Segment {
        match (big, recent, frequent) {
            (true, true, true) => Segment::ImportantValue,
            (true, true, false) => Segment::ImportantDevelop,
            (true, false, true) => Segment::ImportantKeep,
            (true, false, false) => Segment::ImportantWinBack,
            (false, true, true) => Segment::GeneralValue,
            (false, true, false) => Segment::GeneralDevelop,
            (false, false, true) => Segment::GeneralKeep,
            (false, false, false) => Segment::GeneralWinBack,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Segment::ImportantValue => "important_value",
            Segment::ImportantDevelop => "important_develop",
            Segment::ImportantKeep => "important_keep",
            Segment::ImportantWinBack => "important_win_back",
            Segment::GeneralValue => "general_value",
            Segment::GeneralDevelop => "general_develop",
            Segment::GeneralKeep => "general_keep",
            Segment::GeneralWinBack => "general_win_back",
        }
    }

    pub fn parse(s: &str) -> Option<Segment> {
        Segment::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One member's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRfm {
    pub member_id: i64,
    pub member_no: String,
    pub recency_days: i64,
    pub frequency: i64,
    pub monetary_fen: i64,
    pub segment: Segment,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rfm {
    pub window_days: i64,
    /// The means the members were compared with (days, purchases, fen).
    pub mean_recency_days: f64,
    pub mean_frequency: f64,
    pub mean_monetary_fen: f64,
    /// Per segment: members and their spend in the window.
    pub counts: Vec<(Segment, i64, i64)>,
    /// Every member with a purchase in the window, biggest spend first.
    pub members: Vec<MemberRfm>,
}

/// (id, number, first visit, last visit, visits, spend) of a member.
type Totals = (i64, String, i64, i64, i64, i64);

/// One pass over the brand's purchases (in the order of the covering index
/// `purchases_insight_idx`, so no sort and no table lookups), lifetime and
/// window figures together; members' numbers come from a second, small
/// query, and only active members count. Returns (lifetime, window).
async fn totals(db: &Db, brand: BrandId, since: i64) -> Result<(Vec<Totals>, Vec<Totals>)> {
    type Row = (i64, i64, i64, i64, i64, Option<i64>, Option<i64>, i64, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT member_id, MIN(occurred_at), MAX(occurred_at), CAST(COUNT(*) AS BIGINT), \
                CAST(SUM(amount_fen - refunded_fen) AS BIGINT), \
                MIN(CASE WHEN occurred_at >= $2 THEN occurred_at END), \
                MAX(CASE WHEN occurred_at >= $2 THEN occurred_at END), \
                CAST(SUM(CASE WHEN occurred_at >= $2 THEN 1 ELSE 0 END) AS BIGINT), \
                CAST(SUM(CASE WHEN occurred_at >= $2 THEN amount_fen - refunded_fen ELSE 0 END) AS BIGINT) \
         FROM purchases WHERE brand_id = $1 AND amount_fen > refunded_fen GROUP BY member_id",
    )
    .bind(brand.0)
    .bind(since)
    .fetch_all(db.pool())
    .await?;
    let numbers: std::collections::HashMap<i64, String> = sqlx::query_as(
        "SELECT id, member_no FROM members WHERE brand_id = $1 AND status = 'active'",
    )
    .bind(brand.0)
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .collect();
    let mut lifetime = Vec::with_capacity(rows.len());
    let mut window = Vec::with_capacity(rows.len());
    for (id, first, last, n, spend, w_first, w_last, w_n, w_spend) in rows {
        let Some(no) = numbers.get(&id) else {
            continue;
        };
        lifetime.push((id, no.clone(), first, last, n, spend));
        if let (Some(w_first), Some(w_last)) = (w_first, w_last) {
            window.push((id, no.clone(), w_first, w_last, w_n, w_spend));
        }
    }
    Ok((lifetime, window))
}

/// Classifies members given (id, number, last visit, purchases, spend).
pub fn classify(now: i64, window_days: i64, rows: Vec<(i64, String, i64, i64, i64)>) -> Rfm {
    let n = rows.len().max(1) as f64;
    let recency = |last: i64| ((now - last).max(0)) / DAY;
    let mean_r = rows.iter().map(|r| recency(r.2) as f64).sum::<f64>() / n;
    let mean_f = rows.iter().map(|r| r.3 as f64).sum::<f64>() / n;
    let mean_m = rows.iter().map(|r| r.4 as f64).sum::<f64>() / n;
    let mut members: Vec<MemberRfm> = rows
        .into_iter()
        .map(|(member_id, member_no, last, frequency, monetary_fen)| {
            let recency_days = recency(last);
            MemberRfm {
                member_id,
                member_no,
                recency_days,
                frequency,
                monetary_fen,
                segment: Segment::of(
                    recency_days as f64 <= mean_r,
                    frequency as f64 >= mean_f,
                    monetary_fen as f64 >= mean_m,
                ),
            }
        })
        .collect();
    members.sort_by(|a, b| {
        b.monetary_fen
            .cmp(&a.monetary_fen)
            .then(a.member_id.cmp(&b.member_id))
    });
    let counts = Segment::ALL
        .into_iter()
        .map(|s| {
            let of: Vec<&MemberRfm> = members.iter().filter(|m| m.segment == s).collect();
            (
                s,
                of.len() as i64,
                of.iter().map(|m| m.monetary_fen).sum::<i64>(),
            )
        })
        .collect();
    Rfm {
        window_days,
        mean_recency_days: mean_r,
        mean_frequency: mean_f,
        mean_monetary_fen: mean_m,
        counts,
        members,
    }
}

/// RFM over the last `window_days` and the churn list, from one pass.
pub async fn overview(
    db: &Db,
    clock: &dyn Clock,
    brand: BrandId,
    window_days: i64,
    rule: ChurnRule,
) -> Result<(Rfm, Churn)> {
    let now = clock.now_ms();
    let window_days = window_days.clamp(7, 3650);
    let (lifetime, window) = totals(db, brand, now - window_days * DAY).await?;
    let rfm = classify(
        now,
        window_days,
        window
            .into_iter()
            .map(|(id, no, _, last, f, m)| (id, no, last, f, m))
            .collect(),
    );
    Ok((rfm, judge(now, rule, lifetime)))
}

pub async fn rfm(db: &Db, clock: &dyn Clock, brand: BrandId, window_days: i64) -> Result<Rfm> {
    Ok(
        overview(db, clock, brand, window_days, ChurnRule::default())
            .await?
            .0,
    )
}

/// The churn rule: `k_permille` / 1000 times the usual interval, for
/// members with at least `min_visits` visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChurnRule {
    pub k_permille: i64,
    pub min_visits: i64,
}

impl Default for ChurnRule {
    /// Seed 002: a diner who came monthly and has been away two months.
    fn default() -> Self {
        ChurnRule {
            k_permille: 2000,
            min_visits: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtRisk {
    pub member_id: i64,
    pub member_no: String,
    pub visits: i64,
    pub usual_interval_days: i64,
    pub days_since: i64,
    pub last_visit: i64,
    pub lifetime_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Churn {
    pub rule: ChurnRule,
    /// Members the rule could judge (enough visits).
    pub judged: i64,
    /// At risk, most valuable first.
    pub at_risk: Vec<AtRisk>,
    /// Lifetime value of every member with a purchase: (id, number, fen),
    /// most valuable first.
    pub lifetime: Vec<(i64, String, i64)>,
}

pub fn judge(now: i64, rule: ChurnRule, rows: Vec<Totals>) -> Churn {
    let mut at_risk = Vec::new();
    let mut judged = 0;
    let mut lifetime = Vec::with_capacity(rows.len());
    for (member_id, member_no, first, last, visits, spend) in rows {
        if visits >= rule.min_visits.max(2) {
            judged += 1;
            let interval = (last - first) / (visits - 1);
            let since = now - last;
            // Several visits on one day have no usual interval to speak of.
            if interval >= DAY
                && i128::from(since) * 1000 > i128::from(interval) * i128::from(rule.k_permille)
            {
                at_risk.push(AtRisk {
                    member_id,
                    member_no: member_no.clone(),
                    visits,
                    usual_interval_days: interval / DAY,
                    days_since: since / DAY,
                    last_visit: last,
                    lifetime_fen: spend,
                });
            }
        }
        lifetime.push((member_id, member_no, spend));
    }
    at_risk.sort_by(|a, b| {
        b.lifetime_fen
            .cmp(&a.lifetime_fen)
            .then(a.member_id.cmp(&b.member_id))
    });
    lifetime.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    Churn {
        rule,
        judged,
        at_risk,
        lifetime,
    }
}

pub async fn churn(db: &Db, clock: &dyn Clock, brand: BrandId, rule: ChurnRule) -> Result<Churn> {
    Ok(overview(db, clock, brand, 365, rule).await?.1)
}

/// One line of a member list: number, masked phone, name and figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    pub member_no: String,
    pub phone_masked: String,
    pub name: String,
    /// Days since the last visit.
    pub days_since: i64,
    pub visits: i64,
    /// Spend in the window (RFM) or the usual interval in days (churn).
    pub figure: i64,
    pub lifetime_fen: i64,
}

/// The RFM figures, one segment's members and the churn list, each list
/// at most `limit` long (all of it for the exports).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lists {
    pub rfm: Rfm,
    /// The chosen segment's members, biggest spend first.
    pub members: Vec<Listed>,
    /// How many members the chosen segment has in all.
    pub members_total: i64,
    /// Members the churn rule could judge, and how many of them are at risk.
    pub judged: i64,
    pub at_risk_total: i64,
    /// At risk, most valuable first.
    pub at_risk: Vec<Listed>,
}

/// What the segments page and its exports list; see [`Lists`].
pub async fn lists(
    db: &Db,
    clock: &dyn Clock,
    brand: BrandId,
    window_days: i64,
    segment: Option<Segment>,
    limit: Option<usize>,
) -> Result<Lists> {
    let (rfm, churn) = overview(db, clock, brand, window_days, ChurnRule::default()).await?;
    let limit = limit.unwrap_or(usize::MAX);
    let in_segment = || {
        rfm.members
            .iter()
            .filter(move |m| Some(m.segment) == segment)
            .take(limit)
    };
    let listed: Vec<i64> = (in_segment().map(|m| m.member_id))
        .chain(churn.at_risk.iter().take(limit).map(|r| r.member_id))
        .collect();
    let people = contacts(db, brand, &listed).await?;
    let ltv: HashMap<i64, i64> = churn.lifetime.iter().map(|l| (l.0, l.2)).collect();
    let who = |id: i64| people.get(&id).cloned().unwrap_or_default();
    let members = in_segment()
        .map(|m| {
            let (phone_masked, name) = who(m.member_id);
            Listed {
                member_no: m.member_no.clone(),
                phone_masked,
                name,
                days_since: m.recency_days,
                visits: m.frequency,
                figure: m.monetary_fen,
                lifetime_fen: ltv.get(&m.member_id).copied().unwrap_or(0),
            }
        })
        .collect();
    let at_risk = (churn.at_risk.iter().take(limit))
        .map(|r| {
            let (phone_masked, name) = who(r.member_id);
            Listed {
                member_no: r.member_no.clone(),
                phone_masked,
                name,
                days_since: r.days_since,
                visits: r.visits,
                figure: r.usual_interval_days,
                lifetime_fen: r.lifetime_fen,
            }
        })
        .collect();
    let members_total = (rfm.counts.iter())
        .find(|c| Some(c.0) == segment)
        .map_or(0, |c| c.1);
    Ok(Lists {
        members,
        members_total,
        judged: churn.judged,
        at_risk_total: churn.at_risk.len() as i64,
        at_risk,
        rfm,
    })
}

/// Masked phone and name of the members listed (ids are numbers, so they
/// go into the statement as they are).
async fn contacts(db: &Db, brand: BrandId, ids: &[i64]) -> Result<HashMap<i64, (String, String)>> {
    let mut rows: Vec<(i64, Option<String>, String)> = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let list = (chunk.iter().map(i64::to_string))
            .collect::<Vec<_>>()
            .join(",");
        rows.extend(
            sqlx::query_as::<_, (i64, Option<String>, String)>(&format!(
                "SELECT id, phone, display_name FROM members \
                 WHERE brand_id = $1 AND status = 'active' AND id IN ({list})"
            ))
            .bind(brand.0)
            .fetch_all(db.pool())
            .await?,
        );
    }
    Ok(rows
        .into_iter()
        .map(|(id, phone, name)| {
            let masked = phone
                .and_then(|p| crate::members::phone::Phone::stored(p).ok())
                .map(|p| p.masked())
                .unwrap_or_default();
            (id, (masked, name))
        })
        .collect())
}

/// Members a segments page lists at most.
pub const SHOWN: usize = 200;

/// Everything the owner's segments page shows, from one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Screen {
    pub lists: Lists,
    /// Every template of the brand: past campaigns name them, the active
    /// ones may start one.
    pub templates: Vec<crate::coupons::Template>,
    /// The latest 20 campaigns, newest first.
    pub campaigns: Vec<super::campaigns::CampaignReport>,
    /// A fresh key for the campaign form.
    pub key: crate::infra::forms::FormKey,
}

/// The segments page over the last `window_days`, with `segment`'s members
/// listed when one is chosen.
pub async fn screen(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Owner,
    window_days: i64,
    segment: Option<Segment>,
) -> Result<Screen> {
    let brand = who.brand().id;
    Ok(Screen {
        lists: lists(db, clock, brand, window_days, segment, Some(SHOWN)).await?,
        templates: crate::coupons::all_templates(db, brand).await?,
        campaigns: super::campaigns::latest(db, brand, 20).await?,
        key: crate::infra::forms::FormKey::generate(),
    })
}

/// A spreadsheet cell that cannot run as a formula: text starting with
/// `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`
/// (OWASP's advice on CSV injection), and quotes are doubled.
pub fn csv_cell(s: &str) -> String {
    // Leading spaces or line breaks too: some importers trim them first.
    let lead = s.trim_start_matches([' ', '\n', '\u{3000}']);
    let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r'])
        || lead.starts_with(['=', '+', '-', '@', '\t', '\r'])
    {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eight_segments_follow_the_three_answers() {
        assert_eq!(Segment::of(true, true, true), Segment::ImportantValue);
        assert_eq!(Segment::of(true, false, true), Segment::ImportantDevelop);
        assert_eq!(Segment::of(false, true, true), Segment::ImportantKeep);
        assert_eq!(Segment::of(false, false, true), Segment::ImportantWinBack);
        assert_eq!(Segment::of(true, true, false), Segment::GeneralValue);
        assert_eq!(Segment::of(true, false, false), Segment::GeneralDevelop);
        assert_eq!(Segment::of(false, true, false), Segment::GeneralKeep);
        assert_eq!(Segment::of(false, false, false), Segment::GeneralWinBack);
        for s in Segment::ALL {
            assert_eq!(Segment::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn cells_never_start_a_formula() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+86"), "'+86");
        assert_eq!(csv_cell("-5"), "'-5");
        assert_eq!(csv_cell("@SUM"), "'@SUM");
        assert_eq!(csv_cell("阿明"), "阿明");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell(" =1+1"), "' =1+1");
        assert_eq!(csv_cell("\n=1"), "\"'\n=1\"");
    }
}
