'use strict'
// Per-kernel throughput benchmark: `pool` kernels vs the usual ways of doing the same work in Node
// (node:crypto on the main thread or on the libuv pool, WebCrypto, piscina workers, native and
// WASM npm packages). One process, one run; every contender is measured interleaved with the
// others in each rep (warm-up rep first, then --reps reps, median reported), so slow drift of a
// busy machine affects all contenders alike: compare ratios within one run, not absolute numbers
// across runs.
//
//   node bench/kernels.js [--threads N] [--reps N] [--quick] [--json path]
//
// Workloads (all pool tasks are submitted at once with run(), one task per input):
//   1. sha256 of B buffers of 4 MiB: pool, crypto.createHash (main thread), crypto.subtle.digest,
//      piscina workers running createHash on transferred copies
//   2. md5, sha1, sha512, blake2b512, sha3-256 (and crc32 if zlib.crc32 exists) of the same
//      buffers: pool vs node:crypto / zlib on the main thread
//   3. xxh64 and xxh3 (64-bit) of the same buffers: pool vs @node-rs/xxhash and hash-wasm
//   4. bcrypt cost 10: pool vs bcrypt (npm), @node-rs/bcrypt, bcryptjs (main thread)
//   5. argon2id (m=19456, t=2, p=1): pool vs @node-rs/argon2
//   6. pbkdf2-sha256 100k iterations, 32 bytes, and scrypt N=16384 r=8 p=1: pool vs node:crypto
//      async (libuv pool)
// Every row also reports the event-loop delay (p99 / max, monitorEventLoopDelay, 1 ms resolution)
// measured while that contender ran. Every contender's results are checked against node:crypto
// (or each other) once before timing, and spot-checked in every timed sample.

const path = require('node:path')
const os = require('node:os')
const fs = require('node:fs')
const crypto = require('node:crypto')
const zlib = require('node:zlib')
const { promisify, parseArgs } = require('node:util')
const { monitorEventLoopDelay } = require('node:perf_hooks')
const { median, spread, gc, positiveInt, markdownTable } = require('./lib')

const HASH_WORKER = path.join(__dirname, 'workers', 'hash.js')
const MiB = 1024 * 1024
const BUFFER_SIZE = 4 * MiB
const BCRYPT_COST = 10
const ARGON2 = { memoryCost: 19456, timeCost: 2, parallelism: 1 } // the pool's (and OWASP's) defaults
const PBKDF2 = { iterations: 100_000, keylen: 32, digest: 'sha256' }
const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 64 }
const OTHER_HASHES = ['md5', 'sha1', 'sha512', 'blake2b512', 'sha3-256']

// ---------------------------------------------------------------------------------------------
// Options

function parseOptions() {
  const { values } = parseArgs({
    options: {
      threads: { type: 'string', default: '2' },
      reps: { type: 'string' },
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
    },
  })
  const quick = values.quick
  return {
    threads: positiveInt('threads', values.threads),
    reps: positiveInt('reps', values.reps ?? (quick ? '2' : '5')),
    quick,
    json: values.json,
    buffers: quick ? 32 : 64, // × 4 MiB
    passwords: quick ? 16 : 32, // hashes per sample for the password kernels
    bcryptjsPasswords: quick ? 4 : 8, // bcryptjs is slow and blocks the main thread: fewer (hashes/s stays comparable)
  }
}

// ---------------------------------------------------------------------------------------------
// Optional contenders: a missing or unloadable package drops its rows and is named in the header.

const unavailable = []
function tryRequire(name) {
  try {
    return require(name)
  } catch (err) {
    unavailable.push(`${name} (${String(err.message).split('\n')[0]})`)
    return null
  }
}

function packageVersion(name) {
  // Some packages do not export ./package.json: read it from disk.
  try {
    let dir = path.dirname(require.resolve(name))
    while (dir !== path.dirname(dir)) {
      const file = path.join(dir, 'package.json')
      if (fs.existsSync(file)) {
        const pkg = JSON.parse(fs.readFileSync(file, 'utf8'))
        if (pkg.name === name) return pkg.version
      }
      dir = path.dirname(dir)
    }
  } catch {}
  return '?'
}

function check(cond, what) {
  if (!cond) throw new Error(`correctness check failed: ${what}`)
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// One timed sample of one contender. `c.prepare()` (untimed) builds its inputs; `c.run(input)`
// does the work and returns the results; `c.verify(results)` spot-checks them (untimed). The
// event-loop monitor is started a few ms before the work (its first tick only sets its clock, so a
// block before that tick would go unseen) and stays on a few ms after it, so a main-thread block
// that just ended is recorded (the monitor's timer fires late and records the delay then).
async function sampleOnce(c) {
  const input = c.prepare ? c.prepare() : undefined
  gc()
  const h = monitorEventLoopDelay({ resolution: 1 })
  h.enable()
  await sleep(3) // the monitor only records from its second tick on: let it start before the work
  const t0 = performance.now()
  const results = await c.run(input)
  const ms = performance.now() - t0
  await sleep(5)
  h.disable()
  if (c.verify) c.verify(results)
  return { rate: (c.units / ms) * 1000, p99: h.percentile(99) / 1e6, max: h.max / 1e6 }
}

// One warm-up round, then `reps` rounds; each round runs every contender once (interleaved).
// Returns { [name]: sample[] }.
async function sampleInterleaved(reps, contenders) {
  const samples = Object.fromEntries(contenders.map((c) => [c.name, []]))
  for (let rep = -1; rep < reps; rep++) {
    for (const c of contenders) {
      const s = await sampleOnce(c)
      if (rep >= 0) samples[c.name].push(s)
    }
  }
  return samples
}

// ---------------------------------------------------------------------------------------------
// Report rows: one per (workload, alternative); higher rate is better, ratio = pool / alternative.

const fmt = {
  mibs: (v) => (v >= 1024 ? `${(v / 1024).toFixed(2)} GiB/s` : `${v.toFixed(0)} MiB/s`),
  hps: (v) => `${v.toFixed(1)} /s`,
  ms: (v) => (v >= 100 ? `${v.toFixed(0)}` : v.toFixed(1)),
}

function rowsFor(workload, samples, format, targets = {}) {
  const [poolName, ...alts] = Object.keys(samples)
  const poolRates = samples[poolName].map((s) => s.rate)
  const poolRate = median(poolRates)
  const el = (xs) => ({ p99: median(xs.map((s) => s.p99)), max: median(xs.map((s) => s.max)) })
  return alts.map((alt) => {
    const altRate = median(samples[alt].map((s) => s.rate))
    const ratio = poolRate / altRate
    const t = targets[alt]
    return {
      workload,
      alternative: alt,
      pool: poolRate,
      alt: altRate,
      ratio,
      target: t ? `>= ${t}x` : '—',
      met: t ? ratio >= t : undefined,
      elPool: el(samples[poolName]),
      elAlt: el(samples[alt]),
      samples: { [poolName]: samples[poolName], [alt]: samples[alt] },
      format,
    }
  })
}

// ---------------------------------------------------------------------------------------------
// Workloads

function makeBuffers(n) {
  return Array.from({ length: n }, () => crypto.randomFillSync(Buffer.allocUnsafeSlow(BUFFER_SIZE)))
}

const same = (a, b) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))

// Content hashes: contenders over the same buffers, checked against node:crypto first.
async function hashWorkloads(opts, pool, piscina, buffers) {
  const units = (buffers.length * BUFFER_SIZE) / MiB // MiB per sample
  const first = buffers[0]
  const last = buffers[buffers.length - 1]
  const rows = []

  // --- 1. sha256
  {
    const ref = [first, last].map((b) => crypto.createHash('sha256').update(b).digest())
    const spot = (name) => (results) => {
      check(same(results[0], ref[0]) && same(results[results.length - 1], ref[1]), `${name} sha256 digest`)
    }
    // Each contender: `work(input)` over `input = prepare(bufs)` (prepare untimed), so the same
    // code runs the pre-check on two buffers and the timed samples on all of them.
    const defs = [
      { name: 'pool', work: (bufs) => Promise.all(bufs.map((b) => pool.run('sha256', b))) },
      { name: 'createHash (main thread)', work: async (bufs) => bufs.map((b) => crypto.createHash('sha256').update(b).digest()) },
      {
        name: 'crypto.subtle.digest',
        work: (bufs) => Promise.all(bufs.map((b) => crypto.subtle.digest('SHA-256', b))).then((r) => r.map((ab) => new Uint8Array(ab))),
      },
    ]
    if (piscina) {
      defs.push({
        name: 'piscina createHash (transferred copies)',
        prepare: (bufs) => bufs.map((b) => new Uint8Array(b)), // own ArrayBuffer each; the copy is not timed
        work: (copies) =>
          Promise.all(copies.map((data) => piscina.run({ algorithm: 'sha256', data }, { transferList: [data.buffer] }))),
      })
    }
    // Correctness once before timing: every contender on the first and last buffer.
    for (const d of defs) {
      const sub = [first, last]
      const r = await d.work(d.prepare ? d.prepare(sub) : sub)
      check(same(r[0], ref[0]) && same(r[1], ref[1]), `${d.name} sha256 (pre-check)`)
    }
    const contenders = defs.map((d) => ({
      name: d.name,
      units,
      prepare: d.prepare && (() => d.prepare(buffers)),
      run: (input) => d.work(input ?? buffers),
      verify: spot(d.name),
    }))
    const samples = await sampleInterleaved(opts.reps, contenders)
    rows.push(...rowsFor(`sha256, ${buffers.length} × 4 MiB`, samples, fmt.mibs, {
      'createHash (main thread)': 1.8,
      'piscina createHash (transferred copies)': 1.2,
    }))
  }

  // --- 2. other content hashes vs node:crypto / zlib on the main thread
  const others = OTHER_HASHES.map((algo) => ({
    algo,
    kernel: algo,
    alt: `createHash('${algo}') (main thread)`,
    main: (b) => crypto.createHash(algo).update(b).digest(),
    eq: same,
  }))
  if (typeof zlib.crc32 === 'function') {
    others.push({ algo: 'crc32', kernel: 'crc32', alt: 'zlib.crc32 (main thread)', main: (b) => zlib.crc32(b), eq: (a, b) => a === b })
  }
  for (const o of others) {
    const ref = [first, last].map(o.main)
    const pre = await Promise.all([first, last].map((b) => pool.run(o.kernel, b)))
    check(o.eq(pre[0], ref[0]) && o.eq(pre[1], ref[1]), `pool ${o.algo} (pre-check)`)
    const spot = (name) => (r) => check(o.eq(r[0], ref[0]) && o.eq(r[r.length - 1], ref[1]), `${name} ${o.algo}`)
    const samples = await sampleInterleaved(opts.reps, [
      { name: 'pool', units, run: () => Promise.all(buffers.map((b) => pool.run(o.kernel, b))), verify: spot('pool') },
      { name: o.alt, units, run: async () => buffers.map(o.main), verify: spot(o.alt) },
    ])
    rows.push(...rowsFor(`${o.algo}, ${buffers.length} × 4 MiB`, samples, fmt.mibs))
  }

  // --- 3. xxh64 / xxh3 (64-bit), bigint results
  const nodeRsXxhash = tryRequire('@node-rs/xxhash')
  const hashWasm = tryRequire('hash-wasm')
  const xxh = [
    { kernel: 'xxh64', rs: nodeRsXxhash && ((b) => nodeRsXxhash.xxh64(b)), wasm: hashWasm && ((b) => hashWasm.xxhash64(b)) },
    { kernel: 'xxh3', rs: nodeRsXxhash && ((b) => nodeRsXxhash.xxh3.xxh64(b)), wasm: hashWasm && ((b) => hashWasm.xxhash3(b)) },
  ]
  for (const x of xxh) {
    const pre = await Promise.all([first, last].map((b) => pool.run(x.kernel, b)))
    check(typeof pre[0] === 'bigint', `pool ${x.kernel} returns a bigint`)
    const spot = (name) => (r) => check(r[0] === pre[0] && r[r.length - 1] === pre[1], `${name} ${x.kernel} equals pool's`)
    const contenders = [{ name: 'pool', units, run: () => Promise.all(buffers.map((b) => pool.run(x.kernel, b))), verify: spot('pool') }]
    const targets = {}
    if (x.rs) {
      const name = `@node-rs/xxhash (main thread)`
      spot(name)([first, last].map(x.rs))
      contenders.push({ name, units, run: async () => buffers.map(x.rs), verify: spot(name) })
      targets[name] = 1
    }
    if (x.wasm) {
      const name = `hash-wasm (WASM, main thread)`
      const toBig = (hex) => BigInt(`0x${hex}`)
      spot(name)((await Promise.all([first, last].map(x.wasm))).map(toBig))
      contenders.push({
        name,
        units,
        // hash-wasm's functions are async but compute on the calling thread; one at a time is its natural use.
        run: async () => {
          const out = []
          for (const b of buffers) out.push(toBig(await x.wasm(b)))
          return out
        },
        verify: spot(name),
      })
      targets[name] = 1
    }
    if (contenders.length === 1) continue
    const samples = await sampleInterleaved(opts.reps, contenders)
    rows.push(...rowsFor(`${x.kernel}, ${buffers.length} × 4 MiB`, samples, fmt.mibs, targets))
  }
  return rows
}

// Password hashing.
async function passwordWorkloads(opts, pool, packages) {
  const n = opts.passwords
  const passwords = Array.from({ length: n }, (_, i) => `correct horse battery staple #${i}`)
  const rows = []
  const { bcrypt, nodeRsBcrypt, bcryptjs, nodeRsArgon2 } = packages

  // --- 4. bcrypt cost 10
  {
    const prefix = `$2b$${BCRYPT_COST}$`
    const allVerify = async (name, hash, pw) => {
      check(typeof hash === 'string' && hash.length === 60 && hash.startsWith(prefix), `${name} bcrypt hash format: ${hash}`)
      check(await pool.run('bcrypt.verify', { password: pw, hash }), `pool bcrypt.verify of ${name}'s hash`)
      check(!(await pool.run('bcrypt.verify', { password: pw + 'x', hash })), `pool bcrypt.verify rejects a wrong password (${name})`)
      if (bcrypt) check(await bcrypt.compare(pw, hash), `bcrypt.compare of ${name}'s hash`)
      if (nodeRsBcrypt) check(await nodeRsBcrypt.verify(pw, hash), `@node-rs/bcrypt verify of ${name}'s hash`)
      if (bcryptjs) check(await bcryptjs.compare(pw, hash), `bcryptjs.compare of ${name}'s hash`)
    }
    const fmtCheck = (name) => (hashes) => check(hashes.every((h) => typeof h === 'string' && h.startsWith(prefix)), `${name} bcrypt results`)
    const contenders = [
      {
        name: 'pool',
        units: n,
        one: (pw) => pool.run('bcrypt.hash', { password: pw, cost: BCRYPT_COST }),
        run: () => Promise.all(passwords.map((password) => pool.run('bcrypt.hash', { password, cost: BCRYPT_COST }))),
        verify: fmtCheck('pool'),
      },
    ]
    if (bcrypt) {
      contenders.push({
        name: 'bcrypt (npm, libuv pool)',
        units: n,
        one: (pw) => bcrypt.hash(pw, BCRYPT_COST),
        run: () => Promise.all(passwords.map((pw) => bcrypt.hash(pw, BCRYPT_COST))),
        verify: fmtCheck('bcrypt'),
      })
    }
    if (nodeRsBcrypt) {
      contenders.push({
        name: '@node-rs/bcrypt (async, libuv pool)',
        units: n,
        one: (pw) => nodeRsBcrypt.hash(pw, { cost: BCRYPT_COST }),
        run: () => Promise.all(passwords.map((pw) => nodeRsBcrypt.hash(pw, { cost: BCRYPT_COST }))),
        verify: fmtCheck('@node-rs/bcrypt'),
      })
    }
    if (bcryptjs) {
      const few = passwords.slice(0, opts.bcryptjsPasswords)
      contenders.push({
        name: `bcryptjs (hashSync, main thread, ${few.length} hashes)`,
        units: few.length,
        one: (pw) => bcryptjs.hashSync(pw, BCRYPT_COST),
        run: async () => few.map((pw) => bcryptjs.hashSync(pw, BCRYPT_COST)),
        verify: fmtCheck('bcryptjs'),
      })
    }
    for (const c of contenders) await allVerify(c.name, await c.one(passwords[0]), passwords[0])
    const samples = await sampleInterleaved(opts.reps, contenders)
    const target = bcrypt ? 'bcrypt (npm, libuv pool)' : '@node-rs/bcrypt (async, libuv pool)'
    rows.push(...rowsFor(`bcrypt cost ${BCRYPT_COST}, ${n} hashes`, samples, fmt.hps, { [target]: 0.95 }))
  }

  // --- 5. argon2id, m=19456 KiB, t=2, p=1
  if (nodeRsArgon2) {
    const rsOpts = { ...ARGON2, algorithm: 2 /* Algorithm.Argon2id (a const enum: no runtime object) */ }
    const phc = `$argon2id$v=19$m=${ARGON2.memoryCost},t=${ARGON2.timeCost},p=${ARGON2.parallelism}$`
    // Same salt -> same PHC string from both; and each verifies the other's.
    const salt = crypto.randomBytes(16)
    const a = await pool.run('argon2.hash', { password: passwords[0], ...ARGON2, salt })
    const b = await nodeRsArgon2.hash(passwords[0], { ...rsOpts, salt })
    check(a === b && a.startsWith(phc), `argon2id with a fixed salt: pool ${a} vs @node-rs/argon2 ${b}`)
    const pa = await pool.run('argon2.hash', { password: passwords[1] })
    const pb = await nodeRsArgon2.hash(passwords[1], rsOpts)
    check(pa.startsWith(phc) && pb.startsWith(phc), 'argon2id default parameters')
    check(await nodeRsArgon2.verify(pa, passwords[1]), '@node-rs/argon2 verify of the pool hash')
    check(await pool.run('argon2.verify', { password: passwords[1], hash: pb }), 'pool argon2.verify of the @node-rs/argon2 hash')
    check(!(await pool.run('argon2.verify', { password: passwords[0], hash: pb })), 'pool argon2.verify rejects a wrong password')
    const fmtCheck = (name) => (hashes) => check(hashes.every((h) => h.startsWith(phc)), `${name} argon2 results`)
    const samples = await sampleInterleaved(opts.reps, [
      {
        name: 'pool',
        units: n,
        run: () => Promise.all(passwords.map((password) => pool.run('argon2.hash', { password, ...ARGON2 }))),
        verify: fmtCheck('pool'),
      },
      {
        name: '@node-rs/argon2 (async, libuv pool)',
        units: n,
        run: () => Promise.all(passwords.map((pw) => nodeRsArgon2.hash(pw, rsOpts))),
        verify: fmtCheck('@node-rs/argon2'),
      },
    ])
    rows.push(...rowsFor(`argon2id m=19456 t=2 p=1, ${n} hashes`, samples, fmt.hps, { '@node-rs/argon2 (async, libuv pool)': 0.95 }))
  }

  // --- 6. pbkdf2 and scrypt vs node:crypto async (libuv pool)
  {
    const salts = passwords.map(() => crypto.randomBytes(16))
    const pbkdf2 = promisify(crypto.pbkdf2)
    const scrypt = promisify(crypto.scrypt)
    const kdfs = [
      {
        label: `pbkdf2-sha256 ${PBKDF2.iterations / 1000}k iterations, ${PBKDF2.keylen} B`,
        pool: (i) => pool.run('pbkdf2', { password: passwords[i], salt: salts[i], ...PBKDF2 }),
        alt: (i) => pbkdf2(passwords[i], salts[i], PBKDF2.iterations, PBKDF2.keylen, PBKDF2.digest),
        altName: 'crypto.pbkdf2 (libuv pool)',
      },
      {
        label: `scrypt N=${SCRYPT.N} r=${SCRYPT.r} p=${SCRYPT.p}, ${SCRYPT.keylen} B`,
        pool: (i) => pool.run('scrypt', { password: passwords[i], salt: salts[i], ...SCRYPT }),
        alt: (i) => scrypt(passwords[i], salts[i], SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p }),
        altName: 'crypto.scrypt (libuv pool)',
      },
    ]
    for (const k of kdfs) {
      const ref = await Promise.all([k.alt(0), k.alt(n - 1)])
      const pre = await Promise.all([k.pool(0), k.pool(n - 1)])
      check(same(pre[0], ref[0]) && same(pre[1], ref[1]), `pool ${k.label} equals node:crypto`)
      const spot = (name) => (r) => check(same(r[0], ref[0]) && same(r[n - 1], ref[1]), `${name} ${k.label}`)
      const idx = passwords.map((_, i) => i)
      const samples = await sampleInterleaved(opts.reps, [
        { name: 'pool', units: n, run: () => Promise.all(idx.map(k.pool)), verify: spot('pool') },
        { name: k.altName, units: n, run: () => Promise.all(idx.map(k.alt)), verify: spot(k.altName) },
      ])
      rows.push(...rowsFor(`${k.label}, ${n} derivations`, samples, fmt.hps))
    }
  }
  return rows
}

// ---------------------------------------------------------------------------------------------
// Report

function printHeader(opts, versions) {
  const cpus = os.cpus()
  const uv = process.env.UV_THREADPOOL_SIZE
  console.log('# pool per-kernel throughput benchmark')
  console.log()
  console.log(`- date: ${new Date().toISOString()}`)
  console.log(`- node ${process.version}, ${os.platform()}-${os.arch()}, ${cpus.length} CPUs (${cpus[0]?.model ?? '?'}), ` +
    `load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`)
  console.log(`- packages: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ')}`)
  if (unavailable.length) console.log(`- unavailable (rows dropped): ${unavailable.join('; ')}`)
  if (!versions.bcrypt) console.log('- the bcrypt target is measured against @node-rs/bcrypt because the bcrypt npm package is unavailable')
  console.log(`- threads: pool ${opts.threads}, piscina ${opts.threads}; libuv pool (crypto.pbkdf2/scrypt/subtle, bcrypt, @node-rs/*): ` +
    `UV_THREADPOOL_SIZE=${uv ?? 'unset (default 4)'} on ${cpus.length} CPUs`)
  console.log(`- reps: ${opts.reps} + 1 warm-up, median reported, contenders interleaved per rep${opts.quick ? ', --quick' : ''}`)
  console.log(`- sizes: content hashes over ${opts.buffers} × 4 MiB random buffers (${opts.buffers * 4} MiB per sample, rate in MiB/s); ` +
    `password kernels ${opts.passwords} hashes per sample (bcryptjs ${opts.bcryptjsPasswords}), rate in hashes/s`)
  console.log('- pool: one run() per input, all submitted at once; main-thread contenders: a plain loop; piscina: buffers copied ' +
    '(untimed) then transferred; hash-wasm: awaited one at a time (it computes on the calling thread)')
  console.log('- ratio = pool rate / alternative rate (higher is better for pool); EL = event-loop delay p99 / max in ms while ' +
    'that contender ran (monitorEventLoopDelay, 1 ms resolution; median over reps)')
  console.log('- the machine may be shared: absolute rates can move between runs, ratios within this run are what counts')
  console.log()
}

function printTable(rows) {
  const met = (m) => (m === undefined ? '—' : m ? 'yes' : '**NO**')
  const el = (e) => `${fmt.ms(e.p99)} / ${fmt.ms(e.max)}`
  console.log(markdownTable(
    ['workload', 'pool', 'alternative', 'ratio', 'target', 'met?', 'EL p99/max pool (ms)', 'EL p99/max alt (ms)'],
    rows.map((r) => [
      r.workload,
      r.format(r.pool),
      `${r.alternative}: ${r.format(r.alt)}`,
      `${r.ratio >= 10 ? r.ratio.toFixed(1) : r.ratio.toPrecision(3)}x`,
      r.target,
      met(r.met),
      el(r.elPool),
      el(r.elAlt),
    ]),
    ['---', '---:', '---', '---:', '---', '---', '---:', '---:'],
  ))
}

function printSamples(rows) {
  console.log()
  console.log('Per-rep rates (spread = max deviation from the median):')
  const seen = new Set()
  for (const r of rows) {
    const parts = []
    for (const [k, xs] of Object.entries(r.samples)) {
      const key = `${r.workload}|${k}`
      if (seen.has(key)) continue
      seen.add(key)
      const rates = xs.map((x) => x.rate)
      parts.push(`${k} [${rates.map(r.format).join(', ')}] ${spread(rates)}`)
    }
    if (parts.length) console.log(`- ${r.workload}: ${parts.join('; ')}`)
  }
}

function writeJson(file, opts, versions, rows, wallMs) {
  const data = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadavg: os.loadavg(),
    threads: opts.threads,
    uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? null,
    reps: opts.reps,
    quick: opts.quick,
    sizes: { buffers: opts.buffers, bufferBytes: BUFFER_SIZE, passwords: opts.passwords, bcryptjsPasswords: opts.bcryptjsPasswords },
    packages: versions,
    unavailable,
    wallMs,
    results: rows.map(({ format, ...r }) => r),
  }
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + '\n')
  console.log(`\nJSON written to ${file}`)
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const opts = parseOptions()
  const t0 = performance.now()

  const { WorkerPool } = require('..')
  const Piscina = tryRequire('piscina')?.Piscina
  const packages = {
    bcrypt: tryRequire('bcrypt'),
    nodeRsBcrypt: tryRequire('@node-rs/bcrypt'),
    bcryptjs: tryRequire('bcryptjs'),
    nodeRsArgon2: tryRequire('@node-rs/argon2'),
  }
  tryRequire('@node-rs/xxhash') // loaded here too so a failure is listed in the header
  tryRequire('hash-wasm')
  const names = ['piscina', 'bcrypt', '@node-rs/bcrypt', 'bcryptjs', '@node-rs/argon2', '@node-rs/xxhash', 'hash-wasm']
  const versions = Object.fromEntries(
    names.filter((n) => !unavailable.some((u) => u.startsWith(`${n} `))).map((n) => [n, packageVersion(n)]),
  )
  printHeader(opts, versions)

  const pool = new WorkerPool({ threads: opts.threads })
  let piscina = null
  let piscinaReady = Promise.resolve()
  if (Piscina) {
    piscina = new Piscina({ filename: HASH_WORKER, minThreads: opts.threads, maxThreads: opts.threads })
    let created = 0
    piscinaReady = new Promise((resolve) => piscina.on('workerCreate', () => { if (++created === opts.threads) resolve() }))
  }
  const rows = []
  try {
    await piscinaReady
    const buffers = makeBuffers(opts.buffers)
    rows.push(...(await hashWorkloads(opts, pool, piscina, buffers)))
    buffers.length = 0
    rows.push(...(await passwordWorkloads(opts, pool, packages)))
  } finally {
    await pool.close()
    if (piscina) await piscina.destroy()
  }
  const wallMs = performance.now() - t0
  printTable(rows)
  printSamples(rows)
  console.log(`\nTotal wall time: ${(wallMs / 1000).toFixed(1)} s`)
  if (opts.json) writeJson(opts.json, opts, versions, rows, wallMs)

  setTimeout(() => {
    console.error('WARNING: process still alive 5 s after the benchmark finished (a handle keeps the event loop open)')
    process.exit(2)
  }, 5000).unref()
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
