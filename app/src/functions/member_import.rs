//! The owner's member import (`/admin/import`): the file is
//! uploaded (the server's multipart route), checked at once and kept with
//! its import; the page shows the dry run; "Import" starts the run in the
//! background, and the page follows its progress until it is done.

use leptos::prelude::*;
use loyalty::members::import::{self, Action, Counts, Field, Import, Importer, RowReport};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::functions::admin::{StaffInfo, StaffLoad};
use crate::server::PortalState;

/// The problem rows a page lists; the counts say how many there are.
const PROBLEM_ROWS: usize = 500;
/// The rows shown as a sample of what will be written.
const PREVIEW_ROWS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPage {
    pub staff: StaffInfo,
    pub time_zone: String,
    /// Tier names by rank, in the brand's language.
    pub tiers: Vec<(i64, String)>,
    pub recent: Vec<Import>,
    pub shown: Option<Shown>,
}

/// One import, with its dry run while its file is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shown {
    pub import: Import,
    pub check: Option<Check>,
}

/// What a page shows of a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub fields: Vec<Field>,
    pub ignored: Vec<String>,
    pub counts: Counts,
    pub points: i64,
    pub stored_fen: i64,
    pub problems: Vec<RowReport>,
    pub preview: Vec<RowReport>,
}

impl Check {
    pub fn of(plan: &import::Plan) -> Check {
        Check {
            fields: plan.fields.clone(),
            ignored: plan.ignored.clone(),
            counts: plan.counts,
            points: plan.points,
            stored_fen: plan.stored_fen,
            problems: plan
                .rows
                .iter()
                .filter(|r| r.action == Action::Skip)
                .take(PROBLEM_ROWS)
                .cloned()
                .collect(),
            preview: plan
                .rows
                .iter()
                .filter(|r| matches!(r.action, Action::Create | Action::Merge))
                .take(PREVIEW_ROWS)
                .cloned()
                .collect(),
        }
    }
}

pub async fn load_member_import(shown: Option<i64>) -> Result<StaffLoad<ImportPage>, AppError> {
    let state = crate::server::portal_state()?;
    let here = "/admin/import";
    let (owner, _, staff) = match crate::functions::admin::owner(&state, here).await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let brand = owner.brand();
    let clock = &loyalty::SystemClock;
    let tiers = {
        let mut conn = crate::server::connection(&state).await?;
        loyalty::points::tiers::load(&mut conn, brand.id).await?
    };
    let tiers = tiers
        .tiers()
        .iter()
        .map(|t| (t.rank, t.name(brand.default_language).to_owned()))
        .collect();
    let recent = import::recent(&state.db, brand).await?;
    let shown = match shown {
        None => None,
        Some(id) => match import::find(&state.db, brand, id).await {
            Ok(found) => {
                let check = match found.status.as_str() {
                    "checked" => {
                        let bytes = import::file(&state.db, brand, id).await?;
                        let (sheet, _) = read_file(bytes).await;
                        let sheet = sheet?;
                        let plan = import::plan(&state.db, clock, &state.secret, brand, &sheet);
                        Some(Check::of(&plan.await?))
                    }
                    _ => None,
                };
                Some(Shown {
                    import: found,
                    check,
                })
            }
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e.into()),
        },
    };
    Ok(StaffLoad::Page(Box::new(ImportPage {
        staff,
        time_zone: brand.time_zone.clone(),
        tiers,
        recent,
        shown,
    })))
}

/// Starts the import the owner checked; the page then follows it.
#[server(prefix = "/fn", endpoint = "start_member_import")]
pub async fn start_member_import(id: i64) -> Result<(), AppError> {
    use crate::functions::form::staff_form;
    staff_form(
        "/admin/import",
        async |state, owner: loyalty::access::Owner| {
            let importer = Importer::owner(&owner);
            if import::claim(&state.db, importer.brand(), id).await? {
                run_in_background(state.clone(), importer, id);
            }
            Ok(format!("/admin/import?import={id}"))
        },
    )
    .await
}

/// Reads an uploaded file off the async workers (a large spreadsheet takes
/// a while); hands the bytes back.
pub async fn read_file(bytes: Vec<u8>) -> (loyalty::Result<import::Sheet>, Vec<u8>) {
    match tokio::task::spawn_blocking(move || (import::sheet::read(&bytes), bytes)).await {
        Ok(read) => read,
        Err(_) => (Err(loyalty::Error::ImportUnreadable), Vec::new()),
    }
}

/// Runs import `id` from its kept file on the runtime, from the first row
/// not yet done; a failure is logged and the import can be started again.
pub fn run_in_background(state: PortalState, importer: Importer, id: i64) {
    tokio::spawn(async move {
        let clock = &loyalty::SystemClock;
        let ran = async {
            let brand = importer.brand();
            let bytes = import::file(&state.db, brand, id).await?;
            let (sheet, _) = read_file(bytes).await;
            let plan = import::plan(&state.db, clock, &state.secret, brand, &sheet?).await?;
            let found = import::find(&state.db, brand, id).await?;
            import::run(
                &state.db,
                clock,
                &state.secret,
                &importer,
                &found,
                &plan,
                &mut |_| {},
            )
            .await
        }
        .await;
        match ran {
            Ok(done) => tracing::info!(
                import = id,
                created = done.counts.create,
                merged = done.counts.merge,
                unchanged = done.counts.unchanged,
                skipped = done.counts.skip,
                "member import done"
            ),
            // Another runner has it: it is not this one's to release.
            Err(loyalty::Error::ImportRunning) => {}
            Err(e) => {
                tracing::error!(import = id, error = %e, "member import stopped");
                if let Err(e) = import::release(&state.db, id, e.code()).await {
                    tracing::error!(import = id, error = %e, "member import left running");
                }
            }
        }
    });
}

/// Goes on with the imports a stop cut off (the server calls it at start).
pub async fn resume_interrupted(state: &PortalState) -> Result<usize, AppError> {
    let interrupted = import::interrupted(&state.db).await?;
    let n = interrupted.len();
    for (importer, id) in interrupted {
        run_in_background(state.clone(), importer, id);
    }
    Ok(n)
}
