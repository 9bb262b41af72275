//! The console's permission matrix in one place: every page for every role,
//! every write signed out, and the loaders called directly (as a script
//! would, bypassing the pages) by staff who must not read what they load.
//! Per-feature tests check the own-store / other-store and other-brand
//! cases of each write.

use crate::common;

use axum::http::StatusCode;
use common::{body_text, console_staff, location, spawn_app, staff_browser, Browser};

/// (page, owner, manager, cashier) — may each role open it?
const PAGES: [(&str, bool, bool, bool); 18] = [
    ("/admin/stored-value", true, false, false),
    ("/admin/import", true, false, false),
    ("/admin/messages", true, false, false),
    ("/admin/dashboard", true, true, false),
    ("/admin/members", true, true, false),
    ("/admin/coupons", true, true, false),
    ("/admin/coupons/new", true, true, false),
    ("/admin/feedback", true, true, false),
    ("/admin/feedback/report", true, true, false),
    ("/admin/till", true, true, true),
    ("/admin/password", true, true, true),
    ("/admin/brand", true, false, false),
    ("/admin/stores", true, false, false),
    ("/admin/staff", true, false, false),
    ("/admin/keys", true, false, false),
    ("/admin/audit", true, false, false),
    ("/admin/automation", true, false, false),
    ("/admin/segments", true, false, false),
];

/// Every console write with a complete form, so that the function runs and
/// it is the session check that refuses.
const WRITES: [(&str, &[(&str, &str)]); 44] = [
    (
        "decide_erasure",
        &[("request", "1"), ("decision", "approve")],
    ),
    (
        "erase_member_at_counter",
        &[("member", "00000001"), ("reason", "ID"), ("confirm", "yes")],
    ),
    ("start_member_import", &[("id", "1")]),
    (
        "save_sms_template",
        &[
            ("purpose", "sign_in"),
            ("language", "zh-CN"),
            ("code", "SMS_1"),
            ("body", "验证码{code}"),
        ],
    ),
    ("remove_sms_template", &[("id", "1")]),
    (
        "save_sms_settings",
        &[
            ("window_start", "10:00"),
            ("window_end", "20:00"),
            ("marketing_cap", "7"),
            ("sign_in_cap", ""),
            ("price_per_100", "4.50"),
        ],
    ),
    (
        "till_top_up",
        &[
            ("store", "1"),
            ("member", "00000001"),
            ("key", "kkkkkkkkkkkkkkkkkkkkkk"),
            ("amount", "10"),
            ("tender", "cash"),
        ],
    ),
    (
        "till_stored_pay",
        &[
            ("store", "1"),
            ("member", "00000001"),
            ("key", "kkkkkkkkkkkkkkkkkkkkkk"),
            ("code", "12345678901234"),
            ("order", ""),
            ("amount", "10"),
        ],
    ),
    (
        "till_stored_void",
        &[
            ("store", "1"),
            ("member", "00000001"),
            ("key", "kkkkkkkkkkkkkkkkkkkkkk"),
            ("payment", "X"),
        ],
    ),
    (
        "till_stored_refund",
        &[
            ("store", "1"),
            ("member", "00000001"),
            ("key", "kkkkkkkkkkkkkkkkkkkkkk"),
            ("top_up", "X"),
            ("amount", "1"),
        ],
    ),
    (
        "add_top_up_offer",
        &[
            ("min", "100"),
            ("bonus", "10"),
            ("starts", ""),
            ("ends", ""),
            ("store", "all"),
        ],
    ),
    ("retire_top_up_offer", &[("id", "1")]),
    ("save_stored_split", &[("split", "principal_first")]),
    ("till_find", &[("store", "1"), ("q", "13800138000")]),
    (
        "create_automation",
        &[("trigger", "join"), ("points", "10"), ("message", "")],
    ),
    ("pause_automation", &[("id", "1"), ("active", "false")]),
    (
        "grant_rfm_campaign",
        &[
            ("key", "kkkkkkkkkkkkkkkkkkkkkk"),
            ("template", "1"),
            ("segment", "general_develop"),
            ("window", "180"),
        ],
    ),
    (
        "save_referral",
        &[("referrer_points", "1"), ("friend_points", "1")],
    ),
    (
        "save_checkin",
        &[("points", "5"), ("streak_days", "7"), ("streak_bonus", "0")],
    ),
    (
        "till_purchase",
        &[
            ("store", "1"),
            ("member", "00000001"),
            ("key", "kkkkkkkkkkkkkkkkkkkkkk"),
            ("order", ""),
            ("amount", "10"),
        ],
    ),
    (
        "till_coupon",
        &[
            ("store", "1"),
            ("member", "00000001"),
            ("key", "kkkkkkkkkkkkkkkkkkkkkk"),
            ("order", ""),
            ("typed", "ABCDE-FGHJK"),
            ("bill", "10"),
        ],
    ),
    (
        "till_points",
        &[
            ("store", "1"),
            ("member", "00000001"),
            ("key", "kkkkkkkkkkkkkkkkkkkkkk"),
            ("order", "X"),
            ("points", "1"),
            ("bill", "10"),
        ],
    ),
    (
        "save_store",
        &[("code", "ZZ"), ("name", "z"), ("address", "")],
    ),
    ("add_tables", &[("store", "1"), ("prefix", "Z")]),
    ("new_table_code", &[("store", "1"), ("table", "1")]),
    (
        "create_staff",
        &[
            ("login", "sneaky"),
            ("display_name", "x"),
            ("role", "owner"),
        ],
    ),
    (
        "update_staff",
        &[
            ("id", "1"),
            ("display_name", "x"),
            ("role", "owner"),
            ("active", "on"),
        ],
    ),
    ("staff_access", &[("id", "1"), ("action", "reset")]),
    (
        "change_my_password",
        &[
            ("current", "x"),
            ("new", "new passphrase!"),
            ("confirm", "new passphrase!"),
        ],
    ),
    (
        "adjust_member_points",
        &[
            ("member", "00000001"),
            ("key", "kkkkkkkkkkkkkkkkkkkkkk"),
            ("points", "100"),
            ("reason", "x"),
        ],
    ),
    (
        "grant_member_coupon",
        &[
            ("member", "00000001"),
            ("key", "kkkkkkkkkkkkkkkkkkkkkk"),
            ("template", "1"),
        ],
    ),
    ("create_offer", &[("kind", "voucher"), ("amount", "10")]),
    ("pause_offer", &[("id", "1"), ("active", "false")]),
    (
        "save_brand_profile",
        &[
            ("name", "x"),
            ("theme_color", "#000000"),
            ("default_locale", "en"),
            ("time_zone", "UTC"),
            ("embed_origins", ""),
        ],
    ),
    ("publish_brand_terms", &[("version", "x"), ("text", "x")]),
    (
        "save_brand_rules",
        &[
            ("earn_yuan", "1"),
            ("signup_bonus", "0"),
            ("expiry_months", "0"),
            ("redeem_points_per_yuan", "1"),
            ("redeem_cap_pct", "100"),
            ("bonus_multiple", "1"),
            ("feedback_points", "0"),
            ("feedback_coupon", ""),
        ],
    ),
    (
        "reply_feedback",
        &[("id", "1"), ("reply", "x"), ("back", "/admin/feedback")],
    ),
    (
        "mark_feedback",
        &[
            ("id", "1"),
            ("handled", "true"),
            ("back", "/admin/feedback"),
        ],
    ),
    ("create_api_key", &[("store", "1"), ("name", "x")]),
    ("revoke_api_key", &[("id", "1")]),
    (
        "decide_adjustment",
        &[("request", "1"), ("decision", "approve")],
    ),
    (
        "save_adjustment_limits",
        &[("per_adjustment", "1"), ("per_day", "1")],
    ),
    (
        "grant_segment_coupon",
        &[
            ("key", "kkkkkkkkkkkkkkkkkkkkkk"),
            ("template", "1"),
            ("q", ""),
        ],
    ),
    (
        "save_brand_tiers",
        &[
            ("name_zh_cn[]", "a"),
            ("name_zh_tw[]", "a"),
            ("name_en[]", "a"),
            ("threshold[]", "0"),
            ("discount[]", "0"),
            ("multiple[]", "1"),
        ],
    ),
];

#[both_databases]
async fn every_console_page_opens_for_the_roles_it_is_for_and_no_other() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    for (who, column) in [("boss", 1), ("mgr2", 2), ("till", 3)] {
        let mut b = staff_browser(&app, who).await;
        for row in PAGES {
            let allowed = [row.1, row.2, row.3][column - 1];
            let r = b.get(row.0).await;
            let expected = if allowed {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(r.status(), expected, "{who} {}", row.0);
            if !allowed {
                let html = body_text(r).await;
                assert!(
                    html.contains("权限"),
                    "{who} {}: a sentence, not a blank",
                    row.0
                );
            }
        }
    }
    // Signed out: every page sends to the sign-in page and back.
    let mut nobody = Browser::new(&app);
    for row in PAGES {
        let r = nobody.get(row.0).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", row.0);
        assert!(location(&r).starts_with("/admin?next="), "{}", row.0);
    }
    // Another brand's owner opens every page, and sees none of the demo's data.
    let mut rival = staff_browser(&app, "rival").await;
    for row in PAGES {
        let html = rival.page(row.0).await;
        for leak in ["山野小馆", "138****8000", "人民广场店"] {
            assert!(!html.contains(leak), "rival {}: {leak}", row.0);
        }
    }
}

#[both_databases]
async fn every_console_write_refuses_a_signed_out_caller_and_changes_nothing() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let before: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_log")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    let mut nobody = Browser::new(&app);
    for (name, form) in WRITES {
        let r = nobody.post(&format!("/fn/{name}"), form).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{name}");
        assert!(
            location(&r).starts_with("/admin?next="),
            "{name}: {}",
            location(&r)
        );
    }
    // The uploads are plain handlers: signed out, they send to sign in too.
    for upload in ["/admin/brand/logo", "/admin/import/file"] {
        let r = nobody.post(upload, &[("remove", "1")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{upload}");
        assert!(location(&r).starts_with("/admin?next="), "{}", location(&r));
    }
    let after: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_log")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    assert_eq!(before, after, "nothing was written");
}

/// What a page shows is loaded by the server while it renders: the loaders
/// are plain functions, not endpoints. Each of their old addresses is a 404
/// for everybody, the brand's owner included, and carries no data.
#[both_databases]
async fn loaders_are_not_endpoints() {
    const LOADERS: &[&str] = &[
        "load_accounts",
        "load_audit",
        "load_automation",
        "load_brand_page",
        "load_brand_settings",
        "load_claim_offers",
        "load_coupon",
        "load_dashboard",
        "load_feedback_form",
        "load_inbox",
        "load_invite",
        "load_join",
        "load_keys",
        "load_members",
        "load_my_card",
        "load_my_feedback",
        "load_offer_editor",
        "load_offer_list",
        "load_password_page",
        "load_points",
        "load_qr_sheet",
        "load_report",
        "load_roster_member",
        "load_segments",
        "load_staff",
        "load_stores",
        "load_tables",
        "load_terms_text",
        "load_thanks",
        "load_till",
        "load_wallet",
    ];
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    let (no,): (String,) = sqlx::query_as("SELECT member_no FROM members")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    let mut owner = staff_browser(&app, "boss").await;
    for name in LOADERS {
        for b in [&mut owner, &mut member] {
            let r = b
                .post(
                    &format!("/fn/{name}"),
                    &[("slug", "demo"), ("no", no.as_str())],
                )
                .await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "/fn/{name}");
            let body = body_text(r).await;
            for leak in ["138****8000", no.as_str(), "+8613800138000"] {
                assert!(!body.contains(leak), "/fn/{name} answered {leak}");
            }
        }
    }
    // The pages they load still show the owner what they showed.
    let page = body_text(owner.get(&format!("/admin/members/{no}")).await).await;
    assert!(page.contains("138****8000"), "{page}");
}
