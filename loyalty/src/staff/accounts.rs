//! Staff accounts as an owner manages them: create (the first password is
//! generated and shown once), change role, name and stores, deactivate,
//! reset a password, unlock. Each change is audited in its transaction.
//!
//! An owner cannot demote or deactivate themselves, so a brand never ends
//! up without the person who set it up.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use crate::brands::stores::StoreId;
use crate::brands::{check_name, BrandId};
use crate::error::Invalid;
use crate::staff::audit::{self, Change};
use crate::staff::sessions::assign_stores;
use crate::staff::{self, Role, Staff, StaffId};
use crate::{Clock, Db, Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub staff: Staff,
    pub active: bool,
    /// Locked after wrong passwords until this moment.
    pub locked_until: Option<i64>,
    pub stores: Vec<StoreId>,
}

/// The stores a role needs: a cashier works at exactly one, a manager at
/// one or more, an owner at all (none listed).
fn check_stores(role: Role, stores: &[StoreId]) -> Result<Vec<StoreId>> {
    let mut stores = stores.to_vec();
    stores.sort_by_key(|s| s.0);
    stores.dedup();
    match (role, stores.len()) {
        (Role::Owner, _) => Ok(Vec::new()),
        (Role::Cashier, 1) | (Role::Manager, 1..) => Ok(stores),
        _ => Err(Error::invalid("staff_stores", Invalid::Format)),
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    brand_id: i64,
    login: String,
    role: String,
    display_name: String,
    active: i64,
    locked_until: Option<i64>,
}

fn role(s: &str) -> Role {
    match s {
        "owner" => Role::Owner,
        "manager" => Role::Manager,
        _ => Role::Cashier,
    }
}

pub async fn list(db: &Db, brand: BrandId) -> Result<Vec<Account>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, brand_id, login, role, display_name, active, locked_until FROM staff \
         WHERE brand_id = $1 ORDER BY active DESC, role, login",
    )
    .bind(brand.0)
    .fetch_all(db.pool())
    .await?;
    let links: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT staff_id, store_id FROM staff_stores WHERE brand_id = $1 ORDER BY store_id",
    )
    .bind(brand.0)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Account {
            stores: links
                .iter()
                .filter(|(s, _)| *s == r.id)
                .map(|(_, store)| StoreId(*store))
                .collect(),
            active: r.active == 1,
            locked_until: r.locked_until,
            staff: Staff {
                id: StaffId(r.id),
                brand_id: BrandId(r.brand_id),
                login: r.login,
                role: role(&r.role),
                display_name: r.display_name,
            },
        })
        .collect())
}

async fn find(conn: &mut AnyConnection, brand: BrandId, id: StaffId) -> Result<Row> {
    sqlx::query_as(
        "SELECT id, brand_id, login, role, display_name, active, locked_until FROM staff \
         WHERE brand_id = $1 AND id = $2",
    )
    .bind(brand.0)
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::StaffNotFound)
}

/// A new account; returns it with its first password, to hand over once.
pub async fn create(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Owner,
    role: Role,
    login: &str,
    display_name: &str,
    stores: &[StoreId],
) -> Result<(Staff, String)> {
    let mut tx = db.begin().await?;
    let conn: &mut AnyConnection = &mut tx;
    let actor = &who.actor();
    let stores = check_stores(role, stores)?;
    let password = staff::generate_password();
    let made = staff::create(
        conn,
        clock,
        actor.brand,
        role,
        login,
        display_name,
        &password,
    )
    .await?;
    assign_stores(conn, actor.brand, made.id, &stores).await?;
    let change = Change {
        action: "staff.create",
        store: None,
        target_type: "staff",
        target_id: Some(made.id.0),
        before: None,
        after: Some(json!({
            "login": made.login,
            "role": role.as_str(),
            "stores": stores.iter().map(|s| s.0).collect::<Vec<_>>(),
        })),
    };
    audit::record(conn, clock, actor, change).await?;
    tx.commit().await?;
    Ok((made, password))
}

/// Changes an account's name, role, stores and whether it may sign in.
/// Deactivating ends its sessions at once.
#[allow(clippy::too_many_arguments)]
pub async fn update(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Owner,
    id: StaffId,
    role: Role,
    display_name: &str,
    stores: &[StoreId],
    active: bool,
) -> Result<()> {
    let mut tx = db.begin().await?;
    let conn: &mut AnyConnection = &mut tx;
    let actor = &who.actor();
    // The brand's row lock puts concurrent account changes in a line, so
    // two owners demoting each other at once cannot leave the brand with none.
    sqlx::query("UPDATE brands SET name = name WHERE id = $1")
        .bind(actor.brand.0)
        .execute(&mut *conn)
        .await?;
    let before = find(conn, actor.brand, id).await?;
    let stores = check_stores(role, stores)?;
    let display_name = check_name("staff_name", display_name, 40)?;
    if actor.staff == Some(id) && (role != Role::Owner || !active) {
        return Err(Error::StaffSelfChange);
    }
    let before_stores: Vec<(i64,)> =
        sqlx::query_as("SELECT store_id FROM staff_stores WHERE staff_id = $1 ORDER BY store_id")
            .bind(id.0)
            .fetch_all(&mut *conn)
            .await?;
    sqlx::query(
        "UPDATE staff SET role = $3, display_name = $4, active = $5 WHERE brand_id = $1 AND id = $2",
    )
    .bind(actor.brand.0)
    .bind(id.0)
    .bind(role.as_str())
    .bind(&display_name)
    .bind(i64::from(active))
    .execute(&mut *conn)
    .await?;
    assign_stores(conn, actor.brand, id, &stores).await?;
    let (owners,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM staff WHERE brand_id = $1 AND role = 'owner' AND active = 1",
    )
    .bind(actor.brand.0)
    .fetch_one(&mut *conn)
    .await?;
    if owners == 0 {
        // Dropping the transaction rolls the change back.
        return Err(Error::StaffSelfChange);
    }
    if !active {
        sqlx::query(
            "UPDATE staff_sessions SET ended_at = $2 WHERE staff_id = $1 AND ended_at IS NULL",
        )
        .bind(id.0)
        .bind(clock.now_ms())
        .execute(&mut *conn)
        .await?;
    }
    let change = Change {
        action: "staff.update",
        store: None,
        target_type: "staff",
        target_id: Some(id.0),
        before: Some(json!({
            "role": before.role,
            "display_name": before.display_name,
            "active": before.active == 1,
            "stores": before_stores.iter().map(|s| s.0).collect::<Vec<_>>(),
        })),
        after: Some(json!({
            "role": role.as_str(),
            "display_name": display_name,
            "active": active,
            "stores": stores.iter().map(|s| s.0).collect::<Vec<_>>(),
        })),
    };
    audit::record(conn, clock, actor, change).await?;
    Ok(tx.commit().await?)
}

/// A new generated password for someone who forgot theirs; their sessions
/// end and any lock is lifted. Returns their login and the password, to
/// hand over once.
pub async fn reset_password(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Owner,
    id: StaffId,
) -> Result<(String, String)> {
    let mut tx = db.begin().await?;
    let conn: &mut AnyConnection = &mut tx;
    let actor = &who.actor();
    let login = find(conn, actor.brand, id).await?.login;
    if actor.staff == Some(id) {
        // One's own password is changed knowing the current one; a reset
        // here would end one's own session with the new password unseen.
        return Err(Error::StaffSelfChange);
    }
    let password = staff::generate_password();
    let hash = {
        let p = password.clone();
        tokio::task::spawn_blocking(move || staff::hash_password(&p))
            .await
            .map_err(|_| Error::PasswordHash)??
    };
    sqlx::query(
        "UPDATE staff SET password_hash = $3, failed_logins = 0, locked_until = NULL \
         WHERE brand_id = $1 AND id = $2",
    )
    .bind(actor.brand.0)
    .bind(id.0)
    .bind(hash)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE staff_sessions SET ended_at = $2 WHERE staff_id = $1 AND ended_at IS NULL")
        .bind(id.0)
        .bind(clock.now_ms())
        .execute(&mut *conn)
        .await?;
    let change = Change {
        action: "staff.reset_password",
        store: None,
        target_type: "staff",
        target_id: Some(id.0),
        before: None,
        after: None,
    };
    audit::record(conn, clock, actor, change).await?;
    tx.commit().await?;
    Ok((login, password))
}

/// Lifts a lock from wrong passwords.
pub async fn unlock(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Owner,
    id: StaffId,
) -> Result<()> {
    let mut tx = db.begin().await?;
    let conn: &mut AnyConnection = &mut tx;
    let actor = &who.actor();
    let before = find(conn, actor.brand, id).await?;
    sqlx::query(
        "UPDATE staff SET failed_logins = 0, locked_until = NULL WHERE brand_id = $1 AND id = $2",
    )
    .bind(actor.brand.0)
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    let change = Change {
        action: "staff.unlock",
        store: None,
        target_type: "staff",
        target_id: Some(id.0),
        before: Some(json!({ "locked_until": before.locked_until })),
        after: Some(json!({ "locked_until": null })),
    };
    audit::record(conn, clock, actor, change).await?;
    Ok(tx.commit().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_has_its_number_of_stores() {
        let (a, b) = (StoreId(1), StoreId(2));
        assert_eq!(check_stores(Role::Owner, &[a]).unwrap(), []);
        assert_eq!(check_stores(Role::Cashier, &[b]).unwrap(), [b]);
        assert!(check_stores(Role::Cashier, &[a, b]).is_err());
        assert!(check_stores(Role::Cashier, &[]).is_err());
        assert_eq!(check_stores(Role::Manager, &[b, a, b]).unwrap(), [a, b]);
        assert!(check_stores(Role::Manager, &[]).is_err());
    }
}
