//! The cashier's screen (`/admin/till`): thin edges over `loyalty::staff::till`.
//! Every form posts, answers 303 back to the till, and carries a key drawn
//! when the form was shown, so a double click records once. Any signed-in
//! staff member may use a till, at the stores they work at.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::functions::admin::{StaffInfo, StaffLoad};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TillPage {
    pub staff: StaffInfo,
    pub screen: loyalty::staff::till::Screen,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TillQuery {
    pub store: Option<i64>,
    pub member: Option<String>,
    pub done: Option<String>,
}

#[cfg(feature = "ssr")]
mod edge {
    use super::*;
    use crate::functions::form::{staff_form, Role};
    use crate::server::PortalState;
    use loyalty::access::{Cashier, Manager};
    use loyalty::brands::stores::StoreId;
    use loyalty::members::Member;
    use loyalty::staff::till::{self, Desk};

    pub fn till_url(store: i64, member: Option<&str>) -> String {
        match member {
            Some(no) => format!(
                "/admin/till?store={store}&m={}",
                crate::functions::admin::urlencode(no)
            ),
            None => format!("/admin/till?store={store}"),
        }
    }

    /// A role that opens a till at a store: a cashier's [`Desk`] for the
    /// counter's forms, a manager's [`till::ManagerDesk`] for voids and
    /// refunds (anyone else gets 403 from `staff_form`).
    pub trait OpensTill: Role {
        type Desk;
        fn open(
            &self,
            db: &loyalty::Db,
            store: StoreId,
        ) -> impl std::future::Future<Output = loyalty::Result<Self::Desk>> + Send;
        fn brand_of(&self) -> &loyalty::brands::Brand;
    }

    impl OpensTill for Cashier {
        type Desk = Desk;
        fn open(
            &self,
            db: &loyalty::Db,
            store: StoreId,
        ) -> impl std::future::Future<Output = loyalty::Result<Desk>> + Send {
            till::desk(db, self, store)
        }
        fn brand_of(&self) -> &loyalty::brands::Brand {
            self.brand()
        }
    }

    impl OpensTill for Manager {
        type Desk = till::ManagerDesk;
        fn open(
            &self,
            db: &loyalty::Db,
            store: StoreId,
        ) -> impl std::future::Future<Output = loyalty::Result<till::ManagerDesk>> + Send {
            till::manager_desk(db, self, store)
        }
        fn brand_of(&self) -> &loyalty::brands::Brand {
            self.brand()
        }
    }

    /// The one shell of the till's forms: the signed-in staff member's till
    /// at `store` (refused: back to the till with the reason), the member the
    /// form is for and the form's key, then `work`; afterwards back to the
    /// member at the till, with the outcome or the refusal.
    pub async fn till_form<R: OpensTill>(
        store: i64,
        member: &str,
        key: &str,
        work: impl AsyncFnOnce(
            &PortalState,
            &R::Desk,
            &till::FormKey,
            &Member,
        ) -> loyalty::Result<till::Outcome>,
    ) -> Result<(), AppError> {
        let back = till_url(store, Some(member));
        staff_form(&back, async |state, staff: R| {
            let desk = match staff.open(&state.db, StoreId(store)).await {
                Ok(desk) => desk,
                // Not a store of theirs: the till, not this store's page.
                Err(e) => return Ok(AppError::from(e).refused()?.back_to("/admin/till")),
            };
            // A mangled key is refused rather than replaced, which would
            // give up the protection against a double click.
            let key = till::FormKey::parse(key)?;
            let m = till::member_by_no(&state.db, staff.brand_of(), member).await?;
            work(state, &desk, &key, &m).await?;
            Ok(format!("{back}&done={}", key.as_str()))
        })
        .await
    }

    /// An optional POS order number: blank means the till makes one up.
    pub fn order(input: &str) -> loyalty::Result<Option<loyalty::money::ExternalId>> {
        if input.trim().is_empty() {
            Ok(None)
        } else {
            loyalty::money::ExternalId::parse("order", input).map(Some)
        }
    }
}

pub async fn load_till(query: TillQuery) -> Result<StaffLoad<TillPage>, AppError> {
    use crate::functions::admin::edge::signed_in;
    use loyalty::{brands::stores::StoreId, staff::till, SystemClock};

    let state = crate::server::portal_state()?;
    let (staff, _, info) = match signed_in(&state, "/admin/till").await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let (store, member, done) = (query.store.map(StoreId), query.member, query.done);
    let screen = till::screen(
        &state.db,
        &SystemClock,
        &staff,
        store,
        member.as_deref(),
        done.as_deref(),
    )
    .await?;
    Ok(StaffLoad::Page(Box::new(TillPage {
        staff: info,
        screen,
    })))
}

/// Finds the member the cashier scanned or typed. A POST, so a phone number
/// never lands in a URL or a log; the till then names the member by number.
#[server(prefix = "/fn", endpoint = "till_find")]
pub async fn till_find(store: i64, q: String) -> Result<(), AppError> {
    use loyalty::{access::Cashier, brands::stores::StoreId, staff::till, SystemClock};
    let back = edge::till_url(store, None);
    crate::functions::form::staff_form(&back, async |state, cashier: Cashier| {
        let desk = till::desk(&state.db, &cashier, StoreId(store)).await?;
        let m = till::find_member(&state.db, &SystemClock, &state.secret, desk.brand(), &q).await?;
        Ok(edge::till_url(store, Some(m.member_no.as_str())))
    })
    .await
}

#[server(prefix = "/fn", endpoint = "till_purchase")]
pub async fn till_purchase(
    store: i64,
    member: String,
    key: String,
    order: String,
    amount: String,
) -> Result<(), AppError> {
    use loyalty::{staff::till, SystemClock};
    edge::till_form::<loyalty::access::Cashier>(
        store,
        &member,
        &key,
        async |state, desk, key, m| {
            let amount = till::parse_yuan("amount", &amount)?;
            let order = edge::order(&order)?;
            till::purchase(&state.db, &SystemClock, desk, key, m, order, amount).await
        },
    )
    .await
}

#[server(prefix = "/fn", endpoint = "till_coupon")]
pub async fn till_coupon(
    store: i64,
    member: String,
    key: String,
    order: String,
    #[server(default)] code: Option<String>,
    #[server(default)] typed: String,
    bill: String,
) -> Result<(), AppError> {
    use loyalty::{coupons::CouponCode, staff::till, SystemClock};
    edge::till_form::<loyalty::access::Cashier>(
        store,
        &member,
        &key,
        async |state, desk, key, m| {
            let bill = till::parse_yuan("bill", &bill)?;
            let order = edge::order(&order)?;
            // A code typed at the till wins over one picked from the wallet.
            let typed = Some(typed)
                .filter(|t| !t.trim().is_empty())
                .or(code)
                .unwrap_or_default();
            let code = CouponCode::parse(&typed).ok_or(loyalty::Error::CouponNotFound)?;
            till::redeem_coupon(&state.db, &SystemClock, desk, key, m, &code, order, bill).await
        },
    )
    .await
}

#[server(prefix = "/fn", endpoint = "till_points")]
pub async fn till_points(
    store: i64,
    member: String,
    key: String,
    order: String,
    points: String,
    bill: String,
) -> Result<(), AppError> {
    use loyalty::{money::ExternalId, staff::till, SystemClock};
    edge::till_form::<loyalty::access::Cashier>(
        store,
        &member,
        &key,
        async |state, desk, key, m| {
            let bill = till::parse_yuan("bill", &bill)?;
            let order = ExternalId::parse("order", &order)?;
            let points = loyalty::infra::forms::count("points", &points)?;
            till::redeem_points(&state.db, &SystemClock, desk, key, m, order, points, bill).await
        },
    )
    .await
}

/// Money paid in at the till (储值): amount and how it was paid.
#[server(prefix = "/fn", endpoint = "till_top_up")]
pub async fn till_top_up(
    store: i64,
    member: String,
    key: String,
    amount: String,
    tender: String,
) -> Result<(), AppError> {
    use loyalty::{staff::till, stored_value::Tender, SystemClock};
    edge::till_form::<loyalty::access::Cashier>(
        store,
        &member,
        &key,
        async |state, desk, key, m| {
            let amount = till::parse_yuan("amount", &amount)?;
            let tender = Tender::parse(&tender).ok_or(loyalty::Error::invalid(
                "tender",
                loyalty::error::Invalid::Format,
            ))?;
            till::top_up(&state.db, &SystemClock, desk, key, m, amount, tender).await
        },
    )
    .await
}

/// A bill paid from the stored balance: the member shows their card's code.
#[server(prefix = "/fn", endpoint = "till_stored_pay")]
pub async fn till_stored_pay(
    store: i64,
    member: String,
    key: String,
    code: String,
    order: String,
    amount: String,
) -> Result<(), AppError> {
    use loyalty::{members::member_code, staff::till, SystemClock};
    edge::till_form::<loyalty::access::Cashier>(
        store,
        &member,
        &key,
        async |state, desk, key, m| {
            let amount = till::parse_yuan("amount", &amount)?;
            let order = edge::order(&order)?;
            let (db, brand) = (&state.db, desk.brand().id);
            let mut conn = db.acquire().await?;
            let card = member_code::shown(&mut conn, &SystemClock, &state.secret, brand, &code);
            let card = card.await?;
            drop(conn);
            till::pay_stored(db, &SystemClock, desk, key, m, &card, order, amount).await
        },
    )
    .await
}

/// A manager cancels a stored-value payment of the member on screen.
#[server(prefix = "/fn", endpoint = "till_stored_void")]
pub async fn till_stored_void(
    store: i64,
    member: String,
    key: String,
    payment: String,
) -> Result<(), AppError> {
    use loyalty::{money::ExternalId, staff::till, SystemClock};
    edge::till_form::<loyalty::access::Manager>(
        store,
        &member,
        &key,
        async |state, desk, key, m| {
            let payment = ExternalId::parse("payment", &payment)?;
            till::void_stored(&state.db, &SystemClock, desk, key, m, &payment).await
        },
    )
    .await
}

/// A manager refunds unspent principal of one of the member's top-ups.
#[server(prefix = "/fn", endpoint = "till_stored_refund")]
pub async fn till_stored_refund(
    store: i64,
    member: String,
    key: String,
    top_up: String,
    amount: String,
) -> Result<(), AppError> {
    use loyalty::{money::ExternalId, staff::till, SystemClock};
    edge::till_form::<loyalty::access::Manager>(
        store,
        &member,
        &key,
        async |state, desk, key, m| {
            let top_up = ExternalId::parse("top_up", &top_up)?;
            let amount = till::parse_yuan("amount", &amount)?;
            till::refund_stored(&state.db, &SystemClock, desk, key, m, &top_up, amount).await
        },
    )
    .await
}
