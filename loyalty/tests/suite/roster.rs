//! The console's members on both backends: search and filters, points
//! adjusted by hand with a reason, coupons granted, each form acted on once.

use loyalty::coupons::grants;
use loyalty::coupons::{self, NewTemplate, Rule};
use loyalty::infra::forms::FormKey;
use loyalty::marketing::campaigns;
use loyalty::members::roster::{self, Filter};
use loyalty::money::{ExternalId, Fen};
use loyalty::points::adjustments::{self, Adjusted, Limits, Outcome};
use loyalty::staff::{self, Role};
use loyalty::{db_test, members, points, Error, FixedClock};

const T0: i64 = 1_795_579_200_000;
const DAY: i64 = 86_400_000;

db_test!(
    async fn staff_find_members_by_number_phone_name_tier_and_visits(db) {
        let clock = FixedClock::at(T0);
        let (brand, store) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let a = loyalty::testing::join_member(&db, &clock, &brand, "13800138000").await;
        clock.advance_ms(DAY);
        let b = loyalty::testing::join_member(&db, &clock, &brand, "13900139001").await;
        let c = loyalty::testing::join_member(&db, &clock, &brand, "13700137002").await;
        sqlx::query("UPDATE members SET display_name = '王_小明' WHERE id = $1").bind(b.0).execute(db.pool()).await.unwrap();
        // a visited 40 days ago (and spent enough for a tier), b yesterday, c never.
        let mut tx = db.begin().await.unwrap();
        let order = ExternalId::parse("o", "A-1").unwrap();
        points::record_purchase(&mut tx, &clock, &loyalty::access::PosKey::for_tests(&brand, store), a, &order, Fen::new(500_000).unwrap(), Some(T0 + DAY - 40 * DAY)).await.unwrap();
        let order = ExternalId::parse("o", "B-1").unwrap();
        points::record_purchase(&mut tx, &clock, &loyalty::access::PosKey::for_tests(&brand, store), b, &order, Fen::new(5_000).unwrap(), Some(T0)).await.unwrap();
        tx.commit().await.unwrap();
        clock.advance_ms(DAY);

        let find = |f: Filter| {
            let (db, clock, brand) = (&db, &clock, brand.id);
            async move {
                let (lines, more) = roster::search(db, clock, brand, &f, 0, 50).await.unwrap();
                assert!(!more);
                lines.into_iter().map(|l| l.id).collect::<Vec<_>>()
            }
        };
        assert_eq!(find(Filter::default()).await, [c, b, a], "newest first");
        let m = members::find(&db, brand.id, a).await.unwrap();
        assert_eq!(find(Filter { query: m.member_no.as_str().into(), ..Filter::default() }).await, [a]);
        assert_eq!(find(Filter { query: "139 0013 9001".into(), ..Filter::default() }).await, [b]);
        assert_eq!(find(Filter { query: "7002".into(), ..Filter::default() }).await, [c], "last four digits");
        assert_eq!(find(Filter { query: "_小".into(), ..Filter::default() }).await, [b], "a name; _ is not a wildcard");
        assert_eq!(find(Filter { query: "%".into(), ..Filter::default() }).await, Vec::<members::MemberId>::new());
        assert_eq!(find(Filter { tier_rank: Some(m.tier_rank), ..Filter::default() }).await, [a]);
        assert!(m.tier_rank > 0, "a's bill reached a tier");
        assert_eq!(find(Filter { active_within_days: Some(30), ..Filter::default() }).await, [b]);
        assert_eq!(find(Filter { idle_for_days: Some(30), ..Filter::default() }).await, [c, a], "idle or never came");
        assert_eq!(find(Filter { joined_from: Some(T0 + DAY), ..Filter::default() }).await, [c, b]);

        let (page, more) = roster::search(&db, &clock, brand.id, &Filter::default(), 0, 2).await.unwrap();
        assert_eq!((page.len(), more), (2, true));
        assert_eq!(page[0].phone_masked, "+86 137****7002");
        assert_eq!(page[1].last_visit_at, Some(T0));

        // Another brand's search sees none of them.
        let (other, _) = loyalty::testing::brand_with_store(&db, &clock, "xibei").await;
        assert!(roster::search(&db, &clock, other.id, &Filter::default(), 0, 50).await.unwrap().0.is_empty());
    }
);

db_test!(
    async fn points_are_adjusted_with_a_reason_and_coupons_granted_once_per_form(db) {
        let clock = FixedClock::at(T0);
        let (brand, _) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let mut tx = db.begin().await.unwrap();
        let boss = staff::create(&mut tx, &clock, brand.id, Role::Owner, "boss", "老板", "correct horse battery").await.unwrap();
        tx.commit().await.unwrap();
        let actor = loyalty::testing::manager(&db, boss.id).await;
        let m = loyalty::testing::join_member(&db, &clock, &brand, "13800138000").await;
        let start = members::find(&db, brand.id, m).await.unwrap().points_balance;

        let key = FormKey::generate();
        assert!(matches!(
            adjustments::by_hand(&db, &clock, &actor, &FormKey::generate(), m, 50, "  ").await,
            Err(Error::Invalid { field: "reason", .. })
        ));
        let first = adjustments::by_hand(&db, &clock, &actor, &key, m, 50, "补录 11/20 漏记的消费").await.unwrap();
        assert_eq!(first, adjustments::by_hand(&db, &clock, &actor, &key, m, 50, "补录 11/20 漏记的消费").await.unwrap());
        assert_eq!(first, Outcome::Adjusted(Adjusted { delta: 50, balance: start + 50 }));
        assert!(matches!(
            adjustments::by_hand(&db, &clock, &actor, &key, m, 500, "另一件事").await,
            Err(Error::FormAlreadyUsed)
        ));
        assert!(matches!(
            adjustments::by_hand(&db, &clock, &actor, &FormKey::generate(), m, -(start + 51), "扣多了").await,
            Err(Error::InsufficientPoints)
        ));
        let down = adjustments::by_hand(&db, &clock, &actor, &FormKey::generate(), m, -20, "误加").await.unwrap();
        assert_eq!(down, Outcome::Adjusted(Adjusted { delta: -20, balance: start + 30 }));
        assert_eq!(members::find(&db, brand.id, m).await.unwrap().points_balance, start + 30);
        let history = points::history(&db, brand.id, m, None, 10).await.unwrap();
        assert_eq!(history[0].reason, "误加");
        assert_eq!(history[1].reason, "补录 11/20 漏记的消费");
        assert!(points::audit(&db).await.unwrap().is_empty(), "ledger and lots agree");

        let mut conn = db.acquire().await.unwrap();
        let template = coupons::create_template(&mut conn, &clock, brand.id, &NewTemplate::new(Rule::voucher(1_000))).await.unwrap();
        drop(conn);
        let key = FormKey::generate();
        let granted = grants::by_hand(&db, &clock, &actor, &key, m, template).await.unwrap();
        assert_eq!(granted, grants::by_hand(&db, &clock, &actor, &key, m, template).await.unwrap());
        assert_eq!(granted.template, template.0);
        // The member's page confirms what the form did, on every reload.
        let no = members::find(&db, brand.id, m).await.unwrap().member_no;
        let file = roster::member_file(&db, &clock, &actor, no.as_str(), Some(key.as_str())).await.unwrap();
        assert_eq!(file.done, Some(roster::Done::Granted(granted.clone())));
        assert!(file.templates.iter().any(|t| t.id == template), "the grant form offers it");
        let held = coupons::wallet(&db, &clock, brand.id, m).await.unwrap();
        assert_eq!(held.iter().filter(|h| h.template.id == template).count(), 1, "granted once");

        let actions: Vec<_> = loyalty::staff::audit::list(&db, brand.id, None, 10).await.unwrap().into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["member.grant_coupon", "member.adjust_points", "member.adjust_points"]);
    }
);

db_test!(
    async fn a_segment_gets_one_coupon_each_even_when_the_form_is_sent_twice(db) {
        let clock = FixedClock::at(T0);
        let (brand, _) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let mut tx = db.begin().await.unwrap();
        let boss = staff::create(&mut tx, &clock, brand.id, Role::Owner, "boss", "老板", "correct horse battery").await.unwrap();
        tx.commit().await.unwrap();
        let actor = loyalty::testing::manager(&db, boss.id).await;
        for phone in ["13800138000", "13900139000", "13700137000"] {
            loyalty::testing::join_member(&db, &clock, &brand, phone).await;
        }
        let mut conn = db.acquire().await.unwrap();
        let limited = coupons::create_template(&mut conn, &clock, brand.id, &NewTemplate { stock_total: Some(2), ..NewTemplate::new(Rule::voucher(500)) }).await.unwrap();
        drop(conn);
        let key = FormKey::generate();
        let everyone = Filter::default();
        let first = campaigns::grant_to_segment(&db, &clock, &actor, &key, &everyone, limited).await.unwrap();
        assert_eq!((first.matched, first.issued, first.skipped, first.out_of_stock), (3, 2, 1, true));
        let again = campaigns::grant_to_segment(&db, &clock, &actor, &key, &everyone, limited).await.unwrap();
        assert_eq!(again, first, "the same form: the same outcome, nothing more");
        // The list page shows what the form did, and the members it matched.
        let list = roster::list(&db, &clock, &actor, &everyone, 0, Some(key.as_str())).await.unwrap();
        assert_eq!(list.done, Some(first.clone()));
        assert_eq!((list.lines.len(), list.more), (3, false));
        assert_eq!(list.tier_name(list.lines[0].tier_rank), list.tiers()[0].1, "new members are in the first tier");
        assert!(list.templates.iter().any(|t| t.id == limited));
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM coupons WHERE template_id = $1").bind(limited.0).fetch_one(db.pool()).await.unwrap();
        assert_eq!(n, 2, "never past the stock");
        let actions: Vec<_> = loyalty::staff::audit::list(&db, brand.id, None, 10).await.unwrap().into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["segment.grant_coupon"]);
        // The same key with another template is refused before anything is given.
        let mut conn = db.acquire().await.unwrap();
        let other = coupons::create_template(&mut conn, &clock, brand.id, &NewTemplate::new(Rule::voucher(300))).await.unwrap();
        drop(conn);
        assert!(matches!(
            campaigns::grant_to_segment(&db, &clock, &actor, &key, &everyone, other).await,
            Err(Error::FormAlreadyUsed)
        ));
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM coupons WHERE template_id = $1").bind(other.0).fetch_one(db.pool()).await.unwrap();
        assert_eq!(n, 0);
    }
);

db_test!(
    async fn a_large_segment_is_given_in_full_and_a_cut_short_run_finishes_when_sent_again(db) {
        let clock = FixedClock::at(T0);
        let (brand, store) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let mut tx = db.begin().await.unwrap();
        let boss = staff::create(&mut tx, &clock, brand.id, Role::Owner, "boss", "老板", "correct horse battery").await.unwrap();
        tx.commit().await.unwrap();
        let actor = loyalty::testing::manager(&db, boss.id).await;
        let mut ids = Vec::new();
        for i in 0..250 {
            ids.push(loyalty::testing::join_member(&db, &clock, &brand, &format!("1380000{i:04}")).await);
        }
        let mut conn = db.acquire().await.unwrap();
        let gift = coupons::create_template(&mut conn, &clock, brand.id, &NewTemplate::new(Rule::gift("甜品"))).await.unwrap();
        drop(conn);

        // A run that stopped after its first members: their coupons carry
        // the form's request key, the form's claim has no outcome yet.
        let key = FormKey::generate();
        let request = format!("segment:{}", key.as_str());
        let mut tx = db.begin().await.unwrap();
        for m in &ids[..30] {
            coupons::issue(&mut tx, &clock, &brand, *m, gift, coupons::Source::Campaign, Some(&request)).await.unwrap();
        }
        let hash = loyalty::infra::forms::fingerprint("segment", gift.0, &[&serde_json::to_string(&Filter::default()).unwrap()]);
        assert!(loyalty::infra::forms::claim::<campaigns::SegmentOutcome>(&mut tx, &clock, boss.id, &key, &hash).await.unwrap().is_none());
        tx.commit().await.unwrap();

        let done = campaigns::grant_to_segment(&db, &clock, &actor, &key, &Filter::default(), gift).await.unwrap();
        assert_eq!((done.matched, done.issued, done.skipped), (250, 220, 30), "more than one page of 200, and no second coupon");
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM coupons WHERE template_id = $1").bind(gift.0).fetch_one(db.pool()).await.unwrap();
        assert_eq!(n, 250, "one each");

        // A manager may not give a brand-wide coupon, or one for another store.
        let mut tx = db.begin().await.unwrap();
        let made = loyalty::staff::create(&mut tx, &clock, brand.id, loyalty::staff::Role::Manager, "store.mgr", "店长", "a long test password").await.unwrap();
        loyalty::staff::sessions::assign_stores(&mut tx, brand.id, made.id, &[store]).await.unwrap();
        tx.commit().await.unwrap();
        let manager = loyalty::testing::manager(&db, made.id).await;
        assert!(matches!(
            campaigns::grant_to_segment(&db, &clock, &manager, &FormKey::generate(), &Filter::default(), gift).await,
            Err(Error::CouponOfferNotFound)
        ));
        assert!(matches!(
            grants::by_hand(&db, &clock, &manager, &FormKey::generate(), ids[0], gift).await,
            Err(Error::CouponOfferNotFound)
        ));
        // Nor is it offered to them on the members pages.
        let list = roster::list(&db, &clock, &manager, &Filter::default(), 0, None).await.unwrap();
        assert!(list.templates.iter().all(|t| t.id != gift));
        assert_eq!(grants::givable(&db, &manager).await.unwrap().len(), 0);
    }
);

db_test!(
    async fn a_managers_adjustment_over_the_owners_limits_waits_for_an_owner(db) {
        let clock = FixedClock::at(T0);
        let (brand, store) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let mut tx = db.begin().await.unwrap();
        let boss = staff::create(&mut tx, &clock, brand.id, Role::Owner, "boss", "老板", "correct horse battery").await.unwrap();
        let made = staff::create(&mut tx, &clock, brand.id, Role::Manager, "store.mgr", "店长", "a long test password").await.unwrap();
        loyalty::staff::sessions::assign_stores(&mut tx, brand.id, made.id, &[store]).await.unwrap();
        tx.commit().await.unwrap();
        let owner = loyalty::testing::manager(&db, boss.id).await.owner().unwrap();
        let manager = loyalty::testing::manager(&db, made.id).await;
        let m = loyalty::testing::join_member(&db, &clock, &brand, "13800138000").await;
        let balance = || async { members::find(&db, brand.id, m).await.unwrap().points_balance };
        let start = balance().await;
        let adjust = |who: &loyalty::access::Manager, delta: i64| {
            let (db, clock, who) = (&db, &clock, who.clone());
            async move { adjustments::by_hand(db, clock, &who, &FormKey::generate(), m, delta, "补录").await.unwrap() }
        };

        // Within the defaults (1,000 a time, 5,000 a day): applied at once.
        assert_eq!(adjust(&manager, 1_000).await, Outcome::Adjusted(Adjusted { delta: 1_000, balance: start + 1_000 }));
        // One point over the limit per adjustment: it waits, nothing changes.
        let Outcome::Awaiting(big) = adjust(&manager, 1_001).await else { panic!("over the limit, applied") };
        assert_eq!(balance().await, start + 1_000);
        // Taking points counts too: four more of 1,000 make the day's 5,000,
        // and then a single point waits.
        for delta in [1_000, -1_000, 1_000, 1_000] {
            assert!(matches!(adjust(&manager, delta).await, Outcome::Adjusted(_)));
        }
        let Outcome::Awaiting(small) = adjust(&manager, 1).await else { panic!("over the day's limit, applied") };
        assert_eq!(balance().await, start + 3_000);

        // The owner sees both, oldest first, with who asked.
        let waiting = adjustments::pending(&db, &owner).await.unwrap();
        assert_eq!(waiting.iter().map(|r| (r.id, r.delta)).collect::<Vec<_>>(), [(big.request, 1_001), (small.request, 1)]);
        assert_eq!(waiting[0].requested_by, "店长");
        assert_eq!(waiting[0].reason, "补录");
        // Approved once, in the name of the one who asked; rejected once.
        assert_eq!(adjustments::decide(&db, &clock, &owner, big.request, true).await.unwrap(), Some(start + 4_001));
        assert!(matches!(adjustments::decide(&db, &clock, &owner, big.request, true).await, Err(Error::AdjustmentNotPending)));
        assert_eq!(adjustments::decide(&db, &clock, &owner, small.request, false).await.unwrap(), None);
        assert_eq!(balance().await, start + 4_001);
        assert!(adjustments::pending(&db, &owner).await.unwrap().is_empty());

        // The owner is not limited.
        assert!(matches!(adjust(&owner, 50_000).await, Outcome::Adjusted(_)));
        // A new day is a new day's limit for the manager.
        clock.advance_ms(86_400_000);
        assert!(matches!(adjust(&manager, 1_000).await, Outcome::Adjusted(_)));
        // The month, per staff member: points added, taken, adjustments.
        let month = adjustments::this_month(&db, &clock, &owner).await.unwrap();
        let rows: Vec<_> = month.iter().map(|r| (r.staff.as_str(), r.added, r.taken, r.adjustments)).collect();
        assert_eq!(rows, [("老板", 50_000, 0, 1), ("店长", 6_001, 1_000, 7)]);

        // Limits of 0: every manager adjustment waits for an owner.
        adjustments::save_limits(&db, &clock, &owner, Limits { per_adjustment: 0, per_day: 0 }).await.unwrap();
        assert!(matches!(adjust(&manager, 1).await, Outcome::Awaiting(_)));
        assert!(matches!(
            adjustments::save_limits(&db, &clock, &owner, Limits { per_adjustment: -1, per_day: 0 }).await,
            Err(Error::Invalid { field: "adjustment_limit", .. })
        ));
        let actions: Vec<_> = loyalty::staff::audit::list(&db, brand.id, None, 30).await.unwrap().into_iter().map(|e| e.action).collect();
        for action in ["member.adjust_points_requested", "member.adjust_points_approved", "member.adjust_points_rejected", "brand.adjustment_limits"] {
            assert!(actions.contains(&action.to_owned()), "{action} in {actions:?}");
        }
        assert!(points::audit(&db).await.unwrap().is_empty(), "ledger and lots agree");
    }
);

db_test!(
    async fn a_member_who_asks_at_the_counter_is_erased_with_the_owners_approval(db) {
        use loyalty::members::erasure::{self, Erasure};
        let clock = FixedClock::at(T0);
        let (brand, store) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let mut tx = db.begin().await.unwrap();
        let boss = staff::create(&mut tx, &clock, brand.id, Role::Owner, "boss", "老板", "correct horse battery").await.unwrap();
        let made = staff::create(&mut tx, &clock, brand.id, Role::Manager, "store.mgr", "店长", "a long test password").await.unwrap();
        loyalty::staff::sessions::assign_stores(&mut tx, brand.id, made.id, &[store]).await.unwrap();
        tx.commit().await.unwrap();
        let owner = loyalty::testing::manager(&db, boss.id).await.owner().unwrap();
        let manager = loyalty::testing::manager(&db, made.id).await;
        let lost_phone = loyalty::testing::join_member(&db, &clock, &brand, "13800138000").await;
        let other = loyalty::testing::join_member(&db, &clock, &brand, "13900139000").await;

        // A reason is required; a manager's request waits, and only once.
        assert!(matches!(
            erasure::at_counter(&db, &clock, &manager, lost_phone, "  ").await,
            Err(Error::Invalid { field: "reason", .. })
        ));
        let Erasure::Awaiting { request } =
            erasure::at_counter(&db, &clock, &manager, lost_phone, "看了身份证").await.unwrap()
        else {
            panic!("a manager's erasure waits for the owner");
        };
        assert!(matches!(
            erasure::at_counter(&db, &clock, &manager, lost_phone, "看了身份证").await,
            Err(Error::ErasureAlreadyRequested)
        ));
        assert!(members::find(&db, brand.id, lost_phone).await.is_ok(), "still a member");
        let waiting = erasure::pending(&db, &owner).await.unwrap();
        assert_eq!(waiting.len(), 1);
        assert_eq!((waiting[0].reason.as_str(), waiting[0].requested_by.as_str()), ("看了身份证", "店长"));

        // The owner approves: the member is erased, once.
        erasure::decide(&db, &clock, &owner, request, true).await.unwrap();
        assert!(matches!(members::find(&db, brand.id, lost_phone).await, Err(Error::MemberNotFound)));
        assert!(matches!(erasure::decide(&db, &clock, &owner, request, true).await, Err(Error::ErasureNotPending)));
        assert!(erasure::pending(&db, &owner).await.unwrap().is_empty());

        // An owner at the counter erases at once; a rejected request keeps the member.
        let Erasure::Awaiting { request } =
            erasure::at_counter(&db, &clock, &manager, other, "熟客，本人到店").await.unwrap()
        else {
            panic!("waits");
        };
        erasure::decide(&db, &clock, &owner, request, false).await.unwrap();
        assert!(members::find(&db, brand.id, other).await.is_ok());
        assert_eq!(erasure::at_counter(&db, &clock, &owner, other, "本人到店").await.unwrap(), Erasure::Erased);
        assert!(matches!(members::find(&db, brand.id, other).await, Err(Error::MemberNotFound)));

        // Every step is in the audit log, by member id, without the phone.
        let actions: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT action, after_json FROM audit_log WHERE action LIKE 'member.erase%' ORDER BY id",
        )
        .fetch_all(db.pool())
        .await
        .unwrap();
        let names: Vec<&str> = actions.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(
            names,
            [
                "member.erase_requested",
                "member.erase_approved",
                "member.erase_requested",
                "member.erase_rejected",
                "member.erase_at_counter"
            ]
        );
        assert!(actions.iter().all(|(_, after)| !after.as_deref().unwrap_or("").contains("138")));
    }
);
