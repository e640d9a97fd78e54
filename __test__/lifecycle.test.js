'use strict'
// close(), destroy(), Symbol.asyncDispose, kernel panics and the stats() counters.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { WorkerPool } = require('..')
const { fib, LONG, rejectsWith, withPool, occupy, waitFor, settled, yardstick } = require('./helpers')

/** Both run() and runBatch() reject with ERR_POOL_CLOSED. */
async function assertRejectsClosed(pool) {
  await rejectsWith(pool.run('fib', 1), Error, 'ERR_POOL_CLOSED')
  await rejectsWith(pool.run('echo', 'x', { priority: 1 }), Error, 'ERR_POOL_CLOSED')
  await rejectsWith(pool.runBatch('fib', [1, 2]), Error, 'ERR_POOL_CLOSED')
}

describe('close()', () => {
  it('lets queued and running tasks finish, then resolves', async () => {
    const pool = new WorkerPool({ threads: 1 })
    const events = []
    const inputs = [36, 30, 31, 32]
    const tasks = inputs.map((n, i) => pool.run('fib', n).then((v) => { events.push(`task${i}`); return v }))
    await waitFor(() => pool.running === 1, 'first task running')
    const closing = pool.close()
    assert.ok(closing instanceof Promise)
    assert.equal(pool.closed, true, 'closed is true as soon as close() began')
    await assertRejectsClosed(pool)
    await closing.then(() => events.push('closed'))
    assert.deepEqual(await Promise.all(tasks), inputs.map(fib))
    assert.deepEqual(events, ['task0', 'task1', 'task2', 'task3', 'closed'])
    assert.equal(pool.running, 0)
    assert.equal(pool.queueSize, 0)
  })

  it('is idempotent', async () => {
    const pool = new WorkerPool({ threads: 2 })
    const task = pool.run('fib', 30)
    const a = pool.close()
    const b = pool.close()
    await Promise.all([a, b])
    assert.equal(await task, fib(30))
    await pool.close() // after it finished too
    assert.equal(pool.closed, true)
  })

  it('on an unused pool resolves', async () => {
    const pool = new WorkerPool({ threads: 3 })
    await pool.close()
    assert.equal(pool.closed, true)
    await assertRejectsClosed(pool)
  })

  it('stats() still works after close', async () => {
    const pool = new WorkerPool({ threads: 1 })
    await pool.run('fib', 10)
    await pool.close()
    const s = pool.stats()
    assert.equal(s.closed, true)
    assert.equal(s.completed, 1)
    assert.equal(s.running, 0)
  })
})

describe('destroy()', () => {
  it('rejects queued tasks, stops running ones (ERR_POOL_CLOSED), resolves when threads exited', async () => {
    const pool = new WorkerPool({ threads: 2 })
    const running = [settled(pool.run('fib', LONG)), settled(pool.run('fib', LONG))]
    await waitFor(() => pool.running === 2, 'threads running')
    const queued = Array.from({ length: 100 }, (_, i) => settled(pool.run('fib', i % 30)))
    const batch = settled(pool.runBatch('fib', [1, 2, 3]))
    const ruler = yardstick()
    const destroying = pool.destroy()
    assert.ok(destroying instanceof Promise)
    assert.equal(pool.closed, true)
    await assertRejectsClosed(pool)
    // fib(45) runs for seconds; destroy() must not have waited for it (see yardstick()).
    await ruler.before(destroying, 'destroy() resolved')
    for (const res of await Promise.all([...running, ...queued, batch])) {
      assert.equal(res.ok, false, 'task should have been rejected')
      assert.equal(res.error.code, 'ERR_POOL_CLOSED')
      assert.ok(res.error instanceof Error)
    }
    assert.equal(pool.running, 0)
    assert.equal(pool.queueSize, 0)
  })

  it('is idempotent', async () => {
    const pool = new WorkerPool({ threads: 2 })
    const t = settled(pool.run('fib', LONG))
    await waitFor(() => pool.running === 1, 'task running')
    await Promise.all([pool.destroy(), pool.destroy()])
    await pool.destroy()
    assert.equal((await t).error.code, 'ERR_POOL_CLOSED')
  })

  it('after close() began, destroy() also resolves and stops the rest', async () => {
    const pool = new WorkerPool({ threads: 1 })
    const t = settled(pool.run('fib', LONG))
    await waitFor(() => pool.running === 1, 'task running')
    const closing = pool.close()
    await pool.destroy()
    await closing
    assert.equal((await t).error.code, 'ERR_POOL_CLOSED')
  })
})

describe('Symbol.asyncDispose', () => {
  it('is close(): lets tasks finish', async () => {
    const pool = new WorkerPool({ threads: 1 })
    assert.equal(typeof pool[Symbol.asyncDispose], 'function')
    const tasks = [pool.run('fib', 30), pool.run('fib', 31)]
    await waitFor(() => pool.running === 1, 'task running')
    const p = pool[Symbol.asyncDispose]()
    assert.ok(p instanceof Promise)
    assert.equal(pool.closed, true)
    await p
    assert.deepEqual(await Promise.all(tasks), [fib(30), fib(31)])
    await rejectsWith(pool.run('fib', 1), Error, 'ERR_POOL_CLOSED')
  })
})

describe('kernel panics', () => {
  it('reject only that task with ERR_POOL_KERNEL_PANIC', () => withPool({ threads: 2 }, async (pool) => {
    const others = [pool.run('fib', 30), pool.run('echo', 'x')]
    const err = await rejectsWith(pool.run('__panic', null), Error, 'ERR_POOL_KERNEL_PANIC')
    assert.equal(typeof err.message, 'string')
    assert.deepEqual(await Promise.all(others), [fib(30), 'x'])
  }))

  it('the pool keeps all its threads after many panics', () => withPool({ threads: 2 }, async (pool) => {
    const panics = await Promise.all(Array.from({ length: 10 }, () => settled(pool.run('__panic', 1))))
    for (const r of panics) assert.equal(r.ok ? 'resolved' : r.error.code, 'ERR_POOL_KERNEL_PANIC')
    assert.equal(pool.threads, 2)
    // Two long tasks run at the same time: both threads are alive.
    const pair = [pool.run('fib', 40), pool.run('fib', 40)]
    await waitFor(() => pool.running === 2, 'both threads running after panics')
    assert.deepEqual(await Promise.all(pair), [fib(40), fib(40)])
    assert.deepEqual(await Promise.all([pool.run('fib', 30), pool.run('fib', 30)]), [fib(30), fib(30)])
    const s = pool.stats()
    assert.equal(s.completed, 14)
    assert.equal(s.failed, 10)
  }))

  it('close() after panics still resolves', async () => {
    const pool = new WorkerPool({ threads: 2 })
    await settled(pool.run('__panic', 1))
    await settled(pool.run('__panic', 1))
    await pool.close()
  })
})

describe('stats()', () => {
  it('counts every outcome after known work', () => withPool({ threads: 1 }, async (pool) => {
    // 3 successes.
    await Promise.all([pool.run('fib', 20), pool.run('echo', 1), pool.run('sha256', 'a')])
    // 2 failures (a panic; a kernel error on the thread is not possible: inputs are checked up front).
    await settled(pool.run('__panic', 1))
    await settled(pool.runBatch('__panic', [1]))
    // 1 timeout.
    await settled(pool.run('fib', LONG, { timeout: 30 }))
    // 2 cancellations: one running, one queued.
    const ac = new AbortController()
    const runningOne = settled(pool.run('fib', LONG, { signal: ac.signal }))
    await waitFor(() => pool.running === 1, 'task running')
    const queuedOne = settled(pool.run('fib', 5, { signal: ac.signal }))
    ac.abort()
    await Promise.all([runningOne, queuedOne])
    await waitFor(() => pool.running === 0, 'idle')

    const s = pool.stats()
    assert.equal(s.failed, 2, 'failed')
    assert.equal(s.timedOut, 1, 'timedOut')
    assert.equal(s.cancelled, 2, 'cancelled')
    assert.equal(s.completed, 8, 'completed counts every settled task')
    assert.equal(pool.completed, 8)
    assert.ok(s.runTime.count > 0)
    assert.ok(s.waitTime.count > 0)
    assert.ok(s.runTime.max >= s.runTime.p50)
    assert.ok(s.utilization >= 0 && s.utilization <= 1)
  }))

  it('runTime reflects how long tasks ran (ms)', () => withPool({ threads: 1 }, async (pool) => {
    const t0 = Date.now()
    await pool.run('fib', 40)
    const elapsed = Date.now() - t0
    const s = pool.stats()
    assert.equal(s.runTime.count, 1)
    // The one task's run time is in milliseconds: positive and not more than the wall time.
    assert.ok(s.runTime.max > 0 && s.runTime.max <= elapsed + 5, `runTime.max ${s.runTime.max} vs ${elapsed} ms`)
  }))

  it('utilization stays within 0..1 and is non-zero after busy work', () => withPool({ threads: 2 }, async (pool) => {
    const inRange = (u) => assert.ok(u >= 0 && u <= 1, `utilization ${u}`)
    inRange(pool.utilization)
    const blockers = await occupy(pool, 40)
    inRange(pool.utilization)
    await Promise.all(blockers)
    const u = pool.utilization
    inRange(u)
    assert.ok(u > 0, `both threads were busy for most of the pool's life, utilization is ${u}`)
    inRange(pool.stats().utilization)
  }))
})
