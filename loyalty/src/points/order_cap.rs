//! The brand's cap on paying with points (积分抵现上限), per order.
//!
//! `order_points` holds a row for every order that points paid or that was
//! recorded: what points have paid on it and, once its purchase is recorded,
//! the bill (net of refunds). Paying and recording each change that row in
//! one conditional upsert, so the cap holds whatever the order of the calls
//! and however many arrive at once (two payments on one order wait for each
//! other on the row):
//!
//! - a payment fits under the cap of the recorded bill, or else of the bill
//!   it names; with neither, it is taken, and
//! - recording the purchase is refused (`points_paid_over_cap`) while what
//!   points paid on the order is over the cap of its bill: the POS voids a
//!   points payment and records the purchase again.

use sqlx::AnyConnection;

use super::rules::LoyaltyRules;
use crate::brands::{stores::StoreId, BrandId};
use crate::Result;

/// Which order: a store's order id.
pub(super) struct Order<'a> {
    pub brand: BrandId,
    pub store: StoreId,
    pub id: &'a str,
}

/// Takes `value_fen` of points payment on `order`: false, and nothing taken,
/// when it would go over the brand's cap of the recorded bill, or of
/// `named_bill` when none is recorded yet.
pub(super) async fn pay(
    conn: &mut AnyConnection,
    order: &Order<'_>,
    value_fen: i64,
    named_bill: Option<i64>,
    rules: &LoyaltyRules,
) -> Result<bool> {
    let taken: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO order_points (brand_id, store_id, order_id, paid_fen) \
         SELECT $1, $2, $3, $4 WHERE $5 < 0 OR $4 <= $5 * $6 / 100 \
         ON CONFLICT (store_id, order_id) DO UPDATE \
           SET paid_fen = order_points.paid_fen + excluded.paid_fen \
           WHERE COALESCE(order_points.bill_fen, $5) < 0 \
              OR order_points.paid_fen + excluded.paid_fen <= COALESCE(order_points.bill_fen, $5) * $6 / 100 \
         RETURNING paid_fen",
    )
    .bind(order.brand.0)
    .bind(order.store.0)
    .bind(order.id)
    .bind(value_fen)
    .bind(named_bill.unwrap_or(-1))
    .bind(rules.redeem_cap_pct)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(taken.is_some())
}

/// What points may still pay on `order` under the brand's cap of its bill
/// (the recorded one, or `named_bill`); None when no bill is known.
pub(super) async fn room(
    conn: &mut AnyConnection,
    order: &Order<'_>,
    named_bill: Option<i64>,
    rules: &LoyaltyRules,
) -> Result<Option<i64>> {
    let row: Option<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT paid_fen, bill_fen FROM order_points WHERE store_id = $1 AND order_id = $2",
    )
    .bind(order.store.0)
    .bind(order.id)
    .fetch_optional(&mut *conn)
    .await?;
    let (paid, recorded) = row.unwrap_or((0, None));
    Ok(recorded
        .or(named_bill)
        .map(|bill| (rules.redeem_cap_fen(bill) - paid).max(0)))
}

/// What [`record_bill_sql`] returns when it took the bill (a purchase's id
/// is positive).
pub(super) const BILL_TAKEN: i64 = -1;

/// Records the bill (`$5`) of order `$4` of store `$2` (brand `$1`), of the
/// purchase being inserted beside it, in that purchase's own query (see
/// `purchase_sql`): it returns a row of [`BILL_TAKEN`], and records nothing
/// when points have already paid more on the order than the brand's cap
/// (`$11` %) of the bill. `source` makes it conditional on the purchase's
/// insert: a `FROM` of its rows, or a `WHERE`.
pub(super) fn record_bill_sql(source: &str) -> String {
    format!(
        "INSERT INTO order_points (brand_id, store_id, order_id, paid_fen, bill_fen) \
         SELECT $1, $2, $4, 0, $5 {source} \
         ON CONFLICT (store_id, order_id) DO UPDATE SET bill_fen = excluded.bill_fen \
           WHERE order_points.paid_fen <= excluded.bill_fen * $11 / 100 \
         RETURNING {BILL_TAKEN} AS taken"
    )
}

/// A refund lowers the bill later payments are capped by.
pub(super) async fn refund(conn: &mut AnyConnection, order: &Order<'_>, fen: i64) -> Result<()> {
    sqlx::query(
        "UPDATE order_points SET bill_fen = bill_fen - $1 \
         WHERE store_id = $2 AND order_id = $3 AND bill_fen IS NOT NULL",
    )
    .bind(fen)
    .bind(order.store.0)
    .bind(order.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A voided payment frees its share of the cap.
pub(super) async fn unpay(
    conn: &mut AnyConnection,
    order: &Order<'_>,
    value_fen: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE order_points SET paid_fen = paid_fen - $1 WHERE store_id = $2 AND order_id = $3",
    )
    .bind(value_fen)
    .bind(order.store.0)
    .bind(order.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
