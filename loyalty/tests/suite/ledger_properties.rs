//! Property test of the ledger: random sequences of purchases, refunds,
//! points payments, voids and expiry runs keep every member's balance equal
//! to the sum of their ledger rows and of their lots, never negative, and
//! points payments take from the lots that expire first.

use loyalty::brands::stores::StoreId;
use loyalty::brands::Brand;
use loyalty::members::phone::Phone;
use loyalty::members::{self, Consent, MemberId};
use loyalty::money::{ExternalId, Fen};
use loyalty::points;
use loyalty::{Db, Error, FixedClock};
use proptest::prelude::*;

const T0: i64 = 1_795_579_200_000;
const DAY: i64 = 86_400_000;

#[derive(Debug, Clone)]
enum Op {
    Purchase { member: usize, fen: i64 },
    Refund { purchase: usize, permille: i64 },
    Redeem { member: usize, points: i64 },
    Void { redemption: usize },
    Advance { days: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..2, 1i64..60_000).prop_map(|(member, fen)| Op::Purchase { member, fen }),
        2 => (0usize..8, 1i64..=1000).prop_map(|(purchase, permille)| Op::Refund { purchase, permille }),
        3 => (0usize..2, 1i64..400).prop_map(|(member, points)| Op::Redeem { member, points }),
        1 => (0usize..8).prop_map(|redemption| Op::Void { redemption }),
        1 => (0i64..200).prop_map(|days| Op::Advance { days }),
    ]
}

struct World {
    db: Db,
    clock: FixedClock,
    brand: Brand,
    store: StoreId,
    members: Vec<MemberId>,
    purchases: Vec<(String, i64)>,
    redemptions: Vec<i64>,
    refunds: usize,
}

async fn world(db: Db) -> World {
    let clock = FixedClock::at(T0);
    let (brand, store) = loyalty::testing::brand_with_store(&db, &clock, "prop").await;
    let mut tx = db.begin().await.unwrap();
    let mut member_ids = Vec::new();
    for phone in ["13800138000", "13900139000"] {
        let (m, _) = members::join(
            &mut tx,
            &clock,
            &loyalty::testing::secret(),
            &brand,
            &Phone::parse("86", phone).unwrap(),
            Consent {
                terms_accepted: true,
                marketing: false,
            },
        )
        .await
        .unwrap();
        member_ids.push(m.id);
    }
    tx.commit().await.unwrap();
    World {
        db,
        clock,
        brand,
        store,
        members: member_ids,
        purchases: Vec::new(),
        redemptions: Vec::new(),
        refunds: 0,
    }
}

/// What FIFO says a payment of `points` takes: (lot, amount) in order.
async fn fifo_plan(db: &Db, member: MemberId, points: i64) -> Vec<(i64, i64)> {
    let lots: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, remaining FROM points_lots WHERE member_id = $1 AND remaining > 0 \
         ORDER BY CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, id",
    )
    .bind(member.0)
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut left = points;
    let mut plan = Vec::new();
    for (lot, remaining) in lots {
        if left == 0 {
            break;
        }
        let take = left.min(remaining);
        plan.push((lot, take));
        left -= take;
    }
    plan
}

async fn apply(w: &mut World, op: &Op) {
    let mut tx = w.db.begin().await.unwrap();
    let ok = match op {
        Op::Purchase { member, fen } => {
            let order = format!("O-{}", w.purchases.len());
            let r = points::record_purchase(
                &mut tx,
                &w.clock,
                &loyalty::access::PosKey::for_tests(&w.brand, w.store),
                w.members[*member],
                &ExternalId::parse("order_id", &order).unwrap(),
                Fen::new(*fen).unwrap(),
                None,
            )
            .await
            .unwrap();
            assert!(r.points_balance >= 0);
            w.purchases.push((order, *fen));
            true
        }
        Op::Refund { purchase, permille } => {
            let Some((order, fen)) = w.purchases.get(*purchase).cloned() else {
                return;
            };
            let amount = (fen * permille / 1000).max(1);
            w.refunds += 1;
            let refund = format!("RF-{}", w.refunds);
            match points::record_refund(
                &mut tx,
                &w.clock,
                &w.brand,
                w.store,
                &ExternalId::parse("order_id", &order).unwrap(),
                &ExternalId::parse("refund_id", &refund).unwrap(),
                Fen::new(amount).unwrap(),
            )
            .await
            {
                Ok(r) => {
                    assert!(r.points_balance >= 0);
                    true
                }
                Err(Error::RefundExceedsPurchase) => false,
                Err(e) => panic!("refund: {e:?}"),
            }
        }
        Op::Redeem { member, points: n } => {
            let member = w.members[*member];
            let plan = fifo_plan(&w.db, member, *n).await;
            match points::redeem(
                &mut tx,
                &w.clock,
                &loyalty::access::PosKey::for_tests(&w.brand, w.store),
                member,
                &ExternalId::parse("order_id", "R").unwrap(),
                *n,
                None,
            )
            .await
            {
                Ok(r) => {
                    let moves: Vec<(i64, i64)> = sqlx::query_as(
                        "SELECT m.lot_id, m.amount FROM points_lot_moves m JOIN points_ledger l ON l.id = m.ledger_id \
                         WHERE l.ref_type = 'redemption' AND l.ref_id = $1 ORDER BY m.id",
                    )
                    .bind(r.redemption_id)
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap();
                    assert_eq!(
                        moves, plan,
                        "points are paid from the lots that expire first"
                    );
                    w.redemptions.push(r.redemption_id);
                    true
                }
                Err(Error::InsufficientPoints) => false,
                Err(e) => panic!("redeem: {e:?}"),
            }
        }
        Op::Void { redemption } => {
            let Some(id) = w.redemptions.get(*redemption).copied() else {
                return;
            };
            match points::void_redemption(
                &mut tx,
                &w.clock,
                &loyalty::access::PosKey::for_tests(&w.brand, w.store),
                id,
            )
            .await
            {
                Ok(_) => true,
                Err(Error::RedemptionAlreadyVoided) => false,
                Err(e) => panic!("void: {e:?}"),
            }
        }
        Op::Advance { days } => {
            drop(tx);
            w.clock.advance_ms(days * DAY);
            points::expire_due(&w.db, &w.clock, w.brand.id)
                .await
                .unwrap();
            return;
        }
    };
    if ok {
        tx.commit().await.unwrap();
    }
}

async fn check(ops: Vec<Op>, db: Db) {
    let mut w = world(db).await;
    for op in &ops {
        apply(&mut w, op).await;
        let wrong = points::audit(&w.db).await.unwrap();
        assert!(
            wrong.is_empty(),
            "after {op:?}: (member, balance, ledger, lots) {wrong:?}"
        );
        let strays = lots_not_of_their_credit(&w.db).await;
        assert!(strays.is_empty(), "after {op:?}: lots {strays:?}");
    }
}

/// The lots whose ledger row is not the credit that made them: another
/// member's row, another amount, or not a credit at all.
async fn lots_not_of_their_credit(db: &Db) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT p.id FROM points_lots p LEFT JOIN points_ledger l ON l.id = p.ledger_id \
         WHERE l.id IS NULL OR l.member_id <> p.member_id OR l.amount <> p.earned \
            OR l.kind NOT IN ('earn', 'adjust', 'import')",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
}

fn run(ops: Vec<Op>, postgres: bool) {
    loyalty::testing::on_fresh_db(postgres, |db| check(ops, db));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn the_books_always_balance_on_sqlite(ops in proptest::collection::vec(op(), 1..40)) {
        run(ops, false);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    #[ignore = "needs PostgreSQL: set TABLECARD_TEST_POSTGRES_URL (make test then runs it)"]
    fn the_books_always_balance_on_postgres(ops in proptest::collection::vec(op(), 1..40)) {
        run(ops, true);
    }
}
