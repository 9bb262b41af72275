//! The cross-tenant and privilege sweep: every page, every plain handler,
//! every server function and every POS API route, enumerated from the same
//! lists the router mounts (and server_fn's own registry), called by
//! everybody who must not reach the demo brand's data:
//!
//! - nobody (no cookie, no key), and forged cookies and keys;
//! - a member of another brand, with their session token moved into the
//!   demo brand's cookie;
//! - the cashier of the demo's first store, aimed at the second store;
//! - the owner and a manager of another brand;
//! - an API key of another brand.
//!
//! Each call must be refused (a redirect to sign in, 401, 403, 404, or the
//! caller's own brand), must never fail to parse (a 400 would test
//! nothing) or crash (5xx), must carry none of the victim's data in its body
//! or headers, and must leave every row of the demo brand as it was.
//! A route, function or endpoint added without an entry here fails the test.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::common::{
    self, body_text, console_staff, location, spawn_app, staff_browser, Browser, TestApp,
};
use loyalty::brands::stores;
use loyalty::brands::{self, BrandSlug};
use loyalty::staff::{self, Role};

/// Every server function with a complete form, so that the function runs and
/// it is its own check that refuses. `{…}` are the victim's ids.
const FUNCTIONS: &[(&str, &[(&str, &str)])] = &[
    // Members' own functions, on the demo brand.
    (
        "request_code",
        &[
            ("slug", "demo"),
            ("country", "86"),
            ("phone", "13700137000"),
        ],
    ),
    ("resend_code", &[("slug", "demo")]),
    (
        "verify_code",
        &[("slug", "demo"), ("code", "000000"), ("terms", "on")],
    ),
    ("next_card_code", &[("slug", "demo")]),
    (
        "save_profile",
        &[
            ("slug", "demo"),
            ("display_name", "hijacked"),
            ("birthday_month", "1"),
            ("birthday_day", "1"),
            ("birth_year", ""),
            ("gender", ""),
            ("allergies", ""),
            ("language", "en"),
        ],
    ),
    ("delete_account", &[("slug", "demo"), ("confirm", "on")]),
    (
        "take_coupon",
        &[("slug", "demo"), ("template", "{offer}"), ("nonce", "n1")],
    ),
    ("check_in", &[("slug", "demo")]),
    (
        "send_feedback",
        &[("slug", "demo"), ("nps", "0"), ("comment", "hijacked")],
    ),
    ("visit_table", &[("token", "{table_token}")]),
    // The console.
    (
        "staff_sign_in",
        &[("login", "no-such-login"), ("password", "not the password")],
    ),
    (
        "change_my_password",
        &[
            ("current", "not the password"),
            ("new", "new passphrase!"),
            ("confirm", "new passphrase!"),
        ],
    ),
    (
        "create_staff",
        &[
            ("login", "sneaky"),
            ("display_name", "x"),
            ("role", "owner"),
        ],
    ),
    (
        "update_staff",
        &[
            ("id", "{staff}"),
            ("display_name", "hijacked"),
            ("role", "owner"),
            ("stores[]", "{store2}"),
            ("active", "on"),
        ],
    ),
    ("staff_access", &[("id", "{staff}"), ("action", "reset")]),
    (
        "reply_feedback",
        &[
            ("id", "{feedback}"),
            ("reply", "hijacked"),
            ("back", "/admin/feedback"),
        ],
    ),
    (
        "mark_feedback",
        &[
            ("id", "{feedback}"),
            ("handled", "true"),
            ("back", "/admin/feedback"),
        ],
    ),
    ("create_api_key", &[("store", "{store2}"), ("name", "x")]),
    (
        "decide_adjustment",
        &[("request", "{adjustment}"), ("decision", "approve")],
    ),
    (
        "save_adjustment_limits",
        &[("per_adjustment", "0"), ("per_day", "0")],
    ),
    ("revoke_api_key", &[("id", "{key_id}")]),
    (
        "adjust_member_points",
        &[
            ("member", "{member}"),
            ("key", "aaaaaaaaaaaaaaaaaaaaaa"),
            ("points", "100"),
            ("reason", "x"),
        ],
    ),
    (
        "grant_member_coupon",
        &[
            ("member", "{member}"),
            ("key", "bbbbbbbbbbbbbbbbbbbbbb"),
            ("template", "{offer}"),
        ],
    ),
    (
        "grant_segment_coupon",
        &[
            ("key", "cccccccccccccccccccccc"),
            ("template", "{offer}"),
            ("q", ""),
        ],
    ),
    (
        "grant_rfm_campaign",
        &[
            ("key", "dddddddddddddddddddddd"),
            ("template", "{offer}"),
            ("segment", "general_develop"),
            ("window", "180"),
        ],
    ),
    (
        "create_automation",
        &[("trigger", "join"), ("points", "10"), ("message", "")],
    ),
    ("pause_automation", &[("id", "{rule}"), ("active", "false")]),
    (
        "save_checkin",
        &[("points", "5"), ("streak_days", "7"), ("streak_bonus", "0")],
    ),
    (
        "save_referral",
        &[("referrer_points", "1"), ("friend_points", "1")],
    ),
    (
        "save_brand_profile",
        &[
            ("name", "hijacked"),
            ("theme_color", "#000000"),
            ("default_locale", "en"),
            ("time_zone", "UTC"),
            ("embed_origins", ""),
        ],
    ),
    (
        "publish_brand_terms",
        &[("version", "hijacked"), ("text", "x")],
    ),
    (
        "save_brand_rules",
        &[
            ("earn_yuan", "1"),
            ("signup_bonus", "0"),
            ("expiry_months", "0"),
            ("redeem_points_per_yuan", "1"),
            ("redeem_cap_pct", "100"),
            ("bonus_multiple", "1"),
            ("feedback_points", "0"),
            ("feedback_coupon", ""),
        ],
    ),
    (
        "save_brand_tiers",
        &[
            ("name_zh_cn[]", "a"),
            ("name_zh_tw[]", "a"),
            ("name_en[]", "a"),
            ("threshold[]", "0"),
            ("discount[]", "0"),
            ("multiple[]", "1"),
        ],
    ),
    ("create_offer", &[("kind", "voucher"), ("amount", "10")]),
    ("pause_offer", &[("id", "{offer}"), ("active", "false")]),
    (
        "save_store",
        &[
            ("id", "{store2}"),
            ("code", "ZZ"),
            ("name", "hijacked"),
            ("address", ""),
        ],
    ),
    ("add_tables", &[("store", "{store2}"), ("prefix", "Z")]),
    (
        "new_table_code",
        &[("store", "{store2}"), ("table", "{table2}")],
    ),
    ("till_find", &[("store", "{store2}"), ("q", "{member}")]),
    (
        "till_purchase",
        &[
            ("store", "{store2}"),
            ("member", "{member}"),
            ("key", "eeeeeeeeeeeeeeeeeeeeee"),
            ("order", "ATTACK-1"),
            ("amount", "10"),
        ],
    ),
    (
        "till_coupon",
        &[
            ("store", "{store2}"),
            ("member", "{member}"),
            ("key", "ffffffffffffffffffffff"),
            ("order", "ATTACK-2"),
            ("code", "{coupon}"),
            ("bill", "100"),
        ],
    ),
    (
        "till_points",
        &[
            ("store", "{store2}"),
            ("member", "{member}"),
            ("key", "gggggggggggggggggggggg"),
            ("order", "ATTACK-3"),
            ("points", "1"),
            ("bill", "100"),
        ],
    ),
    (
        "till_top_up",
        &[
            ("store", "{store2}"),
            ("member", "{member}"),
            ("key", "hhhhhhhhhhhhhhhhhhhhhh"),
            ("amount", "100"),
            ("tender", "cash"),
        ],
    ),
    (
        "till_stored_pay",
        &[
            ("store", "{store2}"),
            ("member", "{member}"),
            ("key", "iiiiiiiiiiiiiiiiiiiiii"),
            ("code", "{card_code}"),
            ("order", "ATTACK-4"),
            ("amount", "1"),
        ],
    ),
    (
        "till_stored_void",
        &[
            ("store", "{store2}"),
            ("member", "{member}"),
            ("key", "jjjjjjjjjjjjjjjjjjjjjj"),
            ("payment", "VICTIM-PAY-1"),
        ],
    ),
    (
        "till_stored_refund",
        &[
            ("store", "{store2}"),
            ("member", "{member}"),
            ("key", "llllllllllllllllllllll"),
            ("top_up", "VICTIM-TOPUP-1"),
            ("amount", "1"),
        ],
    ),
    (
        "add_top_up_offer",
        &[
            ("min", "100"),
            ("bonus", "99"),
            ("starts", ""),
            ("ends", ""),
            ("store", "{store2}"),
        ],
    ),
    ("retire_top_up_offer", &[("id", "{top_up_rule}")]),
    ("save_stored_split", &[("split", "principal_first")]),
    (
        "save_sms_template",
        &[
            ("purpose", "automation:{rule}"),
            ("language", "zh-TW"),
            ("code", "SMS_ATTACK"),
            ("body", "您好，欢迎光临 拒收請回覆R"),
        ],
    ),
    ("remove_sms_template", &[("id", "{sms_template}")]),
    ("start_member_import", &[("id", "{member_import}")]),
    (
        "decide_erasure",
        &[("request", "{erasure}"), ("decision", "approve")],
    ),
    (
        "erase_member_at_counter",
        &[
            ("member", "{member}"),
            ("reason", "ATTACK"),
            ("confirm", "yes"),
        ],
    ),
    (
        "save_sms_settings",
        &[
            ("window_start", "10:00"),
            ("window_end", "20:00"),
            ("marketing_cap", "7"),
            ("sign_in_cap", "3"),
            ("price_per_100", "9.99"),
        ],
    ),
    // Last: they end the caller's session.
    ("sign_out", &[("slug", "demo")]),
    ("staff_sign_out", &[]),
];

/// Path parameters, filled with the victim's ids.
const PARAMS: &[(&str, &str)] = &[
    ("brand", "demo"),
    ("code", "{coupon}"),
    ("token", "{table_token}"),
    ("no", "{member}"),
    ("id", "{store2}"),
    ("store", "{store2}"),
    ("order_id", "VICTIM-ORDER-1"),
    ("redemption_id", "{redemption}"),
    ("payment_id", "VICTIM-PAY-1"),
    ("top_up_id", "VICTIM-TOPUP-1"),
];

/// Query strings that aim a page at the victim's store or member.
const PAGE_QUERIES: &[(&str, &str)] = &[
    ("/admin/till", "?store={store2}&member={member}"),
    ("/admin/feedback", "?store={store2}"),
    ("/admin/members", "?q={member}"),
    ("/admin/import", "?import={member_import}"),
];

/// The phone in the file of the demo's checked import.
const IMPORT_PHONE: &str = "+8613900000077";

/// What the attack is aimed at, and what must not come back.
struct Victim {
    ids: BTreeMap<&'static str, String>,
    /// Data of the demo brand only its members and staff may see.
    secrets: Vec<String>,
    /// What the demo's first-store cashier may not see: the second store's
    /// table codes and the brand's API key.
    store_secrets: Vec<String>,
    demo_key: String,
}

impl Victim {
    /// A form with the victim's ids in its `{…}` placeholders.
    fn form(&self, form: &[(&str, &str)]) -> Vec<(String, String)> {
        form.iter()
            .map(|(k, v)| (k.to_string(), self.fill(v)))
            .collect()
    }

    fn fill(&self, template: &str) -> String {
        let mut out = template.to_owned();
        for (name, value) in &self.ids {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        assert!(
            !out.contains('{'),
            "{template}: a placeholder the sweep does not fill"
        );
        out
    }
}

/// One caller: a browser with their cookies, or none.
struct Attacker<'a> {
    name: &'static str,
    browser: Browser<'a>,
    /// The cashier may see the demo's members; the others nothing at all.
    insider: bool,
}

async fn json_post(app: &TestApp, key: &str, path: &str, body: Value) -> Value {
    let r = app
        .send(
            Request::post(path)
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .header(header::CONTENT_TYPE, "application/json")
                .header("idempotency-key", format!("victim-{path}"))
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await;
    assert!(r.status().is_success(), "{path}: {}", r.status());
    serde_json::from_str(&body_text(r).await).unwrap()
}

/// The demo brand with a member who has bought, redeemed, written feedback
/// and holds a coupon; returns the ids to aim at and the data to look for.
async fn victim(app: &TestApp) -> Victim {
    let db = &app._db.db;
    let clock = loyalty::SystemClock;
    let demo = brands::find_by_slug(db, &BrandSlug::parse("demo").unwrap())
        .await
        .unwrap();
    let all = stores::list(db, demo.id).await.unwrap();
    let (first, second) = (all[0].id, all[1].id);
    let mut tx = db.begin().await.unwrap();
    let key = loyalty::brands::api_keys::create(&mut tx, &clock, demo.id, first, "victim POS")
        .await
        .unwrap();
    // Stored value lives at the second store, where the till forms aim.
    let key2 = loyalty::brands::api_keys::create(&mut tx, &clock, demo.id, second, "victim POS 2")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut member = Browser::new(app);
    member.join("13800138000", true).await;
    let (no,): (String,) = sqlx::query_as("SELECT member_no FROM members WHERE phone = $1")
        .bind("+8613800138000")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let r = member
        .post(
            "/fn/send_feedback",
            &[
                ("slug", "demo"),
                ("nps", "3"),
                ("comment", "victim-secret-feedback"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the victim's feedback");
    json_post(
        app,
        &key.key,
        "/api/v1/purchases",
        json!({"order_id": "VICTIM-ORDER-1", "member": no, "amount_fen": 88_800}),
    )
    .await;
    let points = json_post(
        app,
        &key.key,
        "/api/v1/points/redeem",
        json!({"member": no, "order_id": "VICTIM-ORDER-2", "points": 10, "amount_fen": 10_000}),
    )
    .await;
    let topped = json_post(
        app,
        &key2.key,
        "/api/v1/stored-value/top-ups",
        json!({"top_up_id": "VICTIM-TOPUP-1", "member": no, "amount_fen": 50_000}),
    )
    .await;
    let paid = json_post(
        app,
        &key2.key,
        "/api/v1/stored-value/payments",
        json!({"payment_id": "VICTIM-PAY-1", "member": common::rotating_code(&app._db.db, common::HTTP_SECRET, &no).await, "amount_fen": 1_000}),
    )
    .await;
    assert_eq!(
        topped["top_up_id"], "VICTIM-TOPUP-1",
        "the victim's top-up: {topped}"
    );
    assert_eq!(
        paid["payment_id"], "VICTIM-PAY-1",
        "the victim's payment: {paid}"
    );
    let coupons: Vec<(String,)> = sqlx::query_as(
        "SELECT c.code FROM coupons c JOIN members m ON m.id = c.member_id WHERE m.member_no = $1",
    )
    .bind(&no)
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert!(!coupons.is_empty(), "the victim holds a coupon");
    let (feedback,): (i64,) = sqlx::query_as("SELECT id FROM feedback WHERE brand_id = $1")
        .bind(demo.id.0)
        .fetch_one(db.pool())
        .await
        .unwrap();
    let (staff_id,): (i64,) = sqlx::query_as("SELECT id FROM staff WHERE login = 'mgr2'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    // A manager's adjustment over the limits, waiting for the owner.
    let (adjustment,): (i64,) = sqlx::query_as(
        "INSERT INTO adjustment_requests (brand_id, member_id, delta, reason, requested_by, created_at) \
         SELECT brand_id, id, 99999, 'victim-adjustment', $1, 0 FROM members WHERE member_no = $2 RETURNING id",
    )
    .bind(staff_id)
    .bind(&no)
    .fetch_one(db.pool())
    .await
    .unwrap();
    // A manager's request to erase another member, waiting for the owner.
    let asked = loyalty::testing::join_member(db, &clock, &demo, "13700137077").await;
    let (erasure,): (i64,) = sqlx::query_as(
        "INSERT INTO erasure_requests (brand_id, member_id, reason, requested_by, created_at) \
         VALUES ($1, $2, 'victim-erasure', $3, 0) RETURNING id",
    )
    .bind(demo.id.0)
    .bind(asked.0)
    .bind(staff_id)
    .fetch_one(db.pool())
    .await
    .unwrap();
    let (offer,): (i64,) = sqlx::query_as(
        "SELECT id FROM coupon_templates WHERE brand_id = $1 \
             ORDER BY COALESCE(per_member_limit, 1000) DESC, id LIMIT 1",
    )
    .bind(demo.id.0)
    .fetch_one(db.pool())
    .await
    .unwrap();
    let (top_up_rule,): (i64,) =
        sqlx::query_as("SELECT MIN(id) FROM top_up_rules WHERE brand_id = $1")
            .bind(demo.id.0)
            .fetch_one(db.pool())
            .await
            .unwrap();
    let (sms_template,): (i64,) =
        sqlx::query_as("SELECT MIN(id) FROM sms_templates WHERE brand_id = $1")
            .bind(demo.id.0)
            .fetch_one(db.pool())
            .await
            .unwrap();
    // An import the demo's owner checked and has not started: its file
    // names a phone nobody else may see.
    let member_import = {
        use loyalty::members::import;
        let file = format!("phone,name\n{IMPORT_PHONE},导入\n");
        let importer = import::Importer::command_line(demo.clone());
        import::open(db, &clock, &importer, "old.csv", file.as_bytes(), 1, true)
            .await
            .unwrap()
            .id
    };
    let (rule,): (i64,) = sqlx::query_as("SELECT MIN(id) FROM automations WHERE brand_id = $1")
        .bind(demo.id.0)
        .fetch_one(db.pool())
        .await
        .unwrap();
    let tables: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, token FROM dining_tables WHERE store_id = $1 ORDER BY id")
            .bind(second.0)
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert!(!tables.is_empty(), "the second store has tables");

    let ids: BTreeMap<&'static str, String> = [
        ("member", no.clone()),
        ("coupon", coupons[0].0.clone()),
        ("offer", offer.to_string()),
        ("rule", rule.to_string()),
        ("feedback", feedback.to_string()),
        ("staff", staff_id.to_string()),
        ("store2", second.0.to_string()),
        ("table2", tables[0].0.to_string()),
        ("table_token", app.table_token()),
        ("key_id", key.id.to_string()),
        ("redemption", points["redemption_id"].to_string()),
        ("adjustment", adjustment.to_string()),
        ("top_up_rule", top_up_rule.to_string()),
        ("sms_template", sms_template.to_string()),
        ("member_import", member_import.to_string()),
        ("erasure", erasure.to_string()),
        (
            "card_code",
            common::rotating_code(&app._db.db, common::HTTP_SECRET, &no).await,
        ),
    ]
    .into_iter()
    .collect();
    let mut secrets = vec![
        no,
        IMPORT_PHONE.to_owned(),
        "victim-erasure".to_owned(),
        "+8613800138000".to_owned(),
        "13800138000".to_owned(),
        "138****8000".to_owned(),
        "victim-secret-feedback".to_owned(),
        "VICTIM-ORDER".to_owned(),
        "VICTIM-TOPUP".to_owned(),
        "VICTIM-PAY".to_owned(),
        "二店经理".to_owned(),
        key.key.clone(),
        key2.key.clone(),
    ];
    secrets.extend(coupons.into_iter().map(|(c,)| c));
    let store_secrets: Vec<String> = tables
        .into_iter()
        .map(|(_, token)| token)
        .chain([key.key.clone()])
        .collect();
    secrets.extend(store_secrets.iter().cloned());
    Victim {
        ids,
        secrets,
        store_secrets,
        demo_key: key.key,
    }
}

/// Every row of the demo brand, in every table that names a brand, less the
/// rows a stranger may legitimately cause (a sign-in code asked for, a
/// failed sign-in throttled, a job run): a snapshot to compare.
async fn demo_rows(app: &TestApp) -> BTreeMap<String, Vec<String>> {
    let pool = app._db.db.pool();
    let mut rows = BTreeMap::new();
    for table in loyalty::testing::table_names(&app._db.db).await {
        if [
            "login_codes",
            // Anyone may ask the demo brand for a sign-in code: its send is counted.
            "sms_sends",
            "job_runs",
            "feedback_limits",
            "staff_sessions",
        ]
        .contains(&table.as_str())
        {
            continue;
        }
        let columns = loyalty::testing::column_names(&app._db.db, &table).await;
        let names: Vec<&str> = columns.iter().map(String::as_str).collect();
        let filter = if table == "brands" {
            "id"
        } else if names.contains(&"brand_id") {
            "brand_id"
        } else {
            continue;
        };
        // The one insider among the callers, the cashier, may change their
        // own row (a wrong current password is counted against them).
        let own = if table == "staff" {
            " AND login <> 'till'"
        } else {
            ""
        };
        let select = names
            .iter()
            .map(|c| format!("COALESCE(CAST({c} AS TEXT), '∅')"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let found: Vec<(String,)> = sqlx::query_as(&format!(
            "SELECT {select} FROM {table} t WHERE {filter} = \
             (SELECT id FROM brands WHERE slug = 'demo'){own} ORDER BY 1"
        ))
        .fetch_all(pool)
        .await
        .unwrap();
        rows.insert(table, found.into_iter().map(|(r,)| r).collect());
    }
    rows
}

fn changed(
    before: &BTreeMap<String, Vec<String>>,
    after: &BTreeMap<String, Vec<String>>,
) -> String {
    before
        .iter()
        .filter(|(t, rows)| after.get(*t) != Some(rows))
        .map(|(t, rows)| {
            let now = &after[t];
            let gone: Vec<_> = rows.iter().filter(|r| !now.contains(r)).collect();
            let new: Vec<_> = now.iter().filter(|r| !rows.contains(r)).collect();
            format!("{t}: -{gone:?} +{new:?}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The full text a caller gets back: status, headers and body.
async fn seen(response: axum::response::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let to = location(&response);
    let headers = format!("{:?}", response.headers());
    let body = body_text(response).await;
    (status, to, format!("{headers}\n{body}"))
}

/// The secrets in a response, less those the caller sent (a sign-in page's
/// `next=` repeats the path it was asked for).
fn leaks<'v>(text: &str, sent: &str, secrets: &'v [String]) -> Vec<&'v String> {
    secrets
        .iter()
        .filter(|s| text.contains(s.as_str()) && !sent.contains(s.as_str()))
        .collect()
}

async fn attackers(app: &TestApp) -> Vec<Attacker<'_>> {
    let db = &app._db.db;
    let demo = brands::find_by_slug(db, &BrandSlug::parse("demo").unwrap())
        .await
        .unwrap();
    let other = brands::find_by_slug(db, &BrandSlug::parse("other").unwrap())
        .await
        .unwrap();
    let mut tx = db.begin().await.unwrap();
    staff::create(
        &mut tx,
        &loyalty::SystemClock,
        other.id,
        Role::Manager,
        "rivalmgr",
        "别家经理",
        common::STAFF_PASSWORD,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // A member of the other brand, whose session token is also offered as
    // the demo brand's session.
    let mut stranger = Browser::new(app);
    let r = stranger
        .post(
            "/fn/request_code",
            &[
                ("slug", "other"),
                ("country", "86"),
                ("phone", "13900139000"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let code = app.sender.last_code("+8613900139000").unwrap();
    let r = stranger
        .post(
            "/fn/verify_code",
            &[("slug", "other"), ("code", code.as_str()), ("terms", "on")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let theirs = format!("tc_m{}", other.id.0);
    let token = stranger.cookies[&theirs].clone();
    stranger.cookies.insert(format!("tc_m{}", demo.id.0), token);

    let mut forged = Browser::new(app);
    forged.cookies.insert(
        format!("tc_m{}", demo.id.0),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
    );
    forged.cookies.insert(
        "tc_staff".into(),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
    );

    vec![
        Attacker {
            name: "nobody",
            browser: Browser::new(app),
            insider: false,
        },
        Attacker {
            name: "forged cookies",
            browser: forged,
            insider: false,
        },
        Attacker {
            name: "a member of another brand",
            browser: stranger,
            insider: false,
        },
        Attacker {
            name: "the cashier of another store",
            browser: staff_browser(app, "till").await,
            insider: true,
        },
        Attacker {
            name: "the manager of another brand",
            browser: staff_browser(app, "rivalmgr").await,
            insider: false,
        },
        Attacker {
            name: "the owner of another brand",
            browser: staff_browser(app, "rival").await,
            insider: false,
        },
    ]
}

#[both_databases]
async fn nobody_outside_the_demo_brand_reaches_its_data_through_any_route_function_or_endpoint() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let victim = victim(&app).await;
    let mut attackers = attackers(&app).await;

    // What exists: the registry of server functions and the router's lists.
    let registered: Vec<(String, Method)> = leptos::server_fn::inventory::iter::<
        leptos::server_fn::ServerFnTraitObj<Request<Body>, axum::http::Response<Body>>,
    >
        .into_iter()
        .map(|f| (f.path().to_owned(), f.method()))
        .collect();
    let paths: BTreeSet<&str> = registered.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths.len(),
        registered.len(),
        "two server functions share an endpoint, so one of them can never be called"
    );
    let listed: BTreeSet<String> = FUNCTIONS.iter().map(|(n, _)| format!("/fn/{n}")).collect();
    let missing: Vec<_> = paths.iter().filter(|p| !listed.contains(**p)).collect();
    let stale: Vec<_> = listed
        .iter()
        .filter(|p| !paths.contains(p.as_str()))
        .collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "server functions not in the sweep: {missing:?}; in the sweep but gone: {stale:?}"
    );
    let methods: BTreeMap<String, Method> = registered.iter().cloned().collect();
    let routes = server::http::route_list();

    let before = demo_rows(&app).await;
    let mut calls = 0;
    for attacker in &mut attackers {
        let secrets = if attacker.insider {
            &victim.store_secrets
        } else {
            &victim.secrets
        };
        let who = attacker.name;
        // Server functions, posted as a page's form would.
        for (name, form) in FUNCTIONS {
            let filled = victim.form(form);
            let form: Vec<(&str, &str)> = filled
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let path = format!("/fn/{name}");
            let r = if methods[&path] == Method::GET {
                let query = form
                    .iter()
                    .map(|(k, v)| format!("{}={}", common::urlencode(k), common::urlencode(v)))
                    .collect::<Vec<_>>()
                    .join("&");
                attacker.browser.get(&format!("{path}?{query}")).await
            } else {
                attacker.browser.post(&path, &form).await
            };
            let sent = format!("{form:?}");
            let (status, to, text) = seen(r).await;
            calls += 1;
            assert!(
                status != StatusCode::BAD_REQUEST && !status.is_server_error(),
                "{who} calling {name}: {status}\n{text}"
            );
            assert!(
                leaks(&text, &sent, secrets).is_empty(),
                "{who} calling {name} ({status} {to}) got {:?}",
                leaks(&text, &sent, secrets)
            );
            let after = demo_rows(&app).await;
            assert!(
                after == before,
                "{who} calling {name} ({status} {to}) changed the demo brand: {}",
                changed(&before, &after)
            );
        }
        // Pages and plain handlers, aimed at the victim.
        for (method, path) in &routes {
            if path.starts_with("/api/") {
                continue;
            }
            let mut path = path.clone();
            for (name, value) in PARAMS {
                path = path
                    .replace(&format!("{{{name}}}"), value)
                    .replace(&format!(":{name}"), value);
            }
            let mut targets = vec![victim.fill(&path)];
            for (page, query) in PAGE_QUERIES {
                if path == *page {
                    targets.push(victim.fill(&format!("{page}{query}")));
                }
            }
            for target in targets {
                let r = match (method, target.as_str()) {
                    (&Method::GET, _) => attacker.browser.get(&target).await,
                    (&Method::POST, "/lang") => {
                        let form = [("lang", "en"), ("next", "/r/demo")];
                        attacker.browser.post(&target, &form).await
                    }
                    (&Method::POST, "/admin/import/file") => {
                        let file = ("file", "old.csv", "phone\n13900000078\n".as_bytes());
                        attacker.browser.post_file(&target, file, &[]).await
                    }
                    (&Method::POST, "/admin/brand/logo") => {
                        let body = "--XX\r\nContent-Disposition: form-data; name=\"remove\"\r\n\r\n1\r\n--XX--\r\n";
                        let request = Request::post(&target)
                            .header(header::HOST, "localhost")
                            .header(header::ORIGIN, "http://localhost")
                            .header(header::COOKIE, attacker.browser.cookie_header())
                            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XX")
                            .body(Body::from(body))
                            .unwrap();
                        app.send(request).await
                    }
                    // A reply push that would withdraw the victim's marketing,
                    // to a guessed address: the secret in it is what counts.
                    (&Method::POST, t) if t.starts_with("/sms/inbound/") => {
                        let body = if t.contains("/aliyun/") {
                            r#"[{"phone_number":"13800138000","content":"R"}]"#
                        } else {
                            r#"{"mobile":"13800138000","nationcode":"86","text":"R"}"#
                        };
                        let request = Request::post(&target)
                            .header(header::CONTENT_TYPE, "application/json")
                            .body(Body::from(body))
                            .unwrap();
                        app.send(request).await
                    }
                    _ => panic!("the sweep has no request for {method} {target}"),
                };
                let (status, to, text) = seen(r).await;
                calls += 1;
                assert!(
                    ![StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY].contains(&status)
                        && !status.is_server_error(),
                    "{who} {method} {target}: {status}\n{text}"
                );
                assert!(
                    leaks(&text, &target, secrets).is_empty(),
                    "{who} {method} {target} ({status} {to}) got {:?}",
                    leaks(&text, &target, secrets)
                );
                let after = demo_rows(&app).await;
                assert!(
                    after == before,
                    "{who} {method} {target} changed the demo brand: {}",
                    changed(&before, &after)
                );
            }
        }
    }

    // The POS API, with no key, a forged key and another brand's key.
    let other_key = common::api_key(&app, "other").await;
    let member = victim.ids["member"].clone();
    let coupon = victim.ids["coupon"].clone();
    let bodies: BTreeMap<&str, Value> = [
        (
            "/purchases",
            json!({"order_id": "ATTACK-9", "member": member, "amount_fen": 100}),
        ),
        (
            "/purchases/{order_id}/refunds",
            json!({"refund_id": "ATTACK-R", "amount_fen": 100}),
        ),
        (
            "/points/redeem",
            json!({"member": member, "order_id": "ATTACK-8", "points": 1, "amount_fen": 1000}),
        ),
        ("/points/redemptions/{redemption_id}/void", json!({})),
        (
            "/coupons/validate",
            json!({"code": coupon, "amount_fen": 100_000}),
        ),
        (
            "/coupons/redeem",
            json!({"code": coupon, "order_id": "ATTACK-7", "amount_fen": 100_000}),
        ),
        ("/redemptions/{redemption_id}/void", json!({})),
        ("/coupons/redemptions/{redemption_id}/void", json!({})),
        (
            "/stored-value/top-ups",
            json!({"top_up_id": "ATTACK-T", "member": member, "amount_fen": 100}),
        ),
        (
            "/stored-value/payments",
            // The victim's card, scanned this minute: still not theirs to spend.
            json!({"payment_id": "ATTACK-P", "member": common::rotating_code(&app._db.db, common::HTTP_SECRET, &member).await, "amount_fen": 100}),
        ),
        ("/stored-value/payments/{payment_id}/void", json!({})),
        (
            "/stored-value/top-ups/{top_up_id}/refunds",
            json!({"refund_id": "ATTACK-R", "amount_fen": 100}),
        ),
    ]
    .into_iter()
    .collect();
    let api: Vec<(Method, &str)> = server::api::route_list();
    for (who, key) in [
        ("no key", None),
        (
            "a forged key",
            Some("tc_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned()),
        ),
        ("another brand's key", Some(other_key)),
    ] {
        for (method, route) in &api {
            let mut path = route.to_string();
            for (name, value) in PARAMS {
                path = path.replace(&format!("{{{name}}}"), value);
            }
            let path = victim.fill(&path);
            let mut req = Request::builder()
                .method(method.clone())
                .uri(format!(
                    "/api/v1{path}{}",
                    if *route == "/members/lookup" {
                        format!("?member={member}")
                    } else {
                        String::new()
                    }
                ))
                .header(header::CONTENT_TYPE, "application/json")
                .header("idempotency-key", format!("attack-{who}-{route}"));
            if let Some(key) = &key {
                req = req.header(header::AUTHORIZATION, format!("Bearer {key}"));
            }
            let body = if *method == Method::POST {
                bodies
                    .get(route)
                    .unwrap_or_else(|| panic!("the sweep has no body for POST {route}"))
                    .to_string()
            } else {
                String::new()
            };
            let sent = format!("{path} {body}");
            let r = app.send(req.body(Body::from(body)).unwrap()).await;
            let (status, _, text) = seen(r).await;
            calls += 1;
            if *route == "/openapi.json" {
                assert_eq!(status, StatusCode::OK, "the description is public");
            } else if key.is_none() || who == "a forged key" {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{who} {method} {route}");
            } else {
                // A validation answers 200 by design, saying the code is
                // not one of this brand's.
                let refused = [StatusCode::NOT_FOUND, StatusCode::FORBIDDEN].contains(&status)
                    || (*route == "/coupons/validate"
                        && status == StatusCode::OK
                        && text.contains(r#""valid":false"#)
                        && text.contains("coupon_not_found"));
                assert!(refused, "{who} {method} {route}: {status}\n{text}");
            }
            assert!(
                leaks(&text, &sent, &victim.secrets).is_empty(),
                "{who} {method} {route} ({status}) got {:?}",
                leaks(&text, &sent, &victim.secrets)
            );
            let after = demo_rows(&app).await;
            assert!(
                after == before,
                "{who} {method} {route} changed the demo brand: {}",
                changed(&before, &after)
            );
        }
    }
    // The victim's own key still works: the sweep aimed at real data.
    let r = app
        .get(
            &format!("/api/v1/members/lookup?member={member}"),
            &[("authorization", &format!("Bearer {}", victim.demo_key))],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // The same forms from the demo's owner do change the demo brand: they
    // were complete and aimed at real rows.
    let mut owner = staff_browser(&app, "boss").await;
    for name in [
        "update_staff",
        "staff_access",
        "reply_feedback",
        "mark_feedback",
        "revoke_api_key",
        "decide_adjustment",
        "save_adjustment_limits",
        "adjust_member_points",
        "grant_member_coupon",
        "pause_automation",
        "pause_offer",
        "save_store",
        "add_tables",
        "new_table_code",
        "till_purchase",
        "till_points",
        "till_coupon",
        "till_top_up",
        "till_stored_void",
        "till_stored_refund",
        "add_top_up_offer",
        "retire_top_up_offer",
        "save_stored_split",
        "save_sms_template",
        "save_sms_settings",
        "remove_sms_template",
        // It goes on in the background.
        "start_member_import",
        "decide_erasure",
        // Last: the victim is gone after it.
        "erase_member_at_counter",
    ] {
        let form = FUNCTIONS.iter().find(|(n, _)| *n == name).unwrap().1;
        let filled = victim.form(form);
        let form: Vec<(&str, &str)> = filled
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let before = demo_rows(&app).await;
        let r = owner.post(&format!("/fn/{name}"), &form).await;
        let to = location(&r);
        assert!(
            demo_rows(&app).await != before,
            "the owner's {name} changed nothing ({to}): the sweep's form is not a real one"
        );
    }
    eprintln!("sweep: {calls} calls, none reached the demo brand");
}

/// Cross-site request forgery: every server function and every POST route,
/// posted by another site into the browser of the demo's owner (who may do
/// everything) and of a member, is refused before it runs, whether the
/// browser names the other site in `Origin` or only in `Sec-Fetch-Site`.
#[both_databases]
async fn no_state_change_can_be_forged_from_another_site() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let victim = victim(&app).await;
    let registered: Vec<String> = leptos::server_fn::inventory::iter::<
        leptos::server_fn::ServerFnTraitObj<Request<Body>, axum::http::Response<Body>>,
    >
        .into_iter()
        .filter(|f| f.method() == Method::POST)
        .map(|f| f.path().to_owned())
        .collect();
    let mut targets: Vec<(String, Vec<(String, String)>)> = FUNCTIONS
        .iter()
        .filter(|(name, _)| registered.contains(&format!("/fn/{name}")))
        .map(|(name, form)| (format!("/fn/{name}"), victim.form(form)))
        .collect();
    for (method, path) in server::http::route_list() {
        // The POS API and the SMS providers' reply pushes authenticate with
        // a key or a secret address, never a cookie: nothing to forge.
        if method == Method::POST
            && !path.starts_with("/api/")
            && !path.starts_with("/sms/inbound/")
        {
            targets.push((path, vec![("lang".into(), "en".into())]));
        }
    }
    assert!(targets.len() > 40, "{} state changes", targets.len());
    let mut owner = staff_browser(&app, "boss").await;
    let mut member = Browser::new(&app);
    member.join("13900139000", true).await;
    let before = demo_rows(&app).await;
    for browser in [&mut owner, &mut member] {
        for (path, form) in &targets {
            let body = form
                .iter()
                .map(|(k, v)| format!("{}={}", common::urlencode(k), common::urlencode(v)))
                .collect::<Vec<_>>()
                .join("&");
            for (header, value) in [
                (header::ORIGIN.as_str(), "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ] {
                let r = app
                    .send(
                        Request::post(path.as_str())
                            .header(header::HOST, "localhost")
                            .header(header, value)
                            .header(header::COOKIE, browser.cookie_header())
                            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                            .body(Body::from(body.clone()))
                            .unwrap(),
                    )
                    .await;
                assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} with {header}");
            }
        }
    }
    assert!(
        demo_rows(&app).await == before,
        "a forged post changed something"
    );
    // The same forms from the site itself do run (the test is not vacuous).
    let r = owner
        .post(
            "/fn/pause_offer",
            &victim
                .form(&[("id", "{offer}"), ("active", "false")])
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(demo_rows(&app).await != before);
}
