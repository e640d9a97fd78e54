'use strict'
// N trivial tasks (echo i) submitted at once and awaited with Promise.all: the per-task cost of
// each pool. `pool runBatch` is the same work as one runBatch call (one promise for all).
const { createPool, check } = require('../harness')
const { createJsPool, JS_POOLS } = require('../pools')

module.exports = {
  name: 'trivial-at-once',
  title: (s) => `${s.tasks / 1000}k trivial tasks submitted at once`,
  unit: 'tasks/s',
  better: 'higher',
  sizes: (opts) => ({ tasks: opts.quick ? 20_000 : 50_000 }),
  describe: (s) => `${s.tasks} × echo(i), all submitted, then Promise.all`,
  contenders: ['pool', 'pool runBatch', ...JS_POOLS, 'main-thread async fn'],
  targets: [{ vs: 'piscina', op: '>=', ratio: 20 }],
  async setup(name, { threads, sizes }) {
    const n = sizes.tasks
    const inputs = Array.from({ length: n }, (_, i) => i)
    const verify = (r) => check(r.length === n && r[n - 1] === n - 1 && r[n >> 1] === n >> 1, `${name} echo results`)
    let submit
    let close
    if (name === 'pool' || name === 'pool runBatch') {
      const pool = createPool(threads)
      close = () => pool.close()
      if (name === 'pool runBatch') return { units: n, run: () => pool.runBatch('echo', inputs), verify, close }
      submit = (i) => pool.run('echo', i)
    } else if (name === 'main-thread async fn') {
      const echo = async (x) => x
      submit = echo
    } else {
      const p = await createJsPool(name, threads)
      close = () => p.close()
      submit = (i) => p.run('echo', i)
    }
    return {
      units: n,
      run: () => {
        const promises = new Array(n)
        for (let i = 0; i < n; i++) promises[i] = submit(i)
        return Promise.all(promises)
      },
      verify,
      close,
    }
  },
}
