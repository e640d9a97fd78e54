'use strict'
// The benchmark suite's own pieces: the SVG bar-chart writer, ratios/targets, the markdown writer
// (on a small fake result), and one short end-to-end run of `bench/suite.js`.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const fs = require('node:fs')
const os = require('node:os')
const { spawnSync } = require('node:child_process')
const { barChart } = require('../bench/suite/svg')
const report = require('../bench/suite/report')

const SUITE = path.join(__dirname, '..', 'bench', 'suite.js')

// Tags opened and closed in order (no parser dependency): catches unbalanced or stray tags.
function assertWellFormed(svg) {
  const stack = []
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, close, name, selfClose] = m
    if (selfClose) continue
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the innermost open tag`)
    else stack.push(name)
  }
  assert.deepEqual(stack, [], 'every tag is closed')
}

test('barChart: one labelled bar per contender, pool highlighted, target marker, escaped text', () => {
  const svg = barChart({
    title: '50k trivial <tasks> & more',
    unit: 'tasks/s',
    better: 'higher',
    bars: [
      { label: 'pool', value: 1_000_000, text: '1.00 M tasks/s', highlight: true, note: 'loop max 2 ms' },
      { label: 'piscina', value: 50_000, text: '50.0 k tasks/s' },
      { label: 'tinypool', value: 40_000 },
    ],
    markers: [{ value: 1_000_000, label: 'target ≥ 20× piscina' }],
  })
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+"/)
  assert.match(svg.trimEnd(), /<\/svg>$/)
  assertWellFormed(svg)
  assert.equal(svg.match(/<g class="bar">/g).length, 3)
  assert.equal(svg.match(/<rect x=/g).length, 3, 'one bar rect per contender')
  for (const label of ['>pool<', '>piscina<', '>tinypool<', '1.00 M tasks/s', '50.0 k tasks/s', '40000 tasks/s', 'loop max 2 ms']) {
    assert.ok(svg.includes(label), `label ${label}`)
  }
  assert.ok(svg.includes('50k trivial &lt;tasks&gt; &amp; more'), 'title escaped')
  assert.ok(svg.includes('tasks/s, higher is better'), 'unit and direction')
  assert.equal(svg.match(/fill="#e8590c"/g).length, 1, 'only the pool bar is highlighted')
  assert.equal(svg.match(/<line class="target"/g).length, 1)
  assert.ok(svg.includes('target ≥ 20× piscina'))
  // Bars are to scale: pool's bar is 20× piscina's.
  const widths = [...svg.matchAll(/<rect x="\d+" y="\d+" width="([\d.]+)"/g)].map((m) => Number(m[1]))
  assert.ok(Math.abs(widths[0] / widths[1] - 20) < 0.5, `widths ${widths}`)
  assert.throws(() => barChart({ title: 't', unit: 'x', better: 'higher', bars: [] }), TypeError)
})

function fakeResults() {
  const sample = (value, elMax = 2) => ({ value, ms: 1, elP99: 1.5, elMax })
  const w = {
    name: 'csv',
    contenders: ['pool', 'papaparse (main thread)', 'papaparse in piscina'],
    unit: 'MB/s',
    better: 'higher',
    targets: [
      { vs: 'papaparse (main thread)', op: '>=', ratio: 1.5 },
      { contender: 'pool', field: 'elMax', op: '<=', limit: 20, unit: 'ms' },
    ],
  }
  const rows = [
    report.summarize('pool', [sample(90, 30), sample(100, 30), sample(110, 40)]),
    report.summarize('papaparse (main thread)', [sample(60, 300), sample(50, 300), sample(70, 300)]),
    report.summarize('papaparse in piscina', null, undefined, 'exit code 1: Error: boom'),
  ]
  const targets = report.evaluate(w, rows)
  return {
    w,
    rows,
    targets,
    results: {
      date: '2026-11-22T08:00:00.000Z',
      machine: { cpuModel: 'Test CPU', cores: 2, availableParallelism: 2, platform: 'linux-x64', node: 'v20.0.0', uvThreadpoolSize: null, loadavgStart: [0.1, 0.2, 0.3] },
      options: { quick: false, threads: 2, reps: 3, warmup: 1 },
      packages: { papaparse: '5.7.1' },
      workloads: [{ name: 'csv', title: 'CSV 18.9 MB', describe: '100000 rows × 10 columns', unit: 'MB/s', better: 'higher', reps: 3, rows, targets }],
    },
  }
}

test('summarize and evaluate: medians, same-run ratios, relative and absolute targets', () => {
  const { rows, targets } = fakeResults()
  assert.equal(rows[0].median, 100)
  assert.equal(rows[0].min, 90)
  assert.equal(rows[0].max, 110)
  assert.equal(rows[0].elMax, 30)
  assert.equal(rows[0].elMaxWorst, 40)
  assert.equal(rows[1].ratio, 100 / 60)
  assert.equal(rows[2].ratio, undefined, 'no ratio for a failed row')
  assert.equal(targets[0].text, 'pool ≥ 1.5× papaparse (main thread)')
  assert.equal(targets[0].measured, 100 / 60)
  assert.equal(targets[0].met, true)
  assert.equal(targets[1].text, 'pool loop max ≤ 20 ms')
  assert.equal(targets[1].measured, 30)
  assert.equal(targets[1].met, false)
})

test('markdown: one row per contender, ratios, targets stated with measured values', () => {
  const { results } = fakeResults()
  const md = report.markdown(results)
  assert.match(md, /^# pool benchmark suite — 2026-11-22\n/)
  assert.ok(md.includes('Test CPU, 2 cores'))
  assert.ok(md.includes('| workload | contender | median | min – max | pool ÷ this | EL p99 / max (ms) | target | met? |'))
  const tableRows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| ---') && !l.startsWith('| workload'))
  assert.equal(tableRows.length, 3)
  assert.match(tableRows[0], /^\| \*\*CSV 18\.9 MB\*\* \(higher is better\) \| \*\*pool\*\* \| 100 MB\/s \| 90\.0 – 110 \| — \| 1\.50 \/ 30\.0 \| pool loop max ≤ 20 ms: 30\.0 ms \| \*\*missed\*\* \|$/)
  assert.match(tableRows[1], /\| papaparse \(main thread\) \| 60\.0 MB\/s \| .* \| 1\.67× \| .* \| pool ≥ 1\.5× papaparse \(main thread\): 1\.67× \| met \|$/)
  assert.match(tableRows[2], /\| papaparse in piscina \| failed: exit code 1: Error: boom \|/)
  assert.ok(md.includes('- csv: 100000 rows × 10 columns'), 'sizes listed')
  assert.ok(md.includes('- CSV 18.9 MB: pool loop max ≤ 20 ms — measured 30.0 ms — missed'))
  assert.ok(md.includes('- CSV 18.9 MB: pool ≥ 1.5× papaparse (main thread) — measured 1.67× — met'))
})

test('chart: a workload result becomes a chart with its contenders and the ratio target', () => {
  const { results } = fakeResults()
  const svg = report.chart(results.workloads[0])
  assertWellFormed(svg)
  assert.equal(svg.match(/<g class="bar">/g).length, 3)
  assert.ok(svg.includes('>failed<'), 'a failed contender is labelled, not drawn')
  assert.equal(svg.match(/<rect x=/g).length, 2)
  assert.ok(svg.includes('target ≥ 1.5× papaparse (main thread)'))
  assert.ok(svg.includes('target pool loop max ≤ 20 ms'), 'the loop-delay target is in the subtitle')
})

test('chart and markdown: only the pool contenders are highlighted (not poolifier)', () => {
  const s = (value) => ({ value, ms: 1, elP99: 1, elMax: 1 })
  const rows = ['pool', 'pool runBatch', 'poolifier', 'piscina'].map((n, i) => report.summarize(n, [s(10 + i)]))
  const w = { name: 'x', title: 'x', describe: 'x', unit: 'tasks/s', better: 'higher', reps: 1, rows, targets: [] }
  report.evaluate(w, rows)
  assert.equal(report.chart(w).match(/fill="#e8590c"/g).length, 2)
  const md = report.markdown({ ...fakeResults().results, workloads: [w] })
  assert.ok(md.includes('| **pool runBatch** |') && md.includes('| poolifier |') && md.includes('| piscina |'))
})

test('suite.js rejects an unknown workload', () => {
  const r = spawnSync(process.execPath, [SUITE, '--only', 'nope', '--no-write'], { encoding: 'utf8', timeout: 30_000 })
  assert.notEqual(r.status, 0)
  assert.match(r.stderr, /unknown workload nope/)
})

test('suite.js --quick --only trivial-at-once --no-write runs end to end and prints a pool row', { timeout: 120_000 }, () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-suite-'))
  try {
    const r = spawnSync(process.execPath, [SUITE, '--quick', '--only', 'trivial-at-once', '--reps', '1', '--no-write', '--out', out], {
      encoding: 'utf8',
      timeout: 110_000,
    })
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /## trivial-at-once: 20k trivial tasks submitted at once/)
    assert.match(r.stdout, /\n {2}pool {2,}[\d.]+ [kM]? ?tasks\/s /)
    assert.match(r.stdout, /\n {2}piscina {2,}[\d.]+ [kM]? ?tasks\/s /)
    assert.match(r.stdout, /target pool ≥ 20× piscina: [\d.]+× → (met|MISSED)/)
    assert.deepEqual(fs.readdirSync(out), [], '--no-write writes nothing')
  } finally {
    fs.rmSync(out, { recursive: true, force: true })
  }
})
