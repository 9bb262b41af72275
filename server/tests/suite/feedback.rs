//! The feedback form, walked through over HTTP the way a phone without
//! JavaScript does it: from a table as a guest, and as a member who reads
//! the restaurant's reply.

use crate::common;

use axum::http::StatusCode;
use common::{location, spawn_app, Browser, TestApp};
use loyalty::brands::{self, Brand, BrandSlug};
use loyalty::feedback::{self, InboxFilter};
use loyalty::staff::{self, Role};

async fn demo(app: &TestApp) -> Brand {
    brands::find_by_slug(&app._db.db, &BrandSlug::parse("demo").unwrap())
        .await
        .unwrap()
}

fn form<'a>(nps: &'a str, comment: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("slug", "demo"),
        ("nps", nps),
        ("food", "5"),
        ("service", "4"),
        ("comment", comment),
        ("visit_date", ""),
        ("store", ""),
    ]
}

#[both_databases]
async fn a_guest_at_a_table_can_send_feedback_and_is_invited_to_join() {
    let app = spawn_app().await;
    let mut guest = Browser::new(&app);
    let away = guest.get("/r/demo/feedback").await;
    assert_eq!(
        away.status(),
        StatusCode::SEE_OTHER,
        "no card and no table: join first"
    );
    assert!(location(&away).starts_with("/r/demo/join?next="));

    let scanned = guest.get(&format!("/t/{}", app.table_token())).await;
    assert_eq!(scanned.status(), StatusCode::FOUND);
    let page = guest.page("/r/demo/feedback").await;
    assert!(page.contains("你有多大可能向朋友推荐我们？"));
    assert!(page.contains("人民广场店"), "the table names the store");
    assert!(
        page.contains("name=\"contact_phone\""),
        "a guest may leave a phone"
    );
    assert!(page.contains("type=\"radio\""), "real form inputs");

    let mut fields = form("3", "<script>alert(1)</script>上菜太慢");
    fields.push(("contact_phone", "139 0013 9000"));
    let sent = guest.post("/fn/send_feedback", &fields).await;
    assert_eq!(location(&sent), "/r/demo/feedback/thanks?points=0");
    let thanks = guest.page("/r/demo/feedback/thanks?points=0").await;
    assert!(thanks.contains("谢谢你的反馈！"));
    assert!(thanks.contains("加入会员，反馈也有回报"));

    let owner = loyalty::testing::owner(&app._db.db, demo(&app).await.id).await;
    let inbox = feedback::inbox(&app._db.db, &owner, &InboxFilter::default())
        .await
        .unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].comment, "alert(1)上菜太慢", "markup is stripped");
    assert_eq!(inbox[0].table.as_deref(), Some("A1"));
    assert_eq!(inbox[0].contact.as_deref(), Some("+86 139****9000"));
    assert_eq!(inbox[0].member, None);
}

#[both_databases]
async fn a_member_earns_points_reads_the_reply_and_nobody_else_does() {
    let app = spawn_app().await;
    let mut alice = Browser::new(&app);
    alice.join("13800138000", true).await;
    let page = alice.page("/r/demo/feedback").await;
    assert!(page.contains("留下评论即可获得 10 积分"));
    assert!(
        page.contains("<select id=\"store\""),
        "a member picks the store"
    );

    let missing = alice.post("/fn/send_feedback", &form("", "忘了打分")).await;
    assert_eq!(
        location(&missing),
        "/r/demo/feedback?error=invalid_input&field=nps&reason=empty"
    );
    let explained = alice.page(&location(&missing)).await;
    assert!(explained.contains("请先选择 0–10 分的推荐意愿。"));
    let long = "好".repeat(1001);
    let too_long = alice.post("/fn/send_feedback", &form("9", &long)).await;
    assert_eq!(
        location(&too_long),
        "/r/demo/feedback?error=invalid_input&field=comment&reason=too_long&max=1000"
    );

    let sent = alice
        .post("/fn/send_feedback", &form("9", "鱼很新鲜 <b>推荐</b>"))
        .await;
    assert_eq!(location(&sent), "/r/demo/feedback/thanks?points=10");
    let thanks = alice.page("/r/demo/feedback/thanks?points=10").await;
    assert!(thanks.contains("+10 积分已到账"));
    let card = alice.page("/r/demo/card").await;
    assert!(card.contains("class=\"mc-points\">10<"));
    assert!(!card.contains("条新回复"));

    // The restaurant answers.
    let brand = demo(&app).await;
    let db = &app._db.db;
    let mut tx = db.begin().await.unwrap();
    let owner = staff::create(
        &mut tx,
        &loyalty::SystemClock,
        brand.id,
        Role::Owner,
        "demo.boss",
        "老板",
        "correct horse battery",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let manager = loyalty::testing::manager(db, owner.id).await;
    let item = feedback::inbox(db, &manager, &InboxFilter::default())
        .await
        .unwrap()[0]
        .id;
    feedback::reply(
        db,
        &loyalty::SystemClock,
        &manager,
        item,
        "谢谢！欢迎再来。",
    )
    .await
    .unwrap();

    let card = alice.page("/r/demo/card").await;
    assert!(card.contains("1 条新回复"), "a new reply shows on the card");
    let mine = alice.page("/r/demo/feedback/mine").await;
    assert!(mine.contains("鱼很新鲜 推荐"));
    assert!(mine.contains("谢谢！欢迎再来。"));
    assert!(mine.contains("新回复"));
    let card = alice.page("/r/demo/card").await;
    assert!(!card.contains("条新回复"), "read replies leave the badge");

    let mut bob = Browser::new(&app);
    bob.join("13800138001", true).await;
    let his = bob.page("/r/demo/feedback/mine").await;
    assert!(!his.contains("鱼很新鲜"), "another member sees none of it");
    assert!(!his.contains("谢谢！欢迎再来。"));
    assert!(his.contains("你还没有提交过反馈。"));
}
