//! Staff sign-in: login and password, a session of their own (its own
//! cookie, an idle limit of a working day), and a lockout that grows after
//! repeated wrong passwords. Roles and stores decide what a session may see.

use sqlx::AnyConnection;

use crate::brands::stores::StoreId;
use crate::brands::BrandId;
use crate::error::Invalid;
use crate::members::sessions::SessionToken;
use crate::staff::{check_login, verify_password, Role, Staff, StaffId};
use crate::{Clock, Db, Error, Result};

#[derive(Debug, Clone, Copy)]
pub struct StaffPolicy {
    pub idle_ms: i64,
    pub absolute_ms: i64,
    /// Wrong passwords in a row before the account locks.
    pub max_failures: i64,
    /// The first lock; each further failure doubles it, up to a day.
    pub lock_ms: i64,
    /// Sign-in attempts one client address may make in ten minutes, right
    /// or wrong, for any login: counted before any password is hashed.
    pub per_address: i64,
}

impl Default for StaffPolicy {
    fn default() -> Self {
        StaffPolicy {
            idle_ms: 8 * 3_600_000,
            absolute_ms: 3 * 24 * 3_600_000,
            max_failures: 5,
            lock_ms: 15 * 60_000,
            per_address: 30,
        }
    }
}

/// Password checks: each takes about 19 MiB and tens of milliseconds of a
/// core, off the async workers, so at most `running` run at once and at
/// most `waiting` more wait for a turn. A check beyond those is refused at
/// once (`Error::SignInBusy`), so a flood gets quick refusals instead of a
/// queue that keeps real staff waiting until their browsers give up.
pub struct Gate {
    running: tokio::sync::Semaphore,
    waiting: std::sync::atomic::AtomicUsize,
    max_waiting: usize,
}

impl Gate {
    pub const fn new(running: usize, max_waiting: usize) -> Gate {
        Gate {
            running: tokio::sync::Semaphore::const_new(running),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// Runs `check` on a blocking thread when a turn comes, or refuses.
    pub async fn check(&self, check: impl FnOnce() -> bool + Send + 'static) -> Result<bool> {
        use std::sync::atomic::Ordering;
        let permit = match self.running.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(Error::SignInBusy { wait_secs: 5 });
                }
                let permit = self.running.acquire().await;
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                permit.map_err(|_| Error::SignInBusy { wait_secs: 5 })?
            }
        };
        let ok = tokio::task::spawn_blocking(check).await.unwrap_or(false);
        drop(permit);
        Ok(ok)
    }
}

static VERIFYING: Gate = Gate::new(4, 32);

async fn verify(password: String, hash: String) -> Result<bool> {
    VERIFYING
        .check(move || verify_password(&password, &hash))
        .await
}

impl StaffPolicy {
    /// The new `locked_until` for the attempt being counted, as SQL over the
    /// row's `failed_logins` (before the increment) and `$2`, now: unchanged
    /// below the limit, then the lock for that many failures. Only numbers
    /// from the policy go into the text.
    fn lock_sql(&self) -> String {
        let mut sql = format!(
            "CASE WHEN failed_logins + 1 < {} THEN locked_until",
            self.max_failures
        );
        for over in 0..12 {
            if let Some(lock) = self.lock_for(self.max_failures + over) {
                sql.push_str(&format!(
                    " WHEN failed_logins + 1 = {} THEN $2 + {lock}",
                    self.max_failures + over
                ));
            }
        }
        let longest = self
            .lock_for(self.max_failures + 12)
            .unwrap_or(self.lock_ms);
        sql.push_str(&format!(" ELSE $2 + {longest} END"));
        sql
    }

    /// How long an account stays locked after `failures` wrong passwords in a row.
    pub fn lock_for(&self, failures: i64) -> Option<i64> {
        let over = failures - self.max_failures;
        (over >= 0).then(|| (self.lock_ms << over.min(10)).min(24 * 3_600_000))
    }
}

const TOUCH_EVERY_MS: i64 = 5 * 60_000;

/// A hash to verify against when the login does not exist, so a wrong login
/// takes as long as a wrong password and reveals nothing.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3vWm3r3XGzk1dmj7l3M0nJ0wqNTGaXvCqfSpM8Z0bJU";

/// A signed-in staff member and where they may act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSession {
    pub staff: Staff,
    /// The stores of a manager or cashier; an owner has the whole brand.
    pub stores: Vec<StoreId>,
}

impl StaffSession {
    /// Feedback, members and reports: owners and managers.
    pub fn manages(&self) -> bool {
        matches!(self.staff.role, Role::Owner | Role::Manager)
    }

    /// The stores this session is limited to; None: all of the brand.
    pub fn scope(&self) -> Option<&[StoreId]> {
        match self.staff.role {
            Role::Owner => None,
            _ => Some(&self.stores),
        }
    }
}

#[derive(sqlx::FromRow)]
struct LoginRow {
    id: i64,
    brand_id: i64,
    login: String,
    role: String,
    display_name: String,
    password_hash: String,
    active: i64,
}

fn role(s: &str) -> Role {
    match s {
        "owner" => Role::Owner,
        "manager" => Role::Manager,
        _ => Role::Cashier,
    }
}

/// What the sign-in form's login names: a login, and the brand's slug after
/// an `@` when given (`boss@laoma`); None when it cannot be one.
fn account(input: &str) -> Option<(String, String)> {
    let input = input.trim();
    let (login, brand) = match input.rsplit_once('@') {
        Some((login, brand)) => (login, brand.trim().to_ascii_lowercase()),
        None => (input, String::new()),
    };
    Some((check_login(login).ok()?, brand))
}

/// Checks a login and password and starts a session. Logins are unique
/// within a brand; one that another brand uses too needs `@` and the
/// brand's slug. A wrong login and a
/// wrong password are the same refusal; every wrong password counts (and is
/// committed on its own), and too many lock the account for a while.
pub async fn sign_in(
    db: &Db,
    clock: &dyn Clock,
    policy: &StaffPolicy,
    from: &str,
    login: &str,
    password: &str,
) -> Result<(StaffSession, SessionToken)> {
    let now = clock.now_ms();
    // Per address, whatever the login: one host cannot keep the cores
    // hashing, nor lock many accounts, nor guess at many of them.
    if let Err(wait_secs) =
        crate::infra::rate_limits::sign_in(db, clock, from, policy.per_address).await?
    {
        return Err(Error::SignInTooOften {
            wait_secs: wait_secs as i64,
        });
    }
    let row = match account(login) {
        Some((login, brand)) => {
            let rows: Vec<LoginRow> = sqlx::query_as(
                "SELECT s.id, s.brand_id, s.login, s.role, s.display_name, s.password_hash, s.active \
                 FROM staff s JOIN brands b ON b.id = s.brand_id \
                 WHERE s.login = $1 AND ($2 = '' OR b.slug = $2) LIMIT 2",
            )
            .bind(login)
            .bind(brand)
            .fetch_all(db.pool())
            .await?;
            // A bare login that two brands use names nobody: it needs its
            // `@brand`, and is refused like a wrong one.
            let mut rows = rows.into_iter();
            match (rows.next(), rows.next()) {
                (Some(row), None) => Some(row),
                _ => None,
            }
        }
        None => None,
    };
    let Some(row) = row.filter(|r| r.active == 1) else {
        // The same work as for a known login: the counting statement (on
        // no row) and a password check, so the time taken tells nothing.
        let mut tx = db.begin().await?;
        sqlx::query(&format!(
            "UPDATE staff SET failed_logins = failed_logins + 1, locked_until = {} \
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2)",
            policy.lock_sql()
        ))
        .bind(-1_i64)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        verify(password.to_owned(), DUMMY_HASH.to_owned()).await?;
        return Err(Error::StaffSignInFailed);
    };
    // Every attempt is counted before the password is checked, in the one
    // statement that also refuses a locked account and sets the lock on the
    // attempt that reaches the limit. However many guesses arrive at once,
    // at most `max_failures` of them get checked before the lock holds.
    let mut tx = db.begin().await?; // (see Db::begin: an explicit COMMIT reports a failed write)
    let counted: Option<(i64,)> = sqlx::query_as(&format!(
        "UPDATE staff SET failed_logins = failed_logins + 1, locked_until = {} \
         WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) RETURNING failed_logins",
        policy.lock_sql()
    ))
    .bind(row.id)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let Some((attempt,)) = counted else {
        let (until,): (Option<i64>,) =
            sqlx::query_as("SELECT locked_until FROM staff WHERE id = $1")
                .bind(row.id)
                .fetch_one(db.pool())
                .await?;
        return Err(Error::StaffLocked {
            wait_secs: (until.unwrap_or(now) - now + 999).max(1000) / 1000,
        });
    };
    if !verify(password.to_owned(), row.password_hash.clone()).await? {
        return Err(match policy.lock_for(attempt) {
            Some(lock) => Error::StaffLocked {
                wait_secs: (lock + 999) / 1000,
            },
            None => Error::StaffSignInFailed,
        });
    }
    let token = SessionToken::generate();
    let mut tx = db.begin().await?;
    // Only this attempt's own count is cleared: guesses counted (and a lock
    // set) meanwhile by other requests stay.
    sqlx::query(
        "UPDATE staff SET failed_logins = 0, locked_until = NULL WHERE id = $1 AND failed_logins = $2",
    )
    .bind(row.id)
    .bind(attempt)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO staff_sessions (brand_id, staff_id, token_hash, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $4, $4, $5)",
    )
    .bind(row.brand_id)
    .bind(row.id)
    .bind(token.hash())
    .bind(now)
    .bind(now + policy.absolute_ms)
    .execute(&mut *tx)
    .await?;
    let session = load(&mut tx, row).await?;
    tx.commit().await?;
    Ok((session, token))
}

/// A staff member changes their own password: the current one is checked
/// (and a wrong one counts towards the lock, like a sign-in), then every
/// other session of theirs ends: whoever else was signed in is out.
pub async fn change_password(
    db: &Db,
    clock: &dyn Clock,
    policy: &StaffPolicy,
    who: &crate::access::Cashier,
    token: &SessionToken,
    current: &str,
    new: &str,
) -> Result<()> {
    let actor = &who.actor();
    crate::staff::check_password(new)?;
    let staff = actor.staff.ok_or(Error::StaffSignInFailed)?;
    let now = clock.now_ms();
    let mut tx = db.begin().await?; // (see Db::begin: an explicit COMMIT reports a failed write)
    let counted: Option<(i64, String)> = sqlx::query_as(&format!(
        "UPDATE staff SET failed_logins = failed_logins + 1, locked_until = {} \
         WHERE id = $1 AND brand_id = $3 AND (locked_until IS NULL OR locked_until <= $2) \
         RETURNING failed_logins, password_hash",
        policy.lock_sql()
    ))
    .bind(staff.0)
    .bind(now)
    .bind(actor.brand.0)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let Some((attempt, hash)) = counted else {
        let (until,): (Option<i64>,) =
            sqlx::query_as("SELECT locked_until FROM staff WHERE id = $1")
                .bind(staff.0)
                .fetch_one(db.pool())
                .await?;
        return Err(Error::StaffLocked {
            wait_secs: (until.unwrap_or(now) - now + 999).max(1000) / 1000,
        });
    };
    if !verify(current.to_owned(), hash).await? {
        return Err(match policy.lock_for(attempt) {
            Some(lock) => Error::StaffLocked {
                wait_secs: (lock + 999) / 1000,
            },
            None => Error::StaffSignInFailed,
        });
    }
    let new = new.to_owned();
    let new_hash = tokio::task::spawn_blocking(move || crate::staff::hash_password(&new))
        .await
        .map_err(|_| Error::PasswordHash)??;
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE staff SET password_hash = $2, failed_logins = 0, locked_until = NULL WHERE id = $1",
    )
    .bind(staff.0)
    .bind(new_hash)
    .execute(&mut *tx)
    .await?;
    let ended = sqlx::query(
        "UPDATE staff_sessions SET ended_at = $2 WHERE staff_id = $1 AND ended_at IS NULL AND token_hash <> $3",
    )
    .bind(staff.0)
    .bind(now)
    .bind(token.hash())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let change = crate::staff::audit::Change {
        action: "staff.password",
        store: None,
        target_type: "staff",
        target_id: Some(staff.0),
        before: None,
        after: Some(serde_json::json!({ "other_sessions_ended": ended })),
    };
    crate::staff::audit::record(&mut tx, clock, actor, change).await?;
    tx.commit().await?;
    Ok(())
}

async fn load(conn: &mut AnyConnection, row: LoginRow) -> Result<StaffSession> {
    let stores: Vec<(i64,)> =
        sqlx::query_as("SELECT store_id FROM staff_stores WHERE staff_id = $1 ORDER BY store_id")
            .bind(row.id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(StaffSession {
        staff: Staff {
            id: StaffId(row.id),
            brand_id: BrandId(row.brand_id),
            login: row.login,
            role: role(&row.role),
            display_name: row.display_name,
        },
        stores: stores.into_iter().map(|s| StoreId(s.0)).collect(),
    })
}

/// The staff member a live session belongs to, or None.
pub async fn resolve(
    db: &Db,
    clock: &dyn Clock,
    policy: &StaffPolicy,
    token: &SessionToken,
) -> Result<Option<StaffSession>> {
    let now = clock.now_ms();
    let found: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT s.id, s.staff_id, s.last_seen_at FROM staff_sessions s JOIN staff t ON t.id = s.staff_id \
         WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2 AND s.last_seen_at > $3 \
           AND t.active = 1",
    )
    .bind(token.hash())
    .bind(now)
    .bind(now - policy.idle_ms)
    .fetch_optional(db.pool())
    .await?;
    let Some((session, staff, last_seen)) = found else {
        return Ok(None);
    };
    if now - last_seen > TOUCH_EVERY_MS {
        sqlx::query(
            "UPDATE staff_sessions SET last_seen_at = $1 WHERE id = $2 AND ended_at IS NULL",
        )
        .bind(now)
        .bind(session)
        .execute(db.pool())
        .await?;
    }
    let mut conn = db.pool().acquire().await?;
    Ok(Some(session_of(&mut conn, StaffId(staff)).await?))
}

/// A staff member's session as it stands: role, brand and stores.
pub(crate) async fn session_of(conn: &mut AnyConnection, staff: StaffId) -> Result<StaffSession> {
    let row: LoginRow = sqlx::query_as(
        "SELECT id, brand_id, login, role, display_name, password_hash, active \
         FROM staff WHERE id = $1",
    )
    .bind(staff.0)
    .fetch_one(&mut *conn)
    .await?;
    load(conn, row).await
}

/// Signs out: the token stops working at once.
pub async fn end(db: &Db, clock: &dyn Clock, token: &SessionToken) -> Result<()> {
    sqlx::query(
        "UPDATE staff_sessions SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL",
    )
    .bind(clock.now_ms())
    .bind(token.hash())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Clears a staff account's lock and its count of wrong passwords: the way
/// back in when someone keeps guessing a login (`tablecard unlock-staff`).
/// False when no account has that login, or several brands do and it names
/// none (`login@brand` names one).
pub async fn unlock(db: &Db, login: &str) -> Result<bool> {
    let Some((login, brand)) = account(login) else {
        return Ok(false);
    };
    let mut tx = db.begin().await?;
    let ids: Vec<(i64,)> = sqlx::query_as(
        "SELECT s.id FROM staff s JOIN brands b ON b.id = s.brand_id \
         WHERE s.login = $1 AND ($2 = '' OR b.slug = $2) LIMIT 2",
    )
    .bind(&login)
    .bind(&brand)
    .fetch_all(&mut *tx)
    .await?;
    let [(id,)] = ids[..] else {
        return Ok(false);
    };
    let row: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
        "UPDATE staff SET failed_logins = 0, locked_until = NULL WHERE id = $1 \
         RETURNING id, brand_id, locked_until",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, brand, _)) = row else {
        return Ok(false);
    };
    // The command line acts: no staff member, no address.
    let actor = crate::staff::audit::Actor {
        brand: BrandId(brand),
        staff: None,
        ip: None,
    };
    let change = crate::staff::audit::Change {
        action: "staff.unlock",
        store: None,
        target_type: "staff",
        target_id: Some(id),
        before: None,
        after: Some(serde_json::json!({ "by": "tablecard unlock-staff" })),
    };
    crate::staff::audit::record(&mut tx, &crate::SystemClock, &actor, change).await?;
    tx.commit().await?;
    Ok(true)
}

/// Gives a manager or cashier their stores (replacing the previous ones).
pub async fn assign_stores(
    conn: &mut AnyConnection,
    brand: BrandId,
    staff: StaffId,
    stores: &[StoreId],
) -> Result<()> {
    let (owner,): (i64,) = sqlx::query_as("SELECT brand_id FROM staff WHERE id = $1")
        .bind(staff.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(Error::invalid("staff", Invalid::Format))?;
    if owner != brand.0 {
        return Err(Error::invalid("staff", Invalid::Format));
    }
    sqlx::query("DELETE FROM staff_stores WHERE staff_id = $1")
        .bind(staff.0)
        .execute(&mut *conn)
        .await?;
    for store in stores {
        sqlx::query("INSERT INTO staff_stores (brand_id, staff_id, store_id) VALUES ($1, $2, $3)")
            .bind(brand.0)
            .bind(staff.0)
            .bind(store.0)
            .execute(&mut *conn)
            .await
            .map_err(crate::error::store_not_found)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_starts_after_five_failures_and_doubles_up_to_a_day() {
        let p = StaffPolicy::default();
        assert_eq!(p.lock_for(4), None);
        assert_eq!(p.lock_for(5), Some(15 * 60_000));
        assert_eq!(p.lock_for(6), Some(30 * 60_000));
        assert_eq!(p.lock_for(40), Some(24 * 3_600_000));
    }

    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash() {
        assert!(argon2::PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password("anything at all", DUMMY_HASH));
    }
}

#[cfg(test)]
mod gate_tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_refuses_at_once_instead_of_waiting() {
        static GATE: Gate = Gate::new(1, 1);
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        // One check runs (until released), one waits for its turn.
        let first = tokio::spawn(GATE.check(move || {
            started.send(()).unwrap();
            held.recv().is_ok()
        }));
        running.await.unwrap();
        let second = tokio::spawn(GATE.check(|| true));
        while GATE.waiting.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        // A third finds the queue full: refused now, not after the others.
        let third = tokio::time::timeout(std::time::Duration::from_secs(5), GATE.check(|| true));
        assert!(matches!(
            third.await,
            Ok(Err(Error::SignInBusy { wait_secs: 5 }))
        ));
        release.send(()).unwrap();
        assert!(first.await.unwrap().unwrap());
        assert!(
            second.await.unwrap().unwrap(),
            "the one waiting got its turn"
        );
        assert!(
            GATE.check(|| true).await.unwrap(),
            "and the gate is open again"
        );
    }
}
