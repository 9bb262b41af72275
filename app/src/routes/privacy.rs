use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::components::{Page, PageBrand};
use crate::functions::members::{load_join, load_terms_text};
use crate::i18n::*;
use crate::routes::{page_locale, NotFound, ServerError};

/// `/r/{brand}/privacy`: the member terms and privacy notice a new member
/// accepts, with its version. Brands edit the text in the console later.
#[component]
pub fn PrivacyRoute() -> impl IntoView {
    let slug = use_params_map()
        .read_untracked()
        .get("brand")
        .unwrap_or_default();
    let page = {
        let slug = slug.clone();
        Resource::new_blocking(|| (), move |_| load_join(slug.clone()))
    };
    let own_text = Resource::new_blocking(|| (), move |_| load_terms_text(slug.clone()));
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let own_text = own_text.await.unwrap_or_default();
                match page.await {
                    Ok(Some(page)) if !own_text.is_empty() => {
                        let b = page.brand;
                        let locale = page_locale(b.default_locale);
                        let brand = PageBrand::from(&b);
                        // The brand's own words: paragraphs at blank lines, shown as text.
                        let paragraphs = own_text
                            .split("\n\n")
                            .map(str::trim)
                            .filter(|p| !p.is_empty())
                            .map(|p| view! { <p class="prose">{p.to_owned()}</p> })
                            .collect_view();
                        view! {
                            <Page locale title=td_string!(locale, privacy_title).to_string() brand>
                                <article class="panel prose">
                                    <h1>{td_string!(locale, privacy_title)}</h1>
                                    <p class="muted">{td_string!(locale, privacy_version, version = b.terms_version.clone())}</p>
                                    {paragraphs}
                                    <a class="button secondary" href=format!("/r/{}/join", b.slug)>{td_string!(locale, join_title)}</a>
                                </article>
                            </Page>
                        }
                        .into_any()
                    }
                    Ok(Some(page)) => {
                        let b = page.brand;
                        let locale = page_locale(b.default_locale);
                        let brand = PageBrand::from(&b);
                        let name = b.name.clone();
                        view! {
                            <Page locale title=td_string!(locale, privacy_title).to_string() brand>
                                <article class="panel prose">
                                    <h1>{td_string!(locale, privacy_title)}</h1>
                                    <p class="muted">{td_string!(locale, privacy_version, version = b.terms_version.clone())}</p>
                                    <h2>{td_string!(locale, privacy_who_title)}</h2>
                                    <p>{td_string!(locale, privacy_who, brand = name.clone())}</p>
                                    <h2>{td_string!(locale, privacy_what_title)}</h2>
                                    <p>{td_string!(locale, privacy_what)}</p>
                                    <h2>{td_string!(locale, privacy_why_title)}</h2>
                                    <p>{td_string!(locale, privacy_why)}</p>
                                    <h2>{td_string!(locale, privacy_marketing_title)}</h2>
                                    <p>{td_string!(locale, privacy_marketing)}</p>
                                    <h2>{td_string!(locale, privacy_rights_title)}</h2>
                                    <p>{td_string!(locale, privacy_rights)}</p>
                                    <h2>{td_string!(locale, privacy_keep_title)}</h2>
                                    <p>{td_string!(locale, privacy_keep)}</p>
                                    <a class="button secondary" href=format!("/r/{}/join", b.slug)>{td_string!(locale, join_title)}</a>
                                </article>
                            </Page>
                        }
                        .into_any()
                    }
                    Ok(None) => view! { <NotFound /> }.into_any(),
                    Err(_) => view! { <ServerError /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
