//! The POS API over HTTP, endpoint by endpoint and error code by error code,
//! as `API.md` promises them.

use crate::common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use common::{body_text, header_str, spawn_app, spawn_app_with, TestApp};
use loyalty::brands::stores::{self, NewStore};
use loyalty::brands::{self, BrandSlug, Language, NewBrand, ThemeColor};
use loyalty::members::phone::Phone;
use loyalty::members::{self, Consent};
use serde_json::{json, Value};

pub(crate) struct Pos<'a> {
    pub(crate) app: &'a TestApp,
    pub(crate) key: String,
}

impl Pos<'_> {
    async fn send(
        &self,
        req: axum::http::request::Builder,
        body: Body,
    ) -> (StatusCode, Value, Response) {
        let req = req
            .header(header::AUTHORIZATION, format!("Bearer {}", self.key))
            .body(body)
            .unwrap();
        let response = self.app.send(req).await;
        let status = response.status();
        let headers = response.headers().clone();
        let text = body_text(response).await;
        let mut rebuilt = Response::new(Body::empty());
        *rebuilt.headers_mut() = headers;
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            rebuilt,
        )
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, v, _) = self.send(Request::get(path), Body::empty()).await;
        (s, v)
    }

    pub(crate) async fn post(
        &self,
        path: &str,
        key: &str,
        body: Value,
    ) -> (StatusCode, Value, Response) {
        self.post_text(path, key, body.to_string()).await
    }

    /// A JSON POST of these exact bytes, well-formed or not.
    async fn post_text(
        &self,
        path: &str,
        key: &str,
        body: impl Into<String>,
    ) -> (StatusCode, Value, Response) {
        self.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/json")
                .header("idempotency-key", key),
            Body::from(body.into()),
        )
        .await
    }
}

/// A demo member with a store key of the demo brand, and another brand's key.
pub(crate) async fn setup(app: &TestApp) -> (String, String, String) {
    let db = &app._db.db;
    let clock = loyalty::SystemClock;
    let demo = brands::find_by_slug(db, &BrandSlug::parse("demo").unwrap())
        .await
        .unwrap();
    let store = stores::list(db, demo.id).await.unwrap()[0].id;
    let mut tx = db.begin().await.unwrap();
    let key = loyalty::brands::api_keys::create(&mut tx, &clock, demo.id, store, "test POS")
        .await
        .unwrap()
        .key;
    let (member, _) = members::join(
        &mut tx,
        &clock,
        &loyalty::testing::secret(),
        &demo,
        &Phone::parse("86", "13800138000").unwrap(),
        Consent {
            terms_accepted: true,
            marketing: false,
        },
    )
    .await
    .unwrap();
    let other = brands::create(
        &mut tx,
        &clock,
        NewBrand {
            slug: BrandSlug::parse("other").unwrap(),
            name: "别家".into(),
            theme_color: ThemeColor::default(),
            default_language: Language::ZhCn,
        },
    )
    .await
    .unwrap();
    let other_store = stores::create(
        &mut tx,
        &clock,
        other.id,
        NewStore {
            code: "X1".into(),
            name: "别店".into(),
            address: String::new(),
        },
    )
    .await
    .unwrap();
    let other_key =
        loyalty::brands::api_keys::create(&mut tx, &clock, other.id, other_store.id, "their POS")
            .await
            .unwrap()
            .key;
    tx.commit().await.unwrap();
    (key, other_key, member.member_no.as_str().to_owned())
}

#[both_databases]
async fn a_request_without_a_valid_key_is_401_problem_json() {
    let app = spawn_app().await;
    let none = app.get("/api/v1/members/lookup?member=12345678", &[]).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header_str(&none, header::CONTENT_TYPE),
        "application/problem+json"
    );
    let problem: Value = serde_json::from_str(&body_text(none).await).unwrap();
    assert_eq!(problem["code"], "unauthorized");
    assert_eq!(problem["status"], 401);
    for field in ["type", "title", "detail"] {
        assert!(problem[field].is_string(), "{field}");
    }
    let forged = Pos {
        app: &app,
        key: "tck_0000000000000000000000000000000000000000".into(),
    };
    assert_eq!(
        forged.get("/api/v1/members/lookup?member=12345678").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[both_databases]
async fn lookup_finds_a_member_by_number_code_or_phone_and_only_in_its_brand() {
    let app = spawn_app().await;
    let (key, other_key, member_no) = setup(&app).await;
    let pos = Pos { app: &app, key };
    let (status, body) = pos
        .get(&format!("/api/v1/members/lookup?member={member_no}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["member_no"], member_no.as_str());
    assert_eq!(body["points"], 0);
    assert_eq!(body["tier"]["code"], "base");
    assert_eq!(body["tier"]["name"], "普通会员");
    assert_eq!(body["tier"]["discount_pct"], 0);
    // The demo brand's welcome gift, usable at once.
    assert_eq!(body["coupons"].as_array().unwrap().len(), 1);
    assert_eq!(body["coupons"][0]["title"], "10元代金券");
    assert_eq!(body["coupons"][0]["kind"], "voucher");
    let (status, by_phone) = pos
        .get("/api/v1/members/lookup?phone=%2B8613800138000")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_phone["member_id"], body["member_id"]);
    let (status, missing) = pos.get("/api/v1/members/lookup?member=99999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["code"], "member_not_found");
    let theirs = Pos {
        app: &app,
        key: other_key,
    };
    let (status, hidden) = theirs
        .get(&format!("/api/v1/members/lookup?member={member_no}"))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another brand's key learns nothing"
    );
    assert_eq!(hidden["code"], "member_not_found");
}

#[both_databases]
async fn a_purchase_earns_points_once_however_often_it_is_retried() {
    let app = spawn_app().await;
    let (key, other_key, member_no) = setup(&app).await;
    let pos = Pos { app: &app, key };
    let purchase = json!({"order_id": "A-1001", "member": member_no, "amount_fen": 12_399});
    let (status, missing, _) = pos
        .send(
            Request::post("/api/v1/purchases").header(header::CONTENT_TYPE, "application/json"),
            Body::from(purchase.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(missing["code"], "idempotency_key_missing");

    let (status, first, response) = pos.post("/api/v1/purchases", "k-1", purchase.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["points_earned"], 123);
    assert_eq!(first["points_balance"], 123);
    assert_eq!(first["tier"]["code"], "base");
    assert_eq!(first["tier_changed"], false);
    assert!(response.headers().get("idempotent-replayed").is_none());

    let (status, again, response) = pos.post("/api/v1/purchases", "k-1", purchase.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, first);
    assert_eq!(
        header_str(&response, "idempotent-replayed".parse().unwrap()),
        "true"
    );

    let changed = json!({"order_id": "A-1001", "member": member_no, "amount_fen": 99});
    let (status, reused, _) = pos.post("/api/v1/purchases", "k-1", changed).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reused["code"], "idempotency_key_reused");

    let (status, dup, _) = pos.post("/api/v1/purchases", "k-2", purchase.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(dup["code"], "order_already_recorded");

    let theirs = Pos {
        app: &app,
        key: other_key,
    };
    let (status, foreign, _) = theirs.post("/api/v1/purchases", "k-1", purchase).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(foreign["code"], "member_not_found");

    let (_, looked) = pos
        .get(&format!("/api/v1/members/lookup?member={member_no}"))
        .await;
    assert_eq!(looked["points"], 123);
    assert!(loyalty::points::audit(&app._db.db)
        .await
        .unwrap()
        .is_empty());
}

/// Posts each body, with its idempotency key, to `path` as the POS holding
/// `key`, all at once (a task each), and gives each answer's status and
/// body in the order sent.
pub(crate) async fn post_at_once(
    app: &std::sync::Arc<TestApp>,
    key: &str,
    path: &'static str,
    requests: Vec<(String, Value)>,
) -> Vec<(StatusCode, Value)> {
    let mut tasks = Vec::new();
    for (idempotency_key, body) in requests {
        let (app, key) = (app.clone(), key.to_owned());
        tasks.push(tokio::spawn(async move {
            let req = Request::post(path)
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .header(header::CONTENT_TYPE, "application/json")
                .header("idempotency-key", idempotency_key)
                .body(Body::from(body.to_string()))
                .unwrap();
            let response = app.send(req).await;
            let status = response.status();
            let body: Value = serde_json::from_str(&body_text(response).await).unwrap();
            (status, body)
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

#[both_databases]
async fn twenty_simultaneous_retries_of_one_purchase_credit_once() {
    let app = std::sync::Arc::new(spawn_app().await);
    let (key, _, member_no) = setup(&app).await;
    let body = json!({"order_id": "A-7", "member": member_no, "amount_fen": 10_000});
    let same = vec![("same".to_owned(), body); 20];
    for (status, _) in post_at_once(&app, &key, "/api/v1/purchases", same).await {
        assert!(
            status == StatusCode::OK || status == StatusCode::CONFLICT,
            "{status}"
        );
    }
    let pos = Pos { app: &app, key };
    let (_, looked) = pos
        .get(&format!("/api/v1/members/lookup?member={member_no}"))
        .await;
    assert_eq!(looked["points"], 100);
}

/// A points payment sent twenty times at once with one key: a retry of it
/// would pay again if it ran, so every answer is the first's (or "in
/// progress") and the points go once. On SQLite the key is looked up
/// before the writer and the last to learn it was taken is undone there.
#[both_databases]
async fn twenty_simultaneous_retries_of_one_points_payment_pay_once() {
    let app = std::sync::Arc::new(spawn_app().await);
    let (key, _, member_no) = setup(&app).await;
    let pos = Pos {
        app: &app,
        key: key.clone(),
    };
    let (status, _, _) = pos
        .post(
            "/api/v1/purchases",
            "earn",
            json!({"order_id": "A-1", "member": member_no, "amount_fen": 50_000}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let body = json!({"member": member_no, "order_id": "B-1", "points": 10});
    let same = vec![("pay-once".to_owned(), body); 20];
    let mut paid = Vec::new();
    for (status, answer) in post_at_once(&app, &key, "/api/v1/points/redeem", same).await {
        match status {
            StatusCode::OK => paid.push(answer["redemption_id"].as_i64().unwrap()),
            StatusCode::CONFLICT => assert_eq!(answer["code"], "request_in_progress", "{answer}"),
            other => panic!("{other}: {answer}"),
        }
    }
    assert!(!paid.is_empty(), "one of them was answered");
    assert!(
        paid.iter().all(|id| *id == paid[0]),
        "one payment: {paid:?}"
    );
    let (_, looked) = pos
        .get(&format!("/api/v1/members/lookup?member={member_no}"))
        .await;
    assert_eq!(looked["points"], 490);
}

#[both_databases]
async fn refunds_take_points_back_in_proportion() {
    let app = spawn_app().await;
    let (key, _, member_no) = setup(&app).await;
    let pos = Pos { app: &app, key };
    pos.post(
        "/api/v1/purchases",
        "p",
        json!({"order_id": "A-1", "member": member_no, "amount_fen": 10_000}),
    )
    .await;
    let (status, part, _) = pos
        .post(
            "/api/v1/purchases/A-1/refunds",
            "r1",
            json!({"refund_id": "RF-1", "amount_fen": 2_500}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(part["points_reversed"], 25);
    assert_eq!(part["points_balance"], 75);
    let (status, too_much, _) = pos
        .post(
            "/api/v1/purchases/A-1/refunds",
            "r2",
            json!({"refund_id": "RF-2", "amount_fen": 7_501}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(too_much["code"], "refund_exceeds_purchase");
    let (status, unknown, _) = pos
        .post(
            "/api/v1/purchases/NOPE/refunds",
            "r3",
            json!({"refund_id": "RF-1", "amount_fen": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(unknown["code"], "purchase_not_found");
}

#[both_databases]
async fn points_pay_part_of_a_bill_within_the_cap_and_a_void_returns_them() {
    let app = spawn_app().await;
    let (key, _, member_no) = setup(&app).await;
    let pos = Pos { app: &app, key };
    pos.post(
        "/api/v1/purchases",
        "p",
        json!({"order_id": "A-1", "member": member_no, "amount_fen": 50_000}),
    )
    .await;
    let (status, short, _) = pos
        .post(
            "/api/v1/points/redeem",
            "x1",
            json!({"member": member_no, "order_id": "B-1", "points": 501}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(short["code"], "insufficient_points");
    let (status, capped, _) = pos
        .post(
            "/api/v1/points/redeem",
            "x2",
            json!({"member": member_no, "order_id": "B-1", "points": 300, "amount_fen": 500}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(capped["code"], "points_cap_exceeded");
    let (status, paid, _) = pos
        .post(
            "/api/v1/points/redeem",
            "x3",
            json!({"member": {"phone": "+8613800138000"}, "order_id": "B-1", "points": 200}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(paid["value_fen"], 200);
    assert_eq!(paid["points_balance"], 300);
    let id = paid["redemption_id"].as_i64().unwrap();
    let (status, voided, _) = pos
        .post(
            &format!("/api/v1/points/redemptions/{id}/void"),
            "v1",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(voided["points_balance"], 500);
    let (status, twice, _) = pos
        .post(
            &format!("/api/v1/points/redemptions/{id}/void"),
            "v2",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(twice["code"], "redemption_already_voided");
    let (status, none, _) = pos
        .post("/api/v1/points/redemptions/999999/void", "v3", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(none["code"], "redemption_not_found");
}

#[both_databases]
async fn bad_bodies_are_400_problems_not_500s() {
    let app = spawn_app().await;
    let (key, _, member_no) = setup(&app).await;
    let pos = Pos { app: &app, key };
    let (status, broken, _) = pos.post_text("/api/v1/purchases", "b1", "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(broken["code"], "invalid_body");
    // Without a key, the missing key is what the POS hears about first.
    let (status, keyless, _) = pos
        .send(
            Request::post("/api/v1/purchases").header(header::CONTENT_TYPE, "application/json"),
            Body::from("{not json"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(keyless["code"], "idempotency_key_missing");
    for bad in [
        json!({"order_id": "A", "member": member_no, "amount_fen": -5}),
        json!({"order_id": "", "member": member_no, "amount_fen": 100}),
        json!({"order_id": "A", "member": member_no, "amount_fen": 100, "occurred_at": "yesterday"}),
    ] {
        let (status, p, _) = pos.post("/api/v1/purchases", "b2", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{p}");
        assert_eq!(p["code"], "invalid_input");
    }
}

#[both_databases]
async fn each_key_is_rate_limited_with_retry_after() {
    let app = spawn_app_with(&[("TABLECARD_API_RATE_PER_MINUTE", "2")]).await;
    let (key, other_key, member_no) = setup(&app).await;
    let pos = Pos { app: &app, key };
    let path = format!("/api/v1/members/lookup?member={member_no}");
    assert_eq!(pos.get(&path).await.0, StatusCode::OK);
    assert_eq!(pos.get(&path).await.0, StatusCode::OK);
    let (status, limited, response) = pos.send(Request::get(&path), Body::empty()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited["code"], "rate_limited");
    assert!(
        header_str(&response, header::RETRY_AFTER)
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // Another key has its own budget.
    let theirs = Pos {
        app: &app,
        key: other_key,
    };
    assert_eq!(theirs.get(&path).await.0, StatusCode::NOT_FOUND);
}

#[both_databases]
async fn the_openapi_description_is_generated_and_covers_the_endpoints() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/openapi.json", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = serde_json::from_str(&body_text(response).await).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/members/lookup",
        "/purchases",
        "/purchases/{order_id}/refunds",
        "/points/redeem",
        "/points/redemptions/{redemption_id}/void",
        "/coupons/validate",
        "/coupons/redeem",
        "/redemptions/{redemption_id}/void",
        "/stored-value/top-ups",
        "/stored-value/payments",
        "/stored-value/payments/{payment_id}/void",
        "/stored-value/top-ups/{top_up_id}/refunds",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    // Found by schemathesis (make fuzz): the lookup's parameters are in the
    // query, and every status an endpoint can answer is described.
    for p in doc["paths"]["/members/lookup"]["get"]["parameters"]
        .as_array()
        .unwrap()
    {
        assert_eq!(p["in"], "query", "{p}");
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for status in ["400", "401", "429", "500", "503"] {
                assert!(
                    op["responses"][status].is_object(),
                    "{method} {path} does not describe {status}"
                );
            }
            if method == "post" {
                for status in ["409", "422"] {
                    assert!(
                        op["responses"][status].is_object(),
                        "{method} {path} takes an Idempotency-Key but does not describe {status}"
                    );
                }
            }
        }
    }
}

/// A POS that retries before the first request has answered: on
/// PostgreSQL the duplicate is told at once that the request is in progress;
/// on SQLite, whose one writer runs requests in turn, it waits and gets the
/// first one's answer.
#[both_databases]
async fn a_duplicate_while_the_first_is_still_running_is_409_or_waits_for_its_answer() {
    use loyalty::infra::idempotency::{self, Held};
    let app = spawn_app().await;
    let (key, _, member_no) = setup(&app).await;
    let body = json!({"order_id": "A-9", "member": member_no, "amount_fen": 10_000});
    let db = &app._db.db;
    let (api_key_id,): (i64,) = sqlx::query_as("SELECT id FROM api_keys ORDER BY id LIMIT 1")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let hash = idempotency::fingerprint("POST", "/api/v1/purchases", body.to_string().as_bytes());
    // The first request holds its key in its transaction and is still running.
    let mut first = db.begin().await.unwrap();
    let clock = loyalty::SystemClock;
    let Held::New(slot) =
        idempotency::hold(&mut first, db.backend(), &clock, api_key_id, "slow", &hash)
            .await
            .unwrap()
    else {
        panic!("a new key");
    };
    let pos = Pos { app: &app, key };
    let duplicate = pos.post("/api/v1/purchases", "slow", body);
    match common::backend() {
        common::Backend::Postgres => {
            let (status, busy, _) = duplicate.await;
            assert_eq!(status, StatusCode::CONFLICT);
            assert_eq!(busy["code"], "request_in_progress");
        }
        common::Backend::Sqlite => {
            let answer = async {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                idempotency::record(&mut first, &clock, &slot, 200, r#"{"purchase_id":7}"#)
                    .await
                    .unwrap();
                first.commit().await.unwrap();
            };
            let ((status, replay, response), ()) = tokio::join!(duplicate, answer);
            assert_eq!(status, StatusCode::OK);
            assert_eq!(replay, json!({"purchase_id": 7}), "the first one's answer");
            assert_eq!(
                header_str(&response, "idempotent-replayed".parse().unwrap()),
                "true"
            );
        }
    }
}

/// The demo member's welcome coupon (¥10 off a bill of ¥50 or more).
async fn welcome_coupon(pos: &Pos<'_>, member_no: &str) -> String {
    let (_, body) = pos
        .get(&format!("/api/v1/members/lookup?member={member_no}"))
        .await;
    body["coupons"][0]["code"].as_str().unwrap().to_owned()
}

#[both_databases]
async fn a_coupon_is_validated_redeemed_once_and_restored_by_a_void() {
    let app = spawn_app().await;
    let (key, other_key, member_no) = setup(&app).await;
    let pos = Pos { app: &app, key };
    let code = welcome_coupon(&pos, &member_no).await;

    let (status, check, _) = pos
        .post(
            "/api/v1/coupons/validate",
            "v-1",
            json!({"code": code, "amount_fen": 4_000}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(check["valid"], false);
    assert_eq!(check["reason_code"], "coupon_not_applicable");
    assert_eq!(check["reason"], "threshold");
    assert_eq!(
        check["detail"], "这张券需消费满 ¥50，本单 ¥40。",
        "the brand's language when the till names none"
    );
    let (_, english, _) = pos
        .send(
            Request::post("/api/v1/coupons/validate")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9")
                .header("idempotency-key", "v-en"),
            Body::from(json!({"code": code, "amount_fen": 4_000}).to_string()),
        )
        .await;
    assert_eq!(
        english["detail"],
        "This coupon needs a bill of ¥50; this one is ¥40."
    );
    let (_, check, _) = pos
        .post(
            "/api/v1/coupons/validate",
            "v-2",
            json!({"code": code.to_lowercase(), "amount_fen": 8_000}),
        )
        .await;
    assert_eq!(check["valid"], true, "typed in lower case still works");
    assert_eq!(check["discount_fen"], 1_000);
    let (_, unknown, _) = pos
        .post(
            "/api/v1/coupons/validate",
            "v-3",
            json!({"code": "2345623456", "amount_fen": 8_000}),
        )
        .await;
    assert_eq!(
        (unknown["valid"].clone(), unknown["reason_code"].clone()),
        (json!(false), json!("coupon_not_found"))
    );

    let body = json!({"code": code, "order_id": "T-1", "amount_fen": 8_000});
    let (status, used, _) = pos
        .post("/api/v1/coupons/redeem", "r-1", body.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{used}");
    assert_eq!(used["discount_fen"], 1_000);
    assert_eq!(used["coupon"]["code"], code.as_str());
    assert_eq!(used["coupon"]["title"], "10元代金券");
    let (status, again, replay) = pos.post("/api/v1/coupons/redeem", "r-1", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, used);
    assert_eq!(
        header_str(&replay, "idempotent-replayed".parse().unwrap()),
        "true"
    );
    let (status, twice, _) = pos
        .post(
            "/api/v1/coupons/redeem",
            "r-2",
            json!({"code": code, "order_id": "T-2", "amount_fen": 8_000}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(twice["code"], "coupon_already_redeemed");
    assert!(
        twice["detail"].as_str().unwrap().contains("人民广场店"),
        "{twice}"
    );

    let theirs = Pos {
        app: &app,
        key: other_key,
    };
    let (status, hidden, _) = theirs
        .post(
            "/api/v1/coupons/redeem",
            "x-1",
            json!({"code": code, "order_id": "X", "amount_fen": 8_000}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(hidden["code"], "coupon_not_found");
    let id = used["redemption_id"].as_i64().unwrap();
    let (status, _, _) = theirs
        .post(&format!("/api/v1/redemptions/{id}/void"), "x-2", json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another brand cannot void it"
    );

    let (status, voided, _) = pos
        .post(
            &format!("/api/v1/redemptions/{id}/void"),
            "void-1",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        voided["coupon"],
        json!({"code": code, "status": "available"})
    );
    let (status, again, _) = pos
        .post(
            &format!("/api/v1/redemptions/{id}/void"),
            "void-2",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(again["code"], "redemption_already_voided");
    let (status, _, _) = pos
        .post(
            "/api/v1/coupons/redeem",
            "r-3",
            json!({"code": code, "order_id": "T-3", "amount_fen": 8_000}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "usable again after the void");
}

#[both_databases]
async fn sixty_four_simultaneous_api_redemptions_of_one_coupon_succeed_once() {
    let app = std::sync::Arc::new(spawn_app().await);
    let (key, _, member_no) = setup(&app).await;
    let code = welcome_coupon(
        &Pos {
            app: &app,
            key: key.clone(),
        },
        &member_no,
    )
    .await;
    let requests = (0..64)
        .map(|i| {
            let body = json!({"code": code, "order_id": format!("O-{i}"), "amount_fen": 8_000});
            (format!("k-{i}"), body)
        })
        .collect();
    let (mut ok, mut taken) = (0, 0);
    for (status, body) in post_at_once(&app, &key, "/api/v1/coupons/redeem", requests).await {
        match (status, body["code"].as_str().unwrap_or_default()) {
            (StatusCode::OK, _) => ok += 1,
            (StatusCode::CONFLICT, "coupon_already_redeemed") => taken += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, taken), (1, 63));
}

pub(crate) fn replayed(response: &Response) -> bool {
    header_str(response, "idempotent-replayed".parse().unwrap()) == "true"
}

#[both_databases]
async fn a_refused_body_or_field_is_not_kept_under_its_key_so_the_fixed_request_runs() {
    let app = spawn_app().await;
    let (key, _, member_no) = setup(&app).await;
    let pos = Pos { app: &app, key };
    let (status, broken, _) = pos
        .post_text("/api/v1/purchases", "fix-me", "{not json")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(broken["code"], "invalid_body");
    let bad = json!({"order_id": "F-1", "member": member_no, "amount_fen": 0});
    let (status, refused, response) = pos.post("/api/v1/purchases", "fix-me", bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["code"], "invalid_input");
    assert!(!replayed(&response));
    let fixed = json!({"order_id": "F-1", "member": member_no, "amount_fen": 1_000});
    let (status, first, response) = pos.post("/api/v1/purchases", "fix-me", fixed.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["points_earned"], 10);
    assert!(!replayed(&response), "the fixed request ran");
    let (status, again, response) = pos.post("/api/v1/purchases", "fix-me", fixed).await;
    assert_eq!((status, &again), (StatusCode::OK, &first));
    assert!(replayed(&response));
    // Once the key holds an answer, a broken body is still refused as
    // broken, and the stored answer stands.
    let (status, broken, response) = pos
        .post_text("/api/v1/purchases", "fix-me", "{not json")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(broken["code"], "invalid_body");
    assert!(!replayed(&response));
}

#[both_databases]
async fn a_malformed_key_is_refused_after_the_body_and_fields_are_checked() {
    let app = spawn_app().await;
    let (key, _, member_no) = setup(&app).await;
    let pos = Pos { app: &app, key };
    let long = "k".repeat(256);
    let send = |key: &str, path: &str, body: &str| {
        pos.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/json")
                .header("idempotency-key", key),
            Body::from(body.to_owned()),
        )
    };
    let good = json!({"order_id": "M-1", "member": member_no, "amount_fen": 1_000}).to_string();
    let bad_field = json!({"order_id": "M-1", "member": member_no, "amount_fen": -1}).to_string();
    for (key, path, body, code) in [
        (
            long.as_str(),
            "/api/v1/purchases",
            "{not json",
            "invalid_body",
        ),
        (&long, "/api/v1/purchases", &bad_field, "invalid_input"),
        (&long, "/api/v1/purchases", &good, "idempotency_key_invalid"),
        ("", "/api/v1/purchases", &good, "idempotency_key_invalid"),
        (
            "a\tb",
            "/api/v1/purchases",
            &good,
            "idempotency_key_invalid",
        ),
        (
            &long,
            "/api/v1/points/redemptions/abc/void",
            "{}",
            "redemption_not_found",
        ),
        (
            &long,
            "/api/v1/coupons/validate",
            r#"{"code":"2345623456","amount_fen":0}"#,
            "invalid_input",
        ),
    ] {
        let (_, problem, _) = send(key, path, body).await;
        assert_eq!(problem["code"], code, "{path} {body}: {problem}");
    }
    // Without any key, the missing key comes first, even before a bad id.
    let (status, keyless, _) = pos
        .send(
            Request::post("/api/v1/points/redemptions/abc/void"),
            Body::from("{}"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(keyless["code"], "idempotency_key_missing");
    let (_, looked) = pos
        .get(&format!("/api/v1/members/lookup?member={member_no}"))
        .await;
    assert_eq!(looked["points"], 0, "nothing ran");
}

#[both_databases]
async fn a_refusal_once_the_key_is_claimed_is_kept_and_replayed() {
    let app = spawn_app().await;
    let (key, _, member_no) = setup(&app).await;
    let pos = Pos { app: &app, key };
    for body in [
        json!({"order_id": "R-1", "member": "99999999", "amount_fen": 1_000}),
        json!({"order_id": "R-1", "member": {"phone": "not a phone"}, "amount_fen": 1_000}),
    ] {
        let key = format!("refused-{}", body["member"]);
        let (status, first, response) = pos.post("/api/v1/purchases", &key, body.clone()).await;
        assert!(status.is_client_error(), "{first}");
        assert!(!replayed(&response));
        let (again_status, again, response) = pos.post("/api/v1/purchases", &key, body).await;
        assert_eq!((again_status, &again), (status, &first));
        assert!(replayed(&response), "{again}");
    }
    let (status, missing, _) = pos
        .post("/api/v1/points/redemptions/424242/void", "gone", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["code"], "redemption_not_found");
    let (status, _, response) = pos
        .post("/api/v1/points/redemptions/424242/void", "gone", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(replayed(&response));
    // An id that is not a number was never claimed: not kept.
    for _ in 0..2 {
        let (status, _, response) = pos
            .post(
                "/api/v1/points/redemptions/abc/void",
                "not-a-number",
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(!replayed(&response));
    }
    let (_, looked) = pos
        .get(&format!("/api/v1/members/lookup?member={member_no}"))
        .await;
    assert_eq!(looked["points"], 0);
}

#[both_databases]
async fn a_replay_needs_the_same_body_bytes_and_the_same_decoded_path() {
    let app = spawn_app().await;
    let (key, _, member_no) = setup(&app).await;
    let pos = Pos { app: &app, key };
    let post_raw = |path: &str, key: &str, body: String| {
        pos.send(
            Request::post(path).header("idempotency-key", key.to_owned()),
            Body::from(body),
        )
    };
    // No Content-Type, and a body the POS wrote by hand: the bytes count,
    // not the JSON they mean.
    let compact = format!(r#"{{"order_id":"B-1","member":"{member_no}","amount_fen":10000}}"#);
    let (status, first, _) = post_raw("/api/v1/purchases", "bytes", format!("{compact}\n")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, again, response) =
        post_raw("/api/v1/purchases", "bytes", format!("{compact}\n")).await;
    assert_eq!((status, &again), (StatusCode::OK, &first));
    assert!(replayed(&response));
    let (status, reused, _) = post_raw("/api/v1/purchases", "bytes", compact).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reused["code"], "idempotency_key_reused");

    // The order id in the path counts as decoded: %2D is a dash.
    let refund = json!({"refund_id": "RF-1", "amount_fen": 1_000});
    let (status, first, _) = pos
        .post("/api/v1/purchases/B%2D1/refunds", "refund", refund.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, again, response) = pos
        .post("/api/v1/purchases/B-1/refunds", "refund", refund)
        .await;
    assert_eq!((status, &again), (StatusCode::OK, &first));
    assert!(replayed(&response));

    // The two names of a coupon void are one request; a void reads no body.
    let (status, first, _) = post_raw("/api/v1/redemptions/424242/void", "void", "x".into()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{first}");
    let (status, again, response) = post_raw(
        "/api/v1/coupons/redemptions/424242/void",
        "void",
        "x".into(),
    )
    .await;
    assert_eq!((status, &again), (StatusCode::NOT_FOUND, &first));
    assert!(replayed(&response));
}

/// The contract's order, pay with points and then record the purchase, keeps
/// the brand's cap (50 % for the demo): a purchase whose bill the points
/// already paid on its order exceed is a 422 problem and records nothing;
/// after a void it is recorded.
#[both_databases]
async fn points_paid_before_the_bill_is_known_hold_the_purchase_to_the_cap() {
    let app = spawn_app().await;
    let (key, _, member_no) = setup(&app).await;
    let pos = Pos { app: &app, key };
    pos.post(
        "/api/v1/purchases",
        "p",
        json!({"order_id": "A-1", "member": member_no, "amount_fen": 50_000}),
    )
    .await;
    let (status, paid, _) = pos
        .post(
            "/api/v1/points/redeem",
            "r1",
            json!({"member": member_no, "order_id": "B-2", "points": 400}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    // Its bill, once the points are paid: within their cap only after a void.
    let bill = json!({"order_id": "B-2", "member": member_no, "amount_fen": 600});
    let (status, over, response) = pos.post("/api/v1/purchases", "p2", bill.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{over}");
    assert_eq!(over["code"], "points_paid_over_cap");
    let detail = over["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("at most 300 points"), "{detail}");
    // Refused once its purchase row was written: that row is undone, and
    // the refusal is kept for its key.
    let (status, again, replay) = pos.post("/api/v1/purchases", "p2", bill.clone()).await;
    assert_eq!((status, &again), (StatusCode::UNPROCESSABLE_ENTITY, &over));
    assert!(replayed(&replay));
    assert_eq!(
        header_str(&response, header::CONTENT_TYPE),
        "application/problem+json"
    );
    let id = paid["redemption_id"].as_i64().unwrap();
    let (status, _, _) = pos
        .post(
            &format!("/api/v1/points/redemptions/{id}/void"),
            "v",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, recorded, _) = pos.post("/api/v1/purchases", "p3", bill).await;
    assert_eq!(status, StatusCode::OK, "{recorded}");
}
