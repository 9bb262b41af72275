use leptos::prelude::*;

use crate::components::Page;
use crate::i18n::*;
use crate::routes::page_locale;

/// The friendly 404: what happened and what to do, in the diner's language.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::set_status(http::StatusCode::NOT_FOUND);
    let locale = page_locale(Locale::default());
    view! {
        <Page locale title=td_string!(locale, not_found_title).to_string()>
            <section class="notice" data-status="404">
                <h1>{td_string!(locale, not_found_title)}</h1>
                <p>{td_string!(locale, not_found_body)}</p>
                <a class="button secondary" href="/">
                    {td_string!(locale, not_found_home)}
                </a>
            </section>
        </Page>
    }
}

/// Shown when the server could not build a page; the details go to the log.
#[component]
pub fn ServerError() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::set_status(http::StatusCode::INTERNAL_SERVER_ERROR);
    let locale = page_locale(Locale::default());
    view! {
        <Page locale title=td_string!(locale, error_title).to_string()>
            <section class="notice" data-status="500">
                <h1>{td_string!(locale, error_title)}</h1>
                <p>{td_string!(locale, error_body)}</p>
            </section>
        </Page>
    }
}
