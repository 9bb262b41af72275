use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::{Notice, Page, PageBrand, ResendButton};
use crate::functions::members::RequestCode;
use crate::functions::members::ResendCode;
use crate::functions::members::VerifyCode;
use crate::functions::members::{load_join, JoinPage, PendingCode};
use crate::i18n::*;
use crate::routes::{page_locale, NotFound, ServerError};
use leptos::server_fn::ServerFn as _;

/// Country codes offered on the join form, mainland China first.
const COUNTRIES: [&str; 11] = [
    "86", "852", "853", "886", "65", "60", "81", "82", "1", "44", "61",
];

fn country_name(locale: Locale, code: &str) -> String {
    match code {
        "86" => td_string!(locale, cc_86),
        "852" => td_string!(locale, cc_852),
        "853" => td_string!(locale, cc_853),
        "886" => td_string!(locale, cc_886),
        "65" => td_string!(locale, cc_65),
        "60" => td_string!(locale, cc_60),
        "81" => td_string!(locale, cc_81),
        "82" => td_string!(locale, cc_82),
        "1" => td_string!(locale, cc_1),
        "44" => td_string!(locale, cc_44),
        _ => td_string!(locale, cc_61),
    }
    .to_string()
}

/// `/r/{brand}/join`: one flow for joining and signing in. Step one asks for
/// the phone, step two for the code (and, for a new member, consent).
#[component]
pub fn JoinRoute() -> impl IntoView {
    let slug = use_params_map()
        .read_untracked()
        .get("brand")
        .unwrap_or_default();
    let page = Resource::new_blocking(|| (), move |_| load_join(slug.clone()));
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(Some(page)) => view! { <Join page /> }.into_any(),
                    Ok(None) => view! { <NotFound /> }.into_any(),
                    Err(_) => view! { <ServerError /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Join(page: JoinPage) -> impl IntoView {
    let locale = page_locale(page.brand.default_locale);
    let query = use_query_map().get_untracked();
    let next = query.get("next").unwrap_or_default();
    let slug = page.brand.slug.clone();
    let changing = query.get("change").is_some();
    let brand = PageBrand::from(&page.brand);
    let body = if page.signed_in {
        view! {
            <p>{td_string!(locale, join_already)}</p>
            <a class="button primary" href=format!("/r/{slug}/card")>
                {td_string!(locale, open_card)}
            </a>
        }
        .into_any()
    } else {
        match page.pending.filter(|_| !changing) {
            Some(pending) => view! { <CodeStep locale slug next pending /> }.into_any(),
            None => {
                let typed = query.get("phone").unwrap_or_default();
                let country = query.get("cc").unwrap_or_else(|| "86".into());
                view! { <PhoneStep locale slug next typed country /> }.into_any()
            }
        }
    };
    view! {
        <Page locale title=td_string!(locale, join_title).to_string() brand>
            <section class="panel">
                <h1>{td_string!(locale, join_title)}</h1>
                <Notice locale />
                {body}
            </section>
        </Page>
    }
}

#[component]
fn PhoneStep(
    locale: Locale,
    slug: String,
    next: String,
    typed: String,
    country: String,
) -> impl IntoView {
    let options = COUNTRIES
        .iter()
        .map(|&code| {
            view! {
                <option value=code selected=code == country>
                    {country_name(locale, code)}
                </option>
            }
        })
        .collect_view();
    view! {
        <p class="lead">{td_string!(locale, join_intro)}</p>
        <form class="stack" method="post" action=RequestCode::PATH>
            <input type="hidden" name="slug" value=slug />
            <input type="hidden" name="next" value=next />
            <label for="country">{td_string!(locale, phone_country)}</label>
            <select id="country" name="country" autocomplete="tel-country-code">
                {options}
            </select>
            <label for="phone">{td_string!(locale, phone_label)}</label>
            <input
                id="phone"
                name="phone"
                type="tel"
                inputmode="tel"
                autocomplete="tel-national"
                maxlength="20"
                required
                value=typed
            />
            <button class="button primary" type="submit">
                {td_string!(locale, send_code)}
            </button>
        </form>
    }
}

#[component]
fn CodeStep(locale: Locale, slug: String, next: String, pending: PendingCode) -> impl IntoView {
    let consent = pending.new_member.then(|| {
        let privacy = format!("/r/{slug}/privacy");
        view! {
            <fieldset class="consents">
                <legend>{td_string!(locale, consent_legend)}</legend>
                <label class="check">
                    <input type="checkbox" name="terms" required />
                    <span>{td_string!(locale, consent_terms)}</span>
                </label>
                <a class="small-link" href=privacy target="_blank">
                    {td_string!(locale, consent_terms_link)}
                </a>
                <label class="check">
                    <input type="checkbox" name="marketing" />
                    <span>{td_string!(locale, consent_marketing)}</span>
                </label>
            </fieldset>
        }
    });
    view! {
        <p class="lead">
            {td_string!(locale, code_sent_to, phone = pending.masked_phone.clone())}
        </p>
        <form class="stack" method="post" action=VerifyCode::PATH>
            <input type="hidden" name="slug" value=slug.clone() />
            <input type="hidden" name="next" value=next.clone() />
            <label for="code">{td_string!(locale, code_label)}</label>
            <input
                id="code"
                name="code"
                class="code-input"
                inputmode="numeric"
                autocomplete="one-time-code"
                pattern="[0-9 ]{6,7}"
                maxlength="7"
                required
                autofocus
            />
            <p class="hint">{td_string!(locale, code_hint)}</p>
            {consent}
            <button class="button primary" type="submit">
                {td_string!(locale, verify_submit)}
            </button>
        </form>
        <form class="row" method="post" action=ResendCode::PATH>
            <input type="hidden" name="slug" value=slug.clone() />
            <input type="hidden" name="next" value=next />
            <ResendButton wait_secs=pending.resend_in locale />
        </form>
        <a class="small-link" href=format!("/r/{slug}/join?change=1")>
            {td_string!(locale, change_phone)}
        </a>
    }
}
