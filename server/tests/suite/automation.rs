//! Automation and check-in over HTTP: an owner sets up a trigger and the
//! check-in reward in the console, the scheduler gives the benefit once and
//! says so on the console, and a member checks in from the card once a day.

use std::sync::Arc;

use crate::common;

use axum::http::StatusCode;
use common::{console_staff, location, spawn_app, staff_browser, Browser, TestApp};
use loyalty::infra::jobs::{self, Runner};
use loyalty::testing::CapturingSender;

async fn run_jobs(app: &TestApp) -> jobs::Ran {
    let runner = Runner::new("test", Arc::new(CapturingSender::default()));
    jobs::run_due(&app._db.db, &loyalty::SystemClock, &runner)
        .await
        .unwrap()
}

#[both_databases]
async fn an_owners_join_gift_reaches_a_new_member_once_and_the_console_shows_it() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut boss = staff_browser(&app, "boss").await;
    // The demo's own automations pause, so only this test's acts.
    let ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM automations")
        .fetch_all(app._db.db.pool())
        .await
        .unwrap();
    for (id,) in ids {
        let r = boss
            .post(
                "/fn/pause_automation",
                &[("id", id.to_string().as_str()), ("active", "false")],
            )
            .await;
        assert!(location(&r).contains("saved=1"));
    }
    let page = boss.page("/admin/automation").await;
    assert!(
        page.contains("生日前 3 天") && page.contains("60 天未到店"),
        "the demo's"
    );

    // Refusals are sentences, and nothing is saved.
    for (form, sentence) in [
        (vec![("trigger", "join")], "请至少选择一项"),
        (
            vec![("trigger", "no_visit"), ("param", "3"), ("points", "5")],
            "天数不在允许范围内",
        ),
        (
            vec![("trigger", "nth_visit"), ("param", ""), ("points", "5")],
            "第 N 次消费的 N 须在 1 到 1000 之间",
        ),
        (
            vec![("trigger", "join"), ("template", "999999")],
            "请选择一种券",
        ),
    ] {
        let r = boss.post("/fn/create_automation", &form).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let back = location(&r);
        assert!(back.contains("error="), "{form:?}: {back}");
        let html = boss.page(&back).await;
        assert!(html.contains(sentence), "{form:?}: {back}");
    }
    let r = boss
        .post(
            "/fn/create_automation",
            &[
                ("trigger", "join"),
                ("points", "88"),
                ("message", "欢迎光临"),
            ],
        )
        .await;
    assert!(location(&r).contains("saved=1"), "{}", location(&r));
    let page = boss.page("/admin/automation").await;
    assert!(page.contains("新会员加入") && page.contains("送 88 积分") && page.contains("发短信"));

    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    // The run and its rerun in one minute: a rerun in the next would be
    // that minute's run, and the console would show its outcome instead.
    let into_minute = loyalty::Clock::now_ms(&loyalty::SystemClock).rem_euclid(60_000);
    if into_minute > 55_000 {
        let rest = u64::try_from(60_100 - into_minute).unwrap_or(0);
        tokio::time::sleep(std::time::Duration::from_millis(rest)).await;
    }
    let ran = run_jobs(&app).await;
    assert_eq!(ran.benefits, 1);
    assert_eq!(run_jobs(&app).await.benefits, 0, "a rerun gives nothing");
    let card = member.page("/r/demo/card").await;
    assert!(card.contains(">88<"), "the card shows the gift's points");
    let history = member.page("/r/demo/points").await;
    assert!(history.contains("会员礼遇"), "the history names the gift");

    let page = boss.page("/admin/automation").await;
    assert!(page.contains("事件触发（每分钟）"));
    assert!(page.contains("发放 1 项礼遇"), "{page}");

    // Paused, it gives nothing to the next member.
    let (id,): (i64,) = sqlx::query_as("SELECT MAX(id) FROM automations")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    let r = boss
        .post(
            "/fn/pause_automation",
            &[("id", id.to_string().as_str()), ("active", "false")],
        )
        .await;
    assert!(location(&r).contains("saved=1"));
    let mut second = Browser::new(&app);
    second.join("13900139000", true).await;
    assert_eq!(run_jobs(&app).await.benefits, 0);

    // Another brand's owner cannot pause it.
    let mut rival = staff_browser(&app, "rival").await;
    let r = rival
        .post(
            "/fn/pause_automation",
            &[("id", id.to_string().as_str()), ("active", "true")],
        )
        .await;
    assert!(
        location(&r).contains("automation_not_found"),
        "{}",
        location(&r)
    );
}

#[both_databases]
async fn a_member_checks_in_once_a_day_from_the_card() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut member = Browser::new(&app);
    member.join("13800138000", true).await;
    let mut boss = staff_browser(&app, "boss").await;
    // The demo offers check-in; 0 points turns it off.
    let r = boss
        .post(
            "/fn/save_checkin",
            &[("points", "0"), ("streak_days", "7"), ("streak_bonus", "0")],
        )
        .await;
    assert!(location(&r).contains("saved=1"));
    let card = member.page("/r/demo/card").await;
    assert!(!card.contains("/fn/check_in"), "off, no button");
    let r = member.post("/fn/check_in", &[("slug", "demo")]).await;
    assert!(location(&r).contains("error=check_in_off"));
    assert!(member
        .page(&location(&r))
        .await
        .contains("本店暂未开放签到"));

    let r = boss
        .post(
            "/fn/save_checkin",
            &[
                ("points", "5"),
                ("streak_days", "1"),
                ("streak_bonus", "20"),
            ],
        )
        .await;
    let html = boss.page(&location(&r)).await;
    assert!(
        html.contains("签到设置不在允许范围内"),
        "a streak is two days or more"
    );
    let r = boss
        .post(
            "/fn/save_checkin",
            &[
                ("points", "5"),
                ("streak_days", "7"),
                ("streak_bonus", "20"),
            ],
        )
        .await;
    assert!(location(&r).contains("saved=1"));

    let card = member.page("/r/demo/card").await;
    assert!(
        card.contains("签到领 5 积分"),
        "the button says what it gives"
    );
    assert!(card.contains("连续 7 天再送 20 积分"));
    let r = member.post("/fn/check_in", &[("slug", "demo")]).await;
    let back = location(&r);
    assert_eq!(back, "/r/demo/card?checked=5&bonus=0");
    let card = member.page(&back).await;
    assert!(card.contains("签到成功，获得 5 积分"));
    assert!(card.contains("今日已签到 · 已连续 1 天"));
    assert!(!card.contains("/fn/check_in"), "no second button today");
    let r = member.post("/fn/check_in", &[("slug", "demo")]).await;
    assert_eq!(location(&r), "/r/demo/card?checked=again");
    let (balance,): (i64,) = sqlx::query_as("SELECT points_balance FROM members")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    assert_eq!(balance, 5, "points once");
}

#[both_databases]
async fn a_friend_joins_through_an_invitation_and_both_are_rewarded_after_a_first_purchase() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut boss = staff_browser(&app, "boss").await;
    let r = boss
        .post(
            "/fn/save_referral",
            &[("referrer_points", "200000"), ("friend_points", "5")],
        )
        .await;
    let html = boss.page(&location(&r)).await;
    assert!(html.contains("邀请奖励积分须在 0 到 100000 之间"));
    let r = boss
        .post(
            "/fn/save_referral",
            &[
                ("referrer_points", "100"),
                ("friend_points", "50"),
                ("coupon", ""),
            ],
        )
        .await;
    assert!(location(&r).contains("saved=1"));

    let mut alice = Browser::new(&app);
    alice.join("13800138000", true).await;
    let invite = alice.page("/r/demo/invite").await;
    assert!(invite.contains("你得 100 积分") && invite.contains("50 积分"));
    assert!(invite.contains("<svg"), "a QR code to scan");
    let at = invite.find("/r/demo/invite/").expect("the link");
    let link = invite[at..at + "/r/demo/invite/".len() + 8].to_owned();

    let mut bob = Browser::new(&app);
    let r = bob.get(&link).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/r/demo/join");
    bob.join("13900139000", true).await;
    assert!(alice
        .page("/r/demo/invite")
        .await
        .contains("已有 1 位好友加入，0 位已首次消费"));

    // Bob's first purchase at the till, then the scheduler.
    let db = &app._db.db;
    let demo =
        loyalty::brands::find_by_slug(db, &loyalty::brands::BrandSlug::parse("demo").unwrap())
            .await
            .unwrap();
    let store = loyalty::brands::stores::list(db, demo.id).await.unwrap()[0].id;
    let (bob_id,): (i64,) = sqlx::query_as("SELECT id FROM members WHERE phone = '+8613900139000'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let mut tx = db.begin().await.unwrap();
    loyalty::points::record_purchase(
        &mut tx,
        &loyalty::SystemClock,
        &loyalty::access::PosKey::for_tests(&demo, store),
        loyalty::members::MemberId(bob_id),
        &loyalty::money::ExternalId::parse("order_id", "R-1").unwrap(),
        loyalty::money::Fen::new(100).unwrap(),
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    run_jobs(&app).await;
    run_jobs(&app).await;
    assert!(alice
        .page("/r/demo/invite")
        .await
        .contains("1 位已首次消费"));
    assert!(alice.page("/r/demo/points").await.contains("邀请好友奖励"));
    let card = alice.page("/r/demo/card").await;
    assert!(card.contains(">100<"), "Alice's reward, once");

    // An existing member following a link is not "new": no link is made.
    let mut again = Browser::new(&app);
    again.get(&link).await;
    again.join("13900139000", true).await;
    let (links,): (i64,) = sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM referrals")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(links, 1);
}
