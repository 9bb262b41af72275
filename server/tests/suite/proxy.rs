//! The reverse proxies of `deploy/` as shipped, in front of the real server:
//! Debian's nginx with `deploy/nginx.conf` and Caddy with
//! `deploy/Caddyfile`, changed only where a test must (ports, the
//! certificate, where the server listens). Through each, over TLS: the
//! portal answers; plain HTTP is sent to HTTPS; the member's address the
//! portal records is the client's, never one the client wrote into
//! `X-Forwarded-For`; an owner's 16 MiB member file gets through while a
//! larger body is stopped; `/metrics` is not served to the public.
//!
//! `make test` installs nginx, Caddy and openssl (Debian packages) when
//! they are missing; without them these tests fail and say so.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::crash::{free_port, tablecard, wait_ready, Server, Target};

fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let path = Path::new(dir).join(name);
        if path.exists() {
            return path;
        }
    }
    panic!("{name} is not installed: `make test` installs it (apt-get install {name})");
}

fn run(command: &mut Command) -> String {
    let out = command.output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{command:?}: {said}");
    said
}

/// A certificate authority of the test's own and a certificate it signed
/// for `localhost`, as Let's Encrypt's files would be: (CA, chain, key).
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = tool("openssl");
    let p = |name: &str| dir.join(name);
    run(Command::new(&openssl)
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=Tablecard test CA", "-keyout"])
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("ca.pem")));
    std::fs::write(
        p("leaf.ext"),
        "basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(Command::new(&openssl)
        .args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
        ])
        .arg(p("privkey.pem"))
        .arg("-out")
        .arg(p("leaf.csr")));
    run(Command::new(&openssl)
        .args(["x509", "-req", "-days", "2", "-in"])
        .arg(p("leaf.csr"))
        .arg("-CA")
        .arg(p("ca.pem"))
        .arg("-CAkey")
        .arg(p("ca.key"))
        .arg("-CAcreateserial")
        .arg("-extfile")
        .arg(p("leaf.ext"))
        .arg("-out")
        .arg(p("fullchain.pem")));
    (p("ca.pem"), p("fullchain.pem"), p("privkey.pem"))
}

/// A shipped file with the test's substitutions, each of which must apply:
/// a changed file that no longer matches fails here, not silently.
fn render(file: &str, substitutions: &[(&str, String)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(file);
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in substitutions {
        assert!(text.contains(from), "{file} no longer has {from:?}");
        text = text.replace(from, to);
    }
    text
}

/// A proxy process, killed when dropped.
struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lets a scrape of the site's own `/metrics` in (never through the proxy).
const METRICS_TOKEN: &str = "proxy-test-metrics-token-0123456789";

/// How many requests of the member-file upload the portal at `app` has
/// answered, from its own metrics, asked directly.
async fn uploads_seen(client: &reqwest::Client, app: u16) -> f64 {
    let text = client
        .get(format!("http://127.0.0.1:{app}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("tablecard_http_requests_total{")
                && l.contains("route=\"/admin/import/file\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The portal on `port`, as docs/operations.md runs it behind a proxy.
/// Also returns the demo owner's sign-in name and password.
fn portal(target: &Target, port: u16, public: &str) -> (Server, (String, String)) {
    let seeded = tablecard(target)
        .args(["demo", "--json"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(seeded.status.success(), "{seeded:?}");
    let demo: serde_json::Value = serde_json::from_slice(&seeded.stdout).unwrap();
    let owner = (
        demo["owner_login"].as_str().unwrap().to_owned(),
        demo["owner_password"].as_str().unwrap().to_owned(),
    );
    let server = Server(
        tablecard(target)
            .arg("serve")
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_SITE_ROOT", target.dir.path())
            .env("TABLECARD_PUBLIC_URL", public)
            .env("TABLECARD_CLIENT_IP_HEADER", "X-Forwarded-For")
            .env("TABLECARD_TRUSTED_PROXIES", "1")
            .env("TABLECARD_SMS", "log")
            .env("TABLECARD_METRICS_TOKEN", METRICS_TOKEN)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    (server, owner)
}

fn wait_listening(port: u16, proxy: &mut Proxy, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = proxy.0.try_wait() {
            panic!(
                "the proxy exited ({status}): {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "the proxy did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What a phone and an owner notice through the proxy at `https`/`http`.
/// How a proxy treats a body over its limit.
#[derive(Clone, Copy)]
enum Oversize {
    /// Refused from its declared length before any of it is sent on
    /// (nginx): this status, and the portal never sees it.
    Refused(u16),
    /// Streamed on until the limit, then cut (Caddy): either the proxy
    /// answers this status, or the portal, which refuses anything past its
    /// own 16 MiB, answers first by sending the owner back to the import
    /// page with the size error.
    Streamed(u16),
}

/// `oversize` is how the proxy treats a body over its limit; `app` is
/// where the portal itself listens.
async fn check_through_proxy(
    target: &Target,
    owner: (String, String),
    ca: &Path,
    (https, http, app): (u16, u16, u16),
    oversize: Oversize,
) {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    // The client is 127.0.0.2; the proxy reaches the portal from 127.0.0.1.
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .resolve("localhost", ([127, 0, 0, 1], https).into())
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let base = format!("https://localhost:{https}");
    wait_ready(&client, &base).await;

    let page = client.get(format!("{base}/r/demo")).send().await.unwrap();
    assert_eq!(page.status(), 200, "the landing page over TLS");
    assert!(
        page.text().await.unwrap().contains("山野小馆"),
        "the demo brand's page"
    );

    let plain = client
        .get(format!("http://127.0.0.1:{http}/r/demo?t=1"))
        .send()
        .await
        .unwrap();
    assert!(
        plain.status().is_redirection(),
        "plain HTTP is sent to HTTPS: {}",
        plain.status()
    );
    let to = plain.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        to.starts_with("https://") && to.ends_with("/r/demo?t=1"),
        "{to}"
    );

    // A member asks for a code with an invented address in the header.
    let asked = client
        .post(format!("{base}/fn/request_code"))
        .header("origin", &base)
        .header("x-forwarded-for", "6.6.6.6")
        .form(&[
            ("slug", "demo"),
            ("country", "86"),
            ("phone", "13700137000"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 303, "{:?}", asked.text().await);
    let db = loyalty::Db::connect(&target.url).await.unwrap();
    let (seen,): (String,) = sqlx::query_as("SELECT client_ip FROM login_codes")
        .fetch_one(db.pool())
        .await
        .unwrap();
    db.close().await;
    assert_eq!(seen, "127.0.0.2", "the client's address, not the header's");

    // The owner's member file: up to 16 MiB reaches the portal (which asks
    // for a signed-in owner); more is stopped.
    // The owner signs in through the proxy (a Secure cookie, over TLS) and
    // sends a member file: the portal reads it all, whatever it makes of it.
    let (login, password) = owner;
    let signed = client
        .post(format!("{base}/fn/staff_sign_in"))
        .header("origin", &base)
        .form(&[
            ("login", login.as_str()),
            ("password", password.as_str()),
            ("next", "/admin/import"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303, "the owner signs in");
    let cookie = signed
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ");
    let upload = |bytes: usize| {
        let mut body =
            b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"old.csv\"\r\n\
                         Content-Type: text/csv\r\n\r\n"
                .to_vec();
        body.resize(body.len() + bytes, b'a');
        body.extend_from_slice(b"\r\n--x--\r\n");
        client
            .post(format!("{base}/admin/import/file"))
            .header("origin", &base)
            .header("cookie", &cookie)
            .header("content-type", "multipart/form-data; boundary=x")
            .body(body)
            .send()
    };
    let direct = reqwest::Client::new();
    let before = uploads_seen(&direct, app).await;
    let allowed = upload(15 << 20).await.unwrap();
    let status = allowed.status();
    assert!(
        ![413, 502, 504].contains(&status.as_u16()),
        "a 15 MiB member file gets through the proxy: {status}"
    );
    assert_eq!(
        uploads_seen(&direct, app).await,
        before + 1.0,
        "the portal answered the 15 MiB upload itself ({status})"
    );
    let too_big = upload(20 << 20).await;
    let seen = uploads_seen(&direct, app).await;
    match (oversize, too_big) {
        (Oversize::Refused(status), Ok(r)) => {
            assert_eq!(r.status(), status, "a 20 MiB body is stopped");
            assert_eq!(
                seen,
                before + 1.0,
                "the 20 MiB body never reached the portal"
            );
        }
        (Oversize::Streamed(status), Ok(r)) if r.status() == status => {}
        (Oversize::Streamed(_), Ok(r)) => {
            assert_eq!(r.status(), 303, "the portal refused it itself");
            let to = r.headers()["location"].to_str().unwrap();
            assert!(
                to.starts_with("/admin/import") && to.contains("import_size"),
                "{to}"
            );
            assert_eq!(seen, before + 2.0);
        }
        // A proxy may close the connection while the body still arrives.
        (_, Err(e)) => assert!(e.is_request() || e.is_body(), "{e}"),
    }

    // The portal serves its metrics to a scraper with the token; through
    // the proxy, even with the token, there are none.
    let metrics = client
        .get(format!("{base}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 404, "metrics are not public");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_as_shipped_serves_the_portal_over_tls() {
    let nginx = tool("nginx");
    let target = Target::sqlite();
    let dir = target.dir.path().to_owned();
    let (ca, chain, key) = certificates(&dir);
    let (app, https, http) = (free_port(), free_port(), free_port());
    let site = render(
        "nginx.conf",
        &[
            ("    listen [::]:80;\n", String::new()),
            ("    listen [::]:443 ssl http2;\n", String::new()),
            ("listen 80;", format!("listen 127.0.0.1:{http};")),
            (
                "listen 443 ssl http2;",
                format!("listen 127.0.0.1:{https} ssl http2;"),
            ),
            (
                "/etc/letsencrypt/live/card.example.com/fullchain.pem",
                chain.display().to_string(),
            ),
            (
                "/etc/letsencrypt/live/card.example.com/privkey.pem",
                key.display().to_string(),
            ),
            ("http://127.0.0.1:3000", format!("http://127.0.0.1:{app}")),
        ],
    );
    std::fs::write(dir.join("tablecard.conf"), site).unwrap();
    // The main file Debian's /etc/nginx/nginx.conf would be, in the test's
    // directory.
    let root = run(Command::new("id").arg("-u")).trim() == "0";
    let main = format!(
        "{user}worker_processes 1;\npid {d}/nginx.pid;\nevents {{}}\nhttp {{\n  access_log {d}/access.log;\n  \
         client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
         uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  include {d}/tablecard.conf;\n}}\n",
        user = if root { "user root;\n" } else { "" },
        d = dir.display()
    );
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, main).unwrap();
    let log = dir.join("error.log");
    let nginx_args = |extra: &[&str]| {
        let mut c = Command::new(&nginx);
        c.arg("-p")
            .arg(&dir)
            .arg("-e")
            .arg(&log)
            .arg("-c")
            .arg(&conf)
            .args(extra);
        c
    };
    let tested = run(&mut nginx_args(&["-t"]));
    assert!(tested.contains("test is successful"), "{tested}");

    let (_server, owner) = portal(&target, app, &format!("https://localhost:{https}"));
    let mut proxy = Proxy(
        nginx_args(&["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_listening(https, &mut proxy, &log);
    check_through_proxy(
        &target,
        owner,
        &ca,
        (https, http, app),
        Oversize::Refused(413),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caddy_as_shipped_serves_the_portal_over_tls() {
    let caddy = tool("caddy");
    let target = Target::sqlite();
    let dir = target.dir.path().to_owned();
    let (ca, chain, key) = certificates(&dir);
    let (app, https, http) = (free_port(), free_port(), free_port());
    // Caddy gets its certificate from Let's Encrypt by itself; here it is
    // handed the test's, and told the ports.
    let site = render(
        "Caddyfile",
        &[
            (
                "card.example.com {\n",
                format!(
                    "{{\n\tadmin off\n\thttp_port {http}\n\thttps_port {https}\n}}\n\
                     localhost {{\n\ttls {} {}\n",
                    chain.display(),
                    key.display()
                ),
            ),
            ("127.0.0.1:3000", format!("127.0.0.1:{app}")),
        ],
    );
    let file = dir.join("Caddyfile");
    std::fs::write(&file, site).unwrap();
    let caddy_cmd = |what: &str| {
        let mut c = Command::new(&caddy);
        c.args([what, "--adapter", "caddyfile", "--config"])
            .arg(&file)
            .env("HOME", &dir)
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("XDG_CONFIG_HOME", dir.join("config"));
        c
    };
    run(&mut caddy_cmd("validate"));

    let (_server, owner) = portal(&target, app, &format!("https://localhost:{https}"));
    let log = dir.join("caddy.log");
    let mut proxy = Proxy(
        caddy_cmd("run")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_listening(https, &mut proxy, &log);
    // Caddy streams the body on and cuts it at `max_size`; before 2.7 it
    // then answers 502, not 413 (caddyserver/caddy#5652). The portal's own
    // limit may answer first.
    let version = run(Command::new(&caddy).arg("version"));
    let before_2_7 = version.starts_with("v2.6") || version.starts_with("2.6");
    check_through_proxy(
        &target,
        owner,
        &ca,
        (https, http, app),
        Oversize::Streamed(if before_2_7 { 502 } else { 413 }),
    )
    .await;
}
