//! The axum application: portal pages, static assets, health checks and the
//! middleware every response passes through.

use app::i18n::I18nLocaleTrait as _;
use app::server::PortalState;
use app::{shell, App};
use axum::extract::{FromRef, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use serde::Deserialize;

use crate::config::Config;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

#[derive(Clone)]
pub struct AppState {
    pub leptos: LeptosOptions,
    pub portal: PortalState,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Everything the server answers, in one place.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let portal = state.portal.clone();
    let context = move || provide_context(portal.clone());
    let options = state.leptos.clone();
    let hashed_assets = state.leptos.hash_files;
    // `make build` precompresses the bundle with brotli at its best level,
    // a third smaller than compressing on the fly at a speed-friendly level.
    let bundle = ServeDir::new(std::path::Path::new(state.leptos.site_root.as_ref()).join("pkg"))
        .precompressed_br()
        .precompressed_gzip();

    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/lang", post(choose_language))
        .nest_service("/pkg", bundle)
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(middleware::from_fn(move |req, next| cache_assets(hashed_assets, req, next)))
        .layer(CompressionLayer::new().br(true).gzip(true))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; frame-ancestors 'self'; object-src 'none'; base-uri 'none'"),
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
                    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

pub fn leptos_options(config: &Config) -> LeptosOptions {
    // cargo-leptos writes hash.txt beside the binary when asset names are hashed.
    let hash_file = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt")));
    let hashed = hash_file.is_some_and(|f| f.exists());
    LeptosOptions::builder()
        .output_name("tablecard")
        .site_root(config.site_root.to_string_lossy().as_ref())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .hash_files(hashed)
        .build()
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

/// The process can serve: its database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.portal.db.is_ready().await {
        (StatusCode::OK, "ready").into_response()
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
async fn choose_language(Form(choice): Form<LanguageChoice>) -> Response {
    let next = choice
        .next
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/".into());
    let Ok(locale) = choice.lang.parse::<app::i18n::Locale>() else {
        return Redirect::to(&next).into_response();
    };
    let cookie = cookie::Cookie::build((app::locale::COOKIE, locale.as_str()))
        .path("/")
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::days(365))
        .build();
    let mut response = Redirect::to(&next).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Hashed asset names change with their content, so browsers may keep them
/// for a year; everything else under /pkg is revalidated.
async fn cache_assets(hashed: bool, req: Request, next: Next) -> Response {
    let is_pkg = req.uri().path().starts_with("/pkg/");
    let mut response = next.run(req).await;
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
