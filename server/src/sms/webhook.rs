//! The bridge to any other SMS provider: each message is POSTed as JSON to a
//! URL the operator runs, signed so the receiver can tell it came from us.
//!
//! `X-Tablecard-Signature: sha256=<hex>` is the HMAC-SHA256, keyed with the
//! shared secret, of `<X-Tablecard-Timestamp>.<body>`; a receiver should also
//! refuse timestamps more than a few minutes old. The body carries the
//! whole text and, for a provider that sends templates, the template code
//! and its variables in order.

use loyalty::marketing::delivery::{Failure, Purpose, Sender, Sms};

use super::{hex, Retry};

pub const SIGNATURE_HEADER: &str = "x-tablecard-signature";
pub const TIMESTAMP_HEADER: &str = "x-tablecard-timestamp";

pub struct WebhookSender {
    client: reqwest::Client,
    url: String,
    secret: String,
    retry: Retry,
}

impl WebhookSender {
    pub fn new(url: String, secret: String) -> Self {
        WebhookSender {
            client: super::client(),
            url,
            secret,
            retry: Retry::default(),
        }
    }

    /// A shorter wait between tries, for tests.
    pub fn with_backoff(mut self, backoff: std::time::Duration) -> Self {
        self.retry.backoff = backoff;
        self
    }
}

pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut message = Vec::with_capacity(timestamp.len() + 1 + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    format!(
        "sha256={}",
        hex(&super::hmac_sha256(secret.as_bytes(), &message))
    )
}

/// The JSON a bridge receives.
pub fn body(sms: &Sms) -> serde_json::Value {
    let params: serde_json::Map<String, serde_json::Value> = sms
        .params
        .iter()
        .map(|(v, value)| (v.as_str().to_owned(), value.clone().into()))
        .collect();
    serde_json::json!({
        "phone": sms.phone.as_str(),
        "purpose": sms.purpose.as_str(),
        // The names bridges written for earlier versions look for.
        "template": match sms.purpose {
            Purpose::SignIn => "login_code",
            Purpose::Marketing => "marketing",
        },
        "code": sms.code(),
        "text": sms.text,
        "template_code": sms.template_code,
        "params": params,
        "param_order": sms.params.iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>(),
        "brand": sms.brand_slug,
        "brand_name": sms.brand_name,
        "signature": sms.signature,
        "language": sms.language.tag(),
    })
}

#[async_trait::async_trait]
impl Sender for WebhookSender {
    async fn send(&self, sms: &Sms) -> Result<(), Failure> {
        let body = serde_json::to_vec(&body(sms)).map_err(|_| Failure::refused("encoding"))?;
        self.retry.run("webhook", || self.post(&body)).await
    }
}

impl WebhookSender {
    /// Posts one signed body; a refusal (4xx other than 429) is final.
    async fn post(&self, body: &[u8]) -> Result<(), Failure> {
        let timestamp = jiff::Timestamp::now().as_second().to_string();
        let sent = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, &timestamp)
            .header(SIGNATURE_HEADER, signature(&self.secret, &timestamp, body))
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| super::unreachable_provider(&e))?;
        let status = sent.status();
        if status.is_success() {
            Ok(())
        } else if status.is_client_error() && status != reqwest::StatusCode::TOO_MANY_REQUESTS {
            Err(Failure::refused(format!("webhook_{}", status.as_u16())))
        } else {
            Err(Failure::transient(format!("webhook_{}", status.as_u16())))
        }
    }
}
