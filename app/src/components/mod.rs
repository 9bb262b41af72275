mod language;
mod layout;

pub use language::{LanguageSelect, LanguageSwitcher};
pub use layout::{Page, PageBrand};
