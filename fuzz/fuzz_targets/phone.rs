//! Phone numbers as the join form (country + national) and the POS (E.164)
//! send them: never a panic; whatever parses is a mobile number in E.164
//! that parses again to itself, and its masked form hides the middle.
#![no_main]
use libfuzzer_sys::fuzz_target;
use loyalty::members::phone::Phone;

fuzz_target!(|input: &str| {
    let (country, national) = input.split_once('|').unwrap_or(("86", input));
    for parsed in [Phone::parse(country, national), Phone::parse_e164(input)] {
        if let Ok(phone) = parsed {
            let e164 = phone.as_str();
            assert!(e164.starts_with('+') && e164[1..].bytes().all(|b| b.is_ascii_digit()));
            assert!((8..=16).contains(&e164.len()), "{e164}");
            assert_eq!(Phone::parse_e164(e164).unwrap(), phone);
            let masked = phone.masked();
            assert!(masked.contains("****") && !masked.contains(&e164[e164.len() - 8..]));
        }
    }
});
