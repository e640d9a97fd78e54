'use strict'
// Helpers shared by the kernels whose results are built on the JS side (lib/internal/csv.js,
// lib/internal/json.js), and binary-input tests the envelope (lib/internal/envelope.js) shares.

const { abortError } = require('./errors.js')

const STRING_CHUNK = 1 << 21 // UTF-16 units encoded to UTF-8 per slice

const SLICE_MS = 2
// A gap longer than this between two of our slices was not ours (see inSlices).
const PAUSE_MS = 8

// Runs a builder's `work(deadline)` on the event loop in slices of ~SLICE_MS, with setImmediate
// between them, until it returns true; rejects with an AbortError once `signal` aborts, or with
// what `work` threw. `pacer` ({ lastEnd, started }) is shared by one document's pieces. If
// something else held the thread since our last slice (most often a scavenge, and scavenges
// come in pairs while everything survives: the second at our next allocation), the event loop
// gets a turn first. A later piece starts in its own turn, not right after the previous one.
function inSlices(pacer, signal, work) {
  return new Promise((resolve, reject) => {
    let waited = false
    const step = () => {
      if (signal !== undefined && signal.aborted) return reject(abortError(signal))
      const now = performance.now()
      if (now - pacer.lastEnd > PAUSE_MS && !waited) {
        waited = true
        setImmediate(step)
        return
      }
      waited = false
      let done
      try {
        done = work(now + SLICE_MS)
      } catch (e) {
        return reject(e)
      }
      pacer.lastEnd = performance.now()
      if (done) resolve()
      else setImmediate(step)
    }
    if (pacer.started) setImmediate(step)
    else step()
    pacer.started = true
  })
}

// Encodes `str` as UTF-8 (lone surrogates as U+FFFD, as Node-API does) in slices of
// STRING_CHUNK UTF-16 units, yielding between them (one 20 MB conversion takes ~30 ms).
// The buffer starts at the length for ASCII plus room for one worst-case slice and grows
// (copying) only when a slice might not fit: allocating 3 bytes per unit up front counted as
// V8 external memory and triggered a full (mark-compact) GC in the middle of building.
function toUtf8(str, signal) {
  let buf = Buffer.allocUnsafe(str.length + 3 * Math.min(str.length, STRING_CHUNK))
  let off = 0
  let i = 0
  return new Promise((resolve, reject) => {
    const step = () => {
      if (signal !== undefined && signal.aborted) return reject(abortError(signal))
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

function isBinary(v) {
  return ArrayBuffer.isView(v) || v instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer)
}

// Whether binary `v` (see isBinary) lost its memory to a transfer. A detached DataView throws on
// its length and offset getters, a typed array reads 0, so the test is on the ArrayBuffer (a view's
// `buffer` getter never throws). `detached` exists from Node 22; on 20 a detached buffer is one of
// length 0 that cannot be viewed (a SharedArrayBuffer never detaches).
function isDetached(v) {
  const ab = ArrayBuffer.isView(v) ? v.buffer : v
  if (typeof ab.detached === 'boolean') return ab.detached
  if (ab.byteLength !== 0) return false
  try {
    new Uint8Array(ab)
    return false
  } catch {
    return true
  }
}

// The AbortSignal of run() options, if it is one (run() itself rejects anything else).
function signalOf(options) {
  const signal = options !== null && typeof options === 'object' ? options.signal : undefined
  return signal !== undefined && signal !== null && typeof signal.aborted === 'boolean' ? signal : undefined
}

module.exports = { STRING_CHUNK, inSlices, toUtf8, isBinary, isDetached, signalOf }
