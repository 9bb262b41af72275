//! Stores, tables and QR sheets over HTTP: an owner sets them up and prints
//! them; a new QR code retires the old one; nobody else may touch them.

use crate::common;

use axum::http::{header, StatusCode};
use common::{body_text, console_staff, header_str, location, spawn_app, staff_browser, TestApp};

async fn count(app: &TestApp, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    n
}

/// The table URLs (`…/t/token`) listed on a store's page, in order.
fn table_urls(page: &str) -> Vec<String> {
    page.match_indices("href=\"http://")
        .filter_map(|(i, _)| {
            let rest = &page[i + 6..];
            let url = &rest[..rest.find('"')?];
            url.contains("/t/").then(|| url.to_owned())
        })
        .collect()
}

#[both_databases]
async fn an_owner_sets_up_a_store_with_tables_and_prints_their_qr_codes() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let mut boss = staff_browser(&app, "boss").await;

    let r = boss
        .post(
            "/fn/save_store",
            &[
                ("code", "sh-03"),
                ("name", "徐汇店"),
                ("address", "漕溪北路 1 号"),
            ],
        )
        .await;
    assert!(
        location(&r).starts_with("/admin/stores?saved=1#store-"),
        "{}",
        location(&r)
    );
    let id: i64 = location(&r)
        .rsplit("store-")
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let page = boss.page("/admin/stores").await;
    assert!(
        page.contains("徐汇店") && page.contains("SH-03"),
        "the store is listed, its code uppercased"
    );

    // The same code twice is refused with a sentence.
    let r = boss
        .post(
            "/fn/save_store",
            &[("code", "SH-03"), ("name", "另一家"), ("address", "")],
        )
        .await;
    assert_eq!(location(&r), "/admin/stores?error=store_code_taken");
    assert!(boss
        .page(&location(&r))
        .await
        .contains("这个门店编码已被使用"));

    // Renaming keeps the id.
    let r = boss
        .post(
            "/fn/save_store",
            &[
                ("id", &id.to_string()),
                ("code", "SH-03"),
                ("name", "徐汇旗舰店"),
                ("address", ""),
            ],
        )
        .await;
    assert!(location(&r).contains("saved=1"));
    assert!(boss.page("/admin/stores").await.contains("徐汇旗舰店"));

    // A batch of tables, then one more by name.
    let store = id.to_string();
    let r = boss
        .post(
            "/fn/add_tables",
            &[
                ("store", &store),
                ("prefix", "A"),
                ("from", "1"),
                ("count", "9"),
            ],
        )
        .await;
    assert_eq!(location(&r), format!("/admin/stores/{id}?saved=1"));
    boss.post("/fn/add_tables", &[("store", &store), ("prefix", "包间")])
        .await;
    let r = boss
        .post("/fn/add_tables", &[("store", &store), ("prefix", "A1")])
        .await;
    assert!(
        location(&r).ends_with("error=table_label_taken"),
        "{}",
        location(&r)
    );
    let page = boss.page(&format!("/admin/stores/{id}")).await;
    let urls = table_urls(&page);
    assert_eq!(urls.len(), 10, "A1…A9 and 包间");
    assert!(page.contains(">A9<") && page.contains(">包间<"));

    // The printable sheet: every table's card with its QR code.
    let sheet = boss.page(&format!("/admin/stores/{id}/qr")).await;
    assert_eq!(sheet.matches("class=\"qr-card\"").count(), 10);
    assert_eq!(sheet.matches("<svg").count(), 10, "one QR code per card");
    assert!(sheet.contains("扫码入会"));
    assert!(
        sheet.contains("qr.svg?page=2"),
        "ten cards make two A4 pages"
    );

    // Page 2 as an SVG download holds the last two cards.
    let svg = boss.get(&format!("/admin/stores/{id}/qr.svg?page=2")).await;
    assert_eq!(svg.status(), StatusCode::OK);
    assert_eq!(header_str(&svg, header::CONTENT_TYPE), "image/svg+xml");
    assert!(header_str(&svg, header::CONTENT_DISPOSITION).starts_with("attachment"));
    let svg = body_text(svg).await;
    assert!(
        svg.starts_with("<svg") && svg.contains("viewBox=\"0 0 210 297\""),
        "an A4 page"
    );
    assert!(svg.contains(">A9<") && svg.contains(">包间<") && !svg.contains(">A1<"));
    assert_eq!(
        boss.get(&format!("/admin/stores/{id}/qr.svg?page=3"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // A table link works; after a new code the old one does not.
    let old = urls[0].clone();
    let old_path = &old[old.find("/t/").unwrap()..];
    assert!(app.get(old_path, &[]).await.status().is_redirection());
    let table_id = page
        .split("id=\"table-")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let r = boss
        .post(
            "/fn/new_table_code",
            &[("store", &store), ("table", &table_id)],
        )
        .await;
    assert!(location(&r).contains("saved=1"));
    let fresh = table_urls(&boss.page(&format!("/admin/stores/{id}")).await)[0].clone();
    assert_ne!(fresh, old);
    assert_eq!(
        app.get(old_path, &[]).await.status(),
        StatusCode::NOT_FOUND,
        "the old card is dead"
    );
    assert!(app
        .get(&fresh[fresh.find("/t/").unwrap()..], &[])
        .await
        .status()
        .is_redirection());

    let log = boss.page("/admin/audit").await;
    for action in [
        "store.create",
        "store.update",
        "table.create",
        "table.new_code",
    ] {
        assert!(log.contains(action), "{action} is in the audit log");
    }
}

#[both_databases]
async fn only_the_brands_owner_touches_its_stores_and_tables() {
    let app = spawn_app().await;
    console_staff(&app).await;
    let stores_before = count(&app, "SELECT COUNT(*) FROM stores").await;
    let tables_before = count(&app, "SELECT COUNT(*) FROM dining_tables").await;
    let (demo_store,): (i64,) = sqlx::query_as("SELECT MIN(id) FROM stores")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    let demo_store = demo_store.to_string();

    for who in ["mgr2", "till"] {
        let mut b = staff_browser(&app, who).await;
        for path in [
            "/admin/stores".to_owned(),
            format!("/admin/stores/{demo_store}"),
            format!("/admin/stores/{demo_store}/qr"),
        ] {
            assert_eq!(
                b.get(&path).await.status(),
                StatusCode::FORBIDDEN,
                "{who} {path}"
            );
        }
        assert_eq!(
            b.get(&format!("/admin/stores/{demo_store}/qr.svg"))
                .await
                .status(),
            StatusCode::NOT_FOUND,
            "{who}"
        );
        b.post(
            "/fn/save_store",
            &[("code", "X9"), ("name", "x"), ("address", "")],
        )
        .await;
        b.post("/fn/add_tables", &[("store", &demo_store), ("prefix", "Z")])
            .await;
    }

    // Another brand's owner: the demo's store is not theirs to see or change.
    let mut rival = staff_browser(&app, "rival").await;
    assert_eq!(
        rival
            .get(&format!("/admin/stores/{demo_store}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        rival
            .get(&format!("/admin/stores/{demo_store}/qr.svg"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let r = rival
        .post("/fn/add_tables", &[("store", &demo_store), ("prefix", "Z")])
        .await;
    assert!(
        location(&r).ends_with("error=store_not_found"),
        "{}",
        location(&r)
    );
    let r = rival
        .post(
            "/fn/save_store",
            &[
                ("id", &demo_store),
                ("code", "HACK"),
                ("name", "x"),
                ("address", ""),
            ],
        )
        .await;
    assert!(
        location(&r).ends_with("error=store_not_found"),
        "{}",
        location(&r)
    );
    let (table,): (i64,) = sqlx::query_as("SELECT MIN(id) FROM dining_tables")
        .fetch_one(app._db.db.pool())
        .await
        .unwrap();
    let r = rival
        .post(
            "/fn/new_table_code",
            &[("store", &demo_store), ("table", &table.to_string())],
        )
        .await;
    assert!(
        location(&r).ends_with("error=table_not_found"),
        "{}",
        location(&r)
    );

    // Signed out: sent to sign in.
    let mut nobody = common::Browser::new(&app);
    assert!(location(
        &nobody
            .post(
                "/fn/save_store",
                &[("code", "Y1"), ("name", "y"), ("address", "")]
            )
            .await
    )
    .starts_with("/admin?next="));

    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM stores").await,
        stores_before,
        "no store was created or taken over"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM dining_tables").await,
        tables_before
    );
}
