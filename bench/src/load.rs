//! A closed-loop load generator: `connections` workers, each sending its
//! next request as soon as the previous one is answered, for a fixed time.
//! It is ours rather than `oha` or `wrk` because every write needs its own
//! Idempotency-Key and coupon; latencies go into HdrHistogram, and the same
//! loop drives the raw ceiling (the core's calls without HTTP).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub connections: usize,
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Requests a worker could not make because the data ran out (coupons).
    pub exhausted: bool,
}

/// Runs `call(n, worker)` for `duration` on `connections` workers; `n` counts
/// requests across workers from 0. The call returns `None` when there is no
/// more data for it, `Some(ok)` otherwise.
pub async fn run<F, Fut>(connections: usize, duration: Duration, call: F) -> Outcome
where
    F: Fn(u64, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<bool>> + Send + 'static,
{
    let call = Arc::new(call);
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::with_capacity(connections);
    for w in 0..connections {
        let (call, counter) = (call.clone(), counter.clone());
        workers.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
            let (mut errors, mut exhausted) = (0u64, false);
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let t0 = Instant::now();
                match call(n, w).await {
                    None => {
                        exhausted = true;
                        break;
                    }
                    Some(ok) => {
                        let micros = t0.elapsed().as_micros() as u64;
                        hist.saturating_record(micros.max(1));
                        if !ok {
                            errors += 1;
                        }
                    }
                }
            }
            (hist, errors, exhausted)
        }));
    }
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    let (mut errors, mut exhausted) = (0, false);
    for w in workers {
        let (h, e, x) = w.await.expect("load worker");
        all.add(&h).expect("merge histograms");
        errors += e;
        exhausted |= x;
    }
    let seconds = started.elapsed().as_secs_f64();
    let requests = all.len();
    Outcome {
        connections,
        requests,
        errors,
        seconds: round(seconds, 2),
        rps: round(requests as f64 / seconds, 0),
        p50_ms: round(all.value_at_quantile(0.50) as f64 / 1000.0, 2),
        p99_ms: round(all.value_at_quantile(0.99) as f64 / 1000.0, 2),
        max_ms: round(all.max() as f64 / 1000.0, 2),
        exhausted,
    }
}

pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// Several runs of one measurement as one: their requests and time added
/// up, and the median of their p50s and of their p99s. At one connection a
/// run's p99 is a dozen requests, and a moment's stall of a busy host moves
/// it several times over; the median of three runs ignores one such moment.
pub fn median_of(runs: Vec<Outcome>) -> Outcome {
    assert!(!runs.is_empty(), "at least one run");
    let median = |f: fn(&Outcome) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let requests = runs.iter().map(|o| o.requests).sum();
    let seconds: f64 = runs.iter().map(|o| o.seconds).sum();
    Outcome {
        connections: runs[0].connections,
        requests,
        errors: runs.iter().map(|o| o.errors).sum(),
        seconds: round(seconds, 2),
        rps: round(requests as f64 / seconds, 0),
        p50_ms: median(|o| o.p50_ms),
        p99_ms: median(|o| o.p99_ms),
        max_ms: runs.iter().map(|o| o.max_ms).fold(0.0, f64::max),
        exhausted: runs.iter().any(|o| o.exhausted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(requests: u64, p50_ms: f64, p99_ms: f64, max_ms: f64) -> Outcome {
        Outcome {
            connections: 1,
            requests,
            errors: 0,
            seconds: 2.0,
            rps: requests as f64 / 2.0,
            p50_ms,
            p99_ms,
            max_ms,
            exhausted: false,
        }
    }

    #[test]
    fn the_median_of_three_runs_ignores_one_stalled_run() {
        let o = median_of(vec![
            run(2000, 0.5, 0.9, 3.0),
            run(1900, 0.6, 6.0, 40.0),
            run(2100, 0.5, 1.0, 2.0),
        ]);
        assert_eq!((o.requests, o.seconds, o.rps), (6000, 6.0, 1000.0));
        assert_eq!((o.p50_ms, o.p99_ms, o.max_ms), (0.5, 1.0, 40.0));
    }
}
