//! `/metrics` for the operator, in the Prometheus text format, through the
//! `metrics` facade and `metrics-exporter-prometheus`.
//!
//! The families (all prefixed `tablecard_`):
//! - `http_requests_total{route,method,status}` and
//!   `http_request_duration_seconds{route}` (a histogram), the route being
//!   its pattern (`/r/{brand}/card`), so the series stay few;
//! - `db_pool_connections{state}` (idle, in use) and `db_pool_size`;
//!   `db_pool_acquire_seconds` (a histogram: the wait for a connection),
//!   `db_pool_waiting` and `db_pool_timeouts_total` (`loyalty::infra::db`);
//! - `pos_idempotent_replays_total`, `pos_idempotency_conflicts_total`;
//! - `sms_total{purpose,outcome}` (the core counts each send);
//! - `scheduler_runs_total{job,outcome}` and `scheduler_lag_seconds{job}`;
//! - `points_outstanding{brand}` and `stored_value_outstanding_fen{brand}`,
//!   gauges the scheduler refreshes.
//!
//! Never public: served on a separate address (`TABLECARD_METRICS_ADDR`),
//! or on the site's own address only with `Authorization: Bearer` and
//! `TABLECARD_METRICS_TOKEN`; with neither set, `/metrics` is a 404.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::http::AppState;

/// Latency buckets, in seconds: a page is fast under 50 ms, slow past 1 s.
const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's one recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
            .expect("buckets are not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed")
    })
}

/// Folds the samples the histograms took since the last call into their
/// buckets. With `install_recorder` that is the caller's to do: until it
/// runs (or a scrape renders), the recorder keeps every sample as it came,
/// so a server nobody scraped held all of them: 20 of the 29 MiB the bench's
/// SQLite load left allocated. `memory::spawn_quiet_trim` calls it every
/// second.
pub fn upkeep() {
    handle().run_upkeep();
}

/// Counts every request by its route pattern, method and status, and times
/// it; tells `memory` that one began.
pub async fn record(req: Request, next: Next) -> Response {
    crate::memory::request_begun();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "other".to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("tablecard_http_requests_total",
        "route" => route.clone(), "method" => method, "status" => status)
    .increment(1);
    metrics::histogram!("tablecard_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The text a scrape gets, with the pool's figures as of now.
pub fn render(state: &AppState) -> String {
    let pool = state.portal.db.pool();
    let (size, idle) = (f64::from(pool.size()), pool.num_idle() as f64);
    metrics::gauge!("tablecard_db_pool_size").set(size);
    metrics::gauge!("tablecard_db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("tablecard_db_pool_connections", "state" => "in_use").set(size - idle);
    handle().render()
}

fn prometheus_text(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// `GET /metrics` on the site's own address: only with the bearer token.
pub async fn on_site(State(state): State<AppState>, req: Request) -> Response {
    let Some(token) = state.metrics_token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !crate::sms::same(given, token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "metrics need the operator's token\n",
        )
            .into_response();
    }
    prometheus_text(render(&state))
}

/// The router of the separate metrics address: `/metrics` and nothing else.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(|State(state): State<AppState>| async move {
                prometheus_text(render(&state))
            }),
        )
        .with_state(state)
}

/// Sets the gauges of what each brand owes its members: points and stored
/// value. A failure is logged; the gauges keep their last values.
pub async fn refresh_outstanding(db: &loyalty::Db) {
    match loyalty::marketing::dashboard::outstanding(db).await {
        Ok(brands) => {
            for (slug, points, stored_fen) in brands {
                metrics::gauge!("tablecard_points_outstanding", "brand" => slug.clone())
                    .set(points as f64);
                metrics::gauge!("tablecard_stored_value_outstanding_fen", "brand" => slug)
                    .set(stored_fen as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "the outstanding gauges were not refreshed"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_upkeep_keeps_every_sample_in_the_histograms_counts() {
        let text = || super::handle().render();
        text();
        for round in 1..=3 {
            for _ in 0..1_000 {
                metrics::histogram!("tablecard_test_upkeep_seconds").record(0.003);
            }
            super::upkeep();
            let count = format!("tablecard_test_upkeep_seconds_count {}", round * 1_000);
            let rendered = text();
            assert!(rendered.contains(&count), "want {count} in\n{rendered}");
        }
    }
}
