//! The periodic work of the points ledger: expiring due lots (hourly; safe
//! to repeat) and the monthly tier review (once per brand and month, claimed
//! in the database so several servers never run it twice). The general
//! scheduler with its console arrives with marketing automation.

use crate::brands::{Brand, BrandId};
use crate::{points, tiers, Clock, Db, Result};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Ran {
    pub points_expired: i64,
    pub tier_reviews: u64,
    pub members_moved: u64,
}

/// Claims `job` for `period` of a brand; false when someone already has.
async fn claim(
    db: &Db,
    clock: &dyn Clock,
    job: &str,
    brand: BrandId,
    period: &str,
) -> Result<Option<i64>> {
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO job_runs (job, brand_id, period, started_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (job, brand_id, period) DO NOTHING RETURNING id",
    )
    .bind(job)
    .bind(brand.0)
    .bind(period)
    .bind(clock.now_ms())
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| r.0))
}

async fn finish(db: &Db, clock: &dyn Clock, run: i64, outcome: &str) -> Result<()> {
    sqlx::query("UPDATE job_runs SET finished_at = $1, outcome = $2 WHERE id = $3")
        .bind(clock.now_ms())
        .bind(outcome)
        .bind(run)
        .execute(db.pool())
        .await?;
    Ok(())
}

async fn unclaim(db: &Db, run: i64) -> Result<()> {
    sqlx::query("DELETE FROM job_runs WHERE id = $1 AND finished_at IS NULL")
        .bind(run)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Everything due now, for every brand. One brand's failure is logged and
/// does not hold up the others; a review that failed gives its month back,
/// so the next run tries again.
pub async fn run_due(db: &Db, clock: &dyn Clock) -> Result<Ran> {
    let brands: Vec<(i64,)> = sqlx::query_as("SELECT id FROM brands ORDER BY id")
        .fetch_all(db.pool())
        .await?;
    let mut ran = Ran::default();
    for (id,) in brands {
        let brand: Brand = crate::brands::find(db, BrandId(id)).await?;
        match points::expire_due(db, clock, brand.id).await {
            Ok(n) => ran.points_expired += n,
            Err(e) => tracing::error!(brand = id, error = %e, "expiring points failed"),
        }
        // The month in the brand's own calendar: `2026-12`.
        let month: String = crate::rules::local_date(&brand.time_zone, clock.now_ms())
            .chars()
            .take(7)
            .collect();
        if let Some(run) = claim(db, clock, "tier_review", brand.id, &month).await? {
            match tiers::review(db, clock, brand.id).await {
                Ok(moved) => {
                    finish(db, clock, run, &format!("{moved} members moved")).await?;
                    ran.tier_reviews += 1;
                    ran.members_moved += moved;
                }
                Err(e) => {
                    tracing::error!(brand = id, error = %e, "tier review failed; retried next run");
                    unclaim(db, run).await?;
                }
            }
        }
    }
    Ok(ran)
}
