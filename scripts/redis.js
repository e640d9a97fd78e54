'use strict'
// A throwaway redis-server for the tests and benchmarks: 127.0.0.1, a free port, no persistence
// (`--save '' --appendonly no`), its own temporary directory.
//
// redis-server has no "exit with my parent" option, so it runs under a small watchdog: this
// file, run as a child process with `--watchdog`. The watchdog starts redis-server and kills it
// as soon as its stdin closes, which happens when the test process exits for any reason, even
// SIGKILL. stop() and a process 'exit' hook stop it earlier in the normal case.

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

// One attempt: resolves with the server once redis-server says it accepts connections, rejects
// if it exits first (most likely: the port was taken between freePort() and its bind).
function startOnce(port, dir, extraArgs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, '--watchdog', String(port), dir, ...extraArgs], {
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let out = ''
    const onData = (chunk) => {
      out += chunk
      if (/Ready to accept connections/.test(out)) {
        child.stdout.off('data', onData)
        child.stdout.resume() // keep draining so redis never blocks on a full pipe
        resolve(child)
      }
    }
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', onData)
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (c) => { out += c })
    child.once('exit', (code, signal) => reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${out.slice(-2000)}`)))
  })
}

/**
 * Starts redis-server. Resolves with `{ host, port, url, connection, pid, stop() }`;
 * `connection` is `{ host, port }` for BullMQ/ioredis. `stop()` is idempotent and resolves once
 * the server has exited.
 */
async function startRedis({ args = [] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pool-redis-'))
  let child
  let lastErr
  for (let attempt = 0; attempt < 5 && child === undefined; attempt++) {
    const port = await freePort()
    try {
      child = await startOnce(port, dir, args)
      child.port = port
    } catch (err) {
      lastErr = err
    }
  }
  if (child === undefined) {
    fs.rmSync(dir, { recursive: true, force: true })
    throw lastErr
  }
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const onExit = () => { try { child.kill('SIGKILL') } catch {} }
  process.once('exit', onExit)
  let stopping
  const stop = () => {
    stopping ??= (async () => {
      process.removeListener('exit', onExit)
      child.stdin.end() // the watchdog stops redis and exits
      await exited
      fs.rmSync(dir, { recursive: true, force: true })
    })()
    return stopping
  }
  const host = '127.0.0.1'
  return { host, port: child.port, url: `redis://${host}:${child.port}`, connection: { host, port: child.port }, pid: child.pid, stop }
}

function watchdog([port, dir, ...extra]) {
  const redis = spawn('redis-server', [
    '--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
    '--maxmemory-policy', 'noeviction', ...extra,
  ], { stdio: ['ignore', 'inherit', 'inherit'] })
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    redis.kill('SIGKILL') // nothing to persist: no need to wait for a clean shutdown
  }
  redis.once('error', (err) => {
    process.stderr.write(`cannot start redis-server: ${err.message} (install it: apt-get install -y redis-server)\n`)
    process.exit(1)
  })
  redis.once('exit', (code, signal) => process.exit(stopping ? 0 : code ?? (signal ? 1 : 0)))
  process.stdin.on('end', stop)
  process.stdin.on('error', stop)
  process.stdin.resume()
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, stop)
}

if (require.main === module && process.argv[2] === '--watchdog') watchdog(process.argv.slice(3))

module.exports = { startRedis }
