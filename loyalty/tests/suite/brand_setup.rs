//! Brand settings on both backends: profile with embed origins, terms with
//! versions, rules with the feedback reward, and the tier table.

use loyalty::brands::settings::{self, Profile, TierEdit};
use loyalty::brands::{self, Language, ThemeColor};
use loyalty::feedback::RewardRule;
use loyalty::{db_test, points::rules, points::tiers, Error, FixedClock};

const T0: i64 = 1_795_579_200_000;

db_test!(
    async fn an_owner_changes_every_brand_setting_and_each_is_audited(db) {
        let clock = FixedClock::at(T0);
        let (brand, _) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let actor = loyalty::testing::owner(&db, brand.id).await;

        let mut tx = db.begin().await.unwrap();
        settings::save_profile(&mut tx, &clock, &actor, Profile {
            name: "老马家".into(),
            theme_color: ThemeColor::parse("#1f6f5c").unwrap(),
            default_language: Language::ZhTw,
            time_zone: "Asia/Taipei".into(),
            embed_origins: settings::parse_origins("https://laoma.example.com").unwrap(),
            sms_signature: "【老马家】".into(),
        }).await.unwrap();
        tx.commit().await.unwrap();
        let b = brands::find(&db, brand.id).await.unwrap();
        assert_eq!((b.name.as_str(), b.default_language, b.time_zone.as_str()), ("老马家", Language::ZhTw, "Asia/Taipei"));
        assert_eq!(b.embed_origins, ["https://laoma.example.com"]);
        assert_eq!(b.signature(), "老马家", "stored without the brackets the provider adds");

        let mut tx = db.begin().await.unwrap();
        assert!(matches!(
            settings::publish_terms(&mut tx, &clock, &actor, &b.terms_version, "新的条款").await,
            Err(Error::Invalid { field: "terms_version", .. })
        ));
        settings::publish_terms(&mut tx, &clock, &actor, "v2", "新的条款").await.unwrap();
        tx.commit().await.unwrap();
        let b = brands::find(&db, brand.id).await.unwrap();
        assert_eq!((b.terms_version.as_str(), b.terms_text.as_str()), ("v2", "新的条款"));

        let mut conn = db.acquire().await.unwrap();
        let mut r = rules::load(&mut conn, &b).await.unwrap();
        drop(conn);
        r.earn_fen_per_point = 50;
        r.redeem_cap_pct = 30;
        let mut tx = db.begin().await.unwrap();
        let bad = rules::LoyaltyRules { redeem_cap_pct: 101, ..r.clone() };
        assert!(settings::save_rules(&mut tx, &clock, &actor, bad, RewardRule { points: 5, coupon: None }).await.is_err());
        settings::save_rules(&mut tx, &clock, &actor, r, RewardRule { points: 5, coupon: None }).await.unwrap();
        tx.commit().await.unwrap();
        let mut conn = db.acquire().await.unwrap();
        assert_eq!(rules::load(&mut conn, &b).await.unwrap().earn_fen_per_point, 50);
        assert_eq!(loyalty::feedback::reward_rule(&mut conn, b.id).await.unwrap().points, 5);
        let table = tiers::load(&mut conn, b.id).await.unwrap();
        drop(conn);

        let mut edits: Vec<TierEdit> = table.tiers().iter().map(TierEdit::from).collect();
        edits[1].name_zh_cn = "银卡VIP".into();
        edits[1].threshold_fen = 50_000;
        let mut tx = db.begin().await.unwrap();
        settings::save_tiers(&mut tx, &clock, &actor, &edits).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = db.begin().await.unwrap();
        edits[1].name_zh_cn = "不会保存".into();
        edits[2].threshold_fen = 1;
        assert!(settings::save_tiers(&mut tx, &clock, &actor, &edits).await.is_err(), "thresholds must rise");
        drop(tx);
        let mut conn = db.acquire().await.unwrap();
        let t = tiers::load(&mut conn, b.id).await.unwrap();
        assert_eq!((t.by_rank(1).name_zh_cn.as_str(), t.by_rank(1).threshold_fen), ("银卡VIP", 50_000), "the refused save changed nothing");
        drop(conn);

        let actions: Vec<_> = loyalty::staff::audit::list(&db, b.id, None, 10).await.unwrap().into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["brand.tiers", "brand.rules", "brand.terms", "brand.update"]);
    }
);

db_test!(
    async fn a_logo_is_stored_as_bytes_and_versioned(db) {
        let clock = FixedClock::at(T0);
        let (brand, _) = loyalty::testing::brand_with_store(&db, &clock, "laoma").await;
        let actor = loyalty::testing::owner(&db, brand.id).await;
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\x00";
        let mut tx = db.begin().await.unwrap();
        assert!(settings::save_logo(&mut tx, &clock, &actor, Some(b"<svg/>")).await.is_err());
        settings::save_logo(&mut tx, &clock, &actor, Some(png)).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(brands::find(&db, brand.id).await.unwrap().logo_version, T0);
        let (kind, bytes) = settings::logo(&db, brand.id).await.unwrap().unwrap();
        assert_eq!((kind.as_str(), bytes.as_slice()), ("image/png", &png[..]));
        let mut tx = db.begin().await.unwrap();
        settings::save_logo(&mut tx, &clock, &actor, None).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(brands::find(&db, brand.id).await.unwrap().logo_version, 0);
        assert!(settings::logo(&db, brand.id).await.unwrap().is_none());
    }
);
