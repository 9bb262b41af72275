//! The README's shell examples, run as written against a fresh server: a
//! newcomer copies them, so they must work. Only what cannot be known in
//! advance is filled in: the binary's path, the server's address and the
//! member number on a card.

use std::process::{Command, Stdio};

use crate::crash::{free_port, prepare, start, tablecard, wait_ready, Target};

/// The README's ```sh blocks that contain `needle`, each as its lines.
fn examples(needle: &str) -> Vec<String> {
    let readme = include_str!("../../../README.md");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                if block.contains(needle) {
                    blocks.push(block.clone());
                }
                current = None;
            }
            (Some(block), line) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(
        !blocks.is_empty(),
        "the README has no example with {needle:?}"
    );
    blocks
}

/// Runs `script` with bash (-e, -u, pipefail) in the server's folder, with
/// the README's paths pointed at this build and server; returns stdout.
fn run(script: &str, target: &Target, port: u16) -> String {
    let script = script
        .replace("target/release/tablecard", env!("CARGO_BIN_EXE_tablecard"))
        .replace("localhost:3000", &format!("127.0.0.1:{port}"));
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(target.dir.path())
        .env("DATABASE_URL", &target.url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env(
            "TABLECARD_SECRET_KEY",
            "crash-test-secret-key-long-enough-0123456789",
        )
        // The logs at their default level, as a newcomer has them.
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script}\nfailed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test]
async fn the_pos_example_records_a_purchase_as_written() {
    let target = Target::sqlite();
    let (_, members, ..) = prepare(&target).await;
    let member = &members[0].0;
    let port = free_port();
    let _server = start(&target, port);
    wait_ready(&reqwest::Client::new(), &format!("http://127.0.0.1:{port}")).await;

    let [example] = &examples("create-api-key")[..] else {
        panic!("one POS example");
    };
    assert!(example.contains("MEMBER=12345678"), "{example}");
    assert!(example.contains("CODE=12345678901234"), "{example}");
    let db = loyalty::Db::connect(&target.url).await.unwrap();
    let secret = b"crash-test-secret-key-long-enough-0123456789";
    let code = crate::common::rotating_code(&db, secret, member).await;
    db.close().await;
    let stdout = run(
        &example
            .replace("MEMBER=12345678", &format!("MEMBER={member}"))
            .replace("CODE=12345678901234", &format!("CODE={code}")),
        &target,
        port,
    );
    // Four answers: the member looked up, the purchase recorded, the
    // top-up with the demo's offer, the payment from the balance.
    let answers: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(answers.len(), 4, "{stdout}");
    assert_eq!(answers[0]["member_no"], member.as_str(), "{stdout}");
    // ¥128 at the base tier: 128 points, 1 per yuan.
    assert_eq!(answers[1]["points_earned"], 128, "{stdout}");
    assert_eq!(answers[2]["bonus_fen"], 6_000, "{stdout}");
    assert_eq!(answers[2]["balance_fen"], 56_000, "{stdout}");
    assert_eq!(answers[3]["paid_fen"], 8_800, "{stdout}");
    assert_eq!(answers[3]["balance_fen"], 47_200, "{stdout}");
}

#[tokio::test]
async fn the_backup_example_backs_up_while_serving_and_restores_when_stopped() {
    let target = Target::sqlite();
    prepare(&target).await;
    let port = free_port();
    let mut server = start(&target, port);
    wait_ready(&reqwest::Client::new(), &format!("http://127.0.0.1:{port}")).await;

    let [example] = &examples("tablecard backup")[..] else {
        panic!("one backup example");
    };
    let lines: Vec<&str> = example.lines().collect();
    let [backup, restore] = &lines[..] else {
        panic!("backup, then restore: {example}");
    };
    assert!(backup.contains("while the server runs"), "{backup}");
    let said = run(backup, &target, port);
    assert!(said.contains("integrity and balances checked"), "{said}");

    assert!(restore.contains("with the server stopped"), "{restore}");
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    run(restore, &target, port);
    let check = tablecard(&target)
        .args(["demo", "--json"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(check.status.success(), "the restored database opens");
}
