//! `/admin/segments` (owners): RFM segments with counts and a chart, the
//! members of one segment, the churn-risk list with lifetime values, and
//! their CSV exports. Thin edges over `loyalty::marketing::insight`.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::functions::admin::{StaffInfo, StaffLoad};

/// One line of a member list: number, masked phone, name and figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentMember {
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentsPage {
    pub staff: StaffInfo,
    pub window_days: i64,
    pub mean_recency_days: f64,
    pub mean_frequency: f64,
    pub mean_monetary_fen: f64,
    /// (segment, members, spend in the window)
    pub counts: Vec<(String, i64, i64)>,
    /// The segment shown below the table, if one was picked.
    pub segment: Option<String>,
    /// Its members, biggest spend first (at most 200).
    pub members: Vec<SegmentMember>,
    pub members_total: i64,
    /// Members the churn rule could judge, and those at risk (at most 200).
    pub judged: i64,
    pub at_risk_total: i64,
    pub at_risk: Vec<SegmentMember>,
    /// (id, title) of the coupons that may be given to a segment.
    pub templates: Vec<(i64, String)>,
    /// The one-time key of the campaign form.
    pub key: String,
    pub campaigns: Vec<CampaignLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignLine {
    /// `rfm:important_value:180`, or the members list's filters.
    pub audience: String,
    pub coupon: String,
    pub date: String,
    pub issued: i64,
    pub redeemed: i64,
    pub bills_fen: i64,
    pub discount_fen: i64,
    /// Still being given: (members done, members in all).
    pub progress: Option<(i64, i64)>,
    pub out_of_stock: bool,
}

pub const WINDOWS: [i64; 3] = [90, 180, 365];
#[cfg(feature = "ssr")]
const SHOWN: usize = 200;

#[cfg(feature = "ssr")]
pub mod edge {
    use super::*;
    use crate::i18n::*;
    use loyalty::brands::Brand;
    use loyalty::marketing::insight::{self, csv_cell, ChurnRule, Segment};
    use std::collections::HashMap;

    pub fn window(w: Option<i64>) -> i64 {
        w.filter(|w| WINDOWS.contains(w)).unwrap_or(180)
    }

    /// Masked phone and name of the members listed (ids are numbers, so
    /// they go into the statement as they are).
    async fn contacts(
        db: &loyalty::Db,
        brand: &Brand,
        ids: &[i64],
    ) -> loyalty::Result<HashMap<i64, (String, String)>> {
        let mut rows: Vec<(i64, Option<String>, String)> = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let list = chunk
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            rows.extend(
                sqlx::query_as::<_, (i64, Option<String>, String)>(&format!(
                    "SELECT id, phone, display_name FROM members \
                     WHERE brand_id = $1 AND status = 'active' AND id IN ({list})"
                ))
                .bind(brand.id.0)
                .fetch_all(db.pool())
                .await?,
            );
        }
        Ok(rows
            .into_iter()
            .map(|(id, phone, name)| {
                let masked = phone
                    .and_then(|p| loyalty::members::phone::Phone::parse_e164(&p).ok())
                    .map(|p| p.masked())
                    .unwrap_or_default();
                (id, (masked, name))
            })
            .collect())
    }

    /// Everything the page and the exports show: the RFM figures, the
    /// chosen segment's members, and the churn list.
    pub async fn compute(
        db: &loyalty::Db,
        brand: &Brand,
        window_days: i64,
        segment: Option<Segment>,
        limit: Option<usize>,
    ) -> loyalty::Result<(
        insight::Rfm,
        Vec<SegmentMember>,
        insight::Churn,
        Vec<SegmentMember>,
    )> {
        let clock = loyalty::SystemClock;
        let (rfm, churn) =
            insight::overview(db, &clock, brand.id, window_days, ChurnRule::default()).await?;
        let limit = limit.unwrap_or(usize::MAX);
        let listed: Vec<i64> = segment
            .map(|s| {
                rfm.members
                    .iter()
                    .filter(|m| m.segment == s)
                    .take(limit)
                    .map(|m| m.member_id)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .into_iter()
            .chain(churn.at_risk.iter().take(limit).map(|r| r.member_id))
            .collect();
        let people = contacts(db, brand, &listed).await?;
        let ltv: HashMap<i64, i64> = churn.lifetime.iter().map(|l| (l.0, l.2)).collect();
        let who = |id: i64| people.get(&id).cloned().unwrap_or_default();
        let members = match segment {
            None => Vec::new(),
            Some(s) => rfm
                .members
                .iter()
                .filter(|m| m.segment == s)
                .take(limit)
                .map(|m| {
                    let (phone_masked, name) = who(m.member_id);
                    SegmentMember {
                        member_no: m.member_no.clone(),
                        phone_masked,
                        name,
                        days_since: m.recency_days,
                        visits: m.frequency,
                        figure: m.monetary_fen,
                        lifetime_fen: ltv.get(&m.member_id).copied().unwrap_or(0),
                    }
                })
                .collect(),
        };
        let at_risk = churn
            .at_risk
            .iter()
            .take(limit)
            .map(|r| {
                let (phone_masked, name) = who(r.member_id);
                SegmentMember {
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
        Ok((rfm, members, churn, at_risk))
    }

    /// A segment's members (or, with `segment` None, the churn list) as CSV
    /// with a header row in the brand's language. Every cell is guarded
    /// against spreadsheet formulas; phones are masked.
    pub async fn csv(
        db: &loyalty::Db,
        brand: &Brand,
        window_days: i64,
        segment: Option<Segment>,
    ) -> loyalty::Result<String> {
        let locale = crate::functions::members::BrandInfo::from(brand).default_locale;
        let (_, members, _, at_risk) = compute(db, brand, window_days, segment, None).await?;
        let (rows, figure) = match segment {
            Some(_) => (members, td_string!(locale, seg_col_spend).to_string()),
            None => (at_risk, td_string!(locale, seg_col_interval).to_string()),
        };
        let header = [
            td_string!(locale, seg_col_no).to_string(),
            td_string!(locale, seg_col_phone).to_string(),
            td_string!(locale, seg_col_name).to_string(),
            td_string!(locale, seg_col_days_since).to_string(),
            td_string!(locale, seg_col_visits).to_string(),
            figure,
            td_string!(locale, seg_col_lifetime).to_string(),
        ];
        // A byte-order mark, so spreadsheet programs read the Chinese as UTF-8.
        let mut out = String::from("\u{feff}");
        out.push_str(&header.map(|h| csv_cell(&h)).join(","));
        out.push_str("\r\n");
        for m in rows {
            let figure = if segment.is_some() {
                loyalty::money::yuan_decimal(m.figure)
            } else {
                m.figure.to_string()
            };
            let cells = [
                m.member_no,
                m.phone_masked,
                m.name,
                m.days_since.to_string(),
                m.visits.to_string(),
                figure,
                loyalty::money::yuan_decimal(m.lifetime_fen),
            ];
            out.push_str(&cells.map(|c| csv_cell(&c)).join(","));
            out.push_str("\r\n");
        }
        Ok(out)
    }
}

pub async fn load_segments(
    window: Option<i64>,
    segment: Option<String>,
) -> Result<StaffLoad<SegmentsPage>, AppError> {
    use crate::functions::admin::owner;
    use crate::server::portal_state;
    use loyalty::marketing::insight::Segment;

    let state = portal_state()?;
    let (_, brand, info) = match owner(&state, "/admin/segments").await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let window_days = edge::window(window);
    let segment = segment.as_deref().and_then(Segment::parse);
    let (rfm, members, churn, at_risk) =
        edge::compute(&state.db, &brand, window_days, segment, Some(SHOWN)).await?;
    let members_total = segment
        .and_then(|s| rfm.counts.iter().find(|c| c.0 == s))
        .map(|c| c.1)
        .unwrap_or(0);
    let lang = brand.default_language;
    // Every template names past campaigns; the active ones may start one.
    let all = loyalty::coupons::all_templates(&state.db, brand.id).await?;
    let all_titles: Vec<(i64, String)> = all
        .iter()
        .map(|t| {
            (
                t.id.0,
                crate::coupon_text::title(crate::locale::to_locale(lang), &t.rule),
            )
        })
        .collect();
    let templates: Vec<(i64, String)> = all
        .iter()
        .zip(&all_titles)
        .filter(|(t, _)| t.active)
        .map(|(_, line)| line.clone())
        .collect();
    let campaigns = loyalty::marketing::roster::campaigns(&state.db, brand.id, 20)
        .await?
        .into_iter()
        .map(|c| CampaignLine {
            audience: c.audience,
            coupon: all_titles
                .iter()
                .find(|t| t.0 == c.template.0)
                .map(|t| t.1.clone())
                .unwrap_or_default(),
            date: loyalty::points::rules::local_date(&brand.time_zone, c.created_at),
            issued: c.issued,
            redeemed: c.redeemed,
            bills_fen: c.bills_fen,
            discount_fen: c.discount_fen,
            progress: c.progress,
            out_of_stock: c.out_of_stock,
        })
        .collect();
    Ok(StaffLoad::Page(Box::new(SegmentsPage {
        templates,
        key: loyalty::infra::forms::FormKey::generate()
            .as_str()
            .to_owned(),
        campaigns,
        staff: info,
        window_days,
        mean_recency_days: rfm.mean_recency_days,
        mean_frequency: rfm.mean_frequency,
        mean_monetary_fen: rfm.mean_monetary_fen,
        counts: rfm
            .counts
            .iter()
            .map(|(s, n, m)| (s.as_str().to_owned(), *n, *m))
            .collect(),
        segment: segment.map(|s| s.as_str().to_owned()),
        members,
        members_total,
        judged: churn.judged,
        at_risk_total: churn.at_risk.len() as i64,
        at_risk,
    })))
}

/// Queues a campaign: every member of an RFM segment gets one coupon, given
/// by the scheduler a batch a minute; a resent form queues nothing more.
#[server(prefix = "/fn", endpoint = "grant_rfm_campaign")]
pub async fn grant_rfm_campaign(
    key: String,
    template: i64,
    segment: String,
    window: i64,
) -> Result<(), AppError> {
    use loyalty::{
        coupons::TemplateId, infra::forms, marketing::insight::Segment, marketing::roster,
        SystemClock,
    };
    let window = edge::window(Some(window));
    let segment = Segment::parse(&segment);
    let back = match segment {
        Some(s) => format!("/admin/segments?window={window}&segment={}", s.as_str()),
        None => format!("/admin/segments?window={window}"),
    };
    crate::functions::form::staff_form(&back, async |state, owner: loyalty::access::Owner| {
        let Some(segment) = segment else {
            return Ok(back.clone());
        };
        let key = forms::FormKey::parse(&key)?;
        let template = TemplateId(template);
        roster::queue_rfm_campaign(
            &state.db,
            &SystemClock,
            &owner,
            &key,
            segment,
            window,
            template,
        )
        .await?;
        Ok(format!("{back}&queued=1#campaigns"))
    })
    .await
}
