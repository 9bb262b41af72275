//! Brand settings over HTTP: the owner renames and recolours the brand,
//! allows a site to frame the portal, publishes new terms and changes the
//! points rules; members and tills see the change; nobody else may.

use crate::common;

use std::time::Duration;

use axum::http::{header, StatusCode};
use common::{console_staff, header_str, location, spawn_app, staff_browser, Browser};

fn profile<'a>(
    name: &'a str,
    color: &'a str,
    zone: &'a str,
    embeds: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("theme_color", color),
        ("default_locale", "zh-CN"),
        ("time_zone", zone),
        ("embed_origins", embeds),
    ]
}

/// A brand changed where this server cannot see it (by another server on
/// the same PostgreSQL, or by hand) shows on its pages as soon as the
/// database tells every server, well before a brand in memory would be
/// read again anyway.
#[tokio::test]
#[ignore = "needs PostgreSQL: set TABLECARD_TEST_POSTGRES_URL (make test then runs it)"]
async fn a_brand_renamed_elsewhere_shows_once_postgres_tells_the_server() {
    let app = common::spawn_app_on(loyalty::testing::TestDb::postgres().await, &[], false).await;
    let landing = || async { common::body_text(app.get("/r/demo", &[]).await).await };
    assert!(landing().await.contains("山野小馆"));
    let cache = app._db.db.key_cache();
    let listening = std::time::Instant::now();
    while !cache.hearing() {
        assert!(
            listening.elapsed() < Duration::from_secs(30),
            "never listened"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Read once more now that changes are heard of: kept in memory.
    assert!(!landing().await.contains("改名小馆"));
    sqlx::query("UPDATE brands SET name = '改名小馆' WHERE slug = 'demo'")
        .execute(app._db.db.pool())
        .await
        .unwrap();
    let renamed = std::time::Instant::now();
    while !landing().await.contains("改名小馆") {
        assert!(
            renamed.elapsed() < loyalty::brands::key_cache::TRUST_FOR / 2,
            "still taken from memory"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.finish().await;
}

#[both_databases]
async fn the_owner_renames_the_brand_and_allows_one_site_to_frame_it() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut boss = staff_browser(&app, "boss").await;
    assert!(boss.page("/admin/brand").await.contains("品牌设置"));
    // A visit before the change: the server keeps the brand in memory.
    let before = common::body_text(app.get("/r/demo", &[]).await).await;
    assert!(before.contains("山野小馆") && !before.contains("山野小馆·新"));

    let r = boss
        .post(
            "/fn/save_brand_profile",
            &profile(
                "山野小馆·新",
                "#1F6F5C",
                "Asia/Shanghai",
                "https://shop.example.com\nhttps://Mall.Example.cn/",
            ),
        )
        .await;
    assert_eq!(location(&r), "/admin/brand?saved=1");
    let landing = app.get("/r/demo", &[]).await;
    let csp = header_str(&landing, header::CONTENT_SECURITY_POLICY).to_owned();
    assert!(
        csp.contains("frame-ancestors 'self' https://shop.example.com https://mall.example.cn;"),
        "{csp}"
    );
    let html = common::body_text(landing).await;
    assert!(
        html.contains("山野小馆·新") && html.contains("--brand: #1f6f5c"),
        "new name and colour on the portal"
    );
    let embedded = common::body_text(app.get("/r/demo?embed=1", &[]).await).await;
    assert!(
        embedded.contains("class=\"page embedded\""),
        "the chrome-less layout"
    );

    // The console and other brands' pages stay unframeable.
    let console = boss.get("/admin/brand").await;
    assert!(
        header_str(&console, header::CONTENT_SECURITY_POLICY).contains("frame-ancestors 'self';")
    );
    let other = app.get("/r/other", &[]).await;
    assert!(header_str(&other, header::CONTENT_SECURITY_POLICY).contains("frame-ancestors 'self';"));

    // Nonsense is refused with the field's sentence and changes nothing.
    for (form, error, sentence) in [
        (
            profile("x", "#1f6f5c", "Mars/Base", ""),
            "time_zone",
            "没有这个时区",
        ),
        (
            profile("x", "#1f6f5c", "Asia/Shanghai", "shop.example.com/path"),
            "embed_origins",
            "网站地址需要是",
        ),
        (
            profile(
                "x",
                "#1f6f5c",
                "Asia/Shanghai",
                "https://a.com 'unsafe-inline'",
            ),
            "embed_origins",
            "网站地址需要是",
        ),
        (
            profile("x", "red", "Asia/Shanghai", ""),
            "theme_color",
            "请选择一种颜色",
        ),
        (
            profile(" ", "#1f6f5c", "Asia/Shanghai", ""),
            "name",
            "请填写名称",
        ),
    ] {
        let r = boss.post("/fn/save_brand_profile", &form).await;
        let to = location(&r);
        assert!(
            to.starts_with(&format!("/admin/brand?error=invalid_input&field={error}&")),
            "{to}"
        );
        assert!(boss.page(&location(&r)).await.contains(sentence), "{error}");
    }
    assert!(common::body_text(app.get("/r/demo", &[]).await)
        .await
        .contains("山野小馆·新"));
    assert!(boss.page("/admin/audit").await.contains("brand.update"));
}

#[both_databases]
async fn new_terms_get_a_new_version_and_new_members_accept_it() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut boss = staff_browser(&app, "boss").await;
    let r = boss
        .post(
            "/fn/publish_brand_terms",
            &[
                ("version", "2026-12"),
                (
                    "text",
                    "第一条：积分不可转让。\n\n第二条：<script>alert(1)</script> 不会执行。",
                ),
            ],
        )
        .await;
    assert_eq!(location(&r), "/admin/brand?saved=1#terms");
    let privacy = common::body_text(app.get("/r/demo/privacy", &[]).await).await;
    assert!(privacy.contains("2026-12") && privacy.contains("第一条：积分不可转让。"));
    assert!(
        privacy.contains("&lt;script&gt;") && !privacy.contains("<script>alert"),
        "the owner's text is text"
    );

    // The same words as a browser sends them (CRLF lines) are no change.
    let r = boss
        .post(
            "/fn/publish_brand_terms",
            &[
                ("version", "2026-12"),
                (
                    "text",
                    "第一条：积分不可转让。\r\n\r\n第二条：<script>alert(1)</script> 不会执行。",
                ),
            ],
        )
        .await;
    assert_eq!(location(&r), "/admin/brand?saved=1#terms");
    let r = boss
        .post(
            "/fn/publish_brand_terms",
            &[("version", "2026-12"), ("text", "悄悄改了")],
        )
        .await;
    assert_eq!(
        location(&r),
        "/admin/brand?error=invalid_input&field=terms_version&reason=empty#terms"
    );

    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    let (v,): (String,) = sqlx::query_as("SELECT terms_version FROM members")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    assert_eq!(
        v, "2026-12",
        "the new member accepted the published version"
    );
}

#[both_databases]
async fn changed_points_rules_apply_at_the_till() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut boss = staff_browser(&app, "boss").await;
    let rules = |earn: &'static str, cap: &'static str| {
        vec![
            ("earn_yuan", earn),
            ("signup_bonus", "0"),
            ("expiry_months", "0"),
            ("redeem_points_per_yuan", "100"),
            ("redeem_cap_pct", cap),
            ("bonus_weekdays[]", "3"),
            ("bonus_multiple", "1.5"),
            ("feedback_points", "20"),
            ("feedback_coupon", ""),
        ]
    };
    let r = boss.post("/fn/save_brand_rules", &rules("1", "150")).await;
    assert_eq!(
        location(&r),
        "/admin/brand?error=invalid_input&field=redeem_cap&reason=format#rules"
    );
    let r = boss.post("/fn/save_brand_rules", &rules("abc", "30")).await;
    assert_eq!(
        location(&r),
        "/admin/brand?error=invalid_input&field=earn&reason=format#rules"
    );
    assert!(boss
        .page(&location(&r))
        .await
        .contains("请填写 0.001 到 1000 之间的金额"));

    let r = boss.post("/fn/save_brand_rules", &rules("0.5", "30")).await;
    assert_eq!(location(&r), "/admin/brand?saved=1#rules");
    let page = boss.page("/admin/brand").await;
    assert!(
        page.contains(
            "name=\"earn_yuan\" inputmode=\"decimal\" required maxlength=\"8\" value=\"0.5\""
        ),
        "shown back as typed"
    );
    assert!(
        page.contains("value=\"3\" checked"),
        "Wednesday is a bonus day"
    );
    assert!(page.contains("value=\"1.5\""));

    // Without bonus days (today's weekday must not matter), ¥100 earns 200 points.
    let mut plain = rules("0.5", "30");
    plain.retain(|(k, _)| *k != "bonus_weekdays[]");
    boss.post("/fn/save_brand_rules", &plain).await;
    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    let mut till = staff_browser(&app, "till").await;
    let r = till
        .post("/fn/till_find", &[("store", "1"), ("q", "13800138000")])
        .await;
    let at = location(&r);
    let page = till.page(&at).await;
    let key = common::field_after(&page, "/fn/till_purchase", "key");
    let no = at.rsplit("m=").next().unwrap().to_owned();
    let r = till
        .post(
            "/fn/till_purchase",
            &[
                ("store", "1"),
                ("member", &no),
                ("key", &key),
                ("order", ""),
                ("amount", "100"),
            ],
        )
        .await;
    assert!(
        till.page(&location(&r)).await.contains("积分 +200"),
        "two points per yuan now"
    );
    assert!(boss.page("/admin/audit").await.contains("brand.rules"));
}

#[both_databases]
async fn only_the_owner_changes_brand_settings() {
    let app = spawn_app().await;
    console_staff(&app).await;
    for who in ["mgr2", "till"] {
        let mut b = staff_browser(&app, who).await;
        assert_eq!(
            b.get("/admin/brand").await.status(),
            StatusCode::FORBIDDEN,
            "{who}"
        );
        b.post(
            "/fn/save_brand_profile",
            &profile("被改了", "#000000", "Asia/Shanghai", "https://evil.example"),
        )
        .await;
        b.post(
            "/fn/publish_brand_terms",
            &[("version", "evil"), ("text", "x")],
        )
        .await;
    }
    // Another brand's owner changes only their own brand.
    let mut rival = staff_browser(&app, "rival").await;
    rival
        .post(
            "/fn/save_brand_profile",
            &profile(
                "别家改名",
                "#000000",
                "Asia/Shanghai",
                "https://evil.example",
            ),
        )
        .await;
    let demo = common::body_text(app.get("/r/demo", &[]).await).await;
    assert!(demo.contains("山野小馆") && !demo.contains("被改了") && !demo.contains("别家改名"));
    let csp = header_str(
        &app.get("/r/demo", &[]).await,
        header::CONTENT_SECURITY_POLICY,
    )
    .to_owned();
    assert!(!csp.contains("evil"), "{csp}");
    assert!(common::body_text(app.get("/r/other", &[]).await)
        .await
        .contains("别家改名"));
}

#[both_databases]
async fn the_owner_renames_tiers_and_lowers_a_threshold_that_the_next_bill_meets() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut boss = staff_browser(&app, "boss").await;
    // The seed's five tiers, with silver renamed and reached at ¥500.
    let tiers = [
        ("普通会员", "普通會員", "Member", "0", "0", "1"),
        ("银卡VIP", "銀卡VIP", "Silver VIP", "500", "5", "1.2"),
        ("金卡会员", "金卡會員", "Gold", "5000", "8", "1.5"),
        ("白金会员", "白金會員", "Platinum", "10000", "10", "1.8"),
        ("钻石会员", "鑽石會員", "Diamond", "20000", "12", "2"),
    ];
    let form = |tiers: &[(
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    )]| {
        let mut f: Vec<(&str, &str)> = Vec::new();
        for t in tiers {
            f.extend([
                ("name_zh_cn[]", t.0),
                ("name_zh_tw[]", t.1),
                ("name_en[]", t.2),
                ("threshold[]", t.3),
                ("discount[]", t.4),
                ("multiple[]", t.5),
            ]);
        }
        f
    };
    let mut falling = tiers;
    falling[2].3 = "400";
    let r = boss.post("/fn/save_brand_tiers", &form(&falling)).await;
    assert_eq!(
        location(&r),
        "/admin/brand?error=invalid_input&field=tier_threshold&reason=format#tiers"
    );
    assert!(boss.page(&location(&r)).await.contains("门槛需逐级升高"));

    let r = boss.post("/fn/save_brand_tiers", &form(&tiers)).await;
    assert_eq!(location(&r), "/admin/brand?saved=1#tiers");
    assert!(boss
        .page("/admin/brand")
        .await
        .contains("value=\"银卡VIP\""));

    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    let mut till = staff_browser(&app, "till").await;
    let at = location(
        &till
            .post("/fn/till_find", &[("store", "1"), ("q", "13800138000")])
            .await,
    );
    let page = till.page(&at).await;
    let key = common::field_after(&page, "/fn/till_purchase", "key");
    let no = at.rsplit("m=").next().unwrap().to_owned();
    let r = till
        .post(
            "/fn/till_purchase",
            &[
                ("store", "1"),
                ("member", &no),
                ("key", &key),
                ("order", ""),
                ("amount", "600"),
            ],
        )
        .await;
    assert!(till
        .page(&location(&r))
        .await
        .contains("会员已升级为银卡VIP"));
    assert!(
        member.page("/r/demo/card").await.contains("银卡VIP"),
        "the member's card shows the new name"
    );
}

/// Posts `bytes` as the `logo` file of a multipart form, with `b`'s cookies.
async fn upload(
    b: &mut Browser<'_>,
    bytes: &[u8],
    extra: Option<(&str, &str)>,
) -> axum::response::Response {
    let extra: Vec<(&str, &str)> = extra.into_iter().collect();
    b.post_file("/admin/brand/logo", ("logo", "logo.png", bytes), &extra)
        .await
}

#[both_databases]
async fn the_owner_uploads_a_logo_that_members_see_and_nothing_but_an_image_passes() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut boss = staff_browser(&app, "boss").await;
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82";

    let svg = upload(
        &mut boss,
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
        None,
    )
    .await;
    assert_eq!(
        location(&svg),
        "/admin/brand?error=invalid_input&field=logo&reason=format#logo",
        "no SVG, whatever it is called"
    );
    let huge = upload(&mut boss, &[0x89; 60 * 1024], None).await;
    assert_eq!(
        location(&huge),
        "/admin/brand?error=invalid_input&field=logo&reason=too_long&max=49152#logo"
    );

    let ok = upload(&mut boss, png, None).await;
    assert_eq!(location(&ok), "/admin/brand?saved=1#logo");
    let landing = common::body_text(app.get("/r/demo", &[]).await).await;
    let src = {
        let header = &landing[landing.find("class=\"topbar\"").expect("a header")..];
        assert!(
            header[..header.find("</header>").unwrap()].contains("class=\"brand-logo\""),
            "the logo in the header"
        );
        let at = header.find("<img src=\"").unwrap() + 10;
        header[at..at + header[at..].find('"').unwrap()].replace("&amp;", "&")
    };
    let logo = app.get(&src, &[]).await;
    assert_eq!(logo.status(), StatusCode::OK);
    assert_eq!(header_str(&logo, header::CONTENT_TYPE), "image/png");
    assert_eq!(header_str(&logo, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    let served = axum::body::to_bytes(logo.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(&served[..], png, "the very bytes uploaded");

    // A manager cannot; removing brings the initial back.
    let mut mgr = staff_browser(&app, "mgr2").await;
    assert_eq!(
        upload(&mut mgr, png, None).await.status(),
        StatusCode::FORBIDDEN
    );
    let removed = upload(&mut boss, b"", Some(("remove", "1"))).await;
    assert_eq!(location(&removed), "/admin/brand?saved=1#logo");
    assert!(!common::body_text(app.get("/r/demo", &[]).await)
        .await
        .contains("brand-logo"));
    assert_eq!(
        app.get("/r/demo/logo", &[]).await.status(),
        StatusCode::NOT_FOUND
    );
}
