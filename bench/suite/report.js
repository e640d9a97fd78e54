'use strict'
// Driver-side reporting: summaries of samples, ratios and targets, the stdout lines, the markdown
// file and the chart specs. Pure functions over plain data, so the test can feed them fake results.
const { median } = require('../lib')
const { barChart } = require('./svg')

// ---------------------------------------------------------------------------------------------
// Numbers

const num = (v) => (!Number.isFinite(v) ? '—' : v >= 1000 ? v.toFixed(0) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2))

/** A value with its unit, scaled to k/M (rates) or GiB (MiB/s) where that reads better. */
function formatValue(v, unit) {
  if (!Number.isFinite(v)) return '—'
  if (unit === 'MiB/s') return v >= 1024 ? `${(v / 1024).toFixed(2)} GiB/s` : `${num(v)} MiB/s`
  if (unit.endsWith('/s') && unit !== 'MB/s') {
    const base = unit.slice(0, -2)
    if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M ${base}/s`
    if (v >= 1e5) return `${(v / 1e3).toFixed(0)} k ${base}/s`
    if (v >= 1e4) return `${(v / 1e3).toFixed(1)} k ${base}/s`
  }
  return `${num(v)} ${unit}`
}

/** min – max of a row, scaled like its median but without repeating the unit. */
function formatRange(r, unit) {
  // MiB/s values may scale to GiB/s: those keep their unit.
  const strip = (s) => (unit !== 'MiB/s' && s.endsWith(` ${unit}`) ? s.slice(0, -unit.length - 1) : s)
  return `${strip(formatValue(r.min, unit))} – ${strip(formatValue(r.max, unit))}`
}

const formatRatio = (r) => (!Number.isFinite(r) ? '—' : r >= 100 ? `${r.toFixed(0)}×` : r >= 10 ? `${r.toFixed(1)}×` : r >= 0.1 ? `${r.toFixed(2)}×` : `${r.toPrecision(2)}×`)

// ---------------------------------------------------------------------------------------------
// Rows and targets

/** Median, range and event-loop delay of one contender's samples (null samples: it failed). */
function summarize(contender, samples, extra, error) {
  if (!samples || samples.length === 0) return { contender, error: error ?? 'no samples', samples: [] }
  const values = samples.map((s) => s.value)
  return {
    contender,
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    elP99: median(samples.map((s) => s.elP99)), // median over reps of each rep's p99
    elMax: median(samples.map((s) => s.elMax)), // median over reps of each rep's max
    elMaxWorst: Math.max(...samples.map((s) => s.elMax)),
    samples,
    ...(extra === undefined ? {} : { extra }),
  }
}

const OPS = { '>=': (a, b) => a >= b, '<=': (a, b) => a <= b }
const OP_TEXT = { '>=': '≥', '<=': '≤' }

/**
 * Adds `ratio` (the compared pool row's median ÷ this row's median; same-run) to every row and
 * evaluates the workload's targets. A target is either relative, { vs, op, ratio, pool? } (pool's
 * median ÷ vs's median, op '>=' or '<='), or absolute, { contender, field, op, limit, unit }.
 */
function evaluate(workload, rows) {
  const byName = new Map(rows.map((r) => [r.contender, r]))
  const compareTo = workload.compareTo ?? (() => 'pool')
  for (const r of rows) {
    const p = byName.get(compareTo(r.contender))
    r.ratioTo = compareTo(r.contender)
    r.ratio = p && p !== r && !p.error && !r.error ? p.median / r.median : undefined // '—' for the pool row itself
  }
  const targets = (workload.targets ?? []).map((t) => {
    if (t.vs !== undefined) {
      const poolName = t.pool ?? 'pool'
      const p = byName.get(poolName)
      const v = byName.get(t.vs)
      const measured = p && v && !p.error && !v.error ? p.median / v.median : undefined
      const text = `${poolName} ${OP_TEXT[t.op]} ${t.ratio}× ${t.vs}`
      return { ...t, pool: poolName, text, row: t.vs, measured, met: measured === undefined ? undefined : OPS[t.op](measured, t.ratio) }
    }
    const r = byName.get(t.contender)
    const measured = r && !r.error ? r[t.field] : undefined
    const what = t.field === 'elMax' ? 'loop max' : t.field === 'elP99' ? 'loop p99' : workload.valueName ?? 'median'
    const text = `${t.contender} ${what} ${OP_TEXT[t.op]} ${t.limit} ${t.unit}`
    return { ...t, text, row: t.contender, measured, met: measured === undefined ? undefined : OPS[t.op](measured, t.limit) }
  })
  return targets
}

function formatMeasured(t) {
  if (t.measured === undefined) return 'not measured'
  return t.vs !== undefined ? formatRatio(t.measured) : `${num(t.measured)} ${t.unit}`
}

/** The `pool` contenders ('pool', 'pool runBatch', 'pool ×16'), not 'poolifier'. */
const isPool = (name) => name === 'pool' || name.startsWith('pool ')

const metText = (m) => (m === undefined ? '—' : m ? 'met' : '**missed**')

// ---------------------------------------------------------------------------------------------
// stdout

const pad = (s, n) => (s.length >= n ? s : s + ' '.repeat(n - s.length))
const lpad = (s, n) => (s.length >= n ? s : ' '.repeat(n - s.length) + s)

function stdoutHeader() {
  return `  ${pad('contender', 30)} ${lpad('median', 18)} ${lpad('min – max', 28)} ${lpad('EL p99/max ms', 14)}`
}

function stdoutRow(workload, r) {
  if (r.error) return `  ${pad(r.contender, 30)} FAILED: ${r.error}`
  const range = formatRange(r, workload.unit)
  const wall = r.wallSeconds === undefined ? '' : `   (${r.wallSeconds} s)`
  return `  ${pad(r.contender, 30)} ${lpad(formatValue(r.median, workload.unit), 18)} ${lpad(range, 28)} ${lpad(`${num(r.elP99)} / ${num(r.elMax)}`, 14)}${wall}`
}

function stdoutTargets(targets) {
  return targets.map((t) => `  target ${t.text}: ${formatMeasured(t)} → ${t.met === undefined ? 'not measured' : t.met ? 'met' : 'MISSED'}`)
}

// ---------------------------------------------------------------------------------------------
// Markdown

/**
 * The results file: machine and options, one table (every workload, every contender), then
 * every target with its measured value. `results` is what suite.js writes as JSON.
 */
function markdown(results) {
  const m = results.machine
  const o = results.options
  const lines = []
  lines.push(`# pool benchmark suite — ${results.date.slice(0, 10)}${o.quick ? ' (--quick)' : ''}`)
  lines.push('')
  lines.push(`- machine: ${m.cpuModel}, ${m.cores} cores (available parallelism ${m.availableParallelism}), ${m.platform}, Node ${m.node}, load average at start ${m.loadavgStart.map((x) => x.toFixed(2)).join(' ')}`)
  lines.push(`- every pool has ${o.threads} threads (pool, piscina, tinypool, workerpool, poolifier; start-up/memory rows use the thread count in their name); the libuv pool used by bcrypt, @node-rs/* and crypto.subtle has ${m.uvThreadpoolSize ?? '4 (default)'} threads`)
  lines.push(`- each (workload, contender) pair runs in a fresh process: ${o.warmup} untimed warm-up run(s), then ${o.reps} timed reps; the median is reported with the min – max of the reps; start-up and memory use one fresh process per rep (one discarded first)${o.quick ? ' (--quick: fewer reps and smaller sizes)' : ''}`)
  lines.push('- EL p99 / max: event-loop delay (`monitorEventLoopDelay`, 1 ms resolution) during each timed rep, median over reps')
  lines.push('- pool ÷ this: the `pool` row\'s median divided by this row\'s (same run); for "lower is better" units, below 1 means pool is better')
  if (results.packages) lines.push(`- packages: ${Object.entries(results.packages).map(([k, v]) => `${k} ${v}`).join(', ')}`)
  lines.push('')
  lines.push('| workload | contender | median | min – max | pool ÷ this | EL p99 / max (ms) | target | met? |')
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | --- | --- |')
  for (const w of results.workloads) {
    w.rows.forEach((r, i) => {
      const head = i === 0 ? `**${w.title}** (${w.better} is better)` : ''
      const ts = w.targets.filter((t) => t.row === r.contender)
      const target = ts.map((t) => `${t.text}: ${formatMeasured(t)}`).join('; ')
      const met = ts.map((t) => metText(t.met)).join('; ')
      if (r.error) {
        lines.push(`| ${head} | ${r.contender} | failed: ${String(r.error).replace(/\|/g, '/').split('\n')[0]} | | | | ${target} | ${met} |`)
        return
      }
      const name = isPool(r.contender) ? `**${r.contender}**` : r.contender
      lines.push(`| ${head} | ${name} | ${formatValue(r.median, w.unit)} | ${formatRange(r, w.unit)} | ${formatRatio(r.ratio)} | ${num(r.elP99)} / ${num(r.elMax)} | ${target} | ${met} |`)
    })
  }
  const retried = results.workloads.flatMap((w) => w.rows.filter((r) => r.retriedAfter).map((r) => `${w.name} / ${r.contender}: ${r.retriedAfter}`))
  if (retried.length) {
    lines.push('')
    lines.push(`Retried once after a failed first attempt (the row shows the second attempt): ${retried.join('; ')}`)
  }
  lines.push('')
  lines.push('Sizes:')
  lines.push('')
  for (const w of results.workloads) lines.push(`- ${w.name}: ${w.describe}`)
  lines.push('')
  lines.push('Targets:')
  lines.push('')
  for (const w of results.workloads) {
    for (const t of w.targets) lines.push(`- ${w.title}: ${t.text} — measured ${formatMeasured(t)} — ${t.met === undefined ? 'not measured' : t.met ? 'met' : 'missed'}`)
  }
  lines.push('')
  return lines.join('\n')
}

// ---------------------------------------------------------------------------------------------
// Charts

/** The bar chart of one workload's results (pool rows highlighted, ratio targets as markers). */
function chart(w) {
  const byName = new Map(w.rows.map((r) => [r.contender, r]))
  const markers = []
  for (const t of w.targets) {
    if (t.vs !== undefined) {
      const v = byName.get(t.vs)
      if (v && !v.error) markers.push({ value: v.median * t.ratio, label: `target ${OP_TEXT[t.op]} ${t.ratio}× ${t.vs}` })
    } else if (t.field === 'median') {
      markers.push({ value: t.limit, label: `target ${t.contender} ${OP_TEXT[t.op]} ${t.limit} ${t.unit}` })
    }
  }
  const loopTargets = w.targets.filter((t) => t.field === 'elMax' || t.field === 'elP99').map((t) => t.text)
  return barChart({
    title: w.title,
    subtitle: [`median of ${w.reps} reps`, ...loopTargets.map((s) => `target ${s}`)].join(' · '),
    unit: w.unit,
    better: w.better,
    bars: w.rows.map((r) => ({
      label: r.contender,
      value: r.error ? NaN : r.median,
      text: r.error ? undefined : formatValue(r.median, w.unit),
      note: r.error ? undefined : `loop p99 ${num(r.elP99)} / max ${num(r.elMax)} ms`,
      highlight: isPool(r.contender),
    })),
    markers,
  })
}

module.exports = { formatValue, formatRange, formatRatio, num, summarize, evaluate, stdoutHeader, stdoutRow, stdoutTargets, markdown, chart }
