use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, MetaTags};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::routes::{
    AdminAudit, AdminAutomation, AdminBrand, AdminDashboard, AdminInbox, AdminKeys, AdminLogin,
    AdminMember, AdminMemberImport, AdminMembers, AdminMessages, AdminOfferEditor, AdminOffers,
    AdminPassword, AdminQrSheet, AdminReport, AdminSegments, AdminStaff, AdminStoreTables,
    AdminStoredValue, AdminStores, AdminTill, BrandHome, CardRoute, ClaimRoute, CouponRoute,
    FeedbackRoute, HomePage, InviteRoute, JoinRoute, MyFeedbackRoute, NotFound, PointsRoute,
    PrivacyRoute, ProfileRoute, StoredValueRoute, TableLink, ThanksRoute, WalletRoute,
};

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::secure_document();
    view! {
        <!DOCTYPE html>
        <html>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover" />
                <link rel="stylesheet" id="leptos" href=stylesheet_href(&options) />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The site's stylesheet, `/pkg/tablecard.<hash>.css` when the build hashed
/// it: what leptos_meta's `HashedStylesheet` links to, without reading
/// `hash.txt` from disk on every page as it does (2 % of the card's time).
/// The file is read once for each site a process serves (tests serve more
/// than one).
fn stylesheet_href(options: &LeptosOptions) -> String {
    use std::sync::Mutex;
    static READ: Mutex<Option<(String, String)>> = Mutex::new(None);

    let name = &options.output_name;
    let pkg = &options.site_pkg_dir;
    if !options.hash_files {
        return format!("/{pkg}/{name}.css");
    }
    let hash_file = options.hash_file.as_ref();
    let mut read = READ.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, href)) = read.as_ref().filter(|(f, _)| f == hash_file) {
        return href.clone();
    }
    // Where leptos looks: beside the binary, unless the path is absolute.
    let beside_binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(std::path::Path::to_path_buf))
        .unwrap_or_default();
    let hashes = std::fs::read_to_string(beside_binary.join(hash_file)).unwrap_or_default();
    let hash = hashes
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(kind, _)| kind.trim() == "css")
        .map(|(_, hash)| format!(".{}", hash.trim()))
        .unwrap_or_default();
    let href = format!("/{pkg}/{name}{hash}.css");
    *read = Some((hash_file.to_owned(), href.clone()));
    href
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    #[cfg(feature = "ssr")]
    provide_context(crate::server::request_locale());
    view! {
        <Link rel="icon" href="/icon.svg" type_="image/svg+xml" />
        <Router>
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("") view=HomePage />
                <Route path=path!("/r/:brand") view=BrandHome ssr=SsrMode::Async />
                <Route path=path!("/r/:brand/join") view=JoinRoute ssr=SsrMode::Async />
                <Route path=path!("/r/:brand/card") view=CardRoute ssr=SsrMode::Async />
                <Route path=path!("/r/:brand/me") view=ProfileRoute ssr=SsrMode::Async />
                <Route path=path!("/r/:brand/points") view=PointsRoute ssr=SsrMode::Async />
                <Route path=path!("/r/:brand/balance") view=StoredValueRoute ssr=SsrMode::Async />
                <Route path=path!("/r/:brand/invite") view=InviteRoute ssr=SsrMode::Async />
                <Route path=path!("/r/:brand/privacy") view=PrivacyRoute ssr=SsrMode::Async />
                <Route path=path!("/r/:brand/coupons") view=WalletRoute ssr=SsrMode::Async />
                <Route path=path!("/r/:brand/coupons/:code") view=CouponRoute ssr=SsrMode::Async />
                <Route path=path!("/r/:brand/claim") view=ClaimRoute ssr=SsrMode::Async />
                <Route path=path!("/r/:brand/feedback") view=FeedbackRoute ssr=SsrMode::Async />
                <Route path=path!("/r/:brand/feedback/thanks") view=ThanksRoute ssr=SsrMode::Async />
                <Route path=path!("/r/:brand/feedback/mine") view=MyFeedbackRoute ssr=SsrMode::Async />
                <Route path=path!("/t/:token") view=TableLink ssr=SsrMode::Async />
                <Route path=path!("/admin") view=AdminLogin ssr=SsrMode::Async />
                <Route path=path!("/admin/feedback") view=AdminInbox ssr=SsrMode::Async />
                <Route path=path!("/admin/feedback/report") view=AdminReport ssr=SsrMode::Async />
                <Route path=path!("/admin/keys") view=AdminKeys ssr=SsrMode::Async />
                <Route path=path!("/admin/till") view=AdminTill ssr=SsrMode::Async />
                <Route path=path!("/admin/audit") view=AdminAudit ssr=SsrMode::Async />
                <Route path=path!("/admin/dashboard") view=AdminDashboard ssr=SsrMode::Async />
                <Route path=path!("/admin/members") view=AdminMembers ssr=SsrMode::Async />
                <Route path=path!("/admin/members/:no") view=AdminMember ssr=SsrMode::Async />
                <Route path=path!("/admin/brand") view=AdminBrand ssr=SsrMode::Async />
                <Route path=path!("/admin/automation") view=AdminAutomation ssr=SsrMode::Async />
                <Route path=path!("/admin/segments") view=AdminSegments ssr=SsrMode::Async />
                <Route path=path!("/admin/stored-value") view=AdminStoredValue ssr=SsrMode::Async />
                <Route path=path!("/admin/messages") view=AdminMessages ssr=SsrMode::Async />
                <Route path=path!("/admin/import") view=AdminMemberImport ssr=SsrMode::Async />
                <Route path=path!("/admin/coupons") view=AdminOffers ssr=SsrMode::Async />
                <Route path=path!("/admin/coupons/new") view=AdminOfferEditor ssr=SsrMode::Async />
                <Route path=path!("/admin/stores") view=AdminStores ssr=SsrMode::Async />
                <Route path=path!("/admin/staff") view=AdminStaff ssr=SsrMode::Async />
                <Route path=path!("/admin/password") view=AdminPassword ssr=SsrMode::Async />
                <Route path=path!("/admin/stores/:id") view=AdminStoreTables ssr=SsrMode::Async />
                <Route path=path!("/admin/stores/:id/qr") view=AdminQrSheet ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}
