'use strict'
// `npm run races`: races and faults, each repeated --n times (default 200) in child processes,
// two at a time. A run fails on a crash (killed by a signal, or an exit code other than the one
// expected), a hang (no exit within --timeout ms, default 60 s; the child is then killed), or a
// report that shows unsettled promises, rejections without a `code`, or wrong results.
//
//   node scripts/races.js [--n 200] [--parallel 2] [--only a,b] [--timeout ms] [--json]
//
// Scenarios (fixtures in __test__/fixtures/):
//   exit-while-busy   process.exit(3) while both threads run fib(45) / settle 40k results / hash
//                     24 MiB in place, with thousands queued; the exit lands synchronously, after
//                     a turn or a few ms in (varies with the iteration). Must exit with code 3.
//   close-destroy     close()/destroy() (alone, both, twice) during bursts of run/runBatch,
//                     racing AbortSignals and new run() calls; 3 pools per run.
//   worker-terminate  pools created and used inside worker_threads Workers, terminated mid-burst
//                     (4 Workers per run, terminated 0-3 ms after they report busy).
//   gc-dropped        12 pools per run dropped unclosed with tasks pending, collected by gc()
//                     while other pools work; every task settles, no thread is left behind.
//   panic-under-load  __panic tasks interleaved with 3000 fib tasks: only those reject, results
//                     are right, and both threads still run tasks in parallel afterwards.

const { spawn } = require('node:child_process')
const path = require('node:path')

const FIX = path.join(__dirname, '..', '__test__', 'fixtures')

function parseArgs(argv) {
  const a = { n: 200, parallel: 2, only: null, timeout: 60_000, json: false }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    if (k === '--n') a.n = Number(argv[++i])
    else if (k === '--parallel') a.parallel = Number(argv[++i])
    else if (k === '--only') a.only = argv[++i].split(',')
    else if (k === '--timeout') a.timeout = Number(argv[++i])
    else if (k === '--json') a.json = true
    else throw new Error(`unknown argument ${k}`)
  }
  return a
}

const lastJson = (out) => {
  const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop()
  return line ? JSON.parse(line) : null
}

// Each scenario: args(i) for the child, the expected exit code, and check(stdout) → { unsettled,
// problem } (problem: a string when the report is wrong).
const SCENARIOS = {
  'exit-while-busy': {
    args: (i) => [path.join(FIX, 'exit-while-busy.js'), ['fib', 'settling', 'sha256'][i % 3], String(Math.floor(i / 3))],
    code: 3,
    check: () => ({ unsettled: 0 }),
  },
  'close-destroy': {
    args: (i) => [path.join(FIX, 'close-race.js'), String(i)],
    code: 0,
    check: (out) => {
      const r = lastJson(out)
      if (!r) return { unsettled: 0, problem: 'no report' }
      const problem = r.unsettled ? `unsettled: ${r.stuck.join('; ')}` : r.badCount ? `rejections without code: ${r.bad.join('; ')}` : r.fib20 !== 6765 ? `fib20 ${r.fib20}` : undefined
      return { unsettled: r.unsettled, problem, calls: r.calls }
    },
  },
  'worker-terminate': {
    args: () => [path.join(FIX, 'worker-terminate.js'), '4'],
    code: 0,
    check: (out) => ({ unsettled: 0, problem: /main ok 10946 after 4 rounds/.test(out) ? undefined : `unexpected output: ${out.slice(-200)}`, calls: 4 }),
  },
  'gc-dropped': {
    args: (i) => ['--expose-gc', path.join(FIX, 'gc-load.js'), String(i)],
    code: 0,
    check: (out) => {
      const r = lastJson(out)
      if (!r) return { unsettled: 0, problem: 'no report' }
      const problem = r.unsettled ? `${r.unsettled} unsettled` : r.badCount ? `rejections without code: ${r.bad.join('; ')}`
        : r.final > r.baseline ? `threads left: baseline ${r.baseline}, final ${r.final}` : r.fib20 !== 6765 ? `fib20 ${r.fib20}` : undefined
      return { unsettled: r.unsettled, problem, calls: r.calls }
    },
  },
  'panic-under-load': {
    args: (i) => [path.join(FIX, 'panic-load.js'), String(i)],
    code: 0,
    check: (out) => {
      const r = lastJson(out)
      if (!r) return { unsettled: 0, problem: 'no report' }
      const t = r.tally
      const expected = t.panic === r.panics && t['batch-panic'] === 6 && t.ok === r.calls - r.panics - 6
      const problem = !expected ? `tally ${JSON.stringify(t)}` : !r.parallelAfter ? 'threads no longer run in parallel'
        : r.threads !== 2 ? `threads ${r.threads}` : r.fib20 !== 6765 ? `fib20 ${r.fib20}` : undefined
      return { unsettled: 0, problem, calls: r.calls }
    },
  },
}

function runOne(scenario, i, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, scenario.args(i), { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { err = (err + d).slice(-4000) })
    let hung = false
    const timer = setTimeout(() => {
      hung = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (hung) return resolve({ hung: true, detail: `no exit after ${timeoutMs} ms; stderr: ${err.slice(-300)}` })
      if (signal !== null || code !== scenario.code) {
        return resolve({ crashed: true, detail: `exit code ${code}, signal ${signal} (expected ${scenario.code}); stderr: ${err.slice(-600)}` })
      }
      let c
      try {
        c = scenario.check(out)
      } catch (e) {
        c = { unsettled: 0, problem: `bad report: ${e.message}` }
      }
      resolve(c)
    })
  })
}

async function runScenario(name, args) {
  const scenario = SCENARIOS[name]
  const started = Date.now()
  const r = { scenario: name, runs: 0, crashes: 0, hangs: 0, unsettled: 0, failures: 0, calls: 0, details: [] }
  let next = 0
  async function lane() {
    while (next < args.n) {
      const i = next++
      const o = await runOne(scenario, i, args.timeout)
      r.runs++
      r.calls += o.calls ?? 0
      if (o.hung) r.hangs++
      else if (o.crashed) r.crashes++
      else {
        r.unsettled += o.unsettled ?? 0
        if (o.problem) r.failures++
      }
      const detail = o.detail ?? o.problem
      if (detail && r.details.length < 5) r.details.push(`#${i}: ${detail}`)
    }
  }
  await Promise.all(Array.from({ length: args.parallel }, lane))
  r.seconds = (Date.now() - started) / 1000
  return r
}

;(async () => {
  const args = parseArgs(process.argv.slice(2))
  const names = args.only ?? Object.keys(SCENARIOS)
  for (const n of names) if (!SCENARIOS[n]) throw new Error(`unknown scenario ${n}; known: ${Object.keys(SCENARIOS).join(', ')}`)
  const results = []
  if (!args.json) console.log(`races: ${args.n} runs per scenario, ${args.parallel} at a time, hang = no exit within ${args.timeout} ms`)
  if (!args.json) console.log('scenario           runs  crashes  hangs  unsettled  failures  calls      time')
  for (const name of names) {
    const r = await runScenario(name, args)
    results.push(r)
    if (!args.json) {
      console.log(`${name.padEnd(17)} ${String(r.runs).padStart(5)}  ${String(r.crashes).padStart(7)}  ${String(r.hangs).padStart(5)}  ${String(r.unsettled).padStart(9)}  ${String(r.failures).padStart(8)}  ${String(r.calls || '-').padStart(8)}  ${r.seconds.toFixed(0).padStart(5)} s`)
      for (const d of r.details) console.log(`    ${d.replace(/\n/g, '\n    ')}`)
    }
  }
  const ok = results.every((r) => r.crashes === 0 && r.hangs === 0 && r.unsettled === 0 && r.failures === 0)
  if (args.json) console.log(JSON.stringify({ ok, results }))
  else console.log(`races ${ok ? 'PASS' : 'FAIL'}`)
  process.exitCode = ok ? 0 : 1
})()
