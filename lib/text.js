'use strict'
// Helpers shared by the kernels whose results are built on the JS side (lib/csv.js, lib/json.js).

const STRING_CHUNK = 1 << 21 // UTF-16 units encoded to UTF-8 per slice

function abortError(signal, AbortError) {
  return new AbortError(undefined, { cause: signal.reason })
}

// Encodes `str` as UTF-8 (lone surrogates as U+FFFD, as Node-API does) in slices of
// STRING_CHUNK UTF-16 units, yielding between them (one 20 MB conversion takes ~30 ms).
// The buffer starts at the length for ASCII plus room for one worst-case slice and grows
// (copying) only when a slice might not fit: allocating 3 bytes per unit up front counted as
// V8 external memory and triggered a full (mark-compact) GC in the middle of building.
function toUtf8(str, signal, AbortError) {
  let buf = Buffer.allocUnsafe(str.length + 3 * Math.min(str.length, STRING_CHUNK))
  let off = 0
  let i = 0
  return new Promise((resolve, reject) => {
    const step = () => {
      if (signal !== undefined && signal.aborted) return reject(abortError(signal, AbortError))
      let j = Math.min(str.length, i + STRING_CHUNK)
      const c = str.charCodeAt(j - 1)
      if (j < str.length && c >= 0xd800 && c <= 0xdbff) j-- // keep surrogate pairs whole
      if (buf.length - off < 3 * (j - i)) {
        const bigger = Buffer.allocUnsafe(Math.max(2 * buf.length, off + 3 * (j - i)))
        buf.copy(bigger, 0, 0, off)
        buf = bigger
      }
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
