//! The coupon wallet, a coupon's detail with its code for the cashier, and
//! the claim centre where a member takes a coupon for free or for points.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::functions::members::{BrandInfo, TierNames};
use crate::i18n::Locale;

/// A text the core wrote in each of the portal's languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Localized {
    pub zh_cn: String,
    pub zh_tw: String,
    pub en: String,
}

impl Localized {
    pub fn get(&self, locale: Locale) -> &str {
        match locale {
            Locale::zh_CN => &self.zh_cn,
            Locale::zh_TW => &self.zh_tw,
            Locale::en => &self.en,
        }
    }
}

/// What every coupon and offer shows: its rule, conditions and scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleView {
    pub title: Localized,
    /// `amount_off`, `percent_off`, `voucher`, `gift`.
    pub kind: String,
    /// The minimum bill when not in the title, and the weekly window.
    pub conditions: Vec<Localized>,
    pub min_tier: Option<TierNames>,
    pub stacks_with_tier: bool,
    /// Store names; empty: every store.
    pub stores: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponView {
    pub code: String,
    /// `7KQ3M-XR9TD`, to read aloud.
    pub grouped: String,
    pub rule: RuleView,
    /// available, used, expired
    pub status: String,
    /// First and last day it can be used, in the brand's calendar.
    pub first_day: String,
    pub last_day: String,
    pub not_started: bool,
    /// Whole days left (1: expires within a day), for available coupons.
    pub days_left: i64,
    /// When used: the day and the store.
    pub used: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletPage {
    pub brand: BrandInfo,
    pub tab: String,
    /// How many coupons are available, used, expired.
    pub counts: [usize; 3],
    pub coupons: Vec<CouponView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WalletLoad {
    NoBrand,
    SignedOut,
    Wallet(Box<WalletPage>),
}

pub const TABS: [&str; 3] = ["available", "used", "expired"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponDetail {
    pub brand: BrandInfo,
    pub coupon: CouponView,
    /// The code as a QR code, an inline SVG.
    pub qr_svg: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CouponLoad {
    NoBrand,
    SignedOut,
    NotFound(BrandInfo),
    Coupon(Box<CouponDetail>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferView {
    pub template: i64,
    pub rule: RuleView,
    /// Points it costs; None: free.
    pub price: Option<i64>,
    /// Valid N days from taking it, or until a date.
    pub valid_days: Option<i64>,
    pub valid_until: Option<String>,
    pub stock_left: Option<i64>,
    pub held: i64,
    /// out_of_stock, limit_reached, tier_too_low, not_enough_points
    pub blocked: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimPage {
    pub brand: BrandInfo,
    pub balance: i64,
    pub offers: Vec<OfferView>,
    /// Ties this page's buttons to one request each: a double tap or a
    /// resubmitted form finds the coupon the first tap took.
    pub nonce: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClaimLoad {
    NoBrand,
    SignedOut,
    Claim(Box<ClaimPage>),
}

#[cfg(feature = "ssr")]
mod build {
    use super::*;
    use loyalty::brands::{Brand, Language};
    use loyalty::coupons::{Held, Template};
    use loyalty::points::rules::local_date;
    use loyalty::points::tiers::TierTable;

    fn localized(f: impl Fn(Language) -> String) -> Localized {
        Localized {
            zh_cn: f(Language::ZhCn),
            zh_tw: f(Language::ZhTw),
            en: f(Language::En),
        }
    }

    pub fn rule_view(t: &Template, tiers: &TierTable, store_names: &[(i64, String)]) -> RuleView {
        let r = &t.rule;
        let mut conditions = Vec::new();
        use crate::coupon_text::{threshold, title, window};
        use crate::locale::to_locale;
        if threshold(Locale::en, r).is_some() {
            conditions.push(localized(|l| {
                threshold(to_locale(l), r).unwrap_or_default()
            }));
        }
        if window(Locale::en, r).is_some() {
            conditions.push(localized(|l| window(to_locale(l), r).unwrap_or_default()));
        }
        RuleView {
            title: localized(|l| title(to_locale(l), r)),
            kind: r.kind.as_str().to_owned(),
            conditions,
            min_tier: (t.min_tier_rank > 0)
                .then(|| TierNames::from(tiers.by_rank(t.min_tier_rank))),
            stacks_with_tier: t.stacks_with_tier,
            stores: t
                .stores
                .iter()
                .flatten()
                .filter_map(|s| {
                    store_names
                        .iter()
                        .find(|(id, _)| *id == s.0)
                        .map(|n| n.1.clone())
                })
                .collect(),
        }
    }

    pub fn coupon_view(brand: &Brand, h: &Held, rule: RuleView, now: i64) -> CouponView {
        let c = &h.coupon;
        let day = loyalty::coupons::DAY_MS;
        CouponView {
            code: c.code.as_str().to_owned(),
            grouped: c.code.grouped(),
            rule,
            status: h.status.as_str().to_owned(),
            first_day: local_date(&brand.time_zone, c.valid_from),
            // valid_until is the first moment it no longer works.
            last_day: local_date(&brand.time_zone, c.valid_until - 1),
            not_started: now < c.valid_from,
            days_left: ((c.valid_until - now) + day - 1).div_euclid(day).max(0),
            used: h
                .used
                .as_ref()
                .map(|(at, store)| (local_date(&brand.time_zone, *at), store.clone())),
        }
    }

    /// The tier table and the brand's store names, which every view needs.
    pub async fn context(
        db: &loyalty::Db,
        brand: &Brand,
    ) -> Result<(TierTable, Vec<(i64, String)>), loyalty::Error> {
        let mut conn = db.pool().acquire().await?;
        let tiers = loyalty::points::tiers::load(&mut conn, brand.id).await?;
        drop(conn);
        let stores = loyalty::brands::stores::list(db, brand.id)
            .await?
            .into_iter()
            .map(|s| (s.id.0, s.name))
            .collect();
        Ok((tiers, stores))
    }
}

pub async fn load_wallet(slug: String, tab: String) -> Result<WalletLoad, AppError> {
    use crate::server::{find_brand, portal_state, see_other, signed_in_member};
    use loyalty::coupons::{self, Status};

    let state = portal_state()?;
    let Some(brand) = find_brand(&state.db, &slug).await? else {
        return Ok(WalletLoad::NoBrand);
    };
    let Some(member) = signed_in_member(&state, brand.clone()).await? else {
        see_other(&format!("/r/{0}/join?next=/r/{0}/coupons", brand.slug));
        return Ok(WalletLoad::SignedOut);
    };
    let clock = loyalty::SystemClock;
    let tab = Status::parse(&tab).unwrap_or(Status::Available);
    let w = coupons::wallet_page(&state.db, &clock, &member, tab).await?;
    let stores: Vec<(i64, String)> = w.stores.into_iter().map(|s| (s.id.0, s.name)).collect();
    let now = loyalty::Clock::now_ms(&clock);
    let view = |h: &coupons::Held| {
        let rule = build::rule_view(&h.template, &w.tiers, &stores);
        build::coupon_view(&brand, h, rule, now)
    };
    Ok(WalletLoad::Wallet(Box::new(WalletPage {
        brand: BrandInfo::from(&brand),
        counts: w.counts,
        coupons: w.shown.iter().map(view).collect(),
        tab: w.tab.as_str().to_owned(),
    })))
}

pub async fn load_coupon(slug: String, code: String) -> Result<CouponLoad, AppError> {
    use crate::server::{current_member, find_brand, portal_state, see_other};
    use loyalty::coupons;

    let state = portal_state()?;
    let Some(brand) = find_brand(&state.db, &slug).await? else {
        return Ok(CouponLoad::NoBrand);
    };
    let Some(member) = current_member(&state, brand.id).await? else {
        see_other(&format!("/r/{0}/join?next=/r/{0}/coupons", brand.slug));
        return Ok(CouponLoad::SignedOut);
    };
    let clock = loyalty::SystemClock;
    let held = coupons::wallet(&state.db, &clock, brand.id, member).await?;
    // Only the member's own coupons: a code in the address bar shows nothing else.
    let Some(h) = coupons::CouponCode::parse(&code)
        .and_then(|code| held.into_iter().find(|h| h.coupon.code == code))
    else {
        return Ok(CouponLoad::NotFound(BrandInfo::from(&brand)));
    };
    let (tiers, stores) = build::context(&state.db, &brand).await?;
    let rule = build::rule_view(&h.template, &tiers, &stores);
    let view = build::coupon_view(&brand, &h, rule, loyalty::Clock::now_ms(&clock));
    Ok(CouponLoad::Coupon(Box::new(CouponDetail {
        brand: BrandInfo::from(&brand),
        qr_svg: crate::server::qr_svg(h.coupon.code.as_str()),
        coupon: view,
    })))
}

pub async fn load_offers(slug: String) -> Result<ClaimLoad, AppError> {
    use crate::server::{current_member, find_brand, portal_state, see_other};
    use loyalty::coupons::{self, OfferBlock};

    let state = portal_state()?;
    let Some(brand) = find_brand(&state.db, &slug).await? else {
        return Ok(ClaimLoad::NoBrand);
    };
    let Some(member) = current_member(&state, brand.id).await? else {
        see_other(&format!("/r/{0}/join?next=/r/{0}/claim", brand.slug));
        return Ok(ClaimLoad::SignedOut);
    };
    let clock = loyalty::SystemClock;
    let offers = coupons::offers(&state.db, &clock, brand.id, member).await?;
    let m = loyalty::members::find(&state.db, brand.id, member).await?;
    let (tiers, stores) = build::context(&state.db, &brand).await?;
    Ok(ClaimLoad::Claim(Box::new(ClaimPage {
        brand: BrandInfo::from(&brand),
        balance: m.points_balance,
        offers: offers
            .into_iter()
            .map(|o| OfferView {
                template: o.template.id.0,
                rule: build::rule_view(&o.template, &tiers, &stores),
                price: o.template.points_price,
                valid_days: o.template.valid_days,
                valid_until: o
                    .template
                    .ends_at
                    .map(|e| loyalty::points::rules::local_date(&brand.time_zone, e - 1)),
                stock_left: o.template.stock_left(),
                held: o.held,
                blocked: o.blocked.map(|b| {
                    match b {
                        OfferBlock::OutOfStock => "out_of_stock",
                        OfferBlock::LimitReached => "limit_reached",
                        OfferBlock::TierTooLow => "tier_too_low",
                        OfferBlock::NotEnoughPoints => "not_enough_points",
                    }
                    .to_owned()
                }),
            })
            .collect(),
        nonce: loyalty::coupons::CouponCode::generate().as_str().to_owned(),
    })))
}

/// The claim centre's button: a free coupon, or one bought with points.
/// Works as a plain form post; the result is the coupon's page, or the claim
/// centre again with the reason it did not work.
#[server(prefix = "/fn", endpoint = "take_coupon")]
pub async fn take_coupon(slug: String, template: i64, nonce: String) -> Result<(), AppError> {
    use loyalty::coupons::{self, TemplateId};
    crate::functions::form::member_form(&slug, "claim", async |state, member, _| {
        let clock = loyalty::SystemClock;
        let issued =
            coupons::take(&state.db, &clock, &member, TemplateId(template), &nonce).await?;
        let how = if issued.coupon.points_paid > 0 {
            "exchange"
        } else {
            "claim"
        };
        let (slug, code) = (&member.brand().slug, issued.coupon.code.as_str());
        Ok(format!("/r/{slug}/coupons/{code}?taken={how}"))
    })
    .await
}
