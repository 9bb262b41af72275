//! Staff accounts (owners) and one's own password (everyone): thin edges
//! over `loyalty::staff::accounts` and `loyalty::staff::sessions::change_password`.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::functions::admin::{StaffInfo, StaffLoad};
use crate::functions::form::staff_form;
use loyalty::access::Cashier;
use loyalty::brands::stores::StoreId;
use loyalty::error::Invalid;
use loyalty::staff::{Role, StaffId};
use loyalty::{staff::accounts, SystemClock};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLine {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub role: String,
    pub active: bool,
    pub locked: bool,
    pub stores: Vec<i64>,
    /// The signed-in owner's own account: role and activity stay.
    pub is_me: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountsPage {
    pub staff: StaffInfo,
    pub stores: Vec<(i64, String)>,
    pub accounts: Vec<AccountLine>,
    /// A password just generated: (login, password), shown this once.
    pub new_password: Option<(String, String)>,
}

#[cfg(feature = "ssr")]
mod edge {

    /// A generated password travels to the page that shows it in a signed,
    /// HttpOnly cookie that lives a minute: never in a URL, gone once read.
    pub const NEW_PASSWORD_COOKIE: &str = "tc_new_password";

    /// Shows `password` for `login` once, to the owner who made it.
    pub fn hand_over(state: &crate::server::PortalState, owner: i64, login: &str, password: &str) {
        let value = format!("{owner}|{login}|{password}");
        crate::server::put_private_cookie(state, NEW_PASSWORD_COOKIE, &value, 60);
    }
}

pub async fn load_accounts() -> Result<StaffLoad<AccountsPage>, AppError> {
    use crate::functions::admin::owner;
    use crate::server::{portal_state, take_private_cookie};

    let state = portal_state()?;
    let (session, brand, info) = match owner(&state, "/admin/staff").await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let now = loyalty::Clock::now_ms(&loyalty::SystemClock);
    let accounts = loyalty::staff::accounts::list(&state.db, brand.id)
        .await?
        .into_iter()
        .map(|a| AccountLine {
            id: a.staff.id.0,
            is_me: a.staff.id == session.staff.id,
            login: a.staff.login,
            display_name: a.staff.display_name,
            role: a.staff.role.as_str().to_owned(),
            active: a.active,
            locked: a.locked_until.is_some_and(|t| t > now),
            stores: a.stores.iter().map(|s| s.0).collect(),
        })
        .collect();
    let stores = loyalty::brands::stores::list(&state.db, brand.id)
        .await?
        .into_iter()
        .map(|s| (s.id.0, s.name))
        .collect();
    let me = session.staff.id.0.to_string();
    Ok(StaffLoad::Page(Box::new(AccountsPage {
        staff: info,
        stores,
        accounts,
        new_password: take_private_cookie(&state, edge::NEW_PASSWORD_COOKIE).and_then(|v| {
            let mut parts = v.splitn(3, '|');
            let (owner, login, password) = (parts.next()?, parts.next()?, parts.next()?);
            (owner == me).then(|| (login.to_owned(), password.to_owned()))
        }),
    })))
}

#[server(prefix = "/fn", endpoint = "create_staff")]
pub async fn create_staff(
    login: String,
    display_name: String,
    role: String,
    #[server(default)] stores: Vec<i64>,
) -> Result<(), AppError> {
    let stores: Vec<_> = stores.into_iter().map(StoreId).collect();
    staff_form("/admin/staff", async |state, owner| {
        let role = Role::parse(&role)?;
        let (staff, password) = accounts::create(
            &state.db,
            &SystemClock,
            &owner,
            role,
            &login,
            &display_name,
            &stores,
        )
        .await?;
        edge::hand_over(state, owner.staff.id.0, &staff.login, &password);
        Ok(format!("/admin/staff#staff-{}", staff.id.0))
    })
    .await
}

#[server(prefix = "/fn", endpoint = "update_staff")]
pub async fn update_staff(
    id: i64,
    display_name: String,
    role: String,
    #[server(default)] stores: Vec<i64>,
    #[server(default)] active: Option<String>,
) -> Result<(), AppError> {
    let stores: Vec<_> = stores.into_iter().map(StoreId).collect();
    staff_form(&format!("/admin/staff#staff-{id}"), async |state, owner| {
        let (role, active) = (Role::parse(&role)?, active.is_some());
        let target = StaffId(id);
        accounts::update(
            &state.db,
            &SystemClock,
            &owner,
            target,
            role,
            &display_name,
            &stores,
            active,
        )
        .await?;
        Ok(format!("/admin/staff?saved=1#staff-{id}"))
    })
    .await
}

/// `action`: `reset` (a new generated password) or `unlock`.
#[server(prefix = "/fn", endpoint = "staff_access")]
pub async fn staff_access(id: i64, action: String) -> Result<(), AppError> {
    staff_form("/admin/staff", async |state, owner| {
        let (db, target) = (&state.db, StaffId(id));
        match action.as_str() {
            "reset" => {
                let (login, password) =
                    accounts::reset_password(db, &SystemClock, &owner, target).await?;
                edge::hand_over(state, owner.staff.id.0, &login, &password);
            }
            "unlock" => accounts::unlock(db, &SystemClock, &owner, target).await?,
            _ => return Err(loyalty::Error::invalid("action", Invalid::Format).into()),
        }
        Ok(format!("/admin/staff?saved=1#staff-{id}"))
    })
    .await
}

/// Whether a staff member is signed in, for the password page.
pub async fn load_password_page() -> Result<StaffLoad<StaffInfo>, AppError> {
    use crate::functions::admin::edge::signed_in;
    use crate::server::portal_state;

    let state = portal_state()?;
    match signed_in(&state, "/admin/password").await? {
        Ok((_, _, info)) => Ok(StaffLoad::Page(Box::new(info))),
        Err(refused) => Ok(refused),
    }
}

#[server(prefix = "/fn", endpoint = "change_my_password")]
pub async fn change_my_password(
    current: String,
    new: String,
    confirm: String,
) -> Result<(), AppError> {
    use loyalty::staff;
    staff_form("/admin/password", async |state, me: Cashier| {
        if new != confirm {
            return Err(AppError::new("password_mismatch"));
        }
        // The session the capability came from is this cookie's.
        let token = crate::server::staff_token(state).ok_or(loyalty::Error::StaffSignInFailed)?;
        let policy = &state.staff_sessions;
        match staff::sessions::change_password(
            &state.db,
            &SystemClock,
            policy,
            &me,
            &token,
            &current,
            &new,
        )
        .await
        {
            Ok(()) => Ok("/admin/password?saved=1".to_owned()),
            // Here the only password in question is the current one.
            Err(loyalty::Error::StaffSignInFailed) => Err(AppError::new("wrong_current_password")),
            Err(e) => Err(e.into()),
        }
    })
    .await
}
