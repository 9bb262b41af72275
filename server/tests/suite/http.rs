//! The real router over a fresh database, spoken to in HTTP.

use crate::common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{body_text, header_str, spawn_app, spawn_app_with_site};

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let health = app.get("/healthz", &[]).await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(body_text(health).await, "ok");
    let ready = app.get("/readyz", &[]).await;
    assert_eq!(ready.status(), StatusCode::OK);
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app._db.db.close().await;
    let ready = app.get("/readyz", &[]).await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
async fn a_forged_visit_cookie_is_ignored() {
    let app = spawn_app().await;
    let html = body_text(app.get("/r/demo", &[("cookie", "tc_visit=1.1")]).await).await;
    assert!(!html.contains("号桌"));
}

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
async fn responses_are_compressed_for_browsers_that_accept_it() {
    let app = spawn_app().await;
    let br = app.get("/r/demo", &[("accept-encoding", "br")]).await;
    assert_eq!(header_str(&br, header::CONTENT_ENCODING), "br");
    let gzip = app.get("/r/demo", &[("accept-encoding", "gzip")]).await;
    assert_eq!(header_str(&gzip, header::CONTENT_ENCODING), "gzip");
}

#[tokio::test]
async fn hashed_assets_are_served_precompressed_and_cached_for_a_year() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("tablecard.abc.js"), "console.log('plain')").unwrap();
    std::fs::write(pkg.join("tablecard.abc.js.br"), "brotli bytes").unwrap();
    let app = spawn_app_with_site(site.path().to_str().unwrap(), true).await;

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

#[tokio::test]
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

#[tokio::test]
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
#[tokio::test]
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
