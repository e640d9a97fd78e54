//! Counters and latency histograms, kept off the queue lock.
//!
//! Each worker owns a cache-padded [`WorkerMetrics`] that only it writes, so recording a
//! task is a handful of uncontended relaxed atomic adds. Readers (the JS thread asking for
//! `stats()`) sum the per-worker values; a snapshot may be a few tasks stale, never torn in a way
//! that matters for monitoring. Settlement outcomes (failed, cancelled, timed out) are counted by
//! whoever settles the task, through [`Metrics::record_outcome`].

use crossbeam_utils::CachePadded;
use parking_lot::RwLock;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// What one worker thread slot records. Written only by the thread that holds the slot, and kept
/// in a [`CachePadded`] so no other slot or allocation shares its lines.
#[derive(Default)]
pub struct WorkerMetrics {
    pub run_time: Histogram,
    pub wait_time: Histogram,
    pub tasks: AtomicU64,
    /// Of `tasks`, those that ran in a batch with others (see `Job::batch`).
    pub batched: AtomicU64,
    /// Tasks whose kernel returned an error or panicked.
    pub errors: AtomicU64,
    pub panics: AtomicU64,
    pub busy_ns: AtomicU64,
    /// When the current task started, in ns since `Metrics::epoch`, plus one; 0 while idle.
    pub busy_since: AtomicU64,
    /// When the last task ended, in ns since `Metrics::epoch`, plus one; 0 if none yet.
    pub last_active: AtomicU64,
    /// Thread-time this slot was alive before its current thread started (or in total, if no
    /// thread holds it now), since the last reset.
    alive_ns: AtomicU64,
    /// When the slot's current thread started, in ns since `Metrics::epoch`, plus one; 0 if
    /// no thread holds the slot.
    alive_since: AtomicU64,
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
    /// One slot per thread index ever used; a retired thread's slot keeps its counts and is
    /// reused by the next thread that takes its index.
    workers: RwLock<Vec<Arc<CachePadded<WorkerMetrics>>>>,
    completed: AtomicU64,
    failed: AtomicU64,
    cancelled: AtomicU64,
    timed_out: AtomicU64,
    retried: AtomicU64,
    started: parking_lot::Mutex<Instant>,
    epoch: Instant,
    /// `epoch` on the wall clock, for `lastActive` timestamps.
    epoch_wall: SystemTime,
}

/// One thread slot in a [`Snapshot`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThreadSnapshot {
    pub index: usize,
    pub alive: bool,
    pub tasks: u64,
    pub errors: u64,
    pub busy_ms: f64,
    pub avg_run_ms: f64,
    /// Milliseconds since the Unix epoch when the last task ended.
    pub last_active: Option<f64>,
}

/// A point-in-time copy of the pool's counters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub completed: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub timed_out: u64,
    pub retried: u64,
    /// Tasks that ran in a batch with others.
    pub batched: u64,
    pub run_time: Summary,
    pub wait_time: Summary,
    /// Busy thread-time / alive thread-time since the last reset, 0..=1.
    pub utilization: f64,
    pub threads: Vec<ThreadSnapshot>,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        Self {
            workers: RwLock::new(Vec::new()),
            completed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            started: parking_lot::Mutex::new(Instant::now()),
            epoch: Instant::now(),
            epoch_wall: SystemTime::now(),
        }
    }

    fn ns(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_nanos() as u64
    }

    /// The slot for thread `index`, created if new, marked alive from now.
    pub(crate) fn attach(&self, index: usize) -> Arc<CachePadded<WorkerMetrics>> {
        let mut ws = self.workers.write();
        while ws.len() <= index {
            ws.push(Arc::default());
        }
        let w = Arc::clone(&ws[index]);
        w.alive_since.store(self.ns(Instant::now()) + 1, Relaxed);
        w
    }

    /// The slot's thread exited: its alive time so far is banked.
    pub(crate) fn detach(&self, w: &WorkerMetrics) {
        let since = w.alive_since.swap(0, Relaxed);
        if since != 0 {
            let from = (since - 1).max(self.ns(*self.started.lock()));
            w.alive_ns
                .fetch_add(self.ns(Instant::now()).saturating_sub(from), Relaxed);
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

    /// Counts a task (or batch chunk) run again after a timeout or a panic.
    pub fn record_retry(&self) {
        self.retried.fetch_add(1, Relaxed);
    }

    pub fn completed(&self) -> u64 {
        self.completed.load(Relaxed)
    }

    /// Marks a worker busy from `at` (for utilization while long tasks run).
    pub(crate) fn task_started(&self, w: &WorkerMetrics, at: Instant) {
        w.busy_since.store(self.ns(at) + 1, Relaxed);
    }

    pub(crate) fn task_ended(&self, w: &WorkerMetrics, at: Instant) {
        w.busy_since.store(0, Relaxed);
        w.last_active.store(self.ns(at) + 1, Relaxed);
    }

    pub fn utilization(&self) -> f64 {
        let started = *self.started.lock();
        let now_ns = self.ns(Instant::now());
        let reset_ns = self.ns(started);
        // Since the last reset: finished tasks plus the running part of current ones, over the
        // time threads were alive (threads come and go with minThreads/maxThreads).
        let since = |v: u64| now_ns.saturating_sub((v - 1).max(reset_ns));
        let (mut busy, mut alive) = (0u64, 0u64);
        for w in self.workers.read().iter() {
            let b = w.busy_since.load(Relaxed);
            busy += w.busy_ns.load(Relaxed) + if b == 0 { 0 } else { since(b) };
            let a = w.alive_since.load(Relaxed);
            alive += w.alive_ns.load(Relaxed) + if a == 0 { 0 } else { since(a) };
        }
        if alive == 0 {
            return 0.0;
        }
        (busy as f64 / alive as f64).clamp(0.0, 1.0)
    }

    /// Milliseconds since the Unix epoch of a `last_active` value.
    fn wall_ms(&self, v: u64) -> Option<f64> {
        if v == 0 {
            return None;
        }
        let at = self.epoch_wall + std::time::Duration::from_nanos(v - 1);
        at.duration_since(UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs_f64() * 1e3)
    }

    pub fn snapshot(&self) -> Snapshot {
        let ws = self.workers.read();
        let threads = ws
            .iter()
            .enumerate()
            .map(|(index, w)| {
                let tasks = w.tasks.load(Relaxed);
                let busy_ms = w.busy_ns.load(Relaxed) as f64 / 1e6;
                ThreadSnapshot {
                    index,
                    alive: w.alive_since.load(Relaxed) != 0,
                    tasks,
                    errors: w.errors.load(Relaxed),
                    busy_ms,
                    avg_run_ms: if tasks == 0 {
                        0.0
                    } else {
                        busy_ms / tasks as f64
                    },
                    last_active: self.wall_ms(w.last_active.load(Relaxed)),
                }
            })
            .collect();
        Snapshot {
            completed: self.completed.load(Relaxed),
            failed: self.failed.load(Relaxed),
            cancelled: self.cancelled.load(Relaxed),
            timed_out: self.timed_out.load(Relaxed),
            retried: self.retried.load(Relaxed),
            batched: ws.iter().map(|w| w.batched.load(Relaxed)).sum(),
            run_time: Histogram::summarize(ws.iter().map(|w| &w.run_time)),
            wait_time: Histogram::summarize(ws.iter().map(|w| &w.wait_time)),
            utilization: self.utilization(),
            threads,
        }
    }

    /// Zeroes the histograms and counters and restarts the utilization clock.
    pub fn reset(&self) {
        let now = Instant::now();
        *self.started.lock() = now;
        for w in self.workers.read().iter() {
            w.run_time.reset();
            w.wait_time.reset();
            for c in [
                &w.tasks,
                &w.batched,
                &w.errors,
                &w.panics,
                &w.busy_ns,
                &w.alive_ns,
            ] {
                c.store(0, Relaxed);
            }
        }
        for c in [
            &self.completed,
            &self.failed,
            &self.cancelled,
            &self.timed_out,
            &self.retried,
        ] {
            c.store(0, Relaxed);
        }
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
        let m = Metrics::new();
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
