//! Member import as an owner meets it on the console: the file is checked
//! and every problem said in the owner's language before anything is
//! written; the import runs in the background while the page follows it;
//! the imported member signs in with their phone and finds their points.
//! And at the command line: the dry run, the run, the run again.

use std::time::Duration;

use axum::http::StatusCode;

use crate::common::{self, console_staff, location, spawn_app, staff_browser};

const FILE: &str = "手机号,姓名,积分,等级,储值余额\n\
13900139001,李雷,1200,金卡会员,100\n\
13900139002,韩梅梅,300,,\n\
12345,坏号码,5,,\n";

#[both_databases]
async fn the_owner_checks_a_file_imports_it_and_follows_it_to_the_end() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut boss = staff_browser(&app, "boss").await;

    // A file that is no table is refused with a sentence.
    let junk = boss
        .post_file(
            "/admin/import/file",
            ("file", "x.xlsx", b"PK\x03\x04junk"),
            &[],
        )
        .await;
    assert_eq!(location(&junk), "/admin/import?error=import_unreadable");
    assert!(boss.page(&location(&junk)).await.contains("无法读取此文件"));

    let checked = boss
        .post_file(
            "/admin/import/file",
            ("file", "old.csv", FILE.as_bytes()),
            &[],
        )
        .await;
    assert_eq!(checked.status(), StatusCode::SEE_OTHER);
    let page_url = location(&checked);
    assert!(page_url.starts_with("/admin/import?import="), "{page_url}");
    let page = boss.page(&page_url).await;
    assert!(
        page.contains("“12345”不是手机号。"),
        "the problem, in the owner's words"
    );
    assert!(
        page.contains("导入 2 行"),
        "the button says what will be written"
    );
    assert!(page.contains("李雷"), "a preview of the rows");
    let members_before: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM members")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();

    // Nothing was written by the check; the import starts on the button.
    let id = page_url
        .trim_start_matches("/admin/import?import=")
        .split('#')
        .next()
        .unwrap()
        .to_owned();
    let started = boss.post("/fn/start_member_import", &[("id", &id)]).await;
    assert_eq!(location(&started), format!("/admin/import?import={id}"));
    let mut done = String::new();
    for _ in 0..100 {
        done = boss.page(&format!("/admin/import?import={id}")).await;
        if done.contains("完成：") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        done.contains("完成：新增 2，合并 0，不变 0，未导入 1。"),
        "{done}"
    );
    let (members_after,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM members")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    assert_eq!(members_after, members_before.0 + 2);

    // The imported member signs in with their phone and finds their points.
    let mut member = common::Browser::new(&app);
    member.request_code("13900139001").await;
    let code = app.sender.last_code("+8613900139001").expect("a code");
    member.verify(&code).await;
    let card = member.page("/r/demo/points").await;
    assert!(
        card.contains("1200") || card.contains("1,200"),
        "the imported points"
    );
    assert!(
        card.contains("原会员系统转入"),
        "the ledger says where they came from"
    );

    // A manager may not import.
    let mut mgr = staff_browser(&app, "mgr2").await;
    let refused = mgr
        .post_file(
            "/admin/import/file",
            ("file", "old.csv", FILE.as_bytes()),
            &[],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    app.finish().await;
}
