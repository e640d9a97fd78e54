'use strict'
// Runs each program in examples/ as a child process, briefly, and checks what it is for.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const net = require('node:net')
const { spawn } = require('node:child_process')
const { WorkerPool } = require('..')
const { fib } = require('./helpers')

const EXAMPLES = path.join(__dirname, '..', 'examples')

/**
 * Starts `examples/<name>`. `waitFor(re, { stream, count })` resolves with the `count`-th match of
 * `re` in the child's stdout (or stderr), `exited` with { code, signal, stdout, stderr, at }
 * (`at`: performance.now() at exit). The child is killed after `timeout` ms: that only stops a
 * hung example, so it is far above what a loaded machine needs.
 */
function start(name, { env = {}, timeout = 60_000 } = {}) {
  const child = spawn(process.execPath, [path.join(EXAMPLES, name)], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const out = { stdout: '', stderr: '' }
  const waiters = []
  const nth = (w) => [...out[w.stream].matchAll(w.re)][w.count - 1]
  for (const stream of ['stdout', 'stderr']) {
    child[stream].setEncoding('utf8').on('data', (d) => {
      out[stream] += d
      for (const w of waiters.slice()) {
        const m = nth(w)
        if (m) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m) }
      }
    })
  }
  const killer = setTimeout(() => child.kill('SIGKILL'), timeout)
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      const at = performance.now()
      clearTimeout(killer)
      for (const w of waiters) w.reject(new Error(`${name} exited (${code ?? signal}) before printing ${w.re} ×${w.count}\nstdout: ${out.stdout}\nstderr: ${out.stderr}`))
      // 'exit' can come before the last stdout data; 'close' follows once the pipes are drained.
      child.on('close', () => resolve({ code, signal, stdout: out.stdout, stderr: out.stderr, at }))
    })
  })
  function waitFor(re, { stream = 'stdout', count = 1 } = {}) {
    const w = { re: new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`), stream, count }
    const m = nth(w)
    if (m) return Promise.resolve(m)
    return new Promise((resolve, reject) => waiters.push({ ...w, resolve, reject }))
  }
  return { child, waitFor, exited }
}

async function port(ex) {
  return Number((await ex.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1])
}

/** One request on a fresh connection (no keep-alive pool shared between tests). */
async function get(url) {
  const res = await fetch(url, { headers: { connection: 'close' } })
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() }
}

function connectRefused(p) {
  return new Promise((resolve) => {
    const s = net.connect(p, '127.0.0.1')
    s.on('connect', () => { s.destroy(); resolve(false) })
    s.on('error', (err) => resolve(err.code === 'ECONNREFUSED'))
  })
}

describe('examples/graceful-shutdown.js', () => {
  it('on SIGTERM stops accepting, finishes in-flight requests, exits 0', async () => {
    // NODE_DEBUG=example: the server logs each request it accepted (and queued the task of).
    const ex = start('graceful-shutdown.js', { env: { NODE_DEBUG: 'example' } })
    try {
      const p = await port(ex)
      // Two requests that keep a thread busy for a few hundred ms each.
      let answered
      const slow = [
        get(`http://127.0.0.1:${p}/fib?n=39`),
        get(`http://127.0.0.1:${p}/hash?password=hunter2&cost=13`),
      ]
      const all = Promise.all(slow).finally(() => { answered = performance.now() })
      all.catch(() => {}) // awaited below
      // Signal only once both reached the server: before that a request may still be in the
      // listen backlog, and SIGTERM would refuse it instead of finishing it.
      await ex.waitFor(/^EXAMPLE \d+: accepted GET /m, { stream: 'stderr', count: 2 })
      ex.child.kill('SIGTERM')
      const line = (await ex.waitFor(/SIGTERM: stopped accepting; (\d+) request\(s\) in flight, (\d+) task\(s\) running/))
      assert.equal(Number(line[1]), 2, 'both requests were in flight at SIGTERM')
      // The line is printed after server.close() returned, which closed the listening socket.
      assert.equal(await connectRefused(p), true, 'a new connection after SIGTERM is refused')

      const [f, h] = await all
      assert.equal(f.status, 200)
      assert.equal(f.body, `${fib(39)}\n`)
      assert.equal(h.status, 200)
      assert.match(h.body, /^\$2b\$13\$[./A-Za-z0-9]{53}\n$/)
      const check = new WorkerPool({ threads: 1 })
      try {
        assert.equal(await check.run('bcrypt.verify', { password: 'hunter2', hash: h.body.trim() }), true)
      } finally {
        await check.close()
      }

      const { code, signal, stdout, at } = await ex.exited
      assert.equal(signal, null, 'exited on its own, not killed')
      assert.equal(code, 0)
      assert.match(stdout, /shut down cleanly: 2 task\(s\) completed/)
      // Once the last answer is out nothing is left to wait for (idle pool threads, no open
      // socket): the exit takes milliseconds. 5 s is generous for a starved 2-core machine and
      // still fails a server that lingers on something (a timer, a socket) before it exits.
      assert.ok(at - answered < 5000, `exited ${(at - answered).toFixed(0)} ms after the last answer`)
    } finally {
      ex.child.kill('SIGKILL')
    }
  })
})

describe('examples/prometheus.js', () => {
  it('serves the pool metrics at /metrics, and exits 0 on SIGTERM', async () => {
    const ex = start('prometheus.js')
    try {
      const p = await port(ex)
      for (let i = 0; i < 3; i++) {
        const r = await get(`http://127.0.0.1:${p}/sha256?bytes=100000`)
        assert.equal(r.status, 200)
        assert.match(r.body, /^[0-9a-f]{64}\n$/)
      }
      const m = await get(`http://127.0.0.1:${p}/metrics`)
      assert.equal(m.status, 200)
      assert.match(m.type, /^text\/plain; version=0\.0\.4/)
      for (const name of ['pool_threads', 'pool_queued_tasks', 'pool_running_tasks', 'pool_utilization_ratio']) {
        assert.match(m.body, new RegExp(`^# TYPE ${name} gauge$`, 'm'))
      }
      assert.match(m.body, /^# TYPE pool_tasks_completed_total counter$/m)
      assert.match(m.body, /^pool_tasks_completed_total\{pool="main"\} 3$/m)
      assert.match(m.body, /^pool_tasks_failed_total\{pool="main"\} 0$/m)
      assert.match(m.body, /^# TYPE pool_task_run_duration_seconds summary$/m)
      assert.match(m.body, /^pool_task_run_duration_seconds_count\{pool="main"\} 3$/m)
      assert.match(m.body, /^pool_task_wait_duration_seconds\{pool="main",quantile="0\.99"\} \S+$/m)
      assert.match(m.body, /^process_cpu_user_seconds_total \S+$/m, "prom-client's default metrics too")

      ex.child.kill('SIGTERM')
      const { code, signal } = await ex.exited
      assert.equal(signal, null)
      assert.equal(code, 0)
    } finally {
      ex.child.kill('SIGKILL')
    }
  })
})

describe('examples/backpressure.js', () => {
  const ready = typeof Object.getOwnPropertyDescriptor(WorkerPool.prototype, 'needsDrain')?.get === 'function'
  it('hashes every item with the queue held at maxQueue by needsDrain/drain', { skip: !ready && 'pool.needsDrain not in this build yet' }, async () => {
    const ex = start('backpressure.js', { env: { ITEMS: '1000' } })
    const { code, signal, stdout, stderr } = await ex.exited
    assert.equal(signal, null, stderr)
    assert.equal(code, 0, `${stdout}\n${stderr}`)
    const summary = JSON.parse(stdout.trim().split('\n').at(-1))
    assert.equal(summary.items, 1000)
    assert.equal(summary.produced, 1000)
    assert.equal(summary.completed, 1000)
    assert.equal(summary.failed, 0)
    assert.equal(summary.mismatches, 0)
    assert.equal(summary.queueFull, 0)
    assert.ok(summary.maxQueueSeen <= summary.maxQueue, `queue peaked at ${summary.maxQueueSeen} > maxQueue ${summary.maxQueue}`)
    assert.ok(summary.drains > 0, 'the producer did pause (backpressure engaged)')
    // Pulled but unfinished items stay bounded: typically the queue, the 2 running and the item
    // in hand (maxQueue + 3). Tasks a worker has finished but the event loop has not settled yet
    // count as "ahead" too, and on a loaded machine (seen: 56 with CI building alongside) a
    // starved event loop lets a few dozen pile up, so the bound here is an order of magnitude
    // below the 1000 that no backpressure would give, not maxQueue + 3.
    assert.ok(summary.maxAhead <= 100, `maxAhead ${summary.maxAhead}`)
  })
})
