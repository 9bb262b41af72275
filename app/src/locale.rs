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

/// Maps a BCP 47 tag to a language we speak: Simplified Chinese for zh,
/// zh-Hans, zh-CN and zh-SG; Traditional for zh-Hant, zh-TW, zh-HK, zh-MO.
pub fn from_tag(tag: &str) -> Option<Locale> {
    let tag = tag.trim().to_ascii_lowercase().replace('_', "-");
    let mut parts = tag.split('-');
    match parts.next()? {
        "en" => Some(Locale::en),
        "zh" => {
            let rest: Vec<&str> = parts.collect();
            let traditional = rest
                .iter()
                .any(|p| matches!(*p, "hant" | "tw" | "hk" | "mo"));
            Some(if traditional {
                Locale::zh_TW
            } else {
                Locale::zh_CN
            })
        }
        _ => None,
    }
}

/// The best language in an `Accept-Language` header, honouring q-values
/// (`q=0` means "not this one").
pub fn from_accept_language(header: &str) -> Option<Locale> {
    let mut best: Option<(f32, usize, Locale)> = None;
    for (position, entry) in header.split(',').enumerate() {
        let mut fields = entry.split(';');
        let tag = fields.next().unwrap_or_default().trim();
        let q = fields
            .filter_map(|f| f.trim().strip_prefix("q="))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if q <= 0.0 {
            continue;
        }
        let Some(locale) = from_tag(tag) else {
            continue;
        };
        let better = match best {
            None => true,
            Some((best_q, best_pos, _)) => q > best_q || (q == best_q && position < best_pos),
        };
        if better {
            best = Some((q, position, locale));
        }
    }
    best.map(|(_, _, locale)| locale)
}

/// Cookie first (an explicit choice), then the browser's preference.
pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>) -> Option<Locale> {
    cookie
        .and_then(|c| c.parse::<Locale>().ok())
        .or_else(|| accept_language.and_then(from_accept_language))
}

#[cfg(test)]
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
