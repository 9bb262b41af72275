//! The real router over a fresh database, spoken to in HTTP.

use crate::common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{body_text, header_str, spawn_app, spawn_app_with_site};

#[both_databases]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let health = app.get("/healthz", &[]).await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(body_text(health).await, "ok");
    let ready = app.get("/readyz", &[]).await;
    assert_eq!(ready.status(), StatusCode::OK);
}

#[both_databases]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app._db.db.close().await;
    let ready = app.get("/readyz", &[]).await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[both_databases]
async fn the_brand_portal_renders_in_chinese_by_default() {
    let app = spawn_app().await;
    let response = app.get("/r/demo", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_text(response).await;
    assert!(html.contains("lang=\"zh-CN\""), "html lang missing");
    assert!(html.contains("山野小馆"));
    assert!(html.contains("加入会员 / 登录"));
    assert!(html.contains("href=\"/r/demo/join\""));
}

#[both_databases]
async fn accept_language_chooses_english_or_traditional_chinese() {
    let app = spawn_app().await;
    let en = body_text(
        app.get("/r/demo", &[("accept-language", "en-GB,en;q=0.8")])
            .await,
    )
    .await;
    assert!(en.contains("Join / Sign in"));
    assert!(en.contains("lang=\"en\""));
    let tw = body_text(app.get("/r/demo", &[("accept-language", "zh-HK")]).await).await;
    assert!(tw.contains("加入會員 / 登入"));
}

#[both_databases]
async fn the_language_cookie_beats_the_browser() {
    let app = spawn_app().await;
    let html = body_text(
        app.get(
            "/r/demo",
            &[("accept-language", "en"), ("cookie", "tc_lang=zh-TW")],
        )
        .await,
    )
    .await;
    assert!(html.contains("lang=\"zh-TW\""));
}

#[both_databases]
async fn choosing_a_language_sets_a_cookie_and_returns_to_the_page() {
    let app = spawn_app().await;
    let response = app
        .send(
            Request::post("/lang")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("lang=en&next=%2Fr%2Fdemo"))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(header_str(&response, header::LOCATION), "/r/demo");
    let cookie = header_str(&response, header::SET_COOKIE);
    assert!(cookie.starts_with("tc_lang=en"), "{cookie}");
    assert!(cookie.contains("Max-Age=31536000"), "{cookie}");
}

#[both_databases]
async fn choosing_a_language_returns_to_the_page_with_its_query() {
    let app = spawn_app().await;
    let page = "/r/demo/join?phone=13800138000&sent=1";
    let html = body_text(app.get(page, &[]).await).await;
    let escaped = page.replace('&', "&amp;");
    assert!(
        html.contains(&format!("name=\"next\" value=\"{escaped}\"")),
        "the language form should come back to {page}: {html}"
    );
    let response = app
        .send(
            Request::post("/lang")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(
                    "lang=en&next=%2Fr%2Fdemo%2Fjoin%3Fphone%3D13800138000%26sent%3D1",
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(header_str(&response, header::LOCATION), page);
}

#[both_databases]
async fn the_language_form_never_redirects_off_site() {
    let app = spawn_app().await;
    for next in [
        "%2F%2Fevil.example",
        "https%3A%2F%2Fevil.example",
        "%2F%5Cevil.example",
    ] {
        let response = app
            .send(
                Request::post("/lang")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(format!("lang=en&next={next}")))
                    .unwrap(),
            )
            .await;
        assert_eq!(header_str(&response, header::LOCATION), "/", "next={next}");
    }
}

#[both_databases]
async fn a_table_link_remembers_the_table_and_redirects_to_the_portal() {
    let app = spawn_app().await;
    let token = app.table_token();
    let response = app.get(&format!("/t/{token}"), &[]).await;
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(header_str(&response, header::LOCATION), "/r/demo");
    let set_cookie = header_str(&response, header::SET_COOKIE).to_owned();
    assert!(set_cookie.starts_with("tc_visit="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"));
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let html = body_text(app.get("/r/demo", &[("cookie", &cookie)]).await).await;
    let table = &app.seed.tables[0];
    assert!(
        html.contains(&format!("您在{} · {} 号桌", table.store, table.label)),
        "the landing page should show where the diner sits"
    );
}

#[both_databases]
async fn a_forged_visit_cookie_is_ignored() {
    let app = spawn_app().await;
    for forged in [
        "tc_visit=1.1",
        "tc_visit=",
        "tc_visit=%FF%FE",
        "tc_visit=demo.A1.extra",
    ] {
        let response = app.get("/r/demo", &[("cookie", forged)]).await;
        assert_eq!(response.status(), StatusCode::OK, "{forged}");
        let html = body_text(response).await;
        assert!(
            html.contains("加入会员 / 登录"),
            "{forged}: the landing page as usual"
        );
        assert!(
            !html.contains("号桌"),
            "{forged}: no table the visitor did not scan"
        );
    }
}

#[both_databases]
async fn unknown_brands_tables_and_pages_get_a_friendly_404() {
    let app = spawn_app().await;
    for path in [
        "/r/no-such-brand",
        "/r/Bad Slug!",
        "/t/0000000000000000000000zzzz",
        "/t/short",
        "/no/such/page",
    ] {
        let path = path.replace(' ', "%20");
        let response = app.get(&path, &[]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let html = body_text(response).await;
        assert!(html.contains("找不到这个页面"), "{path}");
        assert!(html.contains("请重新扫描桌上的二维码"), "{path}");
    }
    let en = app.get("/r/nobody", &[("accept-language", "en")]).await;
    assert_eq!(en.status(), StatusCode::NOT_FOUND);
    let html = body_text(en).await;
    assert!(
        html.contains("find that page"),
        "the 404 speaks the diner's language"
    );
}

#[both_databases]
async fn pages_carry_security_headers_and_a_per_response_script_nonce() {
    let app = spawn_app().await;
    let response = app.get("/r/demo", &[]).await;
    assert_eq!(
        header_str(&response, header::X_CONTENT_TYPE_OPTIONS),
        "nosniff"
    );
    assert_eq!(
        header_str(&response, header::REFERRER_POLICY),
        "strict-origin-when-cross-origin"
    );
    assert!(!header_str(&response, "x-request-id".parse().unwrap()).is_empty());
    let csp = header_str(&response, header::CONTENT_SECURITY_POLICY).to_owned();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("script-src carries a nonce")
        .to_owned();
    let html = body_text(response).await;
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the loader script must carry the CSP nonce"
    );
    let again = app.get("/r/demo", &[]).await;
    assert!(!header_str(&again, header::CONTENT_SECURITY_POLICY).contains(&nonce));
}

#[both_databases]
async fn responses_are_compressed_for_browsers_that_accept_it() {
    use std::io::Read;
    let app = spawn_app().await;
    let bytes = |r: axum::response::Response| async move {
        axum::body::to_bytes(r.into_body(), 4 * 1024 * 1024)
            .await
            .unwrap()
    };
    // The page a phone gets, whole once decoded, whichever coding it takes.
    let whole = |page: String| {
        assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
        assert!(page.contains("</html>"), "{page}");
    };
    // What a phone's browser offers: a page goes as gzip, cheaper to make
    // than brotli for a few kilobytes (`server::compress`).
    let gzip = app
        .get("/r/demo", &[("accept-encoding", "gzip, deflate, br, zstd")])
        .await;
    assert_eq!(header_str(&gzip, header::CONTENT_ENCODING), "gzip");
    assert!(header_str(&gzip, header::VARY).contains("accept-encoding"));
    let mut page = String::new();
    flate2::read::GzDecoder::new(&bytes(gzip).await[..])
        .read_to_string(&mut page)
        .unwrap();
    whole(page);

    let br = app.get("/r/demo", &[("accept-encoding", "br")]).await;
    assert_eq!(header_str(&br, header::CONTENT_ENCODING), "br");
    let mut page = String::new();
    brotli::Decompressor::new(&bytes(br).await[..], 4096)
        .read_to_string(&mut page)
        .unwrap();
    whole(page);

    let plain = app.get("/r/demo", &[]).await;
    assert_eq!(header_str(&plain, header::CONTENT_ENCODING), "");
    whole(body_text(plain).await);

    // A short answer goes as it is, by neither compressor: it would save
    // next to nothing and cost a compressor's setup.
    let short = app
        .get(
            "/api/v1/members/lookup?member=1",
            &[("accept-encoding", "br")],
        )
        .await;
    assert_eq!(short.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header_str(&short, header::CONTENT_ENCODING), "");
    let problem: serde_json::Value = serde_json::from_str(&body_text(short).await).unwrap();
    assert!(problem["code"].is_string(), "{problem}");
}

#[both_databases]
async fn hashed_assets_are_served_precompressed_and_cached_for_a_year() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("tablecard.abc.js"), "console.log('plain')").unwrap();
    std::fs::write(pkg.join("tablecard.abc.js.br"), "brotli bytes").unwrap();
    std::fs::write(
        site.path().join("hash.txt"),
        "js: abc\nwasm: abd\ncss: abe\n",
    )
    .unwrap();
    let app = spawn_app_with_site(site.path().to_str().unwrap(), true).await;

    // A page names the files of this build, twice in a row (the second from
    // what the server remembers of hash.txt).
    for _ in 0..2 {
        let page = body_text(app.get("/r/demo", &[]).await).await;
        assert!(page.contains("href=\"/pkg/tablecard.abe.css\""), "{page}");
        assert!(page.contains("/pkg/tablecard.abc.js"), "{page}");
    }

    let br = app
        .get("/pkg/tablecard.abc.js", &[("accept-encoding", "br")])
        .await;
    assert_eq!(br.status(), StatusCode::OK);
    assert_eq!(header_str(&br, header::CONTENT_ENCODING), "br");
    assert_eq!(
        header_str(&br, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(body_text(br).await, "brotli bytes");

    let plain = app.get("/pkg/tablecard.abc.js", &[]).await;
    assert_eq!(body_text(plain).await, "console.log('plain')");
    let missing = app.get("/pkg/nope.js", &[]).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[both_databases]
async fn a_brand_speaks_its_default_language_when_the_browser_names_none_we_have() {
    let app = spawn_app().await;
    let mut conn = app._db.db.pool().acquire().await.unwrap();
    loyalty::brands::create(
        &mut conn,
        &loyalty::SystemClock,
        loyalty::brands::NewBrand {
            slug: loyalty::brands::BrandSlug::parse("harbour").unwrap(),
            name: "Harbour Kitchen".into(),
            theme_color: loyalty::brands::ThemeColor::parse("#1d5b79").unwrap(),
            default_language: loyalty::brands::Language::En,
        },
    )
    .await
    .unwrap();
    let html = body_text(
        app.get("/r/harbour", &[("accept-language", "fr-FR,de;q=0.8")])
            .await,
    )
    .await;
    assert!(html.contains("lang=\"en\""));
    assert!(html.contains("Join / Sign in"));
    assert!(
        html.contains("--brand: #1d5b79"),
        "the brand's colour themes the page"
    );
    let zh = body_text(app.get("/r/harbour", &[("accept-language", "zh-CN")]).await).await;
    assert!(
        zh.contains("加入会员 / 登录"),
        "a browser asking for Chinese gets Chinese"
    );
}

#[both_databases]
async fn an_oversized_body_is_413_before_any_handler_reads_it() {
    let app = spawn_app().await;
    let huge = format!("slug=demo&nps=9&comment={}", "a".repeat(200 * 1024));
    let response = app
        .send(
            Request::post("/fn/send_feedback")
                .header(header::HOST, "localhost")
                .header(header::ORIGIN, "http://localhost")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::CONTENT_LENGTH, huge.len())
                .body(Body::from(huge))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// A file served while a page is still loading on the same thread used to
/// open its reactive owner under that page's and take the page's response
/// headers: the page then went out without its CSP (the browser blocked its
/// scripts) and the file carried the page's nonce, cookies or redirect.
#[both_databases]
async fn a_file_served_while_a_page_loads_leaves_the_page_its_headers() {
    use std::future::Future;
    use tower::ServiceExt;

    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("icon.svg"), "<svg/>").unwrap();
    let app = spawn_app_with_site(site.path().to_str().unwrap(), false).await;
    let page = app
        .router
        .clone()
        .oneshot(Request::get("/r/demo").body(Body::empty()).unwrap());
    let mut page = std::pin::pin!(page);
    // One poll: the shell has run (and set the page's CSP), the page waits
    // for the database.
    let pending =
        std::future::poll_fn(|cx| std::task::Poll::Ready(page.as_mut().poll(cx).is_pending()))
            .await;
    assert!(pending, "the page must still be loading");
    let icon = app.get("/icon.svg", &[]).await;
    assert_eq!(icon.status(), StatusCode::OK);
    let page = page.await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        header_str(&page, header::CONTENT_SECURITY_POLICY).contains("'nonce-"),
        "the page lost its CSP: {:?}",
        page.headers().get(header::CONTENT_SECURITY_POLICY)
    );
    assert!(!header_str(&icon, header::CONTENT_SECURITY_POLICY).contains("'nonce-"));
    assert!(icon.headers().get(header::SET_COOKIE).is_none());
}

/// The script policy of a response, and the nonce in it.
fn script_policy(response: &axum::response::Response) -> (String, String) {
    let csp = header_str(response, header::CONTENT_SECURITY_POLICY).to_owned();
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src "))
        .unwrap_or_default()
        .to_owned();
    let nonce = script_src
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_default()
        .to_owned();
    (csp, nonce)
}

#[both_databases]
async fn every_page_runs_only_scripts_carrying_its_own_nonce() {
    let app = spawn_app().await;
    common::console_staff(&app).await;
    let mut member = common::Browser::new(&app);
    member.join("13800138000", true).await;
    let (no, coupon): (String, String) = sqlx::query_as(
        "SELECT m.member_no, c.code FROM members m JOIN coupons c ON c.member_id = m.id LIMIT 1",
    )
    .fetch_one(app._db.db.pool())
    .await
    .unwrap();
    let (store,): (i64,) = sqlx::query_as("SELECT MIN(id) FROM stores")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    let store = store.to_string();
    let mut owner = common::staff_browser(&app, "boss").await;
    let mut pages = 0;
    for (method, path) in server::http::route_list() {
        let is_page = method == axum::http::Method::GET
            && !path.starts_with("/api/")
            && !path.contains('.')
            && !path.ends_with("/logo")
            && !path.contains("/invite/")
            && !path.ends_with("/me/export")
            && !["/healthz", "/readyz", "/metrics"].contains(&path.as_str());
        if !is_page {
            continue;
        }
        let target = common::fill_route(
            &path,
            &[
                ("brand", "demo"),
                ("code", coupon.as_str()),
                ("token", app.table_token().as_str()),
                ("no", no.as_str()),
                ("id", store.as_str()),
            ],
        );
        let browser = if target.starts_with("/admin") {
            &mut owner
        } else {
            &mut member
        };
        let response = browser.get(&target).await;
        let status = response.status();
        let (csp, nonce) = script_policy(&response);
        assert!(
            csp.contains("frame-ancestors") && csp.contains("object-src 'none'"),
            "{target}: {csp}"
        );
        if !status.is_success() {
            assert!(status.is_redirection(), "{target}: {status}");
            continue;
        }
        pages += 1;
        assert!(
            header_str(&response, header::CACHE_CONTROL).contains("no-store"),
            "{target}: a page for one visitor is not cached"
        );
        assert!(!nonce.is_empty(), "{target}: no nonce in {csp}");
        assert!(
            !csp.contains("'unsafe-inline' 'nonce") && !csp.contains("script-src 'unsafe-inline'"),
            "{target}: {csp}"
        );
        let html = body_text(response).await;
        for tag in html.split("<script").skip(1) {
            let open = &tag[..tag.find('>').unwrap_or(tag.len())];
            assert!(
                open.contains(&format!("nonce=\"{nonce}\"")),
                "{target}: a script without this response's nonce: <script{open}>"
            );
        }
        // Inline handlers and javascript: links never run under this policy,
        // so a page that used one would be broken.
        let lower = html.to_lowercase();
        for banned in [
            " onclick=",
            " onload=",
            " onerror=",
            " onsubmit=",
            "javascript:",
        ] {
            assert!(!lower.contains(banned), "{target}: {banned}");
        }
    }
    assert!(pages >= 28, "only {pages} pages rendered");
    // The 404 page too.
    let response = member.get("/no-such-page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (_, nonce) = script_policy(&response);
    let html = body_text(response).await;
    assert!(html
        .split("<script")
        .skip(1)
        .all(|t| t.contains(&format!("nonce=\"{nonce}\""))));
}

#[both_databases]
async fn hsts_is_sent_over_https_only() {
    let plain = spawn_app().await;
    let r = plain.get("/r/demo", &[]).await;
    assert!(r.headers().get(header::STRICT_TRANSPORT_SECURITY).is_none());
    let https = common::spawn_app_with(&[
        ("TABLECARD_PUBLIC_URL", "https://card.example.com"),
        ("TABLECARD_CODE_DELIVERY", "log"),
    ])
    .await;
    for path in [
        "/r/demo",
        "/healthz",
        "/api/v1/openapi.json",
        "/no-such-page",
    ] {
        let r = https.get(path, &[]).await;
        assert_eq!(
            header_str(&r, header::STRICT_TRANSPORT_SECURITY),
            "max-age=31536000",
            "{path}"
        );
    }
    // Over HTTPS every cookie is Secure: the table visit and the language
    // as well as the sessions.
    let mut phone = common::Browser::new(&https);
    phone.get(&format!("/t/{}", https.table_token())).await;
    let mut set = phone.last_set_cookies.clone();
    phone
        .post("/lang", &[("lang", "en"), ("next", "/r/demo")])
        .await;
    set.extend(phone.last_set_cookies.clone());
    assert!(set.iter().any(|c| c.starts_with("tc_visit=")), "{set:?}");
    assert!(set.iter().any(|c| c.starts_with("tc_lang=")), "{set:?}");
    for cookie in &set {
        assert!(cookie.contains("Secure"), "{cookie}");
    }
}

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[both_databases]
async fn logs_at_every_level_hold_no_phone_code_password_key_or_session() {
    let buffer = LogBuffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        // No timestamps: their digits could hold a six-digit code by chance.
        .without_time()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // tracing-core caches "nobody listens" for a callsite first reached on a
    // thread without a subscriber (other tests, in parallel) when only one
    // dispatcher exists (tokio-rs/tracing#3611). A second one, and a rebuild
    // of the cache, make every callsite ask this subscriber again.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    tracing::callsite::rebuild_interest_cache();

    let app = spawn_app().await;
    common::console_staff(&app).await;
    // A member joins, signs in, gives feedback with a contact number.
    let mut member = common::Browser::new(&app);
    member.join("13800138000", true).await;
    let code = app.sender.last_code("+8613800138000").unwrap();
    member
        .post(
            "/fn/send_feedback",
            &[
                ("slug", "demo"),
                ("nps", "2"),
                ("comment", "slow"),
                ("contact_phone", "13911112222"),
            ],
        )
        .await;
    // Someone tries a wrong code for another phone.
    let mut stranger = common::Browser::new(&app);
    stranger.request_code("13733334444").await;
    let join = stranger.last_set_cookies.clone();
    assert!(join.iter().any(|c| c.starts_with("tc_join=")), "{join:?}");
    assert!(
        join.iter().all(|c| !c.contains("13733334444")),
        "the phone waiting for its code is encrypted in its cookie: {join:?}"
    );
    stranger.verify("999999").await;
    // Staff sign in, one with a wrong password.
    let owner = common::staff_browser(&app, "boss").await;
    common::Browser::new(&app)
        .post(
            "/fn/staff_sign_in",
            &[("login", "boss"), ("password", "a wrong horse battery")],
        )
        .await;
    // The POS looks the member up by phone and records a purchase, and a
    // wrong key is tried.
    let key = common::api_key(&app, "demo").await;
    let lookup = app
        .get(
            "/api/v1/members/lookup?phone=%2B8613800138000",
            &[("authorization", &format!("Bearer {key}"))],
        )
        .await;
    assert_eq!(lookup.status(), StatusCode::OK);
    let purchase = app
        .send(
            Request::post("/api/v1/purchases")
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .header(header::CONTENT_TYPE, "application/json")
                .header("idempotency-key", "log-test-1")
                .body(Body::from(
                    r#"{"order_id":"L1","member":{"phone":"+8613800138000"},"amount_fen":5000}"#,
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(purchase.status(), StatusCode::OK);
    let wrong = app
        .get(
            "/api/v1/members/lookup?phone=%2B8613800138000",
            &[("authorization", &format!("Bearer {key}x"))],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // A diner scans the table's code; the member opens a coupon to show it.
    let table = app.table_token();
    common::Browser::new(&app).get(&format!("/t/{table}")).await;
    let wallet = member.page("/r/demo/coupons").await;
    let coupon = (wallet.split("href=\"/r/demo/coupons/").nth(1))
        .and_then(|s| s.split('"').next())
        .expect("the demo's welcome coupon")
        .to_owned();
    let opened = member.get(&format!("/r/demo/coupons/{coupon}")).await;
    assert_eq!(opened.status(), StatusCode::OK);

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("request") && logs.lines().count() > 10,
        "the logs were captured: {} lines",
        logs.lines().count()
    );
    let mut secrets = vec![
        "13800138000".to_owned(),
        "13911112222".to_owned(),
        "13733334444".to_owned(),
        code,
        common::STAFF_PASSWORD.to_owned(),
        "a wrong horse battery".to_owned(),
        key.clone(),
        key[key.len() - 12..].to_owned(),
        "http-test-secret-key".to_owned(),
        table,
        coupon,
    ];
    secrets.extend(member.cookies.values().filter(|v| v.len() > 16).cloned());
    secrets.extend(owner.cookies.values().filter(|v| v.len() > 16).cloned());
    for secret in &secrets {
        let line = logs.lines().find(|l| l.contains(secret.as_str()));
        assert!(line.is_none(), "{secret} is in the log: {}", line.unwrap());
    }
}
