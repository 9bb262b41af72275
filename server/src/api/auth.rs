//! `Authorization: Bearer <store API key>`, and the rate limit per key.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota};
use loyalty::access::PosKey;
use loyalty::brands::api_keys;
use loyalty::infra::rate_limits::ApiLimit;
use loyalty::SystemClock;

use super::Problem;
use crate::http::AppState;

/// Requests per minute each key may make. On PostgreSQL, where several
/// server processes may share the database, the count lives in the database
/// (`loyalty::infra::rate_limits::ApiLimit`, fixed minute windows taken in
/// leases); on SQLite, which one
/// process serves, a token bucket in memory spares every API read a write.
#[derive(Clone)]
pub enum RateLimiter {
    Local(Arc<DefaultKeyedRateLimiter<i64>>),
    Shared(Arc<ApiLimit>),
}

impl RateLimiter {
    pub fn per_minute(n: u32, backend: loyalty::Backend) -> RateLimiter {
        match backend {
            loyalty::Backend::Postgres => RateLimiter::Shared(Arc::new(ApiLimit::new(n))),
            loyalty::Backend::Sqlite => {
                let n = NonZeroU32::new(n.max(1)).expect("positive");
                RateLimiter::Local(Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_minute(
                    n,
                ))))
            }
        }
    }

    async fn check(&self, db: &loyalty::Db, key: i64) -> Result<(), Problem> {
        let wait_secs = match self {
            RateLimiter::Local(limiter) => match limiter.check_key(&key) {
                Ok(()) => return Ok(()),
                Err(not_until) => not_until
                    .wait_time_from(governor::clock::DefaultClock::default().now())
                    .as_secs(),
            },
            RateLimiter::Shared(limit) => {
                match limit
                    .take(db, &SystemClock, key)
                    .await
                    .map_err(Problem::from)?
                {
                    Ok(()) => return Ok(()),
                    Err(wait) => wait,
                }
            }
        };
        let mut p = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests for this API key; retry after the time in Retry-After.",
        );
        p.retry_after = Some(wait_secs.max(1));
        Err(p)
    }
}

/// The store a request acts for. Extracting it authenticates the key and
/// applies its rate limit.
pub struct Caller(pub PosKey);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let unauthorized =
            |detail: &str| Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail);
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(unauthorized(
                "Send the store's API key: Authorization: Bearer <key>.",
            ));
        };
        let presented = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .unwrap_or_default();
        let caller = api_keys::authenticate(&state.portal.db, &SystemClock, presented)
            .await
            .map_err(Problem::from)?
            .ok_or_else(|| unauthorized("This API key is not valid (unknown or revoked)."))?;
        state
            .api_limiter
            .check(&state.portal.db, caller.key_id())
            .await?;
        Ok(Caller(caller))
    }
}
