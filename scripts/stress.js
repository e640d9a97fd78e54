'use strict'
// `npm run stress` (node --expose-gc scripts/stress.js): long-haul load on one pool.
//
// Waves (default): --tasks (10M) tasks through ONE pool in --waves (20) waves, mixed kernels (echo,
// fib 5..15, sha256/xxh64/crc32/md5 of 64 bytes), 10% with an AbortSignal that fires at a random
// moment (synchronously, at the next turn, or after 0-2 ms), 1% that time out (fib(30) with a 1 ms
// timeout), at most --inflight (20k) pending at once. After each wave every promise must have
// settled; then gc() and RSS/heap are sampled. Pass: RSS after the last wave within 10% of RSS
// after the first, every promise settled, and no rejection but ABORT_ERR / ERR_POOL_TIMEOUT.
//
// Queued memory (after the waves): bytes per queued task with --queued (1M) tasks waiting (see
// queuedBytes() for the method).
//
// Sustained (--sustained [seconds], default 300): a steady mixed load (the wave mix plus 64 KiB
// hashes, small json.parse and csv.parse) with the event-loop delay p50/p99/max printed every 10 s.
//
// --quick: 400k tasks in 4 waves, 200k queued, 20 s sustained. --no-queued skips the queued
// measurement. Exit code 1 on any failure.

const os = require('node:os')
const { monitorEventLoopDelay } = require('node:perf_hooks')
const { WorkerPool } = require('..')

function parseArgs(argv) {
  const a = { tasks: 10_000_000, waves: 20, inflight: 20_000, queued: 1_000_000, sustained: 0, quick: false, noQueued: false }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    const num = () => Number(argv[++i])
    if (k === '--tasks') a.tasks = num()
    else if (k === '--waves') a.waves = num()
    else if (k === '--inflight') a.inflight = num()
    else if (k === '--queued') a.queued = num()
    else if (k === '--no-queued') a.noQueued = true
    else if (k === '--quick') a.quick = true
    else if (k === '--sustained') {
      a.sustained = argv[i + 1] !== undefined && /^\d+$/.test(argv[i + 1]) ? num() : 300
    } else throw new Error(`unknown argument ${k}`)
  }
  if (a.quick) {
    if (!argv.includes('--tasks')) a.tasks = 400_000
    if (!argv.includes('--waves')) a.waves = 4
    if (!argv.includes('--queued')) a.queued = 200_000
    if (a.sustained === 300 || (argv.includes('--sustained') && a.sustained === 0)) a.sustained = 20
  }
  return a
}

const MB = 2 ** 20
const fmtMB = (b) => `${(b / MB).toFixed(1)} MB`
const turn = () => new Promise((r) => setImmediate(r))
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
/** true if `promise` resolved within `ms`, false otherwise (the timer never holds the process). */
function within(promise, ms) {
  let t
  const timeout = new Promise((r) => { t = setTimeout(r, ms, false) })
  return Promise.race([promise.then(() => true), timeout]).finally(() => clearTimeout(t))
}

async function settleGc() {
  for (let i = 0; i < 4; i++) {
    globalThis.gc()
    await sleep(20)
  }
  return process.memoryUsage()
}

// xorshift32: cheap and seeded, so runs are comparable.
let rs = 0x9e3779b9
function rnd() {
  rs ^= rs << 13
  rs ^= rs >>> 17
  rs ^= rs << 5
  return (rs >>> 0) / 4294967296
}

const SMALL = Buffer.alloc(64, 7)
const FIB = [0, 1]
for (let i = 2; i < 40; i++) FIB[i] = FIB[i - 1] + FIB[i - 2]

/** The load generator shared by waves and sustained mode. */
class Load {
  constructor(pool, heavy) {
    this.pool = pool
    this.heavy = heavy // sustained mode adds 64 KiB hashes and parsers
    this.inflight = 0
    this.submitted = 0
    this.fulfilled = 0
    this.aborted = 0
    this.timedOut = 0
    this.other = Object.create(null)
    this.wrong = 0
    this.signalsFired = 0
    this.waiter = null
    this.low = 0
    this.pendingAborts = []
    this.onOk = () => {
      this.fulfilled++
      this.done()
    }
    this.onErr = (e) => {
      if (e?.code === 'ABORT_ERR') this.aborted++
      else if (e?.code === 'ERR_POOL_TIMEOUT') this.timedOut++
      else this.other[e?.code ?? String(e)] = (this.other[e?.code ?? String(e)] ?? 0) + 1
      this.done()
    }
    this.big = Buffer.alloc(64 * 1024, 3)
    this.json = JSON.stringify({ a: [1, 2, 3], b: 'x'.repeat(100), c: { d: null } })
    this.csv = 'a,b,c\n1,2,3\n"x,y",z,\n'
  }

  done() {
    this.inflight--
    if (this.waiter !== null && this.inflight <= this.low) {
      const w = this.waiter
      this.waiter = null
      w()
    }
  }

  /** Resolves once at most `n` tasks are pending. */
  until(n) {
    if (this.inflight <= n) return Promise.resolve()
    this.low = n
    return new Promise((r) => { this.waiter = r })
  }

  flushAborts() {
    const list = this.pendingAborts
    this.pendingAborts = []
    for (const ac of list) ac.abort()
    this.signalsFired += list.length
  }

  submitOne() {
    const pool = this.pool
    const r = rnd()
    let p
    if (r < 0.01) {
      // Times out: fib(30) runs ~5-10 ms, its timeout is 1 ms (counted from when it starts).
      p = pool.run('fib', 30, { timeout: 1 })
    } else {
      const k = rnd()
      let kernel
      let input
      let expect
      if (this.heavy && k < 0.05) [kernel, input] = [rnd() < 0.5 ? 'sha256' : 'xxh64', this.big]
      else if (this.heavy && k < 0.08) [kernel, input] = ['json.parse', this.json]
      else if (this.heavy && k < 0.1) [kernel, input] = ['csv.parse', this.csv]
      else if (k < 0.35) [kernel, input, expect] = ['echo', this.submitted, this.submitted]
      else if (k < 0.6) {
        const n = 5 + Math.floor(rnd() * 11)
        ;[kernel, input, expect] = ['fib', n, FIB[n]]
      } else if (k < 0.75) [kernel, input] = ['sha256', SMALL]
      else if (k < 0.85) [kernel, input] = ['xxh64', SMALL]
      else if (k < 0.95) [kernel, input] = ['crc32', SMALL]
      else [kernel, input] = ['md5', SMALL]
      if (r < 0.11) {
        // 10% aborted, at different moments: before it can start, or while queued/running.
        const ac = new AbortController()
        p = pool.run(kernel, input, { signal: ac.signal })
        // Most fire while the task is surely pending (synchronously); the rest race its completion,
        // so some of those tasks finish first and are not counted as aborted.
        const when = rnd()
        if (when < 0.7) {
          ac.abort()
          this.signalsFired++
        } else if (when < 0.9) this.pendingAborts.push(ac)
        else {
          setTimeout(() => {
            ac.abort()
            this.signalsFired++
          }, Math.floor(rnd() * 3))
        }
      } else {
        p = pool.run(kernel, input)
        if (expect !== undefined) {
          this.submitted++
          this.inflight++
          p.then((v) => {
            if (v !== expect) this.wrong++
            this.onOk()
          }, this.onErr)
          return
        }
      }
    }
    this.submitted++
    this.inflight++
    p.then(this.onOk, this.onErr)
  }

  /**
   * Submits `n` tasks keeping at most `max` pending; resolves when all of them settled.
   * `yieldEvery`: give the event loop a turn after that many submissions (sustained mode, so the
   * generator behaves like a server handling requests instead of holding the loop itself).
   */
  async run(n, max, deadlineMs, yieldEvery = Infinity) {
    const end = this.submitted + n
    let sinceTurn = 0
    let sinceYield = 0
    while (this.submitted < end) {
      this.submitOne()
      if (++sinceYield >= yieldEvery) {
        sinceYield = 0
        await turn()
      }
      if (++sinceTurn >= 512) {
        sinceTurn = 0
        if (this.pendingAborts.length) setImmediate(() => this.flushAborts())
        if (this.inflight >= max) await this.until(max >> 1)
      }
    }
    this.flushAborts()
    return within(this.until(0), deadlineMs)
  }
}

async function waves(args) {
  const pool = new WorkerPool({ threads: 2 })
  const load = new Load(pool, false)
  const per = Math.ceil(args.tasks / args.waves)
  const samples = []
  const started = Date.now()
  console.log(`waves: ${args.tasks.toLocaleString('en')} tasks in ${args.waves} waves of ${per.toLocaleString('en')}, <= ${args.inflight} pending, 2 threads`)
  console.log('wave  tasks/s    rss        heapUsed   external   aborted  timedOut')
  let ok = true
  for (let w = 0; w < args.waves; w++) {
    const t0 = Date.now()
    const before = { a: load.aborted, t: load.timedOut }
    const settled = await load.run(per, args.inflight, 120_000)
    if (!settled) {
      console.log(`wave ${w}: ${load.inflight} promises still pending after 120 s: FAIL`)
      ok = false
      break
    }
    const dt = (Date.now() - t0) / 1000
    const m = await settleGc()
    samples.push(m)
    console.log(`${String(w + 1).padStart(4)}  ${(per / dt / 1000).toFixed(0).padStart(5)} k/s  ${fmtMB(m.rss).padStart(9)}  ${fmtMB(m.heapUsed).padStart(9)}  ${fmtMB(m.external).padStart(9)}  ${String(load.aborted - before.a).padStart(7)}  ${String(load.timedOut - before.t).padStart(8)}`)
  }
  const first = samples[0]
  const last = samples[samples.length - 1]
  const drift = first && last ? (last.rss - first.rss) / first.rss : NaN
  const stats = pool.stats()
  await pool.close()
  const otherCount = Object.values(load.other).reduce((a, b) => a + b, 0)
  const result = {
    tasks: load.submitted,
    fulfilled: load.fulfilled,
    aborted: load.aborted,
    timedOut: load.timedOut,
    otherRejections: load.other,
    wrongResults: load.wrong,
    unsettled: load.inflight,
    rssFirst: first?.rss,
    rssLast: last?.rss,
    rssDrift: drift,
    heapFirst: first?.heapUsed,
    heapLast: last?.heapUsed,
    seconds: (Date.now() - started) / 1000,
    poolCompleted: stats.completed,
  }
  const pass = ok && load.inflight === 0 && otherCount === 0 && load.wrong === 0 && Math.abs(drift) <= 0.10 &&
    load.fulfilled + load.aborted + load.timedOut === load.submitted
  result.signalsFired = load.signalsFired
  console.log(`tasks ${result.tasks.toLocaleString('en')}: fulfilled ${load.fulfilled.toLocaleString('en')}, abort signals fired ${load.signalsFired.toLocaleString('en')} (${(100 * load.signalsFired / load.submitted).toFixed(1)}%), rejected ABORT_ERR ${load.aborted.toLocaleString('en')} (${(100 * load.aborted / load.submitted).toFixed(1)}%), timed out ${load.timedOut.toLocaleString('en')} (${(100 * load.timedOut / load.submitted).toFixed(2)}%), other rejections ${JSON.stringify(load.other)}, wrong results ${load.wrong}, unsettled ${load.inflight}, ${result.seconds.toFixed(0)} s`)
  console.log(`RSS after wave 1 ${fmtMB(first?.rss ?? 0)}, after wave ${samples.length} ${fmtMB(last?.rss ?? 0)}: drift ${(drift * 100).toFixed(1)}% (limit ±10%); heapUsed ${fmtMB(first?.heapUsed ?? 0)} -> ${fmtMB(last?.heapUsed ?? 0)}`)
  console.log(`waves ${pass ? 'PASS' : 'FAIL'}`)
  return { pass, result }
}

// Bytes per queued task. Method: a 1-thread pool whose thread is held by a fib(45) (aborted at the
// end); after gc() the process's RSS and V8 heap are read, then `n` echo tasks are queued behind the
// blocker (their promises kept in an array, as a caller holding them would) and both are read again
// after gc(). (RSS delta)/n is what one waiting task costs the process (JS promise + the native queue
// entry + napi deferred); heap delta/n is the JS part of it; the rest is native.
async function queuedBytes(n) {
  const pool = new WorkerPool({ threads: 1 })
  const blocker = new AbortController()
  const held = pool.run('fib', 45, { signal: blocker.signal }).catch((e) => e.code)
  while (pool.running === 0) await sleep(1)
  const promises = new Array(n)
  const m0 = await settleGc()
  for (let i = 0; i < n; i++) promises[i] = pool.run('echo', i)
  const m1 = await settleGc()
  const queued = pool.queueSize
  const rss = (m1.rss - m0.rss) / n
  const heap = (m1.heapUsed - m0.heapUsed) / n
  const ext = (m1.external - m0.external) / n
  // Drain: destroy rejects the queued tasks with ERR_POOL_CLOSED; every promise must settle.
  const settledAll = Promise.allSettled(promises)
  blocker.abort()
  await pool.destroy()
  const outcomes = await settledAll
  const codes = {}
  for (const o of outcomes) {
    const k = o.status === 'fulfilled' ? 'fulfilled' : o.reason?.code
    codes[k] = (codes[k] ?? 0) + 1
  }
  await held
  console.log(`queued: ${queued.toLocaleString('en')} tasks waiting behind a busy thread: +${fmtMB(m1.rss - m0.rss)} RSS, +${fmtMB(m1.heapUsed - m0.heapUsed)} V8 heap`)
  console.log(`queued: ${rss.toFixed(0)} bytes per queued task (RSS; V8 heap ${heap.toFixed(0)}, external ${ext.toFixed(0)}, native rest ~${(rss - heap).toFixed(0)}); after destroy(): ${JSON.stringify(codes)}`)
  return { queued, bytesPerTaskRss: rss, bytesPerTaskHeap: heap, outcomes: codes }
}

async function sustained(seconds) {
  const pool = new WorkerPool({ threads: 2 })
  const load = new Load(pool, true)
  const h = monitorEventLoopDelay({ resolution: 1 })
  h.enable()
  const started = Date.now()
  const rows = []
  console.log(`sustained: mixed load for ${seconds} s, <= 4000 pending, 2 threads; event-loop delay every 10 s`)
  console.log('   t    tasks/s   EL p50   EL p99   EL max   rss       load avg (1 min, whole machine)')
  let lastCount = 0
  let next = started + 10_000
  const endAt = started + seconds * 1000
  let stop = false
  const driver = (async () => {
    while (!stop) await load.run(2000, 4000, 60_000, 100)
  })()
  while (Date.now() < endAt) {
    await sleep(Math.max(0, Math.min(next, endAt) - Date.now()))
    const now = Date.now()
    const span = (now - (next - 10_000)) / 1000
    const done = load.fulfilled + load.aborted + load.timedOut
    const row = {
      t: Math.round((now - started) / 1000),
      tasksPerS: (done - lastCount) / span,
      p50: h.percentile(50) / 1e6,
      p99: h.percentile(99) / 1e6,
      max: h.max / 1e6,
      rss: process.memoryUsage().rss,
      load: os.loadavg()[0],
    }
    lastCount = done
    rows.push(row)
    console.log(`${String(row.t).padStart(4)}  ${(row.tasksPerS / 1000).toFixed(1).padStart(6)} k/s  ${row.p50.toFixed(2).padStart(5)} ms ${row.p99.toFixed(2).padStart(6)} ms ${row.max.toFixed(1).padStart(6)} ms  ${fmtMB(row.rss).padStart(9)}  ${row.load.toFixed(1)}`)
    h.reset()
    next += 10_000
  }
  stop = true
  await driver
  const settled = await within(load.until(0), 60_000)
  h.disable()
  await pool.close()
  const otherCount = Object.values(load.other).reduce((a, b) => a + b, 0)
  const p99s = rows.map((r) => r.p99).sort((a, b) => a - b)
  const worst = p99s[p99s.length - 1]
  console.log(`sustained: ${load.submitted.toLocaleString('en')} tasks, unsettled ${load.inflight}, other rejections ${JSON.stringify(load.other)}, wrong ${load.wrong}; EL p99 per 10 s: median ${p99s[p99s.length >> 1]?.toFixed(2)} ms, worst ${worst?.toFixed(2)} ms`)
  const pass = settled && otherCount === 0 && load.wrong === 0
  console.log(`sustained ${pass ? 'PASS' : 'FAIL'}`)
  return { pass, rows, tasks: load.submitted }
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  if (typeof globalThis.gc !== 'function') {
    console.error('run with node --expose-gc (npm run stress)')
    process.exit(2)
  }
  let pass = true
  if (args.sustained > 0) {
    pass = (await sustained(args.sustained)).pass
  } else {
    pass = (await waves(args)).pass
    if (!args.noQueued) await queuedBytes(args.queued)
  }
  process.exitCode = pass ? 0 : 1
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
