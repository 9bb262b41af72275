//! Segments over HTTP: an owner sees the RFM table, one segment's members
//! and the churn list, and downloads them as CSV that a spreadsheet cannot
//! run; nobody else gets them.

use crate::common;

use axum::http::{header, StatusCode};
use common::{
    body_text, console_staff, field_after, header_str, location, spawn_app, staff_browser, Browser,
};
use loyalty::brands::{self, BrandSlug};
use loyalty::money::{ExternalId, Fen};
use loyalty::Clock;

const DAY: i64 = 24 * 60 * 60 * 1000;

#[both_databases]
async fn an_owner_sees_segments_and_churn_and_exports_them_safely() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut regular = Browser::new(&app);
    regular.join("13800138000", true).await;
    let saved = regular
        .post(
            "/fn/save_profile",
            &[
                ("slug", "demo"),
                ("display_name", "=HYPERLINK(\"http://x\")"),
                ("birthday_month", ""),
                ("birthday_day", ""),
                ("birth_year", ""),
                ("gender", ""),
                ("allergies", ""),
                ("language", ""),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let mut newcomer = Browser::new(&app);
    newcomer.join("13900139000", true).await;

    let db = &app._db.db;
    let demo = brands::find_by_slug(db, &BrandSlug::parse("demo").unwrap())
        .await
        .unwrap();
    let store = loyalty::brands::stores::list(db, demo.id).await.unwrap()[0].id;
    let members: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, member_no FROM members WHERE brand_id = $1 ORDER BY id")
            .bind(demo.id.0)
            .fetch_all(db.pool())
            .await
            .unwrap();
    let (regular_id, regular_no) = members[0].clone();
    let (newcomer_id, newcomer_no) = members[1].clone();
    let now = loyalty::SystemClock.now_ms();
    // The regular came every ten days, ¥100 each, and stopped 130 days ago;
    // the newcomer spent ¥1,000 yesterday.
    for (i, (member, days_ago, yuan)) in [
        (regular_id, 150, 100),
        (regular_id, 140, 100),
        (regular_id, 130, 100),
        (newcomer_id, 1, 1000),
    ]
    .into_iter()
    .enumerate()
    {
        let mut tx = db.begin().await.unwrap();
        // Each purchase sent on its day (a POS may not backdate by months).
        loyalty::points::record_purchase(
            &mut tx,
            &loyalty::FixedClock::at(now - days_ago * DAY),
            &loyalty::access::PosKey::for_tests(&demo, store),
            loyalty::members::MemberId(member),
            &ExternalId::parse("order_id", &format!("S-{i}")).unwrap(),
            Fen::new(yuan * 100).unwrap(),
            None,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    let mut boss = staff_browser(&app, "boss").await;
    let page = boss.page("/admin/segments?window=180").await;
    let row = |id: &str| {
        let at = page.find(&format!("id=\"seg-{id}\"")).expect(id);
        page[at..at + 400].to_owned()
    };
    assert!(
        row("general_keep").contains(">1<"),
        "the regular: frequent, lately away, small spend"
    );
    assert!(
        row("important_develop").contains(">1<"),
        "the newcomer: recent, big spend"
    );
    assert!(row("important_value").contains(">0<"));
    let churn = &page[page.find("id=\"at-risk\"").unwrap()..];
    assert!(churn.contains(&regular_no), "ten-day regular gone 130 days");
    assert!(!churn.contains(&newcomer_no));
    assert!(!page.contains("13800138000"), "phones are masked");

    let picked = boss
        .page("/admin/segments?window=180&segment=general_keep")
        .await;
    let list = &picked[picked.find("id=\"members\"").unwrap()..];
    assert!(list.contains(&regular_no) && !list.contains(&newcomer_no));
    assert!(
        picked.contains("<td>=HYPERLINK(") && !picked.contains("href=\"http://x"),
        "a name is shown as plain text"
    );

    let r = boss
        .get("/admin/segments.csv?window=180&segment=general_keep")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(header_str(&r, header::CONTENT_TYPE).starts_with("text/csv"));
    assert!(header_str(&r, header::CONTENT_DISPOSITION).contains("general_keep.csv"));
    let csv = body_text(r).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "a header and the regular: {csv}");
    assert!(
        lines[0].contains("会员号"),
        "a header in the brand's language"
    );
    assert!(lines[1].starts_with(&regular_no));
    assert!(lines[1].contains("138****8000") && !csv.contains("13800138000"));
    assert!(
        lines[1].contains("\"'=HYPERLINK(\"\"http://x\"\")\""),
        "the formula is defused: {}",
        lines[1]
    );
    assert!(lines[1].contains("300.00"), "spend in yuan");
    let churn_csv = body_text(boss.get("/admin/segments.csv?churn=1").await).await;
    assert!(churn_csv.contains(&regular_no) && !churn_csv.contains(&newcomer_no));

    // A campaign: the newcomer's segment gets a coupon, once, and the
    // report follows the coupon to the till.
    let page = boss
        .page("/admin/segments?window=180&segment=important_develop")
        .await;
    let key = field_after(&page, "/fn/grant_rfm_campaign", "key");
    // A coupon the newcomer does not hold yet (not the welcome gift).
    let (template,): (i64,) = sqlx::query_as(
        "SELECT MIN(id) FROM coupon_templates WHERE brand_id = $1 AND active = 1 \
         AND welcome = 0 AND min_tier_rank = 0 AND points_price IS NULL",
    )
    .bind(demo.id.0)
    .fetch_one(db.pool())
    .await
    .unwrap();
    let template = template.to_string();
    let form = [
        ("key", key.as_str()),
        ("template", template.as_str()),
        ("segment", "important_develop"),
        ("window", "180"),
    ];
    let r = boss.post("/fn/grant_rfm_campaign", &form).await;
    let back = location(&r);
    assert!(back.contains("queued=1"), "{back}");
    let html = boss.page(&back).await;
    assert!(html.contains("已开始发券"), "the owner is told it started");
    assert!(html.contains("发放中 0 / 1"), "and sees its progress");
    // The scheduler gives the coupons; a resent form queues nothing more.
    let runner = loyalty::infra::jobs::Runner::new(
        "test",
        std::sync::Arc::new(loyalty::testing::CapturingSender::default()),
    );
    loyalty::infra::jobs::run_due(db, &loyalty::SystemClock, &runner)
        .await
        .unwrap();
    let again = boss.post("/fn/grant_rfm_campaign", &form).await;
    assert!(location(&again).contains("queued=1"));
    loyalty::marketing::campaigns::run_queued(
        db,
        &loyalty::SystemClock,
        &demo,
        std::time::Duration::from_secs(5),
    )
    .await
    .unwrap();
    let (campaigns,): (i64,) = sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM campaigns")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(campaigns, 1);
    let (coupons, code): (i64, String) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT), MAX(code) FROM coupons WHERE member_id = $1 AND source = 'campaign'",
    )
    .bind(newcomer_id)
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(coupons, 1, "nobody gets a second");
    let mut tx = db.begin().await.unwrap();
    loyalty::coupons::redeem(
        &mut tx,
        &loyalty::SystemClock,
        &loyalty::access::PosKey::for_tests(&demo, store),
        &loyalty::coupons::CouponCode::parse(&code).unwrap(),
        &ExternalId::parse("order_id", "C-1").unwrap(),
        Fen::new(50_000).unwrap(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let page = boss.page("/admin/segments").await;
    let report = &page[page.find("id=\"campaigns\"").unwrap()..];
    assert!(
        report.contains("重要发展 · 最近 180 天"),
        "the audience in words"
    );
    assert!(report.contains("1 (100%)"), "redeemed");
    assert!(report.contains("¥500"), "the bill it brought");

    // A manager and another brand's owner: not found; signed out: sign in.
    for who in ["mgr2", "rival"] {
        let mut b = staff_browser(&app, who).await;
        let r = b.get("/admin/segments.csv?segment=general_keep").await;
        if who == "mgr2" {
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
        } else {
            let csv = body_text(r).await;
            assert!(
                !csv.contains(&regular_no),
                "{who} sees only their own brand"
            );
        }
    }
    let mut nobody = Browser::new(&app);
    let r = nobody.get("/admin/segments.csv").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(location(&r).starts_with("/admin?next="));
    let r = boss.get("/admin/segments.csv?segment=nonsense").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
