//! Backups on a schedule, as an operator relies on them: each one checked,
//! the newest few kept, the last success in `/readyz`, and the restore
//! drill: the scheduled backup restored is the database as it was.

use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use loyalty::testing::TestDb;
use server::backups::{self, Schedule};

use crate::common::{body_text, spawn_app_with};

#[tokio::test]
async fn scheduled_backups_keep_the_newest_and_the_newest_restores_the_database() {
    let t = TestDb::sqlite().await;
    let clock = loyalty::SystemClock;
    loyalty::infra::demo::seed(&t.db, &clock).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let schedule = Schedule {
        dir: dir.path().join("backups"),
        every: Duration::from_secs(3600),
        keep: 2,
    };
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_090_400);
    for hour in 0..3 {
        if hour == 2 {
            // Something happens between the second backup and the third.
            let brand = loyalty::brands::find_by_slug(
                &t.db,
                &loyalty::brands::BrandSlug::parse("demo").unwrap(),
            )
            .await
            .unwrap();
            loyalty::testing::join_member(&t.db, &clock, &brand, "13700137000").await;
        }
        let at = start + Duration::from_secs(hour * 3600);
        let summary = backups::take(&t.db, &schedule, at).await.unwrap();
        assert_eq!(summary.brands, 1, "the demo brand");
    }
    let mut kept: Vec<String> = std::fs::read_dir(&schedule.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        [
            "tablecard-20261201-030000.db",
            "tablecard-20261201-040000.db"
        ],
        "the two newest, named by their time"
    );

    // The drill: the newest backup restored in the place of a database.
    let (newest, _) = backups::newest(&schedule.dir).unwrap();
    let (live_members,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM members")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    let target = dir.path().join("restored.db");
    let (restored, _) = loyalty::infra::backup::restore(&newest, &target, 0)
        .await
        .unwrap();
    assert_eq!(
        restored.members, live_members,
        "the member who joined is in it"
    );
    let db = loyalty::Db::connect(&format!("sqlite://{}", target.display()))
        .await
        .unwrap();
    let (phones,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM members WHERE phone = '+8613700137000'")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(phones, 1);
    assert!(loyalty::points::audit(&db).await.unwrap().is_empty());
    db.close().await;
    t.finish().await;
}

#[both_databases]
async fn readiness_says_when_the_last_backup_was_taken() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().to_str().unwrap();
    let app = spawn_app_with(&[("TABLECARD_BACKUP_DIR", empty)]).await;
    let ready = app.get("/readyz", &[]).await;
    assert_eq!(ready.status(), StatusCode::OK);
    assert!(body_text(ready).await.contains("last backup: none yet"));

    let schedule = Schedule {
        dir: dir.path().to_owned(),
        every: Duration::from_secs(3600),
        keep: 3,
    };
    // (Scheduled backups are SQLite's; /readyz reads the directory.)
    let sqlite = TestDb::sqlite().await;
    backups::take(&sqlite.db, &schedule, SystemTime::now())
        .await
        .unwrap();
    sqlite.finish().await;
    // A server started now finds it.
    let restarted = app.restarted_with(&[("TABLECARD_BACKUP_DIR", empty)]);
    let text = body_text(restarted.get("/readyz", &[]).await).await;
    assert!(text.starts_with("ready\n"), "{text}");
    assert!(text.contains("last backup: 20"), "{text}");
    assert!(text.contains("(0 min ago)"), "{text}");
    assert!(!text.contains(empty), "no paths for whoever asks: {text}");
}
