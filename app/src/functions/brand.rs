//! `/admin/brand` (owners): the brand's profile and embedding, its member
//! terms, and its points rules. Thin edges over `loyalty::brand_setup`.

// Server functions take a form's fields as arguments; forms have many.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::functions::admin::{StaffInfo, StaffLoad};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandSettings {
    pub staff: StaffInfo,
    pub name: String,
    pub theme_color: String,
    pub default_locale: String,
    pub time_zone: String,
    /// One per line.
    pub embed_origins: String,
    pub sms_signature: String,
    pub slug: String,
    pub terms_version: String,
    pub terms_text: String,
    /// `1` or `0.5`: yuan per point earned.
    pub earn_yuan: String,
    pub signup_bonus: i64,
    /// 0: points never expire.
    pub expiry_months: i64,
    pub redeem_points_per_yuan: i64,
    pub redeem_cap_pct: i64,
    pub bonus_weekdays: Vec<i8>,
    /// `2` for double points.
    pub bonus_multiple: String,
    pub feedback_points: i64,
    pub feedback_coupon: Option<i64>,
    /// (id, title) of the brand's coupon templates.
    pub templates: Vec<(i64, String)>,
    pub tiers: Vec<TierLine>,
    /// The logo's address, when there is one.
    pub logo: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierLine {
    pub name_zh_cn: String,
    pub name_zh_tw: String,
    pub name_en: String,
    /// Yuan of qualifying spend in 12 months.
    pub threshold: String,
    pub discount_pct: i64,
    /// `1.5` for 1.5× points.
    pub multiple: String,
}

#[cfg(feature = "ssr")]
mod edge {

    /// Thousandths written as a short decimal: 2000 → `2`, 1500 → `1.5`.
    pub fn thousandths(v: i64) -> String {
        let s = format!("{}.{:03}", v / 1000, v % 1000);
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }

    /// `1.5` → 1500; at most three decimals.
    pub fn parse_thousandths(field: &'static str, s: &str) -> loyalty::Result<i64> {
        let bad = || loyalty::Error::invalid(field, loyalty::error::Invalid::Format);
        let s = s.trim();
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        if whole.is_empty() && frac.is_empty()
            || whole.len() > 6
            || frac.len() > 3
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        let frac: i64 = format!("{frac:0<3}").parse().map_err(|_| bad())?;
        Ok(whole * 1000 + frac)
    }
}

#[server(prefix = "/fn", endpoint = "load_brand_settings")]
pub async fn load_brand_settings() -> Result<StaffLoad<BrandSettings>, AppError> {
    use crate::functions::admin::owner;
    use crate::server::portal_state;

    let state = portal_state()?;
    let (_, brand, info) = match owner(&state, "/admin/brand").await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let mut conn = crate::server::connection(&state).await?;
    let rules = loyalty::rules::load(&mut conn, &brand).await?;
    let reward = loyalty::feedback::reward_rule(&mut conn, brand.id).await?;
    let table = loyalty::tiers::load(&mut conn, brand.id).await?;
    drop(conn);
    let tiers = table
        .tiers()
        .iter()
        .map(|t| TierLine {
            name_zh_cn: t.name_zh_cn.clone(),
            name_zh_tw: t.name_zh_tw.clone(),
            name_en: t.name_en.clone(),
            threshold: edge::thousandths(t.threshold_fen * 10),
            discount_pct: t.discount_pct,
            multiple: edge::thousandths(t.multiplier_permille),
        })
        .collect();
    let lang = brand.default_language;
    let templates = loyalty::coupons::templates(&state.db, brand.id)
        .await?
        .into_iter()
        .map(|t| (t.id.0, t.rule.title(lang)))
        .collect();
    // Fen per point as yuan: 100 → 1, 50 → 0.5.
    let earn_yuan = edge::thousandths(rules.earn_fen_per_point * 10);
    Ok(StaffLoad::Page(Box::new(BrandSettings {
        staff: info,
        name: brand.name.clone(),
        theme_color: brand.theme_color.as_str().to_owned(),
        default_locale: brand.default_language.tag().to_owned(),
        time_zone: brand.time_zone.clone(),
        embed_origins: brand.embed_origins.join("\n"),
        sms_signature: brand.sms_signature.clone(),
        slug: brand.slug.as_str().to_owned(),
        terms_version: brand.terms_version.clone(),
        terms_text: brand.terms_text.clone(),
        earn_yuan,
        signup_bonus: rules.signup_bonus_points,
        expiry_months: rules.expiry_months.unwrap_or(0),
        redeem_points_per_yuan: rules.redeem_points_per_yuan,
        redeem_cap_pct: rules.redeem_cap_pct,
        bonus_weekdays: rules.bonus_weekdays.clone(),
        bonus_multiple: edge::thousandths(rules.bonus_multiplier_permille),
        feedback_points: reward.points,
        feedback_coupon: reward.coupon.map(|t| t.0),
        templates,
        tiers,
        logo: (brand.logo_version > 0)
            .then(|| format!("/r/{}/logo?v={}", brand.slug, brand.logo_version)),
    })))
}

#[server(prefix = "/fn", endpoint = "save_brand_profile")]
pub async fn save_brand_profile(
    name: String,
    theme_color: String,
    default_locale: String,
    time_zone: String,
    #[server(default)] embed_origins: String,
    #[server(default)] sms_signature: String,
) -> Result<(), AppError> {
    use crate::functions::admin::owner;
    use crate::server::{portal_state, see_other, see_other_with};
    use loyalty::brand_setup::{self, Profile};

    let state = portal_state()?;
    let (session, brand, _) = match owner::<()>(&state, "/admin/brand").await? {
        Ok(s) => s,
        Err(_) => return Ok(()),
    };
    let mut tx = state.db.begin().await?;
    let saved = async {
        let profile = Profile {
            name,
            theme_color: loyalty::brands::ThemeColor::parse(&theme_color).map_err(|_| {
                loyalty::Error::invalid("theme_color", loyalty::error::Invalid::Format)
            })?,
            default_language: loyalty::brands::Language::from_tag(&default_locale).ok_or(
                loyalty::Error::invalid("default_locale", loyalty::error::Invalid::Format),
            )?,
            time_zone,
            embed_origins: brand_setup::parse_origins(&embed_origins)?,
            sms_signature,
        };
        brand_setup::save_profile(&mut tx, &loyalty::SystemClock, &session, &brand, profile).await
    }
    .await;
    match saved {
        Ok(()) => {
            tx.commit().await?;
            see_other("/admin/brand?saved=1");
        }
        Err(e) => see_other_with("/admin/brand", e)?,
    }
    Ok(())
}

#[server(prefix = "/fn", endpoint = "publish_brand_terms")]
pub async fn publish_brand_terms(
    version: String,
    #[server(default)] text: String,
) -> Result<(), AppError> {
    use crate::functions::admin::owner;
    use crate::server::{portal_state, see_other, see_other_with};

    let state = portal_state()?;
    let (session, brand, _) = match owner::<()>(&state, "/admin/brand").await? {
        Ok(s) => s,
        Err(_) => return Ok(()),
    };
    let mut tx = state.db.begin().await?;
    let done = loyalty::brand_setup::publish_terms(
        &mut tx,
        &loyalty::SystemClock,
        &session,
        &brand,
        &version,
        &text,
    )
    .await;
    match done {
        Ok(()) => {
            tx.commit().await?;
            see_other("/admin/brand?saved=1#terms");
        }
        Err(e) => see_other_with("/admin/brand#terms", e)?,
    }
    Ok(())
}

#[server(prefix = "/fn", endpoint = "save_brand_rules")]
pub async fn save_brand_rules(
    earn_yuan: String,
    signup_bonus: String,
    expiry_months: String,
    redeem_points_per_yuan: String,
    redeem_cap_pct: String,
    #[server(default)] bonus_weekdays: Vec<i8>,
    bonus_multiple: String,
    feedback_points: String,
    #[server(default)] feedback_coupon: String,
) -> Result<(), AppError> {
    use crate::functions::admin::owner;
    use crate::server::{portal_state, see_other, see_other_with};
    use loyalty::error::Invalid;

    let state = portal_state()?;
    let (session, brand, _) = match owner::<()>(&state, "/admin/brand").await? {
        Ok(s) => s,
        Err(_) => return Ok(()),
    };
    let number = |field: &'static str, s: &str| -> loyalty::Result<i64> {
        s.trim()
            .parse()
            .map_err(|_| loyalty::Error::invalid(field, Invalid::Format))
    };
    let mut tx = state.db.begin().await?;
    let saved = async {
        let mut conn_rules = loyalty::rules::load(&mut tx, &brand).await?;
        conn_rules.earn_fen_per_point = edge::parse_thousandths("earn", &earn_yuan)? / 10;
        conn_rules.signup_bonus_points = number("signup_bonus", &signup_bonus)?;
        conn_rules.expiry_months = match number("expiry", &expiry_months)? {
            0 => None,
            m => Some(m),
        };
        conn_rules.redeem_points_per_yuan = number("redeem_rate", &redeem_points_per_yuan)?;
        conn_rules.redeem_cap_pct = number("redeem_cap", &redeem_cap_pct)?;
        let mut days: Vec<i8> = bonus_weekdays
            .into_iter()
            .filter(|d| (1..=7).contains(d))
            .collect();
        days.sort_unstable();
        days.dedup();
        conn_rules.bonus_weekdays = days;
        conn_rules.bonus_multiplier_permille = edge::parse_thousandths("bonus", &bonus_multiple)?;
        let reward = loyalty::feedback::RewardRule {
            points: number("feedback_points", &feedback_points)?,
            coupon: match feedback_coupon.trim() {
                "" => None,
                t => Some(loyalty::coupons::TemplateId(number("feedback_coupon", t)?)),
            },
        };
        loyalty::brand_setup::save_rules(
            &mut tx,
            &loyalty::SystemClock,
            &session,
            &brand,
            conn_rules,
            reward,
        )
        .await
    }
    .await;
    match saved {
        Ok(()) => {
            tx.commit().await?;
            see_other("/admin/brand?saved=1#rules");
        }
        Err(e) => see_other_with("/admin/brand#rules", e)?,
    }
    Ok(())
}

/// The tier table, lowest first, as the form's parallel lists.
#[server(prefix = "/fn", endpoint = "save_brand_tiers")]
pub async fn save_brand_tiers(
    #[server(default)] name_zh_cn: Vec<String>,
    #[server(default)] name_zh_tw: Vec<String>,
    #[server(default)] name_en: Vec<String>,
    #[server(default)] threshold: Vec<String>,
    #[server(default)] discount: Vec<String>,
    #[server(default)] multiple: Vec<String>,
) -> Result<(), AppError> {
    use crate::functions::admin::owner;
    use crate::server::{portal_state, see_other, see_other_with};
    use loyalty::brand_setup::TierEdit;
    use loyalty::error::Invalid;

    let state = portal_state()?;
    let (session, _, _) = match owner::<()>(&state, "/admin/brand").await? {
        Ok(s) => s,
        Err(_) => return Ok(()),
    };
    let edits: loyalty::Result<Vec<TierEdit>> = (0..name_zh_cn.len())
        .map(|i| {
            let get = |v: &Vec<String>| v.get(i).cloned().unwrap_or_default();
            Ok(TierEdit {
                name_zh_cn: get(&name_zh_cn),
                name_zh_tw: get(&name_zh_tw),
                name_en: get(&name_en),
                threshold_fen: if get(&threshold).trim() == "0" {
                    0
                } else {
                    loyalty::till::parse_yuan("tier_threshold", &get(&threshold))
                        .map_err(|_| loyalty::Error::invalid("tier_threshold", Invalid::Format))?
                        .get()
                },
                discount_pct: get(&discount)
                    .trim()
                    .parse()
                    .map_err(|_| loyalty::Error::invalid("tier_discount", Invalid::Format))?,
                multiplier_permille: edge::parse_thousandths("tier_multiplier", &get(&multiple))?,
            })
        })
        .collect();
    let mut tx = state.db.begin().await?;
    let saved = match edits {
        Ok(edits) => {
            loyalty::brand_setup::save_tiers(&mut tx, &loyalty::SystemClock, &session, &edits).await
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => {
            tx.commit().await?;
            see_other("/admin/brand?saved=1#tiers");
        }
        Err(e) => see_other_with("/admin/brand#tiers", e)?,
    }
    Ok(())
}
