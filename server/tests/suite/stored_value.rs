//! Stored value through the POS API, exactly as the "Stored value" section
//! of `API.md` promises it: top-ups with the demo's offers, payments that
//! need the card's rotating code, voids, refunds of unspent principal, the
//! balance in the lookup, and no overdraft under 64 simultaneous payments.

use axum::http::StatusCode;
use serde_json::json;

use crate::api::{post_at_once, replayed, setup, Pos};
use crate::common::{body_text, rotating_code, spawn_app, TestApp, HTTP_SECRET};

#[both_databases]
async fn a_top_up_gets_the_offer_in_force_once_however_often_it_is_retried() {
    let app = spawn_app().await;
    let (key, _, member_no) = setup(&app).await;
    let pos = Pos { app: &app, key };
    // The demo's offers: 充300送30, 充500送60, 充1000送150.
    let body = json!({"top_up_id": "TU-1", "member": member_no, "amount_fen": 50_000, "tender": "wechat_pay"});
    let (status, first, _) = pos
        .post("/api/v1/stored-value/top-ups", "k-1", body.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        first,
        json!({"top_up_id": "TU-1", "principal_fen": 50_000, "bonus_fen": 6_000, "balance_fen": 56_000})
    );
    let (status, again, response) = pos
        .post("/api/v1/stored-value/top-ups", "k-1", body.clone())
        .await;
    assert_eq!((status, &again), (StatusCode::OK, &first));
    assert!(replayed(&response), "a retry is the stored answer");
    let (status, dup, _) = pos.post("/api/v1/stored-value/top-ups", "k-2", body).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(dup["code"], "top_up_already_recorded");
    let (_, lookup) = pos
        .get(&format!("/api/v1/members/lookup?member={member_no}"))
        .await;
    assert_eq!(
        lookup["stored_value"],
        json!({"balance_fen": 56_000}),
        "credited once"
    );
    let bad =
        json!({"top_up_id": "TU-2", "member": member_no, "amount_fen": 100, "tender": "bitcoin"});
    let (status, refused, _) = pos.post("/api/v1/stored-value/top-ups", "k-3", bad).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_input"))
    );
}

#[both_databases]
async fn a_payment_needs_the_rotating_code_and_never_takes_more_than_the_balance() {
    let app = spawn_app().await;
    let (key, other_key, member_no) = setup(&app).await;
    let pos = Pos { app: &app, key };
    let top_up = json!({"top_up_id": "TU-1", "member": member_no, "amount_fen": 30_000});
    pos.post("/api/v1/stored-value/top-ups", "t-1", top_up)
        .await;
    // 300 + 30 bonus.
    for member in [json!(member_no), json!({"phone": "+8613800138000"})] {
        let body = json!({"payment_id": "P-1", "member": member, "amount_fen": 100});
        let (status, p, _) = pos
            .post(
                "/api/v1/stored-value/payments",
                &format!("p-{member}"),
                body,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{member}: {p}");
        assert_eq!(p["code"], "rotating_code_required");
    }
    let code = rotating_code(&app._db.db, HTTP_SECRET, &member_no).await;
    let body =
        json!({"payment_id": "P-1", "member": code, "amount_fen": 11_000, "order_id": "A-1"});
    let (status, paid, _) = pos
        .post("/api/v1/stored-value/payments", "p-1", body.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    // In proportion: 110 of 330 is 100 principal and 10 bonus.
    assert_eq!(
        paid,
        json!({"payment_id": "P-1", "paid_fen": 11_000, "principal_fen": 10_000, "bonus_fen": 1_000, "balance_fen": 22_000})
    );
    let (status, dup, _) = pos.post("/api/v1/stored-value/payments", "p-2", body).await;
    assert_eq!(
        (status, dup["code"].as_str()),
        (StatusCode::CONFLICT, Some("payment_already_recorded"))
    );
    let too_much = json!({"payment_id": "P-2", "member": code, "amount_fen": 22_001});
    let (status, p, _) = pos
        .post("/api/v1/stored-value/payments", "p-3", too_much)
        .await;
    assert_eq!(
        (status, p["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("insufficient_balance")
        )
    );
    // Another brand's till cannot spend this card, even with its code.
    let theirs = Pos {
        app: &app,
        key: other_key,
    };
    let body = json!({"payment_id": "P-9", "member": code, "amount_fen": 100});
    let (status, p, _) = theirs
        .post("/api/v1/stored-value/payments", "x-1", body)
        .await;
    assert_eq!(
        (status, p["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("member_not_found"))
    );
    let (_, lookup) = pos
        .get(&format!("/api/v1/members/lookup?member={member_no}"))
        .await;
    assert_eq!(lookup["stored_value"]["balance_fen"], 22_000);
}

#[both_databases]
async fn a_void_gives_back_exactly_and_a_refund_only_unspent_principal() {
    let app = spawn_app().await;
    let (key, other_key, member_no) = setup(&app).await;
    let pos = Pos { app: &app, key };
    let top_up =
        json!({"top_up_id": "TU-1", "member": member_no, "amount_fen": 100_000, "tender": "cash"});
    pos.post("/api/v1/stored-value/top-ups", "t-1", top_up)
        .await; // 1000 + 150
    let code = rotating_code(&app._db.db, HTTP_SECRET, &member_no).await;
    let pay = json!({"payment_id": "P-1", "member": code, "amount_fen": 23_000});
    pos.post("/api/v1/stored-value/payments", "p-1", pay).await; // 200 + 30
    let theirs = Pos {
        app: &app,
        key: other_key,
    };
    let (status, p, _) = theirs
        .post("/api/v1/stored-value/payments/P-1/void", "x-1", json!({}))
        .await;
    assert_eq!(
        (status, p["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("payment_not_found"))
    );
    let (status, v, _) = pos
        .post("/api/v1/stored-value/payments/P-1/void", "v-1", json!({}))
        .await;
    assert_eq!(
        (status, v),
        (StatusCode::OK, json!({"balance_fen": 115_000}))
    );
    let (status, v, _) = pos
        .post("/api/v1/stored-value/payments/P-1/void", "v-2", json!({}))
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("payment_already_voided"))
    );
    let pay = json!({"payment_id": "P-2", "member": code, "amount_fen": 46_000});
    pos.post("/api/v1/stored-value/payments", "p-2", pay).await; // 400 + 60
    let refund = |id: &str, fen: i64| json!({"refund_id": id, "amount_fen": fen});
    let path = "/api/v1/stored-value/top-ups/TU-1/refunds";
    let (status, r, _) = pos.post(path, "r-1", refund("R-1", 60_001)).await;
    assert_eq!(
        (status, r["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("refund_exceeds_principal")
        )
    );
    let (status, r, _) = pos.post(path, "r-2", refund("R-1", 60_000)).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    // All the unspent principal back; the bonus that came with it (150 for
    // 1000, so 90 for 600) is forfeited as far as it is unspent: 90.
    assert_eq!(
        r,
        json!({"principal_refunded_fen": 60_000, "bonus_forfeited_fen": 9_000, "balance_fen": 0})
    );
    let (status, r, _) = pos.post(path, "r-3", refund("R-1", 1)).await;
    assert_eq!(
        (status, r["code"].as_str()),
        (StatusCode::CONFLICT, Some("refund_already_recorded"))
    );
    let (status, r, _) = theirs.post(path, "x-2", refund("R-9", 1)).await;
    assert_eq!(
        (status, r["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("top_up_not_found"))
    );
}

#[both_databases]
async fn sixty_four_simultaneous_payments_never_overdraw() {
    let app = std::sync::Arc::new(spawn_app().await);
    let (key, _, member_no) = setup(&app).await;
    let pos = Pos {
        app: &app,
        key: key.clone(),
    };
    let top_up = json!({"top_up_id": "TU-1", "member": member_no, "amount_fen": 10_000});
    pos.post("/api/v1/stored-value/top-ups", "t-1", top_up)
        .await; // 100, below every offer
    let code = rotating_code(&app._db.db, HTTP_SECRET, &member_no).await;
    let requests = (0..64)
        .map(|i| {
            let body = json!({"payment_id": format!("P-{i}"), "member": code, "amount_fen": 300});
            (format!("k-{i}"), body)
        })
        .collect();
    let (mut ok, mut refused) = (0, 0);
    let path = "/api/v1/stored-value/payments";
    for (status, body) in post_at_once(&app, &key, path, requests).await {
        match (status, body["code"].as_str().unwrap_or_default()) {
            (StatusCode::OK, _) => ok += 1,
            (StatusCode::UNPROCESSABLE_ENTITY, "insufficient_balance") => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, refused), (33, 31), "¥100 pays 33 times ¥3 and no more");
    let (_, lookup) = pos
        .get(&format!("/api/v1/members/lookup?member={member_no}"))
        .await;
    assert_eq!(lookup["stored_value"]["balance_fen"], 100);
}

/// Posts a form whose values are owned strings.
async fn post_owned(
    b: &mut crate::common::Browser<'_>,
    path: &str,
    form: &[(&str, String)],
) -> axum::response::Response {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post(path, &pairs).await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    n
}

#[both_databases]
async fn at_the_till_a_cashier_tops_up_and_takes_payments_and_only_a_manager_voids_or_refunds() {
    use crate::common::{console_staff, field_after, location, staff_browser, Browser};
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    let (first,): (i64,) = sqlx::query_as(
        "SELECT s.id FROM stores s JOIN brands b ON b.id = s.brand_id WHERE b.slug = 'demo' ORDER BY s.id LIMIT 1",
    )
    .fetch_one(app._db.db.pool())
    .await
    .unwrap();
    let (no,): (String,) =
        sqlx::query_as("SELECT member_no FROM members WHERE phone = '+8613800138000'")
            .fetch_one(app._db.db.pool())
            .await
            .unwrap();
    let mut till = staff_browser(&app, "till").await;
    let at = format!("/admin/till?store={first}&m={no}");
    let page = till.page(&at).await;
    assert!(
        page.contains("储值余额 ¥0"),
        "the balance is on the till's screen"
    );
    let top_up = [
        ("store", first.to_string()),
        ("member", no.clone()),
        ("key", field_after(&page, "/fn/till_top_up", "key")),
        ("amount", "500".to_owned()),
        ("tender", "wechat_pay".to_owned()),
    ];
    let once = post_owned(&mut till, "/fn/till_top_up", &top_up).await;
    let twice = post_owned(&mut till, "/fn/till_top_up", &top_up).await;
    assert_eq!(
        location(&once),
        location(&twice),
        "a double click records once"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM stored_value_top_ups").await,
        1
    );
    let page = till.page(&location(&once)).await;
    assert!(
        page.contains("充值 ¥500，赠送 ¥60。储值余额 ¥560。"),
        "the demo's 充500送60"
    );

    // Paying needs the code the card shows now, not the member number.
    let pay = |code: String, key: String| {
        [
            ("store", first.to_string()),
            ("member", no.clone()),
            ("key", key),
            ("code", code),
            ("order", String::new()),
            ("amount", "88".to_owned()),
        ]
    };
    let key = field_after(&page, "/fn/till_stored_pay", "key");
    let refused = post_owned(&mut till, "/fn/till_stored_pay", &pay(no.clone(), key)).await;
    assert!(
        location(&refused).contains("error=rotating_code_required"),
        "{}",
        location(&refused)
    );
    let page = till.page(&location(&refused)).await;
    assert!(
        page.contains("储值支付需要会员当前的动态会员码"),
        "the refusal is a sentence"
    );
    let key = field_after(&page, "/fn/till_stored_pay", "key");
    let code = rotating_code(&app._db.db, HTTP_SECRET, &no).await;
    let paid = post_owned(&mut till, "/fn/till_stored_pay", &pay(code, key.clone())).await;
    let page = till.page(&location(&paid)).await;
    assert!(page.contains("储值支付 ¥88"), "confirmed on screen");
    assert!(
        member.page("/r/demo/card").await.contains("¥472"),
        "the card shows the balance"
    );

    // A cashier may not void or refund; a manager of the store may.
    let payment = format!("TILL-{key}");
    let void = |key: String| {
        [
            ("store", first.to_string()),
            ("member", no.clone()),
            ("key", key),
            ("payment", payment.clone()),
        ]
    };
    let r = post_owned(&mut till, "/fn/till_stored_void", &void("v".repeat(22))).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        !page.contains("/fn/till_stored_void"),
        "a cashier is not offered the form"
    );
    let mut boss = staff_browser(&app, "boss").await;
    let page = boss.page(&at).await;
    let r = post_owned(
        &mut boss,
        "/fn/till_stored_void",
        &void(field_after(&page, "/fn/till_stored_void", "key")),
    )
    .await;
    assert!(boss
        .page(&location(&r))
        .await
        .contains("已撤销储值消费。余额 ¥560。"));
    let refund = |key: String, amount: &str| {
        [
            ("store", first.to_string()),
            ("member", no.clone()),
            ("key", key),
            ("top_up", format!("TILL-{}", top_up[2].1)),
            ("amount", amount.to_owned()),
        ]
    };
    let page = boss.page(&at).await;
    let r = post_owned(
        &mut boss,
        "/fn/till_stored_refund",
        &refund(field_after(&page, "/fn/till_stored_refund", "key"), "600"),
    )
    .await;
    assert!(
        location(&r).contains("error=refund_exceeds_principal"),
        "{}",
        location(&r)
    );
    assert!(boss.page(&location(&r)).await.contains("最多可退 ¥500"));
    let page = boss.page(&at).await;
    let r = post_owned(
        &mut boss,
        "/fn/till_stored_refund",
        &refund(field_after(&page, "/fn/till_stored_refund", "key"), "500"),
    )
    .await;
    assert!(boss
        .page(&location(&r))
        .await
        .contains("已退本金 ¥500，扣回赠送金 ¥60。余额 ¥0。"));
    for action in [
        "till.top_up",
        "till.stored_payment",
        "till.stored_void",
        "till.stored_refund",
    ] {
        let sql = format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'");
        assert_eq!(
            count(&app, &sql).await,
            1,
            "{action} is in the audit log once"
        );
    }
    // The member's statement lists all four.
    let statement = member.page("/r/demo/balance").await;
    for line in ["充值", "消费", "消费撤销", "退款", "其中赠送金 ¥60"] {
        assert!(statement.contains(line), "the statement shows {line}");
    }
}

#[both_databases]
async fn the_owner_sets_offers_and_reads_the_liability_and_no_one_else_does() {
    use crate::common::{api_key, console_staff, location, staff_browser, Browser};
    let app = spawn_app().await;
    console_staff(&app).await;
    Browser::new(&app).join("13800138000", true).await;
    let (member_no,): (String,) = sqlx::query_as("SELECT member_no FROM members LIMIT 1")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    let pos = Pos {
        app: &app,
        key: api_key(&app, "demo").await,
    };
    let top_up = json!({"top_up_id": "TU-1", "member": member_no, "amount_fen": 100_000});
    pos.post("/api/v1/stored-value/top-ups", "t-1", top_up)
        .await; // 1000 + 150
    let mut boss = staff_browser(&app, "boss").await;
    let page = boss.page("/admin/stored-value").await;
    assert!(page.contains("¥1,150"), "what the brand owes");
    assert!(
        page.contains("充¥1,000送¥150"),
        "the demo's offers are listed"
    );
    let r = boss
        .post(
            "/fn/add_top_up_offer",
            &[
                ("min", "2000"),
                ("bonus", "400"),
                ("starts", ""),
                ("ends", "2099-12-31"),
                ("store", "all"),
            ],
        )
        .await;
    assert!(location(&r).contains("saved=1"), "{}", location(&r));
    assert!(boss
        .page("/admin/stored-value")
        .await
        .contains("充¥2,000送¥400"));
    let r = boss
        .post(
            "/fn/add_top_up_offer",
            &[("min", "100"), ("bonus", "200"), ("store", "all")],
        )
        .await;
    assert!(
        location(&r).contains("error=invalid_input&field=bonus_fen"),
        "{}",
        location(&r)
    );
    let r = boss
        .post("/fn/save_stored_split", &[("split", "principal_first")])
        .await;
    assert!(location(&r).contains("saved=1"));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'stored_value.%'"
        )
        .await,
        2,
        "the offer and the split are in the audit log"
    );
    let csv = boss.get("/admin/stored-value.csv").await;
    assert_eq!(csv.status(), StatusCode::OK);
    let text = body_text(csv).await;
    assert!(
        text.starts_with('\u{feff}'),
        "a byte-order mark for spreadsheets"
    );
    assert!(text.contains("1000.00,150.00"), "{text}");
    let mut cashier = staff_browser(&app, "till").await;
    assert_eq!(
        cashier.get("/admin/stored-value").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        cashier.get("/admin/stored-value.csv").await.status(),
        StatusCode::NOT_FOUND
    );
}
