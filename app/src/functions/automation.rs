//! `/admin/automation` (owners): the brand's triggers, the scheduler's last
//! runs and the check-in reward; and the member's check-in button. Thin
//! edges over `loyalty::marketing::automation`, `loyalty::infra::jobs` and `loyalty::points::checkin`.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::functions::admin::{StaffInfo, StaffLoad};
use crate::functions::form::{member_form, staff_form};
#[cfg(feature = "ssr")]
use crate::i18n::*;
use loyalty::coupons::TemplateId;
use loyalty::infra::forms::optional_number as number;
use loyalty::SystemClock;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutomationLine {
    pub id: i64,
    /// The trigger in the brand's language: "生日前 3 天".
    pub when: String,
    /// What it gives: "送券：满100减20 · 送 50 积分 · 发短信".
    pub gives: String,
    pub given: i64,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobLine {
    /// `points_expiry`, `tier_review`, … (the page names it).
    pub job: String,
    /// When it last started, in the brand's calendar; empty: never.
    pub last: String,
    pub duration_ms: Option<i64>,
    pub outcome: String,
    pub failed: bool,
    pub attempts: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutomationPage {
    pub staff: StaffInfo,
    pub automations: Vec<AutomationLine>,
    /// (id, title) of the brand's active coupon templates.
    pub templates: Vec<(i64, String)>,
    pub jobs: Vec<JobLine>,
    pub checkin_points: i64,
    pub checkin_streak_days: i64,
    pub checkin_streak_bonus: i64,
    pub referrer_points: i64,
    pub friend_points: i64,
    pub friend_coupon: Option<i64>,
}

#[cfg(feature = "ssr")]
pub mod edge {
    use super::*;
    use loyalty::infra::jobs::{Job, LastRun};
    use loyalty::marketing::automation::{Automation, Trigger};

    /// An automation as the page lists it: when, and what it gives.
    pub fn line(locale: Locale, a: &Automation, templates: &[(i64, String)]) -> AutomationLine {
        let mut gives = Vec::new();
        if let Some(t) = a.template {
            let title = (templates.iter().find(|(id, _)| *id == t.0))
                .map(|(_, title)| title.clone())
                .unwrap_or_default();
            gives.push(td_string!(locale, auto_gives_coupon, title = title).to_string());
        }
        if let Some(p) = a.points {
            gives.push(td_string!(locale, auto_gives_points, points = p).to_string());
        }
        if a.message.is_some() {
            gives.push(td_string!(locale, auto_gives_message).to_string());
        }
        AutomationLine {
            id: a.id.0,
            when: when(locale, a.trigger),
            gives: gives.join(" · "),
            given: a.given,
            active: a.active,
        }
    }

    /// A scheduled job and its newest run, in the brand's calendar.
    pub fn job_line(brand: &loyalty::brands::Brand, job: Job, run: Option<&LastRun>) -> JobLine {
        JobLine {
            job: job.as_str().to_owned(),
            last: run
                .map(|r| loyalty::points::rules::local_datetime(&brand.time_zone, r.started_at))
                .unwrap_or_default(),
            duration_ms: run.and_then(|r| r.duration_ms()),
            outcome: run.map(|r| r.outcome.clone()).unwrap_or_default(),
            failed: run.is_some_and(|r| r.failed),
            attempts: run.map_or(0, |r| r.attempts),
        }
    }

    pub fn when(locale: Locale, t: Trigger) -> String {
        match t {
            Trigger::Join => td_string!(locale, auto_trigger_join).to_string(),
            Trigger::Birthday {
                days_before: Some(days),
            } => td_string!(locale, auto_trigger_birthday_days, days = days).to_string(),
            Trigger::Birthday { days_before: None } => {
                td_string!(locale, auto_trigger_birthday_month).to_string()
            }
            Trigger::TierUp => td_string!(locale, auto_trigger_tier_up).to_string(),
            Trigger::NthVisit(n) => td_string!(locale, auto_trigger_nth_visit, n = n).to_string(),
            Trigger::NoVisit(days) => {
                td_string!(locale, auto_trigger_no_visit, days = days).to_string()
            }
            Trigger::PointsExpiring(days) => {
                td_string!(locale, auto_trigger_points_expiring, days = days).to_string()
            }
        }
    }
}

pub async fn load_automation() -> Result<StaffLoad<AutomationPage>, AppError> {
    let state = crate::server::portal_state()?;
    let (owner, brand, staff) =
        match crate::functions::admin::owner(&state, "/admin/automation").await? {
            Ok(s) => s,
            Err(refused) => return Ok(refused),
        };
    let screen = loyalty::marketing::automation::screen(&state.db, &owner).await?;
    let locale = crate::locale::to_locale(brand.default_language);
    let templates: Vec<(i64, String)> = (screen.templates.iter())
        .map(|t| (t.id.0, crate::coupon_text::title(locale, &t.rule)))
        .collect();
    let automations = (screen.automations.iter())
        .map(|a| edge::line(locale, a, &templates))
        .collect();
    let jobs = (screen.jobs.iter())
        .map(|(job, run)| edge::job_line(&brand, *job, run.as_ref()))
        .collect();
    let (checkin, referral) = (screen.checkin, screen.referral);
    Ok(StaffLoad::Page(Box::new(AutomationPage {
        staff,
        automations,
        templates,
        jobs,
        checkin_points: checkin.points,
        checkin_streak_days: checkin.streak_days,
        checkin_streak_bonus: checkin.streak_bonus,
        referrer_points: referral.referrer_points,
        friend_points: referral.friend_points,
        friend_coupon: referral.friend_coupon.map(|t| t.0),
    })))
}

#[server(prefix = "/fn", endpoint = "create_automation")]
pub async fn create_automation(
    trigger: String,
    #[server(default)] param: String,
    #[server(default)] template: String,
    #[server(default)] points: String,
    #[server(default)] message: String,
) -> Result<(), AppError> {
    use loyalty::marketing::automation::{self, NewAutomation, Trigger};
    staff_form("/admin/automation", async |state, owner| {
        let new = NewAutomation {
            trigger: Trigger::parse(&trigger, number("days", &param)?)?,
            template: number("template", &template)?.map(TemplateId),
            points: number("points", &points)?,
            message: Some(message),
        };
        let id = automation::create(&state.db, &SystemClock, &owner, new).await?;
        Ok(format!("/admin/automation?saved=1#a{}", id.0))
    })
    .await
}

#[server(prefix = "/fn", endpoint = "pause_automation")]
pub async fn pause_automation(id: i64, active: bool) -> Result<(), AppError> {
    use loyalty::marketing::automation::{self, AutomationId};
    staff_form("/admin/automation", async |state, owner| {
        automation::set_active(&state.db, &SystemClock, &owner, AutomationId(id), active).await?;
        Ok(format!("/admin/automation?saved=1#a{id}"))
    })
    .await
}

#[server(prefix = "/fn", endpoint = "save_checkin")]
pub async fn save_checkin(
    points: String,
    streak_days: String,
    streak_bonus: String,
) -> Result<(), AppError> {
    use loyalty::points::checkin;
    staff_form("/admin/automation#checkin", async |state, owner| {
        let rule = checkin::Rule {
            points: number("checkin_points", &points)?.unwrap_or(0),
            streak_days: number("checkin_streak_days", &streak_days)?.unwrap_or(7),
            streak_bonus: number("checkin_streak_bonus", &streak_bonus)?.unwrap_or(0),
        };
        checkin::set_rule(&state.db, &SystemClock, &owner, rule).await?;
        Ok("/admin/automation?saved=1#checkin".to_owned())
    })
    .await
}

#[server(prefix = "/fn", endpoint = "save_referral")]
pub async fn save_referral(
    referrer_points: String,
    friend_points: String,
    #[server(default)] coupon: String,
) -> Result<(), AppError> {
    use loyalty::marketing::referrals;
    staff_form("/admin/automation#referral", async |state, owner| {
        let reward = referrals::Reward {
            referrer_points: number("referral_referrer_points", &referrer_points)?.unwrap_or(0),
            friend_points: number("referral_friend_points", &friend_points)?.unwrap_or(0),
            friend_coupon: number("template", &coupon)?.map(TemplateId),
        };
        referrals::set_reward(&state.db, &SystemClock, &owner, reward).await?;
        Ok("/admin/automation?saved=1#referral".to_owned())
    })
    .await
}

/// The member's check-in button on the card: a plain form post; back to the
/// card with what it gave.
#[server(prefix = "/fn", endpoint = "check_in")]
pub async fn check_in(slug: String) -> Result<(), AppError> {
    member_form(&slug, "card", async |state, member, card| {
        let c = loyalty::points::checkin::check_in(&state.db, &SystemClock, &member).await?;
        Ok(if c.repeated {
            format!("{card}?checked=again")
        } else {
            format!("{card}?checked={}&bonus={}", c.points, c.bonus)
        })
    })
    .await
}
