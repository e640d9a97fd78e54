'use strict'
// Statistics, GC, option and table helpers shared by the benchmarks.

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** The nearest-rank `p`th percentile of `xs` (0 < p ≤ 100). */
function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]
}

/** The largest deviation from the median, as a percentage string ('' for one sample). */
function spread(xs) {
  if (xs.length < 2) return ''
  const m = median(xs)
  return `±${((Math.max(...xs.map((x) => Math.abs(x - m))) / m) * 100).toFixed(0)}%`
}

/** Forces a full GC between reps when possible (without --expose-gc); else does nothing. */
const gc = (() => {
  try {
    require('node:v8').setFlagsFromString('--expose-gc')
    return require('node:vm').runInNewContext('gc')
  } catch {
    return () => {} // best effort: without it, reps just include more GC noise
  }
})()

/** A command-line option that must be a whole number ≥ 1 (`s` its text). */
function positiveInt(name, s) {
  const n = Number(s)
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${s}`)
  return n
}

/**
 * A Markdown table as text: `header` the titles, `rows` arrays of cells, `align` one divider
 * per column ('---' or '---:'; default: the first column left, the rest right).
 */
function markdownTable(header, rows, align = header.map((_, i) => (i === 0 ? '---' : '---:'))) {
  return [header, align, ...rows].map((l) => `| ${l.join(' | ')} |`).join('\n')
}

module.exports = { median, percentile, spread, gc, positiveInt, markdownTable }
