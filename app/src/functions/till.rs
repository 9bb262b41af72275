//! The cashier's screen (`/admin/till`): thin edges over `loyalty::till`.
//! Every form posts, answers 303 back to the till, and carries a key drawn
//! when the form was shown, so a double click records once. Any signed-in
//! staff member may use a till, at the stores they work at.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::functions::admin::{StaffInfo, StaffLoad};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponAtTill {
    /// Grouped for reading aloud: `ABCDE-FGHJK`.
    pub code: String,
    pub title: String,
    /// Conditions in one line: minimum bill, days and hours.
    pub conditions: String,
    pub until: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TillMember {
    pub member_no: String,
    pub display_name: String,
    pub phone_masked: String,
    pub tier_name: String,
    pub discount_pct: i64,
    pub points: i64,
    pub coupons: Vec<CouponAtTill>,
}

/// What the last form did, to confirm on screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TillDone {
    Purchase {
        amount_fen: i64,
        points_earned: i64,
        points_balance: i64,
        new_tier: Option<String>,
        order_id: String,
    },
    Coupon {
        code: String,
        bill_fen: i64,
        discount_fen: i64,
        order_id: String,
    },
    Points {
        points: i64,
        value_fen: i64,
        points_balance: i64,
        order_id: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TillPage {
    pub staff: StaffInfo,
    /// The stores this staff member may open a till at.
    pub stores: Vec<(i64, String)>,
    /// The till's store; None until one is chosen (or there is none).
    pub store: Option<i64>,
    pub member: Option<TillMember>,
    pub done: Option<TillDone>,
    /// Fresh keys for the purchase, coupon and points forms.
    pub keys: [String; 3],
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
    use crate::functions::form::staff_form;
    use crate::server::PortalState;
    use loyalty::access::Cashier;
    use loyalty::members::Member;
    use loyalty::stores::StoreId;
    use loyalty::till::{self, Desk};

    pub fn till_url(store: i64, member: Option<&str>) -> String {
        match member {
            Some(no) => format!(
                "/admin/till?store={store}&m={}",
                crate::functions::admin::urlencode(no)
            ),
            None => format!("/admin/till?store={store}"),
        }
    }

    /// The one shell of the till's forms: the signed-in staff member's till
    /// at `store` (refused: back to the till with the reason), the member the
    /// form is for and the form's key, then `work`; afterwards back to the
    /// member at the till, with the outcome or the refusal.
    pub async fn till_form(
        store: i64,
        member: &str,
        key: &str,
        work: impl AsyncFnOnce(
            &PortalState,
            &Desk,
            &till::FormKey,
            &Member,
        ) -> loyalty::Result<till::Outcome>,
    ) -> Result<(), AppError> {
        let back = till_url(store, Some(member));
        staff_form(&back, async |state, cashier: Cashier| {
            let desk = match till::desk(&state.db, &cashier, StoreId(store)).await {
                Ok(desk) => desk,
                // Not a store of theirs: the till, not this store's page.
                Err(e) => return Ok(AppError::from(e).refused()?.back_to("/admin/till")),
            };
            // A mangled key is refused rather than replaced, which would
            // give up the protection against a double click.
            let key = till::FormKey::parse(key)?;
            let m = till::member_by_no(&state.db, cashier.brand(), member).await?;
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
    use crate::server::portal_state;
    use loyalty::till::{self, FormKey, Outcome};

    let state = portal_state()?;
    let (session, brand, info) = match signed_in(&state, "/admin/till").await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let stores: Vec<(i64, String)> = till::stores_for(&state.db, &session)
        .await?
        .into_iter()
        .map(|s| (s.id.0, s.name))
        .collect();
    // The store asked for if it is one of theirs, else their only one.
    let store = query
        .store
        .and_then(|s| stores.iter().find(|(id, _)| *id == s).map(|(id, _)| *id))
        .or_else(|| (stores.len() == 1).then(|| stores[0].0));
    let locale = crate::locale::to_locale(brand.default_language);
    let clock = loyalty::SystemClock;
    let member = match (&query.member, store) {
        (Some(no), Some(_)) => match till::member_by_no(&state.db, &brand, no).await {
            Ok(m) => {
                let shown = till::show(&state.db, &clock, &brand, &m).await?;
                let day = |ms: i64| loyalty::rules::local_date(&brand.time_zone, ms);
                Some(TillMember {
                    member_no: shown.member_no,
                    display_name: shown.display_name,
                    phone_masked: shown.phone_masked,
                    tier_name: shown.tier_name,
                    discount_pct: shown.discount_pct,
                    points: shown.points,
                    coupons: shown
                        .coupons
                        .iter()
                        .map(|h| CouponAtTill {
                            code: h.coupon.code.grouped(),
                            title: crate::coupon_text::title(locale, &h.template.rule),
                            conditions: crate::coupon_text::conditions(locale, &h.template.rule),
                            until: day(h.coupon.valid_until),
                        })
                        .collect(),
                })
            }
            Err(loyalty::Error::MemberNotFound) => None,
            Err(e) => return Err(e.into()),
        },
        _ => None,
    };
    let done = match query.done.as_deref().map(FormKey::parse) {
        Some(Ok(key)) => till::outcome(&state.db, &session, &key)
            .await?
            .map(|o| match o {
                Outcome::Purchase {
                    order_id,
                    amount_fen,
                    points_earned,
                    points_balance,
                    new_tier,
                    ..
                } => TillDone::Purchase {
                    amount_fen,
                    points_earned,
                    points_balance,
                    new_tier,
                    order_id,
                },
                Outcome::Coupon {
                    order_id,
                    code,
                    bill_fen,
                    discount_fen,
                    ..
                } => TillDone::Coupon {
                    code,
                    bill_fen,
                    discount_fen,
                    order_id,
                },
                Outcome::Points {
                    order_id,
                    points,
                    value_fen,
                    points_balance,
                    ..
                } => TillDone::Points {
                    points,
                    value_fen,
                    points_balance,
                    order_id,
                },
            }),
        _ => None,
    };
    let key = || FormKey::generate().as_str().to_owned();
    Ok(StaffLoad::Page(Box::new(TillPage {
        staff: info,
        stores,
        store,
        member,
        done,
        keys: [key(), key(), key()],
    })))
}

/// Finds the member the cashier scanned or typed. A POST, so a phone number
/// never lands in a URL or a log; the till then names the member by number.
#[server(prefix = "/fn", endpoint = "till_find")]
pub async fn till_find(store: i64, q: String) -> Result<(), AppError> {
    use loyalty::{access::Cashier, stores::StoreId, till, SystemClock};
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
    use loyalty::{till, SystemClock};
    edge::till_form(store, &member, &key, async |state, desk, key, m| {
        let amount = till::parse_yuan("amount", &amount)?;
        let order = edge::order(&order)?;
        till::purchase(&state.db, &SystemClock, desk, key, m, order, amount).await
    })
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
    use loyalty::{coupons::CouponCode, till, SystemClock};
    edge::till_form(store, &member, &key, async |state, desk, key, m| {
        let bill = till::parse_yuan("bill", &bill)?;
        let order = edge::order(&order)?;
        // A code typed at the till wins over one picked from the wallet.
        let typed = Some(typed)
            .filter(|t| !t.trim().is_empty())
            .or(code)
            .unwrap_or_default();
        let code = CouponCode::parse(&typed).ok_or(loyalty::Error::CouponNotFound)?;
        till::redeem_coupon(&state.db, &SystemClock, desk, key, m, &code, order, bill).await
    })
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
    use loyalty::{money::ExternalId, till, SystemClock};
    edge::till_form(store, &member, &key, async |state, desk, key, m| {
        let bill = till::parse_yuan("bill", &bill)?;
        let order = ExternalId::parse("order", &order)?;
        let points = loyalty::forms::count("points", &points)?;
        till::redeem_points(&state.db, &SystemClock, desk, key, m, order, points, bill).await
    })
    .await
}
