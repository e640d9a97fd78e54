'use strict'
// How soon an abort frees a pool thread in the middle of a large image transform (issue 16: "an
// abort stops a 50 MP image within ~10 ms").
//
//   node bench/image-abort.js [--points N] [--cases jpeg,jpeg-full,png,webp,webp-out] [--reps N]
//
// Inputs: a real photo (testdata/images/tower/large_image.jpg) enlarged by sharp to 8660 × 5774
// (50 MP) and written as JPEG q80, PNG and lossy WebP, untimed. Each case is one transform on a
// one-thread pool: first its time unaborted (the best of --reps), then --points aborts at
// moments spread evenly over that time. Right after each abort an `echo` is submitted; the time
// from the abort to its result is the abort-to-free latency: the thread first runs the kernel
// to its next poll of the token. The aborted promise itself rejects at once (its settle time is
// reported too). The worst latency and the moment it was hit show the longest stretch the
// kernel does not poll (a decoder or encoder call that cannot be interrupted).

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { parseArgs } = require('node:util')
const { performance } = require('node:perf_hooks')
const sharp = require('sharp')
const { WorkerPool } = require('..')
const { median } = require('./lib')

const { values: args } = parseArgs({
  options: {
    points: { type: 'string', default: '16' },
    reps: { type: 'string', default: '3' },
    cases: { type: 'string' },
  },
})
const POINTS = Number(args.points)
const REPS = Number(args.reps)
const [W, H] = [8660, 5774]
const THUMB = { width: 800, height: 600, fit: 'cover' }

const CASES = {
  jpeg: { label: '50 MP JPEG → 800×600 JPEG', input: 'jpeg', opts: { resize: THUMB, format: 'jpeg' } },
  'jpeg-full': { label: '50 MP JPEG → JPEG (re-encode, no resize)', input: 'jpeg', opts: { format: 'jpeg' } },
  png: { label: '50 MP PNG → 800×600 PNG', input: 'png', opts: { resize: THUMB, format: 'png' } },
  webp: { label: '50 MP WebP → 800×600 JPEG', input: 'webp', opts: { resize: THUMB, format: 'jpeg' } },
  'webp-out': { label: '50 MP JPEG → 3000×2000 WebP', input: 'jpeg', opts: { resize: { width: 3000, height: 2000, fit: 'inside' }, format: 'webp' } },
}
const cases = args.cases ? args.cases.split(',') : Object.keys(CASES)
for (const c of cases) if (!CASES[c]) throw new Error(`unknown case '${c}' (known: ${Object.keys(CASES).join(', ')})`)

async function inputs(needed) {
  const photo = fs.readFileSync(path.join(__dirname, '..', 'testdata', 'images', 'tower', 'large_image.jpg'))
  const big = sharp(photo, { limitInputPixels: false }).resize(W, H, { fit: 'fill' })
  const out = {}
  if (needed.has('jpeg')) out.jpeg = await big.clone().jpeg({ quality: 80 }).toBuffer()
  if (needed.has('png')) out.png = await big.clone().png({ compressionLevel: 1 }).toBuffer()
  if (needed.has('webp')) out.webp = await big.clone().webp({ quality: 80 }).toBuffer()
  return out
}

const turn = () => new Promise((r) => setImmediate(r))
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Aborts `input` after it ran `delay` ms; returns { at, free, settle } in ms. */
async function abortAt(pool, input, delay) {
  const ac = new AbortController()
  const task = pool.run('image.transform', input, { signal: ac.signal })
  let settled
  const rejected = task.then(() => { throw new Error('the transform finished before its abort') }, (e) => {
    settled = performance.now()
    if (e.code !== 'ABORT_ERR') throw e
  })
  while (pool.running === 0) await turn()
  const started = performance.now()
  if (delay > 0) await sleep(delay)
  const t0 = performance.now()
  ac.abort()
  const next = pool.run('echo', 1)
  await next
  const t1 = performance.now()
  await rejected
  return { at: t0 - started, free: t1 - t0, settle: settled - t0 }
}

async function main() {
  console.log(`# image abort-to-free latency — Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), loadavg ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`)
  console.log(`${W}×${H} inputs, one pool thread, ${POINTS} aborts per case spread over its unaborted time\n`)
  const data = await inputs(new Set(cases.map((c) => CASES[c].input)))
  const pool = new WorkerPool({ threads: 1 })
  const rows = []
  try {
    for (const name of cases) {
      const c = CASES[name]
      const input = { data: data[c.input], ...c.opts }
      const times = []
      for (let i = 0; i < REPS; i++) {
        const t0 = performance.now()
        await pool.run('image.transform', input)
        times.push(performance.now() - t0)
      }
      const total = Math.min(...times)
      const points = []
      for (let i = 0; i < POINTS; i++) points.push(await abortAt(pool, input, (total * 0.95 * i) / POINTS))
      const worst = points.reduce((a, b) => (b.free > a.free ? b : a))
      rows.push([c.label, `${(data[c.input].length / 1e6).toFixed(1)} MB`, total.toFixed(0), median(points.map((p) => p.free)).toFixed(1),
        worst.free.toFixed(1), worst.at.toFixed(0), Math.max(...points.map((p) => p.settle)).toFixed(2)])
      process.stderr.write(`  ${c.label}: ${points.map((p) => `${p.at.toFixed(0)}→${p.free.toFixed(1)}`).join(' ')}\n`)
    }
  } finally {
    await pool.close()
  }
  const header = ['case', 'input', 'unaborted ms', 'abort→free p50 ms', 'worst ms', 'worst at ms', 'abort→reject max ms']
  console.log(`| ${header.join(' | ')} |\n| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`)
  for (const r of rows) console.log(`| ${r.join(' | ')} |`)
  console.log(`\nloadavg after: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`)
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
