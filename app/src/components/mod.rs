mod islands;
mod language;
#[cfg(feature = "ssr")]
mod layout;
#[cfg(feature = "ssr")]
mod notice;

pub use islands::{CardCode, CommentBox, ResendButton, RotatingCode};
pub use language::{LanguageSelect, LanguageSwitcher};
#[cfg(feature = "ssr")]
pub use layout::{Page, PageBrand};
#[cfg(feature = "ssr")]
pub use notice::Notice;
