#!/usr/bin/env node
'use strict'
// `npm run test:matrix`: runs the JS test suite, with the addon already built, under the latest
// release of each supported Node major. Node binaries come from the npm registry as ordinary
// packages (`node-<platform>-<arch>@<major>`, the `node` executable is in its `bin/`) and are
// cached outside the repository: $POOL_NODE_CACHE, else ~/.cache/pool-node-matrix.
//
//   node scripts/test-matrix.js [--majors 22,24,26]

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..')
const args = process.argv.slice(2)
const majorsArg = args.includes('--majors') ? args[args.indexOf('--majors') + 1] : '22,24,26'
const majors = majorsArg.split(',').map((m) => m.trim()).filter(Boolean)
const cache = process.env.POOL_NODE_CACHE || path.join(os.homedir(), '.cache', 'pool-node-matrix')
const pkg = `node-${process.platform}-${process.arch}`
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

function install(major) {
  const prefix = path.join(cache, `v${major}`)
  fs.mkdirSync(prefix, { recursive: true })
  // Always ask the registry, so the cache follows the latest release of the major.
  const r = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--no-save', '--prefix', prefix, `${pkg}@${major}`], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const bin = path.join(prefix, 'node_modules', pkg, 'bin', process.platform === 'win32' ? 'node.exe' : 'node')
  if (r.status !== 0 && !fs.existsSync(bin)) throw new Error(`could not install ${pkg}@${major}`)
  return bin
}

const testFiles = fs.readdirSync(path.join(root, '__test__')).filter((f) => f.endsWith('.test.js')).map((f) => path.join('__test__', f))

const results = []
for (const major of majors) {
  let bin
  try {
    bin = install(major)
  } catch (e) {
    results.push({ major, version: '-', ok: false, note: e.message })
    continue
  }
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim()
  console.log(`\n### Node ${version} (${bin})`)
  const t0 = Date.now()
  const r = spawnSync(bin, ['--test', '--test-concurrency=1', ...testFiles], { cwd: root, stdio: 'inherit' })
  results.push({ major, version, ok: r.status === 0, note: `exit ${r.status ?? r.signal}, ${((Date.now() - t0) / 1000).toFixed(0)} s` })
}

console.log('\n| Node | result | |\n|---|---|---|')
for (const r of results) console.log(`| ${r.version} | ${r.ok ? 'pass' : 'FAIL'} | ${r.note} |`)
process.exitCode = results.every((r) => r.ok) ? 0 : 1
