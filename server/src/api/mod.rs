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

use axum::http::Method;
use axum::routing::{get, post, MethodRouter};
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

/// The routes under `/api/v1`, each with the one method it answers.
fn routes() -> [(&'static str, Method, MethodRouter<AppState>); 10] {
    [
        ("/openapi.json", Method::GET, get(openapi_json)),
        ("/members/lookup", Method::GET, get(handlers::lookup)),
        ("/purchases", Method::POST, post(handlers::purchase)),
        (
            "/purchases/{order_id}/refunds",
            Method::POST,
            post(handlers::refund),
        ),
        (
            "/points/redeem",
            Method::POST,
            post(handlers::redeem_points),
        ),
        (
            "/points/redemptions/{redemption_id}/void",
            Method::POST,
            post(handlers::void_points),
        ),
        (
            "/coupons/validate",
            Method::POST,
            post(handlers::validate_coupon),
        ),
        (
            "/coupons/redeem",
            Method::POST,
            post(handlers::redeem_coupon),
        ),
        (
            "/redemptions/{redemption_id}/void",
            Method::POST,
            post(handlers::void_coupon),
        ),
        // The same, under a name no POS can mistake for a points void.
        (
            "/coupons/redemptions/{redemption_id}/void",
            Method::POST,
            post(handlers::void_coupon),
        ),
    ]
}

/// (method, path) of every route under `/api/v1`, for the security sweep.
pub fn route_list() -> Vec<(Method, &'static str)> {
    routes()
        .into_iter()
        .map(|(path, method, _)| (method, path))
        .collect()
}

/// Everything under `/api/v1`.
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for (path, _, handler) in routes() {
        router = router.route(path, handler);
    }
    router.fallback(|| async {
        Problem::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            "No such endpoint.",
        )
    })
}
