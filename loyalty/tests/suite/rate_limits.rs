//! The POS API's shared rate limit on both databases: however many requests
//! race (as from several server processes), a key's minute lets exactly its
//! quota through, tells the rest how long to wait, and the next minute opens.

use loyalty::{brands::api_keys, db_test, infra::rate_limits, FixedClock};

// 2026-11-25 12:00:00 UTC, on a minute boundary.
const T0: i64 = 1_795_579_200_000;

db_test!(
    async fn racing_requests_pass_exactly_the_quota_per_minute(db) {
        let clock = std::sync::Arc::new(FixedClock::at(T0 + 15_000));
        let (brand, store) = loyalty::testing::brand_with_store(&db, clock.as_ref(), "rate").await;
        let mut conn = db.pool().acquire().await.unwrap();
        let key = api_keys::create(&mut conn, clock.as_ref(), brand.id, store, "POS").await.unwrap();
        let other = api_keys::create(&mut conn, clock.as_ref(), brand.id, store, "Kiosk").await.unwrap();
        drop(conn);

        let mut tasks = Vec::new();
        for _ in 0..24 {
            let (db, clock) = (db.clone(), clock.clone());
            tasks.push(tokio::spawn(async move {
                rate_limits::take(&db, clock.as_ref(), key.id, 5).await.unwrap()
            }));
        }
        let mut passed = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => passed += 1,
                // 45 s remain of the minute that started at T0.
                Err(wait) => assert_eq!(wait, 45),
            }
        }
        assert_eq!(passed, 5);

        // Another key has its own quota.
        assert_eq!(rate_limits::take(&db, clock.as_ref(), other.id, 5).await.unwrap(), Ok(()));

        // The next minute opens again; an hour later the old windows are purged.
        clock.set_ms(T0 + 60_000);
        assert_eq!(rate_limits::take(&db, clock.as_ref(), key.id, 5).await.unwrap(), Ok(()));
        clock.set_ms(T0 + 2 * 3_600_000);
        assert_eq!(rate_limits::purge_old(&db, clock.as_ref()).await.unwrap(), 3);
    }
);
