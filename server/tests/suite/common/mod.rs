//! The harness the HTTP tests share: the real router over a fresh SQLite
//! database seeded with the demo brand, a capturing code sender, and a tiny
//! cookie jar so a test can walk through pages like a browser.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request};
use axum::response::Response;
use loyalty::infra::demo::{self, DemoSeed};
use loyalty::testing::{CapturingSender, TestDb};
use server::config::Config;
use server::http::{router, AppState};
use tower::ServiceExt;

use loyalty::brands::stores::{self, NewStore};
use loyalty::brands::{self, BrandSlug, Language, NewBrand, ThemeColor};
use loyalty::staff::{self, Role};

pub struct TestApp {
    pub router: axum::Router,
    pub seed: DemoSeed,
    pub sender: CapturingSender,
    pub _db: Arc<TestDb>,
    config: Config,
    hashed_assets: bool,
    /// Messages go where the configuration says (a fake provider), not to
    /// the capturing sender.
    configured_sender: bool,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with_site(site_root: &str, hashed_assets: bool) -> TestApp {
    spawn_app_configured(&[("LEPTOS_SITE_ROOT", site_root)], hashed_assets).await
}

pub async fn spawn_app_with(vars: &[(&str, &str)]) -> TestApp {
    spawn_app_configured(vars, false).await
}

async fn spawn_app_configured(vars: &[(&str, &str)], hashed_assets: bool) -> TestApp {
    spawn_app_on(test_db().await, vars, hashed_assets).await
}

/// The database a `#[both_databases]` test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

tokio::task_local! {
    static BACKEND: Backend;
}

/// Runs one `#[both_databases]` test on `backend` (the macro calls this).
pub async fn on_backend(backend: Backend, test: impl std::future::Future<Output = ()>) {
    BACKEND.scope(backend, test).await
}

/// The database the running test is for. Only a `#[both_databases]` test
/// has one: a plain `#[tokio::test]` that reached for the default app would
/// silently test SQLite alone, so it fails here instead.
pub fn backend() -> Backend {
    BACKEND
        .try_with(|backend| *backend)
        .expect("an HTTP test over the demo app is #[both_databases], not #[tokio::test]")
}

/// A fresh, migrated database of the running test's kind.
pub async fn test_db() -> TestDb {
    match backend() {
        Backend::Sqlite => TestDb::sqlite().await,
        Backend::Postgres => TestDb::postgres().await,
    }
}

/// The tests' configuration: `vars` over the tests' secret key.
fn test_config(vars: &[(&str, &str)]) -> Config {
    let vars: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|name| match name {
        "TABLECARD_SECRET_KEY" => Some(
            vars.get(name)
                .cloned()
                .unwrap_or_else(|| "http-test-secret-key-long-enough-0123456789".into()),
        ),
        "LEPTOS_SITE_ROOT" => Some(
            vars.get(name)
                .cloned()
                .unwrap_or_else(|| "/nonexistent-site-root".into()),
        ),
        _ => vars.get(name).cloned(),
    })
    .unwrap()
}

/// The app over a database of the caller's choosing (PostgreSQL, say).
pub async fn spawn_app_on(db: TestDb, vars: &[(&str, &str)], hashed_assets: bool) -> TestApp {
    let seed = demo::seed(&db.db, &loyalty::SystemClock).await.unwrap();
    let config = test_config(vars);
    let sender = CapturingSender::default();
    TestApp {
        router: build_router(&config, &db.db, hashed_assets, Some(&sender)),
        seed,
        sender,
        _db: Arc::new(db),
        config,
        hashed_assets,
        configured_sender: false,
    }
}

/// The app sending its messages as `vars` configure it (`TABLECARD_SMS`
/// and a provider's credentials), over the running test's database.
pub async fn spawn_app_sending(vars: &[(&str, &str)]) -> TestApp {
    let mut app = spawn_app_on(test_db().await, vars, false).await;
    app.router = build_router(&app.config, &app._db.db, false, None);
    app.configured_sender = true;
    app
}

fn build_router(
    config: &Config,
    db: &loyalty::Db,
    hashed_assets: bool,
    sender: Option<&CapturingSender>,
) -> axum::Router {
    let mut state = AppState::new(config, db.clone());
    state.leptos.hash_files = hashed_assets;
    if let Some(sender) = sender {
        state.portal.sender = Arc::new(sender.clone());
    }
    router(state)
}

impl TestApp {
    /// Removes the database (a PostgreSQL schema) once no twin holds it.
    pub async fn finish(self) {
        drop(self.router);
        if let Ok(db) = Arc::try_unwrap(self._db) {
            db.finish().await;
        }
    }

    /// A second server process over the same database: the same
    /// configuration, its own in-memory state. What one process remembers
    /// only in memory, the other does not know.
    pub fn twin(&self) -> TestApp {
        TestApp {
            router: build_router(
                &self.config,
                &self._db.db,
                self.hashed_assets,
                (!self.configured_sender).then_some(&self.sender),
            ),
            seed: self.seed.clone(),
            sender: self.sender.clone(),
            _db: self._db.clone(),
            config: self.config.clone(),
            hashed_assets: self.hashed_assets,
            configured_sender: self.configured_sender,
        }
    }

    /// The same database served by a server configured with `vars` (a
    /// rotated secret key, say), sharing the code sender.
    pub fn restarted_with(&self, vars: &[(&str, &str)]) -> TestApp {
        let config = test_config(vars);
        TestApp {
            router: build_router(
                &config,
                &self._db.db,
                self.hashed_assets,
                Some(&self.sender),
            ),
            seed: self.seed.clone(),
            sender: self.sender.clone(),
            _db: self._db.clone(),
            config,
            hashed_assets: self.hashed_assets,
            configured_sender: false,
        }
    }

    /// Sends one request; a response that never comes fails the test within
    /// a minute instead of stalling the whole suite until CI gives up.
    pub async fn send(&self, request: Request<Body>) -> Response {
        let what = format!("{} {}", request.method(), request.uri());
        tokio::time::timeout(
            Duration::from_secs(60),
            self.router.clone().oneshot(request),
        )
        .await
        .unwrap_or_else(|_| panic!("{what} got no response within 60 s"))
        .unwrap()
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = Request::get(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    /// The capturing sender as the scheduler takes it.
    pub fn sender_arc(&self) -> Arc<dyn loyalty::marketing::delivery::Sender> {
        Arc::new(self.sender.clone())
    }

    pub fn table_token(&self) -> String {
        self.seed.tables[0].token.clone()
    }
}

pub async fn body_text(response: Response) -> String {
    // A streamed page whose data never arrives must fail, not hang.
    let bytes = tokio::time::timeout(
        Duration::from_secs(60),
        axum::body::to_bytes(response.into_body(), 4 * 1024 * 1024),
    )
    .await
    .expect("the response body did not finish within 60 s")
    .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

pub fn header_str(response: &Response, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// A phone's browser: keeps cookies between requests, posts forms the way a
/// page without JavaScript does.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookies: BTreeMap<String, String>,
    /// Raw Set-Cookie headers of the last response.
    pub last_set_cookies: Vec<String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            cookies: BTreeMap::new(),
            last_set_cookies: Vec::new(),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, response: &Response) {
        self.last_set_cookies.clear();
        for value in response.headers().get_all(header::SET_COOKIE) {
            let raw = value.to_str().unwrap().to_owned();
            let pair = raw.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let expired = raw.contains("Max-Age=0");
            if expired || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
            self.last_set_cookies.push(raw);
        }
    }

    pub async fn get(&mut self, path: &str) -> Response {
        let req = Request::get(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::ACCEPT, "text/html")
            .body(Body::empty())
            .unwrap();
        let response = self.app.send(req).await;
        self.keep_cookies(&response);
        response
    }

    pub async fn page(&mut self, path: &str) -> String {
        body_text(self.get(path).await).await
    }

    /// Posts a form from one of our own pages (same Origin).
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Response {
        self.post_from("http://localhost", path, form).await
    }

    pub async fn post_from(&mut self, origin: &str, path: &str, form: &[(&str, &str)]) -> Response {
        let accept = "text/html";
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let req = Request::post(path)
            .header(header::HOST, "localhost")
            .header(header::ORIGIN, origin)
            .header(header::COOKIE, self.cookie_header())
            .header(header::ACCEPT, accept)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let response = self.app.send(req).await;
        self.keep_cookies(&response);
        response
    }

    /// Posts a `multipart/form-data` form from one of our pages: `file`
    /// as the field `field` (named `file_name`), then the `extra` fields.
    pub async fn post_file(
        &mut self,
        path: &str,
        (field, file_name, file): (&str, &str, &[u8]),
        extra: &[(&str, &str)],
    ) -> Response {
        let boundary = "----tablecard-test";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(b"\r\n");
        for (k, v) in extra {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let req = Request::post(path)
            .header(header::HOST, "localhost")
            .header(header::ORIGIN, "http://localhost")
            .header(header::COOKIE, self.cookie_header())
            .header(header::ACCEPT, "text/html")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        let response = self.app.send(req).await;
        self.keep_cookies(&response);
        response
    }

    /// Step one of the demo brand's join form, for a mainland number.
    pub async fn request_code(&mut self, phone: &str) -> Response {
        self.post(
            "/fn/request_code",
            &[("slug", "demo"), ("country", "86"), ("phone", phone)],
        )
        .await
    }

    /// Step two, with the terms ticked.
    pub async fn verify(&mut self, code: &str) -> Response {
        self.post(
            "/fn/verify_code",
            &[("slug", "demo"), ("code", code), ("terms", "on")],
        )
        .await
    }

    /// Steps one and two of the join form; returns where step two sent us.
    pub async fn join(&mut self, phone: &str, terms: bool) -> Response {
        let sent = self.request_code(phone).await;
        assert_eq!(sent.status(), 303, "request_code should redirect");
        let code = self
            .app
            .sender
            .last_code(&format!("+86{phone}"))
            .expect("a code was sent");
        let mut form = vec![("slug", "demo"), ("code", code.as_str())];
        if terms {
            form.push(("terms", "on"));
        }
        self.post("/fn/verify_code", &form).await
    }
}

pub fn location(response: &Response) -> String {
    header_str(response, header::LOCATION).to_owned()
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub const STAFF_PASSWORD: &str = "correct horse battery";

/// Staff of the demo brand: an owner, a manager of the second store, a
/// cashier of the first; and the owner of another brand.
pub async fn console_staff(app: &TestApp) {
    let db = &app._db.db;
    let clock = loyalty::SystemClock;
    let demo = brands::find_by_slug(db, &BrandSlug::parse("demo").unwrap())
        .await
        .unwrap();
    let all = stores::list(db, demo.id).await.unwrap();
    let (first, second) = (all[0].id, all[1].id);
    let mut tx = db.begin().await.unwrap();
    staff::create(
        &mut tx,
        &clock,
        demo.id,
        Role::Owner,
        "boss",
        "老板",
        STAFF_PASSWORD,
    )
    .await
    .unwrap();
    let manager = staff::create(
        &mut tx,
        &clock,
        demo.id,
        Role::Manager,
        "mgr2",
        "二店经理",
        STAFF_PASSWORD,
    )
    .await
    .unwrap();
    loyalty::staff::sessions::assign_stores(&mut tx, demo.id, manager.id, &[second])
        .await
        .unwrap();
    let cashier = staff::create(
        &mut tx,
        &clock,
        demo.id,
        Role::Cashier,
        "till",
        "收银",
        STAFF_PASSWORD,
    )
    .await
    .unwrap();
    loyalty::staff::sessions::assign_stores(&mut tx, demo.id, cashier.id, &[first])
        .await
        .unwrap();
    let other = brands::create(
        &mut tx,
        &clock,
        NewBrand {
            slug: BrandSlug::parse("other").unwrap(),
            name: "别家".into(),
            theme_color: ThemeColor::default(),
            default_language: Language::ZhCn,
        },
    )
    .await
    .unwrap();
    stores::create(
        &mut tx,
        &clock,
        other.id,
        NewStore {
            code: "X1".into(),
            name: "别店".into(),
            address: String::new(),
        },
    )
    .await
    .unwrap();
    staff::create(
        &mut tx,
        &clock,
        other.id,
        Role::Owner,
        "rival",
        "别家老板",
        STAFF_PASSWORD,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// A browser signed in to the console as `login`.
pub async fn staff_browser<'a>(app: &'a TestApp, login: &str) -> Browser<'a> {
    let mut b = Browser::new(app);
    let r = b
        .post(
            "/fn/staff_sign_in",
            &[
                ("login", login),
                ("password", STAFF_PASSWORD),
                ("next", "/admin/feedback"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/admin/feedback", "{login} signs in");
    b
}

/// The value of the first form field `name` after `marker` in a page (a
/// form's action, an id): how a test reads a form's one-time key.
pub fn field_after(page: &str, marker: &str, name: &str) -> String {
    let from = page
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in the page"));
    let rest = &page[from..];
    let at = rest
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} after {marker}"));
    let rest = &rest[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// A live API key for the first store of brand `slug`.
pub async fn api_key(app: &TestApp, slug: &str) -> String {
    let db = &app._db.db;
    let brand = brands::find_by_slug(db, &BrandSlug::parse(slug).unwrap())
        .await
        .unwrap();
    let store = stores::list(db, brand.id).await.unwrap()[0].id;
    let mut tx = db.begin().await.unwrap();
    let key = loyalty::brands::api_keys::create(
        &mut tx,
        &loyalty::SystemClock,
        brand.id,
        store,
        "test POS",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    key.key
}

/// A route's path with its parameters (`{name}` or `:name`) filled in; a
/// parameter without a value fails the test, so no route is skipped.
pub fn fill_route(path: &str, values: &[(&str, &str)]) -> String {
    let mut target = path.to_owned();
    for (name, value) in values {
        target = target
            .replace(&format!(":{name}"), value)
            .replace(&format!("{{{name}}}"), value);
    }
    assert!(
        !target.contains('{') && !target.contains("/:"),
        "{path}: a parameter the test does not fill"
    );
    target
}

/// The key the HTTP tests' server signs with (`TABLECARD_SECRET_KEY`).
pub const HTTP_SECRET: &[u8] = b"http-test-secret-key-long-enough-0123456789";

/// A member's rotating code now, as a till scans it off their phone: the
/// member numbered `member_no` in `db`, under the server key `secret`.
pub async fn rotating_code(db: &loyalty::Db, secret: &[u8], member_no: &str) -> String {
    let (id, brand): (i64, i64) =
        sqlx::query_as("SELECT id, brand_id FROM members WHERE member_no = $1")
            .bind(member_no)
            .fetch_one(db.pool())
            .await
            .unwrap();
    loyalty::members::member_code::current(
        &loyalty::ServerSecret::from_master(secret),
        &loyalty::SystemClock,
        loyalty::brands::BrandId(brand),
        loyalty::members::MemberId(id),
        &loyalty::members::MemberNo::parse(member_no).unwrap(),
    )
    .digits
}
