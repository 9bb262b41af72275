//! `/admin/coupons` (the templates, pause and resume) and
//! `/admin/coupons/new` (the editor: "预览" re-renders the page with the
//! rule in the members' words, without any script).

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::components::{Notice, Page, PageBrand};
use crate::error::{sentence, AppError};
use crate::functions::offers::CreateOffer;
use crate::functions::offers::PauseOffer;
use crate::functions::offers::{load_offer_editor, load_offers, EditorPage, OffersPage};
use crate::i18n::*;
use crate::routes::admin::console_nav;
use crate::routes::{page_locale, staff_page};
use leptos::server_fn::ServerFn as _;

#[component]
pub fn AdminOffers() -> impl IntoView {
    staff_page(load_offers, |page| view! { <Offers page /> }.into_any())
}

#[component]
fn Offers(page: OffersPage) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let rows = page
        .templates
        .iter()
        .map(|t| {
            let offered = t
                .offered
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|o| match o {
                    "welcome" => td_string!(locale, cpn_welcome).to_string(),
                    "claim" => td_string!(locale, cpn_claim).to_string(),
                    _ => td_string!(locale, cpn_exchange).to_string(),
                })
                .collect::<Vec<_>>()
                .join("、");
            view! {
                <tr id=format!("t{}", t.id) class=if t.active { "" } else { "paused" }>
                    <th scope="row">{t.title.clone()}</th>
                    <td>{t.conditions.clone()}</td>
                    <td>{if t.stores.is_empty() { td_string!(locale, cpn_all_stores).to_string() } else { t.stores.clone() }}</td>
                    <td class="num">{t.issued.clone()}</td>
                    <td>{offered}</td>
                    <td>
                        <form method="post" action=PauseOffer::PATH>
                            <input type="hidden" name="id" value=t.id.to_string() />
                            <input type="hidden" name="active" value=(!t.active).to_string() />
                            <button class="button secondary small" type="submit">
                                {if t.active { td_string!(locale, cpn_pause) } else { td_string!(locale, cpn_resume) }}
                            </button>
                        </form>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Page locale title=td_string!(locale, admin_coupons).to_string() brand>
            {console_nav(locale, &page.staff)}
            <h1>{td_string!(locale, admin_coupons)}</h1>
            <Notice locale />
            <p><a class="button primary" href="/admin/coupons/new">{td_string!(locale, cpn_new)}</a></p>
            <div class="table-wrap" tabindex="0" role="region" aria-label=td_string!(locale, admin_coupons)>
                <table class="report">
                    <thead>
                        <tr>
                            <th scope="col">{td_string!(locale, cpn_title)}</th>
                            <th scope="col">{td_string!(locale, cpn_conditions)}</th>
                            <th scope="col">{td_string!(locale, staff_stores)}</th>
                            <th scope="col">{td_string!(locale, cpn_issued)}</th>
                            <th scope="col">{td_string!(locale, cpn_offered)}</th>
                            <th scope="col"><span class="sr-only">{td_string!(locale, cpn_pause)}</span></th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </Page>
    }
}

#[component]
pub fn AdminOfferEditor() -> impl IntoView {
    let query = use_location().search.get_untracked();
    staff_page(
        move || load_offer_editor(query.clone()),
        |page| view! { <Editor page /> }.into_any(),
    )
}

/// A refusal of the editor's form, beside the form.
fn refusal_text(locale: Locale, e: &AppError) -> String {
    sentence(locale, e).unwrap_or_else(|| td_string!(locale, tpl_err_kind).to_string())
}

#[component]
fn Editor(page: EditorPage) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let f = page.form.clone();
    let query = leptos_router::hooks::use_query_map().get_untracked();
    let error = AppError::from_query(|name| query.get(name));
    let kinds = [
        (
            "amount_off",
            td_string!(locale, tpl_kind_amount_off).to_string(),
        ),
        (
            "percent_off",
            td_string!(locale, tpl_kind_percent_off).to_string(),
        ),
        ("voucher", td_string!(locale, tpl_kind_voucher).to_string()),
        ("gift", td_string!(locale, tpl_kind_gift).to_string()),
    ]
    .into_iter()
    .map(|(v, label)| view! { <option value=v selected=f.kind == v>{label}</option> })
    .collect_view();
    let weekdays = (1..=7i8)
        .map(|d| {
            view! {
                <label class="check">
                    <input type="checkbox" name="weekdays[]" value=d.to_string() checked=f.weekdays.contains(&d) />
                    {crate::routes::brand::weekday_name(locale, d)}
                </label>
            }
        })
        .collect_view();
    let stores = page
        .stores
        .iter()
        .map(|(id, name)| {
            view! {
                <label class="check">
                    <input type="checkbox" name="stores[]" value=id.to_string() checked=f.stores.contains(id) />
                    {name.clone()}
                </label>
            }
        })
        .collect_view();
    let tiers = page
        .tiers
        .iter()
        .map(|(rank, name)| view! { <option value=rank.to_string() selected=f.min_tier == rank.to_string()>{name.clone()}</option> })
        .collect_view();
    let preview = page.preview.clone().map(|p| match p {
        Ok(lines) => view! {
            <section class="panel coupon-preview" role="status" aria-label=td_string!(locale, tpl_preview)>
                <p class="muted">{td_string!(locale, tpl_preview)}</p>
                {lines.into_iter().enumerate().map(|(i, l)| if i == 0 {
                    view! { <p class="coupon-preview-title">{l}</p> }.into_any()
                } else {
                    view! { <p>{l}</p> }.into_any()
                }).collect_view()}
            </section>
        }
        .into_any(),
        Err(e) => view! { <p class="alert error" role="alert">{refusal_text(locale, &e)}</p> }.into_any(),
    });
    view! {
        <Page locale title=td_string!(locale, cpn_new).to_string() brand>
            {console_nav(locale, &page.staff)}
            <p><a class="small-link" href="/admin/coupons">{td_string!(locale, admin_coupons)}</a></p>
            <h1>{td_string!(locale, cpn_new)}</h1>
            {error.map(|e| view! { <p class="alert error" role="alert">{refusal_text(locale, &e)}</p> })}
            {if page.preview.is_some() { None } else { Some(view! { <p class="muted">{td_string!(locale, tpl_preview_hint)}</p> }) }}
            {preview}
            <form class="stack panel" method="post" action=CreateOffer::PATH>
                <label for="kind">{td_string!(locale, tpl_kind)}</label>
                <select id="kind" name="kind" required>{kinds}</select>
                <label for="amount">{td_string!(locale, tpl_amount)}</label>
                <input id="amount" name="amount" inputmode="decimal" maxlength="12" value=f.amount.clone() />
                <label for="percent">{td_string!(locale, tpl_percent)}</label>
                <input id="percent" name="percent" inputmode="numeric" maxlength="2" value=f.percent.clone() />
                <label for="max_off">{td_string!(locale, tpl_max_off)}</label>
                <input id="max_off" name="max_off" inputmode="decimal" maxlength="12" value=f.max_off.clone() />
                <label for="gift">{td_string!(locale, tpl_gift)}</label>
                <input id="gift" name="gift" maxlength="60" value=f.gift.clone() />
                <label for="threshold">{td_string!(locale, tpl_threshold)}</label>
                <input id="threshold" name="threshold" inputmode="decimal" maxlength="12" value=f.threshold.clone() />
                <fieldset>
                    <legend>{td_string!(locale, tpl_weekdays)}</legend>
                    {weekdays}
                </fieldset>
                <label for="from_time">{td_string!(locale, tpl_from_time)}</label>
                <input id="from_time" name="from_time" type="time" value=f.from_time.clone() />
                <label for="until_time">{td_string!(locale, tpl_until_time)}</label>
                <input id="until_time" name="until_time" type="time" value=f.until_time.clone() />
                <label for="valid_days">{td_string!(locale, tpl_valid_days)}</label>
                <input id="valid_days" name="valid_days" type="number" min="1" max="3660" value=f.valid_days.clone() placeholder="30" />
                <label for="starts">{td_string!(locale, tpl_starts)}</label>
                <input id="starts" name="starts" type="date" value=f.starts.clone() />
                <label for="ends">{td_string!(locale, tpl_ends)}</label>
                <input id="ends" name="ends" type="date" value=f.ends.clone() />
                <fieldset>
                    <legend>{td_string!(locale, staff_stores)}</legend>
                    <p class="muted">{if page.must_pick_stores { td_string!(locale, tpl_stores_manager) } else { td_string!(locale, tpl_stores_hint) }}</p>
                    {stores}
                </fieldset>
                <label for="min_tier">{td_string!(locale, tpl_min_tier)}</label>
                <select id="min_tier" name="min_tier">{tiers}</select>
                <label for="stock">{td_string!(locale, tpl_stock)}</label>
                <input id="stock" name="stock" type="number" min="0" value=f.stock.clone() />
                <label for="per_member">{td_string!(locale, tpl_per_member)}</label>
                <input id="per_member" name="per_member" type="number" min="1" value=f.per_member.clone() />
                <label for="points_price">{td_string!(locale, tpl_points_price)}</label>
                <input id="points_price" name="points_price" type="number" min="1" value=f.points_price.clone() />
                <label class="check"><input type="checkbox" name="claimable" checked=f.claimable.is_some() />{td_string!(locale, tpl_claimable)}</label>
                <label class="check"><input type="checkbox" name="welcome" checked=f.welcome.is_some() />{td_string!(locale, tpl_welcome)}</label>
                <label class="check"><input type="checkbox" name="stacks" checked=f.stacks.is_some() />{td_string!(locale, tpl_stacks)}</label>
                <div class="button-row">
                    <button class="button secondary" type="submit" formmethod="get" formaction="/admin/coupons/new">{td_string!(locale, tpl_preview_button)}</button>
                    <button class="button primary" type="submit">{td_string!(locale, tpl_create)}</button>
                </div>
            </form>
        </Page>
    }
}
