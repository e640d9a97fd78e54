'use strict'
// The JSON envelope pool/bullmq uses for kernel inputs and results, which BullMQ stores with
// JSON.stringify: without it a Buffer becomes { type, data: [bytes...] }, a typed array an
// object of indices, a bigint throws, NaN becomes null and a Date a string.
//
// Version 1. A value JSON cannot carry becomes an object with the key "$pool" (the version):
//   { "$pool": 1, "type": "Buffer" | "ArrayBuffer" | "DataView" | <TypedArray name>, "base64": "…" }
//   { "$pool": 1, "type": "bigint", "value": "-123" }                     (decimal)
//   { "$pool": 1, "type": "number", "value": "NaN" | "Infinity" | "-Infinity" | "-0" }
//   { "$pool": 1, "type": "Date", "value": "2026-01-02T03:04:05.000Z" | null }   (null: invalid)
// Everything else is plain JSON, so a job without such values reads as it always would. A key
// of your own that is "$pool" (or "$$pool", …) is written with one more "$" and read back
// without it, so an object of yours is never mistaken for an envelope. Typed arrays travel as
// their raw bytes in the platform's byte order (little-endian on every supported target).
//
// Walks are iterative (an explicit stack): json.parse results may be 10,000 levels deep.

const { codeError } = require('./errors.js')
const { isDetached } = require('./text.js')

const VERSION = 1
const MAX_BIGINT_DIGITS = 10_000 // BigInt('…') is quadratic in the digits; kernels use ≤ 39

const TYPED = new Map([
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
  ...(typeof Float16Array === 'function' ? [Float16Array] : []), // eslint-disable-line no-undef
].map((C) => [C.name, C]))
const SPECIAL_NUMBERS = new Map([['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['-0', -0]])
const ESCAPED_KEY = /^\$+pool$/
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
const DESCEND = Symbol('descend')
const toStringTag = (v) => Object.prototype.toString.call(v).slice(8, -1)

const invalid = (message) => codeError(TypeError, 'ERR_POOL_ENVELOPE_INVALID', `Invalid pool/bullmq envelope: ${message}`)

// Sets a property even when its name is "__proto__" (an own key in json.parse and csv.parse
// results), which a plain assignment would turn into a prototype change.
function put(obj, key, value) {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true })
  else obj[key] = value
}

// Shared by encode and decode: `leaf(v)` returns the converted value, or DESCEND for an array or
// object whose members are converted one by one (keys through `key`).
function walk(root, leaf, key) {
  const first = leaf(root)
  if (first !== DESCEND) return first
  const open = (src) => {
    if (ancestors.has(src)) throw codeError(TypeError, 'ERR_INVALID_ARG_VALUE', 'Cannot encode a circular structure')
    ancestors.add(src)
    const isArray = Array.isArray(src)
    const keys = isArray ? null : Object.keys(src)
    return { src, dst: isArray ? new Array(src.length) : {}, keys, i: 0, n: isArray ? src.length : keys.length }
  }
  const ancestors = new Set()
  const rootFrame = open(root)
  const stack = [rootFrame]
  while (stack.length > 0) {
    const f = stack[stack.length - 1]
    if (f.i === f.n) {
      stack.pop()
      ancestors.delete(f.src)
      continue
    }
    const k = f.keys === null ? f.i : f.keys[f.i]
    f.i++
    const v = leaf(f.src[k], f.keys === null)
    if (v === DESCEND) {
      const child = open(f.src[k])
      if (f.keys === null) f.dst[k] = child.dst
      else put(f.dst, key(k), child.dst)
      stack.push(child)
    } else if (f.keys === null) {
      f.dst[k] = v
    } else if (v !== undefined) {
      put(f.dst, key(k), v)
    }
  }
  return rootFrame.dst
}

// Its bytes are gone (on Node 20 `detached` does not exist, and a detached view throws on read).
const detached = () => codeError(TypeError, 'ERR_INVALID_STATE', 'Cannot encode a detached ArrayBuffer')
const bytes = (type, view) => ({ $pool: VERSION, type, base64: Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64') })

function encodeLeaf(v, inArray) {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v
    case 'number':
      if (Number.isFinite(v) && !Object.is(v, -0)) return v
      return { $pool: VERSION, type: 'number', value: Object.is(v, -0) ? '-0' : String(v) }
    case 'bigint':
      return { $pool: VERSION, type: 'bigint', value: v.toString() }
    case 'undefined':
      return inArray ? null : undefined // as JSON: a hole in an array, a missing key in an object
    case 'function':
    case 'symbol':
      throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', `Cannot encode a value of type ${typeof v}`)
  }
  if (v === null) return null
  if (ArrayBuffer.isView(v)) {
    if (isDetached(v)) throw detached()
    if (Buffer.isBuffer(v)) return bytes('Buffer', v)
    const tag = toStringTag(v)
    if (tag === 'DataView') return bytes('DataView', v)
    if (TYPED.has(tag)) return bytes(tag, v)
  }
  const tag = toStringTag(v)
  if (tag === 'ArrayBuffer' || tag === 'SharedArrayBuffer') {
    if (isDetached(v)) throw detached()
    return bytes('ArrayBuffer', new Uint8Array(v))
  }
  if (tag === 'Date') return { $pool: VERSION, type: 'Date', value: Number.isNaN(v.getTime()) ? null : v.toISOString() }
  if (!Array.isArray(v) && typeof v.toJSON === 'function') return encodeLeaf(v.toJSON(), inArray)
  return DESCEND
}

const escapeKey = (k) => (ESCAPED_KEY.test(k) ? `$${k}` : k)
const unescapeKey = (k) => (k.length > 5 && ESCAPED_KEY.test(k) ? k.slice(1) : k)

/** Converts `value` into plain JSON (see the top of this file). Throws a TypeError for functions, symbols and cycles. */
function encode(value) {
  return walk(value, encodeLeaf, escapeKey)
}

function fromBase64(s) {
  if (typeof s !== 'string' || s.length % 4 !== 0 || !BASE64.test(s)) throw invalid('"base64" is not base64 text')
  return Buffer.from(s, 'base64')
}

// A fresh ArrayBuffer: Buffer.from() may return a slice of Node's shared pool at any offset,
// and a Float64Array needs its own, aligned memory.
function ownBytes(buf) {
  const ab = new ArrayBuffer(buf.length)
  new Uint8Array(ab).set(buf)
  return ab
}

function decodeEnvelope(env) {
  const version = env.$pool
  if (!Number.isInteger(version) || version < 1) throw invalid(`"$pool" must be a version number, got ${JSON.stringify(version)}`)
  if (version > VERSION) {
    throw codeError(Error, 'ERR_POOL_ENVELOPE_VERSION',
      `This value was encoded by a newer pool/bullmq (envelope version ${version}; this one reads ${VERSION}): upgrade pool here`)
  }
  const { type, value } = env
  switch (type) {
    case 'Buffer':
      return fromBase64(env.base64)
    case 'ArrayBuffer':
      return ownBytes(fromBase64(env.base64))
    case 'DataView':
      return new DataView(ownBytes(fromBase64(env.base64)))
    case 'bigint':
      if (typeof value !== 'string' || value.length > MAX_BIGINT_DIGITS || !/^-?\d+$/.test(value)) throw invalid('"value" of a bigint must be decimal digits')
      return BigInt(value)
    case 'number':
      if (!SPECIAL_NUMBERS.has(value)) throw invalid(`unknown number ${JSON.stringify(value)}`)
      return SPECIAL_NUMBERS.get(value)
    case 'Date': {
      if (value === null) return new Date(NaN)
      const d = typeof value === 'string' ? new Date(value) : new Date(NaN)
      if (Number.isNaN(d.getTime())) throw invalid('"value" of a Date must be an ISO date string or null')
      return d
    }
  }
  const Ctor = typeof type === 'string' ? TYPED.get(type) : undefined
  if (Ctor === undefined) throw invalid(`unknown type ${JSON.stringify(type)}`)
  const buf = fromBase64(env.base64)
  if (buf.length % Ctor.BYTES_PER_ELEMENT !== 0) throw invalid(`${buf.length} bytes is not a whole number of ${type} elements`)
  return new Ctor(ownBytes(buf))
}

function decodeLeaf(v) {
  if (v === null || typeof v !== 'object') return v
  if (!Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, '$pool')) return decodeEnvelope(v)
  return DESCEND
}

/** The inverse of encode(), for a value as JSON.parse gives it. Throws ERR_POOL_ENVELOPE_INVALID / _VERSION. */
function decode(value) {
  return walk(value, decodeLeaf, unescapeKey)
}

module.exports = { encode, decode, VERSION }
