//! `/admin/brand`: the owner's brand settings in three forms: the brand
//! (name, colour, language, time zone, sites that may frame the portal),
//! the member terms with their version, and the points rules.

use leptos::prelude::*;

use crate::components::{Notice, Page, PageBrand};
use crate::functions::brand::PublishBrandTerms;
use crate::functions::brand::SaveAdjustmentLimits;
use crate::functions::brand::SaveBrandProfile;
use crate::functions::brand::SaveBrandRules;
use crate::functions::brand::SaveBrandTiers;
use crate::functions::brand::{load_brand_settings, BrandSettings};
use crate::i18n::*;
use crate::routes::admin::console_nav;
use crate::routes::{page_locale, staff_page};
use leptos::server_fn::ServerFn as _;

#[component]
pub fn AdminBrand() -> impl IntoView {
    staff_page(load_brand_settings, |page| {
        view! { <Settings page /> }.into_any()
    })
}

/// Common zones first; any IANA name can be typed.
const ZONES: [&str; 8] = [
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Macau",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Europe/London",
    "America/Los_Angeles",
];

pub(crate) fn weekday_name(locale: Locale, d: i8) -> String {
    match d {
        1 => td_string!(locale, weekday_1),
        2 => td_string!(locale, weekday_2),
        3 => td_string!(locale, weekday_3),
        4 => td_string!(locale, weekday_4),
        5 => td_string!(locale, weekday_5),
        6 => td_string!(locale, weekday_6),
        _ => td_string!(locale, weekday_7),
    }
    .to_string()
}

#[component]
fn Settings(page: BrandSettings) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let languages = [("zh-CN", "简体中文"), ("zh-TW", "繁體中文"), ("en", "English")]
        .into_iter()
        .map(|(tag, name)| view! { <option value=tag selected=page.default_locale == tag>{name}</option> })
        .collect_view();
    let zones = ZONES
        .into_iter()
        .map(|z| view! { <option value=z></option> })
        .collect_view();
    let weekdays = (1..=7i8)
        .map(|d| {
            view! {
                <label class="check">
                    <input type="checkbox" name="bonus_weekdays[]" value=d.to_string() checked=page.bonus_weekdays.contains(&d) />
                    {weekday_name(locale, d)}
                </label>
            }
        })
        .collect_view();
    let templates = page
        .templates
        .iter()
        .map(|(id, title)| view! { <option value=id.to_string() selected=page.feedback_coupon == Some(*id)>{title.clone()}</option> })
        .collect_view();
    let tier_rows = page
        .tiers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let id = |f: &str| format!("tier-{i}-{f}");
            view! {
                <fieldset class="tier-edit">
                    <legend>{format!("{} · {}", i, t.name_zh_cn)}</legend>
                    <label for=id("cn")>"简体"</label>
                    <input id=id("cn") name="name_zh_cn[]" required maxlength="20" value=t.name_zh_cn.clone() />
                    <label for=id("tw")>"繁體"</label>
                    <input id=id("tw") name="name_zh_tw[]" required maxlength="20" value=t.name_zh_tw.clone() />
                    <label for=id("en")>"English"</label>
                    <input id=id("en") name="name_en[]" required maxlength="20" value=t.name_en.clone() />
                    <label for=id("threshold")>{td_string!(locale, brand_tier_threshold)}</label>
                    <input id=id("threshold") name="threshold[]" inputmode="decimal" required maxlength="12" value=t.threshold.clone() readonly=i == 0 />
                    <label for=id("discount")>{td_string!(locale, brand_tier_discount)}</label>
                    <input id=id("discount") name="discount[]" type="number" min="0" max="50" required value=t.discount_pct.to_string() />
                    <label for=id("multiple")>{td_string!(locale, brand_tier_multiple)}</label>
                    <input id=id("multiple") name="multiple[]" inputmode="decimal" required maxlength="6" value=t.multiple.clone() />
                </fieldset>
            }
        })
        .collect_view();
    let embed_example = format!("<iframe src=\"/r/{}?embed=1\"></iframe>", page.slug);
    view! {
        <Page locale title=td_string!(locale, admin_brand).to_string() brand>
            {console_nav(locale, &page.staff)}
            <h1>{td_string!(locale, admin_brand)}</h1>
            <Notice locale />

            <form class="stack panel" method="post" action=SaveBrandProfile::PATH id="profile">
                <h2>{td_string!(locale, brand_profile)}</h2>
                <label for="brand-name">{td_string!(locale, brand_name)}</label>
                <input id="brand-name" name="name" required maxlength="80" value=page.name.clone() />
                <label for="brand-color">{td_string!(locale, brand_color)}</label>
                <input id="brand-color" name="theme_color" type="color" value=page.theme_color.clone() />
                <label for="brand-language">{td_string!(locale, brand_language)}</label>
                <select id="brand-language" name="default_locale">{languages}</select>
                <label for="brand-zone">{td_string!(locale, brand_zone)}</label>
                <input id="brand-zone" name="time_zone" list="zones" required maxlength="64" value=page.time_zone.clone() />
                <datalist id="zones">{zones}</datalist>
                <label for="brand-signature">{td_string!(locale, brand_signature)}</label>
                <input id="brand-signature" name="sms_signature" maxlength="20" value=page.sms_signature.clone()
                    placeholder=page.name.clone() aria-describedby="signature-hint" />
                <p class="muted" id="signature-hint">{td_string!(locale, brand_signature_hint)}</p>
                <label for="brand-embed">{td_string!(locale, brand_embed)}</label>
                <textarea id="brand-embed" name="embed_origins" rows="3" maxlength="2000" aria-describedby="embed-hint"
                    placeholder="https://www.example.com">{page.embed_origins.clone()}</textarea>
                <p class="muted" id="embed-hint">{td_string!(locale, brand_embed_hint)} " " <code>{embed_example}</code></p>
                <button class="button primary" type="submit">{td_string!(locale, setup_save)}</button>
            </form>

            <form class="stack panel" method="post" action="/admin/brand/logo" enctype="multipart/form-data" id="logo">
                <h2>{td_string!(locale, brand_logo)}</h2>
                {page.logo.clone().map(|src| view! { <img class="logo-preview" src=src alt=td_string!(locale, brand_logo_current) width="96" height="96" /> })}
                <label for="logo-file">{td_string!(locale, brand_logo_file)}</label>
                <input id="logo-file" name="logo" type="file" accept="image/png,image/jpeg,image/webp" aria-describedby="logo-hint" />
                <p class="muted" id="logo-hint">{td_string!(locale, brand_logo_hint)}</p>
                <div class="button-row">
                    <button class="button primary" type="submit">{td_string!(locale, brand_logo_upload)}</button>
                    {page.logo.is_some().then(|| view! {
                        <button class="button secondary" type="submit" name="remove" value="1">{td_string!(locale, brand_logo_remove)}</button>
                    })}
                </div>
            </form>

            <form class="stack panel" method="post" action=PublishBrandTerms::PATH id="terms">
                <h2>{td_string!(locale, brand_terms)}</h2>
                <p class="muted">{td_string!(locale, brand_terms_hint)}</p>
                <label for="terms-version">{td_string!(locale, brand_terms_version)}</label>
                <input id="terms-version" name="version" required maxlength="20" value=page.terms_version.clone() />
                <label for="terms-text">{td_string!(locale, brand_terms_text)}</label>
                <textarea id="terms-text" name="text" rows="8" maxlength="20000">{page.terms_text.clone()}</textarea>
                <a class="small-link" href=format!("/r/{}/privacy", page.slug)>{td_string!(locale, brand_terms_view)}</a>
                <button class="button primary" type="submit">{td_string!(locale, brand_terms_publish)}</button>
            </form>

            <form class="stack panel" method="post" action=SaveBrandTiers::PATH id="tiers">
                <h2>{td_string!(locale, brand_tiers)}</h2>
                <p class="muted">{td_string!(locale, brand_tiers_hint)}</p>
                {tier_rows}
                <button class="button primary" type="submit">{td_string!(locale, setup_save)}</button>
            </form>

            <form class="stack panel" method="post" action=SaveBrandRules::PATH id="rules">
                <h2>{td_string!(locale, brand_rules)}</h2>
                <label for="earn">{td_string!(locale, brand_earn)}</label>
                <input id="earn" name="earn_yuan" inputmode="decimal" required maxlength="8" value=page.earn_yuan.clone() />
                <label for="signup">{td_string!(locale, brand_signup_bonus)}</label>
                <input id="signup" name="signup_bonus" type="number" min="0" max="100000" required value=page.signup_bonus.to_string() />
                <label for="expiry">{td_string!(locale, brand_expiry)}</label>
                <input id="expiry" name="expiry_months" type="number" min="0" max="120" required value=page.expiry_months.to_string() />
                <label for="redeem-rate">{td_string!(locale, brand_redeem_rate)}</label>
                <input id="redeem-rate" name="redeem_points_per_yuan" type="number" min="1" max="100000" required value=page.redeem_points_per_yuan.to_string() />
                <label for="redeem-cap">{td_string!(locale, brand_redeem_cap)}</label>
                <input id="redeem-cap" name="redeem_cap_pct" type="number" min="0" max="100" required value=page.redeem_cap_pct.to_string() />
                <fieldset>
                    <legend>{td_string!(locale, brand_bonus_days)}</legend>
                    {weekdays}
                </fieldset>
                <label for="bonus">{td_string!(locale, brand_bonus_multiple)}</label>
                <input id="bonus" name="bonus_multiple" inputmode="decimal" required maxlength="6" value=page.bonus_multiple.clone() />
                <label for="feedback-points">{td_string!(locale, brand_feedback_points)}</label>
                <input id="feedback-points" name="feedback_points" type="number" min="0" max="10000" required value=page.feedback_points.to_string() />
                <label for="feedback-coupon">{td_string!(locale, brand_feedback_coupon)}</label>
                <select id="feedback-coupon" name="feedback_coupon">
                    <option value="">{td_string!(locale, brand_none)}</option>
                    {templates}
                </select>
                <button class="button primary" type="submit">{td_string!(locale, setup_save)}</button>
            </form>

            <form class="stack panel" method="post" action=SaveAdjustmentLimits::PATH id="limits">
                <h2>{td_string!(locale, brand_limits_title)}</h2>
                <p class="muted">{td_string!(locale, brand_limits_help)}</p>
                <label for="limit-each">{td_string!(locale, brand_limits_each)}</label>
                <input id="limit-each" name="per_adjustment" type="number" min="0" max="10000000" required value=page.limits.per_adjustment.to_string() />
                <label for="limit-day">{td_string!(locale, brand_limits_day)}</label>
                <input id="limit-day" name="per_day" type="number" min="0" max="10000000" required value=page.limits.per_day.to_string() />
                <button class="button primary" type="submit">{td_string!(locale, brand_limits_save)}</button>
            </form>
        </Page>
    }
}
