mod admin;
mod brand_home;
mod card;
mod coupons;
mod feedback;
mod home;
mod join;
mod not_found;
mod points;
mod privacy;
mod profile;
mod table_link;

pub use admin::{AdminInbox, AdminLogin, AdminReport};
pub use brand_home::BrandHome;
pub use card::CardRoute;
pub use coupons::{ClaimRoute, CouponRoute, WalletRoute};
pub use feedback::{FeedbackRoute, MyFeedbackRoute, ThanksRoute};
pub use home::HomePage;
pub use join::JoinRoute;
pub use not_found::{NotFound, ServerError};
pub use points::PointsRoute;
pub use privacy::PrivacyRoute;
pub use profile::ProfileRoute;
pub use table_link::TableLink;

use crate::i18n::Locale;
use crate::locale::RequestLocale;

/// The request's language, or `fallback` when it asked for none.
pub(crate) fn page_locale(fallback: Locale) -> Locale {
    leptos::prelude::use_context::<RequestLocale>()
        .unwrap_or(RequestLocale(None))
        .or(fallback)
}
