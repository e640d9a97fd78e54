'use strict'
// N × fib(30), all submitted at once: CPU-bound work that every contender runs as the same naive
// recursion (the JS pools and the main thread in JS, `pool` in Rust: what each user would run).
const { createPool, check } = require('../harness')
const { createJsPool, JS_POOLS } = require('../pools')
const tasks = require('../../workers/tasks')

const FIB_30 = 832040

module.exports = {
  name: 'fib',
  title: (s) => `fib(${s.n}) × ${s.tasks}`,
  unit: 'tasks/s',
  better: 'higher',
  sizes: (opts) => ({ n: 30, tasks: opts.quick ? 32 : 64 }),
  describe: (s) => `${s.tasks} × fib(${s.n}), all submitted at once (main thread: a plain loop)`,
  contenders: ['pool', ...JS_POOLS, 'main thread'],
  targets: [{ vs: 'piscina', op: '>=', ratio: 1.5 }],
  async setup(name, { threads, sizes }) {
    const { n, tasks: count } = sizes
    const verify = (r) => check(r.length === count && r.every((x) => x === FIB_30), `${name} fib(${n}) results`)
    const all = (f) => () => Promise.all(Array.from({ length: count }, () => f(n)))
    if (name === 'pool') {
      const pool = createPool(threads)
      return { units: count, run: all((x) => pool.run('fib', x)), verify, close: () => pool.close() }
    }
    if (name === 'main thread') {
      return { units: count, run: async () => Array.from({ length: count }, () => tasks.fib(n)), verify }
    }
    const p = await createJsPool(name, threads)
    return { units: count, run: all((x) => p.run('fib', x)), verify, close: () => p.close() }
  },
}
