//! The edge's one error. The core's `loyalty::Error` converts into it with
//! `?`, and it carries the core's stable code and parameters unchanged to
//! wherever an error leaves the server: a server function's answer, a form's
//! redirect (`?error=code&secs=30`), a page's notice, the API's problem
//! document. One table gives each code its HTTP status ([`status`]); one
//! function words it in the reader's language from the locale files
//! ([`sentence`]). Nothing recognises an error by its text.

use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::{Deserialize, Serialize};

use crate::i18n::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppError {
    /// Stable snake_case: the core's code, or one of the edge's own for what
    /// only a form can get wrong (`password_mismatch`, `logo_type` …).
    pub code: String,
    /// Named values the sentence needs (`secs`, `left`, `field` …).
    pub params: Vec<(String, String)>,
}

/// Parameter names a redirect may carry beside `error`; anything else in a
/// page's query string is the page's own.
const PARAMS: [&str; 15] = [
    "kib", "secs", "left", "max", "min", "field", "reason", "date", "store", "need_fen",
    "bill_fen", "weekdays", "from", "until", "rank",
];

impl AppError {
    pub fn new(code: impl Into<String>) -> AppError {
        AppError {
            code: code.into(),
            params: Vec::new(),
        }
    }

    pub fn with(mut self, name: &str, value: impl ToString) -> AppError {
        self.params.push((name.to_owned(), value.to_string()));
        self
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A whole-number parameter, 0 when absent or not a number.
    fn number(&self, name: &str) -> i64 {
        self.param(name).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// The HTTP status of this error: see [`status`].
    pub fn status(&self) -> u16 {
        status(&self.code)
    }

    /// `error=code&name=value…`, for a redirect back to the form.
    pub fn query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("error", &self.code);
        for (name, value) in &self.params {
            query.append_pair(name, value);
        }
        query.finish()
    }

    /// `back` (which may carry a query and a `#fragment`) with this error
    /// added to its query: where a refused form sends the browser.
    pub fn back_to(&self, back: &str) -> String {
        let (path, fragment) = match back.split_once('#') {
            Some((path, fragment)) => (path, format!("#{fragment}")),
            None => (back, String::new()),
        };
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}{}{fragment}", self.query())
    }

    /// The error a redirect carried, from the page's query parameters.
    pub fn from_query<'a>(mut get: impl FnMut(&str) -> Option<String> + 'a) -> Option<AppError> {
        let code = get("error")?;
        let params = PARAMS
            .iter()
            .filter_map(|name| Some(((*name).to_owned(), get(name)?)))
            .collect();
        Some(AppError { code, params })
    }

    /// Ok for what the sender's form can explain (a refusal, or a text
    /// message the provider would not take: try again shortly); Err for a
    /// failure of ours, which no form should swallow.
    pub fn refused(self) -> Result<AppError, AppError> {
        match self.code.as_str() {
            "internal_error" | "service_unavailable" => Err(self),
            _ => Ok(self),
        }
    }

    pub fn is_unavailable(&self) -> bool {
        self.code == "service_unavailable"
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.query())
    }
}

impl std::error::Error for AppError {}

/// The status of every code, in one table: the API's problem documents, the
/// pages and the plain handlers all answer with it.
pub fn status(code: &str) -> u16 {
    match code {
        "invalid_input"
        | "invalid_body"
        | "idempotency_key_missing"
        | "idempotency_key_invalid"
        | "terms_not_accepted"
        | "password_mismatch"
        | "confirm_delete"
        | "logo_type"
        | "logo_missing"
        | "import_unreadable"
        | "import_too_big"
        | "import_empty"
        | "import_too_many_rows"
        | "import_no_phone_column"
        | "import_missing"
        | "import_changed"
        | "invalid_form" => 400,
        "unauthorized" | "staff_sign_in_failed" | "wrong_current_password" => 401,
        "forbidden" => 403,
        "brand_not_found"
        | "store_not_found"
        | "table_not_found"
        | "member_not_found"
        | "purchase_not_found"
        | "redemption_not_found"
        | "coupon_not_found"
        | "top_up_not_found"
        | "payment_not_found"
        | "top_up_rule_not_found"
        | "coupon_offer_not_found"
        | "feedback_not_found"
        | "staff_not_found"
        | "api_key_not_found"
        | "automation_not_found"
        | "sms_template_not_found"
        | "import_not_found"
        | "code_missing" => 404,
        "order_already_recorded"
        | "refund_already_recorded"
        | "redemption_already_voided"
        | "request_in_progress"
        | "coupon_already_redeemed"
        | "brand_slug_taken"
        | "store_code_taken"
        | "table_label_taken"
        | "staff_login_taken"
        | "form_already_used"
        | "adjustment_not_pending"
        | "top_up_already_recorded"
        | "payment_already_recorded"
        | "payment_already_voided"
        | "erasure_already_requested"
        | "erasure_not_pending"
        | "import_running" => 409,
        "payload_too_large" | "logo_size" | "import_size" => 413,
        "coupon_expired"
        | "coupon_not_started"
        | "coupon_not_applicable"
        | "coupon_not_offered"
        | "coupon_out_of_stock"
        | "coupon_limit_reached"
        | "refund_exceeds_purchase"
        | "insufficient_points"
        | "insufficient_balance"
        | "stored_value_limit"
        | "refund_exceeds_principal"
        | "rotating_code_required"
        | "points_cap_exceeded"
        | "points_paid_over_cap"
        | "idempotency_key_reused"
        | "code_wrong"
        | "code_expired"
        | "staff_self_change"
        | "check_in_off"
        | "phone_cannot_receive" => 422,
        "rate_limited"
        | "code_resend_too_soon"
        | "code_limit_reached"
        | "code_daily_limit"
        | "code_budget_spent"
        | "code_too_many_tries"
        | "feedback_too_often"
        | "staff_locked"
        | "sign_in_too_often" => 429,
        "code_not_delivered" => 502,
        "service_unavailable" | "sign_in_busy" => 503,
        _ => 500,
    }
}

/// The error in the reader's language, from the locale files; None for a
/// code no page words (a hand-made query string shows nothing).
pub fn sentence(locale: Locale, e: &AppError) -> Option<String> {
    let secs = e.number("secs").clamp(0, 86_400);
    let mins = (secs + 59) / 60;
    let text = match e.code.as_str() {
        "invalid_input" => match (e.param("field")?, e.param("reason")) {
            ("terms_version", Some("empty")) => {
                td_string!(locale, err_terms_need_version).to_string()
            }
            ("order", Some("empty")) => td_string!(locale, err_order_required).to_string(),
            ("logo", Some("too_long")) => td_string!(locale, err_logo_size).to_string(),
            ("logo", _) => td_string!(locale, err_logo_type).to_string(),
            (field, _) => return invalid_sentence(locale, field),
        },
        "code_wrong" => td_string!(locale, err_code_wrong, left = e.number("left")).to_string(),
        "code_expired" => td_string!(locale, err_code_expired).to_string(),
        "code_too_many_tries" if secs > 0 => {
            td_string!(locale, err_code_dead_wait, secs = secs).to_string()
        }
        "code_too_many_tries" => td_string!(locale, err_code_dead).to_string(),
        "code_missing" => td_string!(locale, err_code_missing).to_string(),
        "code_resend_too_soon" => td_string!(locale, err_resend_wait, secs = secs).to_string(),
        "code_limit_reached" => td_string!(locale, err_code_limit, mins = mins).to_string(),
        "code_daily_limit" => {
            td_string!(locale, err_code_daily_limit, hours = (secs + 3_599) / 3_600).to_string()
        }
        "code_budget_spent" => td_string!(locale, err_code_budget_spent).to_string(),
        "code_not_delivered" => td_string!(locale, err_not_delivered).to_string(),
        "phone_cannot_receive" => td_string!(locale, err_phone_cannot_receive).to_string(),
        "sms_template_not_found" => td_string!(locale, err_sms_template_not_found).to_string(),
        "import_unreadable" => td_string!(locale, err_import_unreadable).to_string(),
        "import_too_big" => td_string!(locale, err_import_too_big).to_string(),
        "import_empty" => td_string!(locale, err_import_empty).to_string(),
        "import_too_many_rows" => {
            td_string!(locale, err_import_too_many_rows, max = e.number("max")).to_string()
        }
        "import_no_phone_column" => td_string!(locale, err_import_no_phone_column).to_string(),
        "import_changed" => td_string!(locale, err_import_changed).to_string(),
        "import_running" => td_string!(locale, err_import_running).to_string(),
        "import_not_found" => td_string!(locale, err_import_not_found).to_string(),
        "import_size" => td_string!(locale, err_import_size).to_string(),
        "import_missing" => td_string!(locale, err_import_missing).to_string(),
        "erasure_already_requested" => {
            td_string!(locale, err_erasure_already_requested).to_string()
        }
        "erasure_not_pending" => td_string!(locale, err_erasure_not_pending).to_string(),
        "terms_not_accepted" => td_string!(locale, err_terms).to_string(),
        "confirm_delete" => td_string!(locale, err_confirm_delete).to_string(),
        "coupon_out_of_stock" => td_string!(locale, err_coupon_out_of_stock).to_string(),
        "coupon_limit_reached" => td_string!(locale, err_coupon_limit_reached).to_string(),
        "insufficient_points" => td_string!(locale, err_not_enough_points).to_string(),
        "insufficient_balance" => td_string!(locale, err_insufficient_balance).to_string(),
        "rotating_code_required" => td_string!(locale, err_rotating_code_required).to_string(),
        "stored_value_limit" => td_string!(locale, err_stored_value_limit).to_string(),
        "top_up_already_recorded" | "payment_already_recorded" => {
            td_string!(locale, err_stored_already_recorded).to_string()
        }
        "payment_not_found" => td_string!(locale, err_payment_not_found).to_string(),
        "payment_already_voided" => td_string!(locale, err_payment_already_voided).to_string(),
        "top_up_not_found" => td_string!(locale, err_top_up_not_found).to_string(),
        "top_up_rule_not_found" => td_string!(locale, err_top_up_rule_not_found).to_string(),
        "refund_exceeds_principal" => td_string!(
            locale,
            err_refund_exceeds_principal,
            left = loyalty::money::yuan(e.number("left"))
        )
        .to_string(),
        "coupon_not_offered" => td_string!(locale, err_coupon_not_offered).to_string(),
        // Only a stale or hand-made form names an offer that does not exist.
        "coupon_offer_not_found" => td_string!(locale, err_invalid_template).to_string(),
        "coupon_already_redeemed"
        | "coupon_expired"
        | "coupon_not_started"
        | "coupon_not_applicable" => refusal_sentence(locale, e),
        "nps_missing" => td_string!(locale, err_nps_missing).to_string(),
        "store_not_found" => td_string!(locale, err_store).to_string(),
        "feedback_too_often" => td_string!(locale, err_feedback_too_often).to_string(),
        "staff_sign_in_failed" => td_string!(locale, err_staff_sign_in_failed).to_string(),
        "staff_locked" => td_string!(locale, err_staff_locked, mins = mins).to_string(),
        "sign_in_too_often" => td_string!(locale, err_sign_in_too_often, mins = mins).to_string(),
        "sign_in_busy" => td_string!(locale, err_sign_in_busy, secs = secs).to_string(),
        "feedback_not_found" => td_string!(locale, err_feedback_not_found).to_string(),
        "member_not_found" => td_string!(locale, err_member_not_found).to_string(),
        "order_already_recorded" => td_string!(locale, err_order_already_recorded).to_string(),
        "points_cap_exceeded" => {
            td_string!(locale, err_points_cap, max = e.number("max").max(0)).to_string()
        }
        "points_paid_over_cap" => td_string!(
            locale,
            err_points_paid_over_cap,
            max = e.number("max").max(0)
        )
        .to_string(),
        "coupon_not_found" => td_string!(locale, err_coupon_not_found).to_string(),
        "request_in_progress" => td_string!(locale, err_in_progress).to_string(),
        "form_already_used" => td_string!(locale, err_form_already_used).to_string(),
        "adjustment_not_pending" => td_string!(locale, err_adjustment_not_pending).to_string(),
        "staff_login_taken" => td_string!(locale, err_staff_login_taken).to_string(),
        "staff_not_found" => td_string!(locale, err_staff_not_found).to_string(),
        "staff_self_change" => td_string!(locale, err_staff_self_change).to_string(),
        "password_mismatch" => td_string!(locale, err_password_mismatch).to_string(),
        "wrong_current_password" => td_string!(locale, err_wrong_current_password).to_string(),
        "logo_type" => td_string!(locale, err_logo_type).to_string(),
        "logo_size" => td_string!(locale, err_logo_size).to_string(),
        "logo_missing" => td_string!(locale, err_logo_missing).to_string(),
        "store_code_taken" => td_string!(locale, err_store_code_taken).to_string(),
        "table_label_taken" => td_string!(locale, err_table_label_taken).to_string(),
        "table_not_found" => td_string!(locale, err_table_not_found).to_string(),
        "check_in_off" => td_string!(locale, err_check_in_off).to_string(),
        "automation_not_found" => td_string!(locale, err_automation_not_found).to_string(),
        "service_unavailable" => td_string!(locale, error_unavailable_body).to_string(),
        "payload_too_large" => td_string!(locale, err_too_large, kib = e.number("kib")).to_string(),
        "invalid_form" => td_string!(locale, err_invalid_form).to_string(),
        "internal_error" => td_string!(locale, error_body).to_string(),
        _ => return None,
    };
    Some(text)
}

/// An `invalid_input`, by the field the core named.
fn invalid_sentence(locale: Locale, field: &str) -> Option<String> {
    let text = match field {
        "phone" => td_string!(locale, err_phone_invalid),
        "code" => td_string!(locale, err_code_format),
        "birthday" => td_string!(locale, err_birthday),
        "display_name" => td_string!(locale, err_name),
        "allergies" => td_string!(locale, err_allergies),
        "sensitive_consent" => td_string!(locale, err_sensitive_consent),
        "nps" => td_string!(locale, err_nps_missing),
        "comment" => td_string!(locale, err_comment_long),
        "visit_date" => td_string!(locale, err_visit_date),
        "reply" => td_string!(locale, err_reply_invalid),
        "amount" => td_string!(locale, err_invalid_amount),
        "bill" => td_string!(locale, err_invalid_bill),
        "order" => td_string!(locale, err_invalid_order),
        "points" => td_string!(locale, err_invalid_points),
        "adjust_points" => td_string!(locale, err_invalid_adjust_points),
        "adjustment_limit" => td_string!(locale, err_invalid_adjustment_limit),
        "form_key" => td_string!(locale, err_invalid_form_key),
        "store_code" => td_string!(locale, err_invalid_code),
        "name" => td_string!(locale, err_invalid_name),
        "label" => td_string!(locale, err_invalid_label),
        "count" => td_string!(locale, err_invalid_count),
        "staff_stores" => td_string!(locale, err_invalid_stores),
        "login" => td_string!(locale, err_invalid_login),
        "role" => td_string!(locale, err_invalid_role),
        "password" => td_string!(locale, err_invalid_password),
        "staff_name" => td_string!(locale, err_invalid_staff_name),
        "reason" => td_string!(locale, err_invalid_reason),
        "template" => td_string!(locale, err_invalid_template),
        "theme_color" => td_string!(locale, err_invalid_theme_color),
        "default_locale" => td_string!(locale, err_invalid_default_locale),
        "time_zone" => td_string!(locale, err_invalid_time_zone),
        "embed_origins" => td_string!(locale, err_invalid_embed_origins),
        "terms_version" => td_string!(locale, err_invalid_terms_version),
        "terms_text" => td_string!(locale, err_invalid_terms_text),
        "earn" => td_string!(locale, err_invalid_earn),
        "signup_bonus" => td_string!(locale, err_invalid_signup_bonus),
        "expiry" => td_string!(locale, err_invalid_expiry),
        "redeem_rate" => td_string!(locale, err_invalid_redeem_rate),
        "redeem_cap" => td_string!(locale, err_invalid_redeem_cap),
        "bonus" => td_string!(locale, err_invalid_bonus),
        "feedback_points" => td_string!(locale, err_invalid_feedback_points),
        "feedback_coupon" => td_string!(locale, err_invalid_feedback_coupon),
        "segment" => td_string!(locale, err_segment_too_large),
        "tier_name" => td_string!(locale, err_invalid_tier_name),
        "tier_threshold" => td_string!(locale, err_invalid_tier_threshold),
        "tier_discount" => td_string!(locale, err_invalid_tier_discount),
        "tier_multiplier" => td_string!(locale, err_invalid_tier_multiplier),
        "tiers" => td_string!(locale, err_invalid_tiers),
        "sms_signature" => td_string!(locale, err_invalid_sms_signature),
        "trigger" => td_string!(locale, err_invalid_trigger),
        "days" => td_string!(locale, err_invalid_days),
        "visits" => td_string!(locale, err_invalid_visits),
        "action" => td_string!(locale, err_invalid_action),
        "message" => td_string!(locale, err_invalid_message),
        "template_code" => td_string!(locale, err_invalid_template_code),
        "template_body" => td_string!(locale, err_invalid_template_body),
        "template_opt_out" => td_string!(locale, err_invalid_template_opt_out),
        "template_for" => td_string!(locale, err_invalid_template_for),
        "template_language" => td_string!(locale, err_invalid_template_language),
        "window_start" | "window_end" => td_string!(locale, err_invalid_window),
        "marketing_cap" | "sign_in_cap" => td_string!(locale, err_invalid_cap),
        "price_per_100" => td_string!(locale, err_invalid_price),
        f if f.starts_with("checkin_") => td_string!(locale, err_invalid_checkin),
        f if f.starts_with("referral_") => td_string!(locale, err_invalid_referral),
        // The coupon editor's fields.
        "threshold_fen" => td_string!(locale, tpl_err_threshold),
        "amount_off_fen" => td_string!(locale, tpl_err_amount),
        "percent_off" => td_string!(locale, tpl_err_percent),
        "max_off_fen" => td_string!(locale, tpl_err_max_off),
        "gift_item" => td_string!(locale, tpl_err_gift),
        "minutes" => td_string!(locale, tpl_err_minutes),
        "validity" | "valid_days" => td_string!(locale, tpl_err_validity),
        "stores" => td_string!(locale, tpl_err_stores),
        "stock_total" | "per_member_limit" | "points_price" | "min_tier_rank" => {
            td_string!(locale, tpl_err_numbers)
        }
        "kind" | "weekdays" | "hours" => td_string!(locale, tpl_err_kind),
        _ => return None,
    };
    Some(text.to_string())
}

/// Why a coupon cannot be used, as the cashier or the member should hear it.
fn refusal_sentence(locale: Locale, e: &AppError) -> String {
    let p = |name: &str| e.param(name).unwrap_or_default().to_owned();
    match (e.code.as_str(), e.param("reason").unwrap_or_default()) {
        ("coupon_already_redeemed", _) => match e.param("store") {
            Some(store) => td_string!(
                locale,
                refusal_redeemed_at,
                date = p("date"),
                store = store.to_owned()
            )
            .to_string(),
            None => td_string!(locale, refusal_redeemed, date = p("date")).to_string(),
        },
        ("coupon_expired", _) => td_string!(locale, refusal_expired, date = p("date")).to_string(),
        ("coupon_not_started", _) => {
            td_string!(locale, refusal_not_started, date = p("date")).to_string()
        }
        (_, "threshold") => td_string!(
            locale,
            refusal_threshold,
            need = loyalty::money::yuan(e.number("need_fen")),
            bill = loyalty::money::yuan(e.number("bill_fen"))
        )
        .to_string(),
        (_, "store") => td_string!(locale, refusal_store).to_string(),
        (_, "time_window") if e.param("from").is_some() => {
            td_string!(locale, refusal_too_early, time = p("from")).to_string()
        }
        (_, "time_window") if e.param("until").is_some() => {
            td_string!(locale, refusal_too_late, time = p("until")).to_string()
        }
        (_, "time_window") => {
            let days: Vec<String> = p("weekdays")
                .split(',')
                .filter_map(|d| d.parse::<i8>().ok())
                .map(|d| crate::routes::brand::weekday_name(locale, d))
                .collect();
            let days = days.join(td_string!(locale, list_separator));
            td_string!(locale, refusal_wrong_day, days = days).to_string()
        }
        (_, "tier") => td_string!(locale, refusal_tier).to_string(),
        _ => td_string!(locale, err_coupon_refused).to_string(),
    }
}

/// How an error travels as a server function's answer: its query string,
/// as text, so the browser needs no JSON for it.
pub struct ErrorEncoding;

impl ContentType for ErrorEncoding {
    const CONTENT_TYPE: &'static str = "text/plain";
}

impl FormatType for ErrorEncoding {
    const FORMAT_TYPE: Format = Format::Text;
}

impl Encodes<AppError> for ErrorEncoding {
    type Error = std::convert::Infallible;

    fn encode(e: &AppError) -> Result<Bytes, Self::Error> {
        Ok(Bytes::from(e.query()))
    }
}

impl Decodes<AppError> for ErrorEncoding {
    type Error = String;

    fn decode(bytes: Bytes) -> Result<AppError, Self::Error> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        AppError::from_query(get).ok_or_else(|| "no error code".to_owned())
    }
}

impl FromServerFnError for AppError {
    type Encoder = ErrorEncoding;

    /// The framework's own failures: a form whose fields do not parse is the
    /// sender's mistake (400); the rest are ours (500).
    fn from_server_fn_error(e: ServerFnErrorErr) -> AppError {
        match e {
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Deserialization(_) => {
                // server_fn answers every error 500 unless the response's
                // options say otherwise; it never runs the function here.
                #[cfg(feature = "ssr")]
                crate::server::set_status(http::StatusCode::BAD_REQUEST);
                AppError::new("invalid_form")
            }
            other => {
                #[cfg(feature = "ssr")]
                tracing::error!(error = %other, "server function failed");
                let _ = other;
                AppError::new("internal_error")
            }
        }
    }
}

/// A whole page for an error answered where no page renders (a plain
/// handler, a request refused before routing): Chinese, then English, since
/// nothing there says which the reader prefers.
pub fn plain_page(e: &AppError) -> String {
    let title = td_string!(Locale::zh_CN, error_title);
    let say =
        |locale| sentence(locale, e).unwrap_or_else(|| td_string!(locale, error_body).to_string());
    format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><body style=\"font-family:system-ui,sans-serif;margin:2rem\">\
         <h1>{title}</h1><p>{}</p><p lang=\"en\">{}</p></body></html>",
        say(Locale::zh_CN),
        say(Locale::en)
    )
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;

    /// The core's refusals keep their code and parameters; a failure that is
    /// ours is logged here, once, and the browser only learns its code. An
    /// unavailable database is a 503 with Retry-After: nothing was changed,
    /// and the same request may work in a moment.
    impl From<loyalty::Error> for AppError {
        fn from(e: loyalty::Error) -> AppError {
            if e.is_unavailable() {
                tracing::error!(error = %e, "request failed: the database is unavailable");
                // The page or server function answering now says so too.
                crate::server::set_status(http::StatusCode::SERVICE_UNAVAILABLE);
                if let Some(response) =
                    leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
                {
                    response.insert_header(
                        http::header::RETRY_AFTER,
                        http::HeaderValue::from_static("5"),
                    );
                }
                return AppError::new("service_unavailable");
            }
            let carried = AppError::carrying(&e);
            if carried.status() >= 500 {
                tracing::error!(error = %e, code = carried.code, "request failed");
            }
            carried
        }
    }

    impl AppError {
        /// The core error's code and parameters, nothing logged: for an
        /// edge that words a refusal it also answers otherwise.
        pub fn carrying(e: &loyalty::Error) -> AppError {
            AppError {
                code: e.code().to_owned(),
                params: e
                    .params()
                    .into_iter()
                    .map(|(n, v)| (n.to_owned(), v))
                    .collect(),
            }
        }
    }

    impl From<sqlx::Error> for AppError {
        fn from(e: sqlx::Error) -> AppError {
            loyalty::Error::from(e).into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_survives_its_query_string() {
        let e = AppError::new("code_wrong").with("left", 2);
        assert_eq!(e.query(), "error=code_wrong&left=2");
        let back = ErrorEncoding::decode(Bytes::from(e.query())).unwrap();
        assert_eq!(back, e);
        let odd = AppError::new("invalid_input").with("field", "a&b=c");
        assert_eq!(
            ErrorEncoding::decode(Bytes::from(odd.query())).unwrap(),
            odd
        );
    }

    #[test]
    fn refusals_are_worded_in_each_language_with_their_figures() {
        let early = AppError::new("coupon_not_applicable")
            .with("reason", "time_window")
            .with("from", "11:00");
        assert_eq!(
            sentence(Locale::en, &early).unwrap(),
            "This coupon is not valid before 11:00."
        );
        assert_eq!(
            sentence(Locale::zh_CN, &early).unwrap(),
            "这张券 11:00 前不可用。"
        );
        assert_eq!(
            sentence(Locale::zh_TW, &early).unwrap(),
            "這張券 11:00 前不可用。"
        );
        let short = AppError::new("coupon_not_applicable")
            .with("reason", "threshold")
            .with("need_fen", 20_000)
            .with("bill_fen", 15_050);
        assert_eq!(
            sentence(Locale::en, &short).unwrap(),
            "This coupon needs a bill of ¥200; this one is ¥150.50."
        );
        let wrong_day = AppError::new("coupon_not_applicable")
            .with("reason", "time_window")
            .with("weekdays", "3,5");
        assert_eq!(
            sentence(Locale::zh_CN, &wrong_day).unwrap(),
            "这张券今天不能用：每周三、周五可用。"
        );
    }

    #[test]
    fn every_status_comes_from_one_table() {
        assert_eq!(status("member_not_found"), 404);
        assert_eq!(status("coupon_already_redeemed"), 409);
        assert_eq!(status("coupon_not_applicable"), 422);
        assert_eq!(status("invalid_input"), 400);
        assert_eq!(status("service_unavailable"), 503);
        assert_eq!(status("something_new"), 500);
    }

    #[test]
    fn a_hand_made_code_shows_nothing() {
        assert_eq!(sentence(Locale::en, &AppError::new("<script>")), None);
        let unknown_field = AppError::new("invalid_input").with("field", "nope");
        assert_eq!(sentence(Locale::en, &unknown_field), None);
    }
}
