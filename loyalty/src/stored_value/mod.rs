//! Stored value (储值): money a member paid in at a till, and the bonus a
//! top-up rule gave with it (充 500 送 50). The two are kept apart:
//! principal is the restaurant's debt to the member and can be refunded;
//! bonus is a gift that can only be spent.
//!
//! - **The ledger** (`stored_value_ledger`) is append-only; every row says
//!   the balances before and after it and names the row before it, so the
//!   schema itself holds balance == sum of entries. The account
//!   (`stored_value_accounts`) keeps the balances beside it and names its
//!   last row by the same key.
//! - **One guard per write.** A payment is one conditional UPDATE of the
//!   account that takes the amount only when the balance covers it, and
//!   splits it in the same statement (in proportion, or principal first,
//!   as the owner chose); concurrent payments wait on that row and never
//!   overdraw. Everything else a write does happens after it, under it.
//! - **Lots.** Each top-up is a lot; payments take from the oldest first,
//!   which says where an outstanding balance was paid in and which store
//!   owes which (`report`). A void puts back exactly what its payment
//!   took; a refund takes unused principal from its own top-up and forfeits
//!   the bonus that came with it in proportion.

pub mod report;
pub mod rules;

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::access::Counter;
use crate::brands::stores::StoreId;
use crate::brands::BrandId;
use crate::members::member_code::CardShown;
use crate::members::MemberId;
use crate::money::{ExternalId, Fen};
use crate::{Clock, Db, Error, Result};

/// The most a member's stored balance may hold, in fen (¥10,000,000). The
/// schema holds it too; it keeps amount × principal within 64 bits.
pub const MAX_BALANCE_FEN: i64 = 1_000_000_000;
/// The most one top-up may pay in, in fen (¥1,000,000).
pub const MAX_TOP_UP_FEN: i64 = 100_000_000;

/// A member's stored balance, in its two parts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub principal_fen: i64,
    pub bonus_fen: i64,
}

impl Balance {
    pub fn total_fen(&self) -> i64 {
        self.principal_fen + self.bonus_fen
    }
}

/// How a payment splits between principal and bonus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// In proportion to the balance's parts (the default): each payment
    /// spends bonus at the rate it was given, so revenue is recognised once.
    Proportional,
    /// Principal until it is spent, then bonus.
    PrincipalFirst,
}

impl Split {
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Proportional => "proportional",
            Split::PrincipalFirst => "principal_first",
        }
    }

    pub fn parse(s: &str) -> Option<Split> {
        match s {
            "proportional" => Some(Split::Proportional),
            "principal_first" => Some(Split::PrincipalFirst),
            _ => None,
        }
    }

    /// The principal part of `amount` (a bound parameter) in SQL over the
    /// account's columns; the bonus part is the rest.
    fn principal_sql(self, amount: &str) -> String {
        match self {
            Split::Proportional => {
                format!("(({amount}) * principal_fen) / (principal_fen + bonus_fen)")
            }
            Split::PrincipalFirst => format!(
                "CASE WHEN principal_fen >= ({amount}) THEN ({amount}) ELSE principal_fen END"
            ),
        }
    }
}

/// How the member paid the restaurant for a top-up. Tablecard records it;
/// the restaurant's own POS or terminal collects the money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tender {
    Cash,
    Card,
    WechatPay,
    Alipay,
    Other,
}

impl Tender {
    pub const ALL: [Tender; 5] = [
        Tender::Cash,
        Tender::Card,
        Tender::WechatPay,
        Tender::Alipay,
        Tender::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tender::Cash => "cash",
            Tender::Card => "card",
            Tender::WechatPay => "wechat_pay",
            Tender::Alipay => "alipay",
            Tender::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Tender> {
        Tender::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The account after a write, as the write's RETURNING says it.
#[derive(Debug, Clone, Copy)]
struct AccountState {
    principal: i64,
    bonus: i64,
    seq: i64,
    principal_delta: i64,
    bonus_delta: i64,
}

impl AccountState {
    fn balance(&self) -> Balance {
        Balance {
            principal_fen: self.principal,
            bonus_fen: self.bonus,
        }
    }
}

const RETURNING: &str =
    "RETURNING principal_fen, bonus_fen, seq, last_principal_delta, last_bonus_delta";

type StateRow = (i64, i64, i64, i64, i64);

fn state(row: StateRow) -> AccountState {
    AccountState {
        principal: row.0,
        bonus: row.1,
        seq: row.2,
        principal_delta: row.3,
        bonus_delta: row.4,
    }
}

/// What one ledger row records.
struct Entry {
    brand: BrandId,
    member: MemberId,
    kind: &'static str,
    store: Option<StoreId>,
    ref_id: i64,
}

/// Appends the ledger row for the account write that returned `s`: the row
/// before it is `s.seq - 1`, with the balances `s` minus its deltas.
async fn append(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    e: Entry,
    s: AccountState,
) -> Result<()> {
    let prev_seq = (s.seq > 1).then_some(s.seq - 1);
    sqlx::query(
        "INSERT INTO stored_value_ledger (brand_id, member_id, seq, kind, store_id, ref_id, \
         principal_delta, bonus_delta, prev_seq, prev_principal, prev_bonus, principal_after, \
         bonus_after, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(e.brand.0)
    .bind(e.member.0)
    .bind(s.seq)
    .bind(e.kind)
    .bind(e.store.map(|s| s.0))
    .bind(e.ref_id)
    .bind(s.principal_delta)
    .bind(s.bonus_delta)
    .bind(prev_seq)
    .bind(s.principal - s.principal_delta)
    .bind(s.bonus - s.bonus_delta)
    .bind(s.principal)
    .bind(s.bonus)
    .bind(clock.now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds `principal` and `bonus` to the member's account (opening it on the
/// first top-up), unless the balance would pass [`MAX_BALANCE_FEN`].
async fn credit(
    conn: &mut AnyConnection,
    brand: BrandId,
    member: MemberId,
    principal: i64,
    bonus: i64,
) -> Result<AccountState> {
    let row: Option<StateRow> = sqlx::query_as(&format!(
        "INSERT INTO stored_value_accounts (member_id, brand_id, principal_fen, bonus_fen, seq, \
         last_principal_delta, last_bonus_delta) VALUES ($1, $2, $3, $4, 1, $3, $4) \
         ON CONFLICT (member_id) DO UPDATE SET principal_fen = stored_value_accounts.principal_fen + $3, \
         bonus_fen = stored_value_accounts.bonus_fen + $4, seq = stored_value_accounts.seq + 1, \
         last_principal_delta = $3, last_bonus_delta = $4 \
         WHERE stored_value_accounts.brand_id = $2 \
         AND stored_value_accounts.principal_fen + stored_value_accounts.bonus_fen + $3 + $4 <= {MAX_BALANCE_FEN} \
         {RETURNING}"
    ))
    .bind(member.0)
    .bind(brand.0)
    .bind(principal)
    .bind(bonus)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(state).ok_or(Error::StoredValueLimit)
}

/// The member's balance now (zero before their first top-up).
pub async fn balance(
    conn: &mut AnyConnection,
    brand: BrandId,
    member: MemberId,
) -> Result<Balance> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT principal_fen, bonus_fen FROM stored_value_accounts WHERE brand_id = $1 AND member_id = $2",
    )
    .bind(brand.0)
    .bind(member.0)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map_or_else(Balance::default, |(p, b)| Balance {
        principal_fen: p,
        bonus_fen: b,
    }))
}

/// [`balance`] outside a transaction.
pub async fn balance_of(db: &Db, brand: BrandId, member: MemberId) -> Result<Balance> {
    let mut conn = db.pool().acquire().await?;
    balance(&mut conn, brand, member).await
}

/// A top-up as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToppedUp {
    pub id: i64,
    pub principal_fen: i64,
    pub bonus_fen: i64,
    pub balance: Balance,
}

/// Money the member paid in at this counter: `amount` of principal, and the
/// bonus of the brand's rule in force here and now. `top_up_id` is recorded
/// once per store.
pub async fn top_up(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    at: &dyn Counter,
    member: MemberId,
    top_up_id: &ExternalId,
    amount: Fen,
    tender: Option<Tender>,
) -> Result<ToppedUp> {
    let (brand, store) = (at.brand().id, at.store());
    let amount = amount.get();
    if amount > MAX_TOP_UP_FEN {
        return Err(Error::invalid(
            "amount_fen",
            crate::error::Invalid::Range("at most ¥1,000,000 per top-up"),
        ));
    }
    crate::points::member_state(conn, brand, member).await?;
    let rule = rules::in_force(conn, brand, store, clock.now_ms(), amount).await?;
    let bonus = rule.as_ref().map_or(0, |r| r.bonus_fen);
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO stored_value_top_ups (brand_id, store_id, member_id, top_up_id, amount_fen, \
         bonus_fen, rule_id, tender, principal_left, bonus_left, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $5, $6, $9) \
         ON CONFLICT (store_id, top_up_id) DO NOTHING RETURNING id",
    )
    .bind(brand.0)
    .bind(store.0)
    .bind(member.0)
    .bind(top_up_id.as_str())
    .bind(amount)
    .bind(bonus)
    .bind(rule.as_ref().map(|r| r.id))
    .bind(tender.map(Tender::as_str))
    .bind(clock.now_ms())
    .fetch_optional(&mut *conn)
    .await
    .map_err(crate::error::store_not_found)?;
    let Some((id,)) = row else {
        return Err(Error::TopUpAlreadyRecorded);
    };
    let s = credit(conn, brand, member, amount, bonus).await?;
    let entry = Entry {
        brand,
        member,
        kind: "top_up",
        store: Some(store),
        ref_id: id,
    };
    append(conn, clock, entry, s).await?;
    Ok(ToppedUp {
        id,
        principal_fen: amount,
        bonus_fen: bonus,
        balance: s.balance(),
    })
}

/// An opening balance from an old program (`import` names the import),
/// booked as a top-up lot at `store` so payments take from it as from any
/// other, with an `import` row in the ledger.
pub(crate) async fn import(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    store: StoreId,
    member: MemberId,
    opening: Balance,
    import: i64,
) -> Result<Balance> {
    let (principal, bonus) = (opening.principal_fen, opening.bonus_fen);
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO stored_value_top_ups (brand_id, store_id, member_id, top_up_id, amount_fen, \
         bonus_fen, principal_left, bonus_left, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $5, $6, $7) RETURNING id",
    )
    .bind(brand.0)
    .bind(store.0)
    .bind(member.0)
    .bind(format!("import-{import}-{}", member.0))
    .bind(principal)
    .bind(bonus)
    .bind(clock.now_ms())
    .fetch_one(&mut *conn)
    .await?;
    let s = credit(conn, brand, member, principal, bonus).await?;
    let entry = Entry {
        brand,
        member,
        kind: "import",
        store: Some(store),
        ref_id: id,
    };
    append(conn, clock, entry, s).await?;
    Ok(s.balance())
}

/// A payment as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paid {
    pub id: i64,
    pub paid_fen: i64,
    pub principal_fen: i64,
    pub bonus_fen: i64,
    pub balance: Balance,
}

/// Pays `amount` of a bill from the balance of the member who showed their
/// card. `payment_id` is recorded once per store.
pub async fn pay(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    at: &dyn Counter,
    card: &CardShown,
    payment_id: &ExternalId,
    amount: Fen,
    order_id: Option<&ExternalId>,
) -> Result<Paid> {
    let (brand, store) = (at.brand().id, at.store());
    let member = card.member().id;
    let amount = amount.get();
    let split = rules::split(conn, brand).await?;
    // The one guard: the balance covers the amount, or nothing changes.
    let principal = split.principal_sql("$1");
    let row: Option<StateRow> = sqlx::query_as(&format!(
        "UPDATE stored_value_accounts SET \
         last_principal_delta = -({principal}), last_bonus_delta = -($1 - ({principal})), \
         principal_fen = principal_fen - ({principal}), bonus_fen = bonus_fen - ($1 - ({principal})), \
         seq = seq + 1 \
         WHERE brand_id = $2 AND member_id = $3 AND principal_fen + bonus_fen >= $1 {RETURNING}"
    ))
    .bind(amount)
    .bind(brand.0)
    .bind(member.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(s) = row.map(state) else {
        return Err(Error::InsufficientBalance);
    };
    let (principal, bonus) = (-s.principal_delta, -s.bonus_delta);
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO stored_value_payments (brand_id, store_id, member_id, payment_id, order_id, \
         amount_fen, principal_fen, bonus_fen, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (store_id, payment_id) DO NOTHING RETURNING id",
    )
    .bind(brand.0)
    .bind(store.0)
    .bind(member.0)
    .bind(payment_id.as_str())
    .bind(order_id.map(ExternalId::as_str))
    .bind(amount)
    .bind(principal)
    .bind(bonus)
    .bind(clock.now_ms())
    .fetch_optional(&mut *conn)
    .await
    .map_err(crate::error::store_not_found)?;
    // Dropping the transaction undoes the account's change.
    let Some((id,)) = row else {
        return Err(Error::PaymentAlreadyRecorded);
    };
    take_from_lots(conn, member, id, principal, bonus).await?;
    let entry = Entry {
        brand,
        member,
        kind: "payment",
        store: Some(store),
        ref_id: id,
    };
    append(conn, clock, entry, s).await?;
    Ok(Paid {
        id,
        paid_fen: amount,
        principal_fen: principal,
        bonus_fen: bonus,
        balance: s.balance(),
    })
}

/// Takes `principal` and `bonus` from the member's oldest lots, each part
/// from the oldest lot that still has some, and records the moves. Runs
/// under the account's row, which every write of the member's lots takes
/// first, so the lots read here do not change before they are written.
async fn take_from_lots(
    conn: &mut AnyConnection,
    member: MemberId,
    payment: i64,
    mut principal: i64,
    mut bonus: i64,
) -> Result<()> {
    let lots: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT id, principal_left, bonus_left FROM stored_value_top_ups \
         WHERE member_id = $1 AND (principal_left > 0 OR bonus_left > 0) ORDER BY id",
    )
    .bind(member.0)
    .fetch_all(&mut *conn)
    .await?;
    for (lot, p_left, b_left) in lots {
        if principal == 0 && bonus == 0 {
            break;
        }
        let (p, b) = (principal.min(p_left), bonus.min(b_left));
        if p == 0 && b == 0 {
            continue;
        }
        let taken = sqlx::query(
            "UPDATE stored_value_top_ups SET principal_left = principal_left - $1, \
             bonus_left = bonus_left - $2 WHERE id = $3 AND principal_left >= $1 AND bonus_left >= $2",
        )
        .bind(p)
        .bind(b)
        .bind(lot)
        .execute(&mut *conn)
        .await?;
        if taken.rows_affected() != 1 {
            return Err(Error::LedgerConflict);
        }
        sqlx::query(
            "INSERT INTO stored_value_moves (payment_id, top_up_id, principal_fen, bonus_fen) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(payment)
        .bind(lot)
        .bind(p)
        .bind(b)
        .execute(&mut *conn)
        .await?;
        principal -= p;
        bonus -= b;
    }
    if principal != 0 || bonus != 0 {
        // The lots hold less than the account: a broken invariant, not a
        // refusal. Nothing is committed.
        return Err(Error::LedgerConflict);
    }
    Ok(())
}

/// Cancels a payment made at this counter: exactly what it took goes back,
/// to the lots it came from. Returns the balance after.
pub async fn void_payment(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    at: &dyn Counter,
    payment_id: &ExternalId,
) -> Result<Balance> {
    let (brand, store) = (at.brand().id, at.store());
    let voided: Option<(i64, i64, i64, i64)> = sqlx::query_as(
        "UPDATE stored_value_payments SET status = 'voided', voided_at = $1 \
         WHERE brand_id = $2 AND store_id = $3 AND payment_id = $4 AND status = 'active' \
         RETURNING id, member_id, principal_fen, bonus_fen",
    )
    .bind(clock.now_ms())
    .bind(brand.0)
    .bind(store.0)
    .bind(payment_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, member, principal, bonus)) = voided else {
        let exists: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM stored_value_payments WHERE brand_id = $1 AND store_id = $2 AND payment_id = $3",
        )
        .bind(brand.0)
        .bind(store.0)
        .bind(payment_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        return Err(if exists.is_some() {
            Error::PaymentAlreadyVoided
        } else {
            Error::PaymentNotFound
        });
    };
    let member = MemberId(member);
    let s = credit(conn, brand, member, principal, bonus).await?;
    let moves = sqlx::query(
        "UPDATE stored_value_top_ups SET \
         principal_left = principal_left + (SELECT COALESCE(SUM(m.principal_fen), 0) FROM stored_value_moves m \
             WHERE m.payment_id = $1 AND m.top_up_id = stored_value_top_ups.id), \
         bonus_left = bonus_left + (SELECT COALESCE(SUM(m.bonus_fen), 0) FROM stored_value_moves m \
             WHERE m.payment_id = $1 AND m.top_up_id = stored_value_top_ups.id) \
         WHERE id IN (SELECT top_up_id FROM stored_value_moves WHERE payment_id = $1)",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if moves.rows_affected() == 0 {
        return Err(Error::LedgerConflict);
    }
    let entry = Entry {
        brand,
        member,
        kind: "void",
        store: Some(store),
        ref_id: id,
    };
    append(conn, clock, entry, s).await?;
    Ok(s.balance())
}

/// A refund as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refunded {
    pub principal_refunded_fen: i64,
    pub bonus_forfeited_fen: i64,
    pub balance: Balance,
    pub member: MemberId,
}

/// Gives back `amount` of a top-up made at this counter, from what is left
/// of its principal; the bonus that came with it is forfeited in proportion
/// (as much of it as is left). `refund_id` is recorded once per top-up.
pub async fn refund(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    at: &dyn Counter,
    top_up_id: &ExternalId,
    refund_id: &ExternalId,
    amount: Fen,
) -> Result<Refunded> {
    let (brand, store) = (at.brand().id, at.store());
    let amount = amount.get();
    let found: Option<(i64, i64)> = sqlx::query_as(
        "SELECT id, member_id FROM stored_value_top_ups WHERE brand_id = $1 AND store_id = $2 AND top_up_id = $3",
    )
    .bind(brand.0)
    .bind(store.0)
    .bind(top_up_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((lot, member)) = found else {
        return Err(Error::TopUpNotFound);
    };
    let member = MemberId(member);
    // The member's row first, as every write of their lots does.
    sqlx::query("UPDATE stored_value_accounts SET seq = seq WHERE member_id = $1")
        .bind(member.0)
        .execute(&mut *conn)
        .await?;
    let (amount_fen, bonus_fen, p_left, b_left, refunded, forfeited): (i64, i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT amount_fen, bonus_fen, principal_left, bonus_left, principal_refunded, bonus_forfeited \
             FROM stored_value_top_ups WHERE id = $1",
        )
        .bind(lot)
        .fetch_one(&mut *conn)
        .await?;
    let recorded: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM stored_value_refunds WHERE top_up_id = $1 AND refund_id = $2",
    )
    .bind(lot)
    .bind(refund_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if recorded.is_some() {
        return Err(Error::RefundAlreadyRecorded);
    }
    if amount > p_left {
        return Err(Error::RefundExceedsPrincipal { left_fen: p_left });
    }
    // In proportion over all refunds of the top-up, so that rounding never
    // adds up to more than its share.
    let due = i64::try_from(
        i128::from(bonus_fen) * i128::from(refunded + amount) / i128::from(amount_fen),
    )
    .unwrap_or(bonus_fen)
        - forfeited;
    let forfeit = due.clamp(0, b_left);
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO stored_value_refunds (brand_id, store_id, top_up_id, refund_id, principal_fen, \
         bonus_forfeited_fen, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (top_up_id, refund_id) DO NOTHING RETURNING id",
    )
    .bind(brand.0)
    .bind(store.0)
    .bind(lot)
    .bind(refund_id.as_str())
    .bind(amount)
    .bind(forfeit)
    .bind(clock.now_ms())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((refund_row,)) = row else {
        return Err(Error::RefundAlreadyRecorded);
    };
    let taken = sqlx::query(
        "UPDATE stored_value_top_ups SET principal_left = principal_left - $1, \
         principal_refunded = principal_refunded + $1, bonus_left = bonus_left - $2, \
         bonus_forfeited = bonus_forfeited + $2 \
         WHERE id = $3 AND principal_left >= $1 AND bonus_left >= $2",
    )
    .bind(amount)
    .bind(forfeit)
    .bind(lot)
    .execute(&mut *conn)
    .await?;
    if taken.rows_affected() != 1 {
        return Err(Error::LedgerConflict);
    }
    let row: Option<StateRow> = sqlx::query_as(&format!(
        "UPDATE stored_value_accounts SET principal_fen = principal_fen - $1, bonus_fen = bonus_fen - $2, \
         last_principal_delta = -$1, last_bonus_delta = -$2, seq = seq + 1 \
         WHERE member_id = $3 AND principal_fen >= $1 AND bonus_fen >= $2 {RETURNING}"
    ))
    .bind(amount)
    .bind(forfeit)
    .bind(member.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(s) = row.map(state) else {
        return Err(Error::LedgerConflict);
    };
    let entry = Entry {
        brand,
        member,
        kind: "refund",
        store: Some(store),
        ref_id: refund_row,
    };
    append(conn, clock, entry, s).await?;
    Ok(Refunded {
        principal_refunded_fen: amount,
        bonus_forfeited_fen: forfeit,
        balance: s.balance(),
        member,
    })
}

/// One line of a member's stored-value history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Movement {
    /// Its place in the member's ledger, 1 for the first.
    pub seq: i64,
    /// `top_up`, `payment`, `void`, `refund` or `import`.
    pub kind: String,
    pub at: i64,
    pub store: Option<String>,
    /// The id the till or POS gave it: the top-up, payment or refund id.
    pub reference: Option<String>,
    pub principal_delta: i64,
    pub bonus_delta: i64,
    pub balance_after: Balance,
}

/// The member's stored-value history, newest first, before ledger row
/// `before` when given, at most `limit` lines.
pub async fn history(
    db: &Db,
    brand: BrandId,
    member: MemberId,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Movement>> {
    type Row = (
        i64,
        String,
        i64,
        Option<String>,
        Option<String>,
        i64,
        i64,
        i64,
        i64,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT l.seq, l.kind, l.created_at, s.name, \
         CASE l.kind WHEN 'top_up' THEN t.top_up_id WHEN 'refund' THEN r.refund_id \
              WHEN 'payment' THEN p.payment_id WHEN 'void' THEN p.payment_id END, \
         l.principal_delta, l.bonus_delta, l.principal_after, l.bonus_after \
         FROM stored_value_ledger l \
         LEFT JOIN stores s ON s.id = l.store_id \
         LEFT JOIN stored_value_top_ups t ON l.kind = 'top_up' AND t.id = l.ref_id \
         LEFT JOIN stored_value_refunds r ON l.kind = 'refund' AND r.id = l.ref_id \
         LEFT JOIN stored_value_payments p ON l.kind IN ('payment', 'void') AND p.id = l.ref_id \
         WHERE l.brand_id = $1 AND l.member_id = $2 AND l.seq < $3 ORDER BY l.seq DESC LIMIT $4",
    )
    .bind(brand.0)
    .bind(member.0)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, kind, at, store, reference, dp, db, p, b)| Movement {
            seq,
            kind,
            at,
            store,
            reference,
            principal_delta: dp,
            bonus_delta: db,
            balance_after: Balance {
                principal_fen: p,
                bonus_fen: b,
            },
        })
        .collect())
}

/// The member's balance page: the balance in its parts, the offers they
/// can take up at a till now, and a page of history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub balance: Balance,
    pub offers: Vec<rules::TopUpRule>,
    /// The names of the stores the offers are limited to, by id.
    pub store_names: Vec<(StoreId, String)>,
    pub movements: Vec<Movement>,
    /// Where the next page starts, when there is one.
    pub more: Option<i64>,
}

/// Lines of history per page.
pub const PAGE: i64 = 20;

/// The signed-in member's statement, from ledger row `before` back.
pub async fn statement(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Member,
    before: Option<i64>,
) -> Result<Statement> {
    let (brand, member) = (who.brand().id, who.id());
    let mut movements = history(db, brand, member, before, PAGE + 1).await?;
    let more = (movements.len() as i64 > PAGE).then(|| {
        movements.truncate(PAGE as usize);
        movements.last().map_or(0, |m| m.seq)
    });
    let offers = rules::offers(db, clock, brand, None).await?;
    let store_names = if offers.iter().any(|o| o.stores.is_some()) {
        crate::brands::stores::list(db, brand)
            .await?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect()
    } else {
        Vec::new()
    };
    Ok(Statement {
        balance: balance_of(db, brand, member).await?,
        offers,
        store_names,
        movements,
        more,
    })
}

/// The members whose stored value disagrees with itself: the account
/// against the sums of its ledger and of its lots. Empty when the books
/// balance (backups check it before they are called good).
pub async fn audit(db: &Db) -> Result<Vec<i64>> {
    let rows = sqlx::query_as(AUDIT_SQL).fetch_all(db.pool()).await?;
    Ok(audit_failures(rows))
}

/// Each account beside its ledger's and its top-ups' sums: what [`audit`]
/// reads, also asked of a copy before it commits.
pub(crate) const AUDIT_SQL: &str = "SELECT a.member_id, a.principal_fen, a.bonus_fen, \
     (SELECT CAST(COALESCE(SUM(l.principal_delta), 0) AS BIGINT) FROM stored_value_ledger l WHERE l.member_id = a.member_id), \
     (SELECT CAST(COALESCE(SUM(l.bonus_delta), 0) AS BIGINT) FROM stored_value_ledger l WHERE l.member_id = a.member_id), \
     (SELECT CAST(COALESCE(SUM(t.principal_left), 0) AS BIGINT) FROM stored_value_top_ups t WHERE t.member_id = a.member_id), \
     (SELECT CAST(COALESCE(SUM(t.bonus_left), 0) AS BIGINT) FROM stored_value_top_ups t WHERE t.member_id = a.member_id) \
     FROM stored_value_accounts a";

/// The members whose rows of [`AUDIT_SQL`] disagree.
pub(crate) fn audit_failures(rows: Vec<(i64, i64, i64, i64, i64, i64, i64)>) -> Vec<i64> {
    rows.into_iter()
        .filter(|(_, p, b, lp, lb, tp, tb)| (p, b) != (lp, lb) || (p, b) != (tp, tb))
        .map(|r| r.0)
        .collect()
}

/// What the invariants say of one member, for tests and the operator's
/// checks: the account, the ledger's last row and sum, and the lots' sum
/// all agree, and nothing is below zero.
pub async fn check_member(conn: &mut AnyConnection, member: MemberId) -> Result<Option<String>> {
    let account: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT principal_fen, bonus_fen, seq FROM stored_value_accounts WHERE member_id = $1",
    )
    .bind(member.0)
    .fetch_optional(&mut *conn)
    .await?;
    let (sum_p, sum_b, rows, max_seq): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(principal_delta), 0) AS BIGINT), CAST(COALESCE(SUM(bonus_delta), 0) AS BIGINT), \
         COUNT(*), CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM stored_value_ledger WHERE member_id = $1",
    )
    .bind(member.0)
    .fetch_one(&mut *conn)
    .await?;
    let (lots_p, lots_b): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(principal_left), 0) AS BIGINT), CAST(COALESCE(SUM(bonus_left), 0) AS BIGINT) \
         FROM stored_value_top_ups WHERE member_id = $1",
    )
    .bind(member.0)
    .fetch_one(&mut *conn)
    .await?;
    let (p, b, seq) = account.unwrap_or((0, 0, 0));
    let mut wrong = Vec::new();
    if (p, b) != (sum_p, sum_b) {
        wrong.push(format!("account {p}+{b} but ledger sums {sum_p}+{sum_b}"));
    }
    if (p, b) != (lots_p, lots_b) {
        wrong.push(format!("account {p}+{b} but lots hold {lots_p}+{lots_b}"));
    }
    if seq != max_seq || rows != max_seq {
        wrong.push(format!(
            "account at seq {seq}, ledger has {rows} rows up to {max_seq}"
        ));
    }
    if p < 0 || b < 0 {
        wrong.push(format!("negative balance {p}+{b}"));
    }
    Ok((!wrong.is_empty()).then(|| wrong.join("; ")))
}
