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

    /// `¥12.34`, for people: see [`yuan`].
    pub fn yuan(self) -> String {
        yuan(self.0)
    }
}

/// Money for people, the one way every page, message and document of the
/// portal writes it: `¥3,200`, `¥12.50`, `-¥8` (thousands grouped, cents
/// only when there are any).
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}¥{}", yuan_figure(fen.abs()))
}

/// The figure of [`yuan`] without the currency sign, where the words
/// around it already say 元: `满3,200减50`, `12.50元代金券`.
pub fn yuan_figure(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    let digits = (fen / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match fen % 100 {
        0 => format!("{sign}{grouped}"),
        cents => format!("{sign}{grouped}.{cents:02}"),
    }
}

/// Money for files a spreadsheet reads (CSV exports): `3200.00`, `-8.00`.
pub fn yuan_decimal(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    format!("{sign}{}.{:02}", fen / 100, fen % 100)
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
    fn money_reads_one_way_everywhere() {
        assert_eq!(yuan(320_000), "¥3,200");
        assert_eq!(yuan(1_250), "¥12.50");
        assert_eq!(yuan(-800), "-¥8");
        assert_eq!(yuan(0), "¥0");
        assert_eq!(yuan(123_456_789), "¥1,234,567.89");
        assert_eq!(yuan_figure(20_000), "200");
        assert_eq!(yuan_decimal(320_000), "3200.00");
        assert_eq!(yuan_decimal(-5), "-0.05");
        assert_eq!(Fen::new(1_234).unwrap().yuan(), "¥12.34");
    }

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
