//! The POS API's own fields: Idempotency-Key, order and refund ids, amounts
//! in fen, one-time codes, session and form tokens. Never a panic, and what
//! is accepted stays within what the schema and the logs can hold.
#![no_main]
use libfuzzer_sys::fuzz_target;
use loyalty::infra::forms::FormKey;
use loyalty::infra::idempotency::check_key;
use loyalty::money::{ExternalId, Fen};
use loyalty::members::otp::LoginCode;
use loyalty::members::sessions::SessionToken;

fuzz_target!(|input: &str| {
    if let Ok(key) = check_key(input) {
        assert!(!key.is_empty() && key.len() <= 255);
        assert!(key.bytes().all(|b| (0x20..0x7f).contains(&b)));
    }
    if let Ok(id) = ExternalId::parse("order_id", input) {
        assert!((1..=100).contains(&id.as_str().len()));
        assert!(id.as_str().bytes().all(|b| b.is_ascii_graphic()));
    }
    if let Ok(n) = input.trim().parse::<i64>() {
        if let Ok(fen) = Fen::new(n) {
            assert!(fen.get() >= 0);
        }
    }
    if let Ok(code) = LoginCode::parse(input) {
        assert!(code.as_str().len() == 6 && code.as_str().bytes().all(|b| b.is_ascii_digit()));
    }
    let _ = SessionToken::from_cookie(input);
    let _ = FormKey::parse(input);
});
