//! What a POS scans or types for a member: a rotating code, a member number
//! or a phone. Never a panic; the shapes the checks accept are the shapes
//! they promise.
#![no_main]
use libfuzzer_sys::fuzz_target;
use loyalty::members::member_code::looks_like_code;
use loyalty::members::MemberNo;

fuzz_target!(|input: &str| {
    if looks_like_code(input) {
        let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(digits.len() == 14 && digits.bytes().all(|b| b.is_ascii_digit()));
    }
    if let Ok(no) = MemberNo::parse(input) {
        assert!(no.as_str().bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(MemberNo::parse(no.as_str()).unwrap(), no);
    }
});
