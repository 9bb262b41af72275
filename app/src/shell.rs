use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, Link, MetaTags};
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
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
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
