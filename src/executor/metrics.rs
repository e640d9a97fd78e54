//! Counters and latency histograms, kept off the queue lock.
//!
//! Each worker owns a cache-line-aligned [`WorkerMetrics`] that only it writes, so recording a
//! task is a handful of uncontended relaxed atomic adds. Readers (the JS thread asking for
//! `stats()`) sum the per-worker values; a snapshot may be a few tasks stale, never torn in a way
//! that matters for monitoring. Settlement outcomes (failed, cancelled, timed out) are counted by
//! whoever settles the task, through [`Metrics::record_outcome`].

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Sub-buckets per power of two: values are kept to within 1/16 (≈6%).
const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
/// Covers 0 ns ..= 2^64 ns.
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

/// A log-linear histogram of nanosecond durations (HdrHistogram-like, fixed precision).
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    sum: AtomicU64,
    max: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }
}

fn bucket_of(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // >= SUB_BITS
    let shift = exp - SUB_BITS;
    let mantissa = (v >> shift) as usize & (SUB - 1);
    (shift as usize + 1) * SUB + mantissa
}

/// The largest value that falls in bucket `i`.
fn bucket_high(i: usize) -> u64 {
    if i < SUB {
        return i as u64;
    }
    let shift = (i / SUB - 1) as u32;
    let mantissa = (i % SUB) as u64;
    let low = (SUB as u64 + mantissa) << shift;
    low + ((1u64 << shift) - 1)
}

/// Summary of one histogram, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Histogram {
    pub fn record(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(ns)].fetch_add(1, Relaxed);
        self.count.fetch_add(1, Relaxed);
        self.sum.fetch_add(ns, Relaxed);
        self.max.fetch_max(ns, Relaxed);
    }

    pub fn reset(&self) {
        for b in self.buckets.iter() {
            b.store(0, Relaxed);
        }
        self.count.store(0, Relaxed);
        self.sum.store(0, Relaxed);
        self.max.store(0, Relaxed);
    }

    /// Summarises the union of several histograms.
    pub fn summarize<'a>(hs: impl IntoIterator<Item = &'a Histogram> + Clone) -> Summary {
        let mut counts = vec![0u64; BUCKETS];
        let (mut count, mut sum, mut max) = (0u64, 0u64, 0u64);
        for h in hs {
            for (c, b) in counts.iter_mut().zip(h.buckets.iter()) {
                *c += b.load(Relaxed);
            }
            count += h.count.load(Relaxed);
            sum = sum.saturating_add(h.sum.load(Relaxed));
            max = max.max(h.max.load(Relaxed));
        }
        if count == 0 {
            return Summary::default();
        }
        let total: u64 = counts.iter().sum();
        let quantile = |q: f64| -> f64 {
            let rank = ((q * total as f64).ceil() as u64).max(1);
            let mut seen = 0;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return bucket_high(i).min(max) as f64 / 1e6;
                }
            }
            max as f64 / 1e6
        };
        Summary {
            count,
            mean: sum as f64 / count as f64 / 1e6,
            p50: quantile(0.5),
            p90: quantile(0.9),
            p99: quantile(0.99),
            max: max as f64 / 1e6,
        }
    }
}

/// What one worker thread records. Written only by that worker.
#[repr(align(64))]
#[derive(Default)]
pub struct WorkerMetrics {
    pub run_time: Histogram,
    pub wait_time: Histogram,
    pub tasks: AtomicU64,
    pub panics: AtomicU64,
    pub busy_ns: AtomicU64,
    /// When the current task started, in ns since `Metrics::epoch`, plus one; 0 while idle.
    pub busy_since: AtomicU64,
}

/// How a task settled, as counted in `stats()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Fulfilled,
    Failed,
    Cancelled,
    TimedOut,
}

/// All of a pool's metrics.
pub struct Metrics {
    pub(crate) workers: Box<[WorkerMetrics]>,
    completed: AtomicU64,
    failed: AtomicU64,
    cancelled: AtomicU64,
    timed_out: AtomicU64,
    started: parking_lot::Mutex<Instant>,
    epoch: Instant,
}

/// A point-in-time copy of the pool's counters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub completed: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub timed_out: u64,
    pub run_time: Summary,
    pub wait_time: Summary,
    /// Busy thread-time / (threads × elapsed), 0..=1.
    pub utilization: f64,
}

impl Metrics {
    pub(crate) fn new(threads: usize) -> Self {
        Self {
            workers: (0..threads).map(|_| WorkerMetrics::default()).collect(),
            completed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            started: parking_lot::Mutex::new(Instant::now()),
            epoch: Instant::now(),
        }
    }

    /// Counts `n` settled tasks with one outcome.
    pub fn record_outcome(&self, outcome: Outcome, n: u64) {
        self.completed.fetch_add(n, Relaxed);
        let c = match outcome {
            Outcome::Fulfilled => return,
            Outcome::Failed => &self.failed,
            Outcome::Cancelled => &self.cancelled,
            Outcome::TimedOut => &self.timed_out,
        };
        c.fetch_add(1, Relaxed);
    }

    pub fn completed(&self) -> u64 {
        self.completed.load(Relaxed)
    }

    /// Marks a worker busy from `at` (for utilization while long tasks run).
    pub(crate) fn task_started(&self, worker: usize, at: Instant) {
        let ns = at.saturating_duration_since(self.epoch).as_nanos() as u64;
        self.workers[worker].busy_since.store(ns + 1, Relaxed);
    }

    pub(crate) fn task_ended(&self, worker: usize) {
        self.workers[worker].busy_since.store(0, Relaxed);
    }

    pub fn utilization(&self) -> f64 {
        let started = *self.started.lock();
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(started).as_nanos() as f64;
        let now_ns = now.saturating_duration_since(self.epoch).as_nanos() as u64;
        let reset_ns = started.saturating_duration_since(self.epoch).as_nanos() as u64;
        // Finished tasks, plus the part of each running task since the last reset.
        let busy: u64 = self
            .workers
            .iter()
            .map(|w| {
                let since = w.busy_since.load(Relaxed);
                let running = if since == 0 {
                    0
                } else {
                    now_ns.saturating_sub((since - 1).max(reset_ns))
                };
                w.busy_ns.load(Relaxed) + running
            })
            .sum();
        if elapsed <= 0.0 || self.workers.is_empty() {
            return 0.0;
        }
        (busy as f64 / (elapsed * self.workers.len() as f64)).clamp(0.0, 1.0)
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            completed: self.completed.load(Relaxed),
            failed: self.failed.load(Relaxed),
            cancelled: self.cancelled.load(Relaxed),
            timed_out: self.timed_out.load(Relaxed),
            run_time: Histogram::summarize(self.workers.iter().map(|w| &w.run_time)),
            wait_time: Histogram::summarize(self.workers.iter().map(|w| &w.wait_time)),
            utilization: self.utilization(),
        }
    }

    /// Zeroes the histograms and counters and restarts the utilization clock.
    pub fn reset(&self) {
        for w in self.workers.iter() {
            w.run_time.reset();
            w.wait_time.reset();
            w.tasks.store(0, Relaxed);
            w.panics.store(0, Relaxed);
            w.busy_ns.store(0, Relaxed);
        }
        for c in [
            &self.completed,
            &self.failed,
            &self.cancelled,
            &self.timed_out,
        ] {
            c.store(0, Relaxed);
        }
        *self.started.lock() = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for v in (0..100_000u64).chain([1 << 40, u64::MAX / 2, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b >= last || v > 100_000);
            last = b;
            assert!(bucket_high(b) >= v, "value {v} above its bucket's top");
            assert!(bucket_high(b) - v <= v / 16 + 1, "bucket too wide at {v}");
        }
        assert!(bucket_of(u64::MAX) < BUCKETS);
    }

    #[test]
    fn quantiles_from_known_distribution() {
        let h = Histogram::default();
        for ms in 1..=100u64 {
            h.record(Duration::from_millis(ms));
        }
        let s = Histogram::summarize([&h]);
        assert_eq!(s.count, 100);
        assert!((s.mean - 50.5).abs() < 0.01, "mean {}", s.mean);
        assert!((s.p50 - 50.0).abs() <= 50.0 / 16.0 + 0.01, "p50 {}", s.p50);
        assert!((s.p99 - 99.0).abs() <= 99.0 / 16.0 + 0.01, "p99 {}", s.p99);
        assert_eq!(s.max, 100.0);
        h.reset();
        assert_eq!(Histogram::summarize([&h]), Summary::default());
    }

    #[test]
    fn outcomes_count_completed() {
        let m = Metrics::new(2);
        m.record_outcome(Outcome::Fulfilled, 10);
        m.record_outcome(Outcome::Failed, 1);
        m.record_outcome(Outcome::TimedOut, 1);
        let s = m.snapshot();
        assert_eq!(
            (s.completed, s.failed, s.timed_out, s.cancelled),
            (12, 1, 1, 0)
        );
        m.reset();
        assert_eq!(m.snapshot().completed, 0);
    }
}
