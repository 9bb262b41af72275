//! Feedback on a real database, on both backends: the reward once per
//! member, store and brand day, anonymous feedback from a table, rate
//! limits, replies only the author sees, the inbox filters and the report.

use loyalty::brands::stores::StoreId;
use loyalty::brands::Brand;
use loyalty::coupons::{self, NewTemplate, Rule};
use loyalty::feedback::{self, InboxFilter, RewardRule, Segment, Stars, Submission};
use loyalty::members::{self, MemberId};
use loyalty::staff::{self, Role, StaffId};
use loyalty::testing::join_member;
use loyalty::{brands::tables, db_test, points, Db, Error, FixedClock};

/// 2026-11-25 12:00 in Shanghai.
const T0: i64 = 1_795_579_200_000;
const HOUR: i64 = 3_600_000;

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

    fn form(&self, member: Option<MemberId>, nps: i64, comment: &str) -> Submission {
        Submission {
            member,
            contact_phone: None,
            store: Some(self.store),
            table: None,
            nps,
            stars: Stars {
                food: Some(5),
                service: Some(4),
                ambience: None,
            },
            comment: comment.into(),
            visit_date: None,
            client: format!("10.0.0.{}", nps),
        }
    }

    async fn send(&self, s: Submission) -> Result<feedback::Submitted, Error> {
        let mut tx = self.db.begin().await.unwrap();
        let r = feedback::submit(&mut tx, &self.clock, &self.brand, s).await;
        if r.is_ok() {
            tx.commit().await.unwrap();
        }
        r
    }

    async fn staff(&self) -> StaffId {
        let mut tx = self.db.begin().await.unwrap();
        let s = staff::create(
            &mut tx,
            &self.clock,
            self.brand.id,
            Role::Owner,
            "laoma.owner",
            "店长",
            "correct horse battery",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        s.id
    }
}

db_test!(
    async fn a_comment_earns_ten_points_once_per_store_and_brand_day(db) {
        let shop = Shop::open(db.clone()).await;
        let m = join_member(&db, &shop.clock, &shop.brand, "13800138000").await;
        let first = shop.send(shop.form(Some(m), 9, "鱼很新鲜")).await.unwrap();
        assert_eq!(first.reward_points, 10);
        assert_eq!(first.points_balance, Some(10));
        let history = points::history(&db, shop.brand.id, m, None, 10).await.unwrap();
        assert_eq!(history[0].reason, "feedback reward");
        let (kind, id): (String, i64) = sqlx::query_as("SELECT ref_type, ref_id FROM points_ledger WHERE member_id = $1")
            .bind(m.0)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!((kind.as_str(), id), ("feedback", first.id.0), "the ledger row names the feedback");

        let same_day = shop.send(shop.form(Some(m), 8, "还是很好")).await.unwrap();
        assert_eq!(same_day.reward_points, 0, "once per store per day");
        let no_comment = shop.send(shop.form(Some(m), 8, "")).await.unwrap();
        assert_eq!(no_comment.reward_points, 0);

        // 23:59 the same day in Shanghai is still that day; 00:00 is the next.
        shop.clock.set_ms(T0 + 12 * HOUR - 60_000);
        assert_eq!(shop.send(shop.form(Some(m), 7, "夜宵")).await.unwrap().reward_points, 0);
        shop.clock.set_ms(T0 + 12 * HOUR);
        assert_eq!(shop.send(shop.form(Some(m), 7, "第二天")).await.unwrap().reward_points, 10);
        assert_eq!(members::find(&db, shop.brand.id, m).await.unwrap().points_balance, 20);
        assert_eq!(points::audit(&db).await.unwrap(), vec![]);
    }
);

db_test!(
    async fn the_brand_can_add_a_coupon_to_the_reward_or_turn_it_off(db) {
        let shop = Shop::open(db.clone()).await;
        let mut conn = db.pool().acquire().await.unwrap();
        let thanks = coupons::create_template(&mut conn, &shop.clock, shop.brand.id, &NewTemplate::new(Rule::gift("甜品")))
            .await
            .unwrap();
        feedback::set_reward_rule(&mut conn, shop.brand.id, RewardRule { points: 0, coupon: Some(thanks) })
            .await
            .unwrap();
        drop(conn);
        let m = join_member(&db, &shop.clock, &shop.brand, "13800138000").await;
        let sent = shop.send(shop.form(Some(m), 10, "服务很好")).await.unwrap();
        assert_eq!(sent.reward_points, 0);
        let code = sent.reward_coupon.expect("a thank-you coupon");
        let wallet = coupons::wallet(&db, &shop.clock, shop.brand.id, m).await.unwrap();
        assert_eq!(wallet[0].coupon.code, code);
        assert_eq!(wallet[0].coupon.source, coupons::Source::Feedback);
    }
);

db_test!(
    async fn a_diner_without_a_card_can_send_from_a_table_and_leave_a_phone(db) {
        let shop = Shop::open(db.clone()).await;
        let mut tx = db.begin().await.unwrap();
        let table = tables::create(&mut tx, &shop.clock, &shop.brand, shop.store, "A1").await.unwrap();
        tx.commit().await.unwrap();
        let mut form = shop.form(None, 4, "等了四十分钟");
        form.store = None;
        form.table = Some(table.id);
        form.contact_phone = Some(loyalty::members::phone::Phone::parse("86", "13900139000").unwrap());
        let sent = shop.send(form).await.unwrap();
        assert_eq!(sent.reward_points, 0, "no member, no points");
        let owner = loyalty::testing::owner(&db, shop.brand.id).await;
        let inbox = feedback::inbox(&db, &owner, &InboxFilter::default()).await.unwrap();
        assert_eq!(inbox[0].store.as_deref(), Some("一店"), "the table names its store");
        assert_eq!(inbox[0].table.as_deref(), Some("A1"));
        assert_eq!(inbox[0].contact.as_deref(), Some("+86 139****9000"));

        let (other, _) = loyalty::testing::brand_with_store(&db, &shop.clock, "other").await;
        let mut foreign = shop.form(None, 4, "x");
        foreign.store = None;
        foreign.table = Some(table.id);
        let mut tx = db.begin().await.unwrap();
        assert!(matches!(
            feedback::submit(&mut tx, &shop.clock, &other, foreign).await,
            Err(Error::TableNotFound)
        ));
    }
);

db_test!(
    async fn one_address_may_send_ten_an_hour_and_one_member_five(db) {
        let shop = Shop::open(db.clone()).await;
        for i in 0..10 {
            let mut f = shop.form(None, 5, &format!("#{i}"));
            f.client = "10.1.1.1".into();
            shop.send(f).await.unwrap();
        }
        let mut f = shop.form(None, 5, "#11");
        f.client = "10.1.1.1".into();
        assert!(matches!(shop.send(f).await, Err(Error::FeedbackTooOften)));
        let m = join_member(&db, &shop.clock, &shop.brand, "13800138000").await;
        for i in 0..5 {
            let mut f = shop.form(Some(m), 9, "好");
            f.client = format!("10.2.2.{i}");
            shop.send(f).await.unwrap();
        }
        let mut f = shop.form(Some(m), 9, "好");
        f.client = "10.3.3.3".into();
        assert!(matches!(shop.send(f).await, Err(Error::FeedbackTooOften)));
        shop.clock.advance_ms(HOUR);
        let mut f = shop.form(None, 5, "an hour later");
        f.client = "10.1.1.1".into();
        shop.send(f).await.unwrap();
    }
);

db_test!(
    async fn a_reply_reaches_only_its_author_and_the_inbox_filters(db) {
        let shop = Shop::open(db.clone()).await;
        let alice = join_member(&db, &shop.clock, &shop.brand, "13800138000").await;
        let bob = join_member(&db, &shop.clock, &shop.brand, "13800138001").await;
        let low = shop.send(shop.form(Some(alice), 3, "<b>太咸了</b>")).await.unwrap();
        shop.send(shop.form(Some(bob), 10, "完美")).await.unwrap();
        let staff = shop.staff().await;

        let owner = loyalty::testing::owner(&db, shop.brand.id).await;
        let detractors = feedback::inbox(
            &db,
            &owner,
            &InboxFilter { segment: Some(Segment::Detractor), ..InboxFilter::default() },
        )
        .await
        .unwrap();
        assert_eq!(detractors.len(), 1);
        assert_eq!(detractors[0].comment, "太咸了", "tags are stripped");

        feedback::reply(&db, &shop.clock, &loyalty::testing::manager(&db, staff).await, low.id, "抱歉，已提醒厨师少放盐。").await.unwrap();
        // The card's badge: a reply she has not read.
        let unseen = |m| {
            let (db, clock, me) = (&db, &shop.clock, loyalty::access::Member::for_tests(shop.brand.clone(), m));
            async move { loyalty::members::card(db, clock, &me).await.unwrap().unseen_replies }
        };
        assert_eq!(unseen(alice).await, 1);
        assert_eq!(unseen(bob).await, 0);
        let hers = feedback::mine(&db, shop.brand.id, alice).await.unwrap();
        assert_eq!(hers[0].reply.as_deref(), Some("抱歉，已提醒厨师少放盐。"));
        assert!(hers[0].handled, "a reply handles it");
        let his = feedback::mine(&db, shop.brand.id, bob).await.unwrap();
        assert_eq!(his.len(), 1);
        assert_eq!(his[0].reply, None);
        feedback::mark_replies_seen(&db, &shop.clock, &loyalty::access::Member::for_tests(shop.brand.clone(), alice)).await.unwrap();
        assert_eq!(unseen(alice).await, 0);

        let open = feedback::inbox(&db, &owner, &InboxFilter { unanswered: true, ..InboxFilter::default() })
            .await
            .unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].nps, 10);

        // Another brand's staff cannot answer it.
        let (other, _) = loyalty::testing::brand_with_store(&db, &shop.clock, "other").await;
        let stranger = loyalty::testing::owner(&db, other.id).await;
        assert!(matches!(
            feedback::reply(&db, &shop.clock, &stranger, low.id, "hi").await,
            Err(Error::FeedbackNotFound)
        ));
        assert!(feedback::inbox(&db, &stranger, &InboxFilter::default()).await.unwrap().is_empty());
    }
);

db_test!(
    async fn the_report_gives_nps_and_average_stars_per_store_and_month(db) {
        let shop = Shop::open(db.clone()).await;
        for (i, nps) in [10, 9, 9, 8, 3].into_iter().enumerate() {
            let mut f = shop.form(None, nps, "");
            f.client = format!("10.9.9.{i}");
            f.stars = Stars { food: Some(5 - (i as i64 % 2)), service: Some(4), ambience: None };
            shop.send(f).await.unwrap();
        }
        let rows = feedback::report(&db, shop.brand.id, None, None, None).await.unwrap();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.store.as_deref(), Some("一店"));
        assert_eq!(r.month, "2026-11");
        assert_eq!((r.nps.promoters, r.nps.passives, r.nps.detractors), (3, 1, 1));
        assert_eq!(r.nps.score(), Some(40));
        assert_eq!(r.food, Some(46), "5,4,5,4,5 average 4.6");
        assert_eq!(r.service, Some(40));
        assert_eq!(r.ambience, None);
    }
);

db_test!(
    async fn naming_another_store_from_the_list_earns_nothing_more_the_same_day(db) {
        let shop = Shop::open(db.clone()).await;
        let mut tx = db.begin().await.unwrap();
        let second = loyalty::brands::stores::create(
            &mut tx,
            &shop.clock,
            shop.brand.id,
            loyalty::brands::stores::NewStore { code: "S2".into(), name: "二店".into(), address: String::new() },
        )
        .await
        .unwrap()
        .id;
        let table = tables::create(&mut tx, &shop.clock, &shop.brand, second, "B1").await.unwrap();
        tx.commit().await.unwrap();
        let m = join_member(&db, &shop.clock, &shop.brand, "13800138000").await;
        assert_eq!(shop.send(shop.form(Some(m), 9, "一店")).await.unwrap().reward_points, 10);
        let mut listed = shop.form(Some(m), 9, "二店");
        listed.store = Some(second);
        assert_eq!(shop.send(listed).await.unwrap().reward_points, 0, "a store from the list proves nothing");
        let mut at_table = shop.form(Some(m), 9, "二店，扫了桌码");
        at_table.store = None;
        at_table.table = Some(table.id);
        assert_eq!(shop.send(at_table).await.unwrap().reward_points, 10, "a table's QR proves the store");
    }
);

db_test!(
    async fn fifteen_posts_at_once_from_one_address_store_ten(db) {
        let shop = std::sync::Arc::new(Shop::open(db.clone()).await);
        let mut tasks = Vec::new();
        for i in 0..15 {
            let shop = shop.clone();
            tasks.push(tokio::spawn(async move {
                let mut f = shop.form(None, 5, &format!("#{i}"));
                f.client = "10.7.7.7".into();
                shop.send(f).await
            }));
        }
        let (mut ok, mut refused) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(Error::FeedbackTooOften) => refused += 1,
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!((ok, refused), (10, 5));
    }
);
