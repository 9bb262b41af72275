//! Generates the `i18n` module from `locales/*.json`: translation keys are
//! checked at compile time, and a key missing in one language is reported.

use leptos_i18n_build::{Config, ParseOptions, TranslationsInfos};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo::rerun-if-changed=build.rs");
    let out =
        std::path::PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR unset")?).join("i18n");
    let config = Config::new("zh-CN")?
        .add_locale("zh-TW")?
        .add_locale("en")?
        .parse_options(ParseOptions::default().interpolate_display(true));
    let translations = TranslationsInfos::parse(config)?;
    translations.emit_diagnostics();
    translations.rerun_if_locales_changed();
    translations.generate_i18n_module(out)?;
    Ok(())
}
