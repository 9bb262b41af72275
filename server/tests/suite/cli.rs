//! The `tablecard` binary as an operator meets it: subcommands, and one clear
//! line (never a panic) when the configuration is wrong.

use std::net::TcpListener;
use std::process::{Command, Output};

fn tablecard(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tablecard"));
    cmd.args(args)
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("LEPTOS_SITE_ADDR")
        .env_remove("TABLECARD_SECRET_KEY")
        .env("RUST_LOG", "error");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_one_clear_line(out: &Output, needle: &str) {
    assert!(!out.status.success(), "should fail");
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line, got: {err}");
    assert!(lines[0].starts_with("tablecard: "), "{err}");
    assert!(lines[0].contains(needle), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_unparsable_database_url_says_what_to_write() {
    let out = tablecard(&["migrate"], &[("DATABASE_URL", "mysql://db/tablecard")]);
    assert_one_clear_line(&out, "sqlite://");
}

#[test]
fn a_database_directory_that_cannot_be_created_is_named() {
    let out = tablecard(
        &["migrate"],
        &[("DATABASE_URL", "sqlite:///proc/tablecard/x.db")],
    );
    assert_one_clear_line(&out, "/proc/tablecard");
}

#[test]
fn a_bad_listen_address_says_what_to_write() {
    let out = tablecard(&["serve"], &[("LEPTOS_SITE_ADDR", "localhost")]);
    assert_one_clear_line(&out, "host:port");
}

#[test]
fn a_port_in_use_says_how_to_choose_another() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", db.path().display());
    let out = tablecard(
        &["serve"],
        &[("LEPTOS_SITE_ADDR", &addr), ("DATABASE_URL", &url)],
    );
    assert_one_clear_line(&out, "already in use");
}

#[test]
fn the_demo_is_seeded_once_and_its_password_kept_beside_the_database() {
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/tablecard.db", db.path().display());
    let first = tablecard(&["demo", "--json"], &[("DATABASE_URL", &url)]);
    assert!(first.status.success(), "{}", stderr(&first));
    let first: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(first["created"], true);
    assert_eq!(first["portal_url"], "http://127.0.0.1:3000/r/demo");
    let password = first["owner_password"].as_str().unwrap().to_owned();
    assert!(password.len() >= 10);

    let second = tablecard(&["demo", "--json"], &[("DATABASE_URL", &url)]);
    let second: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(second["created"], false);
    assert_eq!(second["tables"], first["tables"]);
    assert_eq!(second["owner_password"], password.as_str());

    let human = tablecard(&["demo"], &[("DATABASE_URL", &url)]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("http://127.0.0.1:3000/r/demo"), "{text}");
    assert!(text.contains("http://127.0.0.1:3000/t/"), "{text}");
    assert!(text.contains(&password), "{text}");
}

#[test]
fn create_owner_makes_a_brand_and_refuses_a_taken_login() {
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/tablecard.db", db.path().display());
    let env = [("DATABASE_URL", url.as_str())];
    let missing = tablecard(
        &["create-owner", "--brand", "laoma", "--login", "boss"],
        &env,
    );
    assert_one_clear_line(&missing, "--brand-name");

    let ok = tablecard(
        &[
            "create-owner",
            "--brand",
            "laoma",
            "--brand-name",
            "老马家",
            "--login",
            "boss",
        ],
        &env,
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(
        text.contains("Owner boss of 老马家 (laoma) created."),
        "{text}"
    );
    assert!(text.contains("Password: "), "{text}");

    let again = tablecard(
        &["create-owner", "--brand", "laoma", "--login", "boss"],
        &env,
    );
    assert_one_clear_line(&again, "already taken");

    let unlocked = tablecard(&["unlock-staff", "--login", "Boss"], &env);
    assert!(unlocked.status.success(), "{}", stderr(&unlocked));
    assert!(String::from_utf8_lossy(&unlocked.stdout).contains("Unlocked boss"));
    let nobody = tablecard(&["unlock-staff", "--login", "nobody"], &env);
    assert_one_clear_line(&nobody, "no staff account has the login nobody");
}

#[test]
fn sigterm_lets_the_server_finish_and_exit_cleanly() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let db = tempfile::tempdir().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_tablecard"))
        .arg("serve")
        .current_dir(db.path())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/t.db", db.path().display()),
        )
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "error")
        .spawn()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    let answer = loop {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            stream
                .write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            break answer;
        }
        assert!(Instant::now() < deadline, "the server never listened");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "a graceful stop exits 0, got {status}");
}

#[test]
fn an_api_key_is_printed_once_for_a_real_store() {
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/tablecard.db", db.path().display());
    let env = [("DATABASE_URL", url.as_str())];
    assert!(tablecard(&["demo"], &env).status.success());
    let out = tablecard(
        &[
            "create-api-key",
            "--brand",
            "demo",
            "--store",
            "sh01",
            "--name",
            "前台 POS",
        ],
        &env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("API key for 山野小馆 人民广场店 (SH01):"),
        "{text}"
    );
    assert!(text.contains("Shown once"), "{text}");
    let quiet = tablecard(
        &[
            "create-api-key",
            "--brand",
            "demo",
            "--store",
            "SH02",
            "--quiet",
        ],
        &env,
    );
    let key = String::from_utf8_lossy(&quiet.stdout).trim().to_owned();
    assert!(key.starts_with("tck_") && key.len() == 44, "{key}");
    let wrong = tablecard(
        &["create-api-key", "--brand", "demo", "--store", "NOPE"],
        &env,
    );
    assert_one_clear_line(&wrong, "its stores are: SH01, SH02");
}

#[test]
fn members_are_imported_from_the_command_line_once_however_often_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/tablecard.db", dir.path().display());
    let env = [("DATABASE_URL", url.as_str())];
    assert!(tablecard(&["demo", "--json"], &env).status.success());
    let file = dir.path().join("old.csv");
    std::fs::write(
        &file,
        "手机号,姓名,积分,等级\n13900139001,李雷,1200,金卡会员\n13900139002,韩梅梅,300,\n12345,坏号码,5,\n",
    )
    .unwrap();
    let report = dir.path().join("report.csv");
    let file_arg = file.to_str().unwrap();
    let report_arg = report.to_str().unwrap();
    let stdout = |out: &Output| String::from_utf8_lossy(&out.stdout).into_owned();

    let dry = tablecard(
        &[
            "import-members",
            "--brand",
            "demo",
            "--dry-run",
            "--report",
            report_arg,
            file_arg,
        ],
        &env,
    );
    assert!(dry.status.success(), "{}", stderr(&dry));
    let said = stdout(&dry);
    assert!(said.contains("line      4  12345"), "{said}");
    assert!(
        said.contains("“12345”不是手机号。"),
        "in the brand's language: {said}"
    );
    assert!(said.contains("Dry run: nothing was written."), "{said}");
    let rows = std::fs::read_to_string(&report).unwrap();
    assert_eq!(rows.lines().count(), 4, "a header and every row: {rows}");
    assert!(
        rows.contains("'+8613900139001,新会员"),
        "a phone that cannot run as a formula: {rows}"
    );

    let run = tablecard(&["import-members", "--brand", "demo", file_arg], &env);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stdout(&run).contains("完成：新增 2，合并 0，不变 0，未导入 1。"),
        "{}",
        stdout(&run)
    );
    assert!(
        stderr(&run).contains("Imported 3 of 3 rows"),
        "{}",
        stderr(&run)
    );

    let again = tablecard(&["import-members", "--brand", "demo", file_arg], &env);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("完成：新增 0，合并 0，不变 2，未导入 1。"),
        "{}",
        stdout(&again)
    );
}
