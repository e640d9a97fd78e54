'use strict'
// The benchmark suite (`npm run bench`): every workload of issue 4 for every contender: `pool`,
// the four JS worker pools (piscina, tinypool, workerpool, poolifier), plain main-thread JS and
// the native/WASM packages a user would otherwise pick. Each (workload, contender) pair runs in a
// fresh child process (warm-up, then reps; the child prints one JSON line), so JIT state, heap and
// RSS of one contender never leak into the next. Writes bench/results/<date>.json and .md and one
// SVG chart per workload at bench/charts/<workload>.svg.
//
//   node bench/suite.js [--quick] [--only w1,w2] [--threads N] [--reps N] [--warmup N]
//                         [--no-write] [--charts] [--out DIR]
//
//   --quick     fewer reps and smaller sizes (< 2 min); writes bench/results/quick-<date>.*, and
//               leaves the charts alone unless --charts is given
//   --only      comma-separated workload names (see WORKLOADS below)
//   --threads   threads of every pool (default: os.availableParallelism())
//   --reps      timed reps (default 5, --quick 2); --warmup untimed runs before them (default 3,
//               --quick 1; start-up and memory discard one fresh process instead)
//   --no-write  print only
//   --out       output root instead of bench/ (results/ and charts/ are created under it)

const path = require('node:path')
const os = require('node:os')
const fs = require('node:fs')
const { spawnSync } = require('node:child_process')
const { parseArgs } = require('node:util')
const report = require('./suite/report')

const ROOT = path.join(__dirname, '..')
const WORKLOADS = [
  'trivial-at-once',
  'trivial-sequential',
  'fib',
  'sha256',
  'bcrypt',
  'bcrypt-verify',
  'argon2',
  'password-latency',
  'xxh64',
  'xxh3',
  'csv',
  'json',
  'image',
  'image-phone',
  'image-png',
  'image-webp',
  'image-metadata',
  'image-fs-latency',
  'startup',
  'memory',
]
const PACKAGES = ['piscina', 'tinypool', 'workerpool', 'poolifier', 'bcrypt', '@node-rs/bcrypt', 'bcryptjs', '@node-rs/argon2', '@node-rs/xxhash', 'hash-wasm', 'papaparse', 'csv-parse', 'sharp', '@napi-rs/image', 'jimp']
const CHILD_TIMEOUT_MS = 240_000

const loadWorkload = (name) => require(`./suite/workloads/${name}`)

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      threads: { type: 'string' },
      reps: { type: 'string' },
      warmup: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      charts: { type: 'boolean', default: false },
      out: { type: 'string' },
      // internal (child processes)
      child: { type: 'string' },
      contender: { type: 'string' },
    },
  })
  const int = (name, s, min) => {
    const n = Number(s)
    if (!Number.isInteger(n) || n < min) {
      const err = new RangeError(`--${name} must be an integer >= ${min}, got ${s}`)
      err.code = 'ERR_OUT_OF_RANGE'
      throw err
    }
    return n
  }
  const only = values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : WORKLOADS
  for (const w of only) {
    if (!WORKLOADS.includes(w)) {
      const err = new TypeError(`--only: unknown workload ${w} (known: ${WORKLOADS.join(', ')})`)
      err.code = 'ERR_INVALID_ARG_VALUE'
      throw err
    }
  }
  const quick = values.quick
  return {
    quick,
    only,
    threads: int('threads', values.threads ?? String(os.availableParallelism()), 1),
    reps: int('reps', values.reps ?? (quick ? '2' : '5'), 1),
    // JIT and allocators need a few runs to settle (per-rep values still rose over a 1-run warm-up).
    warmup: int('warmup', values.warmup ?? (quick ? '1' : '3'), 0),
    write: !values['no-write'],
    charts: values.charts || !quick,
    out: path.resolve(values.out ?? path.join(ROOT, 'bench')),
    child: values.child,
    contender: values.contender,
  }
}

// ---------------------------------------------------------------------------------------------
// Child: measure one (workload, contender) pair and print one JSON line.

async function childMain(opts) {
  const { measure } = require('./suite/harness')
  const w = loadWorkload(opts.child)
  // The event loop emptied while the measurement still awaited something: a contender lost a task.
  const onBeforeExit = () => {
    console.error(`Error: ${opts.contender}: the event loop emptied before the measurement finished (a task's promise never settled)`)
    process.exit(1)
  }
  process.once('beforeExit', onBeforeExit)
  let result
  try {
    result = await measure(w, opts.contender, { ...opts, sizes: w.sizes(opts) })
  } catch (err) {
    console.error(err)
    process.exit(1) // a pool that is still open would keep a failed child alive until its timeout
  }
  process.off('beforeExit', onBeforeExit)
  process.stdout.write(JSON.stringify(result) + '\n')
  // A contender that leaves a handle open must not stall the suite (its result is already out).
  setTimeout(() => process.exit(0), 2000).unref()
}

// A failed child is retried once (third-party pools are occasionally flaky under load); the first
// failure is kept in the row so the report says so.
function runChild(opts, workload, contender, reps, warmup) {
  const first = runChildOnce(opts, workload, contender, reps, warmup)
  if (!first.error) return first
  const second = runChildOnce(opts, workload, contender, reps, warmup)
  return second.error ? second : { ...second, retriedAfter: first.error }
}

function runChildOnce(opts, workload, contender, reps, warmup) {
  const args = ['--expose-gc', __filename, '--child', workload, '--contender', contender, '--threads', String(opts.threads), '--reps', String(reps), '--warmup', String(warmup)]
  if (opts.quick) args.push('--quick')
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, maxBuffer: 64 << 20 })
  const line = (r.stdout ?? '').trim().split('\n').pop()
  if (r.status === 0 && line) {
    try {
      return JSON.parse(line)
    } catch {}
  }
  const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit code ${r.status}`
  const stderr = (r.stderr ?? '').trim().split('\n').filter(Boolean)
  const message = stderr.find((l) => /^\w*Error\b/.test(l)) ?? stderr.slice(-3).join(' | ')
  return { error: `${why}${message ? `: ${message}` : ''}` }
}

// ---------------------------------------------------------------------------------------------
// Driver

function packageVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version
  } catch {
    return 'missing'
  }
}

function machine() {
  const cpus = os.cpus()
  return {
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    totalMemGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    platform: `${os.platform()}-${os.arch()}`,
    node: process.version,
    uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? null,
    loadavgStart: os.loadavg(),
  }
}

function runWorkload(opts, name) {
  const w = loadWorkload(name)
  const sizes = w.sizes(opts)
  const title = w.title(sizes)
  const describe = w.describe(sizes)
  console.log(`\n## ${name}: ${title} (${w.unit}, ${w.better} is better)`)
  const warmup = w.freshProcessPerRep ? Math.min(opts.warmup, 1) : opts.warmup
  console.log(`   ${describe}; ${warmup} warm-up, ${opts.reps} reps${w.freshProcessPerRep ? ', one fresh process per rep (warm-up: a discarded process)' : ''}`)
  console.log(report.stdoutHeader())
  const rows = []
  for (const contender of w.contenders) {
    const started = performance.now()
    let samples = []
    let extra
    let error
    let retriedAfter
    if (w.freshProcessPerRep) {
      // Cold is the point: each sample is a new process (the warm-up ones only warm the file cache).
      for (let i = -Math.min(opts.warmup, 1); i < opts.reps && !error; i++) {
        const r = runChild(opts, name, contender, 1, 0)
        if (r.retriedAfter) retriedAfter = r.retriedAfter
        if (r.error) error = r.error
        else if (i >= 0) {
          samples.push(...r.samples)
          if (r.extra !== undefined) (extra ??= []).push(r.extra)
        }
      }
    } else {
      const r = runChild(opts, name, contender, opts.reps, opts.warmup)
      if (r.error) error = r.error
      else ({ samples, extra } = r)
      if (r.retriedAfter) retriedAfter = r.retriedAfter
    }
    const row = report.summarize(contender, error ? null : samples, extra, error)
    row.wallSeconds = +((performance.now() - started) / 1000).toFixed(1)
    if (retriedAfter) row.retriedAfter = retriedAfter
    rows.push(row)
    console.log(report.stdoutRow(w, row))
    if (extra !== undefined && !w.freshProcessPerRep) console.log(`    ${JSON.stringify(extra)}`)
    if (retriedAfter) console.log(`    (first attempt failed and was retried: ${retriedAfter})`)
  }
  const targets = report.evaluate(w, rows)
  for (const l of report.stdoutTargets(targets)) console.log(l)
  for (const r of rows) {
    if (r.ratio !== undefined && r.ratioTo !== r.contender) console.log(`  ${r.ratioTo} ÷ ${r.contender}: ${report.formatRatio(r.ratio)}`)
  }
  return { name, title, describe, unit: w.unit, better: w.better, sizes, reps: opts.reps, warmup, freshProcessPerRep: !!w.freshProcessPerRep, rows, targets }
}

function writeOutputs(opts, results) {
  const day = results.date.slice(0, 10)
  const base = `${opts.quick ? 'quick-' : ''}${day}`
  const resultsDir = path.join(opts.out, 'results')
  fs.mkdirSync(resultsDir, { recursive: true })
  const json = path.join(resultsDir, `${base}.json`)
  const md = path.join(resultsDir, `${base}.md`)
  // Written via a temporary file so an interrupted run never leaves a half-written result.
  fs.writeFileSync(`${json}.tmp`, JSON.stringify(results, null, 2) + '\n')
  fs.renameSync(`${json}.tmp`, json)
  fs.writeFileSync(md, report.markdown(results))
  console.log(`\nwrote ${path.relative(process.cwd(), json)} and ${path.relative(process.cwd(), md)}`)
  if (opts.charts) {
    const chartsDir = path.join(opts.out, 'charts')
    fs.mkdirSync(chartsDir, { recursive: true })
    for (const w of results.workloads) fs.writeFileSync(path.join(chartsDir, `${w.name}.svg`), report.chart(w))
    console.log(`wrote ${results.workloads.length} chart(s) to ${path.relative(process.cwd(), chartsDir)}/`)
  }
}

async function main() {
  const opts = parseOptions(process.argv.slice(2))
  if (opts.child) return childMain(opts)

  const t0 = performance.now()
  const m = machine()
  console.log(`# pool benchmark suite${opts.quick ? ' (--quick)' : ''}`)
  console.log(`${new Date().toISOString()}, ${m.cpuModel}, ${m.cores} cores, ${m.platform}, Node ${m.node}, load ${m.loadavgStart.map((x) => x.toFixed(2)).join(' ')}`)
  console.log(`threads per pool: ${opts.threads}; reps: ${opts.warmup} warm-up + ${opts.reps}, median reported; each (workload, contender) in a fresh process`)
  const workloads = []
  for (const name of opts.only) workloads.push(runWorkload(opts, name))
  const wallMs = performance.now() - t0
  m.loadavgEnd = os.loadavg()
  const results = {
    date: new Date().toISOString(),
    machine: m,
    options: { quick: opts.quick, threads: opts.threads, reps: opts.reps, warmup: opts.warmup, only: opts.only },
    packages: Object.fromEntries(PACKAGES.map((p) => [p, packageVersion(p)])),
    wallSeconds: +(wallMs / 1000).toFixed(1),
    workloads,
  }
  console.log(`\ntotal wall time ${(wallMs / 1000).toFixed(1)} s`)
  const missed = workloads.flatMap((w) => w.targets.filter((t) => t.met === false).map((t) => `${w.name}: ${t.text}`))
  if (missed.length) console.log(`targets missed (${missed.length}): ${missed.join('; ')}`)
  if (opts.write) writeOutputs(opts, results)
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
}

module.exports = { WORKLOADS, parseOptions }
