//! `tablecard`: the restaurant membership portal in one binary.
#![recursion_limit = "256"]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use loyalty::brands::{self, BrandSlug, NewBrand};
use loyalty::{infra::demo, staff, Db, SystemClock};

use server::config::{Config, LogFormat};
use server::http;

#[derive(Parser)]
#[command(
    name = "tablecard",
    version,
    about = "Tablecard: a restaurant's own membership portal"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve the portal (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create the demo brand (stores, tables, an owner) unless it exists, and print where to click.
    Demo {
        /// Print the result as JSON (for scripts and tests).
        #[arg(long)]
        json: bool,
    },
    /// Create an owner account for a brand, creating the brand when it is new.
    CreateOwner {
        /// The brand's URL name, e.g. `laoma` for /r/laoma.
        #[arg(long)]
        brand: String,
        /// The brand's display name; required when the brand does not exist yet.
        #[arg(long)]
        brand_name: Option<String>,
        /// The owner's sign-in name.
        #[arg(long)]
        login: String,
        /// The owner's name as staff see it.
        #[arg(long, default_value = "Owner")]
        name: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Unlock a staff account locked by wrong passwords (and forget the count).
    UnlockStaff {
        /// The staff member's sign-in name: the login, or login@brand where
        /// several restaurants use it.
        #[arg(long)]
        login: String,
    },
    /// Copy the SQLite database to FILE while the server runs (a consistent
    /// snapshot), and check the copy. For PostgreSQL it explains pg_dump.
    Backup {
        /// Where to write the backup; an existing file is never overwritten.
        file: PathBuf,
    },
    /// Put a backup in the place of the SQLite database (stop the server
    /// first). The database it replaces is kept beside it.
    Restore {
        /// The backup to restore.
        file: PathBuf,
    },
    /// Copy the SQLite database (DATABASE_URL) into an empty PostgreSQL
    /// database or schema, checked as a backup is: integrity, every balance
    /// against its ledger, every table's rows. Stop the server first; then
    /// point DATABASE_URL at PostgreSQL and start it.
    CopyToPostgres {
        /// The PostgreSQL database to fill, e.g.
        /// postgres://tablecard:secret@localhost/tablecard
        url: String,
    },
    /// Create an API key for a store's POS and print it (once: only its hash is kept).
    CreateApiKey {
        /// The brand's URL name.
        #[arg(long)]
        brand: String,
        /// The store's code, e.g. SH01.
        #[arg(long)]
        store: String,
        /// What the key is for, e.g. "front desk POS".
        #[arg(long, default_value = "POS")]
        name: String,
        /// Print only the key (for scripts).
        #[arg(long)]
        quiet: bool,
    },
    /// Bring in the members of an old program from a CSV or XLSX file:
    /// phone, name, birthday, old member number, points (and their expiry),
    /// tier, stored value, marketing consent. The file is checked first and
    /// every problem shown; the import is then written in batches, and run
    /// again on the same file it goes on where it stopped or changes
    /// nothing.
    ImportMembers {
        /// The brand's URL name.
        #[arg(long)]
        brand: String,
        /// Only check the file and show what would happen.
        #[arg(long)]
        dry_run: bool,
        /// Also write what happens to every row to this CSV file.
        #[arg(long)]
        report: Option<PathBuf>,
        /// The file exported from the old system (.csv, .xlsx).
        file: PathBuf,
    },
    /// Run a local fake of an SMS provider (`aliyun` or `tencent`) that
    /// checks each request's signature as the provider does and shows the
    /// messages it accepts: try real delivery without an account.
    SmsFake {
        /// `aliyun` or `tencent`.
        provider: String,
        /// Where it listens.
        #[arg(long, default_value = "127.0.0.1:9100")]
        addr: String,
    },
}

/// A failure worth one line on the terminal.
type CliResult = Result<(), String>;

/// jemalloc, for the Rust code and (in place of `malloc`) for SQLite's C.
/// glibc's allocator cost the card page an eighth of the machine's CPU in
/// `malloc` and `free`, its threads contending for two arenas (more kept
/// too much memory). With jemalloc, in one bench run each at 32
/// connections, the card served 3,092 pages a second on SQLite (2,283 with
/// glibc) and 2,488 on PostgreSQL (2,218), the landing page 6,296 (5,387).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read before `main`: two arenas (one per core: its
/// default of four per core held 65 MiB after the bench's SQLite load, two
/// 63, before the metrics' upkeep took 14 MiB off both); a
/// thread of its own gives back what was freed a second ago
/// (`dirty_decay_ms`), with nothing kept in between (`muzzy_decay_ms`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(non_upper_case_globals)]
#[no_mangle]
pub static malloc_conf: Option<&'static std::ffi::c_char> = Some(
    // SAFETY: a NUL-terminated byte string that lives for the whole program.
    unsafe { &*c"narenas:2,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0".as_ptr() },
);

fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return fail(e.to_string()),
    };
    init_tracing(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(&config).await,
            Command::Migrate => migrate(&config).await.map(|_| ()),
            Command::Demo { json } => seed_demo(&config, json).await,
            Command::CreateOwner {
                brand,
                brand_name,
                login,
                name,
                password_stdin,
            } => create_owner(&config, &brand, brand_name, &login, &name, password_stdin).await,
            Command::CreateApiKey {
                brand,
                store,
                name,
                quiet,
            } => create_api_key(&config, &brand, &store, &name, quiet).await,
            Command::UnlockStaff { login } => unlock_staff(&config, &login).await,
            Command::Backup { file } => backup(&config, &file).await,
            Command::Restore { file } => restore(&config, &file).await,
            Command::CopyToPostgres { url } => copy_to_postgres(&config, &url).await,
            Command::SmsFake { provider, addr } => sms_fake(&provider, &addr).await,
            Command::ImportMembers {
                brand,
                dry_run,
                report,
                file,
            } => import_members(&config, &brand, dry_run, report.as_deref(), &file).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(message),
    }
}

fn fail(message: String) -> ExitCode {
    eprintln!("tablecard: {message}");
    ExitCode::FAILURE
}

fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,leptos_i18n=warn"));
    // Logs go to standard error: standard output carries what a command
    // prints for a script to capture (`KEY=$(tablecard create-api-key … --quiet)`).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// The credentials a fake provider accepts: the ones the portal would send
/// (from the same variables), else made-up ones.
pub const FAKE_ALIYUN: (&str, &str) = ("fake-access-key-id", "fake-access-key-secret");
pub const FAKE_TENCENT: (&str, &str, &str) = ("fake-secret-id", "fake-secret-key", "1400000000");

async fn sms_fake(provider: &str, addr: &str) -> CliResult {
    use server::sms::fake::{Fake, Kind};
    // A value from the environment (perhaps a real credential in `.env`)
    // is used but never printed.
    let var =
        |name: &str, default: &str| match std::env::var(name).ok().filter(|v| !v.trim().is_empty())
        {
            Some(v) => (v, format!("<{name} as set>")),
            None => (default.to_owned(), default.to_owned()),
        };
    let (fake, env) = match Kind::parse(provider) {
        Some(Kind::Aliyun) => {
            let (id, id_shown) = var("TABLECARD_ALIYUN_ACCESS_KEY_ID", FAKE_ALIYUN.0);
            let (secret, secret_shown) = var("TABLECARD_ALIYUN_ACCESS_KEY_SECRET", FAKE_ALIYUN.1);
            let env = format!(
                "TABLECARD_SMS=aliyun TABLECARD_ALIYUN_SMS_ENDPOINT=http://{addr} \\\n    TABLECARD_ALIYUN_ACCESS_KEY_ID={id_shown} TABLECARD_ALIYUN_ACCESS_KEY_SECRET={secret_shown}"
            );
            (Fake::new(Kind::Aliyun, &id, &secret, ""), env)
        }
        Some(Kind::Tencent) => {
            let (id, id_shown) = var("TABLECARD_TENCENT_SECRET_ID", FAKE_TENCENT.0);
            let (key, key_shown) = var("TABLECARD_TENCENT_SECRET_KEY", FAKE_TENCENT.1);
            let (app, app_shown) = var("TABLECARD_TENCENT_SMS_APP_ID", FAKE_TENCENT.2);
            let env = format!(
                "TABLECARD_SMS=tencent TABLECARD_TENCENT_SMS_ENDPOINT=http://{addr} \\\n    TABLECARD_TENCENT_SECRET_ID={id_shown} TABLECARD_TENCENT_SECRET_KEY={key_shown} TABLECARD_TENCENT_SMS_APP_ID={app_shown}"
            );
            (Fake::new(Kind::Tencent, &id, &key, &app), env)
        }
        None => {
            return Err(format!(
                "no fake for {provider:?}: use `aliyun` or `tencent`"
            ))
        }
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    println!(
        "Fake {provider} SMS provider on http://{addr} (it checks signatures like the real one)."
    );
    println!("In another terminal, start the portal against it:\n\n    {env} \\\n    make run\n");
    println!(
        "Each message it accepts is logged here with its variables (the sign-in code among them)."
    );
    axum::serve(listener, fake.router())
        .await
        .map_err(|e| format!("fake provider stopped: {e}"))
}

async fn migrate(config: &Config) -> Result<Db, String> {
    let db = Db::connect(&config.database_url)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    tracing::info!(backend = db.backend().name(), "database migrated");
    Ok(db)
}

/// The name this process shows in the console's job list.
fn worker_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    format!("{host}:{}", std::process::id())
}

/// Forgets what has served its purpose; each failure is logged and the
/// rest still runs.
async fn purge(db: &loyalty::Db) {
    if let Err(e) = loyalty::members::otp::purge_old(db, &SystemClock).await {
        tracing::warn!(error = %e, "purging old one-time codes failed");
    }
    if let Err(e) = loyalty::infra::idempotency::purge_old(db, &SystemClock).await {
        tracing::warn!(error = %e, "purging old idempotency records failed");
    }
    if let Err(e) = loyalty::feedback::purge_limits(db, &SystemClock).await {
        tracing::warn!(error = %e, "purging old feedback counters failed");
    }
    if let Err(e) = loyalty::staff::till::purge_forms(db, &SystemClock).await {
        tracing::warn!(error = %e, "purging old till forms failed");
    }
    if let Err(e) = loyalty::infra::rate_limits::purge_old(db, &SystemClock).await {
        tracing::warn!(error = %e, "purging API rate windows failed");
    }
    if let Err(e) = loyalty::infra::jobs::purge_old(db, &SystemClock).await {
        tracing::warn!(error = %e, "purging old job runs failed");
    }
    if let Err(e) = loyalty::marketing::messages::purge_old(db, &SystemClock).await {
        tracing::warn!(error = %e, "purging the old record of text messages failed");
    }
    if let Err(e) = loyalty::members::import::forget_unstarted(db, &SystemClock).await {
        tracing::warn!(error = %e, "forgetting member files never imported failed");
    }
    if let Err(e) = loyalty::members::forget_old_welcomes(db, &SystemClock).await {
        tracing::warn!(error = %e, "forgetting old welcomes failed");
    }
}

async fn serve(config: &Config) -> CliResult {
    let db = migrate(config).await?;
    let site = config.site_root.join("pkg");
    if !site.exists() {
        tracing::warn!(
            "no built assets in {}: run `make run` (or `cargo xtask site`) so pages can load their style and scripts",
            site.display()
        );
    }
    let state = http::AppState::new(config, db.clone());
    server::memory::spawn_quiet_trim();
    if let (Some(schedule), Some(status)) = (&config.backups, &state.backups) {
        tracing::info!(dir = %schedule.dir.display(), every_hours = schedule.every.as_secs() / 3600, keep = schedule.keep, "backups on a schedule");
        server::backups::spawn(db.clone(), schedule.clone(), status.clone());
    }
    match app::functions::member_import::resume_interrupted(&state.portal).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(imports = n, "going on with member imports a stop cut off"),
        Err(e) => tracing::warn!(error = %e, "cannot look for interrupted member imports"),
    }
    if state.portal.secure_cookies {
        tracing::info!("served over HTTPS: cookies are Secure and __Host- prefixed");
    }
    if config.code_delivery == server::config::CodeDelivery::Log {
        tracing::info!("one-time sign-in codes are written to this log (TABLECARD_SMS=log); look for \"one-time sign-in code\"");
    }
    // Every minute: the scheduler runs whatever is due for each brand (once
    // per period however many servers tick); hourly, forget one-time codes,
    // idempotency records and other counters past their use.
    tokio::spawn({
        let db = db.clone();
        let runner = loyalty::infra::jobs::Runner::new(worker_name(), state.portal.sender.clone());
        async move {
            let mut minute = tokio::time::interval(std::time::Duration::from_secs(60));
            let mut ticks: u64 = 0;
            loop {
                minute.tick().await;
                match loyalty::infra::jobs::run_due(&db, &SystemClock, &runner).await {
                    Ok(ran)
                        if ran.failed > 0
                            || ran.points_expired > 0
                            || ran.members_moved > 0
                            || ran.benefits > 0
                            || ran.messages_sent > 0 =>
                    {
                        tracing::info!(
                            runs = ran.runs,
                            failed = ran.failed,
                            points_expired = ran.points_expired,
                            members_moved = ran.members_moved,
                            benefits = ran.benefits,
                            messages_sent = ran.messages_sent,
                            "scheduled jobs ran"
                        )
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "scheduled jobs failed"),
                }
                ticks += 1;
                if ticks % 60 == 1 {
                    purge(&db).await;
                }
                // Each server's own gauges of what the brands owe, every
                // five minutes (a scrape may reach any server).
                if ticks % 5 == 1 {
                    server::metrics::refresh_outstanding(&db).await;
                }
            }
        }
    });
    if let Some(addr) = config.metrics_addr {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen for metrics on {addr}: {e}"))?;
        tracing::info!(%addr, "metrics served at /metrics on their own address");
        let metrics = server::metrics::router(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, metrics).await {
                tracing::error!(error = %e, "the metrics address stopped");
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(config.site_addr)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "{} is already in use: stop the other server or set LEPTOS_SITE_ADDR to a free port",
                config.site_addr
            ),
            _ => format!("cannot listen on {}: {e}", config.site_addr),
        })?;
    let url = config.public_url();
    tracing::info!(%url, backend = db.backend().name(), "Tablecard is serving");
    let server = axum::serve(
        listener,
        http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(http::shutdown_signal());
    server.await.map_err(|e| format!("server error: {e}"))?;
    db.close().await;
    Ok(())
}

fn describe(s: &loyalty::infra::backup::Summary) -> String {
    format!(
        "{} ({:.1} MB): {} brands, {} members, {} ledger rows, schema {}; integrity and balances checked",
        s.path.display(),
        s.bytes as f64 / 1_048_576.0,
        s.brands,
        s.members,
        s.ledger_rows,
        s.schema_version
    )
}

/// The migrated database and the brand `--brand` names in it.
async fn existing_brand(config: &Config, brand: &str) -> Result<(Db, brands::Brand), String> {
    let slug = BrandSlug::parse(brand).map_err(|e| format!("--brand: {e}"))?;
    let db = migrate(config).await?;
    let brand = brands::find_by_slug(&db, &slug)
        .await
        .map_err(|e| match e.is_not_found() {
            true => format!("brand {slug} does not exist"),
            false => e.to_string(),
        })?;
    Ok((db, brand))
}

async fn import_members(
    config: &Config,
    brand: &str,
    dry_run: bool,
    report: Option<&Path>,
    file: &Path,
) -> CliResult {
    use app::routes::member_import::{action_text, done_text, problem_text};
    use loyalty::members::import::{self, Action, Importer};
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let (db, brand) = existing_brand(config, brand).await?;
    let locale = app::locale::to_locale(brand.default_language);
    let said = |e: loyalty::Error| {
        let e = app::error::AppError::from(e);
        app::error::sentence(locale, &e).unwrap_or_else(|| e.code.clone())
    };
    let clock = &SystemClock;
    let sheet = import::sheet::read(&bytes).map_err(said)?;
    let secret = http::server_secret(config);
    let plan = import::plan(&db, clock, &secret, &brand, &sheet)
        .await
        .map_err(said)?;
    let tiers = {
        let mut conn = db.pool().acquire().await.map_err(|e| e.to_string())?;
        loyalty::points::tiers::load(&mut conn, brand.id)
            .await
            .map_err(said)?
    };
    let tier_list = tiers
        .tiers()
        .iter()
        .map(|t| t.name(brand.default_language).to_owned())
        .collect::<Vec<_>>()
        .join(" / ");
    let why = |r: &import::RowReport| {
        r.problems
            .iter()
            .map(|p| problem_text(locale, p, &tier_list))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for r in plan.rows.iter().filter(|r| r.action == Action::Skip) {
        println!("  line {:>6}  {:<16} {}", r.line, r.phone, why(r));
    }
    let c = plan.counts;
    println!(
        "{}: {} rows. New members {}, already members here {}, imported before {}, left out {}.",
        file.display(),
        plan.rows.len(),
        c.create,
        c.merge,
        c.unchanged,
        c.skip
    );
    println!(
        "Columns used: {}{}",
        plan.fields
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        if plan.ignored.is_empty() {
            String::new()
        } else {
            format!("; left aside: {}", plan.ignored.join(", "))
        }
    );
    println!(
        "The rows to be written bring {} points and {} of stored value.",
        plan.points,
        loyalty::money::yuan(plan.stored_fen)
    );
    if let Some(path) = report {
        let mut out = String::from("line,phone,action,member_no,points,stored_fen,problems\n");
        for r in &plan.rows {
            let cell = loyalty::marketing::insight::csv_cell;
            out.push_str(&format!(
                "{},{},{},{},{},{},{}\n",
                r.line,
                cell(&r.phone),
                cell(&action_text(locale, r)),
                r.member_no.as_deref().unwrap_or(""),
                r.points,
                r.stored_fen,
                cell(&why(r)),
            ));
        }
        std::fs::write(path, out).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("What happens to every row: {}", path.display());
    }
    if dry_run {
        println!("Dry run: nothing was written.");
        return Ok(());
    }
    let importer = Importer::command_line(brand.clone());
    let name = file.file_name().map_or_else(
        || "members".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let opened = import::open(
        &db,
        clock,
        &importer,
        &name,
        &bytes,
        sheet.rows.len(),
        false,
    )
    .await
    .map_err(said)?;
    if opened.rows_done > 0 {
        println!(
            "Going on with the import of this file that stopped after {} rows.",
            opened.rows_done
        );
    }
    let started = std::time::Instant::now();
    let mut shown = std::time::Instant::now();
    let mut progress = |p: import::Progress| {
        if p.done == p.total || shown.elapsed().as_millis() >= 500 {
            eprint!("\rImported {} of {} rows", p.done, p.total);
            shown = std::time::Instant::now();
        }
    };
    let done = import::run(
        &db,
        clock,
        &secret,
        &importer,
        &opened,
        &plan,
        &mut progress,
    )
    .await
    .map_err(said)?;
    eprintln!();
    println!(
        "{} ({:.1} s)",
        done_text(locale, &done),
        started.elapsed().as_secs_f64()
    );
    db.close().await;
    Ok(())
}

async fn backup(config: &Config, file: &Path) -> CliResult {
    if loyalty::infra::db::backend_of(&config.database_url).ok() == Some(loyalty::Backend::Postgres)
    {
        return Err(loyalty::infra::backup::POSTGRES_GUIDANCE.to_owned());
    }
    let db = Db::connect(&config.database_url)
        .await
        .map_err(|e| e.to_string())?;
    let summary = loyalty::infra::backup::backup(&db, file)
        .await
        .map_err(|e| e.to_string());
    db.close().await;
    println!("Backed up to {}", describe(&summary?));
    Ok(())
}

/// Refuses while something answers on the portal's address: `doing` would
/// happen under a running server's feet.
fn server_stopped(config: &Config, doing: &str) -> CliResult {
    if std::net::TcpStream::connect_timeout(
        &config.site_addr,
        std::time::Duration::from_millis(300),
    )
    .is_ok()
    {
        return Err(format!(
            "something is serving on {}: stop the Tablecard server before {doing}",
            config.site_addr
        ));
    }
    Ok(())
}

async fn restore(config: &Config, file: &Path) -> CliResult {
    let Some(target) = loyalty::infra::backup::sqlite_path(&config.database_url) else {
        return Err(loyalty::infra::backup::POSTGRES_GUIDANCE.to_owned());
    };
    server_stopped(config, "restoring")?;
    let now = loyalty::Clock::now_ms(&SystemClock) / 1000;
    let (summary, kept) = loyalty::infra::backup::restore(file, &target, now)
        .await
        .map_err(|e| e.to_string())?;
    println!("Restored {}", describe(&summary));
    if let Some(kept) = kept {
        println!("The database it replaced is kept as {}", kept.display());
    }
    Ok(())
}

async fn copy_to_postgres(config: &Config, url: &str) -> CliResult {
    let Some(source) = loyalty::infra::backup::sqlite_path(&config.database_url) else {
        return Err(format!(
            "DATABASE_URL names {}, not a SQLite file: the copy goes from SQLite to PostgreSQL",
            loyalty::infra::db::redact(&config.database_url)
        ));
    };
    if !source.exists() {
        return Err(format!("{} does not exist", source.display()));
    }
    // Rows written after the copy's instant would be left behind.
    server_stopped(config, "copying its database")?;
    eprintln!(
        "Copying {} to {}",
        source.display(),
        loyalty::infra::db::redact(url)
    );
    let started = std::time::Instant::now();
    let copied = loyalty::infra::copy::sqlite_to_postgres(
        &source,
        &loyalty::infra::db::DbOptions::new(url),
        |table, rows| {
            if rows > 0 {
                eprintln!("  {table}: {rows} rows");
            }
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "Copied {} rows in {} tables in {:.1} s: {} brands, {} members; every table's rows, \
         the points and the stored value checked against their ledgers.",
        copied.rows(),
        copied.tables.len(),
        started.elapsed().as_secs_f64(),
        copied.source.brands,
        copied.source.members
    );
    println!(
        "Next: set DATABASE_URL={} and start the server. {} is left as it was.",
        loyalty::infra::db::redact(url),
        source.display()
    );
    Ok(())
}

/// Where the demo owner's password is kept between runs (next to a SQLite
/// database; PostgreSQL users see it once).
fn demo_password_file(config: &Config) -> Option<PathBuf> {
    let path = config
        .database_url
        .strip_prefix("sqlite:")?
        .trim_start_matches("//");
    let path = path.split('?').next()?;
    Path::new(path)
        .parent()
        .map(|dir| dir.join("demo-owner-password.txt"))
}

async fn seed_demo(config: &Config, json: bool) -> CliResult {
    let db = migrate(config).await?;
    let seed = demo::seed(&db, &SystemClock)
        .await
        .map_err(|e| e.to_string())?;
    let password_file = demo_password_file(config);
    let password = match (&seed.owner_password, &password_file) {
        (Some(p), Some(file)) => {
            write_private(file, p)
                .map_err(|e| format!("cannot save the demo password to {}: {e}", file.display()))?;
            Some(p.clone())
        }
        (Some(p), None) => Some(p.clone()),
        (None, Some(file)) => std::fs::read_to_string(file)
            .ok()
            .map(|s| s.trim().to_owned()),
        (None, None) => None,
    };
    let url = config.public_url();
    if json {
        let out = serde_json::json!({
            "created": seed.created,
            "brand_slug": seed.brand_slug,
            "portal_url": format!("{url}/r/{}", seed.brand_slug),
            "tables": seed.tables.iter().map(|t| serde_json::json!({
                "store": t.store, "label": t.label, "token": t.token,
                "url": format!("{url}/t/{}", t.token),
            })).collect::<Vec<_>>(),
            "owner_login": seed.owner_login,
            "owner_password": password,
        });
        println!("{out}");
        return Ok(());
    }
    let first = seed.tables.first();
    println!();
    println!(
        "  {} demo brand {} ({})",
        if seed.created {
            "Created the"
        } else {
            "Using the existing"
        },
        seed.brand_name,
        seed.brand_slug
    );
    println!("  Member portal    {url}/r/{}", seed.brand_slug);
    println!(
        "  Join / card      {url}/r/{0}/join  →  {url}/r/{0}/card",
        seed.brand_slug
    );
    if let Some(t) = first {
        println!(
            "  A table's QR     {url}/t/{}   ({} {})",
            t.token, t.store, t.label
        );
    }
    println!("  Staff console    {url}/admin   (feedback inbox and NPS report)");
    match password {
        Some(p) => println!("  Owner sign-in    {} / {p}", seed.owner_login),
        None => println!(
            "  Owner sign-in    {} (password shown when it was created; set a new one with `tablecard create-owner`)",
            seed.owner_login
        ),
    }
    match &config.code_delivery {
        server::config::CodeDelivery::Log => println!(
            "  Sign-in codes    appear in this terminal's log (\"one-time sign-in code … code=123456\")"
        ),
        server::config::CodeDelivery::Webhook { url, .. } => {
            println!("  Sign-in codes    sent to the SMS webhook {url}")
        }
        server::config::CodeDelivery::Aliyun(c) => {
            println!("  Sign-in codes    sent by Alibaba Cloud SMS at {}", c.endpoint)
        }
        server::config::CodeDelivery::Tencent(c) => {
            println!("  Sign-in codes    sent by Tencent Cloud SMS at {}", c.endpoint)
        }
    }
    println!();
    Ok(())
}

async fn unlock_staff(config: &Config, login: &str) -> CliResult {
    let db = migrate(config).await?;
    match loyalty::staff::sessions::unlock(&db, login).await {
        Ok(true) => {
            println!(
                "Unlocked {}: it may sign in again.",
                login.trim().to_lowercase()
            );
            Ok(())
        }
        Ok(false) => Err(format!(
            "no staff account has the login {} (where several restaurants use a login, name one: login@brand)",
            login.trim()
        )),
        Err(e) => Err(e.to_string()),
    }
}

async fn create_api_key(
    config: &Config,
    brand: &str,
    store: &str,
    name: &str,
    quiet: bool,
) -> CliResult {
    let (db, brand) = existing_brand(config, brand).await?;
    let stores = loyalty::brands::stores::list(&db, brand.id)
        .await
        .map_err(|e| e.to_string())?;
    let Some(found) = stores
        .iter()
        .find(|s| s.code.eq_ignore_ascii_case(store.trim()))
    else {
        let codes: Vec<&str> = stores.iter().map(|s| s.code.as_str()).collect();
        return Err(format!(
            "brand {} has no store {store}; its stores are: {}",
            brand.slug,
            codes.join(", ")
        ));
    };
    let mut tx = db.begin().await.map_err(|e| e.to_string())?;
    let key = loyalty::brands::api_keys::create(&mut tx, &SystemClock, brand.id, found.id, name)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    if quiet {
        println!("{}", key.key);
    } else {
        println!(
            "API key for {} {} ({}):",
            brand.name, found.name, found.code
        );
        println!("  {}", key.key);
        println!("Shown once; only its hash is stored. Send it as: Authorization: Bearer <key>");
    }
    Ok(())
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

async fn create_owner(
    config: &Config,
    brand: &str,
    brand_name: Option<String>,
    login: &str,
    name: &str,
    password_stdin: bool,
) -> CliResult {
    let slug = BrandSlug::parse(brand).map_err(|e| format!("--brand: {e}"))?;
    let password = if password_stdin {
        let mut input = String::new();
        std::io::stdin()
            .read_to_string(&mut input)
            .map_err(|e| format!("cannot read the password: {e}"))?;
        input.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        staff::generate_password()
    };
    let db = migrate(config).await?;
    let clock = SystemClock;
    let mut tx = db.begin().await.map_err(|e| e.to_string())?;
    let brand = match brands::find_by_slug(&db, &slug).await {
        Ok(b) => b,
        Err(e) if e.is_not_found() => {
            let Some(brand_name) = brand_name else {
                return Err(format!(
                    "brand {slug} does not exist: add --brand-name to create it"
                ));
            };
            brands::create(
                &mut tx,
                &clock,
                NewBrand {
                    slug: slug.clone(),
                    name: brand_name,
                    theme_color: Default::default(),
                    default_language: Default::default(),
                },
            )
            .await
            .map_err(|e| e.to_string())?
        }
        Err(e) => return Err(e.to_string()),
    };
    let owner = staff::create(
        &mut tx,
        &clock,
        brand.id,
        staff::Role::Owner,
        login,
        name,
        &password,
    )
    .await
    .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    println!(
        "Owner {} of {} ({}) created.",
        owner.login, brand.name, brand.slug
    );
    if !password_stdin {
        println!("Password: {password}   (shown once; it is stored hashed)");
    }
    Ok(())
}
