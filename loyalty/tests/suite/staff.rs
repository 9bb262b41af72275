//! Staff sign-in on both backends: sessions, the lockout, and a manager who
//! sees only their stores' feedback.

use loyalty::brands::stores::{self, NewStore};
use loyalty::feedback::{self, InboxFilter, Stars, Submission};
use loyalty::staff::sessions::{self, StaffPolicy};
use loyalty::staff::{self, Role};
use loyalty::{db_test, Error, FixedClock};

const T0: i64 = 1_795_579_200_000;
const PASSWORD: &str = "correct horse battery";
/// The address the tests sign in from.
const HERE: &str = "198.51.100.20";

db_test!(
    async fn a_session_starts_with_the_right_password_and_ends_on_sign_out(db) {
        let clock = FixedClock::at(T0);
        let (brand, _) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let mut tx = db.begin().await.unwrap();
        staff::create(&mut tx, &clock, brand.id, Role::Owner, "laoma.owner", "店长", PASSWORD).await.unwrap();
        tx.commit().await.unwrap();
        let policy = StaffPolicy::default();
        assert!(matches!(
            sessions::sign_in(&db, &clock, &policy, HERE, "nobody", PASSWORD).await,
            Err(Error::StaffSignInFailed)
        ));
        let (session, token) = sessions::sign_in(&db, &clock, &policy, HERE, " LaoMa.Owner ", PASSWORD).await.unwrap();
        assert_eq!(session.staff.role, Role::Owner);
        assert_eq!(session.scope(), None, "an owner sees the whole brand");
        let again = sessions::resolve(&db, &clock, &policy, &token).await.unwrap().unwrap();
        assert_eq!(again.staff.id, session.staff.id);
        clock.advance_ms(policy.idle_ms + 1);
        assert_eq!(sessions::resolve(&db, &clock, &policy, &token).await.unwrap(), None, "idle too long");
        let (_, token) = sessions::sign_in(&db, &clock, &policy, HERE, "laoma.owner", PASSWORD).await.unwrap();
        sessions::end(&db, &clock, &token).await.unwrap();
        assert_eq!(sessions::resolve(&db, &clock, &policy, &token).await.unwrap(), None);
    }
);

db_test!(
    async fn five_wrong_passwords_lock_the_account_even_against_the_right_one(db) {
        let clock = FixedClock::at(T0);
        let (brand, _) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let mut tx = db.begin().await.unwrap();
        staff::create(&mut tx, &clock, brand.id, Role::Cashier, "till.one", "收银", PASSWORD).await.unwrap();
        tx.commit().await.unwrap();
        let policy = StaffPolicy::default();
        for _ in 0..4 {
            assert!(matches!(
                sessions::sign_in(&db, &clock, &policy, HERE, "till.one", "wrong password").await,
                Err(Error::StaffSignInFailed)
            ));
        }
        assert!(matches!(
            sessions::sign_in(&db, &clock, &policy, HERE, "till.one", "wrong password").await,
            Err(Error::StaffLocked { wait_secs: 900 })
        ));
        assert!(matches!(
            sessions::sign_in(&db, &clock, &policy, HERE, "till.one", PASSWORD).await,
            Err(Error::StaffLocked { .. })
        ));
        clock.advance_ms(15 * 60_000);
        sessions::sign_in(&db, &clock, &policy, HERE, "till.one", PASSWORD).await.unwrap();
        // A success resets the count: four more wrong ones do not lock.
        for _ in 0..4 {
            assert!(matches!(
                sessions::sign_in(&db, &clock, &policy, HERE, "till.one", "wrong password").await,
                Err(Error::StaffSignInFailed)
            ));
        }
    }
);

db_test!(
    async fn a_locked_account_is_let_in_again_by_unlocking_it(db) {
        let clock = FixedClock::at(T0);
        let (brand, _) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let mut tx = db.begin().await.unwrap();
        staff::create(&mut tx, &clock, brand.id, Role::Owner, "laoma.owner", "店长", PASSWORD).await.unwrap();
        tx.commit().await.unwrap();
        let policy = StaffPolicy::default();
        for _ in 0..5 {
            let _ = sessions::sign_in(&db, &clock, &policy, HERE, "laoma.owner", "wrong password").await;
        }
        assert!(matches!(
            sessions::sign_in(&db, &clock, &policy, HERE, "laoma.owner", PASSWORD).await,
            Err(Error::StaffLocked { .. })
        ));
        assert!(sessions::unlock(&db, " LaoMa.Owner ").await.unwrap());
        assert!(!sessions::unlock(&db, "nobody").await.unwrap());
        sessions::sign_in(&db, &clock, &policy, HERE, "laoma.owner", PASSWORD).await.unwrap();
        let log = loyalty::staff::audit::list(&db, brand.id, None, 5).await.unwrap();
        assert_eq!(log[0].action, "staff.unlock");
        assert_eq!(log[0].staff, None, "the command line acted");
    }
);

db_test!(
    async fn a_manager_sees_and_answers_only_their_stores_feedback(db) {
        let clock = FixedClock::at(T0);
        let (brand, first) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let mut tx = db.begin().await.unwrap();
        let second = stores::create(&mut tx, &clock, brand.id, NewStore { code: "S2".into(), name: "二店".into(), address: String::new() })
            .await
            .unwrap()
            .id;
        let manager = staff::create(&mut tx, &clock, brand.id, Role::Manager, "laoma.mgr", "经理", PASSWORD).await.unwrap();
        sessions::assign_stores(&mut tx, brand.id, manager.id, &[second]).await.unwrap();
        tx.commit().await.unwrap();
        let mut ids = Vec::new();
        for (i, store) in [first, second].into_iter().enumerate() {
            let mut tx = db.begin().await.unwrap();
            let sent = feedback::submit(
                &mut tx,
                &clock,
                &brand,
                Submission {
                    member: None,
                    contact_phone: None,
                    store: Some(store),
                    table: None,
                    nps: 5,
                    stars: Stars::default(),
                    comment: format!("店 {i}"),
                    visit_date: None,
                    client: format!("10.0.0.{i}"),
                },
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            ids.push(sent.id);
        }
        let (session, _) = sessions::sign_in(&db, &clock, &StaffPolicy::default(), HERE, "laoma.mgr", PASSWORD).await.unwrap();
        assert_eq!(session.scope(), Some(&[second][..]));
        let manager = loyalty::testing::manager(&db, session.staff.id).await;
        let seen = feedback::inbox(&db, &manager, &InboxFilter::default()).await.unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].comment, "店 1");
        assert!(matches!(
            feedback::reply(&db, &clock, &manager, ids[0], "不是你的店").await,
            Err(Error::FeedbackNotFound)
        ));
        feedback::reply(&db, &clock, &manager, ids[1], "谢谢").await.unwrap();
        let report = feedback::report(&db, brand.id, session.scope(), None, None).await.unwrap();
        assert_eq!(report.len(), 1);
        assert_eq!(report[0].store.as_deref(), Some("二店"));
    }
);

db_test!(
    async fn twenty_guesses_at_once_get_five_password_checks(db) {
        let clock = std::sync::Arc::new(FixedClock::at(T0));
        let (brand, _) = loyalty::testing::brand_with_store(&db, &*clock, "laoma").await;
        let mut tx = db.begin().await.unwrap();
        staff::create(&mut tx, &*clock, brand.id, Role::Owner, "laoma.owner", "店长", PASSWORD).await.unwrap();
        tx.commit().await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (db, clock) = (db.clone(), clock.clone());
            tasks.push(tokio::spawn(async move {
                sessions::sign_in(&db, &*clock, &StaffPolicy::default(), HERE, "laoma.owner", &format!("guess number {i}"))
                    .await
            }));
        }
        let (mut wrong, mut locked) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Err(Error::StaffSignInFailed) => wrong += 1,
                Err(Error::StaffLocked { .. }) => locked += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((wrong, locked), (4, 16), "four wrong, the fifth locks, the rest never checked");
        let (failures,): (i64,) = sqlx::query_as("SELECT failed_logins FROM staff WHERE login = 'laoma.owner'")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(failures, 5);
        assert!(matches!(
            sessions::sign_in(&db, &*clock, &StaffPolicy::default(), HERE, "laoma.owner", PASSWORD).await,
            Err(Error::StaffLocked { .. })
        ));
    }
);

db_test!(
    async fn an_owner_manages_accounts_and_staff_change_their_own_password(db) {
        use loyalty::staff::accounts;
        let clock = FixedClock::at(T0);
        let (brand, store) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let mut tx = db.begin().await.unwrap();
        let owner = staff::create(&mut tx, &clock, brand.id, Role::Owner, "boss", "老板", PASSWORD).await.unwrap();
        tx.commit().await.unwrap();
        let actor = loyalty::testing::manager(&db, owner.id).await.owner().unwrap();
        let policy = StaffPolicy::default();

        let (cashier, first) = accounts::create(&db, &clock, &actor, Role::Cashier, "till", "收银", &[store]).await.unwrap();
        let (session, token) = sessions::sign_in(&db, &clock, &policy, HERE, "till", &first).await.unwrap();
        assert_eq!(session.stores, [store]);

        // Deactivating ends the session; reactivating and resetting gives a new password.
        accounts::update(&db, &clock, &actor, cashier.id, Role::Cashier, "收银员", &[store], false).await.unwrap();
        assert_eq!(sessions::resolve(&db, &clock, &policy, &token).await.unwrap(), None);
        accounts::update(&db, &clock, &actor, cashier.id, Role::Cashier, "收银员", &[store], true).await.unwrap();
        let (_, second) = accounts::reset_password(&db, &clock, &actor, cashier.id).await.unwrap();
        assert!(sessions::sign_in(&db, &clock, &policy, HERE, "till", &first).await.is_err());
        let (_, token) = sessions::sign_in(&db, &clock, &policy, HERE, "till", &second).await.unwrap();

        // Their own change: a wrong current password counts, the right one works.
        let me = loyalty::testing::staff_capability(&db, cashier.id).await;
        assert!(matches!(
            sessions::change_password(&db, &clock, &policy, &me, &token, "wrong one!", "new passphrase 1").await,
            Err(Error::StaffSignInFailed)
        ));
        sessions::change_password(&db, &clock, &policy, &me, &token, &second, "new passphrase 1").await.unwrap();
        assert!(sessions::resolve(&db, &clock, &policy, &token).await.unwrap().is_some(), "this session stays");
        sessions::sign_in(&db, &clock, &policy, HERE, "till", "new passphrase 1").await.unwrap();

        // The owner may not demote themselves; a lock is lifted by unlock.
        assert!(matches!(
            accounts::update(&db, &clock, &actor, owner.id, Role::Manager, "老板", &[store], true).await,
            Err(Error::StaffSelfChange)
        ));
        for _ in 0..5 {
            let _ = sessions::sign_in(&db, &clock, &policy, HERE, "till", "wrong password").await;
        }
        assert!(matches!(sessions::sign_in(&db, &clock, &policy, HERE, "till", "new passphrase 1").await, Err(Error::StaffLocked { .. })));
        accounts::unlock(&db, &clock, &actor, cashier.id).await.unwrap();
        sessions::sign_in(&db, &clock, &policy, HERE, "till", "new passphrase 1").await.unwrap();
        let listed = accounts::list(&db, brand.id).await.unwrap();
        assert_eq!(listed.len(), 2);
        let actions: Vec<_> = loyalty::staff::audit::list(&db, brand.id, None, 20).await.unwrap().into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["staff.unlock", "staff.password", "staff.reset_password", "staff.update", "staff.update", "staff.create"]);
    }
);

db_test!(
    async fn one_address_gets_thirty_sign_in_attempts_in_ten_minutes_whatever_the_logins(db) {
        let clock = FixedClock::at(T0);
        let (brand, _) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let mut tx = db.begin().await.unwrap();
        staff::create(&mut tx, &clock, brand.id, Role::Owner, "laoma.owner", "店长", PASSWORD).await.unwrap();
        tx.commit().await.unwrap();
        let policy = StaffPolicy::default();
        // Thirty guesses at thirty logins that do not exist: each refused
        // as a wrong login, none locks anything.
        for i in 0..30 {
            assert!(matches!(
                sessions::sign_in(&db, &clock, &policy, HERE, &format!("guess.{i}"), "a wrong password").await,
                Err(Error::StaffSignInFailed)
            ));
        }
        // The next attempt from there is refused before any password is
        // checked, even the right one.
        assert!(matches!(
            sessions::sign_in(&db, &clock, &policy, HERE, "laoma.owner", PASSWORD).await,
            Err(Error::SignInTooOften { wait_secs }) if wait_secs > 0 && wait_secs <= 600
        ));
        // The owner, elsewhere, signs in; the account was never locked.
        sessions::sign_in(&db, &clock, &policy, "203.0.113.7", "laoma.owner", PASSWORD).await.unwrap();
        // Ten minutes later the address may try again.
        clock.advance_ms(10 * 60_000);
        sessions::sign_in(&db, &clock, &policy, HERE, "laoma.owner", PASSWORD).await.unwrap();
        // The hourly purge forgets the windows.
        clock.advance_ms(3_600_000);
        assert!(loyalty::infra::rate_limits::purge_old(&db, &clock).await.unwrap() >= 2);
    }
);

db_test!(
    async fn a_login_two_brands_use_signs_in_with_its_brand_and_locks_only_there(db) {
        let clock = FixedClock::at(T0);
        let (laoma, _) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let (xibei, _) = loyalty::testing::brand_with_store(&db, &clock, "xibei").await;
        let mut tx = db.begin().await.unwrap();
        staff::create(&mut tx, &clock, laoma.id, Role::Owner, "boss", "老马", PASSWORD).await.unwrap();
        staff::create(&mut tx, &clock, xibei.id, Role::Owner, "boss", "西贝", "another long password").await.unwrap();
        tx.commit().await.unwrap();
        let policy = StaffPolicy::default();
        // Bare, the login names nobody; with its brand, each owner.
        assert!(matches!(
            sessions::sign_in(&db, &clock, &policy, HERE, "boss", PASSWORD).await,
            Err(Error::StaffSignInFailed)
        ));
        let (session, _) = sessions::sign_in(&db, &clock, &policy, HERE, " Boss@LaoMa ", PASSWORD).await.unwrap();
        assert_eq!(session.staff.brand_id, laoma.id);
        let (session, _) = sessions::sign_in(&db, &clock, &policy, HERE, "boss@xibei", "another long password").await.unwrap();
        assert_eq!(session.staff.brand_id, xibei.id);
        assert!(matches!(
            sessions::sign_in(&db, &clock, &policy, HERE, "boss@nowhere", PASSWORD).await,
            Err(Error::StaffSignInFailed)
        ));
        // Guesses at one brand's owner lock that account, not the other's.
        for _ in 0..5 {
            let _ = sessions::sign_in(&db, &clock, &policy, HERE, "boss@laoma", "a wrong guess").await;
        }
        assert!(matches!(
            sessions::sign_in(&db, &clock, &policy, HERE, "boss@laoma", PASSWORD).await,
            Err(Error::StaffLocked { .. })
        ));
        sessions::sign_in(&db, &clock, &policy, HERE, "boss@xibei", "another long password").await.unwrap();
        // A login only one brand uses still signs in bare.
        let mut tx = db.begin().await.unwrap();
        staff::create(&mut tx, &clock, xibei.id, Role::Cashier, "till.one", "收银", PASSWORD).await.unwrap();
        tx.commit().await.unwrap();
        sessions::sign_in(&db, &clock, &policy, HERE, "till.one", PASSWORD).await.unwrap();
    }
);
