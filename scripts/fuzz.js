'use strict'
// Seeded random driver for the public API (`npm run fuzz`). Makes --calls run()/runBatch() calls
// across every kernel with wrong types, missing and extra fields, NaN/±Infinity/-0/2^53+1/bigint
// where numbers are expected, empty and huge inputs, detached ArrayBuffers, SharedArrayBuffer
// views, invalid UTF-8, lone surrogates, deeply nested JSON, malformed CSV, corrupted images (the
// fixtures of testdata/images truncated, with bytes flipped or runs overwritten, and with the
// dimensions in their headers edited, CRCs fixed up so the decoders go past them), and
// AbortSignals that fire at random moments; creates side pools with random options and closes or
// destroys them in the middle of bursts.
//
// Pass: the driver process does not crash, no call throws synchronously, every promise settles,
// every rejection is an Error with a string `code`, the results spot-checked are right, and the
// pool still answers fib(20) === 6765 afterwards.
//
// The driver runs in a child process (this file with --child) so a crash is reported with the
// seed that caused it. Usage:
//   node scripts/fuzz.js [--seed N] [--calls N] [--quick] [--json] [--child]
// --quick: 3000 calls. --json: print the summary as one JSON line (for __test__/fuzz.test.js).

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const zlib = require('node:zlib')

function parseArgs(argv) {
  const a = { seed: (Date.now() % 0x7fffffff) >>> 0, calls: 100_000, quick: false, child: false, json: false }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    if (k === '--seed') a.seed = Number(argv[++i]) >>> 0
    else if (k === '--calls') a.calls = Number(argv[++i])
    else if (k === '--quick') a.quick = true
    else if (k === '--child') a.child = true
    else if (k === '--json') a.json = true
    else throw new Error(`unknown argument ${k}`)
  }
  if (a.quick && !argv.includes('--calls')) a.calls = 3000
  return a
}

const SUMMARY = 'FUZZ-SUMMARY '

// ---------------------------------------------------------------------------------------------
// Parent: run the driver in a child, detect crashes and hangs.
// ---------------------------------------------------------------------------------------------
function parent(args) {
  const childArgs = [__filename, '--child', '--seed', String(args.seed), '--calls', String(args.calls)]
  const started = Date.now()
  // Generous: a hang is a failure, but the machine is shared and noisy.
  const limitMs = 120_000 + args.calls * 10
  const child = spawn(process.execPath, ['--expose-gc', ...childArgs], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => {
    out += d
    if (!args.json) process.stdout.write(d)
  })
  let hung = false
  const timer = setTimeout(() => {
    hung = true
    child.kill('SIGKILL')
  }, limitMs)
  child.on('close', (code, signal) => {
    clearTimeout(timer)
    const line = out.split('\n').find((l) => l.startsWith(SUMMARY))
    const summary = line ? JSON.parse(line.slice(SUMMARY.length)) : { seed: args.seed, calls: 0 }
    summary.exitCode = code
    summary.signal = signal
    summary.crashes = !hung && (signal !== null || (code !== 0 && code !== 1) || !line) ? 1 : 0
    summary.hung = hung
    summary.wallMs = Date.now() - started
    summary.ok = !hung && code === 0 && summary.crashes === 0 && summary.failureCount === 0
    if (args.json) {
      console.log(JSON.stringify(summary))
    } else {
      if (hung) console.log(`HANG: the driver did not finish within ${limitMs} ms (seed ${args.seed})`)
      if (summary.crashes) console.log(`CRASH: exit code ${code}, signal ${signal} (seed ${args.seed}); rerun with --seed ${args.seed}`)
      console.log(`fuzz ${summary.ok ? 'PASS' : 'FAIL'}: seed ${args.seed}, calls ${summary.calls}, crashes ${summary.crashes}, unsettled ${summary.unsettled ?? '?'}, failures ${summary.failureCount ?? '?'}`)
    }
    process.exitCode = summary.ok ? 0 : 1
  })
}

// ---------------------------------------------------------------------------------------------
// Child: the driver.
// ---------------------------------------------------------------------------------------------
async function driver(args) {
  const { WorkerPool } = require('..')
  const KERNELS = WorkerPool.kernels

  // mulberry32: small, fast, good enough to pick cases; the seed makes a run repeatable up to
  // timing (abort timers and thread scheduling are not).
  let s = args.seed >>> 0
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n) => Math.floor(rnd() * n)
  const chance = (p) => rnd() < p
  const pick = (a) => a[int(a.length)]
  const bytes = (n) => {
    const b = Buffer.allocUnsafe(n)
    for (let i = 0; i < n; i++) b[i] = int(256)
    return b
  }

  const FIB = [0, 1]
  for (let i = 2; i <= 78; i++) FIB[i] = FIB[i - 1] + FIB[i - 2]

  // ---- values -------------------------------------------------------------------------------
  // What our getters and proxies throw. The README: "a getter that throws rejects the task with
  // what it threw", so these are the only rejections allowed to lack a code.
  const THROWN = [new Error('getter boom'), 42, undefined, Object.assign(new TypeError('t'), { code: 'X_GETTER' })]
  const PROXY_ERR = new Error('proxy trap')
  const throwingGetter = () => {
    const o = {}
    const value = pick(THROWN)
    Object.defineProperty(o, pick(['data', 'password', 'seed', 'key', 'algorithm', 'cost', 'delimiter']), {
      get() { throw value },
      enumerable: true,
    })
    return o
  }
  const weirdNumbers = [NaN, Infinity, -Infinity, -0, 0, 2 ** 53 + 1, 2 ** 53, -(2 ** 53) - 1, 2 ** 32, 2 ** 32 - 1,
    -1, 0.5, 1e308, -1e308, 5e-324, Number.MAX_VALUE, Number.MIN_SAFE_INTEGER, 2 ** 31, 2 ** 31 - 1, 1024, 1025]
  const weirdBigints = [0n, 1n, -1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 64n - 1n, 2n ** 64n, 2n ** 128n, -(2n ** 64n), 2n ** 1000n]
  function detached(n) {
    const ab = new ArrayBuffer(n & ~7)
    // Views are made first: a view cannot be constructed on a detached buffer.
    const v = chance(0.5) ? ab : pick([new Uint8Array(ab), new DataView(ab), new Float64Array(ab)])
    structuredClone(ab, { transfer: [ab] })
    return v
  }
  function shared(n) {
    const sab = new SharedArrayBuffer(n + 8)
    const u = new Uint8Array(sab)
    for (let i = 0; i < n + 8; i++) u[i] = int(256)
    return pick([new Uint8Array(sab, int(8), n), new DataView(sab, 0, n), sab, new Int32Array(sab, 0, (n >> 2))])
  }
  function invalidUtf8() {
    const parts = [Buffer.from('ok "'), Buffer.from([pick([0x80, 0xbf, 0xc0, 0xc1, 0xf5, 0xff, 0xed])]),
      Buffer.from([0xe2, 0x82]), Buffer.from([0xf0, 0x9f, 0x98]), Buffer.from([0xed, 0xa0, 0x80]), bytes(int(8))]
    return Buffer.concat(Array.from({ length: 1 + int(5) }, () => pick(parts)))
  }
  function loneSurrogates() {
    return pick(['\ud800', 'a\udfff', '\udc00\ud800', 'x'.repeat(int(10)) + '\ud83d'])
  }
  let hugeCount = 0
  function binary() {
    const r = rnd()
    const n = pick([0, 0, 1, 3, 7, 64, 1000, 65535, 65536, 65537, 200_000])
    if (r < 0.3) return bytes(Math.min(n, 4096))
    if (r < 0.4) return pick([Buffer.alloc(0), new Uint8Array(0), new ArrayBuffer(0), new DataView(new ArrayBuffer(0))])
    if (r < 0.5) return detached(n)
    if (r < 0.6) return shared(n)
    if (r < 0.65) return invalidUtf8()
    if (r < 0.7) {
      // Read in place above 64 KiB: views at odd offsets of a larger buffer.
      const big = Buffer.alloc(n + 16, int(256))
      return pick([big.subarray(int(16)), new Uint16Array(big.buffer, big.byteOffset, n >> 1), new Float64Array(big.buffer, 0, n >> 3)])
    }
    if (r < 0.705 && hugeCount < 40) {
      hugeCount++
      return Buffer.alloc(pick([16, 32]) << 20, int(256))
    }
    if (r < 0.75) return new BigInt64Array(int(8))
    if (r < 0.8) {
      const ab = new ArrayBuffer(n, { maxByteLength: n + 64 }) // resizable
      return chance(0.5) ? ab : new Uint8Array(ab)
    }
    return Buffer.from(pick(['', 'abc', 'héllo', '😀', '\u0000', 'a,b\n1,2\n']))
  }
  function junk(depth = 0) {
    const r = rnd()
    if (r < 0.15) return pick(weirdNumbers)
    if (r < 0.22) return pick(weirdBigints)
    if (r < 0.3) return pick([undefined, null, true, false])
    if (r < 0.38) return pick(['', 'x', '0', 'NaN', '1e3', loneSurrogates(), 'é'.repeat(int(100)), '__proto__'])
    if (r < 0.5) return binary()
    if (r < 0.55) return pick([Symbol('s'), () => 1, new Date(), /re/g, new Map([[1, 2]]), new Set([1]), new WeakMap(), Promise.resolve(1)])
    if (r < 0.6) return throwingGetter()
    if (r < 0.63) {
      const trap = () => { throw PROXY_ERR }
      return new Proxy({}, { get: trap, has: trap, ownKeys: trap, getPrototypeOf: trap, getOwnPropertyDescriptor: trap })
    }
    if (r < 0.7 && depth < 3) return pick([{}, Object.create(null), [], [junk(depth + 1)], { data: junk(depth + 1) }, { length: 3, 0: 1 }])
    if (r < 0.75) return Object.assign(Object.create({ data: Buffer.from('inherited') }), { extra: 1 })
    if (r < 0.8) return { data: binary(), extra: junk(depth + 1), __proto__: { seed: 1 } }
    return pick([1, 2, 3, 20, 'abc', Buffer.from('abc')])
  }
  const maybe = (good, p = 0.75) => (chance(p) ? good : junk())
  // An object with some fields replaced by junk, some removed, and extra ones added.
  // Work-factor fields get junk that is never a valid large value: a cost-20 bcrypt or 2^31-1
  // PBKDF2 iterations would run for minutes and cannot be interrupted inside one hash.
  const COSTLY = new Set(['cost', 'iterations', 'timeCost', 'memoryCost', 'parallelism', 'N', 'r', 'p', 'keylen', 'maxmem'])
  const safeJunk = () => pick([NaN, -1, -0, 1.5, 2 ** 53 + 1, -Infinity, 'x', '4', null, undefined, 1n, -1n, 2n ** 64n, {}, [], true, Symbol('c')])
  function mutateObject(o) {
    const out = { ...o }
    for (const k of Object.keys(out)) {
      if (chance(0.15)) out[k] = COSTLY.has(k) ? safeJunk() : junk()
      else if (chance(0.05)) delete out[k]
    }
    if (chance(0.2)) out[pick(['extra', 'constructor', 'toString', '__proto__x', 'Data'])] = junk()
    return out
  }

  // ---- per-kernel inputs ---------------------------------------------------------------------
  const text = () => pick(['', 'a', 'hello world', 'héllo', '😀😀', loneSurrogates(), 'x'.repeat(int(100_000))])
  const data = () => (chance(0.5) ? text() : binary())
  const HASH = new Set(['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512', 'sha3-256', 'sha3-512', 'blake2b512', 'blake3', 'crc32', 'crc32c'])
  const XXH = new Set(['xxh32', 'xxh64', 'xxh3', 'xxh128'])
  let validBcrypt = '$2b$04$' + 'a'.repeat(53)
  let validArgon = '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$' + 'A'.repeat(43)
  function mutateString(str) {
    const r = rnd()
    const i = int(str.length + 1)
    if (r < 0.25) return str.slice(0, i)
    if (r < 0.5) return str.slice(0, i) + pick(['$', 'x', '\u0000', 'é', '=', ',', '😀', '\ud800']) + str.slice(i + 1)
    if (r < 0.6) return str + pick(['$', 'aaaa', ' '])
    if (r < 0.7) return str.replace(/\$2b\$/, pick(['$2a$', '$2y$', '$2x$', '$2$', '$3b$'])).replace(/argon2id/, pick(['argon2i', 'argon2d', 'argon2', 'ARGON2ID']))
    return str
  }

  function jsonDoc(depth = 0) {
    const r = rnd()
    if (depth > 6 || r < 0.3) {
      return pick(['0', '-0', '1e999', '-1.5e-7', '123456789012345678901234567890', 'true', 'false', 'null', '""', '"a\\u0000b"',
        '"\\ud800"', '"\\uDFFF\\ud800"', '"é😀"', '"\\"\\\\\\/\\b\\f\\n\\r\\t"', '2.', '01', '"\t"', 'NaN', '1_0'])
    }
    if (r < 0.65) return `[${Array.from({ length: int(6) }, () => jsonDoc(depth + 1)).join(pick([',', ', ', ',\n']))}]`
    return `{${Array.from({ length: int(6) }, () => `${pick(['"a"', '"__proto__"', '"b"', '"a"', '"constructor"', '""'])}:${jsonDoc(depth + 1)}`).join(',')}}`
  }
  function jsonInput() {
    const r = rnd()
    let doc
    if (r < 0.5) doc = jsonDoc()
    else if (r < 0.7) {
      doc = jsonDoc()
      const i = int(doc.length + 1)
      doc = pick([doc.slice(0, i), doc.slice(0, i) + pick([',', ']', '}', '"', '\\', '\u0000', ' ', 'x']) + doc.slice(i)])
    } else if (r < 0.73) {
      // Deep nesting: 10^6 levels, opened only or balanced, arrays or objects.
      const d = pick([1e6, 10_001, 10_000, 9_999, 100_000])
      doc = pick([() => '['.repeat(d), () => '['.repeat(d) + ']'.repeat(d), () => '{"a":'.repeat(d) + '1' + '}'.repeat(d), () => '[{"":'.repeat(d >> 1)])()
    } else if (r < 0.76) {
      // Large top-level containers are split into groups and built in slices.
      const n = pick([1000, 50_000])
      doc = chance(0.5) ? `[${Array.from({ length: n }, (_, i) => `{"i":${i},"s":"${'x'.repeat(i % 40)}"}`).join(',')}]`
        : `{${Array.from({ length: n }, (_, i) => `"k${i % 997}":[${i}]`).join(',')}}`
      if (chance(0.3)) doc = doc.slice(0, int(doc.length))
    } else if (r < 0.85) return invalidUtf8()
    else return junk()
    return chance(0.3) ? Buffer.from(doc) : doc
  }
  function csvDoc() {
    const rows = Array.from({ length: int(8) }, () => Array.from({ length: int(5) }, () => pick(['a', '', '1', '-2.5e3', 'true', 'FALSE',
      '2024-01-02', '"q""uoted"', '"multi\nline"', '"unterminated', 'x"y', ' "sp" ', 'é😀', '\u0000', '__proto__', '"a",b'])))
    let doc = rows.map((r) => r.join(pick([',', ',', ';', '\t']))).join(pick(['\n', '\r\n', '\r', '\n\n']))
    if (chance(0.3)) doc += pick(['\n', '\r\n', '"', ',', ''])
    if (chance(0.1)) doc = '\ufeff' + doc
    return doc
  }
  function csvInput() {
    const r = rnd()
    if (r < 0.35) return chance(0.3) ? Buffer.from(csvDoc()) : csvDoc()
    if (r < 0.75) {
      return mutateObject({
        data: chance(0.8) ? csvDoc() : data(),
        delimiter: maybe(pick([',', ';', '\t', '|', 'é', '😀', '', 'ab', '\n', '\r', '"']), 0.6),
        quote: maybe(pick(['"', "'", '€', ',', '']), 0.6),
        header: maybe(chance(0.5), 0.7),
        dynamicTyping: maybe(chance(0.5), 0.7),
        skipEmptyLines: maybe(chance(0.5), 0.7),
      })
    }
    if (r < 0.78) return 'a,b\n'.repeat(pick([10_000, 200_000]))
    if (r < 0.85) return invalidUtf8()
    return junk()
  }

  // ---- images --------------------------------------------------------------------------------
  // The fixtures (all but the large photos) and one real photo, each with its format and its
  // metadata as the pool read it before the run (the clean files' answers to check against).
  const IMAGES = path.join(__dirname, '..', 'testdata', 'images')
  const files = fs.readdirSync(IMAGES).filter((n) => /\.(jpg|png|webp|gif)$/.test(n)).map((n) => path.join(IMAGES, n))
  files.push(path.join(IMAGES, 'tower', 'tower.jpg'))
  const fixtures = files.map((f) => ({ name: path.basename(f), buf: fs.readFileSync(f), meta: undefined }))
  const crc32 = zlib.crc32 ?? ((b) => {
    let c = ~0
    for (const x of b) {
      c ^= x
      for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1))
    }
    return ~c >>> 0
  })
  // Where a header stores the width and height, and how to write them: returns a copy of `b`
  // claiming w × h (as far as the field holds it), or undefined when no such header is found.
  function withSize(b, w, h) {
    const out = Buffer.from(b)
    if (out[0] === 0xff && out[1] === 0xd8) {
      // JPEG: the first SOFn segment (height, then width, 16 bits each).
      for (let i = 2; i + 9 < out.length;) {
        if (out[i] !== 0xff) return undefined
        const m = out[i + 1]
        if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
          out.writeUInt16BE(h & 0xffff, i + 5)
          out.writeUInt16BE(w & 0xffff, i + 7)
          return out
        }
        i += 2 + out.readUInt16BE(i + 2)
      }
      return undefined
    }
    if (out.toString('latin1', 1, 4) === 'PNG') {
      out.writeUInt32BE(w >>> 0, 16)
      out.writeUInt32BE(h >>> 0, 20)
      out.writeUInt32BE(crc32(out.subarray(12, 29)), 29) // IHDR's CRC, so the decoder reads on
      return out
    }
    if (out.toString('latin1', 0, 4) === 'RIFF' && out.length >= 30) {
      const kind = out.toString('latin1', 12, 16)
      if (kind === 'VP8X') {
        out.writeUIntLE((w - 1) & 0xffffff, 24, 3)
        out.writeUIntLE((h - 1) & 0xffffff, 27, 3)
      } else if (kind === 'VP8 ') {
        out.writeUInt16LE(w & 0x3fff, 26)
        out.writeUInt16LE(h & 0x3fff, 28)
      } else if (kind === 'VP8L') {
        const bits = out.readUInt32LE(21)
        out.writeUInt32LE(((bits & ~0xfffffff) | ((w - 1) & 0x3fff) | (((h - 1) & 0x3fff) << 14)) >>> 0, 21)
      } else return undefined
      return out
    }
    if (out.toString('latin1', 0, 3) === 'GIF') {
      out.writeUInt16LE(w & 0xffff, 6)
      out.writeUInt16LE(h & 0xffff, 8)
      return out
    }
    return undefined
  }
  // A fixture, maybe corrupted: [bytes, fixture (when unchanged), claimed pixels (when edited)].
  function imageBytes() {
    const f = pick(fixtures)
    const b = f.buf
    const r = rnd()
    if (r < 0.15) return [b, f]
    if (r < 0.35) return [b.subarray(0, int(b.length)), undefined] // truncated
    if (r < 0.55) {
      // Bytes flipped, mostly past the signature.
      const out = Buffer.from(b)
      for (let n = 1 + int(8); n > 0; n--) out[chance(0.2) ? int(Math.min(64, out.length)) : int(out.length)] ^= 1 << int(8)
      return [out, undefined]
    }
    if (r < 0.65) {
      // A run overwritten with 0x00, 0xff or noise.
      const out = Buffer.from(b)
      const at = int(out.length)
      const len = Math.min(out.length - at, 1 + int(256))
      const fill = int(3)
      for (let i = at; i < at + len; i++) out[i] = fill === 0 ? 0 : fill === 1 ? 0xff : int(256)
      return [out, undefined]
    }
    if (r < 0.9) {
      const w0 = f.meta?.width ?? 64
      const h0 = f.meta?.height ?? 64
      const side = (n) => pick([0, 1, 2, 3, n - 1, n + 1, n * 2, n >> 1, 4000, 16383, 16384, 65535, 100_000, 2 ** 31, 2 ** 32 - 1])
      const w = Math.max(0, side(w0))
      const h = Math.max(0, side(h0))
      const out = withSize(b, w, h)
      if (out === undefined) return [b.subarray(0, int(b.length)), undefined]
      return [chance(0.3) ? out.subarray(0, int(out.length)) : out, undefined, w * h]
    }
    if (r < 0.95) return [Buffer.concat([b, bytes(int(100))]), f] // trailing junk
    return [pick([bytes(int(64)), Buffer.from('GIF89a'), Buffer.from([0xff, 0xd8, 0xff]), Buffer.from('\x89PNG\r\n\x1a\n'), Buffer.from('RIFF\0\0\0\0WEBPVP8X')]), undefined]
  }
  // A per-task limit on most inputs; without one, only headers that are either small or over
  // sharp's default (an edited header of 200 MP would make a 600 MB frame: bounded, but slow).
  function imageLimit(claimed) {
    if (chance(0.6)) return pick([1, 1000, 1e6, 4e6, 0x3fff * 0x3fff, true])
    if (claimed === undefined || claimed <= 16e6 || claimed > 0x3fff * 0x3fff) return undefined
    return 16e6
  }
  function imageOptions() {
    const o = {}
    if (chance(0.7)) {
      // Both sides, at most 256: the output stays small whatever the header claims.
      o.resize = { width: 1 + int(256), height: 1 + int(256), fit: pick(['cover', 'contain', 'fill', 'inside']) }
      if (chance(0.3)) o.resize.position = pick(['centre', 'top', 'left bottom', 'northeast', 8, 0])
      if (chance(0.3)) o.resize.kernel = pick(['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3', 'mks2013', 'mks2021'])
      if (chance(0.1)) o.resize.withoutEnlargement = true
    }
    if (chance(0.5)) o.format = pick(['jpeg', 'png', 'webp', 'jpg'])
    if (chance(0.3)) o.rotate = pick(['auto', 0, 90, 180, 270, -90])
    if (chance(0.2)) o.quality = 1 + int(100)
    if (chance(0.1)) o.lossless = true
    if (chance(0.1)) o.compressionLevel = int(10)
    if (chance(0.2)) o.background = pick(['#fff', '#00000080', 'white', 'transparent', '#123456'])
    return o
  }
  function imageInput(kernel) {
    const [buf, fixture, claimed] = imageBytes()
    const limit = imageLimit(claimed)
    const r = rnd()
    if (kernel === 'image.metadata') {
      const meta = fixture?.meta
      const check = meta && (limit === undefined || limit === true || limit >= meta.width * meta.height)
        ? (m) => m.width === meta.width && m.height === meta.height && m.format === meta.format && m.size === buf.length
        : (m) => m.width >= 1 && m.height >= 1 && m.size === buf.length
      if (r < 0.3 && limit === undefined) return [buf, check]
      if (r < 0.9) return [{ data: buf, limitInputPixels: limit }, check]
      return [mutateObject({ data: buf, limitInputPixels: limit })]
    }
    const o = imageOptions()
    const fit = o.resize?.fit
    const check = (v) => Buffer.isBuffer(v?.data) && v.info.size === v.data.length && v.info.width >= 1 && v.info.height >= 1 &&
      (o.format === undefined || v.info.format === o.format.replace('jpg', 'jpeg')) &&
      (!(fit === 'cover' || fit === 'fill') || o.resize.withoutEnlargement || (v.info.width === o.resize.width && v.info.height === o.resize.height))
    if (r < 0.15 && limit === undefined && o.resize) return [buf]
    if (r < 0.85) return [{ data: buf, limitInputPixels: limit, ...o }, check]
    if (o.resize && chance(0.5)) o.resize = mutateObject(o.resize)
    return [mutateObject({ data: buf, limitInputPixels: limit, ...o })]
  }

  // Returns [input, check] where check(result) validates a fulfilled value (or is undefined).
  function input(kernel) {
    switch (kernel) {
      case 'echo': {
        const v = chance(0.6) ? pick([null, true, false, 0, -0, NaN, Infinity, 2 ** 53 + 1, 'str', '', loneSurrogates(), 1.5]) : junk()
        if (typeof v === 'number' || v === null || typeof v === 'boolean') return [v, (r) => Object.is(r, v)]
        if (typeof v === 'string') return [v, (r) => r === v.toWellFormed?.() || r === v]
        return [v]
      }
      case 'fib': {
        // Valid n stays small: fib is naive recursion, fib(45) takes seconds.
        if (chance(0.7)) {
          const n = int(26)
          return [n, (r) => r === FIB[n]]
        }
        return [pick([-1, 79, 1e9, NaN, Infinity, -Infinity, 2.5, 2 ** 53 + 1, 20n, '20', null, undefined, {}, [20], -0])]
      }
      case 'hmac':
        return [chance(0.85) ? mutateObject({ algorithm: pick(['sha1', 'sha256', 'sha384', 'sha512', 'SHA256', 'md5', '', 'sha256 ']), key: data(), data: data() }) : junk()]
      case 'bcrypt.hash':
        // Never a valid cost above 5: a cost-31 hash cannot be interrupted and takes days.
        return [chance(0.85) ? mutateObject({ password: data(), cost: pick([4, 4, 5, 3, 32, 4.5, NaN, -0, '4', 4n, Infinity, 1e9]) }) : junk()]
      case 'bcrypt.verify':
        return [chance(0.85) ? mutateObject({ password: data(), hash: chance(0.7) ? mutateString(validBcrypt) : pick([junk(), '$2b$', '$2b$04$', '$2b$99$' + 'a'.repeat(53)]) }) : junk()]
      case 'argon2.hash':
        return [chance(0.85) ? mutateObject({
          password: data(),
          type: pick(['argon2id', 'argon2i', 'argon2d', 'argon2x', '', undefined]),
          memoryCost: pick([8, 16, 64, 7, 0, -1, 1048577, 2 ** 32, NaN, 16.5, 16n, undefined]),
          timeCost: pick([1, 1, 2, 0, 1025, NaN, -1]),
          parallelism: pick([1, 2, 0, 256, 1.5]),
          salt: pick([undefined, Buffer.alloc(8), Buffer.alloc(7), Buffer.alloc(48), Buffer.alloc(49), 'saltsalt', '', detached(16)]),
        }) : junk()]
      case 'argon2.verify':
        return [chance(0.85) ? mutateObject({ password: data(), hash: chance(0.7) ? mutateString(validArgon) : junk() }) : junk()]
      case 'scrypt':
        return [chance(0.85) ? mutateObject({
          password: data(),
          salt: data(),
          keylen: pick([0, 1, 16, 64, -1, 2 ** 20 + 1, NaN, 1.5, 64n]),
          N: pick([2, 16, 1024, 3, 1, 0, -2, 2 ** 31, NaN, undefined]),
          r: pick([1, 2, 8, 0, -1, 2 ** 31, undefined]),
          p: pick([1, 2, 0, -1, undefined]),
          maxmem: pick([undefined, 0, 1024, 32 << 20, -1, Infinity]),
        }) : junk()]
      case 'pbkdf2':
        // Never a valid iteration count above 1000 (2^31-1 iterations would take minutes).
        return [chance(0.85) ? mutateObject({
          password: data(),
          salt: data(),
          iterations: pick([1, 10, 1000, 0, -1, 2 ** 31, 1.5, NaN, 10n]),
          keylen: pick([0, 1, 32, 64, -1, 2 ** 20 + 1, NaN]),
          digest: pick(['sha1', 'sha256', 'sha384', 'sha512', 'md5', 'SHA256', '', undefined, 5]),
        }) : junk()]
      case 'csv.parse':
        return [csvInput()]
      case 'json.parse':
        return [jsonInput()]
      case 'image.metadata':
      case 'image.transform':
        return chance(0.9) ? imageInput(kernel) : [junk()]
      default:
        if (HASH.has(kernel)) {
          const r = rnd()
          if (r < 0.6) return [data()]
          if (r < 0.8) return [mutateObject({ data: data() })]
          return [junk()]
        }
        if (XXH.has(kernel)) {
          const r = rnd()
          if (r < 0.4) return [data()]
          if (r < 0.85) return [mutateObject({ data: data(), seed: chance(0.5) ? pick(weirdNumbers) : pick(weirdBigints) })]
          return [junk()]
        }
        return [junk()]
    }
  }

  const UNKNOWN = ['', 'SHA256', 'sha256 ', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'json', 'csv',
    'bcrypt', 'nope', 'é', '\u0000', 'fib\u0000']
  function kernelName() {
    const r = rnd()
    if (r < 0.1) return pick(['image.metadata', 'image.transform']) // a decoder per call: more of them
    if (r < 0.94) return pick(KERNELS)
    if (r < 0.97) return pick(UNKNOWN)
    if (r < 0.98) return '__panic' // internal: panics on purpose
    return pick([undefined, null, 1, Symbol('k'), {}, ['fib'], { toString: () => 'fib' }, new String('fib')])
  }
  // Kernels whose fulfilled results are checked.
  const CHECKED = new Set(['echo', 'fib', 'image.metadata', 'image.transform'])
  // Password kernels cost milliseconds each: pick them less often.
  const EXPENSIVE = new Set(['bcrypt.hash', 'bcrypt.verify', 'argon2.hash', 'argon2.verify', 'scrypt', 'pbkdf2'])

  // ---- scheduling options --------------------------------------------------------------------
  const timers = new Set()
  function later(fn, ms) {
    const t = setTimeout(() => { timers.delete(t); fn() }, ms)
    timers.add(t)
  }
  // Returns [options, afterCall] where afterCall() runs right after run() returned.
  function options() {
    const r = rnd()
    if (r < 0.4) return [undefined]
    if (r < 0.45) return [pick([null, 1, 'x', true, Symbol('o'), () => {}, throwingGetter()])]
    const o = {}
    if (chance(0.3)) o.priority = chance(0.8) ? pick([0, 1, -1, 1e9, -5.5, 3]) : pick([NaN, Infinity, -Infinity, '1', 1n, null])
    if (chance(0.2)) o.timeout = chance(0.8) ? pick([0, 1, 5, 50, 1000, Infinity]) : pick([NaN, -1, -Infinity, '5', 5n, null])
    if (chance(0.05)) o.retries = pick([0, 1, 2, -1, 101, 1.5, NaN])
    let after
    if (chance(0.4)) {
      if (chance(0.1)) {
        o.signal = pick([null, {}, { aborted: true }, { aborted: false, addEventListener: 1 }, 'signal', new EventTarget()])
      } else {
        const ac = new AbortController()
        o.signal = ac.signal
        const reason = chance(0.2) ? pick([undefined, 42, null, new Error('why'), 'str']) : undefined
        const abort = () => (reason === undefined ? ac.abort() : ac.abort(reason))
        const when = int(7)
        if (when === 0) abort() // already aborted
        else if (when === 1) after = abort // synchronously after the call
        else if (when === 2) after = () => queueMicrotask(abort)
        else if (when === 3) after = () => setImmediate(abort)
        else if (when === 4) after = () => later(abort, int(5))
        else if (when === 5) o.signal = AbortSignal.timeout(int(3))
        // 6: never aborted
      }
    }
    if (chance(0.05)) o.extra = junk()
    return [o, after]
  }

  // ---- tracking ------------------------------------------------------------------------------
  const all = new Map() // id -> { desc, settled }
  let nextId = 0
  const byCode = Object.create(null)
  const failures = []
  let fulfilled = 0
  let rejected = 0
  let calls = 0
  const failureKinds = Object.create(null)
  let failureCount = 0
  const fail = (kind, desc, detail) => {
    failureKinds[kind] = (failureKinds[kind] ?? 0) + 1
    failureCount++
    if (failures.length < 50) failures.push({ kind, desc, detail: String(detail).slice(0, 300) })
  }
  const describe = (v) => {
    try { return describe1(v) } catch { return 'object(throws)' }
  }
  const describe1 = (v) => {
    if (v === null) return 'null'
    if (typeof v === 'string') return v.length <= 16 ? JSON.stringify(v) : `string(${v.length})`
    if (typeof v === 'bigint') return `${v}n`
    if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v)
    if (typeof v !== 'object') return typeof v
    if (ArrayBuffer.isView(v)) {
      const det = v.buffer.byteLength === 0 && !(v.buffer instanceof SharedArrayBuffer) ? ',empty-or-detached' : ''
      return `${v.constructor.name}(${v.buffer instanceof SharedArrayBuffer ? 'shared' : v.buffer.byteLength}${det})`
    }
    if (v instanceof ArrayBuffer) return `ArrayBuffer(${v.byteLength})`
    if (Array.isArray(v)) return `Array(${v.length})`
    try { return `{${Object.keys(v).slice(0, 6).join(',')}}` } catch { return 'object(throws)' }
  }

  // Image kernels' own tally: calls, fulfilled, rejections by code.
  const images = { calls: 0, fulfilled: 0, rejectedByCode: Object.create(null) }
  const IMAGE_KERNELS = new Set(['image.metadata', 'image.transform'])

  function track(promise, desc, check, kernel) {
    if (!(promise instanceof Promise)) {
      fail('not-a-promise', desc, typeof promise)
      return
    }
    const image = IMAGE_KERNELS.has(kernel)
    if (image) images.calls++
    const id = nextId++
    const entry = { desc, settled: false }
    all.set(id, entry)
    const done = () => {
      entry.settled = true
      all.delete(id)
    }
    promise.then((v) => {
      fulfilled++
      if (image) images.fulfilled++
      done()
      if (check && !check(v)) fail('wrong-result', desc, describe(v))
    }, (e) => {
      rejected++
      done()
      if (e === PROXY_ERR || THROWN.includes(e)) {
        byCode['(thrown by an input getter)'] = (byCode['(thrown by an input getter)'] ?? 0) + 1
        return
      }
      if (!(e instanceof Error)) return fail('rejection-not-error', desc, e)
      if (typeof e.code !== 'string') return fail('rejection-without-code', desc, `${e.name}: ${e.message}`)
      byCode[e.code] = (byCode[e.code] ?? 0) + 1
      if (image) images.rejectedByCode[e.code] = (images.rejectedByCode[e.code] ?? 0) + 1
      // Only the internal __panic kernel panics on purpose; a panic anywhere else is a bug
      // caught by the pool (coded, but still a bug).
      if (e.code === 'ERR_POOL_KERNEL_PANIC' && kernel !== undefined && kernel !== '__panic') fail('kernel-panic', desc, e.message)
    })
  }

  function call(pool, batchP = 0.2) {
    const kernel = kernelName()
    const [opts, after] = options()
    calls++
    let p
    let desc
    try {
      if (chance(batchP)) {
        let inputs
        const r = rnd()
        if (r < 0.8) {
          const n = pick([0, 1, 2, 5, 20, 100])
          inputs = []
          for (let i = 0; i < n; i++) inputs.push(input(kernel)[0])
          if (kernel === 'echo' || kernel === 'fib') {
            if (chance(0.05)) inputs = Array.from({ length: 100_000 }, (_, i) => (kernel === 'fib' ? i % 20 : i)) // huge batch
            else if (chance(0.1)) inputs.length += 3 // holes
          }
        } else {
          inputs = pick([undefined, null, 'abc', new Set([1]), { length: 2, 0: 1, 1: 2 }, new Uint8Array(4), junk()])
        }
        desc = `runBatch(${describe(kernel)}, ${describe(inputs)}, ${describe(opts)})`
        p = pool.runBatch(kernel, inputs, opts)
        track(p, desc, undefined, kernel)
        if (after) after()
        return
      } else {
        const [inp, check] = typeof kernel === 'string' ? input(EXPENSIVE.has(kernel) && chance(0.5) ? 'echo' : kernel) : [junk()]
        desc = `run(${describe(kernel)}, ${describe(inp)}, ${describe(opts)})`
        p = pool.run(kernel, inp, opts)
        if (check && typeof kernel === 'string' && KERNELS.includes(kernel) && !EXPENSIVE.has(kernel)) track(p, desc, (v) => (CHECKED.has(kernel) ? check(v) : true), kernel)
        else track(p, desc, undefined, kernel)
        if (after) after()
        return
      }
    } catch (e) {
      fail('sync-throw', desc ?? kernel, e?.stack ?? e)
    }
  }

  // ---- pools ---------------------------------------------------------------------------------
  const main = new WorkerPool({ threads: 2 })
  // Real hashes to mutate for the verify kernels.
  validBcrypt = await main.run('bcrypt.hash', { password: 'pw', cost: 4 })
  validArgon = await main.run('argon2.hash', { password: 'pw', memoryCost: 8, timeCost: 1 })
  for (const f of fixtures) f.meta = await main.run('image.metadata', f.buf).catch(() => undefined)

  let sidePoolsMade = 0
  let ctorThrows = 0
  function randomPoolOptions() {
    const o = {}
    for (const k of ['threads', 'minThreads', 'maxThreads', 'maxQueue', 'timeout', 'idleTimeout', 'retries', 'maxInputBytes', 'monitorInterval']) {
      if (chance(0.3)) o[k] = chance(0.6) ? pick([0, 1, 2, 3, 10, Infinity, 1024, 1025, 100]) : junk()
    }
    if (chance(0.2)) o.limitInputPixels = chance(0.6) ? pick([0, 1, 1000, 1e6, true, false]) : junk()
    if (chance(0.5)) o.threads = 1 + int(2) // keep most side pools small
    if (chance(0.05)) return pick([null, 1, 'x', [], throwingGetter()])
    return o
  }
  // Synchronous methods (resize from the planned API, stats, resetStats): may throw, but only
  // coded errors, and only for bad arguments.
  function syncOp(pool) {
    const op = pick(['resize', 'stats', 'resetStats'])
    if (typeof pool[op] !== 'function') return
    const arg = op === 'resize' ? (chance(0.7) ? { minThreads: pick([0, 1, 2, 3, -1, 1025, NaN, junk()]), maxThreads: pick([1, 2, 4, 0, 1025, Infinity, junk()]) } : junk()) : undefined
    try {
      pool[op](arg)
    } catch (e) {
      if (!(e instanceof Error) || typeof e.code !== 'string') fail('sync-method-throw-without-code', `${op}(${describe(arg)})`, e)
    }
  }
  function sidePool() {
    let pool
    try {
      pool = new WorkerPool(randomPoolOptions())
    } catch (e) {
      ctorThrows++
      // A constructor throws synchronously by design; what an options getter threw may pass through.
      if (e !== PROXY_ERR && !THROWN.includes(e) && (!(e instanceof Error) || typeof e.code !== 'string')) fail('ctor-throw-without-code', 'new WorkerPool', e)
      return
    }
    sidePoolsMade++
    if (typeof pool.on === 'function') pool.on('error', () => {})
    const n = 5 + int(100)
    for (let i = 0; i < n; i++) {
      call(pool, 0.3)
      if (chance(0.05)) syncOp(pool)
    }
    // Close or destroy at a random moment, sometimes both, sometimes repeatedly, sometimes never
    // (the pool is then collected unclosed).
    const end = () => {
      const r = rnd()
      const ops = r < 0.35 ? ['close'] : r < 0.7 ? ['destroy'] : r < 0.85 ? ['close', 'destroy', 'close'] : []
      for (const op of ops) {
        let p
        try { p = pool[op]() } catch (e) { fail('sync-throw', `${op}()`, e); continue }
        track(p, `${op}()`)
        for (let i = int(5); i > 0; i--) call(pool, 0.3) // runs racing the close
      }
    }
    const when = int(4)
    if (when === 0) end()
    else if (when === 1) setImmediate(end)
    else if (when === 2) later(end, int(10))
    else {
      setImmediate(end)
      later(() => { for (let i = 0; i < 10; i++) call(pool, 0.3) }, int(5))
    }
  }

  // ---- the run -------------------------------------------------------------------------------
  const WINDOW = 2000
  const started = Date.now()
  let lastReport = started
  const unhandled = []
  process.on('unhandledRejection', (e) => unhandled.push(String(e?.stack ?? e).slice(0, 300)))
  const turn = () => new Promise((r) => setImmediate(r))

  async function settleWindow(ms) {
    const deadline = Date.now() + ms
    let warned = false
    while (all.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5))
      if (!warned && Date.now() > deadline - ms + 15_000) {
        warned = true
        process.stderr.write(`  slow: ${all.size} pending after 15 s: ${[...all.values()].slice(0, 5).map((e) => e.desc).join('; ')}\n`)
      }
    }
    return all.size === 0
  }

  while (calls < args.calls) {
    const target = Math.min(args.calls, calls + WINDOW)
    while (calls < target) {
      if (chance(0.002)) sidePool()
      else call(main)
      if (chance(0.02)) await turn() // let abort timers and settlements interleave with submits
    }
    // Bound memory: wait for this window before the next (a hang shows up as a timeout here).
    if (!(await settleWindow(60_000))) break
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now()
      process.stderr.write(`  ${calls} calls, ${fulfilled} fulfilled, ${rejected} rejected, ${((Date.now() - started) / 1000).toFixed(0)} s, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB\n`)
    }
  }
  await settleWindow(60_000)
  const unsettled = [...all.values()].map((e) => e.desc)
  for (const d of unsettled.slice(0, 20)) fail('unsettled', d, 'never settled')

  // The pool still works.
  let fib20
  try {
    let t
    fib20 = await Promise.race([main.run('fib', 20), new Promise((r) => { t = setTimeout(() => r('timeout'), 10_000) })])
    clearTimeout(t)
  } catch (e) {
    fib20 = `rejected ${e?.code}`
  }
  if (fib20 !== 6765) fail('fib20-after', 'run(fib, 20)', fib20)
  for (const u of unhandled) fail('unhandled-rejection', '', u)
  for (const t of timers) clearTimeout(t)
  await main.close()

  const summary = {
    seed: args.seed,
    calls,
    fulfilled,
    rejected,
    rejectedByCode: byCode,
    sidePools: sidePoolsMade,
    ctorThrows,
    unsettled: unsettled.length,
    images,
    fib20,
    failureKinds,
    failureCount,
    failures,
    ms: Date.now() - started,
  }
  console.log(SUMMARY + JSON.stringify(summary))
  if (!args.json) {
    console.log(`calls ${calls} (fulfilled ${fulfilled}, rejected ${rejected}), side pools ${sidePoolsMade} (+${ctorThrows} constructor throws), unsettled ${unsettled.length}, fib(20) ${fib20}, ${(summary.ms / 1000).toFixed(1)} s`)
    console.log(`image kernels: ${images.calls} calls, ${images.fulfilled} fulfilled, rejections ${JSON.stringify(images.rejectedByCode)}`)
    console.log('rejections by code:')
    for (const [c, n] of Object.entries(byCode).sort((a, b) => b[1] - a[1])) console.log(`  ${c.padEnd(34)} ${n}`)
    if (failureCount) console.log(`FAILURES (${failureCount}: ${JSON.stringify(failureKinds)}; first 50):\n${failures.slice(0, 50).map((f) => `  ${f.kind}: ${f.desc} -> ${f.detail}`).join('\n')}`)
  }
  // Exit on our own: a pool that keeps the process alive would show up as a hang in the parent.
  process.exitCode = failureCount ? 1 : 0
}

const args = parseArgs(process.argv.slice(2))
if (args.child) {
  driver(args).catch((e) => {
    console.error(e)
    process.exit(2)
  })
} else {
  parent(args)
}
