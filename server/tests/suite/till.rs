//! The cashier's screen over HTTP: find a member, record a purchase, take a
//! coupon and points, each once however often the form is sent; and who may
//! act at which till (the role × store × brand matrix, through direct posts
//! that bypass the pages).

use crate::common;

use axum::http::StatusCode;
use common::{console_staff, field_after, location, spawn_app, staff_browser, Browser, TestApp};
use loyalty::brands::{self, BrandSlug};

/// The demo's stores, first and second, and the other brand's store.
async fn stores(app: &TestApp) -> (i64, i64, i64) {
    let db = &app._db.db;
    let demo = brands::find_by_slug(db, &BrandSlug::parse("demo").unwrap())
        .await
        .unwrap();
    let other = brands::find_by_slug(db, &BrandSlug::parse("other").unwrap())
        .await
        .unwrap();
    let mine = loyalty::brands::stores::list(db, demo.id).await.unwrap();
    let theirs = loyalty::brands::stores::list(db, other.id).await.unwrap();
    (mine[0].id.0, mine[1].id.0, theirs[0].id.0)
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    n
}

/// Posts a form whose values are owned strings.
async fn post_owned(
    b: &mut Browser<'_>,
    path: &str,
    form: &[(&str, String)],
) -> axum::response::Response {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post(path, &pairs).await
}

/// A member joins the demo brand and the cashier finds them by phone;
/// returns the till page's path.
async fn find_member(till: &mut Browser<'_>, store: i64, phone: &str) -> String {
    let r = till
        .post(
            "/fn/till_find",
            &[("store", &store.to_string()), ("q", phone)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = location(&r);
    assert!(
        to.starts_with(&format!("/admin/till?store={store}&m=")),
        "{to}"
    );
    assert!(!to.contains(phone), "a phone never goes into a URL: {to}");
    to
}

#[both_databases]
async fn a_cashier_finds_a_member_and_records_a_purchase_once_however_often_it_is_sent() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let (first, _, _) = stores(&app).await;
    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;

    let mut till = staff_browser(&app, "till").await;
    let page = till.page("/admin/till").await;
    assert!(
        page.contains("action=\"/fn/till_find\""),
        "a cashier's only store opens at once"
    );
    assert!(page.contains("人民广场店"), "the store's name is on screen");

    let missing = till
        .post(
            "/fn/till_find",
            &[("store", &first.to_string()), ("q", "13900000000")],
        )
        .await;
    assert!(location(&missing).contains("error=member_not_found"));
    let page = till.page(&location(&missing)).await;
    assert!(
        page.contains("没有找到这位会员"),
        "the refusal is a sentence"
    );

    let at = find_member(&mut till, first, "138 0013 8000").await;
    let page = till.page(&at).await;
    assert!(page.contains("138****8000"), "the phone is masked");
    assert!(!page.contains("13800138000"), "and never shown in full");
    // What the server loaded to render the page stays on the server: the
    // till's data (the brand's time zone among it) is not serialized into it.
    assert!(
        !page.contains("Asia/Shanghai"),
        "no loaded data rides along"
    );
    let member_no = at.rsplit("m=").next().unwrap().to_owned();
    let key = field_after(&page, "/fn/till_purchase", "key");

    let form = [
        ("store", first.to_string()),
        ("member", member_no.clone()),
        ("key", key.clone()),
        ("order", String::new()),
        ("amount", "128.50".to_owned()),
    ];
    let once = post_owned(&mut till, "/fn/till_purchase", &form).await;
    let twice = post_owned(&mut till, "/fn/till_purchase", &form).await;
    assert_eq!(
        location(&once),
        location(&twice),
        "a double click lands on the same confirmation"
    );
    assert!(location(&once).ends_with(&format!("&done={key}")));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM purchases").await,
        1,
        "recorded once"
    );
    let page = till.page(&location(&once)).await;
    assert!(
        page.contains("已记录消费 ¥128.50"),
        "the outcome is confirmed on screen"
    );
    assert_ne!(
        field_after(&page, "/fn/till_purchase", "key"),
        key,
        "the next bill gets a fresh form"
    );

    // The member's card shows the points.
    let (points,): (i64,) =
        sqlx::query_as("SELECT points_balance FROM members WHERE member_no = $1")
            .bind(&member_no)
            .fetch_one(app._db.db.pool())
            .await
            .unwrap();
    assert!(points > 0);
    let card = member.page("/r/demo/card").await;
    assert!(
        card.contains(&points.to_string()),
        "the card shows {points} points"
    );

    // Nonsense amounts are refused with a sentence and record nothing.
    let bad = till
        .post(
            "/fn/till_purchase",
            &[
                ("store", &first.to_string()),
                ("member", &member_no),
                ("key", "k".repeat(22).as_str()),
                ("order", ""),
                ("amount", "-5"),
            ],
        )
        .await;
    assert!(
        location(&bad).contains("error=invalid_input&field=amount"),
        "{}",
        location(&bad)
    );
    assert!(till.page(&location(&bad)).await.contains("请输入金额"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM purchases").await, 1);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'till.purchase'"
        )
        .await,
        1
    );
}

#[both_databases]
async fn a_coupon_is_taken_once_and_a_second_try_hears_why() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let (first, _, _) = stores(&app).await;
    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    let mut till = staff_browser(&app, "till").await;
    let at = find_member(&mut till, first, "13800138000").await;
    let page = till.page(&at).await;
    let member_no = at.rsplit("m=").next().unwrap().to_owned();
    let code = field_after(&page, "till-coupons", "code");
    assert_eq!(code.len(), 11, "the welcome coupon is offered: {code}");

    let post = |key: String| {
        vec![
            ("store", first.to_string()),
            ("member", member_no.clone()),
            ("key", key),
            ("order", String::new()),
            ("code", code.clone()),
            ("typed", String::new()),
            ("bill", "300".to_owned()),
        ]
    };
    let key = field_after(&page, "/fn/till_coupon", "key");
    let r = post_owned(&mut till, "/fn/till_coupon", &post(key)).await;
    assert!(location(&r).contains("&done="), "{}", location(&r));
    let page = till.page(&location(&r)).await;
    assert!(
        page.contains(&format!("已核销 {code}")),
        "confirmed on screen"
    );
    assert!(
        !page.contains(&format!("value=\"{code}\"")),
        "no longer offered"
    );

    let again = post_owned(&mut till, "/fn/till_coupon", &post("x".repeat(22))).await;
    assert!(location(&again).contains("error=coupon_already_redeemed"));
    let page = till.page(&location(&again)).await;
    assert!(
        page.contains("这张券已于"),
        "the cashier hears when it was used"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM coupon_redemptions").await,
        1
    );

    // More points than one bill takes, then more than the member has.
    let points = |n: &str, key: char| {
        vec![
            ("store", first.to_string()),
            ("member", member_no.clone()),
            ("key", key.to_string().repeat(22)),
            ("order", "POS-1".to_owned()),
            ("points", n.to_owned()),
            ("bill", "100".to_owned()),
        ]
    };
    let r = post_owned(&mut till, "/fn/till_points", &points("999999", 'p')).await;
    assert!(
        location(&r).contains("error=points_cap_exceeded&max="),
        "{}",
        location(&r)
    );
    assert!(till.page(&location(&r)).await.contains("这张账单最多可用"));
    let r = post_owned(&mut till, "/fn/till_points", &points("50", 'q')).await;
    assert!(
        location(&r).contains("error=insufficient_points"),
        "{}",
        location(&r)
    );
}

#[both_databases]
async fn staff_act_only_at_their_own_tills() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let (first, second, foreign) = stores(&app).await;
    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    let (no,): (String,) = sqlx::query_as("SELECT member_no FROM members")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    let purchase = |store: i64, key: char| {
        vec![
            ("store", store.to_string()),
            ("member", no.clone()),
            ("key", key.to_string().repeat(22)),
            ("order", String::new()),
            ("amount", "10".to_owned()),
        ]
    };
    // role × store × brand: (who, store, allowed)
    let cases = [
        ("till", first, true),
        ("till", second, false),
        ("mgr2", second, true),
        ("mgr2", first, false),
        ("boss", first, true),
        ("boss", second, true),
        ("boss", foreign, false),
        ("rival", first, false),
    ];
    let mut recorded = 0;
    for (i, (who, store, allowed)) in cases.into_iter().enumerate() {
        let mut b = staff_browser(&app, who).await;
        let key = (b'a' + i as u8) as char;
        let r = post_owned(&mut b, "/fn/till_purchase", &purchase(store, key)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let to = location(&r);
        if allowed {
            recorded += 1;
            assert!(to.contains("&done="), "{who} at {store}: {to}");
        } else {
            assert_eq!(to, "/admin/till?error=store_not_found", "{who} at {store}");
        }
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM purchases").await,
            recorded,
            "{who} at {store}"
        );
    }

    // The rival owner at their own store cannot reach a demo member.
    let mut rival = staff_browser(&app, "rival").await;
    let r = post_owned(&mut rival, "/fn/till_purchase", &purchase(foreign, 'z')).await;
    assert!(
        location(&r).contains("error=member_not_found"),
        "{}",
        location(&r)
    );
    let r = rival
        .post(
            "/fn/till_find",
            &[("store", &foreign.to_string()), ("q", "13800138000")],
        )
        .await;
    assert!(location(&r).contains("error=member_not_found"));

    // Signed out: sent to sign in, nothing recorded.
    let mut nobody = Browser::new(&app);
    let r = post_owned(&mut nobody, "/fn/till_purchase", &purchase(first, 'y')).await;
    assert!(location(&r).starts_with("/admin?next="), "{}", location(&r));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM purchases").await,
        recorded
    );

    // A manager asking for another store's till sees only the chooser.
    let mut mgr = staff_browser(&app, "mgr2").await;
    let page = mgr.page(&format!("/admin/till?store={first}")).await;
    assert!(
        !page.contains("人民广场店"),
        "another store's name is not shown"
    );
}

#[both_databases]
async fn owners_read_the_audit_log_and_no_one_else_does() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let (first, _, _) = stores(&app).await;
    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    let mut till = staff_browser(&app, "till").await;
    let at = find_member(&mut till, first, "13800138000").await;
    let page = till.page(&at).await;
    let no = at.rsplit("m=").next().unwrap().to_owned();
    let key = field_after(&page, "/fn/till_purchase", "key");
    till.post(
        "/fn/till_purchase",
        &[
            ("store", &first.to_string()),
            ("member", &no),
            ("key", &key),
            ("order", "POS-77"),
            ("amount", "88"),
        ],
    )
    .await;

    let mut boss = staff_browser(&app, "boss").await;
    let log = boss.page("/admin/audit").await;
    assert!(log.contains("till.purchase"), "the owner sees the purchase");
    assert!(log.contains("收银 (till)"), "and who recorded it");
    assert!(log.contains("POS-77"));
    assert!(!log.contains("13800138000"), "no phone in the log");

    for who in ["till", "mgr2"] {
        let mut b = staff_browser(&app, who).await;
        let r = b.get("/admin/audit").await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who}");
    }
    let mut rival = staff_browser(&app, "rival").await;
    let theirs = rival.page("/admin/audit").await;
    assert!(
        !theirs.contains("till.purchase"),
        "another brand's owner sees none of it"
    );
}
