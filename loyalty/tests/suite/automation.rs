//! Marketing automation and the scheduler with a clock the test moves:
//! birthday gifts once a year, win-back once per absence, reruns and a
//! second server change nothing, a dead server's run is taken over, and
//! messages reach only members who agreed to them.

use std::sync::Arc;

use loyalty::brands::stores::StoreId;
use loyalty::brands::Brand;
use loyalty::coupons::{self, NewTemplate, Rule as CouponRule, Source, TemplateId};
use loyalty::infra::jobs::{self, Job, Runner};
use loyalty::marketing::automation::{self, NewAutomation, Trigger};
use loyalty::members::{self, Birthday, MemberId, Profile};
use loyalty::money::{ExternalId, Fen};
use loyalty::points::checkin::{self, Rule};
use loyalty::testing::CapturingSender;
use loyalty::{db_test, points, Db, Error, FixedClock};

/// 2026-11-25 10:30 in Shanghai, the brand's zone: the daily jobs are due.
const T0: i64 = 1_795_573_800_000;
const DAY: i64 = 24 * 60 * 60 * 1000;

struct Shop {
    db: Db,
    clock: FixedClock,
    brand: Brand,
    store: StoreId,
    sender: CapturingSender,
    runner: Runner,
}

impl Shop {
    async fn open(db: Db) -> Shop {
        let clock = FixedClock::at(T0);
        let (brand, store) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let sender = CapturingSender::default();
        let runner = Runner::new("server-a", Arc::new(sender.clone()));
        Shop {
            db,
            clock,
            brand,
            store,
            sender,
            runner,
        }
    }

    async fn owner(&self) -> loyalty::access::Owner {
        loyalty::testing::owner(&self.db, self.brand.id).await
    }

    async fn template(&self) -> TemplateId {
        let mut conn = self.db.pool().acquire().await.unwrap();
        coupons::create_template(
            &mut conn,
            &self.clock,
            self.brand.id,
            &NewTemplate::new(CouponRule::amount_off(10_000, 2_000)),
        )
        .await
        .unwrap()
    }

    async fn automate(&self, trigger: Trigger, template: Option<TemplateId>, points: Option<i64>) {
        let new = NewAutomation {
            trigger,
            template,
            points,
            message: Some("老马家想您了".into()),
        };
        automation::create(&self.db, &self.clock, &self.owner().await, new)
            .await
            .unwrap();
    }

    /// A member with marketing consent and, if given, a birthday.
    async fn member(
        &self,
        national: &str,
        birthday: Option<(u8, u8)>,
        marketing: bool,
    ) -> MemberId {
        let m = loyalty::testing::join_member(&self.db, &self.clock, &self.brand, national).await;
        let mut tx = self.db.begin().await.unwrap();
        let profile = Profile {
            display_name: String::new(),
            birthday: birthday.map(|(month, day)| Birthday {
                month,
                day,
                year: None,
            }),
            gender: Default::default(),
            dietary: Vec::new(),
            allergies: String::new(),
            marketing,
            sensitive: false,
            language: None,
        };
        members::update_profile(&mut tx, &self.clock, self.brand.id, m, profile)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        m
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

    async fn run(&self) -> jobs::Ran {
        jobs::run_due(&self.db, &self.clock, &self.runner)
            .await
            .unwrap()
    }

    async fn balance(&self, m: MemberId) -> i64 {
        members::find(&self.db, self.brand.id, m)
            .await
            .unwrap()
            .points_balance
    }

    async fn coupons(&self, m: MemberId) -> Vec<Source> {
        coupons::wallet(&self.db, &self.clock, self.brand.id, m)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.coupon.source)
            .collect()
    }
}

db_test!(
    async fn a_birthday_gift_arrives_once_a_year(db) {
        let shop = Shop::open(db).await;
        let t = shop.template().await;
        shop.automate(Trigger::Birthday { days_before: Some(3) }, Some(t), Some(100)).await;
        // Birthday on 28 November: three days after T0.
        let fan = shop.member("13800138000", Some((11, 28)), true).await;
        let quiet = shop.member("13900139000", Some((11, 28)), false).await;
        let later = shop.member("13700137000", Some((12, 20)), true).await;

        let first = shop.run().await;
        assert_eq!(first.benefits, 2, "the two 28 November birthdays");
        assert_eq!(shop.balance(fan).await, 100);
        assert_eq!(shop.balance(quiet).await, 100);
        assert_eq!(shop.balance(later).await, 0);
        assert_eq!(shop.coupons(fan).await, vec![Source::Birthday]);

        // The same day again, every day up to the birthday, and a rerun of
        // the daily pass itself: nothing more.
        assert_eq!(shop.run().await.benefits, 0);
        for _ in 0..5 {
            shop.clock.advance_ms(DAY);
            assert_eq!(shop.run().await.benefits, 0);
        }
        assert_eq!(automation::run_daily(&shop.db, &shop.clock, &shop.brand).await.unwrap(), 0);
        assert_eq!(shop.balance(fan).await, 100);

        // Messages: only the member who agreed to them gets one.
        let sent = shop.sender.notices();
        assert_eq!(sent, vec![("+8613800138000".to_owned(), "老马家想您了 拒收请回复R".to_owned())]);

        // A year on, the birthday comes round again.
        shop.clock.set_ms(T0 + 365 * DAY);
        assert_eq!(shop.run().await.benefits, 2);
        assert_eq!(shop.balance(fan).await, 200);
        assert_eq!(shop.coupons(fan).await.len(), 2);
    }
);

db_test!(
    async fn a_birthday_month_gift_and_a_late_run_still_reach_the_member(db) {
        let shop = Shop::open(db).await;
        shop.automate(Trigger::Birthday { days_before: None }, None, Some(50)).await;
        let november = shop.member("13800138000", Some((11, 2)), false).await;
        let december = shop.member("13900139000", Some((12, 1)), false).await;
        assert_eq!(shop.run().await.benefits, 1);
        assert_eq!(shop.balance(november).await, 50);
        // December: the other member's month. 2 December, 10:30.
        shop.clock.set_ms(T0 + 7 * DAY);
        assert_eq!(shop.run().await.benefits, 1);
        assert_eq!(shop.balance(december).await, 50);
        assert_eq!(shop.balance(november).await, 50);
    }
);

db_test!(
    async fn win_back_comes_once_per_absence(db) {
        let shop = Shop::open(db).await;
        shop.automate(Trigger::NoVisit(30), None, Some(20)).await;
        let m = shop.member("13800138000", None, true).await;
        shop.buy(m, "A-1", 5_000).await; // 50 points
        assert_eq!(shop.run().await.benefits, 0, "just visited");

        shop.clock.set_ms(T0 + 31 * DAY);
        assert_eq!(shop.run().await.benefits, 1);
        assert_eq!(shop.balance(m).await, 70);
        for d in 32..40 {
            shop.clock.set_ms(T0 + d * DAY);
            assert_eq!(shop.run().await.benefits, 0, "the same absence, day {d}");
        }
        // Back at the table, then away again: a new absence, a new gift.
        shop.buy(m, "A-2", 1_000).await;
        shop.clock.set_ms(T0 + 39 * DAY + 31 * DAY);
        assert_eq!(shop.run().await.benefits, 1);
        assert_eq!(shop.balance(m).await, 100);
    }
);

db_test!(
    async fn joins_tier_rises_and_the_nth_visit_are_rewarded_within_a_minute(db) {
        let shop = Shop::open(db).await;
        let t = shop.template().await;
        shop.automate(Trigger::Join, None, Some(10)).await;
        shop.automate(Trigger::NthVisit(3), Some(t), None).await;
        shop.automate(Trigger::TierUp, Some(t), None).await;
        let m = shop.member("13800138000", None, false).await;
        assert_eq!(shop.run().await.benefits, 1, "the join");
        assert_eq!(shop.balance(m).await, 10);

        shop.clock.advance_ms(60_000);
        shop.buy(m, "A-1", 1_000).await;
        shop.buy(m, "A-2", 1_000).await;
        assert_eq!(shop.run().await.benefits, 0);
        shop.clock.advance_ms(60_000);
        // The third visit also reaches silver (¥1,000 in twelve months).
        shop.buy(m, "A-3", 100_000).await;
        assert_eq!(shop.run().await.benefits, 2);
        let mut sources = shop.coupons(m).await;
        sources.sort_by_key(|s| s.as_str());
        assert_eq!(sources, vec![Source::Campaign, Source::TierUp]);
        shop.clock.advance_ms(60_000);
        shop.buy(m, "A-4", 1_000).await;
        assert_eq!(shop.run().await.benefits, 0, "the fourth visit is not the third");
    }
);

db_test!(
    async fn two_servers_run_each_job_once_and_a_dead_servers_run_is_taken_over(db) {
        let shop = Shop::open(db).await;
        shop.automate(Trigger::Join, None, Some(10)).await;
        for i in 0..5 {
            shop.member(&format!("1380013800{i}"), None, false).await;
        }
        let other = Runner::new("server-b", Arc::new(CapturingSender::default()));
        let (a, b) = tokio::join!(
            jobs::run_due(&shop.db, &shop.clock, &shop.runner),
            jobs::run_due(&shop.db, &shop.clock, &other)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.runs + b.runs, Job::ALL.len() as u64, "each job once");
        assert_eq!(a.benefits + b.benefits, 5);
        let (given,): (i64,) = sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM automation_grants")
            .fetch_one(shop.db.pool())
            .await
            .unwrap();
        assert_eq!(given, 5);

        // A server claims next month's review and dies before finishing it.
        let period = "2026-12";
        let dead = jobs::claim(&shop.db, &shop.clock, &shop.runner, Job::TierReview, shop.brand.id, period)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(dead.attempt, 1);
        let early = jobs::claim(&shop.db, &shop.clock, &other, Job::TierReview, shop.brand.id, period)
            .await
            .unwrap();
        assert_eq!(early, None, "the lease still holds");
        shop.clock.advance_ms(16 * 60_000);
        let taken = jobs::claim(&shop.db, &shop.clock, &other, Job::TierReview, shop.brand.id, period)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken.run, dead.run);
        assert_eq!(taken.attempt, 2);

        // The console sees the last run of each job, who ran it and how.
        let runs = jobs::last_runs(&shop.db, shop.brand.id).await.unwrap();
        let events = runs.iter().find(|r| r.job == Job::AutomationEvents).unwrap();
        assert_eq!(events.outcome, "benefits=5,referrals=0,campaign_coupons=0");
        assert!(events.duration_ms().is_some());
        let review = runs.iter().find(|r| r.job == Job::TierReview).unwrap();
        assert_eq!((review.worker.as_str(), review.finished_at), ("server-b", None));
    }
);

db_test!(
    async fn messages_are_retried_and_never_reach_a_member_who_withdrew(db) {
        let shop = Shop::open(db).await;
        shop.automate(Trigger::Join, None, None).await;
        let stays = shop.member("13800138000", None, true).await;
        let leaves = shop.member("13900139000", None, true).await;
        shop.sender.fail(true);
        shop.run().await;
        assert!(shop.sender.notices().is_empty());
        // The second member withdraws consent before the retry.
        let mut tx = shop.db.begin().await.unwrap();
        let profile = Profile {
            display_name: String::new(),
            birthday: None,
            gender: Default::default(),
            dietary: Vec::new(),
            allergies: String::new(),
            marketing: false,
            sensitive: false,
            language: None,
        };
        members::update_profile(&mut tx, &shop.clock, shop.brand.id, leaves, profile)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        shop.sender.fail(false);
        shop.clock.advance_ms(5 * 60_000);
        let ran = shop.run().await;
        assert_eq!(ran.messages_sent, 1);
        assert_eq!(shop.sender.notices().len(), 1);
        let _ = stays;
        shop.clock.advance_ms(60 * 60_000);
        assert_eq!(shop.run().await.messages_sent, 0, "sent once");
        let (kept,): (i64,) =
            sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM outbox WHERE body IS NOT NULL")
                .fetch_one(shop.db.pool())
                .await
                .unwrap();
        assert_eq!(kept, 0, "no message text is kept once settled");
    }
);

db_test!(
    async fn points_about_to_expire_are_announced_once(db) {
        let shop = Shop::open(db).await;
        shop.automate(Trigger::PointsExpiring(14), None, None).await;
        let m = shop.member("13800138000", None, true).await;
        shop.buy(m, "A-1", 5_000).await;
        assert_eq!(shop.run().await.benefits, 0);
        // Points earned in November 2026 expire at the end of November 2027.
        shop.clock.set_ms(T0 + 360 * DAY);
        assert_eq!(shop.run().await.benefits, 1);
        shop.clock.advance_ms(DAY);
        assert_eq!(shop.run().await.benefits, 0);
    }
);

db_test!(
    async fn check_in_counts_once_a_day_and_rewards_a_streak(db) {
        let shop = Shop::open(db).await;
        let m = shop.member("13800138000", None, false).await;
        let me = loyalty::access::Member::for_tests(shop.brand.clone(), m);
        assert!(matches!(
            checkin::check_in(&shop.db, &shop.clock, &me).await,
            Err(Error::CheckInOff)
        ));
        let rule = Rule {
            points: 5,
            streak_days: 3,
            streak_bonus: 20,
        };
        checkin::set_rule(&shop.db, &shop.clock, &shop.owner().await, rule).await.unwrap();
        let day1 = checkin::check_in(&shop.db, &shop.clock, &me).await.unwrap();
        assert_eq!((day1.streak, day1.points, day1.bonus, day1.repeated), (1, 5, 0, false));
        let again = checkin::check_in(&shop.db, &shop.clock, &me).await.unwrap();
        assert!(again.repeated);
        assert_eq!(shop.balance(m).await, 5);
        shop.clock.advance_ms(DAY);
        checkin::check_in(&shop.db, &shop.clock, &me).await.unwrap();
        shop.clock.advance_ms(DAY);
        let day3 = checkin::check_in(&shop.db, &shop.clock, &me).await.unwrap();
        assert_eq!((day3.streak, day3.bonus, day3.points_balance), (3, 20, 35));
        // A day missed starts the streak again.
        shop.clock.advance_ms(2 * DAY);
        let card = loyalty::members::card(&shop.db, &shop.clock, &me).await.unwrap();
        let today = card.checkin.expect("check-in is on");
        assert_eq!((today.done, today.streak), (false, 0));
        let restart = checkin::check_in(&shop.db, &shop.clock, &me).await.unwrap();
        assert_eq!(restart.streak, 1);
        // Two taps at once: one check-in.
        shop.clock.advance_ms(DAY);
        let (a, b) = tokio::join!(
            checkin::check_in(&shop.db, &shop.clock, &me),
            checkin::check_in(&shop.db, &shop.clock, &me)
        );
        assert_eq!(u8::from(a.unwrap().repeated) + u8::from(b.unwrap().repeated), 1);
        assert_eq!(shop.balance(m).await, 45);
    }
);

db_test!(
    async fn a_january_birthday_is_celebrated_every_year_and_a_late_run_still_counts(db) {
        let shop = Shop::open(db).await;
        // Thirty days ahead: a 10 January birthday is due on 11 December.
        shop.automate(Trigger::Birthday { days_before: Some(30) }, None, Some(10)).await;
        shop.automate(Trigger::Birthday { days_before: Some(0) }, None, Some(1)).await;
        let m = shop.member("13800138000", Some((1, 10)), false).await;
        // 11 December 2026, then 11 December 2027: each year's gift.
        shop.clock.set_ms(T0 + 16 * DAY);
        assert_eq!(shop.run().await.benefits, 1);
        assert_eq!(shop.balance(m).await, 10);
        shop.clock.set_ms(T0 + 16 * DAY + 365 * DAY);
        assert_eq!(shop.run().await.benefits, 1, "the next year's gift is not taken for this one's");
        assert_eq!(shop.balance(m).await, 20);
        // The on-the-day gift: the server was down on 10 January 2028 and
        // runs again on the 12th; the gift still comes, once.
        shop.clock.set_ms(T0 + 48 * DAY + 365 * DAY);
        let ran = shop.run().await;
        assert_eq!(ran.benefits, 1);
        // 20 + 1, less December 2026's ten, which expired with December 2027.
        assert_eq!(ran.points_expired, 10);
        assert_eq!(shop.balance(m).await, 11);
        shop.clock.advance_ms(DAY);
        assert_eq!(shop.run().await.benefits, 0);
    }
);
