//! The console's members (owners and managers): search, one member's page,
//! points adjusted by hand, a coupon granted. Thin edges over
//! `loyalty::roster`.

use crate::error::AppError;
use crate::functions::form::staff_form;
use leptos::prelude::*;
use loyalty::access::Manager;
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
pub struct LedgerRow {
    pub when: String,
    /// earn, spend, expire, adjust, reverse
    pub kind: String,
    pub amount: i64,
    pub reason: String,
    pub store: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldRow {
    pub code: String,
    pub title: String,
    /// available, used, expired
    pub status: String,
    pub until: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackRow {
    pub day: String,
    pub nps: i64,
    pub comment: String,
    pub reply: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemberDone {
    Adjusted { delta: i64, balance: i64 },
    Granted { code: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberPage {
    pub staff: StaffInfo,
    pub member_no: String,
    pub display_name: String,
    pub phone_masked: String,
    pub tier: String,
    pub points: i64,
    pub joined: String,
    /// `3月8日`-style month and day, when given.
    pub birthday: Option<(u8, u8)>,
    pub dietary: Vec<String>,
    pub allergies: String,
    pub marketing: bool,
    pub ledger: Vec<LedgerRow>,
    pub coupons: Vec<HeldRow>,
    pub feedback: Vec<FeedbackRow>,
    /// (template id, title) a coupon can be granted from.
    pub templates: Vec<(i64, String)>,
    pub done: Option<MemberDone>,
    /// Fresh keys for the adjustment and the grant forms.
    pub keys: [String; 2],
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
        loyalty::rules::local_date(&brand.time_zone, ms)
    }

    /// Midnight of `YYYY-MM-DD` (plus days) in the brand's zone.
    pub fn start_of(brand: &loyalty::brands::Brand, date: &str, plus_days: i64) -> Option<i64> {
        loyalty::rules::local_midnight(&brand.time_zone, date, plus_days)
    }

    /// The roster filter a members query describes.
    pub fn filter(brand: &loyalty::brands::Brand, query: &MembersQuery) -> loyalty::roster::Filter {
        loyalty::roster::Filter {
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
    use crate::server::portal_state;
    use loyalty::roster;

    let state = portal_state()?;
    let (session, brand, info) = match manager(&state, "/admin/members").await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let mut conn = crate::server::connection(&state).await?;
    let table = loyalty::tiers::load(&mut conn, brand.id).await?;
    drop(conn);
    let lang = brand.default_language;
    let filter = edge::filter(&brand, &query);
    const PAGE: i64 = 50;
    let page = query.page.clamp(0, 10_000);
    let (lines, more) = roster::search(
        &state.db,
        &loyalty::SystemClock,
        brand.id,
        &filter,
        page * PAGE,
        PAGE,
    )
    .await?;
    let templates = loyalty::coupons::templates(&state.db, brand.id)
        .await?
        .into_iter()
        .filter(|t| loyalty::coupon_setup::within(session.scope(), t.stores.as_deref()))
        .map(|t| {
            (
                t.id.0,
                crate::coupon_text::title(crate::locale::to_locale(lang), &t.rule),
            )
        })
        .collect();
    let segment_done = match loyalty::forms::FormKey::parse(&query.done) {
        Ok(key) => loyalty::forms::outcome::<loyalty::roster::SegmentOutcome>(
            &state.db,
            session.staff.id,
            &key,
        )
        .await?
        .map(|o| (o.matched, o.issued, o.skipped, o.out_of_stock)),
        Err(_) => None,
    };
    Ok(StaffLoad::Page(Box::new(MembersPage {
        templates,
        key: loyalty::forms::FormKey::generate().as_str().to_owned(),
        segment_done,
        staff: info,
        tiers: table
            .tiers()
            .iter()
            .map(|t| (t.rank, t.name(lang).to_owned()))
            .collect(),
        rows: lines
            .into_iter()
            .map(|l| MemberRow {
                member_no: l.member_no,
                display_name: l.display_name,
                phone_masked: l.phone_masked,
                tier: table.by_rank(l.tier_rank).name(lang).to_owned(),
                points: l.points,
                joined: edge::day(&brand, l.joined_at),
                last_visit: l.last_visit_at.map(|t| edge::day(&brand, t)),
            })
            .collect(),
        more,
        query: MembersQuery { page, ..query },
    })))
}

pub async fn load_member(
    no: String,
    done: Option<String>,
) -> Result<StaffLoad<MemberPage>, AppError> {
    use crate::functions::admin::edge::manager;
    use crate::server::portal_state;
    use loyalty::forms::FormKey;

    let state = portal_state()?;
    let (session, brand, info) = match manager(
        &state,
        &format!("/admin/members/{}", crate::functions::admin::urlencode(&no)),
    )
    .await?
    {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let m = match loyalty::till::member_by_no(&state.db, &brand, &no).await {
        Ok(m) => m,
        Err(loyalty::Error::MemberNotFound) => {
            crate::server::set_status(http::StatusCode::NOT_FOUND);
            return Ok(StaffLoad::Forbidden(info));
        }
        Err(e) => return Err(e.into()),
    };
    let clock = loyalty::SystemClock;
    let lang = brand.default_language;
    let mut conn = crate::server::connection(&state).await?;
    let table = loyalty::tiers::load(&mut conn, brand.id).await?;
    drop(conn);
    let ledger = loyalty::points::history(&state.db, brand.id, m.id, None, 30).await?;
    let now = loyalty::Clock::now_ms(&clock);
    let wallet = loyalty::coupons::wallet(&state.db, &clock, brand.id, m.id).await?;
    let feedback = loyalty::feedback::of_member(&state.db, brand.id, m.id, session.scope()).await?;
    let templates = loyalty::coupons::templates(&state.db, brand.id)
        .await?
        .into_iter()
        .filter(|t| t.active && loyalty::coupon_setup::within(session.scope(), t.stores.as_deref()))
        .map(|t| {
            (
                t.id.0,
                crate::coupon_text::title(crate::locale::to_locale(lang), &t.rule),
            )
        })
        .collect();
    let done = match done.as_deref().map(FormKey::parse) {
        Some(Ok(key)) => {
            loyalty::forms::outcome::<loyalty::roster::Outcome>(&state.db, session.staff.id, &key)
                .await?
                .map(|o| match o {
                    loyalty::roster::Outcome::Adjusted { delta, balance } => {
                        MemberDone::Adjusted { delta, balance }
                    }
                    loyalty::roster::Outcome::Granted { code, .. } => MemberDone::Granted { code },
                })
        }
        _ => None,
    };
    let key = || FormKey::generate().as_str().to_owned();
    Ok(StaffLoad::Page(Box::new(MemberPage {
        staff: info,
        member_no: m.member_no.as_str().to_owned(),
        display_name: m.display_name.clone(),
        phone_masked: m.phone.masked(),
        tier: table.by_rank(m.tier_rank).name(lang).to_owned(),
        points: m.points_balance,
        joined: edge::day(&brand, m.created_at),
        birthday: m.birthday.map(|b| (b.month, b.day)),
        dietary: m.dietary.iter().map(|d| d.as_str().to_owned()).collect(),
        allergies: m.allergies.clone(),
        marketing: m.marketing_consent(),
        ledger: ledger
            .into_iter()
            .map(|e| LedgerRow {
                when: loyalty::rules::local_datetime(&brand.time_zone, e.created_at),
                amount: e.amount,
                kind: e.kind.as_str().to_owned(),
                reason: e.reason,
                store: e.store_name,
            })
            .collect(),
        coupons: wallet
            .into_iter()
            .map(|h| HeldRow {
                code: h.coupon.code.grouped(),
                title: crate::coupon_text::title(crate::locale::to_locale(lang), &h.template.rule),
                status: h.coupon.status(now).as_str().to_owned(),
                until: edge::day(&brand, h.coupon.valid_until),
            })
            .collect(),
        feedback: feedback
            .into_iter()
            .take(10)
            .map(|f| FeedbackRow {
                day: f.day,
                nps: f.nps,
                comment: f.comment,
                reply: f.reply,
            })
            .collect(),
        templates,
        done,
        keys: [key(), key()],
    })))
}

#[server(prefix = "/fn", endpoint = "adjust_member_points")]
pub async fn adjust_member_points(
    member: String,
    key: String,
    points: String,
    reason: String,
) -> Result<(), AppError> {
    use loyalty::{forms, roster, till, SystemClock};
    let back = member_url(&member);
    staff_form(&back, async |state, manager: Manager| {
        let key = forms::FormKey::parse(&key)?;
        let delta = forms::signed_number("adjust_points", &points)?;
        let m = till::member_by_no(&state.db, manager.brand(), &member).await?;
        roster::adjust_points(
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

#[server(prefix = "/fn", endpoint = "grant_member_coupon")]
pub async fn grant_member_coupon(
    member: String,
    key: String,
    template: i64,
) -> Result<(), AppError> {
    use loyalty::{coupons::TemplateId, forms, roster, till, SystemClock};
    let back = member_url(&member);
    staff_form(&back, async |state, manager: Manager| {
        let key = forms::FormKey::parse(&key)?;
        let m = till::member_by_no(&state.db, manager.brand(), &member).await?;
        let template = TemplateId(template);
        roster::grant_coupon(&state.db, &SystemClock, &manager, &key, m.id, template).await?;
        Ok(format!("{back}?done={}", key.as_str()))
    })
    .await
}

/// Gives every member the filters match one coupon (at most
/// `loyalty::roster::MAX_SEGMENT`); a resent form gives nobody a second.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/fn", endpoint = "grant_segment_coupon")]
pub async fn grant_segment_coupon(
    key: String,
    template: i64,
    #[server(flatten)] query: MembersQuery,
) -> Result<(), AppError> {
    use loyalty::{coupons::TemplateId, forms, roster, SystemClock};
    let back = query.url();
    staff_form(&back, async |state, manager: Manager| {
        let key = forms::FormKey::parse(&key)?;
        let filter = edge::filter(manager.brand(), &query);
        let template = TemplateId(template);
        roster::grant_to_segment(&state.db, &SystemClock, &manager, &key, &filter, template)
            .await?;
        Ok(format!("{back}&done={}", key.as_str()))
    })
    .await
}
