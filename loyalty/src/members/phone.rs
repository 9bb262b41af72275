//! Phone numbers, the member's sign-in identity. Parsing and validation use
//! Google's libphonenumber metadata (the `phonenumber` crate), so "+86" means
//! a real mainland mobile pattern and other country codes get their own.

use serde::{Deserialize, Serialize};

use crate::error::Invalid;
use crate::{Error, Result};

/// A mobile number in E.164 (`+8613800138000`); it can only exist valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Phone(String);

/// Country calling codes have 1–3 digits.
fn country_code(input: &str) -> Option<u16> {
    let digits = input.trim().trim_start_matches('+');
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|c| *c > 0)
}

impl Phone {
    /// A number as a member types it: a country code (`86`, `+852`) and the
    /// national number, with any spaces, dashes or brackets. A number that
    /// already starts with `+` keeps its own country code.
    pub fn parse(country: &str, national: &str) -> Result<Phone> {
        let typed: String = national
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.' | '\u{3000}'))
            .collect();
        let invalid = || Error::invalid("phone", Invalid::Format);
        if typed.is_empty() {
            return Err(Error::invalid("phone", Invalid::Empty));
        }
        if typed.len() > 20 {
            return Err(invalid());
        }
        let full = if let Some(rest) = typed.strip_prefix('+') {
            format!("+{rest}")
        } else {
            let code = country_code(country).ok_or_else(invalid)?;
            format!("+{code}{}", typed.trim_start_matches('0'))
        };
        if !full[1..].bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid("phone", Invalid::Characters));
        }
        Self::parse_e164(&full)
    }

    /// A number in E.164 as stored or sent by a POS (`+8613800138000`).
    pub fn parse_e164(input: &str) -> Result<Phone> {
        use phonenumber::{metadata::DATABASE, Mode, Type};
        let invalid = || Error::invalid("phone", Invalid::Format);
        let input = input.trim();
        if !input.starts_with('+') || input.len() > 16 || input.len() < 8 {
            return Err(invalid());
        }
        let number = phonenumber::parse(None, input).map_err(|_| invalid())?;
        if !number.is_valid() || number.extension().is_some() {
            return Err(invalid());
        }
        // A code is sent by SMS: a landline can never receive it.
        match number.number_type(&DATABASE) {
            Type::Mobile | Type::FixedLineOrMobile | Type::PersonalNumber => {}
            _ => return Err(invalid()),
        }
        Ok(Phone(number.format().mode(Mode::E164).to_string()))
    }

    /// A number as the database holds it. Every one was parsed on its way
    /// in, and the schema checks its shape (`+`, then 7–15 digits), so only
    /// that shape is checked again here: the card reads a member on every
    /// visit, and `phonenumber`'s rules cost more than the rest of the row.
    pub fn stored(value: String) -> Result<Phone> {
        let digits = value.strip_prefix('+').unwrap_or_default();
        let shape = (7..=15).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit());
        if shape {
            Ok(Phone(value))
        } else {
            Err(Error::invalid("phone", Invalid::Format))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What staff screens and logs show: the first three and last four
    /// digits of the national number (`+86 138****8000`).
    pub fn masked(&self) -> String {
        let number = match phonenumber::parse(None, &self.0) {
            Ok(n) => n,
            Err(_) => return "****".into(),
        };
        let code = number.code().value();
        let national = number.national().to_string();
        let n = national.len();
        let masked = if n > 7 {
            format!("{}****{}", &national[..3], &national[n - 4..])
        } else if n > 4 {
            format!("****{}", &national[n - 4..])
        } else {
            "****".into()
        };
        format!("+{code} {masked}")
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mainland_mobile_parses_with_the_default_country_code() {
        let p = Phone::parse("86", "138 0013 8000").unwrap();
        assert_eq!(p.as_str(), "+8613800138000");
        assert_eq!(Phone::parse("+86", "138-0013-8000").unwrap(), p);
    }

    #[test]
    fn other_country_codes_are_accepted() {
        assert_eq!(
            Phone::parse("852", "9123 4567").unwrap().as_str(),
            "+85291234567"
        );
        assert_eq!(
            Phone::parse("44", "07400 123456").unwrap().as_str(),
            "+447400123456"
        );
        // A full international number overrides the selected country code.
        assert_eq!(
            Phone::parse("86", "+85291234567").unwrap().as_str(),
            "+85291234567"
        );
    }

    #[test]
    fn malformed_numbers_are_refused() {
        for bad in [
            "12345",
            "1380013800",
            "138001380001",
            "23800138000",
            "abc",
            "138OO138000",
            "+86",
            "+8613800138000000000",
        ] {
            assert!(Phone::parse("86", bad).is_err(), "{bad} should be refused");
        }
        assert!(matches!(
            Phone::parse("86", "  "),
            Err(Error::Invalid {
                reason: Invalid::Empty,
                ..
            })
        ));
        assert!(Phone::parse("0", "13800138000").is_err());
        assert!(Phone::parse("abcd", "13800138000").is_err());
    }

    #[test]
    fn a_landline_cannot_receive_a_code() {
        assert!(Phone::parse("86", "010 6552 9988").is_err());
    }

    #[test]
    fn masking_keeps_only_what_a_cashier_needs() {
        let p = Phone::parse("86", "13800138000").unwrap();
        assert_eq!(p.masked(), "+86 138****8000");
    }

    #[test]
    fn stored_numbers_round_trip() {
        let p = Phone::parse("86", "13912345678").unwrap();
        assert_eq!(Phone::parse_e164(p.as_str()).unwrap(), p);
        assert!(Phone::parse_e164("13912345678").is_err());
        assert_eq!(Phone::stored(p.as_str().to_owned()).unwrap(), p);
        for bad in [
            "",
            "+",
            "13912345678",
            "+0123456789",
            "+86139x2345678",
            "+1234567890123456",
        ] {
            assert!(Phone::stored(bad.to_owned()).is_err(), "{bad:?}");
        }
    }
}
