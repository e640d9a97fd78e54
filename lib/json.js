'use strict'
// json.parse, JS side. The worker validates the UTF-8 text (exactly what JSON.parse accepts,
// iteratively, so no input can overflow a stack) and, for a large top-level array or object,
// records ranges of whole consecutive elements or members (~256 KiB each). This file then
// builds the value with V8's own JSON.parse on those ranges, in slices of ~SLICE_MS with
// setImmediate between them, so a 20 MB document never holds the event loop for long.
//
// Packed result (little-endian u32): ok `[0, kind, a0, b0, …]` (kind 0: whole text, 1: array
// groups, 2: object groups); error `[1 | 2, position, line, column]` (1 syntax, 2 too deep).
// Offsets are UTF-16 units for string input and bytes for binary input.

const { STRING_CHUNK, abortError, toUtf8, codeError, isBinary } = require('./text.js')

const SLICE_MS = 2
const MAX_DEPTH = 10000

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

function build(packed, text, binary, signal, AbortError) {
  const word = (i) => packed.readUInt32LE(i * 4)
  const status = word(0)
  if (status === 1) return Promise.reject(syntaxError(word(1), word(2), word(3), binary))
  if (status === 2) {
    const e = codeError(RangeError, 'ERR_POOL_JSON_DEPTH', `JSON nesting deeper than ${MAX_DEPTH} at line ${word(2)} column ${word(3)}`)
    e.line = word(2)
    e.column = word(3)
    e.position = word(1)
    return Promise.reject(e)
  }
  const kind = word(1)
  const slice = binary ? (a, b) => text.toString('utf8', a, b) : (a, b) => text.slice(a, b)
  if (kind === 0) {
    try {
      return Promise.resolve(JSON.parse(binary ? text.toString('utf8') : text))
    } catch (e) {
      return Promise.reject(syntaxError(0, 1, 1, binary)) // unreachable: the validator agrees with V8
    }
  }
  const ngroups = (packed.length / 4 - 2) / 2
  const out = kind === 1 ? [] : {}
  let g = 0
  return new Promise((resolve, reject) => {
    const step = () => {
      if (signal !== undefined && signal.aborted) return reject(abortError(signal, AbortError))
      const deadline = performance.now() + SLICE_MS
      try {
        while (g < ngroups) {
          const s = slice(word(2 + 2 * g), word(3 + 2 * g))
          g++
          if (kind === 1) {
            const part = JSON.parse('[' + s + ']')
            for (let i = 0; i < part.length; i++) out.push(part[i])
          } else {
            const part = JSON.parse('{' + s + '}')
            for (const k of Object.keys(part)) own(out, k, part[k])
          }
          if (g < ngroups && performance.now() > deadline) {
            setImmediate(step)
            return
          }
        }
      } catch (e) {
        return reject(syntaxError(0, 1, 1, binary)) // unreachable: the validator agrees with V8
      }
      resolve(out)
    }
    step()
  })
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
    if (input.length <= STRING_CHUNK) return submit(input).then((packed) => build(packed, input, false, signal, AbortError))
    return toUtf8(input, signal, AbortError)
      .then((bytes) => submit({ data: bytes, utf16: 1 }))
      .then((packed) => build(packed, input, false, signal, AbortError))
  }
  if (isBinary(input)) {
    let buf
    try {
      buf = asBuffer(input)
    } catch {
      // Buffer.from throws on a detached ArrayBuffer (its view cannot be read).
      return Promise.reject(codeError(TypeError, 'ERR_INVALID_STATE', 'The input of json.parse is a detached ArrayBuffer'))
    }
    return submit(input).then((packed) => build(packed, buf, true, signal, AbortError))
  }
  return Promise.reject(codeError(TypeError, 'ERR_INVALID_ARG_TYPE',
    `The "input" argument of json.parse must be of type string or an instance of Buffer, TypedArray, DataView or ArrayBuffer. Received ${typeName(input)}`))
}

module.exports = { parse, MAX_DEPTH }
