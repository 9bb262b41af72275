//! `make bench`: what a member's phone downloads and waits for, what the
//! server sustains on SQLite and PostgreSQL beside its raw ceiling, how
//! latency grows with a million members, memory, and two processes on one
//! PostgreSQL. One run writes `bench/results/latest.json` and `latest.md`
//! (with SVG charts) and prints the summary table; it exits non-zero when a
//! part was skipped or a budget missed.
//!
//! Settings (environment): `BENCH_SECONDS` per measurement (2),
//! `BENCH_GROWTH` member counts (10000,100000,1000000),
//! `TABLECARD_BENCH_POSTGRES_URL` (else `TABLECARD_TEST_POSTGRES_URL`) for
//! the PostgreSQL parts, which are skipped without one; `BENCH_ONLY` (a
//! comma list of phone, sqlite, postgres, scale, growth) runs a subset and
//! then writes its results under `bench/results/partial.*` instead.

mod data;
mod load;
mod report;
mod server;
mod workload;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use loyalty::marketing::insight::{self, ChurnRule};
use loyalty::{Db, ServerSecret, SystemClock};
use serde::Serialize;

use load::{round, Outcome};
use server::{Memory, Options, Server};
use workload::{Endpoint, Workload};

pub struct Settings {
    root: PathBuf,
    work: PathBuf,
    duration: Duration,
    levels: Vec<usize>,
    growth: Vec<i64>,
    postgres: Option<String>,
    /// `BENCH_ONLY=phone,sqlite,postgres,scale,growth`: a subset, for work on one part.
    only: Option<Vec<String>>,
}

impl Settings {
    fn wants(&self, part: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| o.iter().any(|p| p == part))
    }
}

#[derive(Serialize)]
pub struct Results {
    pub started_at: String,
    pub duration_s: f64,
    pub machine: Machine,
    pub reference: Reference,
    pub phone: Option<serde_json::Value>,
    pub server: Vec<ServerRun>,
    /// On SQLite, and on PostgreSQL when it is set.
    pub growth: Vec<Growth>,
    pub scale_out: Option<ScaleOut>,
    pub skipped: Vec<String>,
    /// How long each part took, in seconds.
    pub stages: Vec<(String, f64)>,
}

#[derive(Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub memory_gib: f64,
}

/// Measured in the same run, so the other figures can be read as ratios.
#[derive(Serialize)]
pub struct Reference {
    /// SHA-256 over 256 MiB in one thread.
    pub cpu_sha256_mib_s: f64,
}

#[derive(Serialize)]
pub struct ServerRun {
    pub database: String,
    pub members: i64,
    pub memory_idle: Memory,
    pub memory_after_load: Memory,
    pub endpoints: Vec<EndpointRun>,
    /// The writes' statements without HTTP, at the same concurrency.
    pub raw_ceiling: Vec<EndpointRun>,
    /// The rows each write must make and nothing else (`Workload::floor`),
    /// at the same concurrency: the independent floor.
    pub floor: Vec<EndpointRun>,
}

#[derive(Serialize)]
pub struct EndpointRun {
    pub endpoint: Endpoint,
    pub label: &'static str,
    pub levels: Vec<Outcome>,
}

#[derive(Serialize)]
pub struct Growth {
    pub database: String,
    pub points: Vec<GrowthPoint>,
}

#[derive(Serialize)]
pub struct GrowthPoint {
    pub members: i64,
    pub ledger_rows: i64,
    pub coupons: i64,
    pub purchases: i64,
    pub generate_s: f64,
    /// RFM segments and the churn list over every member (the owner's
    /// insight page), in seconds.
    pub rfm_and_churn_s: f64,
    pub lookup: Outcome,
    pub card: Outcome,
    pub redeem: Outcome,
}

#[derive(Serialize)]
pub struct ScaleOut {
    pub connections: usize,
    pub one_process: Outcome,
    pub two_processes: Outcome,
    pub exactly_once: ExactlyOnce,
    pub shared_rate_limit: RateLimitCheck,
}

#[derive(Serialize)]
pub struct ExactlyOnce {
    pub attempts: usize,
    pub succeeded: usize,
    pub statuses: BTreeMap<u16, usize>,
}

#[derive(Serialize)]
pub struct RateLimitCheck {
    pub limit_per_minute: u32,
    pub attempts: usize,
    pub passed: usize,
    pub refused_429: usize,
    /// Whether all attempts fell in one minute window (else up to twice the
    /// limit may pass, correctly).
    pub one_window: bool,
}

impl Settings {
    fn from_env() -> Settings {
        let root = std::env::current_dir().expect("current directory");
        let seconds: f64 = std::env::var("BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2.0);
        let growth = std::env::var("BENCH_GROWTH")
            .ok()
            .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
            .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000]);
        let postgres = [
            "TABLECARD_BENCH_POSTGRES_URL",
            "TABLECARD_TEST_POSTGRES_URL",
        ]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()));
        let only = std::env::var("BENCH_ONLY")
            .ok()
            .map(|s| s.split(',').map(|p| p.trim().to_owned()).collect());
        Settings {
            only,
            work: root.join("target/bench"),
            root,
            duration: Duration::from_secs_f64(seconds),
            levels: vec![1, 8, 32, 128],
            growth,
            postgres,
        }
    }
}

fn say(what: &str) {
    eprintln!("bench: {what}");
}

#[tokio::main]
async fn main() -> ExitCode {
    let s = Settings::from_env();
    if !s.root.join("target/release/tablecard").exists() {
        eprintln!("bench: target/release/tablecard is missing; run `make bench` (it builds first)");
        return ExitCode::FAILURE;
    }
    let _ = std::fs::remove_dir_all(&s.work);
    std::fs::create_dir_all(&s.work).expect("work directory");
    let started = Instant::now();
    let started_at = jiff::Timestamp::now().to_string();
    let mut skipped = Vec::new();
    let mut stages: Vec<(String, f64)> = Vec::new();
    let mut mark = Instant::now();
    let mut stage = |name: &str| {
        stages.push((name.to_owned(), round(mark.elapsed().as_secs_f64(), 1)));
        mark = Instant::now();
    };

    say("reference: SHA-256 over 256 MiB");
    let reference = Reference {
        cpu_sha256_mib_s: cpu_reference(),
    };
    let phone = if s.wants("phone") {
        say("the phone: five pages, throttled like slow 4G");
        match phone(&s).await {
            Ok(v) => Some(v),
            Err(e) => {
                skipped.push(format!("the phone: {e}"));
                None
            }
        }
    } else {
        None
    };
    stage("reference and phone");
    let mut server = Vec::new();
    if s.wants("sqlite") {
        say("the server on SQLite");
        let sqlite_url = format!("sqlite://{}", s.work.join("load.db").display());
        server.push(server_run(&s, "SQLite", &sqlite_url).await);
    }
    stage("server on SQLite");
    let mut scale_out = None;
    match &s.postgres {
        Some(pg) => {
            if s.wants("postgres") {
                say("the server on PostgreSQL");
                let url = pg_schema(pg, "bench_load").await;
                server.push(server_run(&s, "PostgreSQL", &url).await);
            }
            stage("server on PostgreSQL");
            if s.wants("scale") {
                say("scale-out: two processes on one PostgreSQL");
                let url = pg_schema(pg, "bench_scale").await;
                scale_out = Some(scale(&s, &url).await);
            }
            pg_drop(pg, &["bench_load", "bench_scale"]).await;
            stage("scale-out");
        }
        None if s.wants("postgres") || s.wants("scale") => skipped.push(
            "PostgreSQL: set TABLECARD_BENCH_POSTGRES_URL (or TABLECARD_TEST_POSTGRES_URL) to measure it and the scale-out"
                .into(),
        ),
        None => {}
    }
    let mut growth = Vec::new();
    if s.wants("growth") {
        say("growth on SQLite");
        let url = format!("sqlite://{}", s.work.join("growth.db").display());
        growth.push(grow(&s, "SQLite", &url).await);
        if let Some(pg) = &s.postgres {
            say("growth on PostgreSQL");
            let url = pg_schema(pg, "bench_growth").await;
            growth.push(grow(&s, "PostgreSQL", &url).await);
            pg_drop(pg, &["bench_growth"]).await;
        }
    }
    stage("growth");

    let results = Results {
        started_at,
        duration_s: round(started.elapsed().as_secs_f64(), 1),
        machine: machine(),
        reference,
        phone,
        server,
        growth,
        scale_out,
        skipped,
        stages,
    };
    let out = s.root.join("bench/results");
    let name = if s.only.is_some() {
        "partial"
    } else {
        "latest"
    };
    let (summary, missed) = report::write(&out, name, &results);
    println!("{summary}");
    println!(
        "Written: bench/results/{name}.json, bench/results/{name}.md ({} s)",
        results.duration_s
    );
    let _ = std::fs::remove_dir_all(&s.work);
    if !results.skipped.is_empty() && s.only.is_none() {
        eprintln!("bench: parts were not measured (see the table above)");
        return ExitCode::FAILURE;
    }
    if missed > 0 {
        eprintln!("bench: {missed} budgets missed (see the table above)");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn cpu_reference() -> f64 {
    use sha2::{Digest, Sha256};
    let block = vec![7u8; 1 << 20];
    let t = Instant::now();
    let mut h = Sha256::new();
    for _ in 0..256 {
        h.update(&block);
    }
    std::hint::black_box(h.finalize());
    round(256.0 / t.elapsed().as_secs_f64(), 0)
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("unknown")
        .trim()
        .to_owned();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kb: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    Machine {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu,
        memory_gib: round(kb / 1024.0 / 1024.0, 1),
    }
}

/// A fresh schema of the PostgreSQL database, as a URL whose connections use it.
async fn pg_schema(base: &str, schema: &str) -> String {
    let db = Db::connect(base).await.expect("connect to PostgreSQL");
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ))
    .execute(db.pool())
    .await
    .expect("fresh schema");
    db.pool().close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

/// Drops the bench's schemas: their data is in the report now.
async fn pg_drop(base: &str, schemas: &[&str]) {
    let db = Db::connect(base).await.expect("connect to PostgreSQL");
    for schema in schemas {
        sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .execute(db.pool())
            .await
            .expect("drop the bench schema");
    }
    db.pool().close().await;
}

async fn open(url: &str) -> Db {
    let db = Db::connect(url).await.expect("open the database");
    db.migrate().await.expect("migrate");
    db
}

fn secret() -> Arc<ServerSecret> {
    Arc::new(server::secret())
}

/// Runs `call` at each concurrency of `levels`, after a short warm-up that
/// opens its connections, and says how each went.
async fn sweep<F, Fut>(
    s: &Settings,
    endpoint: Endpoint,
    levels: &[usize],
    what: &str,
    call: F,
) -> EndpointRun
where
    F: Fn(u64, usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Option<bool>> + Send + 'static,
{
    let mut out = Vec::new();
    for &c in levels {
        load::run(c, Duration::from_millis(300), call.clone()).await;
        let o = load::run(c, s.duration, call.clone()).await;
        say(&format!(
            "  {what}{:<30} c={c:<3} {:>7}/s  p50 {:>7} ms  p99 {:>7} ms  errors {}",
            endpoint.label(),
            o.rps,
            o.p50_ms,
            o.p99_ms,
            o.errors
        ));
        out.push(o);
    }
    EndpointRun {
        endpoint,
        label: endpoint.label(),
        levels: out,
    }
}

/// `endpoint` over HTTP.
async fn measure(
    s: &Settings,
    w: &Arc<Workload>,
    endpoint: Endpoint,
    levels: &[usize],
) -> EndpointRun {
    let w = w.clone();
    sweep(s, endpoint, levels, "", move |n, wk| {
        w.clone().call(endpoint, n, wk)
    })
    .await
}

/// The raw ceiling of a write: its statements without HTTP.
async fn measure_raw(s: &Settings, w: &Arc<Workload>, db: &Db, endpoint: Endpoint) -> EndpointRun {
    let (w, db, secret) = (w.clone(), db.clone(), secret());
    sweep(s, endpoint, &s.levels, "raw ", move |_, wk| {
        w.clone().raw(db.clone(), secret.clone(), endpoint, wk)
    })
    .await
}

/// How long after the last load the server's memory is read.
const AFTER_LOAD: Duration = Duration::from_secs(3);

/// The independent floor of a write: its essential rows alone.
async fn measure_floor(
    s: &Settings,
    w: &Arc<Workload>,
    db: &Db,
    endpoint: Endpoint,
) -> EndpointRun {
    let (w, db) = (w.clone(), db.clone());
    let (api_key,): (i64,) = sqlx::query_as("SELECT id FROM api_keys ORDER BY id LIMIT 1")
        .fetch_one(db.pool())
        .await
        .expect("an API key");
    sweep(s, endpoint, &s.levels, "floor ", move |n, _| {
        let (w, db) = (w.clone(), db.clone());
        async move {
            match endpoint {
                Endpoint::Card => w.card_floor(db, n).await,
                _ => w.floor(db, endpoint, api_key).await,
            }
        }
    })
    .await
}

const LOAD_MEMBERS: i64 = 20_000;
/// Members signed in on their phones: one in ten. (With 200, the sessions
/// fitted in a few pages, which PostgreSQL read whole for every card rather
/// than through the index, as it would not at a restaurant's size.)
const LOAD_SESSIONS: i64 = 2_000;

async fn server_run(s: &Settings, name: &str, url: &str) -> ServerRun {
    let db = open(url).await;
    let mut t = data::tenant(&db, "bench", 4).await;
    // A restaurant in use: its members have bought before and its cards
    // have paid before, and the planner's statistics are taken after all of
    // it. A table analyzed empty gets plans that scan it whole, which every
    // pooled connection keeps until the next ANALYZE: every write then read
    // the growing payments table once per payment (on PostgreSQL, the
    // foreign-key check of its moves), while the floor, measured later on
    // the grown tables with fresh connections, did not.
    t.purchases_per_member = 3;
    data::grow(&db, &mut t, LOAD_MEMBERS).await;
    let sessions = data::sessions(&db, &t, LOAD_SESSIONS).await;
    let cards = data::stored_value_members(&db, &t, 2_000).await;
    data::analyze(&db).await;
    let srv = Server::start(
        &s.root,
        Options {
            database_url: url,
            api_rate_per_minute: 100_000,
            log: s.work.join(format!("server-{}.log", name.to_lowercase())),
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let memory_idle = srv.memory();
    let w = Workload::new(&t, vec![srv.base.clone()], sessions).with_cards(cards);
    let mut endpoints = Vec::new();
    for e in [
        Endpoint::Healthz,
        Endpoint::Landing,
        Endpoint::Card,
        Endpoint::Lookup,
        Endpoint::Purchase,
        Endpoint::Redeem,
        Endpoint::StoredPay,
    ] {
        endpoints.push(measure(s, &w, e, &s.levels).await);
    }
    // What an operator sees once the rush is over: the server gives the
    // heap the load left free back after a quiet second (`server::memory`).
    // The peak during the load is reported beside it.
    tokio::time::sleep(AFTER_LOAD).await;
    let memory_after_load = srv.memory();
    srv.stop().await;
    let mut raw_ceiling = Vec::new();
    let mut floor = Vec::new();
    for e in [Endpoint::Purchase, Endpoint::Redeem, Endpoint::StoredPay] {
        raw_ceiling.push(measure_raw(s, &w, &db, e).await);
        floor.push(measure_floor(s, &w, &db, e).await);
    }
    floor.push(measure_floor(s, &w, &db, Endpoint::Card).await);
    db.pool().close().await;
    ServerRun {
        database: name.into(),
        members: LOAD_MEMBERS,
        memory_idle,
        memory_after_load,
        endpoints,
        raw_ceiling,
        floor,
    }
}

/// The member-facing reads and a redemption at each size of
/// `BENCH_GROWTH`, and the owner's RFM and churn over all members.
/// How many times each size's endpoints are measured.
const GROWTH_RUNS: usize = 3;
/// Coupons per member of the growth data: two, as the redemption's runs at
/// the first size (10,000 members) took more than one each.
const GROWTH_COUPONS: i64 = 2;

async fn grow(s: &Settings, name: &str, url: &str) -> Growth {
    let db = open(url).await;
    let mut t = data::tenant(&db, "growth", GROWTH_COUPONS).await;
    t.purchases_per_member = 3;
    let srv = Server::start(
        &s.root,
        Options {
            database_url: url,
            api_rate_per_minute: 100_000,
            log: s
                .work
                .join(format!("server-growth-{}.log", name.to_lowercase())),
        },
    )
    .await;
    let mut points = Vec::new();
    let mut before = 0;
    for &size in &s.growth {
        let t0 = Instant::now();
        data::grow(&db, &mut t, size).await;
        data::analyze(&db).await;
        let generate_s = round(t0.elapsed().as_secs_f64(), 1);
        say(&format!("  {size} members generated in {generate_s} s"));
        let sessions = data::sessions(&db, &t, 100).await;
        // Redeem only the new members' coupons: the earlier sizes used some
        // of the others'.
        let w = Workload::new(&t, vec![srv.base.clone()], sessions).coupons_of(before, size);
        before = size;
        let at = |e| measure(s, &w, e, &[1]);
        let (purchases,): (i64,) =
            sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM purchases WHERE brand_id = $1")
                .bind(t.brand.id.0)
                .fetch_one(db.pool())
                .await
                .expect("count the purchases");
        let t0 = Instant::now();
        let (rfm, churn) =
            insight::overview(&db, &SystemClock, t.brand.id, 365, ChurnRule::default())
                .await
                .expect("RFM and churn");
        let rfm_and_churn_s = round(t0.elapsed().as_secs_f64(), 2);
        say(&format!(
            "  RFM and churn over {size} members in {rfm_and_churn_s} s ({} in the window, {} judged for churn)",
            rfm.members.len(),
            churn.judged
        ));
        // Three runs of each, taken in turn, and their median (`median_of`).
        let mut runs: [Vec<Outcome>; 3] = Default::default();
        for run in 1..=GROWTH_RUNS {
            let mut line = format!("  run {run}:");
            for (i, e) in [Endpoint::Lookup, Endpoint::Card, Endpoint::Redeem]
                .into_iter()
                .enumerate()
            {
                let o = at(e).await.levels.remove(0);
                line += &format!(" {:?} {}/s p99 {} ms;", e, o.rps, o.p99_ms);
                runs[i].push(o);
            }
            say(&line);
        }
        let [lookup, card, redeem] = runs.map(load::median_of);
        points.push(GrowthPoint {
            members: size,
            ledger_rows: size * data::LEDGER_ROWS,
            coupons: size * GROWTH_COUPONS,
            purchases,
            generate_s,
            rfm_and_churn_s,
            lookup,
            card,
            redeem,
        });
    }
    srv.stop().await;
    db.pool().close().await;
    Growth {
        database: name.into(),
        points,
    }
}

async fn scale(s: &Settings, url: &str) -> ScaleOut {
    let db = open(url).await;
    let mut t = data::tenant(&db, "scale", 4).await;
    data::grow(&db, &mut t, LOAD_MEMBERS).await;
    data::analyze(&db).await;
    let start = |n: u32, limit: u32| {
        Server::start(
            &s.root,
            Options {
                database_url: url,
                api_rate_per_minute: limit,
                log: s.work.join(format!("server-scale-{n}-{limit}.log")),
            },
        )
    };
    let (a, b) = (start(1, 100_000).await, start(2, 100_000).await);
    let connections = 32;
    let one = Workload::new(&t, vec![a.base.clone()], Vec::new());
    let one_process = measure(s, &one, Endpoint::Mixed, &[connections])
        .await
        .levels
        .remove(0);
    // Carries on with the orders and coupons the first run left.
    let both = one.with_bases(vec![a.base.clone(), b.base.clone()]);
    let two_processes = measure(s, &both, Endpoint::Mixed, &[connections])
        .await
        .levels
        .remove(0);

    // 64 redemptions of one coupon, each with its own key, over both.
    let code = both.next_coupon().expect("a coupon left");
    let mut tasks = Vec::new();
    for i in 0..64usize {
        let w = both.clone();
        let code = code.clone();
        tasks.push(tokio::spawn(async move {
            let order = format!("once-{i}");
            w.client()
                .post(format!("{}/api/v1/coupons/redeem", w.base(i)))
                .bearer_auth(w.key_for(i))
                .header("idempotency-key", format!("once-{i}-{code}"))
                .json(&w.redeem_body(&order, &code))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }));
    }
    let mut statuses = BTreeMap::new();
    for t in tasks {
        *statuses.entry(t.await.expect("task")).or_insert(0) += 1;
    }
    let exactly_once = ExactlyOnce {
        attempts: 64,
        succeeded: statuses.get(&200).copied().unwrap_or(0),
        statuses,
    };
    a.stop().await;
    b.stop().await;

    // The rate limit of one key holds across both processes.
    let limit = 40;
    let (a, b) = (start(1, limit).await, start(2, limit).await);
    // A key of its own: the load above filled the others' windows.
    let key = data::extra_key(&db, &t, "rate check").await;
    let w = both
        .with_bases(vec![a.base.clone(), b.base.clone()])
        .with_key(key);
    let mut shared_rate_limit = rate_check(&w, limit).await;
    if !shared_rate_limit.one_window {
        shared_rate_limit = rate_check(&w, limit).await;
    }
    a.stop().await;
    b.stop().await;
    db.pool().close().await;
    ScaleOut {
        connections,
        one_process,
        two_processes,
        exactly_once,
        shared_rate_limit,
    }
}

async fn rate_check(w: &Arc<Workload>, limit: u32) -> RateLimitCheck {
    // Start just after a minute boundary so all attempts share one window.
    let minute = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 60)
    };
    let ms = jiff::Timestamp::now().as_millisecond().rem_euclid(60_000);
    if ms > 50_000 {
        tokio::time::sleep(Duration::from_millis((60_500 - ms) as u64)).await;
    }
    let before = minute(std::time::SystemTime::now());
    let attempts = 3 * limit as usize;
    let mut tasks = Vec::new();
    for i in 0..attempts {
        let w = w.clone();
        tasks.push(tokio::spawn(async move {
            w.client()
                .get(format!(
                    "{}/api/v1/members/lookup?member={}",
                    w.base(i),
                    data::member_no(1)
                ))
                .bearer_auth(w.key_for(0))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }));
    }
    let (mut passed, mut refused) = (0, 0);
    for t in tasks {
        match t.await.expect("task") {
            200 => passed += 1,
            429 => refused += 1,
            _ => {}
        }
    }
    RateLimitCheck {
        limit_per_minute: limit,
        attempts,
        passed,
        refused_429: refused,
        one_window: before == minute(std::time::SystemTime::now()),
    }
}

/// The demo brand on its own server, a signed-in member, and the browser
/// script `end2end/bench/phone.mjs`.
async fn phone(s: &Settings) -> Result<serde_json::Value, String> {
    use loyalty::brands::{self, BrandSlug};
    use loyalty::members::phone::Phone;
    use loyalty::members::sessions::{self, SessionPolicy};
    use loyalty::members::{self, Consent};
    use loyalty::SystemClock;

    let url = format!("sqlite://{}", s.work.join("phone.db").display());
    let db = open(&url).await;
    loyalty::infra::demo::seed(&db, &SystemClock)
        .await
        .map_err(|e| format!("demo seed: {e}"))?;
    let brand = brands::find_by_slug(&db, &BrandSlug::parse("demo").expect("slug"))
        .await
        .map_err(|e| e.to_string())?;
    let mut tx = db.begin().await.map_err(|e| e.to_string())?;
    let (member, _) = members::join(
        &mut tx,
        &SystemClock,
        &secret(),
        &brand,
        &Phone::parse("86", "13700000001").expect("phone"),
        Consent {
            terms_accepted: true,
            marketing: false,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    loyalty::coupons::welcome(&mut tx, &SystemClock, &brand, member.id)
        .await
        .map_err(|e| e.to_string())?;
    let token = sessions::start(
        &mut tx,
        &SystemClock,
        &SessionPolicy::default(),
        brand.id,
        member.id,
    )
    .await
    .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    db.pool().close().await;
    let srv = Server::start(
        &s.root,
        Options {
            database_url: &url,
            api_rate_per_minute: 600,
            log: s.work.join("server-phone.log"),
        },
    )
    .await;
    let output = tokio::process::Command::new("node")
        .arg(s.root.join("end2end/bench/phone.mjs"))
        .args(["--base", &srv.base, "--brand", "demo", "--cookie"])
        .arg(format!("tc_m{}={}", brand.id.0, token.as_str()))
        .current_dir(&s.root)
        .stderr(std::process::Stdio::inherit())
        .output()
        .await;
    srv.stop().await;
    let output = output.map_err(|e| format!("cannot run node: {e}"))?;
    if !output.status.success() {
        return Err("end2end/bench/phone.mjs failed (its error is above)".into());
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("phone.mjs printed no JSON: {e}"))
}
