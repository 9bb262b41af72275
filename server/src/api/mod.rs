//! The POS API, version 1, as `../shared/API.md` specifies it: store API
//! keys, idempotent POSTs, RFC 9457 problems with stable codes, a rate limit
//! per key, and an OpenAPI 3.1 description generated from this code.
//!
//! Handlers are as thin as the server functions: parse, call one `loyalty`
//! function inside the idempotency envelope, shape the JSON.

mod auth;
mod envelope;
mod handlers;
pub(crate) mod problem;

use axum::routing::{get, post};
use axum::Router;
use utoipa::OpenApi;

use crate::http::AppState;

pub use auth::RateLimiter;
pub use problem::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tablecard POS API",
        version = "1",
        description = "For a restaurant's POS, ordering system or mini-program backend. \
            Authenticate with `Authorization: Bearer <store API key>`; every POST needs an \
            `Idempotency-Key`. Errors are RFC 9457 problem documents with a stable `code`."
    ),
    servers((url = "/api/v1")),
    paths(
        handlers::lookup,
        handlers::purchase,
        handlers::refund,
        handlers::redeem_points,
        handlers::void_points,
        handlers::validate_coupon,
        handlers::redeem_coupon,
        handlers::void_coupon,
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
    security(("store_key" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "store_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}

/// Everything under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/members/lookup", get(handlers::lookup))
        .route("/purchases", post(handlers::purchase))
        .route("/purchases/{order_id}/refunds", post(handlers::refund))
        .route("/points/redeem", post(handlers::redeem_points))
        .route(
            "/points/redemptions/{redemption_id}/void",
            post(handlers::void_points),
        )
        .route("/coupons/validate", post(handlers::validate_coupon))
        .route("/coupons/redeem", post(handlers::redeem_coupon))
        .route(
            "/redemptions/{redemption_id}/void",
            post(handlers::void_coupon),
        )
        // The same, under a name no POS can mistake for a points void.
        .route(
            "/coupons/redemptions/{redemption_id}/void",
            post(handlers::void_coupon),
        )
        .fallback(|| async {
            Problem::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                "No such endpoint.",
            )
        })
}
