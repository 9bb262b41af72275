//! The owner's stores, tables and printable QR sheets. Plain forms; the
//! sheet prints on A4 from any browser, or downloads as SVG per page.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::components::{Notice, Page, PageBrand};
use crate::functions::setup::AddTables;
use crate::functions::setup::NewTableCode;
use crate::functions::setup::SaveStore;
use crate::functions::setup::{
    load_qr_sheet, load_stores, load_tables, QrSheet, StoreLine, StoresPage, TablesPage,
    CARDS_PER_PAGE,
};
use crate::i18n::*;
use crate::routes::admin::console_nav;
use crate::routes::{page_locale, staff_page};
use leptos::server_fn::ServerFn as _;

fn store_param() -> i64 {
    use_params_map()
        .get_untracked()
        .get("id")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// `/admin/stores`.
#[component]
pub fn AdminStores() -> impl IntoView {
    staff_page(load_stores, |page| view! { <Stores page /> }.into_any())
}

/// The fields of a store's form, filled with `store` when editing.
fn store_fields(locale: Locale, prefix: &str, store: Option<&StoreLine>) -> impl IntoView {
    let id = |f: &str| format!("{prefix}-{f}");
    view! {
        <label for=id("code")>{td_string!(locale, setup_store_code)}</label>
        <input id=id("code") name="code" required maxlength="20" autocapitalize="characters"
            value=store.map(|s| s.code.clone()).unwrap_or_default() />
        <label for=id("name")>{td_string!(locale, setup_store_name)}</label>
        <input id=id("name") name="name" required maxlength="80"
            value=store.map(|s| s.name.clone()).unwrap_or_default() />
        <label for=id("address")>{td_string!(locale, setup_store_address)}</label>
        <input id=id("address") name="address" maxlength="200"
            value=store.map(|s| s.address.clone()).unwrap_or_default() />
    }
}

#[component]
fn Stores(page: StoresPage) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let stores = page
        .stores
        .iter()
        .map(|s| {
            let prefix = format!("store-{}", s.id);
            view! {
                <section class="panel" id=prefix.clone()>
                    <h2>{s.name.clone()}</h2>
                    <p>
                        <a class="button secondary" href=format!("/admin/stores/{}", s.id)>
                            {td_string!(locale, setup_manage_tables)} " (" {td_string!(locale, setup_tables_count, n = s.tables)} ")"
                        </a>
                    </p>
                    <form class="stack" method="post" action=SaveStore::PATH>
                        <input type="hidden" name="id" value=s.id.to_string() />
                        {store_fields(locale, &prefix, Some(s))}
                        <button class="button primary" type="submit">{td_string!(locale, setup_save)}</button>
                    </form>
                </section>
            }
        })
        .collect_view();
    view! {
        <Page locale title=td_string!(locale, admin_stores).to_string() brand>
            {console_nav(locale, &page.staff)}
            <h1>{td_string!(locale, admin_stores)}</h1>
            <Notice locale />
            {stores}
            <form class="stack panel" method="post" action=SaveStore::PATH>
                <h2>{td_string!(locale, setup_add_store)}</h2>
                {store_fields(locale, "new-store", None)}
                <button class="button primary" type="submit">{td_string!(locale, setup_add_store)}</button>
            </form>
        </Page>
    }
}

/// `/admin/stores/:id`: a store's tables.
#[component]
pub fn AdminStoreTables() -> impl IntoView {
    let store = store_param();
    staff_page(
        move || load_tables(store),
        |page| view! { <Tables page /> }.into_any(),
    )
}

#[component]
fn Tables(page: TablesPage) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let store = page.store.id;
    let rows = page
        .tables
        .iter()
        .map(|t| {
            view! {
                <tr id=format!("table-{}", t.id)>
                    <th scope="row">{t.label.clone()}</th>
                    <td><a class="small-link mono" href=t.url.clone()>{t.url.clone()}</a></td>
                    <td>
                        <form method="post" action=NewTableCode::PATH>
                            <input type="hidden" name="store" value=store.to_string() />
                            <input type="hidden" name="table" value=t.id.to_string() />
                            <button class="button secondary small" type="submit">{td_string!(locale, setup_new_code)}</button>
                        </form>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let title = td_string!(locale, setup_tables_of, store = page.store.name.clone()).to_string();
    view! {
        <Page locale title=title.clone() brand>
            {console_nav(locale, &page.staff)}
            <p><a class="small-link" href="/admin/stores">{td_string!(locale, setup_back_stores)}</a></p>
            <h1>{title.clone()}</h1>
            <Notice locale />
            {if page.tables.is_empty() {
                view! { <p class="muted empty">{td_string!(locale, setup_no_tables)}</p> }.into_any()
            } else {
                view! {
                    <p><a class="button primary" href=format!("/admin/stores/{store}/qr")>{td_string!(locale, setup_print)}</a></p>
                    <p class="muted">{td_string!(locale, setup_new_code_hint)}</p>
                    <div class="table-wrap" tabindex="0" role="region" aria-label=title>
                        <table class="report">
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                }
                .into_any()
            }}
            <form class="stack panel" method="post" action=AddTables::PATH>
                <h2>{td_string!(locale, setup_add_one)}</h2>
                <input type="hidden" name="store" value=store.to_string() />
                <label for="one-label">{td_string!(locale, setup_table_label)}</label>
                <input id="one-label" name="prefix" required maxlength="20" />
                <button class="button primary" type="submit">{td_string!(locale, setup_add_one)}</button>
            </form>
            <form class="stack panel" method="post" action=AddTables::PATH>
                <h2>{td_string!(locale, setup_batch)}</h2>
                <input type="hidden" name="store" value=store.to_string() />
                <label for="batch-prefix">{td_string!(locale, setup_prefix)}</label>
                <input id="batch-prefix" name="prefix" maxlength="16" placeholder="A" />
                <label for="batch-from">{td_string!(locale, setup_from)}</label>
                <input id="batch-from" name="from" type="number" min="0" max="9999" value="1" required />
                <label for="batch-count">{td_string!(locale, setup_count)}</label>
                <input id="batch-count" name="count" type="number" min="1" max="100" value="10" required />
                <button class="button primary" type="submit">{td_string!(locale, setup_batch)}</button>
            </form>
        </Page>
    }
}

/// `/admin/stores/:id/qr`: the table cards, laid out for A4.
#[component]
pub fn AdminQrSheet() -> impl IntoView {
    let store = store_param();
    staff_page(
        move || load_qr_sheet(store),
        |page| view! { <Sheet page /> }.into_any(),
    )
}

#[component]
fn Sheet(page: QrSheet) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let brand_name = page.staff.brand.name.clone();
    let title = td_string!(locale, setup_sheet_title, store = page.store_name.clone()).to_string();
    let pages = page.cards.len().div_ceil(CARDS_PER_PAGE);
    let downloads = (1..=pages)
        .map(|n| {
            view! {
                <a class="small-link" download=format!("tables-{}-{n}.svg", page.store_id)
                    href=format!("/admin/stores/{}/qr.svg?page={n}", page.store_id)>
                    {td_string!(locale, setup_sheet_svg, page = n)}
                </a>
            }
        })
        .collect_view();
    let cards = page
        .cards
        .iter()
        .map(|c| {
            view! {
                <article class="qr-card">
                    <p class="qr-brand">{brand_name.clone()}</p>
                    <div class="qr-code" inner_html=c.svg.clone()></div>
                    <p class="qr-label">{c.label.clone()}</p>
                    <p class="qr-store">{page.store_name.clone()}</p>
                    <p class="qr-hint">{td_string!(locale, setup_card_scan)}</p>
                </article>
            }
        })
        .collect_view();
    view! {
        <Page locale title=title.clone() brand>
            <div class="no-print">
                {console_nav(locale, &page.staff)}
                <p><a class="small-link" href=format!("/admin/stores/{}", page.store_id)>{td_string!(locale, admin_stores)}</a></p>
                <h1>{title}</h1>
                <p class="muted">{td_string!(locale, setup_sheet_hint)}</p>
                <p class="downloads">{downloads}</p>
            </div>
            <div class="qr-sheet">{cards}</div>
        </Page>
    }
}
