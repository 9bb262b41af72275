//! The cashier's screen (收银台): find a member, record a purchase, take a
//! coupon or points against a bill. These run the same core operations as
//! the POS API (`points::record_purchase`, `coupons::redeem`,
//! `points::redeem`); what this module adds is what a person at a till
//! needs:
//!
//! - **Once per form.** Each form carries a key drawn when it was shown. The
//!   first submission claims the key in the transaction that does the work
//!   and stores the outcome with it; a double click, a resubmitted form or a
//!   retry after a lost response finds the claim and shows the same outcome
//!   again, and nothing is recorded twice.
//! - **Where the staff member works.** A cashier or manager acts only at
//!   their stores; an owner at any store of the brand.
//! - **An audit row** for every write, in the same transaction.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use crate::brands::stores::{self, Store, StoreId};
use crate::brands::Brand;
use crate::coupons::{self, CouponCode};
use crate::error::Invalid;
use crate::infra::forms;
use crate::members::{Member, MemberNo};
use crate::money::{ExternalId, Fen};
use crate::staff::audit::{Actor, Change};
use crate::{points, Clock, Db, Error, Result};

pub use crate::infra::forms::{purge_forms, FormKey, FORM_KEEP_MS};

/// What a till action did, shown on screen (and shown again on a resubmit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    Purchase {
        member_no: String,
        order_id: String,
        amount_fen: i64,
        points_earned: i64,
        points_balance: i64,
        /// The tier's name when this bill moved the member up.
        new_tier: Option<String>,
    },
    Coupon {
        member_no: String,
        order_id: String,
        code: String,
        bill_fen: i64,
        discount_fen: i64,
    },
    Points {
        member_no: String,
        order_id: String,
        points: i64,
        value_fen: i64,
        points_balance: i64,
    },
    TopUp {
        member_no: String,
        top_up_id: String,
        amount_fen: i64,
        bonus_fen: i64,
        balance_fen: i64,
    },
    StoredPayment {
        member_no: String,
        payment_id: String,
        amount_fen: i64,
        principal_fen: i64,
        bonus_fen: i64,
        balance_fen: i64,
    },
    StoredVoid {
        member_no: String,
        payment_id: String,
        balance_fen: i64,
    },
    StoredRefund {
        member_no: String,
        top_up_id: String,
        refunded_fen: i64,
        forfeited_fen: i64,
        balance_fen: i64,
    },
}

/// A staff member at one store's till.
#[derive(Debug, Clone)]
pub struct Desk {
    brand: Brand,
    store: Store,
    actor: Actor,
}

impl crate::access::sealed::Sealed for Desk {}

impl crate::access::Counter for Desk {
    fn brand(&self) -> &Brand {
        &self.brand
    }

    fn store(&self) -> StoreId {
        self.store.id
    }
}

impl Desk {
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn brand(&self) -> &Brand {
        &self.brand
    }
}

/// The till of `store` for this session: refused (as not found, revealing
/// nothing) when the store is another brand's or not one they work at.
pub async fn desk(db: &Db, staff: &crate::access::Cashier, store: StoreId) -> Result<Desk> {
    if !staff.reaches(store) {
        return Err(Error::StoreNotFound);
    }
    let store = stores::find(db, staff.brand().id, store).await?;
    Ok(Desk {
        brand: staff.brand().clone(),
        actor: staff.actor(),
        store,
    })
}

/// The stores a session may open a till at, by name.
pub async fn stores_for(db: &Db, staff: &crate::access::Cashier) -> Result<Vec<Store>> {
    let all = stores::list(db, staff.brand().id).await?;
    Ok(match staff.scope() {
        None => all,
        Some(mine) => all.into_iter().filter(|s| mine.contains(&s.id)).collect(),
    })
}

/// Everything the till screen shows, from one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screen {
    /// The stores this staff member may open a till at, by name.
    pub stores: Vec<Store>,
    /// The till's store: the one asked for if it is theirs, else their only
    /// one; None until one is chosen (or when they have none).
    pub store: Option<StoreId>,
    /// The member the till is serving, when one was asked for and found.
    pub member: Option<MemberAtTill>,
    /// What the form with the `done` key did, when it was this person's.
    pub done: Option<Outcome>,
    /// Fresh keys for the purchase, coupon, points, top-up, stored-value
    /// payment, void and refund forms.
    pub keys: [FormKey; 7],
    /// The brand's time zone, for the coupons' dates.
    pub time_zone: String,
}

/// The till screen for `staff`, at `store`, serving the member numbered
/// `member`, confirming the form keyed `done`.
pub async fn screen(
    db: &Db,
    clock: &dyn Clock,
    staff: &crate::access::Cashier,
    store: Option<StoreId>,
    member: Option<&str>,
    done: Option<&str>,
) -> Result<Screen> {
    let stores = stores_for(db, staff).await?;
    let store = store
        .filter(|s| stores.iter().any(|t| t.id == *s))
        .or_else(|| (stores.len() == 1).then(|| stores[0].id));
    let brand = staff.brand();
    let member = match (member, store) {
        (Some(no), Some(_)) => match member_by_no(db, brand, no).await {
            Ok(m) => Some(show(db, clock, brand, &m).await?),
            Err(Error::MemberNotFound) => None,
            Err(e) => return Err(e),
        },
        _ => None,
    };
    let done = match done.map(FormKey::parse) {
        Some(Ok(key)) => outcome(db, staff, &key).await?,
        _ => None,
    };
    Ok(Screen {
        stores,
        store,
        member,
        done,
        keys: std::array::from_fn(|_| FormKey::generate()),
        time_zone: brand.time_zone.clone(),
    })
}

/// Every till write is a staff form acted on once ([`forms::once`]); the
/// hash of what it said names the action and the till's store.
async fn at_desk(
    db: &Db,
    clock: &dyn Clock,
    desk: &Desk,
    key: &FormKey,
    action: &str,
    fields: &[&str],
    work: impl AsyncFnOnce(&mut AnyConnection) -> Result<(Outcome, Change<'static>)>,
) -> Result<Outcome> {
    let hash = forms::fingerprint(action, desk.store.id.0, fields);
    forms::once(db, clock, &desk.actor, key, &hash, work).await
}

/// The outcome of a till form this staff member submitted, to confirm on screen.
pub async fn outcome(
    db: &Db,
    staff: &crate::access::Cashier,
    key: &FormKey,
) -> Result<Option<Outcome>> {
    forms::outcome(db, staff.staff.id, key).await
}

fn order_or_key(order: Option<ExternalId>, key: &FormKey) -> ExternalId {
    order.unwrap_or_else(|| key.order_id())
}

/// A bill the member paid: points at their tier, and an upgrade when due.
#[allow(clippy::too_many_arguments)]
pub async fn purchase(
    db: &Db,
    clock: &dyn Clock,
    desk: &Desk,
    key: &FormKey,
    member: &Member,
    order: Option<ExternalId>,
    amount: Fen,
) -> Result<Outcome> {
    let amount_text = amount.get().to_string();
    let typed = order.as_ref().map_or("", |o| o.as_str());
    let fields = [member.member_no.as_str(), typed, &amount_text];
    let order = order_or_key(order.clone(), key);
    at_desk(db, clock, desk, key, "purchase", &fields, async |tx| {
        let store = desk.store.id;
        let r = points::record_purchase(tx, clock, desk, member, &order, amount, None).await?;
        let outcome = Outcome::Purchase {
            member_no: member.member_no.as_str().to_owned(),
            order_id: order.as_str().to_owned(),
            amount_fen: amount.get(),
            points_earned: r.points_earned,
            points_balance: r.points_balance,
            new_tier: r.tier_changed.then(|| r.tier.name.clone()),
        };
        let change = Change {
            action: "till.purchase",
            store: Some(store),
            target_type: "member",
            target_id: Some(member.id.0),
            before: Some(json!({ "points": r.points_balance - r.points_earned })),
            after: Some(json!({
                "order_id": order.as_str(),
                "amount_fen": amount.get(),
                "points": r.points_balance,
                "purchase_id": r.purchase_id,
            })),
        };
        Ok((outcome, change))
    })
    .await
}

/// A coupon of the member on screen used on a bill. Another member's
/// coupon is "not found" here: the till serves one member at a time.
#[allow(clippy::too_many_arguments)]
pub async fn redeem_coupon(
    db: &Db,
    clock: &dyn Clock,
    desk: &Desk,
    key: &FormKey,
    member: &Member,
    code: &CouponCode,
    order: Option<ExternalId>,
    bill: Fen,
) -> Result<Outcome> {
    let bill_text = bill.get().to_string();
    let typed = order.as_ref().map_or("", |o| o.as_str());
    let fields = [member.member_no.as_str(), code.as_str(), typed, &bill_text];
    let order = order_or_key(order.clone(), key);
    at_desk(db, clock, desk, key, "coupon", &fields, async |tx| {
        let store = desk.store.id;
        let r = coupons::redeem(tx, clock, desk, code, &order, bill).await?;
        if r.coupon.member_id != member.id {
            // Dropping the transaction undoes the redemption.
            return Err(Error::CouponNotFound);
        }
        let outcome = Outcome::Coupon {
            member_no: member.member_no.as_str().to_owned(),
            order_id: order.as_str().to_owned(),
            code: code.grouped(),
            bill_fen: bill.get(),
            discount_fen: r.discount_fen,
        };
        let change = Change {
            action: "till.coupon",
            store: Some(store),
            target_type: "coupon",
            target_id: Some(r.coupon.id),
            before: Some(json!({ "status": "available" })),
            after: Some(json!({
                "status": "redeemed",
                "order_id": order.as_str(),
                "bill_fen": bill.get(),
                "discount_fen": r.discount_fen,
                "redemption_id": r.redemption_id,
            })),
        };
        Ok((outcome, change))
    })
    .await
}

/// Points as payment against a bill. The order number is required: the
/// brand's cap is per bill, and payments split over several forms of one
/// order count together.
#[allow(clippy::too_many_arguments)]
pub async fn redeem_points(
    db: &Db,
    clock: &dyn Clock,
    desk: &Desk,
    key: &FormKey,
    member: &Member,
    order: ExternalId,
    points_to_use: i64,
    bill: Fen,
) -> Result<Outcome> {
    let (points_text, bill_text) = (points_to_use.to_string(), bill.get().to_string());
    let fields = [
        member.member_no.as_str(),
        order.as_str(),
        &points_text,
        &bill_text,
    ];
    at_desk(db, clock, desk, key, "points", &fields, async |tx| {
        let (store, bill) = (desk.store.id, Some(bill));
        let r = points::redeem(tx, clock, desk, member.id, &order, points_to_use, bill).await?;
        let outcome = Outcome::Points {
            member_no: member.member_no.as_str().to_owned(),
            order_id: order.as_str().to_owned(),
            points: points_to_use,
            value_fen: r.value_fen,
            points_balance: r.points_balance,
        };
        let change = Change {
            action: "till.points",
            store: Some(store),
            target_type: "member",
            target_id: Some(member.id.0),
            before: Some(json!({ "points": r.points_balance + points_to_use })),
            after: Some(json!({
                "points": r.points_balance,
                "order_id": order.as_str(),
                "value_fen": r.value_fen,
                "redemption_id": r.redemption_id,
            })),
        };
        Ok((outcome, change))
    })
    .await
}

/// Turns what a cashier types for an amount, `128`, `128.5`, `¥1,280.00`,
/// into fen; more than two decimals, a sign or letters are refused.
pub fn parse_yuan(field: &'static str, input: &str) -> Result<Fen> {
    let bad = || Error::invalid(field, Invalid::Format);
    let s: String = input
        .trim()
        .trim_start_matches(['¥', '￥'])
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == '，' { ',' } else { c })
        .collect();
    if s.is_empty() {
        return Err(Error::invalid(field, Invalid::Empty));
    }
    let (grouped, frac) = s.split_once('.').unwrap_or((&s, ""));
    // Commas only as thousands separators: `1,280` yes, `12,80` never (it
    // would be a hundred times the bill).
    let groups: Vec<&str> = grouped.split(',').collect();
    if groups.len() > 1
        && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3))
    {
        return Err(bad());
    }
    let whole = groups.concat();
    let whole = whole.as_str();
    if whole.is_empty() && frac.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || whole.len() > 12
    {
        return Err(bad());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let cents: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    Fen::positive(whole * 100 + cents).map_err(|_| bad())
}

/// A manager's (or owner's) till: voids and refunds of stored value need one.
#[derive(Debug, Clone)]
pub struct ManagerDesk(Desk);

/// The till of `store` for a manager, as [`desk`] makes it.
pub async fn manager_desk(
    db: &Db,
    staff: &crate::access::Manager,
    store: StoreId,
) -> Result<ManagerDesk> {
    desk(db, staff, store).await.map(ManagerDesk)
}

impl ManagerDesk {
    pub fn desk(&self) -> &Desk {
        &self.0
    }
}

/// Money paid in at the till (储值), with the bonus of the offer in force.
/// The form's key names the top-up, so a double click records it once.
pub async fn top_up(
    db: &Db,
    clock: &dyn Clock,
    desk: &Desk,
    key: &FormKey,
    member: &Member,
    amount: Fen,
    tender: crate::stored_value::Tender,
) -> Result<Outcome> {
    let amount_text = amount.get().to_string();
    let fields = [member.member_no.as_str(), &amount_text, tender.as_str()];
    let id = key.order_id();
    at_desk(db, clock, desk, key, "top_up", &fields, async |tx| {
        let store = desk.store.id;
        let r = crate::stored_value::top_up(tx, clock, desk, member.id, &id, amount, Some(tender))
            .await?;
        let outcome = Outcome::TopUp {
            member_no: member.member_no.as_str().to_owned(),
            top_up_id: id.as_str().to_owned(),
            amount_fen: r.principal_fen,
            bonus_fen: r.bonus_fen,
            balance_fen: r.balance.total_fen(),
        };
        let change = Change {
            action: "till.top_up",
            store: Some(store),
            target_type: "member",
            target_id: Some(member.id.0),
            before: Some(
                json!({ "stored_fen": r.balance.total_fen() - r.principal_fen - r.bonus_fen }),
            ),
            after: Some(json!({
                "top_up_id": id.as_str(),
                "amount_fen": r.principal_fen,
                "bonus_fen": r.bonus_fen,
                "tender": tender.as_str(),
                "stored_fen": r.balance.total_fen(),
            })),
        };
        Ok((outcome, change))
    })
    .await
}

/// A bill paid from the balance of the member on screen, who showed their
/// card's current code: another member's card is "not found" here.
#[allow(clippy::too_many_arguments)]
pub async fn pay_stored(
    db: &Db,
    clock: &dyn Clock,
    desk: &Desk,
    key: &FormKey,
    member: &Member,
    card: &crate::members::member_code::CardShown,
    order: Option<ExternalId>,
    amount: Fen,
) -> Result<Outcome> {
    if card.member().id != member.id {
        return Err(Error::MemberNotFound);
    }
    let amount_text = amount.get().to_string();
    let typed = order.as_ref().map_or("", |o| o.as_str());
    let fields = [member.member_no.as_str(), typed, &amount_text];
    let id = key.order_id();
    at_desk(
        db,
        clock,
        desk,
        key,
        "stored_payment",
        &fields,
        async |tx| {
            let store = desk.store.id;
            let r = crate::stored_value::pay(tx, clock, desk, card, &id, amount, order.as_ref())
                .await?;
            let outcome = Outcome::StoredPayment {
                member_no: member.member_no.as_str().to_owned(),
                payment_id: id.as_str().to_owned(),
                amount_fen: r.paid_fen,
                principal_fen: r.principal_fen,
                bonus_fen: r.bonus_fen,
                balance_fen: r.balance.total_fen(),
            };
            let change = Change {
                action: "till.stored_payment",
                store: Some(store),
                target_type: "member",
                target_id: Some(member.id.0),
                before: Some(json!({ "stored_fen": r.balance.total_fen() + r.paid_fen })),
                after: Some(json!({
                    "payment_id": id.as_str(),
                    "order_id": order.as_ref().map(ExternalId::as_str),
                    "amount_fen": r.paid_fen,
                    "principal_fen": r.principal_fen,
                    "bonus_fen": r.bonus_fen,
                    "stored_fen": r.balance.total_fen(),
                })),
            };
            Ok((outcome, change))
        },
    )
    .await
}

/// A manager cancels a stored-value payment made at this store.
pub async fn void_stored(
    db: &Db,
    clock: &dyn Clock,
    at: &ManagerDesk,
    key: &FormKey,
    member: &Member,
    payment: &ExternalId,
) -> Result<Outcome> {
    let desk = &at.0;
    let fields = [member.member_no.as_str(), payment.as_str()];
    at_desk(db, clock, desk, key, "stored_void", &fields, async |tx| {
        let owner: Option<(i64,)> = sqlx::query_as(
            "SELECT member_id FROM stored_value_payments WHERE store_id = $1 AND payment_id = $2",
        )
        .bind(desk.store.id.0)
        .bind(payment.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if owner.map(|o| o.0) != Some(member.id.0) {
            // Another member's payment is not this screen's to void.
            return Err(Error::PaymentNotFound);
        }
        let balance = crate::stored_value::void_payment(tx, clock, desk, payment).await?;
        let outcome = Outcome::StoredVoid {
            member_no: member.member_no.as_str().to_owned(),
            payment_id: payment.as_str().to_owned(),
            balance_fen: balance.total_fen(),
        };
        let change = Change {
            action: "till.stored_void",
            store: Some(desk.store.id),
            target_type: "member",
            target_id: Some(member.id.0),
            before: None,
            after: Some(
                json!({ "payment_id": payment.as_str(), "stored_fen": balance.total_fen() }),
            ),
        };
        Ok((outcome, change))
    })
    .await
}

/// A manager gives back unspent principal of a top-up made at this store.
pub async fn refund_stored(
    db: &Db,
    clock: &dyn Clock,
    at: &ManagerDesk,
    key: &FormKey,
    member: &Member,
    top_up: &ExternalId,
    amount: Fen,
) -> Result<Outcome> {
    let desk = &at.0;
    let amount_text = amount.get().to_string();
    let fields = [member.member_no.as_str(), top_up.as_str(), &amount_text];
    let refund_id = key.order_id();
    at_desk(db, clock, desk, key, "stored_refund", &fields, async |tx| {
        let r = crate::stored_value::refund(tx, clock, desk, top_up, &refund_id, amount).await?;
        if r.member != member.id {
            return Err(Error::TopUpNotFound);
        }
        let outcome = Outcome::StoredRefund {
            member_no: member.member_no.as_str().to_owned(),
            top_up_id: top_up.as_str().to_owned(),
            refunded_fen: r.principal_refunded_fen,
            forfeited_fen: r.bonus_forfeited_fen,
            balance_fen: r.balance.total_fen(),
        };
        let change = Change {
            action: "till.stored_refund",
            store: Some(desk.store.id),
            target_type: "member",
            target_id: Some(member.id.0),
            before: None,
            after: Some(json!({
                "top_up_id": top_up.as_str(),
                "refund_id": refund_id.as_str(),
                "principal_refunded_fen": r.principal_refunded_fen,
                "bonus_forfeited_fen": r.bonus_forfeited_fen,
                "stored_fen": r.balance.total_fen(),
            })),
        };
        Ok((outcome, change))
    })
    .await
}

/// What the till shows about a member: never the phone in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberAtTill {
    pub member_no: String,
    pub display_name: String,
    pub phone_masked: String,
    pub tier_name: String,
    pub discount_pct: i64,
    pub points: i64,
    pub coupons: Vec<coupons::Held>,
    /// The prepaid balance, and its last movements with their ids (what a
    /// void or refund names).
    pub stored: crate::stored_value::Balance,
    pub stored_recent: Vec<crate::stored_value::Movement>,
}

/// A member found at the till, with their usable coupons.
pub async fn show(
    db: &Db,
    clock: &dyn Clock,
    brand: &Brand,
    member: &Member,
) -> Result<MemberAtTill> {
    let mut conn = db.acquire().await?;
    let table = crate::points::tiers::load(&mut conn, brand.id).await?;
    drop(conn);
    let tier = table.by_rank(member.tier_rank);
    let now = clock.now_ms();
    let coupons = coupons::wallet(db, clock, brand.id, member.id)
        .await?
        .into_iter()
        .filter(|h| h.coupon.usable(now))
        .collect();
    Ok(MemberAtTill {
        member_no: member.member_no.as_str().to_owned(),
        display_name: member.display_name.clone(),
        phone_masked: member.phone.masked(),
        tier_name: tier.name(brand.default_language).to_owned(),
        discount_pct: tier.discount_pct,
        points: member.points_balance,
        coupons,
        stored: crate::stored_value::balance_of(db, brand.id, member.id).await?,
        stored_recent: crate::stored_value::history(db, brand.id, member.id, None, 5).await?,
    })
}

/// A member by what the cashier typed or scanned: the rotating card code,
/// the member number, or a phone (+86 by default).
pub async fn find_member(
    db: &Db,
    clock: &dyn Clock,
    secret: &crate::ServerSecret,
    brand: &Brand,
    input: &str,
) -> Result<Member> {
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let who = if compact.len() == 11 && compact.starts_with('1') || compact.starts_with('+') {
        let phone = crate::members::phone::Phone::parse("86", &compact)
            .map_err(|_| Error::MemberNotFound)?;
        crate::members::MemberRef::Phone(phone)
    } else {
        crate::members::MemberRef::Code(compact)
    };
    let mut conn = db.acquire().await?;
    crate::members::identify(&mut conn, clock, secret, brand.id, &who).await
}

/// A member by number, for the till's follow-up forms.
pub async fn member_by_no(db: &Db, brand: &Brand, no: &str) -> Result<Member> {
    let no = MemberNo::parse(no).map_err(|_| Error::MemberNotFound)?;
    crate::members::find_by_no(&mut *db.acquire().await?, brand.id, &no).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_typed_at_a_till_become_fen() {
        assert_eq!(parse_yuan("a", "128").unwrap().get(), 12_800);
        assert_eq!(parse_yuan("a", "128.5").unwrap().get(), 12_850);
        assert_eq!(parse_yuan("a", " ¥1,280.05 ").unwrap().get(), 128_005);
        assert_eq!(parse_yuan("a", ".5").unwrap().get(), 50);
        assert_eq!(parse_yuan("a", "12,345,678").unwrap().get(), 1_234_567_800);
        assert_eq!(parse_yuan("a", "1，280").unwrap().get(), 128_000);
        for bad in [
            "", "-5", "1.234", "12a", "1e3", "0", "0.00", ".", "1.2.3", "12,80", ",280", "1,28",
            "1234,567", "1,,280",
        ] {
            assert!(parse_yuan("a", bad).is_err(), "{bad:?}");
        }
    }
}
