'use strict'
// Helpers shared by the kernels whose results are built on the JS side (lib/csv.js, lib/json.js).

const STRING_CHUNK = 1 << 21 // UTF-16 units encoded to UTF-8 per slice

function abortError(signal, AbortError) {
  return new AbortError(undefined, { cause: signal.reason })
}

// Encodes `str` as UTF-8 (lone surrogates as U+FFFD, as Node-API does) in slices of
// STRING_CHUNK UTF-16 units, yielding between them (one 20 MB conversion takes ~30 ms).
function toUtf8(str, signal, AbortError) {
  const buf = Buffer.allocUnsafe(str.length * 3)
  let off = 0
  let i = 0
  return new Promise((resolve, reject) => {
    const step = () => {
      if (signal !== undefined && signal.aborted) return reject(abortError(signal, AbortError))
      let j = Math.min(str.length, i + STRING_CHUNK)
      const c = str.charCodeAt(j - 1)
      if (j < str.length && c >= 0xd800 && c <= 0xdbff) j-- // keep surrogate pairs whole
      off += buf.write(str.slice(i, j), off)
      i = j
      if (i < str.length) setImmediate(step)
      else resolve(buf.subarray(0, off))
    }
    step()
  })
}

function codeError(Ctor, code, message) {
  const e = new Ctor(message)
  e.code = code
  return e
}

function isBinary(v) {
  return ArrayBuffer.isView(v) || v instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer)
}

module.exports = { STRING_CHUNK, abortError, toUtf8, codeError, isBinary }
