'use strict'
// `npm start`: the battle test, with real kernels. Five phases (basic tasks, priorities, error
// recovery, heavy load, mixed workload), a live status line, final statistics, then close().

const { WorkerPool } = require('..')
const { createHash } = require('node:crypto')
const assert = require('node:assert/strict')

const pool = new WorkerPool({ threads: Math.max(2, require('node:os').availableParallelism()) })
const tty = process.stdout.isTTY

function status(label) {
  const s = pool.stats()
  const line = `[${label}] running ${s.running}  queued ${s.queueSize}  completed ${s.completed}  failed ${s.failed}`
  if (tty) process.stdout.write(`\r\x1b[K${line}`)
  return line
}

function live(label) {
  const t = setInterval(() => status(label), 100)
  return () => {
    clearInterval(t)
    const line = status(label)
    process.stdout.write(tty ? '\n' : `${line}\n`)
  }
}

async function phase(name, fn) {
  console.log(`\n== ${name}`)
  const stop = live(name)
  const t0 = performance.now()
  try {
    await fn()
  } finally {
    stop()
  }
  console.log(`   done in ${(performance.now() - t0).toFixed(1)} ms`)
}

async function basic() {
  const [f, digest, echoed] = await Promise.all([
    pool.run('fib', 30),
    pool.run('sha256', 'hello world'),
    pool.run('echo', { toString: () => 'not sent' }.toString()),
  ])
  assert.equal(f, 832040)
  assert.equal(digest.toString('hex'), createHash('sha256').update('hello world').digest('hex'))
  console.log(`   fib(30) = ${f}, sha256('hello world') = ${digest.toString('hex').slice(0, 16)}…, echo = ${echoed}`)
}

async function priorities() {
  // Fill every thread, then queue low and high priority tasks: high ones finish first.
  const blockers = Array.from({ length: pool.threads }, () => pool.run('fib', 32))
  const order = []
  const queued = []
  for (let i = 0; i < 5; i++) {
    queued.push(pool.run('fib', 20, { priority: 0 }).then(() => order.push(`low${i}`)))
    queued.push(pool.run('fib', 20, { priority: 10 }).then(() => order.push(`high${i}`)))
  }
  await Promise.all([...blockers, ...queued])
  console.log(`   settle order: ${order.join(' ')}`)
  assert.ok(order.slice(0, 5).every((x) => x.startsWith('high')), 'high priority first')
}

async function errors() {
  const outcomes = await Promise.allSettled([
    pool.run('fib', 'forty'), // TypeError
    pool.run('fib', 100), // RangeError
    pool.run('nope', 1), // unknown kernel
    pool.run('__panic', null), // a kernel panic: rejects this task only
    pool.run('fib', 45, { timeout: 50 }), // stopped cooperatively after 50 ms
    pool.run('fib', 45, { signal: AbortSignal.timeout(30) }), // aborted while running
  ])
  for (const o of outcomes) {
    console.log(`   ${o.status === 'rejected' ? `${o.reason.code.padEnd(24)} ${o.reason.message}` : o.value}`)
  }
  assert.ok(outcomes.every((o) => o.status === 'rejected'))
  // The pool kept every thread and still answers.
  assert.equal(await pool.run('fib', 25), 75025)
}

async function heavy() {
  const tasks = Array.from({ length: 200 }, (_, i) => pool.run('fib', 24 + (i % 6)))
  const results = await Promise.all(tasks)
  const batch = await pool.runBatch('fib', Array.from({ length: 100_000 }, (_, i) => i % 20))
  console.log(`   200 fib tasks (sum ${results.reduce((a, b) => a + b, 0)}), runBatch of ${batch.length} fib inputs`)
}

async function mixed() {
  const big = Buffer.alloc(8 << 20, 1)
  const jobs = []
  for (let i = 0; i < 300; i++) {
    if (i % 3 === 0) jobs.push(pool.run('sha256', big.subarray(0, (i + 1) * 4096)))
    else if (i % 3 === 1) jobs.push(pool.run('fib', 22 + (i % 8), { priority: i % 5 }))
    else jobs.push(pool.run('echo', `task ${i}`))
  }
  const settled = await Promise.allSettled(jobs)
  console.log(`   300 mixed tasks: ${settled.filter((s) => s.status === 'fulfilled').length} fulfilled`)
}

async function main() {
  console.log(`pool demo: ${pool.threads} threads, kernels: ${WorkerPool.kernels.join(', ')}`)
  await phase('basic tasks', basic)
  await phase('priority handling', priorities)
  await phase('error recovery', errors)
  await phase('heavy load', heavy)
  await phase('mixed workload', mixed)
  const s = pool.stats()
  console.log('\n== final statistics')
  console.log(`   completed ${s.completed}, failed ${s.failed}, cancelled ${s.cancelled}, timed out ${s.timedOut}`)
  console.log(`   run time  ms: mean ${s.runTime.mean.toFixed(3)}, p50 ${s.runTime.p50.toFixed(3)}, p99 ${s.runTime.p99.toFixed(3)}, max ${s.runTime.max.toFixed(3)}`)
  console.log(`   wait time ms: mean ${s.waitTime.mean.toFixed(3)}, p50 ${s.waitTime.p50.toFixed(3)}, p99 ${s.waitTime.p99.toFixed(3)}, max ${s.waitTime.max.toFixed(3)}`)
  console.log(`   utilization ${(s.utilization * 100).toFixed(1)}%`)
  await pool.close()
  console.log(`   pool closed: ${pool.closed}`)
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
