'use strict'
// The pool as an EventEmitter: 'drain', 'queue-full', 'metrics', 'close', 'error', needsDrain,
// and retries.
const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { once } = require('node:events')
const { WorkerPool } = require('..')
const { BLOCKER, LONG, fib, rejectsWith, sleep, withPool, occupy, waitFor, runFixture, describeRun } = require('./helpers.js')

// Events a test expects are awaited. That one does NOT come can only be shown by waiting a
// while and looking: these `sleep`s are such windows. A slow machine makes them less likely to
// catch a stray event, never makes them fail a correct pool.
const QUIET_MS = 50

describe("'drain'", () => {
  it('await once(pool, "drain") resolves when nothing is queued or running', () => withPool({ threads: 2 }, async (pool) => {
    const results = []
    for (let i = 0; i < 50; i++) pool.run('fib', 22).then((v) => results.push(v))
    await once(pool, 'drain')
    assert.equal(pool.queueSize, 0)
    assert.equal(pool.running, 0)
    await null // the tasks' own callbacks ran before the event's
    assert.equal(results.length, 50)
  }))

  it('fires again for each later burst, and not while idle', () => withPool({ threads: 1 }, async (pool) => {
    let drains = 0
    pool.on('drain', () => drains++)
    let drained = once(pool, 'drain')
    await pool.run('fib', 10)
    await drained
    assert.equal(drains, 1)
    drained = once(pool, 'drain')
    await Promise.all([pool.run('fib', 10), pool.run('fib', 11)])
    await drained
    assert.equal(drains, 2)
    await sleep(QUIET_MS)
    assert.equal(drains, 2, 'an idle pool stays quiet')
  }))

  it('listeners added after removeAllListeners() still hear it; removed ones do not', () => withPool({ threads: 1 }, async (pool) => {
    let early = 0
    const listener = () => early++
    pool.on('drain', listener)
    let drained = once(pool, 'drain')
    await pool.run('fib', 10)
    await drained
    assert.equal(early, 1)
    pool.removeAllListeners()
    assert.deepEqual(pool.eventNames(), [], 'the pool keeps no internal listeners')
    let late = 0
    drained = new Promise((resolve) => pool.once('drain', () => { late++; resolve() }))
    await pool.run('fib', 10)
    await drained
    assert.deepEqual([early, late], [1, 1])
    await pool.run('fib', 10) // nobody listens now
    await sleep(QUIET_MS)
    assert.deepEqual([early, late], [1, 1])
    pool.prependListener('drain', listener)
    drained = once(pool, 'drain')
    await pool.run('fib', 10)
    await drained
    assert.deepEqual([early, late], [2, 1])
  }))

  it('closing an idle pool is not a drain', async () => {
    const pool = new WorkerPool({ threads: 1 })
    let drains = 0
    pool.on('drain', () => drains++)
    const drained = once(pool, 'drain')
    await pool.run('fib', 10)
    await drained
    await pool.close()
    await sleep(QUIET_MS)
    assert.equal(drains, 1)
  })
})

describe("'queue-full' and needsDrain", () => {
  it('needsDrain is false with an unbounded queue', () => withPool({ threads: 1 }, async (pool) => {
    await occupy(pool)
    for (let i = 0; i < 100; i++) pool.run('fib', 1).catch(() => {}) // destroyed below
    assert.equal(pool.needsDrain, false)
  }))

  it('needsDrain turns on at maxQueue, a refused task emits queue-full, drain turns it off', () => withPool({ threads: 1, maxQueue: 2 }, async (pool) => {
    const seen = []
    pool.on('queue-full', (info) => seen.push(info))
    await occupy(pool)
    const queued = [pool.run('fib', 5)]
    assert.equal(pool.needsDrain, false)
    queued.push(pool.run('fib', 6))
    assert.equal(pool.needsDrain, true)
    const full = once(pool, 'queue-full')
    await rejectsWith(pool.run('sha256', 'x'), Error, 'ERR_POOL_QUEUE_FULL')
    await full
    assert.deepEqual(seen, [{ kernel: 'sha256' }])
    await once(pool, 'drain')
    assert.equal(pool.needsDrain, false)
    assert.deepEqual(await Promise.all(queued), [fib(5), fib(6)])
  }))
})

describe("'metrics'", () => {
  it('emits stats() every monitorInterval ms, and stops after close', async () => {
    const pool = new WorkerPool({ threads: 1, monitorInterval: 10 })
    await pool.run('fib', 20)
    // The monitor timer is unref'd: something else must keep this process alive meanwhile.
    const keepAlive = setTimeout(() => {}, 10000)
    const [stats] = await once(pool, 'metrics')
    clearTimeout(keepAlive)
    assert.equal(stats.completed, 1)
    assert.equal(stats.perThread.length, 1)
    assert.ok('runTime' in stats && 'waitTime' in stats)
    await pool.close()
    let after = 0
    pool.on('metrics', () => after++)
    await sleep(QUIET_MS) // 5 intervals
    assert.equal(after, 0)
  })

  it('the monitor timer does not keep a dropped, unclosed pool alive', { skip: process.platform !== 'linux' && 'counts threads in /proc' }, async () => {
    const r = await runFixture('gc-monitor.js', { nodeArgs: ['--expose-gc'], timeout: 20000 })
    assert.equal(r.status, 0, describeRun(r))
    const { before, after } = JSON.parse(r.stdout.trim().split('\n').pop())
    assert.equal(before, 40, '20 pools × 2 threads were running')
    assert.equal(after, 0, 'every dropped pool was collected and its threads stopped')
  })

  it('the monitor timer does not keep the process alive', async () => {
    const r = await runFixture('monitor-exit.js', { timeout: 10000 })
    assert.equal(r.status, 0, describeRun(r))
    assert.match(r.stdout, /metrics seen: [1-9]/)
  })
})

describe("'close'", () => {
  it('is emitted once, when close() completed', async () => {
    const pool = new WorkerPool({ threads: 1 })
    const seen = []
    pool.on('close', () => seen.push({ threads: pool.threads, result }))
    let result
    const p = pool.run('fib', 25).then((v) => { result = v })
    await pool.close()
    await pool.close()
    await pool.destroy()
    await sleep(QUIET_MS)
    assert.deepEqual(seen, [{ threads: 0, result: fib(25) }], 'once, with every thread gone and the task settled')
    await p
  })

  it('is emitted after destroy()', async () => {
    const pool = new WorkerPool({ threads: 1 })
    const closed = once(pool, 'close')
    pool.run('fib', LONG).catch(() => {})
    await pool.destroy()
    await closed
  })
})

describe("'error'", () => {
  it('listeners do not change task results, and a throwing drain listener only reaches uncaughtException', async () => {
    const r = await runFixture('throwing-listener.js', { timeout: 20000 })
    assert.equal(r.status, 0, describeRun(r))
    assert.match(r.stdout, /uncaught: listener boom/)
    assert.match(r.stdout, /still serving: 6765/)
  })
})

describe('retries', () => {
  it('a panicking task runs 1 + retries times, then rejects with ERR_POOL_KERNEL_PANIC', () => withPool({ threads: 1, retries: 2 }, async (pool) => {
    await rejectsWith(pool.run('__panic', 0), Error, 'ERR_POOL_KERNEL_PANIC')
    const s = pool.stats()
    assert.equal(s.retried, 2)
    assert.equal(s.failed, 1, 'one task, one failure')
    assert.equal(s.perThread[0].errors, 3, 'three runs panicked')
  }))

  it('a per-task retries overrides the pool default', () => withPool({ threads: 1, retries: 5 }, async (pool) => {
    await rejectsWith(pool.run('__panic', 0, { retries: 0 }), Error, 'ERR_POOL_KERNEL_PANIC')
    assert.equal(pool.stats().retried, 0)
    await rejectsWith(pool.run('__panic', 0, { retries: 1 }), Error, 'ERR_POOL_KERNEL_PANIC')
    assert.equal(pool.stats().retried, 1)
  }))

  it('a timed-out task is retried with a fresh timeout', () => withPool({ threads: 1 }, async (pool) => {
    const t0 = performance.now()
    await rejectsWith(pool.run('fib', LONG, { timeout: 40, retries: 2 }), Error, 'ERR_POOL_TIMEOUT')
    const ms = performance.now() - t0
    assert.ok(ms >= 110, `three 40 ms attempts took only ${ms.toFixed(0)} ms`)
    const s = pool.stats()
    assert.equal(s.retried, 2)
    assert.equal(s.timedOut, 1)
  }))

  it('input errors and aborts are never retried', () => withPool({ threads: 1, retries: 3 }, async (pool) => {
    await rejectsWith(pool.run('fib', -1), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(pool.run('bcrypt.verify', { password: 'x', hash: 'nope' }), Error, 'ERR_INVALID_ARG_VALUE')
    const ac = new AbortController()
    const p = pool.run('fib', LONG, { signal: ac.signal })
    await waitFor(() => pool.running === 1, 'task running') // a running task, not a queued one
    ac.abort()
    await rejectsWith(p, Error, 'ABORT_ERR')
    assert.equal(pool.stats().retried, 0)
  }))

  it('validates the per-task option', () => withPool({ threads: 1 }, async (pool) => {
    await rejectsWith(pool.run('fib', 1, { retries: 101 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(pool.run('fib', 1, { retries: '1' }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.runBatch('fib', [1], { retries: -2 }), RangeError, 'ERR_OUT_OF_RANGE')
  }))

  it('a retried blocker still lets other work through', () => withPool({ threads: 2, retries: 1 }, async (pool) => {
    const slow = pool.run('fib', LONG, { timeout: 30 }).catch((e) => e.code)
    assert.equal(await pool.run('fib', BLOCKER - 10), fib(BLOCKER - 10))
    assert.equal(await slow, 'ERR_POOL_TIMEOUT')
  }))
})

describe('maxInputBytes', () => {
  it('rejects larger inputs with ERR_POOL_INPUT_TOO_LARGE before any work', () => withPool({ threads: 1, maxInputBytes: 16 }, async (pool) => {
    assert.equal((await pool.run('sha256', Buffer.alloc(16))).length, 32)
    await rejectsWith(pool.run('sha256', Buffer.alloc(17)), RangeError, 'ERR_POOL_INPUT_TOO_LARGE')
    await rejectsWith(pool.run('sha256', 'x'.repeat(17)), RangeError, 'ERR_POOL_INPUT_TOO_LARGE')
    await rejectsWith(pool.run('sha256', 'é'.repeat(9)), RangeError, 'ERR_POOL_INPUT_TOO_LARGE') // 18 UTF-8 bytes
    await rejectsWith(pool.run('json.parse', `[${'1,'.repeat(10)}1]`), RangeError, 'ERR_POOL_INPUT_TOO_LARGE')
    await rejectsWith(pool.run('csv.parse', 'a,b\n'.repeat(5)), RangeError, 'ERR_POOL_INPUT_TOO_LARGE')
    await rejectsWith(pool.runBatch('md5', [Buffer.alloc(1), Buffer.alloc(40)]), RangeError, 'ERR_POOL_INPUT_TOO_LARGE')
    const s = pool.stats()
    assert.equal(s.runTime.count, 1, 'only the first task ran')
  }))

  it('defaults to 1 GiB', () => withPool({ threads: 1 }, async (pool) => {
    // A 1 GiB + 1 byte view over a small buffer would be a lie; check the message instead.
    const err = await pool.run('sha256', new Uint8Array(new ArrayBuffer(2 ** 30 + 1))).catch((e) => e)
    assert.equal(err.code, 'ERR_POOL_INPUT_TOO_LARGE')
    assert.match(err.message, /1073741824/)
  }))
})
