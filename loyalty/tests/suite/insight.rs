//! RFM segments, churn risk and lifetime value on a small set of members
//! whose figures were worked out by hand.

use loyalty::marketing::insight::{self, ChurnRule, Segment};
use loyalty::members::MemberId;
use loyalty::money::{ExternalId, Fen};
use loyalty::{db_test, points, FixedClock};

const T0: i64 = 1_795_573_800_000;
const DAY: i64 = 24 * 60 * 60 * 1000;

db_test!(
    async fn hand_computed_members_land_in_their_segments(db) {
        let clock = FixedClock::at(T0);
        let (brand, store) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let join = |n: &'static str| loyalty::testing::join_member(&db, &clock, &brand, n);
        let (a, b, c, d, e) = (
            join("13800000001").await,
            join("13800000002").await,
            join("13800000003").await,
            join("13800000004").await,
            join("13800000005").await,
        );
        // (member, day of the visit, yuan)
        let visits: [(MemberId, i64, i64); 9] = [
            (a, 80, 300),
            (a, 90, 300),
            (a, 95, 300),
            (b, 98, 2000),
            (c, 20, 100),
            (c, 25, 100),
            (c, 30, 100),
            (d, 15, 50),
            (e, 5, 80), // before the 90-day window
        ];
        for (i, (m, day, yuan)) in visits.iter().enumerate() {
            // Each visit sent on its day (a POS may not backdate by months).
            clock.set_ms(T0 + day * DAY);
            let mut tx = db.begin().await.unwrap();
            points::record_purchase(&mut tx, &clock, &loyalty::access::PosKey::for_tests(&brand, store),
                *m,
                &ExternalId::parse("order_id", &format!("O-{i}")).unwrap(),
                Fen::new(yuan * 100).unwrap(),
                Some(T0 + day * DAY),
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
        clock.set_ms(T0 + 100 * DAY);

        // Means over A–D: R = (5 + 2 + 70 + 85) / 4 = 40.5 days,
        // F = (3 + 1 + 3 + 1) / 4 = 2, M = (900 + 2000 + 300 + 50) / 4 = ¥812.50.
        let rfm = insight::rfm(&db, &clock, brand.id, 90).await.unwrap();
        assert_eq!(rfm.members.len(), 4, "E's only visit is outside the window");
        assert_eq!(rfm.mean_recency_days, 40.5);
        assert_eq!(rfm.mean_frequency, 2.0);
        assert_eq!(rfm.mean_monetary_fen, 81_250.0);
        let of = |m: MemberId| {
            rfm.members
                .iter()
                .find(|x| x.member_id == m.0)
                .map(|x| (x.recency_days, x.frequency, x.monetary_fen, x.segment))
                .unwrap()
        };
        assert_eq!(of(a), (5, 3, 90_000, Segment::ImportantValue));
        assert_eq!(of(b), (2, 1, 200_000, Segment::ImportantDevelop));
        assert_eq!(of(c), (70, 3, 30_000, Segment::GeneralKeep));
        assert_eq!(of(d), (85, 1, 5_000, Segment::GeneralWinBack));
        let count = |s: Segment| rfm.counts.iter().find(|c| c.0 == s).unwrap().1;
        assert_eq!(count(Segment::ImportantValue), 1);
        assert_eq!(count(Segment::ImportantKeep), 0);
        assert_eq!(rfm.counts.iter().map(|c| c.1).sum::<i64>(), 4);

        // Churn: C came every five days and has been away seventy; A's gap
        // (five days) is within twice her usual 7.5; B, D and E have too
        // few visits to judge.
        let churn = insight::churn(&db, &clock, brand.id, ChurnRule::default()).await.unwrap();
        assert_eq!(churn.judged, 2);
        let risk: Vec<(i64, i64, i64)> = churn
            .at_risk
            .iter()
            .map(|r| (r.member_id, r.usual_interval_days, r.days_since))
            .collect();
        assert_eq!(risk, vec![(c.0, 5, 70)]);
        // Lifetime value, most valuable first, E included.
        let ltv: Vec<(i64, i64)> = churn.lifetime.iter().map(|l| (l.0, l.2)).collect();
        assert_eq!(
            ltv,
            vec![(b.0, 200_000), (a.0, 90_000), (c.0, 30_000), (e.0, 8_000), (d.0, 5_000)]
        );
    }
);

db_test!(
    async fn a_queued_campaign_gives_each_member_one_coupon_in_batches_until_stock_runs_out(db) {
        use loyalty::coupons::{self, NewTemplate, Rule};
        use loyalty::infra::forms::FormKey;
        use loyalty::staff::{self, Role};

        let clock = FixedClock::at(T0);
        let (brand, store) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let mut tx = db.begin().await.unwrap();
        let owner = staff::create(&mut tx, &clock, brand.id, Role::Owner, "boss", "老板", "correct horse battery")
            .await
            .unwrap();
        let template = coupons::create_template(
            &mut tx,
            &clock,
            brand.id,
            &NewTemplate { stock_total: Some(2), ..NewTemplate::new(Rule::amount_off(10_000, 1_000)) },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        // Three alike members: one segment (every answer is "at least the mean").
        for (i, phone) in ["13800000001", "13800000002", "13800000003"].iter().enumerate() {
            let m = loyalty::testing::join_member(&db, &clock, &brand, phone).await;
            let mut tx = db.begin().await.unwrap();
            points::record_purchase(&mut tx, &clock, &loyalty::access::PosKey::for_tests(&brand, store), m, &ExternalId::parse("order_id", &format!("Q-{i}")).unwrap(), Fen::new(5_000).unwrap(), None)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        let actor = loyalty::testing::manager(&db, owner.id).await;
        let key = FormKey::generate();
        let queue = || {
            loyalty::marketing::campaigns::queue_rfm(&db, &clock, &actor, &key, Segment::ImportantValue, 90, template)
        };
        let id = queue().await.unwrap();
        assert_eq!(queue().await.unwrap(), id, "the same form, the same campaign");
        let report = loyalty::marketing::campaigns::latest(&db, brand.id, 10).await.unwrap();
        assert_eq!(report[0].progress, Some((0, 3)));
        // No time left: nothing yet; then the rest, as far as the stock goes.
        let none = loyalty::marketing::campaigns::run_queued(&db, &clock, &brand, std::time::Duration::ZERO).await.unwrap();
        assert_eq!(none, 0);
        let given = loyalty::marketing::campaigns::run_queued(&db, &clock, &brand, std::time::Duration::from_secs(30)).await.unwrap();
        assert_eq!(given, 2);
        let report = loyalty::marketing::campaigns::latest(&db, brand.id, 10).await.unwrap();
        assert_eq!((report[0].progress, report[0].issued, report[0].out_of_stock), (None, 2, true));
        assert_eq!(loyalty::marketing::campaigns::run_queued(&db, &clock, &brand, std::time::Duration::from_secs(30)).await.unwrap(), 0);
    }
);
