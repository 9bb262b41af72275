//! `/admin/staff` (owners: accounts, roles, stores, resets) and
//! `/admin/password` (everyone: their own password).

use leptos::prelude::*;

use crate::components::{Notice, Page, PageBrand};
use crate::functions::accounts::ChangeMyPassword;
use crate::functions::accounts::CreateStaff;
use crate::functions::accounts::StaffAccess;
use crate::functions::accounts::UpdateStaff;
use crate::functions::accounts::{load_accounts, load_password_page, AccountLine, AccountsPage};
use crate::functions::admin::StaffInfo;
use crate::i18n::*;
use crate::routes::admin::console_nav;
use crate::routes::{page_locale, staff_page};
use leptos::server_fn::ServerFn as _;

#[component]
pub fn AdminStaff() -> impl IntoView {
    staff_page(load_accounts, |page| view! { <Accounts page /> }.into_any())
}

fn role_name(locale: Locale, role: &str) -> String {
    match role {
        "owner" => td_string!(locale, role_owner),
        "manager" => td_string!(locale, role_manager),
        _ => td_string!(locale, role_cashier),
    }
    .to_string()
}

/// Role, stores: the part of the form a new and an existing account share.
fn role_fields(
    locale: Locale,
    prefix: &str,
    stores: &[(i64, String)],
    role: &str,
    mine: &[i64],
    locked_role: bool,
) -> impl IntoView {
    let role_id = format!("{prefix}-role");
    let options = ["cashier", "manager", "owner"]
        .into_iter()
        .map(|r| view! { <option value=r selected=role == r>{role_name(locale, r)}</option> })
        .collect_view();
    let boxes = stores
        .iter()
        .map(|(id, name)| {
            let box_id = format!("{prefix}-store-{id}");
            view! {
                <label class="check">
                    <input type="checkbox" id=box_id name="stores[]" value=id.to_string() checked=mine.contains(id) />
                    {name.clone()}
                </label>
            }
        })
        .collect_view();
    view! {
        <label for=role_id.clone()>{td_string!(locale, staff_role)}</label>
        {if locked_role {
            view! {
                <input type="hidden" name="role" value=role.to_owned() />
                <p id=role_id>{role_name(locale, role)}</p>
            }
            .into_any()
        } else {
            view! { <select id=role_id name="role">{options}</select> }.into_any()
        }}
        <fieldset>
            <legend>{td_string!(locale, staff_stores)}</legend>
            <p class="muted">{td_string!(locale, staff_stores_hint)}</p>
            {boxes}
        </fieldset>
    }
}

fn account_view(locale: Locale, stores: &[(i64, String)], a: &AccountLine) -> impl IntoView {
    let prefix = format!("staff-{}", a.id);
    let name_id = format!("{prefix}-name");
    let active_id = format!("{prefix}-active");
    let state = match (a.active, a.locked) {
        (false, _) => td_string!(locale, staff_inactive).to_string(),
        (true, true) => td_string!(locale, staff_locked).to_string(),
        _ => String::new(),
    };
    view! {
        <section class="panel" id=prefix.clone()>
            <h2>{a.display_name.clone()} " " <span class="muted mono">{a.login.clone()}</span></h2>
            {(!state.is_empty()).then(|| view! { <p class="alert note">{state}</p> })}
            <form class="stack" method="post" action=UpdateStaff::PATH>
                <input type="hidden" name="id" value=a.id.to_string() />
                <label for=name_id.clone()>{td_string!(locale, staff_name)}</label>
                <input id=name_id name="display_name" required maxlength="40" value=a.display_name.clone() />
                {role_fields(locale, &prefix, stores, &a.role, &a.stores, a.is_me)}
                {if a.is_me {
                    view! { <input type="hidden" name="active" value="on" /> }.into_any()
                } else {
                    view! {
                        <label class="check">
                            <input type="checkbox" id=active_id name="active" checked=a.active />
                            {td_string!(locale, staff_active)}
                        </label>
                    }
                    .into_any()
                }}
                <button class="button primary" type="submit">{td_string!(locale, setup_save)}</button>
            </form>
            {(!a.is_me).then(|| view! {
                <form method="post" action=StaffAccess::PATH>
                    <input type="hidden" name="id" value=a.id.to_string() />
                    <input type="hidden" name="action" value="reset" />
                    <button class="button secondary" type="submit">{td_string!(locale, staff_reset)}</button>
                </form>
            })}
            {a.locked.then(|| view! {
                <form method="post" action=StaffAccess::PATH>
                    <input type="hidden" name="id" value=a.id.to_string() />
                    <input type="hidden" name="action" value="unlock" />
                    <button class="button secondary" type="submit">{td_string!(locale, staff_unlock)}</button>
                </form>
            })}
        </section>
    }
}

#[component]
fn Accounts(page: AccountsPage) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let slug = page.staff.brand.slug.clone();
    let fresh = page.new_password.clone().map(|(login, password)| {
        let full = format!("{login}@{slug}");
        view! {
            <section class="panel" role="status">
                <h2>{td_string!(locale, staff_password_for, login = login)}</h2>
                <p class="mono key-once">{password}</p>
                <p>{td_string!(locale, staff_sign_in_as, name = full)}</p>
                <p class="muted">{td_string!(locale, staff_password_once)}</p>
            </section>
        }
    });
    let accounts = page
        .accounts
        .iter()
        .map(|a| account_view(locale, &page.stores, a))
        .collect_view();
    view! {
        <Page locale title=td_string!(locale, admin_staff).to_string() brand>
            {console_nav(locale, &page.staff)}
            <h1>{td_string!(locale, admin_staff)}</h1>
            <Notice locale />
            {fresh}
            <form class="stack panel" method="post" action=CreateStaff::PATH>
                <h2>{td_string!(locale, staff_add)}</h2>
                <label for="new-login">{td_string!(locale, admin_login)}</label>
                <input id="new-login" name="login" required minlength="3" maxlength="40" autocapitalize="none" autocomplete="off" />
                <label for="new-name">{td_string!(locale, staff_name)}</label>
                <input id="new-name" name="display_name" required maxlength="40" />
                {role_fields(locale, "new", &page.stores, "cashier", &[], false)}
                <button class="button primary" type="submit">{td_string!(locale, staff_add)}</button>
            </form>
            {accounts}
        </Page>
    }
}

#[component]
pub fn AdminPassword() -> impl IntoView {
    staff_page(load_password_page, |staff| {
        view! { <PasswordForm staff /> }.into_any()
    })
}

#[component]
fn PasswordForm(staff: StaffInfo) -> impl IntoView {
    let locale = page_locale(staff.brand.default_locale);
    let brand = PageBrand::from(&staff.brand);
    view! {
        <Page locale title=td_string!(locale, staff_change_password).to_string() brand>
            {console_nav(locale, &staff)}
            <h1>{td_string!(locale, staff_change_password)}</h1>
            <Notice locale />
            <form class="stack panel" method="post" action=ChangeMyPassword::PATH>
                <input type="text" name="username" autocomplete="username" value=staff.display_name.clone() hidden />
                <label for="current">{td_string!(locale, staff_current_password)}</label>
                <input id="current" name="current" type="password" required autocomplete="current-password" maxlength="128" />
                <label for="new">{td_string!(locale, staff_new_password)}</label>
                <input id="new" name="new" type="password" required minlength="10" maxlength="128" autocomplete="new-password" aria-describedby="new-hint" />
                <p class="muted" id="new-hint">{td_string!(locale, staff_password_rule)}</p>
                <label for="confirm">{td_string!(locale, staff_confirm_password)}</label>
                <input id="confirm" name="confirm" type="password" required minlength="10" maxlength="128" autocomplete="new-password" />
                <button class="button primary" type="submit">{td_string!(locale, staff_change_password)}</button>
            </form>
        </Page>
    }
}
