import type { Registry } from 'prom-client'
import type { WorkerPool } from './index.js'

export interface PoolMetricsOptions {
  /** Prepended to every metric name (default 'pool_'); must make valid Prometheus names. */
  prefix?: string
  /**
   * Constant labels on every series of this pool, e.g. `{ pool: 'hashing' }`. Pools sharing a
   * registry and prefix must use the same label names with different values.
   */
  labels?: Record<string, string | number>
}

export interface PoolMetricsHandle {
  /** Removes this pool's series, and the metrics once no pool is left under the prefix. Idempotent. */
  unregister(): void
}

/**
 * Exposes `pool.stats()` on a prom-client registry (default: prom-client's global registry),
 * read once per scrape: gauges `threads`, `min_threads`, `max_threads`, `queued_tasks`,
 * `running_tasks`, `utilization_ratio`; counters `tasks_{completed,failed,cancelled,timed_out,retried}_total`
 * (monotonic across `pool.resetStats()`); summaries `task_run_duration_seconds` and
 * `task_wait_duration_seconds` (quantiles 0.5, 0.9, 0.99, 1, plus `_sum`/`_count`).
 * Throws `ERR_POOL_PROM_CLIENT_MISSING` if prom-client is not installed and
 * `ERR_POOL_METRIC_EXISTS` if a name is taken.
 */
export declare function registerPoolMetrics(
  pool: WorkerPool,
  registry?: Registry,
  options?: PoolMetricsOptions,
): PoolMetricsHandle

declare const _default: { registerPoolMetrics: typeof registerPoolMetrics }
export default _default
