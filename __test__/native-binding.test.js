'use strict'
// A missing or unloadable native binary fails require('pool') with one ERR_POOL_NATIVE_BINDING
// error naming the host, the package expected, the load errors and how to build from source.
// Each case installs the packed main package (the files `npm pack` lists, so no .node) into a
// temporary app's node_modules, as `npm install --omit=optional` would, and requires it in a
// child process; other hosts are simulated through what the generated loader reads.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { execFile, execFileSync } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..')
const pkg = require('../package.json')
const FAKE = path.join(__dirname, 'fixtures', 'fake-platform.js')
const SHA256_X = crypto.createHash('sha256').update('x').digest('hex')

// The addon this process loaded: its file and its napi suffix (linux-x64-gnu on this machine).
require('..')
const addon = Object.keys(require.cache).find((f) => f.endsWith('.node'))
const hostSuffix = path.basename(addon).slice(pkg.napi.binaryName.length + 1, -'.node'.length)

const PROBE = `'use strict'
try {
  const { WorkerPool } = require('pool')
  const pool = new WorkerPool({ threads: 1 })
  pool.run('sha256', 'x').then((b) => { console.log(JSON.stringify({ ok: true, hex: b.toString('hex') })); return pool.close() })
} catch (e) {
  const { name, code, message, platform, arch, libc, packageName } = e
  console.log(JSON.stringify({ ok: false, name, code, message, platform, arch, libc, packageName, cause: e.cause?.message }))
}
`

let app
before(() => {
  app = fs.mkdtempSync(path.join(os.tmpdir(), 'pool-binding-'))
  const [info] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' }))
  for (const { path: f } of info.files) {
    fs.mkdirSync(path.join(app, 'node_modules', 'pool', path.dirname(f)), { recursive: true })
    fs.copyFileSync(path.join(root, f), path.join(app, 'node_modules', 'pool', f))
  }
  fs.writeFileSync(path.join(app, 'probe.js'), PROBE)
})
after(() => fs.rmSync(app, { recursive: true, force: true }))

function probe({ fake, env = {}, args = ['probe.js'] } = {}) {
  const nodeArgs = fake ? ['-r', FAKE] : []
  return new Promise((resolve) => {
    execFile(process.execPath, [...nodeArgs, ...args], {
      cwd: app,
      timeout: 60000,
      env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: '', POOL_FAKE_PLATFORM: fake ?? '', ...env },
    }, (error, stdout, stderr) => {
      resolve({ status: error ? error.code : 0, stdout, stderr, result: stdout.trim() ? JSON.parse(stdout.trim().split('\n').pop()) : undefined })
    })
  })
}

function assertBindingError(r, { platform, arch, libc, packageName }) {
  assert.ok(r.result, `no result; stderr: ${r.stderr}`)
  const e = r.result
  assert.equal(e.ok, false, 'require(pool) loaded')
  assert.equal(e.name, 'Error')
  assert.equal(e.code, 'ERR_POOL_NATIVE_BINDING')
  assert.deepEqual({ platform: e.platform, arch: e.arch, libc: e.libc ?? undefined, packageName: e.packageName }, { platform, arch, libc, packageName })
  const where = `${platform}-${arch}${libc ? ` (${libc})` : ''}`
  assert.match(e.message, new RegExp(`^pool: cannot load the native addon for ${where.replace(/[()]/g, '\\$&')}, Node v`))
  assert.match(e.message, /\nLoad errors:\n {2}- /)
  assert.match(e.message, /To build from source .*`npm install`\nand `npm run build` in it/)
  assert.ok(e.message.includes(`writes pool.${packageName.slice(5)}.node`), e.message)
  assert.ok(e.message.includes('NAPI_RS_NATIVE_LIBRARY_PATH'), e.message)
  assert.ok(!/wasi/i.test(e.message), `the WASI fallback's misses are noise here:\n${e.message}`)
  assert.match(e.cause, /^Cannot find native binding/, 'the generated loader error is the cause')
  return e.message
}

describe('require("pool") without a loadable native binary', () => {
  it(`names the missing optional dependency (pool-${hostSuffix}) and exits with that one error`, async () => {
    const [platform, arch, abi] = hostSuffix.split('-')
    const libc = { gnu: 'glibc', musl: 'musl' }[abi]
    const msg = assertBindingError(await probe(), { platform, arch, libc, packageName: `pool-${hostSuffix}` })
    assert.ok(msg.includes(`Expected the optional dependency pool-${hostSuffix}@${pkg.version}`), msg)
    assert.ok(msg.includes(`  - Cannot find module './pool.${hostSuffix}.node'`), msg)
    assert.ok(msg.includes(`  - Cannot find module 'pool-${hostSuffix}'`), msg)
    assert.ok(msg.includes('--omit=optional'), msg)

    // Uncaught, it is the one error printed, and the process exits 1.
    const r = await probe({ args: ['-e', "require('pool')"] })
    assert.equal(r.status, 1)
    assert.equal(r.stderr.match(/ERR_POOL_NATIVE_BINDING/g)?.length, 1, r.stderr)
    assert.ok(r.stderr.includes(msg.split('\n')[0]), r.stderr)
  })

  it('reports why an installed but broken binary did not load', async () => {
    const dir = path.join(app, 'node_modules', `pool-${hostSuffix}`)
    fs.mkdirSync(dir)
    try {
      fs.copyFileSync(path.join(root, 'npm', hostSuffix, 'package.json'), path.join(dir, 'package.json'))
      const file = path.join(dir, `pool.${hostSuffix}.node`)
      // Not a shared library (an HTML error page saved as the binary, say). A truncated ELF
      // is no good here: dlopen maps past the end of the file and the process dies of SIGBUS.
      fs.writeFileSync(file, '<html>502 Bad Gateway</html>\n')
      const [platform, arch, abi] = hostSuffix.split('-')
      const msg = assertBindingError(await probe(), { platform, arch, libc: { gnu: 'glibc', musl: 'musl' }[abi], packageName: `pool-${hostSuffix}` })
      const line = msg.split('\n').find((l) => l.includes(file))
      assert.ok(line, `the dlopen error of ${file} is listed:\n${msg}`)
      assert.ok(!line.includes('Cannot find module'), line)

      // The same package with the real binary is what npm installs: it loads.
      fs.copyFileSync(addon, file)
      assert.deepEqual((await probe()).result, { ok: true, hex: SHA256_X })
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('on musl, names the musl package', async () => {
    const arch = process.arch
    const msg = assertBindingError(await probe({ fake: `linux,${arch},musl` }), { platform: 'linux', arch, libc: 'musl', packageName: `pool-linux-${arch}-musl` })
    assert.ok(msg.includes(`Cannot find module 'pool-linux-${arch}-musl'`), msg)
  })

  it('on another supported platform, names its package', async () => {
    const msg = assertBindingError(await probe({ fake: 'darwin,arm64' }), { platform: 'darwin', arch: 'arm64', libc: undefined, packageName: 'pool-darwin-arm64' })
    assert.ok(msg.includes('Expected the optional dependency pool-darwin-arm64@'), msg)
  })

  it('on an unsupported platform, says there is no prebuilt package and lists those that exist', async () => {
    const msg = assertBindingError(await probe({ fake: 'freebsd,x64' }), { platform: 'freebsd', arch: 'x64', libc: undefined, packageName: 'pool-freebsd-x64' })
    const listed = Object.keys(pkg.optionalDependencies).map((p) => p.slice(5)).join(', ')
    assert.ok(msg.includes(`There is no prebuilt pool-freebsd-x64: prebuilt packages exist for ${listed}.`), msg)
    assert.ok(!msg.includes('--omit=optional'), 'no npm advice where npm has nothing to install')
  })

  it('NAPI_RS_NATIVE_LIBRARY_PATH: a wrong path is the one reported; a built addon loads', async () => {
    const wrong = path.join(app, 'nowhere.node')
    const msg = assertBindingError(await probe({ env: { NAPI_RS_NATIVE_LIBRARY_PATH: wrong } }), {
      platform: process.platform, arch: process.arch, libc: hostSuffix.endsWith('-musl') ? 'musl' : process.platform === 'linux' ? 'glibc' : undefined, packageName: `pool-${hostSuffix}`,
    })
    assert.ok(msg.includes(`NAPI_RS_NATIVE_LIBRARY_PATH is set, so only ${wrong} was tried.`), msg)
    assert.ok(msg.includes(`  - Cannot find module '${wrong}'`), msg)
    assert.deepEqual((await probe({ env: { NAPI_RS_NATIVE_LIBRARY_PATH: addon } })).result, { ok: true, hex: SHA256_X })
  })
})
