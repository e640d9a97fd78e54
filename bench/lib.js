'use strict'
// Statistics and GC helpers shared by the benchmarks.

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
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

module.exports = { median, spread, gc }
