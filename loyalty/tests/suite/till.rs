//! The cashier's screen on both backends: a form acts once however often it
//! is submitted, staff act only at their stores, and every write leaves an
//! audit row that cannot be changed.

use std::sync::Arc;

use loyalty::access::Cashier;
use loyalty::brands::stores::{self, NewStore, StoreId};
use loyalty::brands::Brand;
use loyalty::coupons::{self, NewTemplate, Refusal, Rule, Source};
use loyalty::members::{self, MemberId};
use loyalty::staff::till::{self, FormKey, Outcome};
use loyalty::staff::{self, Role};
use loyalty::{db_test, members::member_code, staff::audit, Db, Error, FixedClock, ServerSecret};

const T0: i64 = 1_795_579_200_000;
const PASSWORD: &str = "correct horse battery";

struct Till {
    db: Db,
    clock: FixedClock,
    brand: Brand,
    store: StoreId,
    other_store: StoreId,
}

impl Till {
    async fn open(db: Db) -> Till {
        let clock = FixedClock::at(T0);
        let (brand, store) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let mut tx = db.begin().await.unwrap();
        let other = stores::create(
            &mut tx,
            &clock,
            brand.id,
            NewStore {
                code: "S2".into(),
                name: "二店".into(),
                address: String::new(),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        Till {
            db,
            clock,
            brand,
            store,
            other_store: other.id,
        }
    }

    /// A staff member's capability, signed in at the counter's 10.0.0.7.
    async fn staff(&self, role: Role, login: &str, stores: &[StoreId]) -> Cashier {
        let mut tx = self.db.begin().await.unwrap();
        let s = staff::create(
            &mut tx,
            &self.clock,
            self.brand.id,
            role,
            login,
            "员工",
            PASSWORD,
        )
        .await
        .unwrap();
        loyalty::staff::sessions::assign_stores(&mut tx, self.brand.id, s.id, stores)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        Cashier::for_tests(&self.db, s.id, Some("10.0.0.7".into()))
            .await
            .unwrap()
    }

    async fn member(&self, national: &str) -> members::Member {
        let id: MemberId =
            loyalty::testing::join_member(&self.db, &self.clock, &self.brand, national).await;
        members::find(&self.db, self.brand.id, id).await.unwrap()
    }

    async fn audit_rows(&self) -> Vec<audit::Entry> {
        audit::list(&self.db, self.brand.id, None, 100)
            .await
            .unwrap()
    }
}

fn fen(yuan: &str) -> loyalty::money::Fen {
    till::parse_yuan("amount", yuan).unwrap()
}

db_test!(
    async fn a_purchase_form_submitted_twice_records_once_and_confirms_twice(db) {
        let t = Till::open(db).await;
        let cashier = t.staff(Role::Cashier, "till.one", &[t.store]).await;
        let desk = till::desk(&t.db, &cashier, t.store).await.unwrap();
        let m = t.member("13800138000").await;
        let key = FormKey::generate();
        let first = till::purchase(&t.db, &t.clock, &desk, &key, &m, None, fen("128.50")).await.unwrap();
        let again = till::purchase(&t.db, &t.clock, &desk, &key, &m, None, fen("128.50")).await.unwrap();
        assert_eq!(first, again, "the second submission shows the first outcome");
        let Outcome::Purchase { points_earned, points_balance, ref order_id, .. } = first else { panic!("{first:?}") };
        assert!(points_earned > 0);
        assert!(order_id.starts_with("TILL-"));
        let m = members::find(&t.db, t.brand.id, m.id).await.unwrap();
        assert_eq!(m.points_balance, points_balance, "points credited once");
        assert_eq!(till::outcome(&t.db, &cashier, &key).await.unwrap(), Some(again.clone()));

        let rows = t.audit_rows().await;
        assert_eq!(rows.len(), 1, "one audit row for one purchase");
        assert_eq!(rows[0].action, "till.purchase");
        assert_eq!(rows[0].ip.as_deref(), Some("10.0.0.7"));
        assert_eq!(rows[0].store.as_deref(), Some("一店"));
        assert!(rows[0].after.as_deref().unwrap().contains("\"amount_fen\":12850"));

        // A new form is a new bill.
        till::purchase(&t.db, &t.clock, &desk, &FormKey::generate(), &m, None, fen("10")).await.unwrap();
        let (purchases,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM purchases").fetch_one(t.db.pool()).await.unwrap();
        assert_eq!(purchases, 2);
        // The old form sent again with other figures (Back, new bill) is
        // refused, not answered with the old bill's outcome.
        assert!(matches!(
            till::purchase(&t.db, &t.clock, &desk, &key, &m, None, fen("99")).await,
            Err(Error::FormAlreadyUsed)
        ));
        // Another staff member cannot read this form's outcome.
        let other = t.staff(Role::Cashier, "till.two", &[t.store]).await;
        assert_eq!(till::outcome(&t.db, &other, &key).await.unwrap(), None);
        // A POS order number typed twice on two forms is refused the second time.
        let order = loyalty::money::ExternalId::parse("order_id", "POS-1").unwrap();
        till::purchase(&t.db, &t.clock, &desk, &FormKey::generate(), &m, Some(order.clone()), fen("20")).await.unwrap();
        assert!(matches!(
            till::purchase(&t.db, &t.clock, &desk, &FormKey::generate(), &m, Some(order), fen("20")).await,
            Err(Error::OrderAlreadyRecorded)
        ));
    }
);

db_test!(
    async fn concurrent_submissions_of_one_form_record_one_purchase(db) {
        let t = Arc::new(Till::open(db).await);
        let cashier = t.staff(Role::Cashier, "till.one", &[t.store]).await;
        let desk = Arc::new(till::desk(&t.db, &cashier, t.store).await.unwrap());
        let m = Arc::new(t.member("13800138000").await);
        let key = FormKey::generate();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (t, desk, m, key) = (t.clone(), desk.clone(), m.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                till::purchase(&t.db, &t.clock, &desk, &key, &m, None, fen("100")).await
            }));
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap().unwrap());
        }
        assert!(outcomes.windows(2).all(|w| w[0] == w[1]), "every click sees the same outcome");
        let (purchases,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM purchases").fetch_one(t.db.pool()).await.unwrap();
        assert_eq!(purchases, 1);
        assert_eq!(t.audit_rows().await.len(), 1);
    }
);

db_test!(
    async fn staff_open_a_till_only_at_their_stores(db) {
        let t = Till::open(db).await;
        let cashier = t.staff(Role::Cashier, "till.one", &[t.store]).await;
        let manager = t.staff(Role::Manager, "mgr.two", &[t.other_store]).await;
        let owner = t.staff(Role::Owner, "boss", &[]).await;
        assert!(till::desk(&t.db, &cashier, t.store).await.is_ok());
        assert!(matches!(till::desk(&t.db, &cashier, t.other_store).await, Err(Error::StoreNotFound)));
        assert!(matches!(till::desk(&t.db, &manager, t.store).await, Err(Error::StoreNotFound)));
        assert!(till::desk(&t.db, &owner, t.other_store).await.is_ok());
        let names: Vec<_> = till::stores_for(&t.db, &cashier).await.unwrap().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["一店"]);
        assert_eq!(till::stores_for(&t.db, &owner).await.unwrap().len(), 2);

        // Another brand's store is not found, even for an owner.
        let (_, foreign) = loyalty::testing::brand_with_store(&t.db, &t.clock, "xibei").await;
        assert!(matches!(till::desk(&t.db, &owner, foreign).await, Err(Error::StoreNotFound)));
    }
);

db_test!(
    async fn a_coupon_and_points_are_taken_once_each_and_audited(db) {
        let t = Till::open(db).await;
        let cashier = t.staff(Role::Cashier, "till.one", &[t.store]).await;
        let desk = till::desk(&t.db, &cashier, t.store).await.unwrap();
        let m = t.member("13800138000").await;
        let mut conn = t.db.acquire().await.unwrap();
        let template = coupons::create_template(&mut conn, &t.clock, t.brand.id, &NewTemplate::new(Rule::amount_off(10_000, 2_000))).await.unwrap();
        drop(conn);
        let mut tx = t.db.begin().await.unwrap();
        let issued = coupons::issue(&mut tx, &t.clock, &t.brand, m.id, template, Source::Staff, None).await.unwrap();
        tx.commit().await.unwrap();

        let shown = till::show(&t.db, &t.clock, &t.brand, &m).await.unwrap();
        assert_eq!(shown.phone_masked, "+86 138****8000");
        assert!(shown.coupons.iter().any(|h| h.coupon.code == issued.coupon.code));

        // A failed try frees its form: the same form works once corrected.
        let key = FormKey::generate();
        assert!(matches!(
            till::redeem_coupon(&t.db, &t.clock, &desk, &key, &m, &issued.coupon.code, None, fen("50")).await,
            Err(Error::CouponRefused(Refusal::BelowThreshold { .. }))
        ));
        // Another member's coupon is not taken at this member's till.
        let stranger = t.member("13900139000").await;
        assert!(matches!(
            till::redeem_coupon(&t.db, &t.clock, &desk, &FormKey::generate(), &stranger, &issued.coupon.code, None, fen("150")).await,
            Err(Error::CouponNotFound)
        ));
        let r = till::redeem_coupon(&t.db, &t.clock, &desk, &key, &m, &issued.coupon.code, None, fen("150")).await.unwrap();
        assert_eq!(r, till::redeem_coupon(&t.db, &t.clock, &desk, &key, &m, &issued.coupon.code, None, fen("150")).await.unwrap());
        let Outcome::Coupon { discount_fen, ref member_no, .. } = r else { panic!("{r:?}") };
        assert_eq!(discount_fen, 2_000);
        assert_eq!(member_no, m.member_no.as_str());
        assert!(matches!(
            till::redeem_coupon(&t.db, &t.clock, &desk, &FormKey::generate(), &m, &issued.coupon.code, None, fen("150")).await,
            Err(Error::CouponRefused(Refusal::AlreadyRedeemed { .. }))
        ));
        assert!(till::show(&t.db, &t.clock, &t.brand, &m).await.unwrap().coupons.is_empty());

        // Points: earn some, then pay with them.
        till::purchase(&t.db, &t.clock, &desk, &FormKey::generate(), &m, None, fen("1000")).await.unwrap();
        let m = members::find(&t.db, t.brand.id, m.id).await.unwrap();
        let before = m.points_balance;
        let order = loyalty::money::ExternalId::parse("order", "POS-9").unwrap();
        let r = till::redeem_points(&t.db, &t.clock, &desk, &FormKey::generate(), &m, order, 100, fen("200")).await.unwrap();
        let Outcome::Points { points_balance, value_fen, .. } = r else { panic!("{r:?}") };
        assert_eq!(points_balance, before - 100);
        assert!(value_fen > 0);
        let actions: Vec<_> = t.audit_rows().await.into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["till.points", "till.purchase", "till.coupon"]);
    }
);

db_test!(
    async fn the_audit_log_refuses_changes_and_deletions(db) {
        let t = Till::open(db).await;
        let cashier = t.staff(Role::Cashier, "till.one", &[t.store]).await;
        let desk = till::desk(&t.db, &cashier, t.store).await.unwrap();
        let m = t.member("13800138000").await;
        till::purchase(&t.db, &t.clock, &desk, &FormKey::generate(), &m, None, fen("50")).await.unwrap();
        assert!(sqlx::query("UPDATE audit_log SET action = 'nothing'").execute(t.db.pool()).await.is_err());
        assert!(sqlx::query("DELETE FROM audit_log").execute(t.db.pool()).await.is_err());
        assert_eq!(t.audit_rows().await[0].action, "till.purchase");
    }
);

db_test!(
    async fn a_cashier_finds_a_member_by_card_code_number_or_phone(db) {
        let t = Till::open(db).await;
        let secret = ServerSecret::from_master(b"test secret");
        let m = t.member("13800138000").await;
        let code = member_code::current(&secret, &t.clock, t.brand.id, m.id, &m.member_no);
        for typed in [code.grouped(), m.member_no.as_str().to_owned(), "138 0013 8000".into(), "+8613800138000".into()] {
            let found = till::find_member(&t.db, &t.clock, &secret, &t.brand, &typed).await.unwrap();
            assert_eq!(found.id, m.id, "{typed}");
        }
        for typed in ["13900000000", "12345678", "", "not a code"] {
            assert!(matches!(till::find_member(&t.db, &t.clock, &secret, &t.brand, typed).await, Err(Error::MemberNotFound)), "{typed}");
        }
    }
);
