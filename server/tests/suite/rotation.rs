//! Rotating `TABLECARD_SECRET_KEY`: with the old key in
//! `TABLECARD_SECRET_KEY_PREVIOUS`, a diner at a table, a member signed in
//! and a code on its way all carry on through the restart; without it, what
//! the old key signed is refused.

use axum::http::StatusCode;

use crate::common::{location, spawn_app, Browser, HTTP_SECRET};

const NEW_KEY: &str = "the-rotated-secret-key-for-the-http-tests-0123456789";

#[both_databases]
async fn a_rotated_secret_key_keeps_table_visits_sessions_and_codes_in_flight() {
    let app = spawn_app().await;
    let mut guest = Browser::new(&app);
    guest.get(&format!("/t/{}", app.table_token())).await;
    let mut member = Browser::new(&app);
    member.request_code("13800138000").await;
    let code = app.sender.last_code("+8613800138000").unwrap();
    member.verify(&code).await;
    let mut pending = Browser::new(&app);
    pending.request_code("13900139000").await;
    let code = app.sender.last_code("+8613900139000").unwrap();

    let old_key = std::str::from_utf8(HTTP_SECRET).unwrap();
    let rotated = app.restarted_with(&[
        ("TABLECARD_SECRET_KEY", NEW_KEY),
        ("TABLECARD_SECRET_KEY_PREVIOUS", old_key),
    ]);
    let on = |app, b: &Browser<'_>| {
        let mut moved = Browser::new(app);
        moved.cookies = b.cookies.clone();
        moved
    };

    // The table the diner scanned (a signed cookie) is still theirs.
    let feedback = on(&rotated, &guest).get("/r/demo/feedback").await;
    assert_eq!(feedback.status(), StatusCode::OK);
    // The member is still signed in (sessions are stored hashes).
    let card = on(&rotated, &member).get("/r/demo/card").await;
    assert_eq!(card.status(), StatusCode::OK);
    // The code sent before the restart signs in (the pending join is a
    // private cookie, the code a keyed hash: both under the old key).
    let signed = on(&rotated, &pending).verify(&code).await;
    assert_eq!(location(&signed), "/r/demo/card?welcome=1");

    // Without the previous key, the table is forgotten.
    let forgot = app.restarted_with(&[("TABLECARD_SECRET_KEY", NEW_KEY)]);
    let away = on(&forgot, &guest).get("/r/demo/feedback").await;
    assert_eq!(
        away.status(),
        StatusCode::SEE_OTHER,
        "no table without the old key"
    );
}
