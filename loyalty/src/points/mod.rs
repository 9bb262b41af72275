//! The points ledger (积分): every change is an append-only row; earned
//! points are lots with an expiry; spending, expiry and reversals take from
//! the lot that expires first and remember which lots they took from. The
//! member's stored balance moves in the same transaction, by a conditional
//! update that can never take it below zero.
//!
//! Refund policy: a refund takes back the purchase's points in proportion to
//! the amount refunded, from what the member still has. Points already spent
//! are not clawed back: the balance never goes negative, and the refund
//! records how many of the points due it could take.

pub mod adjustments;
pub mod checkin;
pub(crate) mod config;
mod order_cap;
pub mod rules;
pub mod tiers;

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::brands::stores::StoreId;
use crate::brands::{Brand, BrandId};
use crate::error::store_not_found;
use crate::members::MemberId;
use crate::money::{ExternalId, Fen};
use crate::points::tiers::Tier;
use crate::{Clock, Db, Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryKind {
    Earn,
    Spend,
    Expire,
    Adjust,
    Reverse,
    /// An opening balance brought from an old program.
    Import,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Earn => "earn",
            EntryKind::Spend => "spend",
            EntryKind::Expire => "expire",
            EntryKind::Adjust => "adjust",
            EntryKind::Reverse => "reverse",
            EntryKind::Import => "import",
        }
    }

    fn parse(s: &str) -> EntryKind {
        match s {
            "earn" => EntryKind::Earn,
            "spend" => EntryKind::Spend,
            "expire" => EntryKind::Expire,
            "reverse" => EntryKind::Reverse,
            "import" => EntryKind::Import,
            _ => EntryKind::Adjust,
        }
    }
}

struct Entry<'a> {
    brand: BrandId,
    member: MemberId,
    store: Option<StoreId>,
    kind: EntryKind,
    amount: i64,
    reason: &'a str,
    ref_type: Option<&'a str>,
    ref_id: Option<i64>,
}

async fn append(conn: &mut AnyConnection, clock: &dyn Clock, e: Entry<'_>) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO points_ledger (brand_id, member_id, store_id, kind, amount, reason, ref_type, ref_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(e.brand.0)
    .bind(e.member.0)
    .bind(e.store.map(|s| s.0))
    .bind(e.kind.as_str())
    .bind(e.amount)
    .bind(e.reason)
    .bind(e.ref_type)
    .bind(e.ref_id)
    .bind(clock.now_ms())
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// Adds `points` to the balance as a new lot. Returns the balance.
async fn credit(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    entry: Entry<'_>,
    purchase: Option<i64>,
    expires_at: Option<i64>,
) -> Result<i64> {
    static SQL: std::sync::LazyLock<[String; 2]> =
        std::sync::LazyLock::new(|| credit_sql("points_balance"));
    let (balance,) = credit_row(conn, &SQL, clock, entry, purchase, expires_at).await?;
    Ok(balance)
}

/// [`credit`], and the member's qualifying spend after it (what decides an
/// upgrade).
async fn credit_with_spend(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    entry: Entry<'_>,
    purchase: Option<i64>,
    expires_at: Option<i64>,
) -> Result<(i64, i64)> {
    static SQL: std::sync::LazyLock<[String; 2]> =
        std::sync::LazyLock::new(|| credit_sql(&format!("points_balance, {}", tiers::SPEND)));
    let (balance, spend): (i64, Option<i64>) =
        credit_row(conn, &SQL, clock, entry, purchase, expires_at).await?;
    Ok((balance, spend.unwrap_or(0)))
}

/// A credit's ledger row, its lot and the move of the member's balance, in
/// one round trip to the database (a write's round trips set the pace of
/// the single SQLite writer), returning `returning` from the member's row
/// as it is after the move; it may use `$1` (the brand), `$2` (the member)
/// and `$3` ([`tiers::spend_since`]). SQLite runs a query's statements in
/// turn, and the lot takes the id of the ledger row inserted just before
/// it; PostgreSQL takes one statement, the ledger row and the lot as its
/// CTEs. For SQLite, then PostgreSQL. (Fetch its row with `fetch_all`:
/// on SQLite, `sqlx::Any`'s `fetch_one` looks only at the first
/// statement's outcome.)
fn credit_sql(returning: &str) -> [String; 2] {
    const LEDGER: &str = "INSERT INTO points_ledger \
        (brand_id, member_id, store_id, kind, amount, reason, ref_type, ref_id, created_at) \
        VALUES ($1, $2, $5, $6, $4, $7, $8, $9, $10)";
    const LOT: &str = "INSERT INTO points_lots \
        (brand_id, member_id, ledger_id, purchase_id, earned, remaining, expires_at, created_at)";
    let balance = format!(
        "UPDATE members SET points_balance = points_balance + $4 \
         WHERE brand_id = $1 AND id = $2 RETURNING {returning}"
    );
    [
        format!(
            "{LEDGER}; {LOT} VALUES ($1, $2, last_insert_rowid(), $11, $4, $4, $12, $10); {balance}"
        ),
        format!(
            "WITH ledger AS ({LEDGER} RETURNING id), \
             lot AS ({LOT} SELECT $1, $2, id, $11, $4, $4, $12, $10 FROM ledger) {balance}"
        ),
    ]
}

/// Runs [`credit_sql`]'s query for `conn`'s database and gives the
/// member's row it returns.
async fn credit_row<O>(
    conn: &mut AnyConnection,
    sql: &[String; 2],
    clock: &dyn Clock,
    e: Entry<'_>,
    purchase: Option<i64>,
    expires_at: Option<i64>,
) -> Result<O>
where
    O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let rows: Vec<O> = sqlx::query_as(for_backend(conn, sql))
        .bind(e.brand.0)
        .bind(e.member.0)
        .bind(tiers::spend_since(clock))
        .bind(e.amount)
        .bind(e.store.map(|s| s.0))
        .bind(e.kind.as_str())
        .bind(e.reason)
        .bind(e.ref_type)
        .bind(e.ref_id)
        .bind(clock.now_ms())
        .bind(purchase)
        .bind(expires_at)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().last().ok_or(sqlx::Error::RowNotFound)?)
}

/// The text of a query written for each database, SQLite's first and
/// PostgreSQL's second, for the one `conn` is connected to.
fn for_backend<'s>(conn: &AnyConnection, sql: &'s [String; 2]) -> &'s str {
    match crate::Backend::of(conn) {
        crate::Backend::Sqlite => &sql[0],
        crate::Backend::Postgres => &sql[1],
    }
}

/// The ledger row and the lot of a credit, without the balance (which
/// the caller wrote with the member).
async fn record_lot(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    entry: Entry<'_>,
    purchase: Option<i64>,
    expires_at: Option<i64>,
) -> Result<()> {
    let (brand, member, points) = (entry.brand, entry.member, entry.amount);
    let ledger = append(conn, clock, entry).await?;
    sqlx::query(
        "INSERT INTO points_lots (brand_id, member_id, ledger_id, purchase_id, earned, remaining, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
    )
    .bind(brand.0)
    .bind(member.0)
    .bind(ledger)
    .bind(purchase)
    .bind(points)
    .bind(expires_at)
    .bind(clock.now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn add_to_balance(
    conn: &mut AnyConnection,
    brand: BrandId,
    member: MemberId,
    points: i64,
) -> Result<i64> {
    let (balance,): (i64,) = sqlx::query_as(
        "UPDATE members SET points_balance = points_balance + $1 \
         WHERE brand_id = $2 AND id = $3 RETURNING points_balance",
    )
    .bind(points)
    .bind(brand.0)
    .bind(member.0)
    .fetch_one(&mut *conn)
    .await?;
    Ok(balance)
}

/// [`add_to_balance`], and the member's qualifying spend after it (what
/// decides an upgrade), in one statement.
async fn add_to_balance_with_spend(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    member: MemberId,
    points: i64,
) -> Result<(i64, i64)> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "UPDATE members SET points_balance = points_balance + $4 \
             WHERE brand_id = $1 AND id = $2 RETURNING points_balance, {}",
            tiers::SPEND
        )
    });
    let (balance, spend): (i64, Option<i64>) = sqlx::query_as(&SQL)
        .bind(brand.0)
        .bind(member.0)
        .bind(tiers::spend_since(clock))
        .bind(points)
        .fetch_one(&mut *conn)
        .await?;
    Ok((balance, spend.unwrap_or(0)))
}

/// The one conditional statement that keeps a balance from going below
/// zero: None when the member has fewer than `points`.
async fn take_from_balance(
    conn: &mut AnyConnection,
    brand: BrandId,
    member: MemberId,
    points: i64,
) -> Result<Option<i64>> {
    let balance: Option<(i64,)> = sqlx::query_as(
        "UPDATE members SET points_balance = points_balance - $1 \
         WHERE brand_id = $2 AND id = $3 AND points_balance >= $1 RETURNING points_balance",
    )
    .bind(points)
    .bind(brand.0)
    .bind(member.0)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(balance.map(|b| b.0))
}

/// Takes `amount` from a lot for a ledger row and remembers it, so a void
/// can put it back and FIFO can be checked.
async fn take_from_lot(conn: &mut AnyConnection, ledger: i64, lot: i64, amount: i64) -> Result<()> {
    let taken = sqlx::query(
        "UPDATE points_lots SET remaining = remaining - $1 WHERE id = $2 AND remaining >= $1",
    )
    .bind(amount)
    .bind(lot)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if taken != 1 {
        // Lots and balance disagree: refuse rather than lose a point.
        return Err(Error::LedgerConflict);
    }
    sqlx::query("INSERT INTO points_lot_moves (ledger_id, lot_id, amount) VALUES ($1, $2, $3)")
        .bind(ledger)
        .bind(lot)
        .bind(amount)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Takes `points` off the balance (refused below zero), then from the lots,
/// the purchase's own lot first when given, then the one expiring first.
async fn debit(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    entry: Entry<'_>,
    prefer_purchase: Option<i64>,
) -> Result<(i64, i64)> {
    let (brand, member, points) = (entry.brand, entry.member, -entry.amount);
    debug_assert!(points > 0);
    let balance = take_from_balance(conn, brand, member, points)
        .await?
        .ok_or(Error::InsufficientPoints)?;
    let ledger = append(conn, clock, entry).await?;
    let lots: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, remaining FROM points_lots \
         WHERE brand_id = $1 AND member_id = $2 AND remaining > 0 \
         ORDER BY CASE WHEN purchase_id = $3 THEN 0 ELSE 1 END, \
                  CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, id",
    )
    .bind(brand.0)
    .bind(member.0)
    .bind(prefer_purchase.unwrap_or(-1))
    .fetch_all(&mut *conn)
    .await?;
    let mut left = points;
    for (lot, remaining) in lots {
        if left == 0 {
            break;
        }
        let take = left.min(remaining);
        take_from_lot(conn, ledger, lot, take).await?;
        left -= take;
    }
    if left != 0 {
        return Err(Error::LedgerConflict);
    }
    Ok((ledger, balance))
}

/// The tier a member holds, as the POS and the card show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierRef {
    pub code: String,
    pub name: String,
    pub discount_pct: i64,
}

impl TierRef {
    fn of(tier: &Tier, brand: &Brand) -> Self {
        TierRef {
            code: tier.code.clone(),
            name: tier.name(brand.default_language).to_owned(),
            discount_pct: tier.discount_pct,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseRecorded {
    pub purchase_id: i64,
    pub points_earned: i64,
    pub points_balance: i64,
    pub tier: TierRef,
    pub tier_changed: bool,
}

pub(crate) async fn member_state(
    conn: &mut AnyConnection,
    brand: BrandId,
    member: MemberId,
) -> Result<(i64, i64)> {
    let (balance, rank, _) = member_and_config(conn, brand, member).await?;
    Ok((balance, rank))
}

/// [`member_state`], and the version of the brand's rules and tiers
/// ([`config`]) in the same statement.
async fn member_and_config(
    conn: &mut AnyConnection,
    brand: BrandId,
    member: MemberId,
) -> Result<(i64, i64, i64)> {
    let row: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT m.points_balance, m.tier_rank, b.config_version \
         FROM members m JOIN brands b ON b.id = m.brand_id \
         WHERE m.brand_id = $1 AND m.id = $2 AND m.status = 'active'",
    )
    .bind(brand.0)
    .bind(member.0)
    .fetch_optional(&mut *conn)
    .await?;
    row.ok_or(Error::MemberNotFound)
}

/// Locks the member's row for the rest of the transaction (PostgreSQL: a row
/// lock; SQLite: the transaction already holds the write lock) and returns
/// the balance. Whatever reads lots or the balance to decide an amount locks
/// the member first, always in that order, so concurrent operations neither
/// act on stale figures nor deadlock. Erased members included: a refund of
/// their old purchase must still be recordable.
pub(crate) async fn lock_member(
    conn: &mut AnyConnection,
    brand: BrandId,
    member: MemberId,
) -> Result<i64> {
    let row: Option<(i64,)> = sqlx::query_as(
        "UPDATE members SET points_balance = points_balance WHERE brand_id = $1 AND id = $2 \
         RETURNING points_balance",
    )
    .bind(brand.0)
    .bind(member.0)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| r.0).ok_or(Error::MemberNotFound)
}

/// A purchase's insert, on the condition that the member's tier (`$9`) and
/// the brand's rules (`$10`) are as assumed, and, when it is inserted, the
/// record of its bill under the order's cap ([`order_cap::record_bill_sql`],
/// `$11`), as one query for `conn`'s database: rows of the purchase's id
/// and, when the cap took the bill, [`order_cap::BILL_TAKEN`]. On SQLite
/// two statements in turn (the bill is recorded when the first inserted a
/// row), on PostgreSQL one, the purchase and the bill as its CTEs. (Fetch
/// its rows with `fetch_all`: on SQLite, `sqlx::Any`'s `fetch_one` looks
/// only at the first statement's outcome.)
fn purchase_sql(conn: &AnyConnection) -> &'static str {
    const INSERT: &str = "INSERT INTO purchases \
        (brand_id, store_id, member_id, order_id, amount_fen, points_earned, occurred_at, created_at) \
        SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS ( \
          SELECT 1 FROM members m JOIN brands b ON b.id = m.brand_id \
          WHERE m.brand_id = $1 AND m.id = $3 AND m.status = 'active' \
            AND m.tier_rank = $9 AND b.config_version = $10) \
        ON CONFLICT (store_id, order_id) DO NOTHING RETURNING id";
    static SQL: std::sync::LazyLock<[String; 2]> = std::sync::LazyLock::new(|| {
        [
            format!(
                "{INSERT}; {}",
                order_cap::record_bill_sql("WHERE changes() = 1")
            ),
            format!(
                "WITH purchase AS ({INSERT}), bill AS ({}) \
                 SELECT id FROM purchase UNION ALL SELECT taken FROM bill",
                order_cap::record_bill_sql("FROM purchase")
            ),
        ]
    });
    for_backend(conn, &SQL)
}

/// Who a purchase is for: the member, and their tier as the caller read it
/// (a `Member`), which the purchase checks as it is recorded instead of
/// reading it again; from a bare `MemberId`, it is read.
#[derive(Debug, Clone, Copy)]
pub struct Buyer {
    pub id: MemberId,
    pub tier_rank: Option<i64>,
}

impl From<MemberId> for Buyer {
    fn from(id: MemberId) -> Self {
        Buyer {
            id,
            tier_rank: None,
        }
    }
}

impl From<&crate::members::Member> for Buyer {
    fn from(m: &crate::members::Member) -> Self {
        Buyer {
            id: m.id,
            tier_rank: Some(m.tier_rank),
        }
    }
}

/// How far ahead a POS clock may be before its purchase is refused.
pub const POS_CLOCK_SKEW_MS: i64 = 5 * 60_000;
/// How old a purchase may be when it is first sent: a till that was offline
/// for days catches up; a decade of history is an import, not a purchase
/// (its points would be born expired and its visit would skew RFM).
pub const BACKDATE_LIMIT_MS: i64 = 90 * 86_400_000;

/// Records a paid bill: points at the member's tier (and any bonus day), a
/// lot that expires by the brand's rule, and an upgrade if the bill reaches
/// the next tier. An order id is recorded once per store.
#[allow(clippy::too_many_arguments)]
pub async fn record_purchase(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    at: &dyn crate::access::Counter,
    buyer: impl Into<Buyer>,
    order_id: &ExternalId,
    amount: Fen,
    occurred_at: Option<i64>,
) -> Result<PurchaseRecorded> {
    let (brand, store) = (at.brand(), at.store());
    if amount.get() == 0 {
        return Err(Error::invalid("amount_fen", crate::error::Invalid::Empty));
    }
    let now = clock.now_ms();
    let occurred_at = match occurred_at {
        None => now,
        Some(at) if at > now + POS_CLOCK_SKEW_MS || at < now - BACKDATE_LIMIT_MS => {
            return Err(Error::invalid(
                "occurred_at",
                crate::error::Invalid::Range(
                    "within the last 90 days and not more than 5 minutes in the future",
                ),
            ));
        }
        // A POS clock a little ahead is taken as now.
        Some(at) => at.min(now),
    };
    let buyer = buyer.into();
    let member = buyer.id;
    // The member's tier and the brand's rules as the caller read them (the
    // member, before the write) and this process last knew them (the
    // rules), assumed and checked by the purchase's own insert; read here
    // only when that check fails or nothing was known: a statement fewer
    // on the write's path.
    let mut assumed = buyer
        .tier_rank
        .zip(config::last(brand))
        .map(|(rank, (version, config))| (rank, version, config));
    let mut attempts = 0;
    let (purchase_id, rank, config, points) = loop {
        let (rank, version, config) = match assumed.take() {
            Some(assumed) => assumed,
            None => {
                let (_, rank, version) = member_and_config(conn, brand.id, member).await?;
                (rank, version, config::at(conn, brand, version).await?)
            }
        };
        let rules = config.rules(brand);
        let multiplier = config.tiers.by_rank(rank).multiplier_permille;
        let points = rules.earn_points(amount.get(), multiplier, occurred_at);
        let rows: Vec<(i64,)> = sqlx::query_as(purchase_sql(conn))
            .bind(brand.id.0)
            .bind(store.0)
            .bind(member.0)
            .bind(order_id.as_str())
            .bind(amount.get())
            .bind(points)
            .bind(occurred_at)
            .bind(now)
            .bind(rank)
            .bind(version)
            .bind(rules.redeem_cap_pct)
            .fetch_all(&mut *conn)
            .await
            .map_err(store_not_found)?;
        let inserted = rows.iter().map(|&(id,)| id).find(|&id| id > 0);
        if inserted.is_some() && !rows.contains(&(order_cap::BILL_TAKEN,)) {
            return Err(Error::PointsPaidOverCap {
                max_points: max_points_for(&rules, rules.redeem_cap_fen(amount.get())),
            });
        }
        if let Some(id) = inserted {
            break (id, rank, config, points);
        }
        // Nothing inserted: the order was recorded before, or the member's
        // tier, status or the brand's rules are not what was assumed.
        let (_, now_rank, now_version) = member_and_config(conn, brand.id, member).await?;
        if (now_rank, now_version) == (rank, version) {
            return Err(Error::OrderAlreadyRecorded);
        }
        attempts += 1;
        if attempts == 3 {
            // Changed under this purchase three times running.
            return Err(Error::LedgerConflict);
        }
        let config = config::at(conn, brand, now_version).await?;
        assumed = Some((now_rank, now_version, config));
    };
    let (rules, table) = (config.rules(brand), &config.tiers);
    let tier = table.by_rank(rank);
    let (balance, spend) = if points > 0 {
        let entry = Entry {
            brand: brand.id,
            member,
            store: Some(store),
            kind: EntryKind::Earn,
            amount: points,
            reason: "purchase",
            ref_type: Some("purchase"),
            ref_id: Some(purchase_id),
        };
        let expiry = rules.lot_expiry(occurred_at);
        credit_with_spend(conn, clock, entry, Some(purchase_id), expiry).await?
    } else {
        add_to_balance_with_spend(conn, clock, brand.id, member, points).await?
    };
    let reached = table.for_spend(spend);
    let tier_changed = reached.rank > rank
        && tiers::change(
            conn,
            clock,
            brand.id,
            tiers::TierMove {
                member,
                from_rank: rank,
                to_rank: reached.rank,
                reason: "purchase",
                spend_fen: spend,
            },
        )
        .await?;
    let now_tier = if tier_changed { reached } else { tier };
    Ok(PurchaseRecorded {
        purchase_id,
        points_earned: points,
        points_balance: balance,
        tier: TierRef::of(now_tier, brand),
        tier_changed,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRecorded {
    pub refund_id: i64,
    pub points_reversed: i64,
    pub points_balance: i64,
}

/// Records a refund of part or all of a purchase: qualifying spend goes down
/// at once, and the purchase's points in proportion (see the module's policy).
pub async fn record_refund(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: &Brand,
    store: StoreId,
    order_id: &ExternalId,
    refund_id: &ExternalId,
    amount: Fen,
) -> Result<RefundRecorded> {
    if amount.get() == 0 {
        return Err(Error::invalid("amount_fen", crate::error::Invalid::Empty));
    }
    let purchase: Option<(i64, i64, i64, i64)> = sqlx::query_as(
        "UPDATE purchases SET refunded_fen = refunded_fen + $1 \
         WHERE brand_id = $2 AND store_id = $3 AND order_id = $4 AND refunded_fen + $1 <= amount_fen \
         RETURNING id, member_id, amount_fen, points_earned",
    )
    .bind(amount.get())
    .bind(brand.id.0)
    .bind(store.0)
    .bind(order_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((purchase_id, member, purchase_fen, earned)) = purchase else {
        let exists: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM purchases WHERE brand_id = $1 AND store_id = $2 AND order_id = $3",
        )
        .bind(brand.id.0)
        .bind(store.0)
        .bind(order_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        return Err(match exists {
            Some(_) => Error::RefundExceedsPurchase,
            None => Error::PurchaseNotFound,
        });
    };
    let member = MemberId(member);
    let order = order_cap::Order {
        brand: brand.id,
        store,
        id: order_id.as_str(),
    };
    order_cap::refund(conn, &order, amount.get()).await?;
    let (refunded_total, due_before): (i64, Option<i64>) = sqlx::query_as(
        "SELECT p.refunded_fen, (SELECT CAST(SUM(points_due) AS BIGINT) FROM refunds WHERE purchase_id = p.id) \
         FROM purchases p WHERE p.id = $1",
    )
    .bind(purchase_id)
    .fetch_one(&mut *conn)
    .await?;
    // Proportional, rounded down, and exact once everything is refunded.
    let due_total = if refunded_total == purchase_fen {
        earned
    } else {
        i64::try_from(i128::from(earned) * i128::from(refunded_total) / i128::from(purchase_fen))
            .unwrap_or(earned)
    };
    let due = (due_total - due_before.unwrap_or(0)).max(0);
    let balance = lock_member(conn, brand.id, member).await?;
    let take = due.min(balance);
    let inserted: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO refunds (brand_id, purchase_id, refund_id, amount_fen, points_due, points_reversed, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (purchase_id, refund_id) DO NOTHING RETURNING id",
    )
    .bind(brand.id.0)
    .bind(purchase_id)
    .bind(refund_id.as_str())
    .bind(amount.get())
    .bind(due)
    .bind(take)
    .bind(clock.now_ms())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((refund_row,)) = inserted else {
        return Err(Error::RefundAlreadyRecorded);
    };
    let mut balance = balance;
    if take > 0 {
        let entry = Entry {
            brand: brand.id,
            member,
            store: Some(store),
            kind: EntryKind::Reverse,
            amount: -take,
            reason: "refund",
            ref_type: Some("refund"),
            ref_id: Some(refund_row),
        };
        balance = debit(conn, clock, entry, Some(purchase_id)).await?.1;
    }
    Ok(RefundRecorded {
        refund_id: refund_row,
        points_reversed: take,
        points_balance: balance,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsRedeemed {
    pub redemption_id: i64,
    pub value_fen: i64,
    pub points_balance: i64,
}

/// Points as payment (积分抵现) against a bill; `bill` enforces the brand's
/// cap when the POS sends the bill's amount.
#[allow(clippy::too_many_arguments)]
pub async fn redeem(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    at: &dyn crate::access::Counter,
    member: MemberId,
    order_id: &ExternalId,
    points: i64,
    bill: Option<Fen>,
) -> Result<PointsRedeemed> {
    let (brand, store) = (at.brand(), at.store());
    if points <= 0 {
        return Err(Error::invalid("points", crate::error::Invalid::Format));
    }
    let (_, _, version) = member_and_config(conn, brand.id, member).await?;
    lock_member(conn, brand.id, member).await?;
    let rules = config::at(conn, brand, version).await?.rules(brand);
    let value = rules.redeem_value_fen(points);
    // The cap is per order (`order_cap`): of the purchase recorded under
    // this order id, or else of the bill the POS names; what earlier
    // payments on the order took counts. With no bill known yet, the
    // purchase recorded later is held to it.
    let order = order_cap::Order {
        brand: brand.id,
        store,
        id: order_id.as_str(),
    };
    let named = bill.map(Fen::get);
    if !order_cap::pay(conn, &order, value, named, &rules).await? {
        let room = order_cap::room(conn, &order, named, &rules).await?;
        return Err(Error::PointsCapExceeded {
            max_points: max_points_for(&rules, room.unwrap_or(0)),
        });
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO point_redemptions (brand_id, store_id, member_id, order_id, points, value_fen, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(brand.id.0)
    .bind(store.0)
    .bind(member.0)
    .bind(order_id.as_str())
    .bind(points)
    .bind(value)
    .bind(clock.now_ms())
    .fetch_one(&mut *conn)
    .await
    .map_err(store_not_found)?;
    let entry = Entry {
        brand: brand.id,
        member,
        store: Some(store),
        kind: EntryKind::Spend,
        amount: -points,
        reason: "points as payment",
        ref_type: Some("redemption"),
        ref_id: Some(id),
    };
    let (_, balance) = debit(conn, clock, entry, None).await?;
    Ok(PointsRedeemed {
        redemption_id: id,
        value_fen: value,
        points_balance: balance,
    })
}

/// The most points that pay no more than `room_fen`.
fn max_points_for(rules: &rules::LoyaltyRules, room_fen: i64) -> i64 {
    let points = i128::from(room_fen) * i128::from(rules.redeem_points_per_yuan) / 100;
    i64::try_from(points).unwrap_or(i64::MAX)
}

/// Cancels a points payment: the points go back into the lots they came from.
pub async fn void_redemption(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    at: &dyn crate::access::Counter,
    redemption: i64,
) -> Result<i64> {
    let (brand, store) = (at.brand(), at.store());
    let voided: Option<(i64, i64, i64, String)> = sqlx::query_as(
        "UPDATE point_redemptions SET status = 'voided', voided_at = $1 \
         WHERE id = $2 AND brand_id = $3 AND store_id = $4 AND status = 'active' \
         RETURNING member_id, points, value_fen, order_id",
    )
    .bind(clock.now_ms())
    .bind(redemption)
    .bind(brand.id.0)
    .bind(store.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((member, points, value_fen, order_id)) = voided else {
        let exists: Option<(String,)> = sqlx::query_as(
            "SELECT status FROM point_redemptions WHERE id = $1 AND brand_id = $2 AND store_id = $3",
        )
        .bind(redemption)
        .bind(brand.id.0)
        .bind(store.0)
        .fetch_optional(&mut *conn)
        .await?;
        return Err(match exists {
            Some(_) => Error::RedemptionAlreadyVoided,
            None => Error::RedemptionNotFound,
        });
    };
    let order = order_cap::Order {
        brand: brand.id,
        store,
        id: &order_id,
    };
    order_cap::unpay(conn, &order, value_fen).await?;
    let member = MemberId(member);
    // Member first, then lots: the order every other operation keeps.
    let balance = add_to_balance(conn, brand.id, member, points).await?;
    append(
        conn,
        clock,
        Entry {
            brand: brand.id,
            member,
            store: Some(store),
            kind: EntryKind::Reverse,
            amount: points,
            reason: "points payment voided",
            ref_type: Some("redemption_void"),
            ref_id: Some(redemption),
        },
    )
    .await?;
    let moves: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT m.lot_id, m.amount FROM points_lot_moves m JOIN points_ledger l ON l.id = m.ledger_id \
         WHERE l.brand_id = $1 AND l.ref_type = 'redemption' AND l.ref_id = $2",
    )
    .bind(brand.id.0)
    .bind(redemption)
    .fetch_all(&mut *conn)
    .await?;
    for (lot, amount) in moves {
        sqlx::query("UPDATE points_lots SET remaining = remaining + $1 WHERE id = $2")
            .bind(amount)
            .bind(lot)
            .execute(&mut *conn)
            .await?;
    }
    Ok(balance)
}

/// Expires every lot of the brand due by now, one transaction per lot, and
/// returns how many points expired. Safe to run twice: a lot already emptied
/// is skipped.
pub async fn expire_due(db: &Db, clock: &dyn Clock, brand: BrandId) -> Result<i64> {
    let now = clock.now_ms();
    let due: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, member_id FROM points_lots \
         WHERE brand_id = $1 AND remaining > 0 AND expires_at IS NOT NULL AND expires_at <= $2 \
         ORDER BY expires_at, id",
    )
    .bind(brand.0)
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    let mut expired = 0;
    for (lot, member) in due {
        let member = MemberId(member);
        let mut tx = db.begin().await?;
        lock_member(&mut tx, brand, member).await?;
        let remaining: Option<(i64,)> =
            sqlx::query_as("SELECT remaining FROM points_lots WHERE id = $1 AND remaining > 0")
                .bind(lot)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((points,)) = remaining else {
            continue;
        };
        take_from_balance(&mut tx, brand, member, points)
            .await?
            .ok_or(Error::LedgerConflict)?;
        let ledger = append(
            &mut tx,
            clock,
            Entry {
                brand,
                member,
                store: None,
                kind: EntryKind::Expire,
                amount: -points,
                reason: "expired",
                ref_type: Some("lot"),
                ref_id: Some(lot),
            },
        )
        .await?;
        take_from_lot(&mut tx, ledger, lot, points).await?;
        tx.commit().await?;
        expired += points;
    }
    Ok(expired)
}

/// Gives points outside a purchase (sign-up bonus now; staff adjustments and
/// campaigns later), as a lot with the brand's expiry.
pub async fn grant(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: &Brand,
    member: MemberId,
    points: i64,
    reason: &str,
    reference: Ref<'_>,
) -> Result<i64> {
    if points <= 0 {
        return Err(Error::invalid("points", crate::error::Invalid::Format));
    }
    let rules = rules::load(conn, brand).await?;
    let entry = Entry {
        brand: brand.id,
        member,
        store: None,
        kind: EntryKind::Earn,
        amount: points,
        reason,
        ref_type: Some(reference.kind),
        ref_id: reference.id,
    };
    credit(conn, clock, entry, None, rules.lot_expiry(clock.now_ms())).await
}

/// An opening balance from an old program (`import` names the import): a
/// ledger row of its own kind and a lot that lapses at `expires_at`.
/// Returns the balance.
pub(crate) async fn import(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    member: MemberId,
    points: i64,
    expires_at: Option<i64>,
    import: i64,
) -> Result<i64> {
    credit(
        conn,
        clock,
        imported(brand, member, points, import),
        None,
        expires_at,
    )
    .await
}

/// The opening balance of a member created with `points` already on their
/// row (the import of a new member): the ledger row and the lot alone.
pub(crate) async fn import_opening(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    member: MemberId,
    points: i64,
    expires_at: Option<i64>,
    import: i64,
) -> Result<()> {
    let entry = imported(brand, member, points, import);
    record_lot(conn, clock, entry, None, expires_at).await
}

fn imported(brand: BrandId, member: MemberId, points: i64, import: i64) -> Entry<'static> {
    Entry {
        brand,
        member,
        store: None,
        kind: EntryKind::Import,
        amount: points,
        reason: "imported",
        ref_type: Some("import"),
        ref_id: Some(import),
    }
}

/// A staff member's correction of a balance, up or down, with the reason
/// they must give; an increase is a lot with the brand's expiry, a decrease
/// comes out of the oldest lots and never below zero. Returns the balance.
pub async fn adjust(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: &Brand,
    member: MemberId,
    delta: i64,
    reason: &str,
    staff: crate::staff::StaffId,
) -> Result<i64> {
    let reason = adjustments::check(delta, reason)?;
    lock_member(conn, brand.id, member).await?;
    let entry = Entry {
        brand: brand.id,
        member,
        store: None,
        kind: EntryKind::Adjust,
        amount: delta,
        reason,
        ref_type: Some("staff"),
        ref_id: Some(staff.0),
    };
    if delta > 0 {
        let rules = rules::load(conn, brand).await?;
        credit(conn, clock, entry, None, rules.lot_expiry(clock.now_ms())).await
    } else {
        Ok(debit(conn, clock, entry, None).await?.1)
    }
}

/// What a ledger row was for: a kind the schema lists (`signup`,
/// `feedback`, …) and, where there is one, that row's id.
#[derive(Debug, Clone, Copy)]
pub struct Ref<'a> {
    kind: &'a str,
    id: Option<i64>,
}

impl<'a> Ref<'a> {
    pub fn new(kind: &'a str, id: i64) -> Self {
        Ref { kind, id: Some(id) }
    }

    pub fn kind(kind: &'a str) -> Self {
        Ref { kind, id: None }
    }
}

/// Takes points for something other than a bill (a coupon exchange), FIFO
/// from the lots; the caller has locked the member. Returns the ledger row,
/// which the thing bought refers to, and the balance after.
pub(crate) async fn spend_outside_bill(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    member: MemberId,
    points: i64,
    reason: &str,
) -> Result<(i64, i64)> {
    let entry = Entry {
        brand,
        member,
        store: None,
        kind: EntryKind::Spend,
        amount: -points,
        reason,
        ref_type: None,
        ref_id: None,
    };
    debit(conn, clock, entry, None).await
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub id: i64,
    pub kind: EntryKind,
    pub amount: i64,
    pub reason: String,
    pub store_name: Option<String>,
    pub created_at: i64,
}

/// A member's history, newest first, `limit` rows before `before` (an id).
pub async fn history(
    db: &Db,
    brand: BrandId,
    member: MemberId,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<LedgerEntry>> {
    let rows: Vec<(i64, String, i64, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT l.id, l.kind, l.amount, l.reason, s.name, l.created_at FROM points_ledger l \
         LEFT JOIN stores s ON s.id = l.store_id \
         WHERE l.brand_id = $1 AND l.member_id = $2 AND l.id < $3 ORDER BY l.id DESC LIMIT $4",
    )
    .bind(brand.0)
    .bind(member.0)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit.clamp(1, 100))
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, kind, amount, reason, store_name, created_at)| LedgerEntry {
                id,
                kind: EntryKind::parse(&kind),
                amount,
                reason,
                store_name,
                created_at,
            },
        )
        .collect())
}

/// The points that expire next and when, if any.
pub async fn next_expiry(db: &Db, brand: BrandId, member: MemberId) -> Result<Option<(i64, i64)>> {
    let row: Option<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT expires_at, CAST(SUM(remaining) AS BIGINT) FROM points_lots \
         WHERE brand_id = $1 AND member_id = $2 AND remaining > 0 AND expires_at IS NOT NULL \
         GROUP BY expires_at ORDER BY expires_at LIMIT 1",
    )
    .bind(brand.0)
    .bind(member.0)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|(at, points)| (points.unwrap_or(0), at)))
}

/// For audits and tests: every member whose stored balance differs from the
/// sum of their ledger rows or of their lots. Empty when the books are right.
pub async fn audit(db: &Db) -> Result<Vec<(i64, i64, i64, i64)>> {
    let rows = sqlx::query_as(AUDIT_SQL).fetch_all(db.pool()).await?;
    Ok(audit_failures(rows))
}

/// Each member's balance beside their ledger's and their lots' sums: what
/// [`audit`] reads, also asked of a copy before it commits.
pub(crate) const AUDIT_SQL: &str = "SELECT m.id, m.points_balance, \
        (SELECT CAST(SUM(amount) AS BIGINT) FROM points_ledger l WHERE l.member_id = m.id), \
        (SELECT CAST(SUM(remaining) AS BIGINT) FROM points_lots p WHERE p.member_id = m.id) \
     FROM members m";

/// The rows of [`AUDIT_SQL`] whose numbers disagree.
pub(crate) fn audit_failures(
    rows: Vec<(i64, i64, Option<i64>, Option<i64>)>,
) -> Vec<(i64, i64, i64, i64)> {
    rows.into_iter()
        .map(|(id, balance, ledger, lots)| (id, balance, ledger.unwrap_or(0), lots.unwrap_or(0)))
        .filter(|(_, balance, ledger, lots)| balance != ledger || balance != lots || *balance < 0)
        .collect()
}
