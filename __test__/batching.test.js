'use strict'
// SIMD batching of queued bcrypt tasks (pool option `batching`, on by default): which tasks ran
// together is counted by stats().batched, and every task keeps its own result, error, abort and
// timeout. Tasks are queued behind a blocker that is aborted once they are all in, so what
// queues together is decided by the test, not by timing.

const { describe, it, before } = require('node:test')
const assert = require('node:assert/strict')
const bcryptjs = require('bcryptjs')
const { WorkerPool } = require('..')
const { LONG, rejectsWith, settled, waitFor, withPool } = require('./helpers.js')

let lanes
let min

before(async () => {
  // The backend is picked once per process, in the background, after the first bcrypt task.
  await withPool({ threads: 1 }, (p) => p.run('bcrypt.hash', { password: 'warm-up', cost: 4 }))
  await waitFor(() => WorkerPool.bcryptBackend !== null, 'the bcrypt backend probe')
  ;({ lanes } = WorkerPool.bcryptBackend)
  min = lanes - Math.floor(lanes / 4)
})

/** Runs `submit()` while the pool's one thread is held, then lets the thread go. */
async function queuedBehindBlocker(pool, submit) {
  const ac = new AbortController()
  const blocker = settled(pool.run('fib', LONG, { signal: ac.signal }))
  await waitFor(() => pool.running === 1, 'the blocker running')
  const tasks = submit()
  ac.abort()
  assert.equal((await blocker).error.code, 'ABORT_ERR')
  return tasks
}

describe('batching of queued bcrypt tasks', () => {
  it('reports its backend', () => {
    const b = WorkerPool.bcryptBackend
    assert.match(b.name, /^(avx2|avx2_12|avx512|sse41|neon|scalar)$/)
    assert.ok(Number.isInteger(b.lanes) && b.lanes >= 1)
  })

  it('runs queued hashes of one cost in lane-sized batches; each hash is of its own password', async () => {
    if (lanes < 2) return
    await withPool({ threads: 1 }, async (pool) => {
      const n = 2 * lanes + 2
      const passwords = Array.from({ length: n }, (_, i) => `password ${i} ${'é'.repeat(i)}`)
      const hashes = await Promise.all(await queuedBehindBlocker(pool,
        () => passwords.map((password) => pool.run('bcrypt.hash', { password, cost: 4 }))))
      passwords.forEach((pw, i) => {
        assert.match(hashes[i], /^\$2b\$04\$[./A-Za-z0-9]{53}$/)
        assert.equal(bcryptjs.compareSync(pw, hashes[i]), true, pw)
        assert.equal(bcryptjs.compareSync(passwords[(i + 1) % n], hashes[i]), false)
      })
      assert.equal(new Set(hashes.map((h) => h.slice(7, 29))).size, n, 'a salt of its own each')
      const s = pool.stats()
      // Two full batches; the last two are fewer than the minimum and ran alone.
      assert.equal(s.batched, 2 * lanes)
      assert.equal(s.perThread.reduce((sum, t) => sum + t.tasks, 0), n + 1, 'each task counts as one')
      assert.equal(s.runTime.count, n + 1)
    })
  })

  it('verifies in batches, true and false mixed, and never mixes costs', async () => {
    if (lanes < 2) return
    await withPool({ threads: 1 }, async (pool) => {
      const at = (cost) => Array.from({ length: lanes }, (_, i) => {
        const hash = bcryptjs.hashSync(`pw${i}`, cost)
        return { password: i % 3 === 0 ? `other${i}` : `pw${i}`, hash, expected: i % 3 !== 0 }
      })
      const items = [...at(4), ...at(5)]
      const got = await Promise.all(await queuedBehindBlocker(pool,
        () => items.map(({ password, hash }) => pool.run('bcrypt.verify', { password, hash }))))
      assert.deepEqual(got, items.map((x) => x.expected))
      assert.equal(pool.stats().batched, 2 * lanes, 'one batch per cost')

      // Interleaved costs: nothing of one cost is queued right behind another of the same cost.
      pool.resetStats()
      const mixed = items.slice(0, lanes).flatMap((x, i) => [x, items[lanes + i]])
      const again = await Promise.all(await queuedBehindBlocker(pool,
        () => mixed.map(({ password, hash }) => pool.run('bcrypt.verify', { password, hash }))))
      assert.deepEqual(again, mixed.map((x) => x.expected))
      assert.equal(pool.stats().batched, 0)
    })
  })

  it('a member aborted or timed out while the batch runs rejects at once; the others resolve', async () => {
    if (lanes < 2) return
    await withPool({ threads: 1 }, async (pool) => {
      const acs = Array.from({ length: lanes }, () => new AbortController())
      const queuedAbort = new AbortController()
      const tasks = await queuedBehindBlocker(pool, () => {
        const ts = acs.map((ac, i) => settled(pool.run('bcrypt.hash',
          { password: `p${i}`, cost: 11 }, { signal: ac.signal, timeout: i === 2 ? 1 : undefined })))
        // Aborted while queued: it never takes a lane.
        ts.push(settled(pool.run('bcrypt.hash', { password: 'q', cost: 11 }, { signal: queuedAbort.signal })))
        queuedAbort.abort()
        return ts
      })
      await waitFor(() => pool.running > 1, 'the batch running')
      acs[1].abort()
      const t1 = await tasks[1]
      assert.equal(t1.error.code, 'ABORT_ERR')
      assert.equal(pool.running > 1, true, 'rejected while the batch still ran')
      const results = await Promise.all(tasks)
      assert.equal(results[2].error.code, 'ERR_POOL_TIMEOUT')
      assert.equal(results[lanes].error.code, 'ABORT_ERR')
      results.slice(0, lanes).forEach((r, i) => {
        if (i === 1 || i === 2) return
        assert.equal(r.ok, true, String(r.error))
        assert.equal(bcryptjs.compareSync(`p${i}`, r.value), true)
      })
      const s = pool.stats()
      assert.equal(s.batched, lanes)
      assert.equal(s.cancelled, 3, 'the blocker, the queued one, the running one')
      assert.equal(s.timedOut, 1)
      // The thread serves on.
      assert.equal(await pool.run('bcrypt.verify', { password: 'p0', hash: results[0].value }), true)
    })
  })

  it('batching: false runs every task alone; a non-boolean is refused', async () => {
    await withPool({ threads: 1, batching: false }, async (pool) => {
      const hashes = await Promise.all(await queuedBehindBlocker(pool,
        () => Array.from({ length: 2 * lanes }, (_, i) => pool.run('bcrypt.hash', { password: `x${i}`, cost: 4 }))))
      hashes.forEach((h, i) => assert.equal(bcryptjs.compareSync(`x${i}`, h), true))
      assert.equal(pool.stats().batched, 0)
    })
    for (const batching of ['yes', 1, null]) {
      assert.throws(() => new WorkerPool({ batching }), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE')
    }
  })

  it('only tasks that would run next anyway join: a higher-priority task still runs first', async () => {
    if (lanes < 2) return
    await withPool({ threads: 1 }, async (pool) => {
      const order = []
      const tasks = await queuedBehindBlocker(pool, () => {
        const ts = Array.from({ length: lanes }, (_, i) =>
          pool.run('bcrypt.hash', { password: `${i}`, cost: 4 }).then(() => order.push(`bcrypt${i}`)))
        ts.push(pool.run('sha256', 'x', { priority: 1 }).then(() => order.push('sha256')))
        return ts
      })
      await Promise.all(tasks)
      assert.equal(order[0], 'sha256')
      assert.equal(pool.stats().batched, lanes)
    })
  })

  it('fuzz: mixed costs, valid and malformed hashes, aborts and timeouts: every promise settles right', async () => {
    let seed = 0x9e3779b9
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
    const stored = { 4: bcryptjs.hashSync('right', 4), 5: bcryptjs.hashSync('right', 5) }
    await withPool({ threads: 2 }, async (pool) => {
      for (let round = 0; round < 4; round++) {
        const cases = Array.from({ length: 40 }, () => {
          const cost = rand() < 0.5 ? 4 : 5
          const r = rand()
          const kind = r < 0.35 ? 'hash' : r < 0.75 ? 'verify' : r < 0.85 ? 'malformed' : 'wrong'
          const stop = rand() < 0.15 ? 'abort-soon' : rand() < 0.1 ? 'abort-now' : rand() < 0.1 ? 'timeout' : null
          return { cost, kind, stop, password: rand() < 0.5 ? 'right' : `pw${Math.floor(rand() * 1e6)}` }
        })
        const aborts = []
        const runs = cases.map((c) => {
          const ac = new AbortController()
          const options = { signal: ac.signal, timeout: c.stop === 'timeout' ? 1 : undefined }
          if (c.stop === 'abort-now') ac.abort()
          if (c.stop === 'abort-soon') aborts.push(ac)
          const input = c.kind === 'hash'
            ? { password: c.password, cost: c.cost }
            : { password: c.kind === 'wrong' ? 'wrong' : c.password, hash: c.kind === 'malformed' ? stored[c.cost].slice(0, 59) + '!' : stored[c.cost] }
          return settled(pool.run(c.kind === 'hash' ? 'bcrypt.hash' : 'bcrypt.verify', input, options))
        })
        setImmediate(() => aborts.forEach((ac) => ac.abort()))
        const results = await Promise.all(runs)
        results.forEach((r, i) => {
          const c = cases[i]
          if (c.kind === 'malformed') {
            assert.equal(r.error?.code, 'ERR_INVALID_ARG_VALUE', JSON.stringify(c))
          } else if (!r.ok) {
            const allowed = c.stop === 'timeout' ? ['ERR_POOL_TIMEOUT'] : c.stop ? ['ABORT_ERR'] : []
            assert.ok(allowed.includes(r.error.code), `${JSON.stringify(c)}: ${r.error.code} ${r.error.message}`)
          } else if (c.kind === 'hash') {
            assert.equal(c.stop === 'abort-now', false)
            assert.equal(bcryptjs.compareSync(c.password, r.value), true)
            assert.equal(Number(r.value.slice(4, 6)), c.cost)
          } else {
            assert.equal(r.value, c.kind === 'verify' && c.password === 'right', JSON.stringify(c))
          }
        })
      }
      const s = pool.stats()
      assert.equal(s.running + s.queueSize, 0)
      assert.equal(await pool.run('bcrypt.verify', { password: 'right', hash: stored[4] }), true)
    })
  })
})
