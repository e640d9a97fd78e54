'use strict'
// One worker process of `npm run bench:bullmq`: `node worker.js <contender> <queue> <port> <slots>`.
// Prints "ready", then on SIGTERM closes and prints "eld <p99 ms of event-loop delay>".
const path = require('node:path')
const { monitorEventLoopDelay } = require('node:perf_hooks')
const { Worker } = require('bullmq')

const [contender, queueName, port, slots] = process.argv.slice(2)
const connection = { host: '127.0.0.1', port: Number(port) }
const concurrency = Number(slots)
const eld = monitorEventLoopDelay({ resolution: 1 })
let worker
let pool
if (contender === 'pool') {
  const { WorkerPool } = require('../..')
  const { createWorker } = require('../../lib/bullmq.js')
  pool = new WorkerPool({ threads: concurrency })
  worker = createWorker(queueName, pool, { connection, concurrency })
} else if (contender === 'pool-batch') {
  // One job carries many inputs: your own processor calling runBatch (README "Scaling out").
  const { WorkerPool } = require('../..')
  const { decode, encode } = require('../../lib/internal/envelope.js')
  pool = new WorkerPool({ threads: concurrency })
  worker = new Worker(queueName, async (job) => {
    const { kernel, inputs } = decode(job.data)
    return encode(await pool.runBatch(kernel, inputs))
  }, { connection, concurrency })
} else if (contender === 'inline') {
  worker = new Worker(queueName, require('./work.js'), { connection, concurrency })
} else {
  // BullMQ's sandboxed processors: a child process (or worker thread) per concurrency slot.
  worker = new Worker(queueName, path.join(__dirname, 'work.js'), {
    connection, concurrency, useWorkerThreads: contender === 'sandbox-threads',
  })
}
worker.on('error', (err) => process.stderr.write(`worker error: ${err.message}\n`))
process.on('SIGTERM', async () => {
  await worker.close()
  await pool?.close()
  eld.disable()
  process.stdout.write(`eld ${(eld.percentile(99) / 1e6).toFixed(2)}\n`)
  process.exit(0)
})
worker.waitUntilReady().then(() => { eld.enable(); process.stdout.write('ready\n') })
