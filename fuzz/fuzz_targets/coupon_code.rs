//! Coupon codes as a cashier types or a scanner reads them: never a panic,
//! and a parsed code is canonical (it parses to itself, also grouped).
#![no_main]
use libfuzzer_sys::fuzz_target;
use loyalty::coupons::CouponCode;

fuzz_target!(|input: &str| {
    if let Some(code) = CouponCode::parse(input) {
        assert_eq!(CouponCode::parse(code.as_str()), Some(code.clone()));
        assert_eq!(CouponCode::parse(&code.grouped()), Some(code.clone()));
        assert!(code.as_str().bytes().all(|b| b.is_ascii_alphanumeric()));
    }
});
