#!/usr/bin/env node
'use strict'
// `npm run test:matrix`: runs the JS test suite, with the addon already built, under the latest
// release of each supported Node major. Node binaries come from the npm registry as ordinary
// packages (`node-<platform>-<arch>@<major>`, the `node` executable is in its `bin/`) and are
// cached outside the repository: $POOL_NODE_CACHE, else ~/.cache/pool-node-matrix.
//
//   node scripts/test-matrix.js [--majors 22,24,26]
//
// The matrix is for what can change with the Node version: Node-API (every suite that runs a
// kernel), AbortSignal, Buffer, ESM, events, process exit and Worker teardown. Suites whose
// outcome does not depend on it run once, under `npm test`, and are left out here (NODE_INDEPENDENT,
// with why); so is the image suite's size grid (2,560 transforms, against sharp, two thirds of
// the matrix's time), through POOL_TEST_MATRIX, which image.test.js reads. The rest of the image
// suite (object params and outputs, every binary input type, bad input, abort) still runs.

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

const NODE_INDEPENDENT = new Map([
  ['bench-suite.test.js', 'the benchmark harness: its charts and tables, and one short suite run; benchmarks are run under one Node'],
  ['packaging.test.js', 'package.json, npm/ and the file list of `npm pack`, which is the npm on PATH whatever node runs the test'],
  ['workflows.test.js', 'actionlint on .github/workflows/CI.yml: a static check'],
])
const testFiles = fs.readdirSync(path.join(root, '__test__'))
  .filter((f) => f.endsWith('.test.js') && !NODE_INDEPENDENT.has(f))
  .map((f) => path.join('__test__', f))
console.log('Left out (run once, by npm test):')
for (const [f, why] of NODE_INDEPENDENT) console.log(`  __test__/${f}: ${why}`)
console.log("  image.test.js's size grid (POOL_TEST_MATRIX): kernel output sizes against sharp's, the same under every Node")

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
  const r = spawnSync(bin, ['--test', '--test-concurrency=1', ...testFiles], {
    cwd: root, stdio: 'inherit', env: { ...process.env, POOL_TEST_MATRIX: version },
  })
  results.push({ major, version, ok: r.status === 0, note: `exit ${r.status ?? r.signal}, ${((Date.now() - t0) / 1000).toFixed(0)} s` })
}

console.log('\n| Node | result | |\n|---|---|---|')
for (const r of results) console.log(`| ${r.version} | ${r.ok ? 'pass' : 'FAIL'} | ${r.note} |`)
process.exitCode = results.every((r) => r.ok) ? 0 : 1
