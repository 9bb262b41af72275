//! Referrals: a new member is linked once to the member whose code brought
//! them, never to themselves or in a loop, and both are rewarded once,
//! after the friend's first purchase, however often the job runs.

use loyalty::marketing::referrals::{self, Linked, Reward};
use loyalty::money::{ExternalId, Fen};
use loyalty::{db_test, members, points, FixedClock};

const T0: i64 = 1_795_573_800_000;

db_test!(
    async fn both_are_rewarded_once_after_the_friends_first_purchase(db) {
        let clock = FixedClock::at(T0);
        let (brand, store) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let owner = loyalty::testing::owner(&db, brand.id).await;
        referrals::set_reward(
            &db,
            &clock,
            &owner,
            Reward { referrer_points: 100, friend_points: 50, friend_coupon: None },
        )
        .await
        .unwrap();
        let alice = loyalty::testing::join_member(&db, &clock, &brand, "13800138000").await;
        let code = referrals::code_for(&db, brand.id, alice).await.unwrap();
        assert_eq!(code, referrals::code_for(&db, brand.id, alice).await.unwrap(), "stable");

        // Unknown codes, her own code, and a second link are refused.
        assert_eq!(referrals::link(&db, &clock, brand.id, alice, "ZZZZZZZZ").await.unwrap(), Linked::UnknownCode);
        assert_eq!(referrals::link(&db, &clock, brand.id, alice, &code).await.unwrap(), Linked::SelfReferral);
        let bob = loyalty::testing::join_member(&db, &clock, &brand, "13900139000").await;
        assert_eq!(referrals::link(&db, &clock, brand.id, bob, &code.to_lowercase()).await.unwrap(), Linked::Linked);
        let carol = loyalty::testing::join_member(&db, &clock, &brand, "13700137000").await;
        let carols = referrals::code_for(&db, brand.id, carol).await.unwrap();
        assert_eq!(referrals::link(&db, &clock, brand.id, bob, &carols).await.unwrap(), Linked::AlreadyReferred);
        // Bob invites Alice back: a loop, refused.
        let bobs = referrals::code_for(&db, brand.id, bob).await.unwrap();
        assert_ne!(referrals::link(&db, &clock, brand.id, alice, &bobs).await.unwrap(), Linked::Linked);
        // Another brand's member cannot use Alice's code.
        let (other, _) = loyalty::testing::brand_with_store(&db, &clock, "other").await;
        let stranger = loyalty::testing::join_member(&db, &clock, &other, "13600136000").await;
        assert_eq!(referrals::link(&db, &clock, other.id, stranger, &code).await.unwrap(), Linked::UnknownCode);

        // Nothing before Bob's first purchase.
        assert_eq!(referrals::reward_due(&db, &clock, &brand).await.unwrap(), 0);
        let mut tx = db.begin().await.unwrap();
        points::record_purchase(&mut tx, &clock, &loyalty::access::PosKey::for_tests(&brand, store), bob, &ExternalId::parse("order_id", "B-1").unwrap(), Fen::new(1_000).unwrap(), None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        // Two servers at once, then again: one reward.
        let (a, b) = tokio::join!(
            referrals::reward_due(&db, &clock, &brand),
            referrals::reward_due(&db, &clock, &brand)
        );
        assert_eq!(a.unwrap() + b.unwrap(), 1);
        assert_eq!(referrals::reward_due(&db, &clock, &brand).await.unwrap(), 0);
        let balance = |m| {
            let db = db.clone();
            let brand = brand.id;
            async move { members::find(&db, brand, m).await.unwrap().points_balance }
        };
        assert_eq!(balance(alice).await, 100);
        assert_eq!(balance(bob).await, 50 + 10, "the reward and the purchase's own points");
        assert_eq!(referrals::stats(&db, brand.id, alice).await.unwrap(), (1, 1));
    }
);
