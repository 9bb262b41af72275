//! The scheduler: cron-like jobs per brand, in the brand's own calendar.
//!
//! Each job has a period (an hour, a day from 10:00, a month, a minute) and
//! runs once per brand and period however many servers tick: a run is
//! claimed with one conditional `INSERT … ON CONFLICT DO NOTHING` on
//! `job_runs (job, brand, period)`. The claim carries a lease: when the
//! server holding it dies, or the run fails, the run is taken over once the
//! lease lapses (one conditional `UPDATE`), and the jobs themselves are safe
//! to repeat (a benefit is keyed by its occurrence, expiry takes only what is
//! due), so a takeover never gives anything twice. Runs stay in the table for
//! the console: last run, duration, outcome.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::brands::{Brand, BrandId};
use crate::marketing::delivery::Sender;
use crate::{marketing::automation, points, points::tiers, Clock, Db, Result};

const MINUTE: i64 = 60_000;

/// The local hour from which the daily automations (birthdays, win-back,
/// expiring points) run: messages arrive in the morning, not at midnight.
pub const DAILY_HOUR: i8 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Job {
    /// Hourly: points lots past their expiry.
    PointsExpiry,
    /// Monthly: every member to the tier their last 12 months qualify for.
    TierReview,
    /// Every minute: joins, tier rises and N-th visits since the last run,
    /// referral rewards due after a friend's first purchase, and the next
    /// batches of queued campaigns.
    AutomationEvents,
    /// Daily from 10:00: birthdays, win-back, points about to expire.
    AutomationDaily,
    /// Every minute: marketing messages due, within the sending hours.
    Messages,
}

impl Job {
    pub const ALL: [Job; 5] = [
        Job::PointsExpiry,
        Job::TierReview,
        Job::AutomationEvents,
        Job::AutomationDaily,
        Job::Messages,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Job::PointsExpiry => "points_expiry",
            Job::TierReview => "tier_review",
            Job::AutomationEvents => "automation_events",
            Job::AutomationDaily => "automation_daily",
            Job::Messages => "messages",
        }
    }

    pub fn parse(s: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|j| j.as_str() == s)
    }

    /// The period `now` falls in, in the brand's calendar (`2026-12`,
    /// `2026-12-01`, `2026-12-01T10`, `2026-12-01T10:07`); None while the
    /// job is not yet due today.
    pub fn period(self, time_zone: &str, now_ms: i64) -> Option<String> {
        let zone = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
        let local = Timestamp::from_millisecond(now_ms).ok()?.to_zoned(zone);
        let format = match self {
            Job::PointsExpiry => "%Y-%m-%dT%H",
            Job::TierReview => "%Y-%m",
            Job::AutomationDaily if local.hour() < DAILY_HOUR => return None,
            Job::AutomationDaily => "%Y-%m-%d",
            Job::AutomationEvents | Job::Messages => "%Y-%m-%dT%H:%M",
        };
        Some(local.strftime(format).to_string())
    }

    /// When a period (as [`Job::period`] names it) began: a month at its
    /// first midnight, a day at [`DAILY_HOUR`], an hour or a minute at its
    /// start.
    pub fn period_start_ms(self, time_zone: &str, period: &str) -> Option<i64> {
        let text = match period.len() {
            7 => format!("{period}-01T00:00:00"),
            10 => format!("{period}T{DAILY_HOUR:02}:00:00"),
            13 => format!("{period}:00:00"),
            16 => format!("{period}:00"),
            _ => return None,
        };
        let local: jiff::civil::DateTime = text.parse().ok()?;
        let zone = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
        Some(local.to_zoned(zone).ok()?.timestamp().as_millisecond())
    }

    /// How long a claim holds before another server may take the run over.
    fn lease_ms(self) -> i64 {
        match self {
            Job::AutomationEvents | Job::Messages => 2 * MINUTE,
            _ => 15 * MINUTE,
        }
    }

    /// How long runs of this job are kept for the console.
    fn kept_ms(self) -> i64 {
        match self {
            Job::AutomationEvents | Job::Messages => 2 * 24 * 60 * MINUTE,
            _ => 400 * 24 * 60 * MINUTE,
        }
    }
}

/// Who is running jobs: a name for the console (host and process) and where
/// messages go.
#[derive(Clone)]
pub struct Runner {
    pub worker: String,
    pub sender: Arc<dyn Sender>,
}

impl Runner {
    pub fn new(worker: impl Into<String>, sender: Arc<dyn Sender>) -> Self {
        let worker: String = worker.into().chars().take(80).collect();
        Runner { worker, sender }
    }
}

/// What one tick did, summed over brands.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Ran {
    pub runs: u64,
    pub failed: u64,
    pub points_expired: i64,
    pub tier_reviews: u64,
    pub members_moved: u64,
    pub benefits: u64,
    pub messages_sent: u64,
}

/// A claimed run: its row and which attempt this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub run: i64,
    pub attempt: i64,
}

/// Claims `job` for `period` of a brand: a fresh run, or one whose lease has
/// lapsed without finishing (its server died, or it failed). None when the
/// period is done or another server holds it.
pub async fn claim(
    db: &Db,
    clock: &dyn Clock,
    runner: &Runner,
    job: Job,
    brand: BrandId,
    period: &str,
) -> Result<Option<Claim>> {
    let now = clock.now_ms();
    let mut tx = db.begin().await?; // (see Db::begin: an explicit COMMIT reports a failed write)
    let fresh: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO job_runs (job, brand_id, period, started_at, lease_until, worker) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (job, brand_id, period) DO NOTHING RETURNING id",
    )
    .bind(job.as_str())
    .bind(brand.0)
    .bind(period)
    .bind(now)
    .bind(now + job.lease_ms())
    .bind(&runner.worker)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    if let Some((run,)) = fresh {
        return Ok(Some(Claim { run, attempt: 1 }));
    }
    let mut tx = db.begin().await?; // (see Db::begin: an explicit COMMIT reports a failed write)
    let lapsed: Option<(i64, i64)> = sqlx::query_as(
        "UPDATE job_runs SET started_at = $1, lease_until = $2, worker = $3, attempts = attempts + 1, failed = 0 \
         WHERE job = $4 AND brand_id = $5 AND period = $6 AND finished_at IS NULL AND lease_until < $1 \
         RETURNING id, attempts",
    )
    .bind(now)
    .bind(now + job.lease_ms())
    .bind(&runner.worker)
    .bind(job.as_str())
    .bind(brand.0)
    .bind(period)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(lapsed.map(|(run, attempt)| Claim { run, attempt }))
}

fn clip(outcome: &str) -> String {
    outcome.chars().take(300).collect()
}

async fn finish(db: &Db, clock: &dyn Clock, run: i64, outcome: &str) -> Result<()> {
    sqlx::query(
        "UPDATE job_runs SET finished_at = $1, failed = 0, outcome = $2 WHERE id = $3 AND finished_at IS NULL",
    )
    .bind(clock.now_ms())
    .bind(clip(outcome))
    .bind(run)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// A failed run stays unfinished, with its error for the console, and is
/// retried when its lease lapses.
async fn fail(db: &Db, clock: &dyn Clock, run: i64, job: Job, error: &str) -> Result<()> {
    let now = clock.now_ms();
    sqlx::query(
        "UPDATE job_runs SET failed = 1, outcome = $1, lease_until = $2 WHERE id = $3 AND finished_at IS NULL",
    )
    .bind(clip(error))
    .bind(now + job.lease_ms())
    .bind(run)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Runs one job for one brand; the outcome is `name=count` pairs, which the
/// console words in the brand's language.
async fn run_job(
    db: &Db,
    clock: &dyn Clock,
    runner: &Runner,
    job: Job,
    brand: &Brand,
    ran: &mut Ran,
) -> Result<String> {
    Ok(match job {
        Job::PointsExpiry => {
            let n = points::expire_due(db, clock, brand.id).await?;
            ran.points_expired += n;
            format!("points_expired={n}")
        }
        Job::TierReview => {
            let moved = tiers::review(db, clock, brand.id).await?;
            ran.tier_reviews += 1;
            ran.members_moved += moved;
            format!("members_moved={moved}")
        }
        Job::AutomationEvents => {
            let n = automation::run_events(db, clock, brand).await?;
            let referred = crate::marketing::referrals::reward_due(db, clock, brand).await?;
            let campaign = crate::marketing::campaigns::run_queued(
                db,
                clock,
                brand,
                std::time::Duration::from_secs(30),
            )
            .await?;
            ran.benefits += n + referred + campaign;
            format!("benefits={n},referrals={referred},campaign_coupons={campaign}")
        }
        Job::AutomationDaily => {
            let n = automation::run_daily(db, clock, brand).await?;
            ran.benefits += n;
            format!("benefits={n}")
        }
        Job::Messages => {
            let sent = automation::deliver(db, clock, brand, runner.sender.as_ref()).await?;
            ran.messages_sent += sent.sent;
            let waiting = if sent.waiting { ",waiting=1" } else { "" };
            format!(
                "sent={},retry={},dropped={}{waiting}",
                sent.sent, sent.retry, sent.dropped
            )
        }
    })
}

/// Everything due now, for every brand. A job that fails is recorded as
/// failed and retried later; it does not hold up the other jobs or brands.
pub async fn run_due(db: &Db, clock: &dyn Clock, runner: &Runner) -> Result<Ran> {
    let brands: Vec<(i64,)> = sqlx::query_as("SELECT id FROM brands ORDER BY id")
        .fetch_all(db.pool())
        .await?;
    let mut ran = Ran::default();
    for (id,) in brands {
        let brand: Brand = crate::brands::find(db, BrandId(id)).await?;
        for job in Job::ALL {
            let Some(period) = job.period(&brand.time_zone, clock.now_ms()) else {
                continue;
            };
            let Some(claim) = claim(db, clock, runner, job, brand.id, &period).await? else {
                continue;
            };
            ran.runs += 1;
            if let Some(start) = job.period_start_ms(&brand.time_zone, &period) {
                // How long after its period began the run started.
                let lag = (clock.now_ms() - start).max(0) as f64 / 1000.0;
                metrics::gauge!("tablecard_scheduler_lag_seconds", "job" => job.as_str()).set(lag);
            }
            let result = run_job(db, clock, runner, job, &brand, &mut ran).await;
            let outcome = if result.is_ok() { "ok" } else { "failed" };
            metrics::counter!("tablecard_scheduler_runs_total", "job" => job.as_str(), "outcome" => outcome)
                .increment(1);
            match result {
                Ok(outcome) => finish(db, clock, claim.run, &outcome).await?,
                Err(e) => {
                    ran.failed += 1;
                    tracing::error!(brand = id, job = job.as_str(), attempt = claim.attempt, error = %e, "job failed; retried when its lease lapses");
                    fail(db, clock, claim.run, job, &e.to_string()).await?;
                }
            }
        }
    }
    Ok(ran)
}

/// The newest run of each job of a brand, for the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    pub job: Job,
    pub period: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub failed: bool,
    pub outcome: String,
    pub attempts: i64,
    pub worker: String,
}

impl LastRun {
    pub fn duration_ms(&self) -> Option<i64> {
        self.finished_at.map(|f| (f - self.started_at).max(0))
    }
}

type RunRow = (
    String,
    String,
    i64,
    Option<i64>,
    i64,
    Option<String>,
    i64,
    String,
);

pub async fn last_runs(db: &Db, brand: BrandId) -> Result<Vec<LastRun>> {
    let rows: Vec<RunRow> = sqlx::query_as(
        "SELECT job, period, started_at, finished_at, failed, outcome, attempts, worker FROM job_runs \
         WHERE id IN (SELECT MAX(id) FROM job_runs WHERE brand_id = $1 GROUP BY job) ORDER BY job",
    )
    .bind(brand.0)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(
            |(job, period, started_at, finished_at, failed, outcome, attempts, worker)| {
                Some(LastRun {
                    job: Job::parse(&job)?,
                    period,
                    started_at,
                    finished_at,
                    failed: failed != 0,
                    outcome: outcome.unwrap_or_default(),
                    attempts,
                    worker,
                })
            },
        )
        .collect())
}

/// Forgets finished runs past what the console shows (minute jobs after two
/// days, the others after 400 days).
pub async fn purge_old(db: &Db, clock: &dyn Clock) -> Result<u64> {
    let mut gone = 0;
    for job in Job::ALL {
        gone += sqlx::query(
            "DELETE FROM job_runs WHERE job = $1 AND finished_at IS NOT NULL AND started_at < $2",
        )
        .bind(job.as_str())
        .bind(clock.now_ms() - job.kept_ms())
        .execute(db.pool())
        .await?
        .rows_affected();
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_begins_where_the_brands_calendar_says() {
        // 2026-11-30 17:30 UTC is 2026-12-01 01:30 in Shanghai.
        let at = 1_796_059_800_000;
        let zone = "Asia/Shanghai";
        let start = |job: Job| job.period_start_ms(zone, &job.period(zone, at).unwrap());
        // The month began at midnight Shanghai, 16:00 UTC the day before.
        assert_eq!(start(Job::TierReview), Some(at - 90 * 60_000));
        assert_eq!(start(Job::PointsExpiry), Some(at - 30 * 60_000));
        assert_eq!(start(Job::Messages), Some(at));
        let ten = Job::AutomationDaily.period_start_ms(zone, "2026-12-01");
        assert_eq!(ten, Some(at + (8 * 60 + 30) * 60_000), "10:00 in Shanghai");
        assert_eq!(Job::Messages.period_start_ms(zone, "soon"), None);
    }

    #[test]
    fn periods_follow_the_brands_calendar() {
        // 2026-11-30 17:30 UTC is 2026-12-01 01:30 in Shanghai.
        let at = 1_796_059_800_000;
        assert_eq!(
            Job::TierReview.period("Asia/Shanghai", at).unwrap(),
            "2026-12"
        );
        assert_eq!(Job::TierReview.period("UTC", at).unwrap(), "2026-11");
        assert_eq!(
            Job::PointsExpiry.period("Asia/Shanghai", at).unwrap(),
            "2026-12-01T01"
        );
        assert_eq!(
            Job::Messages.period("Asia/Shanghai", at).unwrap(),
            "2026-12-01T01:30"
        );
        // Not before ten in the morning, local time.
        assert_eq!(Job::AutomationDaily.period("Asia/Shanghai", at), None);
        let ten = at + (8 * 60 + 30) * MINUTE;
        assert_eq!(
            Job::AutomationDaily.period("Asia/Shanghai", ten).unwrap(),
            "2026-12-01"
        );
    }
}
