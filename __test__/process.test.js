'use strict'
// Process lifetime, run in child processes (fixtures/): idle pools never hold the process open,
// pending tasks do, process.exit() and Worker termination while busy never crash, unclosed pools
// are released by GC, threads are named, and panics do not take the process down.

const { describe, it, before } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { fib, runFixture, describeRun } = require('./helpers')

/** Runs `count` jobs with at most `concurrency` at a time; resolves with all results. */
async function pooled(count, concurrency, job) {
  const results = new Array(count)
  let next = 0
  const lane = async () => {
    while (next < count) {
      const i = next++
      results[i] = await job(i)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane))
  return results
}

function assertCleanExit(r, status = 0) {
  assert.equal(r.timedOut, false, `child hung:\n${describeRun(r)}`)
  assert.equal(r.signal, null, `child died from a signal:\n${describeRun(r)}`)
  assert.equal(r.status, status, `unexpected exit status:\n${describeRun(r)}`)
}

describe('an idle pool never keeps the process alive', () => {
  const cases = [
    ['unused', 'result unused'],
    ['used', `result ${fib(25)}`],
    ['batch', `result ${[20, 21, 22].map(fib).join()}`],
    ['failed', 'result ERR_POOL_KERNEL_PANIC'],
    ['aborted', 'result ABORT_ERR'],
  ]
  for (const [mode, expected] of cases) {
    it(`exits 0 on its own after the pool was ${mode}, never closed`, async () => {
      const r = await runFixture('idle-exit.js', { args: [mode], timeout: 5000 })
      assertCleanExit(r)
      assert.match(r.stdout, new RegExp(`^${expected}$`, 'm'))
      assert.ok(r.ms < 5000)
    })
  }
})

describe('a pending task keeps the process alive until it settles', () => {
  it('run()', async () => {
    const r = await runFixture('pending-task.js', { timeout: 20000 })
    assertCleanExit(r)
    assert.match(r.stdout, /result 9227465\b/)
  })

  it('runBatch()', async () => {
    const r = await runFixture('pending-task.js', { args: ['batch'], timeout: 20000 })
    assertCleanExit(r)
    assert.match(r.stdout, new RegExp(`result ${fib(35)},${fib(34)}`))
  })
})

describe('process.exit() while tasks run exits with exactly that code', () => {
  const REPEAT = 30
  for (const mode of ['fib', 'settling', 'sha256']) {
    it(`${mode}: ${REPEAT} times, status 3 and no signal every time`, async () => {
      const runs = await pooled(REPEAT, 3, (i) => runFixture('exit-while-busy.js', { args: [mode, String(i)], timeout: 20000 }))
      const bad = runs.map((r, i) => ({ r, i })).filter(({ r }) => r.status !== 3 || r.signal !== null || r.timedOut)
      assert.deepEqual(
        bad.map(({ i, r }) => `#${i}: status=${r.status} signal=${r.signal} timedOut=${r.timedOut} ${r.stderr.slice(0, 300)}`),
        [],
        `${bad.length}/${REPEAT} runs did not exit cleanly with code 3`,
      )
    })
  }
})

describe('worker_threads', () => {
  it('the addon works in a Worker; terminating busy Workers (×10) does not crash the process', async () => {
    const r = await runFixture('worker-terminate.js', { args: ['10'], timeout: 45000 })
    assertCleanExit(r)
    assert.match(r.stdout, new RegExp(`main ok ${fib(21)} after 10 rounds`))
  })

  it('repeated in separate processes', async () => {
    const runs = await pooled(3, 3, () => runFixture('worker-terminate.js', { args: ['4'], timeout: 45000 }))
    for (const r of runs) {
      assertCleanExit(r)
      assert.match(r.stdout, /main ok/)
    }
  })
})

describe('garbage collection', () => {
  it('200 unclosed, dropped pools release their threads', async () => {
    const r = await runFixture('gc-pools.js', { args: ['200'], nodeArgs: ['--expose-gc'], timeout: 30000 })
    assertCleanExit(r)
    const { baseline, peak, final } = JSON.parse(r.stdout.trim().split('\n').pop())
    // 200 pools x 2 threads would be 400 threads if none were released.
    assert.ok(peak < 60, `thread count peaked at ${peak} (baseline ${baseline})`)
    assert.ok(final < 60, `thread count ended at ${final} (baseline ${baseline})`)
    assert.ok(final <= baseline + 2, `threads left behind: ${final} vs baseline ${baseline}`)
  })
})

describe('threads', () => {
  let names
  before(async () => {
    const r = await runFixture('thread-names.js', { timeout: 20000 })
    assertCleanExit(r)
    names = JSON.parse(r.stdout.trim().split('\n').pop())
  })
  const poolThreads = (list) => list.filter((n) => n.startsWith('pool-')).sort()

  it('are named pool-worker-N (/proc/self/task/*/comm)', () => {
    assert.deepEqual(poolThreads(names.busy), ['pool-worker-0', 'pool-worker-1', 'pool-worker-2'])
  })

  // 10 rounds each: pool threads still listed right after the promise resolved.
  it('are gone once close() resolved', () => {
    assert.deepEqual(poolThreads(names.afterClose), [], 'close() resolved while pool threads still existed')
  })

  it('are gone once destroy() resolved', () => {
    assert.deepEqual(poolThreads(names.afterDestroy), [], 'destroy() resolved while pool threads still existed')
  })
})

describe('kernel panic in a child process', () => {
  it('rejects the tasks; the process survives and exits 0', async () => {
    const r = await runFixture('panic.js', { timeout: 20000 })
    assertCleanExit(r)
    assert.match(r.stdout, /codes ERR_POOL_KERNEL_PANIC,ERR_POOL_KERNEL_PANIC,ERR_POOL_KERNEL_PANIC,ERR_POOL_KERNEL_PANIC/)
    assert.match(r.stdout, /after 6765,6765/)
  })
})
