mod islands;
mod language;
mod layout;
mod notice;

pub use islands::{CommentBox, ResendButton, RotatingCode};
pub use language::{LanguageSelect, LanguageSwitcher};
pub use layout::{Page, PageBrand};
pub use notice::Notice;
