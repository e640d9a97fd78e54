'use strict'
// csv.parse: csv-spectrum conformance, differential tests against papaparse on random
// documents, errors, options, __proto__ keys and abort.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const Papa = require('papaparse')
const { WorkerPool } = require('..')
const { rejectsWith, TESTDATA } = require('./helpers')

const SPECTRUM = path.join(TESTDATA, 'csv-spectrum')

let pool
before(() => { pool = new WorkerPool({ threads: 2 }) })
after(() => pool.destroy())

describe('csv-spectrum conformance', () => {
  // Read at load time: a missing folder throws here and fails the suite (never a skip).
  const names = fs.readdirSync(path.join(SPECTRUM, 'csvs')).filter((f) => f.endsWith('.csv')).map((f) => f.slice(0, -4)).sort()
  it('has the 11 cases', () => {
    assert.deepEqual(names, ['comma_in_quotes', 'empty', 'empty_crlf', 'escaped_quotes', 'json', 'newlines', 'newlines_crlf', 'quotes_and_newlines', 'simple', 'simple_crlf', 'utf8'])
  })
  for (const name of names) {
    it(name, async () => {
      const csv = fs.readFileSync(path.join(SPECTRUM, 'csvs', `${name}.csv`))
      const expected = JSON.parse(fs.readFileSync(path.join(SPECTRUM, 'json', `${name}.json`), 'utf8'))
      assert.deepEqual(await pool.run('csv.parse', { data: csv, header: true }), expected)
      assert.deepEqual(await pool.run('csv.parse', { data: csv.toString('utf8'), header: true }), expected)
    })
  }
})

// A small deterministic PRNG so failures reproduce.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) >>> 0
    let t = seed
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

const ATOMS = ['a', 'b', 'xyz', ' ', 'é', '日本', '😀', '1', '42', '-3.5', '.5', '1e3', ' 7 ', '007',
  '12345678901234567890', 'true', 'TRUE', 'True', 'false', 'FALSE', 'null', '2024-01-02T03:04:05Z',
  '2024-13-99', ',', ';', '\t', '|', '"', "'", '\n', '\r\n', '\r', '""', 'x y']

function randomDoc(rand, delimiter, quote, newline) {
  const pick = (a) => a[Math.floor(rand() * a.length)]
  const rows = []
  const nrows = Math.floor(rand() * 12)
  const width = 1 + Math.floor(rand() * 5)
  for (let r = 0; r < nrows; r++) {
    const n = rand() < 0.2 ? 1 + Math.floor(rand() * 7) : width
    const fields = []
    for (let c = 0; c < n; c++) {
      let f = ''
      const k = rand()
      if (k < 0.15) f = ''
      else if (k < 0.5) f = pick(ATOMS)
      else { const m = 1 + Math.floor(rand() * 4); for (let i = 0; i < m; i++) f += pick(ATOMS) }
      const needs = f.includes(delimiter) || f.includes(quote) || f.includes('\n') || f.includes('\r')
      fields.push(needs || rand() < 0.1 ? quote + f.split(quote).join(quote + quote) + quote : f)
    }
    rows.push(fields.join(delimiter))
  }
  let text = rows.join(newline)
  if (rows.length > 0 && rand() < 0.5) text += newline
  return text
}

function papa(text, o) {
  const res = Papa.parse(text, {
    header: o.header,
    dynamicTyping: o.dynamicTyping,
    skipEmptyLines: o.skipEmptyLines,
    delimiter: o.delimiter,
    quoteChar: o.quote,
  })
  const data = res.data
  // papaparse turns a final line break into one more, empty record; RFC 4180 (and
  // csv-spectrum) say it only ends the last record.
  if (!o.skipEmptyLines && o.endsWithNewline && data.length > 0) data.pop()
  return data
}

describe('csv.parse matches papaparse on random documents', () => {
  const origWarn = console.warn
  before(() => { console.warn = () => {} }) // papaparse warns about renamed duplicate headers
  after(() => { console.warn = origWarn })
  const combos = []
  for (const header of [false, true]) {
    for (const dynamicTyping of [false, true]) {
      for (const skipEmptyLines of [false, true]) combos.push({ header, dynamicTyping, skipEmptyLines })
    }
  }
  for (const combo of combos) {
    it(`header=${combo.header} dynamicTyping=${combo.dynamicTyping} skipEmptyLines=${combo.skipEmptyLines}`, async () => {
      const rand = rng(1 + combos.indexOf(combo))
      const dialects = [[',', '"'], [';', '"'], ['\t', "'"], ['|', '"']]
      for (let i = 0; i < 150; i++) {
        const [delimiter, quote] = dialects[i % dialects.length]
        const newline = ['\n', '\r\n', '\r'][Math.floor(i / 4) % 3]
        const text = randomDoc(rand, delimiter, quote, newline)
        const o = { ...combo, delimiter, quote, endsWithNewline: text.endsWith(newline) }
        const expected = papa(text, o)
        const input = { data: i % 2 ? text : Buffer.from(text), delimiter, quote, ...combo }
        const got = await pool.run('csv.parse', input)
        assert.deepEqual(got, expected, `document ${i}: ${JSON.stringify(text)}`)
      }
    })
  }
})

describe('csv.parse in tiny pieces matches papaparse', () => {
  const { tuning } = require('../lib/internal/csv.js')
  const saved = { ...tuning }
  const origWarn = console.warn
  before(() => { console.warn = () => {} })
  after(() => { Object.assign(tuning, saved); console.warn = origWarn })
  for (const [first, piece] of [[0, 0], [1, 7], [5, 40]]) {
    it(`first piece ${first} bytes, then ${piece}`, async () => {
      Object.assign(tuning, { piecesFrom: 0, firstPieceBytes: first, pieceBytes: piece })
      const rand = rng(100 + first)
      for (let i = 0; i < 120; i++) {
        const combo = { header: i % 3 === 0, dynamicTyping: i % 2 === 0, skipEmptyLines: i % 5 === 0 }
        const [delimiter, quote] = [[',', '"'], [';', "'"], ['§', '«']][i % 3]
        const newline = ['\n', '\r\n', '\r'][Math.floor(i / 3) % 3]
        const text = randomDoc(rand, delimiter, quote, newline)
        const o = { ...combo, delimiter, quote, endsWithNewline: text.endsWith(newline) }
        const expected = papa(text, o)
        for (const data of [text, Buffer.from(text)]) {
          const got = await pool.run('csv.parse', { data, delimiter, quote, ...combo })
          assert.deepEqual(got, expected, `document ${i}: ${JSON.stringify(text)}`)
        }
      }
      const err = await rejectsWith(pool.run('csv.parse', 'a,b\r\n"multi\nline",c\nd,"open\nmore'), Error, 'ERR_POOL_CSV_SYNTAX')
      assert.equal(err.line, 4)
      assert.deepEqual(await pool.run('csv.parse', Buffer.from([0x61, 0x0a, 0xff, 0x2c, 0x22, 0xc3, 0x22, 0x0a, 0x62])), [['a'], ['\ufffd', '\ufffd'], ['b']])
    })
  }
})

describe('csv.parse', () => {
  it('accepts a string and every binary type', async () => {
    const text = 'a,"b,c"\r\n1,"x ""y"""\n'
    const expected = [['a', 'b,c'], ['1', 'x "y"']]
    const buf = Buffer.from(text)
    const u8 = new Uint8Array(buf)
    for (const input of [text, buf, u8, new DataView(u8.buffer), u8.buffer, { data: u8 }]) {
      assert.deepEqual(await pool.run('csv.parse', input), expected)
    }
  })

  it('handles empty input, CR line endings and a final line break', async () => {
    assert.deepEqual(await pool.run('csv.parse', ''), [])
    assert.deepEqual(await pool.run('csv.parse', '\n'), [['']])
    assert.deepEqual(await pool.run('csv.parse', 'a\rb\r\n"c\rd"\n'), [['a'], ['b'], ['c\rd']])
    assert.deepEqual(await pool.run('csv.parse', { data: 'a\n\n""\nb\n', skipEmptyLines: true }), [['a'], ['b']])
  })

  it('applies papaparse dynamic typing', async () => {
    const got = await pool.run('csv.parse', { data: '1,-2.5e1,TRUE,false,True,,x,9007199254740993,2024-01-02T03:04:05Z', dynamicTyping: true })
    assert.deepEqual(got, [[1, -25, true, false, 'True', null, 'x', '9007199254740993', new Date('2024-01-02T03:04:05Z')]])
  })

  it('rejects an unterminated quote with its line', async () => {
    const err = await rejectsWith(pool.run('csv.parse', 'a,b\r\n"multi\nline",c\nd,"open\nmore'), Error, 'ERR_POOL_CSV_SYNTAX')
    assert.equal(err.line, 4)
    const e2 = await rejectsWith(pool.run('csv.parse', { data: '"x', header: true }), Error, 'ERR_POOL_CSV_SYNTAX')
    assert.equal(e2.line, 1)
  })

  it('rejects bad options with typed errors', async () => {
    await rejectsWith(pool.run('csv.parse', { data: 'a', delimiter: ';;' }), TypeError, 'ERR_INVALID_ARG_VALUE')
    await rejectsWith(pool.run('csv.parse', { data: 'a', delimiter: '' }), TypeError, 'ERR_INVALID_ARG_VALUE')
    await rejectsWith(pool.run('csv.parse', { data: 'a', delimiter: '\n' }), TypeError, 'ERR_INVALID_ARG_VALUE')
    await rejectsWith(pool.run('csv.parse', { data: 'a', quote: ',' }), TypeError, 'ERR_INVALID_ARG_VALUE')
    await rejectsWith(pool.run('csv.parse', { data: 'a', delimiter: 1 }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('csv.parse', { data: 'a', quote: null }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('csv.parse', { data: 'a', header: 'yes' }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('csv.parse', { data: 'a', dynamicTyping: 1 }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('csv.parse', { data: 'a', skipEmptyLines: null }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('csv.parse', { data: 5 }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('csv.parse', 5), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('csv.parse', null), TypeError, 'ERR_INVALID_ARG_TYPE')
    // A single non-ASCII character is fine.
    assert.deepEqual(await pool.run('csv.parse', { data: 'a§«b§c«', delimiter: '§', quote: '«' }), [['a', 'b§c']])
  })

  it('keeps a __proto__ header as an own property', async () => {
    const [row] = await pool.run('csv.parse', { data: '__proto__,constructor,x\n{},1,2\n', header: true })
    assert.equal(Object.getPrototypeOf(row), Object.prototype)
    assert.ok(Object.hasOwn(row, '__proto__'))
    assert.equal(Object.getOwnPropertyDescriptor(row, '__proto__').value, '{}')
    assert.deepEqual(Object.keys(row), ['__proto__', 'constructor', 'x'])
    assert.equal(row.constructor, '1')
    assert.equal({}.x, undefined)
  })

  it('mirrors papaparse for missing, extra and duplicate header fields', async () => {
    const got = await pool.run('csv.parse', { data: 'a,a,b\n1\n1,2,3,4,5', header: true })
    assert.deepEqual(got, [{ a: '1' }, { a: '1', a_1: '2', b: '3', __parsed_extra: ['4', '5'] }])
  })

  it('runBatch returns built rows', async () => {
    assert.deepEqual(await pool.runBatch('csv.parse', ['a,b', { data: 'x\n1', header: true }]), [[['a', 'b']], [{ x: '1' }]])
  })

  describe('on a large document', () => {
    let big
    before(() => {
      const row = '12345,"quoted, with ""quotes""",plain text here,"multi\nline",3.25,true,,x,y,z\n'
      big = row.repeat(200_000) // ~15 MB
    })

    it('parses it whole', async () => {
      const rows = await pool.run('csv.parse', big)
      assert.equal(rows.length, 200_000)
      assert.deepEqual(rows[199_999], ['12345', 'quoted, with "quotes"', 'plain text here', 'multi\nline', '3.25', 'true', '', 'x', 'y', 'z'])
    })

    it('rejects with ABORT_ERR when aborted once the worker has it', async () => {
      const ac = new AbortController()
      const before = pool.completed
      const p = pool.run('csv.parse', big, { signal: ac.signal })
      // Abort once a worker runs a piece or has finished one, checked every loop turn
      // (setImmediate: a timer can fire after the whole parse on a busy machine; the pieces are
      // submitted from the loop, so a synchronous spin would never see one start). `running > 0`
      // alone can miss every piece (each parsed between two checks, the worker running ahead of
      // the build) and then waits forever, as it did under Node 22 in test:matrix; building the
      // rest of the rows takes many more turns, so the abort still comes before the result.
      await new Promise(function check(resolve) {
        if (pool.running > 0 || pool.completed > before) resolve(); else setImmediate(check, resolve)
      })
      ac.abort()
      await rejectsWith(p, Error, 'ABORT_ERR')
    })

    it('rejects with ABORT_ERR when aborted while the rows are built', async () => {
      const ac = new AbortController()
      const before = pool.completed
      const p = pool.run('csv.parse', Buffer.from(big), { signal: ac.signal })
      // Abort as soon as the worker has parsed the first piece: the rows are being built on
      // the event loop then, in slices (later pieces may still be parsed meanwhile). Checked
      // on every turn of the loop (setImmediate), so no slice can pass unseen.
      await new Promise(function check(resolve) {
        if (pool.completed > before) { ac.abort(); resolve() } else setImmediate(check, resolve)
      })
      await rejectsWith(p, Error, 'ABORT_ERR')
    })
  })
})
