//! Server-only glue for pages and server functions: the state they share,
//! the request's language, signed cookies and the page's security policy.

use cookie::{Cookie, CookieJar, Key, SameSite};
use http::header::{CONTENT_SECURITY_POLICY, COOKIE, SET_COOKIE};
use http::{request::Parts, HeaderValue};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use loyalty::access::Cashier;
use loyalty::brands::{Brand, BrandId, BrandSlug};
use loyalty::marketing::delivery::Sender;
use loyalty::members::otp::OtpPolicy;
use loyalty::members::phone::Phone;
use loyalty::members::sessions::{SessionPolicy, SessionToken};
use loyalty::members::MemberId;
use loyalty::staff::sessions::StaffPolicy;
use loyalty::{Db, ServerSecret, SystemClock};
use std::sync::Arc;

use crate::error::AppError;
use crate::locale::{self, RequestLocale};

/// What the server gives every page and server function: shared, so that
/// handing it to a request is one reference count, not a copy of its keys
/// and strings (the copies were 5 % of the landing page's time). Changed
/// only while the server is being set up, before any request shares it.
#[derive(Clone)]
pub struct PortalState(Arc<Portal>);

impl std::ops::Deref for PortalState {
    type Target = Portal;
    fn deref(&self) -> &Portal {
        &self.0
    }
}

impl std::ops::DerefMut for PortalState {
    fn deref_mut(&mut self) -> &mut Portal {
        Arc::make_mut(&mut self.0)
    }
}

/// What [`PortalState`] shares.
#[derive(Clone)]
pub struct Portal {
    pub db: Db,
    /// Signs the cookies we rely on (the table a diner sits at).
    pub cookie_key: Key,
    /// The cookie keys of previous server keys: cookies made before a key
    /// rotation are still read, never made.
    pub previous_cookie_keys: Vec<Key>,
    /// Keys one-time code hashes and rotating member codes.
    pub secret: ServerSecret,
    /// How text messages reach a phone (log, a provider, the webhook; a
    /// capture in tests).
    pub sender: Arc<dyn Sender>,
    /// Served over HTTPS: cookies get `Secure` and the `__Host-` prefix.
    pub secure_cookies: bool,
    pub otp: OtpPolicy,
    pub sessions: SessionPolicy,
    pub staff_sessions: StaffPolicy,
    /// The address diners' phones reach the portal at: table QR codes
    /// point here.
    pub public_url: String,
}

impl PortalState {
    /// Development defaults around a database: log delivery, a random secret.
    pub fn new(db: Db, cookie_key: Key, secret: ServerSecret, sender: Arc<dyn Sender>) -> Self {
        PortalState(Arc::new(Portal {
            db,
            cookie_key,
            previous_cookie_keys: Vec::new(),
            secret,
            sender,
            secure_cookies: false,
            otp: OtpPolicy::default(),
            sessions: SessionPolicy::default(),
            staff_sessions: StaffPolicy::default(),
            public_url: "http://127.0.0.1:3000".into(),
        }))
    }
}

/// The client's address, put into the request's extensions by the server
/// (from the socket, or from the trusted proxy's header).
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

pub fn client_ip(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ClientIp>()
        .map(|ip| ip.0.clone())
        .unwrap_or_else(|| "unknown".into())
}

pub fn request_parts() -> Result<Parts, AppError> {
    use_context::<Parts>().ok_or_else(|| AppError::new("internal_error"))
}

/// The brand of a `/r/{slug}` URL; None for a malformed or unknown slug.
pub async fn find_brand(db: &Db, slug: &str) -> Result<Option<Brand>, AppError> {
    let Ok(slug) = BrandSlug::parse(slug) else {
        return Ok(None);
    };
    // A page's request: the server's edge found its brand already.
    let found = use_context::<Parts>().and_then(|p| p.extensions.get::<Brand>().cloned());
    if let Some(brand) = found.filter(|b| b.slug == slug) {
        return Ok(Some(brand));
    }
    match loyalty::brands::find_by_slug(db, &slug).await {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Each brand has its own session cookie: one phone may be a member of two
/// restaurants that both use Tablecard, and neither session opens the other.
pub fn session_cookie_name(brand: BrandId, secure: bool) -> String {
    if secure {
        format!("__Host-tc_m{}", brand.0)
    } else {
        format!("tc_m{}", brand.0)
    }
}

/// The member signed in to `brand` on this request, if any.
pub async fn member_from_parts(
    state: &PortalState,
    parts: &Parts,
    brand: BrandId,
) -> Result<Option<MemberId>, AppError> {
    let jar = request_cookies(parts);
    let Some(token) = jar
        .get(&session_cookie_name(brand, state.secure_cookies))
        .and_then(|c| SessionToken::from_cookie(c.value()))
    else {
        return Ok(None);
    };
    Ok(
        loyalty::members::sessions::resolve(
            &state.db,
            &SystemClock,
            &state.sessions,
            brand,
            &token,
        )
        .await?,
    )
}

pub async fn current_member(
    state: &PortalState,
    brand: BrandId,
) -> Result<Option<MemberId>, AppError> {
    member_from_parts(state, &request_parts()?, brand).await
}

/// The member signed in to `brand` on this request, as the capability the
/// core's member operations take.
pub async fn signed_in_member(
    state: &PortalState,
    brand: Brand,
) -> Result<Option<loyalty::access::Member>, AppError> {
    let Some(token) = session_token(state, brand.id) else {
        return Ok(None);
    };
    let policy = &state.sessions;
    Ok(loyalty::access::member(&state.db, &SystemClock, policy, brand, &token).await?)
}

/// The member signed in to `brand` on this request with their card, found
/// together in one statement (the card's and profile's pages need both).
pub async fn signed_in_card(
    state: &PortalState,
    brand: Brand,
) -> Result<Option<(loyalty::access::Member, loyalty::members::Card)>, AppError> {
    let Some(token) = session_token(state, brand.id) else {
        return Ok(None);
    };
    let policy = &state.sessions;
    Ok(loyalty::access::member_card(&state.db, &SystemClock, policy, brand, &token).await?)
}

pub fn session_token(state: &PortalState, brand: BrandId) -> Option<SessionToken> {
    let parts = use_context::<Parts>()?;
    let jar = request_cookies(&parts);
    let cookie = jar.get(&session_cookie_name(brand, state.secure_cookies))?;
    SessionToken::from_cookie(cookie.value())
}

/// Whether this request comes from a page framed in another site (the
/// brand's own website): browsers say so in `Sec-Fetch-Dest`. The portal
/// then shows only its content, on every page of the journey.
pub fn framed() -> bool {
    use_context::<Parts>().is_some_and(|parts| {
        parts
            .headers
            .get("sec-fetch-dest")
            .is_some_and(|v| v.as_bytes() == b"iframe")
    })
}

/// A member's cookies are `SameSite=Lax`; inside a frame on the brand's own
/// site over HTTPS they are `SameSite=None; Secure; Partitioned` (CHIPS),
/// kept for that site alone, so joining and signing in work in the frame.
fn member_same_site(state: &PortalState) -> SameSite {
    if partitioned(state) {
        SameSite::None
    } else {
        SameSite::Lax
    }
}

fn partitioned(state: &PortalState) -> bool {
    state.secure_cookies && framed()
}

pub fn set_session_cookie(state: &PortalState, brand: BrandId, token: &SessionToken) {
    let cookie = Cookie::build((
        session_cookie_name(brand, state.secure_cookies),
        token.as_str().to_owned(),
    ))
    .path("/")
    .http_only(true)
    .secure(state.secure_cookies)
    .same_site(member_same_site(state))
    .partitioned(partitioned(state))
    .max_age(cookie::time::Duration::milliseconds(
        state.sessions.absolute_ms,
    ));
    set_cookie(&cookie.build());
}

pub fn clear_session_cookie(state: &PortalState, brand: BrandId) {
    expire_cookie(state, session_cookie_name(brand, state.secure_cookies));
}

fn expire_cookie(state: &PortalState, name: String) {
    let cookie = Cookie::build((name, ""))
        .path("/")
        .http_only(true)
        .secure(state.secure_cookies)
        .same_site(member_same_site(state))
        .partitioned(partitioned(state))
        .max_age(cookie::time::Duration::ZERO);
    set_cookie(&cookie.build());
}

/// The staff console's cookie: one per browser, whatever the brand, and
/// `SameSite=Strict` (nothing links into the console from elsewhere).
pub fn staff_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-tc_staff"
    } else {
        "tc_staff"
    }
}

/// The capability of the staff member signed in on this request, if any.
pub async fn current_staff(state: &PortalState) -> Result<Option<Cashier>, AppError> {
    staff_from_parts(state, &request_parts()?)
        .await
        .map_err(AppError::from)
}

pub fn staff_token(state: &PortalState) -> Option<SessionToken> {
    let parts = use_context::<Parts>()?;
    let jar = request_cookies(&parts);
    let cookie = jar.get(staff_cookie_name(state.secure_cookies))?;
    SessionToken::from_cookie(cookie.value())
}

pub fn set_staff_cookie(state: &PortalState, token: &SessionToken) {
    let cookie = Cookie::build((
        staff_cookie_name(state.secure_cookies),
        token.as_str().to_owned(),
    ))
    .path("/")
    .http_only(true)
    .secure(state.secure_cookies)
    .same_site(SameSite::Strict);
    set_cookie(&cookie.build());
}

pub fn clear_staff_cookie(state: &PortalState) {
    let cookie = Cookie::build((staff_cookie_name(state.secure_cookies), ""))
        .path("/")
        .http_only(true)
        .secure(state.secure_cookies)
        .same_site(SameSite::Strict)
        .max_age(cookie::time::Duration::ZERO);
    set_cookie(&cookie.build());
}

/// A secret for the very next page only (a new API key, a generated
/// password): encrypted and authenticated (the cookie crate's private jar,
/// AES-256-GCM), HttpOnly, a short life. A signed cookie would carry it in
/// clear, for anything that logs or reads cookies to see.
pub fn put_private_cookie(state: &PortalState, name: &'static str, value: &str, max_age_secs: i64) {
    let mut jar = CookieJar::new();
    jar.private_mut(&state.cookie_key).add(
        Cookie::build((name, value.to_owned()))
            .path("/")
            .http_only(true)
            .secure(state.secure_cookies)
            .same_site(SameSite::Strict)
            .max_age(cookie::time::Duration::seconds(max_age_secs)),
    );
    for c in jar.delta() {
        set_cookie(c);
    }
}

/// Reads such a value and removes it, so it is shown once.
pub fn take_private_cookie(state: &PortalState, name: &'static str) -> Option<String> {
    let parts = use_context::<Parts>()?;
    let jar = request_cookies(&parts);
    let value = private_value(state, &jar, name)?;
    expire_cookie(state, name.to_owned());
    Some(value)
}

/// The keys a cookie of ours may carry: the current one first.
fn cookie_keys(state: &PortalState) -> impl Iterator<Item = &Key> {
    std::iter::once(&state.cookie_key).chain(&state.previous_cookie_keys)
}

/// A private cookie's value, under whichever of our keys sealed it.
fn private_value(state: &PortalState, jar: &CookieJar, name: &str) -> Option<String> {
    cookie_keys(state).find_map(|key| Some(jar.private(key).get(name)?.value().to_owned()))
}

/// Keeps the member's language for a year, like the language menu does.
pub fn remember_language(state: &PortalState, tag: &str) {
    let cookie = Cookie::build((locale::COOKIE, tag.to_owned()))
        .path("/")
        .secure(state.secure_cookies)
        .same_site(member_same_site(state))
        .partitioned(partitioned(state))
        .max_age(cookie::time::Duration::days(365));
    set_cookie(&cookie.build());
}

pub const JOIN_COOKIE: &str = "tc_join";

/// The phone a join form is waiting on, between "send code" and "sign in".
/// Kept in an encrypted cookie so the number never appears in a URL, a log
/// or the cookie itself.
#[derive(Debug, Clone)]
pub struct PendingJoin {
    pub brand: BrandId,
    pub phone: Phone,
    /// When the last code went out (Unix ms); 0 when none did.
    pub sent_at: i64,
}

pub fn remember_join(state: &PortalState, pending: &PendingJoin) {
    let mut jar = CookieJar::new();
    jar.private_mut(&state.cookie_key).add(
        Cookie::build((
            JOIN_COOKIE,
            format!("{}|{}|{}", pending.brand.0, pending.phone, pending.sent_at),
        ))
        .path("/")
        .http_only(true)
        .secure(state.secure_cookies)
        .same_site(member_same_site(state))
        .partitioned(partitioned(state))
        .max_age(cookie::time::Duration::minutes(15)),
    );
    for c in jar.delta() {
        set_cookie(c);
    }
}

pub const REFERRAL_COOKIE: &str = "tc_ref";

/// The referral code a visitor arrived with (`/r/{brand}/invite/{code}`),
/// for the brand they are joining.
pub fn referral_code(brand: BrandId) -> Option<String> {
    let parts = use_context::<Parts>()?;
    let jar = request_cookies(&parts);
    let value = jar.get(REFERRAL_COOKIE)?.value().to_owned();
    let (id, code) = value.split_once('|')?;
    (id.parse::<i64>().ok()? == brand.0)
        .then(|| loyalty::marketing::referrals::parse_code(code))
        .flatten()
}

pub fn forget_referral(state: &PortalState) {
    expire_cookie(state, REFERRAL_COOKIE.to_owned());
}

pub fn forget_join(state: &PortalState) {
    expire_cookie(state, JOIN_COOKIE.to_owned());
}

pub fn pending_join(state: &PortalState, brand: BrandId) -> Option<PendingJoin> {
    let parts = use_context::<Parts>()?;
    let jar = request_cookies(&parts);
    let cookie = private_value(state, &jar, JOIN_COOKIE)?;
    let mut fields = cookie.splitn(3, '|');
    let id: i64 = fields.next()?.parse().ok()?;
    let phone = Phone::parse_e164(fields.next()?).ok()?;
    let sent_at = fields.next()?.parse().ok()?;
    (id == brand.0).then_some(PendingJoin {
        brand,
        phone,
        sent_at,
    })
}

/// Ends a form post that was refused: back to the form at `back` (which may
/// carry a query and a `#fragment`), with the error's code and parameters
/// for its notice. A failure of ours is not the form's to show: it stays an
/// error (500, or 503 when the database is away).
pub fn see_other_with(back: &str, e: impl Into<AppError>) -> Result<(), AppError> {
    see_other(&e.into().refused()?.back_to(back));
    Ok(())
}

/// Ends a form post: 303 to `to`, for browsers and scripts alike.
pub fn see_other(to: &str) {
    leptos_axum::redirect(to);
    set_status(http::StatusCode::SEE_OTHER);
}

/// A code as a QR code, an inline SVG for a phone screen: digits and
/// upper-case letters use the QR's compact modes, so it stays quick to scan.
///
/// Drawn in module units with each row's run of dark modules one rectangle,
/// so the card's QR is about a fifth of the renderer's one-rectangle-per-
/// module path: the card carries it twice (drawn, and in the island's props)
/// over a slow phone network, and compresses it on every request.
pub fn qr_svg(code: &str) -> String {
    let Some(qr) = qr_code(code) else {
        return String::new();
    };
    let quiet = 4;
    let (modules, d) = qr_runs(&qr, quiet);
    // At least 200 px, in whole pixels per module, as the phone shows it.
    let size = modules * 200_usize.div_ceil(modules);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" \
         viewBox=\"0 0 {modules} {modules}\" shape-rendering=\"crispEdges\">\
         <path fill=\"#fff\" d=\"M0 0h{modules}v{modules}H0z\"/><path fill=\"#000\" d=\"{d}\"/></svg>"
    )
}

/// A QR code's dark modules as one SVG path in module units, and its width
/// in modules (quiet zone included), for drawing into a larger SVG.
pub fn qr_path(text: &str) -> Option<(usize, String)> {
    Some(qr_runs(&qr_code(text)?, 2))
}

/// `text` as a QR code: error correction level M at least, raised when the
/// same size of code has room for more. A level that does not fit a version
/// is refused before any work, so trying H, Q and M at each version in turn
/// builds one code: the first that fits is in the smallest version M fits,
/// at the highest level that version holds.
fn qr_code(text: &str) -> Option<fast_qr::QRCode> {
    use fast_qr::{QRBuilder, Version::*, ECL};
    const VERSIONS: [fast_qr::Version; 40] = [
        V01, V02, V03, V04, V05, V06, V07, V08, V09, V10, V11, V12, V13, V14, V15, V16, V17, V18,
        V19, V20, V21, V22, V23, V24, V25, V26, V27, V28, V29, V30, V31, V32, V33, V34, V35, V36,
        V37, V38, V39, V40,
    ];
    let mut builder = QRBuilder::new(text);
    VERSIONS.into_iter().find_map(|version| {
        [ECL::H, ECL::Q, ECL::M]
            .into_iter()
            .find_map(|ecl| builder.ecl(ecl).version(version).build().ok())
    })
}

/// The dark modules of `qr` as a path, one rectangle per horizontal run,
/// inside a quiet zone of `quiet` modules; and the width with it.
fn qr_runs(qr: &fast_qr::QRCode, quiet: usize) -> (usize, String) {
    use std::fmt::Write as _;
    let n = qr.size;
    let dark = |x: usize, y: usize| qr[y][x].value();
    let mut d = String::new();
    for y in 0..n {
        let mut x = 0;
        while x < n {
            if !dark(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < n && dark(x, y) {
                x += 1;
            }
            let run = x - start;
            let _ = write!(d, "M{} {}h{run}v1h-{run}z", start + quiet, y + quiet);
        }
    }
    (n + 2 * quiet, d)
}

/// Text made safe inside XML.
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The capability of the staff member signed in on a request, from its
/// cookie and address (a server function's, or a plain axum handler's).
pub async fn staff_from_parts(
    state: &PortalState,
    parts: &Parts,
) -> Result<Option<Cashier>, loyalty::Error> {
    let jar = request_cookies(parts);
    let Some(token) = jar
        .get(staff_cookie_name(state.secure_cookies))
        .and_then(|c| SessionToken::from_cookie(c.value()))
    else {
        return Ok(None);
    };
    let ip = Some(client_ip(parts));
    loyalty::access::staff(&state.db, &SystemClock, &state.staff_sessions, &token, ip).await
}

/// One pooled connection, for reads and single statements outside a transaction.
pub async fn connection(state: &PortalState) -> Result<loyalty::infra::db::Conn, AppError> {
    Ok(state.db.acquire().await?)
}

pub fn portal_state() -> Result<PortalState, AppError> {
    use_context::<PortalState>().ok_or_else(|| AppError::new("internal_error"))
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
pub fn remember_visit(state: &PortalState, brand: i64, table: i64) {
    let mut jar = CookieJar::new();
    jar.signed_mut(&state.cookie_key).add(
        Cookie::build((VISIT_COOKIE, format!("{brand}.{table}")))
            .path("/")
            .http_only(true)
            .secure(state.secure_cookies)
            .same_site(member_same_site(state))
            .partitioned(partitioned(state))
            .max_age(cookie::time::Duration::hours(4)),
    );
    for c in jar.delta() {
        set_cookie(c);
    }
}

/// The (brand, table) of a genuine visit cookie; a forged or stale one is ignored.
pub fn visit_from_request(state: &PortalState) -> Option<(i64, i64)> {
    let parts = use_context::<Parts>()?;
    let jar = request_cookies(&parts);
    let cookie = cookie_keys(state).find_map(|key| jar.signed(key).get(VISIT_COOKIE))?;
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

    /// The modules a scanner reads back from the card's SVG path.
    fn drawn(d: &str, width: usize) -> Vec<bool> {
        let mut grid = vec![false; width * width];
        for rect in d.split('M').filter(|r| !r.is_empty()) {
            let (at, rest) = rect.split_once('h').unwrap();
            let (x, y) = at.split_once(' ').unwrap();
            let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
            let run: usize = rest.split_once('v').unwrap().0.parse().unwrap();
            assert_eq!(
                rest,
                format!("{run}v1h-{run}z"),
                "each rectangle is one row high"
            );
            for dx in 0..run {
                assert!(!grid[y * width + x + dx], "no module is drawn twice");
                grid[y * width + x + dx] = true;
            }
        }
        grid
    }

    #[test]
    fn the_qr_path_draws_exactly_the_codes_dark_modules() {
        for text in [
            "12345678901234",
            "https://tablecard.example/t/adjcpkggtxkfs04z4jffvx8fkc",
        ] {
            let qr = qr_code(text).unwrap();
            let quiet = 4;
            let (width, d) = qr_runs(&qr, quiet);
            let n = qr.size;
            assert_eq!(width, n + 2 * quiet);
            let grid = drawn(&d, width);
            for (mx, my) in (0..n).flat_map(|y| (0..n).map(move |x| (x, y))) {
                let (x, y) = (mx + quiet, my + quiet);
                assert_eq!(grid[y * width + x], qr[my][mx].value(), "module ({x}, {y})");
            }
            let dark_in_quiet_zone = (0..width * width).filter(|&i| {
                let (x, y) = (i % width, i / width);
                grid[i] && (x < quiet || y < quiet || x >= quiet + n || y >= quiet + n)
            });
            assert_eq!(dark_in_quiet_zone.count(), 0);
        }
    }

    /// What a camera sees of `d`: `px` pixels a module, black on white.
    fn scanned(d: &str, width: usize) -> Vec<String> {
        let grid = drawn(d, width);
        let px = 6;
        let side = width * px;
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
            if grid[(y / px) * width + x / px] {
                0
            } else {
                255
            }
        });
        image
            .detect_grids()
            .into_iter()
            .map(|g| g.decode().expect("a readable code").1)
            .collect()
    }

    #[test]
    fn the_cards_and_the_tables_qr_codes_scan_back_to_their_text() {
        for text in [
            "12345678901234",
            "https://tablecard.example/t/adjcpkggtxkfs04z4jffvx8fkc",
        ] {
            let (width, d) = qr_runs(&qr_code(text).unwrap(), 4);
            assert_eq!(scanned(&d, width), [text]);
        }
    }

    #[test]
    fn a_code_is_the_smallest_that_holds_its_text_at_level_m_and_as_strong_as_that_size_allows() {
        // (text, version, level): the card's 14 digits fit version 1 even at
        // H; 30 bytes need version 3 at M, where Q fits too and H does not;
        // a table's link needs version 4 at M, which holds nothing stronger.
        for (text, version, level) in [
            ("12345678901234", 1, "H"),
            ("https://t.example/t/abcdefghij", 3, "Q"),
            (
                "https://tablecard.example/t/adjcpkggtxkfs04z4jffvx8fkc",
                4,
                "M",
            ),
        ] {
            let qr = qr_code(text).unwrap();
            // A version's code is 17 + 4 × version modules wide.
            assert_eq!(qr.size, 17 + 4 * version, "{text}");
            assert_eq!(
                qr.ecl.map(|l| l.to_string()).as_deref(),
                Some(level),
                "{text}"
            );
        }
    }

    #[test]
    fn the_cards_qr_is_a_small_svg_at_least_200_px_wide() {
        let svg = qr_svg("12345678901234");
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg}"
        );
        // Version 1 (21 modules) with a quiet zone of 4: 29 modules of 7 px.
        assert!(
            svg.contains("width=\"203\" height=\"203\" viewBox=\"0 0 29 29\""),
            "{svg}"
        );
        assert!(svg.len() < 2_000, "{} bytes", svg.len());
    }
}
