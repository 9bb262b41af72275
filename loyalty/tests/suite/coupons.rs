//! Coupons on a real database, on both backends: issuing with stock and
//! per-member limits, exchanges for points, the welcome gift, validation and
//! exactly-once redemption, voids, and all of it under concurrency.

use std::sync::Arc;

use loyalty::brands::stores::{self, NewStore, StoreId};
use loyalty::brands::Brand;
use loyalty::coupons::{
    self, CouponCode, Issued, NewTemplate, Refusal, Rule, Source, Status, TemplateId,
};
use loyalty::members::{self, MemberId};
use loyalty::money::{ExternalId, Fen};
use loyalty::points;
use loyalty::testing::join_member;
use loyalty::{db_test, Db, Error, FixedClock};

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

    async fn template(&self, t: NewTemplate) -> TemplateId {
        let mut conn = self.db.pool().acquire().await.unwrap();
        coupons::create_template(&mut conn, &self.clock, self.brand.id, &t)
            .await
            .unwrap()
    }

    async fn member(&self, phone: &str) -> MemberId {
        join_member(&self.db, &self.clock, &self.brand, phone).await
    }

    async fn issue(
        &self,
        member: MemberId,
        template: TemplateId,
        source: Source,
        key: Option<&str>,
    ) -> Result<Issued, Error> {
        let mut tx = self.db.begin().await.unwrap();
        let r = coupons::issue(
            &mut tx,
            &self.clock,
            &self.brand,
            member,
            template,
            source,
            key,
        )
        .await;
        if r.is_ok() {
            tx.commit().await.unwrap();
        }
        r
    }

    async fn redeem(
        &self,
        code: &CouponCode,
        order: &str,
        bill: i64,
    ) -> Result<coupons::Redeemed, Error> {
        self.redeem_at(self.store, code, order, bill).await
    }

    async fn redeem_at(
        &self,
        store: StoreId,
        code: &CouponCode,
        order: &str,
        bill: i64,
    ) -> Result<coupons::Redeemed, Error> {
        let mut tx = self.db.begin().await.unwrap();
        let r = coupons::redeem(
            &mut tx,
            &self.clock,
            &loyalty::access::PosKey::for_tests(&self.brand, store),
            code,
            &ExternalId::parse("order_id", order).unwrap(),
            Fen::new(bill).unwrap(),
        )
        .await;
        if r.is_ok() {
            tx.commit().await.unwrap();
        }
        r
    }

    async fn buy(&self, member: MemberId, order: &str, fen: i64) {
        let mut tx = self.db.begin().await.unwrap();
        points::record_purchase(
            &mut tx,
            &self.clock,
            &loyalty::access::PosKey::for_tests(&self.brand, self.store),
            member,
            &ExternalId::parse("order_id", order).unwrap(),
            Fen::new(fen).unwrap(),
            None,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    async fn balance(&self, member: MemberId) -> i64 {
        members::find(&self.db, self.brand.id, member)
            .await
            .unwrap()
            .points_balance
    }
}

fn refusal(r: Result<coupons::Redeemed, Error>) -> Refusal {
    match r {
        Err(Error::CouponRefused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

db_test!(
    async fn a_claimed_coupon_is_redeemed_once_and_a_void_restores_it(db) {
        let shop = Shop::open(db.clone()).await;
        let m = shop.member("13800138000").await;
        let t = shop
            .template(NewTemplate { claimable: true, ..NewTemplate::new(Rule::amount_off(20_000, 5_000)) })
            .await;
        let issued = shop.issue(m, t, Source::Claim, None).await.unwrap();
        let code = issued.coupon.code.clone();
        assert_eq!(issued.coupon.valid_until, T0 + 30 * DAY);
        assert_eq!(issued.coupon.status(T0), Status::Available);

        let below = refusal(shop.redeem(&code, "A-1", 18_000).await);
        assert_eq!(below, Refusal::BelowThreshold { need_fen: 20_000, bill_fen: 18_000 });
        assert_eq!(below.code(), "coupon_not_applicable");

        let quote = coupons::validate(&db, &shop.clock, &shop.brand, shop.store, &code, Fen::new(25_000).unwrap())
            .await
            .unwrap();
        assert_eq!(quote.discount_fen, 5_000);

        let used = shop.redeem(&code, "A-1", 25_000).await.unwrap();
        assert_eq!(used.discount_fen, 5_000);
        let again = refusal(shop.redeem(&code, "A-2", 25_000).await);
        assert_eq!(again.code(), "coupon_already_redeemed");
        assert_eq!(
            again,
            Refusal::AlreadyRedeemed { at_ms: T0, date: "2026-11-25".into(), store: "一店".into() }
        );

        let wallet = coupons::wallet(&db, &shop.clock, shop.brand.id, m).await.unwrap();
        assert_eq!(wallet[0].status, Status::Used);
        assert_eq!(wallet[0].used, Some((T0, "一店".into())));
        // The card's count of usable coupons agrees with the wallet.
        let me = loyalty::access::Member::for_tests(shop.brand.clone(), m);
        let usable = || async { loyalty::members::card(&db, &shop.clock, &me).await.unwrap().usable_coupons };
        assert_eq!(usable().await, 0);

        let mut tx = db.begin().await.unwrap();
        let (back, status) =
            coupons::void_redemption(&mut tx, &shop.clock, &loyalty::access::PosKey::for_tests(&shop.brand, shop.store), used.redemption_id)
                .await
                .unwrap();
        tx.commit().await.unwrap();
        assert_eq!((back, status), (code.clone(), Status::Available));
        assert_eq!(usable().await, 1);
        shop.clock.set_ms(T0 + 30 * DAY);
        assert_eq!(usable().await, 0, "expired at valid_until");
        shop.clock.set_ms(T0);
        let mut tx = db.begin().await.unwrap();
        assert!(matches!(
            coupons::void_redemption(&mut tx, &shop.clock, &loyalty::access::PosKey::for_tests(&shop.brand, shop.store), used.redemption_id).await,
            Err(Error::RedemptionAlreadyVoided)
        ));
        drop(tx);
        shop.redeem(&code, "A-3", 25_000).await.unwrap();
    }
);

db_test!(
    async fn an_erased_members_coupons_go_with_the_account(db) {
        let shop = Shop::open(db.clone()).await;
        let m = shop.member("13800138000").await;
        let t = shop.template(NewTemplate::new(Rule::voucher(1_000))).await;
        let code = shop.issue(m, t, Source::Staff, None).await.unwrap().coupon.code;
        let mut tx = db.begin().await.unwrap();
        loyalty::members::erase(&mut tx, &shop.clock, shop.brand.id, m).await.unwrap();
        tx.commit().await.unwrap();
        // Whoever still holds the code (a screenshot, a printed coupon) gets nothing.
        assert!(matches!(
            coupons::validate(&db, &shop.clock, &shop.brand, shop.store, &code, Fen::new(5_000).unwrap()).await,
            Err(Error::CouponNotFound)
        ));
        assert!(matches!(shop.redeem(&code, "A-1", 5_000).await, Err(Error::CouponNotFound)));
    }
);

db_test!(
    async fn validity_store_scope_time_windows_and_tiers_are_checked_in_the_brands_zone(db) {
        let shop = Shop::open(db.clone()).await;
        let other = {
            let mut tx = db.begin().await.unwrap();
            let s = stores::create(
                &mut tx,
                &shop.clock,
                shop.brand.id,
                NewStore { code: "S2".into(), name: "二店".into(), address: String::new() },
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            s.id
        };
        let m = shop.member("13800138000").await;
        // 每周三 11:00–14:00 8折, only at the first store, from tomorrow.
        let wednesday = shop
            .template(NewTemplate {
                stores: Some(vec![shop.store]),
                valid_days: None,
                starts_at: Some(T0 + DAY),
                ends_at: Some(T0 + 30 * DAY),
                ..NewTemplate::new(Rule::percent_off(20, None).on_weekdays(&[3]).between(660, 840))
            })
            .await;
        let c = shop.issue(m, wednesday, Source::Staff, None).await.unwrap().coupon.code;
        assert_eq!(refusal(shop.redeem(&c, "A", 10_000).await).code(), "coupon_not_started");
        shop.clock.set_ms(T0 + 2 * DAY); // Friday
        assert!(matches!(refusal(shop.redeem(&c, "A", 10_000).await), Refusal::WrongDay { .. }));
        shop.clock.set_ms(T0 + 7 * DAY - 90 * 60_000); // next Wednesday 10:30
        let early = refusal(shop.redeem(&c, "A", 10_000).await);
        assert_eq!(early, Refusal::TooEarly { from_minute: 660 });
        assert_eq!(early.params(), [("reason", "time_window".to_owned()), ("from", "11:00".to_owned())]);
        shop.clock.set_ms(T0 + 7 * DAY); // next Wednesday 12:00
        assert_eq!(refusal(shop.redeem_at(other, &c, "A", 10_000).await), Refusal::WrongStore);
        assert_eq!(shop.redeem(&c, "A", 10_000).await.unwrap().discount_fen, 2_000);

        // Expiry: a coupon valid 3 days.
        shop.clock.set_ms(T0);
        let short = shop.template(NewTemplate { valid_days: Some(3), ..NewTemplate::new(Rule::voucher(1_000)) }).await;
        let c = shop.issue(m, short, Source::Staff, None).await.unwrap().coupon.code;
        shop.clock.set_ms(T0 + 3 * DAY);
        assert_eq!(
            refusal(shop.redeem(&c, "B", 10_000).await),
            Refusal::Expired { at_ms: T0 + 3 * DAY, date: "2026-11-28".into() },
            "valid until noon on the 28th: the 28th was its last day"
        );

        // A gold coupon is for gold members.
        shop.clock.set_ms(T0);
        let gold = shop
            .template(NewTemplate { min_tier_rank: 2, claimable: true, ..NewTemplate::new(Rule::gift("甜品")) })
            .await;
        assert!(matches!(
            shop.issue(m, gold, Source::Claim, None).await,
            Err(Error::CouponRefused(Refusal::TierTooLow { needed_rank: 2 }))
        ));
        shop.buy(m, "BIG", 500_000).await;
        let g = shop.issue(m, gold, Source::Claim, None).await.unwrap().coupon.code;
        let gift = shop.redeem(&g, "C", 100).await.unwrap();
        assert_eq!(gift.discount_fen, 0, "a gift takes nothing off the bill");
        assert_eq!(gift.template.rule.gift_item.as_deref(), Some("甜品"));
    }
);

db_test!(
    async fn an_exchange_takes_points_as_a_ledger_row_and_a_retry_issues_nothing_more(db) {
        let shop = Shop::open(db.clone()).await;
        let m = shop.member("13800138000").await;
        shop.buy(m, "A-1", 50_000).await; // 500 points
        let t = shop
            .template(NewTemplate { points_price: Some(200), ..NewTemplate::new(Rule::voucher(2_000)) })
            .await;
        assert!(matches!(shop.issue(m, t, Source::Claim, None).await, Err(Error::CouponNotOffered)));
        let first = shop.issue(m, t, Source::Exchange, Some("tap-1")).await.unwrap();
        assert_eq!(first.points_balance, 300);
        assert_eq!(first.coupon.points_paid, 200);
        let retry = shop.issue(m, t, Source::Exchange, Some("tap-1")).await.unwrap();
        assert!(retry.repeated);
        assert_eq!(retry.coupon.code, first.coupon.code);
        assert_eq!(shop.balance(m).await, 300, "the retry took nothing");
        let history = points::history(&db, shop.brand.id, m, None, 20).await.unwrap();
        assert_eq!(history[0].amount, -200);
        assert_eq!(history[0].reason, "coupon exchange");
        shop.issue(m, t, Source::Exchange, Some("tap-2")).await.unwrap();
        assert!(matches!(
            shop.issue(m, t, Source::Exchange, Some("tap-3")).await,
            Err(Error::InsufficientPoints)
        ));
        assert_eq!(shop.balance(m).await, 100);
        assert_eq!(points::audit(&db).await.unwrap(), vec![], "balance == ledger == lots");
    }
);

db_test!(
    async fn a_new_member_receives_the_welcome_coupons_while_stock_lasts(db) {
        let shop = Shop::open(db.clone()).await;
        shop.template(NewTemplate {
            welcome: true,
            stock_total: Some(1),
            ..NewTemplate::new(Rule::voucher(1_000))
        })
        .await;
        shop.template(NewTemplate { welcome: true, ..NewTemplate::new(Rule::gift("酸梅汤")) }).await;
        let first = shop.member("13800138000").await;
        let second = shop.member("13800138001").await;
        let mine = coupons::wallet(&db, &shop.clock, shop.brand.id, first).await.unwrap();
        assert_eq!(mine.len(), 2);
        assert!(mine.iter().all(|h| h.coupon.source == Source::Welcome));
        let theirs = coupons::wallet(&db, &shop.clock, shop.brand.id, second).await.unwrap();
        assert_eq!(theirs.len(), 1, "the voucher ran out; joining still worked");
        assert_eq!(theirs[0].template.rule.gift_item.as_deref(), Some("酸梅汤"));
    }
);

db_test!(
    async fn another_brands_coupon_is_not_found(db) {
        let shop = Shop::open(db.clone()).await;
        let m = shop.member("13800138000").await;
        let t = shop.template(NewTemplate::new(Rule::voucher(1_000))).await;
        let code = shop.issue(m, t, Source::Staff, None).await.unwrap().coupon.code;
        let (other, other_store) = loyalty::testing::brand_with_store(&db, &shop.clock, "other").await;
        let mut tx = db.begin().await.unwrap();
        let r = coupons::redeem(&mut tx, &shop.clock, &loyalty::access::PosKey::for_tests(&other, other_store),
            &code,
            &ExternalId::parse("order_id", "X").unwrap(),
            Fen::new(10_000).unwrap(),
        )
        .await;
        assert!(matches!(r, Err(Error::CouponNotFound)));
        drop(tx);
        let mut tx = db.begin().await.unwrap();
        assert!(matches!(
            coupons::issue(&mut tx, &shop.clock, &other, m, t, Source::Staff, None).await,
            Err(Error::MemberNotFound)
        ));
    }
);

db_test!(
    async fn sixty_four_simultaneous_redemptions_of_one_coupon_succeed_once(db) {
        let shop = Arc::new(Shop::open(db.clone()).await);
        let m = shop.member("13800138000").await;
        let t = shop.template(NewTemplate::new(Rule::voucher(1_000))).await;
        let code = shop.issue(m, t, Source::Staff, None).await.unwrap().coupon.code;
        let mut tasks = Vec::new();
        for i in 0..64 {
            let (shop, code) = (shop.clone(), code.clone());
            tasks.push(tokio::spawn(async move { shop.redeem(&code, &format!("O-{i}"), 10_000).await }));
        }
        let (mut ok, mut taken) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(Error::CouponRefused(Refusal::AlreadyRedeemed { .. })) => taken += 1,
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!((ok, taken), (1, 63));
    }
);

db_test!(
    async fn thirty_simultaneous_claims_of_a_stock_of_ten_issue_ten(db) {
        let shop = Arc::new(Shop::open(db.clone()).await);
        let t = shop
            .template(NewTemplate { claimable: true, stock_total: Some(10), ..NewTemplate::new(Rule::voucher(500)) })
            .await;
        let mut people = Vec::new();
        for i in 0..30 {
            people.push(shop.member(&format!("138001380{i:02}")).await);
        }
        let mut tasks = Vec::new();
        for m in people {
            let shop = shop.clone();
            tasks.push(tokio::spawn(async move { shop.issue(m, t, Source::Claim, None).await }));
        }
        let (mut ok, mut out) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(Error::CouponOutOfStock) => out += 1,
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!((ok, out), (10, 20));
        let left = coupons::templates(&shop.db, shop.brand.id).await.unwrap();
        assert_eq!(left[0].stock_left(), Some(0));
    }
);

db_test!(
    async fn ten_simultaneous_taps_under_a_limit_of_one_issue_one(db) {
        let shop = Arc::new(Shop::open(db.clone()).await);
        let m = shop.member("13800138000").await;
        let t = shop
            .template(NewTemplate { claimable: true, per_member_limit: Some(1), ..NewTemplate::new(Rule::voucher(500)) })
            .await;
        let mut tasks = Vec::new();
        for i in 0..10 {
            let shop = shop.clone();
            // Different request keys: ten different taps, not retries of one.
            tasks.push(tokio::spawn(async move {
                shop.issue(m, t, Source::Claim, Some(&format!("tap-{i}"))).await
            }));
        }
        let (mut ok, mut limited) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(Error::CouponLimitReached) => limited += 1,
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!((ok, limited), (1, 9));
        assert_eq!(coupons::wallet(&shop.db, &shop.clock, shop.brand.id, m).await.unwrap().len(), 1);
    }
);

db_test!(
    async fn twenty_simultaneous_exchanges_with_points_for_three_issue_three(db) {
        let shop = Arc::new(Shop::open(db.clone()).await);
        let m = shop.member("13800138000").await;
        shop.buy(m, "A-1", 35_000).await; // 350 points
        let t = shop
            .template(NewTemplate { points_price: Some(100), ..NewTemplate::new(Rule::voucher(1_000)) })
            .await;
        let mut tasks = Vec::new();
        for i in 0..20 {
            let shop = shop.clone();
            tasks.push(tokio::spawn(async move {
                shop.issue(m, t, Source::Exchange, Some(&format!("tap-{i}"))).await
            }));
        }
        let (mut ok, mut short) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(Error::InsufficientPoints) => short += 1,
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!((ok, short), (3, 17));
        assert_eq!(shop.balance(m).await, 50);
        assert_eq!(points::audit(&shop.db).await.unwrap(), vec![]);
    }
);

db_test!(
    async fn the_tills_lookup_shows_the_wallet_the_balance_and_the_tier_the_other_reads_show(db) {
        let shop = Shop::open(db.clone()).await;
        let secret = loyalty::testing::secret();
        let m = shop.member("13800138000").await;
        let no = members::find(&db, shop.brand.id, m).await.unwrap().member_no;
        let who = members::MemberRef::Code(no.as_str().to_owned());
        let at_till = || members::at_till(&db, &shop.clock, &secret, &shop.brand, &who);

        // Nothing yet: no coupons, no balance, the first tier.
        let seen = at_till().await.unwrap();
        assert_eq!(seen.member.id, m);
        assert!(seen.wallet.is_empty());
        assert_eq!(seen.stored_value.total_fen(), 0);
        let mut conn = db.acquire().await.unwrap();
        let tiers = points::tiers::load(&mut conn, shop.brand.id).await.unwrap();
        drop(conn);
        assert_eq!(seen.tier.code, tiers.by_rank(seen.member.tier_rank).code);

        // A top-up, and two coupons of which one is used.
        let mut tx = db.begin().await.unwrap();
        loyalty::stored_value::top_up(
            &mut tx,
            &shop.clock,
            &loyalty::access::PosKey::for_tests(&shop.brand, shop.store),
            m,
            &ExternalId::parse("top_up_id", "T-1").unwrap(),
            Fen::positive(10_000).unwrap(),
            Some(loyalty::stored_value::Tender::Cash),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let used = shop.template(NewTemplate { claimable: true, ..NewTemplate::new(Rule::amount_off(20_000, 5_000)) }).await;
        let kept = shop.template(NewTemplate { claimable: true, ..NewTemplate::new(Rule::voucher(1_000)) }).await;
        let first = shop.issue(m, used, Source::Claim, None).await.unwrap();
        shop.issue(m, kept, Source::Claim, None).await.unwrap();
        shop.redeem(&first.coupon.code, "A-1", 25_000).await.unwrap();

        let seen = at_till().await.unwrap();
        assert_eq!(seen.stored_value.total_fen(), 10_000);
        assert_eq!(
            seen.stored_value,
            loyalty::stored_value::balance_of(&db, shop.brand.id, m).await.unwrap()
        );
        let wallet = coupons::wallet(&db, &shop.clock, shop.brand.id, m).await.unwrap();
        assert_eq!(seen.wallet, wallet);
        let statuses: Vec<Status> = seen.wallet.iter().map(|h| h.status).collect();
        assert_eq!(statuses, [Status::Available, Status::Used], "newest first");
        assert_eq!(seen.wallet[1].used, Some((T0, "一店".into())));

        // Another member's coupons and balance are not theirs.
        let other = shop.member("13800138001").await;
        let no = members::find(&db, shop.brand.id, other).await.unwrap().member_no;
        let who = members::MemberRef::Code(no.as_str().to_owned());
        let theirs = members::at_till(&db, &shop.clock, &secret, &shop.brand, &who).await.unwrap();
        assert_eq!(theirs.member.id, other);
        assert!(theirs.wallet.is_empty());
        assert_eq!(theirs.stored_value.total_fen(), 0);
    }
);

db_test!(
    async fn the_wallet_page_names_the_tier_a_coupon_needs_as_the_owner_last_named_it(db) {
        let shop = Shop::open(db.clone()).await;
        let m = shop.member("13800138000").await;
        let me = loyalty::access::Member::for_tests(shop.brand.clone(), m);
        let gold = shop
            .template(NewTemplate { min_tier_rank: 2, claimable: true, ..NewTemplate::new(Rule::gift("甜品")) })
            .await;
        let plain = shop.template(NewTemplate { claimable: true, ..NewTemplate::new(Rule::voucher(1_000)) }).await;
        shop.buy(m, "BIG", 500_000).await;
        shop.issue(m, gold, Source::Claim, None).await.unwrap();
        let used = shop.issue(m, plain, Source::Claim, None).await.unwrap().coupon.code;
        shop.redeem(&used, "A-1", 5_000).await.unwrap();
        let page = || coupons::wallet_page(&db, &shop.clock, &me, Status::Available);

        let seen = page().await.unwrap();
        assert_eq!(seen.counts, [1, 1, 0], "available, used, expired");
        assert_eq!(seen.shown.len(), 1);
        assert_eq!(seen.shown[0].template.min_tier_rank, 2);
        let mut conn = db.acquire().await.unwrap();
        let tiers = points::tiers::load(&mut conn, shop.brand.id).await.unwrap();
        drop(conn);
        assert_eq!(seen.tiers, tiers);

        // The owner renames the tier: the next visit names it so.
        let mut edits: Vec<_> = tiers.tiers().iter().map(loyalty::brands::settings::TierEdit::from).collect();
        let gold_at = tiers.tiers().iter().position(|t| t.rank == 2).unwrap();
        edits[gold_at].name_zh_cn = "黑金".into();
        let owner = loyalty::testing::owner(&db, shop.brand.id).await;
        let mut tx = db.begin().await.unwrap();
        loyalty::brands::settings::save_tiers(&mut tx, &shop.clock, &owner, &edits).await.unwrap();
        tx.commit().await.unwrap();
        let seen = page().await.unwrap();
        assert_eq!(seen.tiers.by_rank(2).name_zh_cn, "黑金");

        let used_tab = coupons::wallet_page(&db, &shop.clock, &me, Status::Used).await.unwrap();
        assert_eq!(used_tab.shown.len(), 1);
        assert_eq!(used_tab.shown[0].coupon.code, used);
        assert_eq!(used_tab.shown[0].used, Some((T0, "一店".into())));
    }
);
