use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::{Page, PageBrand};
use crate::functions::points::{load_points, PointsLoad, PointsPage};
use crate::i18n::*;
use crate::routes::{loaded_page, page_locale, NotFound};

/// `/r/{brand}/points`: balance, tier progress, expiry and history.
#[component]
pub fn PointsRoute() -> impl IntoView {
    let slug = use_params_map()
        .read_untracked()
        .get("brand")
        .unwrap_or_default();
    let before = use_query_map()
        .read_untracked()
        .get("before")
        .and_then(|b| b.parse::<i64>().ok());
    loaded_page(
        move || load_points(slug.clone(), before),
        |load| match load {
            PointsLoad::Points(page) => view! { <Points page=*page /> }.into_any(),
            PointsLoad::SignedOut => ().into_any(),
            PointsLoad::NoBrand => view! { <NotFound /> }.into_any(),
        },
    )
}

use loyalty::money::yuan;

/// A ledger row's reason in the member's words (the card's history and the
/// console's member page).
pub(crate) fn entry_label(locale: Locale, kind: &str, reason: &str) -> String {
    match (kind, reason) {
        ("earn", "purchase") => td_string!(locale, entry_purchase),
        ("earn", "signup bonus") => td_string!(locale, entry_signup),
        ("earn", "check-in") => td_string!(locale, entry_checkin),
        ("earn", "referral") => td_string!(locale, entry_referral),
        ("earn", "check-in streak") => td_string!(locale, entry_checkin_streak),
        ("earn", r) if r.starts_with("gift:") => td_string!(locale, entry_gift),
        ("reverse", "refund") => td_string!(locale, entry_refund),
        ("spend", "coupon exchange") => td_string!(locale, entry_coupon_exchange),
        ("spend", _) => td_string!(locale, entry_payment),
        ("reverse", _) => td_string!(locale, entry_payment_void),
        ("expire", _) => td_string!(locale, entry_expired),
        ("import", _) => td_string!(locale, entry_imported),
        ("adjust", reason) => {
            return td_string!(locale, entry_adjust, reason = reason.to_owned()).to_string()
        }
        _ => td_string!(locale, entry_other),
    }
    .to_string()
}

#[component]
fn Points(page: PointsPage) -> impl IntoView {
    let locale = page_locale(page.brand.default_locale);
    let slug = page.brand.slug.clone();
    let brand = PageBrand::from(&page.brand);
    let progress = match &page.next_tier {
        Some((next, missing)) => {
            let (spend, goal) = page.progress;
            let text = td_string!(
                locale,
                tier_next,
                amount = yuan(*missing),
                tier = next.name(locale).to_owned()
            )
            .to_string();
            view! {
                <p id="tier-progress-label">{text}</p>
                <progress
                    class="tier-progress"
                    max=goal.max(1).to_string()
                    value=spend.min(goal).to_string()
                    aria-labelledby="tier-progress-label"
                ></progress>
            }
            .into_any()
        }
        None => view! { <p>{td_string!(locale, tier_top)}</p> }.into_any(),
    };
    let expiring = page.expiring.clone().map(|(points, date)| {
        view! {
            <p class="alert note">{td_string!(locale, points_expiring, points = points, date = date)}</p>
        }
    });
    let entries = if page.entries.is_empty() {
        view! { <p class="muted">{td_string!(locale, history_empty)}</p> }.into_any()
    } else {
        let rows = page
            .entries
            .iter()
            .map(|e| {
                let sign = if e.amount > 0 { "plus" } else { "minus" };
                let amount = if e.amount > 0 { format!("+{}", e.amount) } else { e.amount.to_string() };
                view! {
                    <li class="entry">
                        <div>
                            <p class="entry-label">{entry_label(locale, &e.kind, &e.reason)}</p>
                            <p class="muted">{e.date.clone()} {e.store.clone().map(|s| format!(" · {s}"))}</p>
                        </div>
                        <span class=format!("entry-amount {sign}")>{amount}</span>
                    </li>
                }
            })
            .collect_view();
        view! { <ul class="entries">{rows}</ul> }.into_any()
    };
    let more = page.more.map(|before| {
        view! {
            <a class="small-link" href=format!("/r/{slug}/points?before={before}")>
                {td_string!(locale, history_more)}
            </a>
        }
    });
    view! {
        <Page locale title=td_string!(locale, points_title).to_string() brand>
            <section class="panel">
                <h1>{td_string!(locale, points_title)}</h1>
                <p class="balance">
                    <span class="muted">{td_string!(locale, points_balance)}</span>
                    <strong class="balance-figure">{page.balance}</strong>
                </p>
                {expiring}
                <p>
                    {td_string!(locale, tier_current)} ": "
                    <strong>{page.tier.name(locale).to_owned()}</strong>
                </p>
                {progress}
            </section>
            <section class="panel">
                <h2>{td_string!(locale, history_title)}</h2>
                {entries}
                {more}
            </section>
            <nav class="member-nav" aria-label=td_string!(locale, member_nav)>
                <a class="button secondary" href=format!("/r/{}/card", page.brand.slug)>
                    {td_string!(locale, nav_card)}
                </a>
            </nav>
        </Page>
    }
}
