use leptos::prelude::*;
use leptos_meta::{Html, Link, Meta, Title};

use crate::components::LanguageSwitcher;
use crate::i18n::*;

/// The brand a page belongs to, for its colours and header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageBrand {
    pub slug: String,
    pub name: String,
    pub theme_color: String,
    /// The logo's address, when the brand has one.
    pub logo: Option<String>,
}

impl From<&crate::functions::members::BrandInfo> for PageBrand {
    fn from(b: &crate::functions::members::BrandInfo) -> Self {
        PageBrand {
            slug: b.slug.clone(),
            name: b.name.clone(),
            theme_color: b.theme_color.clone(),
            logo: (b.logo_version > 0).then(|| format!("/r/{}/logo?v={}", b.slug, b.logo_version)),
        }
    }
}

/// Every member-facing page: language, title, header with the brand and the
/// language menu, and the footer.
#[component]
pub fn Page(
    locale: Locale,
    title: String,
    #[prop(optional)] brand: Option<PageBrand>,
    children: Children,
) -> impl IntoView {
    let (brand_name, color) = match &brand {
        Some(b) => (b.name.clone(), b.theme_color.clone()),
        None => (
            td_string!(locale, app_name).to_string(),
            "#b4442b".to_owned(),
        ),
    };
    let initial = brand_name.chars().next().unwrap_or('T').to_string();
    // Framed in the brand's own site, which has its own header and footer:
    // the page shows only its content. `?embed=1` asks for it; the browser's
    // `Sec-Fetch-Dest: iframe` keeps it on every later page in the frame.
    #[cfg(feature = "ssr")]
    let framed = crate::server::framed();
    #[cfg(not(feature = "ssr"))]
    let framed = false;
    let embedded = framed
        || leptos_router::hooks::use_query_map()
            .get_untracked()
            .get("embed")
            .is_some_and(|v| v == "1");
    // "Add to home screen" on a brand's page installs that brand's card.
    let manifest = match &brand {
        Some(b) => format!("/r/{}/manifest.webmanifest", b.slug),
        None => "/manifest.webmanifest".to_owned(),
    };
    view! {
        <Html attr:lang=locale.as_str() />
        <Link rel="manifest" href=manifest />
        <Meta name="theme-color" content=color.clone() />
        <Title text=escape_title(&title) />
        <div class=if embedded { "page embedded" } else { "page" } style=format!("--brand: {color}")>
            <header class="topbar">
                {match brand.as_ref().and_then(|b| b.logo.clone()) {
                    Some(src) => view! { <img class="brand-logo" src=src alt="" width="36" height="36" /> }.into_any(),
                    None => view! { <span class="brand-mark" aria-hidden="true">{initial}</span> }.into_any(),
                }}
                <span class="brand-name">{brand_name}</span>
                <LanguageSwitcher locale=locale />
            </header>
            <main class="content">{children()}</main>
            <footer class="footer">
                <p>{td_string!(locale, privacy_line)}</p>
                <p class="powered">{td_string!(locale, powered_by)}</p>
            </footer>
        </div>
    }
}

/// leptos_meta 0.8 writes the `<title>` text into the page as it is, so a
/// brand named `</title><script>…` would end the title and start a script.
/// The title is only ever rendered on the server (no island changes it), so
/// it is escaped here once.
fn escape_title(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}
