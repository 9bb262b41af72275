//! A coupon's own code: what the cashier scans or types. Ten characters of
//! an alphabet without look-alikes (no 0/O, 1/I/L, U), about 49 bits of
//! randomness, shown in two groups of five to read aloud: `7KQ3M-XR9TD`.

use rand::Rng;
use serde::{Deserialize, Serialize};

const ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
pub const LEN: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CouponCode(String);

impl CouponCode {
    /// A fresh code from the operating system's CSPRNG.
    pub fn generate() -> CouponCode {
        let mut rng = rand::rngs::OsRng;
        let code = (0..LEN)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
            .collect();
        CouponCode(code)
    }

    /// What a person typed or a scanner read: case, spaces and dashes do not
    /// matter. None when it cannot be a coupon code.
    pub fn parse(input: &str) -> Option<CouponCode> {
        if input.len() > 64 {
            return None;
        }
        let code: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        (code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b)))
            .then_some(CouponCode(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `7KQ3M-XR9TD`, for reading aloud.
    pub fn grouped(&self) -> String {
        format!("{}-{}", &self.0[..5], &self.0[5..])
    }

    /// From a row the schema already checked.
    pub(crate) fn from_db(s: String) -> CouponCode {
        CouponCode(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_are_long_random_and_unambiguous() {
        let bits = (LEN as f64) * (ALPHABET.len() as f64).log2();
        assert!(bits >= 40.0, "{bits} bits");
        let a = CouponCode::generate();
        let b = CouponCode::generate();
        assert_ne!(a, b);
        for c in ['0', 'O', '1', 'I', 'L', 'U'] {
            assert!(!a.as_str().contains(c));
        }
        assert_eq!(a.grouped().len(), 11);
    }

    #[test]
    fn typing_is_forgiving_about_case_and_separators() {
        let c = CouponCode::parse("7kq3m-xr9td").unwrap();
        assert_eq!(c.as_str(), "7KQ3MXR9TD");
        assert_eq!(CouponCode::parse(" 7KQ3M XR9TD ").unwrap(), c);
        assert!(CouponCode::parse("7KQ3M-XR9T").is_none(), "too short");
        assert!(
            CouponCode::parse("7KQ3M-XR9T0").is_none(),
            "0 is not in the alphabet"
        );
        assert!(CouponCode::parse("优惠券优惠券优惠券优惠").is_none());
    }

    proptest! {
        #[test]
        fn a_generated_code_parses_back_from_its_grouped_form(_ in 0..100u8) {
            let c = CouponCode::generate();
            prop_assert_eq!(CouponCode::parse(&c.grouped()), Some(c));
        }

        #[test]
        fn parsing_never_panics(s in ".{0,80}") {
            let _ = CouponCode::parse(&s);
        }
    }
}
