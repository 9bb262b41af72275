mod accounts;
pub(crate) mod admin;
mod automation;
pub(crate) mod brand;
mod brand_home;
mod card;
mod coupons;
mod dashboard;
mod feedback;
mod home;
mod invite;
mod join;
pub mod member_import;
mod messages_admin;
mod not_found;
mod offers;
pub(crate) mod points;
mod privacy;
pub(crate) mod profile;
mod roster;
mod segments;
mod setup;
mod stored_admin;
pub(crate) mod stored_value;
mod table_link;
mod till;

pub use accounts::{AdminPassword, AdminStaff};
pub use admin::{AdminAudit, AdminInbox, AdminKeys, AdminLogin, AdminReport};
pub use automation::AdminAutomation;
pub use brand::AdminBrand;
pub use brand_home::BrandHome;
pub use card::CardRoute;
pub use coupons::{ClaimRoute, CouponRoute, WalletRoute};
pub use dashboard::AdminDashboard;
pub use feedback::{FeedbackRoute, MyFeedbackRoute, ThanksRoute};
pub use home::HomePage;
pub use invite::InviteRoute;
pub use join::JoinRoute;
pub use member_import::AdminMemberImport;
pub use messages_admin::AdminMessages;
pub use not_found::{NotFound, ServerError};
pub use offers::{AdminOfferEditor, AdminOffers};
pub use points::PointsRoute;
pub use privacy::PrivacyRoute;
pub use profile::ProfileRoute;
pub use roster::{AdminMember, AdminMembers};
pub use segments::AdminSegments;
pub use setup::{AdminQrSheet, AdminStoreTables, AdminStores};
pub use stored_admin::AdminStoredValue;
pub use stored_value::StoredValueRoute;
pub use table_link::TableLink;
pub use till::AdminTill;

use crate::i18n::Locale;
use crate::locale::RequestLocale;

/// The request's language, or `fallback` when it asked for none.
pub(crate) fn page_locale(fallback: Locale) -> Locale {
    leptos::prelude::use_context::<RequestLocale>()
        .unwrap_or(RequestLocale(None))
        .or(fallback)
}

/// A page whose data comes from one server function: loads it before the
/// first byte (the page is complete without WebAssembly), renders it with
/// `show`, and shows the friendly error page when loading fails.
pub(crate) fn loaded_page<T, Fut, S>(
    fetch: impl Fn() -> Fut + Send + Sync + 'static,
    show: S,
) -> impl leptos::prelude::IntoView
where
    T: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, crate::error::AppError>> + Send + 'static,
    S: Fn(T) -> leptos::prelude::AnyView + Copy + Send + Sync + 'static,
{
    use leptos::prelude::*;
    let data = Resource::new_blocking(|| (), move |_| fetch());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(value) => show(value),
                    Err(_) => view! { <ServerError /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A console page: `show` renders it for staff it is for; staff it is not
/// for get the sentence saying so, and signed-out visitors have been sent
/// to sign in.
pub(crate) fn staff_page<T, Fut>(
    fetch: impl Fn() -> Fut + Send + Sync + 'static,
    show: fn(T) -> leptos::prelude::AnyView,
) -> impl leptos::prelude::IntoView
where
    T: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    Fut: std::future::Future<
            Output = Result<crate::functions::admin::StaffLoad<T>, crate::error::AppError>,
        > + Send
        + 'static,
{
    use crate::functions::admin::StaffLoad;
    use leptos::prelude::IntoAny;
    loaded_page(fetch, move |load: StaffLoad<T>| match load {
        StaffLoad::Page(page) => show(*page),
        StaffLoad::Forbidden(staff) => admin::forbidden(staff),
        StaffLoad::SignedOut => ().into_any(),
    })
}
