//! The coupon wallet and the claim centre, walked through over HTTP the way
//! a phone without JavaScript does it, on the demo brand's coupons.

use crate::common;

use axum::http::StatusCode;
use common::{location, spawn_app, Browser, TestApp};
use loyalty::brands::{self, Brand, BrandSlug};
use loyalty::coupons::{self, CouponCode, Template};
use loyalty::members::MemberId;
use loyalty::money::{ExternalId, Fen};

async fn demo(app: &TestApp) -> Brand {
    brands::find_by_slug(&app._db.db, &BrandSlug::parse("demo").unwrap())
        .await
        .unwrap()
}

/// The demo template whose title (in Simplified Chinese) is `title`.
async fn template(app: &TestApp, title: &str) -> Template {
    let brand = demo(app).await;
    coupons::templates(&app._db.db, brand.id)
        .await
        .unwrap()
        .into_iter()
        .find(|t| app::coupon_text::title(app::i18n::Locale::zh_CN, &t.rule) == title)
        .unwrap_or_else(|| panic!("no demo coupon {title}"))
}

/// The hidden inputs of the claim form for `template`: (template, nonce).
fn claim_form(page: &str, template: i64) -> Option<String> {
    let marker = format!("name=\"template\" value=\"{template}\"");
    let at = page.find(&marker)?;
    let rest = &page[at..];
    let nonce = rest
        .split("name=\"nonce\" value=\"")
        .nth(1)?
        .split('"')
        .next()?;
    Some(nonce.to_owned())
}

async fn member_id(app: &TestApp) -> MemberId {
    let brand = demo(app).await;
    let phone = loyalty::members::phone::Phone::parse("86", "13800138000").unwrap();
    let mut conn = app._db.db.pool().acquire().await.unwrap();
    loyalty::members::find_by_phone(&mut conn, brand.id, &phone)
        .await
        .unwrap()
        .unwrap()
        .id
}

#[both_databases]
async fn a_new_member_finds_the_welcome_coupon_in_the_wallet_with_its_code() {
    let app = spawn_app().await;
    let mut phone = Browser::new(&app);
    phone.join("13800138000", true).await;
    let card = phone.page("/r/demo/card").await;
    assert!(
        card.contains("href=\"/r/demo/coupons\""),
        "the card links to the wallet"
    );
    assert!(
        card.contains("<span class=\"count\">1</span>"),
        "with the count of usable coupons (the welcome gift)"
    );

    let wallet = phone.page("/r/demo/coupons").await;
    assert!(wallet.contains("10元代金券"));
    assert!(wallet.contains("消费满50元可用") || wallet.contains("有效期至"));
    assert!(
        wallet.contains("aria-current=\"page\""),
        "the current tab is marked"
    );
    let code = wallet
        .split("href=\"/r/demo/coupons/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    assert!(CouponCode::parse(&code).is_some(), "{code}");

    let detail = phone.page(&format!("/r/demo/coupons/{code}")).await;
    assert!(detail.contains("结账时出示给收银员"));
    assert!(detail.contains("<svg"), "a QR code for the cashier");
    assert!(detail.contains(&CouponCode::parse(&code).unwrap().grouped()));
    assert!(detail.contains("消费满50元可用"));
    assert!(detail.contains("全部门店可用"));

    // Someone else's code, or no code at all, shows nothing.
    let other = phone.page("/r/demo/coupons/2345623456").await;
    assert!(!other.contains("结账时出示给收银员"));

    phone.cookies.insert("tc_lang".into(), "en".into());
    let english = phone.page("/r/demo/coupons").await;
    assert!(english.contains("¥10 voucher"));
    assert!(english.contains("Available"));
}

#[both_databases]
async fn claiming_twice_with_one_tap_gives_one_coupon_and_the_limit_is_explained() {
    let app = spawn_app().await;
    let mut phone = Browser::new(&app);
    phone.join("13800138000", true).await;
    let offer = template(&app, "满200减50").await;
    let centre = phone.page("/r/demo/claim").await;
    assert!(centre.contains("满200减50"));
    assert!(
        centre.contains("每周三 11:00–14:00 可用"),
        "the lunch 8折 is explained"
    );
    assert!(
        centre.contains("会员等级不足"),
        "the gold coupon is shown but not takeable"
    );
    assert!(
        centre.contains("积分不足"),
        "a new member cannot buy with points yet"
    );
    let nonce = claim_form(&centre, offer.id.0).expect("a claim button");
    let form = [
        ("slug", "demo"),
        ("template", &offer.id.0.to_string()),
        ("nonce", nonce.as_str()),
    ];
    let first = phone.post("/fn/take_coupon", &form).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let to = location(&first);
    assert!(
        to.starts_with("/r/demo/coupons/") && to.ends_with("?taken=claim"),
        "{to}"
    );
    let double_tap = phone.post("/fn/take_coupon", &form).await;
    assert_eq!(
        location(&double_tap),
        to,
        "the same tap finds the same coupon"
    );
    let shown = phone.page(&to).await;
    assert!(shown.contains("领取成功"));

    let again = phone.page("/r/demo/claim").await;
    assert!(again.contains("你已领取过"));
    let nonce = claim_form(&again, offer.id.0);
    assert!(
        nonce.is_none(),
        "no button for a coupon already at its limit"
    );
    let forced = phone
        .post(
            "/fn/take_coupon",
            &[
                ("slug", "demo"),
                ("template", &offer.id.0.to_string()),
                ("nonce", "fresh"),
            ],
        )
        .await;
    assert_eq!(
        location(&forced),
        "/r/demo/claim?error=coupon_limit_reached"
    );
    let refused = phone.page("/r/demo/claim?error=coupon_limit_reached").await;
    assert!(refused.contains("你已经领取过这张优惠券了。"));

    let brand = demo(&app).await;
    let wallet = coupons::wallet(
        &app._db.db,
        &loyalty::SystemClock,
        brand.id,
        member_id(&app).await,
    )
    .await
    .unwrap();
    assert_eq!(
        wallet.iter().filter(|h| h.template.id == offer.id).count(),
        1,
        "one coupon for two posts of one tap"
    );
}

#[both_databases]
async fn points_buy_a_coupon_and_a_used_coupon_moves_to_the_used_tab() {
    let app = spawn_app().await;
    let mut phone = Browser::new(&app);
    phone.join("13800138000", true).await;
    let brand = demo(&app).await;
    let store = loyalty::brands::stores::list(&app._db.db, brand.id)
        .await
        .unwrap()[0]
        .id;
    let member = member_id(&app).await;
    let db = &app._db.db;
    let mut tx = db.begin().await.unwrap();
    loyalty::points::record_purchase(
        &mut tx,
        &loyalty::SystemClock,
        &loyalty::access::PosKey::for_tests(&brand, store),
        member,
        &ExternalId::parse("order_id", "A-1").unwrap(),
        Fen::new(15_000).unwrap(),
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let drink = template(&app, "赠送酸梅汤").await;
    let centre = phone.page("/r/demo/claim").await;
    assert!(centre.contains("用 100 积分兑换"));
    let nonce = claim_form(&centre, drink.id.0).unwrap();
    let bought = phone
        .post(
            "/fn/take_coupon",
            &[
                ("slug", "demo"),
                ("template", &drink.id.0.to_string()),
                ("nonce", &nonce),
            ],
        )
        .await;
    assert!(location(&bought).ends_with("?taken=exchange"));
    let points = phone.page("/r/demo/points").await;
    assert!(
        points.contains("兑换优惠券"),
        "the exchange is in the points history"
    );
    assert!(points.contains(">50<"), "150 earned, 100 spent");

    let code = location(&bought)
        .trim_start_matches("/r/demo/coupons/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let mut tx = db.begin().await.unwrap();
    coupons::redeem(
        &mut tx,
        &loyalty::SystemClock,
        &loyalty::access::PosKey::for_tests(&brand, store),
        &CouponCode::parse(&code).unwrap(),
        &ExternalId::parse("order_id", "A-2").unwrap(),
        Fen::new(3_000).unwrap(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let used = phone.page("/r/demo/coupons?tab=used").await;
    assert!(used.contains("赠送酸梅汤"));
    assert!(used.contains("在 人民广场店 使用"), "used shows where");
    let available = phone.page("/r/demo/coupons").await;
    assert!(!available.contains("赠送酸梅汤"));
}

#[both_databases]
async fn signed_out_visitors_are_sent_to_join_and_back() {
    let app = spawn_app().await;
    let mut phone = Browser::new(&app);
    for page in ["/r/demo/coupons", "/r/demo/claim"] {
        let response = phone.get(page).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{page}");
        assert!(
            location(&response).starts_with("/r/demo/join?next="),
            "{page}"
        );
    }
    let taken = phone
        .post(
            "/fn/take_coupon",
            &[("slug", "demo"), ("template", "1"), ("nonce", "x")],
        )
        .await;
    assert!(location(&taken).starts_with("/r/demo/join"));
}
