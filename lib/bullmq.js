'use strict'
// pool/bullmq: a WorkerPool as the processor of BullMQ workers, and a client that runs kernels
// through a queue. The pool keeps CPU work off the event loop, so BullMQ's lock renewal (a JS
// timer) keeps running and CPU-heavy jobs do not stall, without BullMQ's sandboxed processes.
//
// A job's data is { kernel, input, timeout?, priority? } and its return value the kernel's
// result, both in the JSON envelope of lib/envelope.js (binary, bigint, Date survive).
//
// Cancelling a job that runs on another process: BullMQ's worker.cancelJob() only reaches the
// process holding the job, so the client publishes { jobId, reason } as a custom event
// ('pool:cancel', BullMQ's QueueEventsProducer) on a stream of its own, `<queue>.pool-cancel`,
// which every createWorker() reads with a QueueEvents. A stream of its own, because reading
// the queue's own event stream would make every worker parse every event of every job.
// Workers start reading it at the id that was last when they started, before they take any job,
// and a cancel that arrives just before BullMQ starts tracking the job is remembered for a while
// and applied when the job starts.

const { randomUUID } = require('node:crypto')
const { EventEmitter } = require('node:events')
const { encode, decode, VERSION } = require('./internal/envelope.js')
const { AbortError, codeError } = require('./internal/errors.js')

// Failures that can depend on the moment, so BullMQ's attempts/backoff apply. Every other
// failure (bad input, unknown kernel, syntax errors, aborts) is thrown as UnrecoverableError.
const TRANSIENT = new Set(['ERR_POOL_TIMEOUT', 'ERR_POOL_KERNEL_PANIC', 'ERR_POOL_QUEUE_FULL', 'ERR_POOL_CLOSED'])
const BULL_PRIORITY_MAX = 2_097_151 // BullMQ: 1 (first) .. 2^21 - 1
const BULL_PRIORITY_MID = 1_048_576 // pool priority 0
const CANCEL_EVENT = 'pool:cancel'
const CANCEL_MEMORY = 10_000 // cancels remembered for jobs not (yet) running here
const CANCEL_MEMORY_MS = 10 * 60_000
const REASON_CHARS = 500
const kState = Symbol('pool/bullmq state')
const kRequeue = Symbol('pool/bullmq requeue')
const kLockLost = Symbol('pool/bullmq lock lost')

const invalidType = (what, expected, value) => codeError(TypeError, 'ERR_INVALID_ARG_TYPE',
  `${what} must be ${expected}. Received ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `type ${typeof value}`}`)

// require('pool').AbortError itself (lib/internal/errors.js loads no addon), so `instanceof` works.
function abortError(message, cause) {
  return new AbortError(message, cause === undefined ? undefined : { cause })
}

let bullmq
function loadBullmq(connection) {
  if (bullmq === undefined) {
    try {
      bullmq = require('bullmq')
    } catch (cause) {
      if (cause?.code !== 'MODULE_NOT_FOUND' || !String(cause.message).includes("'bullmq'")) throw cause
      throw codeError(Error, 'ERR_POOL_BULLMQ_MISSING',
        "pool/bullmq needs the 'bullmq' package (a peer dependency): npm install bullmq ioredis", { cause })
    }
  }
  // BullMQ loads ioredis itself, and only when it is given connection options rather than a client.
  if (connection !== undefined && typeof connection?.duplicate !== 'function') {
    try {
      require.resolve('ioredis')
    } catch (cause) {
      throw codeError(Error, 'ERR_POOL_BULLMQ_MISSING',
        "pool/bullmq needs the 'ioredis' package (a peer dependency of bullmq) for connection options: npm install ioredis", { cause })
    }
  }
  return bullmq
}

/**
 * The pool's priority (higher first, any finite number, default 0) as BullMQ's (lower first,
 * integers 1..2,097,151): 1,048,576 − round(priority), clamped. Integer priorities from
 * −1,048,575 to 1,048,575 keep their order exactly; beyond that they share the end values, and
 * fractions are rounded to the nearest integer.
 */
function toBullPriority(priority = 0) {
  if (typeof priority !== 'number') throw invalidType('The "priority" option', 'of type number', priority)
  if (!Number.isFinite(priority)) {
    throw codeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "priority" is out of range. It must be a finite number. Received ${priority}`)
  }
  return Math.min(BULL_PRIORITY_MAX, Math.max(1, BULL_PRIORITY_MID - Math.round(priority)))
}

function checkPool(pool) {
  if (pool === null || typeof pool !== 'object' || typeof pool.run !== 'function') {
    throw invalidType('The "pool" argument', 'a WorkerPool', pool)
  }
}

function checkObject(what, value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidType(what, 'of type object', value)
}

function checkKernels(kernels) {
  if (kernels === undefined) return undefined
  if (!Array.isArray(kernels) || !kernels.every((k) => typeof k === 'string')) {
    throw invalidType('The "kernels" option', 'an array of kernel names', kernels)
  }
  return new Set(kernels)
}

function reasonText(reason) {
  if (reason === undefined) return ''
  const s = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)
  return s.length > REASON_CHARS ? `${s.slice(0, REASON_CHARS)}…` : s
}

// "TypeError [ERR_INVALID_ARG_TYPE]: message": the first line of a coded error's stack in Node,
// and what BullMQ keeps as the job's failedReason (it stores err.message).
function summary(err) {
  if (!(err instanceof Error)) return `Error: ${String(err)}`
  return err.code === undefined ? `${err.name}: ${err.message}` : `${err.name} [${err.code}]: ${err.message}`
}

function jobError(err, bull) {
  const text = summary(err)
  const transient = TRANSIENT.has(err?.code)
  const e = transient ? new Error(text) : new bull.UnrecoverableError(text)
  e.cause = err
  if (err?.code !== undefined) e.code = err.code
  // BullMQ stores err.stack in the job's stacktrace: keep the original's frames under our line.
  const frames = typeof err?.stack === 'string' ? err.stack.indexOf('\n    at ') : -1
  e.stack = `${e.name}: ${text}${frames >= 0 ? err.stack.slice(frames) : ''}`
  return e
}

const FAILED_REASON = /^(\w+) \[([A-Z][A-Z0-9_]*)\]: ([\s\S]*)$/
const ERROR_CLASSES = { Error, TypeError, RangeError, SyntaxError }

/** The client's rejection for a job that failed with `failedReason`. */
function errorFromFailedReason(failedReason, jobId) {
  const reason = String(failedReason ?? '')
  const m = FAILED_REASON.exec(reason)
  let err
  if (m === null) {
    // Not thrown by this processor: e.g. "job stalled more than allowable limit".
    err = codeError(Error, 'ERR_POOL_JOB_FAILED', reason || `Job ${jobId} failed`)
  } else if (m[1] === 'AbortError') {
    err = abortError(m[3])
  } else {
    err = codeError(ERROR_CLASSES[m[1]] ?? Error, m[2], m[3])
  }
  err.jobId = jobId
  err.failedReason = reason
  return err
}

// Job data → pool.run arguments; throws a typed error for data no kernel could take.
function readJob(data, defaultTimeout, allowed) {
  checkObject('The job\'s data', data)
  const { kernel, input, timeout = defaultTimeout, priority } = decode(data)
  if (typeof kernel !== 'string') throw invalidType('The job\'s "kernel"', 'of type string', kernel)
  if (allowed !== undefined && !allowed.has(kernel)) {
    throw codeError(Error, 'ERR_POOL_UNKNOWN_KERNEL', `Kernel '${kernel}' is not among this worker's kernels`)
  }
  const options = {}
  if (timeout !== undefined) options.timeout = timeout
  if (priority !== undefined) options.priority = priority
  return [kernel, input, options]
}

/**
 * A BullMQ processor `(job, token, signal) => result` that runs `job.data.kernel` on `pool`.
 * Options: `timeout` (ms, the default for jobs that set none), `kernels` (names allowed).
 */
function createProcessor(pool, options = {}) {
  checkPool(pool)
  checkObject('The "options" argument', options)
  const bull = loadBullmq()
  const { timeout, kernels } = options
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout >= 0))) {
    throw codeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "timeout" is out of range. It must be a number of milliseconds >= 0 or Infinity. Received ${String(timeout)}`)
  }
  const allowed = checkKernels(kernels)
  const state = options[kState] // set by createWorker: shutdown and remote-cancel state

  async function requeue(job, token) {
    await job.moveToWait(token) // checks our lock; the job can be taken at once by another worker
    throw new bull.WaitingError()
  }

  // Exactly three parameters: BullMQ passes its AbortSignal only to processors with length >= 3.
  return async function poolProcessor(job, token, signal) {
    if (state?.requeueing) return requeue(job, token)
    const early = state?.takeCancel(job.id)
    if (early !== undefined) {
      throw jobError(abortError(`The job was cancelled${early ? `: ${early}` : ''}`), bull)
    }
    let args
    try {
      args = readJob(job.data, timeout, allowed)
    } catch (err) {
      throw jobError(err, bull)
    }
    if (signal !== undefined) args[2].signal = signal
    let result
    try {
      result = await pool.run(...args)
    } catch (err) {
      if (err?.code === 'ABORT_ERR' && signal?.aborted) {
        const reason = signal.reason
        if (reason?.[kRequeue]) return requeue(job, token)
        if (reason?.[kLockLost]) throw reason // the job is another worker's now; BullMQ's own bookkeeping follows
        const text = reasonText(reason)
        throw jobError(abortError(`The job was cancelled${text ? `: ${text}` : ''}`, reason), bull)
      }
      throw jobError(err, bull)
    }
    return encode(result)
  }
}

// Cancels that reached this worker for jobs it was not running (yet): bounded in count and age.
class CancelMemory {
  constructor() {
    this.map = new Map() // jobId → [reason, time]
  }

  add(jobId, reason) {
    const now = Date.now()
    this.map.delete(jobId)
    this.map.set(jobId, [reason, now])
    for (const [id, [, t]] of this.map) {
      if (this.map.size <= CANCEL_MEMORY && now - t < CANCEL_MEMORY_MS) break
      this.map.delete(id)
    }
  }

  take(jobId) {
    const hit = this.map.get(jobId)
    if (hit === undefined) return undefined
    this.map.delete(jobId)
    return Date.now() - hit[1] < CANCEL_MEMORY_MS ? hit[0] : undefined
  }
}

const cancelQueueName = (queueName) => `${queueName}.pool-cancel`

// The id of the newest entry of a stream ('0-0' if it is empty), so a QueueEvents started from
// it misses nothing published afterwards (its default, '$', is "whenever my XREAD arrives").
async function lastStreamId(queueBase, key) {
  const client = await queueBase.getBackend().client
  const last = await client.xrevrange(key, '+', '-', 'COUNT', 1)
  return last?.[0]?.[0] ?? '0-0'
}

function checkClose(options) {
  if (options === undefined || typeof options === 'boolean') return [options === true, 0]
  checkObject('The "options" argument', options)
  const { force = false, graceMs = 0 } = options
  if (typeof force !== 'boolean') throw invalidType('The "force" option', 'of type boolean', force)
  if (typeof graceMs !== 'number') throw invalidType('The "graceMs" option', 'of type number', graceMs)
  if (!(graceMs >= 0)) throw codeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "graceMs" is out of range. It must be >= 0. Received ${graceMs}`)
  return [force, graceMs]
}

let PoolWorker
function poolWorkerClass(bull) {
  PoolWorker ??= class PoolWorker extends bull.Worker {
    /**
     * `close()`: take no more jobs, wait for the running ones (BullMQ's close()).
     * `close({ force: true, graceMs })`: the same, but after `graceMs` (default 0) abort what
     * is still running and move those jobs back to waiting at once, where any worker can take
     * them. `close(true)` is `close({ force: true })`. A forced close may follow a graceful one.
     */
    close(options = undefined) {
      const [force, graceMs] = checkClose(options)
      const state = this[kState]
      if (state === undefined) return super.close(force) // constructed by BullMQ internals, not createWorker
      state.closing ??= (async () => {
        try {
          await state.started
          await super.close(false)
        } finally {
          clearTimeout(state.forceTimer)
          await state.cancels?.close()
        }
      })()
      if (force && !state.requeueing) {
        const at = Date.now() + graceMs
        if (state.forceAt === undefined || at < state.forceAt) {
          state.forceAt = at
          clearTimeout(state.forceTimer)
          state.forceTimer = setTimeout(() => {
            state.requeueing = true
            this.cancelAllJobs(state.requeueReason)
          }, Math.min(graceMs, 2 ** 31 - 1))
        }
      }
      return state.closing
    }
  }
  return PoolWorker
}

/**
 * A BullMQ Worker for `queueName` whose processor is createProcessor(pool, { timeout, kernels }).
 * `concurrency` defaults to pool.threads; every other option goes to BullMQ's Worker.
 */
function createWorker(queueName, pool, options) {
  checkPool(pool)
  checkObject('The "options" argument', options)
  const { connection, concurrency = pool.threads, timeout, kernels, autorun = true, ...workerOptions } = options
  if (connection === undefined || connection === null) {
    throw invalidType('The "connection" option', 'Redis connection options or a client', connection)
  }
  const bull = loadBullmq(connection)
  const state = {
    requeueing: false,
    requeueReason: Object.assign(codeError(Error, 'ERR_POOL_WORKER_CLOSING', 'The worker is closing: the job goes back to waiting'), { [kRequeue]: true }),
    memory: new CancelMemory(),
    takeCancel: (jobId) => state.memory.take(jobId),
    started: undefined,
    closing: undefined,
    cancels: undefined,
    forceTimer: undefined,
    forceAt: undefined,
  }
  const processor = createProcessor(pool, { timeout, kernels, [kState]: state })
  const Worker = poolWorkerClass(bull)
  const worker = new Worker(queueName, processor, { ...workerOptions, connection, concurrency, autorun: false })
  worker[kState] = state

  // BullMQ only reports a lock it could not renew; the job is (or soon will be) another
  // worker's, so stop spending a thread on it.
  worker.on('lockRenewalFailed', (jobIds) => {
    for (const id of jobIds) {
      worker.cancelJob(id, Object.assign(codeError(Error, 'ERR_POOL_LOCK_LOST', `Lost the lock of job ${id}`), { [kLockLost]: true }))
    }
  })

  state.started = (async () => {
    const cancels = new bull.QueueEvents(cancelQueueName(queueName), { connection, prefix: workerOptions.prefix, autorun: false })
    state.cancels = cancels
    cancels.on('error', (err) => worker.emit('error', err))
    cancels.on(CANCEL_EVENT, ({ jobId, reason }) => {
      if (!worker.cancelJob(jobId, reason)) state.memory.add(jobId, reason ?? '')
    })
    cancels.opts.lastEventId = await lastStreamId(worker, cancels.keys.events)
    if (state.closing !== undefined) return
    cancels.run().catch((err) => worker.emit('error', err))
    if (autorun) worker.run().catch((err) => worker.emit('error', err))
  })().catch((err) => worker.emit('error', err))
  return worker
}

function checkRunOptions(options) {
  checkObject('The "options" argument', options)
  const { timeout, priority = 0, attempts, backoff, jobId, signal } = options
  if (timeout !== undefined) {
    if (typeof timeout !== 'number') throw invalidType('The "timeout" option', 'of type number', timeout)
    if (!(timeout >= 0)) throw codeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "timeout" is out of range. It must be a number of milliseconds >= 0 or Infinity. Received ${timeout}`)
  }
  const bullPriority = toBullPriority(priority)
  if (attempts !== undefined && (!Number.isInteger(attempts) || attempts < 1)) {
    throw codeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "attempts" is out of range. It must be an integer >= 1. Received ${String(attempts)}`)
  }
  if (backoff !== undefined && typeof backoff !== 'number' && (backoff === null || typeof backoff !== 'object')) {
    throw invalidType('The "backoff" option', 'a number or a BullMQ backoff object', backoff)
  }
  if (jobId !== undefined && typeof jobId !== 'string') throw invalidType('The "jobId" option', 'of type string', jobId)
  if (signal !== undefined && (signal === null || typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function')) {
    throw invalidType('The "signal" option', 'an instance of AbortSignal', signal)
  }
  return { timeout, priority, bullPriority, attempts, backoff, jobId, signal }
}

/**
 * The remote twin of pool.run: `run(kernel, input, options)` adds a job to `queueName` and
 * resolves with its result once a worker has completed it. `close()` waits for pending runs;
 * `close({ force: true })` rejects them with ERR_POOL_CLOSED (the jobs stay queued).
 */
function createClient(queueName, options) {
  checkObject('The "options" argument', options)
  const { connection, prefix, defaultJobOptions } = options
  if (connection === undefined || connection === null) {
    throw invalidType('The "connection" option', 'Redis connection options or a client', connection)
  }
  const bull = loadBullmq(connection)
  const client = new EventEmitter()
  const queue = new bull.Queue(queueName, { connection, prefix, defaultJobOptions })
  const events = new bull.QueueEvents(queueName, { connection, prefix, autorun: false })
  const pending = new Map() // jobId → Set of { resolve, reject } (several runs may share a jobId)
  const background = new Set() // removals and cancels still in flight
  let producer
  let closed = false
  let closing
  // Connection trouble is BullMQ's to retry; report it to 'error' listeners, or as a warning.
  const onError = (err) => {
    if (client.listenerCount('error') > 0) client.emit('error', err)
    else process.emitWarning(err)
  }
  queue.on('error', onError)
  events.on('error', onError)

  const ready = (async () => {
    events.opts.lastEventId = await lastStreamId(queue, events.keys.events)
    events.run().catch(onError)
  })()
  ready.catch(() => {}) // surfaced by run()

  const settleAll = (jobId, ok, value) => {
    const entries = pending.get(jobId)
    if (entries === undefined) return
    pending.delete(jobId)
    for (const e of entries) ok ? e.resolve(value) : e.reject(value)
  }
  events.on('completed', ({ jobId, returnvalue }) => {
    if (!pending.has(jobId)) return
    let value
    try {
      value = decode(returnvalue)
    } catch (err) {
      return settleAll(jobId, false, err)
    }
    settleAll(jobId, true, value)
  })
  events.on('failed', ({ jobId, failedReason }) => {
    if (pending.has(jobId)) settleAll(jobId, false, errorFromFailedReason(failedReason, jobId))
  })
  events.on('removed', ({ jobId }) => {
    if (!pending.has(jobId)) return
    settleAll(jobId, false, Object.assign(codeError(Error, 'ERR_POOL_JOB_REMOVED', `Job ${jobId} was removed before it finished`), { jobId }))
  })

  // Removes a job that is not running; publishes a cancel for one that is.
  function cancel(jobId, reason) {
    const p = (async () => {
      if ((await queue.remove(jobId)) === 1) return
      producer ??= new bull.QueueEventsProducer(cancelQueueName(queueName), { connection, prefix })
      await producer.publishEvent({ eventName: CANCEL_EVENT, jobId, reason: reasonText(reason) })
    })().catch(onError).finally(() => background.delete(p))
    background.add(p)
  }

  async function settleFinished(jobId) {
    // A jobId of the caller's may name a job that finished before: no event will come for it.
    const state = await queue.getJobState(jobId)
    if (state !== 'completed' && state !== 'failed') return
    const job = await queue.getJob(jobId)
    if (job === undefined) return
    if (state === 'failed') return settleAll(jobId, false, errorFromFailedReason(job.failedReason, jobId))
    let value
    try {
      value = decode(job.returnvalue)
    } catch (err) {
      return settleAll(jobId, false, err)
    }
    settleAll(jobId, true, value)
  }

  client.run = function run(kernel, input, runOptions = {}) {
    return new Promise((resolve, reject) => {
      if (closed) return reject(codeError(Error, 'ERR_POOL_CLOSED', 'The client is closed'))
      if (typeof kernel !== 'string') return reject(invalidType('The "kernel" argument', 'of type string', kernel))
      let o
      let data
      try {
        o = checkRunOptions(runOptions)
        data = encode({ kernel, input, timeout: o.timeout, priority: o.priority === 0 ? undefined : o.priority })
      } catch (err) {
        return reject(err)
      }
      const { signal } = o
      if (signal?.aborted) return reject(abortError(undefined, signal.reason))
      const jobId = o.jobId ?? randomUUID() // known before add(), so no event can come first
      const entry = { resolve, reject }
      let added = false
      const leave = () => {
        const entries = pending.get(jobId)
        if (entries === undefined || !entries.delete(entry)) return false
        if (entries.size === 0) pending.delete(jobId)
        return true
      }
      const onAbort = () => {
        if (!leave()) return
        entry.reject(abortError(undefined, signal.reason))
        if (added && !pending.has(jobId)) cancel(jobId, signal.reason)
      }
      if (signal !== undefined) {
        signal.addEventListener('abort', onAbort, { once: true })
        const done = () => signal.removeEventListener('abort', onAbort)
        entry.resolve = (v) => { done(); resolve(v) }
        entry.reject = (e) => { done(); reject(e) }
      }
      if (!pending.has(jobId)) pending.set(jobId, new Set())
      pending.get(jobId).add(entry)
      const jobOptions = { jobId, priority: o.bullPriority }
      if (o.attempts !== undefined) jobOptions.attempts = o.attempts
      if (o.backoff !== undefined) jobOptions.backoff = o.backoff
      ready
        .then(() => queue.add(kernel, data, jobOptions))
        .then(async () => {
          added = true
          if (signal?.aborted) {
            if (!pending.has(jobId)) cancel(jobId, signal.reason)
          } else if (o.jobId !== undefined) {
            await settleFinished(jobId)
          }
        })
        .catch((err) => { if (leave()) entry.reject(err) })
    })
  }

  client.close = function close(closeOptions = undefined) {
    const [force] = checkClose(closeOptions)
    closed = true
    if (force) {
      for (const jobId of [...pending.keys()]) settleAll(jobId, false, codeError(Error, 'ERR_POOL_CLOSED', 'The client was closed before the job finished'))
    }
    closing ??= (async () => {
      while (pending.size > 0) await waitSettled()
      await ready.catch(() => {})
      await Promise.allSettled([...background])
      await Promise.allSettled([events.close(), queue.close(), producer?.close()])
    })()
    return closing
  }

  // Resolves once every run pending now has settled.
  function waitSettled() {
    const all = []
    for (const entries of pending.values()) {
      for (const e of entries) {
        all.push(new Promise((r) => {
          const { resolve, reject } = e
          e.resolve = (v) => { r(); resolve(v) }
          e.reject = (err) => { r(); reject(err) }
        }))
      }
    }
    return Promise.all(all)
  }

  client.queue = queue
  client.events = events
  return client
}

module.exports = {
  createProcessor,
  createWorker,
  createClient,
  toBullPriority,
  encode,
  decode,
  errorFromFailedReason,
  ENVELOPE_VERSION: VERSION,
}
module.exports.default = module.exports
