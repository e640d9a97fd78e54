'use strict'
// The built-in kernels: echo, fib and sha256 (checked against node:crypto).

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { WorkerPool } = require('..')
const { fib, rejectsWith } = require('./helpers')

const sha = (bytes) => crypto.createHash('sha256').update(bytes).digest()
const bytesOf = (view) => Buffer.from(view.buffer, view.byteOffset, view.byteLength)

let pool
before(() => { pool = new WorkerPool({ threads: 2 }) })
after(() => pool.destroy())

describe('echo', () => {
  const values = [
    ['0', 0], ['-0', -0], ['a fraction', -1.25], ['a huge number', 1.7976931348623157e308],
    ['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity],
    ['an empty string', ''], ['an ASCII string', 'hello'], ['a multi-byte string', 'héllo wörld ✓ 𝄞 日本'],
    ['a string with NUL', 'a\0b'], ['a 1 MB string', 'x'.repeat(1 << 20)],
    ['true', true], ['false', false], ['null', null],
  ]
  for (const [label, v] of values) {
    it(`returns ${label} unchanged`, async () => {
      const out = await pool.run('echo', v)
      assert.ok(Object.is(out, v), `got ${String(out).slice(0, 50)}`)
    })
  }

  for (const size of [0, 5, 64 * 1024 + 1, 3 << 20]) {
    it(`returns an equal Buffer of ${size} bytes (a copy)`, async () => {
      const input = crypto.randomBytes(size)
      const out = await pool.run('echo', input)
      assert.ok(Buffer.isBuffer(out), 'result is a Buffer')
      assert.ok(out.equals(input), 'same bytes')
      if (size > 0) {
        out[0] ^= 0xff
        assert.notEqual(out[0], input[0], 'result does not alias the input')
      }
    })
  }

  it('returns a Buffer slice with a byteOffset correctly', async () => {
    const big = crypto.randomBytes(200_000)
    const view = big.subarray(12_345, 150_000)
    assert.ok((await pool.run('echo', view)).equals(view))
  })

  const unsupported = [
    ['undefined', undefined], ['an object', { a: 1 }], ['an array', [1, 2]],
    ['a bigint', 10n], ['a symbol', Symbol('s')], ['a function', () => 1],
  ]
  for (const [label, v] of unsupported) {
    it(`rejects ${label} with TypeError ERR_INVALID_ARG_TYPE`, async () => {
      await rejectsWith(pool.run('echo', v), TypeError, 'ERR_INVALID_ARG_TYPE')
    })
  }
})

describe('fib', () => {
  it('computes 0..35 correctly', async () => {
    for (let n = 0; n <= 35; n++) assert.equal(await pool.run('fib', n), fib(n), `fib(${n})`)
  })

  it('returns a number', async () => {
    assert.equal(typeof (await pool.run('fib', 10)), 'number')
  })

  it('accepts 78, the largest allowed input (naive recursion: stopped by a timeout)', async () => {
    assert.equal(fib(78), 8944394323791464)
    // Accepted means it starts running rather than failing validation; it cannot finish.
    await rejectsWith(pool.run('fib', 78, { timeout: 50 }), Error, 'ERR_POOL_TIMEOUT')
  })

  for (const n of [-1, 79, 1.5, NaN, Infinity, -Infinity, 1e20, -0.5]) {
    it(`rejects ${n} with RangeError ERR_OUT_OF_RANGE`, async () => {
      await rejectsWith(pool.run('fib', n), RangeError, 'ERR_OUT_OF_RANGE')
    })
  }

  for (const [label, v] of [['a string', '5'], ['null', null], ['undefined', undefined], ['a bigint', 5n], ['an object', { n: 5 }], ['a boolean', true], ['a Buffer', Buffer.from([5])]]) {
    it(`rejects ${label} with TypeError ERR_INVALID_ARG_TYPE`, async () => {
      await rejectsWith(pool.run('fib', v), TypeError, 'ERR_INVALID_ARG_TYPE')
    })
  }
})

describe('sha256', () => {
  const check = async (input, expectedBytes) => {
    const out = await pool.run('sha256', input)
    assert.ok(Buffer.isBuffer(out), 'result is a Buffer')
    assert.equal(out.length, 32)
    assert.equal(out.toString('hex'), sha(expectedBytes).toString('hex'))
  }

  it('hashes a known vector', async () => {
    const out = await pool.run('sha256', 'abc')
    assert.equal(out.toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })

  it('hashes empty inputs', async () => {
    await check(Buffer.alloc(0), Buffer.alloc(0))
    await check('', Buffer.alloc(0))
    await check(new ArrayBuffer(0), Buffer.alloc(0))
    await check(new Float64Array(0), Buffer.alloc(0))
  })

  it('hashes strings as UTF-8', async () => {
    for (const s of ['hello', 'héllo ✓ 𝄞 日本', 'x'.repeat(100_000)]) await check(s, Buffer.from(s, 'utf8'))
  })

  // Small (copied) and large (> 64 KiB, read in place) versions of every binary type.
  for (const size of [1000, 200_000]) {
    describe(`binary inputs of ~${size} bytes`, () => {
      const raw = crypto.randomBytes(size * 2 + 64)
      const ctors = [
        Uint8Array, Int8Array, Uint8ClampedArray, Uint16Array, Int16Array, Uint32Array, Int32Array,
        Float32Array, Float64Array, BigInt64Array, BigUint64Array,
      ]

      it('Buffer', () => check(raw.subarray(0, size), raw.subarray(0, size)))

      for (const C of ctors) {
        it(C.name, async () => {
          const ta = new C(raw.buffer.slice(0, size - (size % 8)))
          await check(ta, bytesOf(ta))
        })
        it(`${C.name} view with a byteOffset into a larger buffer`, async () => {
          const offset = C.BYTES_PER_ELEMENT * 5
          const ta = new C(raw.buffer, raw.byteOffset + offset, Math.floor(size / C.BYTES_PER_ELEMENT))
          assert.ok(ta.byteOffset > 0 && ta.byteLength < raw.buffer.byteLength)
          await check(ta, bytesOf(ta))
        })
      }

      it('DataView with a byteOffset', async () => {
        const dv = new DataView(raw.buffer, raw.byteOffset + 3, size)
        await check(dv, bytesOf(dv))
      })

      it('ArrayBuffer', async () => {
        const ab = raw.buffer.slice(raw.byteOffset + 7, raw.byteOffset + 7 + size)
        await check(ab, Buffer.from(ab))
      })
    })
  }

  it('hashes 5 MiB inputs read in place, with a byteOffset', async () => {
    const big = crypto.randomBytes((5 << 20) + 4096)
    const views = [
      big.subarray(4096),
      new Uint8Array(big.buffer, big.byteOffset + 1, 5 << 20),
      new Float64Array(big.buffer.slice(0, 5 << 20), 8, (5 << 17) - 1),
      new DataView(big.buffer, big.byteOffset + 100, (5 << 20) - 100),
    ]
    const outs = await Promise.all(views.map((v) => pool.run('sha256', v)))
    outs.forEach((out, i) => assert.equal(out.toString('hex'), sha(bytesOf(views[i])).toString('hex'), `view ${i}`))
  })

  it('hashes many large inputs concurrently (batch)', async () => {
    const inputs = Array.from({ length: 16 }, (_, i) => crypto.randomBytes(100_000 + i * 1000).subarray(i))
    const outs = await pool.runBatch('sha256', inputs)
    outs.forEach((out, i) => assert.ok(out.equals(sha(inputs[i])), `input ${i}`))
  })

  for (const [label, v] of [['a number', 5], ['null', null], ['undefined', undefined], ['an object', {}], ['an array', [1, 2]], ['a boolean', true]]) {
    it(`rejects ${label} with TypeError ERR_INVALID_ARG_TYPE`, async () => {
      await rejectsWith(pool.run('sha256', v), TypeError, 'ERR_INVALID_ARG_TYPE')
    })
  }

  describe('detached buffers', () => {
    const detach = (ab) => { structuredClone(ab, { transfer: [ab] }); assert.equal(ab.byteLength, 0) }

    for (const size of [16, 100_000]) {
      it(`a detached ArrayBuffer (${size} bytes) → TypeError ERR_INVALID_STATE`, async () => {
        const ab = new ArrayBuffer(size)
        detach(ab)
        await rejectsWith(pool.run('sha256', ab), TypeError, 'ERR_INVALID_STATE')
      })

      it(`a view on a detached buffer (${size} bytes) → TypeError ERR_INVALID_STATE`, async () => {
        const u8 = new Uint8Array(size)
        detach(u8.buffer)
        await rejectsWith(pool.run('sha256', u8), TypeError, 'ERR_INVALID_STATE')
        const dv = new DataView(new ArrayBuffer(size))
        detach(dv.buffer)
        await rejectsWith(pool.run('sha256', dv), TypeError, 'ERR_INVALID_STATE')
      })
    }

    it('every kernel taking data rejects a detached DataView with a code (csv.parse read its byteLength, which throws)', async () => {
      for (const kernel of ['csv.parse', 'json.parse', 'xxh3', 'crc32']) {
        const dv = new DataView(new ArrayBuffer(64))
        detach(dv.buffer)
        await rejectsWith(pool.run(kernel, dv), TypeError, 'ERR_INVALID_STATE')
      }
    })

    it('json.parse and csv.parse reject a detached ArrayBuffer, DataView or typed array with the error every kernel gives', async () => {
      const views = {
        ArrayBuffer: (size) => new ArrayBuffer(size),
        DataView: (size) => new DataView(new ArrayBuffer(size)),
        Uint8Array: (size) => new Uint8Array(size),
        Float64Array: (size) => new Float64Array(size / 8),
      }
      const detachedOf = (make, size) => {
        const v = make(size)
        detach(v instanceof ArrayBuffer ? v : v.buffer)
        return v
      }
      const expected = await pool.run('sha256', detachedOf(views.DataView, 64)).catch((e) => e)
      assert.equal(expected.code, 'ERR_INVALID_STATE')
      // 2 MiB is past both parsers' in-pieces thresholds before the transfer (detached, it reads as 0 bytes or throws).
      for (const size of [64, 2 << 20]) {
        for (const [name, make] of Object.entries(views)) {
          for (const [kernel, how, wrap] of [['json.parse', '', (v) => v], ['csv.parse', '', (v) => v], ['csv.parse', ' in { data }', (v) => ({ data: v, header: true })]]) {
            const label = `${kernel} of a detached ${name} of ${size} bytes${how}`
            const err = await pool.run(kernel, wrap(detachedOf(make, size))).then(() => assert.fail(`${label} resolved`), (e) => e)
            assert.ok(err instanceof TypeError, label)
            assert.equal(err.code, expected.code, label)
            assert.equal(err.message, expected.message, label)
          }
        }
      }
      // Empty but not detached (on Node 20, where ArrayBuffer has no `detached`, both read 0 bytes).
      assert.deepEqual(await pool.run('csv.parse', new ArrayBuffer(0)), [])
      assert.deepEqual(await pool.run('csv.parse', new DataView(new ArrayBuffer(0))), [])
      await rejectsWith(pool.run('json.parse', new Uint8Array(0)), SyntaxError, 'ERR_POOL_JSON_SYNTAX')
    })

    it('in a batch → the batch rejects; echo of a detached buffer rejects too', async () => {
      const ab = new ArrayBuffer(8)
      detach(ab)
      await rejectsWith(pool.runBatch('sha256', ['ok', ab]), TypeError, 'ERR_INVALID_STATE')
      await rejectsWith(pool.run('echo', ab), TypeError, 'ERR_INVALID_STATE')
    })

    it('the pool keeps serving afterwards', async () => {
      await check('still here', Buffer.from('still here'))
      assert.equal(await pool.run('fib', 25), fib(25))
    })
  })
})
