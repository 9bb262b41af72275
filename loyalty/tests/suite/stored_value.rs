//! Stored value on both databases: offers decide the bonus, payments split
//! as the owner chose and never overdraw, voids give back exactly, refunds
//! take only unspent principal, and the schema refuses a ledger that does
//! not add up. A property test runs random sequences of all four.

use std::sync::Arc;

use loyalty::brands::stores::StoreId;
use loyalty::brands::Brand;
use loyalty::members::member_code::{self, CardShown};
use loyalty::members::{self, MemberId};
use loyalty::money::{ExternalId, Fen};
use loyalty::stored_value::rules::{self, NewRule};
use loyalty::stored_value::{self, Balance, Split, Tender};
use loyalty::{db_test, Db, Error, FixedClock};
use proptest::prelude::*;

/// 2026-11-25 12:00 in Shanghai.
const T0: i64 = 1_795_579_200_000;
const DAY: i64 = 86_400_000;

struct Till {
    db: Db,
    clock: FixedClock,
    brand: Brand,
    store: StoreId,
}

fn id(s: &str) -> ExternalId {
    ExternalId::parse("id", s).unwrap()
}

fn fen(f: i64) -> Fen {
    Fen::positive(f).unwrap()
}

impl Till {
    async fn open(db: Db) -> Till {
        let clock = FixedClock::at(T0);
        let (brand, store) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        Till {
            db,
            clock,
            brand,
            store,
        }
    }

    async fn second_store(&self) -> StoreId {
        let mut tx = self.db.begin().await.unwrap();
        let new = loyalty::brands::stores::NewStore {
            code: "EAST".into(),
            name: "East".into(),
            address: String::new(),
        };
        let s = loyalty::brands::stores::create(&mut tx, &self.clock, self.brand.id, new)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        s.id
    }

    fn pos(&self, store: StoreId) -> loyalty::access::PosKey {
        loyalty::access::PosKey::for_tests(&self.brand, store)
    }

    async fn member(&self, phone: &str) -> MemberId {
        loyalty::testing::join_member(&self.db, &self.clock, &self.brand, phone).await
    }

    /// The member as a till sees them after scanning the card now.
    async fn card(&self, m: MemberId) -> CardShown {
        let member = members::find(&self.db, self.brand.id, m).await.unwrap();
        let secret = loyalty::testing::secret();
        let code = member_code::current(&secret, &self.clock, self.brand.id, m, &member.member_no);
        member_code::shown(
            &mut self.db.acquire().await.unwrap(),
            &self.clock,
            &secret,
            self.brand.id,
            &code.digits,
        )
        .await
        .unwrap()
    }

    async fn offer(&self, min: i64, bonus: i64, stores: Option<Vec<StoreId>>) -> i64 {
        let owner = loyalty::testing::owner(&self.db, self.brand.id).await;
        let rule = NewRule {
            min_fen: min,
            bonus_fen: bonus,
            starts_at: T0 - DAY,
            ends_at: Some(T0 + 30 * DAY),
            stores,
        };
        rules::add(&self.db, &self.clock, &owner, &rule)
            .await
            .unwrap()
    }

    async fn top_up_at(
        &self,
        store: StoreId,
        m: MemberId,
        top_up: &str,
        amount: i64,
    ) -> Result<stored_value::ToppedUp, Error> {
        let mut tx = self.db.begin().await.unwrap();
        let (pos, clock) = (self.pos(store), &self.clock);
        let r = stored_value::top_up(
            &mut tx,
            clock,
            &pos,
            m,
            &id(top_up),
            fen(amount),
            Some(Tender::Cash),
        )
        .await;
        if r.is_ok() {
            tx.commit().await.unwrap();
        }
        r
    }

    async fn top_up(
        &self,
        m: MemberId,
        top_up: &str,
        amount: i64,
    ) -> Result<stored_value::ToppedUp, Error> {
        self.top_up_at(self.store, m, top_up, amount).await
    }

    async fn pay_at(
        &self,
        store: StoreId,
        card: &CardShown,
        payment: &str,
        amount: i64,
    ) -> Result<stored_value::Paid, Error> {
        let mut tx = self.db.begin().await.unwrap();
        let pos = self.pos(store);
        let r = stored_value::pay(
            &mut tx,
            &self.clock,
            &pos,
            card,
            &id(payment),
            fen(amount),
            None,
        )
        .await;
        if r.is_ok() {
            tx.commit().await.unwrap();
        }
        r
    }

    async fn pay(
        &self,
        card: &CardShown,
        payment: &str,
        amount: i64,
    ) -> Result<stored_value::Paid, Error> {
        self.pay_at(self.store, card, payment, amount).await
    }

    async fn void(&self, payment: &str) -> Result<Balance, Error> {
        let mut tx = self.db.begin().await.unwrap();
        let pos = self.pos(self.store);
        let r = stored_value::void_payment(&mut tx, &self.clock, &pos, &id(payment)).await;
        if r.is_ok() {
            tx.commit().await.unwrap();
        }
        r
    }

    async fn refund(
        &self,
        top_up: &str,
        refund: &str,
        amount: i64,
    ) -> Result<stored_value::Refunded, Error> {
        let mut tx = self.db.begin().await.unwrap();
        let pos = self.pos(self.store);
        let r = stored_value::refund(
            &mut tx,
            &self.clock,
            &pos,
            &id(top_up),
            &id(refund),
            fen(amount),
        )
        .await;
        if r.is_ok() {
            tx.commit().await.unwrap();
        }
        r
    }

    async fn books(&self, m: MemberId) -> Balance {
        let mut conn = self.db.pool().acquire().await.unwrap();
        let wrong = stored_value::check_member(&mut conn, m).await.unwrap();
        assert_eq!(wrong, None, "the books of member {m:?} disagree");
        stored_value::balance(&mut conn, self.brand.id, m)
            .await
            .unwrap()
    }
}

fn bal(principal_fen: i64, bonus_fen: i64) -> Balance {
    Balance {
        principal_fen,
        bonus_fen,
    }
}

db_test!(
    async fn the_offer_in_force_decides_the_bonus(db) {
        let till = Till::open(db.clone()).await;
        let m = till.member("13800138000").await;
        till.offer(50_000, 5_000, None).await; // 充500送50
        till.offer(100_000, 15_000, None).await; // 充1000送150
        // Below every threshold: no bonus.
        assert_eq!(till.top_up(m, "T-1", 20_000).await.unwrap().bonus_fen, 0);
        // ¥800 reaches the ¥500 offer only.
        assert_eq!(till.top_up(m, "T-2", 80_000).await.unwrap().bonus_fen, 5_000);
        let r = till.top_up(m, "T-3", 100_000).await.unwrap();
        assert_eq!((r.principal_fen, r.bonus_fen), (100_000, 15_000));
        assert_eq!(r.balance, bal(200_000, 20_000));
        // An offer that has ended gives nothing.
        till.clock.advance_ms(31 * DAY);
        assert_eq!(till.top_up(m, "T-4", 100_000).await.unwrap().bonus_fen, 0);
        assert_eq!(till.books(m).await, bal(300_000, 20_000));
    }
);

db_test!(
    async fn an_offer_for_some_stores_applies_only_there(db) {
        let till = Till::open(db.clone()).await;
        let other = till.second_store().await;
        till.offer(10_000, 2_000, Some(vec![other])).await;
        let m = till.member("13800138000").await;
        assert_eq!(till.top_up(m, "T-1", 10_000).await.unwrap().bonus_fen, 0, "not at the first store");
        assert_eq!(till.top_up_at(other, m, "T-1", 10_000).await.unwrap().bonus_fen, 2_000);
        let offers = rules::offers(&db, &till.clock, till.brand.id, Some(till.store)).await.unwrap();
        assert!(offers.is_empty(), "the card at the first store shows no offer: {offers:?}");
    }
);

db_test!(
    async fn payments_split_in_proportion_by_default_or_principal_first(db) {
        let till = Till::open(db.clone()).await;
        till.offer(50_000, 10_000, None).await;
        let m = till.member("13800138000").await;
        till.top_up(m, "T-1", 50_000).await.unwrap(); // 500 + 100 bonus
        let card = till.card(m).await;
        let r = till.pay(&card, "P-1", 12_000).await.unwrap();
        // 120 of 600: 5/6 principal, 1/6 bonus.
        assert_eq!((r.principal_fen, r.bonus_fen), (10_000, 2_000));
        assert_eq!(r.balance, bal(40_000, 8_000));
        let owner = loyalty::testing::owner(&db, till.brand.id).await;
        rules::set_split(&db, &till.clock, &owner, Split::PrincipalFirst).await.unwrap();
        let r = till.pay(&card, "P-2", 45_000).await.unwrap();
        assert_eq!((r.principal_fen, r.bonus_fen), (40_000, 5_000));
        assert_eq!(till.books(m).await, bal(0, 3_000));
        // More than is left: refused, nothing taken.
        assert!(matches!(till.pay(&card, "P-3", 3_001).await, Err(Error::InsufficientBalance)));
        assert_eq!(till.pay(&card, "P-3", 3_000).await.unwrap().balance, bal(0, 0));
        assert_eq!(till.books(m).await, bal(0, 0));
    }
);

db_test!(
    async fn ids_are_recorded_once_per_store(db) {
        let till = Till::open(db.clone()).await;
        let m = till.member("13800138000").await;
        till.top_up(m, "T-1", 10_000).await.unwrap();
        assert!(matches!(till.top_up(m, "T-1", 10_000).await, Err(Error::TopUpAlreadyRecorded)));
        let card = till.card(m).await;
        till.pay(&card, "P-1", 1_000).await.unwrap();
        assert!(matches!(till.pay(&card, "P-1", 1_000).await, Err(Error::PaymentAlreadyRecorded)));
        assert_eq!(till.books(m).await, bal(9_000, 0), "the refused repeats changed nothing");
    }
);

db_test!(
    async fn a_void_gives_back_exactly_what_the_payment_took(db) {
        let till = Till::open(db.clone()).await;
        till.offer(30_000, 3_000, None).await;
        let m = till.member("13800138000").await;
        till.top_up(m, "T-1", 30_000).await.unwrap();
        let card = till.card(m).await;
        till.pay(&card, "P-1", 7_777).await.unwrap();
        till.pay(&card, "P-2", 1_234).await.unwrap();
        assert_eq!(till.void("P-1").await.unwrap(), till.books(m).await);
        let after = till.books(m).await;
        assert_eq!(after.total_fen(), 33_000 - 1_234);
        assert!(matches!(till.void("P-1").await, Err(Error::PaymentAlreadyVoided)));
        assert!(matches!(till.void("NOPE").await, Err(Error::PaymentNotFound)));
        assert_eq!(till.void("P-2").await.unwrap(), bal(30_000, 3_000));
    }
);

db_test!(
    async fn a_refund_takes_only_unspent_principal_and_forfeits_the_bonus_in_proportion(db) {
        let till = Till::open(db.clone()).await;
        till.offer(100_000, 15_000, None).await;
        let m = till.member("13800138000").await;
        till.top_up(m, "T-1", 100_000).await.unwrap(); // 1000 + 150
        let card = till.card(m).await;
        till.pay(&card, "P-1", 23_000).await.unwrap(); // 200 principal, 30 bonus
        assert_eq!(till.books(m).await, bal(80_000, 12_000));
        match till.refund("T-1", "R-1", 80_001).await {
            Err(Error::RefundExceedsPrincipal { left_fen }) => assert_eq!(left_fen, 80_000),
            other => panic!("expected refund_exceeds_principal, got {other:?}"),
        }
        let r = till.refund("T-1", "R-1", 40_000).await.unwrap();
        // 40% of the top-up's principal takes 40% of its bonus (60), as far as unspent.
        assert_eq!((r.principal_refunded_fen, r.bonus_forfeited_fen), (40_000, 6_000));
        assert_eq!(r.balance, bal(40_000, 6_000));
        assert!(matches!(till.refund("T-1", "R-1", 1_000).await, Err(Error::RefundAlreadyRecorded)));
        assert!(matches!(till.refund("T-9", "R-1", 1_000).await, Err(Error::TopUpNotFound)));
        let r = till.refund("T-1", "R-2", 40_000).await.unwrap();
        assert_eq!(r.balance, bal(0, 0), "all the principal back, the rest of the bonus forfeited");
        till.books(m).await;
    }
);

db_test!(
    async fn a_number_or_phone_cannot_spend_the_balance(db) {
        let till = Till::open(db.clone()).await;
        let m = till.member("13800138000").await;
        let member = members::find(&db, till.brand.id, m).await.unwrap();
        let secret = loyalty::testing::secret();
        for input in [member.member_no.as_str(), "+8613800138000", "13800138000"] {
            let r = member_code::shown(&mut db.acquire().await.unwrap(), &till.clock, &secret, till.brand.id, input).await;
            assert!(matches!(r, Err(Error::RotatingCodeRequired)), "{input}: {r:?}");
        }
        let code = member_code::current(&secret, &till.clock, till.brand.id, m, &member.member_no);
        till.clock.advance_ms(3 * member_code::WINDOW_MS);
        let stale = member_code::shown(&mut db.acquire().await.unwrap(), &till.clock, &secret, till.brand.id, &code.digits).await;
        assert!(matches!(stale, Err(Error::MemberNotFound)), "a photo of the card is stale: {stale:?}");
    }
);

db_test!(
    async fn the_schema_refuses_a_ledger_that_does_not_add_up(db) {
        let till = Till::open(db.clone()).await;
        let m = till.member("13800138000").await;
        till.top_up(m, "T-1", 10_000).await.unwrap();
        let insert = |seq: i64, prev: Option<i64>, prev_p: i64, delta: i64, after: i64| {
            format!(
                "INSERT INTO stored_value_ledger (brand_id, member_id, seq, kind, store_id, ref_id, \
                 principal_delta, bonus_delta, prev_seq, prev_principal, prev_bonus, principal_after, \
                 bonus_after, created_at) VALUES ({}, {}, {seq}, 'top_up', NULL, 1, {delta}, 0, {}, {prev_p}, 0, {after}, 0, 0)",
                till.brand.id.0,
                m.0,
                prev.map_or("NULL".to_owned(), |p| p.to_string()),
            )
        };
        let refused = |sql: String| {
            let db = db.clone();
            async move {
                let mut tx = db.begin().await.unwrap();
                let r = sqlx::query(&sql).execute(&mut *tx).await;
                let r = match r {
                    Ok(_) => tx.commit().await.map(|_| ()),
                    Err(e) => Err(e),
                };
                assert!(r.is_err(), "the schema let through: {sql}");
            }
        };
        // After does not equal before plus delta.
        refused(insert(2, Some(1), 10_000, 500, 10_600)).await;
        // Before is not what the previous row left.
        refused(insert(2, Some(1), 9_000, 500, 9_500)).await;
        // A second first row.
        refused(insert(1, None, 0, 500, 500)).await;
        // A row the account does not follow: the account still names seq 1.
        refused(insert(2, Some(1), 10_000, 500, 10_500)).await;
        // An account that does not match its last row.
        refused(format!(
            "UPDATE stored_value_accounts SET principal_fen = principal_fen + 1 WHERE member_id = {}",
            m.0
        ))
        .await;
        // Rewriting or deleting history.
        refused(format!("UPDATE stored_value_ledger SET principal_delta = 1 WHERE member_id = {}", m.0)).await;
        refused(format!("DELETE FROM stored_value_ledger WHERE member_id = {}", m.0)).await;
        // Jumping the account ahead of its ledger.
        refused(format!("UPDATE stored_value_accounts SET seq = 3 WHERE member_id = {}", m.0)).await;
        assert_eq!(till.books(m).await, bal(10_000, 0));
    }
);

db_test!(
    async fn sixty_four_simultaneous_payments_never_overdraw(db) {
        let till = Arc::new(Till::open(db.clone()).await);
        till.offer(10_000, 1_000, None).await;
        let m = till.member("13800138000").await;
        till.top_up(m, "T-1", 10_000).await.unwrap(); // 110.00
        let card = Arc::new(till.card(m).await);
        let mut tasks = Vec::new();
        for i in 0..64 {
            let (till, card) = (till.clone(), card.clone());
            tasks.push(tokio::spawn(async move { till.pay(&card, &format!("P-{i}"), 300).await }));
        }
        let mut paid = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => paid += 1,
                Err(Error::InsufficientBalance) => {}
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!(paid, 36, "110.00 pays 36 times 3.00 and no more");
        assert_eq!(till.books(m).await.total_fen(), 200);
    }
);

db_test!(
    async fn the_liability_report_says_where_the_money_was_paid_in_and_who_owes_whom(db) {
        let till = Till::open(db.clone()).await;
        let owner = loyalty::testing::owner(&db, till.brand.id).await;
        let east = till.second_store().await;
        till.offer(50_000, 5_000, None).await;
        let (a, b) = (till.member("13800138000").await, till.member("13900139000").await);
        till.top_up(a, "T-1", 50_000).await.unwrap(); // 500 + 50 at the first store
        till.top_up_at(east, b, "T-2", 20_000).await.unwrap(); // 200 at East
        let card = till.card(a).await;
        till.pay_at(east, &card, "P-1", 11_000).await.unwrap(); // 100 + 10 spent at East
        let report = stored_value::report::liability(&db, &till.clock, &owner).await.unwrap();
        assert_eq!(report.outstanding, bal(60_000, 4_000));
        assert_eq!(report.members, 2);
        let first = &till.brand.name;
        let stores: Vec<_> = report
            .by_store
            .iter()
            .map(|s| (s.outstanding, s.paid_in_fen))
            .collect();
        assert_eq!(stores.len(), 2);
        assert!(stores.contains(&(bal(40_000, 4_000), 50_000)), "{stores:?} ({first})");
        assert!(stores.contains(&(bal(20_000, 0), 20_000)), "{stores:?}");
        assert_eq!(report.settlement.len(), 1);
        let s = &report.settlement[0];
        assert_eq!((s.spent_at.as_str(), s.principal_fen, s.bonus_fen), ("East", 10_000, 1_000));
        let month = &report.by_month[0];
        assert_eq!(month.month, "2026-11");
        assert_eq!((month.topped_up_fen, month.bonus_given_fen), (70_000, 5_000));
        assert_eq!((month.spent_principal_fen, month.spent_bonus_fen), (10_000, 1_000));
        assert_eq!(month.outstanding_at_end, bal(60_000, 4_000));
        assert_eq!(report.by_month[1].outstanding_at_end, bal(0, 0), "October owed nothing");
    }
);

// ---- the property test ----

#[derive(Debug, Clone)]
enum Op {
    TopUp { member: usize, fen: i64 },
    Pay { member: usize, fen: i64 },
    Void { payment: usize },
    Refund { top_up: usize, fen: i64 },
    Split { principal_first: bool },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..2, 1i64..120_000).prop_map(|(member, fen)| Op::TopUp { member, fen }),
        5 => (0usize..2, 1i64..60_000).prop_map(|(member, fen)| Op::Pay { member, fen }),
        2 => (0usize..10).prop_map(|payment| Op::Void { payment }),
        2 => (0usize..6, 1i64..80_000).prop_map(|(top_up, fen)| Op::Refund { top_up, fen }),
        1 => any::<bool>().prop_map(|principal_first| Op::Split { principal_first }),
    ]
}

async fn replay(ops: Vec<Op>, db: Db) {
    let till = Till::open(db.clone()).await;
    till.offer(30_000, 3_000, None).await;
    till.offer(100_000, 17_000, None).await;
    let owner = loyalty::testing::owner(&db, till.brand.id).await;
    let members = [
        till.member("13800138000").await,
        till.member("13900139000").await,
    ];
    let (mut top_ups, mut payments) = (Vec::new(), Vec::new());
    for (n, op) in ops.iter().enumerate() {
        let before: Vec<Balance> = {
            let mut v = Vec::new();
            for m in members {
                v.push(till.books(m).await);
            }
            v
        };
        match op {
            Op::TopUp { member, fen } => {
                let r = till
                    .top_up(members[*member], &format!("T-{n}"), *fen)
                    .await
                    .unwrap();
                assert_eq!(
                    r.balance.total_fen(),
                    before[*member].total_fen() + fen + r.bonus_fen
                );
                top_ups.push(format!("T-{n}"));
            }
            Op::Pay { member, fen } => {
                let card = till.card(members[*member]).await;
                match till.pay(&card, &format!("P-{n}"), *fen).await {
                    Ok(r) => {
                        assert!(before[*member].total_fen() >= *fen);
                        assert_eq!(r.principal_fen + r.bonus_fen, *fen);
                        assert_eq!(r.balance.total_fen(), before[*member].total_fen() - fen);
                        payments.push(format!("P-{n}"));
                    }
                    Err(Error::InsufficientBalance) => assert!(before[*member].total_fen() < *fen),
                    Err(e) => panic!("pay: {e:?}"),
                }
            }
            Op::Void { payment } => {
                if let Some(p) = payments.get(*payment) {
                    match till.void(p).await {
                        Ok(_) | Err(Error::PaymentAlreadyVoided) => {}
                        Err(e) => panic!("void: {e:?}"),
                    }
                }
            }
            Op::Refund { top_up, fen } => {
                if let Some(t) = top_ups.get(*top_up) {
                    match till.refund(t, &format!("R-{n}"), *fen).await {
                        Ok(r) => assert!(r.bonus_forfeited_fen >= 0),
                        Err(Error::RefundExceedsPrincipal { left_fen }) => assert!(left_fen < *fen),
                        Err(e) => panic!("refund: {e:?}"),
                    }
                }
            }
            Op::Split { principal_first } => {
                let split = if *principal_first {
                    Split::PrincipalFirst
                } else {
                    Split::Proportional
                };
                rules::set_split(&db, &till.clock, &owner, split)
                    .await
                    .unwrap();
            }
        }
        for m in members {
            let b = till.books(m).await;
            assert!(
                b.principal_fen >= 0 && b.bonus_fen >= 0,
                "after {op:?}: {b:?}"
            );
        }
    }
}

fn run(ops: Vec<Op>, postgres: bool) {
    loyalty::testing::on_fresh_db(postgres, |db| replay(ops, db));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn stored_balances_always_equal_their_ledgers_on_sqlite(ops in proptest::collection::vec(op(), 1..40)) {
        run(ops, false);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]

    #[test]
    #[ignore = "needs PostgreSQL: set TABLECARD_TEST_POSTGRES_URL (make test then runs it)"]
    fn stored_balances_always_equal_their_ledgers_on_postgres(ops in proptest::collection::vec(op(), 1..40)) {
        run(ops, true);
    }
}
