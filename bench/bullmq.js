'use strict'
// `npm run bench:bullmq`: one machine standing in for many. A real redis-server and N worker
// processes (1 and 2) with the same CPU budget (os.availableParallelism() slots in total):
// pool/bullmq, BullMQ sandboxed processors (child processes), sandboxed with useWorkerThreads,
// and an inline processor. Workloads: 1 KB sha256 jobs and bcrypt cost 10 jobs. Contenders run
// interleaved, ROUNDS times; reported, each as the median of the rounds (bench/lib.js): jobs/s
// (with its spread), p50/p99 latency (add → completed event), total RSS of the worker processes
// and their children, worker event-loop p99; and, summed over the rounds, stalled and duplicate
// starts and failures. Env: ROUNDS (2), SHA_JOBS (2000), BCRYPT_JOBS (60).
// Then the scaling step: pool/bullmq on 1, 2 and 3 worker processes of one slot (one thread)
// each, with one 1 KB sha256 per job and with BATCH (50) inputs per job (a processor calling
// runBatch), to show what bounds throughput as processes are added: Redis round trips per job.
// SCALE=0 skips it.
const os = require('node:os')
const path = require('node:path')
const crypto = require('node:crypto')
const { spawn, execFileSync } = require('node:child_process')
const { once } = require('node:events')
const readline = require('node:readline')
const { Queue, QueueEvents } = require('bullmq')
const { encode } = require('../lib/internal/envelope.js')
const { startRedis } = require('../scripts/redis.js')
const { median, spread } = require('./lib.js')

const ROUNDS = Number(process.env.ROUNDS ?? 2)
const CORES = os.availableParallelism()
const CONTENDERS = ['pool', 'sandbox', 'sandbox-threads', 'inline']
const WORKLOADS = [
  { name: 'sha256 1 KB', kernel: 'sha256', jobs: Number(process.env.SHA_JOBS ?? 2000), input: () => crypto.randomBytes(1024) },
  { name: 'bcrypt cost 10', kernel: 'bcrypt.hash', jobs: Number(process.env.BCRYPT_JOBS ?? 60), input: (i) => ({ password: `pw${i}`, cost: 10 }) },
]
const WORKER = path.join(__dirname, 'bullmq', 'worker.js')
let seq = 0

async function startWorker(contender, queue, port, slots) {
  const child = spawn(process.execPath, [WORKER, contender, queue, String(port), String(slots)], { stdio: ['ignore', 'pipe', 'inherit'], detached: true })
  child.lines = readline.createInterface({ input: child.stdout })
  await new Promise((resolve, reject) => {
    child.lines.on('line', (l) => { if (l === 'ready') resolve() })
    child.once('exit', (c) => reject(new Error(`${contender} worker exited (${c})`)))
  })
  return child
}

// RSS (KB) of a worker and everything in its process group (sandboxed children).
const groupRssKb = (pid) => execFileSync('ps', ['-o', 'rss=', '-g', String(pid)], { encoding: 'utf8' })
  .split('\n').filter(Boolean).reduce((a, b) => a + Number(b), 0)

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]

const BATCH = Number(process.env.BATCH ?? 50)
const SCALE = process.env.SCALE !== '0'

async function runOne(redis, contender, procs, w, slots = Math.max(1, Math.floor(CORES / procs))) {
  const name = `bench${seq++}`
  const workers = []
  for (let i = 0; i < procs; i++) workers.push(await startWorker(contender, name, redis.port, slots))
  // BullMQ trims the events stream to 10k entries by default; a QueueEvents reader that falls
  // behind under load would miss 'completed' events and the run would never end.
  const queue = new Queue(name, { connection: redis.connection, streams: { events: { maxLen: 1_000_000 } } })
  const events = new QueueEvents(name, { connection: redis.connection })
  await events.waitUntilReady()
  const added = new Map()
  const latencies = []
  const starts = new Map()
  let stalled = 0
  let failed = 0
  let peakRss = 0
  events.on('active', ({ jobId }) => starts.set(jobId, (starts.get(jobId) ?? 0) + 1))
  events.on('stalled', () => stalled++)
  let progress = -1
  let watchdog
  const done = new Promise((resolve, reject) => {
    // A run that stops making progress fails loudly instead of hanging the benchmark.
    watchdog = setInterval(() => {
      if (latencies.length === progress) reject(new Error(`${contender}: no job settled for 60 s (${latencies.length}/${w.jobs} settled)`))
      progress = latencies.length
    }, 60_000)
    const finish = ({ jobId }, ok) => {
      if (!ok) failed++
      latencies.push(performance.now() - added.get(jobId))
      if (latencies.length === 1 || latencies.length % 50 === 0) peakRss = Math.max(peakRss, workers.reduce((a, c) => a + groupRssKb(c.pid), 0))
      if (latencies.length === w.jobs) resolve()
    }
    events.on('completed', (e) => finish(e, true))
    events.on('failed', (e) => finish(e, false))
  })
  const data = w.batch
    ? (i) => encode({ kernel: w.kernel, inputs: Array.from({ length: w.batch }, () => w.input(i)) })
    : (i) => encode({ kernel: w.kernel, input: w.input(i) })
  const jobs = Array.from({ length: w.jobs }, (_, i) => ({ name: w.kernel, data: data(i), opts: { jobId: `j${i}`, removeOnComplete: true } }))
  const t0 = performance.now()
  for (let i = 0; i < jobs.length; i += 500) {
    const now = performance.now()
    for (const j of jobs.slice(i, i + 500)) added.set(j.opts.jobId, now)
    await queue.addBulk(jobs.slice(i, i + 500))
  }
  await done.catch((err) => {
    for (const c of workers) process.kill(-c.pid, 'SIGKILL') // the whole group: sandboxed children too
    throw err
  }).finally(() => clearInterval(watchdog))
  const seconds = (performance.now() - t0) / 1000
  const elds = []
  for (const c of workers) {
    const line = new Promise((resolve) => c.lines.on('line', (l) => { if (l.startsWith('eld ')) resolve(Number(l.slice(4))) }))
    c.kill('SIGTERM')
    elds.push(await line)
    await once(c, 'exit').catch(() => {})
  }
  await events.close()
  await queue.obliterate({ force: true })
  await queue.close()
  latencies.sort((a, b) => a - b)
  return {
    jobsPerSec: w.jobs / seconds, p50: pct(latencies, 50), p99: pct(latencies, 99), rssMb: peakRss / 1024,
    stalled, duplicates: [...starts.values()].filter((c) => c > 1).length, failed, eldP99: Math.max(...elds),
  }
}

// One run's figures over its rounds: the rates, latencies, RSS and loop delay as the median of
// the rounds (bench/lib.js: with the default 2 rounds, the mean of the two), the counts summed.
function summarize(runs) {
  const m = (k) => median(runs.map((x) => x[k]))
  const tot = (k) => runs.reduce((a, x) => a + x[k], 0)
  return {
    jobsPerSec: m('jobsPerSec'), jpsSpread: spread(runs.map((x) => x.jobsPerSec)), p50: m('p50'), p99: m('p99'),
    rssMb: m('rssMb'), eldP99: m('eldP99'), stalled: tot('stalled'), duplicates: tot('duplicates'), failed: tot('failed'),
  }
}

// The one table printer: `cols` are [title, width, cell(row) → string], the first left-aligned.
function printTable(cols, rows) {
  const pad = (s, w, i) => (i === 0 ? s.padEnd(w) : s.padStart(w))
  console.log(cols.map(([title, w], i) => pad(title, w, i)).join(' '))
  for (const row of rows) console.log(cols.map(([, w, cell], i) => pad(cell(row), w, i)).join(' '))
}

const fixed = (k, digits, w) => [w, (s) => s[k].toFixed(digits)]
const JOBS_COLS = [['jobs/s', ...fixed('jobsPerSec', 0, 7)], ['±', 5, (s) => s.jpsSpread]]
const LATENCY_COLS = [['p50 ms', ...fixed('p50', 1, 8)], ['p99 ms', ...fixed('p99', 1, 8)]]
const COUNT_COLS = [['stalled', 7, (s) => String(s.stalled)], ['dup', 3, (s) => String(s.duplicates)], ['failed', 6, (s) => String(s.failed)]]

async function main() {
  console.log(`bench:bullmq — ${CORES} cores, loadavg ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ${ROUNDS} interleaved rounds; ` +
    'each figure the median of the rounds (± the largest deviation of a round\'s jobs/s from it), counts summed')
  const redis = await startRedis()
  try {
    for (const w of WORKLOADS) {
      for (const procs of [1, 2]) {
        const results = Object.fromEntries(CONTENDERS.map((c) => [c, []]))
        for (let r = 0; r < ROUNDS; r++) for (const c of CONTENDERS) results[c].push(await runOne(redis, c, procs, w))
        console.log(`\n${w.name}, ${w.jobs} jobs, ${procs} worker process(es), ${Math.max(1, Math.floor(CORES / procs))} slots each`)
        const sum = Object.fromEntries(CONTENDERS.map((c) => [c, { contender: c, ...summarize(results[c]) }]))
        printTable([['contender', 15, (s) => s.contender], ...JOBS_COLS, ...LATENCY_COLS, ['RSS MB', ...fixed('rssMb', 0, 7)],
          ...COUNT_COLS, ['loop p99 ms', ...fixed('eldP99', 1, 12)]], Object.values(sum))
        console.log(`pool vs sandbox: ${(sum.pool.jobsPerSec / sum.sandbox.jobsPerSec).toFixed(2)}x jobs/s, ${(sum.pool.rssMb / sum.sandbox.rssMb).toFixed(2)}x RSS; vs sandbox-threads: ${(sum.pool.jobsPerSec / sum['sandbox-threads'].jobsPerSec).toFixed(2)}x jobs/s`)
      }
    }
    if (SCALE) await scaling(redis)
  } finally {
    await redis.stop()
  }
}

// pool/bullmq with 1, 2, 3 one-slot processes; the variants interleaved within each round.
async function scaling(redis) {
  const sha = WORKLOADS[0]
  const variants = [
    { label: '1 input per job', contender: 'pool', w: sha, inputs: 1 },
    { label: `${BATCH} inputs per job`, contender: 'pool-batch', w: { ...sha, jobs: Math.ceil(sha.jobs / BATCH), batch: BATCH }, inputs: BATCH },
  ]
  const rows = []
  for (const v of variants) for (const procs of [1, 2, 3]) rows.push({ ...v, procs, runs: [] })
  for (let r = 0; r < ROUNDS; r++) for (const row of rows) row.runs.push(await runOne(redis, row.contender, row.procs, row.w, 1))
  console.log(`\nscaling: pool/bullmq, sha256 1 KB, one slot (one pool thread) per worker process, ${CORES} cores shared with Redis and the producer`)
  const sums = rows.map((row) => ({ ...row, ...summarize(row.runs) }))
  const base = (s) => sums.find((x) => x.label === s.label && x.procs === 1)
  printTable([['jobs', 18, (s) => s.label], ['procs', 6, (s) => String(s.procs)], ...JOBS_COLS,
    ['inputs/s', 9, (s) => (s.jobsPerSec * s.inputs).toFixed(0)], ...LATENCY_COLS,
    ['vs 1 proc', 10, (s) => `${(s.jobsPerSec / base(s).jobsPerSec).toFixed(2)}x`], ...COUNT_COLS], sums)
}

main().catch((err) => { console.error(err); process.exitCode = 1 })
