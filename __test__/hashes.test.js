'use strict'
// The content-hash kernels: digests and HMAC byte-equal to node:crypto; BLAKE3, xxHash and
// CRC-32C against the conformance vectors (vendored in testdata/); CRC-32
// against zlib.crc32; seeds, bigint outputs, batches, and typed errors for bad input.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const zlib = require('node:zlib')
const { WorkerPool } = require('..')
const { rejectsWith, withPool, yardstick, TESTDATA } = require('./helpers')

const CONFORMANCE = TESTDATA
const readJson = (rel) => JSON.parse(fs.readFileSync(path.join(CONFORMANCE, rel), 'utf8'))

/** Kernels whose output node:crypto computes with createHash under the same name. */
const NODE_DIGESTS = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512', 'sha3-256', 'sha3-512', 'blake2b512']
const HMAC_ALGORITHMS = ['sha1', 'sha256', 'sha384', 'sha512']
const SEEDED = ['xxh32', 'xxh64', 'xxh3', 'xxh128']
const ALL = [...NODE_DIGESTS, 'blake3', 'hmac', ...SEEDED, 'crc32', 'crc32c']
const SIZES = [0, 1, 63, 64, 65, 1000, 70 * 1024]

const nodeHash = (alg, bytes) => crypto.createHash(alg).update(bytes).digest()
const nodeHmac = (alg, key, bytes) => crypto.createHmac(alg, key).update(bytes).digest()
const u8 = (v) => (ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : new Uint8Array(v))

/** The same bytes as every binary input type the pool accepts. */
function binaryForms(buf) {
  const copy = () => {
    const ab = new ArrayBuffer(buf.length + 8)
    new Uint8Array(ab, 8).set(buf)
    return ab
  }
  const forms = [
    ['Buffer', buf],
    ['Uint8Array', new Uint8Array(copy(), 8, buf.length)],
    ['DataView', new DataView(copy(), 8, buf.length)],
    ['ArrayBuffer', u8(buf).slice().buffer],
  ]
  if (buf.length % 8 === 0) {
    forms.push(['Float64Array', new Float64Array(copy(), 8, buf.length / 8)])
    forms.push(['BigUint64Array', new BigUint64Array(copy(), 8, buf.length / 8)])
  }
  if (buf.length % 2 === 0) forms.push(['Int16Array', new Int16Array(copy(), 8, buf.length / 2)])
  return forms
}

/** A string with 1- to 4-byte UTF-8 characters and a lone surrogate (hashed as U+FFFD). */
const TEXT = 'héllo wörld ✓ 🎉 '.repeat(40) + '\ud800'

let pool
before(() => { pool = new WorkerPool({ threads: 2 }) })
after(() => pool.destroy())

describe('digests equal node:crypto', () => {
  for (const alg of NODE_DIGESTS) {
    it(`${alg}: sizes ${SIZES.join(', ')}`, async () => {
      for (const n of SIZES) {
        const data = crypto.randomBytes(n)
        assert.deepEqual(await pool.run(alg, data), nodeHash(alg, data), `size ${n}`)
      }
    })

    it(`${alg}: every binary type, strings and { data }`, async () => {
      const data = crypto.randomBytes(1000)
      const want = nodeHash(alg, data)
      for (const [label, v] of binaryForms(data)) {
        const out = await pool.run(alg, v)
        assert.ok(Buffer.isBuffer(out), label)
        assert.deepEqual(out, want, label)
      }
      assert.deepEqual(await pool.run(alg, TEXT), nodeHash(alg, Buffer.from(TEXT, 'utf8')))
      assert.deepEqual(await pool.run(alg, ''), nodeHash(alg, Buffer.alloc(0)))
      assert.deepEqual(await pool.run(alg, { data, unknown: 1, seed: 'ignored' }), want)
      assert.deepEqual(await pool.run(alg, { data: TEXT }), nodeHash(alg, Buffer.from(TEXT, 'utf8')))
    })
  }

  it('5 MiB inputs at a byteOffset, plain and as { data } (read in place)', async () => {
    const backing = crypto.randomBytes(5 * 1024 * 1024 + 13)
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 13, 5 * 1024 * 1024)
    const outs = await Promise.all(NODE_DIGESTS.map((alg) => pool.run(alg, view)))
    NODE_DIGESTS.forEach((alg, i) => assert.deepEqual(outs[i], nodeHash(alg, view), alg))
    assert.deepEqual(await pool.run('sha512', { data: view }), nodeHash('sha512', view))
    const dv = new DataView(backing.buffer, backing.byteOffset + 13, view.length)
    assert.deepEqual(await pool.run('md5', { data: dv }), nodeHash('md5', view))
  })
})

describe('hmac equals node:crypto createHmac', () => {
  for (const algorithm of HMAC_ALGORITHMS) {
    it(`${algorithm}: sizes, key lengths and input types`, async () => {
      for (const n of SIZES) {
        const key = crypto.randomBytes(n % 200)
        const data = crypto.randomBytes(n)
        const out = await pool.run('hmac', { algorithm, key, data })
        assert.deepEqual(out, nodeHmac(algorithm, key, data), `size ${n}`)
      }
      const data = crypto.randomBytes(1000)
      const key = crypto.randomBytes(64)
      const want = nodeHmac(algorithm, key, data)
      for (const [label, v] of binaryForms(data)) {
        assert.deepEqual(await pool.run('hmac', { algorithm, key, data: v }), want, `data as ${label}`)
      }
      for (const [label, k] of binaryForms(key)) {
        assert.deepEqual(await pool.run('hmac', { algorithm, key: k, data }), want, `key as ${label}`)
      }
      const long = crypto.randomBytes(300) // longer than any block: hashed first
      assert.deepEqual(await pool.run('hmac', { algorithm, key: long, data }), nodeHmac(algorithm, long, data))
      assert.deepEqual(await pool.run('hmac', { algorithm, key: 'kéy', data: TEXT, extra: true }),
        nodeHmac(algorithm, Buffer.from('kéy'), Buffer.from(TEXT, 'utf8')))
    })
  }

  it('5 MiB data at a byteOffset', async () => {
    const backing = crypto.randomBytes(5 * 1024 * 1024 + 5)
    const data = backing.subarray(5)
    const key = crypto.randomBytes(32)
    assert.deepEqual(await pool.run('hmac', { algorithm: 'sha256', key, data }), nodeHmac('sha256', key, data))
  })
})

describe('blake3 (official vectors)', () => {
  it('all 35 lengths: the first 32 bytes of `hash`', async () => {
    const { cases } = readJson('BLAKE3/test_vectors.json')
    assert.equal(cases.length, 35)
    const inputs = cases.map((c) => Uint8Array.from({ length: c.input_len }, (_, i) => i % 251))
    const outs = await pool.runBatch('blake3', inputs)
    cases.forEach((c, i) => assert.equal(outs[i].toString('hex'), c.hash.slice(0, 64), `len ${c.input_len}`))
  })

  it('is the same for every input type and stable on 5 MiB at an offset', async () => {
    const data = crypto.randomBytes(1000)
    const want = await pool.run('blake3', data)
    assert.equal(want.length, 32)
    for (const [label, v] of binaryForms(data)) assert.deepEqual(await pool.run('blake3', v), want, label)
    const backing = crypto.randomBytes(5 * 1024 * 1024 + 3)
    const big = backing.subarray(3)
    assert.deepEqual(await pool.run('blake3', big), await pool.run('blake3', Buffer.from(big)))
  })
})

describe('xxHash (reference sanity vectors)', () => {
  const v = readJson('xxhash/xxhash_sanity_vectors.json')
  const PRIME64 = 11400714785074694797n
  const buf = Buffer.from(v.input.buffer_hex, 'hex')
  const cases = {
    xxh32: v.tests.XXH32.map((c) => [c.len, c.seed, Number.parseInt(c.hash, 16)]),
    xxh64: v.tests.XXH64.map((c) => [c.len, c.seed, BigInt(`0x${c.hash}`)]),
    xxh3: v.tests.XXH3_64bits_withSeed.map((c) => [c.len, c.seed, BigInt(`0x${c.hash}`)]),
    xxh128: v.tests.XXH3_128bits_withSeed.map((c) => [c.len, c.seed, BigInt(`0x${c.high64}${c.low64}`)]),
  }

  for (const kernel of SEEDED) {
    it(`${kernel}: every vector, seed as bigint and (when safe) as number`, async () => {
      assert.ok(cases[kernel].length > 0)
      for (const [len, seed, want] of cases[kernel]) {
        const data = buf.subarray(0, len)
        // JSON.parse rounds seeds above 2^53 (PRIME64); the source text has them exactly.
        const exact = Number.isSafeInteger(seed) ? BigInt(seed) : PRIME64
        assert.ok(Number.isSafeInteger(seed) || Math.abs(seed - Number(PRIME64)) < 4096)
        const out = await pool.run(kernel, { data, seed: exact })
        assert.equal(typeof out, kernel === 'xxh32' ? 'number' : 'bigint')
        assert.equal(out, want, `len ${len} seed ${exact}`)
        if (Number.isSafeInteger(seed)) {
          assert.equal(await pool.run(kernel, { data, seed }), want, `len ${len} seed ${seed} (number)`)
        }
        if (seed === 0) assert.equal(await pool.run(kernel, data), want, `len ${len} unseeded`)
      }
    })
  }

  it('the vectors file carries PRIME64 seeds exactly', () => {
    const text = fs.readFileSync(path.join(CONFORMANCE, 'xxhash/xxhash_sanity_vectors.json'), 'utf8')
    assert.ok(text.includes(`"seed": ${PRIME64}`) || text.includes(`"seed":${PRIME64}`))
  })

  it('outputs: u32 numbers and non-negative bigints; seeds 0, 0n and none agree', async () => {
    const data = crypto.randomBytes(100)
    for (const kernel of SEEDED) {
      const plain = await pool.run(kernel, data)
      if (kernel === 'xxh32') {
        assert.ok(Number.isInteger(plain) && plain >= 0 && plain <= 0xffffffff)
      } else {
        assert.equal(typeof plain, 'bigint')
        assert.ok(plain >= 0n && plain < (kernel === 'xxh128' ? 2n ** 128n : 2n ** 64n))
      }
      assert.equal(await pool.run(kernel, { data, seed: 0 }), plain)
      assert.equal(await pool.run(kernel, { data, seed: 0n }), plain)
      assert.equal(await pool.run(kernel, { data }), plain)
      assert.equal(await pool.run(kernel, { data, seed: 7 }), await pool.run(kernel, { data, seed: 7n }))
      assert.notEqual(await pool.run(kernel, { data, seed: 7 }), plain)
    }
    // The largest seeds each width takes.
    await pool.run('xxh32', { data, seed: 2 ** 32 - 1 })
    await pool.run('xxh32', { data, seed: 2n ** 32n - 1n })
    await pool.run('xxh64', { data, seed: Number.MAX_SAFE_INTEGER })
    await pool.run('xxh128', { data, seed: 2n ** 64n - 1n })
  })

  it('long inputs (5 MiB, streamed in blocks) are the same for every input type', async () => {
    const backing = crypto.randomBytes(5 * 1024 * 1024 + 1)
    const big = backing.subarray(1)
    for (const kernel of SEEDED) {
      const a = await pool.run(kernel, { data: big, seed: 3 })
      assert.equal(await pool.run(kernel, { data: new DataView(big.buffer, big.byteOffset, big.length), seed: 3n }), a)
    }
  })
})

describe('crc32 and crc32c', () => {
  const v = readJson('crc32/crc32_vectors.json')

  it('check values of CRC-32/ISO-HDLC and CRC-32/ISCSI', async () => {
    const model = (name) => v.reveng_catalogue.models.find((m) => m.name === name)
    const input = v.reveng_catalogue.check_input_ascii
    assert.equal(await pool.run('crc32', input), Number(model('CRC-32/ISO-HDLC').check))
    assert.equal(await pool.run('crc32c', input), Number(model('CRC-32/ISCSI').check))
  })

  it('RFC 3720 CRC-32C examples and the Go golden table', async () => {
    for (const c of v.rfc3720_crc32c.vectors) {
      assert.equal(await pool.run('crc32c', Buffer.from(c.data_hex, 'hex')), Number.parseInt(c.crc32c, 16), c.description)
    }
    const golden = v.go_hash_crc32_golden.vectors
    const ieee = await pool.runBatch('crc32', golden.map((c) => c.input))
    const cast = await pool.runBatch('crc32c', golden.map((c) => ({ data: c.input })))
    golden.forEach((c, i) => {
      assert.equal(ieee[i], Number.parseInt(c.crc32_iso_hdlc, 16), JSON.stringify(c.input))
      assert.equal(cast[i], Number.parseInt(c.crc32c_iscsi, 16), JSON.stringify(c.input))
    })
  })

  it('crc32 equals zlib.crc32 (or the vectors on Node without it)', { skip: typeof zlib.crc32 !== 'function' && 'zlib.crc32 needs Node 20.15+' }, async () => {
    const backing = crypto.randomBytes(5 * 1024 * 1024 + 7)
    for (const n of [...SIZES, 5 * 1024 * 1024]) {
      const data = backing.subarray(7, 7 + n)
      const out = await pool.run('crc32', data)
      assert.equal(typeof out, 'number')
      assert.equal(out, zlib.crc32(data), `size ${n}`)
    }
    for (const [label, f] of binaryForms(backing.subarray(0, 1000))) {
      assert.equal(await pool.run('crc32', f), zlib.crc32(backing.subarray(0, 1000)), label)
    }
    assert.equal(await pool.run('crc32', TEXT), zlib.crc32(Buffer.from(TEXT, 'utf8')))
  })

  it('crc32c is the same on 5 MiB at an offset as on a copy', async () => {
    const backing = crypto.randomBytes(5 * 1024 * 1024 + 7)
    const big = backing.subarray(7)
    const out = await pool.run('crc32c', big)
    assert.ok(Number.isInteger(out) && out >= 0 && out <= 0xffffffff)
    assert.equal(await pool.run('crc32c', Buffer.from(big)), out)
  })
})

describe('runBatch', () => {
  it('sha256 and md5 over mixed inputs, in order', async () => {
    const inputs = [crypto.randomBytes(10), 'abc', new Uint16Array([1, 2, 3]), { data: crypto.randomBytes(70 * 1024) }, crypto.randomBytes(0)]
    const bytes = inputs.map((x) => (typeof x === 'string' ? Buffer.from(x) : ArrayBuffer.isView(x) ? u8(x) : x.data))
    for (const alg of ['sha256', 'md5']) {
      const outs = await pool.runBatch(alg, inputs)
      assert.equal(outs.length, inputs.length)
      outs.forEach((o, i) => assert.deepEqual(o, nodeHash(alg, bytes[i]), `${alg} ${i}`))
    }
  })

  it('many inputs, hmac and seeded objects', async () => {
    const many = Array.from({ length: 500 }, (_, i) => crypto.randomBytes(i))
    const outs = await pool.runBatch('sha1', many)
    outs.forEach((o, i) => assert.deepEqual(o, nodeHash('sha1', many[i])))
    const key = crypto.randomBytes(16)
    const macs = await pool.runBatch('hmac', many.slice(0, 50).map((data) => ({ algorithm: 'sha512', key, data })))
    macs.forEach((o, i) => assert.deepEqual(o, nodeHmac('sha512', key, many[i])))
    const seeded = await pool.runBatch('xxh64', many.slice(0, 50).map((data, seed) => ({ data, seed })))
    for (let i = 0; i < 50; i++) assert.equal(seeded[i], await pool.run('xxh64', { data: many[i], seed: BigInt(i) }))
  })

  it('a bad element rejects the batch with its index', async () => {
    const err = await rejectsWith(pool.runBatch('xxh3', ['a', { data: 'b', seed: -1 }]), RangeError, 'ERR_OUT_OF_RANGE')
    assert.match(err.message, /inputs\[1\]/)
    await rejectsWith(pool.runBatch('md5', ['a', 5]), TypeError, 'ERR_INVALID_ARG_TYPE')
  })
})

describe('bad input: typed errors, and the pool keeps serving', () => {
  const BAD_TYPES = [['a number', 5], ['null', null], ['undefined', undefined], ['a boolean', true],
    ['a bigint', 1n], ['a symbol', Symbol('s')], ['an object without data', {}], ['an array', [1, 2]],
    ['{ data: number }', { data: 5 }], ['{ data: null }', { data: null }], ['{ data: array }', { data: [1] }]]

  for (const kernel of ALL.filter((k) => k !== 'hmac')) {
    it(`${kernel}: wrong types → TypeError ERR_INVALID_ARG_TYPE`, async () => {
      for (const [label, v] of BAD_TYPES) {
        await rejectsWith(pool.run(kernel, v), TypeError, 'ERR_INVALID_ARG_TYPE').catch((e) => {
          throw new Error(`${kernel} with ${label}: ${e.message}`)
        })
      }
      assert.ok(await pool.run(kernel, 'still serving') !== undefined)
    })
  }

  for (const kernel of SEEDED) {
    it(`${kernel}: bad seeds`, async () => {
      const max = kernel === 'xxh32' ? 2n ** 32n : 2n ** 64n
      const range = [NaN, -1, 1.5, 2 ** 53, Infinity, -Infinity, -0.5, -1n, max, 2n ** 200n, -(2n ** 200n)]
      if (kernel === 'xxh32') range.push(2 ** 32)
      for (const seed of range) {
        await rejectsWith(pool.run(kernel, { data: 'x', seed }), RangeError, 'ERR_OUT_OF_RANGE')
      }
      for (const seed of ['1', null, true, {}, [1], Symbol('s'), Buffer.alloc(1)]) {
        await rejectsWith(pool.run(kernel, { data: 'x', seed }), TypeError, 'ERR_INVALID_ARG_TYPE')
      }
      await rejectsWith(pool.run(kernel, { seed: 1 }), TypeError, 'ERR_INVALID_ARG_TYPE')
      assert.notEqual(await pool.run(kernel, { data: 'x', seed: 1 }), undefined)
    })
  }

  it('hmac: bad algorithm, key, data or shape', async () => {
    const ok = { algorithm: 'sha256', key: 'k', data: 'd' }
    for (const algorithm of ['md5', 'sha3-256', 'SHA-256', '', 'sha256 ']) {
      await rejectsWith(pool.run('hmac', { ...ok, algorithm }), RangeError, 'ERR_OUT_OF_RANGE')
    }
    for (const algorithm of [undefined, null, 256, Buffer.from('sha256'), 1n]) {
      await rejectsWith(pool.run('hmac', { ...ok, algorithm }), TypeError, 'ERR_INVALID_ARG_TYPE')
    }
    for (const key of [undefined, null, 5, {}, [1]]) {
      await rejectsWith(pool.run('hmac', { ...ok, key }), TypeError, 'ERR_INVALID_ARG_TYPE')
    }
    for (const data of [undefined, null, 5, {}]) {
      await rejectsWith(pool.run('hmac', { ...ok, data }), TypeError, 'ERR_INVALID_ARG_TYPE')
    }
    for (const v of ['abc', Buffer.from('abc'), null, 5, undefined]) {
      await rejectsWith(pool.run('hmac', v), TypeError, 'ERR_INVALID_ARG_TYPE')
    }
    assert.deepEqual(await pool.run('hmac', ok), nodeHmac('sha256', 'k', 'd'))
  })

  it('detached data or key → TypeError ERR_INVALID_STATE', async () => {
    const detached = () => {
      const ab = new ArrayBuffer(8)
      structuredClone(ab, { transfer: [ab] })
      return ab
    }
    await rejectsWith(pool.run('xxh64', { data: detached() }), TypeError, 'ERR_INVALID_STATE')
    await rejectsWith(pool.run('hmac', { algorithm: 'sha1', key: detached(), data: 'x' }), TypeError, 'ERR_INVALID_STATE')
    assert.equal(await pool.run('crc32', 'a'), zlib.crc32 ? zlib.crc32('a') : 0xe8b7be43)
  })

  it('a throwing getter rejects with what it threw (run and runBatch)', async () => {
    const boom = new Error('boom')
    const bad = { get data() { throw boom } }
    assert.equal(await pool.run('md5', bad).catch((e) => e), boom)
    assert.equal(await pool.runBatch('xxh3', ['a', bad]).catch((e) => e), boom)
    const badKey = { algorithm: 'sha1', data: 'x', get key() { throw boom } }
    assert.equal(await pool.run('hmac', badKey).catch((e) => e), boom)
    assert.deepEqual(await pool.run('md5', 'a'), nodeHash('md5', Buffer.from('a')))
  })

  it('a long hash stops at its timeout, between blocks', () => withPool({ threads: 1 }, async (one) => {
    const big = Buffer.alloc(64 * 1024 * 1024, 1)
    // The stopped hash frees the only thread before a hash of half its data, started at the
    // same time on another pool, is done; one that ran through all 64 MiB could not.
    const ruler = yardstick('sha3-512', big.subarray(0, big.length / 2))
    await rejectsWith(one.run('sha3-512', big, { timeout: 5 }), Error, 'ERR_POOL_TIMEOUT')
    const next = await ruler.before(one.run('sha3-512', 'x'), 'the next hash on the only thread completed')
    assert.deepEqual(next, nodeHash('sha3-512', Buffer.from('x')))
  }))
})
