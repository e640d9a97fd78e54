'use strict'
// What the password workloads share: the pool contender, ready before the first timed run (the
// bcrypt SIMD backend is picked once per process in the background, ~0.4 s of one core, which
// must not land in a timed rep), and its batching figures as the row's extra.
const { createPool } = require('../harness')

async function passwordPool(threads) {
  const pool = createPool(threads)
  await pool.run('bcrypt.hash', { password: 'warm-up', cost: 4 })
  const WorkerPool = pool.constructor
  const until = Date.now() + 30_000
  while (WorkerPool.bcryptBackend === null && Date.now() < until) await new Promise((r) => setTimeout(r, 10))
  pool.resetStats()
  return {
    pool,
    close: () => pool.close(),
    extra: () => {
      const s = pool.stats()
      const ran = s.perThread.reduce((n, t) => n + t.tasks, 0)
      return { backend: WorkerPool.bcryptBackend, batchedShare: ran ? s.batched / ran : 0 }
    },
  }
}

const PASSWORDS = (n) => Array.from({ length: n }, (_, i) => `correct horse battery staple #${i}`)

module.exports = { passwordPool, PASSWORDS }
