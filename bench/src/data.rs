//! The data every measurement runs on: one brand with a store, API keys and
//! a coupon template, then members generated in bulk by SQL (each with ten
//! ledger rows and a few available coupons), so a million members take a
//! minute instead of an hour of one-by-one joins.

use loyalty::brands::api_keys;
use loyalty::brands::stores::{self, NewStore, StoreId};
use loyalty::brands::{self, Brand, BrandSlug, Language, NewBrand, ThemeColor};
use loyalty::coupons::{self, Kind, NewTemplate, Rule, TemplateId};
use loyalty::members::sessions::{self, SessionPolicy};
use loyalty::members::{member_code, MemberId, MemberNo};
use loyalty::money::{ExternalId, Fen};
use loyalty::{Backend, Db, SystemClock};

pub const DAY_MS: i64 = 86_400_000;
/// Ledger rows each generated member has.
pub const LEDGER_ROWS: i64 = 10;
/// The points each ledger row adds.
const ROW_POINTS: i64 = 10;
/// API keys the load spreads over, so the per-key rate limit never binds.
const KEYS: usize = 16;
const ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Generated coupon codes count up from here (well inside the code space).
const CODE_OFFSET: i64 = 1_000_000_000_000;
/// The codes of the coupons generated as used count up from here, clear of
/// the available ones (a million members with 1,000 coupons each end below).
const USED_CODE_OFFSET: i64 = 2 * CODE_OFFSET;
/// The used coupon of every other member: issued this long ago, valid for
/// 30 days, redeemed the day after.
const USED_ISSUED_DAYS_AGO: i64 = 200;

pub struct Tenant {
    pub brand: Brand,
    pub store: StoreId,
    pub template: TemplateId,
    pub keys: Vec<String>,
    /// Members generated so far; member `i` has number `member_no(i)`.
    pub members: i64,
    pub coupons_per_member: i64,
    /// Purchases of a generated member on average (from 1 to twice this
    /// less one, by member; none when 0): what the insight queries read.
    pub purchases_per_member: i64,
}

/// The member number of generated member `i`.
pub fn member_no(i: i64) -> String {
    format!("5{i:07}")
}

/// The code of generated member `i`'s `k`-th coupon (k from 0), when each
/// member has `per_member`.
pub fn coupon_code(per_member: i64, i: i64, k: i64) -> String {
    let mut n = CODE_OFFSET + i * per_member + k;
    let mut code = String::with_capacity(10);
    for _ in 0..10 {
        code.push(ALPHABET[(n % 30) as usize] as char);
        n /= 30;
    }
    code
}

/// The same code as SQL over the expression `n` (both dialects).
fn coupon_code_sql(n: &str) -> String {
    let alphabet = std::str::from_utf8(ALPHABET).expect("ascii");
    (0..10)
        .map(|j| {
            format!(
                "substr('{alphabet}', CAST((({n}) / {}) % 30 AS INTEGER) + 1, 1)",
                30i64.pow(j)
            )
        })
        .collect::<Vec<_>>()
        .join(" || ")
}

pub async fn tenant(db: &Db, slug: &str, coupons_per_member: i64) -> Tenant {
    let clock = SystemClock;
    let mut tx = db.begin().await.expect("begin");
    let brand = brands::create(
        &mut tx,
        &clock,
        NewBrand {
            slug: BrandSlug::parse(slug).expect("slug"),
            name: "基准餐厅".into(),
            theme_color: ThemeColor::default(),
            default_language: Language::ZhCn,
        },
    )
    .await
    .expect("create brand");
    let store = stores::create(
        &mut tx,
        &clock,
        brand.id,
        NewStore {
            code: "S1".into(),
            name: "一店".into(),
            address: String::new(),
        },
    )
    .await
    .expect("create store")
    .id;
    // 满50减10: every bill of the load is ¥100.
    let mut template = NewTemplate::new(Rule {
        kind: Kind::AmountOff,
        threshold_fen: 5_000,
        amount_off_fen: Some(1_000),
        percent_off: None,
        max_off_fen: None,
        gift_item: None,
        weekdays: Vec::new(),
        minutes: None,
    });
    template.valid_days = Some(365);
    let template = coupons::create_template(&mut tx, &clock, brand.id, &template)
        .await
        .expect("coupon template");
    // Check-in on, as a real brand has it: the card then reads the streak.
    sqlx::query(
        "UPDATE loyalty_rules SET checkin_points = 5, checkin_streak_days = 7, checkin_streak_bonus = 30 \
         WHERE brand_id = $1",
    )
    .bind(brand.id.0)
    .execute(&mut *tx)
    .await
    .expect("check-in rule");
    let mut keys = Vec::new();
    for n in 0..KEYS {
        let key = api_keys::create(&mut tx, &clock, brand.id, store, &format!("load {n}"))
            .await
            .expect("api key");
        keys.push(key.key);
    }
    tx.commit().await.expect("commit");
    Tenant {
        brand,
        store,
        template,
        keys,
        members: 0,
        coupons_per_member,
        purchases_per_member: 0,
    }
}

/// Adds members until there are `to`, in transactions of 50,000.
pub async fn grow(db: &Db, t: &mut Tenant, to: i64) {
    const BATCH: i64 = 50_000;
    while t.members < to {
        let (from, until) = (t.members, (t.members + BATCH).min(to));
        grow_batch(db, t, from, until).await;
        t.members = until;
    }
}

async fn grow_batch(db: &Db, t: &Tenant, from: i64, until: i64) {
    let now = jiff::Timestamp::now().as_millisecond();
    let brand = t.brand.id.0;
    let pg = db.backend() == Backend::Postgres;
    let (series, pad7, pad8) = if pg {
        (
            format!("SELECT generate_series({from}, {}) AS i", until - 1),
            "lpad(CAST(i AS TEXT), 7, '0')",
            "lpad(CAST(i AS TEXT), 8, '0')",
        )
    } else {
        (
            format!("SELECT {from} AS i UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < {until}"),
            "printf('%07d', i)",
            "printf('%08d', i)",
        )
    };
    let most_purchases = (2 * t.purchases_per_member - 1).max(0);
    let ks = (1..=LEDGER_ROWS.max(t.coupons_per_member).max(most_purchases))
        .map(|k| format!("({k})"))
        .collect::<Vec<_>>()
        .join(", ");
    let range = format!(
        "m.brand_id = {brand} AND m.member_no BETWEEN '{}' AND '{}'",
        member_no(from),
        member_no(until - 1)
    );
    let joined = now - 400 * DAY_MS;
    let balance = LEDGER_ROWS * ROW_POINTS;
    let code = coupon_code_sql(&format!(
        "{CODE_OFFSET} + CAST(substr(m.member_no, 2) AS BIGINT) * {} + (k - 1)",
        t.coupons_per_member
    ));
    let used_code = coupon_code_sql(&format!(
        "{USED_CODE_OFFSET} + CAST(substr(m.member_no, 2) AS BIGINT)"
    ));
    let used_issued = now - USED_ISSUED_DAYS_AGO * DAY_MS;
    let statements = [
        format!(
            "WITH RECURSIVE seq(i) AS ({series}) \
             INSERT INTO members (brand_id, member_no, phone, terms_version, terms_accepted_at, created_at, points_balance) \
             SELECT {brand}, '5' || {pad7}, '+86139' || {pad8}, '{}', {joined}, {joined}, {balance} FROM seq",
            t.brand.terms_version
        ),
        format!(
            "WITH ks(k) AS (VALUES {ks}) \
             INSERT INTO points_ledger (brand_id, member_id, kind, amount, reason, created_at) \
             SELECT m.brand_id, m.id, 'adjust', {ROW_POINTS}, '导入', {joined} + k * {DAY_MS} \
             FROM members m, ks WHERE {range} AND k <= {LEDGER_ROWS}"
        ),
        format!(
            "WITH ks(k) AS (VALUES {ks}) \
             INSERT INTO coupons (brand_id, template_id, member_id, code, source, seq, valid_from, valid_until, issued_at) \
             SELECT m.brand_id, {}, m.id, {code}, 'campaign', k, {}, {}, {now} \
             FROM members m, ks WHERE {range} AND k <= {}",
            t.template.0,
            now - DAY_MS,
            now + 365 * DAY_MS,
            t.coupons_per_member
        ),
        // Every other member used a coupon months ago, as a brand's
        // members have: the wallet's and the redemption's statements then
        // meet a table of redemptions that is not empty, and are planned
        // for one.
        format!(
            "INSERT INTO coupons (brand_id, template_id, member_id, code, source, seq, valid_from, valid_until, status, issued_at) \
             SELECT m.brand_id, {}, m.id, {used_code}, 'campaign', {}, {used_issued}, {}, 'redeemed', {used_issued} \
             FROM members m WHERE {range} AND m.id % 2 = 0",
            t.template.0,
            t.coupons_per_member + 1,
            used_issued + 30 * DAY_MS,
        ),
        format!(
            "INSERT INTO coupon_redemptions (brand_id, store_id, coupon_id, order_id, bill_fen, discount_fen, created_at) \
             SELECT c.brand_id, {}, c.id, 'U' || m.member_no, 10000, 1000, {} \
             FROM members m JOIN coupons c ON c.member_id = m.id \
             WHERE {range} AND c.status = 'redeemed'",
            t.store.0,
            used_issued + DAY_MS,
        ),
        // Spread over two years, a different number per member.
        format!(
            "WITH ks(k) AS (VALUES {ks}) \
             INSERT INTO purchases (brand_id, store_id, member_id, order_id, amount_fen, points_earned, occurred_at, created_at) \
             SELECT m.brand_id, {}, m.id, 'G' || m.member_no || '-' || CAST(k AS TEXT), \
                    2000 + (m.id * 31 + k * 17) % 60000, 0, \
                    {now} - ((m.id * 7919 + k * 104729) % 730) * {DAY_MS} - k * 3600000, {now} \
             FROM members m, ks WHERE {range} AND k <= 1 + m.id % {}",
            t.store.0,
            most_purchases.max(1)
        ),
    ];
    // The purchases' statement is the last: left out when there are none.
    let statements = if t.purchases_per_member > 0 {
        &statements[..]
    } else {
        &statements[..statements.len() - 1]
    };
    let mut tx = db.begin().await.expect("begin");
    for sql in statements {
        sqlx::query(sql)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("generating members failed: {e}\n{sql}"));
    }
    tx.commit().await.expect("commit");
}

/// Signed-in sessions for `n` members spread over the generated ones: the
/// session cookie values, as a browser would send them.
pub async fn sessions(db: &Db, t: &Tenant, n: i64) -> Vec<String> {
    let mut out = Vec::new();
    let mut conn = db.acquire().await.expect("connection");
    for j in 0..n {
        let i = (j * 7919) % t.members.max(1);
        let (id,): (i64,) =
            sqlx::query_as("SELECT id FROM members WHERE brand_id = $1 AND member_no = $2")
                .bind(t.brand.id.0)
                .bind(member_no(i))
                .fetch_one(&mut *conn)
                .await
                .expect("member");
        let token = sessions::start(
            &mut conn,
            &SystemClock,
            &SessionPolicy::default(),
            t.brand.id,
            MemberId(id),
        )
        .await
        .expect("session");
        out.push(token.as_str().to_owned());
    }
    out
}

/// Past stored-value payments of each topped-up member: the history a card
/// has in use, so that the payments' tables are not empty when the planner's
/// statistics are taken (a plan made for an empty table scans it whole).
const PAST_PAYMENTS: i64 = 2;

/// Tops up `n` generated members by ¥1,000,000 each and pays [`PAST_PAYMENTS`]
/// times from each card (through the core, as a till would), for the
/// stored-value payments to spend: returns each one's (member id, member
/// number).
pub async fn stored_value_members(db: &Db, t: &Tenant, n: i64) -> Vec<(i64, String)> {
    let clock = SystemClock;
    let till = api_keys::authenticate(db, &clock, &t.keys[0])
        .await
        .expect("key")
        .expect("a live key");
    let secret = crate::server::secret();
    let mut out = Vec::new();
    for j in 0..n {
        let i = (j * 7919 + 13) % t.members.max(1);
        let no = member_no(i);
        let (id,): (i64,) =
            sqlx::query_as("SELECT id FROM members WHERE brand_id = $1 AND member_no = $2")
                .bind(t.brand.id.0)
                .bind(&no)
                .fetch_one(db.pool())
                .await
                .expect("member");
        let mut tx = db.begin().await.expect("begin");
        let top_up = ExternalId::parse("top_up_id", &format!("BENCH-{i}")).expect("id");
        let amount = Fen::positive(loyalty::stored_value::MAX_TOP_UP_FEN).expect("fen");
        match loyalty::stored_value::top_up(
            &mut tx,
            &clock,
            &till,
            MemberId(id),
            &top_up,
            amount,
            None,
        )
        .await
        {
            Ok(_) => tx.commit().await.expect("commit"),
            // Topped up, and paid from, by an earlier run on the same data.
            Err(loyalty::Error::TopUpAlreadyRecorded) => {
                out.push((id, no));
                continue;
            }
            Err(e) => panic!("top-up: {e}"),
        }
        let member_no = MemberNo::parse(&no).expect("member no");
        let code = member_code::current(&secret, &clock, t.brand.id, MemberId(id), &member_no);
        for k in 0..PAST_PAYMENTS {
            let mut tx = db.begin().await.expect("begin");
            let card = member_code::shown(&mut tx, &clock, &secret, t.brand.id, &code.digits)
                .await
                .expect("the card's code");
            let payment = ExternalId::parse("payment_id", &format!("BENCH-{i}-{k}")).expect("id");
            let amount = Fen::positive(1_000).expect("fen");
            loyalty::stored_value::pay(&mut tx, &clock, &till, &card, &payment, amount, None)
                .await
                .expect("a past payment");
            tx.commit().await.expect("commit");
        }
        out.push((id, no));
    }
    out
}

/// The member session cookie's name for this brand (plain HTTP).
pub fn session_cookie(t: &Tenant) -> String {
    format!("tc_m{}", t.brand.id.0)
}

/// Refreshes the planner's statistics after a bulk load, as an operator
/// would. On PostgreSQL the schema's tables are vacuumed too: left to
/// autovacuum, their first pass over the new rows starts during the
/// measurements that follow (seen on `points_ledger` in the middle of the
/// growth curve's first size, whose lookups then ran at half speed in that
/// run and at no other size), so one size would pay for it and the others
/// not. The bench's tables only: the database may hold other schemas.
///
/// Tables still empty (the idempotency keys before the first write) are
/// left unanalyzed, as in a new database: once analyzed empty, PostgreSQL
/// plans their statements for no rows, a sequential scan, and the server's
/// connections keep that plan while the load fills the table (the
/// redemptions' key lookups then read millions of rows by the third run of
/// the growth curve's first size). Never analyzed, a table is planned as
/// ten pages, with its indexes.
pub async fn analyze(db: &Db) {
    let statement = match db.backend() {
        Backend::Sqlite => "ANALYZE".to_owned(),
        Backend::Postgres => {
            let tables: Vec<(String,)> = sqlx::query_as(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()",
            )
            .fetch_all(db.pool())
            .await
            .expect("the schema's tables");
            let mut filled = Vec::new();
            for (table,) in tables {
                let (rows,): (bool,) =
                    sqlx::query_as(&format!("SELECT EXISTS (SELECT 1 FROM {table})"))
                        .fetch_one(db.pool())
                        .await
                        .expect("is the table empty");
                if rows {
                    filled.push(table);
                }
            }
            format!("VACUUM (ANALYZE) {}", filled.join(", "))
        }
    };
    sqlx::raw_sql(&statement)
        .execute(db.pool())
        .await
        .expect("analyze");
}

/// A new API key of the tenant's store, with a rate-limit window of its own.
pub async fn extra_key(db: &Db, t: &Tenant, name: &str) -> String {
    let mut conn = db.acquire().await.expect("connection");
    api_keys::create(&mut conn, &SystemClock, t.brand.id, t.store, name)
        .await
        .expect("api key")
        .key
}

#[cfg(test)]
mod tests {
    use super::*;
    use loyalty::coupons::CouponCode;
    use loyalty::money::{ExternalId, Fen};

    /// The generator's rows obey the core's invariants, and the codes the
    /// load sends are the codes in the database: a mismatch would turn every
    /// measured redemption into a refusal.
    #[tokio::test]
    async fn generated_members_are_consistent_and_their_coupons_redeem() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("gen.db").display());
        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        let mut t = tenant(&db, "gen", 3).await;
        grow(&db, &mut t, 5).await;
        grow(&db, &mut t, 12).await;

        let members: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT m.member_no, m.points_balance, CAST(SUM(l.amount) AS BIGINT), COUNT(l.id) \
             FROM members m JOIN points_ledger l ON l.member_id = m.id \
             WHERE m.brand_id = $1 GROUP BY m.id, m.member_no, m.points_balance ORDER BY m.member_no",
        )
        .bind(t.brand.id.0)
        .fetch_all(db.pool())
        .await
        .unwrap();
        assert_eq!(members.len(), 12);
        for (i, (no, balance, sum, rows)) in members.into_iter().enumerate() {
            assert_eq!(no, member_no(i as i64));
            assert_eq!((balance, sum, rows), (100, 100, LEDGER_ROWS));
        }

        let codes: Vec<(String, String)> = sqlx::query_as(
            "SELECT m.member_no, c.code FROM coupons c JOIN members m ON m.id = c.member_id \
             WHERE c.brand_id = $1 AND c.status = 'available' ORDER BY m.member_no, c.seq",
        )
        .bind(t.brand.id.0)
        .fetch_all(db.pool())
        .await
        .unwrap();
        assert_eq!(codes.len(), 36);
        for (j, (no, code)) in codes.iter().enumerate() {
            let (i, k) = (j as i64 / 3, j as i64 % 3);
            assert_eq!(no, &member_no(i));
            assert_eq!(code, &coupon_code(3, i, k));
        }

        // Every other member has a used coupon besides, with its redemption.
        let used: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT c.member_id, c.seq, c.code FROM coupons c \
             JOIN coupon_redemptions r ON r.coupon_id = c.id AND r.status = 'active' \
             WHERE c.brand_id = $1 AND c.status = 'redeemed' ORDER BY c.member_id",
        )
        .bind(t.brand.id.0)
        .fetch_all(db.pool())
        .await
        .unwrap();
        assert_eq!(used.len(), 6, "{used:?}");
        let (redeemed, redemptions): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM coupons WHERE status = 'redeemed'), \
                    (SELECT COUNT(*) FROM coupon_redemptions)",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!((redeemed, redemptions), (6, 6));
        for (member, seq, code) in &used {
            assert_eq!(member % 2, 0);
            assert_eq!(*seq, 4);
            assert!(CouponCode::parse(code).is_some(), "{code}");
            assert!(codes.iter().all(|(_, c)| c != code), "{code}");
        }

        let code = CouponCode::parse(&coupon_code(3, 11, 2)).expect("a valid code");
        let mut tx = db.begin().await.unwrap();
        let used = coupons::redeem(
            &mut tx,
            &SystemClock,
            &loyalty::access::PosKey::for_tests(&t.brand, t.store),
            &code,
            &ExternalId::parse("order_id", "T-1").unwrap(),
            Fen::positive(10_000).unwrap(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(used.discount_fen, 1_000);
    }
}
