//! Every limit on what a stranger may try holds when the requests are spread
//! over two server processes behind one load balancer: each process has its
//! own memory, so only limits kept in the database can hold. On SQLite and,
//! when configured, on PostgreSQL (where the POS API's per-key limit is kept
//! in the database too; SQLite is served by one process, see the README).

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use loyalty::testing::TestDb;

use crate::common::{self, location, spawn_app_on, Browser, TestApp, STAFF_PASSWORD};

/// The demo app on the running test's database (one of them: the tests
/// loop over what they get, as they did over both).
async fn apps(vars: &[(&str, &str)]) -> Vec<(&'static str, TestApp)> {
    let name = match common::backend() {
        common::Backend::Sqlite => "SQLite",
        common::Backend::Postgres => "PostgreSQL",
    };
    vec![(
        name,
        spawn_app_on(common::test_db().await, vars, false).await,
    )]
}

/// The same browser (its cookies) pointed at another process.
fn moved<'a>(from: &Browser<'_>, to: &'a TestApp) -> Browser<'a> {
    let mut b = Browser::new(to);
    b.cookies = from.cookies.clone();
    b
}

#[both_databases]
async fn sign_in_codes_are_limited_across_two_processes() {
    for (db, one) in apps(&[]).await {
        let two = one.twin();
        let mut phone_a = Browser::new(&one);
        let r = phone_a.request_code("13700137000").await;
        assert_eq!(location(&r), "/r/demo/join?sent=1", "{db}");
        // The same phone asks again at once, through the other process.
        let mut phone_b = moved(&phone_a, &two);
        let r = phone_b.request_code("13700137000").await;
        assert!(
            location(&r).contains("error=code_resend_too_soon"),
            "{db}: {}",
            location(&r)
        );
        assert_eq!(one.sender.count(), 1, "{db}: one code was sent, not two");

        // Five wrong guesses, alternating processes, burn the code.
        let code = one.sender.last_code("+8613700137000").unwrap();
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for i in 0..5 {
            let b = if i % 2 == 0 {
                &mut phone_a
            } else {
                &mut phone_b
            };
            b.post(
                "/fn/verify_code",
                &[("slug", "demo"), ("code", wrong), ("terms", "on")],
            )
            .await;
        }
        let mut phone_a = moved(&phone_b, &one);
        let r = phone_a
            .post(
                "/fn/verify_code",
                &[("slug", "demo"), ("code", code.as_str()), ("terms", "on")],
            )
            .await;
        assert!(
            location(&r).contains("error="),
            "{db}: the right code after five wrong ones over two processes: {}",
            location(&r)
        );
        let (members,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM members")
            .fetch_one(one._db.db.pool())
            .await
            .unwrap();
        assert_eq!(members, 0, "{db}: nobody joined");
        drop(phone_a);
        drop(phone_b);
        drop(two);
        one.finish().await;
    }
}

#[both_databases]
async fn wrong_staff_passwords_lock_the_account_across_two_processes() {
    for (db, one) in apps(&[]).await {
        common::console_staff(&one).await;
        let two = one.twin();
        for i in 0..5 {
            let app = if i % 2 == 0 { &one } else { &two };
            let r = Browser::new(app)
                .post(
                    "/fn/staff_sign_in",
                    &[("login", "boss"), ("password", "guess")],
                )
                .await;
            assert!(location(&r).contains("error="), "{db}: guess {i}");
        }
        for app in [&one, &two] {
            let r = Browser::new(app)
                .post(
                    "/fn/staff_sign_in",
                    &[
                        ("login", "boss"),
                        ("password", STAFF_PASSWORD),
                        ("next", "/admin/feedback"),
                    ],
                )
                .await;
            assert!(
                location(&r).starts_with("/admin?error="),
                "{db}: the locked account opens on neither process: {}",
                location(&r)
            );
        }
        drop(two);
        one.finish().await;
    }
}

#[both_databases]
async fn feedback_is_limited_per_member_across_two_processes() {
    for (db, one) in apps(&[]).await {
        let two = one.twin();
        let mut on_one = Browser::new(&one);
        on_one.join("13800138000", true).await;
        let mut on_two = moved(&on_one, &two);
        let mut accepted = 0;
        for i in 0..(loyalty::feedback::PER_MEMBER_PER_HOUR + 3) {
            let b = if i % 2 == 0 { &mut on_one } else { &mut on_two };
            let r = b
                .post(
                    "/fn/send_feedback",
                    &[("slug", "demo"), ("nps", "9"), ("comment", "好吃")],
                )
                .await;
            if location(&r).starts_with("/r/demo/feedback/thanks") {
                accepted += 1;
            } else {
                assert!(location(&r).contains("error="), "{db}: {}", location(&r));
            }
        }
        assert_eq!(
            accepted,
            loyalty::feedback::PER_MEMBER_PER_HOUR,
            "{db}: the hourly limit holds over both processes"
        );
        drop(on_one);
        drop(on_two);
        drop(two);
        one.finish().await;
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TABLECARD_TEST_POSTGRES_URL (make test then runs it)"]
async fn an_api_key_limit_holds_across_two_processes_on_postgres() {
    let db = TestDb::postgres().await;
    let one = spawn_app_on(db, &[("TABLECARD_API_RATE_PER_MINUTE", "4")], false).await;
    let two = one.twin();
    let minute = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 60
    };
    loop {
        // A fresh key each try: a try that straddles a minute boundary
        // sees a new window open, and is run again.
        let key = common::api_key(&one, "demo").await;
        let started = minute();
        let mut passed = 0;
        for i in 0..10 {
            let app = if i % 2 == 0 { &one } else { &two };
            let r = app
                .send(
                    Request::get("/api/v1/members/lookup?member=00000000")
                        .header(header::AUTHORIZATION, format!("Bearer {key}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            match r.status() {
                StatusCode::TOO_MANY_REQUESTS => {}
                StatusCode::NOT_FOUND => passed += 1,
                other => panic!("lookup {i}: {other}"),
            }
        }
        if minute() != started {
            continue;
        }
        assert_eq!(passed, 4, "four a minute, over both processes together");
        break;
    }
    drop(two);
    one.finish().await;
}

/// A form posted through a proxy that wrote these X-Forwarded-For lines.
async fn via_proxy(
    app: &TestApp,
    lines: &[String],
    path: &str,
    body: String,
) -> axum::response::Response {
    let mut req = Request::post(path)
        .header(header::HOST, "localhost")
        .header(header::ORIGIN, "http://localhost")
        .header(header::ACCEPT, "text/html")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for line in lines {
        req = req.header("x-forwarded-for", line);
    }
    app.send(req.body(Body::from(body)).unwrap()).await
}

/// Behind a proxy, the per-address limit on sign-in codes counts the address
/// the proxy saw, whatever the client writes into X-Forwarded-For: with
/// HAProxy's `option forwardfor` (the proxy's own line after the client's)
/// and with nginx's `$proxy_add_x_forwarded_for` (appended to the client's
/// line). Reading the first line gave the client a fresh address each time,
/// and so codes to any number of phones.
#[both_databases]
async fn a_forged_forwarding_header_does_not_escape_the_per_address_code_limit() {
    let vars = [("TABLECARD_CLIENT_IP_HEADER", "X-Forwarded-For")];
    for (db, app) in apps(&vars).await {
        let ask = |i: usize, lines: Vec<String>| {
            let body = format!("slug=demo&country=86&phone=1370013{i:04}");
            let app = &app;
            async move { via_proxy(app, &lines, "/fn/request_code", body).await }
        };
        let mut refused = Vec::new();
        for i in 0..24 {
            let forged = format!("198.51.100.{i}");
            let lines = if i % 2 == 0 {
                vec![forged, "203.0.113.9".to_owned()]
            } else {
                vec![format!("{forged}, 203.0.113.9")]
            };
            let r = ask(i, lines).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{db}");
            if location(&r).contains("error=") {
                refused.push(location(&r).to_owned());
            }
        }
        assert_eq!(
            app.sender.count(),
            20,
            "{db}: twenty codes an hour from one address"
        );
        assert_eq!(refused.len(), 4, "{db}: {refused:?}");
        assert!(
            refused.iter().all(|l| l.contains("error=code_")),
            "{db}: {refused:?}"
        );
        // Another client behind the same proxy is not held by that limit.
        let r = ask(99, vec!["203.0.113.10".to_owned()]).await;
        assert_eq!(location(&r), "/r/demo/join?sent=1", "{db}");
        app.finish().await;
    }
}

/// A staff sign-in form from `from`; where it sent the browser.
async fn attempt(app: &TestApp, from: &str, login: &str, password: &str) -> String {
    let body = format!("login={login}&password={}", password.replace(' ', "+"));
    location(&via_proxy(app, &[from.to_owned()], "/fn/staff_sign_in", body).await)
}

/// One address gets thirty staff sign-in attempts in ten minutes, whatever
/// logins it tries, across processes; the thirty-first is refused before any
/// password is hashed, the right one included, and staff elsewhere sign in.
#[both_databases]
async fn staff_sign_ins_are_limited_per_address_across_two_processes() {
    let vars = [("TABLECARD_CLIENT_IP_HEADER", "X-Forwarded-For")];
    for (db, one) in apps(&vars).await {
        common::console_staff(&one).await;
        let two = one.twin();
        for i in 0..30 {
            let app = if i % 2 == 0 { &one } else { &two };
            let to = attempt(app, "203.0.113.9", &format!("guess.{i}"), "wrong").await;
            assert!(to.contains("error=staff_sign_in_failed"), "{db}: {to}");
        }
        let to = attempt(&one, "203.0.113.9", "boss", STAFF_PASSWORD).await;
        assert!(to.contains("error=sign_in_too_often"), "{db}: {to}");
        let to = attempt(&two, "203.0.113.10", "boss", STAFF_PASSWORD).await;
        assert_eq!(
            to, "/admin/dashboard",
            "{db}: the owner, elsewhere, was never locked"
        );
        drop(two);
        one.finish().await;
    }
}

/// A brand's day of sign-in codes is its SMS budget: past it, a diner is
/// told in their language to ask the staff, and the owner's dashboard
/// warns from 80 % of it.
#[both_databases]
async fn past_its_daily_code_budget_a_brand_sends_none_and_the_dashboard_says_so() {
    for (db, app) in apps(&[("TABLECARD_CODE_BUDGET_PER_DAY", "2")]).await {
        common::console_staff(&app).await;
        let mut boss = common::staff_browser(&app, "boss").await;
        assert!(
            !boss
                .page("/admin/dashboard")
                .await
                .contains("验证码：今天已发送"),
            "{db}"
        );
        for (i, phone) in ["13700137000", "13700137001"].iter().enumerate() {
            let lines = vec![format!("203.0.113.{i}")];
            let body = format!("slug=demo&country=86&phone={phone}");
            let r = via_proxy(&app, &lines, "/fn/request_code", body).await;
            assert_eq!(location(&r), "/r/demo/join?sent=1", "{db}");
        }
        let mut diner = Browser::new(&app);
        let r = diner.request_code("13700137002").await;
        assert!(
            location(&r).contains("error=code_budget_spent"),
            "{db}: {}",
            location(&r)
        );
        let page = diner.page(&location(&r)).await;
        assert!(page.contains("本店今天的验证码已发完"), "{db}");
        assert_eq!(app.sender.count(), 2, "{db}");
        let dash = boss.page("/admin/dashboard").await;
        assert!(dash.contains("验证码：今天已发送 2 / 2 条"), "{db}");
        app.finish().await;
    }
}
