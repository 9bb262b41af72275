//! The dashboard's figures on both backends, against a hand-counted day.

use loyalty::brands::stores::{self, NewStore};
use loyalty::money::{ExternalId, Fen};
use loyalty::{db_test, marketing::dashboard, points, FixedClock};

/// 2026-11-25 12:00 in Shanghai.
const T0: i64 = 1_795_579_200_000;
const DAY: i64 = 86_400_000;

db_test!(
    async fn the_dashboard_counts_members_visits_liability_and_days(db) {
        let clock = FixedClock::at(T0 - 100 * DAY);
        let (brand, s1) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let mut tx = db.begin().await.unwrap();
        let s2 = stores::create(&mut tx, &clock, brand.id, NewStore { code: "S2".into(), name: "二店".into(), address: String::new() }).await.unwrap().id;
        tx.commit().await.unwrap();
        let old = loyalty::testing::join_member(&db, &clock, &brand, "13800138000").await;
        clock.set_ms(T0 - 3 * DAY);
        let a = loyalty::testing::join_member(&db, &clock, &brand, "13900139000").await;
        let b = loyalty::testing::join_member(&db, &clock, &brand, "13700137000").await;
        clock.set_ms(T0);
        let buy = |member, store, order: &'static str, fen: i64, at: i64| {
            let (db, clock, brand) = (&db, &clock, &brand);
            async move {
                let mut tx = db.begin().await.unwrap();
                points::record_purchase(&mut tx, clock, &loyalty::access::PosKey::for_tests(brand, store), member, &ExternalId::parse("o", order).unwrap(), Fen::new(fen).unwrap(), Some(at)).await.unwrap();
                tx.commit().await.unwrap();
            }
        };
        buy(old, s1, "1", 10_000, T0 - 60 * DAY).await;
        buy(a, s1, "2", 20_000, T0 - DAY).await;
        buy(b, s2, "3", 30_000, T0).await;

        let mut tx = db.begin().await.unwrap();
        let template = loyalty::coupons::create_template(&mut tx, &clock, brand.id, &loyalty::coupons::NewTemplate::new(loyalty::coupons::Rule::voucher(500))).await.unwrap();
        loyalty::coupons::issue(&mut tx, &clock, &brand, a, template, loyalty::coupons::Source::Staff, None).await.unwrap();
        tx.commit().await.unwrap();

        let all = dashboard::summary(&db, &clock, &brand, None).await.unwrap();
        assert_eq!(all.members, 3);
        assert_eq!(all.new_this_week, 2);
        assert_eq!((all.active_30, all.active_90), (2, 3));
        assert_eq!(all.sales_fen, 50_000, "the last 30 days");
        assert!(all.points_outstanding > 0);
        assert_eq!(all.liability_fen, all.points_outstanding, "100 points pay ¥1 by default");
        assert_eq!(all.days.len(), 30);
        assert_eq!(all.days.last().unwrap(), &("2026-11-25".to_owned(), 0, 30_000));
        assert_eq!(all.days[all.days.len() - 2], ("2026-11-24".to_owned(), 0, 20_000));
        assert_eq!(all.days[all.days.len() - 4].1, 2, "two joined on 11-22");
        assert_eq!((all.coupons_issued, all.coupons_redeemed), (1, 0));

        // A manager of the second store sees its visits and sales only.
        let mine = dashboard::summary(&db, &clock, &brand, Some(&[s2])).await.unwrap();
        assert_eq!(mine.members, 3, "members are the brand's");
        assert_eq!((mine.active_30, mine.active_90, mine.sales_fen), (1, 1, 30_000));
    }
);
