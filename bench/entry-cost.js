'use strict'
// Entry-point cost: why `run`, `runBatch` and `cancel` are plain `napi_create_function`
// callbacks while every other export is a `#[napi]` function. Both no-ops below take the pool
// handle and unwrap it exactly as the real entry points do; the only difference is how they are
// registered. Measured interleaved in one process; the ratio is what matters (absolute ns on a
// shared VM are noisy). For scale the same run times the per-task cost of the public API with
// 50k `run('echo', i)` submitted at once (the throughput the pool is chosen for).
//
//   node bench/entry-cost.js [--reps N] [--calls N]

const { parseArgs } = require('node:util')
const native = require('../lib/internal/native')
const { WorkerPool } = require('../lib')
const { median, spread } = require('./lib')

const { values } = parseArgs({ options: { reps: { type: 'string', default: '9' }, calls: { type: 'string', default: '2000000' } } })
const reps = Number(values.reps)
const calls = Number(values.calls)

// A raw pool handle (the kind the internal entry points take), without the JS wrapper.
const handle = native.createPool(
  { minThreads: 1, maxThreads: 1, retries: 0, niceIncrement: 0 },
  () => {},
  { hasRef: () => false },
)

function nsPerCall(fn) {
  const t = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) fn(handle)
  return Number(process.hrtime.bigint() - t) / calls
}

async function perTaskNs(pool, n) {
  const t = process.hrtime.bigint()
  const all = new Array(n)
  for (let i = 0; i < n; i++) all[i] = pool.run('echo', i)
  await Promise.all(all)
  return Number(process.hrtime.bigint() - t) / n
}

async function main() {
  const pool = new WorkerPool({ maxThreads: 1 })
  const raw = []
  const derived = []
  const trip = []
  // Warm-up: let both functions reach V8's optimised call path.
  nsPerCall(native.__rawNoop)
  nsPerCall(native.__napiNoop)
  await perTaskNs(pool, 50_000)
  for (let r = 0; r < reps; r++) {
    // Alternate the order so neither always runs first after a GC or a timer.
    if (r % 2) {
      raw.push(nsPerCall(native.__rawNoop))
      derived.push(nsPerCall(native.__napiNoop))
    } else {
      derived.push(nsPerCall(native.__napiNoop))
      raw.push(nsPerCall(native.__rawNoop))
    }
    trip.push(await perTaskNs(pool, 50_000))
  }
  await pool.close()
  native.close(handle)
  const m = { raw: median(raw), napi: median(derived), trip: median(trip) }
  const line = (name, xs, v) => console.log(`${name.padEnd(36)} ${v.toFixed(1).padStart(8)} ns  ${spread(xs)}`)
  console.log(`${reps} reps × ${calls} calls, node ${process.version}`)
  line('raw napi_create_function no-op', raw, m.raw)
  line('#[napi] no-op', derived, m.napi)
  line("per task, 50k run('echo') at once", trip, m.trip)
  console.log(`#[napi] ÷ raw: ${(m.napi / m.raw).toFixed(2)}×; the difference is ${(((m.napi - m.raw) / m.trip) * 100).toFixed(1)}% of the per-task cost`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
