use leptos::prelude::*;

use crate::components::Page;
use crate::i18n::*;
use crate::routes::page_locale;

/// `/`: a diner who lands here without a brand is told where to start.
#[component]
pub fn HomePage() -> impl IntoView {
    let locale = page_locale(Locale::default());
    view! {
        <Page locale title=td_string!(locale, app_name).to_string()>
            <section class="notice">
                <h1>{td_string!(locale, home_title)}</h1>
                <p>{td_string!(locale, home_body)}</p>
            </section>
        </Page>
    }
}
