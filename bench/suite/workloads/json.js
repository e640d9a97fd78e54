'use strict'
// Parse a ~20 MB JSON document (an array of records). pool validates on a thread and builds the
// value on the event loop in ~2 ms slices with V8's own parser; JSON.parse on the main thread
// blocks for the whole document; JSON.parse in piscina gets the text cloned in and the value
// cloned back (structured clone, on the main thread too).
const { createPool, check } = require('../harness')
const { createJsPool } = require('../pools')
const { jsonText } = require('../data')

module.exports = {
  name: 'json',
  title: (s) => `JSON ${s.mb.toFixed(1)} MB (${s.records / 1000}k records)`,
  unit: 'MB/s',
  better: 'higher',
  sizes: () => ({ records: 80_000, mb: Buffer.byteLength(jsonText(80_000)) / 1e6 }),
  describe: (s) => `an array of ${s.records} records (nested objects, arrays, non-ASCII text), ${s.mb.toFixed(1)} MB string`,
  contenders: ['pool', 'JSON.parse (main thread)', 'JSON.parse in piscina'],
  targets: [
    { vs: 'JSON.parse (main thread)', op: '>=', ratio: 0.7 },
    { contender: 'pool', field: 'elMax', op: '<=', limit: 20, unit: 'ms' },
  ],
  async setup(name, { threads, sizes }) {
    const text = jsonText(sizes.records)
    const units = Buffer.byteLength(text) / 1e6
    const n = sizes.records
    const verify = (v) => {
      check(Array.isArray(v) && v.length === n, `${name}: ${n} records`)
      check(v[n - 1].id === n - 1 && typeof v[n - 1].address.city === 'string', `${name}: last record`)
    }
    switch (name) {
      case 'pool': {
        const pool = createPool(threads)
        return { units, run: () => pool.run('json.parse', text), verify, close: () => pool.close() }
      }
      case 'JSON.parse (main thread)':
        return { units, run: async () => JSON.parse(text), verify }
      case 'JSON.parse in piscina': {
        const p = await createJsPool('piscina', threads)
        return { units, run: () => p.run('jsonParse', text), verify, close: () => p.close() }
      }
    }
    throw new Error(`unknown contender ${name}`)
  },
}
