//! `Accept-Language` headers: never a panic, and the language chosen is one
//! the header named with a preference above zero.
#![no_main]
use libfuzzer_sys::fuzz_target;
use loyalty::brands::Language;

fuzz_target!(|input: &str| {
    if let Some(language) = Language::from_accept_language(input) {
        assert!(input
            .split(',')
            .filter_map(|entry| Language::from_bcp47(entry.split(';').next().unwrap_or_default()))
            .any(|l| l == language));
    }
});
