'use strict'
// Queueing: priority order, FIFO among equal priorities, maxQueue, queueSize/running counters.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { fib, rejectsWith, withPool, occupy, waitFor, settled } = require('./helpers')

/**
 * On a busy threads:1 pool, queues one fib(10) per `spec` entry ({ id, priority? }) and
 * returns the ids in the order their promises settled.
 */
async function settleOrder(pool, specs) {
  const order = []
  const tasks = specs.map(({ id, priority }) => {
    const opts = priority === undefined ? undefined : { priority }
    return pool.run('fib', 10, opts).then((v) => {
      assert.equal(v, 55)
      order.push(id)
    })
  })
  assert.equal(pool.queueSize, specs.length, 'all tasks wait behind the blocker')
  await Promise.all(tasks)
  return order
}

describe('priority', () => {
  it('higher priority runs first; FIFO among equal priorities', () => withPool({ threads: 1 }, async (pool) => {
    const [blocker] = await occupy(pool)
    const order = settleOrder(pool, [
      { id: 'p0-a', priority: 0 },
      { id: 'p5-a', priority: 5 },
      { id: 'pdefault-a' },
      { id: 'p-3', priority: -3 },
      { id: 'p5-b', priority: 5 },
      { id: 'p0.5', priority: 0.5 },
      { id: 'p0-b', priority: 0 },
      { id: 'p1e9', priority: 1e9 },
      { id: 'pdefault-b' },
      { id: 'p5-c', priority: 5 },
    ])
    assert.equal(await blocker, fib(41))
    assert.deepEqual(await order, [
      'p1e9', 'p5-a', 'p5-b', 'p5-c', 'p0.5', 'p0-a', 'pdefault-a', 'p0-b', 'pdefault-b', 'p-3',
    ])
  }))

  it('FIFO holds for many equal-priority tasks', () => withPool({ threads: 1 }, async (pool) => {
    await occupy(pool, 38)
    const specs = Array.from({ length: 200 }, (_, i) => ({ id: i, priority: i % 2 ? 1 : 0 }))
    const order = await settleOrder(pool, specs)
    const odd = specs.filter((s) => s.priority === 1).map((s) => s.id)
    const even = specs.filter((s) => s.priority === 0).map((s) => s.id)
    assert.deepEqual(order, [...odd, ...even])
  }))

  it('a batch with higher priority overtakes queued single tasks', () => withPool({ threads: 1 }, async (pool) => {
    await occupy(pool, 38)
    const order = []
    const low = pool.run('fib', 10).then(() => order.push('low'))
    const batch = pool.runBatch('fib', [1, 2, 3], { priority: 10 }).then(() => order.push('batch'))
    await Promise.all([low, batch])
    assert.deepEqual(order, ['batch', 'low'])
  }))
})

describe('maxQueue and counters', () => {
  it('queueSize counts waiting tasks, running counts executing ones', () => withPool({ threads: 2 }, async (pool) => {
    const blockers = await occupy(pool)
    assert.equal(pool.running, 2)
    const queued = [pool.run('fib', 1), pool.run('fib', 2), pool.run('fib', 3)]
    assert.equal(pool.queueSize, 3)
    assert.equal(pool.stats().queueSize, 3)
    assert.equal(pool.stats().running, 2)
    assert.deepEqual(await Promise.all(queued), [1, 1, 2])
    await Promise.all(blockers)
    assert.equal(pool.queueSize, 0)
    assert.equal(pool.running, 0)
    assert.equal(pool.completed, 5)
  }))

  it('past maxQueue waiting tasks, run() rejects ERR_POOL_QUEUE_FULL (running ones not counted)', () => withPool({ threads: 2, maxQueue: 3 }, async (pool) => {
    const blockers = await occupy(pool)
    const accepted = [pool.run('fib', 5), pool.run('fib', 6), pool.run('fib', 7)]
    assert.equal(pool.queueSize, 3)
    const err = await rejectsWith(pool.run('fib', 8), Error, 'ERR_POOL_QUEUE_FULL')
    assert.ok(err instanceof Error)
    await rejectsWith(pool.run('fib', 8, { priority: 100 }), Error, 'ERR_POOL_QUEUE_FULL')
    assert.equal(pool.queueSize, 3, 'rejected tasks were not queued')
    assert.deepEqual(await Promise.all(accepted), [5, 8, 13])
    await Promise.all(blockers)
    // Room again once the queue drained.
    assert.equal(await pool.run('fib', 9), 34)
  }))

  it('maxQueue: 0 accepts a task for an idle thread and rejects one that would wait', () => withPool({ threads: 1, maxQueue: 0 }, async (pool) => {
    assert.equal(await pool.run('fib', 12), 144)
    const [blocker] = await occupy(pool)
    await rejectsWith(pool.run('fib', 1), Error, 'ERR_POOL_QUEUE_FULL')
    assert.equal(pool.queueSize, 0)
    await blocker
    await waitFor(() => pool.running === 0, 'thread idle')
    assert.equal(await pool.run('fib', 13), 233)
  }))

  it('idle threads do not count against maxQueue: a burst of threads + maxQueue tasks is accepted', () => withPool({ threads: 2, maxQueue: 1 }, async (pool) => {
    const results = await Promise.all([30, 30, 30].map((n) => settled(pool.run('fib', n))))
    assert.deepEqual(results.map((r) => (r.ok ? r.value : r.error.code)), [fib(30), fib(30), fib(30)])
  }))

  it('a queue-full rejection does not disturb accepted tasks', () => withPool({ threads: 1, maxQueue: 1 }, async (pool) => {
    await occupy(pool, 38)
    const ok = settled(pool.run('echo', 'kept'))
    const rejected = await Promise.all(Array.from({ length: 50 }, () => settled(pool.run('echo', 'dropped'))))
    assert.ok(rejected.every((r) => !r.ok && r.error.code === 'ERR_POOL_QUEUE_FULL'))
    assert.deepEqual(await ok, { ok: true, value: 'kept' })
  }))

  it('Infinity maxQueue queues thousands', () => withPool({ threads: 1, maxQueue: Infinity }, async (pool) => {
    await occupy(pool, 38)
    const tasks = Array.from({ length: 5000 }, (_, i) => pool.run('echo', i))
    assert.equal(pool.queueSize, 5000)
    const out = await Promise.all(tasks)
    assert.deepEqual(out, Array.from({ length: 5000 }, (_, i) => i))
  }))
})
