//! `/metrics` after some traffic: each family is there with sane values,
//! for the operator's token only; without a token configured the public
//! address has no `/metrics` at all.

use crate::api::{setup, Pos};
use crate::common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{body_text, spawn_app_with, Browser};
use serde_json::json;

const TOKEN: &str = "metrics-token-0123456789abcdef";

/// The value of the first sample of `family` whose labels contain every
/// one of `labels` (`key="value"`), if there is one.
fn sample(text: &str, family: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(family)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test_macros::both_databases]
async fn the_operator_scrapes_each_family_after_some_traffic() {
    let app = spawn_app_with(&[("TABLECARD_METRICS_TOKEN", TOKEN)]).await;
    // A diner's page, a sign-in code, a POS purchase sent twice.
    let mut phone = Browser::new(&app);
    assert_eq!(phone.get("/r/demo").await.status(), StatusCode::OK);
    phone.join("13900139000", true).await;
    let (key, _, member_no) = setup(&app).await;
    let pos = Pos { app: &app, key };
    let purchase = json!({"order_id": "M-1", "member": member_no, "amount_fen": 5_000});
    for _ in 0..2 {
        let (status, _, _) = pos
            .post("/api/v1/purchases", "metrics-k1", purchase.clone())
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    // The same key with another bill: a conflict.
    let changed = json!({"order_id": "M-1", "member": member_no, "amount_fen": 9});
    let (status, _, _) = pos.post("/api/v1/purchases", "metrics-k1", changed).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // The scheduler's minute, and the gauges it keeps.
    let runner = loyalty::infra::jobs::Runner::new("metrics-test", app.sender_arc());
    loyalty::infra::jobs::run_due(&app._db.db, &loyalty::SystemClock, &runner)
        .await
        .unwrap();
    server::metrics::refresh_outstanding(&app._db.db).await;

    let anonymous = app.get("/metrics", &[]).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = app
        .get(
            "/metrics",
            &[("authorization", "Bearer not-the-token-0000000000")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let scraped = app
        .get("/metrics", &[("authorization", &format!("Bearer {TOKEN}"))])
        .await;
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(common::header_str(&scraped, header::CONTENT_TYPE).starts_with("text/plain"));
    let text = body_text(scraped).await;

    let at_least_one = |family: &str, labels: &[&str]| {
        let v = sample(&text, family, labels)
            .unwrap_or_else(|| panic!("no {family} {labels:?} in\n{text}"));
        assert!(v >= 1.0, "{family} {labels:?} = {v}");
    };
    at_least_one(
        "tablecard_http_requests_total",
        &["route=\"/r/{brand}\"", "method=\"GET\"", "status=\"200\""],
    );
    at_least_one(
        "tablecard_http_requests_total",
        &[
            "route=\"/api/v1/purchases\"",
            "method=\"POST\"",
            "status=\"200\"",
        ],
    );
    at_least_one(
        "tablecard_http_request_duration_seconds_count",
        &["route=\"/r/{brand}\""],
    );
    let slowest = sample(
        &text,
        "tablecard_http_request_duration_seconds_bucket",
        &["route=\"/r/{brand}\"", "le=\"+Inf\""],
    )
    .expect("a latency histogram");
    assert!(slowest >= 1.0);
    at_least_one("tablecard_pos_idempotent_replays_total", &[]);
    at_least_one("tablecard_pos_idempotency_conflicts_total", &[]);
    at_least_one(
        "tablecard_sms_total",
        &["purpose=\"sign_in\"", "outcome=\"sent\""],
    );
    at_least_one("tablecard_scheduler_runs_total", &["outcome=\"ok\""]);
    let lag = sample(&text, "tablecard_scheduler_lag_seconds", &[]).expect("a lag");
    assert!((0.0..86_400.0 * 31.0).contains(&lag), "lag {lag}");
    let size = sample(&text, "tablecard_db_pool_size", &[]).expect("the pool's size");
    let idle = sample(&text, "tablecard_db_pool_connections", &["state=\"idle\""]).unwrap();
    let busy = sample(
        &text,
        "tablecard_db_pool_connections",
        &["state=\"in_use\""],
    )
    .unwrap();
    assert!(
        size >= 1.0 && idle + busy == size,
        "{size} = {idle} + {busy}"
    );
    // Every transaction waited for its connection, and nobody waits now.
    let acquired = sample(&text, "tablecard_db_pool_acquire_seconds_count", &[])
        .expect("the waits for a connection");
    assert!(acquired >= 1.0, "{acquired}");
    assert!(sample(
        &text,
        "tablecard_db_pool_acquire_seconds_bucket",
        &["le=\"+Inf\""]
    )
    .is_some());
    assert_eq!(sample(&text, "tablecard_db_pool_waiting", &[]), Some(0.0));
    // 5,000 fen earns 50 points at the demo's ¥1 a point.
    let points = sample(&text, "tablecard_points_outstanding", &["brand=\"demo\""]).unwrap();
    assert!(points >= 50.0, "{points}");
    assert!(sample(
        &text,
        "tablecard_stored_value_outstanding_fen",
        &["brand=\"demo\""]
    )
    .is_some());
    app.finish().await;
}

#[test_macros::both_databases]
async fn without_a_token_the_public_address_has_no_metrics() {
    let app = common::spawn_app().await;
    let r = app
        .get("/metrics", &[("authorization", &format!("Bearer {TOKEN}"))])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The separate address serves /metrics and nothing of the site.
    let state = server::http::AppState::new(
        &server::config::Config::from_lookup(|_| None).unwrap(),
        app._db.db.clone(),
    );
    let metrics = server::metrics::router(state);
    use tower::ServiceExt;
    let page = metrics
        .clone()
        .oneshot(Request::get("/r/demo").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let scraped = metrics
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(body_text(scraped).await.contains("tablecard_db_pool_size"));
    app.finish().await;
}
