//! Idempotency keys on both databases, inside the request's one
//! transaction: one request runs however many race with one key, the rest
//! replay its answer or are told it is in progress; another body under the
//! key is refused; a claim an older server left behind by a crash is taken
//! over after the grace period.

use loyalty::infra::idempotency::{self, Held};
use loyalty::{brands::api_keys, db_test, Backend, Error, FixedClock};

const T0: i64 = 1_795_579_200_000;

db_test!(
    async fn twenty_racing_requests_with_one_key_run_once(db) {
        let clock = std::sync::Arc::new(FixedClock::at(T0));
        let (brand, store) = loyalty::testing::brand_with_store(&db, clock.as_ref(), "idem").await;
        let mut conn = db.pool().acquire().await.unwrap();
        let key = api_keys::create(&mut conn, clock.as_ref(), brand.id, store, "POS").await.unwrap();
        drop(conn);
        let hash = idempotency::fingerprint("POST", "/api/v1/purchases", b"{}");
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (db, clock, hash, barrier) = (db.clone(), clock.clone(), hash.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let mut tx = db.begin().await.unwrap();
                let held = idempotency::hold(&mut tx, db.backend(), clock.as_ref(), key.id, "same", &hash).await;
                if let Ok(Held::New(slot)) = &held {
                    // The operation takes a moment; the others arrive meanwhile.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    idempotency::record(&mut tx, clock.as_ref(), slot, 200, "{\"ok\":true}").await.unwrap();
                    tx.commit().await.unwrap();
                }
                held
            }));
        }
        let (mut ran, mut replayed, mut busy) = (0, 0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(Held::New(_)) => ran += 1,
                Ok(Held::Replay { status: 200, body }) => {
                    assert_eq!(body, "{\"ok\":true}");
                    replayed += 1
                }
                Err(Error::RequestInProgress) => busy += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(ran, 1, "one request runs");
        assert_eq!(ran + replayed + busy, 20);
        if db.backend() == Backend::Sqlite {
            assert_eq!(busy, 0, "SQLite's one writer: the others wait and replay");
        }

        // Another body under the same key is refused.
        let other = idempotency::fingerprint("POST", "/api/v1/purchases", b"{\"x\":1}");
        let mut tx = db.begin().await.unwrap();
        assert!(matches!(
            idempotency::hold(&mut tx, db.backend(), clock.as_ref(), key.id, "same", &other).await,
            Err(Error::IdempotencyKeyReused)
        ));
        // A key whose request failed (rolled back) is free for its retry.
        let Held::New(slot) =
            idempotency::hold(&mut tx, db.backend(), clock.as_ref(), key.id, "failed", &hash).await.unwrap()
        else {
            panic!("a new key");
        };
        idempotency::record(&mut tx, clock.as_ref(), &slot, 200, "{}").await.unwrap();
        tx.rollback().await.unwrap();
        let mut tx = db.begin().await.unwrap();
        assert!(matches!(
            idempotency::hold(&mut tx, db.backend(), clock.as_ref(), key.id, "failed", &hash).await,
            Ok(Held::New(_))
        ));
    }
);

db_test!(
    async fn a_claim_an_older_server_abandoned_is_taken_over_after_the_grace_period(db) {
        let clock = FixedClock::at(T0);
        let (brand, store) = loyalty::testing::brand_with_store(&db, &clock, "idem").await;
        let mut conn = db.pool().acquire().await.unwrap();
        let key = api_keys::create(&mut conn, &clock, brand.id, store, "POS").await.unwrap();
        drop(conn);
        let hash = idempotency::fingerprint("POST", "/api/v1/points/redeem", b"{}");
        // What a server before one-commit requests left when it died
        // between claiming a key and answering.
        sqlx::query(
            "INSERT INTO idempotency_keys (api_key_id, idem_key, request_hash, created_at) VALUES ($1, 'k', $2, $3)",
        )
        .bind(key.id)
        .bind(&hash)
        .bind(T0)
        .execute(db.pool())
        .await
        .unwrap();
        clock.advance_ms(idempotency::ABANDONED_AFTER_MS - 1);
        let mut tx = db.begin().await.unwrap();
        assert!(matches!(
            idempotency::hold(&mut tx, db.backend(), &clock, key.id, "k", &hash).await,
            Err(Error::RequestInProgress)
        ));
        tx.rollback().await.unwrap();
        clock.advance_ms(1);
        let mut tx = db.begin().await.unwrap();
        let Held::New(mut slot) = idempotency::hold(&mut tx, db.backend(), &clock, key.id, "k", &hash).await.unwrap() else {
            panic!("a retry takes an abandoned claim over");
        };
        // On PostgreSQL the older server, waking up late, can answer its
        // claim in between (SQLite's one writer cannot: this transaction
        // holds the lock). This one's record then finds the claim no longer
        // its to take, and everything it did rolls back.
        if db.backend() == Backend::Postgres {
            let mut late = db.begin().await.unwrap();
            sqlx::query("UPDATE idempotency_keys SET status = 200, response_body = '{\"late\":1}', completed_at = 1 WHERE idem_key = 'k'")
                .execute(&mut *late)
                .await
                .unwrap();
            late.commit().await.unwrap();
            assert!(matches!(
                idempotency::record(&mut tx, &clock, &slot, 200, "{\"taken\":1}").await,
                Err(Error::RequestInProgress)
            ));
            tx.rollback().await.unwrap();
            // Had it not woken up: the takeover is recorded.
            sqlx::query("UPDATE idempotency_keys SET status = NULL, response_body = NULL, completed_at = NULL WHERE idem_key = 'k'")
                .execute(db.pool())
                .await
                .unwrap();
            tx = db.begin().await.unwrap();
            let Held::New(again) = idempotency::hold(&mut tx, db.backend(), &clock, key.id, "k", &hash).await.unwrap() else {
                panic!("taken over again");
            };
            slot = again;
        }
        idempotency::record(&mut tx, &clock, &slot, 200, "{\"taken\":1}").await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = db.begin().await.unwrap();
        assert_eq!(
            idempotency::hold(&mut tx, db.backend(), &clock, key.id, "k", &hash).await.unwrap(),
            Held::Replay { status: 200, body: "{\"taken\":1}".into() }
        );
        tx.rollback().await.unwrap();
        // Other keys of the brand are unaffected; a revoked key cannot authenticate.
        let mut conn = db.pool().acquire().await.unwrap();
        api_keys::revoke(&mut conn, &clock, brand.id, key.id).await.unwrap();
        drop(conn);
        assert!(api_keys::authenticate(&db, &clock, &key.key).await.unwrap().is_none());
    }
);
