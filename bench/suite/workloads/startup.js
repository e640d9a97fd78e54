'use strict'
// Start-up: time from `new` to the first result of one trivial task, in a fresh process per
// sample (module loading is not timed), for pool and piscina at 1, 4 and 16 threads.
const { loadPool, createPool } = require('../harness')
const { TASKS } = require('../pools')

const THREADS = [1, 4, 16]
const CONTENDERS = [...THREADS.map((n) => `pool ×${n}`), ...THREADS.map((n) => `piscina ×${n}`)]

function parse(name) {
  const m = /^(pool|piscina) ×(\d+)$/.exec(name)
  if (!m) throw new Error(`unknown contender ${name}`)
  return { kind: m[1], threads: Number(m[2]) }
}

module.exports = {
  name: 'startup',
  title: () => 'start-up: new → first result',
  unit: 'ms',
  better: 'lower',
  valueName: 'first result',
  freshProcessPerRep: true,
  sizes: () => ({ threads: THREADS }),
  describe: () => `constructor to the first result of one echo task, ${THREADS.join(' / ')} threads, fresh process per sample`,
  contenders: CONTENDERS,
  compareTo: (name) => name.replace('piscina', 'pool'), // each piscina row against pool with the same threads
  targets: THREADS.map((n) => ({ contender: `pool ×${n}`, field: 'median', op: '<=', limit: 5, unit: 'ms' })),
  async setup(name) {
    const { kind, threads } = parse(name)
    if (kind === 'pool') loadPool() // module loading is not part of start-up or of the pool's memory
    let create
    if (kind === 'pool') {
      create = async () => {
        const pool = createPool(threads)
        await pool.run('echo', 1)
        return () => pool.close()
      }
    } else {
      const { Piscina } = require('piscina') // loaded before the clock starts
      create = async () => {
        const p = new Piscina({ filename: TASKS, minThreads: threads, maxThreads: threads })
        await p.run(1, { name: 'echo' })
        return () => p.destroy()
      }
    }
    return { units: 1, run: create, value: (_, ms) => ms, after: (close) => close() }
  },
}
