//! Text messages as a member and an owner meet them: the owner's provider
//! templates with their variables filled, the opt-out, the sending hours
//! and the day's budget, the record of every send with the provider's
//! reason, and an opt-out by reply.

use std::sync::Arc;

use loyalty::brands::{Brand, Language};
use loyalty::coupons::{self, NewTemplate, Rule};
use loyalty::infra::jobs::{self, Runner};
use loyalty::marketing::automation::{self, NewAutomation, Trigger};
use loyalty::marketing::delivery::{Failure, Purpose};
use loyalty::marketing::messages::{self, SettingsForm};
use loyalty::marketing::templates::{self, TemplateForm, Var};
use loyalty::members::otp::{self, OtpPolicy};
use loyalty::members::phone::Phone;
use loyalty::members::{self, MemberId, Profile};
use loyalty::testing::CapturingSender;
use loyalty::{db_test, Db, Error, FixedClock};

/// 2026-11-25 10:30 in Shanghai, the brand's zone.
const T0: i64 = 1_795_573_800_000;
const HOUR: i64 = 60 * 60 * 1000;

struct Shop {
    db: Db,
    clock: FixedClock,
    brand: Brand,
    sender: CapturingSender,
    runner: Runner,
    owner: loyalty::access::Owner,
}

impl Shop {
    async fn open(db: Db, slug: &str) -> Shop {
        let clock = FixedClock::at(T0);
        let (brand, _) = loyalty::testing::brand_with_store(&db, &clock, slug).await;
        let sender = CapturingSender::default();
        let runner = Runner::new("server-a", Arc::new(sender.clone()));
        let owner = loyalty::testing::owner(&db, brand.id).await;
        Shop {
            db,
            clock,
            brand,
            sender,
            runner,
            owner,
        }
    }

    /// A member who agreed to marketing, with a name.
    async fn fan(&self, national: &str, name: &str, language: Option<Language>) -> MemberId {
        let m = loyalty::testing::join_member(&self.db, &self.clock, &self.brand, national).await;
        let mut tx = self.db.begin().await.unwrap();
        let profile = Profile {
            display_name: name.into(),
            birthday: None,
            gender: Default::default(),
            dietary: Vec::new(),
            allergies: String::new(),
            marketing: true,
            sensitive: false,
            language,
        };
        members::update_profile(&mut tx, &self.clock, self.brand.id, m, profile)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        m
    }

    async fn welcome(&self, message: &str, coupon: bool) -> automation::AutomationId {
        let template = if coupon {
            let mut conn = self.db.pool().acquire().await.unwrap();
            Some(
                coupons::create_template(
                    &mut conn,
                    &self.clock,
                    self.brand.id,
                    &NewTemplate::new(Rule::amount_off(10_000, 2_000)),
                )
                .await
                .unwrap(),
            )
        } else {
            None
        };
        let new = NewAutomation {
            trigger: Trigger::Join,
            template,
            points: Some(100),
            message: Some(message.into()),
        };
        automation::create(&self.db, &self.clock, &self.owner, new)
            .await
            .unwrap()
    }

    async fn run(&self) -> jobs::Ran {
        jobs::run_due(&self.db, &self.clock, &self.runner)
            .await
            .unwrap()
    }

    async fn settings(&self, start: &str, end: &str, cap: &str) {
        let form = SettingsForm {
            window_start: start.into(),
            window_end: end.into(),
            marketing_cap: cap.into(),
            sign_in_cap: String::new(),
            price_per_100: "4.50".into(),
        };
        messages::save_settings(&self.db, &self.clock, &self.owner, form.settings().unwrap())
            .await
            .unwrap();
    }

    async fn today(&self) -> messages::Today {
        messages::today(&self.db, &self.clock, &self.brand)
            .await
            .unwrap()
    }
}

db_test!(
    async fn a_message_goes_out_under_the_owners_template_with_its_variables_filled(db) {
        let shop = Shop::open(db, "laoma").await;
        let welcome = shop
            .welcome("{name}您好，{brand}送您{coupon}和积分，现有{points}积分，券{date}前有效", true)
            .await;
        let form = |language: &str, code: &str, body: &str| TemplateForm {
            purpose: format!("automation:{}", welcome.0),
            language: language.into(),
            code: code.into(),
            body: body.into(),
        };
        templates::save(&shop.db, &shop.clock, &shop.owner,
            form("zh-CN", "SMS_100001", "${name}您好，送您${coupon}，现有${points}积分，${date}前有效 拒收请回复R")).await.unwrap();
        templates::save(&shop.db, &shop.clock, &shop.owner,
            form("en", "SMS_100002", "Hi {name}: {coupon} for you, {points} points, until {date} Reply R to opt out")).await.unwrap();
        shop.fan("13800138000", "王芳", None).await;
        shop.fan("13900139000", "", Some(Language::En)).await;
        shop.run().await;

        let sent = shop.sender.messages();
        assert_eq!(sent.len(), 2, "{sent:?}");
        let wang = sent.iter().find(|m| m.phone.as_str() == "+8613800138000").unwrap();
        assert_eq!(wang.purpose, Purpose::Marketing);
        assert_eq!(wang.template_code.as_deref(), Some("SMS_100001"));
        assert_eq!(
            wang.params,
            vec![
                (Var::Name, "王芳".to_owned()),
                (Var::Coupon, "满100减20元券".to_owned()),
                (Var::Points, "100".to_owned()),
                (Var::Date, "12月25日".to_owned()),
            ]
        );
        assert_eq!(wang.text, "王芳您好，送您满100减20元券，现有100积分，12月25日前有效 拒收请回复R");
        // The member who reads English gets the English template; with no
        // name given, a provider still gets a word rather than a blank.
        let other = sent.iter().find(|m| m.phone.as_str() == "+8613900139000").unwrap();
        assert_eq!(other.template_code.as_deref(), Some("SMS_100002"));
        assert_eq!(
            other.text,
            "Hi member: ¥20 off ¥100 for you, 100 points, until 25 Dec Reply R to opt out"
        );

        let today = shop.today().await;
        assert_eq!((today.marketing.sent, today.marketing.failed), (2, 0));
        // The Chinese one is 44 characters with 【laoma】: one segment; the
        // English one two. At ¥4.50 per 100: 3 segments cost 13 fen.
        assert_eq!(today.marketing.segments, 3);
        assert_eq!(today.cost_fen, 13);
    }
);

db_test!(
    async fn marketing_waits_for_the_sending_hours_and_the_days_budget(db) {
        let shop = Shop::open(db, "laoma").await;
        shop.welcome("{name}，欢迎加入", false).await;
        shop.settings("10:00", "20:00", "1").await;
        // 20:30 in Shanghai: after the owner's window.
        shop.clock.set_ms(T0 + 10 * HOUR);
        shop.fan("13800138000", "王芳", None).await;
        shop.fan("13900139000", "李雷", None).await;
        let ran = shop.run().await;
        assert_eq!(ran.benefits, 2, "the points are given at once");
        assert_eq!(ran.messages_sent, 0, "the messages wait for the morning");
        assert_eq!(shop.today().await.waiting, 2);
        // 09:30 next day: still before the owner's 10:00.
        shop.clock.set_ms(T0 + 23 * HOUR);
        assert_eq!(shop.run().await.messages_sent, 0);
        // 10:30: one message, the day's whole budget; the other waits.
        shop.clock.set_ms(T0 + 24 * HOUR);
        assert_eq!(shop.run().await.messages_sent, 1);
        shop.clock.advance_ms(60_000);
        assert_eq!(shop.run().await.messages_sent, 0, "over the day's budget");
        assert_eq!(shop.today().await.waiting, 1);
        // The day after, the second goes.
        shop.clock.set_ms(T0 + 48 * HOUR);
        assert_eq!(shop.run().await.messages_sent, 1);
        assert_eq!(shop.sender.notices().len(), 2);
        // And the owner cannot open the window to the night.
        let night = SettingsForm {
            window_start: "08:00".into(),
            window_end: "22:00".into(),
            marketing_cap: "10".into(),
            sign_in_cap: String::new(),
            price_per_100: "4.5".into(),
        };
        assert!(night.settings().is_err());
    }
);

db_test!(
    async fn a_number_that_cannot_receive_is_dropped_and_a_busy_provider_retried(db) {
        let shop = Shop::open(db, "laoma").await;
        shop.welcome("欢迎加入", false).await;
        shop.sender.fail_with(Some(Failure::unreachable("isv.MOBILE_NUMBER_ILLEGAL")));
        shop.fan("13800138000", "王芳", None).await;
        shop.run().await;
        shop.sender.fail_with(Some(Failure::transient("isp.SYSTEM_ERROR")));
        shop.fan("13900139000", "李雷", None).await;
        shop.clock.advance_ms(60_000);
        shop.run().await;
        let today = shop.today().await;
        assert_eq!(today.marketing.failed, 2);
        assert_eq!(today.waiting, 1, "the unreachable one is dropped, the other retried");
        let reasons: Vec<&str> = today.recent_failures.iter().map(|f| f.reason.as_str()).collect();
        assert_eq!(reasons, ["isp.SYSTEM_ERROR", "isv.MOBILE_NUMBER_ILLEGAL"]);
        shop.sender.fail_with(None);
        shop.clock.advance_ms(10 * 60_000);
        assert_eq!(shop.run().await.messages_sent, 1);
        assert_eq!(shop.today().await.waiting, 0);

        // Refused for the brand's set-up (a template not approved): the
        // message waits for the owner's fix half an hour at a time, far
        // beyond the five quick attempts.
        shop.sender.fail_with(Some(Failure::refused("isv.SMS_TEMPLATE_ILLEGAL")));
        shop.fan("13700137000", "韩梅", None).await;
        for _ in 0..8 {
            shop.clock.advance_ms(31 * 60_000);
            shop.run().await;
        }
        assert_eq!(shop.today().await.waiting, 1, "still waiting after four hours");
        shop.sender.fail_with(None);
        shop.clock.advance_ms(31 * 60_000);
        assert_eq!(shop.run().await.messages_sent, 1);
    }
);

db_test!(
    async fn sign_in_codes_go_under_the_template_and_every_send_is_counted(db) {
        let shop = Shop::open(db, "laoma").await;
        let phone = Phone::parse("86", "13800138000").unwrap();
        let send = |phone: Phone| {
            let shop = &shop;
            async move {
                otp::send(
                    &shop.db,
                    &shop.clock,
                    &loyalty::testing::secret(),
                    &OtpPolicy::default(),
                    &shop.sender,
                    &shop.brand,
                    &phone,
                    "10.0.0.1",
                    Language::ZhCn,
                )
                .await
            }
        };
        // Without a template of the owner's: the standard text, no code.
        send(phone.clone()).await.unwrap();
        let first = shop.sender.messages().pop().unwrap();
        assert_eq!(first.template_code, None);
        assert!(first.text.starts_with("您的验证码为"), "{}", first.text);
        let form = TemplateForm {
            purpose: "sign_in".into(),
            language: "zh-CN".into(),
            code: "SMS_465000001".into(),
            body: "验证码${code}，5分钟内有效。".into(),
        };
        templates::save(&shop.db, &shop.clock, &shop.owner, form).await.unwrap();
        let other = Phone::parse("86", "13900139000").unwrap();
        send(other.clone()).await.unwrap();
        let second = shop.sender.messages().pop().unwrap();
        assert_eq!(second.template_code.as_deref(), Some("SMS_465000001"));
        assert_eq!(second.params.len(), 1);
        assert_eq!(second.text, format!("验证码{}，5分钟内有效。", second.params[0].1));

        // What the provider says becomes what the member reads.
        let third = Phone::parse("86", "13700137000").unwrap();
        shop.sender.fail_with(Some(Failure::unreachable("isv.MOBILE_NUMBER_ILLEGAL")));
        assert!(matches!(send(third.clone()).await, Err(Error::PhoneCannotReceive)));
        shop.sender.fail_with(Some(Failure::limited("isv.BUSINESS_LIMIT_CONTROL")));
        let fourth = Phone::parse("86", "13600136000").unwrap();
        assert!(matches!(send(fourth).await, Err(Error::CodeLimitReached { .. })));
        shop.sender.fail_with(Some(Failure::refused("isv.SMS_TEMPLATE_ILLEGAL")));
        let fifth = Phone::parse("86", "13500135000").unwrap();
        assert!(matches!(send(fifth).await, Err(Error::CodeNotDelivered)));
        let today = shop.today().await;
        assert_eq!((today.sign_in.sent, today.sign_in.failed), (2, 3));
        assert_eq!(today.recent_failures[0].reason, "isv.SMS_TEMPLATE_ILLEGAL");
        assert_eq!(today.recent_failures[0].outcome, "refused");

        // The owner's own cap on codes a day.
        shop.sender.fail_with(None);
        let form = SettingsForm {
            window_start: "09:00".into(),
            window_end: "21:00".into(),
            marketing_cap: "100".into(),
            sign_in_cap: "2".into(),
            price_per_100: "4.5".into(),
        };
        messages::save_settings(&shop.db, &shop.clock, &shop.owner, form.settings().unwrap())
            .await
            .unwrap();
        let sixth = Phone::parse("86", "13400134000").unwrap();
        assert!(matches!(send(sixth).await, Err(Error::CodeBudgetSpent { .. })));
        let _ = (phone, other, third);
        // The record of sends is kept 90 days.
        assert_eq!(messages::purge_old(&shop.db, &shop.clock).await.unwrap(), 0);
        shop.clock.advance_ms(91 * 24 * HOUR);
        assert_eq!(messages::purge_old(&shop.db, &shop.clock).await.unwrap(), 5);
    }
);

db_test!(
    async fn templates_check_their_variables_and_stay_in_their_brand(db) {
        let shop = Shop::open(db.clone(), "laoma").await;
        let other = Shop::open(db, "xiaoguan").await;
        let theirs = other.welcome("欢迎", false).await;
        let save = |purpose: String, body: &str| TemplateForm {
            purpose,
            language: "zh-CN".into(),
            code: "SMS_1".into(),
            body: body.into(),
        };
        let no_code = templates::save(&shop.db, &shop.clock, &shop.owner, save("sign_in".into(), "欢迎光临"));
        assert!(matches!(no_code.await, Err(Error::Invalid { field: "template_body", .. })));
        let unknown = templates::save(&shop.db, &shop.clock, &shop.owner, save("sign_in".into(), "{code}{phone}"));
        assert!(matches!(unknown.await, Err(Error::Invalid { field: "template_body", .. })));
        let foreign = templates::save(
            &shop.db,
            &shop.clock,
            &shop.owner,
            save(format!("automation:{}", theirs.0), "{name}好 拒收请回复R"),
        );
        assert!(matches!(foreign.await, Err(Error::AutomationNotFound)));
        // The provider sends only the approved text: it must carry the opt-out.
        let bare = templates::save(&other.db, &other.clock, &other.owner, save(format!("automation:{}", theirs.0), "{name}好"));
        assert!(matches!(bare.await, Err(Error::Invalid { field: "template_opt_out", .. })));
        // And it names a coupon only when the automation gives one.
        let promise = templates::save(&other.db, &other.clock, &other.owner,
            save(format!("automation:{}", theirs.0), "送您{coupon} 拒收请回复R"));
        assert!(matches!(promise.await, Err(Error::Invalid { field: "template_body", .. })));
        let id = templates::save(&other.db, &other.clock, &other.owner, save(format!("automation:{}", theirs.0), "{name}好 拒收请回复R"))
            .await
            .unwrap();
        assert!(matches!(
            templates::remove(&shop.db, &shop.clock, &shop.owner, id).await,
            Err(Error::SmsTemplateNotFound)
        ));
        let listed = templates::list(&other.db, other.brand.id).await.unwrap();
        assert_eq!(listed[0].body.source(), "{name}好 拒收请回复R");
        // An automation's own message is checked the same way.
        let bad = automation::create(
            &shop.db,
            &shop.clock,
            &shop.owner,
            NewAutomation {
                trigger: Trigger::Join,
                template: None,
                points: None,
                message: Some("验证码{code}".into()),
            },
        )
        .await;
        assert!(matches!(bad, Err(Error::Invalid { field: "message", .. })));
        let no_coupon = automation::create(
            &shop.db,
            &shop.clock,
            &shop.owner,
            NewAutomation {
                trigger: Trigger::Join,
                template: None,
                points: Some(10),
                message: Some("送您{coupon}".into()),
            },
        )
        .await;
        assert!(matches!(no_coupon, Err(Error::Invalid { field: "message", .. })));
    }
);

db_test!(
    async fn a_reply_of_r_stops_that_signatures_marketing(db) {
        let a = Shop::open(db.clone(), "laoma").await;
        let b = Shop::open(db.clone(), "xiaoguan").await;
        let in_a = a.fan("13800138000", "王芳", None).await;
        let in_b = b.fan("13800138000", "王芳", None).await;
        let phone = Phone::parse("86", "13800138000").unwrap();
        let consent = |shop: &Shop, m: MemberId| {
            let (db, brand) = (shop.db.clone(), shop.brand.id);
            async move { members::find(&db, brand, m).await.unwrap().marketing_consent() }
        };
        // Thanks is not an opt-out.
        let n = messages::reply(&db, &a.clock, Some(a.brand.signature()), &phone, "谢谢").await.unwrap();
        assert_eq!(n, 0);
        let n = messages::reply(&db, &a.clock, Some(&format!("【{}】", a.brand.signature())), &phone, " R ")
            .await
            .unwrap();
        assert_eq!(n, 1);
        assert!(!consent(&a, in_a).await);
        assert!(consent(&b, in_b).await, "another brand's signature is not touched");
        // A reply the provider does not attribute stops every brand's marketing.
        let n = messages::reply(&db, &a.clock, None, &phone, "退订").await.unwrap();
        assert_eq!(n, 1);
        assert!(!consent(&b, in_b).await);
        let (replies,): (i64,) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM member_consents \
             WHERE kind = 'marketing_withdrawn' AND version = 'sms_reply'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(replies, 2, "each withdrawal is on the member's consent record");
    }
);
