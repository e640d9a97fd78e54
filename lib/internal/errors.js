'use strict'
// The errors the JS layer makes, in one place. Codes follow Node's (ERR_INVALID_ARG_TYPE,
// ERR_OUT_OF_RANGE, ABORT_ERR); the pool's own start with ERR_POOL_.

class AbortError extends Error {
  constructor(message = 'The operation was aborted', options = undefined) {
    super(message, options)
    this.code = 'ABORT_ERR'
    this.name = 'AbortError'
  }
}

/** The AbortError for an aborted `signal`, with its reason as the cause. */
function abortError(signal) {
  return new AbortError(undefined, { cause: signal.reason })
}

function codeError(Ctor, code, message, options = undefined) {
  const e = new Ctor(message, options)
  e.code = code
  return e
}

/** How Node's messages describe a received value ("Received …"). */
function typeName(v) {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an instance of Array'
  return typeof v === 'object' ? `an instance of ${v.constructor?.name ?? 'Object'}` : `type ${typeof v}`
}

function invalidType(name, expected, value) {
  return codeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" option must be ${expected}. Received ${typeName(value)}`)
}

function outOfRange(name, expected, value) {
  return codeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${expected}. Received ${String(value)}`)
}

function poolClosed() {
  return codeError(Error, 'ERR_POOL_CLOSED', 'The pool is closed')
}

module.exports = { AbortError, abortError, codeError, typeName, invalidType, outOfRange, poolClosed }
