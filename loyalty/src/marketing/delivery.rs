//! How a text message reaches a phone: one trait, implementations chosen by
//! configuration. `LogSender` (development) lives here; the providers
//! (Alibaba Cloud, Tencent Cloud) and the webhook bridge live in the server,
//! which owns HTTP.
//!
//! A message is what the provider needs (the approved template's code and
//! its variables, in order) and what a person reads (the whole text), so the
//! same message can go to a provider that only sends templates and to a log
//! or a bridge that wants the text.

use serde::{Deserialize, Serialize};

use crate::brands::Language;
use crate::marketing::templates::Var;
use crate::members::phone::Phone;

/// What a message is for: it decides its template, its budget and its rules
/// (marketing goes only with consent, by day, with an opt-out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Purpose {
    SignIn,
    Marketing,
}

impl Purpose {
    pub const ALL: [Purpose; 2] = [Purpose::SignIn, Purpose::Marketing];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::SignIn => "sign_in",
            Purpose::Marketing => "marketing",
        }
    }

    pub fn parse(s: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    pub phone: Phone,
    pub brand_slug: String,
    pub brand_name: String,
    /// The SMS signature (短信签名) the provider shows in brackets.
    pub signature: String,
    pub language: Language,
    pub purpose: Purpose,
    /// The provider's code of the approved template (`SMS_123456789` at
    /// Alibaba Cloud, `1234567` at Tencent Cloud); None when the owner has
    /// entered none for this message and language.
    pub template_code: Option<String>,
    /// The template's variables with their values, in the order they first
    /// appear in it (Tencent Cloud numbers them in that order).
    pub params: Vec<(Var, String)>,
    /// The whole text as the member reads it, without the signature.
    pub text: String,
}

impl Sms {
    /// The six digits of a sign-in code, if this message carries one.
    pub fn code(&self) -> Option<&str> {
        self.params
            .iter()
            .find(|(v, _)| *v == Var::Code)
            .map(|(_, value)| value.as_str())
    }
}

/// Why a message did not go out, in three kinds that decide what happens
/// next; `reason` is the provider's own error code (or `timeout`,
/// `unreachable`, `template_missing` …) for the owner's console.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// Worth trying again shortly: the network, the provider busy or
    /// throttling us, a timeout.
    #[error("not sent, worth another try ({reason})")]
    Transient { reason: String },
    /// This number cannot receive messages: not a valid mobile number, on
    /// the provider's block list, in a region the account does not serve.
    #[error("this number cannot receive messages ({reason})")]
    Unreachable { reason: String },
    /// This number has had as many messages as the provider allows it for
    /// now (per minute, hour or day): later, not at once.
    #[error("this number has had too many messages for now ({reason})")]
    Limited { reason: String },
    /// The brand's set-up is refused: a template or signature not approved,
    /// the account's balance spent, wrong credentials. The owner must act.
    #[error("refused by the provider ({reason})")]
    Refused { reason: String },
}

impl Failure {
    /// The stable outcome recorded for the owner (`sms_sends.outcome`).
    pub fn outcome(&self) -> &'static str {
        match self {
            Failure::Transient { .. } => "transient",
            Failure::Unreachable { .. } => "unreachable",
            Failure::Limited { .. } => "limited",
            Failure::Refused { .. } => "refused",
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Failure::Transient { reason }
            | Failure::Unreachable { reason }
            | Failure::Limited { reason }
            | Failure::Refused { reason } => reason,
        }
    }

    pub fn transient(reason: impl Into<String>) -> Failure {
        Failure::Transient {
            reason: reason.into(),
        }
    }

    pub fn refused(reason: impl Into<String>) -> Failure {
        Failure::Refused {
            reason: reason.into(),
        }
    }

    pub fn limited(reason: impl Into<String>) -> Failure {
        Failure::Limited {
            reason: reason.into(),
        }
    }

    pub fn unreachable(reason: impl Into<String>) -> Failure {
        Failure::Unreachable {
            reason: reason.into(),
        }
    }
}

#[async_trait::async_trait]
pub trait Sender: Send + Sync {
    /// Sends one message. An implementation retries what is worth retrying
    /// (briefly: a member is waiting for a sign-in code) before it fails.
    async fn send(&self, sms: &Sms) -> Result<(), Failure>;

    /// Whether it sends only provider templates, so a message without a
    /// template code cannot go (the log and the webhook send text).
    fn needs_template(&self) -> bool {
        false
    }
}

/// Writes messages to the server log: for development and demos only.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogSender;

#[async_trait::async_trait]
impl Sender for LogSender {
    async fn send(&self, sms: &Sms) -> Result<(), Failure> {
        match sms.code() {
            Some(code) => tracing::info!(
                target: "tablecard::codes",
                phone = %sms.phone.masked(),
                brand = %sms.brand_slug,
                code = %code,
                "one-time sign-in code (log delivery: development only)"
            ),
            None => tracing::info!(
                target: "tablecard::codes",
                phone = %sms.phone.masked(),
                brand = %sms.brand_slug,
                text = %sms.text,
                "{} message (log delivery: development only)",
                sms.purpose.as_str()
            ),
        }
        Ok(())
    }
}
