//! The owner's brand settings: name, colour, language, time zone, the sites
//! that may frame the portal, the member terms with their version, and the
//! points rules. Each change is audited in its transaction.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use crate::brands::{check_name, Language, ThemeColor};
use crate::error::Invalid;
use crate::feedback::{self, RewardRule};
use crate::points::rules::{self, LoyaltyRules};
use crate::staff::audit::{self, Change};
use crate::{Clock, Error, Result};

/// At most this many sites may frame the portal.
pub const MAX_EMBED_ORIGINS: usize = 10;

/// One origin a browser sends, `https://shop.example.com[:port]`: a scheme,
/// a host of letters, digits, dots and dashes, an optional port; no path.
/// Plain http only for localhost (a developer's page).
pub fn parse_origin(input: &str) -> Result<String> {
    let bad = || Error::invalid("embed_origins", Invalid::Format);
    let s = input.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, rest) = s.split_once("://").ok_or_else(bad)?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            (h, Some(p))
        }
        Some(_) => return Err(bad()),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    let local = host == "localhost" || host == "127.0.0.1";
    if !host_ok || !(scheme == "https" || scheme == "http" && local) {
        return Err(bad());
    }
    Ok(match port {
        Some(p) => format!("{scheme}://{host}:{p}"),
        None => format!("{scheme}://{host}"),
    })
}

/// The origins typed one per line (or separated by spaces or commas).
pub fn parse_origins(input: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for part in input.split(|c: char| c.is_whitespace() || c == ',') {
        if part.is_empty() {
            continue;
        }
        let o = parse_origin(part)?;
        if !out.contains(&o) {
            out.push(o);
        }
    }
    if out.len() > MAX_EMBED_ORIGINS {
        return Err(Error::invalid(
            "embed_origins",
            Invalid::TooLong {
                max: MAX_EMBED_ORIGINS,
            },
        ));
    }
    Ok(out)
}

/// A time zone the calendar understands (`Asia/Shanghai`).
pub fn check_time_zone(input: &str) -> Result<String> {
    let tz = input.trim();
    if tz.is_empty() || tz.len() > 64 || jiff::tz::TimeZone::get(tz).is_err() {
        return Err(Error::invalid("time_zone", Invalid::Format));
    }
    Ok(tz.to_owned())
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub theme_color: ThemeColor,
    pub default_language: Language,
    pub time_zone: String,
    pub embed_origins: Vec<String>,
    /// 短信签名 as registered with the SMS provider; empty: the name.
    pub sms_signature: String,
}

/// The brand profile form as a browser sends it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProfileForm {
    pub name: String,
    pub theme_color: String,
    pub default_locale: String,
    pub time_zone: String,
    pub embed_origins: String,
    pub sms_signature: String,
}

impl ProfileForm {
    pub fn profile(self) -> Result<Profile> {
        let theme_color = ThemeColor::parse(&self.theme_color)
            .map_err(|_| Error::invalid("theme_color", Invalid::Format))?;
        let default_language = Language::from_tag(&self.default_locale)
            .ok_or(Error::invalid("default_locale", Invalid::Format))?;
        Ok(Profile {
            name: self.name,
            theme_color,
            default_language,
            time_zone: self.time_zone,
            embed_origins: parse_origins(&self.embed_origins)?,
            sms_signature: self.sms_signature,
        })
    }
}

/// The points rules form as a browser sends it (the bonus weekdays, ticked
/// boxes, come beside it).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RulesForm {
    pub earn_yuan: String,
    pub signup_bonus: String,
    pub expiry_months: String,
    pub redeem_points_per_yuan: String,
    pub redeem_cap_pct: String,
    pub bonus_multiple: String,
    pub feedback_points: String,
    pub feedback_coupon: String,
}

impl RulesForm {
    /// The brand's `current` rules changed as the form says, and the
    /// feedback reward. Weekdays are 1 (Monday) to 7.
    pub fn rules(
        self,
        mut current: LoyaltyRules,
        bonus_weekdays: Vec<i8>,
    ) -> Result<(LoyaltyRules, RewardRule)> {
        use crate::infra::forms::{number, optional_number, thousandths};
        current.earn_fen_per_point = thousandths("earn", &self.earn_yuan)? / 10;
        current.signup_bonus_points = number("signup_bonus", &self.signup_bonus)?;
        current.expiry_months = Some(number("expiry", &self.expiry_months)?).filter(|m| *m != 0);
        current.redeem_points_per_yuan = number("redeem_rate", &self.redeem_points_per_yuan)?;
        current.redeem_cap_pct = number("redeem_cap", &self.redeem_cap_pct)?;
        let mut days: Vec<i8> = bonus_weekdays
            .into_iter()
            .filter(|d| (1..=7).contains(d))
            .collect();
        days.sort_unstable();
        days.dedup();
        current.bonus_weekdays = days;
        current.bonus_multiplier_permille = thousandths("bonus", &self.bonus_multiple)?;
        let reward = RewardRule {
            points: number("feedback_points", &self.feedback_points)?,
            coupon: optional_number("feedback_coupon", &self.feedback_coupon)?
                .map(crate::coupons::TemplateId),
        };
        Ok((current, reward))
    }
}

/// The tiers form: one entry per tier in each list, lowest tier first.
#[derive(Debug, Clone, Default)]
pub struct TiersForm {
    pub name_zh_cn: Vec<String>,
    pub name_zh_tw: Vec<String>,
    pub name_en: Vec<String>,
    pub threshold: Vec<String>,
    pub discount: Vec<String>,
    pub multiple: Vec<String>,
}

impl TiersForm {
    pub fn edits(&self) -> Result<Vec<TierEdit>> {
        (0..self.name_zh_cn.len())
            .map(|i| {
                let get = |v: &Vec<String>| v.get(i).cloned().unwrap_or_default();
                let threshold = get(&self.threshold);
                let threshold_fen = if threshold.trim() == "0" {
                    0
                } else {
                    crate::staff::till::parse_yuan("tier_threshold", &threshold)
                        .map_err(|_| Error::invalid("tier_threshold", Invalid::Format))?
                        .get()
                };
                Ok(TierEdit {
                    name_zh_cn: get(&self.name_zh_cn),
                    name_zh_tw: get(&self.name_zh_tw),
                    name_en: get(&self.name_en),
                    threshold_fen,
                    discount_pct: crate::infra::forms::number(
                        "tier_discount",
                        &get(&self.discount),
                    )?,
                    multiplier_permille: crate::infra::forms::thousandths(
                        "tier_multiplier",
                        &get(&self.multiple),
                    )?,
                })
            })
            .collect()
    }
}

/// What the owner's settings page edits, besides the brand itself.
#[derive(Debug, Clone)]
pub struct Screen {
    pub rules: LoyaltyRules,
    pub feedback_reward: RewardRule,
    pub tiers: crate::points::tiers::TierTable,
    /// The active coupons a feedback may be rewarded with.
    pub templates: Vec<crate::coupons::Template>,
    /// What a manager may adjust by hand without an owner's approval.
    pub adjustment_limits: crate::points::adjustments::Limits,
}

/// The settings page of `who`'s brand.
pub async fn screen(db: &crate::Db, who: &crate::access::Owner) -> Result<Screen> {
    let brand = who.brand();
    let mut conn = db.acquire().await?;
    Ok(Screen {
        rules: rules::load(&mut conn, brand).await?,
        feedback_reward: feedback::reward_rule(&mut conn, brand.id).await?,
        tiers: crate::points::tiers::load(&mut conn, brand.id).await?,
        adjustment_limits: crate::points::adjustments::limits(&mut conn, brand.id).await?,
        templates: crate::coupons::templates(db, brand.id).await?,
    })
}

/// An SMS signature: 2–20 characters, without the brackets the provider adds.
pub fn check_signature(input: &str) -> Result<String> {
    let s = input.trim().trim_matches(['【', '】', '[', ']']).trim();
    if s.is_empty() {
        return Ok(String::new());
    }
    let n = s.chars().count();
    if !(2..=20).contains(&n) || s.chars().any(|c| c.is_control() || "【】[]".contains(c)) {
        return Err(Error::invalid("sms_signature", Invalid::Format));
    }
    Ok(s.to_owned())
}

pub async fn save_profile(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    who: &crate::access::Owner,
    p: Profile,
) -> Result<()> {
    let before = who.brand();
    let actor = &who.actor();
    let name = check_name("name", &p.name, 80)?;
    let time_zone = check_time_zone(&p.time_zone)?;
    let signature = check_signature(&p.sms_signature)?;
    sqlx::query(
        "UPDATE brands SET name = $2, theme_color = $3, default_locale = $4, time_zone = $5, \
         embed_origins = $6, sms_signature = $7 WHERE id = $1",
    )
    .bind(actor.brand.0)
    .bind(&name)
    .bind(p.theme_color.as_str())
    .bind(p.default_language.tag())
    .bind(&time_zone)
    .bind(p.embed_origins.join(" "))
    .bind(&signature)
    .execute(&mut *conn)
    .await?;
    let change = Change {
        action: "brand.update",
        store: None,
        target_type: "brand",
        target_id: Some(actor.brand.0),
        before: Some(json!({
            "name": before.name, "theme_color": before.theme_color.as_str(),
            "default_locale": before.default_language.tag(), "time_zone": before.time_zone,
            "embed_origins": before.embed_origins, "sms_signature": before.sms_signature,
        })),
        after: Some(json!({
            "name": name, "theme_color": p.theme_color.as_str(),
            "default_locale": p.default_language.tag(), "time_zone": time_zone,
            "embed_origins": p.embed_origins, "sms_signature": signature,
        })),
    };
    audit::record(conn, clock, actor, change).await
}

/// Publishes the member terms: a new version (members who join from now on
/// accept it) and the text (blank: the standard text).
pub async fn publish_terms(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    who: &crate::access::Owner,
    version: &str,
    text: &str,
) -> Result<()> {
    let before = who.brand();
    let actor = &who.actor();
    let version = version.trim();
    if version.is_empty() || version.chars().count() > 20 || version.chars().any(char::is_control) {
        return Err(Error::invalid("terms_version", Invalid::Format));
    }
    // Browsers send a textarea's lines with CRLF: compare what is stored.
    let text = text.replace("\r\n", "\n").trim().to_owned();
    if version == before.terms_version && text != before.terms_text {
        // Changed words under an old version would make "accepted version X"
        // mean nothing.
        return Err(Error::invalid("terms_version", Invalid::Empty));
    }
    if text.chars().count() > 20_000 {
        return Err(Error::invalid(
            "terms_text",
            Invalid::TooLong { max: 20_000 },
        ));
    }
    sqlx::query("UPDATE brands SET terms_version = $2, terms_text = $3 WHERE id = $1")
        .bind(actor.brand.0)
        .bind(version)
        .bind(&text)
        .execute(&mut *conn)
        .await?;
    let change = Change {
        action: "brand.terms",
        store: None,
        target_type: "brand",
        target_id: Some(actor.brand.0),
        before: Some(
            json!({ "version": before.terms_version, "chars": before.terms_text.chars().count() }),
        ),
        after: Some(json!({ "version": version, "chars": text.chars().count() })),
    };
    audit::record(conn, clock, actor, change).await
}

/// The points rules, checked: what the schema would refuse is refused here
/// first with the field that is wrong.
pub async fn save_rules(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    who: &crate::access::Owner,
    new: LoyaltyRules,
    reward: RewardRule,
) -> Result<()> {
    let brand = who.brand();
    let actor = &who.actor();
    let check = |ok: bool, field: &'static str| {
        if ok {
            Ok(())
        } else {
            Err(Error::invalid(field, Invalid::Format))
        }
    };
    check((1..=100_000).contains(&new.earn_fen_per_point), "earn")?;
    check(
        (0..=100_000).contains(&new.signup_bonus_points),
        "signup_bonus",
    )?;
    check(
        new.expiry_months.is_none_or(|m| (1..=120).contains(&m)),
        "expiry",
    )?;
    check(
        (1..=100_000).contains(&new.redeem_points_per_yuan),
        "redeem_rate",
    )?;
    check((0..=100).contains(&new.redeem_cap_pct), "redeem_cap")?;
    check(
        (1000..=10_000).contains(&new.bonus_multiplier_permille),
        "bonus",
    )?;
    check((0..=10_000).contains(&reward.points), "feedback_points")?;
    let before = rules::load(conn, brand).await?;
    let reward_before = feedback::reward_rule(conn, brand.id).await?;
    rules::save(conn, brand.id, &new).await?;
    if let Some(t) = reward.coupon {
        // The template must be this brand's.
        let (n,): (i64,) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM coupon_templates WHERE brand_id = $1 AND id = $2",
        )
        .bind(brand.id.0)
        .bind(t.0)
        .fetch_one(&mut *conn)
        .await?;
        check(n == 1, "feedback_coupon")?;
    }
    feedback::set_reward_rule(conn, brand.id, reward).await?;
    let view = |r: &LoyaltyRules| {
        json!({
            "earn_fen_per_point": r.earn_fen_per_point, "signup_bonus": r.signup_bonus_points,
            "expiry_months": r.expiry_months, "redeem_points_per_yuan": r.redeem_points_per_yuan,
            "redeem_cap_pct": r.redeem_cap_pct, "bonus_weekdays": r.bonus_weekdays,
            "bonus_multiplier_permille": r.bonus_multiplier_permille,
        })
    };
    let change = Change {
        action: "brand.rules",
        store: None,
        target_type: "brand",
        target_id: Some(brand.id.0),
        before: Some(
            json!({ "rules": view(&before), "feedback_points": reward_before.points,
            "feedback_coupon": reward_before.coupon.map(|t| t.0) }),
        ),
        after: Some(
            json!({ "rules": view(&new), "feedback_points": reward.points,
            "feedback_coupon": reward.coupon.map(|t| t.0) }),
        ),
    };
    audit::record(conn, clock, actor, change).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_and_only_sites_pass() {
        assert_eq!(
            parse_origin("HTTPS://Shop.Example.com/").unwrap(),
            "https://shop.example.com"
        );
        assert_eq!(
            parse_origin("https://a.b:8443").unwrap(),
            "https://a.b:8443"
        );
        assert_eq!(
            parse_origin("http://localhost:5173").unwrap(),
            "http://localhost:5173"
        );
        for bad in [
            "shop.example.com",
            "http://shop.example.com",
            "https://shop.example.com/path",
            "https://*.example.com",
            "https://exa mple.com",
            "javascript://x",
            "https://",
            "https://a.b:port",
            "https://a.b; script-src *",
            "https://-a.com",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_origins("https://a.com\nhttps://b.com, https://a.com").unwrap(),
            ["https://a.com", "https://b.com"]
        );
        assert!(parse_origins(
            &(0..11)
                .map(|i| format!("https://s{i}.com"))
                .collect::<Vec<_>>()
                .join(" ")
        )
        .is_err());
    }

    #[test]
    fn sms_signatures_lose_their_brackets_and_stay_short() {
        assert_eq!(check_signature(" 【山野小馆】 ").unwrap(), "山野小馆");
        assert_eq!(check_signature("").unwrap(), "");
        assert!(check_signature("山").is_err());
        assert!(check_signature(&"山".repeat(21)).is_err());
        assert!(check_signature("山野】小馆").is_err());
    }

    #[test]
    fn time_zones_must_exist() {
        assert_eq!(check_time_zone(" Asia/Shanghai ").unwrap(), "Asia/Shanghai");
        assert!(check_time_zone("Mars/Olympus").is_err());
        assert!(check_time_zone("").is_err());
    }
}

/// A tier as the owner edits it; the ranks (and so members' tiers) stay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierEdit {
    pub name_zh_cn: String,
    pub name_zh_tw: String,
    pub name_en: String,
    pub threshold_fen: i64,
    pub discount_pct: i64,
    pub multiplier_permille: i64,
}

impl From<&crate::points::tiers::Tier> for TierEdit {
    /// The tier as it stands, for an edit to change.
    fn from(t: &crate::points::tiers::Tier) -> TierEdit {
        TierEdit {
            name_zh_cn: t.name_zh_cn.clone(),
            name_zh_tw: t.name_zh_tw.clone(),
            name_en: t.name_en.clone(),
            threshold_fen: t.threshold_fen,
            discount_pct: t.discount_pct,
            multiplier_permille: t.multiplier_permille,
        }
    }
}

/// Replaces the names, thresholds, discounts and multipliers of the brand's
/// tiers, lowest first. Thresholds rise with the rank and the base tier is
/// free; members move at their next bill or the monthly review.
pub async fn save_tiers(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    who: &crate::access::Owner,
    edits: &[TierEdit],
) -> Result<()> {
    let actor = &who.actor();
    let table = crate::points::tiers::load(conn, actor.brand).await?;
    let tiers = table.tiers();
    if edits.len() != tiers.len() {
        return Err(Error::invalid("tiers", Invalid::Format));
    }
    for (i, e) in edits.iter().enumerate() {
        for (field, name) in [
            ("tier_name", &e.name_zh_cn),
            ("tier_name", &e.name_zh_tw),
            ("tier_name", &e.name_en),
        ] {
            check_name(field, name, 20)?;
        }
        let rising =
            i == 0 && e.threshold_fen == 0 || i > 0 && e.threshold_fen > edits[i - 1].threshold_fen;
        if !rising || e.threshold_fen > crate::money::Fen::MAX {
            return Err(Error::invalid("tier_threshold", Invalid::Format));
        }
        if !(0..=50).contains(&e.discount_pct) {
            return Err(Error::invalid("tier_discount", Invalid::Format));
        }
        if !(1000..=5000).contains(&e.multiplier_permille) {
            return Err(Error::invalid("tier_multiplier", Invalid::Format));
        }
    }
    for (t, e) in tiers.iter().zip(edits) {
        sqlx::query(
            "UPDATE tiers SET name_zh_cn = $3, name_zh_tw = $4, name_en = $5, threshold_fen = $6, \
             discount_pct = $7, multiplier_permille = $8 WHERE brand_id = $1 AND rank = $2",
        )
        .bind(actor.brand.0)
        .bind(t.rank)
        .bind(e.name_zh_cn.trim())
        .bind(e.name_zh_tw.trim())
        .bind(e.name_en.trim())
        .bind(e.threshold_fen)
        .bind(e.discount_pct)
        .bind(e.multiplier_permille)
        .execute(&mut *conn)
        .await?;
    }
    let view = |name: &str, threshold: i64, discount: i64, mult: i64| json!({ "name": name, "threshold_fen": threshold, "discount_pct": discount, "multiplier_permille": mult });
    let change = Change {
        action: "brand.tiers",
        store: None,
        target_type: "brand",
        target_id: Some(actor.brand.0),
        before: Some(json!(tiers
            .iter()
            .map(|t| view(
                &t.name_zh_cn,
                t.threshold_fen,
                t.discount_pct,
                t.multiplier_permille
            ))
            .collect::<Vec<_>>())),
        after: Some(json!(edits
            .iter()
            .map(|t| view(
                &t.name_zh_cn,
                t.threshold_fen,
                t.discount_pct,
                t.multiplier_permille
            ))
            .collect::<Vec<_>>())),
    };
    audit::record(conn, clock, actor, change).await
}

/// The largest logo accepted, in bytes.
pub const LOGO_MAX: usize = 48 * 1024;

/// What an uploaded file is, by its first bytes (never by its name or the
/// browser's word): PNG, JPEG or WebP; anything else, SVG included, is None.
pub fn logo_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Saves (or, with no bytes, removes) the brand's logo.
pub async fn save_logo(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    who: &crate::access::Owner,
    bytes: Option<&[u8]>,
) -> Result<()> {
    let actor = &who.actor();
    let now = clock.now_ms();
    let after = match bytes {
        Some(bytes) => {
            if bytes.len() > LOGO_MAX {
                return Err(Error::invalid("logo", Invalid::TooLong { max: LOGO_MAX }));
            }
            let kind = logo_type(bytes).ok_or(Error::invalid("logo", Invalid::Format))?;
            sqlx::query(
                "INSERT INTO brand_logos (brand_id, content_type, bytes, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (brand_id) DO UPDATE SET content_type = $2, bytes = $3, updated_at = $4",
            )
            .bind(actor.brand.0)
            .bind(kind)
            .bind(bytes.to_vec())
            .bind(now)
            .execute(&mut *conn)
            .await?;
            json!({ "content_type": kind, "bytes": bytes.len() })
        }
        None => {
            sqlx::query("DELETE FROM brand_logos WHERE brand_id = $1")
                .bind(actor.brand.0)
                .execute(&mut *conn)
                .await?;
            json!(null)
        }
    };
    sqlx::query("UPDATE brands SET logo_version = $2 WHERE id = $1")
        .bind(actor.brand.0)
        .bind(if bytes.is_some() { now } else { 0 })
        .execute(&mut *conn)
        .await?;
    let change = Change {
        action: "brand.logo",
        store: None,
        target_type: "brand",
        target_id: Some(actor.brand.0),
        before: None,
        after: Some(after),
    };
    audit::record(conn, clock, actor, change).await
}

/// The brand's logo: its type and bytes.
pub async fn logo(
    db: &crate::Db,
    brand: crate::brands::BrandId,
) -> Result<Option<(String, Vec<u8>)>> {
    Ok(
        sqlx::query_as("SELECT content_type, bytes FROM brand_logos WHERE brand_id = $1")
            .bind(brand.0)
            .fetch_optional(db.pool())
            .await?,
    )
}

#[cfg(test)]
mod logo_tests {
    use super::*;

    #[test]
    fn logos_are_known_by_their_bytes_and_svg_never_passes() {
        assert_eq!(logo_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(logo_type(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(logo_type(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(
            logo_type(b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>"),
            None
        );
        assert_eq!(logo_type(b"GIF89a"), None);
        assert_eq!(logo_type(b""), None);
    }
}
