//! RFC 9457 problem documents: what every API error looks like.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable snake_case code, e.g. `insufficient_points`.
    pub code: String,
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("/api/v1/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            retry_after: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = (self.status(), self.body()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The core's refusals as the API names them; anything unexpected is a 500
/// whose detail goes to the log, not to the caller.
impl From<loyalty::Error> for Problem {
    fn from(e: loyalty::Error) -> Problem {
        use loyalty::Error as E;
        let status = match &e {
            E::MemberNotFound
            | E::CouponNotFound
            | E::CouponOfferNotFound
            | E::PurchaseNotFound
            | E::RedemptionNotFound
            | E::BrandNotFound
            | E::StoreNotFound => StatusCode::NOT_FOUND,
            E::OrderAlreadyRecorded
            | E::RefundAlreadyRecorded
            | E::RedemptionAlreadyVoided
            | E::RequestInProgress => StatusCode::CONFLICT,
            E::CouponRefused(r) if r.code() == "coupon_already_redeemed" => StatusCode::CONFLICT,
            E::CouponRefused(_)
            | E::CouponNotOffered
            | E::CouponOutOfStock
            | E::CouponLimitReached => StatusCode::UNPROCESSABLE_ENTITY,
            E::RefundExceedsPurchase
            | E::InsufficientPoints
            | E::PointsCapExceeded { .. }
            | E::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            E::Invalid { .. } => StatusCode::BAD_REQUEST,
            _ if e.is_unavailable() => {
                tracing::error!(error = %e, "API request failed: the database is unavailable");
                let mut problem = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service_unavailable",
                    "The database is unavailable just now; nothing was changed. Retry with the same Idempotency-Key.",
                );
                problem.retry_after = Some(5);
                return problem;
            }
            _ => {
                tracing::error!(error = %e, "API request failed");
                return Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "Something went wrong on our side; nothing was changed. Retry with the same Idempotency-Key.",
                );
            }
        };
        Problem::new(status, e.code(), detail(&e))
    }
}

fn detail(e: &loyalty::Error) -> String {
    use loyalty::Error as E;
    match e {
        E::MemberNotFound => {
            "No member of this brand matches; a rotating code is valid for about a minute.".into()
        }
        E::OrderAlreadyRecorded => {
            "This order id is already recorded at this store; no points were added.".into()
        }
        E::PurchaseNotFound => "No purchase with this order id at this store.".into(),
        E::RefundExceedsPurchase => "Refunds would add up to more than the purchase.".into(),
        E::RefundAlreadyRecorded => "This refund id is already recorded for the purchase.".into(),
        E::InsufficientPoints => "The member does not have that many points.".into(),
        E::PointsCapExceeded { max_points } => {
            format!("Points may pay at most {max_points} points of this bill.")
        }
        E::RedemptionNotFound => "No redemption with this id at this store.".into(),
        E::CouponNotFound => "No coupon of this brand has this code.".into(),
        E::CouponRefused(r) => r.sentence(loyalty::brands::Language::En),
        E::RedemptionAlreadyVoided => "This redemption is already voided.".into(),
        E::IdempotencyKeyReused => {
            "This Idempotency-Key was used with a different request; use a new key.".into()
        }
        E::RequestInProgress => {
            "A request with this Idempotency-Key is still running; retry in a moment.".into()
        }
        other => other.to_string(),
    }
}

/// A problem in the caller's language: the `Accept-Language` of the till,
/// else the brand's default. Coupon refusals are the sentences a cashier
/// reads out; the rest keep their English detail.
pub fn localized(e: loyalty::Error, lang: loyalty::brands::Language) -> Problem {
    match &e {
        loyalty::Error::CouponRefused(r) => {
            let sentence = r.sentence(lang);
            let mut p = Problem::from(e);
            p.detail = sentence;
            p
        }
        _ => Problem::from(e),
    }
}
