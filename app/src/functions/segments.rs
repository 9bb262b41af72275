//! `/admin/segments` (owners): RFM segments with counts and a chart, the
//! members of one segment, the churn-risk list with lifetime values, and
//! their CSV exports. Thin edges over `loyalty::marketing::insight`.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::functions::admin::{StaffInfo, StaffLoad};

/// One line of a member list: number, masked phone, name and figures.
pub use loyalty::marketing::insight::Listed as SegmentMember;

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
pub mod edge {
    use super::*;
    use crate::i18n::*;
    use loyalty::brands::Brand;
    use loyalty::marketing::insight::{self, csv_cell, Segment};

    pub fn window(w: Option<i64>) -> i64 {
        w.filter(|w| WINDOWS.contains(w)).unwrap_or(180)
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
        let clock = &loyalty::SystemClock;
        let lists = insight::lists(db, clock, brand.id, window_days, segment, None).await?;
        let (rows, figure) = match segment {
            Some(_) => (lists.members, td_string!(locale, seg_col_spend).to_string()),
            None => (
                lists.at_risk,
                td_string!(locale, seg_col_interval).to_string(),
            ),
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
    use loyalty::marketing::insight::{self, Segment};
    let state = crate::server::portal_state()?;
    let (owner, brand, staff) =
        match crate::functions::admin::owner(&state, "/admin/segments").await? {
            Ok(s) => s,
            Err(refused) => return Ok(refused),
        };
    let window_days = edge::window(window);
    let segment = segment.as_deref().and_then(Segment::parse);
    let clock = &loyalty::SystemClock;
    let screen = insight::screen(&state.db, clock, &owner, window_days, segment).await?;
    let locale = crate::locale::to_locale(brand.default_language);
    let title = |id: i64| {
        (screen.templates.iter().find(|t| t.id.0 == id))
            .map(|t| crate::coupon_text::title(locale, &t.rule))
            .unwrap_or_default()
    };
    let campaigns = screen.campaigns.iter().map(|c| CampaignLine {
        audience: c.audience.clone(),
        coupon: title(c.template.0),
        date: loyalty::points::rules::local_date(&brand.time_zone, c.created_at),
        issued: c.issued,
        redeemed: c.redeemed,
        bills_fen: c.bills_fen,
        discount_fen: c.discount_fen,
        progress: c.progress,
        out_of_stock: c.out_of_stock,
    });
    let (lists, rfm) = (&screen.lists, &screen.lists.rfm);
    Ok(StaffLoad::Page(Box::new(SegmentsPage {
        templates: (screen.templates.iter().filter(|t| t.active))
            .map(|t| (t.id.0, title(t.id.0)))
            .collect(),
        key: screen.key.as_str().to_owned(),
        campaigns: campaigns.collect(),
        staff,
        window_days,
        mean_recency_days: rfm.mean_recency_days,
        mean_frequency: rfm.mean_frequency,
        mean_monetary_fen: rfm.mean_monetary_fen,
        counts: (rfm.counts.iter())
            .map(|(s, n, m)| (s.as_str().to_owned(), *n, *m))
            .collect(),
        segment: segment.map(|s| s.as_str().to_owned()),
        members: lists.members.clone(),
        members_total: lists.members_total,
        judged: lists.judged,
        at_risk_total: lists.at_risk_total,
        at_risk: lists.at_risk.clone(),
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
        coupons::TemplateId, infra::forms, marketing::campaigns, marketing::insight::Segment,
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
        campaigns::queue_rfm(
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
