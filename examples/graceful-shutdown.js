'use strict'
// An HTTP server that hands CPU work to the pool and shuts down gracefully on SIGTERM (what
// Kubernetes, systemd and `docker stop` send): stop accepting connections, let the requests
// already in flight finish (their tasks keep running on the pool), close the pool, exit 0.
//
//   node examples/graceful-shutdown.js            # PORT=3000 by default; PORT=0 picks one
//   curl 'localhost:3000/hash?password=hunter2'   # bcrypt, cost 12 (~0.25 s of one thread)
//   curl 'localhost:3000/fib?n=35'
//   kill -TERM <pid>                              # in-flight requests still get their answer
//   NODE_DEBUG=example node examples/graceful-shutdown.js   # also log each accepted request

const http = require('node:http')
const { debuglog } = require('node:util')
const { WorkerPool } = require('..')

// Silent unless NODE_DEBUG=example: one stderr line per accepted request (the example's test
// waits for these before it sends SIGTERM).
const debug = debuglog('example')

const pool = new WorkerPool({ maxQueue: 1000 })
let inFlight = 0
let shuttingDown = false

function reply(res, status, text) {
  // While shutting down, a keep-alive client is told to drop the connection after this response.
  const headers = { 'content-type': 'text/plain', ...(shuttingDown && { connection: 'close' }) }
  res.writeHead(status, headers).end(`${text}\n`)
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://localhost')
  let body
  if (url.pathname === '/hash') {
    const cost = Number(url.searchParams.get('cost') ?? 12)
    body = await pool.run('bcrypt.hash', { password: url.searchParams.get('password') ?? '', cost })
  } else if (url.pathname === '/fib') {
    body = String(await pool.run('fib', Number(url.searchParams.get('n'))))
  } else {
    reply(res, 404, 'not found')
    return
  }
  reply(res, 200, body)
}

const server = http.createServer((req, res) => {
  inFlight++
  res.on('close', () => { inFlight-- })
  handle(req, res).catch((err) => {
    // Bad input (RangeError/TypeError from the kernel) is the client's fault; the rest is ours.
    const status = err.code === 'ERR_POOL_QUEUE_FULL' ? 503 : err instanceof RangeError || err instanceof TypeError ? 400 : 500
    if (res.headersSent) res.end()
    else reply(res, status, `${err.code ?? 'error'}: ${err.message}`)
  })
  // handle() has queued its pool task by now (run() is called before its first await).
  debug('accepted %s %s; %d request(s) in flight', req.method, req.url, inFlight)
})

async function shutdown(signal) {
  if (shuttingDown) return
  shuttingDown = true
  const state = `${inFlight} request(s) in flight, ${pool.running} task(s) running, ${pool.queueSize} queued`
  // 1. No new connections (the listening socket is closed when server.close() returns); idle
  //    keep-alive sockets are closed now.
  const closed = new Promise((resolve) => server.close(resolve))
  server.closeIdleConnections()
  console.log(`${signal}: stopped accepting; ${state}`)
  // 2. Queued and running tasks finish (their responses are written as they settle); the pool
  //    then refuses new work and its threads exit.
  await pool.close()
  // 3. Sockets whose response was just written are idle now: close them too (server.close()
  //    only closed the ones idle at the time), then wait for the last connection to end.
  setImmediate(() => server.closeIdleConnections())
  await closed
  console.log(`shut down cleanly: ${pool.completed} task(s) completed`)
  process.exitCode = 0
}

process.on('SIGTERM', () => { shutdown('SIGTERM').catch((err) => { console.error(err); process.exit(1) }) })
process.on('SIGINT', () => { shutdown('SIGINT').catch((err) => { console.error(err); process.exit(1) }) })

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port} (pid ${process.pid}, ${pool.threads} threads)`)
})
