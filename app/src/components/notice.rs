use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::error::{sentence, AppError};
use crate::i18n::*;

/// The sentence for a refusal or confirmation a form post redirected with
/// (`?error=code_wrong&left=3`, `?saved=1`). Unknown codes show nothing.
pub fn notice_text(locale: Locale) -> Option<(bool, String)> {
    let query = use_query_map().get_untracked();
    if let Some(error) = AppError::from_query(|name| query.get(name)) {
        return sentence(locale, &error).map(|text| (true, text));
    }
    let text = if query.get("sent").is_some() {
        td_string!(locale, notice_sent).to_string()
    } else if query.get("replied").is_some() {
        td_string!(locale, notice_replied).to_string()
    } else if query.get("saved").is_some() {
        td_string!(locale, notice_saved).to_string()
    } else {
        match query.get("notice").as_deref() {
            Some("signed_out") => td_string!(locale, notice_signed_out).to_string(),
            Some("deleted") => td_string!(locale, notice_deleted).to_string(),
            Some("erased") => td_string!(locale, notice_erased).to_string(),
            Some("erasure_requested") => td_string!(locale, notice_erasure_requested).to_string(),
            _ => return None,
        }
    };
    Some((false, text))
}

/// Shows the page's notice, announced to screen readers.
#[component]
pub fn Notice(locale: Locale) -> impl IntoView {
    notice_text(locale).map(|(is_error, text)| {
        if is_error {
            view! {
                <p class="alert error" role="alert">
                    {text}
                </p>
            }
            .into_any()
        } else {
            view! {
                <p class="alert ok" role="status">
                    {text}
                </p>
            }
            .into_any()
        }
    })
}
