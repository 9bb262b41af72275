//! Hostile input through the real forms and the POS API: markup and formulas
//! in every text field, SQL metacharacters, absurd amounts and dates,
//! malformed bytes, deep JSON, oversized bodies, stale rotating codes and
//! forged cookies. Nothing may crash (5xx), run, or change what it must not.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};

use crate::common::{
    body_text, console_staff, location, spawn_app, staff_browser, Browser, TestApp,
};

/// Markup that would run if any page put it out unescaped, and a formula a
/// spreadsheet would evaluate if a CSV cell began with it.
const MARKUP: &str = "\"></title></textarea><script>alert(1)</script><img src=x onerror=alert(2)>";
const FORMULA: &str = "  =HYPERLINK(\"http://evil.example\",\"x\")";

fn assert_inert(what: &str, html: &str) {
    for raw in ["<script>alert", "<img src=x"] {
        if let Some(at) = html.find(raw) {
            let from = html[..at]
                .char_indices()
                .rev()
                .nth(300)
                .map_or(0, |(i, _)| i);
            panic!(
                "{what}: {raw} came out unescaped: …{}…",
                &html[from..(at + 400).min(html.len())]
            );
        }
    }
}

async fn demo_key(app: &TestApp) -> String {
    crate::common::api_key(app, "demo").await
}

async fn api(app: &TestApp, key: &str, path: &str, idem: &str, body: Body) -> (StatusCode, Value) {
    let r = app
        .send(
            Request::post(path)
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .header(header::CONTENT_TYPE, "application/json")
                .header("idempotency-key", idem)
                .body(body)
                .unwrap(),
        )
        .await;
    let status = r.status();
    let text = body_text(r).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn member_no(app: &TestApp) -> String {
    let (no,): (String,) = sqlx::query_as("SELECT member_no FROM members ORDER BY id LIMIT 1")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    no
}

#[both_databases]
async fn markup_in_every_text_field_stays_text_on_every_page_and_export() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let evil = format!("x{MARKUP}");
    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    let no = member_no(&app).await;
    let r = member
        .post(
            "/fn/save_profile",
            &[
                ("slug", "demo"),
                ("display_name", FORMULA),
                ("birthday_month", "5"),
                ("birthday_day", "20"),
                ("birth_year", ""),
                ("gender", ""),
                ("allergies", &evil),
                ("sensitive_consent", "on"),
                ("language", "zh-CN"),
            ],
        )
        .await;
    assert!(!location(&r).contains("error="), "{}", location(&r));
    let r = member
        .post(
            "/fn/send_feedback",
            &[("slug", "demo"), ("nps", "1"), ("comment", &evil)],
        )
        .await;
    assert!(!location(&r).contains("error="), "{}", location(&r));

    let mut boss = staff_browser(&app, "boss").await;
    let (store,): (i64,) = sqlx::query_as("SELECT MIN(id) FROM stores")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    let store = store.to_string();
    let (feedback,): (i64,) = sqlx::query_as("SELECT MIN(id) FROM feedback")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    let feedback = feedback.to_string();
    // (Table labels, staff and tier names refuse markup outright.)
    // For fields too short for the whole of it.
    let short = "</title><script>alert(3)</script>".to_owned();
    let writes: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "save_brand_profile",
            vec![
                ("name", &evil),
                ("theme_color", "#aa3300"),
                ("default_locale", "zh-CN"),
                ("time_zone", "Asia/Shanghai"),
                ("sms_signature", "山野"),
            ],
        ),
        (
            "save_store",
            vec![
                ("id", &store),
                ("code", "SH01"),
                ("name", &evil),
                ("address", &evil),
            ],
        ),
        ("create_api_key", vec![("store", &store), ("name", &short)]),
        (
            "create_offer",
            vec![
                ("kind", "gift"),
                ("gift", &short),
                ("valid_days", "14"),
                ("claimable", "on"),
            ],
        ),
        (
            "create_automation",
            vec![("trigger", "join"), ("points", "5"), ("message", &evil)],
        ),
        (
            "reply_feedback",
            vec![
                ("id", &feedback),
                ("reply", &evil),
                ("back", "/admin/feedback"),
            ],
        ),
        (
            "adjust_member_points",
            vec![
                ("member", &no),
                ("key", "hhhhhhhhhhhhhhhhhhhhhh"),
                ("points", "+5"),
                ("reason", &evil),
            ],
        ),
    ];
    for (name, form) in &writes {
        let r = boss.post(&format!("/fn/{name}"), form).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{name}");
        assert!(
            !location(&r).contains("error="),
            "{name} refused the text: {}",
            location(&r)
        );
    }
    // The POS sends an order id with markup in it.
    let key = demo_key(&app).await;
    let body = json!({"order_id": format!("O{short}"), "member": no, "amount_fen": 1000});
    let (status, _) = api(
        &app,
        &key,
        "/api/v1/purchases",
        "h1",
        Body::from(body.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Every page of the console and the card, and the exports.
    let (coupon,): (String,) = sqlx::query_as("SELECT code FROM coupons LIMIT 1")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    let token = app.table_token();
    let mut seen = 0;
    for (method, path) in server::http::route_list() {
        if method != axum::http::Method::GET || path.starts_with("/api/") {
            continue;
        }
        let target = crate::common::fill_route(
            &path,
            &[
                ("brand", "demo"),
                ("no", &no),
                ("id", &store),
                ("store", &store),
                ("code", &coupon),
                ("token", &token),
            ],
        );
        for browser in [&mut boss, &mut member] {
            let r = browser.get(&target).await;
            assert!(!r.status().is_server_error(), "{target}: {}", r.status());
            let kind = crate::common::header_str(&r, header::CONTENT_TYPE).to_owned();
            let disposition = crate::common::header_str(&r, header::CONTENT_DISPOSITION).to_owned();
            let text = body_text(r).await;
            // Markup matters where a browser parses it: pages and SVG. JSON
            // (the manifest, the member's export) is data, sent nosniff; so
            // is a CSV report, which is also a download, never shown.
            if kind.contains("json") {
                continue;
            }
            if kind.starts_with("text/csv") {
                assert!(
                    disposition.starts_with("attachment"),
                    "{target} is a download"
                );
                continue;
            }
            assert_inert(&target, &text);
            seen += 1;
        }
    }
    for export in [
        "/admin/segments.csv?window=365&segment=general_retain",
        "/admin/segments.csv?churn=1",
        "/admin/members?q=x",
        "/admin/feedback/report",
        "/admin/audit",
    ] {
        let text = boss.page(export).await;
        assert_inert(export, &text);
    }
    assert!(seen > 50, "{seen} pages");
    // The member's own export is JSON: the markup is a JSON string, served as
    // a download, never as a page.
    let r = member.get("/r/demo/me/export").await;
    let kind = r
        .headers()
        .get(header::CONTENT_TYPE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!kind.starts_with("text/html"), "{kind}");
    // In the CSV of the segment that holds the member, the name that starts
    // with = is a quoted text cell, not a formula.
    let mut rows = Vec::new();
    for segment in [
        "important_value",
        "important_develop",
        "important_keep",
        "important_win_back",
        "general_value",
        "general_develop",
        "general_keep",
        "general_win_back",
    ] {
        let csv = boss
            .page(&format!("/admin/segments.csv?window=365&segment={segment}"))
            .await;
        rows.extend(
            csv.lines()
                .filter(|l| l.contains("HYPERLINK"))
                .map(str::to_owned),
        );
    }
    assert_eq!(rows.len(), 1, "the member is in one segment: {rows:?}");
    assert!(
        rows[0].contains(",\"'=HYPERLINK") || rows[0].contains(",'=HYPERLINK"),
        "a formula in the CSV: {}",
        rows[0]
    );
}

#[both_databases]
async fn sql_metacharacters_are_only_text() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    let mut boss = staff_browser(&app, "boss").await;
    let before: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM members")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    for q in [
        "' OR '1'='1",
        "'; DROP TABLE members; --",
        "%",
        "_",
        "\\",
        "1' UNION SELECT phone FROM members --",
    ] {
        let page = boss
            .page(&format!("/admin/members?q={}", crate::common::urlencode(q)))
            .await;
        assert!(
            !page.contains("138****8000"),
            "searching {q:?} must not match everyone"
        );
        let r = boss
            .post("/fn/till_find", &[("store", "1"), ("q", q)])
            .await;
        assert!(!r.status().is_server_error(), "till {q:?}");
    }
    let after: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM members")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    assert_eq!(before, after);
    // The real member is still found by their number.
    let no = member_no(&app).await;
    let page = boss.page(&format!("/admin/members?q={no}")).await;
    assert!(page.contains("138****8000"));
}

#[both_databases]
async fn absurd_amounts_and_dates_are_refused_with_a_reason() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    let no = member_no(&app).await;
    let key = demo_key(&app).await;
    let huge = i64::MAX.to_string();
    let bodies = [
        format!(r#"{{"order_id":"A1","member":"{no}","amount_fen":-1}}"#),
        format!(r#"{{"order_id":"A2","member":"{no}","amount_fen":{huge}}}"#),
        format!(r#"{{"order_id":"A3","member":"{no}","amount_fen":99999999999999999999999}}"#),
        format!(r#"{{"order_id":"A4","member":"{no}","amount_fen":1e30}}"#),
        format!(r#"{{"order_id":"A5","member":"{no}","amount_fen":10.5}}"#),
        format!(r#"{{"order_id":"A6","member":"{no}","amount_fen":"100"}}"#),
        format!(
            r#"{{"order_id":"A7","member":"{no}","amount_fen":100,"occurred_at":"9999-12-31T23:59:59Z"}}"#
        ),
        format!(
            r#"{{"order_id":"A8","member":"{no}","amount_fen":100,"occurred_at":"1900-01-01T00:00:00Z"}}"#
        ),
        format!(
            r#"{{"order_id":"{}","member":"{no}","amount_fen":100}}"#,
            "O".repeat(10_000)
        ),
    ];
    for (i, body) in bodies.iter().enumerate() {
        let (status, problem) = api(
            &app,
            &key,
            "/api/v1/purchases",
            &format!("abs{i}"),
            Body::from(body.clone()),
        )
        .await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::PAYLOAD_TOO_LARGE,
            "{body}: {status} {problem}"
        );
        assert!(problem["code"].is_string(), "{body}: a problem document");
    }
    for (i, points) in ["-1", "0", &huge].iter().enumerate() {
        let body = format!(
            r#"{{"member":"{no}","order_id":"P{i}","points":{points},"amount_fen":10000}}"#
        );
        let (status, problem) = api(
            &app,
            &key,
            "/api/v1/points/redeem",
            &format!("pts{i}"),
            Body::from(body.clone()),
        )
        .await;
        assert!(status.is_client_error(), "{body}: {status} {problem}");
    }
    // A real purchase, then a refund of more than it.
    let body = json!({"order_id": "REAL", "member": no, "amount_fen": 10_000});
    let (status, real) = api(
        &app,
        &key,
        "/api/v1/purchases",
        "real",
        Body::from(body.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for (i, amount) in ["10001", &huge, "-5"].iter().enumerate() {
        let body = format!(r#"{{"refund_id":"R{i}","amount_fen":{amount}}}"#);
        let (status, problem) = api(
            &app,
            &key,
            "/api/v1/purchases/REAL/refunds",
            &format!("ref{i}"),
            Body::from(body.clone()),
        )
        .await;
        assert!(status.is_client_error(), "{body}: {status} {problem}");
    }
    let (balance,): (i64,) = sqlx::query_as("SELECT points_balance FROM members")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    assert_eq!(
        balance, real["points_balance"],
        "only the real purchase counted; no refused refund or redemption moved points"
    );

    // The till, the roster and the forms with the same.
    let mut boss = staff_browser(&app, "boss").await;
    for (i, amount) in ["-5", "0", "1e9", "99999999999999999999", "九十", "NaN"]
        .iter()
        .enumerate()
    {
        let key = format!("{:a>22}", i);
        let r = boss
            .post(
                "/fn/till_purchase",
                &[
                    ("store", "1"),
                    ("member", &no),
                    ("key", &key),
                    ("order", ""),
                    ("amount", amount),
                ],
            )
            .await;
        assert!(
            location(&r).contains("error="),
            "till amount {amount:?}: {}",
            location(&r)
        );
    }
    for (i, points) in ["99999999999999999999", &huge, "-99999999999"]
        .iter()
        .enumerate()
    {
        let key = format!("{:b>22}", i);
        let r = boss
            .post(
                "/fn/adjust_member_points",
                &[
                    ("member", &no),
                    ("key", &key),
                    ("points", points),
                    ("reason", "x"),
                ],
            )
            .await;
        assert!(
            location(&r).contains("error="),
            "adjust by {points}: {}",
            location(&r)
        );
    }
    let r = member
        .post(
            "/fn/send_feedback",
            &[("slug", "demo"), ("nps", "5"), ("visit_date", "9999-12-31")],
        )
        .await;
    assert!(location(&r).contains("error="), "{}", location(&r));
    for query in [
        "/admin/members?joined_from=9999-99-99&joined_to=0000-00-00",
        "/admin/members?joined_from=99999-01-01",
        "/admin/feedback?from=9999-12-31&to=-1",
        "/admin/segments?window=99999999999",
        "/admin/members?page=-1",
        "/admin/members?page=9223372036854775807",
        "/admin/coupons/new?kind=amount_off&amount=99999999999999&starts=9999-12-31&ends=0001-01-01",
    ] {
        let r = boss.get(query).await;
        assert!(!r.status().is_server_error(), "{query}: {}", r.status());
    }
    let r = boss
        .post(
            "/fn/create_offer",
            &[
                ("kind", "amount_off"),
                ("amount", "99999999999999"),
                ("threshold", "1"),
                ("valid_days", "99999999"),
                ("starts", "9999-12-31"),
            ],
        )
        .await;
    assert!(location(&r).contains("error="), "{}", location(&r));
    let audit = loyalty::points::audit(&app._db.db).await.unwrap();
    assert!(audit.is_empty(), "balance == sum(ledger) for everyone");
}

/// The join form's first step posted with `body` as it stands, as a
/// script could.
async fn request_code(app: &TestApp, body: impl Into<Body>) -> axum::response::Response {
    app.send(
        Request::post("/fn/request_code")
            .header(header::HOST, "localhost")
            .header(header::ORIGIN, "http://localhost")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.into())
            .unwrap(),
    )
    .await
}

#[both_databases]
async fn malformed_bytes_deep_json_and_oversized_bodies_are_clear_client_errors() {
    let app = spawn_app().await;
    let key = demo_key(&app).await;
    // JSON nested far deeper than any parser should follow.
    // (Under the 64 KiB limit, so it is the parser that meets it.)
    let deep = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
    let deep = format!(r#"{{"order_id":{deep},"member":"1","amount_fen":1}}"#);
    let (status, problem) = api(&app, &key, "/api/v1/purchases", "d1", Body::from(deep)).await;
    assert!(status.is_client_error(), "{status}");
    assert!(problem["code"].is_string(), "{problem}");
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    let (status, problem) = api(
        &app,
        &key,
        "/api/v1/purchases",
        "d2",
        Body::from(deep_object),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["code"], "invalid_body", "{problem}");
    // Invalid UTF-8 in a JSON body.
    let mut bytes = br#"{"order_id":""#.to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    bytes.extend_from_slice(br#"","member":"1","amount_fen":1}"#);
    let (status, problem) = api(&app, &key, "/api/v1/purchases", "u1", Body::from(bytes)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["code"], "invalid_body");
    // … in a form, percent-encoded and raw.
    for body in [
        b"slug=demo&country=86&phone=%FF%FE".to_vec(),
        [b"slug=demo&country=86&phone=".as_slice(), &[0xff, 0xfe]].concat(),
        b"slug=%00%00&country=86&phone=1".to_vec(),
    ] {
        let r = request_code(&app, body.clone()).await;
        assert!(
            !r.status().is_server_error(),
            "{:?}: {}",
            String::from_utf8_lossy(&body),
            r.status()
        );
    }
    // A form with a field missing (a browser's always has them all): the
    // sender's mistake, a 400 naming it, not a failure of ours.
    for body in ["slug=demo&phone=13800138000", "country=86&phone=1&next="] {
        let r = request_code(&app, body).await;
        let status = r.status();
        let text = body_text(r).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {text}");
        assert!(text.contains("invalid_form"), "{body}: {text}");
    }
    // … in a path, a query, a cookie and a language header.
    for path in ["/r/%FF%FE/card", "/admin/members?q=%FF", "/r/demo?x=%C3"] {
        let r = app.get(path, &[]).await;
        assert!(!r.status().is_server_error(), "{path}: {}", r.status());
    }
    let r = app
        .send(
            Request::get("/r/demo")
                .header(
                    header::COOKIE,
                    axum::http::HeaderValue::from_bytes(&[b't', b'c', b'=', 0xff]).unwrap(),
                )
                .header(
                    header::ACCEPT_LANGUAGE,
                    axum::http::HeaderValue::from_bytes(&[0xe4, 0xb8, 0xad, 0xff]).unwrap(),
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // Too large: a clear 413, as a problem document for the POS, whether
    // the size was declared or the body simply kept coming.
    let big = format!(r#"{{"order_id":"{}"}}"#, "x".repeat(100 * 1024));
    let (status, problem) = api(
        &app,
        &key,
        "/api/v1/purchases",
        "big",
        Body::from(big.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(problem["code"], "payload_too_large", "{problem}");
    let chunks = futures_util::stream::iter(
        (0..100).map(|_| Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b' '; 1024]))),
    );
    let (status, problem) = api(
        &app,
        &key,
        "/api/v1/purchases",
        "big2",
        Body::from_stream(chunks),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(problem["code"], "payload_too_large", "{problem}");
    // A browser's oversized form gets a page that says so, in its language.
    let r = app
        .send(
            Request::post("/fn/send_feedback")
                .header(header::HOST, "localhost")
                .header(header::ORIGIN, "http://localhost")
                .header(header::ACCEPT, "text/html")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "slug=demo&comment={}",
                    "a".repeat(100 * 1024)
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let text = body_text(r).await;
    assert!(text.contains("超过 64 KB"), "{text}");
}

#[both_databases]
async fn a_stale_rotating_code_or_a_forged_cookie_opens_nothing() {
    let app = spawn_app().await;
    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    let key = demo_key(&app).await;
    let (id, no, brand): (i64, String, i64) =
        sqlx::query_as("SELECT id, member_no, brand_id FROM members LIMIT 1")
            .fetch_one(app._db.db.pool())
            .await
            .unwrap();
    let secret = loyalty::ServerSecret::from_master(b"http-test-secret-key-long-enough-0123456789");
    let no = loyalty::members::MemberNo::parse(&no).unwrap();
    let code_at = |ms: i64| {
        loyalty::members::member_code::current(
            &secret,
            &loyalty::FixedClock::at(ms),
            loyalty::brands::BrandId(brand),
            loyalty::members::MemberId(id),
            &no,
        )
        .digits
    };
    let now = jiff::Timestamp::now().as_millisecond();
    let lookup = |code: String| {
        let key = key.clone();
        let app = &app;
        async move {
            app.get(
                &format!("/api/v1/members/lookup?member={code}"),
                &[("authorization", &format!("Bearer {key}"))],
            )
            .await
            .status()
        }
    };
    assert_eq!(
        lookup(code_at(now)).await,
        StatusCode::OK,
        "today's code works"
    );
    for minutes in [3, 10, 60 * 24] {
        assert_eq!(
            lookup(code_at(now - minutes * 60_000)).await,
            StatusCode::NOT_FOUND,
            "a code from {minutes} minutes ago"
        );
    }
    assert_eq!(
        lookup(code_at(now + 10 * 60_000)).await,
        StatusCode::NOT_FOUND,
        "a code from the future"
    );

    // Cookies: the member's session with one character changed, someone
    // else's shape, and a signed cookie re-signed by nobody.
    let name = member
        .cookies
        .keys()
        .find(|k| k.starts_with("tc_m"))
        .unwrap()
        .clone();
    let token = member.cookies[&name].clone();
    let mut flipped = token.clone().into_bytes();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
    for forged in [
        String::from_utf8(flipped).unwrap(),
        format!("{token}x"),
        String::new(),
        "../../etc/passwd".to_owned(),
        "A".repeat(4000),
    ] {
        let mut thief = Browser::new(&app);
        thief.cookies.insert(name.clone(), forged.clone());
        thief
            .cookies
            .insert("tc_visit".into(), "1.1.0000000000000000".into());
        let r = thief.get("/r/demo/card").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{forged:.20}");
        assert!(location(&r).starts_with("/r/demo/join"), "{forged:.20}");
    }
    let mut staff = Browser::new(&app);
    staff.cookies.insert("tc_staff".into(), token);
    let r = staff.get("/admin/dashboard").await;
    assert!(
        location(&r).starts_with("/admin?next="),
        "a member's token is no staff session"
    );
}
