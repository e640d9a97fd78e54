'use strict'
// csv.parse, JS side. The worker parses the whole document into one packed table
// ({ text: Buffer, ends, rows, rowBytes: Uint32Array, types?: Uint8Array, ascii }); this file
// checks the options, then builds the rows on the event loop in slices of ~SLICE_MS, yielding
// with setImmediate between slices, so a 20 MB document never holds the loop for long.

const { STRING_CHUNK, abortError, toUtf8, codeError, isBinary } = require('./text.js')

const SLICE_MS = 2
const CHUNK_BYTES = 256 * 1024 // text decoded at a time (above V8's 128 KiB regular-object limit)
const MAX_FLOAT = 2 ** 53
const MIN_FLOAT = -MAX_FLOAT
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

function typed(tag, s) {
  switch (tag) {
    case 1: {
      const n = parseFloat(s)
      return n > MIN_FLOAT && n < MAX_FLOAT ? n : s
    }
    case 2: return true
    case 3: return false
    case 4: return ISO_DATE.test(s) ? new Date(s) : s
    case 5: return null
    default: return s
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

/** Builds the rows from a packed table; rejects with an AbortError if `signal` aborts meanwhile. */
function build(packed, job, signal, AbortError) {
  const { text, ends, rows, rowBytes, types, ascii } = packed
  const dyn = job.dynamicTyping && types !== undefined
  const enc = ascii ? 'latin1' : 'utf8'
  const nrows = rows.length
  const out = []
  let r = 0 // next row
  let f = 0 // next field
  let byte = 0 // text byte offset of row r
  let base = 0 // UTF-16 offset of row r
  let keys = null
  let special = null // keys[j] === '__proto__'
  return new Promise((resolve, reject) => {
    const step = () => {
      if (signal !== undefined && signal.aborted) return reject(abortError(signal, AbortError))
      const deadline = performance.now() + SLICE_MS
      while (r < nrows) {
        // Decode whole rows, at least CHUNK_BYTES at a time: such strings go straight to V8's
        // large-object space, so minor GCs never copy them (the fields are slices of them).
        let r1 = r + 1
        while (r1 < nrows && rowBytes[r1 - 1] - byte < CHUNK_BYTES) r1++
        const end = rowBytes[r1 - 1]
        const s = text.toString(enc, byte, end)
        let prev = 0
        for (; r < r1; r++) {
          const n = rows[r]
          if (job.header && keys === null) {
            const fields = new Array(n)
            for (let j = 0; j < n; j++, f++) {
              const e = ends[f] - base
              fields[j] = s.slice(prev, e)
              prev = e
            }
            keys = headerKeys(fields)
            special = keys.map((k) => k === '__proto__')
            continue
          }
          if (keys !== null) {
            const row = {}
            const nk = keys.length
            for (let j = 0; j < n; j++, f++) {
              const e = ends[f] - base
              let v = s.slice(prev, e)
              prev = e
              if (dyn) v = typed(types[f], v)
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
          } else {
            const row = new Array(n)
            for (let j = 0; j < n; j++, f++) {
              const e = ends[f] - base
              const v = s.slice(prev, e)
              prev = e
              row[j] = dyn ? typed(types[f], v) : v
            }
            out.push(row)
          }
        }
        byte = end
        base = f > 0 ? ends[f - 1] : 0
        if (r < nrows && performance.now() > deadline) {
          setImmediate(step)
          return
        }
      }
      resolve(out)
    }
    step()
  })
}

/**
 * `pool.run('csv.parse', input, options)`: `submit(nativeInput)` queues the kernel (with the
 * caller's scheduling options) and returns its promise.
 */
function parse(input, options, submit, AbortError) {
  let job
  let signal
  try {
    job = prepare(input)
    if (options !== null && typeof options === 'object') signal = options.signal
  } catch (e) {
    return Promise.reject(e)
  }
  if (signal !== undefined && (signal === null || typeof signal.aborted !== 'boolean')) signal = undefined
  const record = job.data !== null && typeof job.data === 'object' && !isBinary(job.data)
  const text = record ? job.data.data : job.data
  if (typeof text !== 'string' || text.length <= STRING_CHUNK) {
    return submit(job.data).then((packed) => build(packed, job, signal, AbortError))
  }
  // A long string: encode it to UTF-8 in slices too (one 20 MB conversion takes ~30 ms).
  return toUtf8(text, signal, AbortError).then((bytes) => {
    const data = record ? { ...job.data, data: bytes } : bytes
    return submit(data).then((packed) => build(packed, job, signal, AbortError))
  })
}

module.exports = { parse }
