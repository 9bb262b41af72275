//! The coupon wallet (`/r/{brand}/coupons`), one coupon with its code for
//! the cashier (`/r/{brand}/coupons/{code}`) and the claim centre
//! (`/r/{brand}/claim`). All server-rendered; the claim buttons are plain
//! forms, so they work before (and without) any WebAssembly.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::{Notice, Page, PageBrand};
use crate::functions::coupons::TakeCoupon;
use crate::functions::coupons::{
    load_coupon, load_offers, load_wallet, ClaimLoad, ClaimPage, CouponDetail, CouponLoad,
    CouponView, OfferView, RuleView, WalletLoad, WalletPage, TABS,
};
use crate::i18n::*;
use crate::routes::{loaded_page, page_locale, NotFound};
use leptos::server_fn::ServerFn as _;

fn brand_param() -> String {
    use_params_map()
        .read_untracked()
        .get("brand")
        .unwrap_or_default()
}

/// `/r/{brand}/coupons?tab=available|used|expired`.
#[component]
pub fn WalletRoute() -> impl IntoView {
    let slug = brand_param();
    let tab = use_query_map()
        .read_untracked()
        .get("tab")
        .unwrap_or_default();
    loaded_page(
        move || load_wallet(slug.clone(), tab.clone()),
        |load| match load {
            WalletLoad::Wallet(page) => view! { <Wallet page=*page /> }.into_any(),
            WalletLoad::SignedOut => ().into_any(),
            WalletLoad::NoBrand => view! { <NotFound /> }.into_any(),
        },
    )
}

/// `/r/{brand}/coupons/{code}`.
#[component]
pub fn CouponRoute() -> impl IntoView {
    let slug = brand_param();
    let code = use_params_map()
        .read_untracked()
        .get("code")
        .unwrap_or_default();
    loaded_page(
        move || load_coupon(slug.clone(), code.clone()),
        |load| match load {
            CouponLoad::Coupon(detail) => view! { <Detail detail=*detail /> }.into_any(),
            CouponLoad::SignedOut => ().into_any(),
            CouponLoad::NotFound(_) | CouponLoad::NoBrand => view! { <NotFound /> }.into_any(),
        },
    )
}

/// `/r/{brand}/claim`.
#[component]
pub fn ClaimRoute() -> impl IntoView {
    let slug = brand_param();
    loaded_page(
        move || load_offers(slug.clone()),
        |load| match load {
            ClaimLoad::Claim(page) => view! { <Claim page=*page /> }.into_any(),
            ClaimLoad::SignedOut => ().into_any(),
            ClaimLoad::NoBrand => view! { <NotFound /> }.into_any(),
        },
    )
}

/// The conditions under a coupon's title: minimum bill, weekly window,
/// tier, stores, stacking.
fn conditions(locale: Locale, rule: &RuleView) -> impl IntoView {
    let mut lines: Vec<String> = rule
        .conditions
        .iter()
        .map(|c| c.get(locale).to_owned())
        .collect();
    if let Some(tier) = &rule.min_tier {
        lines.push(
            td_string!(locale, coupon_min_tier, tier = tier.name(locale).to_owned()).to_string(),
        );
    }
    lines.push(if rule.stores.is_empty() {
        td_string!(locale, coupon_all_stores).to_string()
    } else {
        td_string!(locale, coupon_some_stores, stores = rule.stores.join("、")).to_string()
    });
    lines.push(if rule.stacks_with_tier {
        td_string!(locale, coupon_stacks).to_string()
    } else {
        td_string!(locale, coupon_no_stack).to_string()
    });
    view! {
        <ul class="coupon-conditions">
            {lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}
        </ul>
    }
}

/// The line under a coupon that says when it works or what became of it.
fn validity_line(locale: Locale, c: &CouponView) -> String {
    match (c.status.as_str(), &c.used) {
        ("used", Some((date, store))) => td_string!(
            locale,
            coupon_used_on,
            date = date.clone(),
            store = store.clone()
        )
        .to_string(),
        ("used", None) => td_string!(locale, coupon_used).to_string(),
        ("expired", _) => {
            td_string!(locale, coupon_expired_on, date = c.last_day.clone()).to_string()
        }
        _ if c.not_started => td_string!(
            locale,
            coupon_valid_from_to,
            from = c.first_day.clone(),
            to = c.last_day.clone()
        )
        .to_string(),
        _ => td_string!(locale, coupon_valid_until, date = c.last_day.clone()).to_string(),
    }
}

/// "Expires in N days" for what runs out within a week.
fn expiry_badge(locale: Locale, c: &CouponView) -> Option<impl IntoView> {
    (c.status == "available" && !c.not_started && c.days_left <= 7).then(|| {
        let text = if c.days_left <= 1 {
            td_string!(locale, coupon_expires_today).to_string()
        } else {
            td_string!(locale, coupon_expires_in, days = c.days_left).to_string()
        };
        view! { <span class="badge warn">{text}</span> }
    })
}

#[component]
fn Wallet(page: WalletPage) -> impl IntoView {
    let locale = page_locale(page.brand.default_locale);
    let slug = page.brand.slug.clone();
    let brand = PageBrand::from(&page.brand);
    let tabs = TABS
        .into_iter()
        .zip(page.counts)
        .map(|(tab, count)| {
            let label = match tab {
                "available" => td_string!(locale, coupons_tab_available),
                "used" => td_string!(locale, coupons_tab_used),
                _ => td_string!(locale, coupons_tab_expired),
            };
            let current = (tab == page.tab).then_some("page");
            view! {
                <a class="tab" href=format!("/r/{slug}/coupons?tab={tab}") aria-current=current>
                    {label} " " <span class="tab-count">{count}</span>
                </a>
            }
        })
        .collect_view();
    let list = if page.coupons.is_empty() {
        let text = match page.tab.as_str() {
            "available" => td_string!(locale, coupons_none_available),
            "used" => td_string!(locale, coupons_none_used),
            _ => td_string!(locale, coupons_none_expired),
        };
        view! { <p class="muted empty">{text}</p> }.into_any()
    } else {
        let items = page
            .coupons
            .iter()
            .map(|c| {
                let href = format!("/r/{slug}/coupons/{}", c.code);
                view! {
                    <li>
                        <a class=format!("coupon {}", c.status) href=href>
                            <span class="coupon-title">{c.rule.title.get(locale).to_owned()}</span>
                            {expiry_badge(locale, c)}
                            <span class="coupon-when">{validity_line(locale, c)}</span>
                        </a>
                    </li>
                }
            })
            .collect_view();
        view! { <ul class="coupons">{items}</ul> }.into_any()
    };
    view! {
        <Page locale title=td_string!(locale, coupons_title).to_string() brand>
            <h1>{td_string!(locale, coupons_title)}</h1>
            <nav class="tabs" aria-label=td_string!(locale, coupons_tabs)>{tabs}</nav>
            {list}
            <nav class="member-nav" aria-label=td_string!(locale, member_nav)>
                <a class="button primary" href=format!("/r/{slug}/claim")>
                    {td_string!(locale, nav_claim)}
                </a>
                <a class="button secondary" href=format!("/r/{slug}/card")>
                    {td_string!(locale, nav_card)}
                </a>
            </nav>
        </Page>
    }
}

#[component]
fn Detail(detail: CouponDetail) -> impl IntoView {
    let locale = page_locale(detail.brand.default_locale);
    let slug = detail.brand.slug.clone();
    let brand = PageBrand::from(&detail.brand);
    let c = detail.coupon;
    let taken = use_query_map().get_untracked().get("taken");
    let confirmation = taken.map(|how| {
        let text = if how == "exchange" {
            td_string!(locale, coupon_taken_exchange)
        } else {
            td_string!(locale, coupon_taken_claim)
        };
        view! { <p class="alert ok" role="status">{text}</p> }
    });
    let usable = c.status == "available";
    let code_panel = usable.then(|| {
        view! {
            <section class="code-panel">
                <h2>{td_string!(locale, coupon_show_cashier)}</h2>
                <div class="qr" inner_html=detail.qr_svg.clone() role="img" aria-label=td_string!(locale, coupon_qr_label)></div>
                <p class="code-digits">{c.grouped.clone()}</p>
            </section>
        }
    });
    view! {
        <Page locale title=c.rule.title.get(locale).to_owned() brand>
            {confirmation}
            <section class=format!("panel coupon-detail {}", c.status)>
                <h1>{c.rule.title.get(locale).to_owned()}</h1>
                {expiry_badge(locale, &c)}
                <p class="coupon-when">{validity_line(locale, &c)}</p>
                {conditions(locale, &c.rule)}
            </section>
            {code_panel}
            <nav class="member-nav" aria-label=td_string!(locale, member_nav)>
                <a class="button secondary" href=format!("/r/{slug}/coupons")>
                    {td_string!(locale, nav_coupons)}
                </a>
                <a class="button secondary" href=format!("/r/{slug}/card")>
                    {td_string!(locale, nav_card)}
                </a>
            </nav>
        </Page>
    }
}

fn offer_item(locale: Locale, slug: &str, nonce: &str, o: &OfferView) -> impl IntoView {
    let validity = match (&o.valid_until, o.valid_days) {
        (Some(date), _) => td_string!(locale, offer_valid_until, date = date.clone()).to_string(),
        (None, Some(days)) => td_string!(locale, offer_valid_days, days = days).to_string(),
        (None, None) => String::new(),
    };
    let stock = o
        .stock_left
        .map(|n| td_string!(locale, offer_stock_left, count = n).to_string());
    let action = match &o.blocked {
        Some(why) => {
            let text = match why.as_str() {
                "out_of_stock" => td_string!(locale, offer_out_of_stock),
                "limit_reached" => td_string!(locale, offer_limit_reached),
                "tier_too_low" => td_string!(locale, offer_tier_too_low),
                _ => td_string!(locale, offer_not_enough_points),
            };
            view! { <p class="muted offer-blocked">{text}</p> }.into_any()
        }
        None => {
            let label = match o.price {
                Some(points) => td_string!(locale, offer_exchange, points = points).to_string(),
                None => td_string!(locale, offer_claim).to_string(),
            };
            view! {
                <form class="offer-form" method="post" action=TakeCoupon::PATH>
                    <input type="hidden" name="slug" value=slug.to_owned() />
                    <input type="hidden" name="template" value=o.template.to_string() />
                    <input type="hidden" name="nonce" value=nonce.to_owned() />
                    <button class="button primary" type="submit">{label}</button>
                </form>
            }
            .into_any()
        }
    };
    view! {
        <li class="offer">
            <div class="coupon">
                <span class="coupon-title">{o.rule.title.get(locale).to_owned()}</span>
                {o.price.map(|p| view! { <span class="badge">{td_string!(locale, offer_price, points = p)}</span> })}
                <span class="coupon-when">{validity} {stock.map(|s| format!(" · {s}"))}</span>
            </div>
            {conditions(locale, &o.rule)}
            {action}
        </li>
    }
}

#[component]
fn Claim(page: ClaimPage) -> impl IntoView {
    let locale = page_locale(page.brand.default_locale);
    let slug = page.brand.slug.clone();
    let brand = PageBrand::from(&page.brand);
    let list = if page.offers.is_empty() {
        view! { <p class="muted empty">{td_string!(locale, offers_none)}</p> }.into_any()
    } else {
        let items = page
            .offers
            .iter()
            .map(|o| offer_item(locale, &slug, &page.nonce, o))
            .collect_view();
        view! { <ul class="offers">{items}</ul> }.into_any()
    };
    view! {
        <Page locale title=td_string!(locale, claim_title).to_string() brand>
            <Notice locale />
            <h1>{td_string!(locale, claim_title)}</h1>
            <p class="balance">
                <span class="muted">{td_string!(locale, points_balance)}</span>
                <strong class="balance-figure">{page.balance}</strong>
            </p>
            {list}
            <nav class="member-nav" aria-label=td_string!(locale, member_nav)>
                <a class="button secondary" href=format!("/r/{slug}/coupons")>
                    {td_string!(locale, nav_coupons)}
                </a>
                <a class="button secondary" href=format!("/r/{slug}/card")>
                    {td_string!(locale, nav_card)}
                </a>
            </nav>
        </Page>
    }
}
