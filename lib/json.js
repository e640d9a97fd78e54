'use strict'
// json.parse, JS side. The worker validates the UTF-8 text (exactly what JSON.parse accepts,
// iteratively, so no input can overflow a stack) and, for a large top-level array or object,
// records ranges of whole consecutive elements or members (~256 KiB each). This file then
// builds the value with V8's own JSON.parse on those ranges, in slices of ~SLICE_MS with
// setImmediate between them, so a 20 MB document never holds the event loop for long.
//
// A large document is validated in pieces (each task starts at a top-level element or member
// boundary and stops after the first group ending `target` bytes later, saying where the next
// piece starts), so the worker validates piece i + 1 while this thread builds piece i.
//
// Packed result (little-endian u32): ok `[0, kind, next, nextUnits, a0, b0, …]` (kind 0: whole
// text, 1: array groups, 2: object groups; next 0: done); error `[1 | 2, position, line,
// column]` (1 syntax, 2 too deep), in the whole text. Offsets are UTF-16 units for string
// input and bytes for binary input.

const { inSlices, toUtf8, codeError, isBinary } = require('./text.js')

const MAX_DEPTH = 10000
const HEADER_WORDS = 4 // [status, kind, next, nextUnits]
// Strings this long or longer are encoded to UTF-8 (in slices) once, before the worker sees
// them; shorter ones are copied by the binding. Below 2^18 units the UTF-8 is under the
// kernel's 1 MiB whole-document limit, so such a string is validated in one task and never
// copied again for a second piece.
const PIECES_FROM = 1 << 18
// A large document is validated in pieces: the first small so building starts early, later
// ones larger so there are few round trips (the worker stops at the first group boundary
// after the target, groups being ~256 KiB).
const FIRST_PIECE_BYTES = 256 * 1024
const PIECE_BYTES = 1 << 20

function asBuffer(v) {
  if (Buffer.isBuffer(v)) return v
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  return Buffer.from(v)
}

function typeName(v) {
  if (v === null) return 'null'
  if (typeof v === 'object') return `an instance of ${v.constructor?.name ?? 'Object'}`
  return `type ${typeof v}`
}

function syntaxError(position, line, column, binary) {
  const e = new SyntaxError(`Invalid JSON at line ${line} column ${column} (${binary ? 'byte' : 'position'} ${position})`)
  e.code = 'ERR_POOL_JSON_SYNTAX'
  e.line = line
  e.column = column
  e.position = position
  return e
}

function own(out, k, v) {
  if (k === '__proto__') Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true })
  else out[k] = v
}

// The error a packed error result stands for (see the format above).
function packedError(word, binary) {
  if (word(0) === 1) return syntaxError(word(1), word(2), word(3), binary)
  const e = codeError(RangeError, 'ERR_POOL_JSON_DEPTH', `JSON nesting deeper than ${MAX_DEPTH} at line ${word(2)} column ${word(3)}`)
  e.line = word(2)
  e.column = word(3)
  e.position = word(1)
  return e
}

// Builds a document's value from its validated pieces, in order, in slices of ~SLICE_MS.
class Builder {
  constructor(text, binary, signal, AbortError) {
    this.text = text
    this.binary = binary
    this.signal = signal
    this.AbortError = AbortError
    this.out = undefined
    this.started = false
    this.lastEnd = Infinity // when our last slice ended
  }

  /** Builds one packed (ok) result's groups; resolves when done. */
  add(packed) {
    const word = (i) => packed.readUInt32LE(i * 4)
    const { text, binary, signal, AbortError } = this
    const kind = word(1)
    if (kind === 0) {
      try {
        this.out = JSON.parse(binary ? text.toString('utf8') : text)
        return Promise.resolve()
      } catch (e) {
        return Promise.reject(syntaxError(0, 1, 1, binary)) // unreachable: the validator agrees with V8
      }
    }
    if (this.out === undefined) this.out = kind === 1 ? [] : {}
    const out = this.out
    const slice = binary ? (a, b) => text.toString('utf8', a, b) : (a, b) => text.slice(a, b)
    const ngroups = (packed.length / 4 - HEADER_WORDS) / 2
    let g = 0
    return inSlices(this, signal, AbortError, (deadline) => {
      try {
        while (g < ngroups) {
          const s = slice(word(HEADER_WORDS + 2 * g), word(HEADER_WORDS + 1 + 2 * g))
          g++
          if (kind === 1) {
            const part = JSON.parse('[' + s + ']')
            for (let i = 0; i < part.length; i++) out.push(part[i])
          } else {
            const part = JSON.parse('{' + s + '}')
            for (const k of Object.keys(part)) own(out, k, part[k])
          }
          if (g < ngroups && performance.now() > deadline) return false
        }
      } catch {
        throw syntaxError(0, 1, 1, binary) // unreachable: the validator agrees with V8
      }
      return true
    })
  }
}

/**
 * Validates `bytes` in pieces and builds the value: each piece is queued as soon as the
 * previous one is validated, so the worker runs ahead while this thread builds the pieces in
 * order. `text` is what the offsets index (the string, or `bytes`).
 */
async function pieces(bytes, utf16, text, signal, AbortError, submit) {
  const binary = !utf16
  const builder = new Builder(text, binary, signal, AbortError)
  const validated = [] // promises of packed results, in document order
  let stop = false
  const piece = (start, startUnits, kind, target) => {
    const p = submit({ data: bytes, utf16: utf16 ? 1 : 0, start, startUnits, kind, target })
    validated.push(p)
    p.then((packed) => {
      const word = (i) => packed.readUInt32LE(i * 4)
      if (!stop && word(0) === 0 && word(2) !== 0) piece(word(2), word(3), word(1), PIECE_BYTES)
    }, () => {}) // the rejection is seen below, when its turn comes
  }
  piece(0, 0, 0, FIRST_PIECE_BYTES)
  try {
    for (let i = 0; ; i++) {
      // Piece i is queued by the time piece i - 1 has settled (that callback ran first).
      const packed = await validated[i]
      const word = (k) => packed.readUInt32LE(k * 4)
      if (word(0) !== 0) throw packedError(word, binary)
      await builder.add(packed)
      if (word(2) === 0) return builder.out
    }
  } finally {
    stop = true
  }
}

/**
 * `pool.run('json.parse', input, options)`: `submit(nativeInput)` queues the kernel (with the
 * caller's scheduling options) and returns its promise.
 */
function parse(input, options, submit, AbortError) {
  let signal
  if (options !== null && typeof options === 'object') signal = options.signal
  if (signal !== undefined && (signal === null || typeof signal.aborted !== 'boolean')) signal = undefined
  if (typeof input === 'string') {
    if (input.length < PIECES_FROM) return pieces(input, true, input, signal, AbortError, submit)
    return toUtf8(input, signal, AbortError).then((bytes) => pieces(bytes, true, input, signal, AbortError, submit))
  }
  if (isBinary(input)) {
    let buf
    try {
      buf = asBuffer(input)
    } catch {
      // Buffer.from throws on a detached ArrayBuffer (its view cannot be read).
      return Promise.reject(codeError(TypeError, 'ERR_INVALID_STATE', 'The input of json.parse is a detached ArrayBuffer'))
    }
    return pieces(input, false, buf, signal, AbortError, submit)
  }
  return Promise.reject(codeError(TypeError, 'ERR_INVALID_ARG_TYPE',
    `The "input" argument of json.parse must be of type string or an instance of Buffer, TypedArray, DataView or ArrayBuffer. Received ${typeName(input)}`))
}

module.exports = { parse, MAX_DEPTH }
