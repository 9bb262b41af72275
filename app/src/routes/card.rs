use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::{Notice, Page, PageBrand, RotatingCode};
use crate::functions::automation::CheckIn;
use crate::functions::members::{
    load_member, CardCode, CheckinView, MemberLoad, MemberPage, MemberPart,
};
use crate::i18n::*;
use crate::routes::{page_locale, NotFound, ServerError};
use leptos::server_fn::ServerFn as _;

/// Loads the signed-in member for `page` ("card" or "me") and renders `view`;
/// signed out, the loader has already redirected to the join form.
pub fn member_route(page: &'static str, view: fn(MemberPage) -> AnyView) -> impl IntoView {
    let slug = use_params_map()
        .read_untracked()
        .get("brand")
        .unwrap_or_default();
    let data = Resource::new_blocking(|| (), move |_| load_member(slug.clone(), page.into()));
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(MemberLoad::Member(page)) => view(*page),
                    Ok(MemberLoad::SignedOut) => ().into_any(),
                    Ok(MemberLoad::NoBrand) => view! { <NotFound /> }.into_any(),
                    Err(_) => view! { <ServerError /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/r/{brand}/card`: the page a member opens at the till.
#[component]
pub fn CardRoute() -> impl IntoView {
    member_route("card", |page| match page.part.clone() {
        MemberPart::Card(code) => view! { <Card page code /> }.into_any(),
        MemberPart::Profile(_) => view! { <ServerError /> }.into_any(),
    })
}

fn group4(s: &str) -> String {
    s.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the check-in the card was reloaded after gave (`?checked=5&bonus=20`).
fn checked_text(locale: Locale) -> Option<String> {
    let q = use_query_map().get_untracked();
    let checked = q.get("checked")?;
    if checked == "again" {
        return Some(td_string!(locale, checkin_again).to_string());
    }
    let points: i64 = checked.parse().ok()?;
    let bonus: i64 = q.get("bonus").and_then(|b| b.parse().ok()).unwrap_or(0);
    Some(if bonus > 0 {
        td_string!(locale, checkin_done_bonus, points = points, bonus = bonus).to_string()
    } else {
        td_string!(locale, checkin_done, points = points).to_string()
    })
}

/// Check-in (签到): a plain form, so it works before any script loads.
fn checkin_panel(locale: Locale, slug: &str, c: CheckinView) -> impl IntoView {
    let streak_line = (c.streak_bonus > 0 && !c.done).then(|| {
        td_string!(
            locale,
            card_checkin_streak,
            streak = c.streak,
            days = c.streak_days,
            bonus = c.streak_bonus
        )
        .to_string()
    });
    view! {
        <section class="checkin" aria-label=td_string!(locale, checkin_title)>
            {if c.done {
                view! {
                    <p class="checkin-done">{td_string!(locale, card_checked_in, streak = c.streak)}</p>
                }
                    .into_any()
            } else {
                view! {
                    <form method="post" action=CheckIn::PATH>
                        <input type="hidden" name="slug" value=slug.to_owned() />
                        <button class="button primary" type="submit">
                            {td_string!(locale, card_checkin, points = c.points)}
                        </button>
                    </form>
                    {streak_line.map(|l| view! { <p class="hint">{l}</p> })}
                }
                    .into_any()
            }}
        </section>
    }
}

#[component]
fn Card(page: MemberPage, code: CardCode) -> impl IntoView {
    let locale = page_locale(page.brand.default_locale);
    let welcome = use_query_map().get_untracked().get("welcome").is_some();
    let slug = page.brand.slug.clone();
    let brand = PageBrand::from(&page.brand);
    let name = if page.display_name.is_empty() {
        td_string!(locale, card_member).to_string()
    } else {
        page.display_name.clone()
    };
    view! {
        <Page locale title=td_string!(locale, card_title).to_string() brand>
            <Notice locale />
            {checked_text(locale).map(|text| view! { <p class="alert ok" role="status">{text}</p> })}
            {welcome
                .then(|| {
                    view! {
                        <p class="alert ok" role="status">
                            {td_string!(locale, welcome_new, brand = page.brand.name.clone())}
                        </p>
                    }
                })}
            <h1 class="sr-only">{td_string!(locale, card_title)}</h1>
            <section class="member-card" aria-label=td_string!(locale, card_title)>
                <div class="mc-top">
                    <span class="mc-brand">{page.brand.name.clone()}</span>
                    <span class="mc-tier">{page.tier.name(locale).to_owned()}</span>
                </div>
                <p class="mc-name">{name}</p>
                <dl class="mc-facts">
                    <div>
                        <dt>{td_string!(locale, card_member_no)}</dt>
                        <dd class="mc-no">{group4(&page.member_no)}</dd>
                    </div>
                    <div>
                        <dt>{td_string!(locale, card_points)}</dt>
                        <dd class="mc-points">{page.points}</dd>
                    </div>
                    <div>
                        <dt>{td_string!(locale, card_stored)}</dt>
                        <dd class="mc-stored">{loyalty::money::yuan(page.stored_fen)}</dd>
                    </div>
                </dl>
            </section>
            <section class="code-panel">
                <h2>{td_string!(locale, card_code_label)}</h2>
                <RotatingCode slug=slug.clone() initial=code locale />
                <p class="hint">{td_string!(locale, card_code_hint)}</p>
                <noscript>
                    <a class="small-link" href=format!("/r/{slug}/card")>
                        {td_string!(locale, card_code_refresh)}
                    </a>
                </noscript>
            </section>
            {page.checkin.map(|c| checkin_panel(locale, &slug, c))}
            <nav class="member-nav" aria-label=td_string!(locale, member_nav)>
                <a class="button secondary" href=format!("/r/{slug}/points")>
                    {td_string!(locale, nav_points)}
                </a>
                <a class="button secondary" href=format!("/r/{slug}/balance")>
                    {td_string!(locale, nav_stored)}
                </a>
                <a class="button secondary" href=format!("/r/{slug}/coupons")>
                    {td_string!(locale, nav_coupons)}
                    {(page.usable_coupons > 0).then(|| view! {
                        " " <span class="count">{page.usable_coupons}</span>
                    })}
                </a>
                <a class="button secondary" href=format!("/r/{slug}/me")>
                    {td_string!(locale, nav_profile)}
                </a>
                <a class="button secondary" href=format!("/r/{slug}/invite")>
                    {td_string!(locale, nav_invite)}
                </a>
            </nav>
            <p class="feedback-link">
                <a class="small-link" href=format!("/r/{slug}/feedback/mine")>
                    {td_string!(locale, nav_my_feedback)}
                </a>
                {(page.unseen_replies > 0).then(|| view! {
                    " " <span class="badge warn">{td_string!(locale, feedback_replies_badge, count = page.unseen_replies)}</span>
                })}
                " · "
                <a class="small-link" href=format!("/r/{slug}/feedback")>{td_string!(locale, feedback_write)}</a>
            </p>
            <p class="hint">{td_string!(locale, add_to_home)}</p>
        </Page>
    }
}
