//! RFC 9457 problem documents: what every API error looks like.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use app::error::AppError;

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

/// The core's refusals keep their code, with the status of the one table
/// (`app::error::status`); anything unexpected is a 500 whose detail went
/// to the log, not to the caller.
impl From<loyalty::Error> for Problem {
    fn from(e: loyalty::Error) -> Problem {
        let detail = detail(&e);
        let e = AppError::from(e);
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if e.is_unavailable() {
            let mut problem = Problem::new(
                status,
                &e.code,
                "The database is unavailable just now; nothing was changed. Retry with the same Idempotency-Key.",
            );
            problem.retry_after = Some(5);
            return problem;
        }
        if status.is_server_error() {
            return Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Something went wrong on our side; nothing was changed. Retry with the same Idempotency-Key.",
            );
        }
        Problem::new(status, &e.code, detail)
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
        E::PointsPaidOverCap { max_points } => format!(
            "Points already paid on this order are more than this bill allows (at most {max_points} points). \
             Nothing was recorded: void a points payment (POST /points/redemptions/{{id}}/void), then record the purchase again."
        ),
        E::RedemptionNotFound => "No redemption with this id at this store.".into(),
        E::RotatingCodeRequired => "Paying from the stored balance needs the card's current rotating code (14 digits), scanned or typed; a member number or phone cannot spend it.".into(),
        E::InsufficientBalance => "The member's stored balance is less than this payment; nothing was taken.".into(),
        E::StoredValueLimit => "The stored balance would pass ¥10,000,000; nothing was added.".into(),
        E::TopUpAlreadyRecorded => "This top_up_id is already recorded at this store; nothing was added.".into(),
        E::TopUpNotFound => "No top-up with this id at this store.".into(),
        E::PaymentAlreadyRecorded => "This payment_id is already recorded at this store; nothing was taken.".into(),
        E::PaymentNotFound => "No stored-value payment with this id at this store.".into(),
        E::PaymentAlreadyVoided => "This payment is already voided.".into(),
        E::RefundExceedsPrincipal { left_fen } => format!(
            "A refund gives back only unspent principal of the top-up: at most {left_fen} fen now."
        ),
        E::CouponNotFound => "No coupon of this brand has this code.".into(),
        E::CouponRefused(_) => {
            app::error::sentence(app::i18n::Locale::en, &AppError::carrying(e)).unwrap_or_default()
        }
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
    let sentence = matches!(e, loyalty::Error::CouponRefused(_))
        .then(|| app::error::sentence(app::locale::to_locale(lang), &AppError::carrying(&e)))
        .flatten();
    let mut p = Problem::from(e);
    if let Some(sentence) = sentence {
        p.detail = sentence;
    }
    p
}
