'use strict'
// The release layout (napi-rs v3): napi.targets, the platform packages under npm/ and the main
// package's optionalDependencies name the same targets at the same version, and the main
// tarball holds exactly the public JS files: no .node, no tests.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { parseTriple } = require('@napi-rs/cli')

const root = path.join(__dirname, '..')
const pkg = require('../package.json')
const targets = pkg.napi.targets.map(parseTriple)
const npmDirs = fs.readdirSync(path.join(root, 'npm')).sort()

describe('platform packages', () => {
  it('napi.targets, npm/ and optionalDependencies name the same seven targets', () => {
    const suffixes = targets.map((t) => t.platformArchABI).sort()
    assert.deepEqual(suffixes, ['darwin-arm64', 'darwin-x64', 'linux-arm64-gnu', 'linux-arm64-musl', 'linux-x64-gnu', 'linux-x64-musl', 'win32-x64-msvc'])
    assert.deepEqual(npmDirs, suffixes)
    const expected = Object.fromEntries(suffixes.map((s) => [`${pkg.name}-${s}`, pkg.version]))
    assert.deepEqual({ ...pkg.optionalDependencies }, expected)
  })

  for (const t of targets) {
    it(`npm/${t.platformArchABI}/package.json is the ${t.triple} package`, () => {
      const p = JSON.parse(fs.readFileSync(path.join(root, 'npm', t.platformArchABI, 'package.json'), 'utf8'))
      const node = `${pkg.napi.binaryName}.${t.platformArchABI}.node`
      assert.equal(p.name, `${pkg.name}-${t.platformArchABI}`)
      assert.equal(p.version, pkg.version)
      assert.deepEqual(p.os, [t.platform])
      assert.deepEqual(p.cpu, [t.arch])
      const libc = { gnu: ['glibc'], musl: ['musl'] }[t.abi]
      assert.deepEqual(p.libc, libc, 'linux packages say which libc; others say none')
      assert.equal(p.main, node)
      assert.deepEqual(p.files, [node])
      assert.deepEqual(p.engines, pkg.engines)
      assert.equal(p.license, pkg.license)
      assert.equal(p.scripts, undefined)
    })
  }
})

describe('the main tarball', () => {
  // What `npm pack` would put in it (lifecycle scripts skipped: no build needed to list files).
  const [info] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' }))
  const files = info.files.map((f) => f.path).sort()

  it('holds the public JS, its types and helpers, and nothing else', () => {
    assert.deepEqual(files, [
      'README.md', 'binding.d.ts', 'binding.js',
      'lib/bullmq.d.ts', 'lib/bullmq.js', 'lib/bullmq.mjs',
      'lib/index.d.ts', 'lib/index.js', 'lib/index.mjs',
      'lib/internal/csv.js', 'lib/internal/envelope.js', 'lib/internal/errors.js', 'lib/internal/json.js',
      'lib/internal/native.d.ts', 'lib/internal/native.js', 'lib/internal/pieces.js', 'lib/internal/text.js',
      'lib/prometheus.d.ts', 'lib/prometheus.js', 'lib/prometheus.mjs',
      'package.json',
    ])
  })

  it('every entry point and every relative require/import in it is packed', () => {
    const entries = [pkg.main, pkg.types]
    for (const e of Object.values(pkg.exports)) entries.push(...(typeof e === 'string' ? [e] : Object.values(e)))
    for (const e of entries) assert.ok(files.includes(path.posix.normalize(e)), `${e} is not packed`)
    for (const f of files.filter((f) => /\.(c|m)?js$/.test(f))) {
      const src = fs.readFileSync(path.join(root, f), 'utf8')
      for (const [, spec] of src.matchAll(/(?:require\(|from |import\()\s*'(\.{1,2}\/[^']+)'/g)) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(f), spec))
        // binding.js's own relative requires are the per-platform .node/.wasi files, packed elsewhere.
        if (f === 'binding.js') continue
        // As Node (or, for a JSDoc import('./index'), TypeScript) would resolve it.
        const found = [target, `${target}.js`, `${target}.d.ts`].some((c) => files.includes(c))
        assert.ok(found, `${f} requires ${spec}, which is not packed`)
      }
    }
  })
})
