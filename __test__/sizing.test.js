'use strict'
// minThreads / maxThreads / idleTimeout, resize(), and per-thread metrics.
const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { WorkerPool } = require('..')
const { BLOCKER, fib, waitFor, sleep, withPool, occupy } = require('./helpers.js')

const code = (Ctor, c) => (e) => e instanceof Ctor && e.code === c

describe('sizing options', () => {
  it('threads sets minThreads = maxThreads', () => withPool({ threads: 3 }, async (pool) => {
    assert.equal(pool.minThreads, 3)
    assert.equal(pool.maxThreads, 3)
    assert.equal(pool.threads, 3)
  }))

  it('a missing bound defaults around the other one', async () => {
    await withPool({ maxThreads: 1 }, async (pool) => {
      assert.deepEqual([pool.minThreads, pool.maxThreads], [1, 1])
    })
    await withPool({ minThreads: 0 }, async (pool) => {
      assert.equal(pool.minThreads, 0)
      assert.ok(pool.maxThreads >= 1)
    })
    await withPool({ minThreads: 5 }, async (pool) => {
      assert.deepEqual([pool.minThreads, pool.maxThreads], [5, Math.max(5, pool.maxThreads)])
    })
  })

  it('rejects bad bounds with typed errors', () => {
    assert.throws(() => new WorkerPool({ minThreads: 3, maxThreads: 2 }), code(RangeError, 'ERR_OUT_OF_RANGE'))
    assert.throws(() => new WorkerPool({ threads: 2, maxThreads: 2 }), code(TypeError, 'ERR_INVALID_ARG_VALUE'))
    assert.throws(() => new WorkerPool({ maxThreads: 0 }), code(RangeError, 'ERR_OUT_OF_RANGE'))
    assert.throws(() => new WorkerPool({ maxThreads: 1025 }), code(RangeError, 'ERR_OUT_OF_RANGE'))
    assert.throws(() => new WorkerPool({ minThreads: -1 }), code(RangeError, 'ERR_OUT_OF_RANGE'))
    assert.throws(() => new WorkerPool({ minThreads: 1.5 }), code(RangeError, 'ERR_OUT_OF_RANGE'))
    assert.throws(() => new WorkerPool({ maxThreads: '2' }), code(TypeError, 'ERR_INVALID_ARG_TYPE'))
    assert.throws(() => new WorkerPool({ idleTimeout: -1 }), code(RangeError, 'ERR_OUT_OF_RANGE'))
    assert.throws(() => new WorkerPool({ idleTimeout: NaN }), code(RangeError, 'ERR_OUT_OF_RANGE'))
    assert.throws(() => new WorkerPool({ retries: 101 }), code(RangeError, 'ERR_OUT_OF_RANGE'))
    assert.throws(() => new WorkerPool({ retries: 1.5 }), code(RangeError, 'ERR_OUT_OF_RANGE'))
    assert.throws(() => new WorkerPool({ monitorInterval: 0 }), code(RangeError, 'ERR_OUT_OF_RANGE'))
    assert.throws(() => new WorkerPool({ monitorInterval: Infinity }), code(RangeError, 'ERR_OUT_OF_RANGE'))
    assert.throws(() => new WorkerPool({ monitorInterval: '5' }), code(TypeError, 'ERR_INVALID_ARG_TYPE'))
    assert.throws(() => new WorkerPool({ maxInputBytes: -1 }), code(RangeError, 'ERR_OUT_OF_RANGE'))
  })

  it('minThreads 0: no thread until work arrives, then grows up to maxThreads', () => withPool({ minThreads: 0, maxThreads: 2 }, async (pool) => {
    assert.equal(pool.threads, 0)
    const results = await Promise.all(Array.from({ length: 8 }, () => pool.run('fib', 27)))
    assert.deepEqual(results, Array(8).fill(fib(27)))
    assert.ok(pool.threads >= 1 && pool.threads <= 2, `threads ${pool.threads}`)
    // Two blockers at once need both threads.
    await occupy(pool)
    assert.equal(pool.threads, 2)
  }))

  it('never goes above maxThreads however much waits', () => withPool({ minThreads: 0, maxThreads: 3 }, async (pool) => {
    let peak = 0
    const all = Promise.all(Array.from({ length: 200 }, () => pool.run('fib', 22).then(() => { peak = Math.max(peak, pool.threads) })))
    peak = Math.max(peak, pool.threads)
    await all
    assert.ok(peak <= 3, `peak ${peak}`)
    assert.equal(pool.stats().perThread.length <= 3, true)
  }))

  // Two blockers at once: the pool must grow to two threads to run them together.
  async function busyBoth(pool) {
    const blockers = [pool.run('fib', BLOCKER), pool.run('fib', BLOCKER)]
    await waitFor(() => pool.running === 2, 'two tasks running')
    assert.equal(pool.threads, 2)
    return Promise.all(blockers)
  }

  it('threads above minThreads retire after idleTimeout; the pool grows again later', () => withPool({ minThreads: 1, maxThreads: 2, idleTimeout: 50 }, async (pool) => {
    assert.equal(pool.threads, 1)
    await busyBoth(pool)
    await waitFor(() => pool.threads === 1, 'the extra thread to retire')
    const per = pool.stats().perThread
    assert.equal(per.filter((t) => t.alive).length, 1)
    assert.equal(per.length, 2, 'a retired slot keeps its counters')
    assert.equal(await pool.run('fib', 20), fib(20))
    await busyBoth(pool)
  }))

  it('without idleTimeout, grown threads stay', () => withPool({ minThreads: 0, maxThreads: 2 }, async (pool) => {
    await busyBoth(pool)
    await sleep(150)
    assert.equal(pool.threads, 2)
  }))
})

describe('resize()', () => {
  it('grows to the new minimum at once', () => withPool({ threads: 1 }, async (pool) => {
    pool.resize({ minThreads: 3, maxThreads: 3 })
    assert.deepEqual([pool.minThreads, pool.maxThreads, pool.threads], [3, 3, 3])
    assert.equal(pool.stats().perThread.filter((t) => t.alive).length, 3)
  }))

  it('shrinking never interrupts a running task; surplus threads retire after it', () => withPool({ threads: 3 }, async (pool) => {
    const blockers = await occupy(pool)
    pool.resize({ minThreads: 1, maxThreads: 1 })
    assert.equal(pool.maxThreads, 1)
    assert.deepEqual(await Promise.all(blockers), Array(3).fill(fib(BLOCKER)))
    await waitFor(() => pool.threads === 1, 'shrink to 1 thread')
    const stats = pool.stats()
    assert.equal(stats.failed + stats.cancelled + stats.timedOut, 0)
    assert.equal(await pool.run('fib', 20), fib(20))
  }))

  it('keeps the bound not given, and validates like the constructor', () => withPool({ minThreads: 1, maxThreads: 2 }, async (pool) => {
    pool.resize({ maxThreads: 4 })
    assert.deepEqual([pool.minThreads, pool.maxThreads], [1, 4])
    pool.resize({ minThreads: 6 })
    assert.deepEqual([pool.minThreads, pool.maxThreads], [6, 6], 'maxThreads follows a larger minimum')
    pool.resize({ maxThreads: 2 })
    assert.deepEqual([pool.minThreads, pool.maxThreads], [2, 2], 'minThreads follows a smaller maximum')
    assert.throws(() => pool.resize({ minThreads: 3, maxThreads: 2 }), code(RangeError, 'ERR_OUT_OF_RANGE'))
    assert.throws(() => pool.resize({ maxThreads: 0 }), code(RangeError, 'ERR_OUT_OF_RANGE'))
    assert.throws(() => pool.resize(null), code(TypeError, 'ERR_INVALID_ARG_TYPE'))
    assert.deepEqual([pool.minThreads, pool.maxThreads], [2, 2], 'a failed resize changes nothing')
  }))

  it('throws ERR_POOL_CLOSED after close()', async () => {
    const pool = new WorkerPool({ threads: 1 })
    await pool.close()
    assert.throws(() => pool.resize({ maxThreads: 2 }), (e) => e.code === 'ERR_POOL_CLOSED')
  })
})

describe('per-thread metrics', () => {
  it('perThread counts each thread’s tasks, errors and busy time', () => withPool({ threads: 2 }, async (pool) => {
    const before = Date.now()
    await Promise.all(Array.from({ length: 40 }, () => pool.run('fib', 24)))
    await Promise.all(Array.from({ length: 3 }, () => pool.run('__panic', 0).catch(() => {})))
    const s = pool.stats()
    assert.equal(s.perThread.length, 2)
    assert.deepEqual(s.perThread.map((t) => t.thread).sort(), [0, 1])
    const sum = (k) => s.perThread.reduce((a, t) => a + t[k], 0)
    assert.equal(sum('tasks'), 43)
    assert.equal(sum('errors'), 3)
    for (const t of s.perThread) {
      assert.equal(t.alive, true)
      if (t.tasks > 0) {
        assert.ok(t.busyMs > 0)
        assert.ok(Math.abs(t.avgRunMs - t.busyMs / t.tasks) < 1e-6)
        assert.ok(t.lastActive >= before - 5 && t.lastActive <= Date.now() + 5, `lastActive ${t.lastActive}`)
      }
    }
  }))

  it('resetStats() zeroes counters and histograms', () => withPool({ threads: 1 }, async (pool) => {
    await Promise.all(Array.from({ length: 10 }, () => pool.run('fib', 20)))
    await pool.run('__panic', 0).catch(() => {})
    assert.equal(pool.stats().completed, 11)
    pool.resetStats()
    const s = pool.stats()
    assert.deepEqual([s.completed, s.failed, s.runTime.count, s.waitTime.count, s.runTime.max], [0, 0, 0, 0, 0])
    assert.equal(s.perThread[0].tasks, 0)
    assert.equal(s.perThread[0].errors, 0)
    assert.equal(s.perThread[0].busyMs, 0)
    assert.equal(s.utilization, 0)
    await pool.run('fib', 20)
    assert.equal(pool.stats().completed, 1)
    assert.equal(pool.stats().perThread[0].tasks, 1)
  }))
})

describe('niceIncrement', () => {
  // Nice values of this process's pool threads, from /proc (Linux: nice is per thread).
  function poolThreadNices() {
    const fs = require('node:fs')
    return fs.readdirSync('/proc/self/task').flatMap((tid) => {
      const comm = fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()
      if (!comm.startsWith('pool-worker')) return []
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])] // field 19: nice
    })
  }
  const linux = process.platform === 'linux'

  it('lowers the priority of every pool thread, including ones started later, and not the process', { skip: !linux && 'per-thread nice is Linux-only' }, async () => {
    const base = require('node:os').getPriority()
    const pool = new WorkerPool({ minThreads: 1, maxThreads: 2, niceIncrement: 7 })
    try {
      await Promise.all([pool.run('fib', BLOCKER), pool.run('fib', BLOCKER)])
      assert.equal(pool.threads, 2)
      assert.deepEqual(poolThreadNices(), [Math.min(19, base + 7), Math.min(19, base + 7)])
      assert.equal(require('node:os').getPriority(), base, 'the event loop thread keeps its priority')
    } finally {
      await pool.close()
    }
  })

  it('does not compound on threads that pool threads start (every one at base + increment)', { skip: !linux && 'per-thread nice is Linux-only' }, async () => {
    // Tasks submitted while the queue is non-empty make a running worker start the next thread,
    // and that worker's nice value is already raised: the target must not be relative to it.
    const base = require('node:os').getPriority()
    const pool = new WorkerPool({ minThreads: 1, maxThreads: 4, niceIncrement: 3 })
    try {
      await Promise.all(Array.from({ length: 16 }, () => pool.run('fib', BLOCKER)))
      assert.ok(pool.threads > 1)
      assert.deepEqual(poolThreadNices(), Array(pool.threads).fill(Math.min(19, base + 3)))
    } finally {
      await pool.close()
    }
  })

  it('is validated: an integer 0–19', () => {
    assert.throws(() => new WorkerPool({ niceIncrement: 20 }), code(RangeError, 'ERR_OUT_OF_RANGE'))
    assert.throws(() => new WorkerPool({ niceIncrement: -1 }), code(RangeError, 'ERR_OUT_OF_RANGE'))
    assert.throws(() => new WorkerPool({ niceIncrement: '1' }), code(TypeError, 'ERR_INVALID_ARG_TYPE'))
  })
})
