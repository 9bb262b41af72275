//! Local fakes of Alibaba Cloud SMS and Tencent Cloud SMS, for the tests and
//! for trying the portal out without an account: each checks a request's
//! signature with the provider's documented algorithm (a wrong secret, a
//! changed body or a stale timestamp is refused, with the provider's own
//! error body) and answers as the provider does.
//!
//! Some numbers and codes answer with the provider's errors, so every
//! outcome can be tried (mainland numbers):
//!
//! | number / code          | Alibaba Cloud                | Tencent Cloud                                   |
//! |------------------------|------------------------------|-------------------------------------------------|
//! | 138 0000 0001          | `isv.MOBILE_NUMBER_ILLEGAL`  | `InvalidParameterValue.IncorrectPhoneNumber`    |
//! | 138 0000 0002          | `isv.BUSINESS_LIMIT_CONTROL` | `LimitExceeded.PhoneNumberDailyLimit`           |
//! | 138 0000 0003          | `isv.AMOUNT_NOT_ENOUGH`      | `FailedOperation.InsufficientBalanceInSmsPackage` |
//! | 138 0000 0004          | `isp.SYSTEM_ERROR`           | `InternalError.Timeout`                         |
//! | template `…UNAPPROVED…`| `isv.SMS_TEMPLATE_ILLEGAL`   | `FailedOperation.TemplateIncorrectOrUnapproved` |
//!
//! `GET /_fake/messages` lists what was accepted, newest last.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use percent_encoding::percent_decode_str;
use serde::Serialize;
use serde_json::json;

use super::{aliyun, sha256_hex, tencent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Aliyun,
    Tencent,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "aliyun" => Some(Kind::Aliyun),
            "tencent" => Some(Kind::Tencent),
            _ => None,
        }
    }
}

/// A message the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Received {
    /// As sent: national digits at Alibaba Cloud, E.164 at Tencent Cloud.
    pub phone: String,
    pub sign_name: String,
    pub template: String,
    /// The variables, by name at Alibaba Cloud (`code`), by position at
    /// Tencent Cloud (`1`, `2` …).
    pub params: Vec<(String, String)>,
}

/// The credentials the fake accepts and what it has seen.
#[derive(Clone)]
pub struct Fake {
    pub kind: Kind,
    /// AccessKeyId / SecretId.
    pub key_id: String,
    /// AccessKeySecret / SecretKey.
    pub secret: String,
    /// Tencent Cloud's SmsSdkAppId.
    pub app_id: String,
    received: Arc<Mutex<Vec<Received>>>,
    nonces: Arc<Mutex<HashSet<String>>>,
}

/// How far a request's time may be from the fake's (Alibaba Cloud allows
/// 15 minutes, Tencent Cloud 5).
const ALIYUN_SKEW_SECS: i64 = 15 * 60;
const TENCENT_SKEW_SECS: i64 = 5 * 60;

impl Fake {
    pub fn new(kind: Kind, key_id: &str, secret: &str, app_id: &str) -> Fake {
        Fake {
            kind,
            key_id: key_id.into(),
            secret: secret.into(),
            app_id: app_id.into(),
            received: Arc::default(),
            nonces: Arc::default(),
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The newest sign-in code sent to a number ending in `digits`.
    pub fn last_code(&self, digits: &str) -> Option<String> {
        self.received()
            .into_iter()
            .rev()
            .find(|r| r.phone.ends_with(digits))
            .and_then(|r| {
                r.params
                    .into_iter()
                    .find(|(k, _)| k == "code" || k == "1")
                    .map(|(_, v)| v)
            })
    }

    pub fn router(self) -> Router {
        let send = match self.kind {
            Kind::Aliyun => post(aliyun_send),
            Kind::Tencent => post(tencent_send),
        };
        Router::new()
            .route("/", send)
            .route("/_fake/messages", get(list))
            .with_state(self)
    }

    /// Serves on `addr` (port 0: any free one); returns the endpoint URL.
    pub async fn spawn(self, addr: &str) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let router = self.router();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(url)
    }

    fn accept(&self, r: Received) {
        tracing::info!(
            target: "tablecard::sms_fake",
            phone = %r.phone, sign = %r.sign_name, template = %r.template,
            params = ?r.params,
            "fake provider accepted a message"
        );
        self.received.lock().unwrap().push(r);
    }
}

async fn list(State(fake): State<Fake>) -> Json<Vec<Received>> {
    Json(fake.received())
}

fn now_secs() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The error for a number or template that is set to fail (see the table
/// above), as (Alibaba Cloud code, Tencent Cloud code).
fn scripted(number: &str, template: &str) -> Option<(&'static str, &'static str)> {
    if template.contains("UNAPPROVED") {
        return Some((
            "isv.SMS_TEMPLATE_ILLEGAL",
            "FailedOperation.TemplateIncorrectOrUnapproved",
        ));
    }
    let national = number.trim_start_matches("+86");
    match national {
        "13800000001" => Some((
            "isv.MOBILE_NUMBER_ILLEGAL",
            "InvalidParameterValue.IncorrectPhoneNumber",
        )),
        "13800000002" => Some((
            "isv.BUSINESS_LIMIT_CONTROL",
            "LimitExceeded.PhoneNumberDailyLimit",
        )),
        "13800000003" => Some((
            "isv.AMOUNT_NOT_ENOUGH",
            "FailedOperation.InsufficientBalanceInSmsPackage",
        )),
        "13800000004" => Some(("isp.SYSTEM_ERROR", "InternalError.Timeout")),
        _ => None,
    }
}

// ---------------------------------------------------------------- Alibaba

fn aliyun_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({
        "Code": code,
        "Message": message,
        "RequestId": uuid::Uuid::new_v4().to_string().to_uppercase(),
        "Recommend": "https://api.aliyun.com/troubleshoot",
    });
    (status, Json(body)).into_response()
}

/// `ALGORITHM Credential=…,SignedHeaders=…,Signature=…` (Alibaba Cloud
/// separates them with `,`, Tencent Cloud with `, `) into its three parts.
fn authorization<'a>(algorithm: &str, value: &'a str) -> Option<(&'a str, &'a str, &'a str)> {
    let rest = value.strip_prefix(algorithm)?.trim_start();
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    Some((credential?, signed?, signature?))
}

/// Decodes a raw query into (name, value) pairs.
fn decode_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let d = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            (d(k), d(v))
        })
        .collect()
}

async fn aliyun_send(
    State(fake): State<Fake>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((key_id, signed, signature)) =
        authorization(aliyun::ALGORITHM, header(&headers, "authorization"))
    else {
        return aliyun_error(
            StatusCode::BAD_REQUEST,
            "MissingAuthorization",
            "Authorization is mandatory for this action.",
        );
    };
    if key_id != fake.key_id {
        return aliyun_error(
            StatusCode::NOT_FOUND,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        );
    }
    let signed: Vec<&str> = signed.split(';').collect();
    let must_sign = headers
        .keys()
        .map(|k| k.as_str())
        .filter(|k| *k == "host" || k.starts_with("x-acs-"));
    let mut must_sign = must_sign;
    if must_sign.any(|k| !signed.contains(&k)) || signed.windows(2).any(|w| w[0] >= w[1]) {
        return aliyun_error(
            StatusCode::BAD_REQUEST,
            "IncompleteSignature",
            "The request signature does not conform to Aliyun standards.",
        );
    }
    if header(&headers, "x-acs-content-sha256") != sha256_hex(&body) {
        return aliyun_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter.ContentSha256",
            "The x-acs-content-sha256 does not match the body.",
        );
    }
    // x-acs-date is ISO 8601 in UTC: 2026-12-03T07:00:00Z.
    let fresh = header(&headers, "x-acs-date")
        .parse::<jiff::Timestamp>()
        .is_ok_and(|t| (t.as_second() - now_secs()).abs() <= ALIYUN_SKEW_SECS);
    if !fresh {
        return aliyun_error(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        );
    }
    let pairs = decode_query(query.as_deref().unwrap_or_default());
    let borrowed: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let canonical = aliyun::canonical_query(&borrowed);
    let signed_values: Vec<(&str, &str)> = signed
        .iter()
        .map(|name| (*name, header(&headers, name)))
        .collect();
    let request = aliyun::Request {
        method: "POST",
        path: "/",
        query: &canonical,
        headers: &signed_values,
        body: &body,
    };
    if !super::same(&request.signature(&fake.secret), signature) {
        return aliyun_error(
            StatusCode::BAD_REQUEST,
            "SignatureDoesNotMatch",
            "Specified signature does not match our calculation.",
        );
    }
    let nonce = header(&headers, "x-acs-signature-nonce").to_owned();
    if nonce.is_empty() || !fake.nonces.lock().unwrap().insert(nonce) {
        return aliyun_error(
            StatusCode::BAD_REQUEST,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        );
    }
    if header(&headers, "x-acs-action") != "SendSms"
        || header(&headers, "x-acs-version") != aliyun::VERSION
    {
        return aliyun_error(
            StatusCode::BAD_REQUEST,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        );
    }
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (phone, sign_name, template) = (
        param("PhoneNumbers"),
        param("SignName"),
        param("TemplateCode"),
    );
    let ok = |code: &str, message: &str| {
        Json(json!({
            "Code": code,
            "Message": message,
            "BizId": if code == "OK" { "900619746936498440^0" } else { "" },
            "RequestId": uuid::Uuid::new_v4().to_string().to_uppercase(),
        }))
        .into_response()
    };
    if phone.is_empty() || sign_name.is_empty() || template.is_empty() {
        return ok("isv.INVALID_PARAMETERS", "参数异常");
    }
    if let Some((code, _)) = scripted(&phone, &template) {
        return ok(code, "fake provider: scripted failure");
    }
    let vars: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&param("TemplateParam")).unwrap_or_default();
    if vars.values().any(|v| v.as_str().is_none_or(str::is_empty)) {
        return ok("isv.TEMPLATE_PARAMS_ILLEGAL", "模板变量里包含非法关键字");
    }
    fake.accept(Received {
        phone,
        sign_name,
        template,
        params: vars
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
            .collect(),
    });
    ok("OK", "OK")
}

// ---------------------------------------------------------------- Tencent

fn tencent_error(code: &str, message: &str) -> Response {
    Json(json!({
        "Response": {
            "Error": { "Code": code, "Message": message },
            "RequestId": uuid::Uuid::new_v4().to_string(),
        }
    }))
    .into_response()
}

/// `TC3-HMAC-SHA256 Credential=ID/date/service/tc3_request, SignedHeaders=…, Signature=…`.
fn tencent_authorization(value: &str) -> Option<(&str, &str, &str, &str)> {
    let (credential, signed, signature) = authorization(tencent::ALGORITHM, value)?;
    let (id, scope) = credential.split_once('/')?;
    Some((id, scope, signed, signature))
}

async fn tencent_send(State(fake): State<Fake>, headers: HeaderMap, body: Bytes) -> Response {
    let Some((id, scope, signed, signature)) =
        tencent_authorization(header(&headers, "authorization"))
    else {
        return tencent_error(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated.",
        );
    };
    if id != fake.key_id {
        return tencent_error(
            "AuthFailure.SecretIdNotFound",
            "The SecretId is not found, please ensure that your SecretId is correct.",
        );
    }
    let Ok(timestamp) = header(&headers, "x-tc-timestamp").parse::<i64>() else {
        return tencent_error(
            "MissingParameter",
            "The request is missing a required parameter `X-TC-Timestamp`.",
        );
    };
    if (timestamp - now_secs()).abs() > TENCENT_SKEW_SECS {
        return tencent_error(
            "AuthFailure.SignatureExpire",
            "Signature expired. Timestamp and server time cannot differ by more than five minutes.",
        );
    }
    let signed: Vec<&str> = signed.split(';').collect();
    if !signed.contains(&"content-type") || !signed.contains(&"host") {
        return tencent_error(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated.",
        );
    }
    let expected_scope = format!(
        "{}/{}/tc3_request",
        tencent::utc_date(timestamp),
        tencent::SERVICE
    );
    if scope != expected_scope {
        return tencent_error(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. The credential scope is wrong.",
        );
    }
    let values: Vec<(String, String)> = signed
        .iter()
        .map(|name| ((*name).to_owned(), header(&headers, name).to_owned()))
        .collect();
    let borrowed: Vec<(&str, &str)> = values
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let request = tencent::Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &borrowed,
        body: &body,
        service: tencent::SERVICE,
        timestamp,
    };
    if !super::same(&request.signature(&fake.secret), signature) {
        return tencent_error(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. Please check your signature is correct.",
        );
    }
    if header(&headers, "x-tc-action") != "SendSms"
        || header(&headers, "x-tc-version") != tencent::VERSION
    {
        return tencent_error("InvalidAction", "The requested action does not exist.");
    }
    let Ok(request) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return tencent_error(
            "FailedOperation.JsonParseFail",
            "Failed to parse the JSON body.",
        );
    };
    if request["SmsSdkAppId"].as_str() != Some(fake.app_id.as_str()) {
        return tencent_error(
            "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
            "The SmsSdkAppId does not belong to this account.",
        );
    }
    let phone = request["PhoneNumberSet"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let sign_name = request["SignName"].as_str().unwrap_or_default().to_owned();
    let template = request["TemplateId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if phone.is_empty() || template.is_empty() {
        return tencent_error(
            "MissingParameter",
            "The request is missing a required parameter.",
        );
    }
    let number = phone.clone();
    let status = |code: &str, message: &str| {
        Json(json!({
            "Response": {
                "SendStatusSet": [{
                    "SerialNo": if code == "Ok" { "5000:1045710669157053657849499619" } else { "" },
                    "PhoneNumber": number,
                    "Fee": i64::from(code == "Ok"),
                    "SessionContext": "",
                    "Code": code,
                    "Message": message,
                    "IsoCode": "CN",
                }],
                "RequestId": uuid::Uuid::new_v4().to_string(),
            }
        }))
        .into_response()
    };
    match scripted(&phone, &template) {
        Some((_, code))
            if code.starts_with("InvalidParameterValue") || code.starts_with("LimitExceeded") =>
        {
            return status(code, "fake provider: scripted failure");
        }
        Some((_, code)) => return tencent_error(code, "fake provider: scripted failure"),
        None => {}
    }
    let params: Vec<(String, String)> = request["TemplateParamSet"]
        .as_array()
        .map(|a| {
            a.iter()
                .enumerate()
                .map(|(i, v)| {
                    (
                        (i + 1).to_string(),
                        v.as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    fake.accept(Received {
        phone,
        sign_name,
        template,
        params,
    });
    status("Ok", "send success")
}
