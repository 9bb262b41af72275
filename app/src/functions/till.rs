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
    use crate::functions::admin::edge::signed_in;
    use crate::server::{see_other, PortalState};
    use loyalty::brands::Brand;
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

    /// The signed-in staff member's till at `store`, or None when the
    /// request has been answered (sent to sign in, or refused the store).
    pub async fn desk(state: &PortalState, store: i64) -> Result<Option<(Desk, Brand)>, AppError> {
        let (session, brand, _) = match signed_in::<()>(state, "/admin/till").await? {
            Ok(s) => s,
            Err(_) => return Ok(None),
        };
        match till::desk(&state.db, &session, loyalty::stores::StoreId(store)).await {
            Ok(desk) => Ok(Some((desk, brand))),
            Err(e) => {
                crate::server::see_other_with("/admin/till", e)?;
                Ok(None)
            }
        }
    }

    /// Sends the cashier back to the till with the outcome or the refusal.
    pub fn answer(
        back: &str,
        result: loyalty::Result<(till::FormKey, till::Outcome)>,
    ) -> Result<(), AppError> {
        match result {
            Ok((key, _)) => {
                see_other(&format!("{back}&done={}", key.as_str()));
                Ok(())
            }
            Err(e) => crate::server::see_other_with(back, e),
        }
    }

    /// The key the form was shown with; a mangled one is refused rather
    /// than replaced, which would give up the protection against a double click.
    pub fn key(input: &str) -> loyalty::Result<till::FormKey> {
        till::FormKey::parse(input)
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

#[server(prefix = "/fn", endpoint = "load_till")]
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
    let lang = brand.default_language;
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
                            title: h.template.rule.title(lang),
                            conditions: [
                                h.template.rule.threshold_text(lang),
                                h.template.rule.window_text(lang),
                            ]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(" · "),
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
    use crate::server::{portal_state, see_other};

    let state = portal_state()?;
    let Some((desk, brand)) = edge::desk(&state, store).await? else {
        return Ok(());
    };
    let found =
        loyalty::till::find_member(&state.db, &loyalty::SystemClock, &state.secret, &brand, &q)
            .await;
    match found {
        Ok(m) => see_other(&edge::till_url(
            desk.store().id.0,
            Some(m.member_no.as_str()),
        )),
        Err(e) => crate::server::see_other_with(&edge::till_url(desk.store().id.0, None), e)?,
    }
    Ok(())
}

#[server(prefix = "/fn", endpoint = "till_purchase")]
pub async fn till_purchase(
    store: i64,
    member: String,
    key: String,
    order: String,
    amount: String,
) -> Result<(), AppError> {
    use crate::server::portal_state;
    use loyalty::till;

    let state = portal_state()?;
    let Some((desk, brand)) = edge::desk(&state, store).await? else {
        return Ok(());
    };
    let back = edge::till_url(store, Some(&member));
    let clock = loyalty::SystemClock;
    let result = async {
        let key = edge::key(&key)?;
        let amount = till::parse_yuan("amount", &amount)?;
        let order = edge::order(&order)?;
        let m = till::member_by_no(&state.db, &brand, &member).await?;
        till::purchase(&state.db, &clock, &brand, &desk, &key, &m, order, amount)
            .await
            .map(|o| (key, o))
    }
    .await;
    edge::answer(&back, result)
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
    use crate::server::portal_state;
    use loyalty::till;

    let state = portal_state()?;
    let Some((desk, brand)) = edge::desk(&state, store).await? else {
        return Ok(());
    };
    let back = edge::till_url(store, Some(&member));
    let clock = loyalty::SystemClock;
    let result = async {
        let key = edge::key(&key)?;
        let bill = till::parse_yuan("bill", &bill)?;
        let order = edge::order(&order)?;
        let typed = if typed.trim().is_empty() {
            code.unwrap_or_default()
        } else {
            typed
        };
        let code =
            loyalty::coupons::CouponCode::parse(&typed).ok_or(loyalty::Error::CouponNotFound)?;
        let m = till::member_by_no(&state.db, &brand, &member).await?;
        till::redeem_coupon(
            &state.db, &clock, &brand, &desk, &key, &m, &code, order, bill,
        )
        .await
        .map(|o| (key, o))
    }
    .await;
    edge::answer(&back, result)
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
    use crate::server::portal_state;
    use loyalty::till;

    let state = portal_state()?;
    let Some((desk, brand)) = edge::desk(&state, store).await? else {
        return Ok(());
    };
    let back = edge::till_url(store, Some(&member));
    let clock = loyalty::SystemClock;
    let result = async {
        let key = edge::key(&key)?;
        let bill = till::parse_yuan("bill", &bill)?;
        let order = loyalty::money::ExternalId::parse("order", &order)?;
        let points: i64 =
            points
                .trim()
                .parse()
                .ok()
                .filter(|p| *p > 0)
                .ok_or(loyalty::Error::invalid(
                    "points",
                    loyalty::error::Invalid::Format,
                ))?;
        let m = till::member_by_no(&state.db, &brand, &member).await?;
        till::redeem_points(
            &state.db, &clock, &brand, &desk, &key, &m, order, points, bill,
        )
        .await
        .map(|o| (key, o))
    }
    .await;
    edge::answer(&back, result)
}
