//! Joining, one-time codes, sessions, the rotating card code, profile and
//! erasure, on a real database, on both backends.

use loyalty::brands::{self, Brand, BrandSlug, Language, NewBrand, ThemeColor};
use loyalty::members::otp::{self, LoginCode, OtpPolicy};
use loyalty::members::phone::Phone;
use loyalty::members::sessions::{self, SessionPolicy};
use loyalty::members::{self, Birthday, Consent, Diet, Gender, Profile};
use loyalty::testing::CapturingSender;
use loyalty::{db_test, members::member_code, Db, Error, FixedClock, ServerSecret};

const T0: i64 = 1_764_000_000_000;
const MINUTE: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE;
const IP: &str = "203.0.113.7";

async fn brand(db: &Db, slug: &str) -> Brand {
    let mut conn = db.pool().acquire().await.unwrap();
    brands::create(
        &mut conn,
        &FixedClock::at(T0),
        NewBrand {
            slug: BrandSlug::parse(slug).unwrap(),
            name: "测试品牌".into(),
            theme_color: ThemeColor::default(),
            default_language: Language::ZhCn,
        },
    )
    .await
    .unwrap()
}

fn phone(n: &str) -> Phone {
    Phone::parse("86", n).unwrap()
}

struct World {
    db: Db,
    clock: FixedClock,
    secret: ServerSecret,
    policy: OtpPolicy,
    sender: CapturingSender,
    brand: Brand,
}

impl World {
    async fn new(db: Db) -> World {
        let brand = brand(&db, "laoma").await;
        World {
            db,
            clock: FixedClock::at(T0),
            secret: ServerSecret::from_master(b"test secret"),
            policy: OtpPolicy::default(),
            sender: CapturingSender::default(),
            brand,
        }
    }

    async fn send_from(&self, phone: &Phone, ip: &str) -> Result<String, Error> {
        otp::send(
            &self.db,
            &self.clock,
            &self.secret,
            &self.policy,
            &self.sender,
            &self.brand,
            phone,
            ip,
            Language::ZhCn,
        )
        .await?;
        Ok(self.sender.last_code(phone.as_str()).unwrap())
    }

    async fn send(&self, phone: &Phone) -> Result<String, Error> {
        self.send_from(phone, IP).await
    }

    async fn verify(&self, phone: &Phone, code: &str) -> Result<(), Error> {
        otp::verify(
            &self.db,
            &self.clock,
            &self.secret,
            &self.policy,
            self.brand.id,
            phone,
            &LoginCode::parse(code).unwrap(),
        )
        .await
    }

    async fn sign_in(&self, phone: &Phone, consent: Consent) -> Result<members::SignedIn, Error> {
        let code = self.send(phone).await?;
        members::sign_in(
            &self.db,
            &self.clock,
            &self.secret,
            &self.policy,
            &SessionPolicy::default(),
            &self.brand,
            phone,
            &LoginCode::parse(&code).unwrap(),
            consent,
        )
        .await
    }
}

/// Who `token` signs in to `brand`, asked both ways a page asks: the
/// session alone, and the session with the card in one statement. They
/// must always agree.
async fn live(
    db: &Db,
    clock: &FixedClock,
    policy: &SessionPolicy,
    brand: &Brand,
    token: &sessions::SessionToken,
) -> Option<members::MemberId> {
    let alone = sessions::resolve(db, clock, policy, brand.id, token)
        .await
        .unwrap();
    let with_card = loyalty::access::member_card(db, clock, policy, brand.clone(), token)
        .await
        .unwrap();
    let carded = with_card.map(|(who, card)| {
        assert_eq!(
            who.id(),
            card.member.id,
            "the card is the signed-in member's"
        );
        assert_eq!(who.brand().id, brand.id);
        who.id()
    });
    assert_eq!(
        alone, carded,
        "the session and the card's read model disagree"
    );
    alone
}

fn wrong(code: &str) -> String {
    let first = (code.as_bytes()[0] - b'0' + 1) % 10;
    format!("{first}{}", &code[1..])
}

const AGREED: Consent = Consent {
    terms_accepted: true,
    marketing: false,
};

db_test!(
    async fn a_code_works_once(db) {
        let w = World::new(db).await;
        let p = phone("13800138000");
        let code = w.send(&p).await.unwrap();
        w.verify(&p, &code).await.unwrap();
        assert!(matches!(w.verify(&p, &code).await, Err(Error::CodeMissing)));
    }
);

db_test!(
    async fn a_code_expires_after_five_minutes(db) {
        let w = World::new(db).await;
        let p = phone("13800138000");
        let code = w.send(&p).await.unwrap();
        w.clock.advance_ms(5 * MINUTE);
        assert!(matches!(w.verify(&p, &code).await, Err(Error::CodeExpired)));
    }
);

db_test!(
    async fn six_wrong_tries_kill_the_code_and_the_right_one_after_them(db) {
        let w = World::new(db).await;
        let p = phone("13800138000");
        let code = w.send(&p).await.unwrap();
        for left in (1..=4).rev() {
            match w.verify(&p, &wrong(&code)).await {
                Err(Error::CodeWrong { tries_left }) => assert_eq!(tries_left, left),
                other => panic!("expected a wrong-code refusal, got {other:?}"),
            }
        }
        // The fifth wrong try uses up the code.
        assert!(matches!(w.verify(&p, &wrong(&code)).await, Err(Error::CodeTooManyTries { .. })));
        // The sixth is refused, and so is the right code after it.
        assert!(matches!(w.verify(&p, &wrong(&code)).await, Err(Error::CodeTooManyTries { .. })));
        assert!(matches!(w.verify(&p, &code).await, Err(Error::CodeTooManyTries { .. })));
    }
);

db_test!(
    async fn a_new_code_waits_a_minute_and_retires_the_old_one(db) {
        let w = World::new(db).await;
        let p = phone("13800138000");
        let first = w.send(&p).await.unwrap();
        w.clock.advance_ms(20_000);
        match w.send(&p).await {
            Err(Error::CodeResendTooSoon { wait_secs }) => assert_eq!(wait_secs, 40),
            other => panic!("expected a resend refusal, got {other:?}"),
        }
        w.clock.advance_ms(40_000);
        let second = w.send(&p).await.unwrap();
        if first != second {
            assert!(w.verify(&p, &first).await.is_err());
        }
        w.verify(&p, &second).await.unwrap();
    }
);

db_test!(
    async fn a_phone_gets_five_codes_an_hour(db) {
        let w = World::new(db).await;
        let p = phone("13800138000");
        for _ in 0..5 {
            w.send(&p).await.unwrap();
            w.clock.advance_ms(MINUTE);
        }
        match w.send(&p).await {
            Err(Error::CodeLimitReached { wait_secs }) => assert_eq!(wait_secs, 55 * 60),
            other => panic!("expected the hourly limit, got {other:?}"),
        }
        w.clock.advance_ms(55 * MINUTE);
        w.send(&p).await.unwrap();
    }
);

db_test!(
    async fn a_phone_gets_ten_codes_a_day_from_every_brand_together(db) {
        let mut w = World::new(db.clone()).await;
        w.policy.per_phone_per_hour = 100;
        let brands = [w.brand.clone(), brand(&db, "xibei").await];
        let p = phone("13800138000");
        for i in 0..10 {
            w.brand = brands[i % 2].clone();
            w.send(&p).await.unwrap();
            w.clock.advance_ms(HOUR_MS);
        }
        match w.send(&p).await {
            Err(Error::CodeDailyLimit { wait_secs }) => assert_eq!(wait_secs, 14 * 3_600),
            other => panic!("expected the daily limit, got {other:?}"),
        }
        // Another phone is not affected; this one may again a day after its first.
        w.send(&phone("13900139000")).await.unwrap();
        w.clock.advance_ms(14 * HOUR_MS);
        w.send(&p).await.unwrap();
    }
);

db_test!(
    async fn a_brand_sends_no_more_codes_in_a_day_than_its_budget(db) {
        let mut w = World::new(db.clone()).await;
        w.policy.per_brand_per_day = 3;
        for i in 0..3 {
            w.send_from(&phone(&format!("139{:08}", i)), &format!("198.51.100.{i}")).await.unwrap();
        }
        let spent = w.send_from(&phone("13700000000"), "198.51.100.9").await;
        assert!(matches!(spent, Err(Error::CodeBudgetSpent { wait_secs }) if wait_secs == 24 * 3_600), "{spent:?}");
        assert_eq!(otp::budget_used(&w.db, &w.clock, &w.policy, w.brand.id).await.unwrap(), (3, 3));
        // Another brand has its own budget.
        w.brand = brand(&db, "xibei").await;
        w.send_from(&phone("13700000000"), "198.51.100.9").await.unwrap();
    }
);

db_test!(
    async fn one_address_gets_twenty_codes_an_hour(db) {
        let w = World::new(db).await;
        for i in 0..20 {
            w.send(&phone(&format!("139{:08}", i))).await.unwrap();
        }
        assert!(matches!(
            w.send(&phone("13700000000")).await,
            Err(Error::CodeLimitReached { .. })
        ));
        // Another address is not affected.
        w.send_from(&phone("13700000000"), "198.51.100.1").await.unwrap();
    }
);

db_test!(
    async fn a_code_that_was_not_delivered_does_not_count(db) {
        let w = World::new(db).await;
        let p = phone("13800138000");
        w.sender.fail(true);
        assert!(matches!(w.send(&p).await, Err(Error::CodeNotDelivered)));
        w.sender.fail(false);
        // No minute to wait: the failed code was withdrawn.
        w.send(&p).await.unwrap();
    }
);

db_test!(
    async fn codes_are_stored_hashed(db) {
        let w = World::new(db).await;
        let code = w.send(&phone("13800138000")).await.unwrap();
        let (hash,): (String,) = sqlx::query_as("SELECT code_hash FROM login_codes")
            .fetch_one(w.db.pool())
            .await
            .unwrap();
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&code));
    }
);

db_test!(
    async fn joining_needs_the_terms_and_records_consent(db) {
        let w = World::new(db).await;
        let p = phone("13800138000");
        let refused = w.sign_in(&p, Consent::default()).await;
        assert!(matches!(refused, Err(Error::TermsNotAccepted)));
        w.clock.advance_ms(MINUTE);
        let signed = w
            .sign_in(&p, Consent { terms_accepted: true, marketing: true })
            .await
            .unwrap();
        assert!(signed.joined);
        assert_eq!(signed.member.terms_version, w.brand.terms_version);
        assert_eq!(signed.member.terms_accepted_at, T0 + MINUTE);
        assert!(signed.member.marketing_consent());
        let export = members::export(&w.db, &w.brand, signed.member.id).await.unwrap();
        let kinds: Vec<_> = export.consents.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(kinds, ["terms_accepted", "marketing_granted"]);
    }
);

db_test!(
    async fn a_returning_member_signs_in_without_ticking_anything(db) {
        let w = World::new(db).await;
        let p = phone("13800138000");
        let first = w.sign_in(&p, AGREED).await.unwrap();
        w.clock.advance_ms(MINUTE);
        let again = w.sign_in(&p, Consent::default()).await.unwrap();
        assert!(!again.joined);
        assert_eq!(again.member.id, first.member.id);
        assert_eq!(again.member.member_no, first.member.member_no);
        assert_ne!(again.token, first.token, "every sign-in gets a new token");
    }
);

db_test!(
    async fn sessions_belong_to_one_brand_and_end_on_sign_out(db) {
        let w = World::new(db.clone()).await;
        let other = brand(&db, "other").await;
        let policy = SessionPolicy::default();
        let signed = w.sign_in(&phone("13800138000"), AGREED).await.unwrap();
        let id = live(&db, &w.clock, &policy, &w.brand, &signed.token).await;
        assert_eq!(id, Some(signed.member.id));
        let foreign = live(&db, &w.clock, &policy, &other, &signed.token).await;
        assert_eq!(foreign, None);
        sessions::end(&db, &w.clock, w.brand.id, &signed.token).await.unwrap();
        let ended = live(&db, &w.clock, &policy, &w.brand, &signed.token).await;
        assert_eq!(ended, None);
    }
);

db_test!(
    async fn sessions_expire_when_idle_and_in_any_case(db) {
        let w = World::new(db.clone()).await;
        let policy = SessionPolicy { idle_ms: 10 * MINUTE, absolute_ms: 30 * MINUTE };
        let p = phone("13800138000");
        let code = w.send(&p).await.unwrap();
        let signed = members::sign_in(
            &db, &w.clock, &w.secret, &w.policy, &policy, &w.brand, &p,
            &LoginCode::parse(&code).unwrap(), AGREED,
        )
        .await
        .unwrap();
        // Visiting every nine minutes keeps it alive, but not past 30 minutes.
        for _ in 0..3 {
            w.clock.advance_ms(9 * MINUTE);
            let alive = live(&db, &w.clock, &policy, &w.brand, &signed.token).await;
            assert!(alive.is_some());
        }
        w.clock.advance_ms(4 * MINUTE);
        let expired = live(&db, &w.clock, &policy, &w.brand, &signed.token).await;
        assert!(expired.is_none());

        w.clock.advance_ms(MINUTE);
        let code = w.send(&p).await.unwrap();
        let fresh = members::sign_in(
            &db, &w.clock, &w.secret, &w.policy, &policy, &w.brand, &p,
            &LoginCode::parse(&code).unwrap(), AGREED,
        )
        .await
        .unwrap();
        // Opening the card alone keeps a session alive just the same.
        for _ in 0..2 {
            w.clock.advance_ms(9 * MINUTE);
            let card = loyalty::access::member_card(&db, &w.clock, &policy, w.brand.clone(), &fresh.token)
                .await
                .unwrap();
            assert!(card.is_some());
        }
        w.clock.advance_ms(11 * MINUTE);
        let idle = live(&db, &w.clock, &policy, &w.brand, &fresh.token).await;
        assert!(idle.is_none());
    }
);

db_test!(
    async fn the_card_code_resolves_for_one_window_either_side_and_never_after(db) {
        let w = World::new(db.clone()).await;
        let signed = w.sign_in(&phone("13800138000"), AGREED).await.unwrap();
        let m = &signed.member;
        let code = member_code::current(&w.secret, &w.clock, w.brand.id, m.id, &m.member_no);
        let found = member_code::resolve(&mut db.acquire().await.unwrap(), &w.clock, &w.secret, w.brand.id, &code.grouped()).await.unwrap();
        assert_eq!(found.id, m.id);
        w.clock.advance_ms(MINUTE);
        assert!(member_code::resolve(&mut db.acquire().await.unwrap(), &w.clock, &w.secret, w.brand.id, &code.digits).await.is_ok());
        w.clock.advance_ms(MINUTE);
        assert!(matches!(
            member_code::resolve(&mut db.acquire().await.unwrap(), &w.clock, &w.secret, w.brand.id, &code.digits).await,
            Err(Error::MemberNotFound)
        ));
        // Another brand never accepts it.
        let other = brand(&db, "other").await;
        let now = member_code::current(&w.secret, &w.clock, w.brand.id, m.id, &m.member_no);
        assert!(member_code::resolve(&mut db.acquire().await.unwrap(), &w.clock, &w.secret, other.id, &now.digits).await.is_err());
    }
);

db_test!(
    async fn a_profile_is_saved_and_marketing_consent_can_be_withdrawn(db) {
        let w = World::new(db.clone()).await;
        let signed = w.sign_in(&phone("13800138000"), Consent { terms_accepted: true, marketing: true }).await.unwrap();
        let profile = Profile {
            display_name: "  王小明 ".into(),
            birthday: Some(Birthday::new(2, 29, None).unwrap()),
            gender: Gender::Male,
            dietary: vec![Diet::NoSpicy, Diet::Halal, Diet::NoSpicy],
            allergies: "花生".into(),
            marketing: false,
            sensitive: true,
            language: Some(Language::En),
        };
        let mut conn = db.pool().acquire().await.unwrap();
        let m = members::update_profile(&mut conn, &w.clock, w.brand.id, signed.member.id, profile).await.unwrap();
        drop(conn);
        assert_eq!(m.display_name, "王小明");
        assert_eq!(m.birthday, Some(Birthday { month: 2, day: 29, year: None }));
        assert_eq!(m.dietary, vec![Diet::NoSpicy, Diet::Halal]);
        assert_eq!(m.language, Some(Language::En));
        assert!(!m.marketing_consent());
        let export = members::export(&db, &w.brand, m.id).await.unwrap();
        let kinds: Vec<&str> = export.consents.iter().map(|c| c.kind.as_str()).collect();
        assert!(kinds.ends_with(&["marketing_withdrawn", "sensitive_granted"]), "{kinds:?}");
        let mut conn = db.pool().acquire().await.unwrap();
        let too_long = Profile { display_name: "名".repeat(41), ..Profile::default() };
        assert!(members::update_profile(&mut conn, &w.clock, w.brand.id, m.id, too_long).await.is_err());
    }
);

db_test!(
    async fn an_erased_member_leaves_no_personal_data_and_can_join_again_as_new(db) {
        let w = World::new(db.clone()).await;
        let p = phone("13800138000");
        let signed = w.sign_in(&p, AGREED).await.unwrap();
        let mut conn = db.pool().acquire().await.unwrap();
        let profile = Profile { display_name: "小明".into(), allergies: "虾".into(), sensitive: true, ..Profile::default() };
        members::update_profile(&mut conn, &w.clock, w.brand.id, signed.member.id, profile).await.unwrap();
        members::erase(&mut conn, &w.clock, w.brand.id, signed.member.id).await.unwrap();
        drop(conn);
        let row: (Option<String>, String, String, String) = sqlx::query_as(
            "SELECT phone, display_name, allergies, status FROM members WHERE id = $1",
        )
        .bind(signed.member.id.0)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(row, (None, String::new(), String::new(), "erased".to_owned()));
        let (codes,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM login_codes")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(codes, 0, "the phone's codes went with the account");
        let gone = sessions::resolve(&db, &w.clock, &SessionPolicy::default(), w.brand.id, &signed.token).await.unwrap();
        assert!(gone.is_none());
        w.clock.advance_ms(MINUTE);
        let again = w.sign_in(&p, AGREED).await.unwrap();
        assert!(again.joined);
        assert_ne!(again.member.id, signed.member.id);
    }
);

db_test!(
    async fn members_of_one_brand_are_invisible_to_another(db) {
        let w = World::new(db.clone()).await;
        let other = brand(&db, "other").await;
        let signed = w.sign_in(&phone("13800138000"), AGREED).await.unwrap();
        assert!(matches!(members::find(&db, other.id, signed.member.id).await, Err(Error::MemberNotFound)));
        assert!(members::find_by_no(&mut db.acquire().await.unwrap(), other.id, &signed.member.member_no).await.is_err());
        let mut conn = db.pool().acquire().await.unwrap();
        assert!(members::erase(&mut conn, &w.clock, other.id, signed.member.id).await.is_err());
    }
);

db_test!(
    async fn codes_older_than_a_day_are_purged_and_recent_ones_kept(db) {
        let w = World::new(db.clone()).await;
        w.send(&phone("13800138000")).await.unwrap();
        w.clock.advance_ms(23 * 60 * MINUTE);
        w.send(&phone("13900139000")).await.unwrap();
        w.clock.advance_ms(2 * 60 * MINUTE);
        assert_eq!(otp::purge_old(&db, &w.clock).await.unwrap(), 1);
        let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM login_codes")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(left, 1);
    }
);

db_test!(
    async fn a_failed_delivery_leaves_the_previous_code_working(db) {
        let w = World::new(db).await;
        let p = phone("13800138000");
        let first = w.send(&p).await.unwrap();
        w.clock.advance_ms(MINUTE);
        w.sender.fail(true);
        assert!(matches!(w.send(&p).await, Err(Error::CodeNotDelivered)));
        w.verify(&p, &first).await.unwrap();
    }
);

db_test!(
    async fn the_resend_wait_is_per_brand_and_says_nothing_about_other_restaurants(db) {
        let w = World::new(db.clone()).await;
        let other = brand(&db, "other").await;
        let p = phone("13800138000");
        w.send(&p).await.unwrap();
        otp::send(&db, &w.clock, &w.secret, &w.policy, &w.sender, &other, &p, IP, Language::ZhCn)
            .await
            .unwrap();
        assert!(matches!(w.send(&p).await, Err(Error::CodeResendTooSoon { .. })));
    }
);

db_test!(
    async fn a_phone_that_deleted_its_account_joins_again_without_a_second_welcome(db) {
        use loyalty::coupons::{self, NewTemplate, Rule};
        use loyalty::marketing::{automation, referrals};
        let clock = FixedClock::at(T0);
        let (brand, _) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        // The welcome: a signup bonus, a welcome coupon, a join automation.
        let mut conn = db.acquire().await.unwrap();
        let rules = loyalty::points::rules::LoyaltyRules { signup_bonus_points: 100, ..Default::default() };
        loyalty::points::rules::save(&mut conn, brand.id, &rules).await.unwrap();
        coupons::create_template(&mut conn, &clock, brand.id, &NewTemplate { welcome: true, ..NewTemplate::new(Rule::gift("酸梅汤")) }).await.unwrap();
        drop(conn);
        let owner = loyalty::testing::owner(&db, brand.id).await;
        let join_gift = automation::NewAutomation { trigger: automation::Trigger::Join, template: None, points: Some(20), message: None };
        automation::create(&db, &clock, &owner, join_gift).await.unwrap();
        let welcomed = |m: members::MemberId| {
            let (db, clock, brand) = (&db, &clock, &brand);
            async move {
                let member = members::find(db, brand.id, m).await.unwrap();
                (member.points_balance, coupons::wallet(db, clock, brand.id, m).await.unwrap().len())
            }
        };

        let friend = loyalty::testing::join_member(&db, &clock, &brand, "13900139000").await;
        let first = loyalty::testing::join_member(&db, &clock, &brand, "13800138000").await;
        assert_eq!(automation::run_events(&db, &clock, &brand).await.unwrap(), 2);
        assert_eq!(welcomed(first).await, (120, 1), "bonus, join automation and the welcome coupon");
        members::leave(&db, &clock, &loyalty::access::Member::for_tests(brand.clone(), first)).await.unwrap();

        // The same phone joins again: a member, without a second welcome.
        let again = loyalty::testing::join_member(&db, &clock, &brand, "13800138000").await;
        assert_ne!(again, first);
        assert_eq!(automation::run_events(&db, &clock, &brand).await.unwrap(), 0);
        assert_eq!(welcomed(again).await, (0, 0));
        // Nor a referral reward for bringing it back.
        let code = referrals::code_for(&db, brand.id, friend).await.unwrap();
        assert_eq!(referrals::link(&db, &clock, brand.id, again, &code).await.unwrap(), referrals::Linked::AlreadyReferred);
        // The phone itself is not kept: only a keyed hash of it.
        let kept: Vec<(String,)> = sqlx::query_as("SELECT phone_key FROM welcomed_phones").fetch_all(db.pool()).await.unwrap();
        assert_eq!(kept.len(), 2);
        assert!(kept.iter().all(|(k,)| k.len() == 64 && !k.contains("13800138000")));

        // Another brand welcomes the phone as its own new member.
        let (other, _) = loyalty::testing::brand_with_store(&db, &clock, "xibei").await;
        let mut conn = db.acquire().await.unwrap();
        loyalty::points::rules::save(&mut conn, other.id, &rules).await.unwrap();
        drop(conn);
        let there = loyalty::testing::join_member(&db, &clock, &other, "13800138000").await;
        assert_eq!(members::find(&db, other.id, there).await.unwrap().points_balance, 100);

        // Two years after the phone was last seen, its welcome is forgotten.
        clock.advance_ms(members::WELCOME_REMEMBERED_MS + 1);
        assert_eq!(members::forget_old_welcomes(&db, &clock).await.unwrap(), 3);
    }
);

db_test!(
    async fn allergies_and_diet_are_kept_only_with_their_own_consent_and_go_when_it_is_withdrawn(db) {
        let w = World::new(db.clone()).await;
        let signed = w.sign_in(&phone("13800138000"), AGREED).await.unwrap();
        let id = signed.member.id;
        let save = |profile: Profile| {
            let (db, w) = (&db, &w);
            async move {
                let mut conn = db.pool().acquire().await.unwrap();
                members::update_profile(&mut conn, &w.clock, w.brand.id, id, profile).await
            }
        };
        let with_allergy = || Profile { allergies: "虾".into(), dietary: vec![Diet::Halal], ..Profile::default() };
        // Typed without the consent: refused, nothing kept, nothing lost unseen.
        assert!(matches!(
            save(with_allergy()).await,
            Err(Error::Invalid { field: "sensitive_consent", .. })
        ));
        // With it: kept, and the consent recorded.
        let m = save(Profile { sensitive: true, ..with_allergy() }).await.unwrap();
        assert_eq!((m.allergies.as_str(), m.dietary.len(), m.sensitive_consent()), ("虾", 1, true));
        // Unticked: withdrawn, and both are deleted.
        let m = save(with_allergy()).await.unwrap();
        assert_eq!((m.allergies.as_str(), m.dietary.len(), m.sensitive_consent()), ("", 0, false));
        let kinds: Vec<String> = members::export(&db, &w.brand, id).await.unwrap().consents.into_iter().map(|c| c.kind).collect();
        assert_eq!(kinds, ["terms_accepted", "sensitive_granted", "sensitive_withdrawn"]);
        // Other fields save without it.
        let m = save(Profile { display_name: "小明".into(), ..Profile::default() }).await.unwrap();
        assert_eq!(m.display_name, "小明");
    }
);

db_test!(
    async fn after_a_key_rotation_what_the_previous_key_made_still_counts(db) {
        const OLD: &[u8] = b"the key before the rotation, 32 characters or more";
        const NEW: &[u8] = b"the key after the rotation, 32 characters or more";
        let mut w = World::new(db.clone()).await;
        w.secret = ServerSecret::from_master(OLD);
        let phone = Phone::parse("86", "13800138000").unwrap();
        // A member joins and remembers their welcome under the old key; a
        // code is on its way and a card is on the screen when the key turns.
        let first = w.sign_in(&phone, AGREED).await.unwrap().member;
        let code = w.send(&Phone::parse("86", "13900139000").unwrap()).await.unwrap();
        let card = member_code::current(&w.secret, &w.clock, w.brand.id, first.id, &first.member_no);

        // Without the previous key none of it would count.
        w.secret = ServerSecret::from_master(NEW);
        let friend = Phone::parse("86", "13900139000").unwrap();
        assert!(member_code::resolve(&mut db.acquire().await.unwrap(), &w.clock, &w.secret, w.brand.id, &card.digits).await.is_err());

        w.secret = ServerSecret::from_master(NEW).with_previous(&[OLD]);
        assert!(member_code::resolve(&mut db.acquire().await.unwrap(), &w.clock, &w.secret, w.brand.id, &card.digits).await.is_ok());
        w.verify(&friend, &code).await.expect("the code sent before the rotation");
        // What is made now is made with the new key alone.
        let now = member_code::current(&w.secret, &w.clock, w.brand.id, first.id, &first.member_no);
        let new_only = ServerSecret::from_master(NEW);
        assert!(member_code::resolve(&mut db.acquire().await.unwrap(), &w.clock, &new_only, w.brand.id, &now.digits).await.is_ok());

        // The phone's welcome is found and moves to the new key: it leaves,
        // comes back, and is no new member to welcome.
        members::leave(&db, &w.clock, &loyalty::access::Member::for_tests(w.brand.clone(), first.id)).await.unwrap();
        let again = w.sign_in(&phone, AGREED).await.unwrap().member;
        let (welcomed,): (i64,) = sqlx::query_as("SELECT welcomed FROM members WHERE id = $1")
            .bind(again.id.0)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(welcomed, 0, "the welcome remembered under the old key");
        let (keys,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM welcomed_phones")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(keys, 1, "one memory of the phone, under the new key");
    }
);
