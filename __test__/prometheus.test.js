'use strict'
// pool/prometheus: registerPoolMetrics() on a real prom-client Registry, checked by parsing the
// text exposition that a Prometheus server would scrape.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const client = require('prom-client')
const { WorkerPool } = require('..')
const { registerPoolMetrics } = require('../lib/prometheus.js')
const { LONG, rejectsWith, withPool, waitFor, occupy } = require('./helpers')

const NAMES = {
  gauge: ['threads', 'min_threads', 'max_threads', 'queued_tasks', 'running_tasks', 'utilization_ratio'],
  counter: ['tasks_completed_total', 'tasks_failed_total', 'tasks_cancelled_total', 'tasks_timed_out_total', 'tasks_retried_total'],
  summary: ['task_run_duration_seconds', 'task_wait_duration_seconds'],
}

/**
 * Parses Prometheus text exposition: { help: Map(name → text), type: Map(name → type),
 * samples: Map('name{a="b",...}' → number) } with labels kept in the order printed.
 */
function parse(text) {
  const help = new Map()
  const type = new Map()
  const samples = new Map()
  for (const line of text.split('\n')) {
    if (line === '') continue
    let m
    if ((m = /^# HELP (\S+) (.*)$/.exec(line))) help.set(m[1], m[2])
    else if ((m = /^# TYPE (\S+) (\S+)$/.exec(line))) type.set(m[1], m[2])
    else if ((m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line))) {
      assert.ok(!samples.has(m[1]), `duplicate sample ${m[1]}`)
      samples.set(m[1], Number(m[2]))
    } else assert.fail(`unparsable exposition line: ${line}`)
  }
  return { help, type, samples }
}

async function scrape(registry) {
  return parse(await registry.metrics())
}

/** The value of one sample; fails if it is absent. */
function value(parsed, key) {
  assert.ok(parsed.samples.has(key), `no sample ${key}; have: ${[...parsed.samples.keys()].join(', ')}`)
  return parsed.samples.get(key)
}

describe('registerPoolMetrics', () => {
  it('exposes every gauge, counter and summary with HELP and TYPE lines', async () => {
    await withPool({ threads: 2 }, async (pool) => {
      const registry = new client.Registry()
      registerPoolMetrics(pool, registry)
      const m = await scrape(registry)
      for (const [type, names] of Object.entries(NAMES)) {
        for (const n of names) {
          assert.equal(m.type.get(`pool_${n}`), type, `TYPE of pool_${n}`)
          assert.ok(m.help.get(`pool_${n}`)?.length > 10, `HELP of pool_${n}`)
        }
      }
      assert.equal(m.type.size, 13, 'no other metrics')
      assert.equal(value(m, 'pool_threads'), 2)
      assert.equal(value(m, 'pool_tasks_completed_total'), 0)
      assert.equal(value(m, 'pool_task_run_duration_seconds_count'), 0)
      assert.equal(value(m, 'pool_task_run_duration_seconds{quantile="0.5"}'), 0)
    })
  })

  it('counts completed and failed tasks, and run/wait time as summaries in seconds', async () => {
    await withPool({ threads: 2 }, async (pool) => {
      const registry = new client.Registry()
      registerPoolMetrics(pool, registry)
      await Promise.all(Array.from({ length: 7 }, () => pool.run('fib', 25)))
      await pool.runBatch('fib', [1, 2, 3])
      await rejectsWith(pool.run('fib', 'x'), TypeError, 'ERR_INVALID_ARG_TYPE')
      await rejectsWith(pool.run('sha256', 42), TypeError, 'ERR_INVALID_ARG_TYPE')
      const s = pool.stats()
      const m = await scrape(registry)
      assert.equal(value(m, 'pool_tasks_completed_total'), 12, '7 runs + 3 batch inputs + 2 failures')
      assert.equal(value(m, 'pool_tasks_completed_total'), s.completed)
      assert.equal(value(m, 'pool_tasks_failed_total'), 2)
      assert.equal(value(m, 'pool_tasks_cancelled_total'), 0)
      assert.equal(value(m, 'pool_tasks_timed_out_total'), 0)
      assert.equal(value(m, 'pool_running_tasks'), 0)
      assert.equal(value(m, 'pool_queued_tasks'), 0)
      const u = value(m, 'pool_utilization_ratio')
      assert.ok(u > 0 && u <= 1, `utilization ${u}`)
      for (const [name, t] of [['run', s.runTime], ['wait', s.waitTime]]) {
        const base = `pool_task_${name}_duration_seconds`
        assert.ok(t.count >= 7, `${name} count ${t.count}`)
        assert.equal(value(m, `${base}_count`), t.count)
        assert.ok(Math.abs(value(m, `${base}_sum`) - (t.mean * t.count) / 1000) < 1e-9, `${base}_sum`)
        assert.equal(value(m, `${base}{quantile="0.5"}`), t.p50 / 1000)
        assert.equal(value(m, `${base}{quantile="0.9"}`), t.p90 / 1000)
        assert.equal(value(m, `${base}{quantile="0.99"}`), t.p99 / 1000)
        assert.equal(value(m, `${base}{quantile="1"}`), t.max / 1000)
      }
      // fib(25) takes well under a second and more than a microsecond: seconds, not ms or ns.
      const p50 = value(m, 'pool_task_run_duration_seconds{quantile="0.5"}')
      assert.ok(p50 > 1e-6 && p50 < 1, `p50 ${p50} s`)
    })
  })

  it('shows running and queued tasks, cancellations and timeouts', async () => {
    await withPool({ threads: 1 }, async (pool) => {
      const registry = new client.Registry()
      registerPoolMetrics(pool, registry)
      const ac = new AbortController()
      const blocker = pool.run('fib', LONG, { signal: ac.signal })
      blocker.catch(() => {})
      await waitFor(() => pool.running === 1, 'blocker running')
      const queued = [1, 2, 3].map((n) => pool.run('fib', n))
      let m = await scrape(registry)
      assert.equal(value(m, 'pool_running_tasks'), 1)
      assert.equal(value(m, 'pool_queued_tasks'), 3)
      ac.abort()
      await rejectsWith(blocker, Error, 'ABORT_ERR')
      await Promise.all(queued)
      await rejectsWith(pool.run('fib', LONG, { timeout: 20 }), Error, 'ERR_POOL_TIMEOUT')
      await waitFor(() => pool.running === 0, 'timed-out task stopped')
      m = await scrape(registry)
      assert.equal(value(m, 'pool_running_tasks'), 0)
      assert.equal(value(m, 'pool_queued_tasks'), 0)
      assert.equal(value(m, 'pool_tasks_cancelled_total'), 1)
      assert.equal(value(m, 'pool_tasks_timed_out_total'), 1)
      assert.equal(value(m, 'pool_tasks_completed_total'), 5)
    })
  })

  it('reads pool.stats() once per scrape', async () => {
    await withPool({ threads: 1 }, async (pool) => {
      const registry = new client.Registry()
      let calls = 0
      const stats = pool.stats
      pool.stats = function () { calls++; return stats.call(this) }
      registerPoolMetrics(pool, registry)
      await registry.metrics()
      assert.equal(calls, 1)
      await registry.metrics()
      assert.equal(calls, 2)
      await registry.getMetricsAsJSON()
      assert.equal(calls, 3)
    })
  })

  it('honours the prefix, and labels tell pools apart under one prefix', async () => {
    const a = new WorkerPool({ threads: 1 })
    const b = new WorkerPool({ threads: 2 })
    try {
      const registry = new client.Registry()
      registerPoolMetrics(a, registry, { prefix: 'app_workers_', labels: { pool: 'a' } })
      registerPoolMetrics(b, registry, { prefix: 'app_workers_', labels: { pool: 'b' } })
      await a.run('fib', 10)
      await b.runBatch('fib', [1, 2, 3, 4])
      const text = await registry.metrics()
      assert.doesNotMatch(text, /^pool_/m, 'no default-prefixed metric')
      const m = parse(text)
      assert.equal(m.type.get('app_workers_threads'), 'gauge')
      assert.equal(value(m, 'app_workers_threads{pool="a"}'), 1)
      assert.equal(value(m, 'app_workers_threads{pool="b"}'), 2)
      assert.equal(value(m, 'app_workers_tasks_completed_total{pool="a"}'), 1)
      assert.equal(value(m, 'app_workers_tasks_completed_total{pool="b"}'), 4)
      assert.equal(value(m, 'app_workers_task_run_duration_seconds_count{pool="b"}'), b.stats().runTime.count)
      assert.ok(m.samples.has('app_workers_task_run_duration_seconds{pool="a",quantile="0.99"}'))

      // Same labels again, or other label names, under the same prefix: refused.
      assert.throws(() => registerPoolMetrics(b, registry, { prefix: 'app_workers_', labels: { pool: 'a' } }),
        { code: 'ERR_POOL_METRIC_EXISTS' })
      assert.throws(() => registerPoolMetrics(b, registry, { prefix: 'app_workers_', labels: { name: 'c' } }),
        { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
      assert.throws(() => registerPoolMetrics(b, registry, { prefix: 'app_workers_' }),
        { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
    } finally {
      await Promise.all([a.destroy(), b.destroy()])
    }
  })

  it('unregister() removes a pool\'s series, then the metrics; it is idempotent', async () => {
    const a = new WorkerPool({ threads: 1 })
    const b = new WorkerPool({ threads: 1 })
    try {
      const registry = new client.Registry()
      const other = new client.Gauge({ name: 'unrelated', help: 'not ours', registers: [registry] })
      other.set(7)
      const ha = registerPoolMetrics(a, registry, { labels: { pool: 'a' } })
      const hb = registerPoolMetrics(b, registry, { labels: { pool: 'b' } })
      ha.unregister()
      let m = await scrape(registry)
      assert.ok(!m.samples.has('pool_threads{pool="a"}'))
      assert.equal(value(m, 'pool_threads{pool="b"}'), 1)
      hb.unregister()
      hb.unregister()
      m = await scrape(registry)
      assert.deepEqual([...m.type.keys()], ['unrelated'])
      assert.equal(value(m, 'unrelated'), 7)
      assert.equal(registry.getSingleMetric('pool_threads'), undefined)
      // The names are free again.
      registerPoolMetrics(a, registry)
      assert.equal(value(await scrape(registry), 'pool_threads'), 1)
    } finally {
      await Promise.all([a.destroy(), b.destroy()])
    }
  })

  it('works on an OpenMetrics registry (which renames counters), unregister included', async () => {
    await withPool({ threads: 1 }, async (pool) => {
      const registry = new client.Registry(client.Registry.OPENMETRICS_CONTENT_TYPE)
      const handle = registerPoolMetrics(pool, registry)
      await pool.run('fib', 10)
      const text = await registry.metrics()
      assert.match(text, /^# TYPE pool_tasks_completed counter$/m)
      assert.match(text, /^pool_tasks_completed_total 1$/m)
      assert.match(text, /^pool_task_run_duration_seconds_count 1$/m)
      handle.unregister()
      assert.equal(await registry.metrics(), '\n# EOF\n')
    })
  })

  it('refuses a registry where a name is taken, registering nothing', async () => {
    await withPool({ threads: 1 }, async (pool) => {
      const registry = new client.Registry()
      new client.Counter({ name: 'pool_tasks_failed_total', help: 'mine', registers: [registry] })
      assert.throws(() => registerPoolMetrics(pool, registry), { code: 'ERR_POOL_METRIC_EXISTS', message: /pool_tasks_failed_total/ })
      assert.deepEqual((await registry.getMetricsAsJSON()).map((x) => x.name), ['pool_tasks_failed_total'])
      registerPoolMetrics(pool, registry, { prefix: 'p2_' })
      assert.equal(value(await scrape(registry), 'p2_threads'), 1)
    })
  })

  it('counters never go backwards (registry.resetMetrics(), pool.resetStats())', async () => {
    await withPool({ threads: 1 }, async (pool) => {
      const registry = new client.Registry()
      registerPoolMetrics(pool, registry)
      await pool.runBatch('fib', [1, 2, 3])
      assert.equal(value(await scrape(registry), 'pool_tasks_completed_total'), 3)
      registry.resetMetrics()
      assert.equal(value(await scrape(registry), 'pool_tasks_completed_total'), 3)
    })
  })

  it('keeps counters and summary _count/_sum monotonic across pool.resetStats()', {
    skip: typeof WorkerPool.prototype.resetStats !== 'function' && 'pool.resetStats() not in this build yet',
  }, async () => {
    await withPool({ threads: 1 }, async (pool) => {
      const registry = new client.Registry()
      const handle = registerPoolMetrics(pool, registry)
      await pool.runBatch('fib', [1, 2, 3])
      let m = await scrape(registry)
      assert.equal(value(m, 'pool_tasks_completed_total'), 3)
      const sum1 = value(m, 'pool_task_run_duration_seconds_sum')
      await pool.run('fib', 'x').catch(() => {})
      await pool.runBatch('fib', [4, 5])
      // Reset with no scrape since those 3 tasks, then more tasks than before the reset: only
      // folding in at the reset gets 3 + 3 + 4 (deltas alone would see 4 - 6 < 0 → 4, or miss 3).
      pool.resetStats()
      assert.equal(pool.stats().completed, 0)
      await pool.runBatch('fib', [6, 7, 8, 9])
      m = await scrape(registry)
      assert.equal(value(m, 'pool_tasks_completed_total'), 10)
      assert.equal(value(m, 'pool_tasks_failed_total'), 1)
      assert.ok(value(m, 'pool_task_run_duration_seconds_sum') >= sum1)
      const runCount = value(m, 'pool_task_run_duration_seconds_count')
      assert.ok(runCount >= 4 + pool.stats().runTime.count, `run count ${runCount}`)
      // The wrapper is gone after unregister: resetStats is the class method again.
      handle.unregister()
      assert.equal(Object.prototype.hasOwnProperty.call(pool, 'resetStats'), false)
      assert.equal(pool.resetStats, WorkerPool.prototype.resetStats)
    })
  })

  it('still reads a closed pool', async () => {
    const pool = new WorkerPool({ threads: 1 })
    const registry = new client.Registry()
    registerPoolMetrics(pool, registry)
    await pool.run('fib', 20)
    await pool.close()
    const m = await scrape(registry)
    assert.equal(value(m, 'pool_tasks_completed_total'), 1)
  })

  it('validates its arguments', async () => {
    await withPool({ threads: 1 }, async (pool) => {
      const registry = new client.Registry()
      assert.throws(() => registerPoolMetrics({}, registry), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
      assert.throws(() => registerPoolMetrics(pool, {}), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
      assert.throws(() => registerPoolMetrics(pool, registry, { prefix: 'bad-prefix' }), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
      assert.throws(() => registerPoolMetrics(pool, registry, { prefix: 1 }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
      assert.throws(() => registerPoolMetrics(pool, registry, { labels: { quantile: 'x' } }), { code: 'ERR_INVALID_ARG_VALUE' })
      assert.throws(() => registerPoolMetrics(pool, registry, { labels: 'x' }), { code: 'ERR_INVALID_ARG_TYPE' })
      assert.equal((await registry.getMetricsAsJSON()).length, 0)
    })
  })

  it('defaults to prom-client\'s global registry', async () => {
    await withPool({ threads: 3 }, async (pool) => {
      const handle = registerPoolMetrics(pool, undefined, { prefix: 'global_test_' })
      try {
        assert.equal(value(await scrape(client.register), 'global_test_threads'), 3)
      } finally {
        handle.unregister()
      }
      assert.equal(client.register.getSingleMetric('global_test_threads'), undefined)
    })
  })

  it('gives a clear error with a code when prom-client is not installed', async () => {
    // A copy of the module where no node_modules is reachable: a real MODULE_NOT_FOUND.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pool-prom-'))
    try {
      // prometheus.js and the one helper it requires, in the same layout.
      fs.mkdirSync(path.join(dir, 'internal'))
      fs.copyFileSync(path.join(__dirname, '..', 'lib', 'prometheus.js'), path.join(dir, 'prometheus.js'))
      fs.copyFileSync(path.join(__dirname, '..', 'lib', 'internal', 'errors.js'), path.join(dir, 'internal', 'errors.js'))
      const copy = require(path.join(dir, 'prometheus.js'))
      await withPool({ threads: 1 }, async (pool) => {
        assert.throws(() => copy.registerPoolMetrics(pool, new client.Registry()), (err) => {
          assert.equal(err.code, 'ERR_POOL_PROM_CLIENT_MISSING')
          assert.match(err.message, /npm install prom-client/)
          assert.equal(err.cause.code, 'MODULE_NOT_FOUND')
          return true
        })
      })
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('loads as an ES module (import from \'pool/prometheus\', named and default)', () => {
    const out = execFileSync(process.execPath, [path.join(__dirname, 'fixtures', 'prometheus.mjs')], {
      encoding: 'utf8',
      timeout: 20000,
    })
    assert.deepEqual(JSON.parse(out), { same: true, completed: 1, threads: 1 })
  })

  it('scrapes while every thread is busy without waiting for them', async () => {
    await withPool({ threads: 2 }, async (pool) => {
      const registry = new client.Registry()
      registerPoolMetrics(pool, registry)
      // fib(LONG) is seconds of CPU per thread, a scrape milliseconds on the event loop: the
      // scrape is answered while both still run (destroy() stops them afterwards).
      await occupy(pool, LONG)
      const m = await scrape(registry)
      assert.equal(value(m, 'pool_running_tasks'), 2)
      assert.equal(pool.running, 2, 'the scrape did not wait for the busy threads')
    })
  })
})
