'use strict'
// Shared helpers for the pool test suite (not a test file itself: the name matches no
// `node --test` pattern).

const assert = require('node:assert/strict')
const path = require('node:path')
const { execFile } = require('node:child_process')
const { WorkerPool } = require('..')

/** The vendored conformance vectors (see testdata/README.md). */
const TESTDATA = path.join(__dirname, '..', 'testdata')

/** fib(n) for the values the tests use, computed iteratively. */
function fib(n) {
  let a = 0
  let b = 1
  for (let i = 0; i < n; i++) [a, b] = [b, a + b]
  return a
}

/** A task that keeps one thread busy for seconds (naive recursion), for abort/timeout/destroy. */
const LONG = 45
/** A task that keeps a thread busy for a few hundred ms: long enough to queue things behind it. */
const BLOCKER = 41

/**
 * Awaits `promise`, expects a rejection and checks it: an Error (of class `Ctor`) with `code`.
 * Returns the error for further checks.
 */
async function rejectsWith(promise, Ctor, code) {
  assert.ok(promise instanceof Promise, 'expected a Promise')
  let err
  await promise.then(
    (v) => assert.fail(`expected a rejection with ${code}, but it resolved with ${String(v)}`),
    (e) => { err = e },
  )
  assert.ok(err instanceof Error, `expected an Error, got ${String(err)}`)
  assert.ok(err instanceof Ctor, `expected a ${Ctor.name}, got ${err.constructor.name}: ${err.message}`)
  assert.equal(err.code, code, `wrong code (message: ${err.message})`)
  return err
}

/** Calls `fn` and asserts it does not throw synchronously; returns what it returned. */
function noSyncThrow(fn, what) {
  let out
  assert.doesNotThrow(() => { out = fn() }, `${what} threw synchronously`)
  return out
}

/**
 * Polls `cond` every few ms until it is true; fails after `ms`. The limit only tells a condition
 * that never comes from a slow one, so it is long: a loaded 2-core machine can stall the test
 * process for seconds.
 */
async function waitFor(cond, what = 'condition', ms = 30_000) {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 2))
  }
}

/** Resolves (never rejects) with the settlement of `p`, for order/race checks. */
function settled(p) {
  return p.then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }))
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/**
 * Creates a pool, passes it to `fn`, and always destroys it afterwards so a failing test
 * never leaves busy threads behind for the next one.
 */
async function withPool(options, fn) {
  const pool = new WorkerPool(options)
  try {
    return await fn(pool)
  } finally {
    await pool.destroy()
  }
}

/**
 * Occupies every thread of `pool` with a long-running task and waits until they all run.
 * Returns the blockers' promises (already guarded against unhandled rejections).
 */
async function occupy(pool, n = BLOCKER, options = undefined) {
  const blockers = []
  for (let i = 0; i < pool.threads; i++) blockers.push(pool.run('fib', n, options))
  for (const b of blockers) b.catch(() => {})
  await waitFor(() => pool.running === pool.threads, 'all threads running')
  return blockers
}

/**
 * A yardstick for "at once" that slows down with the machine: `kernel(input)` run to completion
 * on a pool of its own, started now. By default fib(LONG - 2): about 40% of the CPU time of the
 * fib(LONG) a test stops, so a stopped kernel frees its thread long before the yardstick
 * finishes, quiet machine or loaded (both sides slow down alike), while a kernel that kept
 * running could not. (Another kernel: give it about half the work of the one stopped.) A fixed
 * number of milliseconds would be either too tight under load or too loose to prove anything.
 */
function yardstick(kernel = 'fib', input = LONG - 2) {
  const pool = new WorkerPool({ threads: 1 })
  const state = { done: false }
  pool.run(kernel, input).then(() => { state.done = true }, () => {}) // destroyed when done with
  return {
    /** Awaits `promise` and asserts it settled before the yardstick finished; stops the yardstick. */
    async before(promise, what) {
      try {
        const value = await promise
        assert.equal(state.done, false, `${what} only after a ${kernel} task started at the same time had finished`)
        return value
      } finally {
        await pool.destroy()
      }
    },
  }
}

const FIXTURES = path.join(__dirname, 'fixtures')

/**
 * Runs `__test__/fixtures/<name>` in a child Node process. Resolves with
 * { status, signal, stdout, stderr, ms } and never rejects on a non-zero exit.
 */
function runFixture(name, { args = [], nodeArgs = [], timeout = 30000, env } = {}) {
  const started = Date.now()
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [...nodeArgs, path.join(FIXTURES, name), ...args],
      { timeout, killSignal: 'SIGKILL', env: { ...process.env, ...env }, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        resolve({
          status: child.exitCode,
          signal: child.signalCode,
          timedOut: Boolean(error && error.killed),
          stdout,
          stderr,
          ms: Date.now() - started,
        })
      },
    )
  })
}

/** A readable summary of a child run for assertion messages. */
function describeRun(r) {
  return `status=${r.status} signal=${r.signal} timedOut=${r.timedOut} ms=${r.ms}\n` +
    `stdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-2000)}`
}

module.exports = {
  TESTDATA,
  fib,
  LONG,
  BLOCKER,
  rejectsWith,
  noSyncThrow,
  waitFor,
  settled,
  sleep,
  withPool,
  occupy,
  yardstick,
  runFixture,
  describeRun,
}
