//! The console's members (owners and managers): search, one member's page,
//! points adjusted by hand, a coupon granted. Thin edges over
//! `loyalty::members::roster`, `points::adjustments`, `coupons::grants` and
//! `marketing::campaigns`.

use crate::error::AppError;
use crate::functions::form::staff_form;
use leptos::prelude::*;
use loyalty::access::Manager;
use loyalty::members::roster;
use serde::{Deserialize, Serialize};

use crate::functions::admin::{StaffInfo, StaffLoad};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MembersQuery {
    pub q: String,
    /// A tier's rank, or empty.
    pub tier: String,
    /// `YYYY-MM-DD`, or empty.
    pub joined_from: String,
    pub joined_to: String,
    /// `active30`, `active90`, `idle60`, `idle180`, or empty.
    pub visits: String,
    pub page: i64,
    /// The key of a segment form just sent, to show what it did.
    pub done: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    pub member_no: String,
    pub display_name: String,
    pub phone_masked: String,
    pub tier: String,
    pub points: i64,
    pub joined: String,
    pub last_visit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersPage {
    pub staff: StaffInfo,
    pub query: MembersQuery,
    /// (rank, name) of the brand's tiers.
    pub tiers: Vec<(i64, String)>,
    pub rows: Vec<MemberRow>,
    pub more: bool,
    /// (template id, title) a segment can be given.
    pub templates: Vec<(i64, String)>,
    /// A fresh key for the segment form.
    pub key: String,
    /// What the last segment form did: (matched, issued, skipped, out of stock).
    pub segment_done: Option<(i64, i64, i64, bool)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberPage {
    pub staff: StaffInfo,
    pub file: loyalty::members::roster::MemberFile,
}

impl MembersQuery {
    /// The members page this query shows (its filters, not its page).
    fn url(&self) -> String {
        use crate::functions::admin::urlencode as enc;
        format!(
            "/admin/members?q={}&tier={}&joined_from={}&joined_to={}&visits={}",
            enc(&self.q),
            enc(&self.tier),
            enc(&self.joined_from),
            enc(&self.joined_to),
            enc(&self.visits)
        )
    }
}

/// A member's console page.
fn member_url(member_no: &str) -> String {
    format!(
        "/admin/members/{}",
        crate::functions::admin::urlencode(member_no)
    )
}

mod edge {
    use super::*;

    pub fn day(brand: &loyalty::brands::Brand, ms: i64) -> String {
        loyalty::points::rules::local_date(&brand.time_zone, ms)
    }

    /// Midnight of `YYYY-MM-DD` (plus days) in the brand's zone.
    pub fn start_of(brand: &loyalty::brands::Brand, date: &str, plus_days: i64) -> Option<i64> {
        loyalty::points::rules::local_midnight(&brand.time_zone, date, plus_days)
    }

    /// The roster filter a members query describes.
    pub fn filter(
        brand: &loyalty::brands::Brand,
        query: &MembersQuery,
    ) -> loyalty::members::roster::Filter {
        loyalty::members::roster::Filter {
            query: query.q.chars().take(40).collect(),
            tier_rank: query.tier.parse().ok(),
            joined_from: start_of(brand, &query.joined_from, 0),
            joined_to: start_of(brand, &query.joined_to, 1),
            active_within_days: match query.visits.as_str() {
                "active30" => Some(30),
                "active90" => Some(90),
                _ => None,
            },
            idle_for_days: match query.visits.as_str() {
                "idle60" => Some(60),
                "idle180" => Some(180),
                _ => None,
            },
        }
    }
}

pub async fn load_members(query: MembersQuery) -> Result<StaffLoad<MembersPage>, AppError> {
    use crate::functions::admin::edge::manager;
    let state = crate::server::portal_state()?;
    let (manager, brand, staff) = match manager(&state, "/admin/members").await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let filter = edge::filter(&brand, &query);
    let page = query.page.clamp(0, 10_000);
    let done = Some(query.done.as_str());
    let clock = &loyalty::SystemClock;
    let roster = roster::list(&state.db, clock, &manager, &filter, page, done).await?;
    let locale = crate::locale::to_locale(brand.default_language);
    let rows = roster.lines.iter().map(|l| MemberRow {
        member_no: l.member_no.clone(),
        display_name: l.display_name.clone(),
        phone_masked: l.phone_masked.clone(),
        tier: roster.tier_name(l.tier_rank).to_owned(),
        points: l.points,
        joined: edge::day(&brand, l.joined_at),
        last_visit: l.last_visit_at.map(|t| edge::day(&brand, t)),
    });
    Ok(StaffLoad::Page(Box::new(MembersPage {
        rows: rows.collect(),
        templates: (roster.templates.iter())
            .map(|t| (t.id.0, crate::coupon_text::title(locale, &t.rule)))
            .collect(),
        key: roster.key.as_str().to_owned(),
        tiers: roster.tiers(),
        segment_done: (roster.done).map(|o| (o.matched, o.issued, o.skipped, o.out_of_stock)),
        staff,
        more: roster.more,
        query: MembersQuery { page, ..query },
    })))
}

pub async fn load_member(
    no: String,
    done: Option<String>,
) -> Result<StaffLoad<MemberPage>, AppError> {
    use crate::functions::admin::edge::manager;
    let state = crate::server::portal_state()?;
    let (manager, _, staff) = match manager(&state, &member_url(&no)).await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let clock = &loyalty::SystemClock;
    match roster::member_file(&state.db, clock, &manager, &no, done.as_deref()).await {
        Ok(file) => Ok(StaffLoad::Page(Box::new(MemberPage { staff, file }))),
        Err(loyalty::Error::MemberNotFound) => {
            crate::server::set_status(http::StatusCode::NOT_FOUND);
            Ok(StaffLoad::Forbidden(staff))
        }
        Err(e) => Err(e.into()),
    }
}

#[server(prefix = "/fn", endpoint = "adjust_member_points")]
pub async fn adjust_member_points(
    member: String,
    key: String,
    points: String,
    reason: String,
) -> Result<(), AppError> {
    use loyalty::{infra::forms, points::adjustments, staff::till, SystemClock};
    let back = member_url(&member);
    staff_form(&back, async |state, manager: Manager| {
        let key = forms::FormKey::parse(&key)?;
        let delta = forms::signed_number("adjust_points", &points)?;
        let m = till::member_by_no(&state.db, manager.brand(), &member).await?;
        adjustments::by_hand(
            &state.db,
            &SystemClock,
            &manager,
            &key,
            m.id,
            delta,
            &reason,
        )
        .await?;
        Ok(format!("{back}?done={}", key.as_str()))
    })
    .await
}

/// Staff erase a member who asked in person and can no longer receive a
/// code: at once for an owner, after an owner's approval for a manager.
#[server(prefix = "/fn", endpoint = "erase_member_at_counter")]
pub async fn erase_member_at_counter(
    member: String,
    reason: String,
    #[server(default)] confirm: String,
) -> Result<(), AppError> {
    use loyalty::members::erasure::{self, Erasure};
    use loyalty::{staff::till, SystemClock};
    let back = member_url(&member);
    staff_form(&back, async |state, manager: Manager| {
        if confirm != "yes" {
            return Err(AppError::new("confirm_delete"));
        }
        let m = till::member_by_no(&state.db, manager.brand(), &member).await?;
        match erasure::at_counter(&state.db, &SystemClock, &manager, m.id, &reason).await? {
            Erasure::Erased => Ok("/admin/members?notice=erased".to_owned()),
            Erasure::Awaiting { .. } => Ok(format!("{back}?notice=erasure_requested#erase")),
        }
    })
    .await
}

#[server(prefix = "/fn", endpoint = "grant_member_coupon")]
pub async fn grant_member_coupon(
    member: String,
    key: String,
    template: i64,
) -> Result<(), AppError> {
    use loyalty::{
        coupons::{grants, TemplateId},
        infra::forms,
        staff::till,
        SystemClock,
    };
    let back = member_url(&member);
    staff_form(&back, async |state, manager: Manager| {
        let key = forms::FormKey::parse(&key)?;
        let m = till::member_by_no(&state.db, manager.brand(), &member).await?;
        let template = TemplateId(template);
        grants::by_hand(&state.db, &SystemClock, &manager, &key, m.id, template).await?;
        Ok(format!("{back}?done={}", key.as_str()))
    })
    .await
}

/// Gives every member the filters match one coupon (at most
/// `loyalty::marketing::campaigns::MAX_SEGMENT`); a resent form gives nobody a second.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/fn", endpoint = "grant_segment_coupon")]
pub async fn grant_segment_coupon(
    key: String,
    template: i64,
    #[server(flatten)] query: MembersQuery,
) -> Result<(), AppError> {
    use loyalty::{coupons::TemplateId, infra::forms, marketing::campaigns, SystemClock};
    let back = query.url();
    staff_form(&back, async |state, manager: Manager| {
        let key = forms::FormKey::parse(&key)?;
        let filter = edge::filter(manager.brand(), &query);
        let template = TemplateId(template);
        campaigns::grant_to_segment(&state.db, &SystemClock, &manager, &key, &filter, template)
            .await?;
        Ok(format!("{back}&done={}", key.as_str()))
    })
    .await
}
