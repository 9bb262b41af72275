use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::i18n::*;

/// The language menu: a plain form posting to `/lang`, so it works before
/// (and without) WebAssembly; once hydrated, choosing a language submits it.
#[component]
pub fn LanguageSwitcher(locale: Locale) -> impl IntoView {
    let location = use_location();
    // The router's `search` comes without its `?`.
    let (path, query) = (
        location.pathname.get_untracked(),
        location.search.get_untracked(),
    );
    let next = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    view! {
        <form class="lang" method="post" action="/lang">
            <input type="hidden" name="next" value=next />
            <label class="sr-only" for="lang-select">
                {td_string!(locale, lang_label)}
            </label>
            <LanguageSelect current=locale />
            <noscript>
                <button type="submit" class="lang-go">
                    {td_string!(locale, lang_go)}
                </button>
            </noscript>
        </form>
    }
}

/// The one interactive part of the menu. It marks itself `data-hydrated`
/// once its WebAssembly is running, which tests and benchmarks wait for.
#[island]
pub fn LanguageSelect(current: Locale) -> impl IntoView {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let submit_on_change = move |ev: leptos::ev::Event| {
        let select = event_target::<leptos::web_sys::HtmlSelectElement>(&ev);
        if let Some(form) = select.form() {
            let _ = form.request_submit();
        }
    };
    let options = Locale::get_all()
        .iter()
        .map(|&l| {
            view! {
                <option value=l.as_str() selected=l == current lang=l.as_str()>
                    {td_string!(l, lang_name)}
                </option>
            }
        })
        .collect_view();
    view! {
        <select
            id="lang-select"
            name="lang"
            on:change=submit_on_change
            data-hydrated=move || hydrated.get().then_some("true")
        >
            {options}
        </select>
    }
}
