//! Joining, signing in and out, the member card and the profile. Every
//! function here is a form target that works without JavaScript: it answers
//! with a 303 to the page to show next, carrying a refusal as a message key
//! in the query string (never the phone number).

// A form target takes one argument per form field, and the profile has many.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use crate::functions::form::member_form;
use leptos::prelude::*;
use loyalty::SystemClock;
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

pub use crate::components::CardCode;

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
    /// Whether the member agreed that allergies and diet are kept.
    pub sensitive: bool,
    pub language: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberPage {
    pub brand: BrandInfo,
    pub member_no: String,
    pub display_name: String,
    pub points: i64,
    /// The prepaid balance (储值), principal and bonus together.
    pub stored_fen: i64,
    pub tier: TierNames,
    pub part: MemberPart,
    /// Replies to the member's feedback they have not read yet.
    pub unseen_replies: i64,
    /// Coupons the member can use now.
    pub usable_coupons: usize,
    /// Check-in, when the brand offers it.
    pub checkin: Option<CheckinView>,
}

/// What only one of the two pages shows, made only for it: the card's
/// rotating code (a QR code to draw) and the profile's form (the phone
/// masked, which parses it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemberPart {
    Card(CardCode),
    Profile(Box<ProfileView>),
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
impl From<&loyalty::points::tiers::Tier> for TierNames {
    fn from(t: &loyalty::points::tiers::Tier) -> Self {
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
pub(crate) mod edge {
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

    /// A member has just signed in (or joined) with a code: their cookie,
    /// the join's loose ends (a friend's link is followed: the reward comes
    /// with the first purchase; a refused link changes nothing), their own
    /// language. Returns where they go next.
    pub async fn signed_in(
        state: &crate::server::PortalState,
        brand: &Brand,
        signed: &loyalty::members::SignedIn,
        next: Option<&str>,
    ) -> String {
        use crate::server::{forget_join, forget_referral, referral_code, remember_language};
        crate::server::set_session_cookie(state, brand.id, &signed.token);
        forget_join(state);
        if let Some(code) = referral_code(brand.id) {
            if signed.joined {
                let (db, clock, member) = (&state.db, &loyalty::SystemClock, signed.member.id);
                // The member has joined whatever happens here.
                if let Err(e) =
                    loyalty::marketing::referrals::link(db, clock, brand.id, member, &code).await
                {
                    tracing::error!(error = %e, "linking a referral failed");
                }
            }
            forget_referral(state);
        }
        // The member's own language, once chosen, follows them to every device.
        if let Some(language) = signed.member.language {
            remember_language(state, language.tag());
        }
        let to = safe_next(brand, next);
        match (signed.joined, to.contains('?')) {
            (false, _) => to,
            (true, true) => format!("{to}&welcome=1"),
            (true, false) => format!("{to}?welcome=1"),
        }
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

    pub use crate::functions::admin::urlencode;
}

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
    use loyalty::members::phone::Phone;

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
    phone: loyalty::members::phone::Phone,
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
    let sent = loyalty::members::otp::send(
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
    use crate::server::{pending_join, portal_state, see_other};
    use loyalty::members::{self, Consent};

    let state = portal_state()?;
    let Some(brand) = edge::form_brand(&state, &slug).await? else {
        return Ok(());
    };
    let (terms_accepted, marketing) = (terms.is_some(), marketing.is_some());
    let signed = async {
        let pending = pending_join(&state, brand.id).filter(|p| p.sent_at > 0);
        let phone = pending.ok_or(AppError::new("code_missing"))?.phone;
        let code = loyalty::members::otp::LoginCode::parse(&code)?;
        let consent = Consent {
            terms_accepted,
            marketing,
        };
        let (secret, otp, sessions) = (&state.secret, &state.otp, &state.sessions);
        let clock = &SystemClock;
        Ok::<_, AppError>(
            members::sign_in(
                &state.db, clock, secret, otp, sessions, &brand, &phone, &code, consent,
            )
            .await?,
        )
    };
    match signed.await {
        Ok(signed) => see_other(&edge::signed_in(&state, &brand, &signed, next.as_deref()).await),
        Err(e) => see_other(&edge::join_url(
            &brand,
            &e.refused()?.query(),
            next.as_deref(),
        )),
    }
    Ok(())
}

#[server(prefix = "/fn", endpoint = "sign_out")]
pub async fn sign_out(slug: String) -> Result<(), AppError> {
    use crate::server::{clear_session_cookie, portal_state, see_other, session_token};

    let state = portal_state()?;
    let Some(brand) = edge::form_brand(&state, &slug).await? else {
        return Ok(());
    };
    if let Some(token) = session_token(&state, brand.id) {
        loyalty::members::sessions::end(&state.db, &loyalty::SystemClock, brand.id, &token).await?;
    }
    clear_session_cookie(&state, brand.id);
    see_other(&format!("/r/{}?notice=signed_out", brand.slug));
    Ok(())
}

#[cfg(feature = "ssr")]
fn card_code(state: &crate::server::PortalState, member: &loyalty::members::Member) -> CardCode {
    use loyalty::Clock as _;

    let clock = loyalty::SystemClock;
    let code = loyalty::members::member_code::current(
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
pub async fn load_member(slug: String, page: String) -> Result<MemberLoad, AppError> {
    use crate::server::{find_brand, portal_state, see_other, signed_in_card};

    let state = portal_state()?;
    let Some(brand) = find_brand(&state.db, &slug).await? else {
        return Ok(MemberLoad::NoBrand);
    };
    let page = if page == "me" { "me" } else { "card" };
    let Some((_, card)) = signed_in_card(&state, brand.clone()).await? else {
        let back = format!("/r/{}/{page}", brand.slug);
        see_other(&edge::join_url(&brand, "", Some(&back)));
        return Ok(MemberLoad::SignedOut);
    };
    let part = if page == "me" {
        MemberPart::Profile(Box::new(ProfileView::of(&card.member)))
    } else {
        MemberPart::Card(card_code(&state, &card.member))
    };
    Ok(MemberLoad::Member(Box::new(MemberPage::new(
        &brand, card, part,
    ))))
}

#[cfg(feature = "ssr")]
impl ProfileView {
    fn of(m: &loyalty::members::Member) -> Self {
        ProfileView {
            masked_phone: m.phone.masked(),
            display_name: m.display_name.clone(),
            birthday_month: m.birthday.map(|b| b.month),
            birthday_day: m.birthday.map(|b| b.day),
            birth_year: m.birthday.and_then(|b| b.year),
            gender: m.gender.as_str().to_owned(),
            dietary: m.dietary.iter().map(|d| d.as_str().to_owned()).collect(),
            marketing: m.marketing_consent(),
            sensitive: m.sensitive_consent(),
            allergies: m.allergies.clone(),
            language: m.language.map(|l| l.tag().to_owned()),
        }
    }
}

impl MemberPage {
    fn new(brand: &loyalty::brands::Brand, card: loyalty::members::Card, part: MemberPart) -> Self {
        let m = card.member;
        MemberPage {
            checkin: card.checkin.map(|today| CheckinView {
                done: today.done,
                streak: today.streak,
                points: today.rule.points,
                streak_days: today.rule.streak_days,
                streak_bonus: today.rule.streak_bonus,
            }),
            usable_coupons: card.usable_coupons as usize,
            unseen_replies: card.unseen_replies,
            brand: BrandInfo::from(brand),
            member_no: m.member_no.as_str().to_owned(),
            display_name: m.display_name.clone(),
            points: m.points_balance,
            stored_fen: card.stored_value.total_fen(),
            tier: TierNames::from(&card.tier),
            part,
        }
    }
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
    #[server(flatten)] form: loyalty::members::ProfileForm,
) -> Result<(), AppError> {
    member_form(&slug, "me", async |state, member, me| {
        let profile = form.profile()?;
        let language = profile.language;
        loyalty::members::save_profile(&state.db, &SystemClock, &member, profile).await?;
        if let Some(language) = language {
            crate::server::remember_language(state, language.tag());
        }
        Ok(format!("{me}?saved=1"))
    })
    .await
}

/// Deletes the member's account after an explicit confirmation.
#[server(prefix = "/fn", endpoint = "delete_account")]
pub async fn delete_account(slug: String, confirm: Option<String>) -> Result<(), AppError> {
    use crate::server::clear_session_cookie;
    member_form(&slug, "me#delete", async |state, member, _| {
        if confirm.is_none() {
            return Err(AppError::new("confirm_delete"));
        }
        loyalty::members::leave(&state.db, &SystemClock, &member).await?;
        clear_session_cookie(state, member.brand().id);
        Ok(format!("/r/{}?notice=deleted", member.brand().slug))
    })
    .await
}

/// The brand's own member terms for `/r/{brand}/privacy`; empty when the
/// brand uses the standard text (or does not exist).
pub async fn load_terms_text(slug: String) -> Result<String, AppError> {
    use crate::server::{find_brand, portal_state};

    let state = portal_state()?;
    Ok(find_brand(&state.db, &slug)
        .await?
        .map(|b| b.terms_text)
        .unwrap_or_default())
}
