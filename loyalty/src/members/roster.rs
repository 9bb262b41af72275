//! Members as the console sees them: search with filters and one member's
//! page, gathered in one call. Phones are shown masked. What staff do to a
//! member by hand lives with what it changes: `points::adjustments` and
//! `coupons::grants`.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::brands::BrandId;
use crate::coupons;
use crate::infra::forms::{self, FormKey};
use crate::members::phone::Phone;
use crate::members::MemberId;
use crate::{points, Clock, Db, Result};

const DAY_MS: i64 = 86_400_000;

/// What to look for; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// A member number, a phone (whole, or its last four digits) or a name.
    pub query: String,
    pub tier_rank: Option<i64>,
    /// Joined on or after / before these moments.
    pub joined_from: Option<i64>,
    pub joined_to: Option<i64>,
    /// Last visit within this many days.
    pub active_within_days: Option<i64>,
    /// No visit for at least this many days (or never).
    pub idle_for_days: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub id: MemberId,
    pub member_no: String,
    pub display_name: String,
    pub phone_masked: String,
    pub tier_rank: i64,
    pub points: i64,
    pub joined_at: i64,
    pub last_visit_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    member_no: String,
    display_name: String,
    phone: Option<String>,
    tier_rank: i64,
    points_balance: i64,
    created_at: i64,
    last_visit: Option<i64>,
}

/// One page (at most 200) of members matching `filter`, newest first; and
/// whether there are more after it.
pub async fn search(
    db: &Db,
    clock: &dyn Clock,
    brand: BrandId,
    filter: &Filter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Line>, bool)> {
    matching(db, clock, brand, filter, offset, limit.clamp(1, 200)).await
}

pub(crate) async fn matching(
    db: &Db,
    clock: &dyn Clock,
    brand: BrandId,
    filter: &Filter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Line>, bool)> {
    let now = clock.now_ms();
    let q = filter.query.trim();
    let digits: String = q.chars().filter(|c| c.is_ascii_digit()).collect();
    // Which column the query names: the number, a whole phone, a phone's
    // last four digits, or else a name.
    let (text_sql, text): (&str, String) = if q.is_empty() {
        (" AND $7 = ''", String::new())
    } else if digits.len() == 8 && digits.len() == q.len() {
        (" AND m.member_no = $7", digits)
    } else if let Ok(phone) = Phone::parse("86", q) {
        (" AND m.phone = $7", phone.as_str().to_owned())
    } else if digits.len() == 4 && digits.len() == q.len() {
        (" AND m.phone LIKE $7", format!("%{digits}"))
    } else {
        let escaped = q
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        (
            " AND m.display_name LIKE $7 ESCAPE '\\'",
            format!("%{escaped}%"),
        )
    };
    let sql = format!(
        "SELECT * FROM (SELECT m.id, m.member_no, m.display_name, m.phone, m.tier_rank, m.points_balance, \
         m.created_at, (SELECT MAX(p.occurred_at) FROM purchases p WHERE p.member_id = m.id) AS last_visit \
         FROM members m WHERE m.brand_id = $1 AND m.status = 'active'{text_sql} \
         AND ($2 < 0 OR m.tier_rank = $2) AND m.created_at >= $3 AND m.created_at < $4) x \
         WHERE ($5 < 0 OR x.last_visit >= $5) AND ($6 < 0 OR x.last_visit IS NULL OR x.last_visit < $6) \
         ORDER BY x.id DESC LIMIT $8 OFFSET $9"
    );
    let limit = limit.max(1);
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(brand.0)
        .bind(filter.tier_rank.unwrap_or(-1))
        .bind(filter.joined_from.unwrap_or(0))
        .bind(filter.joined_to.unwrap_or(i64::MAX))
        .bind(
            filter
                .active_within_days
                .map_or(-1, |d| now - d.max(0) * DAY_MS),
        )
        .bind(filter.idle_for_days.map_or(-1, |d| now - d.max(0) * DAY_MS))
        .bind(text)
        .bind(limit + 1)
        .bind(offset.max(0))
        .fetch_all(db.pool())
        .await?;
    let more = rows.len() as i64 > limit;
    Ok((
        rows.into_iter()
            .take(limit as usize)
            .map(|r| Line {
                id: MemberId(r.id),
                member_no: r.member_no,
                display_name: r.display_name,
                phone_masked: r
                    .phone
                    .as_deref()
                    .and_then(|p| Phone::stored(p.to_owned()).ok())
                    .map(|p| p.masked())
                    .unwrap_or_default(),
                tier_rank: r.tier_rank,
                points: r.points_balance,
                joined_at: r.created_at,
                last_visit_at: r.last_visit,
            })
            .collect(),
        more,
    ))
}

impl Filter {
    /// The filter for the audit log: what kind of query, never a phone or a
    /// name in clear.
    pub(crate) fn described(&self) -> serde_json::Value {
        let q = self.query.trim();
        let digits = q.chars().filter(|c| c.is_ascii_digit()).count();
        let query = if q.is_empty() {
            json!(null)
        } else if digits == 8 && digits == q.len() {
            json!({ "member_no": q })
        } else if let Ok(phone) = Phone::parse("86", q) {
            json!({ "phone": phone.masked() })
        } else if digits == 4 && digits == q.len() {
            json!({ "phone_ends": "****" })
        } else {
            json!({ "name": "…" })
        };
        json!({
            "query": query, "tier_rank": self.tier_rank, "joined_from": self.joined_from,
            "joined_to": self.joined_to, "active_within_days": self.active_within_days,
            "idle_for_days": self.idle_for_days,
        })
    }
}

/// The console's list of members: one page of a search, and what its
/// segment form needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    pub lines: Vec<Line>,
    /// Whether more members match after this page.
    pub more: bool,
    /// The brand's tiers, named in `language`, the brand's.
    pub table: points::tiers::TierTable,
    pub language: crate::brands::Language,
    /// The active coupons this viewer may give a segment.
    pub templates: Vec<coupons::Template>,
    /// What the segment form with the `done` key did, when it was this
    /// viewer's.
    pub done: Option<crate::marketing::campaigns::SegmentOutcome>,
    /// A fresh key for the segment form.
    pub key: FormKey,
}

impl Roster {
    /// The name of the tier ranked `rank`.
    pub fn tier_name(&self, rank: i64) -> &str {
        self.table.by_rank(rank).name(self.language)
    }

    /// (rank, name) of the brand's tiers, lowest first.
    pub fn tiers(&self) -> Vec<(i64, String)> {
        (self.table.tiers().iter())
            .map(|t| (t.rank, t.name(self.language).to_owned()))
            .collect()
    }
}

/// Members per page of the console's list.
pub const PAGE: i64 = 50;

/// Page `page` (from 0) of the members matching `filter`, as `who` sees
/// the console's list.
pub async fn list(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Manager,
    filter: &Filter,
    page: i64,
    done: Option<&str>,
) -> Result<Roster> {
    let brand = who.brand();
    let mut conn = db.acquire().await?;
    let table = points::tiers::load(&mut conn, brand.id).await?;
    drop(conn);
    let (lines, more) = search(db, clock, brand.id, filter, page * PAGE, PAGE).await?;
    let done = match done.map(FormKey::parse) {
        Some(Ok(key)) => forms::outcome(db, who.staff.id, &key).await?,
        _ => None,
    };
    Ok(Roster {
        lines,
        more,
        table,
        language: brand.default_language,
        templates: coupons::grants::givable(db, who).await?,
        done,
        key: FormKey::generate(),
    })
}

/// What the last hand form on a member's page did, to confirm (and
/// confirm again when the page is reloaded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Done {
    Adjusted(points::adjustments::Adjusted),
    Awaiting(points::adjustments::Awaiting),
    Granted(coupons::grants::Granted),
}

/// Everything a member's console page shows, from one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberFile {
    pub member: crate::members::Member,
    /// Their tier's name, in the brand's language.
    pub tier_name: String,
    /// The newest 30 entries of their points ledger.
    pub ledger: Vec<points::LedgerEntry>,
    pub coupons: Vec<coupons::Held>,
    /// Their newest 10 feedbacks, of the stores within the viewer's reach.
    pub feedback: Vec<crate::feedback::Feedback>,
    /// The active coupons this viewer may grant.
    pub templates: Vec<coupons::Template>,
    /// What the form with the `done` key did, when it was this viewer's.
    pub done: Option<Done>,
    /// Fresh keys for the adjustment and the grant forms.
    pub keys: [FormKey; 2],
    pub time_zone: String,
    pub now_ms: i64,
}

/// The console's page of the member numbered `no`, as `who` may see it.
pub async fn member_file(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Manager,
    no: &str,
    done: Option<&str>,
) -> Result<MemberFile> {
    let brand = who.brand();
    let member = crate::staff::till::member_by_no(db, brand, no).await?;
    let mut conn = db.acquire().await?;
    let tiers = crate::points::tiers::load(&mut conn, brand.id).await?;
    drop(conn);
    let tier_name = tiers
        .by_rank(member.tier_rank)
        .name(brand.default_language)
        .to_owned();
    let ledger = points::history(db, brand.id, member.id, None, 30).await?;
    let coupons = coupons::wallet(db, clock, brand.id, member.id).await?;
    let mut feedback = crate::feedback::of_member(db, brand.id, member.id, who.scope()).await?;
    feedback.truncate(10);
    let templates = coupons::grants::givable(db, who).await?;
    let done = match done.map(FormKey::parse) {
        Some(Ok(key)) => forms::outcome(db, who.staff.id, &key).await?,
        _ => None,
    };
    Ok(MemberFile {
        member,
        tier_name,
        ledger,
        coupons,
        feedback,
        templates,
        done,
        keys: [FormKey::generate(), FormKey::generate()],
        time_zone: brand.time_zone.clone(),
        now_ms: clock.now_ms(),
    })
}
