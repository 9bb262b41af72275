//! The console's members over HTTP: managers search and open members (phones
//! masked), adjust points with a reason and give coupons, each form acted
//! on once; cashiers and other brands get nothing.

use crate::common;

use axum::http::StatusCode;
use common::{console_staff, field_after, location, spawn_app, staff_browser, Browser, TestApp};

async fn member_no(app: &TestApp) -> String {
    let (no,): (String,) = sqlx::query_as("SELECT member_no FROM members")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    no
}

#[both_databases]
async fn a_manager_finds_a_member_adjusts_points_once_and_gives_a_coupon() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    let saved = member
        .post(
            "/fn/save_profile",
            &[
                ("slug", "demo"),
                ("display_name", "阿明"),
                ("birthday_month", ""),
                ("birthday_day", ""),
                ("birth_year", ""),
                ("gender", ""),
                ("allergies", "花生"),
                ("sensitive_consent", "on"),
                ("language", ""),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let no = member_no(&app).await;

    let mut mgr = staff_browser(&app, "mgr2").await;
    let list = mgr.page("/admin/members").await;
    assert!(list.contains(&no) && list.contains("138****8000"));
    assert!(!list.contains("13800138000"), "phones are masked");
    for q in ["8000", "13800138000", no.as_str()] {
        assert!(
            mgr.page(&format!("/admin/members?q={q}"))
                .await
                .contains(&no),
            "{q}"
        );
    }
    assert!(!mgr.page("/admin/members?q=9999").await.contains(&no));
    assert!(
        !mgr.page("/admin/members?visits=active30")
            .await
            .contains(&no),
        "never visited"
    );

    let page = mgr.page(&format!("/admin/members/{no}")).await;
    assert!(
        page.contains("阿明") && page.contains("花生"),
        "the service team sees the allergy"
    );
    let key = field_after(&page, "/fn/adjust_member_points", "key");
    let form = [
        ("member", no.as_str()),
        ("key", key.as_str()),
        ("points", "+100"),
        ("reason", "生日补送"),
    ];
    let r1 = mgr.post("/fn/adjust_member_points", &form).await;
    let r2 = mgr.post("/fn/adjust_member_points", &form).await;
    assert_eq!(location(&r1), location(&r2));
    let done = mgr.page(&location(&r1)).await;
    assert!(done.contains("积分已调整 +100"), "confirmed");
    let (rows,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM points_ledger WHERE kind = 'adjust'")
            .fetch_one(app._db.db.pool())
            .await
            .unwrap();
    assert_eq!(rows, 1, "recorded once");
    assert!(
        member.page("/r/demo/points").await.contains("生日补送"),
        "the member sees why"
    );

    let r = mgr
        .post(
            "/fn/adjust_member_points",
            &[
                ("member", &no),
                (
                    "key",
                    &field_after(&done, "/fn/adjust_member_points", "key"),
                ),
                ("points", "5"),
                ("reason", " "),
            ],
        )
        .await;
    assert!(
        location(&r).ends_with("error=invalid_input&field=reason&reason=empty"),
        "{}",
        location(&r)
    );
    assert!(mgr.page(&location(&r)).await.contains("请写明调整原因"));

    // The 酸梅汤 gift is the brand's, so the owner's to give: a manager is
    // neither offered it nor allowed it.
    assert!(
        !done.contains("酸梅汤</option>"),
        "not offered to a manager"
    );
    let mut boss = staff_browser(&app, "boss").await;
    let owners = boss.page(&format!("/admin/members/{no}")).await;
    let template = {
        let before = &owners[..owners.find("酸梅汤</option>").expect("the gift is offered")];
        let at = before.rfind("<option value=\"").unwrap() + 15;
        before[at..at + before[at..].find('"').unwrap()].to_owned()
    };
    let r = mgr
        .post(
            "/fn/grant_member_coupon",
            &[
                ("member", &no),
                ("key", &field_after(&done, "/fn/grant_member_coupon", "key")),
                ("template", &template),
            ],
        )
        .await;
    assert!(
        location(&r).ends_with("error=coupon_offer_not_found"),
        "{}",
        location(&r)
    );
    let r = boss
        .post(
            "/fn/grant_member_coupon",
            &[
                ("member", &no),
                (
                    "key",
                    &field_after(&owners, "/fn/grant_member_coupon", "key"),
                ),
                ("template", &template),
            ],
        )
        .await;
    let mgr = &mut boss;
    let granted = mgr.page(&location(&r)).await;
    assert!(granted.contains("已赠送，券码"), "{}", location(&r));
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM coupons WHERE source = 'staff'")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    assert_eq!(n, 1);
    let log = staff_browser(&app, "boss").await.page("/admin/audit").await;
    assert!(log.contains("member.adjust_points") && log.contains("member.grant_coupon"));
}

#[both_databases]
async fn cashiers_and_other_brands_cannot_reach_members() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    let no = member_no(&app).await;
    let adjust = |key: &'static str| {
        [
            ("member", no.clone()),
            ("key", key.repeat(22)),
            ("points", "1000".into()),
            ("reason", "x".into()),
        ]
    };

    let mut till = staff_browser(&app, "till").await;
    assert_eq!(
        till.get("/admin/members").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        till.get(&format!("/admin/members/{no}")).await.status(),
        StatusCode::FORBIDDEN
    );
    let form = adjust("a");
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    till.post("/fn/adjust_member_points", &pairs).await;

    let mut rival = staff_browser(&app, "rival").await;
    let r = rival.get(&format!("/admin/members/{no}")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(!common::body_text(r).await.contains("138****8000"));
    assert!(
        !rival.page("/admin/members?q=8000").await.contains(&no),
        "another brand's search finds nothing"
    );
    let form = adjust("b");
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = rival.post("/fn/adjust_member_points", &pairs).await;
    assert!(
        location(&r).ends_with("error=member_not_found"),
        "{}",
        location(&r)
    );

    let (rows,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM points_ledger WHERE kind = 'adjust'")
            .fetch_one(app._db.db.pool())
            .await
            .unwrap();
    assert_eq!(rows, 0, "nothing was adjusted");
}

#[both_databases]
async fn a_filtered_segment_gets_a_coupon_each_once() {
    let app = spawn_app().await;
    console_staff(&app).await;
    for phone in ["13800138000", "13900139000"] {
        Browser::new(&app).join(phone, true).await;
    }
    let mut manager = staff_browser(&app, "mgr2").await;
    assert!(
        !manager
            .page("/admin/members?q=8000")
            .await
            .contains("/fn/grant_segment_coupon"),
        "a manager has no coupon of their stores to give"
    );
    let mut mgr = staff_browser(&app, "boss").await;
    let page = mgr.page("/admin/members?q=8000").await;
    let key = field_after(&page, "/fn/grant_segment_coupon", "key");
    let template = {
        let rest = &page[page.find("id=\"segment-template\"").unwrap()..];
        let before = &rest[..rest.find("酸梅汤</option>").expect("the gift")];
        let at = before.rfind("<option value=\"").unwrap() + 15;
        before[at..at + before[at..].find('"').unwrap()].to_owned()
    };
    let form = [
        ("key", key.as_str()),
        ("template", template.as_str()),
        ("q", "8000"),
        ("tier", ""),
        ("joined_from", ""),
        ("joined_to", ""),
        ("visits", ""),
    ];
    let sneaky = manager.post("/fn/grant_segment_coupon", &form).await;
    assert!(
        location(&sneaky).ends_with("error=coupon_offer_not_found"),
        "{}",
        location(&sneaky)
    );
    let r1 = mgr.post("/fn/grant_segment_coupon", &form).await;
    let r2 = mgr.post("/fn/grant_segment_coupon", &form).await;
    assert_eq!(location(&r1), location(&r2));
    assert!(
        mgr.page(&location(&r1))
            .await
            .contains("符合 1 位，已发 1 张"),
        "{}",
        location(&r1)
    );
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM coupons WHERE source = 'campaign'")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    assert_eq!(n, 1, "only the member the filter matched, and only once");
}

/// A manager's adjustment over the owner's limits waits: the member's page
/// says so, the owner's dashboard lists it with who asked, and approving it
/// there adds the points; the owner sets the limits on the brand page.
#[both_databases]
async fn an_adjustment_over_the_limits_waits_for_the_owner_on_the_dashboard() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    let no = member_no(&app).await;
    let mut boss = staff_browser(&app, "boss").await;
    let brand = boss.page("/admin/brand").await;
    assert!(brand.contains("name=\"per_adjustment\"") && brand.contains("value=\"1000\""));
    let set = boss
        .post(
            "/fn/save_adjustment_limits",
            &[("per_adjustment", "500"), ("per_day", "2000")],
        )
        .await;
    assert_eq!(location(&set), "/admin/brand?saved=1#limits");

    let mut mgr = staff_browser(&app, "mgr2").await;
    let page = mgr.page(&format!("/admin/members/{no}")).await;
    let key = field_after(&page, "/fn/adjust_member_points", "key");
    let form = [
        ("member", no.as_str()),
        ("key", key.as_str()),
        ("points", "10000"),
        ("reason", "开业活动补送"),
    ];
    let sent = mgr.post("/fn/adjust_member_points", &form).await;
    let done = mgr.page(&location(&sent)).await;
    assert!(
        done.contains("10000 积分待老板审批"),
        "the manager is told it waits"
    );
    let points = |app| async move {
        let (p,): (i64,) = sqlx::query_as("SELECT points_balance FROM members")
            .fetch_one(app)
            .await
            .unwrap();
        p
    };
    let before = points(app._db.db.pool()).await;

    // The manager's dashboard has nothing to approve; the owner's has it.
    assert!(!mgr
        .page("/admin/dashboard")
        .await
        .contains("/fn/decide_adjustment"));
    let dash = boss.page("/admin/dashboard").await;
    assert!(
        dash.contains("待你审批（1）") && dash.contains("开业活动补送"),
        "listed"
    );
    let request = field_after(&dash, "/fn/decide_adjustment", "request");
    // A manager may not decide it.
    let refused = mgr
        .post(
            "/fn/decide_adjustment",
            &[("request", &request), ("decision", "approve")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(points(app._db.db.pool()).await, before);
    let approved = boss
        .post(
            "/fn/decide_adjustment",
            &[("request", &request), ("decision", "approve")],
        )
        .await;
    assert_eq!(
        location(&approved),
        "/admin/dashboard?decided=approved#approvals"
    );
    assert_eq!(points(app._db.db.pool()).await, before + 10_000);
    let dash = boss.page("/admin/dashboard").await;
    assert!(
        !dash.contains("/fn/decide_adjustment"),
        "nothing left waiting"
    );
    assert!(
        dash.contains("本月手工调整积分") && dash.contains("+10000"),
        "the month's hand points"
    );
    // Approving it again changes nothing.
    let again = boss
        .post(
            "/fn/decide_adjustment",
            &[("request", &request), ("decision", "approve")],
        )
        .await;
    assert!(
        location(&again).contains("error=adjustment_not_pending"),
        "{}",
        location(&again)
    );
    assert_eq!(points(app._db.db.pool()).await, before + 10_000);
}

#[both_databases]
async fn a_member_who_lost_their_phone_is_erased_at_the_counter_once_the_owner_approves() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    let no = member_no(&app).await;
    let page = format!("/admin/members/{no}");

    // The manager asks, with a reason and the box ticked; it waits.
    let mut mgr = staff_browser(&app, "mgr2").await;
    assert!(mgr.page(&page).await.contains("应会员本人要求注销"));
    let unticked = mgr
        .post(
            "/fn/erase_member_at_counter",
            &[("member", &no), ("reason", "看了身份证")],
        )
        .await;
    assert!(
        location(&unticked).contains("error=confirm_delete"),
        "{}",
        location(&unticked)
    );
    let asked = mgr
        .post(
            "/fn/erase_member_at_counter",
            &[
                ("member", &no),
                ("reason", "看了身份证"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(
        location(&asked),
        format!("{page}?notice=erasure_requested#erase")
    );
    assert!(mgr
        .page(&location(&asked))
        .await
        .contains("已提交老板批准。"));
    assert_eq!(
        member.get("/r/demo/card").await.status(),
        StatusCode::OK,
        "still a member"
    );

    // The owner sees it on the dashboard and approves: the member is gone.
    let mut boss = staff_browser(&app, "boss").await;
    let dashboard = boss.page("/admin/dashboard").await;
    assert!(
        dashboard.contains("待您批准的注销（1）"),
        "the owner's approvals"
    );
    assert!(dashboard.contains("看了身份证"));
    let request = field_after(&dashboard, "/fn/decide_erasure", "request");
    let decided = boss
        .post(
            "/fn/decide_erasure",
            &[("request", &request), ("decision", "approve")],
        )
        .await;
    assert_eq!(
        location(&decided),
        "/admin/dashboard?decided=erased#erasures"
    );
    assert_eq!(boss.get(&page).await.status(), StatusCode::NOT_FOUND);
    let card = member.get("/r/demo/card").await;
    assert_eq!(
        card.status(),
        StatusCode::SEE_OTHER,
        "their session ended with the account"
    );
}
