'use strict'
// The request handlers' CPU work written the way a Node app without the pool would write it:
// node:crypto, bcryptjs and papaparse, all synchronous, and sharp for thumbnails (sharp has no
// synchronous API: it runs on libuv's thread pool). `inline` mode calls these in the request
// handler; `piscina` mode calls the same functions inside piscina's worker threads
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

/** `/thumbnail`'s output: 200 × 200, cover, JPEG (quality 80), alpha on white. */
const THUMBNAIL = { width: 200, height: 200, fit: 'cover', background: '#ffffff', quality: 80 }
/** The most pixels an upload's header may claim (`limitInputPixels`, in every mode). */
const LIMIT_PIXELS = 50_000_000

// sharp's errors as the pool's codes, from their messages (a code does not survive piscina's
// structured clone either, so the piscina backend maps the message again).
function imageCode(message) {
  if (/unsupported image format|Input Buffer is empty/.test(message)) return 'ERR_POOL_IMAGE_FORMAT'
  if (/exceeds pixel limit/.test(message)) return 'ERR_POOL_IMAGE_TOO_LARGE'
  return 'ERR_POOL_IMAGE_DECODE'
}

/** `/thumbnail` with sharp: EXIF orientation applied, then THUMBNAIL; resolves with the JPEG. */
async function thumbnail(data) {
  const sharp = require('sharp') // only the modes that make thumbnails load it
  const { width, height, fit, background, quality } = THUMBNAIL
  try {
    return await sharp(data, { limitInputPixels: LIMIT_PIXELS })
      .rotate()
      .resize({ width, height, fit })
      .flatten({ background })
      .jpeg({ quality })
      .toBuffer()
  } catch (err) {
    err.code ??= imageCode(err.message)
    throw err
  }
}

module.exports = { sha256, hashPassword, verifyPassword, importCsv, summary, thumbnail, imageCode, THUMBNAIL, LIMIT_PIXELS }
