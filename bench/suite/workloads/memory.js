'use strict'
// Memory: RSS added by a pool of 1, 4 and 16 threads once every thread is up and has run tasks,
// in a fresh process per sample, for pool and piscina. Also records the OS threads added.
const fs = require('node:fs')
const { loadPool, createPool, check, sleep } = require('../harness')
const { TASKS } = require('../pools')
const { gc } = require('../../lib')

const THREADS = [1, 4, 16]
const MB = 1024 * 1024

const osThreads = () => fs.readdirSync('/proc/self/task').length // Linux only

function parse(name) {
  const m = /^(pool|piscina) ×(\d+)$/.exec(name)
  if (!m) throw new Error(`unknown contender ${name}`)
  return { kind: m[1], threads: Number(m[2]) }
}

module.exports = {
  name: 'memory',
  title: () => 'memory: RSS added by the pool',
  unit: 'MB',
  better: 'lower',
  valueName: 'RSS added',
  freshProcessPerRep: true,
  sizes: () => ({ threads: THREADS }),
  describe: () => `RSS after the pool started ${THREADS.join(' / ')} threads and ran 2 echo tasks per thread, minus RSS before \`new\` (MiB), fresh process per sample`,
  contenders: [...THREADS.map((n) => `pool ×${n}`), ...THREADS.map((n) => `piscina ×${n}`)],
  compareTo: (name) => name.replace('piscina', 'pool'),
  targets: [{ contender: 'pool ×16', field: 'median', op: '<=', limit: 20, unit: 'MB' }],
  async setup(name) {
    const { kind, threads } = parse(name)
    if (kind === 'pool') loadPool() // module loading is not part of start-up or of the pool's memory
    const { Piscina } = kind === 'piscina' ? require('piscina') : {}
    let added = []
    return {
      units: 1,
      prepare: () => {
        gc()
        return { rss: process.memoryUsage().rss, threads: osThreads() }
      },
      run: async (before) => {
        let run
        let close
        if (kind === 'pool') {
          const pool = createPool(threads)
          run = (i) => pool.run('echo', i)
          close = () => pool.close()
        } else {
          const p = new Piscina({ filename: TASKS, minThreads: threads, maxThreads: threads })
          let created = 0
          await new Promise((resolve) => p.on('workerCreate', () => { if (++created === threads) resolve() }))
          run = (i) => p.run(i, { name: 'echo' })
          close = () => p.destroy()
        }
        await Promise.all(Array.from({ length: threads * 2 }, (_, i) => run(i)))
        // Every thread must really exist before RSS is read (pool starts its threads at `new`).
        for (let i = 0; i < 100 && osThreads() - before.threads < threads; i++) await sleep(10)
        const threadsAdded = osThreads() - before.threads
        check(threadsAdded >= threads, `${name}: ${threadsAdded} OS threads added, expected >= ${threads}`)
        added.push(threadsAdded)
        return { close, rssMB: (process.memoryUsage().rss - before.rss) / MB }
      },
      value: (r) => r.rssMB,
      after: (r) => r.close(),
      extra: () => ({ osThreadsAdded: added[added.length - 1] }),
    }
  },
}
