'use strict'
// `require('pool/prometheus')`: exposes a WorkerPool's stats() on a prom-client Registry.
//
// Nothing is recorded per task here: every metric reads the pool when the registry is scraped.
// All metrics of one registration share one pool.stats() snapshot per scrape (prom-client calls
// every metric's collect()/get() synchronously within one tick of registry.metrics()).
//
// Counters stay monotonic across pool.resetStats(): each registration keeps the pool's last
// seen raw counts and adds only the deltas to its own running totals. resetStats() is wrapped
// on the pool instance (while at least one registration is live) so the counts reached just
// before a reset are folded in first; a drop seen without that hook (a reset by other means)
// is treated as a reset, so the new raw value is added whole.
//
// Run and wait time are exported as Prometheus *summaries*, not histograms: the pool keeps
// log-linear histograms internally but stats() gives only count, mean, p50/p90/p99 and max, so
// there are no cumulative `le` buckets to export honestly. The summary's _count and _sum are
// exact and monotonic (sum = mean × count, folded across resets like the counters), so
// rate(x_sum)/rate(x_count) is the true mean over any window. The quantile series (0.5, 0.9,
// 0.99, and 1 = the maximum) are the pool's own estimates (within ~6%, rounded up) over every
// task since the pool was created or last reset, not over a sliding window, and, like any
// summary's quantiles, cannot be averaged across processes.

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

const GAUGES = [
  ['threads', 'Worker threads alive now.', (s) => s.threads],
  ['min_threads', 'Threads the pool keeps even when idle (minThreads).', (s) => s.minThreads ?? s.threads],
  ['max_threads', 'Threads the pool may grow to (maxThreads).', (s) => s.maxThreads ?? s.threads],
  ['queued_tasks', 'Tasks waiting for a thread.', (s) => s.queueSize],
  ['running_tasks', 'Tasks executing now.', (s) => s.running],
  ['utilization_ratio', 'Busy thread-time / alive thread-time since creation or resetStats(), 0..1.', (s) => s.utilization],
]

// [metric suffix, stats() field, help]
const COUNTERS = [
  ['tasks_completed_total', 'completed', 'Tasks settled, any outcome (a runBatch input counts as one).'],
  ['tasks_failed_total', 'failed', 'Tasks that rejected with a kernel error (bad input, a panic); timeouts and cancellations are counted apart.'],
  ['tasks_cancelled_total', 'cancelled', 'Tasks aborted by their signal or rejected by destroy()/close().'],
  ['tasks_timed_out_total', 'timedOut', 'Tasks that ran past their timeout.'],
  ['tasks_retried_total', 'retried', 'Re-runs after a timeout or a kernel panic (the retries option).'],
]

// [metric suffix, stats() field, help]
const SUMMARIES = [
  ['task_run_duration_seconds', 'runTime', 'Time tasks spent running on a thread.'],
  ['task_wait_duration_seconds', 'waitTime', 'Time tasks waited in the queue before running.'],
]
const QUANTILES = [[0.5, 'p50'], [0.9, 'p90'], [0.99, 'p99'], [1, 'max']]

const { codeError } = require('./internal/errors.js')

function loadPromClient() {
  try {
    return require('prom-client')
  } catch (cause) {
    if (cause?.code !== 'MODULE_NOT_FOUND' || !String(cause.message).includes("'prom-client'")) throw cause
    throw codeError(Error, 'ERR_POOL_PROM_CLIENT_MISSING',
      "pool/prometheus needs the 'prom-client' package (a peer dependency): npm install prom-client", { cause })
  }
}

// Per pool: the live registrations and the pool's own resetStats, wrapped while any exist.
const hooked = new WeakMap()

function hookReset(pool, source) {
  let rec = hooked.get(pool)
  if (rec === undefined) {
    if (typeof pool.resetStats !== 'function') return
    const own = Object.prototype.hasOwnProperty.call(pool, 'resetStats')
    rec = { sources: new Set(), original: pool.resetStats, own, wrapper: undefined }
    rec.wrapper = function resetStats(...args) {
      for (const s of rec.sources) s.fold()
      return rec.original.apply(this, args)
    }
    Object.defineProperty(pool, 'resetStats', { value: rec.wrapper, writable: true, configurable: true, enumerable: false })
    hooked.set(pool, rec)
  }
  rec.sources.add(source)
}

function unhookReset(pool, source) {
  const rec = hooked.get(pool)
  if (rec === undefined || !rec.sources.delete(source) || rec.sources.size > 0) return
  hooked.delete(pool)
  if (pool.resetStats !== rec.wrapper) return // someone wrapped it after us: leave theirs alone
  if (rec.own) Object.defineProperty(pool, 'resetStats', { value: rec.original, writable: true, configurable: true, enumerable: false })
  else delete pool.resetStats
}

// One registered pool: its labels, its per-scrape snapshot and its monotonic totals.
class Source {
  constructor(pool, labels) {
    this.pool = pool
    this.labels = labels
    this.snapshot = undefined
    this.last = Object.create(null) // raw values as last read from stats()
    this.total = Object.create(null) // monotonic totals exported
    for (const [, field] of COUNTERS) this.last[field] = this.total[field] = 0
    for (const [, field] of SUMMARIES) {
      this.last[`${field}.count`] = this.total[`${field}.count`] = 0
      this.last[`${field}.sum`] = this.total[`${field}.sum`] = 0
    }
  }

  // The pool's stats, read once per scrape (cleared at the next microtask).
  stats() {
    if (this.snapshot === undefined) {
      this.snapshot = this.pool.stats()
      this.advance(this.snapshot)
      queueMicrotask(() => { this.snapshot = undefined })
    }
    return this.snapshot
  }

  advance(s) {
    for (const [, field] of COUNTERS) this.#add(field, s[field] ?? 0, undefined)
    for (const [, field] of SUMMARIES) {
      const t = s[field]
      const count = t?.count ?? 0
      // The sum is rebuilt from the mean, so it may wobble by an ulp: whether it was reset is
      // decided by its count, which is exact.
      const reset = count < this.last[`${field}.count`]
      this.#add(`${field}.count`, count, reset)
      this.#add(`${field}.sum`, count > 0 ? (t.mean * count) / 1000 : 0, reset) // ms → s
    }
  }

  // Adds what `key` grew by since the last read; a drop means a reset we did not see, so the
  // whole new value is new.
  #add(key, raw, reset = raw < this.last[key]) {
    this.total[key] += reset ? raw : Math.max(0, raw - this.last[key])
    this.last[key] = raw
  }

  // Called just before pool.resetStats(): take in what was counted since the last scrape.
  fold() {
    this.advance(this.pool.stats())
    for (const key in this.last) this.last[key] = 0
    this.snapshot = undefined
  }
}

// Metrics of one (registry, prefix): shared by every pool registered there, told apart by labels.
const groups = new WeakMap() // registry → Map(prefix → group)

function createGroup(client, registry, prefix, labelNames) {
  const group = { labelNames, sources: new Set(), metrics: [] }
  const each = (fn) => { for (const src of group.sources) fn(src, src.stats()) }

  for (const [suffix, help, read] of GAUGES) {
    group.metrics.push(new client.Gauge({
      name: prefix + suffix,
      help,
      labelNames,
      registers: [],
      collect() {
        this.reset()
        each((src, s) => this.set(src.labels, read(s)))
      },
    }))
  }
  for (const [suffix, field, help] of COUNTERS) {
    group.metrics.push(new client.Counter({
      name: prefix + suffix,
      help,
      labelNames,
      registers: [],
      // The totals live in the Source; the counter mirrors them (so registry.resetMetrics()
      // cannot make a pool's counter go backwards).
      collect() {
        this.reset()
        each((src) => this.inc(src.labels, src.total[field]))
      },
    }))
  }
  // A real prom-client Summary (type, exposition, getMetricsAsJSON) whose values come from the
  // pool rather than from observe(): see the comment at the top of this file.
  class PoolSummary extends client.Summary {
    constructor(config, field) {
      super(config)
      this.field = field
    }

    observe() {
      throw codeError(Error, 'ERR_METHOD_NOT_IMPLEMENTED', `${this.name} reads the pool's stats; it cannot be observed`)
    }

    async get() {
      const values = []
      each((src, s) => {
        const t = s[this.field]
        for (const [q, key] of QUANTILES) {
          values.push({ labels: { ...src.labels, quantile: q }, value: (t?.count > 0 ? t[key] : 0) / 1000 })
        }
        values.push({ metricName: `${this.name}_sum`, labels: src.labels, value: src.total[`${this.field}.sum`] })
        values.push({ metricName: `${this.name}_count`, labels: src.labels, value: src.total[`${this.field}.count`] })
      })
      return { name: this.name, help: this.help, type: 'summary', values, aggregator: this.aggregator }
    }
  }
  for (const [suffix, field, help] of SUMMARIES) {
    group.metrics.push(new PoolSummary({ name: prefix + suffix, help, labelNames, registers: [] }, field))
  }

  const taken = group.metrics.find((m) => registry.getSingleMetric(m.name) !== undefined)
  if (taken) {
    throw codeError(Error, 'ERR_POOL_METRIC_EXISTS',
      `The registry already has a metric named ${taken.name}; pass another prefix`)
  }
  for (const m of group.metrics) registry.registerMetric(m)
  group.registered = group.metrics.map((m) => [m.name, m])
  return group
}

function checkLabels(labels) {
  if (labels === undefined) return {}
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) {
    throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "labels" option must be an object of strings')
  }
  const out = {}
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_NAME.test(k) || k.startsWith('__') || k === 'quantile') {
      throw codeError(TypeError, 'ERR_INVALID_ARG_VALUE', `The "labels" option has an invalid label name: '${k}'`)
    }
    if (typeof v !== 'string' && typeof v !== 'number') {
      throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "labels.${k}" option must be a string`)
    }
    out[k] = String(v)
  }
  return out
}

/**
 * Exposes `pool`'s statistics as metrics on a prom-client `registry` (default: prom-client's
 * global registry). Several pools may share a registry: give them different `prefix`es, or the
 * same prefix with `labels` that tell them apart (the same label names for all of them).
 * Returns `{ unregister() }`, which removes this pool's series (and the metrics themselves once
 * no pool is left under that prefix).
 *
 * @param {import('./index.js').WorkerPool} pool
 * @param {import('prom-client').Registry} [registry]
 * @param {{ prefix?: string, labels?: Record<string, string> }} [options]
 */
function registerPoolMetrics(pool, registry = undefined, options = undefined) {
  if (pool === null || typeof pool !== 'object' || typeof pool.stats !== 'function') {
    throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "pool" argument must be a WorkerPool')
  }
  if (options === null || (options !== undefined && typeof options !== 'object')) {
    throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "options" argument must be of type object')
  }
  const { prefix = 'pool_', labels: rawLabels } = options ?? {}
  if (typeof prefix !== 'string') {
    throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "prefix" option must be of type string')
  }
  if (prefix !== '' && !METRIC_NAME.test(prefix)) {
    throw codeError(TypeError, 'ERR_INVALID_ARG_VALUE', `The "prefix" option is not a valid metric name prefix: '${prefix}'`)
  }
  const labels = checkLabels(rawLabels)
  const client = loadPromClient()
  registry ??= client.register
  if (registry === null || typeof registry !== 'object' || typeof registry.registerMetric !== 'function' ||
      typeof registry.getSingleMetric !== 'function' || typeof registry.removeSingleMetric !== 'function') {
    throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "registry" argument must be a prom-client Registry')
  }

  let byPrefix = groups.get(registry)
  if (byPrefix === undefined) groups.set(registry, (byPrefix = new Map()))
  const labelNames = Object.keys(labels).sort()
  let group = byPrefix.get(prefix)
  if (group !== undefined) {
    if (group.labelNames.join() !== labelNames.join()) {
      throw codeError(TypeError, 'ERR_INVALID_ARG_VALUE',
        `Pools registered under prefix '${prefix}' use the labels [${group.labelNames}]; got [${labelNames}]`)
    }
    const key = JSON.stringify(labelNames.map((k) => labels[k]))
    for (const s of group.sources) {
      if (JSON.stringify(labelNames.map((k) => s.labels[k])) === key) {
        throw codeError(Error, 'ERR_POOL_METRIC_EXISTS',
          `A pool is already registered under prefix '${prefix}' with the same labels; give each pool distinct labels`)
      }
    }
  } else {
    group = createGroup(client, registry, prefix, labelNames)
    byPrefix.set(prefix, group)
  }

  const source = new Source(pool, labels)
  group.sources.add(source)
  hookReset(pool, source)

  let registered = true
  return {
    unregister() {
      if (!registered) return
      registered = false
      unhookReset(pool, source)
      group.sources.delete(source)
      if (group.sources.size > 0) return
      // By the names registered: an OpenMetrics registry renames counters (drops `_total`) on scrape.
      for (const [name, m] of group.registered) {
        if (registry.getSingleMetric(name) === m) registry.removeSingleMetric(name)
      }
      if (byPrefix.get(prefix) === group) byPrefix.delete(prefix)
    },
  }
}

module.exports = { registerPoolMetrics }
module.exports.default = module.exports
