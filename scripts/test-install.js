#!/usr/bin/env node
'use strict'
// `npm run test:install`: installs pool the way its users will, from a real npm registry, and
// uses it in a fresh app. Not part of `npm test` (it takes minutes); .ci/run runs it last.
//
//  1. Verdaccio 6.8 (installed as an npm package into $POOL_VERDACCIO_CACHE, default
//     ~/.cache/pool-verdaccio, outside the repository) on 127.0.0.1, a free port, storage in a
//     temporary folder, proxying every other package from the registry npm uses here.
//  2. npm run pack:local's two tarballs published to it (a user created through its API).
//  3. A temporary app: npm init -y; npm install pool express jest typescript @types/node from
//     it, with npm's default install-script policy.
//  4. In the app: require('pool') and import { WorkerPool } from 'pool' run a kernel; an
//     Express server answers POST /hash through the pool; a Jest suite using the pool passes
//     with --detectOpenHandles and no open-handle warning; tsc checks a kernel's result type.
// The registry and the temporary folders go away at the end, on failure and on SIGINT/SIGTERM.
//
//   node scripts/test-install.js [--no-build]    (--no-build: pack the addon already built)

const { spawn } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..')
const pkg = require('../package.json')
const VERDACCIO = '~6.8.0'
const cache = process.env.POOL_VERDACCIO_CACHE || path.join(os.homedir(), '.cache', 'pool-verdaccio')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const MIN = 60_000
const started = Date.now()
const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex')

const children = new Set()
let tmp

// --- processes -----------------------------------------------------------------------------

// The npm_* variables `npm run` sets would point child npm processes at this repository.
function cleanEnv(extra = {}) {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v
  return { ...env, ...extra }
}

/** Runs a command to its end; resolves with { code, out } (stdout and stderr interleaved). */
function run(cmd, args, { cwd = root, env = cleanEnv(), timeout = 10 * MIN, echo = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    let out = ''
    const onData = (d) => { out += d; if (echo) process.stdout.write(d) }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      children.delete(child)
      resolve({ code: code ?? signal, out })
    })
  })
}

async function must(what, cmd, args, opts) {
  const r = await run(cmd, args, opts)
  if (r.code !== 0) throw new Error(`${what}: \`${cmd} ${args.join(' ')}\` exited ${r.code}\n${r.out.slice(-6000)}`)
  return r.out
}

/** Starts a long-running child; `waitFor(re)` resolves with the first match in its output. */
function start(cmd, args, { cwd, env = cleanEnv(), log } = {}) {
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let out = ''
  const waiters = []
  const onData = (d) => {
    out += d
    if (log) fs.appendFileSync(log, d)
    for (const w of waiters.slice()) {
      const m = w.re.exec(out)
      if (m) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m) }
    }
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const exited = new Promise((resolve) => child.on('close', (code, signal) => { children.delete(child); resolve(code ?? signal) }))
  exited.then((code) => { for (const w of waiters.splice(0)) w.reject(new Error(`${cmd} exited ${code} before printing ${w.re}:\n${out.slice(-4000)}`)) })
  return {
    child,
    exited,
    output: () => out,
    waitFor(re, ms = 2 * MIN) {
      const m = re.exec(out)
      if (m) return Promise.resolve(m)
      return new Promise((resolve, reject) => {
        const w = { re, resolve, reject }
        waiters.push(w)
        setTimeout(() => {
          const i = waiters.indexOf(w)
          if (i >= 0) { waiters.splice(i, 1); reject(new Error(`no ${re} from ${cmd} in ${ms / 1000} s:\n${out.slice(-4000)}`)) }
        }, ms).unref()
      })
    },
  }
}

async function stop(proc, ms = 15_000) {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.exited
  proc.child.kill('SIGTERM')
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), ms)
  const code = await proc.exited
  clearTimeout(timer)
  return code
}

function request(url, { method = 'GET', body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, timeout: MIN }, (res) => {
      let data = ''
      res.setEncoding('utf8')
      res.on('data', (d) => { data += d })
      res.on('end', () => resolve({ status: res.statusCode, body: data }))
    })
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in 60 s`)))
    req.on('error', reject)
    req.end(body)
  })
}

// --- the steps -----------------------------------------------------------------------------

const timings = []
const SETUP_STEPS = 3 // Verdaccio, pack:local, the registry; every later step is a check
async function step(name, fn) {
  const t0 = Date.now()
  console.log(`\n## ${name}`)
  const result = await fn()
  const s = (Date.now() - t0) / 1000
  timings.push([name, s])
  console.log(`   ok (${s.toFixed(1)} s)`)
  return result
}

async function installVerdaccio() {
  const prefix = path.join(cache, VERDACCIO.replace(/^~/, ''))
  const main = path.join(prefix, 'node_modules', 'verdaccio')
  const installed = () => { try { return require(path.join(main, 'package.json')).version } catch { return null } }
  if (!/^6\.8\./.test(installed() ?? '')) {
    fs.mkdirSync(prefix, { recursive: true })
    await must('installing Verdaccio', npm, ['install', '--no-audit', '--no-fund', '--no-save', '--prefix', prefix, `verdaccio@${VERDACCIO}`], { timeout: 20 * MIN })
  }
  console.log(`   verdaccio ${installed()} in ${prefix}`)
  return main
}

async function packLocal() {
  const args = [path.join(root, 'scripts', 'pack-local.js')]
  if (process.argv.includes('--no-build')) args.push('--no-build')
  await must('npm run pack:local', process.execPath, args, { timeout: 30 * MIN, echo: true })
  const tarballs = fs.readdirSync(path.join(root, 'dist')).filter((f) => f.endsWith('.tgz'))
  const main = tarballs.find((f) => f === `${pkg.name}-${pkg.version}.tgz`)
  const platform = tarballs.find((f) => f !== main)
  if (tarballs.length !== 2 || !main || !platform) throw new Error(`dist/ should hold two tarballs, has: ${tarballs.join(', ')}`)
  return { main: path.join(root, 'dist', main), platform: path.join(root, 'dist', platform), platformName: platform.slice(0, -`-${pkg.version}.tgz`.length) }
}

async function startRegistry(verdaccio, upstream) {
  const dir = path.join(tmp, 'registry')
  fs.mkdirSync(dir)
  const local = { access: '$all', publish: '$authenticated' } // no proxy: only what is published here
  const config = [
    `storage: ${JSON.stringify(path.join(dir, 'storage'))}`,
    'auth:',
    '  htpasswd:',
    `    file: ${JSON.stringify(path.join(dir, 'htpasswd'))}`,
    'uplinks:',
    '  upstream:',
    `    url: ${JSON.stringify(upstream)}`,
    '    timeout: 120s', // a loaded machine, large packuments
    '    max_fails: 10',
    'packages:',
    `  '${pkg.name}': ${JSON.stringify(local)}`,
    `  '${pkg.name}-*': ${JSON.stringify(local)}`,
    "  '**': { access: $all, proxy: upstream }",
    'web: { enable: false }',
    'log: { type: stdout, format: pretty, level: warn }',
  ].join('\n')
  fs.writeFileSync(path.join(dir, 'config.yaml'), `${config}\n`)
  // Verdaccio's documented programmatic start, on port 0: the port it prints is the one it holds.
  fs.writeFileSync(path.join(dir, 'start.js'), [
    "const { runServer } = require(process.argv[2])",
    "runServer(process.argv[3]).then((app) => {",
    "  const server = app.listen(0, '127.0.0.1', () => console.log(`registry listening on ${server.address().port}`))",
    "}, (e) => { console.error(e); process.exit(1) })",
  ].join('\n'))
  // Node uses its own CA list; npm may be told to trust others (cafile) to reach the upstream.
  const cafile = (await run(npm, ['config', 'get', 'cafile'])).out.trim()
  const env = cleanEnv(/^\//.test(cafile) ? { NODE_EXTRA_CA_CERTS: cafile } : {})
  const proc = start(process.execPath, [path.join(dir, 'start.js'), verdaccio, path.join(dir, 'config.yaml')], { cwd: dir, env, log: path.join(dir, 'verdaccio.log') })
  const port = Number((await proc.waitFor(/registry listening on (\d+)/, 3 * MIN))[1])
  const url = `http://127.0.0.1:${port}/`
  // Ready when it answers its ping endpoint (polled: no fixed sleep).
  const end = Date.now() + 3 * MIN
  for (;;) {
    const r = await request(`${url}-/ping`).catch((e) => ({ status: 0, body: e.message }))
    if (r.status === 200) break
    if (Date.now() > end) throw new Error(`registry at ${url} not ready: ${r.status} ${r.body}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  console.log(`   ${url} (uplink ${upstream}), storage in ${dir}`)
  return { proc, url }
}

async function addUser(url) {
  const user = { name: 'pool-ci', password: crypto.randomBytes(12).toString('hex') }
  const r = await request(`${url}-/user/org.couchdb.user:${user.name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...user, _id: `org.couchdb.user:${user.name}`, type: 'user', roles: [] }),
  })
  if (r.status !== 201) throw new Error(`creating a registry user: ${r.status} ${r.body}`)
  return JSON.parse(r.body).token
}

// --- the app's files -----------------------------------------------------------------------

const APP_FILES = {
  'cjs.js': `const { WorkerPool } = require('pool')
const pool = new WorkerPool({ threads: 2 })
pool.run('sha256', 'hello from cjs').then(async (digest) => {
  console.log(JSON.stringify({ from: require.resolve('pool'), sha256: digest.toString('hex'), fib: await pool.run('fib', 25) }))
  await pool.close()
})
`,
  'esm.mjs': `import { WorkerPool } from 'pool'
import { fileURLToPath } from 'node:url'
const pool = new WorkerPool({ threads: 2 })
const digest = await pool.run('sha256', 'hello from esm')
console.log(JSON.stringify({ from: fileURLToPath(import.meta.resolve('pool')), sha256: digest.toString('hex') }))
await pool.close()
`,
  'server.js': `const express = require('express')
const { WorkerPool } = require('pool')
const pool = new WorkerPool({ threads: 2, maxQueue: 1000 })
const app = express()
app.post('/hash', express.raw({ type: '*/*', limit: '1mb' }), async (req, res, next) => {
  try {
    res.json({ sha256: (await pool.run('sha256', req.body)).toString('hex'), bytes: req.body.length })
  } catch (e) { next(e) }
})
const server = app.listen(0, '127.0.0.1', () => console.log('listening on ' + server.address().port))
process.on('SIGTERM', () => server.close(() => pool.close().then(() => console.log('closed'))))
`,
  'pool.test.js': `const { WorkerPool } = require('pool')
const crypto = require('node:crypto')

let pool
beforeAll(() => { pool = new WorkerPool({ threads: 2 }) })
afterAll(() => pool.close())

test('sha256 runs on the pool', async () => {
  const digest = await pool.run('sha256', 'jest')
  expect(digest.toString('hex')).toBe(crypto.createHash('sha256').update('jest').digest('hex'))
})

test('a batch and an abort', async () => {
  expect(await pool.runBatch('fib', [10, 20])).toEqual([55, 6765])
  await expect(pool.run('fib', 45, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORT_ERR' })
})
`,
  'ok.ts': `import { WorkerPool } from 'pool'

async function main(): Promise<void> {
  const pool = new WorkerPool({ threads: 1 })
  const b: Buffer = await pool.run('sha256', 'x')
  const n: number = await pool.run('fib', 20)
  console.log(b.length, n)
  await pool.close()
}
void main()
`,
  'bad.ts': `import { WorkerPool } from 'pool'

async function main(): Promise<void> {
  const pool = new WorkerPool({ threads: 1 })
  const wrong: string = await pool.run('sha256', 'x')
  console.log(wrong)
}
void main()
`,
}

const TSC = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node']

// --- main ----------------------------------------------------------------------------------

async function main() {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pool-test-install-'))
  const upstream = (await run(npm, ['config', 'get', 'registry'])).out.trim()
  const verdaccio = await step('Verdaccio 6.8', installVerdaccio)
  const tarballs = await step('npm run pack:local', packLocal)
  const registry = await step('start the registry', () => startRegistry(verdaccio, upstream))
  const { url } = registry
  try {
    const host = url.replace(/^http:/, '')
    const npmrc = path.join(tmp, 'npmrc')
    fs.writeFileSync(npmrc, `registry=${url}\n${host}:_authToken=${await addUser(url)}\n`)
    // Only this userconfig: the registry above, npm's defaults otherwise (install scripts too).
    const npmEnv = cleanEnv({
      npm_config_userconfig: npmrc,
      npm_config_omit_lockfile_registry_resolved: 'false', // the lockfile shows where each package came from
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
    })

    await step(`publish ${path.basename(tarballs.platform)} and ${path.basename(tarballs.main)}`, async () => {
      for (const t of [tarballs.platform, tarballs.main]) await must(`publishing ${t}`, npm, ['publish', t, '--provenance=false'], { env: npmEnv, cwd: tmp })
      const view = JSON.parse(await must('npm view', npm, ['view', `${pkg.name}@${pkg.version}`, '--json'], { env: npmEnv, cwd: tmp }))
      if (view.optionalDependencies?.[tarballs.platformName] !== pkg.version) throw new Error(`published ${pkg.name} lacks optionalDependencies.${tarballs.platformName}`)
    })

    const app = path.join(tmp, 'app')
    fs.mkdirSync(app)
    let via = 'all from the local registry (Verdaccio proxying the rest)'
    const installed = await step('npm init -y && npm install pool express jest typescript @types/node', async () => {
      await must('npm init', npm, ['init', '-y'], { cwd: app, env: npmEnv })
      const t0 = Date.now()
      let r = await run(npm, ['install', pkg.name, 'express', 'jest', 'typescript', '@types/node'], { cwd: app, env: npmEnv, timeout: 20 * MIN })
      if (r.code !== 0) {
        // Fallback the task allows: the other packages straight from upstream, only pool from here.
        console.log(`   !! install through the local registry failed (exit ${r.code}); falling back:\n${r.out.slice(-3000)}`)
        via = `express, jest, typescript from ${upstream}; only pool from the local registry`
        await must('npm install from upstream', npm, ['install', 'express', 'jest', 'typescript', '@types/node', '--registry', upstream], { cwd: app, env: cleanEnv(), timeout: 20 * MIN })
        r = await run(npm, ['install', pkg.name], { cwd: app, env: npmEnv, timeout: 20 * MIN })
        if (r.code !== 0) throw new Error(`npm install ${pkg.name}: exit ${r.code}\n${r.out.slice(-6000)}`)
      }
      const seconds = (Date.now() - t0) / 1000
      console.log(r.out.trim().split('\n').map((l) => `   | ${l}`).join('\n'))
      // From a registry npm never runs (or lists) `prepare`; pool and its platform package have no other scripts.
      if (new RegExp(`install-scripts\\s+${pkg.name}(-[a-z0-9-]+)?@`).test(r.out)) throw new Error('npm flagged install scripts of pool')
      const lock = JSON.parse(fs.readFileSync(path.join(app, 'package-lock.json'), 'utf8')).packages
      const own = lock[`node_modules/${pkg.name}`]
      if (own?.version !== pkg.version || !own.resolved?.startsWith(url)) throw new Error(`pool did not come from ${url}: ${JSON.stringify(own)}`)
      const platforms = Object.keys(pkg.optionalDependencies).filter((p) => fs.existsSync(path.join(app, 'node_modules', p)))
      if (platforms.join() !== tarballs.platformName) throw new Error(`installed platform packages: [${platforms}], expected only ${tarballs.platformName}`)
      console.log(`   ${via}; platform packages installed: ${platforms}; express from ${lock['node_modules/express']?.resolved}`)
      return { seconds }
    })

    for (const [name, text] of Object.entries(APP_FILES)) fs.writeFileSync(path.join(app, name), text)
    const inApp = (p) => p.startsWith(fs.realpathSync(path.join(app, 'node_modules', pkg.name)) + path.sep)

    await step("CommonJS: require('pool') runs a kernel", async () => {
      const r = JSON.parse(await must('cjs.js', process.execPath, ['cjs.js'], { cwd: app, timeout: 2 * MIN }))
      if (!inApp(r.from) || r.sha256 !== sha256('hello from cjs') || r.fib !== 75025) throw new Error(`cjs.js: ${JSON.stringify(r)}`)
      console.log(`   ${r.from}: sha256 ${r.sha256.slice(0, 16)}..., fib(25) ${r.fib}`)
    })

    await step("ESM: import { WorkerPool } from 'pool' runs a kernel", async () => {
      const r = JSON.parse(await must('esm.mjs', process.execPath, ['esm.mjs'], { cwd: app, timeout: 2 * MIN }))
      if (!inApp(r.from) || r.sha256 !== sha256('hello from esm')) throw new Error(`esm.mjs: ${JSON.stringify(r)}`)
      console.log(`   ${r.from}: sha256 ${r.sha256.slice(0, 16)}...`)
    })

    await step('Express: POST /hash through the pool', async () => {
      const server = start(process.execPath, ['server.js'], { cwd: app })
      try {
        const port = (await server.waitFor(/listening on (\d+)/))[1]
        const bodies = Array.from({ length: 20 }, (_, i) => crypto.randomBytes(1000 + i * 997))
        const answers = await Promise.all(bodies.map((body) => request(`http://127.0.0.1:${port}/hash`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } })))
        answers.forEach((a, i) => {
          const want = crypto.createHash('sha256').update(bodies[i]).digest('hex')
          if (a.status !== 200 || JSON.parse(a.body).sha256 !== want) throw new Error(`POST /hash #${i}: ${a.status} ${a.body}`)
        })
        server.child.kill('SIGTERM')
        await server.waitFor(/closed/)
        if (await server.exited !== 0) throw new Error(`server.js exited ${server.child.exitCode}:\n${server.output()}`)
        console.log(`   20 POST /hash on port ${port}, all sha256 right; exit 0 on SIGTERM`)
      } finally {
        await stop(server)
      }
    })

    await step('Jest: a suite using the pool, --detectOpenHandles', async () => {
      const r = await run(path.join(app, 'node_modules', '.bin', 'jest'), ['--ci', '--detectOpenHandles'], { cwd: app, timeout: 5 * MIN })
      const warned = /open handle|did not exit one second after|Jest has detected/i.test(r.out)
      if (r.code !== 0 || !/Tests:\s+2 passed, 2 total/.test(r.out) || warned) throw new Error(`jest (exit ${r.code}, open-handle warning: ${warned}):\n${r.out}`)
      console.log(r.out.trim().split('\n').filter((l) => /Tests:|PASS/.test(l)).map((l) => `   | ${l.trim()}`).join('\n'))
    })

    await step("tsc: the package's types resolve and a kernel's result type is checked", async () => {
      const tsc = path.join(app, 'node_modules', '.bin', 'tsc')
      await must('tsc ok.ts', tsc, [...TSC, 'ok.ts'], { cwd: app, timeout: 5 * MIN })
      const bad = await run(tsc, [...TSC, 'bad.ts'], { cwd: app, timeout: 5 * MIN })
      const expected = /bad\.ts\(5,9\): error TS2322: Type 'Buffer(<[^>]*>)?' is not assignable to type 'string'/
      if (bad.code === 0 || !expected.test(bad.out)) throw new Error(`tsc bad.ts should fail with TS2322 (Buffer to string), got exit ${bad.code}:\n${bad.out}`)
      const version = (await run(tsc, ['--version'], { cwd: app })).out.trim()
      console.log(`   ${version}: ok.ts compiles; bad.ts: ${expected.exec(bad.out)[0]}`)
    })

    const total = (Date.now() - started) / 1000
    console.log('\n| step | seconds |\n|---|---|')
    for (const [name, s] of timings) console.log(`| ${name} | ${s.toFixed(1)} |`)
    console.log(`| total | ${total.toFixed(1)} |`)
    console.log(`\nnpm install (${via}): ${installed.seconds.toFixed(1)} s; test:install took ${total.toFixed(1)} s`)
    console.log(`test:install: ${timings.length - SETUP_STEPS} passed, 0 failed`)
  } catch (e) {
    const log = path.join(tmp, 'registry', 'verdaccio.log')
    if (fs.existsSync(log)) console.error(`--- registry log (tail) ---\n${fs.readFileSync(log, 'utf8').slice(-4000)}`)
    throw e
  } finally {
    await stop(registry.proc)
  }
}

// Last resort for every way out: no registry or app server left running, no folder left behind.
function cleanup() {
  for (const c of children) c.kill('SIGKILL')
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
  tmp = undefined
}
process.on('exit', cleanup)
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.on(signal, () => {
    console.error(`\ntest:install: ${signal}, stopping the registry and removing ${tmp}`)
    cleanup()
    process.exit(code)
  })
}

main().then(
  () => cleanup(),
  (e) => {
    console.error(`\ntest:install FAILED after ${((Date.now() - started) / 1000).toFixed(1)} s: ${e.stack ?? e}`)
    console.error(`test:install: ${Math.max(0, timings.length - SETUP_STEPS)} passed, 1 failed`)
    cleanup()
    process.exitCode = 1
  },
)
