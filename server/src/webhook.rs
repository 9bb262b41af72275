//! The bridge to any SMS provider: one-time codes are POSTed as JSON to a URL
//! the operator runs, signed so the receiver can tell they came from us.
//!
//! `X-Tablecard-Signature: sha256=<hex>` is the HMAC-SHA256, keyed with the
//! shared secret, of `<X-Tablecard-Timestamp>.<body>`; a receiver should also
//! refuse timestamps more than a few minutes old.

use std::time::Duration;

use hmac::{Hmac, Mac};
use loyalty::marketing::delivery::{
    CodeMessage, CodeSender, DeliveryError, Notice, MARKETING_TEMPLATE,
};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "x-tablecard-signature";
pub const TIMESTAMP_HEADER: &str = "x-tablecard-timestamp";

pub struct WebhookSender {
    client: reqwest::Client,
    url: String,
    secret: String,
    attempts: u32,
    backoff: Duration,
}

impl WebhookSender {
    pub fn new(url: String, secret: String) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(3))
            .user_agent(concat!("tablecard/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("HTTP client");
        WebhookSender {
            client,
            url,
            secret,
            attempts: 3,
            backoff: Duration::from_millis(300),
        }
    }

    /// A shorter wait between tries, for tests.
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }
}

pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

#[async_trait::async_trait]
impl CodeSender for WebhookSender {
    async fn send(&self, message: &CodeMessage) -> Result<(), DeliveryError> {
        self.post(&serde_json::json!({
            "phone": message.phone.as_str(),
            "code": message.code.as_str(),
            "brand": message.brand_slug,
            "brand_name": message.brand_name,
            "signature": message.signature,
            "template": message.template,
            "language": message.language.tag(),
        }))
        .await
    }

    async fn notify(&self, notice: &Notice) -> Result<(), DeliveryError> {
        self.post(&serde_json::json!({
            "phone": notice.phone.as_str(),
            "text": notice.text,
            "brand": notice.brand_slug,
            "brand_name": notice.brand_name,
            "signature": notice.signature,
            "template": MARKETING_TEMPLATE,
            "language": notice.language.tag(),
        }))
        .await
    }
}

impl WebhookSender {
    /// Posts one signed JSON body, retrying a provider hiccup with growing
    /// waits; a refusal (4xx other than 429) is final.
    async fn post(&self, json: &serde_json::Value) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(json).map_err(|e| DeliveryError(e.to_string()))?;
        let mut last_error = String::new();
        for attempt in 0..self.attempts {
            if attempt > 0 {
                tokio::time::sleep(self.backoff * 2u32.pow(attempt - 1)).await;
            }
            let timestamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
                .to_string();
            let sent = self
                .client
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(TIMESTAMP_HEADER, &timestamp)
                .header(SIGNATURE_HEADER, signature(&self.secret, &timestamp, &body))
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => return Ok(()),
                // The provider refused this message: sending it again will not help.
                Ok(r)
                    if r.status().is_client_error()
                        && r.status() != reqwest::StatusCode::TOO_MANY_REQUESTS =>
                {
                    return Err(DeliveryError(format!(
                        "webhook refused the message: {}",
                        r.status()
                    )));
                }
                Ok(r) => last_error = format!("webhook answered {}", r.status()),
                Err(e) => last_error = format!("webhook unreachable: {e}"),
            }
            tracing::warn!(attempt = attempt + 1, error = %last_error, "SMS webhook failed");
        }
        Err(DeliveryError(last_error))
    }
}
