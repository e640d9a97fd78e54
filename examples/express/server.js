'use strict'
// An Express 5 server with the CPU-heavy endpoints a real app has, runnable in four modes so
// they can be compared under load (bench/server.js):
//
//   MODE=pool     the work runs on the pool's Rust threads (this package)
//   MODE=inline   the same work synchronously on the event loop: node:crypto, bcryptjs, papaparse
//                 (and sharp for /thumbnail, called in the handler: it runs on libuv's threads)
//   MODE=piscina  that same code inside piscina worker threads (piscina-worker.js)
//   MODE=native   passwords through @node-rs/bcrypt's async API (libuv's pool), the rest inline
//
// Environment: MODE (or POOL_MODE; default pool), PORT (default 3000; 0 = any free port),
// HOST (default 127.0.0.1), THREADS (pool threads = piscina threads; default: available
// parallelism), NICE (niceIncrement of pool and piscina threads; default 10, 0 to disable). Once listening it prints one JSON line, {"listening":port,"mode":…,"threads":…}.
// NODE_DEBUG=example also logs each request as it arrives, to stderr.
// The modes answer every request identically (same JSON, same status codes; a thumbnail
// is a 200 × 200 JPEG in each, from the pool's encoder or sharp's); only where the work runs
// differs.

const os = require('node:os')
const { debuglog } = require('node:util')
const express = require('express')
const work = require('./work.js')

const MODE = process.env.POOL_MODE || process.env.MODE || 'pool'
const THREADS = process.env.THREADS ? Number(process.env.THREADS) : os.availableParallelism()
const PORT = process.env.PORT === undefined ? 3000 : Number(process.env.PORT)
const HOST = process.env.HOST || '127.0.0.1'
// Pool threads run at this much lower OS priority (Linux), so the event loop keeps answering
// light requests at once while every core is busy with heavy ones.
const NICE = process.env.NICE === undefined ? 10 : Number(process.env.NICE)
// A bcrypt cost is exponential: one cost-31 request would hold a thread for days. A real server
// caps what clients may ask for, both for new hashes and for hashes it is asked to verify.
const MAX_COST = 14
const DEFAULT_COST = 10
// Past this many waiting tasks the server answers 503 instead of queueing without bound.
const MAX_QUEUE = 1024
const BCRYPT_HASH = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/

if (!['pool', 'inline', 'piscina', 'native'].includes(MODE)) {
  console.error(`MODE must be pool, inline, piscina or native; got '${MODE}'`)
  process.exit(2)
}
if (!Number.isInteger(THREADS) || THREADS < 1) {
  console.error(`THREADS must be a positive integer; got '${process.env.THREADS}'`)
  process.exit(2)
}

// Each backend offers the same four async operations; handlers never look at the mode.
function poolBackend() {
  const { WorkerPool } = require('../../')
  // limitInputPixels: an upload whose header claims more pixels is refused before decoding.
  const pool = new WorkerPool({ threads: THREADS, maxQueue: MAX_QUEUE, niceIncrement: NICE, limitInputPixels: work.LIMIT_PIXELS })
  const { width, height, fit, background, quality } = work.THUMBNAIL
  return {
    sha256: async (buf, signal) => (await pool.run('sha256', buf, { signal })).toString('hex'),
    hashPassword: (input, signal) => pool.run('bcrypt.hash', input, { signal }),
    verifyPassword: (input, signal) => pool.run('bcrypt.verify', input, { signal }),
    async importCsv(buf, signal) {
      // Two tasks on two threads at once; the body is read in place by both (nobody writes it).
      const [rows, digest] = await Promise.all([
        pool.run('csv.parse', { data: buf, skipEmptyLines: true }, { signal }),
        pool.run('sha256', buf, { signal }),
      ])
      return work.summary(rows, digest.toString('hex'))
    },
    async thumbnail(buf, signal) {
      const input = { data: buf, resize: { width, height, fit }, background, format: 'jpeg', quality }
      return (await pool.run('image.transform', input, { signal })).data
    },
    close: () => pool.close(),
  }
}

function inlineBackend() {
  // async only so handlers look the same; the work itself blocks the event loop.
  return {
    sha256: async (buf) => work.sha256(buf),
    hashPassword: async (input) => work.hashPassword(input),
    verifyPassword: async (input) => work.verifyPassword(input),
    importCsv: async (buf) => work.importCsv(buf),
    thumbnail: (buf) => work.thumbnail(buf), // sharp: on libuv's threads, not the event loop
    close: async () => {},
  }
}

function piscinaBackend() {
  const { Piscina } = require('piscina')
  const piscina = new Piscina({
    filename: require.resolve('./piscina-worker.js'),
    minThreads: THREADS,
    maxThreads: THREADS,
    maxQueue: MAX_QUEUE,
    niceIncrement: NICE, // the same priority as the pool's threads
  })
  // Transfer the body instead of copying it when it owns its whole ArrayBuffer (small bodies
  // may share Node's buffer pool, which must not be detached).
  const body = (buf) => (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength ? Piscina.move(buf) : buf)
  const run = (name, input, signal) => piscina.run(input, { name, signal }).catch((err) => {
    throw fromWorker(err, name)
  })
  return {
    sha256: (buf, signal) => run('sha256', body(buf), signal),
    hashPassword: (input, signal) => run('hashPassword', input, signal),
    verifyPassword: (input, signal) => run('verifyPassword', input, signal),
    importCsv: (buf, signal) => run('importCsv', body(buf), signal),
    thumbnail: async (buf, signal) => Buffer.from(await run('thumbnail', body(buf), signal)),
    close: () => piscina.destroy(),
  }
}

// Errors cross piscina's thread boundary by structured clone, which keeps the message but drops
// `code`; the worker's expected failures (a CSV syntax error, an image sharp cannot read) are
// recognised by their message.
function fromWorker(err, name) {
  if (err && err.code === undefined && /^Unterminated quoted field/.test(err.message)) err.code = 'ERR_POOL_CSV_SYNTAX'
  if (err && err.message === 'Task queue is at limit') err.code = 'ERR_POOL_QUEUE_FULL'
  if (err && err.code === undefined && name === 'thumbnail' && err.name !== 'AbortError') err.code = work.imageCode(err.message)
  return err
}

// What a server does without a pool: passwords through the async API of @node-rs/bcrypt (the
// same Rust bcrypt crate as the pool, one hash per libuv thread-pool task), the rest inline.
function nativeBackend() {
  const rs = require('@node-rs/bcrypt')
  return {
    ...inlineBackend(),
    hashPassword: ({ password, cost }) => rs.hash(password, { cost }),
    verifyPassword: ({ password, hash }) => rs.verify(password, hash),
  }
}

const backend = { pool: poolBackend, inline: inlineBackend, piscina: piscinaBackend, native: nativeBackend }[MODE]()

function badRequest(code, message) {
  const e = new TypeError(message)
  e.code = code
  return e
}

function requireString(body, name) {
  const v = body?.[name]
  if (typeof v !== 'string') {
    throw badRequest('ERR_INVALID_ARG_TYPE', `The "${name}" property must be of type string. Received ${v === null ? 'null' : `type ${typeof v}`}`)
  }
  return v
}

function checkCost(cost) {
  if (typeof cost !== 'number') throw badRequest('ERR_INVALID_ARG_TYPE', `The "cost" property must be of type number. Received type ${cost === null ? 'null' : typeof cost}`)
  if (!Number.isInteger(cost) || cost < 4 || cost > MAX_COST) {
    const e = new RangeError(`The value of "cost" is out of range. It must be an integer >= 4 and <= ${MAX_COST}. Received ${cost}`)
    e.code = 'ERR_OUT_OF_RANGE'
    throw e
  }
  return cost
}

// An AbortSignal that fires if the client goes away before the answer is sent, so a queued
// task for a dead connection is dropped instead of run (pool and piscina honour it).
function clientGone(res) {
  const ac = new AbortController()
  res.once('close', () => {
    if (!res.writableFinished) ac.abort()
  })
  return ac.signal
}

// Express 5 forwards rejected promises from async handlers to the error handler below.
const app = express()
app.disable('x-powered-by')
app.set('etag', false) // API answers; no point hashing every response body on the event loop
// NODE_DEBUG=example: one stderr line per request the server received (its test waits for one
// before it sends SIGTERM). Not installed otherwise, so benchmarks pay nothing for it.
const debug = debuglog('example')
if (debug.enabled) {
  app.use((req, res, next) => {
    debug('accepted %s %s', req.method, req.url)
    next()
  })
}
const raw = express.raw({ type: () => true, limit: '50mb' })
const json = express.json({ type: () => true, limit: '16kb' })

app.get('/health', (req, res) => {
  res.json({ ok: true, mode: MODE })
})

app.post('/hash', raw, async (req, res) => {
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0) // no body: hash of ''
  res.json({ sha256: await backend.sha256(body, clientGone(res)) })
})

app.post('/password', json, async (req, res) => {
  const password = requireString(req.body, 'password')
  const cost = checkCost(req.body.cost ?? DEFAULT_COST)
  res.json({ hash: await backend.hashPassword({ password, cost }, clientGone(res)) })
})

app.post('/verify', json, async (req, res) => {
  const password = requireString(req.body, 'password')
  const hash = requireString(req.body, 'hash')
  const m = BCRYPT_HASH.exec(hash)
  if (m === null) throw badRequest('ERR_INVALID_ARG_VALUE', 'The "hash" property is not a valid bcrypt hash')
  checkCost(Number(m[1]))
  res.json({ ok: await backend.verifyPassword({ password, hash }, clientGone(res)) })
})

app.post('/import', raw, async (req, res) => {
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
  res.json(await backend.importCsv(body, clientGone(res)))
})

// An uploaded image (JPEG, PNG, WebP or GIF) → its 200 × 200 JPEG thumbnail.
app.post('/thumbnail', raw, async (req, res) => {
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
  res.type('image/jpeg').send(await backend.thumbnail(body, clientGone(res)))
})

app.use((req, res) => {
  res.status(404).json({ error: `Cannot ${req.method} ${req.path}`, code: 'ERR_NOT_FOUND' })
})

// Client mistakes keep their code (the pool's codes where the pool found them; the same codes
// in the other modes); anything else is a 500 whose details stay in the log.
const CLIENT_ERRORS = new Set(['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE', 'ERR_POOL_CSV_SYNTAX', 'ERR_POOL_INPUT_TOO_LARGE',
  'ERR_POOL_IMAGE_FORMAT', 'ERR_POOL_IMAGE_DECODE'])

function describe(err) {
  if (CLIENT_ERRORS.has(err.code)) return { status: 400, code: err.code, error: err.message }
  if (err.code === 'ERR_POOL_IMAGE_TOO_LARGE') return { status: 413, code: err.code, error: err.message }
  if (err.type === 'entity.parse.failed') return { status: 400, code: 'ERR_INVALID_JSON', error: `Request body is not valid JSON: ${err.message}` }
  if (err.type === 'entity.too.large') return { status: 413, code: 'ERR_BODY_TOO_LARGE', error: err.message }
  if (err.code === 'ERR_POOL_QUEUE_FULL') return { status: 503, code: err.code, error: 'Server busy, retry later' }
  console.error(err)
  return { status: 500, code: 'ERR_INTERNAL', error: 'Internal Server Error' }
}

app.use((err, req, res, next) => { // eslint-disable-line no-unused-vars
  // A client that went away (its task was aborted) or a half-sent answer: nothing to send.
  if (res.headersSent || err.name === 'AbortError') return res.destroy()
  const { status, code, error } = describe(err)
  if (status === 503) res.set('Retry-After', '1')
  res.status(status).json({ error, code })
})

const server = app.listen(PORT, HOST, (err) => {
  if (err) throw err
  process.stdout.write(`${JSON.stringify({ listening: server.address().port, mode: MODE, threads: THREADS })}\n`)
})

// Graceful stop: refuse new connections and let in-flight requests finish. Keep-alive sockets
// are closed as soon as they are idle (checked every 50 ms, since a busy one turns idle only
// after its answer); anything still open after 10 s is cut. Then the pool closes and we exit 0.
let stopping = false
function shutdown(signal) {
  if (stopping) return
  stopping = true
  const idle = setInterval(() => server.closeIdleConnections(), 50).unref()
  const force = setTimeout(() => server.closeAllConnections(), 10_000).unref()
  server.close(async () => {
    clearInterval(idle)
    clearTimeout(force)
    try {
      await backend.close()
      process.exit(0)
    } catch (err) {
      console.error(`shutdown after ${signal} failed:`, err)
      process.exit(1)
    }
  })
  server.closeIdleConnections()
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
