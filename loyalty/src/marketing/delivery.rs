//! How a one-time code reaches a phone: one trait, implementations chosen by
//! configuration. `LogSender` (development) lives here; the webhook bridge to
//! an SMS provider lives in the server, which owns HTTP.

use crate::brands::Language;
use crate::members::otp::LoginCode;
use crate::members::phone::Phone;

#[derive(Debug, Clone)]
pub struct CodeMessage {
    pub phone: Phone,
    pub code: LoginCode,
    pub brand_slug: String,
    pub brand_name: String,
    /// The SMS signature (短信签名) the provider shows in brackets.
    pub signature: String,
    pub language: Language,
    /// Which SMS template the provider should use.
    pub template: &'static str,
}

pub const LOGIN_TEMPLATE: &str = "login_code";

/// A marketing message the brand's automation sends to a member who agreed
/// to receive them.
#[derive(Debug, Clone)]
pub struct Notice {
    pub phone: Phone,
    pub brand_slug: String,
    pub brand_name: String,
    pub signature: String,
    pub language: Language,
    pub text: String,
}

pub const MARKETING_TEMPLATE: &str = "marketing";

#[derive(Debug, thiserror::Error)]
#[error("code delivery failed: {0}")]
pub struct DeliveryError(pub String);

#[async_trait::async_trait]
pub trait CodeSender: Send + Sync {
    async fn send(&self, message: &CodeMessage) -> Result<(), DeliveryError>;

    /// Sends a marketing message (the same bridge, another template).
    async fn notify(&self, notice: &Notice) -> Result<(), DeliveryError>;
}

/// Writes the code to the server log: for development and demos only.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogSender;

#[async_trait::async_trait]
impl CodeSender for LogSender {
    async fn send(&self, message: &CodeMessage) -> Result<(), DeliveryError> {
        tracing::info!(
            target: "tablecard::codes",
            phone = %message.phone.masked(),
            brand = %message.brand_slug,
            code = %message.code.as_str(),
            "one-time sign-in code (log delivery: development only)"
        );
        Ok(())
    }

    async fn notify(&self, notice: &Notice) -> Result<(), DeliveryError> {
        tracing::info!(
            target: "tablecard::codes",
            phone = %notice.phone.masked(),
            brand = %notice.brand_slug,
            chars = notice.text.chars().count(),
            "marketing message (log delivery: development only)"
        );
        Ok(())
    }
}
