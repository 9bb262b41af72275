use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use loyalty::money::yuan;

use crate::components::{Page, PageBrand};
use crate::functions::stored_value::{load_stored, MovementView, StoredLoad, StoredPage};
use crate::i18n::*;
use crate::routes::{loaded_page, page_locale, NotFound};

/// `/r/{brand}/balance`: the prepaid balance, the top-up offers, the history.
#[component]
pub fn StoredValueRoute() -> impl IntoView {
    let slug = use_params_map()
        .read_untracked()
        .get("brand")
        .unwrap_or_default();
    let before = use_query_map()
        .read_untracked()
        .get("before")
        .and_then(|b| b.parse::<i64>().ok());
    loaded_page(
        move || load_stored(slug.clone(), before),
        |load| match load {
            StoredLoad::Stored(page) => view! { <Stored page=*page /> }.into_any(),
            StoredLoad::SignedOut => ().into_any(),
            StoredLoad::NoBrand => view! { <NotFound /> }.into_any(),
        },
    )
}

/// A history line's name in the member's words.
pub(crate) fn movement_label(locale: Locale, kind: &str) -> String {
    match kind {
        "top_up" => td_string!(locale, sv_top_up),
        "payment" => td_string!(locale, sv_payment),
        "void" => td_string!(locale, sv_void),
        "refund" => td_string!(locale, sv_refund),
        _ => td_string!(locale, sv_import),
    }
    .to_string()
}

/// How a top-up was paid, in the reader's words.
pub(crate) fn tender_label(locale: Locale, tender: &str) -> String {
    match tender {
        "cash" => td_string!(locale, tender_cash),
        "card" => td_string!(locale, tender_card),
        "wechat_pay" => td_string!(locale, tender_wechat_pay),
        "alipay" => td_string!(locale, tender_alipay),
        _ => td_string!(locale, tender_other),
    }
    .to_string()
}

fn movement(locale: Locale, m: &MovementView) -> impl IntoView {
    let total = m.principal_delta + m.bonus_delta;
    let sign = if total >= 0 { "plus" } else { "minus" };
    let amount = if total >= 0 {
        format!("+{}", yuan(total))
    } else {
        yuan(total)
    };
    let bonus = (m.bonus_delta != 0).then(|| {
        td_string!(
            locale,
            sv_of_which_bonus,
            amount = yuan(m.bonus_delta.abs())
        )
        .to_string()
    });
    view! {
        <li class="entry">
            <div>
                <p class="entry-label">{movement_label(locale, &m.kind)}</p>
                <p class="muted">
                    {m.date.clone()}
                    {m.store.clone().map(|s| format!(" · {s}"))}
                    {bonus.map(|b| format!(" · {b}"))}
                </p>
            </div>
            <span class=format!("entry-amount {sign}")>{amount}</span>
        </li>
    }
}

#[component]
fn Stored(page: StoredPage) -> impl IntoView {
    let locale = page_locale(page.brand.default_locale);
    let slug = page.brand.slug.clone();
    let brand = PageBrand::from(&page.brand);
    let offers = (!page.offers.is_empty()).then(|| {
        let items = page
            .offers
            .iter()
            .map(|o| {
                let text = td_string!(
                    locale,
                    sv_offer,
                    min = yuan(o.min_fen),
                    bonus = yuan(o.bonus_fen)
                )
                .to_string();
                let mut notes = Vec::new();
                if let Some(d) = o.until.clone() {
                    notes.push(td_string!(locale, sv_offer_until, date = d).to_string());
                }
                if !o.stores.is_empty() {
                    let at = o.stores.join("、");
                    notes.push(td_string!(locale, sv_offer_at, stores = at).to_string());
                }
                let until = (!notes.is_empty()).then(|| notes.join(" · "));
                view! { <li><strong>{text}</strong> {until.map(|u| view! { " " <span class="muted">{u}</span> })}</li> }
            })
            .collect_view();
        view! {
            <section class="panel">
                <h2>{td_string!(locale, sv_offers)}</h2>
                <ul class="offers-list">{items}</ul>
                <p class="hint">{td_string!(locale, sv_how)}</p>
            </section>
        }
    });
    let history = if page.movements.is_empty() {
        view! { <p class="muted">{td_string!(locale, sv_empty)}</p> }.into_any()
    } else {
        let rows = page
            .movements
            .iter()
            .map(|m| movement(locale, m))
            .collect_view();
        view! { <ul class="entries">{rows}</ul> }.into_any()
    };
    let more = page.more.map(|before| {
        view! {
            <a class="small-link" href=format!("/r/{slug}/balance?before={before}")>
                {td_string!(locale, history_more)}
            </a>
        }
    });
    let total = page.principal_fen + page.bonus_fen;
    view! {
        <Page locale title=td_string!(locale, sv_title).to_string() brand>
            <section class="panel">
                <h1>{td_string!(locale, sv_title)}</h1>
                <p class="balance">
                    <span class="muted">{td_string!(locale, card_stored)}</span>
                    <strong class="balance-figure">{yuan(total)}</strong>
                </p>
                <dl class="sv-parts">
                    <div>
                        <dt>{td_string!(locale, sv_principal)}</dt>
                        <dd>{yuan(page.principal_fen)}</dd>
                    </div>
                    <div>
                        <dt>{td_string!(locale, sv_bonus)}</dt>
                        <dd>{yuan(page.bonus_fen)}</dd>
                    </div>
                </dl>
                <p class="hint">{td_string!(locale, sv_pay_hint)}</p>
            </section>
            {offers}
            <section class="panel">
                <h2>{td_string!(locale, sv_history)}</h2>
                {history}
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
