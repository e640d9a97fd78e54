'use strict'
// The request handlers' CPU work written the way a Node app without the pool would write it:
// node:crypto, bcryptjs and papaparse, all synchronous. `inline` mode calls these on the event
// loop; `piscina` mode calls the same functions inside piscina's worker threads
// (piscina-worker.js), so both modes run identical code and only the place differs.

const { createHash } = require('node:crypto')
const bcrypt = require('bcryptjs')
const Papa = require('papaparse')

function sha256(data) {
  return createHash('sha256').update(data).digest('hex')
}

function hashPassword({ password, cost }) {
  return bcrypt.hashSync(password, cost)
}

function verifyPassword({ password, hash }) {
  return bcrypt.compareSync(password, hash)
}

// The same code and wording as the pool's csv.parse, so the server answers alike in every mode.
function csvError(text, index) {
  let line = 1
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) line++
  const e = new Error(`Unterminated quoted field starting on line ${line}`)
  e.code = 'ERR_POOL_CSV_SYNTAX'
  return e
}

/**
 * `/import`: parses the CSV (first line = header, blank lines skipped) and returns
 * { rows, columns, checksum }: data records after the header, fields in the header, and the
 * sha256 of the uploaded bytes (the content hash an importer keeps to refuse a second upload).
 */
function importCsv(data) {
  const text = Buffer.isBuffer(data) ? data.toString('utf8') : data
  const parsed = Papa.parse(text, { skipEmptyLines: true })
  // papaparse reports an unterminated quote and keeps going; the pool rejects. Both become a 400.
  const quote = parsed.errors.find((e) => e.code === 'MissingQuotes')
  if (quote) throw csvError(text, quote.index)
  return summary(parsed.data, sha256(data))
}

/** The /import answer from parsed rows (arrays of fields) and the body's sha256 hex. */
function summary(rows, checksum) {
  return { rows: Math.max(rows.length - 1, 0), columns: rows.length > 0 ? rows[0].length : 0, checksum }
}

module.exports = { sha256, hashPassword, verifyPassword, importCsv, summary }
