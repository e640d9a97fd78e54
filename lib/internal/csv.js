'use strict'
// csv.parse, JS side. The worker parses the document into packed pieces (the parsers' one
// format, src/kernels/output.rs: `text` a Buffer of every field's text, `offsets` each field's
// end in it, `rows` each row's field count, `rowBytes`, and with dynamicTyping `types` and
// `nums`); this file checks the options, then builds the rows on the event loop in slices of ~2 ms,
// yielding with setImmediate between slices, so a 20 MB document never holds the loop for
// long. A large document is parsed in pieces (each task parses from byte `start` until the
// first record ending `target` bytes later, and says where the next piece starts), so the
// worker parses piece i + 1 while this thread builds the rows of piece i. With dynamicTyping
// the worker also parses the numbers (nums), so no string is made for a numeric field.

const native = require('./native.js')
const { codeError } = require('./errors.js')
const { pipeline } = require('./pieces.js')
const { inSlices, toUtf8, isBinary, isDetached, signalOf } = require('./text.js')

const TAG = native.parserConstants().csvTag
const [T_STRING, T_NUMBER, T_TRUE, T_FALSE, T_DATE, T_EMPTY] =
  [TAG.string, TAG.number, TAG.true, TAG.false, TAG.maybeDate, TAG.empty]

// Inputs of at least PIECES_FROM bytes (or UTF-16 units) are parsed in pieces, so the worker
// parses the next piece while this thread builds rows. The first piece is small so building
// starts early; later ones are larger so there are few round trips.
// (An object so tests can make pieces tiny.)
const tuning = { piecesFrom: 1 << 20, firstPieceBytes: 256 * 1024, pieceBytes: 1 << 20 }
const CHUNK_BYTES = 256 * 1024 // text decoded at a time (above V8's 128 KiB regular-object limit)
const CHECK_ROWS = 64 // rows between clock checks
// papaparse 5's ISO_DATE, verbatim.
const ISO_DATE = /^((\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-5]\d\.\d+([+-][0-2]\d:[0-5]\d|Z))|(\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-5]\d([+-][0-2]\d:[0-5]\d|Z))|(\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d([+-][0-2]\d:[0-5]\d|Z)))$/

function flag(name, v) {
  if (v === undefined) return false
  if (typeof v !== 'boolean') {
    throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" option must be of type boolean. Received type ${v === null ? 'null' : typeof v}`)
  }
  return v
}

// Splits the public input into what the kernel reads and what the row builder needs.
function prepare(input) {
  if (input === null || typeof input !== 'object' || isBinary(input)) {
    return { data: input, header: false, dynamicTyping: false }
  }
  const { data, delimiter, quote } = input
  const header = flag('header', input.header)
  const dynamicTyping = flag('dynamicTyping', input.dynamicTyping)
  const skipEmptyLines = flag('skipEmptyLines', input.skipEmptyLines)
  return {
    data: { data, delimiter, quote, dynamicTyping: dynamicTyping ? 1 : 0, skipEmptyLines: skipEmptyLines ? 1 : 0 },
    header,
    dynamicTyping,
  }
}

// The value of a field whose type tag is not a string or a number (those are handled inline):
// s.slice(a, b) is its text.
function typed(tag, s, a, b) {
  switch (tag) {
    case T_TRUE: return true
    case T_FALSE: return false
    case T_DATE: {
      const v = s.slice(a, b)
      return ISO_DATE.test(v) ? new Date(v) : v
    }
    case T_EMPTY: return null
    default: return s.slice(a, b)
  }
}

// papaparse's header row: a leading BOM is stripped and duplicates renamed `a`, `a_1`, `a_2`…
function headerKeys(fields) {
  const count = Object.create(null)
  const used = new Set(fields)
  const keys = []
  for (let h of fields) {
    if (h.charCodeAt(0) === 0xfeff) h = h.slice(1)
    if (!count[h]) {
      count[h] = 1
      keys.push(h)
    } else {
      let n = count[h]
      let k
      do { k = `${h}_${n++}` } while (used.has(k))
      used.add(k)
      keys.push(k)
      count[h]++
    }
    used.add(h)
  }
  return keys
}

// Builds rows from packed tables (a whole document's, or its pieces' in order) into one array.
class Builder {
  constructor(job, signal) {
    this.header = job.header
    this.dynamicTyping = job.dynamicTyping
    this.signal = signal
    this.out = []
    this.started = false
    this.lastEnd = Infinity // when our last slice ended
    this.keys = null
    this.special = null // keys[j] === '__proto__'
  }

  /** Builds one packed table's rows in slices; resolves when done. */
  add(packed) {
    const { text, offsets: ends, rows, rowBytes, types, nums, ascii } = packed
    const { out, signal } = this
    const dyn = this.dynamicTyping
    const enc = ascii ? 'latin1' : 'utf8'
    const nrows = rows.length
    let r = 0 // next row
    let f = 0 // next field
    let k = 0 // next number in nums
    let byte = 0 // text byte offset where the next chunk starts
    let r1 = 0 // the current chunk's rows end here
    let s = '' // the current chunk's text
    let base = 0 // UTF-16 offset of the current chunk in the text
    let prev = 0 // where field f starts in s
    return inSlices(this, signal, (deadline) => {
      while (r < nrows) {
        // Decode whole rows, at least CHUNK_BYTES at a time: such strings go straight to V8's
        // large-object space, so minor GCs never copy them (the fields are slices of them).
        if (r === r1) {
          r1 = r + 1
          while (r1 < nrows && rowBytes[r1 - 1] - byte < CHUNK_BYTES) r1++
          base = f > 0 ? ends[f - 1] : 0
          s = text.toString(enc, byte, rowBytes[r1 - 1])
          byte = rowBytes[r1 - 1]
          prev = 0
        }
        // Check the clock every CHECK_ROWS rows, so a slice that a GC pause overran ends soon
        // after it (the pause's partner then comes in the next slice, not this one).
        const stop = Math.min(r1, r + CHECK_ROWS)
        for (; r < stop; r++) {
          const n = rows[r]
          if (this.header && this.keys === null) {
            const fields = new Array(n)
            for (let j = 0; j < n; j++, f++) {
              const e = ends[f] - base
              fields[j] = s.slice(prev, e)
              prev = e
              if (dyn && types[f] === T_NUMBER) k++
            }
            this.keys = headerKeys(fields)
            this.special = this.keys.map((key) => key === '__proto__')
            continue
          }
          const keys = this.keys
          if (keys !== null) {
            const special = this.special
            const row = {}
            const nk = keys.length
            for (let j = 0; j < n; j++, f++) {
              const e = ends[f] - base
              let v
              if (dyn) {
                const tag = types[f]
                v = tag === T_STRING ? s.slice(prev, e) : tag === T_NUMBER ? nums[k++] : typed(tag, s, prev, e)
              } else {
                v = s.slice(prev, e)
              }
              prev = e
              if (j < nk) {
                if (special[j]) Object.defineProperty(row, '__proto__', { value: v, writable: true, enumerable: true, configurable: true })
                else row[keys[j]] = v
              } else if (j === nk) {
                row.__parsed_extra = [v]
              } else {
                row.__parsed_extra.push(v)
              }
            }
            out.push(row)
          } else if (dyn) {
            const row = new Array(n)
            for (let j = 0; j < n; j++, f++) {
              const e = ends[f] - base
              const tag = types[f]
              row[j] = tag === T_STRING ? s.slice(prev, e) : tag === T_NUMBER ? nums[k++] : typed(tag, s, prev, e)
              prev = e
            }
            out.push(row)
          } else {
            const row = new Array(n)
            for (let j = 0; j < n; j++, f++) {
              const e = ends[f] - base
              row[j] = s.slice(prev, e)
              prev = e
            }
            out.push(row)
          }
        }
        if (r < nrows && performance.now() > deadline) return false
      }
      return true
    })
  }
}

/**
 * Parses `bytes` (binary) in pieces (see lib/pieces.js): each task parses from byte `start`
 * until the first record ending `target` bytes later. `native` is the kernel's record input
 * without `data`.
 */
function pieces(bytes, native, builder, submit) {
  const request = (prev) => submit({
    ...native,
    data: bytes,
    start: prev === undefined ? 0 : prev.next,
    target: prev === undefined ? tuning.firstPieceBytes : tuning.pieceBytes,
  })
  return pipeline(request, (packed) => builder.add(packed)).then(() => builder.out)
}

/**
 * `pool.run('csv.parse', input, options)`: `submit(nativeInput)` queues the kernel (with the
 * caller's scheduling options) and returns its promise.
 */
function parse(input, options, submit) {
  let job
  try {
    job = prepare(input)
  } catch (e) {
    return Promise.reject(e)
  }
  const signal = signalOf(options)
  const record = job.data !== null && typeof job.data === 'object' && !isBinary(job.data)
  const data = record ? job.data.data : job.data
  const builder = new Builder(job, signal)
  const native = record ? { ...job.data, data: undefined } : {}
  // A detached input counts as empty (a detached DataView throws on byteLength).
  const size = typeof data === 'string' ? data.length : isBinary(data) && !isDetached(data) ? data.byteLength : 0
  if (size < tuning.piecesFrom) {
    // Small, or invalid or detached (the binding rejects it with its coded error, as for every
    // kernel): one task.
    return submit(job.data).then((packed) => builder.add(packed)).then(() => builder.out)
  }
  if (typeof data !== 'string') return pieces(data, native, builder, submit)
  // A long string: encode it to UTF-8 in slices too (one 20 MB conversion takes ~30 ms).
  return toUtf8(data, signal).then((bytes) => pieces(bytes, native, builder, submit))
}

module.exports = { parse, tuning }
