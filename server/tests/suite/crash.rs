//! Crash safety of purchases: a POS keeps sending purchases while the server
//! is killed with SIGKILL several times. Every purchase the server
//! acknowledged must be there after a restart, retries of the unacknowledged
//! ones (same Idempotency-Key) must each credit exactly once, and every
//! member's balance must equal the sum of their ledger rows.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use loyalty::brands::{self, BrandSlug};
use loyalty::members::{self, Consent};
use loyalty::phone::Phone;
use loyalty::{Db, SystemClock};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(dir: &std::path::Path, url: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tablecard"))
        .arg("serve")
        .current_dir(dir)
        .env("DATABASE_URL", url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env(
            "TABLECARD_SECRET_KEY",
            "crash-test-secret-key-long-enough-0123456789",
        )
        .env("TABLECARD_API_RATE_PER_MINUTE", "100000")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not come back");
}

#[derive(Clone)]
struct Sent {
    member_no: String,
    body: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_purchases_survive_sigkill_and_retries_credit_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/crash.db", dir.path().display());
    let seed = Command::new(env!("CARGO_BIN_EXE_tablecard"))
        .args(["demo"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(seed.status.success());
    let key_out = Command::new(env!("CARGO_BIN_EXE_tablecard"))
        .args([
            "create-api-key",
            "--brand",
            "demo",
            "--store",
            "SH01",
            "--quiet",
        ])
        .current_dir(dir.path())
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let key = String::from_utf8(key_out.stdout).unwrap().trim().to_owned();

    let member_nos: Vec<String> = {
        let db = Db::connect(&url).await.unwrap();
        let brand = brands::find_by_slug(&db, &BrandSlug::parse("demo").unwrap())
            .await
            .unwrap();
        let mut tx = db.begin().await.unwrap();
        let mut nos = Vec::new();
        for i in 0..5 {
            let phone = Phone::parse("86", &format!("1380013800{i}")).unwrap();
            let consent = Consent {
                terms_accepted: true,
                marketing: false,
            };
            let (m, _) = members::join(&mut tx, &SystemClock, &brand, &phone, consent)
                .await
                .unwrap();
            nos.push(m.member_no.as_str().to_owned());
        }
        tx.commit().await.unwrap();
        db.close().await;
        nos
    };

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let sent: Arc<Mutex<BTreeMap<String, Sent>>> = Arc::default();
    let acked: Arc<Mutex<BTreeMap<String, i64>>> = Arc::default();
    let mut counter = 0u64;

    for round in 0..3 {
        let mut server = start(dir.path(), &url, port);
        wait_ready(&client, &base).await;
        // A POS retries what was never acknowledged, with the same key.
        let pending: Vec<(String, Sent)> = {
            let s = sent.lock().unwrap();
            let a = acked.lock().unwrap();
            s.iter()
                .filter(|(k, _)| !a.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let mut tasks = Vec::new();
        for worker in 0..6 {
            let (client, base, key, sent, acked) = (
                client.clone(),
                base.clone(),
                key.clone(),
                sent.clone(),
                acked.clone(),
            );
            let mut jobs: Vec<(String, Sent)> =
                pending.iter().skip(worker).step_by(6).cloned().collect();
            for n in 0..200 {
                counter += 1;
                let order = format!("R{round}-W{worker}-{n}-{counter}");
                let member_no = member_nos[(n + worker) % member_nos.len()].clone();
                let body = serde_json::json!({"order_id": order, "member": member_no, "amount_fen": 1_000 + n as i64}).to_string();
                jobs.push((order, Sent { member_no, body }));
            }
            tasks.push(tokio::spawn(async move {
                for (order, job) in jobs {
                    sent.lock().unwrap().insert(order.clone(), job.clone());
                    let r = client
                        .post(format!("{base}/api/v1/purchases"))
                        .bearer_auth(&key)
                        .header("idempotency-key", &order)
                        .header("content-type", "application/json")
                        .body(job.body.clone())
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().is_success() => {
                            let v: serde_json::Value = r.json().await.unwrap();
                            acked
                                .lock()
                                .unwrap()
                                .insert(order, v["points_earned"].as_i64().unwrap());
                        }
                        Ok(r) if r.status() == 409 => {} // still in progress after a crash: retried later
                        Ok(r) => panic!("unexpected answer {}", r.status()),
                        Err(_) => return, // the server is gone
                    }
                }
            }));
        }
        // Kill it mid-load.
        tokio::time::sleep(Duration::from_millis(1_000 + 500 * round as u64)).await;
        server.kill().unwrap();
        server.wait().unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        let unanswered = sent.lock().unwrap().len() - acked.lock().unwrap().len();
        eprintln!(
            "crash round {round}: {} sent, {} acknowledged, {unanswered} unanswered at the kill",
            sent.lock().unwrap().len(),
            acked.lock().unwrap().len()
        );
        assert!(
            unanswered > 0,
            "round {round}: the kill must land while requests are in flight"
        );
    }

    // A last run with no crash: every request sent so far is retried until
    // it is acknowledged (an abandoned claim is taken over after its grace period).
    let mut server = start(dir.path(), &url, port);
    wait_ready(&client, &base).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let pending: Vec<(String, Sent)> = {
            let s = sent.lock().unwrap();
            let a = acked.lock().unwrap();
            s.iter()
                .filter(|(k, _)| !a.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        if pending.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} requests never acknowledged",
            pending.len()
        );
        for (order, job) in pending {
            let r = client
                .post(format!("{base}/api/v1/purchases"))
                .bearer_auth(&key)
                .header("idempotency-key", &order)
                .header("content-type", "application/json")
                .body(job.body.clone())
                .send()
                .await
                .unwrap();
            if r.status().is_success() {
                let v: serde_json::Value = r.json().await.unwrap();
                acked
                    .lock()
                    .unwrap()
                    .insert(order, v["points_earned"].as_i64().unwrap());
            } else {
                assert_eq!(
                    r.status(),
                    409,
                    "only an abandoned claim may hold a retry back"
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();

    let db = Db::connect(&url).await.unwrap();
    let acked = acked.lock().unwrap().clone();
    let sent = sent.lock().unwrap().clone();
    let recorded: Vec<(String, i64)> =
        sqlx::query_as("SELECT order_id, points_earned FROM purchases")
            .fetch_all(db.pool())
            .await
            .unwrap();
    let recorded: BTreeMap<String, i64> = recorded.into_iter().collect();
    assert_eq!(
        recorded.len(),
        sent.len(),
        "each purchase recorded exactly once"
    );
    for (order, points) in &acked {
        assert_eq!(
            recorded.get(order),
            Some(points),
            "acknowledged {order} is there, as acknowledged"
        );
    }
    assert!(
        loyalty::points::audit(&db).await.unwrap().is_empty(),
        "balance == sum(ledger) for everyone"
    );
    let per_member: Vec<(String, i64)> =
        sqlx::query_as("SELECT member_no, points_balance FROM members")
            .fetch_all(db.pool())
            .await
            .unwrap();
    for (no, balance) in per_member {
        let expected: i64 = sent
            .iter()
            .filter(|(_, s)| s.member_no == no)
            .map(|(o, _)| recorded[o])
            .sum();
        assert_eq!(balance, expected, "member {no}");
    }
    db.close().await;
}
