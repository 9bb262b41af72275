//! Joining, signing in and out, the card, the profile and "my data", walked
//! through over HTTP the way a phone without JavaScript does it.

use crate::common;

use axum::http::{header, StatusCode};
use common::{body_text, header_str, location, spawn_app, spawn_app_with, Browser};
use loyalty::brands::{self, BrandSlug, Language, NewBrand, ThemeColor};

const PHONE: &str = "13800138000";

#[both_databases]
async fn a_new_member_joins_with_a_code_and_lands_on_their_card() {
    let app = spawn_app().await;
    let mut phone = Browser::new(&app);
    let form = phone.page("/r/demo/join").await;
    assert!(form.contains("action=\"/fn/request_code\""));
    assert!(form.contains("中国大陆 +86"));

    let sent = phone
        .post(
            "/fn/request_code",
            &[
                ("slug", "demo"),
                ("country", "86"),
                ("phone", "138 0013 8000"),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&sent), "/r/demo/join?sent=1");
    assert!(
        !location(&sent).contains(PHONE),
        "the phone never goes into a URL"
    );

    let step_two = phone.page("/r/demo/join?sent=1").await;
    assert!(step_two.contains("验证码已发送至 +86 138****8000"));
    assert!(
        step_two.contains("name=\"terms\""),
        "a new member is asked for consent"
    );
    assert!(step_two.contains("name=\"marketing\""));
    assert!(
        !step_two.contains("name=\"marketing\" checked"),
        "marketing is never pre-ticked"
    );

    let code = app.sender.last_code("+8613800138000").unwrap();
    let signed = phone.verify(&code).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed), "/r/demo/card?welcome=1");
    let session = phone
        .last_set_cookies
        .iter()
        .find(|c| c.starts_with("tc_m"))
        .expect("a session cookie");
    assert!(session.contains("HttpOnly"));
    assert!(session.contains("SameSite=Lax"));
    assert!(!session.contains("Secure"), "plain HTTP in development");

    let card = phone.page("/r/demo/card?welcome=1").await;
    assert!(card.contains("欢迎！你已成为 山野小馆 的会员。"));
    assert!(card.contains("普通会员"));
    assert!(card.contains("class=\"mc-points\">0<"));
    assert!(card.contains("<svg"), "the QR code is drawn in the page");
    let digits = card
        .split("data-code=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    assert_eq!(digits.len(), 14);
    assert!(digits.bytes().all(|b| b.is_ascii_digit()));
}

#[both_databases]
async fn a_wrong_code_is_explained_in_the_members_language() {
    let app = spawn_app().await;
    let mut phone = Browser::new(&app);
    phone.request_code(PHONE).await;
    let code = app.sender.last_code("+8613800138000").unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = phone.verify(wrong).await;
    assert_eq!(location(&refused), "/r/demo/join?error=code_wrong&left=4");
    let page = phone.page("/r/demo/join?error=code_wrong&left=4").await;
    assert!(page.contains("验证码不正确，还可以尝试 4 次。"));
    assert!(page.contains("role=\"alert\""));
    phone.cookies.insert("tc_lang".into(), "en".into());
    let page = phone.page("/r/demo/join?error=code_wrong&left=4").await;
    assert!(
        page.contains("That code isn&#x27;t right. 4 tries left.")
            || page.contains("That code isn't right. 4 tries left.")
    );
}

#[both_databases]
async fn six_wrong_codes_lock_the_code_even_against_the_right_one() {
    let app = spawn_app().await;
    let mut phone = Browser::new(&app);
    phone.request_code(PHONE).await;
    let code = app.sender.last_code("+8613800138000").unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mut last = String::new();
    for _ in 0..6 {
        let r = phone.verify(wrong).await;
        last = location(&r);
    }
    assert!(
        last.starts_with("/r/demo/join?error=code_too_many_tries"),
        "{last}"
    );
    let right = phone.verify(&code).await;
    assert!(location(&right).starts_with("/r/demo/join?error=code_too_many_tries"));
    assert!(
        !phone.cookies.keys().any(|k| k.starts_with("tc_m")),
        "never signed in"
    );
}

#[both_databases]
async fn joining_without_accepting_the_terms_is_refused_and_keeps_the_code() {
    let app = spawn_app().await;
    let mut phone = Browser::new(&app);
    let refused = phone.join(PHONE, false).await;
    assert_eq!(location(&refused), "/r/demo/join?error=terms_not_accepted");
    let code = app.sender.last_code("+8613800138000").unwrap();
    let signed = phone.verify(&code).await;
    assert_eq!(location(&signed), "/r/demo/card?welcome=1");
}

#[both_databases]
async fn a_malformed_phone_is_refused_with_the_number_kept_in_the_form() {
    let app = spawn_app().await;
    let mut phone = Browser::new(&app);
    let r = phone
        .post(
            "/fn/request_code",
            &[("slug", "demo"), ("country", "86"), ("phone", "12345")],
        )
        .await;
    let to = location(&r);
    assert!(
        to.starts_with("/r/demo/join?error=invalid_input&field=phone"),
        "{to}"
    );
    let page = phone.page(&to).await;
    assert!(page.contains("手机号格式不正确"));
    assert!(page.contains("value=\"12345\""));
    assert_eq!(app.sender.count(), 0);
}

#[both_databases]
async fn asking_again_within_a_minute_says_how_long_to_wait() {
    let app = spawn_app().await;
    let mut phone = Browser::new(&app);
    phone.request_code(PHONE).await;
    let again = phone.post("/fn/resend_code", &[("slug", "demo")]).await;
    let to = location(&again);
    assert!(
        to.starts_with("/r/demo/join?error=code_resend_too_soon&secs="),
        "{to}"
    );
    let page = phone.page(&to).await;
    assert!(page.contains("秒后再获取验证码"));
    assert_eq!(app.sender.count(), 1);
}

#[both_databases]
async fn a_provider_outage_is_a_clear_message_not_an_error_page() {
    let app = spawn_app().await;
    app.sender.fail(true);
    let mut phone = Browser::new(&app);
    let r = phone.request_code(PHONE).await;
    assert_eq!(location(&r), "/r/demo/join?error=code_not_delivered");
}

#[both_databases]
async fn every_sign_in_gets_a_new_session_and_sign_out_ends_it() {
    let app = spawn_app().await;
    let mut first = Browser::new(&app);
    first.join(PHONE, true).await;
    let first_token = first
        .cookies
        .iter()
        .find(|(k, _)| k.starts_with("tc_m"))
        .unwrap()
        .1
        .clone();

    let mut second = Browser::new(&app);
    // The first code's resend minute has to pass; use the core's clock-free path:
    // a second phone signs in with its own code instead.
    second.join("13900139000", true).await;
    let second_token = second
        .cookies
        .iter()
        .find(|(k, _)| k.starts_with("tc_m"))
        .unwrap()
        .1
        .clone();
    assert_ne!(first_token, second_token);

    let stolen = first.cookies.clone();
    let out = first.post("/fn/sign_out", &[("slug", "demo")]).await;
    assert_eq!(location(&out), "/r/demo?notice=signed_out");
    assert!(
        !first.cookies.keys().any(|k| k.starts_with("tc_m")),
        "cookie cleared"
    );
    // Replaying the old cookie after sign-out gets nothing.
    first.cookies = stolen;
    let card = first.get("/r/demo/card").await;
    assert_eq!(card.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&card), "/r/demo/join?next=/r/demo/card");
}

#[both_databases]
async fn a_signed_out_visitor_is_sent_to_join_and_brought_back() {
    let app = spawn_app().await;
    let mut phone = Browser::new(&app);
    let me = phone.get("/r/demo/me").await;
    assert_eq!(location(&me), "/r/demo/join?next=/r/demo/me");
    phone
        .post(
            "/fn/request_code",
            &[
                ("slug", "demo"),
                ("country", "86"),
                ("phone", PHONE),
                ("next", "/r/demo/me"),
            ],
        )
        .await;
    let code = app.sender.last_code("+8613800138000").unwrap();
    let signed = phone
        .post(
            "/fn/verify_code",
            &[
                ("slug", "demo"),
                ("code", &code),
                ("terms", "on"),
                ("next", "/r/demo/me"),
            ],
        )
        .await;
    assert_eq!(location(&signed), "/r/demo/me?welcome=1");
    // An off-site `next` is ignored.
    let mut other = Browser::new(&app);
    other
        .post(
            "/fn/request_code",
            &[
                ("slug", "demo"),
                ("country", "86"),
                ("phone", "13900139000"),
            ],
        )
        .await;
    let code = app.sender.last_code("+8613900139000").unwrap();
    let signed = other
        .post(
            "/fn/verify_code",
            &[
                ("slug", "demo"),
                ("code", &code),
                ("terms", "on"),
                ("next", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&signed), "/r/demo/card?welcome=1");
}

#[both_databases]
async fn a_member_of_one_brand_gets_nothing_from_another() {
    let app = spawn_app().await;
    {
        let mut conn = app._db.db.pool().acquire().await.unwrap();
        brands::create(
            &mut conn,
            &loyalty::SystemClock,
            NewBrand {
                slug: BrandSlug::parse("other").unwrap(),
                name: "别家".into(),
                theme_color: ThemeColor::default(),
                default_language: Language::ZhCn,
            },
        )
        .await
        .unwrap();
    }
    let mut phone = Browser::new(&app);
    phone.join(PHONE, true).await;
    let (name, token) = phone
        .cookies
        .iter()
        .find(|(k, _)| k.starts_with("tc_m"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();

    for path in ["/r/other/card", "/r/other/me", "/r/other/me/export"] {
        let r = phone.get(path).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(location(&r).starts_with("/r/other/join"), "{path}");
    }
    // The same token under the other brand's cookie name opens nothing either.
    let other_id = name.trim_start_matches("tc_m").parse::<i64>().unwrap() + 1;
    phone.cookies.insert(format!("tc_m{other_id}"), token);
    let r = phone.get("/r/other/card").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // As the card's island asks: a plain fetch, no HTML wanted.
    let cookie = phone
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let code = app
        .get("/fn/next_card_code?slug=other", &[("cookie", &cookie)])
        .await;
    assert_eq!(code.status(), StatusCode::OK);
    assert_eq!(body_text(code).await, "null");
    let own = app
        .get("/fn/next_card_code?slug=demo", &[("cookie", &cookie)])
        .await;
    assert!(body_text(own).await.contains("\"digits\""));
    // Changing server functions of the other brand act on nobody.
    let delete = phone
        .post(
            "/fn/delete_account",
            &[("slug", "other"), ("confirm", "on")],
        )
        .await;
    assert!(location(&delete).starts_with("/r/other/join"));
    let save = phone
        .post(
            "/fn/save_profile",
            &[
                ("slug", "other"),
                ("display_name", "入侵者"),
                ("birthday_month", ""),
                ("birthday_day", ""),
                ("birth_year", ""),
                ("gender", ""),
                ("allergies", ""),
                ("language", ""),
            ],
        )
        .await;
    assert!(location(&save).starts_with("/r/other/join"));
    let still = phone.page("/r/demo/me").await;
    assert!(
        still.contains("name=\"display_name\""),
        "the demo account is intact"
    );
    assert!(!still.contains("入侵者"));
}

#[both_databases]
async fn a_form_posted_from_another_site_is_refused() {
    let app = spawn_app().await;
    let mut phone = Browser::new(&app);
    let r = phone
        .post_from(
            "https://evil.example",
            "/fn/request_code",
            &[("slug", "demo"), ("country", "86"), ("phone", PHONE)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.sender.count(), 0);
    let lang = phone
        .post_from("https://evil.example", "/lang", &[("lang", "en")])
        .await;
    assert_eq!(lang.status(), StatusCode::FORBIDDEN);
}

#[both_databases]
async fn the_profile_is_saved_and_shown_back() {
    let app = spawn_app().await;
    let mut phone = Browser::new(&app);
    phone.join(PHONE, true).await;
    let saved = phone
        .post(
            "/fn/save_profile",
            &[
                ("slug", "demo"),
                ("display_name", "小明<script>"),
                ("birthday_month", "2"),
                ("birthday_day", "29"),
                ("birth_year", ""),
                ("gender", "male"),
                ("diet_no_spicy", "on"),
                ("allergies", "花生"),
                ("sensitive_consent", "on"),
                ("language", "zh-TW"),
            ],
        )
        .await;
    assert_eq!(location(&saved), "/r/demo/me?saved=1");
    let page = phone.page("/r/demo/me?saved=1").await;
    assert!(
        page.contains("已儲存。"),
        "the chosen language applies at once"
    );
    assert!(
        page.contains("小明&lt;script&gt;"),
        "text is rendered inert"
    );
    assert!(page.contains("value=\"花生\""));
    assert!(page.contains("name=\"diet_no_spicy\" checked"));

    let bad = phone
        .post(
            "/fn/save_profile",
            &[
                ("slug", "demo"),
                ("display_name", ""),
                ("birthday_month", "4"),
                ("birthday_day", "31"),
                ("birth_year", ""),
                ("gender", ""),
                ("allergies", ""),
                ("language", ""),
            ],
        )
        .await;
    assert_eq!(
        location(&bad),
        "/r/demo/me?error=invalid_input&field=birthday&reason=format"
    );
}

#[both_databases]
async fn my_data_downloads_as_json_and_deleting_the_account_erases_it() {
    let app = spawn_app().await;
    let mut phone = Browser::new(&app);
    phone.join(PHONE, true).await;
    // A bill at the till, part of it paid with points.
    let key = common::api_key(&app, "demo").await;
    for (path, body) in [
        (
            "/api/v1/purchases",
            r#"{"order_id":"EXP-1","member":{"phone":"+8613800138000"},"amount_fen":12800}"#,
        ),
        (
            "/api/v1/points/redeem",
            r#"{"order_id":"EXP-2","member":{"phone":"+8613800138000"},"points":20,"amount_fen":5000}"#,
        ),
        (
            "/api/v1/stored-value/top-ups",
            r#"{"top_up_id":"EXP-T","member":{"phone":"+8613800138000"},"amount_fen":30000}"#,
        ),
    ] {
        let r = app
            .send(
                axum::http::Request::post(path)
                    .header(header::AUTHORIZATION, format!("Bearer {key}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .header("idempotency-key", path)
                    .body(axum::body::Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let export = phone.get("/r/demo/me/export").await;
    assert_eq!(export.status(), StatusCode::OK);
    assert!(header_str(&export, header::CONTENT_DISPOSITION)
        .starts_with("attachment; filename=\"tablecard-demo-"));
    assert_eq!(header_str(&export, header::CACHE_CONTROL), "no-store");
    let json: serde_json::Value = serde_json::from_str(&body_text(export).await).unwrap();
    assert_eq!(json["member"]["phone"], "+8613800138000");
    assert_eq!(json["consents"][0]["kind"], "terms_accepted");
    // PIPL art. 45: all of it, not only the profile.
    assert_eq!(json["purchases"][0]["order_id"], "EXP-1");
    assert_eq!(json["purchases"][0]["amount_fen"], 12800);
    assert_eq!(json["points_payments"][0]["points"], 20);
    // The prepaid balance and its history (the demo's 充300送30).
    assert_eq!(
        json["stored_value"],
        serde_json::json!({"principal_fen": 30000, "bonus_fen": 3000})
    );
    assert_eq!(json["stored_value_history"][0]["kind"], "top_up");
    assert_eq!(json["stored_value_history"][0]["reference"], "EXP-T");
    let history = json["points_history"].as_array().unwrap();
    assert!(
        history.iter().any(|e| e["kind"] == "Earn") && history.iter().any(|e| e["kind"] == "Spend"),
        "{history:?}"
    );
    assert!(
        !json["coupons"].as_array().unwrap().is_empty(),
        "the demo's welcome coupon"
    );
    for list in ["checkins", "referrals", "tier_changes", "feedback"] {
        assert!(json[list].is_array(), "{list}");
    }

    let unconfirmed = phone.post("/fn/delete_account", &[("slug", "demo")]).await;
    assert!(location(&unconfirmed).contains("error=confirm_delete"));
    let deleted = phone
        .post("/fn/delete_account", &[("slug", "demo"), ("confirm", "on")])
        .await;
    assert_eq!(location(&deleted), "/r/demo?notice=deleted");
    let landing = phone.page("/r/demo?notice=deleted").await;
    assert!(landing.contains("你的账户已注销"));
    let (phone_col,): (Option<String>,) = sqlx::query_as("SELECT phone FROM members")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    assert_eq!(phone_col, None);
}

#[both_databases]
async fn each_brand_has_an_installable_card() {
    let app = spawn_app().await;
    let manifest = app.get("/r/demo/manifest.webmanifest", &[]).await;
    assert_eq!(manifest.status(), StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&body_text(manifest).await).unwrap();
    assert_eq!(json["start_url"], "/r/demo/card");
    assert_eq!(json["name"], "山野小馆");
    let icon = app.get("/r/demo/icon.svg", &[]).await;
    assert_eq!(header_str(&icon, header::CONTENT_TYPE), "image/svg+xml");
    assert!(body_text(icon).await.contains("山"));
    let page = body_text(app.get("/r/demo/join", &[]).await).await;
    assert!(page.contains("href=\"/r/demo/manifest.webmanifest\""));
    assert_eq!(
        app.get("/r/nobody/manifest.webmanifest", &[])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[both_databases]
async fn over_https_the_session_cookie_is_secure_and_host_prefixed() {
    let app = spawn_app_with(&[
        ("TABLECARD_PUBLIC_URL", "https://card.example.com"),
        ("TABLECARD_CODE_DELIVERY", "log"),
    ])
    .await;
    let mut phone = Browser::new(&app);
    phone
        .post_from(
            "https://card.example.com",
            "/fn/request_code",
            &[("slug", "demo"), ("country", "86"), ("phone", PHONE)],
        )
        .await;
    let code = app.sender.last_code("+8613800138000").unwrap();
    phone
        .post_from(
            "https://card.example.com",
            "/fn/verify_code",
            &[("slug", "demo"), ("code", &code), ("terms", "on")],
        )
        .await;
    let session = phone
        .last_set_cookies
        .iter()
        .find(|c| c.starts_with("__Host-tc_m"))
        .expect("a __Host- session cookie");
    assert!(session.contains("Secure"));
    assert!(session.contains("Path=/"));
    assert!(!session.contains("Domain="));
}

/// A purchase rung up at the demo brand's first store, straight in the core.
async fn till_purchase(app: &common::TestApp, phone: &str, order: &str, fen: i64) {
    let db = &app._db.db;
    let brand = loyalty::brands::find_by_slug(db, &BrandSlug::parse("demo").unwrap())
        .await
        .unwrap();
    let store = loyalty::brands::stores::list(db, brand.id).await.unwrap()[0].id;
    let mut tx = db.begin().await.unwrap();
    let phone = loyalty::members::phone::Phone::parse("86", phone).unwrap();
    let member = loyalty::members::find_by_phone(&mut tx, brand.id, &phone)
        .await
        .unwrap()
        .unwrap();
    loyalty::points::record_purchase(
        &mut tx,
        &loyalty::SystemClock,
        &loyalty::access::PosKey::for_tests(&brand, store),
        member.id,
        &loyalty::money::ExternalId::parse("order_id", order).unwrap(),
        loyalty::money::Fen::new(fen).unwrap(),
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[both_databases]
async fn the_points_page_shows_balance_expiry_progress_and_history() {
    let app = spawn_app().await;
    let mut phone = Browser::new(&app);
    phone.join(PHONE, true).await;
    let empty = phone.page("/r/demo/points").await;
    assert!(empty.contains("还没有积分记录"));
    assert!(empty.contains("再消费 ¥1,000 即可升级为银卡会员。"));
    till_purchase(&app, PHONE, "A-1", 32_050).await;
    let page = phone.page("/r/demo/points").await;
    assert!(page.contains("class=\"balance-figure\">320<"), "balance");
    assert!(page.contains("消费得积分"));
    assert!(page.contains("人民广场店"));
    assert!(page.contains("+320"));
    assert!(
        page.contains("320 积分有效期至 "),
        "the next expiry is announced"
    );
    assert!(page.contains("再消费 ¥679.50 即可升级为银卡会员。"));
    let card = phone.page("/r/demo/card").await;
    assert!(card.contains("class=\"mc-points\">320<"));
    let signed_out = Browser::new(&app).get("/r/demo/points").await;
    assert_eq!(location(&signed_out), "/r/demo/join?next=/r/demo/points");
}

#[both_databases]
async fn the_points_history_pages_by_twenty() {
    let app = spawn_app().await;
    let mut phone = Browser::new(&app);
    phone.join(PHONE, true).await;
    for n in 1..=25 {
        till_purchase(&app, PHONE, &format!("P-{n}"), 100 * n).await;
    }
    let first = phone.page("/r/demo/points").await;
    assert_eq!(first.matches("class=\"entry\"").count(), 20);
    assert!(first.contains("+25<"), "newest first");
    let next = first
        .split("href=\"/r/demo/points?before=")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a link to older entries");
    let second = phone.page(&format!("/r/demo/points?before={next}")).await;
    assert_eq!(second.matches("class=\"entry\"").count(), 5);
    assert!(second.contains("+1<"));
    assert!(
        // (The language menu's form names this page, query and all.)
        !second.contains("href=\"/r/demo/points?before="),
        "no link past the oldest"
    );
}

/// Inside a frame on the brand's own site (the browser says
/// `Sec-Fetch-Dest: iframe`) over HTTPS, a member's cookies are
/// `SameSite=None; Secure; Partitioned`, so joining works in the frame, and
/// every page of the journey shows only its content; outside a frame they
/// stay `SameSite=Lax`.
#[both_databases]
async fn in_a_frame_over_https_member_cookies_are_partitioned_and_pages_stay_embedded() {
    let app = spawn_app_with(&[
        ("TABLECARD_PUBLIC_URL", "https://card.example.com"),
        ("TABLECARD_CODE_DELIVERY", "log"),
    ])
    .await;
    let ask = |framed: bool, phone: &'static str| {
        let app = &app;
        async move {
            let mut req = axum::http::Request::post("/fn/request_code")
                .header(header::HOST, "card.example.com")
                .header(header::ORIGIN, "https://card.example.com")
                .header(header::ACCEPT, "text/html")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            if framed {
                req = req.header("sec-fetch-dest", "iframe");
            }
            let body = format!("slug=demo&country=86&phone={phone}");
            let r = app
                .send(req.body(axum::body::Body::from(body)).unwrap())
                .await;
            let cookies: Vec<String> = r
                .headers()
                .get_all(header::SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect();
            cookies
                .into_iter()
                .find(|c| c.starts_with("tc_join="))
                .expect("the join cookie")
        }
    };
    let framed = ask(true, "13800138000").await;
    for part in ["SameSite=None", "Secure", "Partitioned"] {
        assert!(framed.contains(part), "{part} in {framed}");
    }
    let top = ask(false, "13900139000").await;
    assert!(
        top.contains("SameSite=Lax") && !top.contains("Partitioned"),
        "{top}"
    );

    // A page reached inside the frame without `?embed=1` stays embedded.
    let page = |framed: bool| {
        let app = &app;
        async move {
            let mut req =
                axum::http::Request::get("/r/demo/join").header(header::HOST, "card.example.com");
            if framed {
                req = req.header("sec-fetch-dest", "iframe");
            }
            body_text(app.send(req.body(axum::body::Body::empty()).unwrap()).await).await
        }
    };
    assert!(page(true).await.contains("class=\"page embedded\""));
    assert!(!page(false).await.contains("page embedded"));
}
