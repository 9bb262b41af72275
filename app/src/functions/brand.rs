//! `/admin/brand` (owners): the brand's profile and embedding, its member
//! terms, and its points rules. Thin edges over `loyalty::brands::settings`.

// Server functions take a form's fields as arguments; forms have many.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use crate::functions::form::staff_form;
use leptos::prelude::*;
use loyalty::access::Owner;
use loyalty::{brands, SystemClock};
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
    /// What a manager may adjust by hand without an owner's approval.
    pub limits: loyalty::points::adjustments::Limits,
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
}

pub async fn load_brand_settings() -> Result<StaffLoad<BrandSettings>, AppError> {
    let state = crate::server::portal_state()?;
    let (owner, brand, staff) = match crate::functions::admin::owner(&state, "/admin/brand").await?
    {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let screen = loyalty::brands::settings::screen(&state.db, &owner).await?;
    let (rules, reward) = (&screen.rules, screen.feedback_reward);
    let locale = crate::locale::to_locale(brand.default_language);
    Ok(StaffLoad::Page(Box::new(BrandSettings {
        staff,
        name: brand.name.clone(),
        theme_color: brand.theme_color.as_str().to_owned(),
        default_locale: brand.default_language.tag().to_owned(),
        time_zone: brand.time_zone.clone(),
        embed_origins: brand.embed_origins.join("\n"),
        sms_signature: brand.sms_signature.clone(),
        slug: brand.slug.as_str().to_owned(),
        terms_version: brand.terms_version.clone(),
        terms_text: brand.terms_text.clone(),
        // Fen per point as yuan: 100 → 1, 50 → 0.5.
        earn_yuan: edge::thousandths(rules.earn_fen_per_point * 10),
        signup_bonus: rules.signup_bonus_points,
        expiry_months: rules.expiry_months.unwrap_or(0),
        redeem_points_per_yuan: rules.redeem_points_per_yuan,
        redeem_cap_pct: rules.redeem_cap_pct,
        bonus_weekdays: rules.bonus_weekdays.clone(),
        bonus_multiple: edge::thousandths(rules.bonus_multiplier_permille),
        feedback_points: reward.points,
        feedback_coupon: reward.coupon.map(|t| t.0),
        templates: (screen.templates.iter())
            .map(|t| (t.id.0, crate::coupon_text::title(locale, &t.rule)))
            .collect(),
        tiers: screen.tiers.tiers().iter().map(TierLine::from).collect(),
        logo: (brand.logo_version > 0)
            .then(|| format!("/r/{}/logo?v={}", brand.slug, brand.logo_version)),
        limits: screen.adjustment_limits,
    })))
}

#[cfg(feature = "ssr")]
impl From<&loyalty::points::tiers::Tier> for TierLine {
    fn from(t: &loyalty::points::tiers::Tier) -> TierLine {
        TierLine {
            name_zh_cn: t.name_zh_cn.clone(),
            name_zh_tw: t.name_zh_tw.clone(),
            name_en: t.name_en.clone(),
            threshold: edge::thousandths(t.threshold_fen * 10),
            discount_pct: t.discount_pct,
            multiple: edge::thousandths(t.multiplier_permille),
        }
    }
}

#[server(prefix = "/fn", endpoint = "save_brand_profile")]
pub async fn save_brand_profile(
    #[server(flatten)] form: brands::settings::ProfileForm,
) -> Result<(), AppError> {
    staff_form("/admin/brand", async |state, owner| {
        let profile = form.profile()?;
        let save = async |tx: &mut sqlx::AnyConnection| {
            brands::settings::save_profile(tx, &SystemClock, &owner, profile).await
        };
        state.db.in_transaction(save).await?;
        state.db.auth_changed();
        Ok("/admin/brand?saved=1".to_owned())
    })
    .await
}

#[server(prefix = "/fn", endpoint = "publish_brand_terms")]
pub async fn publish_brand_terms(
    version: String,
    #[server(default)] text: String,
) -> Result<(), AppError> {
    staff_form("/admin/brand#terms", async |state, owner| {
        let publish = async |tx: &mut sqlx::AnyConnection| {
            brands::settings::publish_terms(tx, &SystemClock, &owner, &version, &text).await
        };
        state.db.in_transaction(publish).await?;
        state.db.auth_changed();
        Ok("/admin/brand?saved=1#terms".to_owned())
    })
    .await
}

#[server(prefix = "/fn", endpoint = "save_brand_rules")]
pub async fn save_brand_rules(
    #[server(flatten)] form: brands::settings::RulesForm,
    #[server(default)] bonus_weekdays: Vec<i8>,
) -> Result<(), AppError> {
    staff_form("/admin/brand#rules", async |state, owner: Owner| {
        let save = async |tx: &mut sqlx::AnyConnection| {
            let current = loyalty::points::rules::load(tx, owner.brand()).await?;
            let (rules, reward) = form.rules(current, bonus_weekdays)?;
            brands::settings::save_rules(tx, &SystemClock, &owner, rules, reward).await
        };
        state.db.in_transaction(save).await?;
        Ok("/admin/brand?saved=1#rules".to_owned())
    })
    .await
}

/// What a manager may adjust by hand without an owner's approval.
#[server(prefix = "/fn", endpoint = "save_adjustment_limits")]
pub async fn save_adjustment_limits(
    per_adjustment: String,
    per_day: String,
) -> Result<(), AppError> {
    use loyalty::infra::forms::number;
    use loyalty::points::adjustments::{self, Limits};
    staff_form("/admin/brand#limits", async |state, owner: Owner| {
        let limits = Limits {
            per_adjustment: number("adjustment_limit", &per_adjustment)?,
            per_day: number("adjustment_limit", &per_day)?,
        };
        adjustments::save_limits(&state.db, &SystemClock, &owner, limits).await?;
        Ok("/admin/brand?saved=1#limits".to_owned())
    })
    .await
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
    let form = brands::settings::TiersForm {
        name_zh_cn,
        name_zh_tw,
        name_en,
        threshold,
        discount,
        multiple,
    };
    staff_form("/admin/brand#tiers", async |state, owner| {
        let edits = form.edits()?;
        let save = async |tx: &mut sqlx::AnyConnection| {
            brands::settings::save_tiers(tx, &SystemClock, &owner, &edits).await
        };
        state.db.in_transaction(save).await?;
        Ok("/admin/brand?saved=1#tiers".to_owned())
    })
    .await
}
