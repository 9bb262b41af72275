//! Bringing in an old program's members as an owner meets it: the dry run
//! says what each row will do and writes nothing; the run brings members,
//! points with their expiry, tiers, stored value and consent; the books
//! balance; the same file twice changes nothing; a run cut off goes on
//! where it stopped; a spreadsheet reads like a CSV file.

use loyalty::brands::Brand;
use loyalty::members::import::{self, Action, Importer, Plan, Problem, Sheet};
use loyalty::members::phone::Phone;
use loyalty::members::{self, Consent};
use loyalty::{db_test, Db, FixedClock};

/// 2026-12-01 10:00 in Shanghai, the brand's zone.
const T0: i64 = 1_796_090_400_000;

async fn shop(db: &Db) -> (FixedClock, Brand) {
    let clock = FixedClock::at(T0);
    let (brand, _) = loyalty::testing::brand_with_store(db, &clock, "laoma").await;
    (clock, brand)
}

fn csv(text: &str) -> Sheet {
    import::sheet::read(text.as_bytes()).expect("a readable file")
}

async fn dry_run(db: &Db, clock: &FixedClock, brand: &Brand, sheet: &Sheet) -> Plan {
    import::plan(db, clock, &loyalty::testing::secret(), brand, sheet)
        .await
        .expect("a plan")
}

/// The dry run and the run of `text`, as the command line does them.
async fn import_text(db: &Db, clock: &FixedClock, brand: &Brand, text: &str) -> import::Import {
    let sheet = csv(text);
    let plan = dry_run(db, clock, brand, &sheet).await;
    let importer = Importer::command_line(brand.clone());
    let opened = import::open(
        db,
        clock,
        &importer,
        "members.csv",
        text.as_bytes(),
        sheet.rows.len(),
        false,
    )
    .await
    .unwrap();
    import::run(
        db,
        clock,
        &loyalty::testing::secret(),
        &importer,
        &opened,
        &plan,
        &mut |_| {},
    )
    .await
    .unwrap()
}

async fn count(db: &Db, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(db.pool()).await.unwrap();
    n
}

async fn books_balance(db: &Db) {
    assert!(
        loyalty::points::audit(db).await.unwrap().is_empty(),
        "points ledger == balance == lots"
    );
    assert!(
        loyalty::stored_value::audit(db).await.unwrap().is_empty(),
        "stored value books agree"
    );
}

const FILE: &str =
    "手机号,姓名,生日,会员卡号,积分,积分到期日,等级,储值余额,赠送余额,营销同意,同意时间,备注\n\
13800138001,李雷,1990-06-15,A001,1200,2027-06-30,金卡会员,100.50,10,是,2025-03-01,老客\n\
13800138002,韩梅梅,,A002,300,,Silver,,,否,,\n\
12345,坏号码,,A003,10,,,,,,,\n\
13800138001,重复,,A004,5,,,,,,,\n\
13800138003,王,,A005,50,,emperor,,,,,\n\
13800138004,已加入,3月8日,A006,80,,,20,,,,\n";

db_test!(
    async fn the_dry_run_says_what_each_row_will_do_and_writes_nothing(db) {
        let (clock, brand) = shop(&db).await;
        // 138 0013 8004 joined here on their own before the import.
        loyalty::testing::join_member(&db, &clock, &brand, "13800138004").await;
        let members_before = count(&db, "SELECT COUNT(*) FROM members").await;

        let plan = dry_run(&db, &clock, &brand, &csv(FILE)).await;
        let actions: Vec<(usize, Action)> = plan.rows.iter().map(|r| (r.line, r.action)).collect();
        assert_eq!(
            actions,
            [
                (2, Action::Create),
                (3, Action::Create),
                (4, Action::Skip),
                (5, Action::Skip),
                (6, Action::Skip),
                (7, Action::Merge),
            ]
        );
        assert_eq!(plan.rows[2].problems, [Problem::PhoneInvalid { value: "12345".into() }]);
        assert_eq!(plan.rows[3].problems, [Problem::PhoneRepeated { line: 2 }]);
        assert_eq!(plan.rows[4].problems, [Problem::TierUnknown { value: "emperor".into() }]);
        assert!(plan.rows[5].member_no.is_some(), "the merge names the member");
        assert_eq!(plan.ignored, ["备注"]);
        assert_eq!((plan.counts.create, plan.counts.merge, plan.counts.skip), (2, 1, 3));
        // Only the rows that will be written count: 1,200 + 300 + 80.
        assert_eq!(plan.points, 1_580);
        assert_eq!(plan.stored_fen, 10_050 + 1_000 + 2_000);

        assert_eq!(count(&db, "SELECT COUNT(*) FROM members").await, members_before);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM points_ledger WHERE kind = 'import'").await, 0);
    }
);

db_test!(
    async fn an_import_brings_members_with_their_balances_and_the_books_balance(db) {
        let (clock, brand) = shop(&db).await;
        let joined = loyalty::testing::join_member(&db, &clock, &brand, "13800138004").await;
        let done = import_text(&db, &clock, &brand, FILE).await;
        assert_eq!(done.status, "done");
        assert_eq!((done.counts.create, done.counts.merge, done.counts.skip), (2, 1, 3));

        let phone = Phone::parse("86", "13800138001").unwrap();
        let li = members::find_by_phone(&mut db.pool().acquire().await.unwrap(), brand.id, &phone)
            .await
            .unwrap()
            .expect("imported");
        assert_eq!(li.display_name, "李雷");
        assert_eq!(li.birthday, Some(members::Birthday::new(6, 15, Some(1990)).unwrap()));
        assert_eq!(li.points_balance, 1_200);
        assert_eq!(li.tier_rank, 2, "gold, kept until the next review");
        assert!(li.marketing_consent_at.is_some());
        let history = loyalty::points::history(&db, brand.id, li.id, None, 10).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!((history[0].kind.as_str(), history[0].amount), ("import", 1_200));
        // The points last through 30 June 2027 in Shanghai.
        assert_eq!(
            loyalty::points::next_expiry(&db, brand.id, li.id).await.unwrap(),
            Some((1_200, 1_814_371_200_000))
        );
        let stored = loyalty::stored_value::balance_of(&db, brand.id, li.id).await.unwrap();
        assert_eq!((stored.principal_fen, stored.bonus_fen), (10_050, 1_000));

        // The member who had joined keeps their own member number and gets
        // the old balances on top, once.
        let merged = members::find(&db, brand.id, joined).await.unwrap();
        assert_eq!(merged.points_balance, 80);
        assert_eq!(merged.birthday, Some(members::Birthday::new(3, 8, None).unwrap()));
        books_balance(&db).await;

        // An imported member signs in with their phone as usual: they are
        // no new member, and no welcome bonus comes.
        let mut tx = db.begin().await.unwrap();
        let (again, new) = members::join(
            &mut tx,
            &clock,
            &loyalty::testing::secret(),
            &brand,
            &phone,
            Consent { terms_accepted: true, marketing: false },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!((again.id, new), (li.id, false));

        // Erased, nothing of their old number stays.
        let mut tx = db.begin().await.unwrap();
        members::erase(&mut tx, &clock, brand.id, li.id).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(count(&db, "SELECT COUNT(*) FROM members WHERE legacy_no = 'A001'").await, 0);
        // And the old file does not bring them back.
        let plan = dry_run(&db, &clock, &brand, &csv(FILE)).await;
        assert_eq!((plan.rows[0].action, plan.rows[0].problems.clone()), (Action::Skip, vec![Problem::Erased]));
    }
);

db_test!(
    async fn the_same_file_twice_changes_nothing(db) {
        let (clock, brand) = shop(&db).await;
        loyalty::testing::join_member(&db, &clock, &brand, "13800138004").await;
        import_text(&db, &clock, &brand, FILE).await;
        let snapshot = |db: Db| async move {
            (
                count(&db, "SELECT COUNT(*) FROM members").await,
                count(&db, "SELECT CAST(SUM(points_balance) AS BIGINT) FROM members").await,
                count(&db, "SELECT COUNT(*) FROM points_ledger").await,
                count(&db, "SELECT COUNT(*) FROM stored_value_ledger").await,
                count(&db, "SELECT COUNT(*) FROM member_consents").await,
            )
        };
        let before = snapshot(db.clone()).await;

        let plan = dry_run(&db, &clock, &brand, &csv(FILE)).await;
        assert_eq!((plan.counts.create, plan.counts.merge, plan.counts.unchanged), (0, 0, 3));
        let again = import_text(&db, &clock, &brand, FILE).await;
        assert_eq!((again.counts.create, again.counts.merge, again.counts.unchanged), (0, 0, 3));
        assert_eq!(snapshot(db.clone()).await, before);
        books_balance(&db).await;
    }
);

db_test!(
    async fn a_run_cut_off_goes_on_where_it_stopped(db) {
        let (clock, brand) = shop(&db).await;
        let mut text = String::from("phone,points,stored_value\n");
        for i in 0..1_200 {
            text.push_str(&format!("1390000{i:04},{},{}.00\n", i + 1, i % 7));
        }
        let sheet = csv(&text);
        let plan = dry_run(&db, &clock, &brand, &sheet).await;
        assert_eq!(plan.counts.create, 1_200);
        let importer = Importer::command_line(brand.clone());
        let opened = import::open(&db, &clock, &importer, "big.csv", text.as_bytes(), 1_200, false)
            .await
            .unwrap();

        // The process dies right after its first batch is committed.
        let cut = {
            let (db, clock, importer, plan, opened) =
                (db.clone(), FixedClock::at(T0), importer.clone(), plan.clone(), opened.clone());
            tokio::spawn(async move {
                let secret = loyalty::testing::secret();
                let mut die = |p: import::Progress| assert!(p.done == 0, "killed after {} rows", p.done);
                import::run(&db, &clock, &secret, &importer, &opened, &plan, &mut die).await
            })
            .await
        };
        assert!(cut.is_err(), "the run was cut off");
        let partial = count(&db, "SELECT COUNT(*) FROM members").await;
        assert!(partial > 0 && partial < 1_200, "{partial} members after the first batch");

        // The same file again: the import is the unfinished one, and it
        // goes on from the first row not done.
        let resumed = import::open(&db, &clock, &importer, "big.csv", text.as_bytes(), 1_200, false)
            .await
            .unwrap();
        assert_eq!(resumed.id, opened.id);
        assert_eq!(resumed.rows_done as i64, partial);
        let plan = dry_run(&db, &clock, &brand, &sheet).await;
        let mut seen = Vec::new();
        let done = import::run(
            &db,
            &clock,
            &loyalty::testing::secret(),
            &importer,
            &resumed,
            &plan,
            &mut |p| seen.push(p.done),
        )
        .await
        .unwrap();
        assert_eq!(seen.first().copied(), Some(partial as u64), "it starts where it stopped");
        assert_eq!(done.counts.create, 1_200);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM members").await, 1_200);
        assert_eq!(
            count(&db, "SELECT CAST(SUM(points_balance) AS BIGINT) FROM members").await,
            1_200 * 1_201 / 2
        );
        books_balance(&db).await;
    }
);

db_test!(
    async fn a_spreadsheet_reads_like_a_csv_file(db) {
        let (clock, brand) = shop(&db).await;
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (col, title) in ["手机号码", "姓名", "生日", "积分"].iter().enumerate() {
            sheet.write_string(0, col as u16, *title).unwrap();
        }
        // Old systems store phones as numbers and birthdays as dates.
        sheet.write_number(1, 0, 13_800_138_005.0).unwrap();
        sheet.write_string(1, 1, "张三").unwrap();
        let date = rust_xlsxwriter::ExcelDateTime::from_ymd(1988, 2, 29).unwrap();
        let format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        sheet.write_datetime_with_format(1, 2, &date, &format).unwrap();
        sheet.write_number(1, 3, 42.0).unwrap();
        let bytes = book.save_to_buffer().unwrap();

        let read = import::sheet::read(&bytes).unwrap();
        assert_eq!(read.rows, [(2, vec!["13800138005".into(), "张三".into(), "1988-02-29".into(), "42".into()])]);
        let plan = dry_run(&db, &clock, &brand, &read).await;
        assert_eq!(plan.rows[0].action, Action::Create, "{:?}", plan.rows[0].problems);
        assert_eq!(plan.points, 42);
    }
);

db_test!(
    async fn a_file_without_phones_is_refused_before_any_row(db) {
        let (clock, brand) = shop(&db).await;
        let refused = import::plan(&db, &clock, &loyalty::testing::secret(), &brand, &csv("name,points\nLi,5\n")).await;
        assert!(matches!(refused, Err(loyalty::Error::ImportNoPhoneColumn)));
    }
);
