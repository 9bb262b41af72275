//! Coupon templates over HTTP: the editor's preview in members' words, a
//! template created, claimed by a member, paused; managers only for their
//! stores; cashiers and other brands not at all.

use crate::common;

use axum::http::StatusCode;
use common::{console_staff, location, spawn_app, staff_browser, Browser, TestApp};

async fn count(app: &TestApp, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    n
}

async fn store_ids(app: &TestApp) -> (String, String) {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT s.id FROM stores s JOIN brands b ON b.id = s.brand_id WHERE b.slug = 'demo' ORDER BY s.code",
    )
    .fetch_all(app._db.db.pool())
    .await
    .unwrap();
    (rows[0].0.to_string(), rows[1].0.to_string())
}

fn offer<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("kind", "amount_off"),
        ("amount", "66"),
        ("threshold", "300"),
        ("valid_days", "14"),
        ("min_tier", "0"),
        ("claimable", "on"),
    ];
    form.extend_from_slice(extra);
    form
}

#[both_databases]
async fn an_owner_previews_creates_and_pauses_a_coupon_members_can_claim() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut boss = staff_browser(&app, "boss").await;

    let preview = boss
        .page("/admin/coupons/new?kind=amount_off&amount=66&threshold=300&weekdays%5B%5D=3&from_time=11%3A00&until_time=14%3A00")
        .await;
    assert!(preview.contains("满300减66"), "the title members read");
    assert!(
        preview.contains("11:00") && preview.contains("14:00"),
        "the time window in words"
    );
    assert!(
        preview.contains("value=\"3\" checked"),
        "the form keeps what was typed"
    );
    let broken = boss
        .page("/admin/coupons/new?kind=amount_off&amount=&threshold=300")
        .await;
    assert!(
        broken.contains("请填写减免金额"),
        "a preview of a broken rule says what is wrong"
    );

    let r = boss.post("/fn/create_offer", &offer(&[])).await;
    assert!(
        location(&r).starts_with("/admin/coupons?saved=1#t"),
        "{}",
        location(&r)
    );
    let list = boss.page("/admin/coupons").await;
    assert!(list.contains("满300减66") && list.contains("领券中心"));
    assert!(
        list.contains("领取后 14 天内有效"),
        "validity in words, not an abbreviation"
    );

    // A mistake goes back to the editor with the sentence and the values.
    let r = boss
        .post(
            "/fn/create_offer",
            &[("kind", "percent_off"), ("percent", "120"), ("max_off", "")],
        )
        .await;
    assert!(
        location(&r).contains("error=invalid_input&field=percent_off"),
        "{}",
        location(&r)
    );
    let page = boss.page(&location(&r)).await;
    assert!(page.contains("折扣百分比为 1–99") && page.contains("value=\"120\""));

    // A member sees it in the claim centre, then not once it is paused.
    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    assert!(member.page("/r/demo/claim").await.contains("满300减66"));
    let list = boss.page("/admin/coupons").await;
    let tid = list
        .split("id=\"t")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let r = boss
        .post("/fn/pause_offer", &[("id", &tid), ("active", "false")])
        .await;
    assert!(location(&r).contains("saved=1"));
    assert!(
        !member.page("/r/demo/claim").await.contains("满300减66"),
        "paused: no longer offered"
    );
    let log = boss.page("/admin/audit").await;
    assert!(log.contains("coupon_template.create") && log.contains("coupon_template.pause"));
}

#[both_databases]
async fn managers_make_coupons_for_their_own_stores_only() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let (first, second) = store_ids(&app).await;
    let before = count(&app, "SELECT COUNT(*) FROM coupon_templates").await;
    let mut mgr = staff_browser(&app, "mgr2").await;

    let r = mgr.post("/fn/create_offer", &offer(&[])).await;
    assert!(
        location(&r).contains("error=invalid_input&field=stores"),
        "brand-wide is the owner's call: {}",
        location(&r)
    );
    let r = mgr
        .post("/fn/create_offer", &offer(&[("stores[]", first.as_str())]))
        .await;
    assert!(
        location(&r).contains("error=invalid_input&field=stores"),
        "another store: {}",
        location(&r)
    );
    let r = mgr
        .post("/fn/create_offer", &offer(&[("stores[]", second.as_str())]))
        .await;
    assert!(
        location(&r).starts_with("/admin/coupons?saved=1"),
        "{}",
        location(&r)
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM coupon_templates").await,
        before + 1
    );

    // A brand-wide template is not theirs to pause.
    let (demo_template,): (i64,) = sqlx::query_as("SELECT MIN(id) FROM coupon_templates")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    let r = mgr
        .post(
            "/fn/pause_offer",
            &[("id", &demo_template.to_string()), ("active", "false")],
        )
        .await;
    assert!(
        location(&r).contains("error=coupon_offer_not_found"),
        "{}",
        location(&r)
    );

    let mut till = staff_browser(&app, "till").await;
    assert_eq!(
        till.get("/admin/coupons").await.status(),
        StatusCode::FORBIDDEN
    );
    till.post("/fn/create_offer", &offer(&[("stores[]", first.as_str())]))
        .await;
    let mut rival = staff_browser(&app, "rival").await;
    let r = rival
        .post(
            "/fn/pause_offer",
            &[("id", &demo_template.to_string()), ("active", "false")],
        )
        .await;
    assert!(location(&r).contains("error=coupon_offer_not_found"));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM coupon_templates").await,
        before + 1,
        "the cashier made nothing"
    );
    let (active,): (i64,) = sqlx::query_as("SELECT active FROM coupon_templates WHERE id = $1")
        .bind(demo_template)
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    assert_eq!(active, 1, "nobody outside paused it");
}
