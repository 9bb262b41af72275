//! Marketing automation (seed 000): a brand's triggers and what they give.
//!
//! A trigger (joining, a birthday, a tier rise, the N-th visit, N days
//! without a visit, points about to expire) gives a coupon, points and/or a
//! message. The scheduler finds who is due (events every minute, the daily
//! conditions from 10:00 in the brand's calendar) and gives each benefit in
//! one transaction that first claims the row (automation, member,
//! occurrence). The occurrence names what happened (the birthday's year,
//! the purchase that was the N-th visit, the last visit before an absence),
//! so a rerun, a takeover or a second server finds the claim and gives
//! nothing twice, while next year's birthday or the next absence is new.
//!
//! Messages go only to members with marketing consent, through an outbox
//! the `messages` job sends: under the provider template the owner entered
//! for the automation and the member's language, its variables (`{name}`,
//! `{points}`, `{coupon}`, `{date}`, `{brand}`) filled as they were when
//! the benefit was given, with the opt-out, within the brand's sending
//! hours and daily budget.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::brands::{Brand, BrandId};
use crate::coupons::{self, Source, TemplateId};
use crate::error::Invalid;
use crate::marketing::delivery::{Failure, Purpose, Sender, Sms};
use crate::marketing::messages;
use crate::marketing::templates::{self, Body, TemplateFor, Var};
use crate::members::phone::Phone;
use crate::members::MemberId;
use crate::points::{self, Ref};
use crate::staff::audit::{self, Actor, Change};
use crate::{Clock, Db, Error, Result};

const DAY: i64 = 24 * 60 * 60 * 1000;

/// Event triggers look back this far: after a longer outage the missed
/// joins and visits are let go rather than celebrated weeks late.
const EVENT_WINDOW_MS: i64 = 7 * DAY;

/// A birthday gift still goes out this many days late (the server was down,
/// or the member joined just after their birthday).
const BIRTHDAY_GRACE_DAYS: i64 = 6;

/// At most this many members per automation and run; the rest are next.
const BATCH: i64 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trigger {
    Join,
    /// Days before the birthday; None: on the first day of the birthday month.
    Birthday {
        days_before: Option<i64>,
    },
    TierUp,
    NthVisit(i64),
    NoVisit(i64),
    PointsExpiring(i64),
}

impl Trigger {
    pub fn kind(self) -> &'static str {
        match self {
            Trigger::Join => "join",
            Trigger::Birthday { .. } => "birthday",
            Trigger::TierUp => "tier_up",
            Trigger::NthVisit(_) => "nth_visit",
            Trigger::NoVisit(_) => "no_visit",
            Trigger::PointsExpiring(_) => "points_expiring",
        }
    }

    pub fn param(self) -> Option<i64> {
        match self {
            Trigger::Join | Trigger::TierUp => None,
            Trigger::Birthday { days_before } => days_before,
            Trigger::NthVisit(n) | Trigger::NoVisit(n) | Trigger::PointsExpiring(n) => Some(n),
        }
    }

    /// From a form or a row: the kind and its number (blank where none).
    pub fn parse(kind: &str, param: Option<i64>) -> Result<Trigger> {
        let needs = |field| param.ok_or(Error::invalid(field, Invalid::Empty));
        let t = match kind {
            "join" => Trigger::Join,
            "tier_up" => Trigger::TierUp,
            "birthday" => Trigger::Birthday { days_before: param },
            "nth_visit" => Trigger::NthVisit(needs("visits")?),
            "no_visit" => Trigger::NoVisit(needs("days")?),
            "points_expiring" => Trigger::PointsExpiring(needs("days")?),
            _ => return Err(Error::invalid("trigger", Invalid::Format)),
        };
        let fits = match t {
            Trigger::Join | Trigger::TierUp => true,
            Trigger::Birthday { days_before } => days_before.is_none_or(|d| (0..=30).contains(&d)),
            Trigger::NthVisit(n) => (1..=1000).contains(&n),
            Trigger::NoVisit(d) => (7..=3650).contains(&d),
            Trigger::PointsExpiring(d) => (1..=365).contains(&d),
        };
        if !fits {
            let field = match t {
                Trigger::NthVisit(_) => "visits",
                _ => "days",
            };
            return Err(Error::invalid(field, Invalid::Format));
        }
        Ok(t)
    }

    /// What a coupon it gives says it came from.
    fn source(self) -> Source {
        match self {
            Trigger::Birthday { .. } => Source::Birthday,
            Trigger::TierUp => Source::TierUp,
            _ => Source::Campaign,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutomationId(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Automation {
    pub id: AutomationId,
    pub trigger: Trigger,
    pub template: Option<TemplateId>,
    pub points: Option<i64>,
    pub message: Option<String>,
    pub active: bool,
    pub created_at: i64,
    /// How many benefits it has given so far.
    pub given: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAutomation {
    pub trigger: Trigger,
    pub template: Option<TemplateId>,
    pub points: Option<i64>,
    pub message: Option<String>,
}

type AutomationRow = (
    i64,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    i64,
    i64,
    i64,
);

const COLUMNS: &str =
    "a.id, a.kind, a.param, a.template_id, a.points, a.message, a.active, a.created_at, \
     (SELECT CAST(COUNT(*) AS BIGINT) FROM automation_grants g WHERE g.automation_id = a.id \
       AND (g.coupon_id IS NOT NULL OR g.points > 0 OR g.messaged = 1))";

fn from_row(r: AutomationRow) -> Option<Automation> {
    let (id, kind, param, template, points, message, active, created_at, given) = r;
    Some(Automation {
        id: AutomationId(id),
        trigger: Trigger::parse(&kind, param).ok()?,
        template: template.map(TemplateId),
        points,
        message,
        active: active != 0,
        created_at,
        given,
    })
}

/// Everything the owner's automation page shows, from one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screen {
    pub automations: Vec<Automation>,
    /// Every template of the brand: automations name them.
    pub templates: Vec<coupons::Template>,
    /// Each scheduled job, with its newest run if it has run.
    pub jobs: Vec<(crate::infra::jobs::Job, Option<crate::infra::jobs::LastRun>)>,
    pub checkin: crate::points::checkin::Rule,
    pub referral: crate::marketing::referrals::Reward,
}

/// The automation page of `who`'s brand.
pub async fn screen(db: &Db, who: &crate::access::Owner) -> Result<Screen> {
    use crate::infra::jobs::{self, Job};
    let brand = who.brand().id;
    let runs = jobs::last_runs(db, brand).await?;
    let mut conn = db.acquire().await?;
    Ok(Screen {
        automations: list(db, brand).await?,
        templates: coupons::all_templates(db, brand).await?,
        jobs: (Job::ALL.iter())
            .map(|job| (*job, runs.iter().find(|r| r.job == *job).cloned()))
            .collect(),
        checkin: crate::points::checkin::rule(&mut conn, brand).await?,
        referral: crate::marketing::referrals::reward(&mut conn, brand).await?,
    })
}

/// A brand's automations, newest first.
pub async fn list(db: &Db, brand: BrandId) -> Result<Vec<Automation>> {
    let rows: Vec<AutomationRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM automations a WHERE a.brand_id = $1 ORDER BY a.id DESC"
    ))
    .bind(brand.0)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().filter_map(from_row).collect())
}

/// The active automations, for the scheduler's runs every minute: without
/// the console's count of what each gave, which reads all their grants.
async fn active(db: &Db, brand: BrandId) -> Result<Vec<Automation>> {
    let rows: Vec<AutomationRow> = sqlx::query_as(
        "SELECT a.id, a.kind, a.param, a.template_id, a.points, a.message, a.active, a.created_at, \
                CAST(0 AS BIGINT) FROM automations a WHERE a.brand_id = $1 AND a.active = 1 ORDER BY a.id DESC",
    )
    .bind(brand.0)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().filter_map(from_row).collect())
}

/// Creates an automation (owners, in the console). It acts on what happens
/// from now on; the daily conditions (birthdays, absences, expiring points)
/// apply to everyone from the next run.
pub async fn create(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Owner,
    new: NewAutomation,
) -> Result<AutomationId> {
    create_by(db, clock, &who.actor(), new).await
}

/// The same, for the command line's demo seeding.
pub(crate) async fn create_by(
    db: &Db,
    clock: &dyn Clock,
    actor: &Actor,
    new: NewAutomation,
) -> Result<AutomationId> {
    let message = match new.message.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(m) if m.chars().count() > 300 => {
            return Err(Error::invalid("message", Invalid::TooLong { max: 300 }))
        }
        Some(m) => {
            let m = crate::feedback::clean_text("message", m, 300)?;
            // Its variables must be ones a marketing message knows, and it
            // names a coupon only when it gives one.
            let body = Body::parse("message", &m)?.check_for("message", Purpose::Marketing)?;
            if body.vars().contains(&Var::Coupon) && new.template.is_none() {
                return Err(Error::invalid("message", Invalid::Format));
            }
            Some(m)
        }
    };
    if new.points.is_some_and(|p| !(1..=1_000_000).contains(&p)) {
        return Err(Error::invalid("points", Invalid::Format));
    }
    if new.template.is_none() && new.points.is_none() && message.is_none() {
        return Err(Error::invalid("action", Invalid::Empty));
    }
    let mut tx = db.begin().await?;
    if let Some(t) = new.template {
        // Another brand's template is not found, whatever its id.
        coupons::template(&mut tx, actor.brand, t).await?;
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO automations (brand_id, kind, param, template_id, points, message, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(actor.brand.0)
    .bind(new.trigger.kind())
    .bind(new.trigger.param())
    .bind(new.template.map(|t| t.0))
    .bind(new.points)
    .bind(message.as_deref())
    .bind(clock.now_ms())
    .fetch_one(&mut *tx)
    .await?;
    let change = Change {
        action: "automation.create",
        store: None,
        target_type: "automation",
        target_id: Some(id),
        before: None,
        after: Some(json!({
            "trigger": new.trigger.kind(),
            "param": new.trigger.param(),
            "template": new.template.map(|t| t.0),
            "points": new.points,
            "message": message.is_some(),
        })),
    };
    audit::record(&mut tx, clock, actor, change).await?;
    tx.commit().await?;
    Ok(AutomationId(id))
}

/// Pauses or resumes an automation of the actor's brand.
pub async fn set_active(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Owner,
    id: AutomationId,
    active: bool,
) -> Result<()> {
    let actor = &who.actor();
    let mut tx = db.begin().await?;
    let before: Option<(i64,)> =
        sqlx::query_as("SELECT active FROM automations WHERE brand_id = $1 AND id = $2")
            .bind(actor.brand.0)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((before,)) = before else {
        return Err(Error::AutomationNotFound);
    };
    sqlx::query("UPDATE automations SET active = $1 WHERE brand_id = $2 AND id = $3")
        .bind(i64::from(active))
        .bind(actor.brand.0)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    let change = Change {
        action: if active {
            "automation.resume"
        } else {
            "automation.pause"
        },
        store: None,
        target_type: "automation",
        target_id: Some(id.0),
        before: Some(json!({ "active": before != 0 })),
        after: Some(json!({ "active": active })),
    };
    audit::record(&mut tx, clock, actor, change).await?;
    tx.commit().await?;
    Ok(())
}

/// Gives `automation`'s benefits to `member` for `occurrence`, once: false
/// when this occurrence was already given (by an earlier run or another
/// server), or nothing could be given. A coupon that is out of stock or no
/// longer offered is skipped; the points and the message still go. A
/// member erased meanwhile gets nothing.
pub async fn give(
    db: &Db,
    clock: &dyn Clock,
    brand: &Brand,
    automation: &Automation,
    member: MemberId,
    occurrence: &str,
) -> Result<bool> {
    let mut tx = db.begin().await?;
    let claimed: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO automation_grants (brand_id, automation_id, member_id, occurrence, created_at) \
         SELECT $1, $2, $3, $4, $5 FROM members WHERE brand_id = $1 AND id = $3 AND status = 'active' \
         ON CONFLICT (automation_id, member_id, occurrence) DO NOTHING RETURNING id",
    )
    .bind(brand.id.0)
    .bind(automation.id.0)
    .bind(member.0)
    .bind(occurrence)
    .bind(clock.now_ms())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((grant,)) = claimed else {
        return Ok(false);
    };
    let mut coupon = None;
    if let Some(template) = automation.template {
        let key = format!("auto:{}:{occurrence}", automation.id.0);
        let issued = coupons::issue(
            &mut tx,
            clock,
            brand,
            member,
            template,
            automation.trigger.source(),
            Some(&key),
        )
        .await;
        match issued {
            Ok(issued) => coupon = Some(issued.coupon.id),
            // Refused before any statement that could fail (which would
            // spoil a PostgreSQL transaction): the rest still goes.
            Err(
                Error::CouponOutOfStock
                | Error::CouponLimitReached
                | Error::CouponNotOffered
                | Error::CouponRefused(_),
            ) => {}
            Err(e) => return Err(e),
        }
    }
    if let Some(p) = automation.points {
        let reason = format!("gift:{}", automation.trigger.kind());
        points::grant(
            &mut tx,
            clock,
            brand,
            member,
            p,
            &reason,
            Ref::new("campaign", grant),
        )
        .await?;
    }
    let mut messaged = false;
    if automation.message.is_some() {
        // The variables as they are now: the message may go out hours later.
        let coupon_rule = match (automation.template, coupon) {
            (Some(t), Some(_)) => Some(coupons::template(&mut tx, brand.id, t).await?),
            _ => None,
        };
        let who: Option<(String, i64)> = sqlx::query_as(
            "SELECT display_name, points_balance FROM members WHERE brand_id = $1 AND id = $2",
        )
        .bind(brand.id.0)
        .bind(member.0)
        .fetch_optional(&mut *tx)
        .await?;
        let (name, points) = who.unwrap_or_default();
        let coupon_until: Option<(i64,)> = match coupon {
            Some(c) => {
                sqlx::query_as("SELECT valid_until FROM coupons WHERE id = $1")
                    .bind(c)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        let vars = Queued {
            automation: automation.id.0,
            name,
            points,
            coupon: coupon_rule.map(|t| t.rule),
            // Both ends are exclusive (a coupon ending on the 31st ends at
            // midnight): the last day is the one just before.
            date: coupon_until
                .map(|(until,)| until - 1)
                .or_else(|| {
                    occurrence
                        .strip_prefix("expiry:")
                        .and_then(|ms| ms.parse::<i64>().ok())
                        .map(|ms| ms - 1)
                })
                .unwrap_or(clock.now_ms()),
        };
        let body =
            serde_json::to_string(&vars).map_err(|_| Error::invalid("message", Invalid::Format))?;
        let queued = sqlx::query(
            "INSERT INTO outbox (brand_id, member_id, body, created_at, next_at) \
             SELECT $1, $2, $3, $4, $4 FROM members \
             WHERE brand_id = $1 AND id = $2 AND status = 'active' AND marketing_consent_at IS NOT NULL",
        )
        .bind(brand.id.0)
        .bind(member.0)
        .bind(body)
        .bind(clock.now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        messaged = queued == 1;
    }
    sqlx::query(
        "UPDATE automation_grants SET coupon_id = $1, points = $2, messaged = $3 WHERE id = $4",
    )
    .bind(coupon)
    .bind(automation.points.unwrap_or(0))
    .bind(i64::from(messaged))
    .bind(grant)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(coupon.is_some() || automation.points.is_some() || messaged)
}

async fn give_all(
    db: &Db,
    clock: &dyn Clock,
    brand: &Brand,
    automation: &Automation,
    due: Vec<(i64, String)>,
) -> Result<u64> {
    let mut given = 0;
    for (member, occurrence) in due {
        if give(db, clock, brand, automation, MemberId(member), &occurrence).await? {
            given += 1;
        }
    }
    Ok(given)
}

/// The event triggers: joins, tier rises and N-th visits since the
/// automation was made (and within the last week). Returns benefits given.
pub async fn run_events(db: &Db, clock: &dyn Clock, brand: &Brand) -> Result<u64> {
    let mut given = 0;
    for a in active(db, brand.id).await? {
        let since = a.created_at.max(clock.now_ms() - EVENT_WINDOW_MS);
        let nth_visit;
        let due: Vec<(i64, String)> = match a.trigger {
            Trigger::Join => sqlx::query_as(
                "SELECT m.id, 'join' FROM members m \
                 WHERE m.brand_id = $1 AND m.status = 'active' AND m.created_at >= $2 AND m.welcomed = 1 \
                   AND NOT EXISTS (SELECT 1 FROM automation_grants g \
                                   WHERE g.automation_id = $3 AND g.member_id = m.id) \
                 ORDER BY m.id LIMIT $4",
            ),
            Trigger::TierUp => sqlx::query_as(
                "SELECT t.member_id, 'tier:' || CAST(t.id AS TEXT) FROM tier_changes t \
                 JOIN members m ON m.id = t.member_id AND m.status = 'active' \
                 WHERE t.brand_id = $1 AND t.to_rank > t.from_rank AND t.created_at >= $2 \
                   AND NOT EXISTS (SELECT 1 FROM automation_grants g WHERE g.automation_id = $3 \
                                   AND g.member_id = t.member_id \
                                   AND g.occurrence = 'tier:' || CAST(t.id AS TEXT)) \
                 ORDER BY t.id LIMIT $4",
            ),
            Trigger::NthVisit(n) => sqlx::query_as({
                nth_visit = format!(
                    "SELECT p.member_id, 'visit:{n}' FROM purchases p \
                 JOIN members m ON m.id = p.member_id AND m.status = 'active' \
                 WHERE p.brand_id = $1 AND p.created_at >= $2 \
                   AND (SELECT COUNT(*) FROM purchases q \
                        WHERE q.member_id = p.member_id AND q.id <= p.id) = {n} \
                   AND NOT EXISTS (SELECT 1 FROM automation_grants g \
                                   WHERE g.automation_id = $3 AND g.member_id = p.member_id) \
                 ORDER BY p.id LIMIT $4"
                );
                &nth_visit
            }),
            _ => continue,
        }
        .bind(brand.id.0)
        .bind(since)
        .bind(a.id.0)
        .bind(BATCH)
        .fetch_all(db.pool())
        .await?;
        given += give_all(db, clock, brand, &a, due).await?;
    }
    Ok(given)
}

/// The daily conditions: birthdays, absences, points about to expire.
pub async fn run_daily(db: &Db, clock: &dyn Clock, brand: &Brand) -> Result<u64> {
    let now = clock.now_ms();
    let today: Date = crate::points::rules::local_date(&brand.time_zone, now)
        .parse()
        .map_err(|_| Error::invalid("time_zone", Invalid::Format))?;
    let mut given = 0;
    for a in active(db, brand.id).await? {
        let due: Vec<(i64, String)> = match a.trigger {
            Trigger::Birthday { days_before } => birthdays_due(db, brand, &a, today, days_before).await?,
            Trigger::NoVisit(days) => sqlx::query_as(
                "SELECT id, 'since:' || CAST(last AS TEXT) FROM ( \
                   SELECT m.id, COALESCE(MAX(p.occurred_at), m.created_at) AS last FROM members m \
                   LEFT JOIN purchases p ON p.member_id = m.id \
                   WHERE m.brand_id = $1 AND m.status = 'active' GROUP BY m.id, m.created_at) x \
                 WHERE last < $2 AND NOT EXISTS (SELECT 1 FROM automation_grants g \
                   WHERE g.automation_id = $3 AND g.member_id = x.id \
                     AND g.occurrence = 'since:' || CAST(x.last AS TEXT)) \
                 ORDER BY id LIMIT $4",
            )
            .bind(brand.id.0)
            .bind(now - days * DAY)
            .bind(a.id.0)
            .bind(BATCH)
            .fetch_all(db.pool())
            .await?,
            Trigger::PointsExpiring(days) => sqlx::query_as(
                "SELECT member_id, 'expiry:' || CAST(soonest AS TEXT) FROM ( \
                   SELECT l.member_id, MIN(l.expires_at) AS soonest FROM points_lots l \
                   JOIN members m ON m.id = l.member_id AND m.status = 'active' \
                   WHERE l.brand_id = $1 AND l.remaining > 0 AND l.expires_at > $2 AND l.expires_at <= $3 \
                   GROUP BY l.member_id) x \
                 WHERE NOT EXISTS (SELECT 1 FROM automation_grants g \
                   WHERE g.automation_id = $4 AND g.member_id = x.member_id \
                     AND g.occurrence = 'expiry:' || CAST(x.soonest AS TEXT)) \
                 ORDER BY member_id LIMIT $5",
            )
            .bind(brand.id.0)
            .bind(now)
            .bind(now + days * DAY)
            .bind(a.id.0)
            .bind(BATCH)
            .fetch_all(db.pool())
            .await?,
            _ => continue,
        };
        given += give_all(db, clock, brand, &a, due).await?;
    }
    Ok(given)
}

/// A birthday in a given year: 29 February is kept on the 28th when the
/// year has no 29th.
fn birthday_in(year: i16, month: i8, day: i8) -> Option<Date> {
    Date::new(year, month, day)
        .ok()
        .or_else(|| (month == 2 && day == 29).then(|| Date::new(year, 2, 28).ok())?)
}

/// Members whose birthday gift is due today: `days_before` their birthday
/// (up to a week late), or in their birthday month. The occurrence is the
/// birthday's year: once a year, whatever happens.
async fn birthdays_due(
    db: &Db,
    brand: &Brand,
    a: &Automation,
    today: Date,
    days_before: Option<i64>,
) -> Result<Vec<(i64, String)>> {
    // The birthdays due today fall in the week up to `days_before` ahead:
    // at most two months.
    let lead = days_before.unwrap_or(0);
    let month_of = |d: i64| {
        today
            .checked_add(jiff::Span::new().days(d))
            .map(|d| i64::from(d.month()))
            .unwrap_or(i64::from(today.month()))
    };
    let window_months = (month_of(lead - BIRTHDAY_GRACE_DAYS), month_of(lead));
    let rows: Vec<(i64, i64, i64)> = match days_before {
        None => sqlx::query_as(
            "SELECT m.id, m.birthday_month, m.birthday_day FROM members m \
             WHERE m.brand_id = $1 AND m.status = 'active' AND m.birthday_month = $2 \
               AND NOT EXISTS (SELECT 1 FROM automation_grants g WHERE g.automation_id = $3 \
                               AND g.member_id = m.id AND g.occurrence = $4)",
        )
        .bind(brand.id.0)
        .bind(i64::from(today.month()))
        .bind(a.id.0)
        .bind(today.year().to_string()),
        Some(_) => sqlx::query_as(
            "SELECT m.id, m.birthday_month, m.birthday_day FROM members m \
             WHERE m.brand_id = $1 AND m.status = 'active' AND m.birthday_month IN ($2, $3)",
        )
        .bind(brand.id.0)
        .bind(window_months.0)
        .bind(window_months.1),
    }
    .fetch_all(db.pool())
    .await?;
    let Some(lead) = days_before else {
        return Ok(rows
            .into_iter()
            .map(|(id, _, _)| (id, today.year().to_string()))
            .collect());
    };
    // Which birthdays (member, year) near today were already celebrated.
    let given: std::collections::HashSet<(i64, String)> = sqlx::query_as(
        "SELECT member_id, occurrence FROM automation_grants \
         WHERE automation_id = $1 AND occurrence IN ($2, $3, $4)",
    )
    .bind(a.id.0)
    .bind((today.year() - 1).to_string())
    .bind(today.year().to_string())
    .bind((today.year() + 1).to_string())
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .collect();
    let mut due = Vec::new();
    for (id, month, day) in rows {
        let (Ok(month), Ok(day)) = (i8::try_from(month), i8::try_from(day)) else {
            continue;
        };
        // Last year's birthday (a late run in early January), this year's,
        // or next year's (a lead reaching past 31 December).
        for year in [today.year() - 1, today.year(), today.year() + 1] {
            let Some(birthday) = birthday_in(year, month, day) else {
                continue;
            };
            let Ok(gap) = today.until((jiff::Unit::Day, birthday)) else {
                continue;
            };
            let until = i64::from(gap.get_days());
            let occurrence = year.to_string();
            if until <= lead
                && until >= lead - BIRTHDAY_GRACE_DAYS
                && !given.contains(&(id, occurrence.clone()))
            {
                due.push((id, occurrence));
            }
        }
    }
    Ok(due)
}

/// What a queued message carries until it is sent: its automation and the
/// values of its variables when the benefit was given.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Queued {
    automation: i64,
    name: String,
    points: i64,
    coupon: Option<crate::coupons::Rule>,
    /// The coupon's last day, the points' expiry, or the day it was given.
    date: i64,
}

/// What one delivery run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub sent: u64,
    pub retry: u64,
    pub dropped: u64,
    /// Due but held back: outside the sending hours or over the day's budget.
    pub waiting: bool,
}

const MAX_ATTEMPTS: i64 = 5;

/// How long a message the provider refuses (for the brand's set-up) waits
/// for the owner to fix it.
const REFUSED_KEPT_MS: i64 = DAY;

/// Sends a brand's due messages. A message is leased before it is sent, so
/// two servers never send it both; a failure worth retrying is retried with
/// growing waits and dropped after five attempts, a number that cannot
/// receive messages at once; a member who has since withdrawn consent or
/// been erased gets nothing. Outside the brand's sending hours, or once the
/// day's budget is spent, nothing goes and the messages wait.
pub async fn deliver(
    db: &Db,
    clock: &dyn Clock,
    brand: &Brand,
    sender: &dyn Sender,
) -> Result<Delivered> {
    let now = clock.now_ms();
    let settings = {
        let mut conn = db.acquire().await?;
        messages::settings(&mut conn, brand.id).await?
    };
    let budget_left =
        settings.marketing_cap - messages::marketing_sent_today(db, clock, brand).await?;
    let due: Vec<(i64, i64, String, i64, i64)> = sqlx::query_as(
        "SELECT id, member_id, body, attempts, created_at FROM outbox \
         WHERE brand_id = $1 AND sent_at IS NULL AND dropped_at IS NULL AND next_at <= $2 \
         ORDER BY id LIMIT $3",
    )
    .bind(brand.id.0)
    .bind(now)
    .bind(budget_left.clamp(1, 200))
    .fetch_all(db.pool())
    .await?;
    let mut done = Delivered::default();
    if due.is_empty() {
        return Ok(done);
    }
    if budget_left <= 0 || !settings.sends_at(&brand.time_zone, now) {
        done.waiting = true;
        return Ok(done);
    }
    let started = std::time::Instant::now();
    for (id, member, body, attempts, created_at) in due {
        // A slow provider must not hold up the other jobs: what is left
        // waits for the next minute.
        if started.elapsed() > std::time::Duration::from_secs(40) {
            break;
        }
        let now = clock.now_ms();
        let leased = sqlx::query(
            "UPDATE outbox SET next_at = $1, attempts = attempts + 1 \
             WHERE id = $2 AND sent_at IS NULL AND dropped_at IS NULL AND next_at <= $3",
        )
        .bind(now + 10 * 60 * 1000)
        .bind(id)
        .bind(now)
        .execute(db.pool())
        .await?
        .rows_affected();
        if leased != 1 {
            continue;
        }
        let Some(sms) = compose(db, brand, member, &body).await? else {
            settle(db, clock, id, "dropped_at").await?;
            done.dropped += 1;
            continue;
        };
        match messages::send(db, clock, brand.id, sender, &sms).await {
            Ok(()) => {
                settle(db, clock, id, "sent_at").await?;
                done.sent += 1;
            }
            Err(e @ Failure::Unreachable { .. }) => {
                tracing::warn!(brand = brand.id.0, message = id, error = %e, "message dropped: the number cannot receive messages");
                settle(db, clock, id, "dropped_at").await?;
                done.dropped += 1;
            }
            // The brand's set-up was refused (a template, the balance, the
            // credentials): the owner sees why and can fix it, so the
            // message waits half an hour at a time, for a day.
            Err(e @ Failure::Refused { .. }) if now - created_at < REFUSED_KEPT_MS => {
                tracing::warn!(brand = brand.id.0, message = id, error = %e, "message refused; tried again in 30 minutes");
                sqlx::query("UPDATE outbox SET next_at = $1 WHERE id = $2")
                    .bind(now + 30 * 60 * 1000)
                    .bind(id)
                    .execute(db.pool())
                    .await?;
                done.retry += 1;
            }
            Err(e @ Failure::Refused { .. }) => {
                tracing::warn!(brand = brand.id.0, message = id, error = %e, "message dropped: refused for a day");
                settle(db, clock, id, "dropped_at").await?;
                done.dropped += 1;
            }
            Err(e) if attempts + 1 >= MAX_ATTEMPTS => {
                tracing::warn!(brand = brand.id.0, message = id, error = %e, "message dropped after {MAX_ATTEMPTS} attempts");
                settle(db, clock, id, "dropped_at").await?;
                done.dropped += 1;
            }
            Err(e) => {
                tracing::warn!(brand = brand.id.0, message = id, error = %e, "message not sent; retried later");
                let wait = 60_000 * 2i64.pow(u32::try_from(attempts + 1).unwrap_or(4));
                sqlx::query("UPDATE outbox SET next_at = $1 WHERE id = $2")
                    .bind(now + wait)
                    .bind(id)
                    .execute(db.pool())
                    .await?;
                done.retry += 1;
            }
        }
    }
    Ok(done)
}

/// The message for one queued row, in the member's language under the
/// template for it; None when it is no longer to be sent (the member
/// withdrew consent or was erased, the automation lost its message).
async fn compose(db: &Db, brand: &Brand, member: i64, body: &str) -> Result<Option<Sms>> {
    let to: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT phone, language FROM members \
         WHERE brand_id = $1 AND id = $2 AND status = 'active' AND marketing_consent_at IS NOT NULL",
    )
    .bind(brand.id.0)
    .bind(member)
    .fetch_optional(db.pool())
    .await?;
    let phone = to
        .as_ref()
        .and_then(|(p, _)| p.as_deref())
        .and_then(|p| Phone::stored(p.to_owned()).ok());
    let Some(phone) = phone else {
        return Ok(None);
    };
    let language = to
        .and_then(|(_, l)| l)
        .and_then(|l| crate::brands::Language::from_tag(&l))
        .unwrap_or(brand.default_language);
    let (template_code, text_body, vars) = match serde_json::from_str::<Queued>(body) {
        Ok(vars) => {
            let mut conn = db.acquire().await?;
            let purpose = TemplateFor::Automation(AutomationId(vars.automation));
            match templates::choose(&mut conn, brand, purpose, language).await? {
                Some(t) => (Some(t.code).filter(|c| !c.is_empty()), t.body, Some(vars)),
                None => {
                    let own: Option<(Option<String>,)> = sqlx::query_as(
                        "SELECT message FROM automations WHERE brand_id = $1 AND id = $2",
                    )
                    .bind(brand.id.0)
                    .bind(vars.automation)
                    .fetch_optional(&mut *conn)
                    .await?;
                    let Some(Ok(body)) = own.and_then(|(m,)| m).map(|m| Body::parse("message", &m))
                    else {
                        return Ok(None);
                    };
                    (None, body, Some(vars))
                }
            }
        }
        // Queued before messages had variables: the text itself.
        Err(_) => match Body::parse("message", body) {
            Ok(b) => (None, b, None),
            Err(_) => return Ok(None),
        },
    };
    // A message that names the coupon goes only with the coupon: one out
    // of stock (the points still went) is not announced as given.
    if text_body.vars().contains(&Var::Coupon) && vars.as_ref().is_some_and(|q| q.coupon.is_none())
    {
        return Ok(None);
    }
    let body = text_body.with_opt_out(language);
    let value = |v: Var| {
        let vars = vars.as_ref();
        match v {
            Var::Brand => Some(brand.name.clone()),
            // Providers refuse a blank variable: a member without a name is 会员.
            Var::Name => vars
                .map(|q| q.name.clone())
                .filter(|n| !n.is_empty())
                .or_else(|| Some(templates::member_word(language).to_owned())),
            Var::Points => vars.map(|q| q.points.to_string()),
            Var::Coupon => vars
                .and_then(|q| q.coupon.as_ref())
                .map(|rule| templates::coupon_words(rule, language)),
            Var::Date => vars.and_then(|q| {
                let zone =
                    jiff::tz::TimeZone::get(&brand.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
                let day = jiff::Timestamp::from_millisecond(q.date)
                    .ok()?
                    .to_zoned(zone)
                    .date();
                Some(templates::local_day(language, day))
            }),
            Var::Code => None,
        }
    };
    Ok(Some(Sms {
        phone,
        brand_slug: brand.slug.as_str().to_owned(),
        brand_name: brand.name.clone(),
        signature: brand.signature().to_owned(),
        language,
        purpose: Purpose::Marketing,
        template_code,
        params: body.params(value),
        text: body.render(value),
    }))
}

/// Marks a message sent or dropped and forgets its text.
async fn settle(db: &Db, clock: &dyn Clock, id: i64, column: &str) -> Result<()> {
    sqlx::query(&format!(
        "UPDATE outbox SET {column} = $1, body = NULL \
         WHERE id = $2 AND sent_at IS NULL AND dropped_at IS NULL"
    ))
    .bind(clock.now_ms())
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_check_their_numbers() {
        assert_eq!(
            Trigger::parse("nth_visit", Some(5)).unwrap(),
            Trigger::NthVisit(5)
        );
        assert!(Trigger::parse("nth_visit", None).is_err());
        assert!(
            Trigger::parse("no_visit", Some(3)).is_err(),
            "a week at least"
        );
        assert!(Trigger::parse("birthday", Some(31)).is_err());
        assert_eq!(
            Trigger::parse("birthday", None).unwrap(),
            Trigger::Birthday { days_before: None }
        );
        assert!(Trigger::parse("anniversary", None).is_err());
    }

    #[test]
    fn a_leap_day_birthday_is_kept_on_the_28th() {
        assert_eq!(birthday_in(2027, 2, 29), Date::new(2027, 2, 28).ok());
        assert_eq!(birthday_in(2028, 2, 29), Date::new(2028, 2, 29).ok());
        assert_eq!(birthday_in(2027, 4, 31), None);
    }
}
