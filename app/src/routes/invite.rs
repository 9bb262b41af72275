//! `/r/{brand}/invite`: share a link or let a friend scan the QR.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::components::{Page, PageBrand};
use crate::functions::invite::{load_invite, InviteLoad, InvitePage};
use crate::i18n::*;
use crate::routes::{loaded_page, page_locale, NotFound};

#[component]
pub fn InviteRoute() -> impl IntoView {
    let slug = use_params_map()
        .read_untracked()
        .get("brand")
        .unwrap_or_default();
    loaded_page(
        move || load_invite(slug.clone()),
        |load| match load {
            InviteLoad::Invite(page) => view! { <Invite page=*page /> }.into_any(),
            InviteLoad::SignedOut => ().into_any(),
            InviteLoad::NoBrand => view! { <NotFound /> }.into_any(),
        },
    )
}

#[component]
fn Invite(page: InvitePage) -> impl IntoView {
    let locale = page_locale(page.brand.default_locale);
    let slug = page.brand.slug.clone();
    let brand = PageBrand::from(&page.brand);
    let mut gives = Vec::new();
    if page.friend_points > 0 {
        gives.push(
            td_string!(locale, invite_friend_points, points = page.friend_points).to_string(),
        );
    }
    if let Some(c) = &page.friend_coupon {
        gives.push(td_string!(locale, invite_friend_coupon, title = c.clone()).to_string());
    }
    let friend = (!gives.is_empty()).then(|| gives.join(td_string!(locale, list_and)));
    view! {
        <Page locale title=td_string!(locale, invite_title).to_string() brand>
            <h1>{td_string!(locale, invite_title)}</h1>
            {(page.referrer_points > 0).then(|| view! {
                <p>{td_string!(locale, invite_you_get, points = page.referrer_points)}</p>
            })}
            {friend.map(|f| view! { <p>{td_string!(locale, invite_friend_gets, gives = f)}</p> })}
            <div class="qr" inner_html=page.qr_svg.clone() role="img" aria-label=td_string!(locale, invite_qr_label)></div>
            <p class="hint">{td_string!(locale, invite_scan)}</p>
            <label for="invite-link">{td_string!(locale, invite_link)}</label>
            <input id="invite-link" class="copyable" readonly value=page.link.clone() />
            <p class="hint">{td_string!(locale, invite_code, code = page.code.clone())}</p>
            <p>{td_string!(locale, invite_stats, joined = page.joined, rewarded = page.rewarded)}</p>
            <p><a class="small-link" href=format!("/r/{slug}/card")>{td_string!(locale, back_to_card)}</a></p>
        </Page>
    }
}
