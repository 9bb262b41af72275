//! The axum application: portal pages, static assets, health checks and the
//! middleware every response passes through.

use app::error::AppError;
use app::i18n::I18nLocaleTrait as _;
use app::server::PortalState;
use app::{shell, App};
use axum::extract::{FromRef, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Form, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use serde::Deserialize;
use std::sync::LazyLock;

use crate::config::{CodeDelivery, Config};
use tower_http::compression::predicate::{DefaultPredicate, Predicate as _};
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// Everything the server's handlers and middleware share. Each request
/// takes a handle per middleware that reads it: a reference count, not a
/// copy of the options, keys and strings inside.
#[derive(Clone)]
pub struct AppState(std::sync::Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Changed only while the server is being set up (and by tests), before
/// any request shares it.
impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut Shared {
        std::sync::Arc::make_mut(&mut self.0)
    }
}

/// What [`AppState`] shares.
#[derive(Clone)]
pub struct Shared {
    pub leptos: LeptosOptions,
    pub portal: PortalState,
    /// The header a trusted reverse proxy puts the client's address in.
    pub client_ip_header: Option<String>,
    /// The proxies that header passes through.
    pub trusted_proxies: crate::client_ip::TrustedProxies,
    /// Origins besides the request's own host that may post forms.
    pub public_origin: Option<String>,
    /// The POS API's requests per minute per key.
    pub api_limiter: crate::api::RateLimiter,
    /// The secret in the SMS providers' reply-callback addresses.
    pub inbound_token: Option<String>,
    /// The operator's bearer token for `/metrics` on this address.
    pub metrics_token: Option<String>,
    /// What is known of the scheduled backups (SQLite).
    pub backups: Option<crate::backups::Status>,
}

impl AppState {
    /// The state `serve` runs with: the configured secret, code delivery and
    /// cookie security around an open database.
    pub fn new(config: &Config, db: loyalty::Db) -> AppState {
        let secret = server_secret(config);
        let sender: std::sync::Arc<dyn loyalty::marketing::delivery::Sender> =
            match &config.code_delivery {
                CodeDelivery::Log => std::sync::Arc::new(loyalty::marketing::delivery::LogSender),
                CodeDelivery::Webhook { url, secret } => std::sync::Arc::new(
                    crate::sms::webhook::WebhookSender::new(url.clone(), secret.clone()),
                ),
                CodeDelivery::Aliyun(c) => {
                    std::sync::Arc::new(crate::sms::aliyun::AliyunSender::new(c.clone()))
                }
                CodeDelivery::Tencent(c) => {
                    std::sync::Arc::new(crate::sms::tencent::TencentSender::new(c.clone()))
                }
            };
        let backend = db.backend();
        // The recorder is in place before the first request is counted.
        crate::metrics::handle();
        let mut portal = PortalState::new(db, cookie_key(config), secret, sender);
        portal.previous_cookie_keys = config
            .previous_secret_keys
            .iter()
            .map(|k| cookie::Key::derive_from(k.as_bytes()))
            .collect();
        portal.secure_cookies = config.secure_cookies();
        portal.public_url = config.public_url();
        portal.otp.per_brand_per_day = config.code_budget_per_day;
        AppState(std::sync::Arc::new(Shared {
            leptos: leptos_options(config),
            portal,
            client_ip_header: config.client_ip_header.clone(),
            trusted_proxies: config.trusted_proxies.clone(),
            public_origin: config.public_url.clone(),
            api_limiter: crate::api::RateLimiter::per_minute(config.api_rate_per_minute, backend),
            inbound_token: config.sms_inbound_token.clone(),
            metrics_token: config.metrics_token.clone(),
            backups: config
                .backups
                .as_ref()
                .map(|s| crate::backups::Status::from_dir(&s.dir)),
        }))
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// The app's routes, worked out once per process. Leptos finds them by
/// rendering the app with resource loading switched off through a
/// process-wide flag (leptos issue 4773): a page that starts loading data on
/// another thread at that moment waits forever. Built once, before the first
/// router exists, the list can never overlap a request; the HTTP tests, which
/// build a router per test on parallel threads, used to hang on it.
static ROUTES: LazyLock<Vec<AxumRouteListing>> = LazyLock::new(|| generate_route_list(App));

/// The handlers that are neither pages, server functions nor the POS API,
/// each with the one method it answers. The router mounts exactly these, and
/// the security sweep calls every one of them.
fn plain_routes() -> [(&'static str, Method, MethodRouter<AppState>); 16] {
    [
        ("/healthz", Method::GET, get(healthz)),
        ("/metrics", Method::GET, get(crate::metrics::on_site)),
        ("/readyz", Method::GET, get(readyz)),
        ("/lang", Method::POST, post(choose_language)),
        ("/r/{brand}/me/export", Method::GET, get(export_my_data)),
        (
            "/r/{brand}/manifest.webmanifest",
            Method::GET,
            get(brand_manifest),
        ),
        ("/r/{brand}/icon.svg", Method::GET, get(brand_icon)),
        (
            "/admin/stores/{store}/qr.svg",
            Method::GET,
            get(qr_sheet_svg),
        ),
        ("/admin/segments.csv", Method::GET, get(segments_csv)),
        (
            "/admin/stored-value.csv",
            Method::GET,
            get(stored_value_csv),
        ),
        ("/admin/brand/logo", Method::POST, post(upload_logo)),
        (
            IMPORT_UPLOAD,
            Method::POST,
            post(upload_members).layer(axum::extract::DefaultBodyLimit::max(IMPORT_LIMIT)),
        ),
        ("/r/{brand}/logo", Method::GET, get(brand_logo)),
        ("/r/{brand}/invite/{code}", Method::GET, get(follow_invite)),
        (
            "/sms/inbound/aliyun/{token}",
            Method::POST,
            post(crate::sms::inbound::aliyun),
        ),
        (
            "/sms/inbound/tencent/{token}",
            Method::POST,
            post(crate::sms::inbound::tencent),
        ),
    ]
}

/// Everything a request can reach besides static files: every page (GET),
/// every plain handler and every POS API route, as (method, path) with
/// axum's `{param}` placeholders. Server functions are listed by
/// `server_fn`'s own registry.
pub fn route_list() -> Vec<(Method, String)> {
    let pages = ROUTES
        .iter()
        .map(|route| (Method::GET, route.path().to_owned()));
    let plain = plain_routes()
        .into_iter()
        .map(|(path, method, _)| (method, path.to_owned()));
    let api = crate::api::route_list()
        .into_iter()
        .map(|(method, path)| (method, format!("/api/v1{path}")));
    pages.chain(plain).chain(api).collect()
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Everything the server answers, in one place.
pub fn router(state: AppState) -> Router {
    let routes = ROUTES.clone();
    let portal = state.portal.clone();
    let context = move || provide_context(portal.clone());
    let options = state.leptos.clone();
    let hashed_assets = state.leptos.hash_files;
    // `make build` precompresses the bundle with brotli at its best level,
    // a third smaller than compressing on the fly at a speed-friendly level.
    let bundle = ServeDir::new(std::path::Path::new(state.leptos.site_root.as_ref()).join("pkg"))
        .precompressed_br()
        .precompressed_gzip();

    // The site's other files (icons, the console's stylesheet), and the 404
    // page for anything else. Not leptos_axum's `file_and_error_handler`: its
    // file branch opens a reactive owner under whatever page is rendering on
    // the same thread and takes that page's response headers (its CSP,
    // cookies, Location) onto the file.
    let not_found =
        leptos_axum::ErrorHandler::new_with_context(context.clone(), shell, options.clone());
    let files = ServeDir::new(state.leptos.site_root.as_ref())
        .precompressed_br()
        .precompressed_gzip()
        .call_fallback_on_method_not_allowed(true)
        .fallback(not_found);

    let hsts = state
        .portal
        .secure_cookies
        .then(|| HeaderValue::from_static("max-age=31536000"));
    let mut plain = Router::new();
    for (path, _, handler) in plain_routes() {
        plain = plain.route(path, handler);
    }
    plain
        .nest("/api/v1", crate::api::router())
        .nest_service("/pkg", bundle)
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback_service(files)
        .layer(middleware::from_fn(crate::metrics::record))
        .layer(middleware::from_fn(move |req, next| cache_assets(hashed_assets, req, next)))
        .layer(middleware::from_fn_with_state(state.clone(), refuse_cross_site))
        .layer(middleware::from_fn_with_state(state.clone(), allow_brand_embeds))
        .layer(middleware::from_fn_with_state(state.clone(), client_ip))
        // Pages and JSON in one shot, sized to them; the rest streaming.
        .layer(middleware::from_fn(crate::compress::rendered_responses))
        .layer(
            CompressionLayer::new()
                .br(true)
                .gzip(true)
                .compress_when(DefaultPredicate::new().and(crate::compress::not_settled)),
        )
        // No form or POS request comes near this; anything larger is a 413
        // before any handler reads it.
        .layer(middleware::from_fn(refuse_forms_that_are_not_text))
        .layer(middleware::from_fn(limit_body))
        .layer(middleware::from_fn(explain_too_large))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; frame-ancestors 'self'; object-src 'none'; base-uri 'none'"),
        ))
        // Served over HTTPS, browsers are told to never use plain HTTP for
        // this host again (a year; not its subdomains, which a restaurant's
        // other sites may share).
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            move |_: &Response| hsts.clone(),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    let path = logged_path(req.uri().path());
                    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %path)
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// A path as the request log shows it: the bearer values some paths carry
/// (a table's token in `/t/{token}`, a member's coupon code in
/// `/r/{brand}/coupons/{code}`) are cut out, as is everything in a query.
pub fn logged_path(path: &str) -> String {
    let mut segments: Vec<&str> = path.split('/').collect();
    let secret = match segments.as_slice() {
        ["", "t", _, ..] => Some(2),
        ["", "r", _, "coupons", code, ..] if !code.is_empty() => Some(4),
        // The secret address of the SMS providers' reply pushes.
        ["", "sms", "inbound", _, token, ..] if !token.is_empty() => Some(4),
        _ => None,
    };
    if let Some(i) = secret {
        segments[i] = "…";
    }
    segments.join("/")
}

/// The largest request body any form or POS call may send.
const BODY_LIMIT: usize = 64 * 1024;

/// Where the owner's member file goes, and how large it may be (the file,
/// 16 MiB, and the form around it).
use app::routes::member_import::{PAGE_PATH as IMPORT_PAGE, UPLOAD_PATH as IMPORT_UPLOAD};
const IMPORT_FILE_LIMIT: usize = 16 * 1024 * 1024;
const IMPORT_LIMIT: usize = IMPORT_FILE_LIMIT + 64 * 1024;

/// The largest body `path` may receive.
fn body_limit(method: &Method, path: &str) -> usize {
    if method == Method::POST && path == IMPORT_UPLOAD {
        IMPORT_LIMIT
    } else {
        BODY_LIMIT
    }
}

/// Refuses a body declared larger than its route's limit before anything
/// reads it, and cuts off one that keeps coming past it (the extractor
/// reading it answers 413).
async fn limit_body(req: Request, next: Next) -> Response {
    let limit = body_limit(req.method(), req.uri().path());
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let (parts, body) = req.into_parts();
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}

/// A body over the limit is refused by the limit layer (declared size) or
/// by whichever extractor reads past it (a body that keeps coming), each
/// with a bare 413. The POS gets a problem document like every other
/// refusal; a browser gets a page that says what happened.
async fn explain_too_large(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    if req.method() == Method::POST && req.uri().path() == IMPORT_UPLOAD {
        let response = next.run(req).await;
        if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return refused(IMPORT_PAGE, AppError::new("import_size"));
        }
        return response;
    }
    let response = next.run(req).await;
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE
        || response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"application/problem+json"))
    {
        return response;
    }
    if api {
        return crate::api::Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The request body is over {} KiB.", BODY_LIMIT / 1024),
        )
        .into_response();
    }
    failed(AppError::new("payload_too_large").with("kib", BODY_LIMIT / 1024))
}

/// A plain handler's answer to an error, as a page: the status from the one
/// table, the sentence from the locale files; 503 (the database is only
/// unavailable: nothing was changed) comes with Retry-After. A failure of
/// ours is logged where it becomes the edge's error.
fn failed(e: impl Into<AppError>) -> Response {
    let e = e.into();
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut page = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        app::error::plain_page(&e),
    )
        .into_response();
    if e.is_unavailable() {
        page.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    page
}

/// The owner's capability on a plain handler's request; anyone else hears
/// `not_owner`, and the signed-out are sent to sign in and come back `here`.
async fn owner_of(
    portal: &PortalState,
    parts: &axum::http::request::Parts,
    here: &str,
    not_owner: StatusCode,
) -> Result<loyalty::access::Owner, Response> {
    match app::server::staff_from_parts(portal, parts).await {
        Ok(Some(staff)) => staff
            .manager()
            .and_then(|manager| manager.owner())
            .ok_or_else(|| not_owner.into_response()),
        Ok(None) => Err(Redirect::to(&format!("/admin?next={here}")).into_response()),
        Err(e) => Err(failed(e)),
    }
}

/// A refused form of a plain handler: back to the form with the error, as
/// a server function would.
fn refused(back: &str, e: impl Into<AppError>) -> Response {
    match e.into().refused() {
        Ok(e) => Redirect::to(&e.back_to(back)).into_response(),
        Err(e) => failed(e),
    }
}

/// A browser's form is always UTF-8; one that is not was made by hand, and
/// the server functions would fail on it with a 500. It is refused here.
async fn refuse_forms_that_are_not_text(req: Request, next: Next) -> Response {
    let is_form = req.method() == axum::http::Method::POST
        && req.headers().get(header::CONTENT_TYPE).is_some_and(|t| {
            t.as_bytes()
                .starts_with(b"application/x-www-form-urlencoded")
        });
    if !is_form {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
    };
    if std::str::from_utf8(&bytes).is_err() {
        return failed(AppError::new("invalid_form"));
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

pub fn leptos_options(config: &Config) -> LeptosOptions {
    // `cargo xtask site` writes hash.txt into the site it builds when it puts
    // content hashes into the bundle's names; leptos joins this path to the
    // binary's folder, and an absolute path wins that join, so the site and
    // its hashes travel together wherever the binary runs from.
    let hash_file = config.site_root.join("hash.txt");
    let hash_file = std::path::absolute(&hash_file).unwrap_or(hash_file);
    LeptosOptions::builder()
        .output_name("tablecard")
        .site_root(config.site_root.to_string_lossy().as_ref())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .hash_files(hash_file.exists())
        .hash_file(hash_file.to_string_lossy().as_ref().into())
        .build()
}

/// The secret codes, sessions and phone keys are made with: the
/// configured key, else a random one for this process.
pub fn server_secret(config: &Config) -> loyalty::ServerSecret {
    match &config.secret_key {
        Some(key) => loyalty::ServerSecret::from_master(key.as_bytes())
            .with_previous(&config.previous_secret_keys),
        None => loyalty::ServerSecret::random(),
    }
}

pub fn cookie_key(config: &Config) -> cookie::Key {
    match &config.secret_key {
        Some(secret) => cookie::Key::derive_from(secret.as_bytes()),
        None => {
            tracing::warn!("TABLECARD_SECRET_KEY is not set: using a random key, so cookies end with this process");
            cookie::Key::generate()
        }
    }
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: its database answers. The details follow on
/// their own lines (the last scheduled backup); a late backup does not
/// make the server unready.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.portal.db.is_ready().await {
        let mut body = "ready\n".to_owned();
        if let Some(backups) = &state.backups {
            body.push_str(&backups.describe(std::time::SystemTime::now()));
        }
        (StatusCode::OK, body).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

#[derive(Deserialize)]
struct LanguageChoice {
    lang: String,
    next: Option<String>,
}

/// The language menu's form target: remembers the choice for a year and goes
/// back to the page it came from (only ever a path on this site).
async fn choose_language(
    State(state): State<AppState>,
    Form(choice): Form<LanguageChoice>,
) -> Response {
    let next = choice
        .next
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/".into());
    let Ok(locale) = choice.lang.parse::<app::i18n::Locale>() else {
        return Redirect::to(&next).into_response();
    };
    let cookie = cookie::Cookie::build((app::locale::COOKIE, locale.as_str()))
        .path("/")
        .secure(state.portal.secure_cookies)
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::days(365))
        .build();
    let mut response = Redirect::to(&next).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Puts the client's address into the request for the rate limits and the
/// audit log: from the socket, or, behind trusted proxies, from the header
/// they set, read past every address they added (`crate::client_ip`).
async fn client_ip(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = match state.client_ip_header.as_deref() {
        None => peer,
        Some(name) => {
            let lines = req.headers().get_all(name).iter();
            let lines: Vec<&str> = lines.filter_map(|v| v.to_str().ok()).collect();
            crate::client_ip::client_address(lines, peer, &state.trusted_proxies)
        }
    };
    if let Some(ip) = ip {
        req.extensions_mut()
            .insert(app::server::ClientIp(ip.to_string()));
    }
    next.run(req).await
}

/// The brand of a brand's page (`/r/{slug}…`), looked up once for the
/// request: the page finds it in the request (`app::server::find_brand`).
/// Its pages may be framed by the sites its owner allowed: their origins
/// join `frame-ancestors` in the page's CSP. Every other page, and every
/// other site, stays refused by the browser.
async fn allow_brand_embeds(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let slug = req
        .uri()
        .path()
        .strip_prefix("/r/")
        .and_then(|rest| loyalty::brands::BrandSlug::parse(rest.split('/').next()?).ok());
    // Not found, or the database failing: the page looks again and says so.
    let brand = match slug {
        Some(slug) => loyalty::brands::find_by_slug(&state.portal.db, &slug)
            .await
            .ok(),
        None => None,
    };
    if let Some(brand) = &brand {
        req.extensions_mut().insert(brand.clone());
    }
    let mut response = next.run(req).await;
    let Some(brand) = brand else {
        return response;
    };
    if brand.embed_origins.is_empty() {
        return response;
    }
    let headers = response.headers_mut();
    if let Some(csp) = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
    {
        // The origins were checked when saved: scheme, host and port only.
        let allowed = format!("frame-ancestors 'self' {}", brand.embed_origins.join(" "));
        let csp = csp.replace("frame-ancestors 'self'", &allowed);
        if let Ok(v) = HeaderValue::from_str(&csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    response
}

/// Every request that changes state must come from our own pages: a browser
/// names the page's origin, and a form on another site is refused (CSRF).
/// The POS API authenticates with keys, not cookies, and is exempt.
async fn refuse_cross_site(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(
        *req.method(),
        http::Method::GET | http::Method::HEAD | http::Method::OPTIONS
    );
    // The SMS providers' reply pushes carry a secret token in their address.
    let machine =
        req.uri().path().starts_with("/api/") || req.uri().path().starts_with("/sms/inbound/");
    if safe || machine || same_site(&state, &req) {
        return next.run(req).await;
    }
    tracing::warn!(path = %req.uri().path(), "cross-site request refused");
    (StatusCode::FORBIDDEN, "Cross-site request refused.\n").into_response()
}

fn same_site(state: &AppState, req: &Request) -> bool {
    let headers = req.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        if state.public_origin.as_deref() == Some(origin) {
            return true;
        }
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        return matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h));
    }
    // No Origin (older browsers, scripts): fall back to Fetch Metadata.
    !matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        Some("cross-site")
    )
}

#[derive(Deserialize)]
struct BrandPath {
    brand: String,
}

/// "Download my data": everything about the signed-in member, as a file.
async fn export_my_data(
    State(state): State<AppState>,
    axum::extract::Path(BrandPath { brand: slug }): axum::extract::Path<BrandPath>,
    req: Request,
) -> Response {
    let (parts, _) = req.into_parts();
    let portal = &state.portal;
    let brand = match app::server::find_brand(&portal.db, &slug).await {
        Ok(Some(b)) => b,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return failed(e),
    };
    let member = match app::server::member_from_parts(portal, &parts, brand.id).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            let to = format!("/r/{0}/join?next=/r/{0}/me", brand.slug);
            return Redirect::to(&to).into_response();
        }
        Err(e) => return failed(e),
    };
    match loyalty::members::export(&portal.db, &brand, member).await {
        Ok(export) => {
            let file = format!(
                "attachment; filename=\"tablecard-{}-{}.json\"",
                brand.slug,
                export.member.member_no.as_str()
            );
            let mut response = axum::Json(export).into_response();
            let headers = response.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&file) {
                headers.insert(header::CONTENT_DISPOSITION, v);
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "exporting member data");
            failed(e)
        }
    }
}

/// The web app manifest of one brand: installed from the card, it opens the card.
async fn brand_manifest(
    State(state): State<AppState>,
    axum::extract::Path(BrandPath { brand: slug }): axum::extract::Path<BrandPath>,
) -> Response {
    let Ok(Some(brand)) = app::server::find_brand(&state.portal.db, &slug).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let base = format!("/r/{}", brand.slug);
    let manifest = serde_json::json!({
        "id": format!("{base}/card"),
        "name": brand.name,
        "short_name": brand.name.chars().take(12).collect::<String>(),
        "lang": brand.default_language.tag(),
        "start_url": format!("{base}/card"),
        "scope": format!("{base}/"),
        "display": "standalone",
        "background_color": "#faf7f2",
        "theme_color": brand.theme_color.as_str(),
        "icons": [
            { "src": format!("{base}/icon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any" },
            { "src": "/icon-192.png", "sizes": "192x192", "type": "image/png" },
            { "src": "/icon-512.png", "sizes": "512x512", "type": "image/png" }
        ]
    });
    (
        [
            (header::CONTENT_TYPE, "application/manifest+json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        manifest.to_string(),
    )
        .into_response()
}

/// The brand's home-screen icon: its initial on its colour.
async fn brand_icon(
    State(state): State<AppState>,
    axum::extract::Path(BrandPath { brand: slug }): axum::extract::Path<BrandPath>,
) -> Response {
    let Ok(Some(brand)) = app::server::find_brand(&state.portal.db, &slug).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let initial = match brand.name.chars().next().unwrap_or('T') {
        '<' => "&lt;".to_owned(),
        '&' => "&amp;".to_owned(),
        c => c.to_string(),
    };
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512"><rect width="512" height="512" rx="96" fill="{}"/><text x="256" y="256" dy=".35em" text-anchor="middle" font-family="sans-serif" font-size="280" font-weight="700" fill="#fff">{initial}</text></svg>"##,
        brand.theme_color.as_str()
    );
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        svg,
    )
        .into_response()
}

/// The owner's logo upload (`multipart/form-data`, field `logo`; or
/// `remove`): checked by its bytes, at most 48 KB, then back to the settings.
async fn upload_logo(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let portal = &state.portal;
    let owner = match owner_of(portal, &parts, "/admin/brand", StatusCode::FORBIDDEN).await {
        Ok(owner) => owner,
        Err(answer) => return answer,
    };
    let back = |e: AppError| refused("/admin/brand#logo", e);
    let Ok(mut form) = form else {
        return back(AppError::new("logo_missing"));
    };
    let mut logo: Option<Vec<u8>> = None;
    let mut remove = false;
    loop {
        match form.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("logo") => match field.bytes().await {
                    Ok(b) if !b.is_empty() => logo = Some(b.to_vec()),
                    Ok(_) => {}
                    Err(_) => return back(AppError::new("logo_size")),
                },
                Some("remove") => remove = true,
                _ => {}
            },
            Ok(None) => break,
            // Cut off by the body limit, or not multipart at all.
            Err(_) => return back(AppError::new("logo_size")),
        }
    }
    if logo.is_none() && !remove {
        return back(AppError::new("logo_missing"));
    }
    let Ok(mut tx) = portal.db.begin().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let saved = loyalty::brands::settings::save_logo(
        &mut tx,
        &loyalty::SystemClock,
        &owner,
        if remove { None } else { logo.as_deref() },
    )
    .await;
    match saved {
        Ok(()) => match tx.commit().await {
            Ok(()) => {
                portal.db.auth_changed();
                Redirect::to("/admin/brand?saved=1#logo").into_response()
            }
            Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        },
        Err(e) => back(e.into()),
    }
}

/// The owner's member file (`multipart/form-data`, field `file`): read,
/// checked against the brand at once and kept with a new import; the page
/// then shows the dry run. Nothing is written to the members yet.
async fn upload_members(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let portal = &state.portal;
    let page = IMPORT_PAGE;
    let owner = match owner_of(portal, &parts, page, StatusCode::FORBIDDEN).await {
        Ok(owner) => owner,
        Err(answer) => return answer,
    };
    let back = |e: AppError| refused(page, e);
    let Ok(mut form) = form else {
        return back(AppError::new("import_missing"));
    };
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("members").to_owned();
                match field.bytes().await {
                    Ok(b) if !b.is_empty() => file = Some((name, b.to_vec())),
                    Ok(_) => {}
                    Err(_) => return back(AppError::new("import_size")),
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            // Cut off by the body limit, or not multipart at all.
            Err(_) => return back(AppError::new("import_size")),
        }
    }
    let Some((name, bytes)) = file else {
        return back(AppError::new("import_missing"));
    };
    if bytes.len() > IMPORT_FILE_LIMIT {
        return back(AppError::new("import_size"));
    }
    use loyalty::members::import;
    let clock = &loyalty::SystemClock;
    let importer = import::Importer::owner(&owner);
    let (sheet, bytes) = app::functions::member_import::read_file(bytes).await;
    let checked = async {
        let sheet = sheet?;
        import::plan(&portal.db, clock, &portal.secret, owner.brand(), &sheet).await?;
        import::open(
            &portal.db,
            clock,
            &importer,
            &name,
            &bytes,
            sheet.rows.len(),
            true,
        )
        .await
    }
    .await;
    match checked {
        Ok(opened) => Redirect::to(&format!("{page}?import={}#import", opened.id)).into_response(),
        Err(e) => back(e.into()),
    }
}

/// A brand's logo, served as the image it was checked to be and nothing
/// else: no sniffing, no script, cacheable (its URL carries the version).
async fn brand_logo(
    State(state): State<AppState>,
    axum::extract::Path(BrandPath { brand: slug }): axum::extract::Path<BrandPath>,
) -> Response {
    let Ok(Some(brand)) = app::server::find_brand(&state.portal.db, &slug).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match loyalty::brands::settings::logo(&state.portal.db, brand.id).await {
        Ok(Some((kind, bytes))) => (
            [
                (header::CONTENT_TYPE, kind),
                (
                    header::CACHE_CONTROL,
                    "public, max-age=31536000, immutable".to_owned(),
                ),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; sandbox".to_owned(),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => failed(e),
    }
}

#[derive(Deserialize)]
struct InvitePath {
    brand: String,
    code: String,
}

/// A friend's invitation link: remembers the code for thirty days in a
/// cookie and opens the join form. An unknown code still opens the form.
async fn follow_invite(
    State(state): State<AppState>,
    axum::extract::Path(InvitePath { brand: slug, code }): axum::extract::Path<InvitePath>,
) -> Response {
    let Ok(Some(brand)) = app::server::find_brand(&state.portal.db, &slug).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let join = format!("/r/{}/join", brand.slug.as_str());
    let Some(code) = loyalty::marketing::referrals::parse_code(&code) else {
        return Redirect::to(&join).into_response();
    };
    let secure = if state.portal.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{}={}|{code}; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax{secure}",
        app::server::REFERRAL_COOKIE,
        brand.id.0
    );
    let mut response = Redirect::to(&join).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
struct SheetQuery {
    page: Option<usize>,
}

/// A page of a store's table cards as an A4 SVG (owners only; anyone else
/// hears 404, signed out goes to sign in).
async fn qr_sheet_svg(
    State(state): State<AppState>,
    axum::extract::Path(store): axum::extract::Path<i64>,
    axum::extract::Query(q): axum::extract::Query<SheetQuery>,
    req: Request,
) -> Response {
    let (parts, _) = req.into_parts();
    let portal = &state.portal;
    let here = format!("/admin/stores/{store}/qr");
    let brand = match owner_of(portal, &parts, &here, StatusCode::NOT_FOUND).await {
        Ok(owner) => owner.brand().clone(),
        Err(answer) => return answer,
    };
    let (line, tables) =
        match app::functions::setup::edge::store_tables(portal, &brand, store).await {
            Ok(found) => found,
            Err(loyalty::Error::StoreNotFound) => return StatusCode::NOT_FOUND.into_response(),
            Err(e) => return failed(e),
        };
    let page = q.page.unwrap_or(1);
    match app::functions::setup::edge::sheet_svg(&brand, &line.name, &tables, page) {
        Some(svg) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml".to_owned()),
                (header::CACHE_CONTROL, "private, no-store".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"tables-{store}-{page}.svg\""),
                ),
            ],
            svg,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Deserialize)]
struct SegmentsQuery {
    window: Option<i64>,
    segment: Option<String>,
}

/// A segment's members, or (without `segment`) the churn-risk list, as CSV
/// (owners only; anyone else hears 404, signed out goes to sign in).
async fn segments_csv(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<SegmentsQuery>,
    req: Request,
) -> Response {
    let (parts, _) = req.into_parts();
    let portal = &state.portal;
    let brand = match owner_of(portal, &parts, "/admin/segments", StatusCode::NOT_FOUND).await {
        Ok(owner) => owner.brand().clone(),
        Err(answer) => return answer,
    };
    let segment = match q.segment.as_deref() {
        None | Some("") => None,
        Some(s) => match loyalty::marketing::insight::Segment::parse(s) {
            Some(s) => Some(s),
            None => return StatusCode::NOT_FOUND.into_response(),
        },
    };
    let window = app::functions::segments::edge::window(q.window);
    match app::functions::segments::edge::csv(&portal.db, &brand, window, segment).await {
        Ok(csv) => {
            let name = segment.map(|s| s.as_str()).unwrap_or("churn_risk");
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (header::CACHE_CONTROL, "private, no-store".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!(
                            "attachment; filename=\"{}-{name}.csv\"",
                            brand.slug.as_str()
                        ),
                    ),
                ],
                csv,
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "segment export failed");
            failed(e)
        }
    }
}

/// The stored-value liability report as CSV (owners only; anyone else
/// hears 404, signed out goes to sign in).
async fn stored_value_csv(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let portal = &state.portal;
    let owner = match owner_of(portal, &parts, "/admin/stored-value", StatusCode::NOT_FOUND).await {
        Ok(owner) => owner,
        Err(answer) => return answer,
    };
    let clock = &loyalty::SystemClock;
    match loyalty::stored_value::report::liability(&portal.db, clock, &owner).await {
        Ok(report) => {
            let brand = owner.brand();
            let csv = app::functions::stored_admin::edge::csv(brand, &report);
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (header::CACHE_CONTROL, "private, no-store".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!(
                            "attachment; filename=\"{}-stored-value.csv\"",
                            brand.slug.as_str()
                        ),
                    ),
                ],
                csv,
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "stored-value export failed");
            failed(e)
        }
    }
}

/// Hashed asset names change with their content, so browsers may keep them
/// for a year; everything else under /pkg is revalidated.
///
/// Console pages are never stored: a till's forms carry one-time keys and
/// show member data, and Back must not bring a stale form.
async fn cache_assets(hashed: bool, req: Request, next: Next) -> Response {
    let is_pkg = req.uri().path().starts_with("/pkg/");
    let is_console = req.uri().path().starts_with("/admin");
    let mut response = next.run(req).await;
    if is_console {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // Pages are made for one visitor (their card, their profile, their
    // allergies): no shared cache and no back-button copy may keep them.
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    if is_page && !response.headers().contains_key(header::CACHE_CONTROL) {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    if is_pkg && response.status().is_success() {
        let value = if hashed {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

/// Waits for SIGINT or SIGTERM; in-flight requests then finish before exit.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::logged_path;

    #[test]
    fn bearer_values_in_paths_never_reach_the_log() {
        assert_eq!(logged_path("/t/t99d4k9bvyc4gq94x2bndpcqts"), "/t/…");
        assert_eq!(logged_path("/r/demo/coupons/ABCD2345"), "/r/demo/coupons/…");
        assert_eq!(
            logged_path("/sms/inbound/aliyun/inbound-token-0123456789"),
            "/sms/inbound/aliyun/…"
        );
        assert_eq!(logged_path("/r/demo/card"), "/r/demo/card");
    }
}
