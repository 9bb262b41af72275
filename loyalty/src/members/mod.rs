//! Members (会员): who joined a brand with their phone, what they told us
//! about themselves, what they agreed to, and erasure on request (PIPL).

pub mod erasure;
pub mod import;
pub mod member_code;
pub mod otp;
pub mod phone;
pub mod roster;
pub mod sessions;

use rand::Rng;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::brands::{Brand, BrandId, Language};
use crate::error::Invalid;
use crate::infra::secret::ServerSecret;
use crate::members::otp::{LoginCode, OtpPolicy};
use crate::members::phone::Phone;
use crate::members::sessions::{SessionPolicy, SessionToken};
use crate::{Clock, Db, Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberId(pub i64);

/// Eight digits, random within a brand, so numbers reveal neither how many
/// members a brand has nor who joined after whom.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberNo(String);

impl MemberNo {
    pub fn parse(input: &str) -> Result<Self> {
        let s = input.trim();
        if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0') {
            Ok(MemberNo(s.to_owned()))
        } else {
            Err(Error::invalid("member_no", Invalid::Format))
        }
    }

    fn generate() -> Self {
        MemberNo(
            rand::rngs::OsRng
                .gen_range(10_000_000..100_000_000u32)
                .to_string(),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    #[default]
    Unspecified,
    Female,
    Male,
    Other,
}

impl Gender {
    pub const ALL: [Gender; 4] = [
        Gender::Unspecified,
        Gender::Female,
        Gender::Male,
        Gender::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Unspecified => "unspecified",
            Gender::Female => "female",
            Gender::Male => "male",
            Gender::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// Dietary preferences a kitchen can act on (seed 003: 餐饮偏好).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Diet {
    Vegetarian,
    Vegan,
    Halal,
    NoSpicy,
    NoPork,
    NoBeef,
    NoSeafood,
    LowSugar,
}

impl Diet {
    pub const ALL: [Diet; 8] = [
        Diet::Vegetarian,
        Diet::Vegan,
        Diet::Halal,
        Diet::NoSpicy,
        Diet::NoPork,
        Diet::NoBeef,
        Diet::NoSeafood,
        Diet::LowSugar,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Diet::Vegetarian => "vegetarian",
            Diet::Vegan => "vegan",
            Diet::Halal => "halal",
            Diet::NoSpicy => "no_spicy",
            Diet::NoPork => "no_pork",
            Diet::NoBeef => "no_beef",
            Diet::NoSeafood => "no_seafood",
            Diet::LowSugar => "low_sugar",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// Month and day, the year only if the member wants to tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Birthday {
    pub month: u8,
    pub day: u8,
    pub year: Option<u16>,
}

impl Birthday {
    pub fn new(month: u8, day: u8, year: Option<u16>) -> Result<Self> {
        let invalid = || Error::invalid("birthday", Invalid::Format);
        let leap =
            |y: u16| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            // 29 February is a birthday too, when no year says otherwise.
            2 => match year {
                Some(y) if !leap(y) => 28,
                _ => 29,
            },
            _ => return Err(invalid()),
        };
        if day == 0 || day > days {
            return Err(invalid());
        }
        if year.is_some_and(|y| !(1900..=2100).contains(&y)) {
            return Err(invalid());
        }
        Ok(Birthday { month, day, year })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: MemberId,
    pub brand_id: BrandId,
    pub member_no: MemberNo,
    pub phone: Phone,
    pub display_name: String,
    pub birthday: Option<Birthday>,
    pub gender: Gender,
    pub dietary: Vec<Diet>,
    pub allergies: String,
    pub language: Option<Language>,
    pub terms_version: String,
    pub terms_accepted_at: i64,
    pub marketing_consent_at: Option<i64>,
    /// When the member agreed that the restaurant keeps their allergies and
    /// dietary needs (sensitive personal information, PIPL art. 28-29).
    pub sensitive_consent_at: Option<i64>,
    pub created_at: i64,
    pub points_balance: i64,
    pub tier_rank: i64,
}

impl Member {
    pub fn marketing_consent(&self) -> bool {
        self.marketing_consent_at.is_some()
    }

    pub fn sensitive_consent(&self) -> bool {
        self.sensitive_consent_at.is_some()
    }
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: i64,
    brand_id: i64,
    member_no: String,
    phone: Option<String>,
    display_name: String,
    birthday_month: Option<i64>,
    birthday_day: Option<i64>,
    birth_year: Option<i64>,
    gender: String,
    dietary: String,
    allergies: String,
    language: Option<String>,
    terms_version: String,
    terms_accepted_at: i64,
    marketing_consent_at: Option<i64>,
    sensitive_consent_at: Option<i64>,
    created_at: i64,
    points_balance: i64,
    tier_rank: i64,
}

const MEMBER_COLUMNS: &str = "id, brand_id, member_no, phone, display_name, birthday_month, \
    birthday_day, birth_year, gender, dietary, allergies, language, terms_version, \
    terms_accepted_at, marketing_consent_at, sensitive_consent_at, created_at, points_balance, tier_rank";

impl TryFrom<MemberRow> for Member {
    type Error = Error;

    fn try_from(r: MemberRow) -> Result<Member> {
        let birthday = match (r.birthday_month, r.birthday_day) {
            (Some(m), Some(d)) => Some(Birthday {
                month: m as u8,
                day: d as u8,
                year: r.birth_year.map(|y| y as u16),
            }),
            _ => None,
        };
        Ok(Member {
            id: MemberId(r.id),
            brand_id: BrandId(r.brand_id),
            member_no: MemberNo(r.member_no),
            // Only erased members have no phone, and they are never loaded.
            phone: Phone::stored(r.phone.unwrap_or_default())?,
            display_name: r.display_name,
            birthday,
            gender: Gender::parse(&r.gender).unwrap_or_default(),
            dietary: r.dietary.split(',').filter_map(Diet::parse).collect(),
            allergies: r.allergies,
            language: r.language.as_deref().and_then(Language::from_tag),
            terms_version: r.terms_version,
            terms_accepted_at: r.terms_accepted_at,
            marketing_consent_at: r.marketing_consent_at,
            sensitive_consent_at: r.sensitive_consent_at,
            created_at: r.created_at,
            points_balance: r.points_balance,
            tier_rank: r.tier_rank,
        })
    }
}

pub async fn find(db: &Db, brand: BrandId, id: MemberId) -> Result<Member> {
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE brand_id = $1 AND id = $2 AND status = 'active'"
    );
    let row: Option<MemberRow> = sqlx::query_as(&sql)
        .bind(brand.0)
        .bind(id.0)
        .fetch_optional(db.pool())
        .await?;
    row.ok_or(Error::MemberNotFound)?.try_into()
}

pub async fn find_by_no(conn: &mut AnyConnection, brand: BrandId, no: &MemberNo) -> Result<Member> {
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE brand_id = $1 AND member_no = $2 AND status = 'active'"
    );
    let row: Option<MemberRow> = sqlx::query_as(&sql)
        .bind(brand.0)
        .bind(no.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.ok_or(Error::MemberNotFound)?.try_into()
}

pub async fn find_by_phone(
    conn: &mut AnyConnection,
    brand: BrandId,
    phone: &Phone,
) -> Result<Option<Member>> {
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE brand_id = $1 AND phone = $2 AND status = 'active'"
    );
    let row: Option<MemberRow> = sqlx::query_as(&sql)
        .bind(brand.0)
        .bind(phone.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(Member::try_from).transpose()
}

/// What a new member agreed to on the join form.
#[derive(Debug, Clone, Copy, Default)]
pub struct Consent {
    pub terms_accepted: bool,
    pub marketing: bool,
}

async fn record_consent(
    conn: &mut AnyConnection,
    brand: BrandId,
    member: MemberId,
    kind: &str,
    version: &str,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO member_consents (brand_id, member_id, kind, version, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(brand.0)
    .bind(member.0)
    .bind(kind)
    .bind(version)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Makes `phone` a member of `brand`, or returns the member it already is.
/// The boolean says whether the member is new.
///
/// The welcome (signup bonus, welcome coupons; join automations and a
/// referral look at `members.welcomed`) goes to a phone once per brand: a
/// phone that had it, deleted its account and joins again joins without it.
pub async fn join(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    secret: &ServerSecret,
    brand: &Brand,
    phone: &Phone,
    consent: Consent,
) -> Result<(Member, bool)> {
    let now = clock.now_ms();
    let phone_key = secret.phone_key(brand.id, phone.as_str());
    rekey_welcome(conn, secret, brand.id, phone, &phone_key).await?;
    if let Some(existing) = find_by_phone(conn, brand.id, phone).await? {
        // Members from before the welcome was remembered are remembered
        // now; every sign-in keeps the memory two more years.
        welcome_once(conn, brand.id, &phone_key, now).await?;
        return Ok((existing, false));
    }
    if !consent.terms_accepted {
        return Err(Error::TermsNotAccepted);
    }
    let welcomed = welcome_once(conn, brand.id, &phone_key, now).await?;
    let marketing_at = consent.marketing.then_some(now);
    let sql = format!(
        "INSERT INTO members (brand_id, member_no, phone, terms_version, terms_accepted_at, \
                              marketing_consent_at, created_at, welcomed) \
         VALUES ($1, $2, $3, $4, $5, $6, $5, $7) ON CONFLICT DO NOTHING RETURNING {MEMBER_COLUMNS}"
    );
    // A random number can collide with one already given out; draw again.
    for _ in 0..8 {
        let row: Option<MemberRow> = sqlx::query_as(&sql)
            .bind(brand.id.0)
            .bind(MemberNo::generate().as_str())
            .bind(phone.as_str())
            .bind(&brand.terms_version)
            .bind(now)
            .bind(marketing_at)
            .bind(i64::from(welcomed))
            .fetch_optional(&mut *conn)
            .await?;
        match row {
            Some(row) => {
                let member = Member::try_from(row)?;
                record_consent(
                    conn,
                    brand.id,
                    member.id,
                    "terms_accepted",
                    &brand.terms_version,
                    now,
                )
                .await?;
                if consent.marketing {
                    record_consent(conn, brand.id, member.id, "marketing_granted", "", now).await?;
                }
                let mut member = member;
                if !welcomed {
                    return Ok((member, true));
                }
                let bonus = crate::points::rules::load(conn, brand)
                    .await?
                    .signup_bonus_points;
                if bonus > 0 {
                    member.points_balance = crate::points::grant(
                        conn,
                        clock,
                        brand,
                        member.id,
                        bonus,
                        "signup bonus",
                        crate::points::Ref::kind("signup"),
                    )
                    .await?;
                }
                crate::coupons::welcome(conn, clock, brand, member.id).await?;
                return Ok((member, true));
            }
            // The phone joined in a concurrent request: that member it is.
            None => {
                if let Some(existing) = find_by_phone(conn, brand.id, phone).await? {
                    return Ok((existing, false));
                }
            }
        }
    }
    Err(Error::MemberNoExhausted)
}

/// A phone remembered under a previous server key is remembered under the
/// current one from its first sign-in after the rotation.
async fn rekey_welcome(
    conn: &mut AnyConnection,
    secret: &ServerSecret,
    brand: BrandId,
    phone: &Phone,
    phone_key: &str,
) -> Result<()> {
    for old in secret.previous_phone_keys(brand, phone.as_str()) {
        let moved = sqlx::query(
            "UPDATE welcomed_phones SET phone_key = $1 WHERE brand_id = $2 AND phone_key = $3 \
             AND NOT EXISTS (SELECT 1 FROM welcomed_phones w WHERE w.brand_id = $2 AND w.phone_key = $1)",
        )
        .bind(phone_key)
        .bind(brand.0)
        .bind(&old)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if moved > 0 {
            break;
        }
    }
    Ok(())
}

/// Remembers that the phone behind `phone_key` joined `brand` (or signed
/// in) now; true when it had never been seen, so its welcome is due.
async fn welcome_once(
    conn: &mut AnyConnection,
    brand: BrandId,
    phone_key: &str,
    now: i64,
) -> Result<bool> {
    // Most calls are sign-ins of a phone already remembered: one statement.
    let seen = sqlx::query(
        "UPDATE welcomed_phones SET seen_at = $1 WHERE brand_id = $2 AND phone_key = $3",
    )
    .bind(now)
    .bind(brand.0)
    .bind(phone_key)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if seen > 0 {
        return Ok(false);
    }
    // Two first joins at once: the insert that loses finds the row.
    let fresh: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO welcomed_phones (brand_id, phone_key, seen_at) VALUES ($1, $2, $3) \
         ON CONFLICT (brand_id, phone_key) DO NOTHING RETURNING brand_id",
    )
    .bind(brand.0)
    .bind(phone_key)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(fresh.is_some())
}

/// Remembers the phone behind `phone_key` as welcomed, in one statement
/// (a member brought in from an old program had their welcome there).
pub(crate) async fn remember_welcome(
    conn: &mut AnyConnection,
    brand: BrandId,
    phone_key: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO welcomed_phones (brand_id, phone_key, seen_at) VALUES ($1, $2, $3) \
         ON CONFLICT (brand_id, phone_key) DO UPDATE SET seen_at = excluded.seen_at",
    )
    .bind(brand.0)
    .bind(phone_key)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How long a phone's welcome is remembered after it last signed in.
pub const WELCOME_REMEMBERED_MS: i64 = 2 * 365 * 86_400_000;

/// Forgets the welcomes of phones not seen for [`WELCOME_REMEMBERED_MS`]
/// (run by the hourly purge).
pub async fn forget_old_welcomes(db: &Db, clock: &dyn Clock) -> Result<u64> {
    let done = sqlx::query("DELETE FROM welcomed_phones WHERE seen_at < $1")
        .bind(clock.now_ms() - WELCOME_REMEMBERED_MS)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

#[derive(Debug)]
pub struct SignedIn {
    pub member: Member,
    pub joined: bool,
    pub token: SessionToken,
}

/// Everything the join form's second step needs, in the order that keeps a
/// wrong try counted: the terms are checked before the code is spent, the
/// code is checked on its own, and only then member and session are written
/// together.
#[allow(clippy::too_many_arguments)]
pub async fn sign_in(
    db: &Db,
    clock: &dyn Clock,
    secret: &ServerSecret,
    otp_policy: &OtpPolicy,
    session_policy: &SessionPolicy,
    brand: &Brand,
    phone: &Phone,
    code: &LoginCode,
    consent: Consent,
) -> Result<SignedIn> {
    let known = {
        let mut conn = db.pool().acquire().await?;
        find_by_phone(&mut conn, brand.id, phone).await?.is_some()
    };
    if !known && !consent.terms_accepted {
        return Err(Error::TermsNotAccepted);
    }
    otp::verify(db, clock, secret, otp_policy, brand.id, phone, code).await?;
    let mut tx = db.begin().await?;
    let (member, joined) = join(&mut tx, clock, secret, brand, phone, consent).await?;
    let token = sessions::start(&mut tx, clock, session_policy, brand.id, member.id).await?;
    tx.commit().await?;
    Ok(SignedIn {
        member,
        joined,
        token,
    })
}

/// What a member may change about themselves on `/me`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub display_name: String,
    pub birthday: Option<Birthday>,
    pub gender: Gender,
    pub dietary: Vec<Diet>,
    pub allergies: String,
    pub marketing: bool,
    /// Agreement to keep `dietary` and `allergies`; without it they are not
    /// kept, and withdrawing it clears them.
    pub sensitive: bool,
    pub language: Option<Language>,
}

/// The profile form as a browser sends it: text fields, and ticked boxes
/// present (any value) or absent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProfileForm {
    pub display_name: String,
    pub birthday_month: String,
    pub birthday_day: String,
    pub birth_year: String,
    pub gender: String,
    pub diet_vegetarian: Option<String>,
    pub diet_vegan: Option<String>,
    pub diet_halal: Option<String>,
    pub diet_no_spicy: Option<String>,
    pub diet_no_pork: Option<String>,
    pub diet_no_beef: Option<String>,
    pub diet_no_seafood: Option<String>,
    pub diet_low_sugar: Option<String>,
    pub allergies: String,
    pub marketing: Option<String>,
    pub sensitive_consent: Option<String>,
    pub language: String,
}

impl ProfileForm {
    /// The profile the form describes; a birthday must be a month and a day
    /// (the year may stay blank), or all blank.
    pub fn profile(self) -> Result<Profile> {
        let number = |s: &str| s.trim().parse::<u16>().ok();
        let blank = |s: &str| s.trim().is_empty();
        let birthday = match (number(&self.birthday_month), number(&self.birthday_day)) {
            (None, None) if blank(&self.birthday_month) && blank(&self.birthday_day) => None,
            (Some(m), Some(d)) if m <= 12 && d <= 31 => {
                let year =
                    (!blank(&self.birth_year)).then(|| number(&self.birth_year).unwrap_or(0));
                Some(Birthday::new(m as u8, d as u8, year)?)
            }
            _ => return Err(Error::invalid("birthday", Invalid::Format)),
        };
        let ticked = [
            (Diet::Vegetarian, self.diet_vegetarian),
            (Diet::Vegan, self.diet_vegan),
            (Diet::Halal, self.diet_halal),
            (Diet::NoSpicy, self.diet_no_spicy),
            (Diet::NoPork, self.diet_no_pork),
            (Diet::NoBeef, self.diet_no_beef),
            (Diet::NoSeafood, self.diet_no_seafood),
            (Diet::LowSugar, self.diet_low_sugar),
        ];
        Ok(Profile {
            display_name: self.display_name,
            birthday,
            gender: Gender::parse(&self.gender).unwrap_or_default(),
            dietary: ticked
                .into_iter()
                .filter_map(|(d, on)| on.map(|_| d))
                .collect(),
            allergies: self.allergies,
            marketing: self.marketing.is_some(),
            sensitive: self.sensitive_consent.is_some(),
            language: Language::from_tag(&self.language),
        })
    }
}

/// A member changes their own profile.
pub async fn save_profile(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Member,
    profile: Profile,
) -> Result<Member> {
    let mut conn = db.acquire().await?;
    update_profile(&mut conn, clock, who.brand().id, who.id(), profile).await
}

fn check_free_text(field: &'static str, s: &str, max: usize) -> Result<String> {
    let s = s.trim();
    if s.chars().count() > max {
        return Err(Error::invalid(field, Invalid::TooLong { max }));
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::invalid(field, Invalid::Characters));
    }
    Ok(s.to_owned())
}

pub async fn update_profile(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    member: MemberId,
    profile: Profile,
) -> Result<Member> {
    let now = clock.now_ms();
    let name = check_free_text("display_name", &profile.display_name, 40)?;
    let allergies = check_free_text("allergies", &profile.allergies, 200)?;
    let mut dietary: Vec<&str> = Vec::new();
    for d in &profile.dietary {
        if !dietary.contains(&d.as_str()) {
            dietary.push(d.as_str());
        }
    }
    let before: Option<(Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT marketing_consent_at, sensitive_consent_at FROM members \
         WHERE brand_id = $1 AND id = $2 AND status = 'active'",
    )
    .bind(brand.0)
    .bind(member.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((marketing_before, sensitive_before)) = before else {
        return Err(Error::MemberNotFound);
    };
    // Allergies and dietary needs are kept only with their own consent.
    // Unticking it withdraws it and clears them; typing them without it
    // (never having given it) is refused, so nothing typed is lost unseen.
    let sensitive_at = match (profile.sensitive, sensitive_before) {
        (true, Some(at)) => Some(at),
        (true, None) => Some(now),
        (false, Some(_)) => None,
        (false, None) if !allergies.is_empty() || !dietary.is_empty() => {
            return Err(Error::invalid("sensitive_consent", Invalid::Empty));
        }
        (false, None) => None,
    };
    let (allergies, dietary) = match sensitive_at {
        Some(_) => (allergies, dietary),
        None => (String::new(), Vec::new()),
    };
    // Keep the time consent was first given; clear it on withdrawal.
    let marketing_at = match (profile.marketing, marketing_before) {
        (true, Some(at)) => Some(at),
        (true, None) => Some(now),
        (false, _) => None,
    };
    let sql = format!(
        "UPDATE members SET display_name = $1, birthday_month = $2, birthday_day = $3, \
             birth_year = $4, gender = $5, dietary = $6, allergies = $7, language = $8, \
             marketing_consent_at = $9, sensitive_consent_at = $12 \
         WHERE brand_id = $10 AND id = $11 AND status = 'active' RETURNING {MEMBER_COLUMNS}"
    );
    let row: Option<MemberRow> = sqlx::query_as(&sql)
        .bind(&name)
        .bind(profile.birthday.map(|b| i64::from(b.month)))
        .bind(profile.birthday.map(|b| i64::from(b.day)))
        .bind(profile.birthday.and_then(|b| b.year).map(i64::from))
        .bind(profile.gender.as_str())
        .bind(dietary.join(","))
        .bind(&allergies)
        .bind(profile.language.map(Language::tag))
        .bind(marketing_at)
        .bind(brand.0)
        .bind(member.0)
        .bind(sensitive_at)
        .fetch_optional(&mut *conn)
        .await?;
    let updated = Member::try_from(row.ok_or(Error::MemberNotFound)?)?;
    match (marketing_before.is_some(), profile.marketing) {
        (false, true) => record_consent(conn, brand, member, "marketing_granted", "", now).await?,
        (true, false) => {
            record_consent(conn, brand, member, "marketing_withdrawn", "", now).await?
        }
        _ => {}
    }
    match (sensitive_before.is_some(), sensitive_at.is_some()) {
        (false, true) => record_consent(conn, brand, member, "sensitive_granted", "", now).await?,
        (true, false) => {
            record_consent(conn, brand, member, "sensitive_withdrawn", "", now).await?
        }
        _ => {}
    }
    Ok(updated)
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsentEvent {
    pub kind: String,
    pub version: String,
    pub at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionRecord {
    pub started_at: i64,
    pub last_seen_at: i64,
    pub ended_at: Option<i64>,
}

/// Everything Tablecard holds about one member, for "export my data".
#[derive(Debug, Clone, Serialize)]
pub struct MemberExport {
    pub brand: String,
    pub member: Member,
    pub consents: Vec<ConsentEvent>,
    pub sessions: Vec<SessionRecord>,
    /// What the member told the restaurant, and its replies.
    pub feedback: Vec<crate::feedback::Feedback>,
    /// Every change of their points, newest first.
    pub points_history: Vec<crate::points::LedgerEntry>,
    pub purchases: Vec<ExportedPurchase>,
    /// Points paid at the till.
    pub points_payments: Vec<ExportedPointsPayment>,
    pub coupons: Vec<ExportedCoupon>,
    pub checkins: Vec<ExportedCheckin>,
    /// Friends they invited and who invited them: when, and whether the
    /// reward was given; the other person is not named (their data).
    pub referrals: Vec<ExportedReferral>,
    pub tier_changes: Vec<ExportedTierChange>,
    /// Their prepaid balance (储值) now, and every top-up, payment, void
    /// and refund of it, newest first.
    pub stored_value: crate::stored_value::Balance,
    pub stored_value_history: Vec<crate::stored_value::Movement>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ExportedPurchase {
    pub order_id: String,
    pub store: String,
    pub amount_fen: i64,
    pub refunded_fen: i64,
    pub points_earned: i64,
    pub occurred_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ExportedPointsPayment {
    pub order_id: String,
    pub store: String,
    pub points: i64,
    pub value_fen: i64,
    pub status: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ExportedCoupon {
    pub code: String,
    /// The coupon's rule, as the restaurant set it up: `amount_off`,
    /// `voucher`, `percent_off` or `gift`, and its figures.
    pub kind: String,
    pub threshold_fen: Option<i64>,
    pub amount_off_fen: Option<i64>,
    pub percent_off: Option<i64>,
    pub gift_item: Option<String>,
    /// How they got it: `welcome`, `claim`, `exchange`, `staff`, …
    pub source: String,
    /// `available` or `redeemed`.
    pub status: String,
    pub valid_from: i64,
    pub valid_until: i64,
    pub issued_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ExportedCheckin {
    pub day: String,
    pub streak: i64,
    pub points: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ExportedReferral {
    /// `invited` (a friend they brought) or `invited_by`.
    pub role: String,
    pub created_at: i64,
    pub rewarded_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ExportedTierChange {
    pub from_rank: i64,
    pub to_rank: i64,
    pub reason: String,
    pub created_at: i64,
}

pub async fn export(db: &Db, brand: &Brand, member: MemberId) -> Result<MemberExport> {
    let m = find(db, brand.id, member).await?;
    let consents: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT kind, version, created_at FROM member_consents \
         WHERE brand_id = $1 AND member_id = $2 ORDER BY id",
    )
    .bind(brand.id.0)
    .bind(member.0)
    .fetch_all(db.pool())
    .await?;
    let sessions: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT created_at, last_seen_at, ended_at FROM member_sessions \
         WHERE brand_id = $1 AND member_id = $2 ORDER BY id",
    )
    .bind(brand.id.0)
    .bind(member.0)
    .fetch_all(db.pool())
    .await?;
    Ok(MemberExport {
        brand: brand.name.clone(),
        member: m,
        consents: consents
            .into_iter()
            .map(|(kind, version, at)| ConsentEvent { kind, version, at })
            .collect(),
        sessions: sessions
            .into_iter()
            .map(|(started_at, last_seen_at, ended_at)| SessionRecord {
                started_at,
                last_seen_at,
                ended_at,
            })
            .collect(),
        feedback: crate::feedback::mine(db, brand.id, member).await?,
        points_history: crate::points::history(db, brand.id, member, None, i64::MAX).await?,
        stored_value: crate::stored_value::balance_of(db, brand.id, member).await?,
        stored_value_history: crate::stored_value::history(db, brand.id, member, None, i64::MAX)
            .await?,
        purchases: rows(
            db,
            "SELECT p.order_id, s.name AS store, p.amount_fen, p.refunded_fen, p.points_earned, p.occurred_at \
             FROM purchases p JOIN stores s ON s.id = p.store_id \
             WHERE p.brand_id = $1 AND p.member_id = $2 ORDER BY p.id",
            brand.id,
            member,
        )
        .await?,
        points_payments: rows(
            db,
            "SELECT r.order_id, s.name AS store, r.points, r.value_fen, r.status, r.created_at \
             FROM point_redemptions r JOIN stores s ON s.id = r.store_id \
             WHERE r.brand_id = $1 AND r.member_id = $2 ORDER BY r.id",
            brand.id,
            member,
        )
        .await?,
        coupons: rows(
            db,
            "SELECT c.code, t.kind, t.threshold_fen, t.amount_off_fen, t.percent_off, t.gift_item, c.source, c.status, c.valid_from, c.valid_until, c.issued_at \
             FROM coupons c JOIN coupon_templates t ON t.id = c.template_id \
             WHERE c.brand_id = $1 AND c.member_id = $2 ORDER BY c.id",
            brand.id,
            member,
        )
        .await?,
        checkins: rows(
            db,
            "SELECT local_day AS day, streak, points FROM checkins \
             WHERE brand_id = $1 AND member_id = $2 ORDER BY id",
            brand.id,
            member,
        )
        .await?,
        referrals: rows(
            db,
            "SELECT CASE WHEN referrer_id = $2 THEN 'invited' ELSE 'invited_by' END AS role, \
                    created_at, rewarded_at \
             FROM referrals WHERE brand_id = $1 AND (referrer_id = $2 OR referred_id = $2) ORDER BY id",
            brand.id,
            member,
        )
        .await?,
        tier_changes: rows(
            db,
            "SELECT from_rank, to_rank, reason, created_at FROM tier_changes \
             WHERE brand_id = $1 AND member_id = $2 ORDER BY id",
            brand.id,
            member,
        )
        .await?,
    })
}

/// The rows of one of a member's tables, for the export: `sql` takes the
/// brand as `$1` and the member as `$2`.
async fn rows<T>(db: &Db, sql: &str, brand: BrandId, member: MemberId) -> Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    Ok(sqlx::query_as(sql)
        .bind(brand.0)
        .bind(member.0)
        .fetch_all(db.pool())
        .await?)
}

/// Everything a member's card and profile show, from one call.
#[derive(Debug, Clone)]
pub struct Card {
    pub member: Member,
    pub tier: crate::points::tiers::Tier,
    /// Replies to their feedback they have not read yet.
    pub unseen_replies: i64,
    /// Coupons they can use now.
    pub usable_coupons: i64,
    /// Today's check-in, when the brand offers one.
    pub checkin: Option<crate::points::checkin::Today>,
    /// Their prepaid balance (储值).
    pub stored_value: crate::stored_value::Balance,
}

/// The card's row: the member, what the card counts, and the check-in.
#[derive(sqlx::FromRow)]
struct CardRow {
    #[sqlx(flatten)]
    member: MemberRow,
    unseen_replies: i64,
    usable_coupons: i64,
    principal_fen: i64,
    bonus_fen: i64,
    checkin_points: Option<i64>,
    checkin_streak_days: Option<i64>,
    checkin_streak_bonus: Option<i64>,
    config_version: i64,
    streak_today: Option<i64>,
    streak_yesterday: Option<i64>,
}

/// The card's statement: the member `m` with what the card counts, from
/// `from` (which names `m`, and may name `s` for a session) under `filter`.
/// `$1` is the brand, `$3` now, `$4` and `$5` the brand's today and
/// yesterday; `$2` is for `filter`.
fn card_sql(extra: &str, from: &str, filter: &str) -> String {
    format!(
        "SELECT {}{extra}, \
           (SELECT CAST(COUNT(*) AS BIGINT) FROM feedback f \
             WHERE f.brand_id = m.brand_id AND f.member_id = m.id \
               AND f.replied_at IS NOT NULL AND f.reply_seen_at IS NULL) AS unseen_replies, \
           (SELECT CAST(COUNT(*) AS BIGINT) FROM coupons c \
             WHERE c.brand_id = m.brand_id AND c.member_id = m.id AND c.status = 'available' \
               AND c.valid_from <= $3 AND c.valid_until > $3) AS usable_coupons, \
           COALESCE(sv.principal_fen, 0) AS principal_fen, COALESCE(sv.bonus_fen, 0) AS bonus_fen, \
           r.checkin_points, r.checkin_streak_days, r.checkin_streak_bonus, b.config_version, \
           (SELECT k.streak FROM checkins k WHERE k.brand_id = m.brand_id AND k.member_id = m.id \
             AND k.local_day = $4) AS streak_today, \
           (SELECT k.streak FROM checkins k WHERE k.brand_id = m.brand_id AND k.member_id = m.id \
             AND k.local_day = $5) AS streak_yesterday \
         FROM {from} JOIN brands b ON b.id = m.brand_id \
         LEFT JOIN stored_value_accounts sv ON sv.brand_id = m.brand_id AND sv.member_id = m.id \
         LEFT JOIN loyalty_rules r ON r.brand_id = m.brand_id \
         WHERE {filter}",
        crate::infra::db::qualified("m", MEMBER_COLUMNS)
    )
}

/// A member's card by their id: a read model in one statement, the
/// member's row with what the card counts and the version of the brand's
/// tiers, which come from the process's cache (`points::config`). The
/// portal finds the card with the session instead ([`card_by_session`]);
/// this is for the core's tests, which hold a member without a session.
#[cfg(feature = "testing")]
pub async fn card(db: &Db, clock: &dyn Clock, who: &crate::access::Member) -> Result<Card> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        card_sql(
            "",
            "members m",
            "m.brand_id = $1 AND m.id = $2 AND m.status = 'active'",
        )
    });
    let brand = who.brand();
    let now = clock.now_ms();
    let (today, yesterday) = crate::points::checkin::days(brand, now);
    let mut conn = db.acquire().await?;
    let row: Option<CardRow> = sqlx::query_as(&SQL)
        .bind(brand.id.0)
        .bind(who.id().0)
        .bind(now)
        .bind(&today)
        .bind(&yesterday)
        .fetch_optional(&mut *conn)
        .await?;
    card_of(&mut conn, brand, row.ok_or(Error::MemberNotFound)?).await
}

/// The card of the member signed in to `brand` with `token`, found with
/// the session in one statement, where [`crate::access::member`] and a
/// read by id would take two. None when the session is not live
/// (`sessions::resolve` says when).
pub(crate) async fn card_by_session(
    db: &Db,
    clock: &dyn Clock,
    policy: &sessions::SessionPolicy,
    brand: &Brand,
    token: &sessions::SessionToken,
) -> Result<Option<Card>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        card: CardRow,
        session_id: i64,
        session_seen_at: i64,
    }
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        card_sql(
            ", s.id AS session_id, s.last_seen_at AS session_seen_at",
            sessions::LIVE_JOIN,
            &format!("{} AND s.token_hash = $2", sessions::live_where(1, 3, 6)),
        )
    });
    let now = clock.now_ms();
    let (today, yesterday) = crate::points::checkin::days(brand, now);
    let mut conn = db.acquire().await?;
    let row: Option<Row> = sqlx::query_as(&SQL)
        .bind(brand.id.0)
        .bind(token.hash())
        .bind(now)
        .bind(&today)
        .bind(&yesterday)
        .bind(now - policy.idle_ms)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let card = card_of(&mut conn, brand, row.card).await?;
    drop(conn);
    sessions::seen(db, now, row.session_id, row.session_seen_at).await?;
    Ok(Some(card))
}

/// What the card shows, from its row.
async fn card_of(conn: &mut sqlx::AnyConnection, brand: &Brand, row: CardRow) -> Result<Card> {
    use crate::points::checkin;

    let member = Member::try_from(row.member)?;
    let tier = crate::points::config::at(conn, brand, row.config_version)
        .await?
        .tiers
        .by_rank(member.tier_rank)
        .clone();
    let rule = checkin::Rule::stored(
        row.checkin_points
            .zip(row.checkin_streak_days)
            .zip(row.checkin_streak_bonus)
            .map(|((points, days), bonus)| (points, days, bonus)),
    );
    Ok(Card {
        member,
        tier,
        unseen_replies: row.unseen_replies,
        usable_coupons: row.usable_coupons,
        checkin: rule
            .is_on()
            .then(|| checkin::Today::of(rule, row.streak_today, row.streak_yesterday)),
        stored_value: crate::stored_value::Balance {
            principal_fen: row.principal_fen,
            bonus_fen: row.bonus_fen,
        },
    })
}

/// A member deletes their own account (PIPL's right to deletion): see
/// [`erase`].
pub async fn leave(db: &Db, clock: &dyn Clock, who: &crate::access::Member) -> Result<()> {
    db.in_transaction(async |tx| erase(tx, clock, who.brand().id, who.id()).await)
        .await
}

/// Deletes a member's account: every personal field is cleared in place (the
/// row stays, pseudonymous, for the ledgers that will point at it), their
/// sessions end and their codes go. The phone may join again, as new.
pub async fn erase(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    member: MemberId,
) -> Result<()> {
    let now = clock.now_ms();
    // The phone's sign-in codes go too: nothing may keep the number.
    sqlx::query(
        "DELETE FROM login_codes WHERE brand_id = $1 \
         AND phone = (SELECT phone FROM members WHERE brand_id = $1 AND id = $2 AND status = 'active')",
    )
    .bind(brand.0)
    .bind(member.0)
    .execute(&mut *conn)
    .await?;
    let erased: Option<(i64,)> = sqlx::query_as(
        "UPDATE members SET phone = NULL, display_name = '', birthday_month = NULL, \
             birthday_day = NULL, birth_year = NULL, gender = 'unspecified', dietary = '', \
             allergies = '', language = NULL, marketing_consent_at = NULL, sensitive_consent_at = NULL, \
             referral_code = NULL, legacy_no = NULL, status = 'erased', erased_at = $1 \
         WHERE brand_id = $2 AND id = $3 AND status = 'active' RETURNING id",
    )
    .bind(now)
    .bind(brand.0)
    .bind(member.0)
    .fetch_optional(&mut *conn)
    .await?;
    if erased.is_none() {
        return Err(Error::MemberNotFound);
    }
    // Their feedback keeps its scores for the restaurant's report; the
    // words they wrote go with the account.
    sqlx::query("UPDATE feedback SET comment = '' WHERE brand_id = $1 AND member_id = $2")
        .bind(brand.0)
        .bind(member.0)
        .execute(&mut *conn)
        .await?;
    sessions::end_all(conn, clock, brand, member).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_numbers_are_eight_digits_without_a_leading_zero() {
        for _ in 0..100 {
            let n = MemberNo::generate();
            assert_eq!(MemberNo::parse(n.as_str()).unwrap(), n);
        }
        assert!(MemberNo::parse("01234567").is_err());
        assert!(MemberNo::parse("1234567").is_err());
        assert!(MemberNo::parse("1234567a").is_err());
    }

    #[test]
    fn birthdays_must_exist_in_the_calendar() {
        assert!(Birthday::new(2, 29, None).is_ok());
        assert!(Birthday::new(2, 29, Some(2000)).is_ok());
        assert!(Birthday::new(2, 29, Some(2023)).is_err());
        assert!(Birthday::new(4, 31, None).is_err());
        assert!(Birthday::new(13, 1, None).is_err());
        assert!(Birthday::new(1, 0, None).is_err());
        assert!(Birthday::new(1, 1, Some(1800)).is_err());
    }

    #[test]
    fn diets_and_genders_round_trip_through_their_names() {
        for d in Diet::ALL {
            assert_eq!(Diet::parse(d.as_str()), Some(d));
        }
        for g in Gender::ALL {
            assert_eq!(Gender::parse(g.as_str()), Some(g));
        }
    }
}

/// How a POS names a member: the rotating card code or the member number
/// (digits, spaces allowed), or a phone number.
#[derive(Debug, Clone)]
pub enum MemberRef {
    Code(String),
    Phone(Phone),
}

/// What a till sees of the member it looks up (`GET /members/lookup`).
#[derive(Debug, Clone)]
pub struct AtTill {
    pub member: Member,
    pub tier: crate::points::tiers::Tier,
    /// Their prepaid balance (储值).
    pub stored_value: crate::stored_value::Balance,
    /// Their coupons, every status (the newest 500).
    pub wallet: Vec<crate::coupons::Held>,
}

/// The member `who` names, as a till sees them: a read model in two
/// statements, the member (by code, number or phone, [`identify`]), then
/// their balance and wallet with the version of the brand's configuration
/// (`coupons::till_view`), whose tiers come from the process's cache.
pub async fn at_till(
    db: &Db,
    clock: &dyn Clock,
    secret: &ServerSecret,
    brand: &Brand,
    who: &MemberRef,
) -> Result<AtTill> {
    let mut conn = db.acquire().await?;
    let member = identify(&mut conn, clock, secret, brand.id, who).await?;
    let (version, stored_value, wallet) =
        crate::coupons::till_view(&mut conn, clock, brand.id, member.id).await?;
    let tier = crate::points::config::at(&mut conn, brand, version)
        .await?
        .tiers
        .by_rank(member.tier_rank)
        .clone();
    Ok(AtTill {
        member,
        tier,
        stored_value,
        wallet,
    })
}

/// The active member of `brand` a POS means. Anything unknown, stale or of
/// another brand is `MemberNotFound`. On a pooled connection, or inside the
/// transaction of the write it is for.
pub async fn identify(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    secret: &ServerSecret,
    brand: BrandId,
    who: &MemberRef,
) -> Result<Member> {
    match who {
        MemberRef::Phone(phone) => find_by_phone(conn, brand, phone)
            .await?
            .ok_or(Error::MemberNotFound),
        MemberRef::Code(code) => {
            let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
            if crate::members::member_code::looks_like_code(&digits) {
                crate::members::member_code::resolve(conn, clock, secret, brand, &digits).await
            } else {
                let no = MemberNo::parse(&digits).map_err(|_| Error::MemberNotFound)?;
                find_by_no(conn, brand, &no).await
            }
        }
    }
}
