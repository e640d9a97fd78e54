'use strict'
// pool/bullmq against a real redis-server (scripts/redis.js) and real BullMQ, in one process:
// cancellation, timeouts and retries, the binary envelope, priorities, forced requeue.
// Every wait is for an event (BullMQ's 'active'/'completed'/'failed', a settled promise).
const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { once } = require('node:events')
const { Queue } = require('bullmq')
const { WorkerPool } = require('../..')
const { createWorker, createClient, createProcessor, toBullPriority, encode, decode } = require('../../lib/bullmq.js')
const { startRedis } = require('../../scripts/redis.js')

const LONG = 45 // fib(45): seconds of work, polls its cancellation token
let redis
let n = 0
const qname = () => `t${process.pid}-${n++}`

test.before(async () => { redis = await startRedis() })
test.after(async () => { await redis?.stop() })

// Resolves once check() is true, re-checking at each `event` (registered before each check, so none is missed).
async function until(emitter, event, check) {
  for (;;) {
    const next = once(emitter, event)
    if (await check()) return
    await next
  }
}

async function setup(t, { threads = 1, worker: wopts = {} } = {}) {
  const name = qname()
  const pool = new WorkerPool({ threads })
  const worker = createWorker(name, pool, { connection: redis.connection, ...wopts })
  const client = createClient(name, { connection: redis.connection })
  t.after(async () => {
    await client.close({ force: true })
    await worker.close({ force: true })
    await pool.close()
  })
  return { name, pool, worker, client }
}

test('processor declares three parameters (BullMQ passes its signal only then)', () => {
  const pool = new WorkerPool({ threads: 1 })
  try { assert.equal(createProcessor(pool).length, 3) } finally { pool.close() }
})

test('priority mapping: higher pool priority → lower BullMQ number, clamped to 1..2^21-1', () => {
  assert.equal(toBullPriority(0), 1_048_576)
  assert.ok(toBullPriority(5) < toBullPriority(4))
  assert.equal(toBullPriority(1e12), 1)
  assert.equal(toBullPriority(-1e12), 2_097_151)
  assert.throws(() => toBullPriority(NaN), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => toBullPriority('1'), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('envelope: binary, bigint, special numbers survive JSON', () => {
  const v = { b: Buffer.from([0, 255]), f: new Float64Array([1.5, -2]), big: -(2n ** 70n), nan: NaN, z: -0, $pool: 'mine' }
  const back = decode(JSON.parse(JSON.stringify(encode(v))))
  assert.deepEqual(back, v)
  assert.ok(Buffer.isBuffer(back.b))
  assert.ok(back.f instanceof Float64Array)
  assert.throws(() => decode({ $pool: 99, type: 'Buffer', base64: '' }), { code: 'ERR_POOL_ENVELOPE_VERSION' })
})

test('envelope: a detached ArrayBuffer, DataView or typed array → TypeError ERR_INVALID_STATE (not a raw V8 error)', () => {
  const detach = (ab) => structuredClone(ab, { transfer: [ab] })
  for (const make of [() => new ArrayBuffer(8), () => new DataView(new ArrayBuffer(8)), () => new Uint8Array(8), () => new Float64Array(1)]) {
    const v = make()
    detach(v instanceof ArrayBuffer ? v : v.buffer)
    assert.throws(() => encode({ input: v }), { name: 'TypeError', code: 'ERR_INVALID_STATE' })
  }
  assert.deepEqual(decode(encode({ input: new ArrayBuffer(0) })), { input: new ArrayBuffer(0) }) // empty is not detached
})

test('binary round trip through Redis: Buffer in, Buffer / bigint out, typed arrays in', async (t) => {
  const { client } = await setup(t)
  const data = crypto.randomBytes(4096)
  const digest = await client.run('sha256', data)
  assert.ok(Buffer.isBuffer(digest))
  assert.deepEqual(digest, crypto.createHash('sha256').update(data).digest())
  const u16 = new Uint16Array([1, 2, 3, 65535])
  assert.deepEqual(await client.run('sha256', u16), crypto.createHash('sha256').update(Buffer.from(u16.buffer)).digest())
  assert.equal(typeof await client.run('xxh64', data), 'bigint')
})

test('bad input fails once, unrecoverable: attempts are not burned', async (t) => {
  const { client, worker } = await setup(t)
  let started = 0
  worker.on('active', () => started++)
  await assert.rejects(client.run('sha256', 12345, { attempts: 3, backoff: 0 }), { code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(client.run('no.such.kernel', 1, { attempts: 3, backoff: 0 }), { code: 'ERR_POOL_UNKNOWN_KERNEL' })
  assert.equal(started, 2)
})

test('a timeout frees the thread and is retried by attempts', async (t) => {
  const { client, worker, pool } = await setup(t)
  let started = 0
  worker.on('active', () => started++)
  const err = await client.run('fib', LONG, { timeout: 50, attempts: 3, backoff: 0 }).then(() => null, (e) => e)
  assert.equal(err?.code, 'ERR_POOL_TIMEOUT')
  assert.equal(started, 3, 'three attempts')
  assert.equal(await client.run('fib', 20), 6765) // the single thread is free again
  assert.equal(pool.stats().running, 0)
})

test('cancel while queued removes the job; while running aborts it on the worker', async (t) => {
  const { name, client, worker } = await setup(t)
  worker.concurrency = 1
  const running = new AbortController()
  const active = once(worker, 'active')
  const p1 = client.run('fib', LONG, { signal: running.signal })
  const [job] = await active
  const queued = new AbortController()
  const p2 = client.run('fib', LONG, { signal: queued.signal, jobId: 'queued-one' })
  const queue = new Queue(name, { connection: redis.connection })
  t.after(() => queue.close())
  // wait until the second job is in Redis, waiting
  await until(client.events, 'added', async () => ['waiting', 'prioritized'].includes(await queue.getJobState('queued-one')))
  queued.abort()
  await assert.rejects(p2, { code: 'ABORT_ERR' }) // at once; the removal from Redis follows
  await until(client.events, 'removed', async () => (await queue.getJob('queued-one')) === undefined)
  const failed = once(worker, 'failed')
  running.abort()
  await assert.rejects(p1, { code: 'ABORT_ERR' })
  const [failedJob] = await failed
  assert.equal(failedJob.id, job.id)
  assert.match(failedJob.failedReason, /AbortError/)
  assert.equal(await client.run('fib', 20), 6765)
})

test('priority: higher pool priority is taken first', async (t) => {
  const name = qname()
  const client = createClient(name, { connection: redis.connection })
  const order = []
  const runs = [1, 5, 3, 9, 0].map((p) => client.run('fib', 10 + p, { priority: p }).then(() => order.push(p)))
  const queue = new Queue(name, { connection: redis.connection })
  await until(client.events, 'added', async () => (await queue.getJobCountByTypes('prioritized', 'waiting')) === 5)
  const pool = new WorkerPool({ threads: 1 })
  const worker = createWorker(name, pool, { connection: redis.connection, concurrency: 1 })
  t.after(async () => { await client.close({ force: true }); await worker.close(); await pool.close(); await queue.close() })
  await Promise.all(runs)
  assert.deepEqual(order, [9, 5, 3, 1, 0])
})

test('close({ force: true }) moves running jobs back to waiting at once; another worker finishes them', async (t) => {
  const name = qname()
  const poolA = new WorkerPool({ threads: 1 })
  const a = createWorker(name, poolA, { connection: redis.connection, concurrency: 1 })
  const client = createClient(name, { connection: redis.connection })
  const active = once(a, 'active')
  const p = client.run('fib', 32)
  const [job] = await active
  await a.close({ force: true })
  await poolA.close()
  const queue = new Queue(name, { connection: redis.connection })
  assert.ok(['waiting', 'prioritized'].includes(await queue.getJobState(job.id)), 'requeued, not left to the stalled checker')
  const poolB = new WorkerPool({ threads: 1 })
  const b = createWorker(name, poolB, { connection: redis.connection, concurrency: 1 })
  t.after(async () => { await client.close({ force: true }); await b.close(); await poolB.close(); await queue.close() })
  assert.equal(await p, 2178309)
})

test('without bullmq installed the factories throw ERR_POOL_BULLMQ_MISSING', async () => {
  const { execFileSync } = require('node:child_process')
  // A child whose resolver cannot find 'bullmq', as in an app that did not install it.
  const script = `
    const Module = require('node:module')
    const orig = Module._resolveFilename
    Module._resolveFilename = function (req, ...rest) {
      if (req === 'bullmq') { const e = new Error("Cannot find module 'bullmq'"); e.code = 'MODULE_NOT_FOUND'; throw e }
      return orig.call(this, req, ...rest)
    }
    const b = require(${JSON.stringify(require.resolve('../../lib/bullmq.js'))})
    try { b.createClient('q', { connection: {} }) } catch (e) { process.stdout.write(e.code) }`
  assert.equal(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }), 'ERR_POOL_BULLMQ_MISSING')
})
