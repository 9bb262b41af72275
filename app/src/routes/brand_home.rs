use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::components::{Notice, Page, PageBrand};
use crate::functions::portal::{load_brand_page, BrandPage};
use crate::i18n::*;
use crate::routes::{page_locale, NotFound, ServerError};

/// `/r/{brand}`: the brand's front door.
#[component]
pub fn BrandHome() -> impl IntoView {
    let slug = use_params_map()
        .read_untracked()
        .get("brand")
        .unwrap_or_default();
    let page = Resource::new_blocking(|| (), move |_| load_brand_page(slug.clone()));
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(Some(page)) => view! { <Landing page /> }.into_any(),
                    Ok(None) => view! { <NotFound /> }.into_any(),
                    Err(_) => view! { <ServerError /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Landing(page: BrandPage) -> impl IntoView {
    let locale = page_locale(page.default_locale);
    let (cta_href, cta) = if page.signed_in {
        (
            format!("/r/{}/card", page.slug),
            td_string!(locale, open_card).to_string(),
        )
    } else {
        (
            format!("/r/{}/join", page.slug),
            td_string!(locale, cta_join).to_string(),
        )
    };
    let visit = page.visit.clone().map(|v| {
        view! {
            <p class="visit">
                <span aria-hidden="true" class="visit-pin"></span>
                {td_string!(locale, at_table, store = v.store_name, table = v.table_label)}
            </p>
        }
    });
    let benefits = [
        (
            "points",
            td_string!(locale, benefit_points_title),
            td_string!(locale, benefit_points_body),
        ),
        (
            "tiers",
            td_string!(locale, benefit_tiers_title),
            td_string!(locale, benefit_tiers_body),
        ),
        (
            "coupons",
            td_string!(locale, benefit_coupons_title),
            td_string!(locale, benefit_coupons_body),
        ),
        (
            "feedback",
            td_string!(locale, benefit_feedback_title),
            td_string!(locale, benefit_feedback_body),
        ),
    ]
    .into_iter()
    .map(|(icon, title, body)| {
        view! {
            <li class="benefit">
                <span class=format!("benefit-icon icon-{icon}") aria-hidden="true"></span>
                <div>
                    <h3>{title}</h3>
                    <p>{body}</p>
                </div>
            </li>
        }
    })
    .collect_view();
    let brand = PageBrand {
        slug: page.slug.clone(),
        name: page.name.clone(),
        theme_color: page.theme_color.clone(),
        logo: (page.logo_version > 0)
            .then(|| format!("/r/{}/logo?v={}", page.slug, page.logo_version)),
    };
    view! {
        <Page locale title=page.name.clone() brand>
            <Notice locale />
            <section class="hero">
                <p class="eyebrow">{td_string!(locale, landing_welcome)}</p>
                <h1>{page.name.clone()}</h1>
                <p class="tagline">{td_string!(locale, landing_tagline)}</p>
                {visit}
                <div class="card-preview" aria-hidden="true">
                    <span class="card-brand">{page.name.clone()}</span>
                    <span class="card-chip"></span>
                    <span class="card-number">"•••• •••• 0000"</span>
                </div>
                <a class="button primary" href=cta_href>
                    {cta}
                </a>
                <p class="hint">{td_string!(locale, cta_hint)}</p>
                {(page.signed_in || page.visit.is_some()).then(|| view! {
                    <a class="button secondary" href=format!("/r/{}/feedback", page.slug)>
                        {td_string!(locale, feedback_write)}
                    </a>
                })}
            </section>
            <section class="benefits">
                <h2>{td_string!(locale, benefits_title)}</h2>
                <ul>{benefits}</ul>
            </section>
        </Page>
    }
}
