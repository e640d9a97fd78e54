'use strict'
// json.parse, JS side. The worker validates the UTF-8 text (exactly what JSON.parse accepts,
// iteratively, so no input can overflow a stack) and, for a large top-level array or object,
// records ranges of whole consecutive elements or members (~256 KiB each). This file then
// builds the value with V8's own JSON.parse on those ranges, in slices of ~2 ms with
// setImmediate between them, so a 20 MB document never holds the event loop for long.
//
// A large document is validated in pieces (lib/pieces.js: each task starts at a top-level
// element or member boundary and stops after the first group ending `target` bytes later), so
// the worker validates piece i + 1 while this thread builds piece i. A piece is the parsers'
// packed format (src/kernels/output.rs): its `kind` says what `offsets` holds ([a, b) pairs,
// UTF-16 units for string input, bytes for binary). Invalid text rejects the piece's task with
// the coded error the worker made (position, line and column in the whole text).

const native = require('./native.js')
const { codeError, typeName } = require('./errors.js')
const { pipeline } = require('./pieces.js')
const { inSlices, toUtf8, isBinary, isDetached, signalOf } = require('./text.js')

const KIND = native.parserConstants().jsonKind

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

// Unreachable: the worker's validator accepts exactly what JSON.parse does. Kept so a bug there
// shows as a coded error, not an uncoded one.
function disagreement() {
  return codeError(SyntaxError, 'ERR_POOL_JSON_SYNTAX', 'Invalid JSON (the validator and JSON.parse disagree: a bug)')
}

function own(out, k, v) {
  if (k === '__proto__') Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true })
  else out[k] = v
}

// Builds a document's value from its validated pieces, in order, in slices of ~2 ms.
class Builder {
  constructor(text, binary, signal) {
    this.text = text
    this.binary = binary
    this.signal = signal
    this.out = undefined
    this.started = false
    this.lastEnd = Infinity // when our last slice ended
  }

  /** Builds one packed piece's groups; resolves when done. */
  add(packed) {
    const { text, binary, signal } = this
    const { kind, offsets } = packed
    if (kind === KIND.whole) {
      try {
        this.out = JSON.parse(binary ? text.toString('utf8') : text)
        return Promise.resolve()
      } catch {
        return Promise.reject(disagreement())
      }
    }
    if (this.out === undefined) this.out = kind === KIND.array ? [] : {}
    const out = this.out
    const slice = binary ? (a, b) => text.toString('utf8', a, b) : (a, b) => text.slice(a, b)
    const ngroups = offsets.length / 2
    let g = 0
    return inSlices(this, signal, (deadline) => {
      try {
        while (g < ngroups) {
          const s = slice(offsets[2 * g], offsets[2 * g + 1])
          g++
          if (kind === KIND.array) {
            const part = JSON.parse('[' + s + ']')
            for (let i = 0; i < part.length; i++) out.push(part[i])
          } else {
            const part = JSON.parse('{' + s + '}')
            for (const k of Object.keys(part)) own(out, k, part[k])
          }
          if (g < ngroups && performance.now() > deadline) return false
        }
      } catch {
        throw disagreement()
      }
      return true
    })
  }
}

/**
 * Validates `bytes` in pieces and builds the value (see lib/pieces.js). `text` is what the
 * offsets index (the string, or `bytes`).
 */
function pieces(bytes, utf16, text, signal, submit) {
  const builder = new Builder(text, !utf16, signal)
  const request = (prev) => submit({
    data: bytes,
    utf16: utf16 ? 1 : 0,
    start: prev === undefined ? 0 : prev.next,
    startUnits: prev === undefined ? 0 : prev.nextUnits,
    kind: prev === undefined ? KIND.whole : prev.kind,
    target: prev === undefined ? FIRST_PIECE_BYTES : PIECE_BYTES,
  })
  return pipeline(request, (packed) => builder.add(packed)).then(() => builder.out)
}

/**
 * `pool.run('json.parse', input, options)`: `submit(nativeInput)` queues the kernel (with the
 * caller's scheduling options) and returns its promise.
 */
function parse(input, options, submit) {
  const signal = signalOf(options)
  if (typeof input === 'string') {
    if (input.length < PIECES_FROM) return pieces(input, true, input, signal, submit)
    return toUtf8(input, signal).then((bytes) => pieces(bytes, true, input, signal, submit))
  }
  if (isBinary(input)) {
    // A detached input cannot be viewed as a Buffer: it goes to the kernel as it is, and the
    // binding rejects it with ERR_INVALID_STATE, as for every kernel.
    return pieces(input, false, isDetached(input) ? input : asBuffer(input), signal, submit)
  }
  return Promise.reject(codeError(TypeError, 'ERR_INVALID_ARG_TYPE',
    `The "input" argument of json.parse must be of type string or an instance of Buffer, TypedArray, DataView or ArrayBuffer. Received ${typeName(input)}`))
}

module.exports = { parse }
