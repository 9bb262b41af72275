//! Crash safety: a POS and members keep the real server busy with mixed
//! traffic (purchases, refunds, coupon redemptions, points paid at the till,
//! points exchanged for coupons) while it is killed with SIGKILL at random
//! moments, several times, on SQLite and on PostgreSQL. Unanswered requests
//! are retried with their Idempotency-Key (or the form's nonce), as a POS
//! and a phone would. Afterwards:
//!
//! - every write the server acknowledged is there, as acknowledged;
//! - every operation is recorded once, however often it was retried;
//! - every balance equals the sum of its ledger, and none is negative;
//! - no coupon is redeemed twice, and limited stock is never oversold.
//!
//! `TABLECARD_CRASH_ROUNDS` sets the kills per database (3 here, in
//! `make test`; `make crash-test` runs 25).

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use loyalty::brands::{self, BrandSlug};
use loyalty::coupons::{self, NewTemplate, Rule, Source};
use loyalty::members::phone::Phone;
use loyalty::members::sessions::{self, SessionPolicy};
use loyalty::members::{self, Consent};
use loyalty::{Db, SystemClock};
use serde_json::{json, Value};

const WORKERS: usize = 6;
const MEMBERS: usize = 8;
const EXCHANGE_STOCK: i64 = 25;

/// A database for one run: a temporary SQLite file, or a fresh schema.
pub(crate) struct Target {
    name: &'static str,
    pub(crate) url: String,
    pub(crate) dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl Target {
    pub(crate) fn sqlite() -> Target {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/crash.db", dir.path().display());
        Target {
            name: "SQLite",
            url,
            dir,
            pg: None,
        }
    }

    async fn postgres() -> Target {
        let base = loyalty::testing::TestDb::postgres_url();
        let schema = format!("crash_{:016x}", rand_seed());
        let admin = Db::connect(&base).await.unwrap();
        sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
            .execute(admin.pool())
            .await
            .unwrap();
        admin.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        Target {
            name: "PostgreSQL",
            url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
            dir: tempfile::tempdir().unwrap(),
            pg: Some((base, schema)),
        }
    }

    async fn drop_schema(&self) {
        if let Some((base, schema)) = &self.pg {
            let admin = Db::connect(base).await.unwrap();
            sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(admin.pool())
                .await
                .unwrap();
            admin.close().await;
        }
    }
}

fn rand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        ^ (std::process::id() as u64) << 32
}

/// xorshift64*: the test's only randomness, from a seed it prints.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn tablecard(target: &Target) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tablecard"));
    c.current_dir(target.dir.path())
        .env("DATABASE_URL", &target.url)
        .env(
            "TABLECARD_SECRET_KEY",
            "crash-test-secret-key-long-enough-0123456789",
        )
        .env("TABLECARD_API_RATE_PER_MINUTE", "100000")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null());
    c
}

/// A running server, killed (SIGKILL) when dropped, so a failing test
/// leaves none behind.
pub(crate) struct Server(pub(crate) Child);

impl Server {
    fn kill(&mut self) -> std::io::Result<()> {
        self.0.kill()
    }
    fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.0.wait()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn start(target: &Target, port: u16) -> Server {
    Server(
        tablecard(target)
            .arg("serve")
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_SITE_ROOT", target.dir.path())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

pub(crate) async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not come back");
}

#[derive(Clone, Debug)]
enum Op {
    Purchase {
        order: String,
        member: String,
        fen: i64,
    },
    Refund {
        order: String,
        refund: String,
        fen: i64,
    },
    Redeem {
        code: String,
        order: String,
    },
    Points {
        member: String,
        order: String,
        points: i64,
    },
    Exchange {
        member: usize,
        nonce: String,
    },
    TopUp {
        top_up: String,
        member: String,
        fen: i64,
    },
    /// A stored-value payment with the card's code as scanned when the
    /// request was first made: a retry sends the same body, as a POS does.
    StoredPay {
        payment: String,
        code: String,
        fen: i64,
    },
}

#[derive(Clone, Debug)]
enum Outcome {
    Done(Value),
    Refused(String),
}

/// What the clients know: every request sent, and the answers they got.
#[derive(Default)]
struct Books {
    sent: BTreeMap<String, Op>,
    answered: BTreeMap<String, Outcome>,
    purchases: Vec<(String, i64)>,
}

#[derive(Clone)]
struct World {
    client: reqwest::Client,
    base: String,
    key: String,
    /// Each member's number and session token.
    members: Arc<Vec<(String, String)>>,
    cookie: String,
    exchange_template: String,
    books: Arc<Mutex<Books>>,
    /// Each member's (brand id, member id), for their rotating codes.
    cards: Arc<Vec<(i64, i64)>>,
}

impl World {
    /// Sends one request. Err: the server is gone; Ok(None): another copy of
    /// it is still running (a claim left by the crash), to retry later.
    async fn send(&self, key: &str, op: &Op) -> Result<Option<Outcome>, ()> {
        let api = |path: &str, body: Value| {
            self.client
                .post(format!("{}/api/v1{path}", self.base))
                .bearer_auth(&self.key)
                .header("idempotency-key", key)
                .json(&body)
        };
        let request = match op {
            Op::Purchase { order, member, fen } => api(
                "/purchases",
                json!({"order_id": order, "member": member, "amount_fen": fen}),
            ),
            Op::Refund { order, refund, fen } => api(
                &format!("/purchases/{order}/refunds"),
                json!({"refund_id": refund, "amount_fen": fen}),
            ),
            Op::Redeem { code, order } => api(
                "/coupons/redeem",
                json!({"code": code, "order_id": order, "amount_fen": 8_000}),
            ),
            Op::Points {
                member,
                order,
                points,
            } => api(
                "/points/redeem",
                json!({"member": member, "order_id": order, "points": points, "amount_fen": 50_000}),
            ),
            Op::TopUp {
                top_up,
                member,
                fen,
            } => api(
                "/stored-value/top-ups",
                json!({"top_up_id": top_up, "member": member, "amount_fen": fen, "tender": "cash"}),
            ),
            Op::StoredPay { payment, code, fen } => api(
                "/stored-value/payments",
                json!({"payment_id": payment, "member": code, "amount_fen": fen}),
            ),
            Op::Exchange { member, nonce } => {
                let template = &self.exchange_template;
                let token = &self.members[*member].1;
                self.client
                    .post(format!("{}/fn/take_coupon", self.base))
                    .header("origin", &self.base)
                    .header("cookie", format!("{}={token}", self.cookie))
                    .form(&[("slug", "demo"), ("template", template), ("nonce", nonce)])
            }
        };
        let response = request.send().await.map_err(|_| ())?;
        let status = response.status();
        if let Op::Exchange { .. } = op {
            let to = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if response.bytes().await.is_err() {
                return Err(());
            }
            assert!(
                !status.is_server_error(),
                "{op:?}: {status} (a crash must never show as a server error)"
            );
            assert_eq!(status, 303, "an exchange answers with a redirect");
            return Ok(Some(if to.contains("taken=exchange") {
                let code = to.split("/coupons/").nth(1).unwrap().split('?').next();
                Outcome::Done(json!({"code": code}))
            } else {
                assert!(to.contains("error="), "{to}");
                Outcome::Refused(to)
            }));
        }
        let body: Value = match response.json().await {
            Ok(v) => v,
            Err(_) => return Err(()),
        };
        if status.is_success() {
            return Ok(Some(Outcome::Done(body)));
        }
        let code = body["code"].as_str().unwrap_or_default().to_owned();
        if code == "request_in_progress" {
            return Ok(None);
        }
        assert!(
            status.is_client_error(),
            "{op:?}: {status} {body} (a crash must never show as a server error)"
        );
        Ok(Some(Outcome::Refused(code)))
    }

    /// Sends until the server goes away; then returns.
    async fn work(
        self,
        mut jobs: Vec<(String, Op)>,
        mut rng: Rng,
        codes: Arc<Vec<String>>,
        id: usize,
    ) {
        let mut n = 0;
        loop {
            let (key, op) = match jobs.pop() {
                Some(job) => job,
                None => {
                    n += 1;
                    let tag = format!("{id}-{n}-{}", rng.next() % 1_000_000_000);
                    let member = self.members_no(rng.below(MEMBERS as u64) as usize);
                    let roll = rng.below(100);
                    let op = if roll < 32 {
                        Op::Purchase {
                            order: format!("P{tag}"),
                            member,
                            fen: 1_000 + rng.below(50_000) as i64,
                        }
                    } else if roll < 44 {
                        let done = self.books.lock().unwrap().purchases.clone();
                        if done.is_empty() {
                            continue;
                        }
                        let (order, fen) = done[rng.below(done.len() as u64) as usize].clone();
                        Op::Refund {
                            order,
                            refund: format!("R{tag}"),
                            fen: (fen / 10).max(1),
                        }
                    } else if roll < 60 {
                        // Codes are shared between workers, so two may race
                        // for one coupon with different keys.
                        Op::Redeem {
                            code: codes[rng.below(codes.len() as u64) as usize].clone(),
                            order: format!("C{tag}"),
                        }
                    } else if roll < 72 {
                        Op::Points {
                            member,
                            order: format!("X{tag}"),
                            points: 1 + rng.below(30) as i64,
                        }
                    } else if roll < 82 {
                        Op::TopUp {
                            top_up: format!("T{tag}"),
                            member,
                            fen: 10_000 + rng.below(60_000) as i64,
                        }
                    } else if roll < 92 {
                        Op::StoredPay {
                            payment: format!("S{tag}"),
                            code: self.card_code(rng.below(MEMBERS as u64) as usize),
                            fen: 100 + rng.below(8_000) as i64,
                        }
                    } else {
                        Op::Exchange {
                            member: rng.below(MEMBERS as u64) as usize,
                            nonce: format!("N{}", tag.replace('-', "x")),
                        }
                    };
                    (format!("k{tag}"), op)
                }
            };
            self.books
                .lock()
                .unwrap()
                .sent
                .insert(key.clone(), op.clone());
            match self.send(&key, &op).await {
                Err(()) => return,
                Ok(None) => {}
                Ok(Some(outcome)) => {
                    let mut books = self.books.lock().unwrap();
                    if let (Op::Purchase { order, fen, .. }, Outcome::Done(_)) = (&op, &outcome) {
                        books.purchases.push((order.clone(), *fen));
                    }
                    books.answered.insert(key, outcome);
                }
            }
        }
    }

    fn members_no(&self, i: usize) -> String {
        self.members[i].0.clone()
    }

    /// Member `i`'s rotating code now, under the server's key.
    fn card_code(&self, i: usize) -> String {
        let (brand, id) = self.cards[i];
        let secret =
            loyalty::ServerSecret::from_master(b"crash-test-secret-key-long-enough-0123456789");
        let no = loyalty::members::MemberNo::parse(&self.members[i].0).unwrap();
        loyalty::members::member_code::current(
            &secret,
            &SystemClock,
            loyalty::brands::BrandId(brand),
            loyalty::members::MemberId(id),
            &no,
        )
        .digits
    }

    fn unanswered(&self) -> Vec<(String, Op)> {
        let books = self.books.lock().unwrap();
        books
            .sent
            .iter()
            .filter(|(k, _)| !books.answered.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// The demo brand, eight members with sessions, thirty coupons each, and a
/// coupon to buy with points of which only 25 exist.
pub(crate) async fn prepare(
    target: &Target,
) -> (String, Vec<(String, String)>, String, String, Vec<String>) {
    let seed = tablecard(target).arg("demo").output().unwrap();
    assert!(
        seed.status.success(),
        "{}",
        String::from_utf8_lossy(&seed.stderr)
    );
    let db = Db::connect(&target.url).await.unwrap();
    let clock = SystemClock;
    let brand = brands::find_by_slug(&db, &BrandSlug::parse("demo").unwrap())
        .await
        .unwrap();
    let store = loyalty::brands::stores::list(&db, brand.id).await.unwrap()[0].id;
    let mut tx = db.begin().await.unwrap();
    let key = loyalty::brands::api_keys::create(&mut tx, &clock, brand.id, store, "crash POS")
        .await
        .unwrap()
        .key;
    let voucher = coupons::create_template(
        &mut tx,
        &clock,
        brand.id,
        &NewTemplate {
            per_member_limit: None,
            ..NewTemplate::new(Rule::voucher(500))
        },
    )
    .await
    .unwrap();
    let exchange = coupons::create_template(
        &mut tx,
        &clock,
        brand.id,
        &NewTemplate {
            per_member_limit: None,
            stock_total: Some(EXCHANGE_STOCK),
            points_price: Some(10),
            claimable: true,
            ..NewTemplate::new(Rule::voucher(300))
        },
    )
    .await
    .unwrap();
    let mut members = Vec::new();
    let mut codes = Vec::new();
    for i in 0..MEMBERS {
        let phone = Phone::parse("86", &format!("1390000000{i}")).unwrap();
        let consent = Consent {
            terms_accepted: true,
            marketing: false,
        };
        let (m, _) = members::join(
            &mut tx,
            &clock,
            &loyalty::testing::secret(),
            &brand,
            &phone,
            consent,
        )
        .await
        .unwrap();
        let token = sessions::start(&mut tx, &clock, &SessionPolicy::default(), brand.id, m.id)
            .await
            .unwrap();
        for _ in 0..30 {
            let issued =
                coupons::issue(&mut tx, &clock, &brand, m.id, voucher, Source::Staff, None)
                    .await
                    .unwrap();
            codes.push(issued.coupon.code.as_str().to_owned());
        }
        members.push((m.member_no.as_str().to_owned(), token.as_str().to_owned()));
    }
    tx.commit().await.unwrap();
    db.close().await;
    (
        key,
        members,
        format!("tc_m{}", brand.id.0),
        exchange.0.to_string(),
        codes,
    )
}

/// The prepared database, and the clients that will talk to its server on
/// a free port.
async fn open_world(target: &Target) -> (World, Arc<Vec<String>>, u16) {
    let (key, members, cookie, exchange_template, codes) = prepare(target).await;
    let port = free_port();
    let db = Db::connect(&target.url).await.unwrap();
    let mut cards = Vec::new();
    for (no, _) in &members {
        let row: (i64, i64) =
            sqlx::query_as("SELECT brand_id, id FROM members WHERE member_no = $1")
                .bind(no)
                .fetch_one(db.pool())
                .await
                .unwrap();
        cards.push(row);
    }
    db.close().await;
    let world = World {
        cards: Arc::new(cards),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: format!("http://127.0.0.1:{port}"),
        key,
        members: Arc::new(members),
        cookie,
        exchange_template,
        books: Arc::default(),
    };
    (world, Arc::new(codes), port)
}

async fn crash_run(target: Target) {
    let rounds: usize = std::env::var("TABLECARD_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let seed = rand_seed();
    eprintln!("crash test on {}: {rounds} kills, seed {seed}", target.name);
    let mut rng = Rng(seed | 1);
    let (world, codes, port) = open_world(&target).await;

    let mut mid_flight = 0;
    for round in 0..rounds {
        let mut server = start(&target, port);
        wait_ready(&world.client, &world.base).await;
        let pending = world.unanswered();
        let mut tasks = Vec::new();
        for w in 0..WORKERS {
            let jobs: Vec<_> = pending.iter().skip(w).step_by(WORKERS).cloned().collect();
            let worker = world
                .clone()
                .work(jobs, Rng(rng.next() | 1), codes.clone(), w);
            tasks.push(tokio::spawn(worker));
        }
        // SIGKILL at a random moment under load: once this round has had a
        // random number of answers (counted, not timed, so a busy machine
        // still sends enough traffic to prove something), a little later.
        let answers = 60 + rng.below(60) as usize;
        let started = Instant::now();
        wait_for_answers(&world, answers).await;
        tokio::time::sleep(Duration::from_millis(rng.below(300))).await;
        let after = started.elapsed().as_millis();
        server.kill().unwrap();
        server.wait().unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        let open = world.unanswered().len();
        let (sent, answered) = {
            let b = world.books.lock().unwrap();
            (b.sent.len(), b.answered.len())
        };
        eprintln!(
            "{} round {round}: killed after {after} ms; {sent} sent, {answered} answered, {open} in flight",
            target.name
        );
        if open > 0 {
            mid_flight += 1;
        }
    }
    assert!(
        mid_flight > 0,
        "no kill landed while requests were in flight: the test proved nothing"
    );

    // The last run: no crash. Everything unanswered is retried until it is
    // answered (a claim abandoned by a crash is taken over after its grace).
    let mut server = start(&target, port);
    wait_ready(&world.client, &world.base).await;
    let deadline = Instant::now()
        + Duration::from_millis(loyalty::infra::idempotency::ABANDONED_AFTER_MS as u64 + 60_000);
    loop {
        let pending = world.unanswered();
        if pending.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} requests never answered",
            pending.len()
        );
        for (key, op) in pending {
            if let Some(outcome) = world.send(&key, &op).await.expect("the server is up") {
                world.books.lock().unwrap().answered.insert(key, outcome);
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // A retry of what was answered gets the same answer, and changes nothing.
    let done: Vec<(String, Op, Value)> = {
        let b = world.books.lock().unwrap();
        b.answered
            .iter()
            .filter_map(|(k, o)| match o {
                Outcome::Done(v) => Some((k.clone(), b.sent[k].clone(), v.clone())),
                Outcome::Refused(_) => None,
            })
            .take(40)
            .collect()
    };
    for (key, op, first) in &done {
        match world.send(key, op).await.unwrap() {
            Some(Outcome::Done(again)) => assert_eq!(&again, first, "{op:?}"),
            other => panic!("{op:?} was {first}, a retry got {other:?}"),
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();

    verify(&target, &world).await;
    target.drop_schema().await;
}

/// Waits until `more` requests have been answered from now on (at most a
/// minute: a server that stops answering fails the test).
async fn wait_for_answers(world: &World, more: usize) {
    let answered = || world.books.lock().unwrap().answered.len();
    let target = answered() + more;
    let deadline = Instant::now() + Duration::from_secs(60);
    while answered() < target {
        assert!(
            Instant::now() < deadline,
            "fewer than {more} answers in a minute"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts that every acknowledged operation among `answered` is in the
/// database as acknowledged; returns how many of each kind there were.
async fn assert_present(
    db: &Db,
    sent: &BTreeMap<String, Op>,
    answered: &BTreeMap<String, Outcome>,
) -> BTreeMap<&'static str, usize> {
    let pool = db.pool();
    let mut done: BTreeMap<&str, usize> = BTreeMap::new();
    for (key, outcome) in answered {
        let Outcome::Done(answer) = outcome else {
            continue;
        };
        let op = &sent[key];
        let (kind, found): (&str, bool) = match op {
            Op::Purchase { order, .. } => {
                let row: Option<(i64,)> =
                    sqlx::query_as("SELECT points_earned FROM purchases WHERE order_id = $1")
                        .bind(order)
                        .fetch_optional(pool)
                        .await
                        .unwrap();
                (
                    "purchase",
                    row.map(|r| r.0) == answer["points_earned"].as_i64(),
                )
            }
            Op::Refund { refund, .. } => {
                let row: Option<(i64,)> =
                    sqlx::query_as("SELECT amount_fen FROM refunds WHERE refund_id = $1")
                        .bind(refund)
                        .fetch_optional(pool)
                        .await
                        .unwrap();
                ("refund", row.is_some())
            }
            Op::Redeem { .. } => {
                let row: Option<(String,)> =
                    sqlx::query_as("SELECT status FROM coupon_redemptions WHERE id = $1")
                        .bind(answer["redemption_id"].as_i64().unwrap())
                        .fetch_optional(pool)
                        .await
                        .unwrap();
                ("redemption", row.is_some_and(|r| r.0 == "active"))
            }
            Op::Points { .. } => {
                let row: Option<(i64,)> =
                    sqlx::query_as("SELECT points FROM point_redemptions WHERE id = $1")
                        .bind(answer["redemption_id"].as_i64().unwrap())
                        .fetch_optional(pool)
                        .await
                        .unwrap();
                ("points", row.is_some())
            }
            Op::TopUp { top_up, fen, .. } => {
                let row: Option<(i64, i64)> = sqlx::query_as(
                    "SELECT amount_fen, bonus_fen FROM stored_value_top_ups WHERE top_up_id = $1",
                )
                .bind(top_up)
                .fetch_optional(pool)
                .await
                .unwrap();
                (
                    "top_up",
                    row == Some((*fen, answer["bonus_fen"].as_i64().unwrap())),
                )
            }
            Op::StoredPay { payment, fen, .. } => {
                let row: Option<(i64, i64)> = sqlx::query_as(
                    "SELECT amount_fen, principal_fen FROM stored_value_payments \
                     WHERE payment_id = $1 AND status = 'active'",
                )
                .bind(payment)
                .fetch_optional(pool)
                .await
                .unwrap();
                (
                    "stored_payment",
                    row == Some((*fen, answer["principal_fen"].as_i64().unwrap())),
                )
            }
            Op::Exchange { .. } => {
                let row: Option<(String,)> =
                    sqlx::query_as("SELECT source FROM coupons WHERE code = $1")
                        .bind(answer["code"].as_str().unwrap())
                        .fetch_optional(pool)
                        .await
                        .unwrap();
                ("exchange", row.is_some_and(|r| r.0 == "exchange"))
            }
        };
        assert!(
            found,
            "acknowledged {op:?} → {answer} is not in the database"
        );
        *done.entry(kind).or_default() += 1;
    }
    done
}

/// Balances equal ledgers and none is negative; no coupon is redeemed
/// twice; limited stock is not oversold.
async fn assert_books_balance(db: &Db) {
    let pool = db.pool();
    // A key is stored with its answer, in the transaction of its effect:
    // however the server died, no key is left without one.
    let (unanswered,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM idempotency_keys WHERE status IS NULL")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(unanswered, 0, "keys left without an answer");
    assert!(
        loyalty::points::audit(db).await.unwrap().is_empty(),
        "balance == sum(ledger) for everyone"
    );
    let (negative,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM members WHERE points_balance < 0")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(negative, 0, "no balance below zero");
    let twice: Vec<(i64,)> = sqlx::query_as(
        "SELECT coupon_id FROM coupon_redemptions WHERE status = 'active' \
         GROUP BY coupon_id HAVING COUNT(*) > 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(twice.is_empty(), "coupons redeemed twice: {twice:?}");
    // The points cap's running totals agree with what they total: points
    // paid per order, and each recorded purchase's bill net of refunds.
    let drifted: Vec<(i64, String)> = sqlx::query_as(
        "SELECT o.store_id, o.order_id FROM order_points o \
         WHERE o.paid_fen <> COALESCE((SELECT SUM(r.value_fen) FROM point_redemptions r \
               WHERE r.store_id = o.store_id AND r.order_id = o.order_id AND r.status = 'active'), 0)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        drifted.is_empty(),
        "order totals apart from their payments: {drifted:?}"
    );
    let unbilled: Vec<(i64,)> = sqlx::query_as(
        "SELECT p.id FROM purchases p LEFT JOIN order_points o \
           ON o.store_id = p.store_id AND o.order_id = p.order_id \
         WHERE o.bill_fen IS NULL OR o.bill_fen <> p.amount_fen - p.refunded_fen",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        unbilled.is_empty(),
        "purchases whose order total lost the bill: {unbilled:?}"
    );
    // Stored value: every member's account, ledger and lots agree.
    let stored = loyalty::stored_value::audit(db).await.unwrap();
    assert!(
        stored.is_empty(),
        "stored value apart from its ledger: {stored:?}"
    );
    let (exchanged,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM coupons WHERE source = 'exchange'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert!(
        exchanged <= EXCHANGE_STOCK,
        "{exchanged} sold of {EXCHANGE_STOCK}"
    );
}

/// Runs a `tablecard` command on `target`'s database as an operator would
/// beside a server on `port`: whether it succeeded, and all it said.
fn cli(target: &Target, port: u16, args: &[&str]) -> (bool, String) {
    let out = tablecard(target)
        .args(args)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// A server on `target` with the POS and members' workers sending mixed
/// traffic to it until it stops answering.
async fn under_load(target: &Target) -> (World, u16, Server, Vec<tokio::task::JoinHandle<()>>) {
    let (world, codes, port) = open_world(target).await;
    let server = start(target, port);
    wait_ready(&world.client, &world.base).await;
    let mut rng = Rng(rand_seed() | 1);
    let tasks = (0..WORKERS)
        .map(|w| {
            let worker = world
                .clone()
                .work(Vec::new(), Rng(rng.next() | 1), codes.clone(), w);
            tokio::spawn(worker)
        })
        .collect();
    (world, port, server, tasks)
}

/// Sends an acknowledged purchase again with its key, as a POS that never
/// saw the answer would, and asserts the answer is the one first given;
/// returns the purchase.
async fn retried_purchase_answers_as_before(
    world: &World,
    sent: &BTreeMap<String, Op>,
    answered: &BTreeMap<String, Outcome>,
) -> Op {
    let (key, op, first) = answered
        .iter()
        .find_map(|(k, o)| match (o, &sent[k]) {
            (Outcome::Done(v), op @ Op::Purchase { .. }) => {
                Some((k.clone(), op.clone(), v.clone()))
            }
            _ => None,
        })
        .expect("an acknowledged purchase");
    match world.send(&key, &op).await.unwrap() {
        Some(Outcome::Done(again)) => assert_eq!(again, first, "the retry's answer"),
        other => panic!("{other:?}"),
    }
    op
}

async fn verify(target: &Target, world: &World) {
    let db = Db::connect(&target.url).await.unwrap();
    let pool = db.pool();
    let (sent, answered) = {
        let b = world.books.lock().unwrap();
        (b.sent.clone(), b.answered.clone())
    };
    let done = assert_present(&db, &sent, &answered).await;
    // Recorded once each: as many rows as acknowledged operations.
    for (kind, sql) in [
        ("purchase", "SELECT COUNT(*) FROM purchases"),
        ("refund", "SELECT COUNT(*) FROM refunds"),
        ("redemption", "SELECT COUNT(*) FROM coupon_redemptions"),
        ("points", "SELECT COUNT(*) FROM point_redemptions"),
        (
            "exchange",
            "SELECT COUNT(*) FROM coupons WHERE source = 'exchange'",
        ),
        ("top_up", "SELECT COUNT(*) FROM stored_value_top_ups"),
        (
            "stored_payment",
            "SELECT COUNT(*) FROM stored_value_payments",
        ),
    ] {
        let (rows,): (i64,) = sqlx::query_as(sql).fetch_one(pool).await.unwrap();
        let acked = done.get(kind).copied().unwrap_or(0) as i64;
        assert_eq!(rows, acked, "{}: {kind} rows vs acknowledged", target.name);
    }
    assert!(
        done.get("purchase").copied().unwrap_or(0) > 50,
        "too little traffic to prove anything: {done:?}"
    );
    for kind in ["top_up", "stored_payment"] {
        assert!(
            done.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} was acknowledged: {done:?}"
        );
    }
    assert_books_balance(&db).await;
    let mut refused: BTreeMap<&str, usize> = BTreeMap::new();
    for outcome in answered.values() {
        if let Outcome::Refused(why) = outcome {
            let why = why.rsplit("error=").next().unwrap_or(why);
            *refused.entry(why).or_default() += 1;
        }
    }
    eprintln!(
        "{}: acknowledged {done:?}; refused {refused:?}; every invariant holds",
        target.name
    );
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_mixed_traffic_loses_and_repeats_nothing_on_sqlite() {
    crash_run(Target::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set TABLECARD_TEST_POSTGRES_URL (make test then runs it)"]
async fn sigkill_under_mixed_traffic_loses_and_repeats_nothing_on_postgres() {
    crash_run(Target::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_under_load_restores_with_every_invariant() {
    let target = Target::sqlite();
    let (world, port, mut server, tasks) = under_load(&target).await;
    wait_for_answers(&world, 60).await;

    // The backup, taken while the load runs.
    let before = world.books.lock().unwrap().answered.clone();
    let file = target.dir.path().join("backup.db");
    let run = |args: &[&str]| cli(&target, port, args);
    let (ok, said) = run(&["backup", file.to_str().unwrap()]);
    assert!(ok, "{said}");
    assert!(said.contains("integrity and balances checked"), "{said}");
    let (ok, said) = run(&["backup", file.to_str().unwrap()]);
    assert!(!ok && said.contains("never overwrites"), "{said}");
    // A restore while the server runs is refused.
    let (ok, said) = run(&["restore", file.to_str().unwrap()]);
    assert!(!ok && said.contains("stop the Tablecard server"), "{said}");
    let sent_by_backup = world.books.lock().unwrap().sent.len();
    wait_for_answers(&world, 20).await;
    // Then the incident: the server dies.
    server.kill().unwrap();
    server.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let after = world.books.lock().unwrap().sent.len();
    assert!(after > sent_by_backup, "the load ran on after the backup");

    // Not a database, and a damaged one, are refused before anything moves.
    let junk = target.dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let (ok, said) = run(&["restore", junk.to_str().unwrap()]);
    assert!(!ok && said.contains("junk.db"), "{said}");
    let mut damaged = std::fs::read(&file).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle..middle + 4096].fill(0xAB);
    let broken = target.dir.path().join("broken.db");
    std::fs::write(&broken, damaged).unwrap();
    let (ok, said) = run(&["restore", broken.to_str().unwrap()]);
    assert!(!ok, "a damaged backup is refused: {said}");

    let (ok, said) = run(&["restore", file.to_str().unwrap()]);
    assert!(ok, "{said}");
    assert!(
        said.contains("kept as"),
        "the replaced database is kept: {said}"
    );
    // The database it replaced is whole in its one kept file: its last
    // writes (after the backup) are there and its books balance.
    let kept = said.split("kept as ").nth(1).unwrap().trim();
    let old = Db::connect(&format!("sqlite://{kept}")).await.unwrap();
    assert_books_balance(&old).await;
    let purchases = |db: &Db| {
        let pool = db.pool().clone();
        async move {
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM purchases")
                .fetch_one(&pool)
                .await
                .unwrap();
            n
        }
    };
    let in_kept = purchases(&old).await;
    old.close().await;

    // The restored database holds everything acknowledged before the backup
    // began, and its books balance.
    let db = Db::connect(&target.url).await.unwrap();
    let sent = world.books.lock().unwrap().sent.clone();
    let done = assert_present(&db, &sent, &before).await;
    assert!(done.get("purchase").copied().unwrap_or(0) > 10, "{done:?}");
    assert_books_balance(&db).await;
    assert!(
        purchases(&db).await <= in_kept,
        "the backup is older than the database it replaced"
    );
    db.close().await;
    // And it serves: a retry of an acknowledged purchase gets the same answer.
    let mut server = start(&target, port);
    wait_ready(&world.client, &world.base).await;
    retried_purchase_answers_as_before(&world, &sent, &before).await;
    server.kill().unwrap();
    server.wait().unwrap();
    eprintln!("backup under load: {done:?} acknowledged before it, all restored");
}

/// The move from SQLite to PostgreSQL as an operator makes it: a portal
/// that has served mixed traffic and imported an old program's members is
/// stopped, `tablecard copy-to-postgres` fills an empty PostgreSQL schema,
/// and a server on PostgreSQL then holds every write SQLite acknowledged,
/// balances its books, answers a retried purchase as before (the
/// idempotency keys came along), and takes new writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set TABLECARD_TEST_POSTGRES_URL (make test then runs it)"]
async fn a_sqlite_portal_copied_to_postgres_serves_everything_it_acknowledged() {
    let target = Target::sqlite();
    let (world, port, mut server, tasks) = under_load(&target).await;
    wait_for_answers(&world, 120).await;
    let pg = Target::postgres().await;
    let copy = || cli(&target, port, &["copy-to-postgres", &pg.url]);
    // Not while the server writes: those writes would be left behind.
    let (ok, said) = copy();
    assert!(!ok && said.contains("stop the Tablecard server"), "{said}");
    server.kill().unwrap();
    server.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }

    // An old program's members, with points and stored value, come in too.
    let mut file = String::from("手机号,姓名,积分,积分到期日,等级,储值余额,赠送余额\n");
    for i in 0..2_000 {
        file.push_str(&format!(
            "1370{i:07},会员{i},{},2027-06-30,{},{}.50,{}\n",
            i * 7 % 5_000,
            ["普通会员", "金卡会员"][i % 2],
            i % 300,
            i % 20
        ));
    }
    let csv = target.dir.path().join("old-members.csv");
    std::fs::write(&csv, file).unwrap();
    let imported = tablecard(&target)
        .args(["import-members", "--brand", "demo", csv.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );

    let (ok, said) = copy();
    assert!(ok, "{said}");
    assert!(said.contains("checked against their ledgers"), "{said}");
    assert!(said.contains("  members: "), "{said}");
    // Once: the schema holds data now.
    let (ok, again) = copy();
    assert!(!ok && again.contains("already holds data"), "{again}");

    let sqlite = Db::connect(&target.url).await.unwrap();
    let db = Db::connect(&pg.url).await.unwrap();
    assert_eq!(db.backend(), loyalty::Backend::Postgres);
    for table in loyalty::testing::table_names(&sqlite).await {
        let count = |db: &Db| {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            let pool = db.pool().clone();
            async move {
                sqlx::query_as::<_, (i64,)>(&sql)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
                    .0
            }
        };
        assert_eq!(count(&db).await, count(&sqlite).await, "rows of {table}");
    }
    let balances = "SELECT member_no, points_balance, \
        COALESCE((SELECT principal_fen + bonus_fen FROM stored_value_accounts a WHERE a.member_id = m.id), 0) \
        FROM members m ORDER BY member_no";
    let of = |db: &Db| {
        let pool = db.pool().clone();
        async move {
            sqlx::query_as::<_, (String, i64, i64)>(balances)
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(of(&db).await, of(&sqlite).await, "every member's balances");
    sqlite.close().await;
    let sent = world.books.lock().unwrap().sent.clone();
    let answered = world.books.lock().unwrap().answered.clone();
    let done = assert_present(&db, &sent, &answered).await;
    assert!(done.get("purchase").copied().unwrap_or(0) > 10, "{done:?}");
    assert_books_balance(&db).await;
    db.close().await;

    // The portal on PostgreSQL: a retried purchase gets the answer SQLite
    // gave, and new writes take ids after the copied ones.
    let mut server = start(&pg, port);
    wait_ready(&world.client, &world.base).await;
    let op = retried_purchase_answers_as_before(&world, &sent, &answered).await;
    let Op::Purchase { member, .. } = op else {
        unreachable!()
    };
    let fresh = Op::Purchase {
        member,
        order: "after-the-move-1".into(),
        fen: 8_800,
    };
    match world.send("after-the-move-1", &fresh).await.unwrap() {
        Some(Outcome::Done(v)) => assert!(v["points_earned"].as_i64().unwrap() > 0, "{v}"),
        other => panic!("a new purchase on PostgreSQL: {other:?}"),
    }
    server.kill().unwrap();
    server.wait().unwrap();
    pg.drop_schema().await;
    eprintln!("copied to PostgreSQL: {done:?} acknowledged on SQLite, all there");
}

/// A SIGTERM (a deploy, a container stop, Ctrl-C) closes the door to new
/// connections but lets every request in flight finish: a purchase whose
/// body is still arriving is recorded and answered, and only then does the
/// process exit, cleanly.
#[tokio::test]
async fn sigterm_lets_the_requests_in_flight_finish_then_exits_cleanly() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let target = Target::sqlite();
    let (key, members, ..) = prepare(&target).await;
    let port = free_port();
    let mut server = start(&target, port);
    wait_ready(&reqwest::Client::new(), &format!("http://127.0.0.1:{port}")).await;

    let body = json!({"order_id": "T-1", "member": members[0].0, "amount_fen": 12800}).to_string();
    let head = format!(
        "POST /api/v1/purchases HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Authorization: Bearer {key}\r\nContent-Type: application/json\r\n\
         Idempotency-Key: shutdown-1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let (first, rest) = body.split_at(body.len() / 2);
    let mut till = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    till.write_all(head.as_bytes()).await.unwrap();
    till.write_all(first.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let term = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    // The process now waits for the till: no new connection, still alive.
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
    {
        assert!(
            Instant::now() < deadline,
            "still taking new connections 10 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        server.0.try_wait().unwrap().is_none(),
        "the server exited with a request in flight"
    );

    till.write_all(rest.as_bytes()).await.unwrap();
    let mut response = String::new();
    till.read_to_string(&mut response).await.unwrap();
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "the purchase in flight is answered: {response}"
    );
    assert!(response.contains("\"points_earned\""), "{response}");

    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "no exit 10 s after the last request"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "a clean exit after SIGTERM: {status}");
    let db = Db::connect(&target.url).await.unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM purchases WHERE order_id = 'T-1'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(n, 1, "the purchase answered during shutdown is on disk");
    db.close().await;
}
