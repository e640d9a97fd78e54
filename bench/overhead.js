'use strict'
// Pool-overhead benchmark: `pool` (native Rust threads) vs piscina (worker_threads), same process,
// same run, same thread count. Absolute timings on small VMs are noisy, so every comparison is
// made between contenders measured interleaved in the same run, and reported as a median + ratio.
//
//   node bench/overhead.js [--threads N] [--reps N] [--quick] [--json path]
//
// Measured (warm-up rep first, then --reps reps, median reported):
//   1. throughput: N trivial tasks submitted at once (Promise.all of run('echo', i))
//   2. latency: trivial tasks awaited one at a time, median round trip per task
//   3. runBatch('echo', N numbers) throughput (pool only; piscina has no batch API)
//   4. event-loop delay (p99, max) while all pool threads run fib(35); the main thread only awaits
//   5. RSS added by a 16-thread pool (fresh child process per sample)
//   6. startup: constructor -> first result of run('echo', 1) (fresh child process per sample)

const path = require('node:path')
const os = require('node:os')
const fs = require('node:fs')
const { execFile } = require('node:child_process')
const { promisify, parseArgs } = require('node:util')
const { monitorEventLoopDelay } = require('node:perf_hooks')
const { median, spread, gc, positiveInt, markdownTable } = require('./lib')

const TRIVIAL_WORKER = path.join(__dirname, 'workers', 'trivial.js')
const FIB_WORKER = path.join(__dirname, 'workers', 'fib.js')
const FIB_N = 35
const RSS_THREADS = 16
const MB = 1024 * 1024

// ---------------------------------------------------------------------------------------------
// Options

function parseOptions() {
  const { values } = parseArgs({
    options: {
      threads: { type: 'string', default: '2' },
      reps: { type: 'string' },
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      child: { type: 'string' }, // internal: 'startup' | 'rss'
      kind: { type: 'string' }, // internal: 'pool' | 'piscina'
    },
  })
  const quick = values.quick
  return {
    threads: positiveInt('threads', values.threads),
    reps: positiveInt('reps', values.reps ?? (quick ? '3' : '5')),
    quick,
    json: values.json,
    child: values.child,
    kind: values.kind,
    // Workload sizes. piscina manages ~30-50k tasks/s here, so --quick gives it fewer tasks
    // (tasks/s stays comparable).
    throughputTasks: { pool: 100_000, piscina: quick ? 20_000 : 100_000 },
    sequentialTasks: quick ? 2_000 : 5_000,
    batchTasks: 100_000,
    fibTasks: quick ? 10 : 20,
  }
}

// ---------------------------------------------------------------------------------------------
// Contenders: the same small interface over both pools.

function loadPool() {
  return require('..').WorkerPool
}

function loadPiscina() {
  return require('piscina').Piscina
}

function createPool(threads, WorkerPool = loadPool()) {
  const pool = new WorkerPool({ threads })
  return {
    name: 'pool',
    echo: (x) => pool.run('echo', x),
    fib: (n) => pool.run('fib', n),
    batch: (xs) => pool.runBatch('echo', xs),
    ready: async () => {},
    close: () => pool.close(),
  }
}

function createPiscina(threads, Piscina = loadPiscina()) {
  const piscina = new Piscina({ filename: TRIVIAL_WORKER, minThreads: threads, maxThreads: threads })
  let readyWorkers = 0
  let onAllReady
  const allReady = new Promise((resolve) => { onAllReady = resolve })
  piscina.on('workerCreate', () => { if (++readyWorkers === threads) onAllReady() })
  return {
    name: 'piscina',
    echo: (x) => piscina.run(x),
    fib: (n) => piscina.run(n, { filename: FIB_WORKER }),
    batch: null,
    ready: () => allReady,
    close: () => piscina.destroy(),
  }
}

const CREATORS = { pool: createPool, piscina: createPiscina }

// ---------------------------------------------------------------------------------------------
// Statistics and timing


function nowMs() {
  return performance.now()
}


function assertEqual(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: expected ${expected}, got ${actual}`)
}

// Runs one warm-up round, then `reps` rounds; each round runs every contender once (interleaved,
// so slow drift of the machine affects all contenders alike). Returns { [name]: samples[] }.
async function sampleInterleaved(reps, contenders, workload) {
  const samples = Object.fromEntries(contenders.map((c) => [c.name, []]))
  for (let rep = -1; rep < reps; rep++) {
    for (const c of contenders) {
      gc()
      const value = await workload(c)
      if (rep >= 0) samples[c.name].push(value)
    }
  }
  return samples
}

// ---------------------------------------------------------------------------------------------
// Workloads (each returns one sample)

async function throughputAtOnce(c, n) {
  const promises = new Array(n)
  const t0 = nowMs()
  for (let i = 0; i < n; i++) promises[i] = c.echo(i)
  const results = await Promise.all(promises)
  const ms = nowMs() - t0
  assertEqual(results[n - 1], n - 1, `${c.name} echo`)
  return (n / ms) * 1000 // tasks/s
}

async function sequentialRoundTrip(c, n) {
  const times = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const t0 = nowMs()
    const r = await c.echo(i)
    times[i] = nowMs() - t0
    if (r !== i) assertEqual(r, i, `${c.name} echo`)
  }
  return median(times) * 1000 // µs
}

async function batchThroughput(c, inputs) {
  const t0 = nowMs()
  const results = await c.batch(inputs)
  const ms = nowMs() - t0
  assertEqual(results.length, inputs.length, 'runBatch length')
  assertEqual(results[inputs.length - 1], inputs[inputs.length - 1], 'runBatch result')
  return (inputs.length / ms) * 1000 // tasks/s
}

async function eventLoopDelay(c, tasks) {
  const h = monitorEventLoopDelay({ resolution: 1 })
  h.enable()
  await Promise.all(Array.from({ length: tasks }, () => c.fib(FIB_N)))
  h.disable()
  return { p99: h.percentile(99) / 1e6, max: h.max / 1e6 } // ms
}

async function idleEventLoopDelay(ms) {
  const h = monitorEventLoopDelay({ resolution: 1 })
  h.enable()
  await new Promise((resolve) => setTimeout(resolve, ms))
  h.disable()
  return { p99: h.percentile(99) / 1e6, max: h.max / 1e6 }
}

// ---------------------------------------------------------------------------------------------
// Child-process measurements (startup and RSS need a fresh process each)

async function childMain(opts) {
  const create = CREATORS[opts.kind]
  if (!create) throw new Error(`unknown --kind ${opts.kind}`)
  const Ctor = opts.kind === 'pool' ? loadPool() : loadPiscina() // module load is not measured
  let result
  if (opts.child === 'startup') {
    const t0 = nowMs()
    const c = create(opts.threads, Ctor)
    assertEqual(await c.echo(1), 1, `${opts.kind} echo`)
    result = { startupMs: nowMs() - t0 }
    await c.close()
  } else if (opts.child === 'rss') {
    gc()
    const before = process.memoryUsage().rss
    const threadsBefore = osThreadCount()
    const c = create(opts.threads, Ctor)
    await c.ready()
    await Promise.all(Array.from({ length: opts.threads * 2 }, (_, i) => c.echo(i)))
    const after = process.memoryUsage().rss
    result = { rssAddedMB: (after - before) / MB, osThreadsAdded: osThreadCount() - threadsBefore }
    await c.close()
  } else {
    throw new Error(`unknown --child ${opts.child}`)
  }
  process.stdout.write(JSON.stringify(result) + '\n')
}

// OS threads of this process (Linux), to check that the pool really started its threads.
function osThreadCount() {
  try {
    return fs.readdirSync('/proc/self/task').length
  } catch {
    return NaN
  }
}

const execFileAsync = promisify(execFile)

async function runChild(mode, kind, threads) {
  const args = ['--expose-gc', __filename, '--child', mode, '--kind', kind, '--threads', String(threads)]
  const { stdout } = await execFileAsync(process.execPath, args, { timeout: 60_000 })
  return JSON.parse(stdout.trim().split('\n').pop())
}

// Like sampleInterleaved, one fresh child per sample (no warm-up needed: cold is the point).
// Returns { [kind]: childResult[] }.
async function sampleChildren(reps, mode, threads) {
  const samples = { pool: [], piscina: [] }
  for (let rep = 0; rep < reps; rep++) {
    for (const kind of Object.keys(samples)) samples[kind].push(await runChild(mode, kind, threads))
  }
  return samples
}

// { [name]: object[] } -> { [name]: number[] } for one field.
function pick(samples, field) {
  return Object.fromEntries(Object.entries(samples).map(([name, xs]) => [name, xs.map((x) => x[field])]))
}

// ---------------------------------------------------------------------------------------------
// Report

const fmt = {
  rate: (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)} M/s` : `${(v / 1e3).toFixed(1)} k/s`),
  us: (v) => `${v.toFixed(1)} µs`,
  ms: (v) => `${v.toFixed(2)} ms`,
  mb: (v) => `${v.toFixed(1)} MB`,
}

// A result row. `check(pool, ratio)` returns true/false, or undefined for informational rows.
function row(workload, samples, format, target, check, note) {
  const pool = median(samples.pool)
  const piscina = samples.piscina ? median(samples.piscina) : undefined
  const ratio = piscina === undefined ? undefined : pool / piscina
  return { workload, pool, piscina, ratio, samples, format, target, met: check ? check(pool, ratio) : undefined, note }
}


function printHeader(opts) {
  const cpus = os.cpus()
  console.log('# pool overhead benchmark: pool (native threads) vs piscina (worker_threads)')
  console.log()
  console.log(`- date: ${new Date().toISOString()}`)
  console.log(`- node ${process.version}, ${os.platform()}-${os.arch()}, ${cpus.length} CPUs (${cpus[0]?.model ?? '?'})`)
  console.log(`- piscina ${loadPiscina().version}`)
  console.log(`- threads: ${opts.threads} (both contenders; RSS row uses ${RSS_THREADS}), reps: ${opts.reps} + 1 warm-up, ` +
    `median reported, contenders interleaved per rep${opts.quick ? ', --quick' : ''}`)
  console.log(`- throughput: ${opts.throughputTasks.pool} tasks at once for pool, ${opts.throughputTasks.piscina} for piscina` +
    `${opts.throughputTasks.pool !== opts.throughputTasks.piscina ? ' (smaller N: piscina is slow; tasks/s is comparable)' : ''}; ` +
    `sequential: ${opts.sequentialTasks} awaited tasks; runBatch: ${opts.batchTasks} inputs; ` +
    `event loop: ${opts.fibTasks} × fib(${FIB_N}), monitorEventLoopDelay resolution 1 ms`)
  console.log()
}

function printTable(rows) {
  const cell = (r, v) => (v === undefined ? '—' : r.format(v))
  const met = (m) => (m === undefined ? '—' : m ? 'yes' : '**NO**')
  console.log(markdownTable(
    ['workload', 'pool', 'piscina', 'ratio pool/piscina', 'target', 'met?'],
    rows.map((r) => [
      r.workload,
      cell(r, r.pool),
      cell(r, r.piscina),
      r.ratio === undefined ? '—' : `${r.ratio >= 10 ? r.ratio.toFixed(1) : r.ratio.toPrecision(2)}x`,
      r.target,
      met(r.met),
    ]),
    ['---', '---:', '---:', '---:', '---', '---'],
  ))
}

function printSamples(rows) {
  console.log()
  console.log('Per-rep samples (spread = max deviation from the median):')
  for (const r of rows) {
    const parts = Object.entries(r.samples).map(([k, xs]) => `${k} [${xs.map((x) => r.format(x)).join(', ')}] ${spread(xs)}`)
    console.log(`- ${r.workload}: ${parts.join('; ')}${r.note ? ` (${r.note})` : ''}`)
  }
}

function writeJson(file, opts, rows, wallMs) {
  const data = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    threads: opts.threads,
    reps: opts.reps,
    quick: opts.quick,
    sizes: { throughput: opts.throughputTasks, sequential: opts.sequentialTasks, batch: opts.batchTasks, fibTasks: opts.fibTasks },
    wallMs,
    results: rows.map(({ format, ...r }) => r),
  }
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + '\n')
  console.log(`\nJSON written to ${file}`)
}

// ---------------------------------------------------------------------------------------------
// Main

async function inProcessRows(opts) {
  const contenders = [createPool(opts.threads), createPiscina(opts.threads)]
  await Promise.all(contenders.map((c) => c.ready()))
  const [pool] = contenders
  const rows = []
  try {
    const throughput = await sampleInterleaved(opts.reps, contenders, (c) => throughputAtOnce(c, opts.throughputTasks[c.name]))
    rows.push(row('100k trivial tasks at once (tasks/s)', throughput, fmt.rate,
      '>= 1 M/s and >= 20x piscina', (p, ratio) => p >= 1e6 && ratio >= 20))

    const sequential = await sampleInterleaved(opts.reps, contenders, (c) => sequentialRoundTrip(c, opts.sequentialTasks))
    rows.push(row('sequential awaited task, median round trip', sequential, fmt.us,
      '<= 0.5x piscina', (_, ratio) => ratio <= 0.5))

    const inputs = Array.from({ length: opts.batchTasks }, (_, i) => i)
    const batch = await sampleInterleaved(opts.reps, [pool], (c) => batchThroughput(c, inputs))
    rows.push(row('runBatch 100k trivial (tasks/s)', batch, fmt.rate, '>= 20 M/s', (p) => p >= 20e6))

    const idle = await sampleInterleaved(opts.reps, [pool], () => idleEventLoopDelay(300))
    const eld = await sampleInterleaved(opts.reps, contenders, (c) => eventLoopDelay(c, opts.fibTasks))
    rows.push(row(`event-loop delay p99, ${opts.threads} threads busy with fib(${FIB_N})`, pick(eld, 'p99'), fmt.ms,
      '<= 2 ms', (p) => p <= 2, `idle baseline p99 ${fmt.ms(median(pick(idle, 'p99').pool))}; 1 ms resolution included`))
    rows.push(row('event-loop delay max (median of reps)', pick(eld, 'max'), fmt.ms, '—', undefined,
      `idle baseline max ${fmt.ms(median(pick(idle, 'max').pool))}; piscina's fib is JS, slower than pool's Rust fib`))
  } finally {
    await Promise.all(contenders.map((c) => c.close()))
  }
  return rows
}

async function childRows(opts) {
  const rss = await sampleChildren(opts.reps, 'rss', RSS_THREADS)
  const startup = await sampleChildren(opts.reps, 'startup', opts.threads)
  const osThreads = pick(rss, 'osThreadsAdded')
  return [
    row(`RSS added by ${RSS_THREADS}-thread pool (fresh process)`, pick(rss, 'rssAddedMB'), fmt.mb, '<= 20 MB', (p) => p <= 20,
      `OS threads added: pool ${median(osThreads.pool)}, piscina ${median(osThreads.piscina)}`),
    row(`startup: new → first echo result, ${opts.threads} threads (fresh process)`, pick(startup, 'startupMs'), fmt.ms, '—', undefined),
  ]
}

async function main() {
  const opts = parseOptions()
  if (opts.child) return childMain(opts)

  const t0 = nowMs()
  printHeader(opts)
  const rows = [...(await inProcessRows(opts)), ...(await childRows(opts))]
  const wallMs = nowMs() - t0
  printTable(rows)
  printSamples(rows)
  console.log(`\nTotal wall time: ${(wallMs / 1000).toFixed(1)} s`)
  if (opts.json) writeJson(opts.json, opts, rows, wallMs)

  // Both pools are closed; if something still holds the event loop open, say so instead of hanging.
  setTimeout(() => {
    console.error('WARNING: process still alive 5 s after the benchmark finished (a handle keeps the event loop open)')
    process.exit(2)
  }, 5000).unref()
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
