//! Brands (品牌): the tenant. Everything else hangs below one.

pub mod api_keys;
pub mod key_cache;
pub mod settings;
pub mod setup;
pub mod stores;
pub mod tables;

use serde::{Deserialize, Serialize};

use crate::error::{violation, Invalid, Violation};
use sqlx::AnyConnection;

use crate::{Clock, Db, Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BrandId(pub i64);

/// The brand's name in URLs (`/r/{slug}`): 2–40 of `a-z 0-9 -`, no dash at
/// either end. Input is trimmed and lowercased first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BrandSlug(String);

impl BrandSlug {
    pub fn parse(input: &str) -> Result<Self> {
        let s = input.trim().to_ascii_lowercase();
        let field = "slug";
        if s.is_empty() {
            return Err(Error::invalid(field, Invalid::Empty));
        }
        if s.len() < 2 {
            return Err(Error::invalid(field, Invalid::TooShort { min: 2 }));
        }
        if s.len() > 40 {
            return Err(Error::invalid(field, Invalid::TooLong { max: 40 }));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(Error::invalid(field, Invalid::Characters));
        }
        if s.starts_with('-') || s.ends_with('-') || s.contains("--") {
            return Err(Error::invalid(field, Invalid::Format));
        }
        Ok(BrandSlug(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BrandSlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A `#rrggbb` colour, stored lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThemeColor(String);

impl ThemeColor {
    pub fn parse(input: &str) -> Result<Self> {
        let s = input.trim().to_ascii_lowercase();
        let ok =
            s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit());
        if ok {
            Ok(ThemeColor(s))
        } else {
            Err(Error::invalid("theme_color", Invalid::Format))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ThemeColor {
    fn default() -> Self {
        ThemeColor("#b4442b".into())
    }
}

/// The languages the portal speaks; a brand picks its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Language {
    #[default]
    ZhCn,
    ZhTw,
    En,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::ZhCn, Language::ZhTw, Language::En];

    pub fn tag(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::ZhTw => "zh-TW",
            Language::En => "en",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Self> {
        Language::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(tag))
    }

    /// The language we speak for any BCP 47 tag a browser sends: Simplified
    /// Chinese for zh, zh-Hans, zh-CN and zh-SG; Traditional for zh-Hant,
    /// zh-TW, zh-HK and zh-MO; English for en-*.
    pub fn from_bcp47(tag: &str) -> Option<Self> {
        let tag = tag.trim().to_ascii_lowercase().replace('_', "-");
        let mut parts = tag.split('-');
        match parts.next()? {
            "en" => Some(Language::En),
            "zh" => {
                let traditional = parts.any(|p| matches!(p, "hant" | "tw" | "hk" | "mo"));
                Some(if traditional {
                    Language::ZhTw
                } else {
                    Language::ZhCn
                })
            }
            _ => None,
        }
    }

    /// The best of our languages in an `Accept-Language` header, honouring
    /// q-values (`q=0` means "not this one") and, between equals, order.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(f32, usize, Language)> = None;
        for (position, entry) in header.split(',').enumerate() {
            let mut fields = entry.split(';');
            let tag = fields.next().unwrap_or_default().trim();
            let q = fields
                .filter_map(|f| f.trim().strip_prefix("q="))
                .find_map(|v| v.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            // NaN and anything outside 0..=1 is no preference at all.
            if !(q > 0.0 && q <= 1.0) {
                continue;
            }
            let Some(language) = Language::from_bcp47(tag) else {
                continue;
            };
            let better = match best {
                None => true,
                Some((best_q, best_pos, _)) => q > best_q || (q == best_q && position < best_pos),
            };
            if better {
                best = Some((q, position, language));
            }
        }
        best.map(|(_, _, language)| language)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Brand {
    pub id: BrandId,
    pub slug: BrandSlug,
    pub name: String,
    pub theme_color: ThemeColor,
    pub default_language: Language,
    pub time_zone: String,
    /// The version of the terms and privacy notice a new member accepts.
    pub terms_version: String,
    /// The brand's own terms; empty: the standard text.
    pub terms_text: String,
    /// Sites allowed to frame the portal (`https://shop.example.com`).
    pub embed_origins: Vec<String>,
    /// 0: no logo; else when it was saved (a cache-busting version).
    pub logo_version: i64,
    /// The SMS signature (短信签名) codes go out under; empty: the name.
    pub sms_signature: String,
}

impl Brand {
    /// What SMS codes are signed with: the registered signature, else the name.
    pub fn signature(&self) -> &str {
        if self.sms_signature.is_empty() {
            &self.name
        } else {
            &self.sms_signature
        }
    }
}

/// The little a page needs to show which brand it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandRef {
    pub id: BrandId,
    pub slug: String,
    pub name: String,
    pub theme_color: String,
}

#[derive(Debug, Clone)]
pub struct NewBrand {
    pub slug: BrandSlug,
    pub name: String,
    pub theme_color: ThemeColor,
    pub default_language: Language,
}

pub(crate) fn check_name(field: &'static str, name: &str, max: usize) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid(field, Invalid::Empty));
    }
    if name.chars().count() > max {
        return Err(Error::invalid(field, Invalid::TooLong { max }));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(field, Invalid::Characters));
    }
    Ok(name.to_owned())
}

#[derive(sqlx::FromRow)]
pub(crate) struct BrandRow {
    pub(crate) id: i64,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) theme_color: String,
    pub(crate) default_locale: String,
    pub(crate) time_zone: String,
    pub(crate) terms_version: String,
    pub(crate) terms_text: String,
    pub(crate) embed_origins: String,
    pub(crate) logo_version: i64,
    pub(crate) sms_signature: String,
}

impl From<BrandRow> for Brand {
    fn from(r: BrandRow) -> Self {
        Brand {
            id: BrandId(r.id),
            slug: BrandSlug(r.slug),
            name: r.name,
            theme_color: ThemeColor(r.theme_color),
            default_language: Language::from_tag(&r.default_locale).unwrap_or_default(),
            time_zone: r.time_zone,
            terms_version: r.terms_version,
            terms_text: r.terms_text,
            embed_origins: r
                .embed_origins
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            logo_version: r.logo_version,
            sms_signature: r.sms_signature,
        }
    }
}

/// [`BRAND_COLUMNS`] of `brands` named `alias` in a join.
pub(crate) fn brand_columns_of(alias: &str) -> String {
    crate::infra::db::qualified(alias, BRAND_COLUMNS)
}

const BRAND_COLUMNS: &str =
    "id, slug, name, theme_color, default_locale, time_zone, terms_version, terms_text, embed_origins, \
     logo_version, sms_signature";

pub async fn create(conn: &mut AnyConnection, clock: &dyn Clock, new: NewBrand) -> Result<Brand> {
    let name = check_name("name", &new.name, 80)?;
    let sql = format!(
        "INSERT INTO brands (slug, name, theme_color, default_locale, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {BRAND_COLUMNS}"
    );
    let row: BrandRow = sqlx::query_as(&sql)
        .bind(new.slug.as_str())
        .bind(&name)
        .bind(new.theme_color.as_str())
        .bind(new.default_language.tag())
        .bind(clock.now_ms())
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| match violation(&e) {
            Some(Violation::Unique) => Error::BrandSlugTaken,
            _ => e.into(),
        })?;
    // Every brand starts with the seeds' rules and tiers, editable later.
    crate::points::rules::create_defaults(conn, BrandId(row.id)).await?;
    crate::points::tiers::create_defaults(conn, BrandId(row.id)).await?;
    Ok(row.into())
}

/// The brand named `slug`: from memory when it was read lately and has not
/// changed since ([`key_cache`]); a slug that names none is read each time.
pub async fn find_by_slug(db: &Db, slug: &BrandSlug) -> Result<Brand> {
    let cache = db.key_cache();
    let (cached, generation) = cache.brand(slug.as_str());
    if let Some(brand) = cached {
        return Ok(brand);
    }
    let sql = format!("SELECT {BRAND_COLUMNS} FROM brands WHERE slug = $1");
    let row: Option<BrandRow> = sqlx::query_as(&sql)
        .bind(slug.as_str())
        .fetch_optional(db.pool())
        .await?;
    let brand = row.map(Brand::from).ok_or(Error::BrandNotFound)?;
    cache.keep_brand(generation, brand.clone());
    Ok(brand)
}

pub async fn find(db: &Db, id: BrandId) -> Result<Brand> {
    let sql = format!("SELECT {BRAND_COLUMNS} FROM brands WHERE id = $1");
    let row: Option<BrandRow> = sqlx::query_as(&sql)
        .bind(id.0)
        .fetch_optional(db.pool())
        .await?;
    row.map(Brand::from).ok_or(Error::BrandNotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_normalised_and_checked() {
        assert_eq!(
            BrandSlug::parse("  Demo-Brand ").unwrap().as_str(),
            "demo-brand"
        );
        for bad in [
            "",
            "a",
            "-demo",
            "demo-",
            "de--mo",
            "烤鸭",
            "demo brand",
            &"x".repeat(41),
        ] {
            assert!(BrandSlug::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn theme_colours_are_hex() {
        assert_eq!(ThemeColor::parse("#B4442B").unwrap().as_str(), "#b4442b");
        for bad in ["b4442b", "#b4442", "#b4442bb", "#gggggg", "red"] {
            assert!(ThemeColor::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn language_tags_round_trip() {
        for l in Language::ALL {
            assert_eq!(Language::from_tag(l.tag()), Some(l));
        }
        assert_eq!(Language::from_tag("zh-cn"), Some(Language::ZhCn));
        assert_eq!(Language::from_tag("fr"), None);
    }

    #[test]
    fn a_browsers_languages_map_to_ours_by_quality_then_order() {
        let best = Language::from_accept_language;
        assert_eq!(best("fr;q=1, zh-TW;q=0.8, en;q=0.9"), Some(Language::En));
        assert_eq!(best("zh-HK, en"), Some(Language::ZhTw));
        assert_eq!(best("zh-Hans-SG"), Some(Language::ZhCn));
        assert_eq!(best("en-GB;q=0.5, zh;q=0.5"), Some(Language::En));
        // No preference at all: zero, not a number, out of range, nothing.
        assert_eq!(best("en;q=0, zh;q=NaN, zh-TW;q=7, fr"), None);
        assert_eq!(best(""), None);
    }
}
