//! Benchmark of the insight queries (issue: RFM and churn on 100,000 members
//! and 2,000,000 purchases in under 30 s on SQLite).
//!
//! `make bench-insight` (or `cargo run --release -p loyalty --features
//! testing --example insight_bench [members] [purchases]`): generates the
//! data in a temporary SQLite file, then times the RFM segments and the
//! churn list, and prints one JSON line with the figures.

use std::time::Instant;

use loyalty::marketing::insight::{self, ChurnRule};
use loyalty::{Clock, FixedClock};

const DAY: i64 = 24 * 60 * 60 * 1000;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let members: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let purchases: i64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let t = loyalty::testing::TestDb::sqlite().await;
    let db = &t.db;
    let clock = FixedClock::at(1_795_573_800_000);
    let (brand, store) = loyalty::testing::brand_with_store(db, &clock, "bench").await;
    let now = clock.now_ms();

    let started = Instant::now();
    // A small deterministic generator: the same data on every run.
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut tx = db.begin().await.unwrap();
    for chunk in (0..members).collect::<Vec<_>>().chunks(500) {
        let mut sql = String::from(
            "INSERT INTO members (brand_id, member_no, phone, terms_version, terms_accepted_at, created_at) VALUES ",
        );
        for (i, n) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            let joined = now - 800 * DAY;
            sql.push_str(&format!(
                "({}, '{:08}', '+86139{:08}', 'v1', {joined}, {joined})",
                brand.id.0,
                n + 1,
                n
            ));
        }
        sqlx::query(&sql).execute(&mut *tx).await.unwrap();
    }
    let (first_id,): (i64,) = sqlx::query_as("SELECT MIN(id) FROM members WHERE brand_id = $1")
        .bind(brand.id.0)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    for chunk in (0..purchases).collect::<Vec<_>>().chunks(500) {
        let mut sql = String::from(
            "INSERT INTO purchases (brand_id, store_id, member_id, order_id, amount_fen, points_earned, occurred_at, created_at) VALUES ",
        );
        for (i, n) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            // Skewed: a tenth of the members make most of the visits.
            let r = next();
            let member = if r % 10 < 6 {
                first_id + (next() % (members as u64 / 10).max(1)) as i64
            } else {
                first_id + (next() % members as u64) as i64
            };
            let at = now - (next() % (730 * DAY as u64)) as i64;
            let fen = 2_000 + (next() % 60_000) as i64;
            sql.push_str(&format!(
                "({}, {}, {member}, 'B{n}', {fen}, {}, {at}, {at})",
                brand.id.0,
                store.0,
                fen / 100
            ));
        }
        sqlx::query(&sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    sqlx::query("ANALYZE").execute(db.pool()).await.unwrap();
    let generated = started.elapsed();

    let started = Instant::now();
    let (rfm, churn) = insight::overview(db, &clock, brand.id, 365, ChurnRule::default())
        .await
        .unwrap();
    let total = started.elapsed();
    let segments: Vec<String> = rfm
        .counts
        .iter()
        .map(|(s, n, _)| format!("\"{}\": {n}", s.as_str()))
        .collect();
    println!(
        "{{\"members\": {members}, \"purchases\": {purchases}, \"generate_s\": {:.1}, \
         \"rfm_and_churn_s\": {:.2}, \"analysed\": {}, \
         \"at_risk\": {}, \"judged\": {}, \"segments\": {{{}}}}}",
        generated.as_secs_f64(),
        total.as_secs_f64(),
        rfm.members.len(),
        churn.at_risk.len(),
        churn.judged,
        segments.join(", ")
    );
    t.finish().await;
}
