'use strict'
// Cancellation: AbortSignal (before queueing, while queued, while running, on batches) and
// timeouts (per pool and per task, clock starting when the task runs).

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { fib, LONG, rejectsWith, withPool, occupy, waitFor, settled, sleep, yardstick } = require('./helpers')

/**
 * A running kernel that was stopped must free its thread: on a threads:1 pool a following small
 * task completes before a yardstick started at the stop (see helpers.js) has finished, which a
 * fib(LONG) left running could not allow.
 */
async function assertThreadFreed(pool, ruler) {
  assert.equal(await ruler.before(pool.run('fib', 20), 'the next task completed after the stop'), fib(20))
}

function assertAbortError(err, signal) {
  assert.ok(err instanceof Error)
  assert.equal(err.name, 'AbortError')
  assert.equal(err.code, 'ABORT_ERR')
  assert.equal(err.cause, signal.reason)
}

describe('AbortSignal', () => {
  it('an already-aborted signal rejects at once, without running the task', () => withPool({ threads: 1 }, async (pool) => {
    const ac = new AbortController()
    const reason = new Error('mine')
    ac.abort(reason)
    const err = await rejectsWith(pool.run('fib', LONG, { signal: ac.signal }), Error, 'ABORT_ERR')
    assertAbortError(err, ac.signal)
    assert.equal(err.cause, reason)
    assert.equal(pool.running, 0)
    assert.equal(pool.queueSize, 0)
    await rejectsWith(pool.runBatch('fib', [1, 2], { signal: ac.signal }), Error, 'ABORT_ERR')
  }))

  it('a queued task is removed and rejected at once', () => withPool({ threads: 1 }, async (pool) => {
    const [blocker] = await occupy(pool)
    const ac = new AbortController()
    const queued = settled(pool.run('fib', 10, { signal: ac.signal }))
    const other = pool.run('fib', 11)
    assert.equal(pool.queueSize, 2)
    ac.abort()
    assert.equal(pool.queueSize, 1, 'queueSize dropped synchronously')
    // Rejected while the blocker still occupies the only thread.
    const first = await Promise.race([queued.then(() => 'aborted'), blocker.then(() => 'blocker')])
    assert.equal(first, 'aborted')
    const r = await queued
    assert.equal(r.ok, false)
    assertAbortError(r.error, ac.signal)
    assert.equal(r.error.cause.name, 'AbortError', 'default reason is a DOMException AbortError')
    // The other queued task is unaffected.
    assert.equal(await other, fib(11))
    await blocker
  }))

  it('a running task is stopped cooperatively; the thread takes the next task', () => withPool({ threads: 1 }, async (pool) => {
    const ac = new AbortController()
    const p = settled(pool.run('fib', LONG, { signal: ac.signal }))
    await waitFor(() => pool.running === 1, 'task running')
    const next = pool.run('fib', 21) // queued behind the long task
    const ruler = yardstick()
    ac.abort('because')
    const r = await p
    assert.equal(r.ok, false)
    assertAbortError(r.error, ac.signal)
    assert.equal(r.error.cause, 'because')
    assert.equal(await next, fib(21))
    await assertThreadFreed(pool, ruler)
    assert.equal(pool.threads, 1)
    assert.equal(pool.stats().cancelled, 1)
  }))

  it("the user's own onabort handler and listeners still run", () => withPool({ threads: 1 }, async (pool) => {
    const ac = new AbortController()
    const calls = []
    ac.signal.onabort = () => calls.push('onabort')
    ac.signal.addEventListener('abort', () => calls.push('listener'))
    const p = settled(pool.run('fib', LONG, { signal: ac.signal }))
    const q = settled(pool.run('fib', LONG, { signal: ac.signal })) // queued, same signal
    await waitFor(() => pool.running === 1, 'task running')
    ac.abort()
    const [r1, r2] = await Promise.all([p, q])
    assertAbortError(r1.error, ac.signal)
    assertAbortError(r2.error, ac.signal)
    assert.deepEqual(calls.sort(), ['listener', 'onabort'])
  }))

  it('aborting after the task settled has no effect', () => withPool({ threads: 1 }, async (pool) => {
    const ac = new AbortController()
    assert.equal(await pool.run('fib', 15, { signal: ac.signal }), fib(15))
    const before = pool.stats()
    ac.abort()
    await new Promise((r) => setImmediate(r))
    const after = pool.stats()
    assert.equal(after.cancelled, before.cancelled)
    assert.equal(after.completed, before.completed)
    assert.equal(await pool.run('fib', 16), fib(16))
  }))

  it('one signal shared by many tasks cancels all of them', () => withPool({ threads: 2 }, async (pool) => {
    const ac = new AbortController()
    const tasks = Array.from({ length: 20 }, () => settled(pool.run('fib', LONG, { signal: ac.signal })))
    await waitFor(() => pool.running === 2, 'threads running')
    const ruler = yardstick()
    ac.abort()
    const rs = await Promise.all(tasks)
    for (const r of rs) assertAbortError(r.error, ac.signal)
    assert.equal(pool.queueSize, 0)
    await assertThreadFreed(pool, ruler)
  }))

  it('AbortSignal.timeout() works as a signal', () => withPool({ threads: 1 }, async (pool) => {
    const signal = AbortSignal.timeout(50)
    const ruler = yardstick()
    const err = await rejectsWith(pool.run('fib', LONG, { signal }), Error, 'ABORT_ERR')
    assertAbortError(err, signal)
    assert.equal(err.cause.name, 'TimeoutError')
    await assertThreadFreed(pool, ruler)
  }))

  describe('on batches', () => {
    it('aborting a running batch rejects it and stops its kernels', () => withPool({ threads: 2 }, async (pool) => {
      const ac = new AbortController()
      const p = settled(pool.runBatch('fib', [LONG, LONG, LONG, 5], { signal: ac.signal }))
      await waitFor(() => pool.running === 2, 'batch running')
      const ruler = yardstick()
      ac.abort(new Error('stop batch'))
      const r = await p
      assert.equal(r.ok, false)
      assertAbortError(r.error, ac.signal)
      await assertThreadFreed(pool, ruler)
      await waitFor(() => pool.running === 0 && pool.queueSize === 0, 'batch gone')
    }))

    it('aborting a queued batch removes all its tasks', () => withPool({ threads: 1 }, async (pool) => {
      const [blocker] = await occupy(pool)
      const ac = new AbortController()
      const p = settled(pool.runBatch('fib', Array.from({ length: 1000 }, (_, i) => i % 20), { signal: ac.signal }))
      assert.ok(pool.queueSize >= 1)
      ac.abort()
      assert.equal(pool.queueSize, 0)
      const first = await Promise.race([p.then(() => 'aborted'), blocker.then(() => 'blocker')])
      assert.equal(first, 'aborted')
      assertAbortError((await p).error, ac.signal)
      await blocker
    }))
  })
})

describe('timeout', () => {
  it('a per-task timeout rejects ERR_POOL_TIMEOUT and stops the kernel', () => withPool({ threads: 1 }, async (pool) => {
    const ruler = yardstick()
    const err = await rejectsWith(pool.run('fib', LONG, { timeout: 100 }), Error, 'ERR_POOL_TIMEOUT')
    assert.ok(err instanceof Error)
    await assertThreadFreed(pool, ruler)
    assert.equal(pool.stats().timedOut, 1)
  }))

  it('the pool default timeout applies to every task', () => withPool({ threads: 2, timeout: 100 }, async (pool) => {
    const ruler = yardstick()
    const rs = await Promise.all([settled(pool.run('fib', LONG)), settled(pool.run('fib', LONG))])
    for (const r of rs) assert.equal(r.ok ? 'resolved' : r.error.code, 'ERR_POOL_TIMEOUT')
    await assertThreadFreed(pool, ruler)
    assert.equal(pool.stats().timedOut, 2)
    await rejectsWith(pool.runBatch('fib', [1, LONG]), Error, 'ERR_POOL_TIMEOUT')
  }))

  it('a per-task timeout overrides the pool default (longer)', () => withPool({ threads: 1, timeout: 20 }, async (pool) => {
    // fib(40) runs for hundreds of ms: past the pool default, within its own limit.
    assert.equal(await pool.run('fib', 40, { timeout: 20_000 }), fib(40))
    assert.equal(pool.stats().timedOut, 0)
  }))

  it('a per-task timeout overrides the pool default (shorter)', () => withPool({ threads: 1, timeout: 60_000 }, async (pool) => {
    const ruler = yardstick()
    await rejectsWith(pool.run('fib', LONG, { timeout: 50 }), Error, 'ERR_POOL_TIMEOUT')
    await assertThreadFreed(pool, ruler)
  }))

  it('a timeout too large for any clock (1e300, MAX_VALUE) means no limit, not a crash', async () => {
    await withPool({ threads: 1, timeout: Number.MAX_VALUE }, async (pool) => {
      assert.equal(await pool.run('fib', 20), fib(20))
      assert.equal(await pool.run('fib', 20, { timeout: 1e300 }), fib(20))
      assert.deepEqual(await pool.runBatch('fib', [1, 2, 3], { timeout: 1e300 }), [1, 1, 2])
    })
  })

  it('the clock starts when the task runs, not when it is queued', () => withPool({ threads: 1, timeout: 400 }, async (pool) => {
    // The only thread is held until the queued tasks have waited twice their timeouts (the wait
    // is the point: time has to pass), then freed. Once running they need a few ms, far inside
    // 400 ms even on a loaded machine.
    const ac = new AbortController()
    const [blocker] = await occupy(pool, LONG, { timeout: 60_000, signal: ac.signal })
    const own = pool.run('fib', 20, { timeout: 400 })
    const byDefault = pool.run('fib', 21)
    const batch = pool.runBatch('fib', [1, 2, 3], { timeout: 400 })
    for (const p of [own, byDefault, batch]) p.catch(() => {}) // checked below
    await sleep(800)
    assert.ok(pool.queueSize >= 3, `still queued after 800 ms: ${pool.queueSize}`)
    ac.abort()
    assert.equal(await own, fib(20))
    assert.equal(await byDefault, fib(21))
    assert.deepEqual(await batch, [1, 1, 2])
    await rejectsWith(blocker, Error, 'ABORT_ERR')
    assert.equal(pool.stats().timedOut, 0)
  }))

  it('a timed-out batch rejects with ERR_POOL_TIMEOUT', () => withPool({ threads: 2 }, async (pool) => {
    const ruler = yardstick()
    await rejectsWith(pool.runBatch('fib', [LONG, 3, LONG], { timeout: 100 }), Error, 'ERR_POOL_TIMEOUT')
    await assertThreadFreed(pool, ruler)
  }))

  it('timeout and signal together: whichever comes first wins', () => withPool({ threads: 1 }, async (pool) => {
    const ac = new AbortController()
    await rejectsWith(pool.run('fib', LONG, { timeout: 50, signal: ac.signal }), Error, 'ERR_POOL_TIMEOUT')
    const p = pool.run('fib', LONG, { timeout: 60_000, signal: ac.signal })
    await waitFor(() => pool.running === 1, 'task running')
    ac.abort()
    assertAbortError(await rejectsWith(p, Error, 'ABORT_ERR'), ac.signal)
  }))
})
