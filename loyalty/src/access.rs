//! Who may do what, decided here and nowhere else.
//!
//! A capability is a value only this module makes, from a live staff
//! session: [`Cashier`] (any signed-in staff member, at the tills of their
//! stores), [`Manager`] (a manager of some stores, or an owner of all of
//! them) and [`Owner`] (the whole brand). Each carries its brand, so an
//! operation that takes one acts in that brand and no other. An owner is a
//! manager and a manager is a cashier (`Deref`), never the other way round:
//! an operation that needs an [`Owner`] does not compile with a [`Manager`].
//!
//! ```compile_fail,E0308
//! // A manager's capability cannot create staff accounts: only an owner's can.
//! async fn mint(db: &loyalty::Db, manager: &loyalty::access::Manager) {
//!     let _ = loyalty::staff::accounts::create(
//!         db,
//!         &loyalty::SystemClock,
//!         manager,
//!         loyalty::staff::Role::Manager,
//!         "login",
//!         "Name",
//!         &[],
//!     )
//!     .await;
//! }
//! ```
//!
//! ```no_run
//! // The same call with an owner's capability compiles.
//! async fn mint(db: &loyalty::Db, owner: &loyalty::access::Owner) {
//!     let _ = loyalty::staff::accounts::create(
//!         db,
//!         &loyalty::SystemClock,
//!         owner,
//!         loyalty::staff::Role::Manager,
//!         "login",
//!         "Name",
//!         &[],
//!     )
//!     .await;
//! }
//! ```

use std::ops::Deref;

use crate::brands::stores::StoreId;
use crate::brands::{self, Brand};
use crate::members::sessions::{SessionPolicy, SessionToken};
use crate::members::MemberId;
use crate::staff::audit::Actor;
use crate::staff::sessions::{StaffPolicy, StaffSession};
use crate::staff::Role;
use crate::{Clock, Db, Result};

/// A signed-in staff member of a brand, of any role.
#[derive(Debug, Clone)]
pub struct Cashier {
    session: StaffSession,
    brand: Brand,
    ip: Option<String>,
}

/// A manager of some stores, or an owner.
#[derive(Debug, Clone)]
pub struct Manager(Cashier);

/// The owner of a brand.
#[derive(Debug, Clone)]
pub struct Owner(Manager);

/// The staff member signed in with `token`, from `ip`: the one way to a
/// capability. None when the session is over, unknown or deactivated.
pub async fn staff(
    db: &Db,
    clock: &dyn Clock,
    policy: &StaffPolicy,
    token: &SessionToken,
    ip: Option<String>,
) -> Result<Option<Cashier>> {
    let Some(session) = crate::staff::sessions::resolve(db, clock, policy, token).await? else {
        return Ok(None);
    };
    let brand = brands::find(db, session.staff.brand_id).await?;
    Ok(Some(Cashier { session, brand, ip }))
}

impl Cashier {
    pub fn brand(&self) -> &Brand {
        &self.brand
    }

    /// The stores this staff member is limited to; None: all of the brand.
    pub fn scope(&self) -> Option<&[StoreId]> {
        self.session.scope()
    }

    /// Whether `store` is within their reach.
    pub fn reaches(&self, store: StoreId) -> bool {
        self.scope().is_none_or(|mine| mine.contains(&store))
    }

    /// Who the audit log names.
    pub fn actor(&self) -> Actor {
        Actor {
            brand: self.brand.id,
            staff: Some(self.session.staff.id),
            ip: self.ip.clone(),
        }
    }

    /// The manager's (or owner's) capability, if that is their role.
    pub fn manager(self) -> Option<Manager> {
        match self.session.staff.role {
            Role::Owner | Role::Manager => Some(Manager(self)),
            Role::Cashier => None,
        }
    }
}

impl Manager {
    /// Whether this manager is the brand's owner: what an owner does by
    /// hand needs nobody's approval.
    pub fn is_owner(&self) -> bool {
        self.0.session.staff.role == Role::Owner
    }

    /// The owner's capability, if that is their role.
    pub fn owner(self) -> Option<Owner> {
        match self.0.session.staff.role {
            Role::Owner => Some(Owner(self)),
            _ => None,
        }
    }
}

/// The session is readable by anyone (name, role, stores); it grants nothing.
impl Deref for Cashier {
    type Target = StaffSession;
    fn deref(&self) -> &StaffSession {
        &self.session
    }
}

impl Deref for Manager {
    type Target = Cashier;
    fn deref(&self) -> &Cashier {
        &self.0
    }
}

impl Deref for Owner {
    type Target = Manager;
    fn deref(&self) -> &Manager {
        &self.0
    }
}

/// Where a sale is rung up: a staff member's till at one store
/// (`staff::till::Desk`) or a store's POS key ([`PosKey`]). The counter's
/// operations (purchases, points and coupon redemptions, voids) take one,
/// so they run only for the brand and store a live session or key speaks
/// for. Only the core implements it.
pub trait Counter: sealed::Sealed + Send + Sync {
    fn brand(&self) -> &Brand;
    fn store(&self) -> StoreId;
}

pub(crate) mod sealed {
    pub trait Sealed {}
}

impl sealed::Sealed for PosKey {}

impl Counter for PosKey {
    fn brand(&self) -> &Brand {
        &self.brand
    }

    fn store(&self) -> StoreId {
        self.store
    }
}

/// A store's POS, by the API key it presented: what the POS API acts as.
/// Made only by `brands::api_keys::authenticate` from a live key.
#[derive(Debug, Clone)]
pub struct PosKey {
    key_id: i64,
    brand: Brand,
    store: StoreId,
}

impl PosKey {
    pub(crate) fn new(key_id: i64, brand: Brand, store: StoreId) -> PosKey {
        PosKey {
            key_id,
            brand,
            store,
        }
    }

    /// The key's id: its rate limit and its idempotency records are its own.
    pub fn key_id(&self) -> i64 {
        self.key_id
    }

    pub fn brand(&self) -> &Brand {
        &self.brand
    }

    /// The store the key was issued for; every write it makes is there.
    pub fn store(&self) -> StoreId {
        self.store
    }
}

/// A diner signed in to one brand: what a member's own pages and forms act
/// as. Made only from a live member session of that brand.
#[derive(Debug, Clone)]
pub struct Member {
    brand: Brand,
    id: MemberId,
}

/// The member signed in to `brand` with `token`; None when the session is
/// over, unknown, of another brand, or the member has left.
pub async fn member(
    db: &Db,
    clock: &dyn Clock,
    policy: &SessionPolicy,
    brand: Brand,
    token: &SessionToken,
) -> Result<Option<Member>> {
    let id = crate::members::sessions::resolve(db, clock, policy, brand.id, token).await?;
    Ok(id.map(|id| Member { brand, id }))
}

/// The member signed in to `brand` with `token` and their card, in one
/// statement; None as for [`member`]. For the card's page, which needs both
/// on every visit.
pub async fn member_card(
    db: &Db,
    clock: &dyn Clock,
    policy: &SessionPolicy,
    brand: Brand,
    token: &SessionToken,
) -> Result<Option<(Member, crate::members::Card)>> {
    let card = crate::members::card_by_session(db, clock, policy, &brand, token).await?;
    Ok(card.map(|card| {
        let id = card.member.id;
        (Member { brand, id }, card)
    }))
}

impl Member {
    pub fn brand(&self) -> &Brand {
        &self.brand
    }

    pub fn id(&self) -> MemberId {
        self.id
    }
}

#[cfg(feature = "testing")]
impl PosKey {
    /// For tests of the core: a store's counter without an API key.
    pub fn for_tests(brand: &Brand, store: StoreId) -> PosKey {
        PosKey::new(0, brand.clone(), store)
    }
}

#[cfg(feature = "testing")]
impl Member {
    /// For tests of the core: a member's capability without a session.
    pub fn for_tests(brand: Brand, id: MemberId) -> Member {
        Member { brand, id }
    }
}

#[cfg(feature = "testing")]
impl Cashier {
    /// For tests of the core: a capability without a session token.
    pub async fn for_tests(
        db: &Db,
        staff: crate::staff::StaffId,
        ip: Option<String>,
    ) -> Result<Cashier> {
        let mut conn = db.acquire().await?;
        let session = crate::staff::sessions::session_of(&mut conn, staff).await?;
        drop(conn);
        let brand = brands::find(db, session.staff.brand_id).await?;
        Ok(Cashier { session, brand, ip })
    }
}
