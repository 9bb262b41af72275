//! `/admin/stored-value`: the owner's top-up offers, how payments split,
//! and what the brand owes its members (the liability report and its CSV).

use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use loyalty::money::yuan;

use crate::components::{Notice, Page, PageBrand};
use crate::functions::stored_admin::{
    load_stored_admin, AddTopUpOffer, RetireTopUpOffer, SaveStoredSplit, StoredAdminPage,
};
use crate::i18n::*;
use crate::routes::admin::console_nav;
use crate::routes::{page_locale, staff_page};

#[component]
pub fn AdminStoredValue() -> impl IntoView {
    staff_page(load_stored_admin, |page| {
        view! { <StoredAdmin page /> }.into_any()
    })
}

#[component]
fn StoredAdmin(page: StoredAdminPage) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let (staff, s) = (page.staff, page.screen);
    let zone = s.liability.time_zone.clone();
    let store_name = |id: loyalty::brands::stores::StoreId| {
        s.stores
            .iter()
            .find(|st| st.id == id)
            .map(|st| st.name.clone())
            .unwrap_or_default()
    };
    let offers = if s.offers.is_empty() {
        view! { <p class="muted">{td_string!(locale, sva_no_offers)}</p> }.into_any()
    } else {
        let rows = s
            .offers
            .iter()
            .map(|o| {
                let title = td_string!(locale, sv_offer, min = yuan(o.min_fen), bonus = yuan(o.bonus_fen)).to_string();
                let from = loyalty::points::rules::local_date(&zone, o.starts_at);
                let until = o.ends_at.map(|e| loyalty::points::rules::local_date(&zone, e - 1));
                let when = match until {
                    Some(u) => format!("{from} – {u}"),
                    None => td_string!(locale, sva_from, date = from).to_string(),
                };
                let wherever = match &o.stores {
                    None => td_string!(locale, sva_all_stores).to_string(),
                    Some(ids) => ids.iter().map(|id| store_name(*id)).collect::<Vec<_>>().join("、"),
                };
                view! {
                    <tr id=format!("offer-{}", o.id)>
                        <td><strong>{title}</strong></td>
                        <td>{when}</td>
                        <td>{wherever}</td>
                        <td>
                            <form method="post" action=RetireTopUpOffer::PATH>
                                <input type="hidden" name="id" value=o.id.to_string() />
                                <button class="button secondary" type="submit">{td_string!(locale, sva_retire)}</button>
                            </form>
                        </td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="data">
                <thead><tr>
                    <th scope="col">{td_string!(locale, sva_offer)}</th>
                    <th scope="col">{td_string!(locale, sva_when)}</th>
                    <th scope="col">{td_string!(locale, sva_where)}</th>
                    <th scope="col"><span class="sr-only">{td_string!(locale, sva_retire)}</span></th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    let store_options = s
        .stores
        .iter()
        .map(|st| view! { <option value=st.id.0.to_string()>{st.name.clone()}</option> })
        .collect_view();
    let proportional = s.split == loyalty::stored_value::Split::Proportional;
    let l = s.liability.clone();
    let (members, owed, owed_principal, owed_bonus) = (
        l.members,
        l.outstanding.total_fen(),
        l.outstanding.principal_fen,
        l.outstanding.bonus_fen,
    );
    let by_store = l
        .by_store
        .iter()
        .map(|st| {
            view! {
                <tr>
                    <th scope="row">{st.store.clone()}</th>
                    <td>{yuan(st.outstanding.principal_fen)}</td>
                    <td>{yuan(st.outstanding.bonus_fen)}</td>
                    <td>{yuan(st.paid_in_fen)}</td>
                </tr>
            }
        })
        .collect_view();
    let by_month = l
        .by_month
        .iter()
        .map(|m| {
            view! {
                <tr>
                    <th scope="row">{m.month.clone()}</th>
                    <td>{yuan(m.topped_up_fen)}</td>
                    <td>{yuan(m.bonus_given_fen)}</td>
                    <td>{yuan(m.spent_principal_fen)}</td>
                    <td>{yuan(m.spent_bonus_fen)}</td>
                    <td>{yuan(m.refunded_fen)}</td>
                    <td>{yuan(m.outstanding_at_end.total_fen())}</td>
                </tr>
            }
        })
        .collect_view();
    let settlement = if l.settlement.is_empty() {
        view! { <p class="muted">{td_string!(locale, sva_no_settlement)}</p> }.into_any()
    } else {
        let rows = l
            .settlement
            .iter()
            .map(|x| {
                view! {
                    <tr>
                        <td>{x.topped_up_at.clone()}</td>
                        <td>{x.spent_at.clone()}</td>
                        <td>{yuan(x.principal_fen)}</td>
                        <td>{yuan(x.bonus_fen)}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="data">
                <thead><tr>
                    <th scope="col">{td_string!(locale, sva_topped_up_at)}</th>
                    <th scope="col">{td_string!(locale, sva_spent_at)}</th>
                    <th scope="col">{td_string!(locale, sva_col_principal)}</th>
                    <th scope="col">{td_string!(locale, sva_col_bonus)}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <Page locale title=td_string!(locale, admin_stored_value).to_string() brand>
            {console_nav(locale, &staff)}
            <h1>{td_string!(locale, admin_stored_value)}</h1>
            <Notice locale />
            <section class="panel">
                <h2>{td_string!(locale, sva_liability)}</h2>
                <p class="balance">
                    <span class="muted">{td_string!(locale, sva_outstanding, members = members)}</span>
                    <strong class="balance-figure">{yuan(owed)}</strong>
                </p>
                <dl class="sv-parts">
                    <div><dt>{td_string!(locale, sv_principal)}</dt><dd>{yuan(owed_principal)}</dd></div>
                    <div><dt>{td_string!(locale, sv_bonus)}</dt><dd>{yuan(owed_bonus)}</dd></div>
                </dl>
                <a class="small-link" href="/admin/stored-value.csv" download>{td_string!(locale, sva_csv)}</a>
                <h3>{td_string!(locale, sva_by_store)}</h3>
                <table class="data">
                    <thead><tr>
                        <th scope="col">{td_string!(locale, sva_col_name)}</th>
                        <th scope="col">{td_string!(locale, sva_col_principal)}</th>
                        <th scope="col">{td_string!(locale, sva_col_bonus)}</th>
                        <th scope="col">{td_string!(locale, sva_paid_in)}</th>
                    </tr></thead>
                    <tbody>{by_store}</tbody>
                </table>
                <h3>{td_string!(locale, sva_by_month)}</h3>
                <div class="table-scroll">
                    <table class="data">
                        <thead><tr>
                            <th scope="col">{td_string!(locale, sva_month)}</th>
                            <th scope="col">{td_string!(locale, sva_topped_up)}</th>
                            <th scope="col">{td_string!(locale, sva_bonus_given)}</th>
                            <th scope="col">{td_string!(locale, sva_spent_principal)}</th>
                            <th scope="col">{td_string!(locale, sva_spent_bonus)}</th>
                            <th scope="col">{td_string!(locale, sva_refunded)}</th>
                            <th scope="col">{td_string!(locale, sva_owed_at_end)}</th>
                        </tr></thead>
                        <tbody>{by_month}</tbody>
                    </table>
                </div>
                <h3>{td_string!(locale, sva_settlement)}</h3>
                {settlement}
            </section>
            <section class="panel">
                <h2>{td_string!(locale, sv_offers)}</h2>
                {offers}
                <form class="stack" method="post" action=AddTopUpOffer::PATH>
                    <h3>{td_string!(locale, sva_new_offer)}</h3>
                    <label for="offer-min">{td_string!(locale, sva_min)}</label>
                    <input id="offer-min" name="min" inputmode="decimal" required maxlength="20" />
                    <label for="offer-bonus">{td_string!(locale, sva_bonus)}</label>
                    <input id="offer-bonus" name="bonus" inputmode="decimal" required maxlength="20" />
                    <label for="offer-starts">{td_string!(locale, sva_starts)}</label>
                    <input id="offer-starts" name="starts" type="date" />
                    <label for="offer-ends">{td_string!(locale, sva_ends)}</label>
                    <input id="offer-ends" name="ends" type="date" />
                    <label for="offer-store">{td_string!(locale, sva_where)}</label>
                    <select id="offer-store" name="store">
                        <option value="all">{td_string!(locale, sva_all_stores)}</option>
                        {store_options}
                    </select>
                    <button class="button primary" type="submit">{td_string!(locale, sva_add)}</button>
                </form>
            </section>
            <section class="panel" id="split">
                <h2>{td_string!(locale, sva_split)}</h2>
                <form class="stack" method="post" action=SaveStoredSplit::PATH>
                    <label>
                        <input type="radio" name="split" value="proportional" checked=proportional />
                        " " {td_string!(locale, sva_split_proportional)}
                    </label>
                    <label>
                        <input type="radio" name="split" value="principal_first" checked=!proportional />
                        " " {td_string!(locale, sva_split_principal_first)}
                    </label>
                    <button class="button secondary" type="submit">{td_string!(locale, sva_save)}</button>
                </form>
            </section>
        </Page>
    }
}
