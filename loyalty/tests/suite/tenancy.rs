//! Brands, stores and tables on a real database, on both backends.

use loyalty::brands::stores::{self, NewStore};
use loyalty::brands::tables::{self, TableToken};
use loyalty::brands::{self, BrandSlug, Language, NewBrand, ThemeColor};
use loyalty::{db_test, infra::demo, staff, Db, Error, FixedClock};

const T0: i64 = 1_764_000_000_000;

fn new_brand(slug: &str, name: &str) -> NewBrand {
    NewBrand {
        slug: BrandSlug::parse(slug).unwrap(),
        name: name.into(),
        theme_color: ThemeColor::default(),
        default_language: Language::ZhCn,
    }
}

fn new_store(code: &str, name: &str) -> NewStore {
    NewStore {
        code: code.into(),
        name: name.into(),
        address: String::new(),
    }
}

async fn brand(db: &Db, slug: &str) -> brands::Brand {
    let mut conn = db.pool().acquire().await.unwrap();
    brands::create(&mut conn, &FixedClock::at(T0), new_brand(slug, "测试品牌"))
        .await
        .unwrap()
}

db_test!(
    async fn a_created_brand_is_found_by_its_slug(db) {
        let created = brand(&db, "laoma").await;
        let found = brands::find_by_slug(&db, &BrandSlug::parse("LaoMa").unwrap()).await.unwrap();
        assert_eq!(found, created);
        assert_eq!(found.name, "测试品牌");
        assert_eq!(found.theme_color.as_str(), "#b4442b");
        assert_eq!(found.default_language, Language::ZhCn);
        assert_eq!(found.time_zone, "Asia/Shanghai");
    }
);

db_test!(
    async fn a_second_brand_cannot_take_a_used_slug(db) {
        brand(&db, "laoma").await;
        let mut conn = db.pool().acquire().await.unwrap();
        let err = brands::create(&mut conn, &FixedClock::at(T0), new_brand("laoma", "另一家"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::BrandSlugTaken), "{err:?}");
        assert_eq!(err.code(), "brand_slug_taken");
    }
);

db_test!(
    async fn an_unknown_slug_is_not_found(db) {
        let err = brands::find_by_slug(&db, &BrandSlug::parse("nobody").unwrap()).await.unwrap_err();
        assert!(matches!(err, Error::BrandNotFound));
        assert!(err.is_not_found());
    }
);

db_test!(
    async fn the_schema_refuses_a_malformed_slug_even_past_the_type(db) {
        let res = sqlx::query(
            "INSERT INTO brands (slug, name, created_at) VALUES ('Bad Slug', 'x', 0)",
        )
        .execute(db.pool())
        .await;
        assert!(res.is_err(), "the CHECK constraint must refuse it");
    }
);

db_test!(
    async fn store_codes_are_unique_within_a_brand_but_not_across(db) {
        let a = brand(&db, "brand-a").await;
        let b = brand(&db, "brand-b").await;
        let clock = FixedClock::at(T0);
        let mut conn = db.pool().acquire().await.unwrap();
        stores::create(&mut conn, &clock, a.id, new_store("sh01", "一号店")).await.unwrap();
        let dup = stores::create(&mut conn, &clock, a.id, new_store("SH01", "重复"))
            .await
            .unwrap_err();
        assert!(matches!(dup, Error::StoreCodeTaken), "{dup:?}");
        let other = stores::create(&mut conn, &clock, b.id, new_store("SH01", "B 的一号店"))
            .await
            .unwrap();
        assert_eq!(other.code, "SH01");
        assert_eq!(stores::list(&db, a.id).await.unwrap().len(), 1);
        assert_eq!(stores::list(&db, b.id).await.unwrap().len(), 1);
    }
);

db_test!(
    async fn a_brand_cannot_see_or_use_another_brands_store(db) {
        let a = brand(&db, "brand-a").await;
        let b = brand(&db, "brand-b").await;
        let clock = FixedClock::at(T0);
        let mut conn = db.pool().acquire().await.unwrap();
        let store_of_b = stores::create(&mut conn, &clock, b.id, new_store("B1", "B 店")).await.unwrap();
        let err = stores::find(&db, a.id, store_of_b.id).await.unwrap_err();
        assert!(matches!(err, Error::StoreNotFound));
        let err = tables::create(&mut conn, &clock, &a, store_of_b.id, "A1").await.unwrap_err();
        assert!(matches!(err, Error::StoreNotFound), "{err:?}");
    }
);

db_test!(
    async fn a_scanned_table_token_leads_to_its_brand_store_and_table(db) {
        let a = brand(&db, "brand-a").await;
        let clock = FixedClock::at(T0);
        let mut conn = db.pool().acquire().await.unwrap();
        let store = stores::create(&mut conn, &clock, a.id, new_store("SH01", "人民广场店")).await.unwrap();
        let table = tables::create(&mut conn, &clock, &a, store.id, "A3").await.unwrap();
        let visit = tables::resolve(&db, &table.token).await.unwrap();
        assert_eq!(visit.brand.slug, "brand-a");
        assert_eq!(visit.store_name, "人民广场店");
        assert_eq!(visit.table_label, "A3");
        assert_eq!(visit.table_id, table.id);
        let again = tables::find_in_brand(&db, a.id, table.id).await.unwrap();
        assert_eq!(again, visit);
    }
);

db_test!(
    async fn table_names_are_unique_per_store_and_tokens_unguessable(db) {
        let a = brand(&db, "brand-a").await;
        let clock = FixedClock::at(T0);
        let mut conn = db.pool().acquire().await.unwrap();
        let s1 = stores::create(&mut conn, &clock, a.id, new_store("S1", "一店")).await.unwrap();
        let s2 = stores::create(&mut conn, &clock, a.id, new_store("S2", "二店")).await.unwrap();
        let t1 = tables::create(&mut conn, &clock, &a, s1.id, "A1").await.unwrap();
        let dup = tables::create(&mut conn, &clock, &a, s1.id, "A1").await.unwrap_err();
        assert!(matches!(dup, Error::TableLabelTaken), "{dup:?}");
        let t2 = tables::create(&mut conn, &clock, &a, s2.id, "A1").await.unwrap();
        assert_ne!(t1.token, t2.token);
        let unknown = TableToken::generate();
        assert!(matches!(tables::resolve(&db, &unknown).await.unwrap_err(), Error::TableNotFound));
    }
);

db_test!(
    async fn a_table_of_another_brand_is_not_found_from_a_visit_cookie(db) {
        let a = brand(&db, "brand-a").await;
        let b = brand(&db, "brand-b").await;
        let clock = FixedClock::at(T0);
        let mut conn = db.pool().acquire().await.unwrap();
        let store = stores::create(&mut conn, &clock, b.id, new_store("B1", "B 店")).await.unwrap();
        let table = tables::create(&mut conn, &clock, &b, store.id, "A1").await.unwrap();
        let err = tables::find_in_brand(&db, a.id, table.id).await.unwrap_err();
        assert!(matches!(err, Error::TableNotFound));
    }
);

db_test!(
    async fn staff_logins_are_unique_and_passwords_stored_hashed(db) {
        let a = brand(&db, "brand-a").await;
        let clock = FixedClock::at(T0);
        let mut conn = db.pool().acquire().await.unwrap();
        let owner = staff::create(&mut conn, &clock, a.id, staff::Role::Owner, "Boss", "老板", "a long password")
            .await
            .unwrap();
        assert_eq!(owner.login, "boss");
        let dup = staff::create(&mut conn, &clock, a.id, staff::Role::Cashier, "boss", "收银", "another password")
            .await
            .unwrap_err();
        assert!(matches!(dup, Error::StaffLoginTaken), "{dup:?}");
        // Another brand may use the same login: nothing tells its owner
        // that the login exists elsewhere.
        let b = brand(&db, "brand-b").await;
        staff::create(&mut conn, &clock, b.id, staff::Role::Owner, "boss", "老板", "a long password b")
            .await
            .unwrap();
        let (hash,): (String,) = sqlx::query_as("SELECT password_hash FROM staff WHERE login = 'boss' AND brand_id = $1")
            .bind(a.id.0)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert!(!hash.contains("a long password"));
        assert!(staff::verify_password("a long password", &hash));
    }
);

db_test!(
    async fn the_demo_seed_runs_once_and_reports_its_links(db) {
        let clock = FixedClock::at(T0);
        let first = demo::seed(&db, &clock).await.unwrap();
        assert!(first.created);
        assert!(first.owner_password.is_some());
        assert_eq!(first.tables.len(), 12);
        let second = demo::seed(&db, &clock).await.unwrap();
        assert!(!second.created);
        assert_eq!(second.owner_password, None);
        let mut a: Vec<_> = first.tables.iter().map(|t| t.token.clone()).collect();
        let mut b: Vec<_> = second.tables.iter().map(|t| t.token.clone()).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b, "a second run must not add or change tables");
        let (brands,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM brands").fetch_one(db.pool()).await.unwrap();
        assert_eq!(brands, 1);
    }
);

db_test!(
    async fn migrations_can_run_twice(db) {
        db.migrate().await.unwrap();
        assert!(db.is_ready().await);
    }
);
