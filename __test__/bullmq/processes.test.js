'use strict'
// pool/bullmq across worker processes on a real redis-server: the stalled-job control, nothing
// lost under kill -9, graceful SIGTERM drain. Waits are for events (QueueEvents, printed lines).
const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { once } = require('node:events')
const readline = require('node:readline')
const { Queue, QueueEvents } = require('bullmq')
const bcryptjs = require('bcryptjs')
const { createClient } = require('../../lib/bullmq.js')
const { startRedis } = require('../../scripts/redis.js')

const FIXTURE = path.join(__dirname, 'fixtures', 'worker.js')
let redis
let n = 0
const children = new Set()
const qname = () => `p${process.pid}-${n++}`

test.before(async () => { redis = await startRedis() })
test.after(async () => {
  for (const c of children) c.kill('SIGKILL')
  await redis?.stop()
})

// Starts a worker process; resolves once it printed "ready".
async function startWorker(mode, queueName, threads = 2) {
  const child = spawn(process.execPath, [FIXTURE, mode, queueName, String(redis.port), String(threads)], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.add(child)
  child.once('exit', () => children.delete(child))
  child.lines = readline.createInterface({ input: child.stdout })
  child.exited = once(child, 'exit')
  await new Promise((resolve, reject) => {
    child.lines.on('line', (l) => { if (l === 'ready') resolve() })
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before ready`)))
  })
  return child
}

async function watch(queueName) {
  const events = new QueueEvents(queueName, { connection: redis.connection })
  await events.waitUntilReady()
  const starts = new Map()
  const stalled = []
  events.on('active', ({ jobId }) => starts.set(jobId, (starts.get(jobId) ?? 0) + 1))
  events.on('stalled', ({ jobId }) => stalled.push(jobId))
  return { events, starts, stalled }
}

test('stalled-job control: an inline CPU-heavy processor stalls; the pool processor does not', async (t) => {
  // Control: a 6 s busy loop on the event loop with a 2 s lock, two processes.
  const inlineQ = qname()
  const w = await watch(inlineQ)
  const inline = [await startWorker('inline', inlineQ), await startWorker('inline', inlineQ)]
  t.after(() => { for (const c of inline) c.kill('SIGKILL'); return w.events.close() })
  const queue = new Queue(inlineQ, { connection: redis.connection })
  t.after(() => queue.close())
  const stalledSeen = once(w.events, 'stalled')
  await queue.add('busy', { busyMs: 6000 })
  await stalledSeen
  assert.ok(w.stalled.length >= 1, 'the control stalls, so the test can see a stall')

  // The pool: the same lock settings, fib(46) (seconds of work, longer than the lock), two processes.
  const poolQ = qname()
  const wp = await watch(poolQ)
  const pooled = [await startWorker('pool', poolQ), await startWorker('pool', poolQ)]
  const client = createClient(poolQ, { connection: redis.connection })
  t.after(async () => { await client.close({ force: true }); for (const c of pooled) c.kill('SIGKILL'); await wp.events.close() })
  const results = await Promise.all([46, 46, 45].map((k) => client.run('fib', k)))
  assert.deepEqual(results, [1836311903, 1836311903, 1134903170])
  assert.deepEqual(wp.stalled, [], 'no stalled event with the pool')
  assert.deepEqual([...wp.starts.values()], [1, 1, 1], 'each job started exactly once')
})

test('nothing lost: 3 workers, kill -9 twice mid-run, all jobs complete with the right answer', async (t) => {
  const JOBS = 300
  const q = qname()
  const w = await watch(q)
  const workers = [await startWorker('pool', q, 1), await startWorker('pool', q, 1), await startWorker('pool', q, 1)]
  const client = createClient(q, { connection: redis.connection })
  t.after(async () => { await client.close({ force: true }); for (const c of workers) c.kill('SIGKILL'); await w.events.close() })
  const checks = []
  for (let i = 0; i < JOBS; i++) {
    const kind = i % 4
    if (kind === 0) {
      const data = crypto.randomBytes(512)
      checks.push(client.run('sha256', data).then((r) => assert.deepEqual(r, crypto.createHash('sha256').update(data).digest())))
    } else if (kind === 1) {
      const pw = `pw${i}`
      checks.push(client.run('bcrypt.hash', { password: pw, cost: 4 }).then((h) => assert.ok(bcryptjs.compareSync(pw, h))))
    } else if (kind === 2) {
      checks.push(client.run('csv.parse', `a,b\n${i},x\n`).then((r) => assert.deepEqual(r, [['a', 'b'], [String(i), 'x']])))
    } else {
      const v = { i, list: [i, 'x', null] }
      checks.push(client.run('json.parse', JSON.stringify(v)).then((r) => assert.deepEqual(r, v)))
    }
  }
  let completed = 0
  const failed = []
  w.events.on('failed', ({ jobId, failedReason }) => failed.push([jobId, failedReason]))
  // kill -9 a random worker at 1/3 and 2/3 of the run, starting a new one each time
  const killAt = new Set([Math.floor(JOBS / 3), Math.floor((2 * JOBS) / 3)])
  const killed = []
  w.events.on('completed', () => {
    completed++
    if (!killAt.has(completed)) return
    killAt.delete(completed)
    const victim = workers.splice(Math.floor(Math.random() * workers.length), 1)[0]
    victim.kill('SIGKILL')
    killed.push(victim.exited.then(() => startWorker('pool', q, 1)).then((c) => workers.push(c)))
  })
  await Promise.all(checks)
  await Promise.all(killed)
  assert.deepEqual(failed, [])
  const duplicates = [...w.starts.values()].filter((c) => c > 1).length
  // At-least-once: a job whose worker died mid-run starts again elsewhere. Counted, not hidden.
  t.diagnostic(`${JOBS} jobs completed; ${duplicates} started more than once (at-least-once), ${w.stalled.length} stalled events after the kills`)
  assert.ok(killed.length === 2)
})

test('SIGTERM drains: the running job completes before the worker exits', async (t) => {
  const q = qname()
  const w = await watch(q)
  const child = await startWorker('pool', q, 1)
  const client = createClient(q, { connection: redis.connection })
  t.after(async () => { await client.close({ force: true }); child.kill('SIGKILL'); await w.events.close() })
  const active = once(w.events, 'active')
  const p = client.run('fib', 42)
  await active
  const closed = new Promise((resolve) => child.lines.on('line', (l) => { if (l === 'closed') resolve() }))
  child.kill('SIGTERM')
  assert.equal(await p, 267914296)
  await closed
  const [code] = await child.exited
  assert.equal(code, 0)
  assert.deepEqual(w.stalled, [])
})
