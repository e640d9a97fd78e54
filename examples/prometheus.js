'use strict'
// An HTTP server whose pool is watched by Prometheus: GET /metrics serves a prom-client
// registry holding the pool's metrics (pool/prometheus) next to prom-client's default process
// metrics; GET /sha256?bytes=N does some work.
//
//   node examples/prometheus.js          # PORT=3000 by default; PORT=0 picks one
//   curl 'localhost:3000/sha256?bytes=1000000'
//   curl localhost:3000/metrics          # pool_tasks_completed_total, pool_task_run_duration_seconds, ...
//
// A Prometheus scrape config for it: `- job_name: app` / `static_configs: [{ targets: ['localhost:3000'] }]`.

const http = require('node:http')
const crypto = require('node:crypto')
const client = require('prom-client')
const { WorkerPool } = require('..')
const { registerPoolMetrics } = require('../lib/prometheus.js') // in an app: require('pool/prometheus')

const pool = new WorkerPool({ maxQueue: 1000 })
const registry = new client.Registry()
client.collectDefaultMetrics({ register: registry })
// Labels tell pools apart if an app has several (they share the metric names).
registerPoolMetrics(pool, registry, { labels: { pool: 'main' } })

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost')
  try {
    if (url.pathname === '/metrics') {
      const body = await registry.metrics()
      res.writeHead(200, { 'content-type': registry.contentType }).end(body)
    } else if (url.pathname === '/sha256') {
      const bytes = Math.min(Number(url.searchParams.get('bytes') ?? 65536), 64 << 20)
      const digest = await pool.run('sha256', crypto.randomBytes(bytes))
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`${digest.toString('hex')}\n`)
    } else {
      res.writeHead(404).end()
    }
  } catch (err) {
    res.writeHead(err.code === 'ERR_POOL_QUEUE_FULL' ? 503 : 500, { 'content-type': 'text/plain' })
      .end(`${err.code ?? 'error'}: ${err.message}\n`)
  }
})

process.on('SIGTERM', async () => {
  server.close()
  server.closeIdleConnections()
  await pool.close()
})

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}, metrics at /metrics`)
})
