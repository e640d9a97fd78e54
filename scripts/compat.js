'use strict'
// `npm run test:compat`: runs the small suites in __test__/compat/ under the test runners users
// run the pool inside (Jest, AVA, vitest, node --test). Each suite has a file that closes its
// pool and one that forgets to. A runner fails this script if it exits non-zero, is still
// running after its time limit (a hang), or prints an open-handle / failed-to-exit warning.
//
// Usage: node scripts/compat.js [name ...]   (names as in RUNS below; default: all)

const { spawn } = require('node:child_process')
const path = require('node:path')
const fs = require('node:fs')

const ROOT = path.join(__dirname, '..')
const BIN = path.join(ROOT, 'node_modules', '.bin')
const COMPAT = path.join('__test__', 'compat')
const nodeFiles = fs.readdirSync(path.join(ROOT, COMPAT, 'node'))
  .filter((f) => f.endsWith('.test.js'))
  .map((f) => path.join(COMPAT, 'node', f))

const jestConfig = path.join(COMPAT, 'jest', 'jest.config.js')
const avaConfig = path.join(COMPAT, 'ava', 'ava.config.mjs')

const RUNS = [
  // --detectOpenHandles runs the files in band and reports any handle left keeping the process alive.
  { name: 'jest --detectOpenHandles', cmd: [path.join(BIN, 'jest'), '--config', jestConfig, '--detectOpenHandles'] },
  // Default mode: files in jest-worker child processes, which must exit when asked.
  { name: 'jest (workers)', cmd: [path.join(BIN, 'jest'), '--config', jestConfig, '--maxWorkers=2'] },
  // AVA runs each file in a worker thread by default and reports "Failed to exit" for one that does not end.
  { name: 'ava (worker threads)', cmd: [path.join(BIN, 'ava'), '--config', avaConfig] },
  { name: 'ava (child processes)', cmd: [path.join(BIN, 'ava'), '--config', avaConfig, '--no-worker-threads'] },
  // Two projects (forks and threads pools); see the config.
  { name: 'vitest run', cmd: [path.join(BIN, 'vitest'), 'run', '--config', path.join(COMPAT, 'vitest', 'vitest.config.mjs')] },
  // Each file in its own process, which the runner waits for: a pool that kept it alive would hang here.
  { name: 'node --test', cmd: [process.execPath, '--test', ...nodeFiles] },
]

const TIME_LIMIT_MS = 25_000
// What the runners print when something outlives the tests.
const WARNINGS = [
  /Jest has detected the following \d+ open handles?/i,
  /open handle/i,
  /Jest did not exit/i,
  /worker process has failed to exit gracefully/i,
  /Failed to exit when running/i,
  /Timed out while running tests/i,
  /close timed out/i,
  /something prevents (Vite server|the main process) from exiting/i,
]

function run({ name, cmd }) {
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(cmd[0], cmd.slice(1), {
      cwd: ROOT,
      env: { ...process.env, CI: '1', NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a hang can be killed with all its workers
    })
    let output = ''
    child.stdout.on('data', (d) => { output += d })
    child.stderr.on('data', (d) => { output += d })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      try { process.kill(-child.pid, 'SIGKILL') } catch {}
    }, TIME_LIMIT_MS)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const ms = Date.now() - started
      const warning = WARNINGS.find((re) => re.test(output))
      const problems = []
      if (timedOut) problems.push(`still running after ${TIME_LIMIT_MS / 1000} s (hang)`)
      else if (code !== 0) problems.push(`exit code ${code}${signal ? ` (signal ${signal})` : ''}`)
      if (warning) problems.push(`printed "${output.match(warning)[0]}"`)
      resolve({ name, ms, problems, output })
    })
  })
}

async function main() {
  const only = process.argv.slice(2)
  const runs = only.length ? RUNS.filter((r) => only.some((o) => r.name.startsWith(o))) : RUNS
  if (runs.length === 0) throw new Error(`no runner matches ${only.join(', ')}; runners: ${RUNS.map((r) => r.name).join(', ')}`)
  const results = []
  for (const r of runs) {
    const res = await run(r)
    results.push(res)
    const status = res.problems.length ? `FAIL: ${res.problems.join('; ')}` : 'ok'
    console.log(`${r.name.padEnd(26)} ${(res.ms / 1000).toFixed(1).padStart(5)} s  ${status}`)
    if (res.problems.length) console.log(res.output.replace(/^/gm, '    | '))
  }
  const failed = results.filter((r) => r.problems.length)
  const total = results.reduce((s, r) => s + r.ms, 0)
  console.log(`${results.length - failed.length}/${results.length} runners passed in ${(total / 1000).toFixed(1)} s`)
  if (failed.length) process.exitCode = 1
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
