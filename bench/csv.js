'use strict'
// csv.parse vs papaparse (and csv-parse/sync if installed) on a ~20 MB document, one process:
// wall time and event-loop delay (max, p99) while each parses. `node bench/csv.js [rows]`.
const { monitorEventLoopDelay, performance } = require('node:perf_hooks')
const Papa = require('papaparse')
const { WorkerPool } = require('..')

// Collect between contenders so no one pays for the previous one's garbage.
if (typeof global.gc !== 'function') {
  require('node:v8').setFlagsFromString('--expose-gc')
  global.gc = require('node:vm').runInNewContext('gc')
}

const ROWS = Number(process.argv[2] ?? 100_000)
const COLS = 10

const { csvText } = require('./suite/data.js')

// The same document as the bench suite's CSV workload (rows × 10 columns, quoted fields).
const generate = (rows) => csvText(rows, COLS)

async function measure(fn) {
  global.gc()
  const h = monitorEventLoopDelay({ resolution: 1 })
  // Let the histogram start sampling.
  await new Promise((r) => setTimeout(r, 20))
  h.enable()
  // The histogram's first sample only starts its clock: wait for it.
  await new Promise((r) => setTimeout(r, 10))
  const t0 = performance.now()
  const rows = await fn()
  const ms = performance.now() - t0
  // One more tick so the final stretch is recorded.
  await new Promise((r) => setTimeout(r, 5))
  h.disable()
  return { ms, max: h.max / 1e6, p99: h.percentile(99) / 1e6, rows: rows.length }
}

async function main() {
  const text = generate(ROWS)
  const mb = Buffer.byteLength(text) / 1e6
  const pool = new WorkerPool({ threads: 2 })
  const contenders = [
    ['papaparse (main thread)', () => Papa.parse(text, { delimiter: ',' }).data],
    ['pool csv.parse', () => pool.run('csv.parse', text)],
    ['papaparse header+dynamicTyping', () => Papa.parse(text, { delimiter: ',', header: true, dynamicTyping: true }).data],
    ['pool csv.parse header+dynamicTyping', () => pool.run('csv.parse', { data: text, header: true, dynamicTyping: true })],
  ]
  try {
    const { parse } = require('csv-parse/sync')
    contenders.splice(2, 0, ['csv-parse/sync (main thread)', () => parse(text, { relax_column_count: true })])
  } catch {}
  // Warm-up (JIT, pool threads).
  for (const [, fn] of contenders) await fn()
  const reps = 3
  const results = new Map(contenders.map(([name]) => [name, []]))
  for (let i = 0; i < reps; i++) {
    for (const [name, fn] of contenders) results.get(name).push(await measure(fn))
  }
  const med = (a, k) => a.map((x) => x[k]).sort((x, y) => x - y)[Math.floor(a.length / 2)]
  const base = { plain: med(results.get('papaparse (main thread)'), 'ms'), dyn: med(results.get('papaparse header+dynamicTyping'), 'ms') }
  console.log(`${ROWS} rows x ${COLS} columns, ${mb.toFixed(1)} MB, Node ${process.version}, median of ${reps}\n`)
  console.log('| contender | rows | time (ms) | time / papaparse | throughput vs papaparse | event-loop max (ms) | event-loop p99 (ms) |')
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const [name] of contenders) {
    const a = results.get(name)
    const ms = med(a, 'ms')
    const b = name.includes('dynamicTyping') ? base.dyn : base.plain
    console.log(`| ${name} | ${a[0].rows} | ${ms.toFixed(1)} | ${(ms / b).toFixed(2)}x | ${(b / ms).toFixed(2)}x | ${med(a, 'max').toFixed(1)} | ${med(a, 'p99').toFixed(1)} |`)
  }
  await pool.close()
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1) })

module.exports = { generate }
