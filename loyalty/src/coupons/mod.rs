//! Coupons (优惠券): a brand's templates, the coupons issued from them to
//! members, and redemption at the till, exactly once.
//!
//! Every limit is one conditional statement backed by the schema: stock by
//! `stock_issued < stock_total` in the UPDATE that takes it (and a CHECK),
//! the per-member limit by the member's row lock and a unique
//! `(template, member, seq)`, a redemption by `status = 'available'` in the
//! UPDATE that marks it (and a unique index on active redemptions).

pub mod grants;
pub mod setup;

mod code;
mod rule;

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

pub use code::CouponCode;
pub use rule::{clock_time, Kind, Rule, Window};

use crate::brands::stores::StoreId;
use crate::brands::{Brand, BrandId};
use crate::error::{store_not_found, Invalid};
use crate::members::MemberId;
use crate::money::{ExternalId, Fen};
use crate::points;
use crate::{Clock, Db, Error, Result};

pub const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TemplateId(pub i64);

/// Where an issued coupon came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Claim,
    Exchange,
    Welcome,
    Birthday,
    TierUp,
    Referral,
    Feedback,
    Staff,
    Campaign,
    Api,
}

impl Source {
    const ALL: [Source; 10] = [
        Source::Claim,
        Source::Exchange,
        Source::Welcome,
        Source::Birthday,
        Source::TierUp,
        Source::Referral,
        Source::Feedback,
        Source::Staff,
        Source::Campaign,
        Source::Api,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Claim => "claim",
            Source::Exchange => "exchange",
            Source::Welcome => "welcome",
            Source::Birthday => "birthday",
            Source::TierUp => "tier_up",
            Source::Referral => "referral",
            Source::Feedback => "feedback",
            Source::Staff => "staff",
            Source::Campaign => "campaign",
            Source::Api => "api",
        }
    }

    fn parse(s: &str) -> Source {
        Source::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .unwrap_or(Source::Staff)
    }
}

/// Why a coupon cannot be used on this bill, here and now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// `date` is `at_ms` in the brand's calendar, for the sentence.
    AlreadyRedeemed {
        at_ms: i64,
        date: String,
        store: String,
    },
    Expired {
        at_ms: i64,
        date: String,
    },
    NotStarted {
        at_ms: i64,
        date: String,
    },
    BelowThreshold {
        need_fen: i64,
        bill_fen: i64,
    },
    WrongStore,
    WrongDay {
        weekdays: Vec<i8>,
    },
    TooEarly {
        from_minute: i64,
    },
    TooLate {
        until_minute: i64,
    },
    TierTooLow {
        needed_rank: i64,
    },
}

impl Refusal {
    /// The stable code of `API.md`.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::AlreadyRedeemed { .. } => "coupon_already_redeemed",
            Refusal::Expired { .. } => "coupon_expired",
            Refusal::NotStarted { .. } => "coupon_not_started",
            _ => "coupon_not_applicable",
        }
    }

    /// Which condition failed, for `coupon_not_applicable`.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::AlreadyRedeemed { .. } => "redeemed",
            Refusal::Expired { .. } => "expired",
            Refusal::NotStarted { .. } => "not_started",
            Refusal::BelowThreshold { .. } => "threshold",
            Refusal::WrongStore => "store",
            Refusal::WrongDay { .. } | Refusal::TooEarly { .. } | Refusal::TooLate { .. } => {
                "time_window"
            }
            Refusal::TierTooLow { .. } => "tier",
        }
    }
}

impl Refusal {
    /// What a sentence about the refusal needs: which condition failed
    /// (`reason`) and its figures, dates in the brand's calendar.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut params = vec![("reason", self.reason().to_owned())];
        match self {
            Refusal::AlreadyRedeemed { date, store, .. } => {
                params.push(("date", date.clone()));
                if !store.is_empty() {
                    params.push(("store", store.clone()));
                }
            }
            Refusal::Expired { date, .. } | Refusal::NotStarted { date, .. } => {
                params.push(("date", date.clone()))
            }
            Refusal::BelowThreshold { need_fen, bill_fen } => {
                params.push(("need_fen", need_fen.to_string()));
                params.push(("bill_fen", bill_fen.to_string()));
            }
            Refusal::WrongDay { weekdays } => {
                let mut days = weekdays.clone();
                days.sort_unstable();
                days.dedup();
                let days: Vec<String> = days.iter().map(i8::to_string).collect();
                params.push(("weekdays", days.join(",")));
            }
            Refusal::TooEarly { from_minute } => params.push(("from", clock_time(*from_minute))),
            Refusal::TooLate { until_minute } => params.push(("until", clock_time(*until_minute))),
            Refusal::TierTooLow { needed_rank } => params.push(("rank", needed_rank.to_string())),
            Refusal::WrongStore => {}
        }
        params
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // For logs: the sentence is the edge's, in the reader's language.
        write!(f, "{} ({})", self.code(), self.reason())
    }
}

/// A template: the rule and everything about who gets it and where it works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub id: TemplateId,
    pub brand_id: BrandId,
    pub rule: Rule,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub valid_days: Option<i64>,
    /// None: every store of the brand.
    pub stores: Option<Vec<StoreId>>,
    pub min_tier_rank: i64,
    pub stock_total: Option<i64>,
    pub stock_issued: i64,
    pub per_member_limit: Option<i64>,
    pub stacks_with_tier: bool,
    pub claimable: bool,
    pub points_price: Option<i64>,
    pub welcome: bool,
    pub active: bool,
}

impl Template {
    pub fn stock_left(&self) -> Option<i64> {
        self.stock_total.map(|t| (t - self.stock_issued).max(0))
    }

    fn valid_at_store(&self, store: StoreId) -> bool {
        self.stores.as_ref().is_none_or(|s| s.contains(&store))
    }

    /// The validity of a coupon issued now: fixed dates, or N days from now.
    fn validity(&self, now: i64) -> (i64, i64) {
        let from = self.starts_at.unwrap_or(now);
        let until = match (self.ends_at, self.valid_days) {
            (Some(end), _) => end,
            (None, Some(days)) => now.max(from) + days * DAY_MS,
            (None, None) => now + 30 * DAY_MS,
        };
        (from, until)
    }
}

/// A template as the console (or a test) creates it.
#[derive(Debug, Clone)]
pub struct NewTemplate {
    pub rule: Rule,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub valid_days: Option<i64>,
    pub stores: Option<Vec<StoreId>>,
    pub min_tier_rank: i64,
    pub stock_total: Option<i64>,
    pub per_member_limit: Option<i64>,
    pub stacks_with_tier: bool,
    pub claimable: bool,
    pub points_price: Option<i64>,
    pub welcome: bool,
}

impl NewTemplate {
    /// Valid 30 days from issue, at every store, for every tier, unlimited,
    /// not stacking with the tier discount, offered nowhere yet.
    pub fn new(rule: Rule) -> NewTemplate {
        NewTemplate {
            rule,
            starts_at: None,
            ends_at: None,
            valid_days: Some(30),
            stores: None,
            min_tier_rank: 0,
            stock_total: None,
            per_member_limit: None,
            stacks_with_tier: false,
            claimable: false,
            points_price: None,
            welcome: false,
        }
    }
}

const TEMPLATE_COLUMNS: &str =
    "id, brand_id, kind, threshold_fen, amount_off_fen, percent_off, max_off_fen, \
     gift_item, starts_at, ends_at, valid_days, weekdays, from_minute, until_minute, all_stores, \
     min_tier_rank, stock_total, stock_issued, per_member_limit, stacks_with_tier, claimable, \
     points_price, welcome, active";

#[derive(sqlx::FromRow)]
struct TemplateRow {
    id: i64,
    brand_id: i64,
    kind: String,
    threshold_fen: i64,
    amount_off_fen: Option<i64>,
    percent_off: Option<i64>,
    max_off_fen: Option<i64>,
    gift_item: Option<String>,
    starts_at: Option<i64>,
    ends_at: Option<i64>,
    valid_days: Option<i64>,
    weekdays: String,
    from_minute: Option<i64>,
    until_minute: Option<i64>,
    all_stores: i64,
    min_tier_rank: i64,
    stock_total: Option<i64>,
    stock_issued: i64,
    per_member_limit: Option<i64>,
    stacks_with_tier: i64,
    claimable: i64,
    points_price: Option<i64>,
    welcome: i64,
    active: i64,
}

impl TemplateRow {
    fn into_template(self, stores: Option<Vec<StoreId>>) -> Template {
        Template {
            id: TemplateId(self.id),
            brand_id: BrandId(self.brand_id),
            rule: Rule {
                kind: Kind::parse(&self.kind).unwrap_or(Kind::Gift),
                threshold_fen: self.threshold_fen,
                amount_off_fen: self.amount_off_fen,
                percent_off: self.percent_off,
                max_off_fen: self.max_off_fen,
                gift_item: self.gift_item,
                weekdays: self
                    .weekdays
                    .split(',')
                    .filter_map(|d| d.trim().parse().ok())
                    .collect(),
                minutes: self.from_minute.zip(self.until_minute),
            },
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            valid_days: self.valid_days,
            stores,
            min_tier_rank: self.min_tier_rank,
            stock_total: self.stock_total,
            stock_issued: self.stock_issued,
            per_member_limit: self.per_member_limit,
            stacks_with_tier: self.stacks_with_tier != 0,
            claimable: self.claimable != 0,
            points_price: self.points_price,
            welcome: self.welcome != 0,
            active: self.active != 0,
        }
    }
}

/// Adds a template to the brand.
pub async fn create_template(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    t: &NewTemplate,
) -> Result<TemplateId> {
    t.rule.check()?;
    if t.valid_days.is_some() == t.ends_at.is_some() {
        return Err(Error::invalid("validity", Invalid::Format));
    }
    if let (Some(s), Some(e)) = (t.starts_at, t.ends_at) {
        if s >= e {
            return Err(Error::invalid("validity", Invalid::Format));
        }
    }
    let positive = |v: Option<i64>, field: &'static str| match v {
        Some(n) if n < 1 => Err(Error::invalid(field, Invalid::Format)),
        _ => Ok(()),
    };
    positive(t.valid_days, "valid_days")?;
    if t.valid_days.is_some_and(|d| d > 3660) {
        return Err(Error::invalid("valid_days", Invalid::Format));
    }
    if !(0..=20).contains(&t.min_tier_rank) {
        return Err(Error::invalid("min_tier_rank", Invalid::Format));
    }
    if t.stores.as_ref().is_some_and(Vec::is_empty) {
        return Err(Error::invalid("stores", Invalid::Empty));
    }
    positive(t.per_member_limit, "per_member_limit")?;
    positive(t.points_price, "points_price")?;
    if t.stock_total.is_some_and(|s| s < 0) {
        return Err(Error::invalid("stock_total", Invalid::Format));
    }
    let r = &t.rule;
    let mut days = r.weekdays.clone();
    days.sort_unstable();
    days.dedup();
    let weekdays = days
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO coupon_templates (brand_id, kind, threshold_fen, amount_off_fen, percent_off, \
            max_off_fen, gift_item, starts_at, ends_at, valid_days, weekdays, from_minute, until_minute, \
            all_stores, min_tier_rank, stock_total, per_member_limit, stacks_with_tier, claimable, \
            points_price, welcome, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) \
         RETURNING id",
    )
    .bind(brand.0)
    .bind(r.kind.as_str())
    .bind(r.threshold_fen)
    .bind(r.amount_off_fen)
    .bind(r.percent_off)
    .bind(r.max_off_fen)
    .bind(r.gift_item.as_deref().map(str::trim))
    .bind(t.starts_at)
    .bind(t.ends_at)
    .bind(t.valid_days)
    .bind(weekdays)
    .bind(r.minutes.map(|m| m.0))
    .bind(r.minutes.map(|m| m.1))
    .bind(i64::from(t.stores.is_none()))
    .bind(t.min_tier_rank)
    .bind(t.stock_total)
    .bind(t.per_member_limit)
    .bind(i64::from(t.stacks_with_tier))
    .bind(i64::from(t.claimable))
    .bind(t.points_price)
    .bind(i64::from(t.welcome))
    .bind(clock.now_ms())
    .fetch_one(&mut *conn)
    .await?;
    for store in t.stores.iter().flatten() {
        sqlx::query(
            "INSERT INTO coupon_template_stores (brand_id, template_id, store_id) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(brand.0)
        .bind(id)
        .bind(store.0)
        .execute(&mut *conn)
        .await
        .map_err(store_not_found)?;
    }
    Ok(TemplateId(id))
}

async fn template_stores(
    conn: &mut AnyConnection,
    row: &TemplateRow,
) -> Result<Option<Vec<StoreId>>> {
    if row.all_stores != 0 {
        return Ok(None);
    }
    let ids: Vec<(i64,)> = sqlx::query_as(
        "SELECT store_id FROM coupon_template_stores WHERE template_id = $1 ORDER BY store_id",
    )
    .bind(row.id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(ids.into_iter().map(|r| StoreId(r.0)).collect()))
}

async fn load_template(
    conn: &mut AnyConnection,
    brand: BrandId,
    id: TemplateId,
) -> Result<Template> {
    let row: Option<TemplateRow> = sqlx::query_as(&format!(
        "SELECT {TEMPLATE_COLUMNS} FROM coupon_templates WHERE brand_id = $1 AND id = $2"
    ))
    .bind(brand.0)
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?;
    let row = row.ok_or(Error::CouponOfferNotFound)?;
    let stores = template_stores(conn, &row).await?;
    Ok(row.into_template(stores))
}

/// The brand's active templates, newest first.
pub async fn templates(db: &Db, brand: BrandId) -> Result<Vec<Template>> {
    list_templates(db, brand, true).await
}

/// Every template of the brand, paused ones too (the console's list).
pub async fn all_templates(db: &Db, brand: BrandId) -> Result<Vec<Template>> {
    list_templates(db, brand, false).await
}

async fn list_templates(db: &Db, brand: BrandId, active_only: bool) -> Result<Vec<Template>> {
    let mut conn = db.pool().acquire().await?;
    let rows: Vec<TemplateRow> = sqlx::query_as(&format!(
        "SELECT {TEMPLATE_COLUMNS} FROM coupon_templates WHERE brand_id = $1{} ORDER BY id DESC",
        if active_only { " AND active = 1" } else { "" }
    ))
    .bind(brand.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let stores = template_stores(&mut conn, &row).await?;
        out.push(row.into_template(stores));
    }
    Ok(out)
}

/// One template of the brand, paused or not.
pub async fn template(
    conn: &mut AnyConnection,
    brand: BrandId,
    id: TemplateId,
) -> Result<Template> {
    load_template(conn, brand, id).await
}

/// Pauses a template (no new coupons from it; coupons already issued stay
/// usable) or resumes it.
pub async fn set_template_active(
    conn: &mut AnyConnection,
    brand: BrandId,
    id: TemplateId,
    active: bool,
) -> Result<()> {
    let done =
        sqlx::query("UPDATE coupon_templates SET active = $3 WHERE brand_id = $1 AND id = $2")
            .bind(brand.0)
            .bind(id.0)
            .bind(i64::from(active))
            .execute(&mut *conn)
            .await?
            .rows_affected();
    if done == 1 {
        Ok(())
    } else {
        Err(Error::CouponOfferNotFound)
    }
}

/// A coupon in a member's hands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coupon {
    pub id: i64,
    pub code: CouponCode,
    pub template_id: TemplateId,
    pub member_id: MemberId,
    pub source: Source,
    pub points_paid: i64,
    pub valid_from: i64,
    pub valid_until: i64,
    pub redeemed: bool,
    pub issued_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Available,
    Used,
    Expired,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Available, Status::Used, Status::Expired];

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Available => "available",
            Status::Used => "used",
            Status::Expired => "expired",
        }
    }
}

impl Coupon {
    /// Available and already started: what a cashier can take now.
    pub fn usable(&self, now: i64) -> bool {
        self.status(now) == Status::Available && now >= self.valid_from
    }

    pub fn status(&self, now: i64) -> Status {
        if self.redeemed {
            Status::Used
        } else if now >= self.valid_until {
            Status::Expired
        } else {
            Status::Available
        }
    }
}

/// A coupon's columns, its id named apart from its template's (a statement
/// may read both, [`find_by_code`]).
const COUPON_COLUMNS: &str = "c.id AS coupon_id, c.code, c.template_id, c.member_id, c.source, \
     c.points_paid, c.valid_from, c.valid_until, c.status, c.issued_at";

#[derive(sqlx::FromRow)]
struct CouponRow {
    #[sqlx(rename = "coupon_id")]
    id: i64,
    code: String,
    template_id: i64,
    member_id: i64,
    source: String,
    points_paid: i64,
    valid_from: i64,
    valid_until: i64,
    status: String,
    issued_at: i64,
}

impl From<CouponRow> for Coupon {
    fn from(r: CouponRow) -> Self {
        Coupon {
            id: r.id,
            code: CouponCode::from_db(r.code),
            template_id: TemplateId(r.template_id),
            member_id: MemberId(r.member_id),
            source: Source::parse(&r.source),
            points_paid: r.points_paid,
            valid_from: r.valid_from,
            valid_until: r.valid_until,
            redeemed: r.status == "redeemed",
            issued_at: r.issued_at,
        }
    }
}

/// What issuing gave: the coupon, the member's balance after any exchange,
/// and whether this was a repeat of an earlier request (nothing new issued).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub coupon: Coupon,
    pub points_balance: i64,
    pub repeated: bool,
}

/// Issues one coupon of `template` to `member`: the claim centre (free), an
/// exchange (its points price, as a ledger row, in the same transaction), a
/// welcome gift, a staff grant or a campaign. `request_key` makes a retry or
/// a double tap find the coupon the first one issued.
#[allow(clippy::too_many_arguments)]
/// A member takes a coupon offered on the claim page: free ones are claimed,
/// priced ones bought with points. `nonce` is the form's, so the same form
/// sent twice gives one coupon.
pub async fn take(
    db: &Db,
    clock: &dyn Clock,
    member: &crate::access::Member,
    template: TemplateId,
    nonce: &str,
) -> Result<Issued> {
    let brand = member.brand();
    let nonce: String = nonce
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(32)
        .collect();
    let key = format!("claim:{nonce}:{}", template.0);
    let priced = templates(db, brand.id)
        .await?
        .into_iter()
        .any(|t| t.id == template && t.points_price.is_some());
    let source = if priced {
        Source::Exchange
    } else {
        Source::Claim
    };
    let key = (!nonce.is_empty()).then_some(key.as_str());
    db.in_transaction(async |tx| issue(tx, clock, brand, member.id(), template, source, key).await)
        .await
}

pub async fn issue(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: &Brand,
    member: MemberId,
    template: TemplateId,
    source: Source,
    request_key: Option<&str>,
) -> Result<Issued> {
    if let Some(k) = request_key {
        if k.is_empty() || k.len() > 100 {
            return Err(Error::invalid("request_key", Invalid::Format));
        }
    }
    // The member's row lock orders everything this member does: two taps,
    // a claim and a purchase, all one after another.
    points::lock_member(conn, brand.id, member).await?;
    let (balance, tier_rank) = points::member_state(conn, brand.id, member).await?;
    if let Some(key) = request_key {
        let earlier: Option<CouponRow> = sqlx::query_as(&format!(
            "SELECT {COUPON_COLUMNS} FROM coupons c WHERE c.brand_id = $1 AND c.member_id = $2 AND c.request_key = $3"
        ))
        .bind(brand.id.0)
        .bind(member.0)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(row) = earlier {
            return Ok(Issued {
                coupon: row.into(),
                points_balance: balance,
                repeated: true,
            });
        }
    }
    let t = load_template(conn, brand.id, template).await?;
    let now = clock.now_ms();
    let offered = t.active
        && t.ends_at.is_none_or(|end| now < end)
        && match source {
            Source::Claim => t.claimable && t.points_price.is_none(),
            Source::Exchange => t.points_price.is_some(),
            Source::Welcome => t.welcome,
            _ => true,
        };
    if !offered {
        return Err(Error::CouponNotOffered);
    }
    if tier_rank < t.min_tier_rank {
        return Err(Error::CouponRefused(Refusal::TierTooLow {
            needed_rank: t.min_tier_rank,
        }));
    }
    let price = if source == Source::Exchange {
        t.points_price.unwrap_or(0)
    } else {
        0
    };
    if balance < price {
        return Err(Error::InsufficientPoints);
    }
    let (held,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM coupons WHERE template_id = $1 AND member_id = $2",
    )
    .bind(t.id.0)
    .bind(member.0)
    .fetch_one(&mut *conn)
    .await?;
    if t.per_member_limit.is_some_and(|limit| held >= limit) {
        return Err(Error::CouponLimitReached);
    }
    let taken = sqlx::query(
        "UPDATE coupon_templates SET stock_issued = stock_issued + 1 \
         WHERE brand_id = $1 AND id = $2 AND (stock_total IS NULL OR stock_issued < stock_total)",
    )
    .bind(brand.id.0)
    .bind(t.id.0)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if taken != 1 {
        return Err(Error::CouponOutOfStock);
    }
    let (ledger, balance) = if price > 0 {
        let (ledger, balance) =
            points::spend_outside_bill(conn, clock, brand.id, member, price, "coupon exchange")
                .await?;
        (Some(ledger), balance)
    } else {
        (None, balance)
    };
    let (valid_from, valid_until) = t.validity(now);
    // A fresh code collides with one given out about never; draw again if so.
    for _ in 0..8 {
        let row: Option<CouponRow> = sqlx::query_as(&format!(
            "INSERT INTO coupons (brand_id, template_id, member_id, code, source, seq, request_key, \
                points_paid, ledger_id, valid_from, valid_until, issued_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (code) DO NOTHING RETURNING {}",
            COUPON_COLUMNS.replace("c.", "")
        ))
        .bind(brand.id.0)
        .bind(t.id.0)
        .bind(member.0)
        .bind(CouponCode::generate().as_str())
        .bind(source.as_str())
        .bind(held + 1)
        .bind(request_key)
        .bind(price)
        .bind(ledger)
        .bind(valid_from)
        .bind(valid_until)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(row) = row {
            return Ok(Issued {
                coupon: row.into(),
                points_balance: balance,
                repeated: false,
            });
        }
    }
    Err(Error::CouponCodeExhausted)
}

/// The brand's welcome coupons for a member who just joined. One that is out
/// of stock or no longer offered is skipped: joining never fails for a gift.
pub async fn welcome(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: &Brand,
    member: MemberId,
) -> Result<Vec<Coupon>> {
    let ids: Vec<(i64,)> = sqlx::query_as(
        "SELECT id FROM coupon_templates WHERE brand_id = $1 AND welcome = 1 AND active = 1 \
           AND (stock_total IS NULL OR stock_issued < stock_total) \
           AND (ends_at IS NULL OR ends_at > $2) AND min_tier_rank = 0 ORDER BY id",
    )
    .bind(brand.id.0)
    .bind(clock.now_ms())
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for (id,) in ids {
        match issue(
            conn,
            clock,
            brand,
            member,
            TemplateId(id),
            Source::Welcome,
            None,
        )
        .await
        {
            Ok(issued) => out.push(issued.coupon),
            // These refusals come before any statement that could fail (a
            // failed one, on PostgreSQL, would spoil the transaction), and
            // before the stock is taken: the transaction is good for the rest.
            Err(Error::CouponOutOfStock | Error::CouponLimitReached | Error::CouponNotOffered) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// A coupon with what a wallet, a cashier or the API shows beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub coupon: Coupon,
    pub template: Template,
    pub status: Status,
    /// When used: when and at which store.
    pub used: Option<(i64, String)>,
}

/// A coupon by its code. An erased member's coupons went with the account:
/// their codes are found no more.
async fn find_by_code(
    conn: &mut AnyConnection,
    brand: BrandId,
    code: &CouponCode,
) -> Result<(Coupon, Template)> {
    // The coupon and its template in one statement: every redemption and
    // every check makes it.
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {COUPON_COLUMNS}, {} FROM coupons c \
             JOIN coupon_templates t ON t.brand_id = c.brand_id AND t.id = c.template_id \
             WHERE c.brand_id = $1 AND c.code = $2 \
             AND NOT EXISTS (SELECT 1 FROM members m WHERE m.id = c.member_id AND m.status = 'erased')",
            crate::infra::db::qualified("t", TEMPLATE_COLUMNS)
        )
    });
    let row: Option<CouponAndTemplate> = sqlx::query_as(&SQL)
        .bind(brand.0)
        .bind(code.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let CouponAndTemplate { coupon, template } = row.ok_or(Error::CouponNotFound)?;
    let stores = template_stores(conn, &template).await?;
    Ok((coupon.into(), template.into_template(stores)))
}

#[derive(sqlx::FromRow)]
struct CouponAndTemplate {
    #[sqlx(flatten)]
    coupon: CouponRow,
    #[sqlx(flatten)]
    template: TemplateRow,
}

async fn active_redemption(conn: &mut AnyConnection, coupon: i64) -> Result<Option<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT r.created_at, s.name FROM coupon_redemptions r JOIN stores s ON s.id = r.store_id \
         WHERE r.coupon_id = $1 AND r.status = 'active'",
    )
    .bind(coupon)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The refusal for a coupon already used: when and where, as far as known.
async fn already_redeemed(
    conn: &mut AnyConnection,
    brand: &Brand,
    coupon: i64,
    fallback_ms: i64,
) -> Error {
    let (at_ms, store) = match active_redemption(conn, coupon).await {
        Ok(Some(found)) => found,
        Ok(None) => (fallback_ms, String::new()),
        Err(e) => return e,
    };
    Error::CouponRefused(Refusal::AlreadyRedeemed {
        at_ms,
        date: crate::points::rules::local_date(&brand.time_zone, at_ms),
        store,
    })
}

/// Everything that decides whether a coupon applies, in the order a cashier
/// would want to hear it.
async fn check(
    conn: &mut AnyConnection,
    brand: &Brand,
    store: StoreId,
    coupon: &Coupon,
    template: &Template,
    bill_fen: i64,
    now: i64,
) -> Result<i64> {
    let refuse = |r: Refusal| Err(Error::CouponRefused(r));
    let date = |ms: i64| crate::points::rules::local_date(&brand.time_zone, ms);
    if coupon.redeemed {
        return Err(already_redeemed(conn, brand, coupon.id, coupon.issued_at).await);
    }
    if now >= coupon.valid_until {
        return refuse(Refusal::Expired {
            at_ms: coupon.valid_until,
            // The last day it could be used, as the wallet shows it.
            date: date(coupon.valid_until - 1),
        });
    }
    if now < coupon.valid_from {
        return refuse(Refusal::NotStarted {
            at_ms: coupon.valid_from,
            date: date(coupon.valid_from),
        });
    }
    if !template.valid_at_store(store) {
        return refuse(Refusal::WrongStore);
    }
    match template.rule.window_at(&brand.time_zone, now) {
        Window::Open => {}
        Window::WrongDay => {
            return refuse(Refusal::WrongDay {
                weekdays: template.rule.weekdays.clone(),
            })
        }
        Window::TooEarly { from_minute } => return refuse(Refusal::TooEarly { from_minute }),
        Window::TooLate { until_minute } => return refuse(Refusal::TooLate { until_minute }),
    }
    if template.min_tier_rank > 0 {
        let (_, rank) = points::member_state(conn, brand.id, coupon.member_id).await?;
        if rank < template.min_tier_rank {
            return refuse(Refusal::TierTooLow {
                needed_rank: template.min_tier_rank,
            });
        }
    }
    if !template.rule.meets_threshold(bill_fen) {
        return refuse(Refusal::BelowThreshold {
            need_fen: template.rule.threshold_fen,
            bill_fen,
        });
    }
    Ok(template.rule.discount_fen(bill_fen))
}

/// A coupon checked against a bill, with nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub coupon: Coupon,
    pub template: Template,
    pub discount_fen: i64,
}

/// `coupons/validate`: would this coupon apply to this bill here and now?
pub async fn validate(
    db: &Db,
    clock: &dyn Clock,
    brand: &Brand,
    store: StoreId,
    code: &CouponCode,
    bill: Fen,
) -> Result<Quote> {
    let mut conn = db.pool().acquire().await?;
    let (coupon, template) = find_by_code(&mut conn, brand.id, code).await?;
    let discount_fen = check(
        &mut conn,
        brand,
        store,
        &coupon,
        &template,
        bill.get(),
        clock.now_ms(),
    )
    .await?;
    Ok(Quote {
        coupon,
        template,
        discount_fen,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeemed {
    pub redemption_id: i64,
    pub discount_fen: i64,
    pub coupon: Coupon,
    pub template: Template,
}

/// Uses a coupon on a bill, exactly once: the coupon is marked by one
/// conditional statement, so of any number of concurrent redemptions one
/// wins and the others hear who did.
pub async fn redeem(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    at: &dyn crate::access::Counter,
    code: &CouponCode,
    order_id: &ExternalId,
    bill: Fen,
) -> Result<Redeemed> {
    let (brand, store) = (at.brand(), at.store());
    let now = clock.now_ms();
    let (coupon, template) = find_by_code(conn, brand.id, code).await?;
    let discount_fen = check(conn, brand, store, &coupon, &template, bill.get(), now).await?;
    let marked = sqlx::query(
        "UPDATE coupons SET status = 'redeemed' WHERE brand_id = $1 AND id = $2 AND status = 'available'",
    )
    .bind(brand.id.0)
    .bind(coupon.id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if marked != 1 {
        // Someone else got there between our read and our write.
        return Err(already_redeemed(conn, brand, coupon.id, now).await);
    }
    let (redemption_id,): (i64,) = sqlx::query_as(
        "INSERT INTO coupon_redemptions (brand_id, store_id, coupon_id, order_id, bill_fen, discount_fen, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(brand.id.0)
    .bind(store.0)
    .bind(coupon.id)
    .bind(order_id.as_str())
    .bind(bill.get())
    .bind(discount_fen)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(store_not_found)?;
    let coupon = Coupon {
        redeemed: true,
        ..coupon
    };
    Ok(Redeemed {
        redemption_id,
        discount_fen,
        coupon,
        template,
    })
}

/// Cancels a coupon redemption made at this store; the coupon is usable
/// again if it has not expired meanwhile.
pub async fn void_redemption(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    at: &dyn crate::access::Counter,
    redemption_id: i64,
) -> Result<(CouponCode, Status)> {
    let (brand, store) = (at.brand(), at.store());
    let now = clock.now_ms();
    let voided: Option<(i64,)> = sqlx::query_as(
        "UPDATE coupon_redemptions SET status = 'voided', voided_at = $1 \
         WHERE brand_id = $2 AND store_id = $3 AND id = $4 AND status = 'active' RETURNING coupon_id",
    )
    .bind(now)
    .bind(brand.id.0)
    .bind(store.0)
    .bind(redemption_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((coupon_id,)) = voided else {
        let exists: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM coupon_redemptions WHERE brand_id = $1 AND store_id = $2 AND id = $3",
        )
        .bind(brand.id.0)
        .bind(store.0)
        .bind(redemption_id)
        .fetch_optional(&mut *conn)
        .await?;
        return Err(if exists.is_some() {
            Error::RedemptionAlreadyVoided
        } else {
            Error::RedemptionNotFound
        });
    };
    let row: (String, i64) = sqlx::query_as(
        "UPDATE coupons SET status = 'available' WHERE brand_id = $1 AND id = $2 RETURNING code, valid_until",
    )
    .bind(brand.id.0)
    .bind(coupon_id)
    .fetch_one(&mut *conn)
    .await?;
    let status = if now >= row.1 {
        Status::Expired
    } else {
        Status::Available
    };
    Ok((CouponCode::from_db(row.0), status))
}

/// The member's wallet page: one tab of their coupons (what runs out first
/// comes first among the available ones), how many each tab holds, and what
/// their conditions name (the brand's tiers and stores).
#[derive(Debug, Clone)]
pub struct WalletPage {
    pub tab: Status,
    /// Available, used, expired.
    pub counts: [usize; 3],
    pub shown: Vec<Held>,
    pub tiers: crate::points::tiers::TierTable,
    pub stores: Vec<crate::brands::stores::Store>,
}

/// The signed-in member's wallet, at `tab`.
pub async fn wallet_page(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Member,
    tab: Status,
) -> Result<WalletPage> {
    let brand = who.brand();
    // The wallet with the version of the brand's configuration, in one
    // statement (the till's, its balance unused), and the tiers the
    // conditions name from the process's cache under that version.
    let mut conn = db.acquire().await?;
    let (version, _, held) = till_view(&mut conn, clock, brand.id, who.id()).await?;
    let tiers = crate::points::config::at(&mut conn, brand, version)
        .await?
        .tiers
        .clone();
    drop(conn);
    let counts = Status::ALL.map(|s| held.iter().filter(|h| h.status == s).count());
    let mut shown: Vec<Held> = held.into_iter().filter(|h| h.status == tab).collect();
    if tab == Status::Available {
        shown.sort_by_key(|h| h.coupon.valid_until);
    }
    let stores = crate::brands::stores::list(db, brand.id).await?;
    Ok(WalletPage {
        tab,
        counts,
        shown,
        tiers,
        stores,
    })
}

/// A member's coupons, newest first, with their status now.
pub async fn wallet(
    db: &Db,
    clock: &dyn Clock,
    brand: BrandId,
    member: MemberId,
) -> Result<Vec<Held>> {
    let mut conn = db.pool().acquire().await?;
    let rows: Vec<WalletRow> = sqlx::query_as(&WALLET_SQL)
        .bind(brand.0)
        .bind(member.0)
        .fetch_all(&mut *conn)
        .await?;
    held(&mut conn, clock, brand, member, rows).await
}

/// The wallet's statement: the member's coupons (at most 500, newest
/// first) with their templates and where each was used. `$1` is the brand,
/// `$2` the member. [`till_view`] reads it beside the member's balance.
static WALLET_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT c.id AS coupon_id, c.code, c.source, c.points_paid, c.valid_from, \
                c.valid_until, c.status, c.issued_at, {}, \
                r.created_at AS used_at, s.name AS used_store \
         FROM coupons c JOIN coupon_templates t ON t.id = c.template_id \
         LEFT JOIN coupon_redemptions r ON r.coupon_id = c.id AND r.status = 'active' \
         LEFT JOIN stores s ON s.id = r.store_id \
         WHERE c.brand_id = $1 AND c.member_id = $2 ORDER BY c.id DESC LIMIT 500",
        crate::infra::db::qualified("t", TEMPLATE_COLUMNS)
    )
});

/// The wallet from its rows: the stores of templates limited to some come
/// in a second statement, only when there are such templates.
async fn held(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    member: MemberId,
    rows: Vec<WalletRow>,
) -> Result<Vec<Held>> {
    let limited: Vec<(i64, i64)> = if rows.iter().any(|r| r.template.all_stores == 0) {
        sqlx::query_as(
            "SELECT template_id, store_id FROM coupon_template_stores WHERE template_id IN \
             (SELECT template_id FROM coupons WHERE brand_id = $1 AND member_id = $2) \
             ORDER BY template_id, store_id",
        )
        .bind(brand.0)
        .bind(member.0)
        .fetch_all(&mut *conn)
        .await?
    } else {
        Vec::new()
    };
    let now = clock.now_ms();
    Ok(rows
        .into_iter()
        .map(|r| {
            let stores = (r.template.all_stores == 0).then(|| {
                limited
                    .iter()
                    .filter(|(t, _)| *t == r.template.id)
                    .map(|(_, s)| StoreId(*s))
                    .collect()
            });
            let coupon = Coupon::from(CouponRow {
                id: r.coupon_id,
                code: r.code,
                template_id: r.template.id,
                member_id: member.0,
                source: r.source,
                points_paid: r.points_paid,
                valid_from: r.valid_from,
                valid_until: r.valid_until,
                status: r.status,
                issued_at: r.issued_at,
            });
            Held {
                status: coupon.status(now),
                coupon,
                template: r.template.into_template(stores),
                used: r.used_at.zip(r.used_store),
            }
        })
        .collect())
}

/// What a till sees of a member it found (and the member's own wallet
/// page, without the balance): the version of the brand's configuration
/// (for the tiers, from the process's cache), the member's prepaid balance
/// and their wallet, in one statement on `conn` (and the limited stores'
/// only when some template has them). The wallet's rows hang off one row of
/// the brand, so a member without coupons still gets the balance.
pub(crate) async fn till_view(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    member: MemberId,
) -> Result<(i64, crate::stored_value::Balance, Vec<Held>)> {
    use sqlx::{FromRow, Row};
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT b.config_version AS config_version, \
                    COALESCE(sv.principal_fen, 0) AS principal_fen, \
                    COALESCE(sv.bonus_fen, 0) AS bonus_fen, w.* \
             FROM brands b \
             LEFT JOIN stored_value_accounts sv ON sv.brand_id = b.id AND sv.member_id = $2 \
             LEFT JOIN ({}) w ON 1 = 1 \
             WHERE b.id = $1 ORDER BY w.coupon_id DESC",
            *WALLET_SQL
        )
    });
    let rows = sqlx::query(&SQL)
        .bind(brand.0)
        .bind(member.0)
        .fetch_all(&mut *conn)
        .await?;
    let first = rows.first().ok_or(Error::BrandNotFound)?;
    let version: i64 = first.try_get("config_version")?;
    let balance = crate::stored_value::Balance {
        principal_fen: first.try_get("principal_fen")?,
        bonus_fen: first.try_get("bonus_fen")?,
    };
    let mut coupons = Vec::with_capacity(rows.len());
    for row in &rows {
        if row.try_get::<Option<i64>, _>("coupon_id")?.is_some() {
            coupons.push(WalletRow::from_row(row)?);
        }
    }
    Ok((
        version,
        balance,
        held(conn, clock, brand, member, coupons).await?,
    ))
}

/// A wallet's row: the coupon (named apart from its template's columns),
/// its template, and when and where it was used, if it was.
#[derive(sqlx::FromRow)]
struct WalletRow {
    coupon_id: i64,
    code: String,
    source: String,
    points_paid: i64,
    valid_from: i64,
    valid_until: i64,
    status: String,
    issued_at: i64,
    #[sqlx(flatten)]
    template: TemplateRow,
    used_at: Option<i64>,
    used_store: Option<String>,
}

/// One entry of the claim centre: a template the member may take for free
/// or for points, and whether they can right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub template: Template,
    /// How many of it the member already holds (any status).
    pub held: i64,
    /// Why the member cannot take it now, if they cannot.
    pub blocked: Option<OfferBlock>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OfferBlock {
    OutOfStock,
    LimitReached,
    TierTooLow,
    NotEnoughPoints,
}

/// The claim centre: what the member may claim or exchange points for.
pub async fn offers(
    db: &Db,
    clock: &dyn Clock,
    brand: BrandId,
    member: MemberId,
) -> Result<Vec<Offer>> {
    let now = clock.now_ms();
    let mut conn = db.pool().acquire().await?;
    let (balance, rank) = points::member_state(&mut conn, brand, member).await?;
    let held: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT template_id, CAST(COUNT(*) AS BIGINT) FROM coupons WHERE brand_id = $1 AND member_id = $2 GROUP BY template_id",
    )
    .bind(brand.0)
    .bind(member.0)
    .fetch_all(&mut *conn)
    .await?;
    drop(conn);
    let mut out = Vec::new();
    for t in templates(db, brand).await? {
        let claim = t.claimable && t.points_price.is_none();
        if !(claim || t.points_price.is_some()) || t.ends_at.is_some_and(|e| now >= e) {
            continue;
        }
        let n = held.iter().find(|(id, _)| *id == t.id.0).map_or(0, |h| h.1);
        let blocked = if t.stock_left() == Some(0) {
            Some(OfferBlock::OutOfStock)
        } else if t.per_member_limit.is_some_and(|l| n >= l) {
            Some(OfferBlock::LimitReached)
        } else if rank < t.min_tier_rank {
            Some(OfferBlock::TierTooLow)
        } else if t.points_price.is_some_and(|p| balance < p) {
            Some(OfferBlock::NotEnoughPoints)
        } else {
            None
        };
        out.push(Offer {
            template: t,
            held: n,
            blocked,
        });
    }
    Ok(out)
}

/// The names of a template's stores, for the coupon's detail.
pub async fn store_names(db: &Db, brand: BrandId, stores: &[StoreId]) -> Result<Vec<String>> {
    let all = crate::brands::stores::list(db, brand).await?;
    Ok(all
        .into_iter()
        .filter(|s| stores.contains(&s.id))
        .map(|s| s.name)
        .collect())
}
