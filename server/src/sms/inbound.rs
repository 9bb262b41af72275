//! Replies from members' phones, pushed by the providers (上行短信): a reply
//! of R, TD or 退订 withdraws the member's marketing consent.
//!
//! Neither provider signs these pushes, so the URL carries a secret token
//! the operator sets (`TABLECARD_SMS_INBOUND_TOKEN`) and enters in the
//! provider's console: `https://HOST/sms/inbound/aliyun/TOKEN` (Alibaba
//! Cloud: 通用设置 → 上行消息接收 → HTTP 批量推送) or
//! `https://HOST/sms/inbound/tencent/TOKEN` (Tencent Cloud: 回复回调).
//! Without a token configured the addresses answer 404.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use loyalty::members::phone::Phone;
use serde::Deserialize;
use serde_json::json;

use crate::http::AppState;

/// One reply in Alibaba Cloud's batch push.
#[derive(Debug, Deserialize)]
pub struct AliyunReply {
    pub phone_number: String,
    #[serde(default)]
    pub content: String,
    /// In the older documentation; the current push may leave it out.
    #[serde(default)]
    pub sign_name: Option<String>,
}

/// Tencent Cloud's reply callback.
#[derive(Debug, Deserialize)]
pub struct TencentReply {
    pub mobile: String,
    #[serde(default = "mainland")]
    pub nationcode: String,
    #[serde(default)]
    pub sign: Option<String>,
    #[serde(default)]
    pub text: String,
}

fn mainland() -> String {
    "86".into()
}

fn token_matches(state: &AppState, token: &str) -> bool {
    state
        .inbound_token
        .as_deref()
        .is_some_and(|t| super::same(t, token))
}

async fn opt_out(
    state: &AppState,
    signature: Option<&str>,
    phone: Option<Phone>,
    text: &str,
) -> Result<(), loyalty::Error> {
    let Some(phone) = phone else {
        return Ok(());
    };
    let db = &state.portal.db;
    let withdrew =
        loyalty::marketing::messages::reply(db, &loyalty::SystemClock, signature, &phone, text)
            .await?;
    if withdrew > 0 {
        tracing::info!(phone = %phone.masked(), members = withdrew, "marketing withdrawn by an SMS reply");
    }
    Ok(())
}

/// `POST /sms/inbound/aliyun/{token}`: a JSON array of replies; answered
/// `{"code":0,"msg":"接收成功"}`, or a 5xx so the provider tries again.
pub async fn aliyun(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    if !token_matches(&state, &token) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Ok(replies) = serde_json::from_slice::<Vec<AliyunReply>>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"code": 1, "msg": "格式错误"})),
        )
            .into_response();
    };
    for r in replies {
        let phone = Phone::parse("86", r.phone_number.trim_start_matches("+86"))
            .or_else(|_| Phone::parse_e164(&format!("+{}", r.phone_number.trim_start_matches('+'))))
            .ok();
        if let Err(e) = opt_out(&state, r.sign_name.as_deref(), phone, &r.content).await {
            tracing::error!(error = %e, "SMS reply not recorded; the provider will push it again");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"code": 1, "msg": "稍后重试"})),
            )
                .into_response();
        }
    }
    Json(json!({"code": 0, "msg": "接收成功"})).into_response()
}

/// `POST /sms/inbound/tencent/{token}`: one reply; answered
/// `{"result":0,"errmsg":"OK"}`.
pub async fn tencent(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    if !token_matches(&state, &token) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Ok(r) = serde_json::from_slice::<TencentReply>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"result": 1, "errmsg": "bad JSON"})),
        )
            .into_response();
    };
    let phone = Phone::parse(&r.nationcode, &r.mobile).ok();
    if let Err(e) = opt_out(&state, r.sign.as_deref(), phone, &r.text).await {
        tracing::error!(error = %e, "SMS reply not recorded; the provider will push it again");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"result": 1, "errmsg": "try again"})),
        )
            .into_response();
    }
    Json(json!({"result": 0, "errmsg": "OK"})).into_response()
}
