//! The staff console's server functions: sign-in, the feedback inbox with
//! replies, and the NPS report. Every function checks the session, the role
//! and the brand and stores on the server; a hidden button is not the check.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::functions::form::staff_form;
use crate::functions::members::BrandInfo;
use loyalty::SystemClock;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffInfo {
    pub brand: BrandInfo,
    pub display_name: String,
    /// owner, manager, cashier
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxItem {
    pub id: i64,
    pub day: String,
    pub store: Option<String>,
    pub table: Option<String>,
    /// The member's number, or a guest's masked phone.
    pub who: Option<String>,
    pub is_member: bool,
    pub nps: i64,
    pub segment: String,
    pub stars: [Option<i64>; 3],
    pub comment: String,
    pub reply: Option<String>,
    pub handled: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxQuery {
    pub segment: String,
    pub unanswered: bool,
    pub store: Option<i64>,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxPage {
    pub staff: StaffInfo,
    pub query: InboxQuery,
    /// The stores this staff member may filter by.
    pub stores: Vec<(i64, String)>,
    pub items: Vec<InboxItem>,
    /// Where a reply form returns to: this page with its filters.
    pub back: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StaffLoad<T> {
    /// Not signed in: sent to the sign-in page.
    SignedOut,
    /// Signed in, but this page is not for their role.
    Forbidden(StaffInfo),
    Page(Box<T>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportLine {
    pub store: Option<String>,
    pub month: String,
    pub promoters: i64,
    pub passives: i64,
    pub detractors: i64,
    pub nps: Option<i64>,
    /// Average stars as text, `4.3`.
    pub food: Option<String>,
    pub service: Option<String>,
    pub ambience: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportPage {
    pub staff: StaffInfo,
    pub lines: Vec<ReportLine>,
}

#[cfg(feature = "ssr")]
pub(crate) mod edge {
    use super::*;
    use crate::server::{current_staff, see_other, PortalState};
    use loyalty::access::{Cashier, Manager, Owner};
    use loyalty::brands::Brand;

    /// The signed-in staff member's capability (any role) and their brand;
    /// when signed out, the request has been sent to the sign-in page.
    pub async fn signed_in<T>(
        state: &PortalState,
        here: &str,
    ) -> Result<Result<(Cashier, Brand, StaffInfo), StaffLoad<T>>, AppError> {
        let Some(staff) = current_staff(state).await? else {
            see_other(&format!("/admin?next={}", super::urlencode(here)));
            return Ok(Err(StaffLoad::SignedOut));
        };
        let brand = staff.brand().clone();
        let info = StaffInfo {
            brand: BrandInfo::from(&brand),
            display_name: staff.staff.display_name.clone(),
            role: staff.staff.role.as_str().to_owned(),
        };
        Ok(Ok((staff, brand, info)))
    }

    /// What a signed-in staff member gets on a page that is not for their role.
    fn forbidden<T>(info: StaffInfo) -> StaffLoad<T> {
        crate::server::set_status(http::StatusCode::FORBIDDEN);
        StaffLoad::Forbidden(info)
    }

    /// A manager's (or owner's) capability and their brand; anyone else has
    /// been redirected (signed out) or gets `Forbidden`.
    pub async fn manager<T>(
        state: &PortalState,
        here: &str,
    ) -> Result<Result<(Manager, Brand, StaffInfo), StaffLoad<T>>, AppError> {
        Ok(match signed_in(state, here).await? {
            Ok((staff, brand, info)) => match staff.manager() {
                Some(manager) => Ok((manager, brand, info)),
                None => Err(forbidden(info)),
            },
            Err(refused) => Err(refused),
        })
    }

    /// The owner's capability and their brand; anyone else has been
    /// redirected (signed out) or gets `Forbidden`.
    pub async fn owner<T>(
        state: &PortalState,
        here: &str,
    ) -> Result<Result<(Owner, Brand, StaffInfo), StaffLoad<T>>, AppError> {
        Ok(match manager(state, here).await? {
            Ok((manager, brand, info)) => match manager.owner() {
                Some(owner) => Ok((owner, brand, info)),
                None => Err(forbidden(info)),
            },
            Err(refused) => Err(refused),
        })
    }
}

/// Percent-encodes a path for a `next=` parameter.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Only a console page may be where a form returns to.
#[cfg(feature = "ssr")]
fn safe_back(back: &str) -> String {
    if back.starts_with("/admin/")
        && !back.contains("//")
        && !back.contains('\\')
        && !back.chars().any(char::is_control)
    {
        back.to_owned()
    } else {
        "/admin/feedback".to_owned()
    }
}

#[server(prefix = "/fn", endpoint = "staff_sign_in")]
pub async fn staff_sign_in(
    login: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{portal_state, see_other, see_other_with, set_staff_cookie};
    let state = portal_state()?;
    let from = crate::server::client_ip(&crate::server::request_parts()?);
    match loyalty::staff::sessions::sign_in(
        &state.db,
        &loyalty::SystemClock,
        &state.staff_sessions,
        &from,
        &login,
        &password,
    )
    .await
    {
        Ok((session, token)) => {
            set_staff_cookie(&state, &token);
            let home = if session.manages() {
                "/admin/dashboard"
            } else {
                "/admin/till"
            };
            match next.as_deref().filter(|n| !n.is_empty()) {
                Some(next) => see_other(&safe_back(next)),
                None => see_other(home),
            }
        }
        Err(e) => see_other_with("/admin", e)?,
    }
    Ok(())
}

#[server(prefix = "/fn", endpoint = "staff_sign_out")]
pub async fn staff_sign_out() -> Result<(), AppError> {
    use crate::server::{clear_staff_cookie, portal_state, see_other, staff_token};

    let state = portal_state()?;
    if let Some(token) = staff_token(&state) {
        loyalty::staff::sessions::end(&state.db, &loyalty::SystemClock, &token).await?;
    }
    clear_staff_cookie(&state);
    see_other("/admin?notice=signed_out");
    Ok(())
}

/// Whether this browser is signed in to the console (the sign-in page then
/// offers the way in instead of the form).
pub async fn load_staff() -> Result<Option<StaffInfo>, AppError> {
    use crate::server::{current_staff, portal_state};

    let state = portal_state()?;
    let Some(staff) = current_staff(&state).await? else {
        return Ok(None);
    };
    Ok(Some(StaffInfo {
        brand: BrandInfo::from(staff.brand()),
        display_name: staff.staff.display_name.clone(),
        role: staff.staff.role.as_str().to_owned(),
    }))
}

pub async fn load_inbox(query: InboxQuery) -> Result<StaffLoad<InboxPage>, AppError> {
    use loyalty::brands::stores::StoreId;
    use loyalty::feedback::{self, InboxFilter, Segment};
    let state = crate::server::portal_state()?;
    let (manager, brand, staff) = match edge::manager(&state, "/admin/feedback").await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let stores = loyalty::brands::stores::list(&state.db, brand.id).await?;
    let filter = InboxFilter {
        segment: Segment::parse(&query.segment),
        unanswered: query.unanswered,
        // A store outside the scope filters to nothing rather than widening it.
        store: query.store.map(StoreId),
        from: query.from.parse().ok(),
        to: query.to.parse().ok(),
    };
    let items = feedback::inbox(&state.db, &manager, &filter).await?;
    Ok(StaffLoad::Page(Box::new(InboxPage {
        staff,
        stores: (stores.into_iter())
            .filter(|s| manager.scope().is_none_or(|within| within.contains(&s.id)))
            .map(|s| (s.id.0, s.name))
            .collect(),
        back: query.url(),
        items: items.into_iter().map(InboxItem::from).collect(),
        query,
    })))
}

impl InboxQuery {
    /// The inbox this query shows, to come back to after a reply.
    fn url(&self) -> String {
        let mut back = format!(
            "/admin/feedback?segment={}&store={}&from={}&to={}",
            urlencode(&self.segment),
            self.store.map(|s| s.to_string()).unwrap_or_default(),
            urlencode(&self.from),
            urlencode(&self.to)
        );
        if self.unanswered {
            back.push_str("&unanswered=on");
        }
        back
    }
}

impl From<loyalty::feedback::Feedback> for InboxItem {
    fn from(f: loyalty::feedback::Feedback) -> InboxItem {
        InboxItem {
            id: f.id.0,
            is_member: f.member.is_some(),
            who: f.member_no.or(f.contact),
            day: f.day,
            store: f.store,
            table: f.table,
            segment: loyalty::feedback::Segment::of(f.nps).as_str().to_owned(),
            nps: f.nps,
            stars: [f.stars.food, f.stars.service, f.stars.ambience],
            comment: f.comment,
            reply: f.reply,
            handled: f.handled,
        }
    }
}

#[server(prefix = "/fn", endpoint = "reply_feedback")]
pub async fn reply_feedback(id: i64, reply: String, back: String) -> Result<(), AppError> {
    use loyalty::feedback::{self, FeedbackId};
    let back = safe_back(&back);
    let sep = if back.contains('?') { '&' } else { '?' };
    staff_form(&format!("{back}#f{id}"), async |state, manager| {
        feedback::reply(&state.db, &SystemClock, &manager, FeedbackId(id), &reply).await?;
        Ok(format!("{back}{sep}replied={id}#f{id}"))
    })
    .await
}

#[server(prefix = "/fn", endpoint = "mark_feedback")]
pub async fn mark_feedback(id: i64, handled: bool, back: String) -> Result<(), AppError> {
    use loyalty::feedback::{self, FeedbackId};
    let back = format!("{}#f{id}", safe_back(&back));
    staff_form(&back, async |state, manager| {
        match feedback::set_handled(&state.db, &SystemClock, &manager, FeedbackId(id), handled)
            .await
        {
            // Gone, or outside the manager's stores: the page shows what is.
            Ok(()) | Err(loyalty::Error::FeedbackNotFound) => Ok(back.clone()),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

pub async fn load_report() -> Result<StaffLoad<ReportPage>, AppError> {
    use crate::server::portal_state;

    let state = portal_state()?;
    let (session, brand, info) = match edge::manager(&state, "/admin/feedback/report").await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let rows = loyalty::feedback::report(&state.db, brand.id, session.scope(), None, None).await?;
    let stars = |v: Option<i64>| v.map(|x| format!("{}.{}", x / 10, x % 10));
    Ok(StaffLoad::Page(Box::new(ReportPage {
        staff: info,
        lines: rows
            .into_iter()
            .map(|r| ReportLine {
                store: r.store,
                month: r.month,
                promoters: r.nps.promoters,
                passives: r.nps.passives,
                detractors: r.nps.detractors,
                nps: r.nps.score(),
                food: stars(r.food),
                service: stars(r.service),
                ambience: stars(r.ambience),
            })
            .collect(),
    })))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyLine {
    pub id: i64,
    pub name: String,
    /// The first characters, to tell keys apart: `tck_7KQ3`.
    pub prefix: String,
    pub created: String,
    pub last_used: Option<String>,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysPage {
    pub staff: StaffInfo,
    /// Each store with its keys.
    pub stores: Vec<(i64, String, Vec<KeyLine>)>,
    /// A key created a moment ago, shown this once.
    pub new_key: Option<String>,
}

/// A key just created travels to the page that shows it in a signed,
/// HttpOnly cookie that lives a minute: never in a URL, and gone once read.
#[cfg(feature = "ssr")]
const NEW_KEY_COOKIE: &str = "tc_new_key";

#[cfg(feature = "ssr")]
pub(crate) use edge::owner;

pub async fn load_keys() -> Result<StaffLoad<KeysPage>, AppError> {
    use crate::server::{portal_state, take_private_cookie};

    let state = portal_state()?;
    let (session, brand, info) = match owner(&state, "/admin/keys").await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let day = |ms: i64| loyalty::points::rules::local_date(&brand.time_zone, ms);
    let mut stores = Vec::new();
    for store in loyalty::brands::stores::list(&state.db, brand.id).await? {
        let keys = loyalty::brands::api_keys::list(&state.db, brand.id, store.id)
            .await?
            .into_iter()
            .map(|k| KeyLine {
                id: k.id,
                name: k.name,
                prefix: k.prefix,
                created: day(k.created_at),
                last_used: k.last_used_at.map(day),
                revoked: k.revoked_at.is_some(),
            })
            .collect();
        stores.push((store.id.0, store.name, keys));
    }
    Ok(StaffLoad::Page(Box::new(KeysPage {
        staff: info,
        stores,
        // Shown only to the owner who created it.
        new_key: take_private_cookie(&state, NEW_KEY_COOKIE).and_then(|v| {
            let (owner, key) = v.split_once('|')?;
            (owner == session.staff.id.0.to_string()).then(|| key.to_owned())
        }),
    })))
}

#[server(prefix = "/fn", endpoint = "create_api_key")]
pub async fn create_api_key(store: i64, name: String) -> Result<(), AppError> {
    use crate::server::put_private_cookie;
    use loyalty::{brands::api_keys, brands::stores::StoreId};
    staff_form("/admin/keys", async |state, owner| {
        let key =
            api_keys::create_as(&state.db, &SystemClock, &owner, StoreId(store), &name).await?;
        let value = format!("{}|{}", owner.staff.id.0, key.key);
        put_private_cookie(state, NEW_KEY_COOKIE, &value, 60);
        Ok("/admin/keys".to_owned())
    })
    .await
}

#[server(prefix = "/fn", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: i64) -> Result<(), AppError> {
    staff_form(
        "/admin/keys",
        async |state, owner| match loyalty::brands::api_keys::revoke_as(
            &state.db,
            &SystemClock,
            &owner,
            id,
        )
        .await
        {
            Ok(()) | Err(loyalty::Error::ApiKeyNotFound) => Ok("/admin/keys?saved=1".to_owned()),
            Err(e) => Err(e.into()),
        },
    )
    .await
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLine {
    pub id: i64,
    pub at: String,
    /// `店长 (owner.login)`; None: the command line.
    pub who: Option<String>,
    pub store: Option<String>,
    pub action: String,
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub staff: StaffInfo,
    pub lines: Vec<AuditLine>,
    /// The id to page on from, when there are older rows.
    pub older: Option<i64>,
}

/// Rows per page of the audit log.
pub const AUDIT_PAGE: i64 = 50;

/// `/admin/audit`: the brand's audit log, newest first (owners only).
pub async fn load_audit(before: Option<i64>) -> Result<StaffLoad<AuditPage>, AppError> {
    use crate::server::portal_state;

    let state = portal_state()?;
    let (_, brand, info) = match owner(&state, "/admin/audit").await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let mut rows = loyalty::staff::audit::list(&state.db, brand.id, before, AUDIT_PAGE + 1).await?;
    let older = (rows.len() as i64 > AUDIT_PAGE).then(|| {
        rows.truncate(AUDIT_PAGE as usize);
        rows.last().map(|r| r.id)
    });
    Ok(StaffLoad::Page(Box::new(AuditPage {
        staff: info,
        older: older.flatten(),
        lines: rows
            .into_iter()
            .map(|r| AuditLine {
                id: r.id,
                at: loyalty::points::rules::local_datetime(&brand.time_zone, r.at),
                who: r.staff.map(|(name, login)| format!("{name} ({login})")),
                store: r.store,
                action: r.action,
                target: match r.target_id {
                    Some(id) => format!("{} #{id}", r.target_type),
                    None => r.target_type,
                },
                before: r.before,
                after: r.after,
                ip: r.ip,
            })
            .collect(),
    })))
}
