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

/// The portal on `port`, as docs/operations.md runs it behind a proxy.
fn portal(target: &Target, port: u16, public: &str) -> Server {
    let seeded = tablecard(target).arg("demo").output().unwrap();
    assert!(seeded.status.success(), "{seeded:?}");
    Server(
        tablecard(target)
            .arg("serve")
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_SITE_ROOT", target.dir.path())
            .env("TABLECARD_PUBLIC_URL", public)
            .env("TABLECARD_CLIENT_IP_HEADER", "X-Forwarded-For")
            .env("TABLECARD_TRUSTED_PROXIES", "1")
            .env("TABLECARD_SMS", "log")
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
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
/// `too_large` is how the proxy answers a body over its limit.
async fn check_through_proxy(
    target: &Target,
    ca: &Path,
    (https, http): (u16, u16),
    too_large: u16,
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
    let upload = |bytes: usize| {
        client
            .post(format!("{base}/admin/import/file"))
            .header("origin", &base)
            .header("content-type", "multipart/form-data; boundary=x")
            .body(vec![b'a'; bytes])
            .send()
    };
    let allowed = upload(15 << 20).await.unwrap();
    assert_ne!(
        allowed.status(),
        413,
        "a 15 MiB member file gets through the proxy"
    );
    let too_big = upload(20 << 20).await;
    match too_big {
        Ok(r) => assert_eq!(r.status(), too_large, "a 20 MiB body is stopped"),
        // A proxy may close the connection while the body still arrives.
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }

    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap();
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

    let _server = portal(&target, app, &format!("https://localhost:{https}"));
    let mut proxy = Proxy(
        nginx_args(&["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_listening(https, &mut proxy, &log);
    check_through_proxy(&target, &ca, (https, http), 413).await;
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

    let _server = portal(&target, app, &format!("https://localhost:{https}"));
    let log = dir.join("caddy.log");
    let mut proxy = Proxy(
        caddy_cmd("run")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_listening(https, &mut proxy, &log);
    // Caddy before 2.7 answers a body over `max_size` with 502, not 413
    // (caddyserver/caddy#5652); either way it does not reach the portal.
    let version = run(Command::new(&caddy).arg("version"));
    let before_2_7 = version.starts_with("v2.6") || version.starts_with("2.6");
    check_through_proxy(
        &target,
        &ca,
        (https, http),
        if before_2_7 { 502 } else { 413 },
    )
    .await;
}
