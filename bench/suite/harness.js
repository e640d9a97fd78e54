'use strict'
// Child-process side of the suite: measures one (workload, contender) pair and returns its samples.
// A contender is { units, prepare?, run, value?, verify?, after?, close?, extra? } (see suite.js).
const path = require('node:path')
const { monitorEventLoopDelay } = require('node:perf_hooks')
const { gc } = require('../lib')

const ROOT = path.join(__dirname, '..', '..')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Loads the addon (cached); call it in setup() where loading must stay out of the timed run. */
const loadPool = () => require(ROOT).WorkerPool

/** The `pool` contender as a user writes it. */
function createPool(threads) {
  const WorkerPool = loadPool()
  return new WorkerPool({ threads })
}

function check(cond, what) {
  if (!cond) throw new Error(`correctness check failed: ${what}`)
}

// `warmup` untimed runs, then `reps` timed runs. Each timed run has its own event-loop delay
// histogram (1 ms resolution), enabled 5 ms before the work starts (the monitor's first tick only
// starts its clock, so a block before its second tick would go unseen) and disabled 5 ms after
// it ends (so a block that just ended is still recorded when the late timer fires). Inputs are
// prepared and garbage is collected before the monitor starts: neither is the contender's cost.
async function measure(workload, contender, opts) {
  const c = await workload.setup(contender, opts)
  const samples = []
  try {
    for (let i = -opts.warmup; i < opts.reps; i++) {
      const input = c.prepare ? await c.prepare() : undefined
      gc()
      const h = monitorEventLoopDelay({ resolution: 1 })
      h.enable()
      await sleep(5)
      const t0 = performance.now()
      const result = await c.run(input)
      const ms = performance.now() - t0
      await sleep(5)
      h.disable()
      if (c.verify) await c.verify(result)
      const value = c.value ? c.value(result, ms) : (c.units / ms) * 1000
      if (c.after) await c.after(result)
      if (i >= 0) samples.push({ value, ms, elP99: h.percentile(99) / 1e6, elMax: h.max / 1e6 })
    }
  } finally {
    if (c.close) await c.close()
  }
  return { samples, extra: c.extra ? c.extra() : undefined }
}

module.exports = { ROOT, loadPool, createPool, check, measure, sleep }
