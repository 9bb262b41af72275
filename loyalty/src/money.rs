//! Money and the identifiers a POS sends, each only constructible valid.

use serde::{Deserialize, Serialize};

use crate::error::Invalid;
use crate::{Error, Result};

/// An amount in fen (分), 1 元 = 100 fen. Never negative; at most ¥1 billion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Fen(i64);

impl Fen {
    pub const MAX: i64 = 100_000_000_000;

    pub fn new(fen: i64) -> Result<Fen> {
        if (0..=Self::MAX).contains(&fen) {
            Ok(Fen(fen))
        } else {
            Err(Error::invalid("amount_fen", Invalid::Format))
        }
    }

    /// A positive amount, as a bill or a refund must be.
    pub fn positive(fen: i64) -> Result<Fen> {
        if fen == 0 {
            return Err(Error::invalid("amount_fen", Invalid::Empty));
        }
        Fen::new(fen)
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// `¥12.34`, for people.
    pub fn yuan(self) -> String {
        format!("¥{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// An identifier chosen by the POS (order, refund): 1–100 printable ASCII
/// characters, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExternalId(String);

impl ExternalId {
    pub fn parse(field: &'static str, input: &str) -> Result<Self> {
        let s = input.trim();
        if s.is_empty() {
            return Err(Error::invalid(field, Invalid::Empty));
        }
        if s.len() > 100 {
            return Err(Error::invalid(field, Invalid::TooLong { max: 100 }));
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid(field, Invalid::Characters));
        }
        Ok(ExternalId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_whole_fen_within_bounds() {
        assert_eq!(Fen::new(0).unwrap().get(), 0);
        assert!(Fen::positive(0).is_err());
        assert!(Fen::new(-1).is_err());
        assert!(Fen::new(Fen::MAX + 1).is_err());
        assert_eq!(Fen::new(12_345).unwrap().yuan(), "¥123.45");
    }

    #[test]
    fn external_ids_are_printable_ascii() {
        assert_eq!(
            ExternalId::parse("order_id", " A-1/23 ").unwrap().as_str(),
            "A-1/23"
        );
        assert!(ExternalId::parse("order_id", "").is_err());
        assert!(ExternalId::parse("order_id", "a b").is_err());
        assert!(ExternalId::parse("order_id", "订单").is_err());
        assert!(ExternalId::parse("order_id", &"x".repeat(101)).is_err());
    }
}
