'use strict'
// N trivial tasks awaited one at a time: the round trip of one task through an idle pool
// (submit, run on a thread, settle the promise, resume). Value: median round trip of the rep.
const { createPool, check } = require('../harness')
const { createJsPool, JS_POOLS } = require('../pools')
const { median } = require('../../lib')

module.exports = {
  name: 'trivial-sequential',
  title: (s) => `${s.tasks / 1000}k trivial tasks awaited one at a time`,
  unit: 'µs',
  better: 'lower',
  valueName: 'median round trip',
  sizes: (opts) => ({ tasks: opts.quick ? 2_000 : 5_000 }),
  describe: (s) => `${s.tasks} × await echo(i), median round trip per rep`,
  contenders: ['pool', ...JS_POOLS],
  targets: [{ vs: 'piscina', op: '<=', ratio: 0.5 }],
  async setup(name, { threads, sizes }) {
    const n = sizes.tasks
    let submit
    let close
    if (name === 'pool') {
      const pool = createPool(threads)
      submit = (i) => pool.run('echo', i)
      close = () => pool.close()
    } else {
      const p = await createJsPool(name, threads)
      submit = (i) => p.run('echo', i)
      close = () => p.close()
    }
    return {
      units: n,
      run: async () => {
        const times = new Float64Array(n)
        for (let i = 0; i < n; i++) {
          const t0 = performance.now()
          const r = await submit(i)
          times[i] = performance.now() - t0
          if (r !== i) check(false, `${name} echo(${i}) returned ${r}`)
        }
        return times
      },
      value: (times) => median(times) * 1000,
      close,
    }
  },
}
