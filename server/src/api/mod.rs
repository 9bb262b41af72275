//! The POS API, version 1, as `../shared/API.md` specifies it: store API
//! keys, idempotent POSTs, RFC 9457 problems with stable codes, a rate limit
//! per key, and an OpenAPI 3.1 description generated from this code.
//!
//! Handlers are as thin as the server functions: parse, call one `loyalty`
//! function inside the idempotency envelope, shape the JSON.

mod auth;
mod envelope;
mod extract;
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
        version = "1.1",
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
        handlers::top_up,
        handlers::pay_stored,
        handlers::void_stored,
        handlers::refund_stored,
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth, &CommonResponses),
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

/// What any endpoint may answer besides its own outcomes, so that the
/// description lists every status a POS can meet.
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let common = [
            ("400", "`invalid_input`, `invalid_body`, and on a POST `idempotency_key_missing` or `idempotency_key_invalid`"),
            ("401", "`unauthorized`: no key, or not a live one"),
            ("413", "`payload_too_large`: the body is over 64 KiB"),
            ("409", "`request_in_progress`: a request with this Idempotency-Key is still running"),
            ("422", "`idempotency_key_reused`: this key came with another request before"),
            ("429", "`rate_limited`: this key's requests per minute; see Retry-After"),
            ("500", "`internal_error`: nothing was changed; retry with the same Idempotency-Key"),
            ("503", "`service_unavailable`: the database is unavailable just now; nothing was changed; see Retry-After"),
        ];
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.delete.as_mut(),
                item.patch.as_mut(),
            ];
            for op in operations.into_iter().flatten() {
                let keyed = op
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| p.name == "Idempotency-Key");
                for (status, description) in common {
                    let skip = match status {
                        "413" => op.request_body.is_none(),
                        "409" | "422" => !keyed,
                        _ => false,
                    };
                    if skip {
                        continue;
                    }
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| {
                            ResponseBuilder::new()
                                .description(description)
                                .content(
                                    "application/problem+json",
                                    ContentBuilder::new()
                                        .schema(Some(Ref::from_schema_name("Problem")))
                                        .build(),
                                )
                                .build()
                                .into()
                        });
                }
            }
        }
    }
}

async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}

/// The routes under `/api/v1`, each with the one method it answers.
fn routes() -> [(&'static str, Method, MethodRouter<AppState>); 14] {
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
        (
            "/stored-value/top-ups",
            Method::POST,
            post(handlers::top_up),
        ),
        (
            "/stored-value/payments",
            Method::POST,
            post(handlers::pay_stored),
        ),
        (
            "/stored-value/payments/{payment_id}/void",
            Method::POST,
            post(handlers::void_stored),
        ),
        (
            "/stored-value/top-ups/{top_up_id}/refunds",
            Method::POST,
            post(handlers::refund_stored),
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
