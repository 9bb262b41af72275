//! Which language a page speaks: the language switcher's cookie first, then
//! the browser's `Accept-Language`, then the brand's default.

use crate::i18n::Locale;

/// Set by the language switcher (`POST /lang`).
pub const COOKIE: &str = "tc_lang";

/// The language this request asked for, if any; pages fall back to the
/// brand's default language (or zh-CN outside a brand) when it is None.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLocale(pub Option<Locale>);

impl RequestLocale {
    pub fn or(self, fallback: Locale) -> Locale {
        self.0.unwrap_or(fallback)
    }
}

#[cfg(feature = "ssr")]
/// Maps a BCP 47 tag to a language we speak (the core decides which).
pub fn from_tag(tag: &str) -> Option<Locale> {
    loyalty::brands::Language::from_bcp47(tag).map(to_locale)
}

#[cfg(feature = "ssr")]
/// The best language in an `Accept-Language` header, honouring q-values
/// (`q=0` means "not this one").
pub fn from_accept_language(header: &str) -> Option<Locale> {
    loyalty::brands::Language::from_accept_language(header).map(to_locale)
}

#[cfg(feature = "ssr")]
pub fn to_locale(language: loyalty::brands::Language) -> Locale {
    match language {
        loyalty::brands::Language::ZhCn => Locale::zh_CN,
        loyalty::brands::Language::ZhTw => Locale::zh_TW,
        loyalty::brands::Language::En => Locale::en,
    }
}

#[cfg(feature = "ssr")]
/// Cookie first (an explicit choice), then the browser's preference.
pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>) -> Option<Locale> {
    cookie
        .and_then(|c| c.parse::<Locale>().ok())
        .or_else(|| accept_language.and_then(from_accept_language))
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn chinese_variants_map_to_simplified_or_traditional() {
        assert_eq!(from_tag("zh"), Some(Locale::zh_CN));
        assert_eq!(from_tag("zh-CN"), Some(Locale::zh_CN));
        assert_eq!(from_tag("zh-Hans-CN"), Some(Locale::zh_CN));
        assert_eq!(from_tag("zh-SG"), Some(Locale::zh_CN));
        assert_eq!(from_tag("zh-TW"), Some(Locale::zh_TW));
        assert_eq!(from_tag("zh-HK"), Some(Locale::zh_TW));
        assert_eq!(from_tag("zh_Hant"), Some(Locale::zh_TW));
        assert_eq!(from_tag("en-GB"), Some(Locale::en));
        assert_eq!(from_tag("fr-FR"), None);
    }

    #[test]
    fn accept_language_honours_quality_and_order() {
        assert_eq!(from_accept_language("zh,en;q=0.9"), Some(Locale::zh_CN));
        assert_eq!(
            from_accept_language("fr-FR, en;q=0.5, zh-TW;q=0.8"),
            Some(Locale::zh_TW)
        );
        assert_eq!(from_accept_language("en-US,en;q=0.9"), Some(Locale::en));
        assert_eq!(
            from_accept_language("zh-CN;q=0, en;q=0.1"),
            Some(Locale::en)
        );
        assert_eq!(from_accept_language("de, fr"), None);
        assert_eq!(from_accept_language(""), None);
    }

    #[test]
    fn an_explicit_choice_beats_the_browser() {
        assert_eq!(negotiate(Some("en"), Some("zh-CN")), Some(Locale::en));
        assert_eq!(
            negotiate(Some("klingon"), Some("zh-TW")),
            Some(Locale::zh_TW)
        );
        assert_eq!(negotiate(None, None), None);
    }
}
