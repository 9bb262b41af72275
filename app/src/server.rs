//! Server-only glue for pages and server functions: the state they share,
//! the request's language, signed cookies and the page's security policy.

use cookie::{Cookie, CookieJar, Key, SameSite};
use http::header::{CONTENT_SECURITY_POLICY, COOKIE, SET_COOKIE};
use http::{request::Parts, HeaderValue};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use loyalty::Db;

use crate::locale::{self, RequestLocale};

/// What the server gives every page and server function.
#[derive(Clone)]
pub struct PortalState {
    pub db: Db,
    /// Signs the cookies we rely on (the table a diner sits at).
    pub cookie_key: Key,
}

pub fn portal_state() -> Result<PortalState, ServerFnError> {
    use_context::<PortalState>().ok_or_else(|| ServerFnError::new("portal state missing"))
}

/// The language the request asks for, read from the switcher's cookie and
/// `Accept-Language`.
pub fn request_locale() -> RequestLocale {
    let Some(parts) = use_context::<Parts>() else {
        return RequestLocale(None);
    };
    let jar = request_cookies(&parts);
    let accept = parts
        .headers
        .get(http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    RequestLocale(locale::negotiate(
        jar.get(locale::COOKIE).map(Cookie::value),
        accept,
    ))
}

pub fn request_cookies(parts: &Parts) -> CookieJar {
    let mut jar = CookieJar::new();
    for header in parts.headers.get_all(COOKIE) {
        if let Ok(s) = header.to_str() {
            for c in Cookie::split_parse_encoded(s).flatten() {
                jar.add_original(c.into_owned());
            }
        }
    }
    jar
}

/// Adds a Set-Cookie header to the response being rendered.
pub fn set_cookie(cookie: &Cookie<'_>) {
    if let Some(response) = use_context::<ResponseOptions>() {
        if let Ok(value) = HeaderValue::from_str(&cookie.encoded().to_string()) {
            response.append_header(SET_COOKIE, value);
        }
    }
}

/// The content security policy of a rendered page. Scripts run only with
/// this response's nonce (the islands loader); WebAssembly may compile;
/// inline styles carry the brand's theme colour.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'self'; object-src 'none'"
    )
}

/// Gives the document a fresh nonce and the matching CSP header.
pub fn secure_document() {
    leptos::nonce::provide_nonce();
    if let (Some(nonce), Some(response)) =
        (leptos::nonce::use_nonce(), use_context::<ResponseOptions>())
    {
        if let Ok(value) = HeaderValue::from_str(&content_security_policy(&nonce.to_string())) {
            response.insert_header(CONTENT_SECURITY_POLICY, value);
        }
    }
}

pub const VISIT_COOKIE: &str = "tc_visit";

/// Remembers, for the length of a meal, which table the diner scanned.
pub fn remember_visit(key: &Key, brand: i64, table: i64) {
    let mut jar = CookieJar::new();
    jar.signed_mut(key).add(
        Cookie::build((VISIT_COOKIE, format!("{brand}.{table}")))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .max_age(cookie::time::Duration::hours(4)),
    );
    for c in jar.delta() {
        set_cookie(c);
    }
}

/// The (brand, table) of a genuine visit cookie; a forged or stale one is ignored.
pub fn visit_from_request(key: &Key) -> Option<(i64, i64)> {
    let parts = use_context::<Parts>()?;
    let jar = request_cookies(&parts);
    let cookie = jar.signed(key).get(VISIT_COOKIE)?;
    let (brand, table) = cookie.value().split_once('.')?;
    Some((brand.parse().ok()?, table.parse().ok()?))
}

/// Sets the HTTP status of the page being rendered.
pub fn set_status(status: http::StatusCode) {
    if let Some(response) = use_context::<ResponseOptions>() {
        response.set_status(status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_only_trusts_this_responses_nonce() {
        let csp = content_security_policy("abc123");
        let script_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap();
        assert!(script_src.contains("'nonce-abc123'"));
        assert!(!script_src.contains("'unsafe-inline'"));
        assert!(!script_src.contains("'unsafe-eval'"));
        assert!(csp.contains("frame-ancestors 'self'"));
    }
}
