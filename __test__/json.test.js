'use strict'
// json.parse: JSONTestSuite conformance, differential tests against JSON.parse on random
// documents (string and Buffer), error positions, depth limit, bad input types and abort.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { WorkerPool } = require('..')
const { TESTDATA } = require('./helpers')

const SUITE = path.join(TESTDATA, 'JSONTestSuite', 'test_parsing')

let pool
before(() => { pool = new WorkerPool({ threads: 2 }) })
after(() => pool.destroy())

async function settle(p) {
  try {
    return { ok: true, value: await p }
  } catch (error) {
    return { ok: false, error }
  }
}

function jsonParse(text) {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false }
  }
}

describe('JSONTestSuite', () => {
  // Read at load time: a missing folder throws here and fails the suite (never a skip).
  const files = fs.readdirSync(SUITE).filter((f) => f.endsWith('.json')).sort()
  const y = files.filter((f) => f.startsWith('y_'))
  const n = files.filter((f) => f.startsWith('n_'))
  const i = files.filter((f) => f.startsWith('i_'))
  it('has the 318 cases', () => {
    assert.equal(files.length, 318)
    assert.equal(y.length, 95)
    assert.equal(n.length, 188)
    assert.equal(i.length, 35)
  })
  it('accepts every y_ file, equal to JSON.parse', async () => {
    for (const f of y) {
      const buf = fs.readFileSync(path.join(SUITE, f))
      const expected = JSON.parse(buf.toString())
      assert.deepEqual(await pool.run('json.parse', buf), expected, f)
      assert.deepEqual(await pool.run('json.parse', buf.toString()), expected, f)
    }
  })
  it('rejects every n_ file with ERR_POOL_JSON_SYNTAX or ERR_POOL_JSON_DEPTH', async () => {
    for (const f of n) {
      const buf = fs.readFileSync(path.join(SUITE, f))
      for (const input of [buf, buf.toString()]) {
        const r = await settle(pool.run('json.parse', input))
        assert.equal(r.ok, false, f)
        assert.ok(['ERR_POOL_JSON_SYNTAX', 'ERR_POOL_JSON_DEPTH'].includes(r.error.code), `${f}: ${r.error.code}`)
      }
    }
  })
  it('deep n_ files reject with ERR_POOL_JSON_DEPTH, never a crash', async () => {
    const buf = fs.readFileSync(path.join(SUITE, 'n_structure_100000_opening_arrays.json'))
    const r = await settle(pool.run('json.parse', buf))
    assert.equal(r.error.code, 'ERR_POOL_JSON_DEPTH')
    assert.ok(r.error instanceof RangeError)
    const r2 = await settle(pool.run('json.parse', fs.readFileSync(path.join(SUITE, 'n_structure_open_array_object.json'))))
    assert.equal(r2.ok, false)
  })
  it('settles every i_ file, agreeing with JSON.parse when accepted', async () => {
    for (const f of i) {
      const buf = fs.readFileSync(path.join(SUITE, f))
      const r = await settle(pool.run('json.parse', buf))
      const expected = jsonParse(buf.toString())
      if (r.ok) {
        assert.ok(expected.ok, f)
        assert.deepEqual(r.value, expected.value, f)
      } else {
        assert.ok(['ERR_POOL_JSON_SYNTAX', 'ERR_POOL_JSON_DEPTH'].includes(r.error.code), f)
      }
      // Binary input decodes like Buffer#toString + JSON.parse.
      assert.equal(r.ok, expected.ok, f)
    }
  })
})

// A small seeded PRNG, so failures reproduce.
function rng(seed) {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const KEYS = ['a', 'b', '__proto__', 'constructor', '0', '10', 'é', '😀', 'k\\n', 'toString', '']
const STRINGS = ['', 'x', 'héllo', '😀 ok', '\\u00e9', '\\ud83d\\ude00', '\\ud800', 'a\\"b', '\\\\', '\\/', '\\b\\f\\n\\r\\t', '\u2028', '中文']
const NUMBERS = ['0', '-0', '1', '-12', '3.25', '1e3', '-1.5E-7', '123456789012345678901234567890', '1e400', '0.1']

// Random JSON text, written by hand so it can hold duplicate keys, escapes and odd spacing.
function gen(r, depth) {
  const ws = () => [' ', '', '\n', '\t', '\r\n  '][Math.floor(r() * 5)]
  const pick = (a) => a[Math.floor(r() * a.length)]
  const x = r()
  if (depth > 4 || x < 0.4) {
    const y = r()
    if (y < 0.3) return `"${pick(STRINGS)}"`
    if (y < 0.6) return pick(NUMBERS)
    return pick(['true', 'false', 'null'])
  }
  const len = Math.floor(r() * 6)
  const items = []
  if (x < 0.7) {
    for (let k = 0; k < len; k++) items.push(ws() + gen(r, depth + 1) + ws())
    return `[${items.join(',')}]`
  }
  for (let k = 0; k < len; k++) items.push(`${ws()}"${pick(KEYS)}"${ws()}:${ws()}${gen(r, depth + 1)}${ws()}`)
  return `{${items.join(',')}}`
}

describe('differential vs JSON.parse', () => {
  it('random small documents, as string and Buffer', async () => {
    const r = rng(42)
    for (let k = 0; k < 400; k++) {
      const text = gen(r, 0)
      const expected = JSON.parse(text)
      assert.deepEqual(await pool.run('json.parse', text), expected, text)
      assert.deepEqual(await pool.run('json.parse', Buffer.from(text)), expected, text)
    }
  })
  it('large documents split into groups (array and object, duplicate and __proto__ keys)', async () => {
    const r = rng(7)
    const arr = []
    for (let len = 0; len < 3e6;) {
      arr.push(gen(r, 1))
      len += arr[arr.length - 1].length + 3
    }
    const arrText = ` [ ${arr.join(' ,\n')} ] `
    const members = []
    for (let n = 0, len = 0; len < 3e6; n++) {
      const key = n % 997 === 0 ? '__proto__' : n % 13 === 0 ? `k${n % 50}` : `k${n}`
      members.push(`"${key}":${gen(r, 1)}`)
      len += members[members.length - 1].length + 1
    }
    const objText = `{${members.join(',')}}`
    for (const text of [arrText, objText]) {
      const expected = JSON.parse(text)
      for (const input of [text, Buffer.from(text), new Uint8Array(Buffer.from(text)), new DataView(Buffer.from(text).buffer)]) {
        const got = await pool.run('json.parse', input)
        assert.deepEqual(got, expected)
        if (!Array.isArray(got)) {
          assert.equal(Object.getPrototypeOf(got), Object.prototype)
          assert.deepEqual(Object.keys(got), Object.keys(expected))
          assert.ok(Object.hasOwn(got, '__proto__'))
        }
      }
    }
  })
  it('keeps __proto__ an own property and the last duplicate', async () => {
    const got = await pool.run('json.parse', '{"__proto__":{"x":1},"a":1,"a":2}')
    assert.equal(Object.getPrototypeOf(got), Object.prototype)
    assert.deepEqual(Object.getOwnPropertyDescriptor(got, '__proto__').value, { x: 1 })
    assert.equal(got.a, 2)
  })
  it('scalars, lone surrogates and long strings', async () => {
    for (const t of ['1', '"x"', 'null', ' true ', '"\\uD800"', '-0']) {
      assert.deepEqual(await pool.run('json.parse', t), JSON.parse(t))
    }
    const long = JSON.stringify(Array.from({ length: 120000 }, (_, k) => ({ k, s: `é${k}😀\ud800` })))
    assert.ok(long.length > 1 << 21)
    assert.deepEqual(await pool.run('json.parse', long), JSON.parse(long))
  })
})

describe('errors', () => {
  const cases = [
    // [text, line, column, position]
    ['[1,]', 1, 4, 3],
    ['{\n  "a": 1,\n  "b" 2\n}', 3, 7, 18],
    ['[\n1,\n2\n', 4, 1, 7],
    ['"é" x', 1, 5, 4],
    ['', 1, 1, 0],
    ['01', 1, 2, 1],
  ]
  for (const [text, line, column, position] of cases) {
    it(`reports line ${line} column ${column} for ${JSON.stringify(text)}`, async () => {
      const r = await settle(pool.run('json.parse', text))
      assert.ok(r.error instanceof SyntaxError)
      assert.equal(r.error.code, 'ERR_POOL_JSON_SYNTAX')
      assert.deepEqual([r.error.line, r.error.column, r.error.position], [line, column, position])
    })
  }
  it('binary positions count bytes', async () => {
    const r = await settle(pool.run('json.parse', Buffer.from('"é" x')))
    assert.deepEqual([r.error.line, r.error.column, r.error.position], [1, 6, 5])
  })
  it('invalid UTF-8 is fine in strings, an error outside', async () => {
    assert.equal(await pool.run('json.parse', Buffer.from([0x22, 0xff, 0x22])), '\ufffd')
    const r = await settle(pool.run('json.parse', Buffer.from([0x5b, 0xff, 0x5d])))
    assert.equal(r.error.code, 'ERR_POOL_JSON_SYNTAX')
    assert.equal(r.error.position, 1)
  })
  it('errors deep in a large document (validated in pieces) report their place in the whole text', async () => {
    const items = Array.from({ length: 100000 }, (_, k) => JSON.stringify({ k, s: `é${k}😀`, t: [k, true, null] }))
    const head = `[\n${items.join(',\n')},\n`
    assert.ok(head.length > 3e6, `${head.length}`)
    for (const [tail, code, skip] of [['{"a": tru}]', 'ERR_POOL_JSON_SYNTAX', 9], ['x]', 'ERR_POOL_JSON_SYNTAX', 0],
      ['['.repeat(10000) + ']'.repeat(10000) + ']', 'ERR_POOL_JSON_DEPTH', 9999]]) {
      const text = head + tail
      const position = head.length + skip
      const line = head.split('\n').length
      for (const input of [text, Buffer.from(text)]) {
        const r = await settle(pool.run('json.parse', input))
        assert.equal(r.error?.code, code)
        const at = typeof input === 'string' ? position : Buffer.byteLength(text.slice(0, position))
        assert.deepEqual([r.error.line, r.error.column, r.error.position], [line, skip + 1, at])
      }
    }
  })
  it('nesting limit: 10,000 is fine, 10,001 rejects', async () => {
    const ok = '['.repeat(10000) + ']'.repeat(10000)
    let v = await pool.run('json.parse', ok)
    for (let d = 1; d < 10000; d++) {
      assert.equal(v.length, 1)
      v = v[0]
    }
    assert.deepEqual(v, [])
    const r = await settle(pool.run('json.parse', '['.repeat(10001) + ']'.repeat(10001)))
    assert.ok(r.error instanceof RangeError)
    assert.equal(r.error.code, 'ERR_POOL_JSON_DEPTH')
  })
  it('bad input types reject with ERR_INVALID_ARG_TYPE', async () => {
    for (const bad of [undefined, null, 1, true, {}, { data: '1' }, [], 10n]) {
      const r = await settle(pool.run('json.parse', bad))
      assert.ok(r.error instanceof TypeError)
      assert.equal(r.error.code, 'ERR_INVALID_ARG_TYPE')
    }
  })
})

describe('abort', () => {
  it('aborting while a large document is built rejects with ABORT_ERR', async () => {
    const text = JSON.stringify(Array.from({ length: 250000 }, (_, k) => ({ id: k, name: `n${k}`, tags: ['a', 'b'], v: k / 3 })))
    assert.ok(text.length > 10e6)
    const buf = Buffer.from(text)
    const ac = new AbortController()
    const before = pool.completed
    const p = pool.run('json.parse', buf, { signal: ac.signal })
    // Abort once the worker has validated (the first piece of) the document, i.e. while the
    // value is being built in slices (later pieces may still be validated meanwhile). Checked
    // on every turn of the loop (setImmediate, not a timer), so no slice can pass unseen.
    let settled = false
    setImmediate(function tick() {
      if (settled) return
      if (pool.completed === before) return setImmediate(tick)
      ac.abort()
    })
    const r = await settle(p)
    settled = true
    assert.ok(pool.completed > before, 'the worker part ran')
    assert.equal(r.ok, false)
    assert.equal(r.error.code, 'ABORT_ERR')
  })
  it('an already-aborted signal rejects at once', async () => {
    const ac = new AbortController()
    ac.abort()
    const r = await settle(pool.run('json.parse', '[1]', { signal: ac.signal }))
    assert.equal(r.error.code, 'ABORT_ERR')
  })
})
