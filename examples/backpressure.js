'use strict'
// Backpressure: feed the pool from a stream of unknown length without queueing it all at once.
// The pool has a bounded queue (maxQueue); before each submission the producer checks
// pool.needsDrain and, while it is true, stops pulling from the stream until the pool emits
// 'drain'. The stream is pulled with for-await, so stopping the loop pauses the source too:
// memory stays bounded by maxQueue, and no task is ever refused with ERR_POOL_QUEUE_FULL.
//
//   node examples/backpressure.js            # ITEMS=2000 by default
//
// The last line printed is a JSON summary (the example test reads it).

const { Readable } = require('node:stream')
const { once } = require('node:events')
const crypto = require('node:crypto')
const { WorkerPool } = require('..')

const ITEMS = Number(process.env.ITEMS ?? 2000)
const CHUNK = 64 << 10
const pool = new WorkerPool({ threads: 2, maxQueue: 8 })

let produced = 0
let completed = 0
let failed = 0
let mismatches = 0
let drains = 0
let queueFull = 0
let maxQueueSeen = 0
let maxAhead = 0 // items pulled from the stream but not yet finished
pool.on('queue-full', () => { queueFull++ })

// The source: chunks produced on demand, as a file or a socket would deliver them: each one
// arrives in a later event-loop turn, as I/O does. (A source that only ever resolves
// promises never lets the loop run, so finished tasks could not settle until it paused.)
async function* chunks() {
  for (let i = 0; i < ITEMS; i++) {
    await new Promise(setImmediate)
    produced++
    yield { i, data: crypto.randomBytes(CHUNK) }
  }
}

async function main() {
  const started = performance.now()
  const inFlight = new Set()
  for await (const { i, data } of Readable.from(chunks(), { highWaterMark: 1 })) {
    if (pool.needsDrain) {
      // Nothing more is pulled from the stream until the pool has caught up.
      drains++
      await once(pool, 'drain')
    }
    const task = pool.run('sha256', data).then(
      (digest) => {
        completed++
        // Spot-check results against node:crypto (every 50th, to keep the main thread free).
        if (i % 50 === 0 && !digest.equals(crypto.createHash('sha256').update(data).digest())) mismatches++
      },
      (err) => {
        failed++
        console.error(`item ${i}: ${err.code}: ${err.message}`)
      },
    )
    inFlight.add(task)
    task.finally(() => inFlight.delete(task))
    maxQueueSeen = Math.max(maxQueueSeen, pool.queueSize)
    maxAhead = Math.max(maxAhead, produced - completed - failed)
  }
  await Promise.all(inFlight)
  const ms = performance.now() - started
  await pool.close()
  console.log(`hashed ${completed} of ${ITEMS} chunks of ${CHUNK >> 10} KiB in ${ms.toFixed(0)} ms; ` +
    `paused for 'drain' ${drains} times; queue peaked at ${maxQueueSeen} (maxQueue 8)`)
  console.log(JSON.stringify({ items: ITEMS, produced, completed, failed, mismatches, queueFull, drains, maxQueue: 8, maxQueueSeen, maxAhead, ms: Math.round(ms) }))
  if (failed || mismatches || completed !== ITEMS) process.exitCode = 1
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
