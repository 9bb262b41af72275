//! Staff accounts (owners) and one's own password (everyone): thin edges
//! over `loyalty::accounts` and `loyalty::staff_sessions::change_password`.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::functions::admin::{StaffInfo, StaffLoad};

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

    pub fn role(s: &str) -> loyalty::Result<loyalty::staff::Role> {
        use loyalty::staff::Role;
        match s {
            "owner" => Ok(Role::Owner),
            "manager" => Ok(Role::Manager),
            "cashier" => Ok(Role::Cashier),
            _ => Err(loyalty::Error::invalid(
                "role",
                loyalty::error::Invalid::Format,
            )),
        }
    }

    /// Shows `password` for `login` once, to the owner who made it.
    pub fn hand_over(state: &crate::server::PortalState, owner: i64, login: &str, password: &str) {
        let value = format!("{owner}|{login}|{password}");
        crate::server::put_signed_cookie(state, NEW_PASSWORD_COOKIE, &value, 60);
    }
}

#[server(prefix = "/fn", endpoint = "load_accounts")]
pub async fn load_accounts() -> Result<StaffLoad<AccountsPage>, AppError> {
    use crate::functions::admin::owner;
    use crate::server::{portal_state, take_signed_cookie};

    let state = portal_state()?;
    let (session, brand, info) = match owner(&state, "/admin/staff").await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let now = loyalty::Clock::now_ms(&loyalty::SystemClock);
    let accounts = loyalty::accounts::list(&state.db, brand.id)
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
    let stores = loyalty::stores::list(&state.db, brand.id)
        .await?
        .into_iter()
        .map(|s| (s.id.0, s.name))
        .collect();
    let me = session.staff.id.0.to_string();
    Ok(StaffLoad::Page(Box::new(AccountsPage {
        staff: info,
        stores,
        accounts,
        new_password: take_signed_cookie(&state, edge::NEW_PASSWORD_COOKIE).and_then(|v| {
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
    use crate::functions::admin::owner;
    use crate::server::{portal_state, see_other, see_other_with};

    let state = portal_state()?;
    let (session, _, _) = match owner::<()>(&state, "/admin/staff").await? {
        Ok(s) => s,
        Err(_) => return Ok(()),
    };
    let stores: Vec<_> = stores.into_iter().map(loyalty::stores::StoreId).collect();
    let mut tx = state.db.begin().await?;
    let made = match edge::role(&role) {
        Ok(role) => {
            loyalty::accounts::create(
                &mut tx,
                &loyalty::SystemClock,
                &session,
                role,
                &login,
                &display_name,
                &stores,
            )
            .await
        }
        Err(e) => Err(e),
    };
    match made {
        Ok((staff, password)) => {
            tx.commit().await?;
            edge::hand_over(&state, session.staff.id.0, &staff.login, &password);
            see_other(&format!("/admin/staff#staff-{}", staff.id.0));
        }
        Err(e) => see_other_with("/admin/staff", e)?,
    }
    Ok(())
}

#[server(prefix = "/fn", endpoint = "update_staff")]
pub async fn update_staff(
    id: i64,
    display_name: String,
    role: String,
    #[server(default)] stores: Vec<i64>,
    #[server(default)] active: Option<String>,
) -> Result<(), AppError> {
    use crate::functions::admin::owner;
    use crate::server::{portal_state, see_other, see_other_with};

    let state = portal_state()?;
    let (session, _, _) = match owner::<()>(&state, "/admin/staff").await? {
        Ok(s) => s,
        Err(_) => return Ok(()),
    };
    let stores: Vec<_> = stores.into_iter().map(loyalty::stores::StoreId).collect();
    let mut tx = state.db.begin().await?;
    let done = match edge::role(&role) {
        Ok(role) => {
            loyalty::accounts::update(
                &mut tx,
                &loyalty::SystemClock,
                &session,
                loyalty::staff::StaffId(id),
                role,
                &display_name,
                &stores,
                active.is_some(),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => {
            tx.commit().await?;
            see_other(&format!("/admin/staff?saved=1#staff-{id}"));
        }
        Err(e) => see_other_with(&format!("/admin/staff#staff-{id}"), e)?,
    }
    Ok(())
}

/// `action`: `reset` (a new generated password) or `unlock`.
#[server(prefix = "/fn", endpoint = "staff_access")]
pub async fn staff_access(id: i64, action: String) -> Result<(), AppError> {
    use crate::functions::admin::owner;
    use crate::server::{portal_state, see_other, see_other_with};

    let state = portal_state()?;
    let (session, _, _) = match owner::<()>(&state, "/admin/staff").await? {
        Ok(s) => s,
        Err(_) => return Ok(()),
    };
    let clock = loyalty::SystemClock;
    let actor = &session;
    let target = loyalty::staff::StaffId(id);
    let mut tx = state.db.begin().await?;
    let done = match action.as_str() {
        "reset" => loyalty::accounts::reset_password(&mut tx, &clock, actor, target)
            .await
            .map(Some),
        "unlock" => loyalty::accounts::unlock(&mut tx, &clock, actor, target)
            .await
            .map(|()| None),
        _ => Err(loyalty::Error::invalid(
            "action",
            loyalty::error::Invalid::Format,
        )),
    };
    match done {
        Ok(password) => {
            let login: Option<(String,)> = sqlx::query_as("SELECT login FROM staff WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            if let (Some(password), Some((login,))) = (password, login) {
                edge::hand_over(&state, session.staff.id.0, &login, &password);
            }
            see_other(&format!("/admin/staff?saved=1#staff-{id}"));
        }
        Err(e) => see_other_with("/admin/staff", e)?,
    }
    Ok(())
}

/// Whether a staff member is signed in, for the password page.
#[server(prefix = "/fn", endpoint = "load_password_page")]
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
    use crate::functions::admin::edge::signed_in;
    use crate::server::{portal_state, see_other, see_other_with, staff_token};

    let state = portal_state()?;
    let (session, _, _) = match signed_in::<()>(&state, "/admin/password").await? {
        Ok(s) => s,
        Err(_) => return Ok(()),
    };
    if new != confirm {
        return see_other_with("/admin/password", AppError::new("password_mismatch"));
    }
    let Some(token) = staff_token(&state) else {
        see_other("/admin");
        return Ok(());
    };
    let changed = loyalty::staff_sessions::change_password(
        &state.db,
        &loyalty::SystemClock,
        &state.staff_sessions,
        &session,
        &token,
        &current,
        &new,
    )
    .await;
    match changed {
        Ok(()) => see_other("/admin/password?saved=1"),
        // Here the only password in question is the current one.
        Err(loyalty::Error::StaffSignInFailed) => {
            see_other_with("/admin/password", AppError::new("wrong_current_password"))?
        }
        Err(e) => see_other_with("/admin/password", e)?,
    }
    Ok(())
}
