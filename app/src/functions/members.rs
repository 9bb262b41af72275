//! Joining, signing in and out, the member card and the profile. Every
//! function here is a form target that works without JavaScript: it answers
//! with a 303 to the page to show next, carrying a refusal as a message key
//! in the query string (never the phone number).

// A form target takes one argument per form field, and the profile has many.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::Locale;

/// The few facts about a brand every member page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandInfo {
    pub slug: String,
    pub name: String,
    pub theme_color: String,
    pub default_locale: Locale,
    pub terms_version: String,
    /// 0: no logo; else the version in the logo's URL.
    pub logo_version: i64,
}

#[cfg(feature = "ssr")]
impl From<&loyalty::brands::Brand> for BrandInfo {
    fn from(b: &loyalty::brands::Brand) -> Self {
        BrandInfo {
            slug: b.slug.to_string(),
            name: b.name.clone(),
            theme_color: b.theme_color.as_str().to_owned(),
            default_locale: b.default_language.tag().parse().unwrap_or_default(),
            terms_version: b.terms_version.clone(),
            logo_version: b.logo_version,
        }
    }
}

/// A code is on its way to this phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCode {
    pub masked_phone: String,
    /// Seconds until another code may be requested.
    pub resend_in: i64,
    /// The phone is not a member yet: the form asks for consent.
    pub new_member: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinPage {
    pub brand: BrandInfo,
    pub pending: Option<PendingCode>,
    pub signed_in: bool,
}

/// The rotating code as the card shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardCode {
    pub digits: String,
    pub grouped: String,
    /// The QR code as an SVG document, drawn on the server.
    pub qr_svg: String,
    /// Milliseconds until the code changes.
    pub refresh_in_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileView {
    pub masked_phone: String,
    pub display_name: String,
    pub birthday_month: Option<u8>,
    pub birthday_day: Option<u8>,
    pub birth_year: Option<u16>,
    pub gender: String,
    pub dietary: Vec<String>,
    pub allergies: String,
    pub marketing: bool,
    pub language: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberPage {
    pub brand: BrandInfo,
    pub member_no: String,
    pub display_name: String,
    pub points: i64,
    pub tier: TierNames,
    pub code: CardCode,
    pub profile: ProfileView,
    /// Replies to the member's feedback they have not read yet.
    pub unseen_replies: i64,
    /// Coupons the member can use now.
    pub usable_coupons: usize,
    /// Check-in, when the brand offers it.
    pub checkin: Option<CheckinView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckinView {
    pub done: bool,
    pub streak: i64,
    pub points: i64,
    pub streak_days: i64,
    pub streak_bonus: i64,
}

/// A tier's name in each language the portal speaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierNames {
    pub code: String,
    pub zh_cn: String,
    pub zh_tw: String,
    pub en: String,
}

#[cfg(feature = "ssr")]
impl From<&loyalty::tiers::Tier> for TierNames {
    fn from(t: &loyalty::tiers::Tier) -> Self {
        TierNames {
            code: t.code.clone(),
            zh_cn: t.name_zh_cn.clone(),
            zh_tw: t.name_zh_tw.clone(),
            en: t.name_en.clone(),
        }
    }
}

impl TierNames {
    pub fn name(&self, locale: Locale) -> &str {
        match locale {
            Locale::en => &self.en,
            Locale::zh_TW => &self.zh_tw,
            _ => &self.zh_cn,
        }
    }
}

/// What a signed-in member page finds; signed out, the page has already
/// been redirected to the join form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemberLoad {
    NoBrand,
    SignedOut,
    Member(Box<MemberPage>),
}

#[cfg(feature = "ssr")]
mod edge {
    use loyalty::brands::Brand;

    /// The brand a form names; an unknown one sends the browser home.
    pub async fn form_brand(
        state: &crate::server::PortalState,
        slug: &str,
    ) -> Result<Option<Brand>, crate::error::AppError> {
        let brand = crate::server::find_brand(&state.db, slug).await?;
        if brand.is_none() {
            crate::server::see_other("/");
        }
        Ok(brand)
    }

    /// Where to go after signing in: a page of this brand, else the card.
    pub fn safe_next(brand: &Brand, next: Option<&str>) -> String {
        let prefix = format!("/r/{}/", brand.slug);
        next.filter(|n| {
            n.starts_with(&prefix)
                && !n.contains("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control)
        })
        .map(str::to_owned)
        .unwrap_or_else(|| format!("/r/{}/card", brand.slug))
    }

    pub fn join_url(brand: &Brand, query: &str, next: Option<&str>) -> String {
        let mut url = format!("/r/{}/join", brand.slug);
        let mut sep = '?';
        if !query.is_empty() {
            url.push(sep);
            url.push_str(query);
            sep = '&';
        }
        if let Some(next) = next.filter(|n| n.starts_with('/')) {
            url.push(sep);
            url.push_str("next=");
            url.push_str(&urlencode(next));
        }
        url
    }

    pub fn urlencode(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
}

#[server(prefix = "/fn", endpoint = "load_join")]
pub async fn load_join(slug: String) -> Result<Option<JoinPage>, AppError> {
    use crate::server::{current_member, find_brand, pending_join, portal_state};
    use loyalty::Clock as _;

    let state = portal_state()?;
    let Some(brand) = find_brand(&state.db, &slug).await? else {
        return Ok(None);
    };
    let signed_in = current_member(&state, brand.id).await?.is_some();
    let pending = match pending_join(&state, brand.id) {
        Some(p) if p.sent_at > 0 => {
            let mut conn = state.db.pool().acquire().await?;
            let known = loyalty::members::find_by_phone(&mut conn, brand.id, &p.phone)
                .await?
                .is_some();
            let now = loyalty::SystemClock.now_ms();
            Some(PendingCode {
                masked_phone: p.phone.masked(),
                resend_in: ((p.sent_at + state.otp.resend_after_ms - now).max(0) + 999) / 1000,
                new_member: !known,
            })
        }
        _ => None,
    };
    Ok(Some(JoinPage {
        brand: BrandInfo::from(&brand),
        pending,
        signed_in,
    }))
}

/// Step one: a phone number in, a code out (or a clear reason why not).
#[server(prefix = "/fn", endpoint = "request_code")]
pub async fn request_code(
    slug: String,
    country: String,
    phone: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{client_ip, portal_state, request_parts, see_other};
    use loyalty::phone::Phone;

    let state = portal_state()?;
    let Some(brand) = edge::form_brand(&state, &slug).await? else {
        return Ok(());
    };
    let next = next.as_deref();
    let phone = match Phone::parse(&country, &phone) {
        Ok(p) => p,
        Err(e) => {
            // What was typed goes back into the form: it is not a usable number.
            let typed: String = phone.chars().take(20).collect();
            let country: String = country.chars().take(4).collect();
            let query = format!(
                "{}&cc={}&phone={}",
                crate::error::AppError::from(e).query(),
                edge::urlencode(&country),
                edge::urlencode(&typed)
            );
            see_other(&edge::join_url(&brand, &query, next));
            return Ok(());
        }
    };
    send_code(&state, &brand, phone, &client_ip(&request_parts()?), next).await
}

/// "Send a new code" on step two: the same phone again.
#[server(prefix = "/fn", endpoint = "resend_code")]
pub async fn resend_code(slug: String, next: Option<String>) -> Result<(), AppError> {
    use crate::server::{client_ip, pending_join, portal_state, request_parts, see_other};

    let state = portal_state()?;
    let Some(brand) = edge::form_brand(&state, &slug).await? else {
        return Ok(());
    };
    let Some(pending) = pending_join(&state, brand.id) else {
        see_other(&edge::join_url(&brand, "", next.as_deref()));
        return Ok(());
    };
    send_code(
        &state,
        &brand,
        pending.phone,
        &client_ip(&request_parts()?),
        next.as_deref(),
    )
    .await
}

#[cfg(feature = "ssr")]
async fn send_code(
    state: &crate::server::PortalState,
    brand: &loyalty::brands::Brand,
    phone: loyalty::phone::Phone,
    ip: &str,
    next: Option<&str>,
) -> Result<(), AppError> {
    use crate::server::{pending_join, remember_join, request_locale, see_other, PendingJoin};
    use loyalty::brands::Language;
    use loyalty::Clock as _;

    let language = request_locale()
        .0
        .and_then(|l| Language::from_tag(crate::i18n::I18nLocaleTrait::as_str(l)))
        .unwrap_or(brand.default_language);
    let sent = loyalty::otp::send(
        &state.db,
        &loyalty::SystemClock,
        &state.secret,
        &state.otp,
        state.sender.as_ref(),
        brand,
        &phone,
        ip,
        language,
    )
    .await;
    // A refused phone stays in the form, so the member does not type it twice.
    let (query, sent_at) = match sent {
        Ok(_) => ("sent=1".to_owned(), loyalty::SystemClock.now_ms()),
        Err(e) => {
            let query = crate::error::AppError::from(e).refused()?.query();
            let before = pending_join(state, brand.id)
                .filter(|p| p.phone == phone)
                .map_or(0, |p| p.sent_at);
            (query, before)
        }
    };
    remember_join(
        state,
        &PendingJoin {
            brand: brand.id,
            phone,
            sent_at,
        },
    );
    see_other(&edge::join_url(brand, &query, next));
    Ok(())
}

/// Step two: the code (and, for a new member, consent) in; signed in out.
#[server(prefix = "/fn", endpoint = "verify_code")]
pub async fn verify_code(
    slug: String,
    code: String,
    terms: Option<String>,
    marketing: Option<String>,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{forget_join, pending_join, portal_state, see_other, set_session_cookie};
    use loyalty::members::{self, Consent};
    use loyalty::otp::LoginCode;

    let state = portal_state()?;
    let Some(brand) = edge::form_brand(&state, &slug).await? else {
        return Ok(());
    };
    let next = next.as_deref();
    let Some(pending) = pending_join(&state, brand.id).filter(|p| p.sent_at > 0) else {
        see_other(&edge::join_url(
            &brand,
            &AppError::new("code_missing").query(),
            next,
        ));
        return Ok(());
    };
    let result = match LoginCode::parse(&code) {
        Ok(code) => {
            members::sign_in(
                &state.db,
                &loyalty::SystemClock,
                &state.secret,
                &state.otp,
                &state.sessions,
                &brand,
                &pending.phone,
                &code,
                Consent {
                    terms_accepted: terms.is_some(),
                    marketing: marketing.is_some(),
                },
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(signed) => {
            set_session_cookie(&state, brand.id, &signed.token);
            forget_join(&state);
            // Joined through a friend's link: link the two (the reward
            // follows the first purchase). A refused link changes nothing.
            if let Some(code) = crate::server::referral_code(brand.id) {
                if signed.joined {
                    // The member has joined whatever happens here.
                    if let Err(e) = loyalty::referrals::link(
                        &state.db,
                        &loyalty::SystemClock,
                        brand.id,
                        signed.member.id,
                        &code,
                    )
                    .await
                    {
                        tracing::error!(error = %e, "linking a referral failed");
                    }
                }
                crate::server::forget_referral(&state);
            }
            // The member's own language, once chosen, follows them to every device.
            if let Some(language) = signed.member.language {
                crate::server::remember_language(&state, language.tag());
            }
            let to = edge::safe_next(&brand, next);
            let to = if signed.joined {
                format!("{to}{}welcome=1", if to.contains('?') { '&' } else { '?' })
            } else {
                to
            };
            see_other(&to);
            Ok(())
        }
        Err(e) => {
            let query = crate::error::AppError::from(e).refused()?.query();
            see_other(&edge::join_url(&brand, &query, next));
            Ok(())
        }
    }
}

#[server(prefix = "/fn", endpoint = "sign_out")]
pub async fn sign_out(slug: String) -> Result<(), AppError> {
    use crate::server::{clear_session_cookie, portal_state, see_other, session_token};

    let state = portal_state()?;
    let Some(brand) = edge::form_brand(&state, &slug).await? else {
        return Ok(());
    };
    if let Some(token) = session_token(&state, brand.id) {
        loyalty::sessions::end(&state.db, &loyalty::SystemClock, brand.id, &token).await?;
    }
    clear_session_cookie(&state, brand.id);
    see_other(&format!("/r/{}?notice=signed_out", brand.slug));
    Ok(())
}

#[cfg(feature = "ssr")]
fn card_code(state: &crate::server::PortalState, member: &loyalty::members::Member) -> CardCode {
    use loyalty::Clock as _;

    let clock = loyalty::SystemClock;
    let code = loyalty::member_code::current(
        &state.secret,
        &clock,
        member.brand_id,
        member.id,
        &member.member_no,
    );
    // Numeric mode keeps the QR small (version 1) and quick to scan.
    let qr_svg = crate::server::qr_svg(&code.digits);
    CardCode {
        grouped: code.grouped(),
        refresh_in_ms: (code.valid_until - clock.now_ms()).max(0),
        digits: code.digits,
        qr_svg,
    }
}

/// The card and profile pages' data; signed out, a redirect to the join form
/// that brings the member back here afterwards.
#[server(prefix = "/fn", endpoint = "load_my_card")]
pub async fn load_member(slug: String, page: String) -> Result<MemberLoad, AppError> {
    use crate::server::{current_member, find_brand, portal_state, see_other};
    use loyalty::members;

    let state = portal_state()?;
    let Some(brand) = find_brand(&state.db, &slug).await? else {
        return Ok(MemberLoad::NoBrand);
    };
    let page = if page == "me" { "me" } else { "card" };
    let Some(member_id) = current_member(&state, brand.id).await? else {
        let back = format!("/r/{}/{page}", brand.slug);
        see_other(&edge::join_url(&brand, "", Some(&back)));
        return Ok(MemberLoad::SignedOut);
    };
    let m = match members::find(&state.db, brand.id, member_id).await {
        Ok(m) => m,
        Err(e) => return Err(e.into()),
    };
    let unseen_replies = loyalty::feedback::unseen_replies(&state.db, brand.id, member_id).await?;
    let usable_coupons =
        loyalty::coupons::usable_count(&state.db, &loyalty::SystemClock, brand.id, member_id)
            .await? as usize;
    let today =
        loyalty::checkin::today(&state.db, &loyalty::SystemClock, &brand, member_id).await?;
    let checkin = today.rule.is_on().then_some(CheckinView {
        done: today.done,
        streak: today.streak,
        points: today.rule.points,
        streak_days: today.rule.streak_days,
        streak_bonus: today.rule.streak_bonus,
    });
    Ok(MemberLoad::Member(Box::new(MemberPage {
        checkin,
        usable_coupons,
        unseen_replies,
        brand: BrandInfo::from(&brand),
        member_no: m.member_no.as_str().to_owned(),
        display_name: m.display_name.clone(),
        points: m.points_balance,
        tier: {
            let mut conn = crate::server::connection(&state).await?;
            let table = loyalty::tiers::load(&mut conn, brand.id).await?;
            TierNames::from(table.by_rank(m.tier_rank))
        },
        code: card_code(&state, &m),
        profile: ProfileView {
            masked_phone: m.phone.masked(),
            display_name: m.display_name.clone(),
            birthday_month: m.birthday.map(|b| b.month),
            birthday_day: m.birthday.map(|b| b.day),
            birth_year: m.birthday.and_then(|b| b.year),
            gender: m.gender.as_str().to_owned(),
            dietary: m.dietary.iter().map(|d| d.as_str().to_owned()).collect(),
            allergies: m.allergies.clone(),
            marketing: m.marketing_consent(),
            language: m.language.map(|l| l.tag().to_owned()),
        },
    })))
}

/// The card's island asks for the next code when the current one runs out.
#[server(prefix = "/fn", endpoint = "next_card_code", input = leptos::server_fn::codec::GetUrl)]
pub async fn next_card_code(slug: String) -> Result<Option<CardCode>, AppError> {
    use crate::server::{current_member, find_brand, portal_state};

    let state = portal_state()?;
    let Some(brand) = find_brand(&state.db, &slug).await? else {
        return Ok(None);
    };
    let Some(member_id) = current_member(&state, brand.id).await? else {
        return Ok(None);
    };
    match loyalty::members::find(&state.db, brand.id, member_id).await {
        Ok(m) => Ok(Some(card_code(&state, &m))),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[server(prefix = "/fn", endpoint = "save_profile")]
pub async fn save_profile(
    slug: String,
    display_name: String,
    birthday_month: String,
    birthday_day: String,
    birth_year: String,
    gender: String,
    diet_vegetarian: Option<String>,
    diet_vegan: Option<String>,
    diet_halal: Option<String>,
    diet_no_spicy: Option<String>,
    diet_no_pork: Option<String>,
    diet_no_beef: Option<String>,
    diet_no_seafood: Option<String>,
    diet_low_sugar: Option<String>,
    allergies: String,
    marketing: Option<String>,
    language: String,
) -> Result<(), AppError> {
    use crate::server::{current_member, portal_state, see_other};
    use loyalty::brands::Language;
    use loyalty::members::{self, Birthday, Diet, Gender, Profile};

    let state = portal_state()?;
    let Some(brand) = edge::form_brand(&state, &slug).await? else {
        return Ok(());
    };
    let me = format!("/r/{}/me", brand.slug);
    let Some(member_id) = current_member(&state, brand.id).await? else {
        see_other(&edge::join_url(&brand, "", Some(&me)));
        return Ok(());
    };
    let number = |s: &str| s.trim().parse::<u16>().ok();
    let birthday = match (number(&birthday_month), number(&birthday_day)) {
        (None, None) if birthday_month.trim().is_empty() && birthday_day.trim().is_empty() => {
            Ok(None)
        }
        (Some(m), Some(d)) if m <= 12 && d <= 31 => {
            let year = if birth_year.trim().is_empty() {
                None
            } else {
                Some(number(&birth_year).unwrap_or(0))
            };
            Birthday::new(m as u8, d as u8, year).map(Some)
        }
        _ => Err(loyalty::Error::Invalid {
            field: "birthday",
            reason: loyalty::error::Invalid::Format,
        }),
    };
    let birthday = match birthday {
        Ok(b) => b,
        Err(e) => {
            return crate::server::see_other_with(&me, e);
        }
    };
    let ticked = [
        (Diet::Vegetarian, diet_vegetarian),
        (Diet::Vegan, diet_vegan),
        (Diet::Halal, diet_halal),
        (Diet::NoSpicy, diet_no_spicy),
        (Diet::NoPork, diet_no_pork),
        (Diet::NoBeef, diet_no_beef),
        (Diet::NoSeafood, diet_no_seafood),
        (Diet::LowSugar, diet_low_sugar),
    ];
    let language = Language::from_tag(&language);
    let profile = Profile {
        display_name,
        birthday,
        gender: Gender::parse(&gender).unwrap_or_default(),
        dietary: ticked
            .into_iter()
            .filter_map(|(d, on)| on.map(|_| d))
            .collect(),
        allergies,
        marketing: marketing.is_some(),
        language,
    };
    let mut conn = crate::server::connection(&state).await?;
    match members::update_profile(
        &mut conn,
        &loyalty::SystemClock,
        brand.id,
        member_id,
        profile,
    )
    .await
    {
        Ok(_) => {
            if let Some(language) = language {
                crate::server::remember_language(&state, language.tag());
            }
            see_other(&format!("{me}?saved=1"));
            Ok(())
        }
        Err(e) => crate::server::see_other_with(&me, e),
    }
}

/// Deletes the member's account after an explicit confirmation.
#[server(prefix = "/fn", endpoint = "delete_account")]
pub async fn delete_account(slug: String, confirm: Option<String>) -> Result<(), AppError> {
    use crate::server::{clear_session_cookie, current_member, portal_state, see_other};

    let state = portal_state()?;
    let Some(brand) = edge::form_brand(&state, &slug).await? else {
        return Ok(());
    };
    let Some(member_id) = current_member(&state, brand.id).await? else {
        see_other(&edge::join_url(&brand, "", None));
        return Ok(());
    };
    if confirm.is_none() {
        return crate::server::see_other_with(
            &format!("/r/{}/me#delete", brand.slug),
            AppError::new("confirm_delete"),
        );
    }
    let mut tx = state.db.begin().await?;
    loyalty::members::erase(&mut tx, &loyalty::SystemClock, brand.id, member_id).await?;
    tx.commit().await?;
    clear_session_cookie(&state, brand.id);
    see_other(&format!("/r/{}?notice=deleted", brand.slug));
    Ok(())
}

/// The brand's own member terms for `/r/{brand}/privacy`; empty when the
/// brand uses the standard text (or does not exist).
#[server(prefix = "/fn", endpoint = "load_terms_text")]
pub async fn load_terms_text(slug: String) -> Result<String, AppError> {
    use crate::server::{find_brand, portal_state};

    let state = portal_state()?;
    Ok(find_brand(&state.db, &slug)
        .await?
        .map(|b| b.terms_text)
        .unwrap_or_default())
}
