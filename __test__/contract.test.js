'use strict'
// The API surface: constructor options, read-only properties, WorkerPool.kernels, argument
// validation of run()/runBatch() (always a rejection with a code, never a synchronous throw)
// and runBatch() semantics.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const os = require('node:os')
const fs = require('node:fs')
const path = require('node:path')
const { WorkerPool, AbortError } = require('..')
const { fib, rejectsWith, noSyncThrow, withPool } = require('./helpers')

describe('module exports', () => {
  it('exports WorkerPool and AbortError', () => {
    assert.equal(typeof WorkerPool, 'function')
    assert.equal(typeof AbortError, 'function')
    const e = new AbortError()
    assert.ok(e instanceof Error)
    assert.equal(e.name, 'AbortError')
    assert.equal(e.code, 'ABORT_ERR')
  })

  const PUBLIC = ['echo', 'fib', 'md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512', 'sha3-256', 'sha3-512',
    'blake2b512', 'blake3', 'hmac', 'xxh32', 'xxh64', 'xxh3', 'xxh128', 'crc32', 'crc32c',
    'bcrypt.hash', 'bcrypt.verify', 'argon2.hash', 'argon2.verify', 'scrypt', 'pbkdf2', 'csv.parse', 'json.parse',
    'image.metadata', 'image.transform']

  it('WorkerPool.kernels lists exactly the public kernels', () => {
    assert.deepEqual(WorkerPool.kernels, PUBLIC)
    assert.ok(!WorkerPool.kernels.includes('__panic'))
  })

  it('lib/index.d.ts types exactly the kernels the addon registers', () => {
    // The `Kernels` interface is written by hand; a kernel added to the registry without its
    // entry (or renamed on one side only) must fail here, not in a user's type check.
    const dts = fs.readFileSync(path.join(__dirname, '..', 'lib', 'index.d.ts'), 'utf8')
    const body = /^export interface Kernels \{\n([\s\S]*?)^\}/m.exec(dts)
    assert.ok(body, 'lib/index.d.ts declares interface Kernels')
    const typed = [...body[1].matchAll(/^  (?:'([^']+)'|([\w]+)): \{/gm)].map((m) => m[1] ?? m[2])
    assert.deepEqual([...typed].sort(), [...WorkerPool.kernels].sort())
  })

  it('WorkerPool.kernels cannot be corrupted by callers', () => {
    const k = WorkerPool.kernels
    try { k.push('evil') } catch { /* a frozen array is fine too */ }
    assert.deepEqual(WorkerPool.kernels, PUBLIC)
  })
})

describe('constructor options', () => {
  const created = []
  const make = (opts) => {
    const p = new WorkerPool(opts)
    created.push(p)
    return p
  }
  after(() => Promise.all(created.map((p) => p.destroy())))

  it('defaults threads to the available parallelism', () => {
    assert.equal(make().threads, os.availableParallelism())
    assert.equal(make({}).threads, os.availableParallelism())
    assert.equal(make({ threads: undefined }).threads, os.availableParallelism())
  })

  it('accepts valid values', () => {
    assert.equal(make({ threads: 1 }).threads, 1)
    assert.equal(make({ threads: 3, maxQueue: 0 }).threads, 3)
    assert.equal(make({ threads: 1, maxQueue: Infinity, timeout: 1000 }).threads, 1)
    assert.equal(make({ threads: 1, maxQueue: 10, timeout: 0.5 }).threads, 1)
  })

  it('accepts the maximum of 1024 threads', async () => {
    const p = new WorkerPool({ threads: 1024 })
    try {
      assert.equal(p.threads, 1024)
      assert.equal(await p.run('fib', 10), 55)
    } finally {
      await p.destroy()
    }
  })

  const invalid = [
    // [options, ErrorClass, code, option name in the message]
    [{ threads: 0 }, RangeError, 'ERR_OUT_OF_RANGE', 'threads'],
    [{ threads: 1.5 }, RangeError, 'ERR_OUT_OF_RANGE', 'threads'],
    [{ threads: -1 }, RangeError, 'ERR_OUT_OF_RANGE', 'threads'],
    [{ threads: NaN }, RangeError, 'ERR_OUT_OF_RANGE', 'threads'],
    [{ threads: Infinity }, RangeError, 'ERR_OUT_OF_RANGE', 'threads'],
    [{ threads: 1025 }, RangeError, 'ERR_OUT_OF_RANGE', 'threads'],
    [{ threads: '2' }, TypeError, 'ERR_INVALID_ARG_TYPE', 'threads'],
    [{ threads: null }, TypeError, 'ERR_INVALID_ARG_TYPE', 'threads'],
    [{ threads: 2n }, TypeError, 'ERR_INVALID_ARG_TYPE', 'threads'],
    [{ maxQueue: -1 }, RangeError, 'ERR_OUT_OF_RANGE', 'maxQueue'],
    [{ maxQueue: 1.5 }, RangeError, 'ERR_OUT_OF_RANGE', 'maxQueue'],
    [{ maxQueue: NaN }, RangeError, 'ERR_OUT_OF_RANGE', 'maxQueue'],
    [{ maxQueue: -Infinity }, RangeError, 'ERR_OUT_OF_RANGE', 'maxQueue'],
    [{ maxQueue: 'x' }, TypeError, 'ERR_INVALID_ARG_TYPE', 'maxQueue'],
    [{ timeout: -5 }, RangeError, 'ERR_OUT_OF_RANGE', 'timeout'],
    [{ timeout: NaN }, RangeError, 'ERR_OUT_OF_RANGE', 'timeout'],
    [{ timeout: 'x' }, TypeError, 'ERR_INVALID_ARG_TYPE', 'timeout'],
    [5, TypeError, 'ERR_INVALID_ARG_TYPE', 'options'],
    [null, TypeError, 'ERR_INVALID_ARG_TYPE', 'options'],
    ['threads', TypeError, 'ERR_INVALID_ARG_TYPE', 'options'],
  ]
  for (const [opts, Ctor, code, name] of invalid) {
    const label = typeof opts === 'object' && opts !== null
      ? Object.entries(opts).map(([k, v]) => `${k}: ${typeof v === 'string' ? `'${v}'` : String(v)}`).join()
      : String(opts)
    it(`throws ${Ctor.name} ${code} for ${label}`, () => {
      assert.throws(() => new WorkerPool(opts), (e) => {
        assert.ok(e instanceof Ctor, `expected ${Ctor.name}, got ${e.constructor.name}`)
        assert.equal(e.code, code)
        assert.match(e.message, new RegExp(name))
        return true
      })
    })
  }
})

describe('read-only properties and stats()', () => {
  let pool
  before(() => { pool = new WorkerPool({ threads: 2 }) })
  after(() => pool.destroy())

  it('a fresh pool reports idle state', () => {
    assert.equal(pool.threads, 2)
    assert.equal(pool.queueSize, 0)
    assert.equal(pool.running, 0)
    assert.equal(pool.completed, 0)
    assert.equal(pool.closed, false)
    assert.equal(typeof pool.utilization, 'number')
    assert.ok(pool.utilization >= 0 && pool.utilization <= 1)
  })

  for (const prop of ['threads', 'queueSize', 'running', 'completed', 'utilization', 'closed']) {
    it(`${prop} cannot be assigned`, () => {
      const before = pool[prop]
      assert.throws(() => { pool[prop] = 123 }, TypeError)
      assert.equal(pool[prop], before)
    })
  }

  it('stats() has every counter and both latency summaries', async () => {
    await pool.run('fib', 20)
    const s = pool.stats()
    for (const k of ['threads', 'queueSize', 'running', 'completed', 'failed', 'cancelled', 'timedOut', 'utilization']) {
      assert.equal(typeof s[k], 'number', `stats().${k}`)
    }
    assert.equal(s.closed, false)
    for (const k of ['runTime', 'waitTime']) {
      for (const f of ['count', 'mean', 'p50', 'p90', 'p99', 'max']) {
        assert.equal(typeof s[k][f], 'number', `stats().${k}.${f}`)
        assert.ok(s[k][f] >= 0, `stats().${k}.${f} >= 0`)
      }
      assert.ok(s[k].p50 <= s[k].max, `${k}.p50 <= max`)
    }
    assert.equal(s.threads, 2)
    assert.equal(s.completed, 1)
    assert.ok(s.runTime.count > 0)
  })
})

describe('run() argument validation: rejections, never synchronous throws', () => {
  let pool
  before(() => { pool = new WorkerPool({ threads: 1 }) })
  after(() => pool.destroy())

  const run = (...args) => noSyncThrow(() => pool.run(...args), `run(${args.map(String).join(', ')})`)

  it('unknown kernel → ERR_POOL_UNKNOWN_KERNEL', async () => {
    for (const name of ['nope', '', 'toString', '__proto__', 'constructor', 'FIB']) {
      await rejectsWith(run(name, 1), Error, 'ERR_POOL_UNKNOWN_KERNEL')
    }
  })

  it('non-string kernel → TypeError ERR_INVALID_ARG_TYPE', async () => {
    for (const k of [1, null, undefined, {}, ['fib'], Symbol('fib'), () => 'fib']) {
      await rejectsWith(run(k, 1), TypeError, 'ERR_INVALID_ARG_TYPE')
    }
  })

  it('internal kernels are callable though not listed', async () => {
    await rejectsWith(run('__panic', null), Error, 'ERR_POOL_KERNEL_PANIC')
  })

  const badOptions = [
    [{ priority: NaN }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ priority: Infinity }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ priority: 'x' }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [{ priority: null }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [{ timeout: -1 }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ timeout: NaN }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ timeout: 'x' }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [{ signal: {} }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [{ signal: 'abort' }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [{ signal: null }, TypeError, 'ERR_INVALID_ARG_TYPE'],
  ]
  for (const [opts, Ctor, code] of badOptions) {
    const [[k, v]] = Object.entries(opts)
    it(`run option ${k}: ${typeof v === 'string' ? `'${v}'` : String(v)} → ${Ctor.name} ${code}`, async () => {
      const err = await rejectsWith(run('fib', 1, opts), Ctor, code)
      assert.match(err.message, new RegExp(k))
    })
  }

  it('wrong input type → TypeError, out-of-range input → RangeError', async () => {
    await rejectsWith(run('fib', '5'), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(run('fib', 79), RangeError, 'ERR_OUT_OF_RANGE')
  })

  it('every odd call rejects with an Error that has a code (fuzz)', async () => {
    const kernels = ['echo', 'fib', 'sha256', 'nope', 1, undefined]
    const inputs = [undefined, null, -1, 1e9, NaN, 'x', {}, [], 1n, Symbol('s'), Buffer.alloc(1)]
    const options = [undefined, null, 5, 'x', {}, { priority: -1e300 }, { timeout: Infinity }, { signal: 1 }]
    for (const k of kernels) {
      for (const input of inputs) {
        for (const opts of options) {
          const p = noSyncThrow(() => pool.run(k, input, opts), 'run()')
          assert.ok(p instanceof Promise)
          await p.then(() => {}, (e) => {
            assert.ok(e instanceof Error, `${String(k)}/${String(input)}: not an Error`)
            assert.equal(typeof e.code, 'string', `${String(k)}/${String(input)}: no code (${e.message})`)
          })
        }
      }
    }
    // ...and the pool still serves.
    assert.equal(await pool.run('fib', 20), fib(20))
  })
})

describe('runBatch()', () => {
  let pool
  before(() => { pool = new WorkerPool({ threads: 2 }) })
  after(() => pool.destroy())

  const runBatch = (...args) => noSyncThrow(() => pool.runBatch(...args), 'runBatch()')

  it('returns results in input order', async () => {
    const inputs = [30, 1, 25, 0, 10, 2, 28]
    assert.deepEqual(await runBatch('fib', inputs), inputs.map(fib))
  })

  it('an empty array resolves to []', async () => {
    assert.deepEqual(await runBatch('fib', []), [])
    assert.deepEqual(await runBatch('echo', [], { priority: 3 }), [])
  })

  it('one bad input rejects the whole batch with that error', async () => {
    await rejectsWith(runBatch('fib', [1, 2, 'x']), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(runBatch('fib', [1, 79]), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(runBatch('echo', [1, {}, 3]), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(runBatch('sha256', ['a', 5]), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(runBatch('__panic', [1, 2]), Error, 'ERR_POOL_KERNEL_PANIC')
  })

  it('non-array inputs → TypeError ERR_INVALID_ARG_TYPE', async () => {
    for (const inputs of [undefined, null, 5, 'abc', { length: 1, 0: 1 }, new Set([1]), Buffer.from('ab')]) {
      await rejectsWith(runBatch('echo', inputs), TypeError, 'ERR_INVALID_ARG_TYPE')
    }
  })

  it('validates kernel and options like run()', async () => {
    await rejectsWith(runBatch('nope', [1]), Error, 'ERR_POOL_UNKNOWN_KERNEL')
    await rejectsWith(runBatch(7, [1]), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(runBatch('fib', [1], { priority: NaN }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(runBatch('fib', [1], { timeout: -1 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(runBatch('fib', [1], { signal: {} }), TypeError, 'ERR_INVALID_ARG_TYPE')
  })

  it('100k echo numbers come back exactly, in order', async () => {
    const inputs = Array.from({ length: 100_000 }, (_, i) => (i % 3 === 0 ? -i / 7 : i))
    const out = await runBatch('echo', inputs)
    assert.equal(out.length, inputs.length)
    assert.deepEqual(out, inputs)
  })

  it('100k fib(i % 25) are all correct', async () => {
    const inputs = Array.from({ length: 100_000 }, (_, i) => i % 25)
    const out = await runBatch('fib', inputs)
    assert.equal(out.length, inputs.length)
    for (let i = 0; i < out.length; i++) {
      if (out[i] !== fib(i % 25)) assert.fail(`fib(${i % 25}) at index ${i}: got ${out[i]}`)
    }
  })

  it('fib of 0..40 mod 25', async () => {
    const inputs = Array.from({ length: 41 }, (_, i) => i % 25)
    assert.deepEqual(await runBatch('fib', inputs), inputs.map(fib))
  })

  it('mixed echo values in a batch', async () => {
    const inputs = [null, true, false, 0, 'héllo ✓', Buffer.from([1, 2, 3]), -1.25]
    assert.deepEqual(await runBatch('echo', inputs), inputs)
  })

  it('batch tasks count in completed', async () => {
    await withPool({ threads: 2 }, async (p) => {
      await p.runBatch('fib', [1, 2, 3, 4, 5])
      assert.equal(p.completed, 5)
      assert.equal(p.stats().completed, 5)
    })
  })
})
