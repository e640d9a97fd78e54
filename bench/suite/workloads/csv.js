'use strict'
// Parse a ~20 MB CSV document (quoted fields with commas, "" escapes and line breaks) into arrays
// of strings. pool parses on a thread and builds the rows on the event loop in ~2 ms slices;
// papaparse and csv-parse/sync parse on the main thread; papaparse in piscina gets the text
// cloned in and the rows cloned back.
const { createPool, check } = require('../harness')
const { createJsPool } = require('../pools')
const { csvText } = require('../data')

module.exports = {
  name: 'csv',
  title: (s) => `CSV ${s.mb.toFixed(1)} MB (${s.rows / 1000}k rows × ${s.cols} columns)`,
  unit: 'MB/s',
  better: 'higher',
  sizes: () => ({ rows: 100_000, cols: 10, mb: Buffer.byteLength(csvText(100_000)) / 1e6 }),
  describe: (s) => `${s.rows} rows × ${s.cols} columns, ${s.mb.toFixed(1)} MB string, quoted fields, rows as arrays of strings (no header)`,
  contenders: ['pool', 'papaparse (main thread)', 'csv-parse/sync (main thread)', 'papaparse in piscina'],
  targets: [
    { vs: 'papaparse (main thread)', op: '>=', ratio: 1.5 },
    { contender: 'pool', field: 'elMax', op: '<=', limit: 20, unit: 'ms' },
  ],
  async setup(name, { threads, sizes }) {
    const text = csvText(sizes.rows, sizes.cols)
    const units = Buffer.byteLength(text) / 1e6
    const verify = (rows) => {
      // papaparse (by default) turns the final line break into one more row with one empty field.
      const last = rows[rows.length - 1]
      if (name.startsWith('papaparse') && rows.length === sizes.rows + 1 && last.length === 1 && last[0] === '') rows = rows.slice(0, -1)
      check(rows.length === sizes.rows, `${name}: ${rows.length} rows, expected ${sizes.rows}`)
      check(rows.every((r) => r.length === sizes.cols) && rows[sizes.rows - 1].every((f) => typeof f === 'string'), `${name}: row shape`)
    }
    switch (name) {
      case 'pool': {
        const pool = createPool(threads)
        return { units, run: () => pool.run('csv.parse', { data: text, header: false }), verify, close: () => pool.close() }
      }
      case 'papaparse (main thread)': {
        const Papa = require('papaparse')
        return { units, run: async () => Papa.parse(text, { delimiter: ',' }).data, verify }
      }
      case 'csv-parse/sync (main thread)': {
        const { parse } = require('csv-parse/sync')
        return { units, run: async () => parse(text), verify }
      }
      case 'papaparse in piscina': {
        const p = await createJsPool('piscina', threads)
        return { units, run: () => p.run('papaparse', text), verify, close: () => p.close() }
      }
    }
    throw new Error(`unknown contender ${name}`)
  },
}
