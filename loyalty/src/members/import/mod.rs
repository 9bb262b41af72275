//! Bringing in the members of an old program (会员导入): a file of phones,
//! names, birthdays, old member numbers, points with their expiry, tiers,
//! stored value and marketing consent.
//!
//! [`plan`] is the dry run: every row checked, and what would happen to it
//! (a new member, an existing member who gets their old balances once, an
//! already imported member left alone, or a row skipped for its problems),
//! before anything is written. [`run`] writes the plan in batches, each one
//! transaction that also moves the import's progress, so a crash loses at
//! most the batch in flight and the next run goes on from there; and since
//! a member is imported once (`members.imported_at`), the same file twice
//! changes nothing. Opening balances are ledger rows of their own kind
//! (`import`), so balance == ledger holds from the first day.

pub mod row;
pub mod sheet;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::brands::stores::StoreId;
use crate::brands::Brand;
use crate::infra::secret::ServerSecret;
use crate::staff::audit::{self, Actor, Change};
use crate::{Clock, Db, Error, Result};

pub use row::{Candidate, Field, Problem};
pub use sheet::Sheet;

use super::MemberId;

/// Rows per transaction: small enough that the till's writes wait no more
/// than a moment for SQLite's write lock, large enough to go fast.
const BATCH: usize = 500;

/// What happens to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A new member with everything in the row.
    Create,
    /// The phone is a member here already, not yet imported: their old
    /// points and stored value are added once, their tier raised if the
    /// old one is higher, an empty name or birthday filled in.
    Merge,
    /// Imported before: nothing changes.
    Unchanged,
    /// The row has problems and is left out.
    Skip,
}

/// One row of the dry run's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowReport {
    pub line: usize,
    /// The phone as read (E.164 when it is valid).
    pub phone: String,
    pub name: String,
    pub action: Action,
    /// The member it merges into or leaves unchanged.
    pub member_no: Option<String>,
    pub points: i64,
    pub stored_fen: i64,
    pub tier_rank: i64,
    pub problems: Vec<Problem>,
}

/// How many rows get each action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub create: u64,
    pub merge: u64,
    pub unchanged: u64,
    pub skip: u64,
}

impl Counts {
    fn add(&mut self, action: Action) {
        match action {
            Action::Create => self.create += 1,
            Action::Merge => self.merge += 1,
            Action::Unchanged => self.unchanged += 1,
            Action::Skip => self.skip += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.create + self.merge + self.unchanged + self.skip
    }
}

/// The dry run of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The columns recognised, in the order of [`Field::ALL`].
    pub fields: Vec<Field>,
    /// Headers no column claimed.
    pub ignored: Vec<String>,
    pub rows: Vec<RowReport>,
    pub counts: Counts,
    /// What the rows that will be written bring in.
    pub points: i64,
    pub stored_fen: i64,
    candidates: Vec<Option<Candidate>>,
}

/// Who imports: the owner on the console, or the operator at the command
/// line.
#[derive(Debug, Clone)]
pub struct Importer {
    brand: Brand,
    actor: Actor,
}

impl Importer {
    pub fn owner(owner: &crate::access::Owner) -> Importer {
        Importer {
            brand: owner.brand().clone(),
            actor: owner.actor(),
        }
    }

    /// The operator of the server (the audit log names no staff member).
    pub fn command_line(brand: Brand) -> Importer {
        let actor = Actor {
            brand: brand.id,
            staff: None,
            ip: None,
        };
        Importer { brand, actor }
    }

    pub fn brand(&self) -> &Brand {
        &self.brand
    }
}

/// An existing member, as the dry run needs to know them.
struct Known {
    member_no: String,
    imported: bool,
    stored_fen: i64,
}

/// The dry run: checks every row of `sheet` and says what would happen,
/// writing nothing.
pub async fn plan(
    db: &Db,
    clock: &dyn Clock,
    secret: &ServerSecret,
    brand: &Brand,
    sheet: &Sheet,
) -> Result<Plan> {
    let columns = row::Columns::of(&sheet.header);
    if !columns.has(Field::Phone) {
        return Err(Error::ImportNoPhoneColumn);
    }
    let mut conn = db.pool().acquire().await?;
    let tiers = crate::points::tiers::load(&mut conn, brand.id).await?;
    let has_store = first_store(&mut conn, brand).await?.is_some();
    let rows: Vec<(String, String, i64, Option<String>, i64)> = sqlx::query_as(
        "SELECT m.phone, m.member_no, CASE WHEN m.imported_at IS NULL THEN 0 ELSE 1 END, m.legacy_no, \
                COALESCE(a.principal_fen + a.bonus_fen, 0) \
         FROM members m LEFT JOIN stored_value_accounts a ON a.member_id = m.id \
         WHERE m.brand_id = $1 AND m.phone IS NOT NULL",
    )
    .bind(brand.id.0)
    .fetch_all(&mut *conn)
    .await?;
    // Phones that were members here: without an active member now, they
    // deleted their account, and an old file must not bring them back.
    let remembered: std::collections::HashSet<String> =
        sqlx::query_as::<_, (String,)>("SELECT phone_key FROM welcomed_phones WHERE brand_id = $1")
            .bind(brand.id.0)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(k,)| k)
            .collect();
    drop(conn);
    let mut known: HashMap<String, Known> = HashMap::with_capacity(rows.len());
    let mut legacy: HashMap<String, String> = HashMap::new();
    for (phone, member_no, imported, legacy_no, stored_fen) in rows {
        if let Some(no) = legacy_no {
            legacy.insert(no, phone.clone());
        }
        known.insert(
            phone,
            Known {
                member_no,
                imported: imported == 1,
                stored_fen,
            },
        );
    }

    let ctx = row::Context {
        time_zone: &brand.time_zone,
        tiers: &tiers,
        now_ms: clock.now_ms(),
        has_store,
    };
    let mut plan = Plan {
        fields: Field::ALL.into_iter().filter(|f| columns.has(*f)).collect(),
        ignored: columns.ignored(&sheet.header),
        rows: Vec::with_capacity(sheet.rows.len()),
        counts: Counts::default(),
        points: 0,
        stored_fen: 0,
        candidates: Vec::with_capacity(sheet.rows.len()),
    };
    let mut phones: HashMap<String, usize> = HashMap::with_capacity(sheet.rows.len());
    let mut numbers: HashMap<String, usize> = HashMap::new();
    for (line, cells) in &sheet.rows {
        let checked = row::check(&ctx, &columns, *line, cells);
        let (candidate, mut problems) = match checked {
            Ok(c) => (Some(c), Vec::new()),
            Err(p) => (None, p),
        };
        let phone = candidate.as_ref().map(|c| c.phone.as_str().to_owned());
        if let Some(p) = &phone {
            if let Some(first) = phones.get(p) {
                problems.push(Problem::PhoneRepeated { line: *first });
            } else {
                phones.insert(p.clone(), *line);
            }
        }
        if let Some(c) = &candidate {
            if let Some(no) = &c.legacy_no {
                if let Some(first) = numbers.get(no) {
                    problems.push(Problem::MemberNoRepeated { line: *first });
                } else {
                    numbers.insert(no.clone(), *line);
                    if legacy
                        .get(no)
                        .is_some_and(|owner| owner != c.phone.as_str())
                    {
                        problems.push(Problem::MemberNoTaken { value: no.clone() });
                    }
                }
            }
        }
        let member = phone.as_deref().and_then(|p| known.get(p));
        if let (Some(c), None) = (&candidate, member) {
            if remembered.contains(&secret.phone_key(brand.id, c.phone.as_str())) {
                problems.push(Problem::Erased);
            }
        }
        if let (Some(c), Some(m)) = (&candidate, member) {
            let after = m.stored_fen + c.principal_fen + c.bonus_fen;
            if !m.imported && after > crate::stored_value::MAX_BALANCE_FEN {
                problems.push(Problem::BalanceTooLarge);
            }
        }
        let action = match member {
            _ if !problems.is_empty() || candidate.is_none() => Action::Skip,
            Some(m) if m.imported => Action::Unchanged,
            Some(_) => Action::Merge,
            None => Action::Create,
        };
        let typed_phone = phone.unwrap_or_else(|| columns.get(cells, Field::Phone).to_owned());
        let (points, stored_fen, tier_rank, name) =
            candidate.as_ref().map_or((0, 0, 0, String::new()), |c| {
                (
                    c.points,
                    c.principal_fen + c.bonus_fen,
                    c.tier_rank,
                    c.name.clone(),
                )
            });
        if matches!(action, Action::Create | Action::Merge) {
            plan.points += points;
            plan.stored_fen += stored_fen;
        }
        plan.counts.add(action);
        plan.rows.push(RowReport {
            line: *line,
            phone: typed_phone,
            name,
            action,
            member_no: member.map(|m| m.member_no.clone()),
            points,
            stored_fen,
            tier_rank,
            problems,
        });
        plan.candidates.push(match action {
            Action::Create | Action::Merge => candidate,
            Action::Unchanged | Action::Skip => None,
        });
    }
    Ok(plan)
}

async fn first_store(conn: &mut AnyConnection, brand: &Brand) -> Result<Option<StoreId>> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM stores WHERE brand_id = $1 ORDER BY id LIMIT 1")
            .bind(brand.id.0)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(id,)| StoreId(id)))
}

/// An import's record: its file, progress and outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    pub id: i64,
    pub file_name: String,
    pub rows_total: u64,
    pub rows_done: u64,
    pub counts: Counts,
    /// `checked` (dry run only), `running` or `done`.
    pub status: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// Why the last run stopped (an error code), until the next starts.
    pub error: Option<String>,
}

type ImportRow = (
    i64,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    String,
    i64,
    Option<i64>,
    Option<String>,
);

const IMPORT_COLUMNS: &str = "id, file_name, rows_total, rows_done, created, merged, unchanged, \
     skipped, status, created_at, finished_at, error";

fn import_of(r: ImportRow) -> Import {
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    Import {
        id: r.0,
        file_name: r.1,
        rows_total: n(r.2),
        rows_done: n(r.3),
        counts: Counts {
            create: n(r.4),
            merge: n(r.5),
            unchanged: n(r.6),
            skip: n(r.7),
        },
        status: r.8,
        created_at: r.9,
        finished_at: r.10,
        error: r.11,
    }
}

/// The SHA-256 of a file, which names it across runs.
pub fn file_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::infra::secret::hex(&sha2::Sha256::digest(bytes))
}

/// Opens the import of `bytes` (named `file_name`, `rows` rows): the
/// unfinished import of the same file when there is one, so a run cut off
/// goes on where it stopped; else a new one. `keep` stores the file with
/// it, for a run that starts later (the console's).
pub async fn open(
    db: &Db,
    clock: &dyn Clock,
    importer: &Importer,
    file_name: &str,
    bytes: &[u8],
    rows: usize,
    keep: bool,
) -> Result<Import> {
    let hash = file_hash(bytes);
    let brand = importer.brand.id;
    let name: String = file_name.trim().chars().take(200).collect();
    let name = if name.is_empty() {
        "members".to_owned()
    } else {
        name
    };
    let found: Option<ImportRow> = sqlx::query_as(&format!(
        "SELECT {IMPORT_COLUMNS} FROM member_imports \
         WHERE brand_id = $1 AND file_sha256 = $2 AND status <> 'done' ORDER BY id DESC LIMIT 1"
    ))
    .bind(brand.0)
    .bind(&hash)
    .fetch_optional(db.pool())
    .await?;
    if let Some(found) = found {
        if keep {
            sqlx::query("UPDATE member_imports SET file = $1 WHERE id = $2 AND file IS NULL")
                .bind(bytes)
                .bind(found.0)
                .execute(db.pool())
                .await?;
        }
        return Ok(import_of(found));
    }
    let row: ImportRow = sqlx::query_as(&format!(
        "INSERT INTO member_imports (brand_id, staff_id, file_name, file_sha256, file, rows_total, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {IMPORT_COLUMNS}"
    ))
    .bind(brand.0)
    .bind(importer.actor.staff.map(|s| s.0))
    .bind(&name)
    .bind(&hash)
    .bind(keep.then_some(bytes))
    .bind(i64::try_from(rows).unwrap_or(i64::MAX))
    .bind(clock.now_ms())
    .fetch_one(db.pool())
    .await?;
    Ok(import_of(row))
}

/// One import of the brand.
pub async fn find(db: &Db, brand: &Brand, id: i64) -> Result<Import> {
    let row: Option<ImportRow> = sqlx::query_as(&format!(
        "SELECT {IMPORT_COLUMNS} FROM member_imports WHERE brand_id = $1 AND id = $2"
    ))
    .bind(brand.id.0)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    row.map(import_of).ok_or(Error::ImportNotFound)
}

/// The brand's last imports, newest first.
pub async fn recent(db: &Db, brand: &Brand) -> Result<Vec<Import>> {
    let rows: Vec<ImportRow> = sqlx::query_as(&format!(
        "SELECT {IMPORT_COLUMNS} FROM member_imports WHERE brand_id = $1 ORDER BY id DESC LIMIT 10"
    ))
    .bind(brand.id.0)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(import_of).collect())
}

/// The file kept with an unfinished import.
pub async fn file(db: &Db, brand: &Brand, id: i64) -> Result<Vec<u8>> {
    let row: Option<(Option<Vec<u8>>,)> =
        sqlx::query_as("SELECT file FROM member_imports WHERE brand_id = $1 AND id = $2")
            .bind(brand.id.0)
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    row.and_then(|(f,)| f).ok_or(Error::ImportNotFound)
}

/// Imports the console started that a stop cut off, each with who
/// started it, to go on with.
pub async fn interrupted(db: &Db) -> Result<Vec<(Importer, i64)>> {
    let rows: Vec<(i64, Option<i64>, i64)> = sqlx::query_as(
        "SELECT brand_id, staff_id, id FROM member_imports \
         WHERE status = 'running' AND file IS NOT NULL ORDER BY id",
    )
    .fetch_all(db.pool())
    .await?;
    let mut found = Vec::with_capacity(rows.len());
    for (brand, staff, id) in rows {
        let brand = crate::brands::find(db, crate::brands::BrandId(brand)).await?;
        let actor = Actor {
            brand: brand.id,
            staff: staff.map(crate::staff::StaffId),
            ip: None,
        };
        found.push((Importer { brand, actor }, id));
    }
    Ok(found)
}

/// Marks a checked import as running, for one runner only: false when it
/// is running or done already.
pub async fn claim(db: &Db, brand: &Brand, id: i64) -> Result<bool> {
    let claimed = sqlx::query(
        "UPDATE member_imports SET status = 'running', error = NULL \
         WHERE brand_id = $1 AND id = $2 AND status = 'checked'",
    )
    .bind(brand.id.0)
    .bind(id)
    .execute(db.pool())
    .await?
    .rows_affected();
    if claimed == 1 {
        return Ok(true);
    }
    find(db, brand, id).await.map(|_| false)
}

/// A run that failed with `error` (a code the owner's page words): the
/// import can be started again, and goes on from the first row not done.
pub async fn release(db: &Db, id: i64, error: &str) -> Result<()> {
    sqlx::query(
        "UPDATE member_imports SET status = 'checked', error = $2 WHERE id = $1 AND status = 'running'",
    )
    .bind(id)
    .bind(&error[..error.len().min(60)])
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Forgets the files of imports checked and never started after a week
/// (the hourly purge): a file of members is not kept for nothing.
pub async fn forget_unstarted(db: &Db, clock: &dyn Clock) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM member_imports WHERE status = 'checked' AND rows_done = 0 AND created_at < $1",
    )
    .bind(clock.now_ms() - 7 * 86_400_000)
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(done)
}

/// How far a run has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// Writes `plan` as import `import`, from the first row not yet done, in
/// batches; calls `progress` after each. Returns the import as finished.
pub async fn run(
    db: &Db,
    clock: &dyn Clock,
    secret: &ServerSecret,
    importer: &Importer,
    import: &Import,
    plan: &Plan,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Import> {
    let brand = &importer.brand;
    if import.rows_total != plan.rows.len() as u64 {
        return Err(Error::ImportChanged);
    }
    // The command line claims here; the console claimed before it spawned.
    claim(db, brand, import.id).await?;
    let (store, rules) = {
        let mut conn = db.pool().acquire().await?;
        (
            first_store(&mut conn, brand).await?,
            crate::points::rules::load(&mut conn, brand).await?,
        )
    };
    let total = plan.rows.len();
    let mut done = usize::try_from(import.rows_done)
        .unwrap_or(total)
        .min(total);
    progress(Progress {
        done: done as u64,
        total: total as u64,
    });
    while done < total {
        let end = (done + BATCH).min(total);
        let mut counts = Counts::default();
        let mut tx = db.begin().await?;
        let now = clock.now_ms();
        let default_expiry = rules.lot_expiry(now);
        for (candidate, report) in plan.candidates[done..end].iter().zip(&plan.rows[done..end]) {
            let action = match candidate {
                Some(c) => {
                    let expires_at = c.points_expire_at.or(default_expiry);
                    write(
                        &mut tx, clock, secret, brand, store, import.id, c, expires_at,
                    )
                    .await?
                }
                None => report.action,
            };
            counts.add(action);
        }
        // The progress moves with the rows: a second runner of the same
        // import finds it moved and stops instead of writing twice.
        let moved = sqlx::query(
            "UPDATE member_imports SET rows_done = $1, created = created + $2, merged = merged + $3, \
             unchanged = unchanged + $4, skipped = skipped + $5 WHERE id = $6 AND rows_done = $7",
        )
        .bind(end as i64)
        .bind(counts.create as i64)
        .bind(counts.merge as i64)
        .bind(counts.unchanged as i64)
        .bind(counts.skip as i64)
        .bind(import.id)
        .bind(done as i64)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != 1 {
            return Err(Error::ImportRunning);
        }
        tx.commit().await?;
        done = end;
        progress(Progress {
            done: done as u64,
            total: total as u64,
        });
    }
    let mut tx = db.begin().await?;
    let finished: Option<ImportRow> = sqlx::query_as(&format!(
        "UPDATE member_imports SET status = 'done', finished_at = $1, file = NULL \
         WHERE id = $2 AND status <> 'done' RETURNING {IMPORT_COLUMNS}"
    ))
    .bind(clock.now_ms())
    .bind(import.id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(finished) = finished.map(import_of) else {
        // Another runner finished it first.
        return find(db, brand, import.id).await;
    };
    audit::record(
        &mut tx,
        clock,
        &importer.actor,
        Change {
            action: "members.import",
            store: None,
            target_type: "member_import",
            target_id: Some(import.id),
            before: None,
            after: Some(serde_json::json!({
                "rows": finished.rows_total,
                "created": finished.counts.create,
                "merged": finished.counts.merge,
                "unchanged": finished.counts.unchanged,
                "skipped": finished.counts.skip,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(finished)
}

/// Writes one checked row: a new member, or the old balances of an
/// existing one (once). Each step is a conditional statement, so a member
/// who joined since the dry run is merged, and one imported since is left
/// alone.
#[allow(clippy::too_many_arguments)]
async fn write(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    secret: &ServerSecret,
    brand: &Brand,
    store: Option<StoreId>,
    import: i64,
    c: &Candidate,
    expires_at: Option<i64>,
) -> Result<Action> {
    let now = clock.now_ms();
    let consent_at = c.marketing.map(|at| at.unwrap_or(now));
    let (month, day, year) = c.birthday.map_or((None, None, None), |b| {
        (
            Some(i64::from(b.month)),
            Some(i64::from(b.day)),
            b.year.map(i64::from),
        )
    });
    let mut member = None;
    // A random member number can collide with one given out; draw again.
    for _ in 0..8 {
        let created: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO members (brand_id, member_no, phone, display_name, birthday_month, \
             birthday_day, birth_year, terms_version, terms_accepted_at, marketing_consent_at, \
             created_at, welcomed, legacy_no, imported_at, tier_rank, points_balance) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'imported', $8, $9, $8, 0, $10, $8, $11, $12) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(brand.id.0)
        .bind(super::MemberNo::generate().as_str())
        .bind(c.phone.as_str())
        .bind(&c.name)
        .bind(month)
        .bind(day)
        .bind(year)
        .bind(now)
        .bind(consent_at)
        .bind(c.legacy_no.as_deref())
        .bind(c.tier_rank)
        .bind(c.points)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some((id,)) = created {
            member = Some((MemberId(id), Action::Create));
            break;
        }
        let merged: Option<(i64,)> = sqlx::query_as(
            "UPDATE members SET imported_at = $1, \
             legacy_no = CASE WHEN legacy_no IS NULL AND NOT EXISTS \
                 (SELECT 1 FROM members other WHERE other.brand_id = $8 AND other.legacy_no = $2) \
                 THEN $2 ELSE legacy_no END, \
             tier_rank = CASE WHEN tier_rank < $3 THEN $3 ELSE tier_rank END, \
             display_name = CASE WHEN display_name = '' THEN $4 ELSE display_name END, \
             birthday_month = CASE WHEN birthday_month IS NULL THEN $5 ELSE birthday_month END, \
             birthday_day = CASE WHEN birthday_month IS NULL THEN $6 ELSE birthday_day END, \
             birth_year = CASE WHEN birthday_month IS NULL THEN $7 ELSE birth_year END \
             WHERE brand_id = $8 AND phone = $9 AND status = 'active' AND imported_at IS NULL \
             RETURNING id",
        )
        .bind(now)
        .bind(c.legacy_no.as_deref())
        .bind(c.tier_rank)
        .bind(&c.name)
        .bind(month)
        .bind(day)
        .bind(year)
        .bind(brand.id.0)
        .bind(c.phone.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        if let Some((id,)) = merged {
            member = Some((MemberId(id), Action::Merge));
            break;
        }
        let (phone, number): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(CASE WHEN phone = $2 THEN 1 END), COUNT(CASE WHEN legacy_no = $3 THEN 1 END) \
             FROM members WHERE brand_id = $1 AND (phone = $2 OR legacy_no = $3)",
        )
        .bind(brand.id.0)
        .bind(c.phone.as_str())
        .bind(c.legacy_no.as_deref())
        .fetch_one(&mut *conn)
        .await?;
        if phone > 0 {
            // Imported already.
            return Ok(Action::Unchanged);
        }
        if number > 0 {
            // Its old number became another member's since the dry run.
            return Ok(Action::Skip);
        }
    }
    let Some((member, action)) = member else {
        return Err(Error::MemberNoExhausted);
    };
    if action == Action::Create {
        // The phone had its welcome in the old program: no welcome gift if
        // it ever joins again after leaving.
        let phone_key = secret.phone_key(brand.id, c.phone.as_str());
        super::rekey_welcome(conn, secret, brand.id, &c.phone, &phone_key).await?;
        super::remember_welcome(conn, brand.id, &phone_key, now).await?;
        if let Some(at) = consent_at {
            super::record_consent(conn, brand.id, member, "marketing_granted", "import", at)
                .await?;
        }
    }
    // A new member was written with their points on the row: the ledger
    // row and the lot follow in the same transaction.
    match (action, c.points > 0) {
        (_, false) => {}
        (Action::Create, true) => {
            let points = c.points;
            crate::points::import_opening(conn, clock, brand.id, member, points, expires_at, import)
                .await?
        }
        (_, true) => {
            let points = c.points;
            crate::points::import(conn, clock, brand.id, member, points, expires_at, import)
                .await?;
        }
    }
    if c.principal_fen > 0 || c.bonus_fen > 0 {
        let store = store.ok_or(Error::StoreNotFound)?;
        crate::stored_value::import(
            conn,
            clock,
            brand.id,
            store,
            member,
            crate::stored_value::Balance {
                principal_fen: c.principal_fen,
                bonus_fen: c.bonus_fen,
            },
            import,
        )
        .await?;
    }
    Ok(action)
}
