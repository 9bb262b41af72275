//! The points ledger on a real database, on both backends: purchases,
//! refunds, points as payment, voids, expiry, tiers and concurrency.

use loyalty::brands::stores::StoreId;
use loyalty::brands::Brand;
use loyalty::members::{self, MemberId};
use loyalty::money::{ExternalId, Fen};
use loyalty::points;
use loyalty::points::rules::{self, LoyaltyRules};
use loyalty::{db_test, points::tiers, Db, Error, FixedClock};

/// 2026-11-25 12:00 in Shanghai, a Wednesday.
const T0: i64 = 1_795_579_200_000;
const DAY: i64 = 86_400_000;

struct Shop {
    db: Db,
    clock: FixedClock,
    brand: Brand,
    store: StoreId,
}

impl Shop {
    async fn open(db: Db) -> Shop {
        let clock = FixedClock::at(T0);
        let (brand, store) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        Shop {
            db,
            clock,
            brand,
            store,
        }
    }

    async fn member(&self, phone: &str) -> MemberId {
        loyalty::testing::join_member(&self.db, &self.clock, &self.brand, phone).await
    }

    async fn buy(
        &self,
        member: MemberId,
        order: &str,
        fen: i64,
    ) -> Result<points::PurchaseRecorded, Error> {
        self.buy_as(member, order, fen).await
    }

    /// `buy`, for a member as the caller knows them (a `Member` read earlier).
    async fn buy_as(
        &self,
        member: impl Into<points::Buyer>,
        order: &str,
        fen: i64,
    ) -> Result<points::PurchaseRecorded, Error> {
        let mut tx = self.db.begin().await.unwrap();
        let r = points::record_purchase(
            &mut tx,
            &self.clock,
            &loyalty::access::PosKey::for_tests(&self.brand, self.store),
            member,
            &ExternalId::parse("order_id", order).unwrap(),
            Fen::new(fen).unwrap(),
            None,
        )
        .await;
        if r.is_ok() {
            tx.commit().await.unwrap();
        }
        r
    }

    async fn refund(
        &self,
        order: &str,
        refund: &str,
        fen: i64,
    ) -> Result<points::RefundRecorded, Error> {
        let mut tx = self.db.begin().await.unwrap();
        let r = points::record_refund(
            &mut tx,
            &self.clock,
            &self.brand,
            self.store,
            &ExternalId::parse("order_id", order).unwrap(),
            &ExternalId::parse("refund_id", refund).unwrap(),
            Fen::new(fen).unwrap(),
        )
        .await;
        if r.is_ok() {
            tx.commit().await.unwrap();
        }
        r
    }

    async fn redeem(
        &self,
        member: MemberId,
        points_: i64,
        bill: Option<i64>,
    ) -> Result<points::PointsRedeemed, Error> {
        let mut tx = self.db.begin().await.unwrap();
        let r = points::redeem(
            &mut tx,
            &self.clock,
            &loyalty::access::PosKey::for_tests(&self.brand, self.store),
            member,
            &ExternalId::parse("order_id", "R-1").unwrap(),
            points_,
            bill.map(|b| Fen::new(b).unwrap()),
        )
        .await;
        if r.is_ok() {
            tx.commit().await.unwrap();
        }
        r
    }

    async fn void(&self, redemption: i64) -> Result<i64, Error> {
        let mut tx = self.db.begin().await.unwrap();
        let r = points::void_redemption(
            &mut tx,
            &self.clock,
            &loyalty::access::PosKey::for_tests(&self.brand, self.store),
            redemption,
        )
        .await;
        if r.is_ok() {
            tx.commit().await.unwrap();
        }
        r
    }

    async fn balance(&self, member: MemberId) -> i64 {
        members::find(&self.db, self.brand.id, member)
            .await
            .unwrap()
            .points_balance
    }

    async fn books_balance(&self) {
        assert_eq!(
            points::audit(&self.db).await.unwrap(),
            vec![],
            "balance == sum(ledger) == sum(lots)"
        );
    }
}

db_test!(
    async fn a_purchase_earns_a_point_per_yuan_in_a_lot_that_expires(db) {
        let shop = Shop::open(db).await;
        let m = shop.member("13800138000").await;
        let r = shop.buy(m, "A-1", 12_399).await.unwrap();
        assert_eq!(r.points_earned, 123);
        assert_eq!(r.points_balance, 123);
        assert_eq!(r.tier.code, "base");
        assert!(!r.tier_changed);
        assert_eq!(points::next_expiry(&shop.db, shop.brand.id, m).await.unwrap().map(|e| e.0), Some(123));
        let history = points::history(&shop.db, shop.brand.id, m, None, 20).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].store_name.as_deref(), Some("一店"));
        shop.books_balance().await;
    }
);

db_test!(
    async fn a_purchase_earns_by_the_rules_and_tiers_in_force_however_they_were_changed(db) {
        let shop = Shop::open(db).await;
        let m = shop.member("13800138000").await;
        assert_eq!(shop.buy(m, "A-1", 10_000).await.unwrap().points_earned, 100);

        // The owner halves the earning rate: the next purchase earns by it.
        let mut conn = shop.db.pool().acquire().await.unwrap();
        let halved = LoyaltyRules { earn_fen_per_point: 200, ..LoyaltyRules::default() };
        rules::save(&mut conn, shop.brand.id, &halved).await.unwrap();
        assert_eq!(shop.buy(m, "A-2", 10_000).await.unwrap().points_earned, 50);

        // Another server (or an operator's SQL) changes the base tier's
        // multiplier: the version in the database moves, and this process
        // follows it.
        sqlx::query("UPDATE tiers SET multiplier_permille = 3000 WHERE brand_id = $1 AND rank = 0")
            .bind(shop.brand.id.0)
            .execute(&mut *conn)
            .await
            .unwrap();
        assert_eq!(shop.buy(m, "A-3", 10_000).await.unwrap().points_earned, 150);
        // And a points payment is worth what the rules now say.
        let changed = LoyaltyRules { redeem_points_per_yuan: 10, ..halved };
        rules::save(&mut conn, shop.brand.id, &changed).await.unwrap();
        drop(conn);
        let paid = shop.redeem(m, 100, None).await.unwrap();
        assert_eq!(paid.value_fen, 1_000);
    }
);

db_test!(
    async fn a_purchase_for_a_member_read_before_a_change_earns_by_what_holds_when_it_is_recorded(db) {
        let shop = Shop::open(db.clone()).await;
        let m = shop.member("13800138000").await;
        let read = members::find(&db, shop.brand.id, m).await.unwrap();
        assert_eq!(shop.buy_as(&read, "A-1", 10_000).await.unwrap().points_earned, 100);

        // The member reaches silver (1.2×) after the till read them.
        sqlx::query("UPDATE members SET tier_rank = 1 WHERE id = $1")
            .bind(m.0)
            .execute(db.pool())
            .await
            .unwrap();
        let stale = shop.buy_as(&read, "A-2", 10_000).await.unwrap();
        assert_eq!(stale.points_earned, 120, "earned at the tier held now");
        assert_eq!(stale.tier.code, "silver");

        // The owner halves the earning rate after this process last used
        // the rules: the purchase earns by the new ones.
        let mut conn = db.pool().acquire().await.unwrap();
        let halved = LoyaltyRules { earn_fen_per_point: 200, ..LoyaltyRules::default() };
        rules::save(&mut conn, shop.brand.id, &halved).await.unwrap();
        drop(conn);
        let fresh = members::find(&db, shop.brand.id, m).await.unwrap();
        assert_eq!(shop.buy_as(&fresh, "A-3", 10_000).await.unwrap().points_earned, 60);

        // An order sent again with the stale read is still the same order.
        assert!(matches!(shop.buy_as(&read, "A-2", 10_000).await, Err(Error::OrderAlreadyRecorded)));
        assert_eq!(shop.balance(m).await, 280);
        shop.books_balance().await;
        // A member erased since the read earns nothing.
        let mut tx = db.begin().await.unwrap();
        members::erase(&mut tx, &shop.clock, shop.brand.id, m).await.unwrap();
        tx.commit().await.unwrap();
        assert!(matches!(shop.buy_as(&fresh, "A-4", 10_000).await, Err(Error::MemberNotFound)));
    }
);

db_test!(
    async fn a_purchase_dated_far_ahead_or_long_ago_is_refused_and_a_little_ahead_is_now(db) {
        let shop = Shop::open(db).await;
        let m = shop.member("13800138000").await;
        let at = |order: &str, when: i64| {
            let shop = &shop;
            let order = order.to_owned();
            async move {
                let mut tx = shop.db.begin().await.unwrap();
                let r = points::record_purchase(&mut tx, &shop.clock, &loyalty::access::PosKey::for_tests(&shop.brand, shop.store),
                    m,
                    &ExternalId::parse("order_id", &order).unwrap(),
                    Fen::new(10_000).unwrap(),
                    Some(when),
                )
                .await;
                if r.is_ok() {
                    tx.commit().await.unwrap();
                }
                r
            }
        };
        for (order, when) in [("F", T0 + 3_600_000), ("Y", 253_402_300_799_000), ("P", T0 - 91 * DAY), ("Z", 0)] {
            assert!(
                matches!(at(order, when).await, Err(Error::Invalid { field: "occurred_at", .. })),
                "{order}"
            );
        }
        at("SKEW", T0 + 60_000).await.unwrap();
        at("LATE", T0 - 89 * DAY).await.unwrap();
        let (skewed,): (i64,) = sqlx::query_as("SELECT occurred_at FROM purchases WHERE order_id = 'SKEW'")
            .fetch_one(shop.db.pool())
            .await
            .unwrap();
        assert_eq!(skewed, T0, "a POS a minute ahead is taken as now");
        assert_eq!(shop.balance(m).await, 200);
    }
);

db_test!(
    async fn an_order_id_is_recorded_once_per_store(db) {
        let shop = Shop::open(db).await;
        let m = shop.member("13800138000").await;
        shop.buy(m, "A-1", 10_000).await.unwrap();
        assert!(matches!(shop.buy(m, "A-1", 10_000).await, Err(Error::OrderAlreadyRecorded)));
        assert_eq!(shop.balance(m).await, 100);
    }
);

db_test!(
    async fn the_purchase_that_reaches_a_tier_upgrades_at_once_and_a_refund_does_not_demote(db) {
        let shop = Shop::open(db.clone()).await;
        let m = shop.member("13800138000").await;
        shop.buy(m, "A-1", 60_000).await.unwrap();
        let up = shop.buy(m, "A-2", 50_000).await.unwrap();
        assert!(up.tier_changed);
        assert_eq!(up.tier.code, "silver");
        assert_eq!(up.tier.discount_pct, 5);
        // Earned at the tier held before the purchase: 500 points, not 600.
        assert_eq!(up.points_earned, 500);
        // The next purchase earns 1.2× at silver.
        assert_eq!(shop.buy(m, "A-3", 10_000).await.unwrap().points_earned, 120);
        shop.refund("A-2", "RF-1", 50_000).await.unwrap();
        assert_eq!(members::find(&db, shop.brand.id, m).await.unwrap().tier_rank, 1, "no demotion mid-period");
        // The review moves members to what their 12 months say.
        assert_eq!(tiers::review(&db, &shop.clock, shop.brand.id).await.unwrap(), 1);
        assert_eq!(members::find(&db, shop.brand.id, m).await.unwrap().tier_rank, 0);
        shop.books_balance().await;
    }
);

db_test!(
    async fn the_review_moves_only_the_members_whose_spend_says_another_tier(db) {
        let shop = Shop::open(db.clone()).await;
        let kept = shop.member("13800138001").await;
        let raised = shop.member("13800138002").await;
        let lowered = shop.member("13800138003").await;
        let idle = shop.member("13800138004").await;
        shop.buy(kept, "K-1", 110_000).await.unwrap();
        shop.buy(raised, "R-1", 110_000).await.unwrap();
        // Tiers the members' spend does not say, as a change of the tier
        // table (or a hand edit) leaves them.
        for (member, rank) in [(raised, 0), (lowered, 1)] {
            sqlx::query("UPDATE members SET tier_rank = $1 WHERE id = $2")
                .bind(rank)
                .bind(member.0)
                .execute(db.pool())
                .await
                .unwrap();
        }
        assert_eq!(tiers::review(&db, &shop.clock, shop.brand.id).await.unwrap(), 2);
        for (member, rank) in [(kept, 1), (raised, 1), (lowered, 0), (idle, 0)] {
            assert_eq!(members::find(&db, shop.brand.id, member).await.unwrap().tier_rank, rank);
        }
        let (changes,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM tier_changes WHERE reason = 'review'")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(changes, 2, "one change recorded per member moved");
        assert_eq!(tiers::review(&db, &shop.clock, shop.brand.id).await.unwrap(), 0, "settled");
    }
);

db_test!(
    async fn refunds_reverse_points_in_proportion_and_never_beyond_the_purchase(db) {
        let shop = Shop::open(db).await;
        let m = shop.member("13800138000").await;
        shop.buy(m, "A-1", 10_000).await.unwrap();
        let part = shop.refund("A-1", "RF-1", 3_333).await.unwrap();
        assert_eq!(part.points_reversed, 33);
        assert!(matches!(shop.refund("A-1", "RF-1", 1).await, Err(Error::RefundAlreadyRecorded)));
        assert!(matches!(shop.refund("A-1", "RF-2", 6_668).await, Err(Error::RefundExceedsPurchase)));
        let rest = shop.refund("A-1", "RF-3", 6_667).await.unwrap();
        assert_eq!(rest.points_reversed, 67, "a full refund reverses exactly what was earned");
        assert_eq!(rest.points_balance, 0);
        assert!(matches!(shop.refund("NOPE", "RF-1", 1).await, Err(Error::PurchaseNotFound)));
        shop.books_balance().await;
    }
);

db_test!(
    async fn a_refund_after_the_points_were_spent_never_goes_negative(db) {
        let shop = Shop::open(db).await;
        let m = shop.member("13800138000").await;
        shop.buy(m, "A-1", 10_000).await.unwrap();
        shop.redeem(m, 80, None).await.unwrap();
        let r = shop.refund("A-1", "RF-1", 10_000).await.unwrap();
        assert_eq!(r.points_reversed, 20);
        assert_eq!(r.points_balance, 0);
        shop.books_balance().await;
    }
);

db_test!(
    async fn points_pay_up_to_the_cap_and_never_overdraw(db) {
        let shop = Shop::open(db).await;
        let m = shop.member("13800138000").await;
        shop.buy(m, "A-1", 10_000).await.unwrap();
        assert!(matches!(shop.redeem(m, 101, None).await, Err(Error::InsufficientPoints)));
        assert!(matches!(shop.redeem(m, 60, Some(100)).await, Err(Error::PointsCapExceeded { max_points: 50 })));
        let paid = shop.redeem(m, 60, Some(10_000)).await.unwrap();
        assert_eq!(paid.value_fen, 60);
        assert_eq!(paid.points_balance, 40);
        assert_eq!(shop.void(paid.redemption_id).await.unwrap(), 100);
        assert!(matches!(shop.void(paid.redemption_id).await, Err(Error::RedemptionAlreadyVoided)));
        assert!(matches!(shop.void(999_999).await, Err(Error::RedemptionNotFound)));
        shop.books_balance().await;
    }
);

db_test!(
    async fn spending_takes_the_lot_that_expires_first_and_expiry_takes_the_rest(db) {
        let shop = Shop::open(db.clone()).await;
        let m = shop.member("13800138000").await;
        shop.buy(m, "A-1", 10_000).await.unwrap(); // expires end of Nov 2027
        shop.clock.advance_ms(40 * DAY);
        shop.buy(m, "A-2", 10_000).await.unwrap(); // expires end of Jan 2028
        shop.redeem(m, 150, None).await.unwrap();
        let lots: Vec<(i64,)> = sqlx::query_as("SELECT remaining FROM points_lots ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
        assert_eq!(lots, vec![(0,), (50,)]);
        // A year and a half later everything has expired, once.
        shop.clock.advance_ms(540 * DAY);
        assert_eq!(points::expire_due(&db, &shop.clock, shop.brand.id).await.unwrap(), 50);
        assert_eq!(points::expire_due(&db, &shop.clock, shop.brand.id).await.unwrap(), 0);
        assert_eq!(shop.balance(m).await, 0);
        shop.books_balance().await;
    }
);

db_test!(
    async fn bonus_days_and_never_expiring_points_follow_the_brands_rules(db) {
        let shop = Shop::open(db.clone()).await;
        let mut conn = db.pool().acquire().await.unwrap();
        let r = LoyaltyRules { bonus_weekdays: vec![3], expiry_months: None, ..LoyaltyRules::default() };
        rules::save(&mut conn, shop.brand.id, &r).await.unwrap();
        drop(conn);
        let m = shop.member("13800138000").await;
        assert_eq!(shop.buy(m, "A-1", 10_000).await.unwrap().points_earned, 200, "Wednesday doubles");
        assert_eq!(points::next_expiry(&db, shop.brand.id, m).await.unwrap(), None);
    }
);

db_test!(
    async fn fifty_simultaneous_redemptions_never_overdraw(db) {
        let shop = std::sync::Arc::new(Shop::open(db.clone()).await);
        let m = shop.member("13800138000").await;
        shop.buy(m, "A-1", 100_000).await.unwrap(); // 1000 points
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let shop = shop.clone();
            tasks.push(tokio::spawn(async move { shop.redeem(m, 30, None).await }));
        }
        let mut paid = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => paid += 1,
                Err(Error::InsufficientPoints) => {}
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!(paid, 33, "1000 points pay 33 times 30");
        assert_eq!(shop.balance(m).await, 10);
        shop.books_balance().await;
    }
);

db_test!(
    async fn twenty_simultaneous_tries_of_one_order_credit_once(db) {
        let shop = std::sync::Arc::new(Shop::open(db.clone()).await);
        let m = shop.member("13800138000").await;
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let shop = shop.clone();
            tasks.push(tokio::spawn(async move { shop.buy(m, "SAME", 10_000).await }));
        }
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(Error::OrderAlreadyRecorded) => {}
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!(ok, 1);
        assert_eq!(shop.balance(m).await, 100);
        shop.books_balance().await;
    }
);

db_test!(
    async fn a_new_member_gets_the_brands_welcome_points(db) {
        let shop = Shop::open(db.clone()).await;
        let mut conn = db.pool().acquire().await.unwrap();
        let r = LoyaltyRules { signup_bonus_points: 50, ..LoyaltyRules::default() };
        rules::save(&mut conn, shop.brand.id, &r).await.unwrap();
        drop(conn);
        let m = shop.member("13800138000").await;
        assert_eq!(shop.balance(m).await, 50);
        let history = points::history(&db, shop.brand.id, m, None, 10).await.unwrap();
        assert_eq!(history[0].reason, "signup bonus");
        shop.books_balance().await;
    }
);

db_test!(
    async fn the_monthly_review_runs_once_per_month_and_expiry_every_time(db) {
        let shop = Shop::open(db.clone()).await;
        let m = shop.member("13800138000").await;
        shop.buy(m, "A-1", 120_000).await.unwrap(); // silver
        let sender = std::sync::Arc::new(loyalty::testing::CapturingSender::default());
        let runner = loyalty::infra::jobs::Runner::new("test", sender);
        let first = loyalty::infra::jobs::run_due(&db, &shop.clock, &runner).await.unwrap();
        assert_eq!(first.tier_reviews, 1);
        assert_eq!(first.members_moved, 0);
        let again = loyalty::infra::jobs::run_due(&db, &shop.clock, &runner).await.unwrap();
        assert_eq!(again.tier_reviews, 0, "once per month");
        // Thirteen months on, the spend has left the window and the points expired.
        shop.clock.advance_ms(400 * DAY);
        let later = loyalty::infra::jobs::run_due(&db, &shop.clock, &runner).await.unwrap();
        assert_eq!(later.tier_reviews, 1);
        assert_eq!(later.members_moved, 1);
        assert_eq!(later.points_expired, 1200);
        assert_eq!(members::find(&db, shop.brand.id, m).await.unwrap().tier_rank, 0);
        shop.books_balance().await;
    }
);

db_test!(
    async fn the_cap_holds_per_order_across_payments_and_knows_the_recorded_bill(db) {
        let shop = Shop::open(db).await;
        let m = shop.member("13800138000").await;
        shop.buy(m, "SMALL", 1_000).await.unwrap(); // a ¥10 bill: points may pay ¥5
        shop.buy(m, "BIG", 100_000).await.unwrap();
        let pay = |points_: i64| {
            let shop = &shop;
            async move {
                let mut tx = shop.db.begin().await.unwrap();
                let r = points::redeem(&mut tx, &shop.clock, &loyalty::access::PosKey::for_tests(&shop.brand, shop.store), m,
                    &ExternalId::parse("order_id", "SMALL").unwrap(), points_, None,
                )
                .await;
                if r.is_ok() {
                    tx.commit().await.unwrap();
                }
                r
            }
        };
        pay(300).await.unwrap();
        assert!(matches!(pay(300).await, Err(Error::PointsCapExceeded { max_points: 200 })));
        pay(200).await.unwrap();
        assert!(matches!(pay(1).await, Err(Error::PointsCapExceeded { max_points: 0 })));
        shop.books_balance().await;
    }
);

/// Pays `points_` on `order`, naming `bill` or not; commits what succeeds.
async fn pay_on(
    shop: &Shop,
    m: MemberId,
    order: &str,
    points_: i64,
    bill: Option<i64>,
) -> Result<points::PointsRedeemed, Error> {
    let mut tx = shop.db.begin().await.unwrap();
    let at = loyalty::access::PosKey::for_tests(&shop.brand, shop.store);
    let order = ExternalId::parse("order_id", order).unwrap();
    let r = points::redeem(
        &mut tx,
        &shop.clock,
        &at,
        m,
        &order,
        points_,
        bill.map(|b| Fen::new(b).unwrap()),
    )
    .await;
    if r.is_ok() {
        tx.commit().await.unwrap();
    }
    r
}

db_test!(
    async fn a_points_payment_made_before_its_bill_is_known_holds_the_purchase_to_the_cap(db) {
        let shop = Shop::open(db.clone()).await;
        let m = shop.member("13800138000").await;
        shop.buy(m, "EARN", 100_000).await.unwrap(); // 1,000 points, worth ¥10
        // The contract's order: pay with points, then record the purchase.
        let paid = pay_on(&shop, m, "LATE", 800, None).await.unwrap();
        assert_eq!(paid.value_fen, 800, "no bill known yet: taken");
        // A ¥10 bill takes at most ¥5 of points: the purchase is refused,
        // and nothing of it is recorded.
        assert!(matches!(shop.buy(m, "LATE", 1_000).await, Err(Error::PointsPaidOverCap { max_points: 500 })));
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM purchases WHERE order_id = 'LATE'").fetch_one(db.pool()).await.unwrap();
        assert_eq!(n, 0);
        // The till voids the payment; the purchase is recorded.
        shop.void(paid.redemption_id).await.unwrap();
        shop.buy(m, "LATE", 1_000).await.unwrap();
        pay_on(&shop, m, "LATE", 400, None).await.unwrap();
        assert!(matches!(pay_on(&shop, m, "LATE", 200, None).await, Err(Error::PointsCapExceeded { max_points: 100 })));
        // The recorded bill wins over a bigger one a payment names.
        assert!(matches!(
            pay_on(&shop, m, "LATE", 150, Some(1_000_000)).await,
            Err(Error::PointsCapExceeded { max_points: 100 })
        ));
        // A refund lowers the bill: ¥4 left of ¥10, so ¥2 of points, all taken.
        shop.refund("LATE", "R1", 600).await.unwrap();
        assert!(matches!(pay_on(&shop, m, "LATE", 1, None).await, Err(Error::PointsCapExceeded { max_points: 0 })));
        // A payment within the cap, then the purchase: recorded as before.
        pay_on(&shop, m, "EARLY", 300, None).await.unwrap();
        shop.buy(m, "EARLY", 1_000).await.unwrap();
        shop.books_balance().await;
    }
);

db_test!(
    async fn two_members_paying_on_one_order_at_once_stay_under_its_cap_together(db) {
        let shop = std::sync::Arc::new(Shop::open(db.clone()).await);
        let a = shop.member("13800138000").await;
        let b = shop.member("13900139000").await;
        shop.buy(a, "EARN-A", 100_000).await.unwrap();
        shop.buy(b, "EARN-B", 100_000).await.unwrap();
        // One ¥10 bill, split: points may pay ¥5 of it, and each member
        // tries ¥4 at the same moment. Each holds only their own member's
        // lock; the order's row makes the second wait for the first.
        let pay = |m: MemberId, hold_ms: u64| {
            let shop = shop.clone();
            async move {
                let mut tx = shop.db.begin().await.unwrap();
                let at = loyalty::access::PosKey::for_tests(&shop.brand, shop.store);
                let order = ExternalId::parse("order_id", "SHARED").unwrap();
                let r = points::redeem(&mut tx, &shop.clock, &at, m, &order, 400, Some(Fen::new(1_000).unwrap())).await;
                tokio::time::sleep(std::time::Duration::from_millis(hold_ms)).await;
                if r.is_ok() {
                    tx.commit().await.unwrap();
                }
                r
            }
        };
        let first = tokio::spawn(pay(a, 300));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let second = tokio::spawn(pay(b, 0));
        let results = [first.await.unwrap(), second.await.unwrap()];
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
        assert!(results.iter().any(|r| matches!(r, Err(Error::PointsCapExceeded { max_points: 100 }))), "{results:?}");
        let (paid,): (i64,) = sqlx::query_as("SELECT CAST(SUM(value_fen) AS BIGINT) FROM point_redemptions WHERE order_id = 'SHARED' AND status = 'active'")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(paid, 400);
        shop.books_balance().await;
    }
);
