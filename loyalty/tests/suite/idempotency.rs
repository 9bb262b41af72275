//! Idempotency claims on both databases: one owner per key however many
//! requests race, replays after completion, refusal of another body, and
//! take-over of a claim abandoned by a crash.

use loyalty::infra::idempotency::{self, Claim};
use loyalty::{brands::api_keys, db_test, Error, FixedClock};

const T0: i64 = 1_795_579_200_000;

db_test!(
    async fn twenty_racing_requests_with_one_key_have_one_owner(db) {
        let clock = std::sync::Arc::new(FixedClock::at(T0));
        let (brand, store) = loyalty::testing::brand_with_store(&db, clock.as_ref(), "idem").await;
        let mut conn = db.pool().acquire().await.unwrap();
        let key = api_keys::create(&mut conn, clock.as_ref(), brand.id, store, "POS").await.unwrap();
        drop(conn);
        let hash = idempotency::fingerprint("POST", "/api/v1/purchases", b"{}");
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (db, clock, hash) = (db.clone(), clock.clone(), hash.clone());
            tasks.push(tokio::spawn(async move {
                idempotency::claim(&db, clock.as_ref(), key.id, "same", &hash).await
            }));
        }
        let mut owners = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(Claim::Owned(id)) => owners.push(id),
                Err(Error::RequestInProgress) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(owners.len(), 1);

        // Another body under the same key is refused even while in flight.
        let other = idempotency::fingerprint("POST", "/api/v1/purchases", b"{\"x\":1}");
        assert!(matches!(
            idempotency::claim(&db, clock.as_ref(), key.id, "same", &other).await,
            Err(Error::IdempotencyKeyReused)
        ));
        // Completed, it replays.
        let mut conn = db.pool().acquire().await.unwrap();
        idempotency::complete(&mut conn, clock.as_ref(), owners[0], 200, "{\"ok\":true}").await.unwrap();
        drop(conn);
        assert_eq!(
            idempotency::claim(&db, clock.as_ref(), key.id, "same", &hash).await.unwrap(),
            Claim::Replay { status: 200, body: "{\"ok\":true}".into() }
        );
    }
);

db_test!(
    async fn a_claim_abandoned_by_a_crash_is_taken_over_after_the_grace_period(db) {
        let clock = FixedClock::at(T0);
        let (brand, store) = loyalty::testing::brand_with_store(&db, &clock, "idem").await;
        let mut conn = db.pool().acquire().await.unwrap();
        let key = api_keys::create(&mut conn, &clock, brand.id, store, "POS").await.unwrap();
        drop(conn);
        let hash = idempotency::fingerprint("POST", "/api/v1/points/redeem", b"{}");
        let Claim::Owned(first) = idempotency::claim(&db, &clock, key.id, "k", &hash).await.unwrap() else {
            panic!("the first request owns its key");
        };
        clock.advance_ms(idempotency::ABANDONED_AFTER_MS - 1);
        assert!(matches!(idempotency::claim(&db, &clock, key.id, "k", &hash).await, Err(Error::RequestInProgress)));
        clock.advance_ms(1);
        let Claim::Owned(second) = idempotency::claim(&db, &clock, key.id, "k", &hash).await.unwrap() else {
            panic!("a retry takes an abandoned claim over");
        };
        assert_eq!(second.id, first.id);
        // The first request, waking up late, can no longer complete: its
        // effect must roll back, so nothing happens twice.
        let mut conn = db.pool().acquire().await.unwrap();
        assert!(matches!(
            idempotency::complete(&mut conn, &clock, first, 200, "{}").await,
            Err(Error::RequestInProgress)
        ));
        idempotency::complete(&mut conn, &clock, second, 200, "{}").await.unwrap();
        drop(conn);
        // Other keys of the brand are unaffected; a revoked key cannot authenticate.
        let mut conn = db.pool().acquire().await.unwrap();
        api_keys::revoke(&mut conn, &clock, brand.id, key.id).await.unwrap();
        drop(conn);
        assert!(api_keys::authenticate(&db, &clock, &key.key).await.unwrap().is_none());
    }
);
