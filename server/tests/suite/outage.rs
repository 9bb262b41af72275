//! When the database goes away (PostgreSQL unreachable) or runs out of disk
//! (SQLite on a full file system), every request is a clear 503 with
//! Retry-After, nothing is half-written, and the server recovers by itself
//! when the database does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use loyalty::testing::TestDb;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::common::{body_text, header_str, spawn_app_on, TestApp};

/// A TCP line to PostgreSQL that the test can cut and mend.
struct Line {
    addr: String,
    up: Arc<AtomicBool>,
    cut: Arc<tokio::sync::Notify>,
}

impl Line {
    async fn open() -> Line {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let up = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(tokio::sync::Notify::new());
        let (up2, cut2) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            let mut live = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((mut client, _)) = accepted else { continue };
                        if !up2.load(Ordering::SeqCst) {
                            continue; // dropped: the connection is refused
                        }
                        live.spawn(async move {
                            if let Ok(mut server) = TcpStream::connect("127.0.0.1:5432").await {
                                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            }
                        });
                    }
                    _ = cut2.notified() => live.abort_all(),
                }
            }
        });
        Line { addr, up, cut }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.notify_one();
    }

    fn mend(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// A POS key, and the member it buys for.
async fn key_and_member(app: &TestApp) -> String {
    let key = crate::common::api_key(app, "demo").await;
    let db = &app._db.db;
    let demo =
        loyalty::brands::find_by_slug(db, &loyalty::brands::BrandSlug::parse("demo").unwrap())
            .await
            .unwrap();
    let phone = loyalty::members::phone::Phone::parse("86", "13800138000").unwrap();
    let consent = loyalty::members::Consent {
        terms_accepted: true,
        marketing: false,
    };
    let mut tx = db.begin().await.unwrap();
    loyalty::members::join(
        &mut tx,
        &loyalty::SystemClock,
        &loyalty::testing::secret(),
        &demo,
        &phone,
        consent,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    key
}

async fn purchase(app: &TestApp, key: &str, order: &str) -> (StatusCode, Value, String) {
    let r = app
        .send(
            Request::post("/api/v1/purchases")
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .header(header::CONTENT_TYPE, "application/json")
                .header("idempotency-key", order)
                .body(Body::from(
                    json!({"order_id": order, "member": {"phone": "+8613800138000"}, "amount_fen": 10_000})
                        .to_string(),
                ))
                .unwrap(),
        )
        .await;
    let status = r.status();
    let retry = header_str(&r, header::RETRY_AFTER).to_owned();
    let text = body_text(r).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        retry,
    )
}

/// What a member and the POS see while the database is unreachable, then
/// after it returns.
/// `reads_fail`: the database is gone (nothing can be read), not just full.
async fn ride_out_the_outage(
    app: &TestApp,
    key: &str,
    reads_fail: bool,
    down: impl Fn(),
    up: impl Fn(),
) {
    let (status, _, _) = purchase(app, key, "BEFORE").await;
    assert_eq!(status, StatusCode::OK);
    down();
    let (status, problem, retry) = purchase(app, key, "DURING").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(problem["code"], "service_unavailable");
    assert_eq!(retry, "5");
    if reads_fail {
        // A page that reads the database (a table's QR code) says so.
        let table = format!("/t/{}", app.table_token());
        let page = app.get(&table, &[("accept-language", "zh-CN")]).await;
        assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(body_text(page).await.contains("服务暂时不可用"));
        // The landing page needs only its brand, which the server may still
        // hold in memory (until it hears the database is gone): the page,
        // or the same 503, never a failure of ours.
        let landing = app.get("/r/demo", &[]).await.status();
        assert!(
            landing == StatusCode::OK || landing == StatusCode::SERVICE_UNAVAILABLE,
            "{landing}"
        );
        assert_eq!(
            app.get("/readyz", &[]).await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        // A plain handler (the member's data export) says the same.
        let export = app.get("/r/demo/me/export", &[]).await;
        assert_eq!(export.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(header_str(&export, header::RETRY_AFTER), "5");
    } else {
        // A full disk still serves what is there to read.
        assert_eq!(app.get("/r/demo", &[]).await.status(), StatusCode::OK);
    }
    up();
    // Recovers by itself: the POS retries the same request and it goes
    // through, once.
    let mut recovered = None;
    for _ in 0..50 {
        let (status, answer, _) = purchase(app, key, "DURING").await;
        if status == StatusCode::OK {
            recovered = Some(answer);
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered.is_some(), "the server never recovered");
    assert_eq!(app.get("/r/demo", &[]).await.status(), StatusCode::OK);
    let (orders,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM purchases")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    assert_eq!(orders, 2, "BEFORE and DURING, once each");
    assert!(loyalty::points::audit(&app._db.db)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TABLECARD_TEST_POSTGRES_URL (make test then runs it)"]
async fn postgres_going_away_is_a_503_and_coming_back_needs_nobody() {
    let line = Line::open().await;
    let db = TestDb::postgres_through(Some(&line.addr)).await;
    let app = spawn_app_on(db, &[], false).await;
    let key = key_and_member(&app).await;
    ride_out_the_outage(&app, &key, true, || line.cut(), || line.mend()).await;
    app.finish().await;
}

#[tokio::test]
#[ignore = "mounts a tmpfs: needs root (make test runs it as root when the ignored tests run)"]
async fn a_full_disk_is_a_503_and_freeing_it_needs_nobody() {
    // A 4 MiB file system of its own (root in a container may mount one).
    let dir = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        mounted,
        "the full-disk test needs root to mount a 4 MiB tmpfs; run without --include-ignored, or as root"
    );
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.0)
                .status();
        }
    }
    let _unmount = Unmount(dir.path().to_owned());
    let root = dir.path().to_owned();
    let db = TestDb::sqlite_in(dir).await;
    let app = spawn_app_on(db, &[], false).await;
    let key = key_and_member(&app).await;
    let filler = root.join("filler");
    let fill = || {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    };
    let free = || {
        std::fs::remove_file(&filler).unwrap();
    };
    ride_out_the_outage(&app, &key, false, fill, free).await;
    let (check,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    assert_eq!(check, "ok", "a full disk corrupted nothing");
}
