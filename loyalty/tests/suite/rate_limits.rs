//! The POS API's shared rate limit on both databases: however many requests
//! race on however many server processes, a key's minute lets at most its
//! quota through, tells the rest how long to wait, and the next minute opens.

use std::sync::Arc;

use loyalty::{brands::api_keys, db_test, infra::rate_limits::ApiLimit, FixedClock};

// 2026-11-25 12:00:00 UTC, on a minute boundary.
const T0: i64 = 1_795_579_200_000;

/// Races `requests` requests of `key` on each of `processes` (each its own
/// `ApiLimit`, as each server process holds one): how many passed.
async fn race(
    db: &loyalty::Db,
    clock: &Arc<FixedClock>,
    processes: &[Arc<ApiLimit>],
    key: i64,
    requests: usize,
) -> usize {
    let mut tasks = Vec::new();
    for limit in processes {
        for _ in 0..requests {
            let (db, clock, limit) = (db.clone(), clock.clone(), limit.clone());
            tasks.push(tokio::spawn(async move {
                limit.take(&db, clock.as_ref(), key).await.unwrap()
            }));
        }
    }
    let mut passed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => passed += 1,
            // 45 s remain of the minute that started at T0.
            Err(wait) => assert_eq!(wait, 45),
        }
    }
    passed
}

db_test!(
    async fn racing_requests_pass_exactly_the_quota_per_minute(db) {
        let clock = Arc::new(FixedClock::at(T0 + 15_000));
        let (brand, store) = loyalty::testing::brand_with_store(&db, clock.as_ref(), "rate").await;
        let mut conn = db.pool().acquire().await.unwrap();
        let key = api_keys::create(&mut conn, clock.as_ref(), brand.id, store, "POS").await.unwrap();
        let other = api_keys::create(&mut conn, clock.as_ref(), brand.id, store, "Kiosk").await.unwrap();
        drop(conn);

        let one = vec![Arc::new(ApiLimit::new(5))];
        assert_eq!(race(&db, &clock, &one, key.id, 24).await, 5);

        // Another key has its own quota.
        assert_eq!(one[0].take(&db, clock.as_ref(), other.id).await.unwrap(), Ok(()));

        // The next minute opens again; an hour later the old windows are purged.
        clock.set_ms(T0 + 60_000);
        assert_eq!(one[0].take(&db, clock.as_ref(), key.id).await.unwrap(), Ok(()));
        clock.set_ms(T0 + 2 * 3_600_000);
        assert_eq!(loyalty::infra::rate_limits::purge_old(&db, clock.as_ref()).await.unwrap(), 3);
    }
);

db_test!(
    async fn three_processes_leasing_share_one_quota(db) {
        let clock = Arc::new(FixedClock::at(T0 + 15_000));
        let (brand, store) = loyalty::testing::brand_with_store(&db, clock.as_ref(), "lease").await;
        let mut conn = db.pool().acquire().await.unwrap();
        let key = api_keys::create(&mut conn, clock.as_ref(), brand.id, store, "POS").await.unwrap();
        drop(conn);

        // 500 a minute is leased ten at a time; each process asks for 200.
        let processes: Vec<_> = (0..3).map(|_| Arc::new(ApiLimit::new(500))).collect();
        assert_eq!(processes[0].lease(), 10);
        assert_eq!(race(&db, &clock, &processes, key.id, 200).await, 500);

        // What the database counted is what passed, and a fourth process
        // starting now gets nothing more this minute.
        let (used,): (i64,) = sqlx::query_as("SELECT used FROM api_rate_windows WHERE key_id = $1")
            .bind(key.id)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(used, 500);
        let late = ApiLimit::new(500);
        assert_eq!(late.take(&db, clock.as_ref(), key.id).await.unwrap(), Err(45));
    }
);
