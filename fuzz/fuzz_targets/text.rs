//! Free text that staff read: feedback comments keep no tag, and a CSV cell
//! never starts a formula, whatever was typed.
#![no_main]
use libfuzzer_sys::fuzz_target;
use loyalty::feedback::clean_text;
use loyalty::marketing::insight::csv_cell;

fuzz_target!(|input: &str| {
    if let Ok(clean) = clean_text("comment", input, 1000) {
        assert!(clean.chars().count() <= 1000);
        let mut chars = clean.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '<' {
                let next = chars.peek().copied();
                assert!(
                    !next.is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?')),
                    "a tag survived in {clean:?}"
                );
            }
        }
    }
    let cell = csv_cell(input);
    let unquoted = cell.strip_prefix('"').unwrap_or(&cell);
    let lead = unquoted.trim_start_matches([' ', '\n', '\u{3000}']);
    assert!(
        !lead.starts_with(['=', '+', '-', '@', '\t', '\r']) || unquoted.starts_with('\''),
        "{cell:?} could run as a formula"
    );
});
