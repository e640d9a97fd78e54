#!/usr/bin/env node
'use strict'
// `npm run pack:local`: builds the release addon and writes the two tarballs this machine can
// make to dist/: the main package and the platform package of the host (pool-linux-x64-gnu
// here), laid out as the release workflow publishes them. `napi artifacts` insists on every
// configured target, so the one platform package is staged the way it would stage it:
// npm/<platform>/ plus the .node.
//
//   node scripts/pack-local.js [--no-build]     (--no-build: pack the addon already built)

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { parseTriple } = require('@napi-rs/cli')

const root = path.join(__dirname, '..')
const dist = path.join(root, 'dist')
const pkg = require('../package.json')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...opts })
}

// npm pack --json prints one object per package; lifecycle scripts are skipped: the build is done.
function pack(dir) {
  const [info] = JSON.parse(run(npm, ['pack', dir, '--ignore-scripts', '--json', '--pack-destination', dist]))
  return info
}

// The host's target as napi names it (`napi build` without --target builds for rustc's host).
const host = /^host: (\S+)$/m.exec(run('rustc', ['-vV']))[1]
const target = parseTriple(host)
if (!pkg.napi.targets.includes(host)) throw new Error(`the host target ${host} is not in napi.targets`)
const nodeFile = `${pkg.napi.binaryName}.${target.platformArchABI}.node`

if (!process.argv.includes('--no-build')) run(npm, ['run', 'build'], { stdio: 'inherit' })
if (!fs.existsSync(path.join(root, nodeFile))) throw new Error(`${nodeFile} is missing: run npm run build`)

fs.rmSync(dist, { recursive: true, force: true })
fs.mkdirSync(dist)

const main = pack('.')
const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'pool-pack-'))
let platform
try {
  const src = path.join(root, 'npm', target.platformArchABI)
  for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(stage, f))
  fs.copyFileSync(path.join(root, nodeFile), path.join(stage, nodeFile))
  platform = pack(stage)
} finally {
  fs.rmSync(stage, { recursive: true, force: true })
}

const files = (info) => info.files.map((f) => f.path)
if (files(main).some((f) => f.endsWith('.node'))) throw new Error(`${main.filename} holds a .node file`)
if (!files(platform).includes(nodeFile)) throw new Error(`${platform.filename} lacks ${nodeFile}`)
for (const info of [main, platform]) {
  const mb = (fs.statSync(path.join(dist, info.filename)).size / 1e6).toFixed(2)
  console.log(`dist/${info.filename}  ${mb} MB  ${info.entryCount} files: ${files(info).join(' ')}`)
}
