//! `stats(handle)`: the pool's counters and latency summaries as one typed object.

use super::with_handle;
use crate::executor::Summary;
use napi::bindgen_prelude::Unknown;
use napi_derive::napi;

/// Latency summary in milliseconds (log-linear histogram: quantiles within ~3%).
#[napi(object)]
pub struct LatencySummary {
    pub count: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl From<&Summary> for LatencySummary {
    fn from(h: &Summary) -> Self {
        Self {
            count: h.count as f64,
            mean: h.mean,
            p50: h.p50,
            p90: h.p90,
            p99: h.p99,
            max: h.max,
        }
    }
}

/// One thread slot's counters.
#[napi(object)]
pub struct ThreadStats {
    /// The slot index (`pool-worker-N`).
    pub thread: u32,
    pub alive: bool,
    pub tasks: f64,
    pub errors: f64,
    pub busy_ms: f64,
    pub avg_run_ms: f64,
    /// When it last finished a task (ms since the Unix epoch); `null` if never.
    pub last_active: Option<f64>,
}

#[napi(object)]
pub struct PoolStats {
    pub threads: u32,
    pub min_threads: u32,
    pub max_threads: u32,
    pub queue_size: f64,
    pub running: u32,
    pub completed: f64,
    pub failed: f64,
    pub cancelled: f64,
    pub timed_out: f64,
    pub retried: f64,
    /// Tasks that ran in a batch with others.
    pub batched: f64,
    pub utilization: f64,
    pub closed: bool,
    pub run_time: LatencySummary,
    pub wait_time: LatencySummary,
    pub per_thread: Vec<ThreadStats>,
}

/// A snapshot of the pool's counters and latencies.
#[napi(ts_args_type = "handle: PoolHandle")]
pub fn stats(env: &napi::Env, handle: Unknown<'_>) -> napi::Result<PoolStats> {
    with_handle(env, handle, |_, core| {
        let exec = &core.exec;
        let s = exec.metrics().snapshot();
        Ok(PoolStats {
            threads: exec.threads() as u32,
            min_threads: exec.min_threads() as u32,
            max_threads: exec.max_threads() as u32,
            queue_size: exec.queued() as f64,
            running: exec.running() as u32,
            completed: s.completed as f64,
            failed: s.failed as f64,
            cancelled: s.cancelled as f64,
            timed_out: s.timed_out as f64,
            retried: s.retried as f64,
            batched: s.batched as f64,
            utilization: s.utilization,
            closed: core.closing(),
            run_time: (&s.run_time).into(),
            wait_time: (&s.wait_time).into(),
            per_thread: s
                .threads
                .iter()
                .map(|t| ThreadStats {
                    thread: t.index as u32,
                    alive: t.alive,
                    tasks: t.tasks as f64,
                    errors: t.errors as f64,
                    busy_ms: t.busy_ms,
                    avg_run_ms: t.avg_run_ms,
                    last_active: t.last_active,
                })
                .collect(),
        })
    })
}
