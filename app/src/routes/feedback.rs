//! The diner's feedback form (`/r/{brand}/feedback`), its thank-you page
//! and the member's own feedback with the restaurant's replies
//! (`/r/{brand}/feedback/mine`). Real form inputs throughout: radios for the
//! score and stars, so it works by keyboard and without WebAssembly.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::{CommentBox, Notice, Page, PageBrand};
use crate::functions::feedback::SendFeedback;
use crate::functions::feedback::{
    load_feedback_form, load_my_feedback, load_thanks, FeedbackView, FormLoad, FormPage, MineLoad,
    MinePage, ThanksPage,
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

/// `/r/{brand}/feedback`.
#[component]
pub fn FeedbackRoute() -> impl IntoView {
    let slug = brand_param();
    loaded_page(
        move || load_feedback_form(slug.clone()),
        |load| match load {
            FormLoad::Form(page) => view! { <Form page=*page /> }.into_any(),
            FormLoad::SignedOut => ().into_any(),
            FormLoad::NoBrand => view! { <NotFound /> }.into_any(),
        },
    )
}

/// `/r/{brand}/feedback/thanks`.
#[component]
pub fn ThanksRoute() -> impl IntoView {
    let slug = brand_param();
    loaded_page(
        move || load_thanks(slug.clone()),
        |load| match load {
            Some(page) => view! { <Thanks page /> }.into_any(),
            None => view! { <NotFound /> }.into_any(),
        },
    )
}

/// `/r/{brand}/feedback/mine`.
#[component]
pub fn MyFeedbackRoute() -> impl IntoView {
    let slug = brand_param();
    loaded_page(
        move || load_my_feedback(slug.clone()),
        |load| match load {
            MineLoad::Mine(page) => view! { <Mine page=*page /> }.into_any(),
            MineLoad::SignedOut => ().into_any(),
            MineLoad::NoBrand => view! { <NotFound /> }.into_any(),
        },
    )
}

/// One 1–5 star question as five radio buttons.
fn stars(locale: Locale, name: &'static str, legend: String) -> impl IntoView {
    let choices = (1..=5)
        .map(|n| {
            let id = format!("{name}-{n}");
            view! {
                <input class="choice" type="radio" id=id.clone() name=name value=n.to_string() />
                <label for=id>
                    <span aria-hidden="true">"★"</span>
                    <span class="sr-only">{td_string!(locale, feedback_stars, count = n)}</span>
                </label>
            }
        })
        .collect_view();
    view! {
        <fieldset class="stars">
            <legend>{legend}</legend>
            <div class="star-row">{choices}</div>
        </fieldset>
    }
}

#[component]
fn Form(page: FormPage) -> impl IntoView {
    let locale = page_locale(page.brand.default_locale);
    let brand = PageBrand::from(&page.brand);
    let slug = page.brand.slug.clone();
    let scale = (0..=10)
        .map(|n| {
            let id = format!("nps-{n}");
            view! {
                <input class="choice" type="radio" id=id.clone() name="nps" value=n.to_string() required />
                <label for=id>{n}</label>
            }
        })
        .collect_view();
    let place = match &page.visit {
        Some(v) => view! {
            <p class="visit">
                <span aria-hidden="true" class="visit-pin"></span>
                {td_string!(locale, at_table, store = v.store_name.clone(), table = v.table_label.clone())}
            </p>
        }
        .into_any(),
        None => {
            let options = page
                .stores
                .iter()
                .map(|(id, name)| view! { <option value=id.to_string()>{name.clone()}</option> })
                .collect_view();
            view! {
                <label for="store">{td_string!(locale, feedback_store)}</label>
                <select id="store" name="store">
                    <option value="">{td_string!(locale, feedback_store_none)}</option>
                    {options}
                </select>
            }
            .into_any()
        }
    };
    let reward = (page.signed_in && page.reward_points > 0).then(|| {
        view! { <p class="alert note">{td_string!(locale, feedback_reward_hint, points = page.reward_points)}</p> }
    });
    let contact = (!page.signed_in).then(|| {
        view! {
            <label for="contact_phone">{td_string!(locale, feedback_contact)}</label>
            <input id="contact_phone" name="contact_phone" type="tel" inputmode="tel" autocomplete="tel" maxlength="20" />
            <p class="muted">{td_string!(locale, feedback_contact_hint)}</p>
        }
    });
    view! {
        <Page locale title=td_string!(locale, feedback_title).to_string() brand>
            <Notice locale />
            <h1>{td_string!(locale, feedback_title)}</h1>
            {reward}
            <form class="stack feedback-form" method="post" action=SendFeedback::PATH>
                <input type="hidden" name="slug" value=slug.clone() />
                <fieldset class="nps">
                    <legend>{td_string!(locale, feedback_nps)}</legend>
                    <div class="nps-scale">{scale}</div>
                    <div class="nps-ends" aria-hidden="true">
                        <span>{td_string!(locale, feedback_nps_low)}</span>
                        <span>{td_string!(locale, feedback_nps_high)}</span>
                    </div>
                </fieldset>
                {stars(locale, "food", td_string!(locale, feedback_food).to_string())}
                {stars(locale, "service", td_string!(locale, feedback_service).to_string())}
                {stars(locale, "ambience", td_string!(locale, feedback_ambience).to_string())}
                <CommentBox locale max=1000 />
                {place}
                <label for="visit_date">{td_string!(locale, feedback_visit_date)}</label>
                <input id="visit_date" name="visit_date" type="date" max=page.today.clone() />
                {contact}
                <button class="button primary" type="submit">{td_string!(locale, feedback_send)}</button>
            </form>
            {page.signed_in.then(|| view! {
                <a class="small-link" href=format!("/r/{slug}/feedback/mine")>{td_string!(locale, nav_my_feedback)}</a>
            })}
        </Page>
    }
}

#[component]
fn Thanks(page: ThanksPage) -> impl IntoView {
    let locale = page_locale(page.brand.default_locale);
    let brand = PageBrand::from(&page.brand);
    let slug = page.brand.slug.clone();
    let query = use_query_map().get_untracked();
    let points = query
        .get("points")
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(0)
        .clamp(0, 100_000);
    let coupon = query.get("coupon").is_some();
    let next = if page.signed_in {
        view! {
            <nav class="member-nav" aria-label=td_string!(locale, member_nav)>
                <a class="button secondary" href=format!("/r/{slug}/feedback/mine")>{td_string!(locale, nav_my_feedback)}</a>
                <a class="button secondary" href=format!("/r/{slug}/card")>{td_string!(locale, nav_card)}</a>
            </nav>
        }
        .into_any()
    } else {
        view! {
            <section class="panel">
                <h2>{td_string!(locale, feedback_invite_title)}</h2>
                <p>{td_string!(locale, feedback_invite_body)}</p>
                <a class="button primary" href=format!("/r/{slug}/join")>{td_string!(locale, cta_join)}</a>
            </section>
        }
        .into_any()
    };
    view! {
        <Page locale title=td_string!(locale, feedback_thanks_title).to_string() brand>
            <section class="panel">
                <h1>{td_string!(locale, feedback_thanks_title)}</h1>
                <p>{td_string!(locale, feedback_thanks_body)}</p>
                {(points > 0).then(|| view! {
                    <p class="alert ok" role="status">{td_string!(locale, feedback_points_credited, points = points)}</p>
                })}
                {coupon.then(|| view! {
                    <p class="alert ok">{td_string!(locale, feedback_coupon_given)}</p>
                })}
            </section>
            {next}
        </Page>
    }
}

fn item(locale: Locale, f: &FeedbackView) -> impl IntoView {
    let dims = [
        td_string!(locale, feedback_food).to_string(),
        td_string!(locale, feedback_service).to_string(),
        td_string!(locale, feedback_ambience).to_string(),
    ];
    let stars = dims
        .into_iter()
        .zip(f.stars)
        .filter_map(|(name, s)| s.map(|s| format!("{name} {}", "★".repeat(s as usize))))
        .collect::<Vec<_>>()
        .join(" · ");
    let reply = f.reply.clone().map(|text| {
        view! {
            <div class="reply">
                <p class="reply-head">
                    {td_string!(locale, feedback_reply_from, date = f.reply_day.clone().unwrap_or_default())}
                    {f.new_reply.then(|| view! { " " <span class="badge warn">{td_string!(locale, feedback_new_reply)}</span> })}
                </p>
                <p class="prose">{text}</p>
            </div>
        }
    });
    view! {
        <li class="feedback-item">
            <p class="muted">{f.day.clone()} {f.store.clone().map(|s| format!(" · {s}"))}</p>
            <p>{td_string!(locale, feedback_nps_given, score = f.nps)}</p>
            {(!stars.is_empty()).then(|| view! { <p class="muted">{stars}</p> })}
            {(!f.comment.is_empty()).then(|| view! { <p class="prose">{f.comment.clone()}</p> })}
            {(f.reward_points > 0).then(|| view! {
                <p class="muted">{td_string!(locale, feedback_points_credited, points = f.reward_points)}</p>
            })}
            {reply}
        </li>
    }
}

#[component]
fn Mine(page: MinePage) -> impl IntoView {
    let locale = page_locale(page.brand.default_locale);
    let brand = PageBrand::from(&page.brand);
    let slug = page.brand.slug.clone();
    let list = if page.items.is_empty() {
        view! { <p class="muted empty">{td_string!(locale, feedback_none)}</p> }.into_any()
    } else {
        let items = page.items.iter().map(|f| item(locale, f)).collect_view();
        view! { <ul class="feedback-list">{items}</ul> }.into_any()
    };
    view! {
        <Page locale title=td_string!(locale, nav_my_feedback).to_string() brand>
            <h1>{td_string!(locale, nav_my_feedback)}</h1>
            {list}
            <nav class="member-nav" aria-label=td_string!(locale, member_nav)>
                <a class="button primary" href=format!("/r/{slug}/feedback")>{td_string!(locale, feedback_write)}</a>
                <a class="button secondary" href=format!("/r/{slug}/card")>{td_string!(locale, nav_card)}</a>
            </nav>
        </Page>
    }
}
