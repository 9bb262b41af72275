//! Feedback (顾客反馈): the diner's NPS, stars and comment, the reward for
//! it, the restaurant's reply the member can read, and the NPS report.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use crate::brands::stores::StoreId;
use crate::brands::tables::TableId;
use crate::brands::{Brand, BrandId};
use crate::error::{store_not_found, Invalid};
use crate::members::phone::Phone;
use crate::members::MemberId;
use crate::{coupons, points, points::rules, Clock, Db, Error, Result};

pub const COMMENT_MAX: usize = 1000;
pub const REPLY_MAX: usize = 1000;
/// Feedback one client address may send a brand in an hour (a clock hour).
pub const PER_CLIENT_PER_HOUR: i64 = 10;
/// Feedback one member may send in an hour.
pub const PER_MEMBER_PER_HOUR: i64 = 5;
const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FeedbackId(pub i64);

/// Where an NPS answer puts the diner: 0–6, 7–8, 9–10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    Detractor,
    Passive,
    Promoter,
}

impl Segment {
    pub fn of(nps: i64) -> Segment {
        match nps {
            9.. => Segment::Promoter,
            7 | 8 => Segment::Passive,
            _ => Segment::Detractor,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Segment::Detractor => "detractor",
            Segment::Passive => "passive",
            Segment::Promoter => "promoter",
        }
    }

    pub fn parse(s: &str) -> Option<Segment> {
        [Segment::Detractor, Segment::Passive, Segment::Promoter]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    /// The NPS answers in this segment.
    fn range(self) -> (i64, i64) {
        match self {
            Segment::Detractor => (0, 6),
            Segment::Passive => (7, 8),
            Segment::Promoter => (9, 10),
        }
    }
}

/// Counts of answers and the score: % promoters − % detractors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nps {
    pub promoters: i64,
    pub passives: i64,
    pub detractors: i64,
}

impl Nps {
    pub fn add(&mut self, answer: i64) {
        match Segment::of(answer) {
            Segment::Promoter => self.promoters += 1,
            Segment::Passive => self.passives += 1,
            Segment::Detractor => self.detractors += 1,
        }
    }

    pub fn total(&self) -> i64 {
        self.promoters + self.passives + self.detractors
    }

    /// −100 … 100, rounded to the nearest whole number (halves away from
    /// zero); None without answers.
    pub fn score(&self) -> Option<i64> {
        let n = self.total();
        if n == 0 {
            return None;
        }
        let diff = 100 * (self.promoters - self.detractors);
        let half = if diff >= 0 { n } else { -n };
        Some((2 * diff + half) / (2 * n))
    }
}

/// Comment text as it is kept: tags removed (it is shown as text anyway),
/// control characters dropped, trimmed, at most 1000 characters.
pub fn clean_text(field: &'static str, input: &str, max: usize) -> Result<String> {
    // Far more bytes than `max` characters can take is refused before any
    // work: the scan below is linear, and stays cheap.
    if input.len() > max * 4 + 4096 {
        return Err(Error::invalid(field, Invalid::TooLong { max }));
    }
    let mut out = String::with_capacity(input.len());
    let mut in_tag = false;
    let last_close = input.rfind('>');
    // Control characters go first, so none can hide a tag from the scan.
    let mut chars = input
        .char_indices()
        .filter(|(_, c)| matches!(c, '\n' | '\t') || !c.is_control())
        .peekable();
    while let Some((at, c)) = chars.next() {
        let opens_tag = c == '<'
            && chars
                .peek()
                .is_some_and(|(_, n)| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'));
        match c {
            // "价格<a bit high" has no tag in it: keep the words, and the
            // sign in its full-width form so nothing can read it as markup.
            _ if opens_tag && last_close.is_none_or(|close| close < at) => out.push('＜'),
            _ if opens_tag => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            c => out.push(c),
        }
    }
    // Removing a tag can join a stray "<" to what followed the tag ("<<a>b"
    // leaves "<b"): whatever still reads like the start of a tag is turned
    // into the full-width sign.
    let mut chars = out.trim().chars().peekable();
    let mut out = String::with_capacity(input.len());
    while let Some(c) = chars.next() {
        let opens_tag = c == '<'
            && chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'));
        out.push(if opens_tag { '＜' } else { c });
    }
    if out.chars().count() > max {
        return Err(Error::invalid(field, Invalid::TooLong { max }));
    }
    Ok(out)
}

/// The brand's reward for a feedback with a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RewardRule {
    pub points: i64,
    pub coupon: Option<coupons::TemplateId>,
}

impl RewardRule {
    /// Whether this feedback earns the reward at all; once per member, store
    /// and brand day is the database's part.
    pub fn applies(&self, member: Option<MemberId>, comment: &str) -> bool {
        member.is_some() && !comment.trim().is_empty() && (self.points > 0 || self.coupon.is_some())
    }
}

/// Forgets the hourly counters older than a day (the hourly job).
pub async fn purge_limits(db: &Db, clock: &dyn Clock) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM feedback_limits WHERE window_start < $1")
            .bind(clock.now_ms() - 24 * HOUR_MS)
            .execute(db.pool())
            .await?
            .rows_affected(),
    )
}

pub async fn reward_rule(conn: &mut AnyConnection, brand: BrandId) -> Result<RewardRule> {
    let row: Option<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT feedback_points, feedback_coupon FROM loyalty_rules WHERE brand_id = $1",
    )
    .bind(brand.0)
    .fetch_optional(&mut *conn)
    .await?;
    let (points, coupon) = row.unwrap_or((10, None));
    Ok(RewardRule {
        points,
        coupon: coupon.map(coupons::TemplateId),
    })
}

/// Sets the brand's reward (the console's brand setup; tests).
pub async fn set_reward_rule(
    conn: &mut AnyConnection,
    brand: BrandId,
    rule: RewardRule,
) -> Result<()> {
    if rule.points < 0 {
        return Err(Error::invalid("feedback_points", Invalid::Format));
    }
    sqlx::query(
        "UPDATE loyalty_rules SET feedback_points = $1, feedback_coupon = $2 WHERE brand_id = $3",
    )
    .bind(rule.points)
    .bind(rule.coupon.map(|c| c.0))
    .bind(brand.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stars for food, service and ambience, 1–5 each, each optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stars {
    pub food: Option<i64>,
    pub service: Option<i64>,
    pub ambience: Option<i64>,
}

/// What the form sends.
#[derive(Debug, Clone)]
pub struct Submission {
    pub member: Option<MemberId>,
    /// For a diner who has not joined: where to reply.
    pub contact_phone: Option<Phone>,
    pub store: Option<StoreId>,
    pub table: Option<TableId>,
    pub nps: i64,
    pub stars: Stars,
    pub comment: String,
    pub visit_date: Option<Date>,
    /// The sender's address, for the rate limit (only a hash is kept).
    pub client: String,
}

/// The feedback form as a browser sends it; every field may be missing.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FeedbackForm {
    pub nps: Option<String>,
    pub food: Option<String>,
    pub service: Option<String>,
    pub ambience: Option<String>,
    pub comment: Option<String>,
    pub visit_date: Option<String>,
    pub store: Option<String>,
    pub contact_phone: Option<String>,
}

impl FeedbackForm {
    /// What the form says, from `member` (signed in) or a guest at `table`,
    /// sent from `client`. A guest's contact phone is kept; a member's
    /// phone is already known.
    pub fn submission(
        self,
        member: Option<MemberId>,
        table: Option<TableId>,
        client: String,
    ) -> Result<Submission> {
        let filled = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let number = |v: &Option<String>| filled(v).and_then(|s| s.parse::<i64>().ok());
        let nps = number(&self.nps)
            .filter(|n| (0..=10).contains(n))
            .ok_or(Error::invalid("nps", Invalid::Empty))?;
        let visit_date = filled(&self.visit_date)
            .map(|d| {
                d.parse()
                    .map_err(|_| Error::invalid("visit_date", Invalid::Format))
            })
            .transpose()?;
        let contact_phone = match filled(&self.contact_phone) {
            Some(p) if member.is_none() => Some(Phone::parse("86", &p)?),
            _ => None,
        };
        Ok(Submission {
            member,
            contact_phone,
            store: number(&self.store).map(StoreId),
            table,
            nps,
            stars: Stars {
                food: number(&self.food),
                service: number(&self.service),
                ambience: number(&self.ambience),
            },
            comment: self.comment.unwrap_or_default(),
            visit_date,
            client,
        })
    }
}

/// Records a feedback and its reward, in one transaction: see [`submit`].
pub async fn send(db: &Db, clock: &dyn Clock, brand: &Brand, s: Submission) -> Result<Submitted> {
    db.in_transaction(async |tx| submit(tx, clock, brand, s).await)
        .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub id: FeedbackId,
    pub reward_points: i64,
    pub reward_coupon: Option<coupons::CouponCode>,
    /// The member's balance after the reward.
    pub points_balance: Option<i64>,
}

fn client_key(client: &str) -> String {
    let digest = Sha256::digest(format!("feedback-client:{client}").as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Stores a feedback and grants its reward: points (a ledger row that names
/// the feedback) and the brand's coupon, once per member, store and day in
/// the brand's calendar.
pub async fn submit(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: &Brand,
    s: Submission,
) -> Result<Submitted> {
    if !(0..=10).contains(&s.nps) {
        return Err(Error::invalid("nps", Invalid::Format));
    }
    for (field, v) in [
        ("food", s.stars.food),
        ("service", s.stars.service),
        ("ambience", s.stars.ambience),
    ] {
        if v.is_some_and(|v| !(1..=5).contains(&v)) {
            return Err(Error::invalid(field, Invalid::Format));
        }
    }
    let comment = clean_text("comment", &s.comment, COMMENT_MAX)?;
    let now = clock.now_ms();
    let today = rules::local_date(&brand.time_zone, now);
    if let Some(date) = s.visit_date {
        // A visit is in the past (or today), and within a year.
        let today_date: Date = today
            .parse()
            .map_err(|_| Error::invalid("visit_date", Invalid::Format))?;
        let earliest = today_date.saturating_sub(jiff::Span::new().days(366));
        if date > today_date || date < earliest {
            return Err(Error::invalid("visit_date", Invalid::Format));
        }
    }
    // A table names its store; a table of another brand names nothing.
    let mut store = s.store;
    if let Some(table) = s.table {
        let found: Option<(i64,)> =
            sqlx::query_as("SELECT store_id FROM dining_tables WHERE brand_id = $1 AND id = $2")
                .bind(brand.id.0)
                .bind(table.0)
                .fetch_optional(&mut *conn)
                .await?;
        store = Some(StoreId(found.ok_or(Error::TableNotFound)?.0));
    }
    let key = client_key(&s.client);
    let hour = now - now.rem_euclid(HOUR_MS);
    let mut limits = vec![(format!("c:{key}"), PER_CLIENT_PER_HOUR)];
    if let Some(m) = s.member {
        limits.push((format!("m:{}", m.0), PER_MEMBER_PER_HOUR));
    }
    for (subject, max) in limits {
        // One conditional upsert per limit: the count only rises below the
        // limit, so concurrent posts cannot all pass on a stale count.
        let counted: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO feedback_limits (brand_id, subject, window_start, sent) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (brand_id, subject, window_start) \
             DO UPDATE SET sent = feedback_limits.sent + 1 WHERE feedback_limits.sent < $4 \
             RETURNING sent",
        )
        .bind(brand.id.0)
        .bind(&subject)
        .bind(hour)
        .bind(max)
        .fetch_optional(&mut *conn)
        .await?;
        if counted.is_none() {
            return Err(Error::FeedbackTooOften);
        }
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO feedback (brand_id, store_id, table_id, member_id, contact_phone, nps, food, service, \
            ambience, comment, visit_date, local_day, client_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(brand.id.0)
    .bind(store.map(|x| x.0))
    .bind(s.table.map(|x| x.0))
    .bind(s.member.map(|x| x.0))
    .bind(if s.member.is_some() { None } else { s.contact_phone.as_ref().map(|p| p.as_str().to_owned()) })
    .bind(s.nps)
    .bind(s.stars.food)
    .bind(s.stars.service)
    .bind(s.stars.ambience)
    .bind(&comment)
    .bind(s.visit_date.map(|d| d.to_string()))
    .bind(&today)
    .bind(&key)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(store_not_found)?;
    let mut out = Submitted {
        id: FeedbackId(id),
        reward_points: 0,
        reward_coupon: None,
        points_balance: None,
    };
    let rule = reward_rule(conn, brand.id).await?;
    let Some(member) = s.member.filter(|_| rule.applies(s.member, &comment)) else {
        return Ok(out);
    };
    // The member's lock first, as every points operation takes it.
    points::lock_member(conn, brand.id, member).await?;
    let first_today: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO feedback_rewards (member_id, store_key, day, feedback_id) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING RETURNING feedback_id",
    )
    .bind(member.0)
    // Only a table's QR proves where the diner ate: a store picked from the
    // list counts as "no store", so naming every store earns nothing extra.
    .bind(if s.table.is_some() { store.map_or(0, |x| x.0) } else { 0 })
    .bind(&today)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    if first_today.is_none() {
        return Ok(out);
    }
    if rule.points > 0 {
        let balance = points::grant(
            conn,
            clock,
            brand,
            member,
            rule.points,
            "feedback reward",
            points::Ref::new("feedback", id),
        )
        .await?;
        out.reward_points = rule.points;
        out.points_balance = Some(balance);
    }
    let mut coupon_id = None;
    if let Some(template) = rule.coupon {
        match coupons::issue(
            conn,
            clock,
            brand,
            member,
            template,
            coupons::Source::Feedback,
            None,
        )
        .await
        {
            Ok(issued) => {
                coupon_id = Some(issued.coupon.id);
                out.reward_coupon = Some(issued.coupon.code);
            }
            // Out of stock or withdrawn: the points still count.
            Err(Error::CouponOutOfStock | Error::CouponLimitReached | Error::CouponNotOffered)
            | Err(Error::CouponRefused(_) | Error::CouponOfferNotFound) => {}
            Err(e) => return Err(e),
        }
    }
    sqlx::query("UPDATE feedback SET reward_points = $1, reward_coupon = $2 WHERE id = $3")
        .bind(out.reward_points)
        .bind(coupon_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(out)
}

/// One feedback as the member and the staff see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    pub id: FeedbackId,
    pub member: Option<MemberId>,
    /// The member's number, for staff.
    pub member_no: Option<String>,
    /// A diner's phone for the reply, masked.
    pub contact: Option<String>,
    pub store: Option<String>,
    pub table: Option<String>,
    pub nps: i64,
    pub stars: Stars,
    pub comment: String,
    pub visit_date: Option<String>,
    pub day: String,
    pub reward_points: i64,
    pub reply: Option<String>,
    pub replied_at: Option<i64>,
    pub reply_seen: bool,
    pub handled: bool,
    pub created_at: i64,
}

const FEEDBACK_SELECT: &str = "SELECT f.id, f.member_id, m.member_no, f.contact_phone, s.name, t.label, f.nps, \
        f.food, f.service, f.ambience, f.comment, f.visit_date, f.local_day, f.reward_points, f.reply, \
        f.replied_at, f.reply_seen_at, f.handled_at, f.created_at \
     FROM feedback f \
     LEFT JOIN members m ON m.id = f.member_id \
     LEFT JOIN stores s ON s.id = f.store_id \
     LEFT JOIN dining_tables t ON t.id = f.table_id";

#[derive(sqlx::FromRow)]
struct FeedbackRow {
    id: i64,
    member_id: Option<i64>,
    member_no: Option<String>,
    contact_phone: Option<String>,
    name: Option<String>,
    label: Option<String>,
    nps: i64,
    food: Option<i64>,
    service: Option<i64>,
    ambience: Option<i64>,
    comment: String,
    visit_date: Option<String>,
    local_day: String,
    reward_points: i64,
    reply: Option<String>,
    replied_at: Option<i64>,
    reply_seen_at: Option<i64>,
    handled_at: Option<i64>,
    created_at: i64,
}

impl From<FeedbackRow> for Feedback {
    fn from(r: FeedbackRow) -> Self {
        Feedback {
            id: FeedbackId(r.id),
            member: r.member_id.map(MemberId),
            member_no: r.member_no,
            contact: r
                .contact_phone
                .and_then(|p| Phone::parse_e164(&p).ok())
                .map(|p| p.masked()),
            store: r.name,
            table: r.label,
            nps: r.nps,
            stars: Stars {
                food: r.food,
                service: r.service,
                ambience: r.ambience,
            },
            comment: r.comment,
            visit_date: r.visit_date,
            day: r.local_day,
            reward_points: r.reward_points,
            reply: r.reply,
            replied_at: r.replied_at,
            reply_seen: r.reply_seen_at.is_some(),
            handled: r.handled_at.is_some(),
            created_at: r.created_at,
        }
    }
}

/// A member's feedback as staff see it: a manager only at their stores.
pub async fn of_member(
    db: &Db,
    brand: BrandId,
    member: MemberId,
    within: Option<&[StoreId]>,
) -> Result<Vec<Feedback>> {
    let rows: Vec<FeedbackRow> = sqlx::query_as(&format!(
        "{FEEDBACK_SELECT} WHERE f.brand_id = $1 AND f.member_id = $2{} ORDER BY f.id DESC LIMIT 50",
        scope_sql(within)
    ))
    .bind(brand.0)
    .bind(member.0)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Feedback::from).collect())
}

/// A member's own feedback, newest first.
pub async fn mine(db: &Db, brand: BrandId, member: MemberId) -> Result<Vec<Feedback>> {
    let rows: Vec<FeedbackRow> = sqlx::query_as(&format!(
        "{FEEDBACK_SELECT} WHERE f.brand_id = $1 AND f.member_id = $2 ORDER BY f.id DESC LIMIT 200"
    ))
    .bind(brand.0)
    .bind(member.0)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Feedback::from).collect())
}

/// The member has read their replies.
pub async fn mark_replies_seen(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Member,
) -> Result<()> {
    let (brand, member) = (who.brand().id, who.id());
    sqlx::query(
        "UPDATE feedback SET reply_seen_at = $1 \
         WHERE brand_id = $2 AND member_id = $3 AND replied_at IS NOT NULL AND reply_seen_at IS NULL",
    )
    .bind(clock.now_ms())
    .bind(brand.0)
    .bind(member.0)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// What the staff inbox shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxFilter {
    pub segment: Option<Segment>,
    pub unanswered: bool,
    pub store: Option<StoreId>,
    /// Brand-calendar days, inclusive.
    pub from: Option<Date>,
    pub to: Option<Date>,
}

fn scope_sql(within: Option<&[StoreId]>) -> String {
    crate::brands::stores::scope_sql("f.store_id", within)
}

/// The feedback `who` may read (their brand's, and of a store manager only
/// their stores'), newest first, filtered; at most 200.
pub async fn inbox(
    db: &Db,
    who: &crate::access::Manager,
    filter: &InboxFilter,
) -> Result<Vec<Feedback>> {
    let (low, high) = filter.segment.map_or((0, 10), Segment::range);
    let rows: Vec<FeedbackRow> = sqlx::query_as(&format!(
        "{FEEDBACK_SELECT} WHERE f.brand_id = $1 AND f.nps BETWEEN $2 AND $3 \
           AND ($4 = 0 OR f.reply IS NULL) AND ($5 = 0 OR f.store_id = $5) \
           AND f.local_day >= $6 AND f.local_day <= $7{} \
         ORDER BY f.id DESC LIMIT 200",
        scope_sql(who.scope())
    ))
    .bind(who.brand().id.0)
    .bind(low)
    .bind(high)
    .bind(i64::from(filter.unanswered))
    .bind(filter.store.map_or(0, |s| s.0))
    .bind(
        filter
            .from
            .map_or_else(|| "0000-00-00".to_owned(), |d| d.to_string()),
    )
    .bind(
        filter
            .to
            .map_or_else(|| "9999-99-99".to_owned(), |d| d.to_string()),
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Feedback::from).collect())
}

/// A feedback outside the brand, or outside a manager's stores, is not found.
async fn in_scope(
    conn: &mut AnyConnection,
    brand: BrandId,
    scope: Option<&[StoreId]>,
    id: FeedbackId,
) -> Result<()> {
    let row: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT store_id FROM feedback WHERE brand_id = $1 AND id = $2")
            .bind(brand.0)
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?;
    match (row, scope) {
        (Some(_), None) => Ok(()),
        (Some((Some(store),)), Some(stores)) if stores.contains(&StoreId(store)) => Ok(()),
        _ => Err(Error::FeedbackNotFound),
    }
}

/// Answers a feedback; the member sees it on their feedback page. A second
/// reply replaces the first (a correction), and marks it handled. Audited.
pub async fn reply(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Manager,
    id: FeedbackId,
    text: &str,
) -> Result<()> {
    let mut tx = db.begin().await?;
    write_reply(&mut tx, clock, who, id, text).await?;
    let after = serde_json::json!({ "reply_chars": text.trim().chars().count() });
    audited(&mut tx, clock, who, "feedback.reply", id, None, after).await?;
    Ok(tx.commit().await?)
}

/// Marks a feedback as dealt with (or not) without replying. Audited.
pub async fn set_handled(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Manager,
    id: FeedbackId,
    handled: bool,
) -> Result<()> {
    let mut tx = db.begin().await?;
    write_handled(&mut tx, clock, who, id, handled).await?;
    let (before, after) = (
        serde_json::json!({ "handled": !handled }),
        serde_json::json!({ "handled": handled }),
    );
    audited(
        &mut tx,
        clock,
        who,
        "feedback.handled",
        id,
        Some(before),
        after,
    )
    .await?;
    Ok(tx.commit().await?)
}

async fn audited(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    who: &crate::access::Manager,
    action: &str,
    id: FeedbackId,
    before: Option<serde_json::Value>,
    after: serde_json::Value,
) -> Result<()> {
    let change = crate::staff::audit::Change {
        action,
        store: None,
        target_type: "feedback",
        target_id: Some(id.0),
        before,
        after: Some(after),
    };
    crate::staff::audit::record(conn, clock, &who.actor(), change).await
}

async fn write_reply(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    who: &crate::access::Manager,
    id: FeedbackId,
    text: &str,
) -> Result<()> {
    let (brand, scope, staff) = (who.brand().id, who.scope(), who.staff.id);
    in_scope(conn, brand, scope, id).await?;
    let text = clean_text("reply", text, REPLY_MAX)?;
    if text.is_empty() {
        return Err(Error::invalid("reply", Invalid::Empty));
    }
    let now = clock.now_ms();
    let done = sqlx::query(
        "UPDATE feedback SET reply = $1, replied_at = $2, replied_by = $3, reply_seen_at = NULL, \
            handled_at = COALESCE(handled_at, $2) \
         WHERE brand_id = $4 AND id = $5",
    )
    .bind(&text)
    .bind(now)
    .bind(staff.0)
    .bind(brand.0)
    .bind(id.0)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if done == 1 {
        Ok(())
    } else {
        Err(Error::FeedbackNotFound)
    }
}

async fn write_handled(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    who: &crate::access::Manager,
    id: FeedbackId,
    handled: bool,
) -> Result<()> {
    let (brand, scope) = (who.brand().id, who.scope());
    in_scope(conn, brand, scope, id).await?;
    let done = sqlx::query("UPDATE feedback SET handled_at = $1 WHERE brand_id = $2 AND id = $3")
        .bind(handled.then(|| clock.now_ms()))
        .bind(brand.0)
        .bind(id.0)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if done == 1 {
        Ok(())
    } else {
        Err(Error::FeedbackNotFound)
    }
}

/// One line of the NPS report: a store (None: no store named) in a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    pub store: Option<String>,
    /// `2026-11`.
    pub month: String,
    pub nps: Nps,
    /// Average stars ×10 (43 is 4.3), per dimension; None without answers.
    pub food: Option<i64>,
    pub service: Option<i64>,
    pub ambience: Option<i64>,
}

fn average_x10(sum: i64, n: i64) -> Option<i64> {
    (n > 0).then(|| (sum * 20 + n) / (2 * n))
}

/// NPS and average stars per store and month, newest month first.
pub async fn report(
    db: &Db,
    brand: BrandId,
    within: Option<&[StoreId]>,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<Vec<ReportRow>> {
    type Row = (
        Option<String>,
        String,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
    );
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT s.name, SUBSTR(f.local_day, 1, 7) AS month, \
            CAST(SUM(CASE WHEN f.nps >= 9 THEN 1 ELSE 0 END) AS BIGINT), \
            CAST(SUM(CASE WHEN f.nps BETWEEN 7 AND 8 THEN 1 ELSE 0 END) AS BIGINT), \
            CAST(SUM(CASE WHEN f.nps <= 6 THEN 1 ELSE 0 END) AS BIGINT), \
            CAST(COALESCE(SUM(f.food), 0) AS BIGINT), CAST(COUNT(f.food) AS BIGINT), \
            CAST(COALESCE(SUM(f.service), 0) AS BIGINT), CAST(COUNT(f.service) AS BIGINT), \
            CAST(COALESCE(SUM(f.ambience), 0) AS BIGINT), CAST(COUNT(f.ambience) AS BIGINT) \
         FROM feedback f LEFT JOIN stores s ON s.id = f.store_id \
         WHERE f.brand_id = $1 AND f.local_day >= $2 AND f.local_day <= $3{} \
         GROUP BY s.name, SUBSTR(f.local_day, 1, 7) \
         ORDER BY month DESC, s.name",
        scope_sql(within)
    ))
    .bind(brand.0)
    .bind(from.map_or_else(|| "0000-00-00".to_owned(), |d| d.to_string()))
    .bind(to.map_or_else(|| "9999-99-99".to_owned(), |d| d.to_string()))
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ReportRow {
            store: r.0,
            month: r.1,
            nps: Nps {
                promoters: r.2,
                passives: r.3,
                detractors: r.4,
            },
            food: average_x10(r.5, r.6),
            service: average_x10(r.7, r.8),
            ambience: average_x10(r.9, r.10),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn answers_fall_into_the_three_segments() {
        assert_eq!(Segment::of(0), Segment::Detractor);
        assert_eq!(Segment::of(6), Segment::Detractor);
        assert_eq!(Segment::of(7), Segment::Passive);
        assert_eq!(Segment::of(8), Segment::Passive);
        assert_eq!(Segment::of(9), Segment::Promoter);
        assert_eq!(Segment::of(10), Segment::Promoter);
    }

    #[test]
    fn nps_is_promoters_minus_detractors_in_percent() {
        let mut n = Nps::default();
        assert_eq!(n.score(), None);
        for a in [10, 9, 9, 8, 7, 3, 0, 10, 6, 9] {
            n.add(a);
        }
        // 5 promoters, 2 passives, 3 detractors of 10: 50 % − 30 % = 20.
        assert_eq!((n.promoters, n.passives, n.detractors), (5, 2, 3));
        assert_eq!(n.score(), Some(20));
        // 1 promoter, 2 detractors of 3: −33.3 → −33; 2 of 3 promoters: 66.7 → 67.
        assert_eq!(
            Nps {
                promoters: 1,
                passives: 0,
                detractors: 2
            }
            .score(),
            Some(-33)
        );
        assert_eq!(
            Nps {
                promoters: 2,
                passives: 1,
                detractors: 0
            }
            .score(),
            Some(67)
        );
        assert_eq!(
            Nps {
                promoters: 1,
                passives: 0,
                detractors: 1
            }
            .score(),
            Some(0)
        );
        assert_eq!(
            Nps {
                promoters: 0,
                passives: 0,
                detractors: 8
            }
            .score(),
            Some(-100)
        );
    }

    #[test]
    fn comments_lose_their_tags_and_keep_their_words() {
        assert_eq!(
            clean_text("comment", "<script>alert(1)</script>好吃<b>!</b>", 1000).unwrap(),
            "alert(1)好吃!"
        );
        assert_eq!(
            clean_text("comment", "价格<a bit high", 1000).unwrap(),
            "价格＜a bit high"
        );
        assert_eq!(
            clean_text("comment", "  人均 < 100 元  ", 1000).unwrap(),
            "人均 < 100 元"
        );
        assert_eq!(
            clean_text("comment", "鱼\u{0}很\n新鲜", 1000).unwrap(),
            "鱼很\n新鲜"
        );
        assert!(clean_text("comment", &"好".repeat(1001), 1000).is_err());
        assert!(clean_text("comment", &"好".repeat(1000), 1000).is_ok());
        // Megabytes of unclosed tags are refused at once, not scanned.
        let hostile = "<a".repeat(1_000_000);
        let started = std::time::Instant::now();
        assert!(clean_text("comment", &hostile, 1000).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(
            clean_text("comment", &"<a".repeat(500), 1000)
                .unwrap()
                .chars()
                .count(),
            1000,
            "each stray opener kept as text"
        );
    }

    #[test]
    fn only_a_members_feedback_with_a_comment_earns_the_reward() {
        let rule = RewardRule {
            points: 10,
            coupon: None,
        };
        assert!(rule.applies(Some(MemberId(1)), "菜很好"));
        assert!(!rule.applies(Some(MemberId(1)), "   "));
        assert!(!rule.applies(None, "菜很好"));
        assert!(!RewardRule {
            points: 0,
            coupon: None
        }
        .applies(Some(MemberId(1)), "菜很好"));
    }

    proptest! {
        #[test]
        fn the_score_stays_within_bounds_and_matches_the_exact_share(p in 0..500i64, q in 0..500i64, d in 0..500i64) {
            let n = Nps { promoters: p, passives: q, detractors: d };
            match n.score() {
                None => prop_assert_eq!(p + q + d, 0),
                Some(s) => {
                    prop_assert!((-100..=100).contains(&s));
                    let exact = 100.0 * (p - d) as f64 / (p + q + d) as f64;
                    prop_assert!((s as f64 - exact).abs() <= 0.5 + 1e-9);
                }
            }
        }

        #[test]
        fn cleaning_never_panics_and_never_leaves_a_tag(s in ".{0,300}") {
            if let Ok(c) = clean_text("comment", &s, 1000) {
                let opens = c.as_bytes().windows(2).any(|w| {
                    w[0] == b'<' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'/' | b'!' | b'?'))
                });
                prop_assert!(!opens, "{c:?}");
            }
        }
    }
}
