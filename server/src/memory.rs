//! Gives the heap a rush freed back to the system once the server is quiet.
//!
//! The allocator (jemalloc, `main.rs`) keeps what the server frees for a
//! while, for the next request to reuse, and gives it back a second later
//! from a thread of its own. Once the server has had a quiet second (no
//! request began in it), what is still kept is given back at once: the
//! buffers of 128 connections at once, after a rush. Under steady traffic
//! that never runs. (glibc's allocator, before, returned only the top of
//! each arena by itself: `malloc_trim` here took the server from 87 to 64
//! MiB after the bench's SQLite load.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Requests begun since the process started.
static BEGUN: AtomicU64 = AtomicU64::new(0);

/// Counts a request as it begins (the quiet second is one without any).
/// `metrics::record`, which every request passes through, calls it.
pub fn request_begun() {
    BEGUN.fetch_add(1, Ordering::Relaxed);
}

/// Whether a tick finds the server newly quiet: requests were served since
/// the last trim, and none began since the last tick.
#[derive(Debug, Default)]
pub struct Quiet {
    seen: u64,
    trimmed: bool,
}

impl Quiet {
    /// Called once a tick with the requests begun so far: true when it is
    /// time to trim (once per quiet spell).
    pub fn tick(&mut self, begun: u64) -> bool {
        if begun != self.seen {
            self.seen = begun;
            self.trimmed = false;
            return false;
        }
        !std::mem::replace(&mut self.trimmed, true)
    }
}

/// Every second, folds the metrics' samples into their histograms
/// (`metrics::upkeep`), and trims the heap when the second was quiet after
/// traffic.
pub fn spawn_quiet_trim() {
    tokio::spawn(async {
        let mut second = tokio::time::interval(Duration::from_secs(1));
        second.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        // The start-up itself (migrations, caches) counts as traffic.
        let mut quiet = Quiet::default();
        loop {
            second.tick().await;
            crate::metrics::upkeep();
            if quiet.tick(BEGUN.load(Ordering::Relaxed)) {
                let _ = tokio::task::spawn_blocking(trim).await;
            }
        }
    });
}

fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `arena.<all>.purge` (4096 is MALLCTL_ARENAS_ALL) reads and
    // writes nothing: no pointers are passed; it only returns the arenas'
    // unused pages to the kernel.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            c"arena.4096.purge".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::Quiet;

    #[test]
    fn the_heap_is_trimmed_once_per_quiet_spell_after_traffic() {
        let mut quiet = Quiet {
            seen: 0,
            trimmed: true,
        };
        assert!(!quiet.tick(0), "nothing was served yet");
        assert!(!quiet.tick(40), "requests began during this second");
        assert!(!quiet.tick(95), "still busy");
        assert!(quiet.tick(95), "the first quiet second after a rush");
        assert!(
            !quiet.tick(95),
            "already trimmed, and nothing happened since"
        );
        assert!(!quiet.tick(96), "one request: not quiet");
        assert!(quiet.tick(96), "quiet again after it");
    }

    #[test]
    fn a_server_that_has_just_started_trims_after_its_first_quiet_second() {
        let mut quiet = Quiet::default();
        assert!(quiet.tick(0));
        assert!(!quiet.tick(0));
    }
}
