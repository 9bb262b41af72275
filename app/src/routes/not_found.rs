use leptos::prelude::*;

use crate::components::Page;
use crate::i18n::*;
use crate::routes::page_locale;

/// The friendly 404: what happened and what to do, in the diner's language.
#[component]
pub fn NotFound() -> impl IntoView {
    let locale = page_locale(Locale::default());
    view! {
        <Problem
            status=404
            title=td_string!(locale, not_found_title).to_string()
            body=td_string!(locale, not_found_body).to_string()
            home=td_string!(locale, not_found_home).to_string()
        />
    }
}

/// Shown when the server could not build a page; the details go to the log.
#[component]
pub fn ServerError() -> impl IntoView {
    let locale = page_locale(Locale::default());
    // A loader that found the database down has already said 503.
    #[cfg(feature = "ssr")]
    let unavailable = use_context::<leptos_axum::ResponseOptions>().is_some_and(|r| {
        r.0.read()
            .map(|p| p.status == Some(http::StatusCode::SERVICE_UNAVAILABLE))
            .unwrap_or(false)
    });
    #[cfg(not(feature = "ssr"))]
    let unavailable = false;
    let (status, body) = if unavailable {
        (503, td_string!(locale, error_unavailable_body).to_string())
    } else {
        (500, td_string!(locale, error_body).to_string())
    };
    view! {
        <Problem
            status=status
            title=td_string!(locale, error_title).to_string()
            body=body
            home=td_string!(locale, not_found_home).to_string()
        />
    }
}

#[component]
fn Problem(status: u16, title: String, body: String, home: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Ok(code) = http::StatusCode::from_u16(status) {
        crate::server::set_status(code);
    }
    let locale = page_locale(Locale::default());
    view! {
        <Page locale title=title.clone()>
            <section class="notice" data-status=status>
                <h1>{title}</h1>
                <p>{body}</p>
                <a class="button secondary" href="/">
                    {home}
                </a>
            </section>
        </Page>
    }
}
