'use strict'
// The floor under any main-thread CSV row builder: how long it takes just to create the strings
// and row arrays csv.parse (and papaparse) must return, with every offset precomputed and the
// text already decoded, i.e. no parsing at all. One process, interleaved reps, median and
// spread. If papaparse / floor is below 1.5, no design that builds the rows on the JS thread
// can reach 1.5x papaparse. `node bench/csv-floor.js [rows] [reps]`.
const { performance } = require('node:perf_hooks')
const Papa = require('papaparse')
const { median, spread, gc } = require('./lib.js')
const { WorkerPool } = require('..')
const { generate } = require('./csv.js')

const ROWS = Number(process.argv[2] ?? 100_000)
const REPS = Number(process.argv[3] ?? 7)

async function main() {
  const text = generate(ROWS)
  const rows = Papa.parse(text, { delimiter: ',' }).data
  rows.pop() // papaparse's extra empty record after the final line break
  // Everything the floor needs, computed up front: one decoded string of all field text (as
  // lib/csv.js gets it, in 256 KiB chunks) and each field's end offset.
  const chunks = []
  const ends = []
  let chunk = ''
  for (const row of rows) {
    const e = []
    for (const f of row) { chunk += f; e.push(chunk.length) }
    ends.push([chunks.length, e])
    if (chunk.length >= 256 * 1024) { chunks.push(chunk); chunk = '' }
  }
  chunks.push(chunk)
  const flat = chunks.map((c) => Buffer.from(c, 'latin1').toString('latin1')) // flat strings
  const floor = () => {
    const out = new Array(0)
    let prev = 0
    let ci = -1
    for (let r = 0; r < ends.length; r++) {
      const [c, e] = ends[r]
      if (c !== ci) { ci = c; prev = 0 }
      const s = flat[c]
      const row = new Array(e.length)
      for (let j = 0; j < e.length; j++) { row[j] = s.slice(prev, e[j]); prev = e[j] }
      out.push(row)
    }
    return out
  }
  const pool = new WorkerPool({ threads: 2 })
  const contenders = [
    ['papaparse (main thread)', () => Papa.parse(text, { delimiter: ',' }).data],
    ['floor: only create the rows', floor],
    ['pool csv.parse', () => pool.run('csv.parse', text)],
  ]
  for (const [, fn] of contenders) await fn() // warm-up
  const times = new Map(contenders.map(([n]) => [n, []]))
  for (let i = 0; i < REPS; i++) {
    for (const [name, fn] of contenders) {
      gc()
      await new Promise((r) => setTimeout(r, 10))
      const t0 = performance.now()
      await fn()
      times.get(name).push(performance.now() - t0)
    }
  }
  await pool.close()
  const papa = median(times.get('papaparse (main thread)'))
  console.log(`${ROWS} rows, ${(Buffer.byteLength(text) / 1e6).toFixed(1)} MB, median of ${REPS}\n`)
  console.log('| contender | time (ms) | spread | papaparse / this |')
  console.log('| --- | ---: | ---: | ---: |')
  for (const [name, t] of times) console.log(`| ${name} | ${median(t).toFixed(1)} | ${spread(t)} | ${(papa / median(t)).toFixed(2)}x |`)
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1) })
