//! Staff accounts over HTTP: an owner creates, changes, deactivates, resets
//! and unlocks accounts; everyone changes their own password; no one else
//! touches an account.

use crate::common;

use axum::http::StatusCode;
use common::{console_staff, location, spawn_app, staff_browser, Browser, TestApp, STAFF_PASSWORD};

async fn store_ids(app: &TestApp) -> (String, String) {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT s.id FROM stores s JOIN brands b ON b.id = s.brand_id WHERE b.slug = 'demo' ORDER BY s.code",
    )
    .fetch_all(app._db.db.pool())
    .await
    .unwrap();
    (rows[0].0.to_string(), rows[1].0.to_string())
}

async fn staff_id(app: &TestApp, login: &str) -> String {
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM staff WHERE login = $1")
        .bind(login)
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    id.to_string()
}

/// The password shown once on the accounts page.
fn shown_password(page: &str) -> Option<String> {
    let at = page.find("class=\"mono key-once\">")?;
    let rest = &page[at + 22..];
    Some(rest[..rest.find('<')?].to_owned())
}

async fn sign_in_with<'a>(app: &'a TestApp, login: &str, password: &str) -> (Browser<'a>, String) {
    let mut b = Browser::new(app);
    let r = b
        .post(
            "/fn/staff_sign_in",
            &[("login", login), ("password", password), ("next", "")],
        )
        .await;
    let to = location(&r);
    (b, to)
}

#[both_databases]
async fn an_owner_adds_a_cashier_who_signs_in_with_the_password_shown_once() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let (first, second) = store_ids(&app).await;
    let mut boss = staff_browser(&app, "boss").await;

    let r = boss
        .post(
            "/fn/create_staff",
            &[
                ("login", "Xiao.Li"),
                ("display_name", "小李"),
                ("role", "cashier"),
                ("stores[]", &first),
            ],
        )
        .await;
    assert!(
        location(&r).starts_with("/admin/staff#staff-"),
        "{}",
        location(&r)
    );
    let page = boss.page("/admin/staff").await;
    let password = shown_password(&page).expect("the new password is shown");
    assert!(page.contains("xiao.li 的密码"));
    assert!(
        shown_password(&boss.page("/admin/staff").await).is_none(),
        "and only once"
    );

    let (mut li, to) = sign_in_with(&app, "xiao.li", &password).await;
    assert_eq!(to, "/admin/till", "a cashier starts at the till");
    assert!(li.page("/admin/till").await.contains("人民广场店"));

    // Two stores for a cashier, a login taken, no role: refused with sentences.
    let r = boss
        .post(
            "/fn/create_staff",
            &[
                ("login", "two.stores"),
                ("display_name", "甲"),
                ("role", "cashier"),
                ("stores[]", &first),
                ("stores[]", &second),
            ],
        )
        .await;
    assert_eq!(
        location(&r),
        "/admin/staff?error=invalid_input&field=staff_stores&reason=format"
    );
    assert!(boss
        .page(&location(&r))
        .await
        .contains("收银员需要选且只选一家门店"));
    let r = boss
        .post(
            "/fn/create_staff",
            &[
                ("login", "xiao.li"),
                ("display_name", "乙"),
                ("role", "manager"),
                ("stores[]", &first),
            ],
        )
        .await;
    assert_eq!(location(&r), "/admin/staff?error=staff_login_taken");

    // A manager of both stores, given through two boxes.
    let r = boss
        .post(
            "/fn/create_staff",
            &[
                ("login", "area.mgr"),
                ("display_name", "区经理"),
                ("role", "manager"),
                ("stores[]", &first),
                ("stores[]", &second),
            ],
        )
        .await;
    assert!(location(&r).starts_with("/admin/staff#staff-"));
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM staff_stores ss JOIN staff s ON s.id = ss.staff_id WHERE s.login = 'area.mgr'")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    assert_eq!(n, 2);

    // Deactivated: the open session ends and signing in fails.
    let id = staff_id(&app, "xiao.li").await;
    let r = boss
        .post(
            "/fn/update_staff",
            &[
                ("id", &id),
                ("display_name", "小李"),
                ("role", "cashier"),
                ("stores[]", &first),
            ],
        )
        .await;
    assert!(location(&r).contains("saved=1"), "{}", location(&r));
    assert!(
        location(&li.get("/admin/till").await).starts_with("/admin?next="),
        "signed out at once"
    );
    let (_, to) = sign_in_with(&app, "xiao.li", &password).await;
    assert_eq!(to, "/admin?error=staff_sign_in_failed");

    // Back on, with a new password: the old one is dead.
    boss.post(
        "/fn/update_staff",
        &[
            ("id", &id),
            ("display_name", "小李"),
            ("role", "cashier"),
            ("stores[]", &first),
            ("active", "on"),
        ],
    )
    .await;
    boss.post("/fn/staff_access", &[("id", &id), ("action", "reset")])
        .await;
    let fresh =
        shown_password(&boss.page("/admin/staff").await).expect("the reset password is shown");
    assert_ne!(fresh, password);
    assert_eq!(
        sign_in_with(&app, "xiao.li", &password).await.1,
        "/admin?error=staff_sign_in_failed"
    );
    assert_eq!(sign_in_with(&app, "xiao.li", &fresh).await.1, "/admin/till");

    // The owner cannot deactivate or demote themselves.
    let me = staff_id(&app, "boss").await;
    let r = boss
        .post(
            "/fn/update_staff",
            &[
                ("id", &me),
                ("display_name", "老板"),
                ("role", "manager"),
                ("stores[]", &first),
                ("active", "on"),
            ],
        )
        .await;
    assert!(location(&r).contains("error=staff_self_change"));
    let r = boss
        .post(
            "/fn/update_staff",
            &[("id", &me), ("display_name", "老板"), ("role", "owner")],
        )
        .await;
    assert!(
        location(&r).contains("error=staff_self_change"),
        "unticked active: {}",
        location(&r)
    );

    // Nor reset their own password (it would end their session, unseen).
    let r = boss
        .post("/fn/staff_access", &[("id", &me), ("action", "reset")])
        .await;
    assert!(
        location(&r).contains("error=staff_self_change"),
        "{}",
        location(&r)
    );
    assert_eq!(
        boss.get("/admin/staff").await.status(),
        StatusCode::OK,
        "still signed in"
    );

    let log = boss.page("/admin/audit").await;
    for action in ["staff.create", "staff.update", "staff.reset_password"] {
        assert!(log.contains(action), "{action}");
    }
    assert!(
        !log.contains(&fresh) && !log.contains(&password),
        "no password in the log"
    );
}

#[both_databases]
async fn a_locked_account_is_unlocked_by_the_owner() {
    let app = spawn_app().await;
    console_staff(&app).await;
    for _ in 0..5 {
        sign_in_with(&app, "till", "wrong password!").await;
    }
    assert!(sign_in_with(&app, "till", STAFF_PASSWORD)
        .await
        .1
        .contains("error=staff_locked"));
    let mut boss = staff_browser(&app, "boss").await;
    assert!(boss.page("/admin/staff").await.contains("已暂时锁定"));
    let id = staff_id(&app, "till").await;
    boss.post("/fn/staff_access", &[("id", &id), ("action", "unlock")])
        .await;
    assert_eq!(
        sign_in_with(&app, "till", STAFF_PASSWORD).await.1,
        "/admin/till"
    );
}

#[both_databases]
async fn staff_change_their_own_password_and_other_sessions_end() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut here = staff_browser(&app, "till").await;
    let mut elsewhere = staff_browser(&app, "till").await;
    let new = "a much longer passphrase";

    let r = here
        .post(
            "/fn/change_my_password",
            &[("current", "not it at all"), ("new", new), ("confirm", new)],
        )
        .await;
    assert_eq!(location(&r), "/admin/password?error=wrong_current_password");
    assert!(here.page(&location(&r)).await.contains("当前密码不对"));
    let r = here
        .post(
            "/fn/change_my_password",
            &[
                ("current", STAFF_PASSWORD),
                ("new", new),
                ("confirm", "something else"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/admin/password?error=password_mismatch");
    let r = here
        .post(
            "/fn/change_my_password",
            &[
                ("current", STAFF_PASSWORD),
                ("new", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(
        location(&r),
        "/admin/password?error=invalid_input&field=password&reason=too_short&min=10"
    );

    let r = here
        .post(
            "/fn/change_my_password",
            &[("current", STAFF_PASSWORD), ("new", new), ("confirm", new)],
        )
        .await;
    assert_eq!(location(&r), "/admin/password?saved=1");
    assert_eq!(
        here.get("/admin/till").await.status(),
        StatusCode::OK,
        "this session goes on"
    );
    assert!(
        location(&elsewhere.get("/admin/till").await).starts_with("/admin?next="),
        "the other one ended"
    );
    assert_eq!(
        sign_in_with(&app, "till", STAFF_PASSWORD).await.1,
        "/admin?error=staff_sign_in_failed"
    );
    assert_eq!(sign_in_with(&app, "till", new).await.1, "/admin/till");
}

#[both_databases]
async fn only_the_brands_owner_manages_its_accounts() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let (first, _) = store_ids(&app).await;
    let till_id = staff_id(&app, "till").await;
    let (before,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM staff")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();

    for who in ["mgr2", "till"] {
        let mut b = staff_browser(&app, who).await;
        assert_eq!(
            b.get("/admin/staff").await.status(),
            StatusCode::FORBIDDEN,
            "{who}"
        );
        b.post(
            "/fn/create_staff",
            &[
                ("login", "sneaky"),
                ("display_name", "x"),
                ("role", "owner"),
            ],
        )
        .await;
        b.post(
            "/fn/update_staff",
            &[
                ("id", &till_id),
                ("display_name", "x"),
                ("role", "owner"),
                ("active", "on"),
            ],
        )
        .await;
        b.post("/fn/staff_access", &[("id", &till_id), ("action", "reset")])
            .await;
    }
    let mut rival = staff_browser(&app, "rival").await;
    let r = rival
        .post(
            "/fn/update_staff",
            &[
                ("id", &till_id),
                ("display_name", "x"),
                ("role", "cashier"),
                ("stores[]", &first),
            ],
        )
        .await;
    assert!(
        location(&r).contains("error=staff_not_found"),
        "{}",
        location(&r)
    );
    let r = rival
        .post("/fn/staff_access", &[("id", &till_id), ("action", "reset")])
        .await;
    assert!(
        location(&r).contains("error=staff_not_found"),
        "{}",
        location(&r)
    );
    let r = rival
        .post(
            "/fn/create_staff",
            &[
                ("login", "spy"),
                ("display_name", "x"),
                ("role", "manager"),
                ("stores[]", &first),
            ],
        )
        .await;
    assert!(
        location(&r).contains("error=store_not_found"),
        "another brand's store: {}",
        location(&r)
    );

    let (after,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM staff")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    assert_eq!(after, before, "no account was created");
    let (role, name): (String, String) =
        sqlx::query_as("SELECT role, display_name FROM staff WHERE login = 'till'")
            .fetch_one(app._db.db.pool())
            .await
            .unwrap();
    assert_eq!(
        (role.as_str(), name.as_str()),
        ("cashier", "收银"),
        "the cashier is untouched"
    );
    assert_eq!(
        sign_in_with(&app, "till", STAFF_PASSWORD).await.1,
        "/admin/till",
        "and keeps their password"
    );
}
