//! Table tokens from a scanned or typed QR link: never a panic, and what
//! parses is canonical.
#![no_main]
use libfuzzer_sys::fuzz_target;
use loyalty::brands::tables::TableToken;

fuzz_target!(|input: &str| {
    if let Ok(token) = TableToken::parse(input) {
        assert_eq!(TableToken::parse(token.as_str()).unwrap(), token);
        assert!(token.as_str().bytes().all(|b| b.is_ascii_alphanumeric()));
    }
});
