//! Backups on a schedule (SQLite): the server takes the same checked
//! `VACUUM INTO` backup as `tablecard backup`, every so many hours, into a
//! directory, keeps the newest few, and says when the last one succeeded in
//! `/readyz` and in the metrics. PostgreSQL is backed up with its own tools
//! (docs/operations.md).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use loyalty::infra::backup::{self, Summary};
use loyalty::Db;

/// Where, how often and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub dir: PathBuf,
    pub every: Duration,
    pub keep: usize,
}

/// What the server knows of its backups, for `/readyz` and the metrics.
#[derive(Debug, Clone, Default)]
pub struct Status(Arc<Mutex<Known>>);

#[derive(Debug, Clone, Default)]
struct Known {
    /// The newest good backup: when (Unix seconds) and which file.
    last: Option<(i64, PathBuf)>,
    /// The last failure, when it came after the last success.
    failed: Option<String>,
}

impl Status {
    /// What the directory already holds (a restarted server knows its last
    /// backup).
    pub fn from_dir(dir: &Path) -> Status {
        let last = newest(dir).map(|(path, at)| (unix_secs(at), path));
        if let Some((at, _)) = &last {
            metrics::gauge!("tablecard_backup_last_success_seconds").set(*at as f64);
        }
        Status(Arc::new(Mutex::new(Known { last, failed: None })))
    }

    fn succeeded(&self, at: i64, path: PathBuf) {
        metrics::counter!("tablecard_backups_total", "outcome" => "ok").increment(1);
        metrics::gauge!("tablecard_backup_last_success_seconds").set(at as f64);
        let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        known.last = Some((at, path));
        known.failed = None;
    }

    fn failed(&self, error: String) {
        metrics::counter!("tablecard_backups_total", "outcome" => "failed").increment(1);
        self.0.lock().unwrap_or_else(|e| e.into_inner()).failed = Some(error);
    }

    /// The lines `/readyz` adds: when the last good backup was taken, and
    /// whether an attempt failed since (which file, and why, are in the
    /// log: `/readyz` may be reachable from outside).
    pub fn describe(&self, now: SystemTime) -> String {
        let known = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut out = match &known.last {
            Some((at, _)) => {
                let when = jiff::Timestamp::from_second(*at)
                    .map(|t| t.to_string())
                    .unwrap_or_default();
                let ago = (unix_secs(now) - at).max(0) / 60;
                format!("last backup: {when} ({ago} min ago)\n")
            }
            None => "last backup: none yet\n".to_owned(),
        };
        if known.failed.is_some() {
            out.push_str("last backup attempt failed (see the log)\n");
        }
        out
    }
}

fn unix_secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The backups in `dir`, oldest first (their names sort by time).
fn backups_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("tablecard-") && n.ends_with(".db"))
        })
        .collect();
    found.sort();
    found
}

/// The newest backup in `dir` and when it was written.
pub fn newest(dir: &Path) -> Option<(PathBuf, SystemTime)> {
    let path = backups_in(dir).pop()?;
    let at = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
    Some((path, at))
}

/// Takes one backup now into the schedule's directory, named by the time,
/// checks it, and removes the oldest beyond the number to keep.
pub async fn take(db: &Db, schedule: &Schedule, now: SystemTime) -> loyalty::Result<Summary> {
    let stamp = jiff::Timestamp::from_second(unix_secs(now))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y%m%d-%H%M%S");
    let path = schedule.dir.join(format!("tablecard-{stamp}.db"));
    let summary = backup::backup(db, &path).await?;
    let all = backups_in(&schedule.dir);
    let surplus = all.len().saturating_sub(schedule.keep.max(1));
    for old in &all[..surplus] {
        if let Err(e) = std::fs::remove_file(old) {
            tracing::warn!(file = %old.display(), error = %e, "cannot remove an old backup");
        }
    }
    Ok(summary)
}

/// The first backup of a server without one waits this long after start,
/// so a server restarted in a loop does not copy the database each time.
const FIRST_AFTER: Duration = Duration::from_secs(10 * 60);

/// Runs the schedule for as long as the server runs.
pub fn spawn(db: Db, schedule: Schedule, status: Status) {
    tokio::spawn(async move {
        loop {
            let now = SystemTime::now();
            let due = match newest(&schedule.dir) {
                Some((_, at)) => at + schedule.every,
                None => now + FIRST_AFTER,
            };
            if let Ok(wait) = due.duration_since(now) {
                tokio::time::sleep(wait).await;
            }
            let now = SystemTime::now();
            match take(&db, &schedule, now).await {
                Ok(s) => {
                    tracing::info!(file = %s.path.display(), bytes = s.bytes, members = s.members, "backup taken and checked");
                    status.succeeded(unix_secs(now), s.path);
                }
                Err(e) => {
                    tracing::error!(error = %e, "scheduled backup failed; trying again in an hour");
                    status.failed(e.to_string());
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_sort_by_their_time_and_others_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "tablecard-20261203-100000.db",
            "tablecard-20261201-100000.db",
            "notes.txt",
            "tablecard-20261202-100000.db",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let names: Vec<String> = backups_in(dir.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "tablecard-20261201-100000.db",
                "tablecard-20261202-100000.db",
                "tablecard-20261203-100000.db"
            ]
        );
        assert!(Status::default()
            .describe(SystemTime::now())
            .contains("none yet"));
    }
}
