'use strict'
// json.parse vs JSON.parse on the main thread, on a ~20 MB document (an array of records), one
// process: wall time and event-loop delay (max, p99) while each parses.
// `node bench/json.js [records]`.
const { monitorEventLoopDelay, performance } = require('node:perf_hooks')
const { WorkerPool } = require('..')

if (typeof global.gc !== 'function') {
  require('node:v8').setFlagsFromString('--expose-gc')
  global.gc = require('node:vm').runInNewContext('gc')
}

const RECORDS = Number(process.argv[2] ?? 100_000)

const { jsonText } = require('./suite/data.js')

// The same document as the bench suite's JSON workload.
const generate = (n) => jsonText(n)

async function measure(fn) {
  global.gc()
  const h = monitorEventLoopDelay({ resolution: 1 })
  h.enable()
  // Let the histogram take its first samples before the work starts.
  await new Promise((r) => setTimeout(r, 20))
  const t0 = performance.now()
  await fn()
  const ms = performance.now() - t0
  await new Promise((r) => setTimeout(r, 5))
  h.disable()
  return { ms, max: h.max / 1e6, p99: h.percentile(99) / 1e6 }
}

async function main() {
  const text = generate(RECORDS)
  const buf = Buffer.from(text)
  const pool = new WorkerPool({ threads: 2 })
  const rows = []
  const runs = [
    ['JSON.parse (main thread, string)', async () => JSON.parse(text)],
    ['JSON.parse (main thread, Buffer#toString)', async () => JSON.parse(buf.toString('utf8'))],
    ['pool json.parse (string)', () => pool.run('json.parse', text)],
    ['pool json.parse (Buffer)', () => pool.run('json.parse', buf)],
  ]
  for (const [, fn] of runs) await fn() // warm up
  for (const [name, fn] of runs) {
    let best = null
    for (let k = 0; k < 3; k++) {
      const r = await measure(fn)
      if (best === null || r.ms < best.ms) best = { ...r, maxAll: Math.max(best?.maxAll ?? 0, r.max) }
      else best.maxAll = Math.max(best.maxAll, r.max)
    }
    rows.push([name, best])
  }
  await pool.destroy()
  const base = rows[0][1].ms
  console.log(`json.parse: ${RECORDS} records, ${(buf.length / 1e6).toFixed(1)} MB, best of 3 (max delay: worst of 3)\n`)
  console.log('| contender | time (ms) | throughput vs JSON.parse | loop delay max (ms) | loop delay p99 (ms) |')
  console.log('|---|---:|---:|---:|---:|')
  for (const [name, r] of rows) {
    console.log(`| ${name} | ${r.ms.toFixed(1)} | ${(base / r.ms).toFixed(2)}× | ${r.maxAll.toFixed(1)} | ${r.p99.toFixed(1)} |`)
  }
}

main()
