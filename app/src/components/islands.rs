//! The member pages' interactive parts. Each renders something useful on the
//! server, so the page works before and without WebAssembly.

use leptos::prelude::*;

use crate::i18n::*;

/// The rotating code as the card shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CardCode {
    pub digits: String,
    pub grouped: String,
    /// The QR code as an SVG document, drawn on the server.
    pub qr_svg: String,
    /// Milliseconds until the code changes.
    pub refresh_in_ms: i64,
}

/// The rotating member code: QR and digits, replaced with the next code the
/// moment the current one runs out, without reloading the page.
#[island]
pub fn RotatingCode(slug: String, initial: CardCode, locale: Locale) -> impl IntoView {
    let code = RwSignal::new(initial);
    let expired = RwSignal::new(false);
    let hydrated = RwSignal::new(false);
    // Runs in the browser only: each new code schedules the fetch of the next.
    Effect::new(move |_| {
        let wait_ms = code.with(|c| c.refresh_in_ms).max(0) as u64;
        hydrated.set(true);
        let slug = slug.clone();
        set_timeout(
            move || {
                leptos::task::spawn_local(async move {
                    match fetch_code(&slug).await {
                        Some(next) => code.set(next),
                        // Signed out meanwhile, or offline: say so rather than show a dead code.
                        _ => expired.set(true),
                    }
                })
            },
            std::time::Duration::from_millis(wait_ms + 250),
        );
    });
    let svg = move || {
        let svg = code.with(|c| c.qr_svg.clone());
        // The renderer starts with an XML declaration HTML has no use for.
        match svg.find("<svg") {
            Some(i) => svg[i..].to_owned(),
            None => svg,
        }
    };
    view! {
        <div
            class="rotating-code"
            class:expired=move || expired.get()
            data-hydrated=move || hydrated.get().then_some("true")
        >
            <div class="qr" role="img" aria-label=td_string!(locale, card_qr_label) inner_html=svg></div>
            <p class="code-digits" data-code=move || code.with(|c| c.digits.clone())>
                {move || code.with(|c| c.grouped.clone())}
            </p>
            <div class="code-timer" aria-hidden="true">
                // A new bar per code restarts the countdown animation.
                {move || {
                    let ms = code.with(|c| c.refresh_in_ms);
                    view! { <span style=format!("animation-duration: {ms}ms")></span> }
                }}
            </div>
            <p class="code-stale" role="alert" hidden=move || !expired.get()>
                {td_string!(locale, card_code_stale)}
            </p>
        </div>
    }
}

/// Asks `/fn/next_card_code` (a GET server function) for the next code. A
/// plain `fetch` and the browser's JSON parser keep the server-function
/// client, and its encoders, out of the card's WebAssembly.
#[cfg(feature = "hydrate")]
async fn fetch_code(slug: &str) -> Option<CardCode> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    let window = leptos::web_sys::window()?;
    // A slug is only ever `a-z 0-9 -`: nothing to escape.
    let url = format!("/fn/next_card_code?slug={slug}");
    let response: leptos::web_sys::Response = JsFuture::from(window.fetch_with_str(&url))
        .await
        .ok()?
        .dyn_into()
        .ok()?;
    if !response.ok() {
        return None;
    }
    let json = JsFuture::from(response.json().ok()?).await.ok()?;
    let field = |name: &str| js_sys::Reflect::get(&json, &name.into()).ok();
    Some(CardCode {
        digits: field("digits")?.as_string()?,
        grouped: field("grouped")?.as_string()?,
        qr_svg: field("qr_svg")?.as_string()?,
        refresh_in_ms: field("refresh_in_ms")?.as_f64()? as i64,
    })
}

#[cfg(not(feature = "hydrate"))]
async fn fetch_code(_slug: &str) -> Option<CardCode> {
    None
}

/// "Send a new code", counting down the wait once the page is interactive.
/// Before that it is a plain submit button; the server enforces the wait.
#[island]
pub fn ResendButton(wait_secs: i64, locale: Locale) -> impl IntoView {
    let left = RwSignal::new(wait_secs.max(0));
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| {
        hydrated.set(true);
        if let Ok(handle) = set_interval_with_handle(
            move || left.update(|n| *n = (*n - 1).max(0)),
            std::time::Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let waiting = move || hydrated.get() && left.get() > 0;
    view! {
        <button
            type="submit"
            class="button secondary"
            disabled=waiting
            data-hydrated=move || hydrated.get().then_some("true")
        >
            {move || {
                if waiting() {
                    td_string!(locale, resend_in, secs = left.get()).to_string()
                } else {
                    td_string!(locale, resend).to_string()
                }
            }}
        </button>
    }
}

/// The feedback comment: a plain textarea (the form works without it), and
/// once WebAssembly runs, a count of the characters left.
#[island]
pub fn CommentBox(locale: Locale, max: usize) -> impl IntoView {
    let typed = RwSignal::new(None::<usize>);
    Effect::new(move |_| {
        if typed.get_untracked().is_none() {
            typed.set(Some(0));
        }
    });
    let counter = move || match typed.get() {
        Some(n) => td_string!(locale, feedback_count, count = n, max = max).to_string(),
        None => td_string!(locale, feedback_max, max = max).to_string(),
    };
    view! {
        <label for="comment">{td_string!(locale, feedback_comment)}</label>
        <textarea
            id="comment"
            name="comment"
            rows="4"
            maxlength=max.to_string()
            aria-describedby="comment-count"
            on:input=move |ev| typed.set(Some(event_target_value(&ev).chars().count()))
        ></textarea>
        <p id="comment-count" class="muted counter">{counter}</p>
    }
}
