'use strict'
// The public API: a thin EventEmitter wrapper over the native entry points in binding.js
// (loaded through lib/native.js, which explains a missing binary).
// Everything per task happens in Rust; this file validates options, maps kernel names to ids
// and wires AbortSignals, keeping the no-options path a single native call.

const { EventEmitter } = require('node:events')
const native = require('./internal/native.js')
const csv = require('./internal/csv.js')
const json = require('./internal/json.js')
const { AbortError, abortError, codeError, typeName, invalidType, outOfRange, poolClosed } = require('./internal/errors.js')

const KERNEL_IDS = new Map(native.kernelNames().map((name, id) => [name, id]))
const PUBLIC_KERNELS = Object.freeze(native.kernelNames().filter((n) => !n.startsWith('__')))
const asyncDispose = Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose')
const MAX_THREADS = native.MAX_THREADS
const MAX_RETRIES = 100
const DEFAULT_THREADS = native.defaultThreads()
const DEFAULT_MAX_INPUT = 2 ** 30 // 1 GiB
const DEFAULT_LIMIT_PIXELS = 0x3FFF * 0x3FFF // sharp's limitInputPixels
// The native side calls back only for the events whose bits are set (see watch()).
const EVENT_BITS = new Map([
  ['drain', native.EventBit.Drain],
  ['queue-full', native.EventBit.QueueFull],
  ['error', native.EventBit.Error],
])
const ERROR_BIT = EVENT_BITS.get('error')
const NOTIFY_KIND = new Map([...EVENT_BITS].map(([name, bit]) => [bit, name]))
const CSV_PARSE = KERNEL_IDS.get('csv.parse')
const JSON_PARSE = KERNEL_IDS.get('json.parse')

// Returns an Error for a bad option, or undefined.
function checkInteger(name, value, min, max, allowInfinity) {
  if (typeof value !== 'number') return invalidType(name, 'of type number', value)
  if (allowInfinity && value === Infinity) return undefined
  if (!Number.isInteger(value) || value < min || value > max) {
    return outOfRange(name, `an integer >= ${min}${max < Number.MAX_SAFE_INTEGER ? ` and <= ${max}` : ''}${allowInfinity ? ' or Infinity' : ''}`, value)
  }
  return undefined
}

// sharp's limitInputPixels: an integer pixel count (0: none) or a boolean (true: sharp's
// default, false: none). Returns the count for the native side (0: none), or an Error.
function limitPixels(value) {
  if (typeof value === 'boolean') return value ? DEFAULT_LIMIT_PIXELS : 0
  if (typeof value !== 'number') return invalidType('limitInputPixels', 'of type number or boolean', value)
  return checkInteger('limitInputPixels', value, 0, Number.MAX_SAFE_INTEGER, false) ?? value
}

function checkTimeout(name, value) {
  if (typeof value !== 'number') return invalidType(name, 'of type number', value)
  if (!(value >= 0)) return outOfRange(name, 'a number of milliseconds >= 0 or Infinity', value)
  return undefined
}

function isSignal(s) {
  // Duck-typed so AbortSignals from other realms (vm contexts, jsdom) work too.
  return s !== null && typeof s === 'object' && typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function'
}

// Parses run()/runBatch() options into [priority, timeout, signal, retries] (an undefined
// timeout or retries: the pool's default), or returns an Error.
function schedulingOptions(options) {
  if (options === null || typeof options !== 'object') return invalidType('options', 'of type object', options)
  const { priority = 0, timeout, signal, retries } = options
  if (typeof priority !== 'number') return invalidType('priority', 'of type number', priority)
  if (!Number.isFinite(priority)) return outOfRange('priority', 'a finite number', priority)
  const err = (timeout === undefined ? undefined : checkTimeout('timeout', timeout)) ??
    (signal === undefined || isSignal(signal) ? undefined : invalidType('signal', 'an instance of AbortSignal', signal)) ??
    (retries === undefined ? undefined : checkInteger('retries', retries, 0, MAX_RETRIES, false))
  if (err) return err
  return [priority, timeout, signal, retries]
}

// Kernels whose input may be a plain number: a batch of numbers for them crosses into Rust as
// one Float64Array and comes back as one, instead of one Node-API call per element each way.
const NUMERIC_INPUT = new Set(['echo', 'fib'].map((n) => KERNEL_IDS.get(n)))
const NUMERIC_BATCH_MIN = 64

function allNumbers(a) {
  for (let i = 0; i < a.length; i++) if (typeof a[i] !== 'number') return false
  return true
}

function toArray(r) {
  if (!ArrayBuffer.isView(r)) return r
  // A plain indexed copy: ~7 ns per element here, against ~50 for Array.from(typedArray).
  const out = new Array(r.length)
  for (let i = 0; i < r.length; i++) out[i] = r[i]
  return out
}

// runBatch's native call; with `withHandle`, [promise, abort handle] (see #watch).
function batch(handle, id, inputs, priority, timeout, retries, withHandle) {
  if (inputs.length >= NUMERIC_BATCH_MIN && NUMERIC_INPUT.has(id) && allNumbers(inputs)) {
    const r = native.runBatch(handle, id, Float64Array.from(inputs), priority, timeout, retries, withHandle)
    if (!withHandle) return r.then(toArray)
    return [r[0].then(toArray), r[1]]
  }
  return native.runBatch(handle, id, inputs, priority, timeout, retries, withHandle)
}

function kernelId(kernel) {
  const id = KERNEL_IDS.get(kernel)
  if (id !== undefined) return id
  if (typeof kernel !== 'string') {
    return codeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "kernel" argument must be of type string. Received ${typeName(kernel)}`)
  }
  return codeError(Error, 'ERR_POOL_UNKNOWN_KERNEL', `Unknown kernel '${kernel}'. Known kernels: ${PUBLIC_KERNELS.join(', ')}`)
}

// [minThreads, maxThreads] from the options, or throws. `threads` sets both; a bound not
// given keeps `curMin`/`curMax` where that fits the other bound.
function threadBounds(threads, minThreads, maxThreads, curMin, curMax) {
  if (threads !== undefined) {
    if (minThreads !== undefined || maxThreads !== undefined) {
      throw codeError(TypeError, 'ERR_INVALID_ARG_VALUE', 'The "threads" option cannot be combined with "minThreads" or "maxThreads"')
    }
    const err = checkInteger('threads', threads, 1, MAX_THREADS, false)
    if (err) throw err
    return [threads, threads]
  }
  const err = (minThreads === undefined ? undefined : checkInteger('minThreads', minThreads, 0, MAX_THREADS, false)) ??
    (maxThreads === undefined ? undefined : checkInteger('maxThreads', maxThreads, 1, MAX_THREADS, false))
  if (err) throw err
  const max = maxThreads ?? Math.max(curMax, minThreads ?? 0)
  const min = minThreads ?? Math.min(curMin, max)
  if (min > max) {
    throw codeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "minThreads" is out of range. It must be <= maxThreads (${max}). Received ${min}`)
  }
  return [min, max]
}

function checkInterval(ms) {
  if (typeof ms !== 'number') return invalidType('monitorInterval', 'of type number', ms)
  if (!(ms > 0) || !(ms <= 2 ** 31 - 1)) return outOfRange('monitorInterval', 'a number of milliseconds > 0 and <= 2147483647', ms)
  return undefined
}

function tooLarge(kernel, size, max) {
  return codeError(RangeError, 'ERR_POOL_INPUT_TOO_LARGE',
    `The input of kernel '${kernel}' is at least ${size} bytes, more than the pool's maxInputBytes (${max})`)
}

// Made outside the constructor so that its closure cannot capture the pool (closures share
// their function's context in V8).
function asyncResource() {
  return {
    handle: undefined,
    hasRef() {
      const h = this.handle?.deref()
      return h !== undefined && native.keepsAlive(h)
    },
  }
}

// Emits 'metrics' every `ms`. Unref'd, and holding the pool only weakly: a pool dropped
// without close() must stay collectable (its timer then stops itself).
function metricsTimer(pool, ms) {
  const ref = new WeakRef(pool)
  const timer = setInterval(() => {
    const p = ref.deref()
    if (p === undefined) clearInterval(timer)
    else p.emit('metrics', p.stats())
  }, ms)
  timer.unref()
  return timer
}

class WorkerPool extends EventEmitter {
  #handle
  // AbortSignal → { tags, onAbort }: one 'abort' listener per signal however many tasks share
  // it (no MaxListenersExceededWarning), removed when its last task settles.
  #signals = new WeakMap()

  // Aborts the task of `[promise, tag]` (what run/runBatch return when asked for the handle)
  // when `signal` aborts; returns the promise.
  #watch([promise, tag], signal) {
    const handle = this.#handle
    if (tag < 0) return promise // rejected before it was queued
    let w = this.#signals.get(signal)
    if (w === undefined) {
      const tags = new Set()
      const onAbort = () => {
        this.#signals.delete(signal)
        for (const t of tags) native.cancel(handle, t, abortError(signal))
        tags.clear()
      }
      w = { tags, onAbort }
      this.#signals.set(signal, w)
      signal.addEventListener('abort', onAbort, { once: true })
    }
    w.tags.add(tag)
    const settled = () => {
      w.tags.delete(tag)
      if (w.tags.size === 0 && this.#signals.get(signal) === w) {
        this.#signals.delete(signal)
        signal.removeEventListener('abort', w.onAbort)
      }
    }
    promise.then(settled, settled)
    return promise
  }

  #maxQueue
  #maxInput
  #monitor = undefined
  #closing = false // close() or destroy() was called
  // Called by the native side for the events in EVENT_BITS; held here because the native
  // side keeps only a weak reference. Listeners run in a microtask so that a throwing
  // listener never unwinds into the pool's settlement loop or into run(). (Not nextTick:
  // Node runs microtasks after a threadsafe-function callback, but not always the tick queue,
  // so a 'drain' could otherwise wait until the loop had already emptied.)
  #notify = (kind, arg) => {
    const name = NOTIFY_KIND.get(kind)
    if (name !== 'error' && this.listenerCount(name) === 0) {
      // Its listeners were removed since: stop the native side from calling for it.
      this.#bits &= ~kind
      native.watch(this.#handle, this.#bits)
      return
    }
    if (name === 'queue-full') queueMicrotask(() => this.emit('queue-full', { kernel: arg }))
    else if (name === 'drain') queueMicrotask(() => this.emit('drain'))
    else if (name === 'error') {
      queueMicrotask(() => {
        if (this.listenerCount('error') > 0) this.emit('error', arg)
        else process.emitWarning(arg)
      })
    }
  }

  // Events the native side calls back for. 'error' always: an unheard fault becomes a process
  // warning. Others from their first listener on; cleared lazily in #notify once unheard.
  #bits = ERROR_BIT

  #listen(event) {
    const bit = EVENT_BITS.get(event)
    if (bit !== undefined && (this.#bits & bit) === 0) {
      this.#bits |= bit
      native.watch(this.#handle, this.#bits)
    }
  }

  // The three ways a listener is added (once() and prependOnceListener() go through on() and
  // prependListener()). Overridden rather than watched through 'newListener', which
  // removeAllListeners() would silently remove.
  on(event, listener) {
    this.#listen(event)
    return super.on(event, listener)
  }

  addListener(event, listener) {
    this.#listen(event)
    return super.addListener(event, listener)
  }

  prependListener(event, listener) {
    this.#listen(event)
    return super.prependListener(event, listener)
  }

  /**
   * @param {import('./index').PoolOptions} [options]
   */
  constructor(options = undefined) {
    super()
    if (options === null || (options !== undefined && typeof options !== 'object')) {
      throw invalidType('options', 'of type object', options)
    }
    const {
      threads, minThreads, maxThreads, idleTimeout = Infinity, maxQueue = Infinity,
      timeout = Infinity, retries = 0, monitorInterval, maxInputBytes = DEFAULT_MAX_INPUT,
      niceIncrement = 0, batching = true, limitInputPixels = DEFAULT_LIMIT_PIXELS,
    } = options ?? {}
    const [min, max] = threadBounds(threads, minThreads, maxThreads, DEFAULT_THREADS, DEFAULT_THREADS)
    const err = checkInteger('maxQueue', maxQueue, 0, Number.MAX_SAFE_INTEGER, true) ??
      checkTimeout('timeout', timeout) ??
      checkTimeout('idleTimeout', idleTimeout) ??
      checkInteger('retries', retries, 0, MAX_RETRIES, false) ??
      checkInteger('maxInputBytes', maxInputBytes, 0, Number.MAX_SAFE_INTEGER, true) ??
      checkInteger('niceIncrement', niceIncrement, 0, 19, false) ??
      (typeof batching === 'boolean' ? undefined : invalidType('batching', 'of type boolean', batching)) ??
      (monitorInterval === undefined ? undefined : checkInterval(monitorInterval))
    if (err) throw err
    const pixels = limitPixels(limitInputPixels)
    if (pixels instanceof Error) throw pixels
    this.#maxQueue = maxQueue
    this.#maxInput = maxInputBytes
    // An async resource whose hasRef() tells async_hooks users (jest --detectOpenHandles)
    // whether the pool keeps the process alive: only while tasks are in flight. The native
    // side holds it strongly, so it reaches the handle only weakly: a pool dropped without
    // close() must stay collectable.
    const resource = asyncResource()
    this.#handle = native.createPool({
      minThreads: min, maxThreads: max, maxQueue, timeout, idleTimeout, retries, maxInputBytes, niceIncrement, batching,
      limitInputPixels: pixels,
    }, this.#notify, resource)
    resource.handle = new WeakRef(this.#handle)
    native.watch(this.#handle, this.#bits)
    if (monitorInterval !== undefined) this.#monitor = metricsTimer(this, monitorInterval)
  }

  /**
   * bcrypt's SIMD backend ({ name, lanes }), or null until the process picked it: in the
   * background, after the first bcrypt task a batching pool took.
   */
  static get bcryptBackend() {
    return native.bcryptBackend()
  }

  /** Names of the built-in kernels. */
  static get kernels() {
    return PUBLIC_KERNELS.slice()
  }

  run(kernel, input, options) {
    try {
      return this.#run(kernel, input, options)
    } catch (e) {
      // Only a user getter or Proxy trap can throw here; its error passes through as-is.
      return Promise.reject(e)
    }
  }

  #run(kernel, input, options) {
    const id = kernelId(kernel)
    if (typeof id !== 'number') return Promise.reject(id)
    if (typeof input === 'string' && input.length > this.#maxInput) return Promise.reject(tooLarge(kernel, input.length, this.#maxInput))
    // csv.parse: the worker returns a packed table; lib/csv.js builds the rows in slices.
    if (id === CSV_PARSE) return csv.parse(input, options, (data) => this.#submit(id, data, options))
    // json.parse: the worker validates and splits; lib/json.js builds the value in slices.
    if (id === JSON_PARSE) return json.parse(input, options, (data) => this.#submit(id, data, options))
    return this.#submit(id, input, options)
  }

  #submit(id, input, options) {
    if (options === undefined) return native.run(this.#handle, id, input)
    const parsed = schedulingOptions(options)
    if (parsed instanceof Error) return Promise.reject(parsed)
    const [priority, timeout, signal, retries] = parsed
    if (signal === undefined) return native.run(this.#handle, id, input, priority, timeout, retries)
    if (signal.aborted) return Promise.reject(abortError(signal))
    return this.#watch(native.run(this.#handle, id, input, priority, timeout, retries, true), signal)
  }

  runBatch(kernel, inputs, options) {
    try {
      return this.#runBatch(kernel, inputs, options)
    } catch (e) {
      return Promise.reject(e) // a user getter or Proxy trap threw
    }
  }

  #runBatch(kernel, inputs, options) {
    const id = kernelId(kernel)
    if (typeof id !== 'number') return Promise.reject(id)
    if (!Array.isArray(inputs)) {
      return Promise.reject(codeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "inputs" argument must be an instance of Array. Received ${typeName(inputs)}`))
    }
    if (id === CSV_PARSE || id === JSON_PARSE) {
      const parsed = options === undefined ? undefined : schedulingOptions(options)
      if (parsed instanceof Error) return Promise.reject(parsed)
      return Promise.all(inputs.map((input) => this.run(kernel, input, options)))
    }
    if (options === undefined) return batch(this.#handle, id, inputs)
    const parsed = schedulingOptions(options)
    if (parsed instanceof Error) return Promise.reject(parsed)
    const [priority, timeout, signal, retries] = parsed
    if (signal === undefined) return batch(this.#handle, id, inputs, priority, timeout, retries)
    if (signal.aborted) return Promise.reject(abortError(signal))
    return this.#watch(batch(this.#handle, id, inputs, priority, timeout, retries, true), signal)
  }

  /** Stops accepting tasks, lets queued and running ones finish; resolves when threads exited. */
  close() {
    return this.#ended(native.close(this.#handle))
  }

  /** Stops accepting tasks, rejects queued ones, stops running ones; resolves when threads exited. */
  destroy() {
    return this.#ended(native.destroy(this.#handle))
  }

  // 'close' is emitted once, after the first close()/destroy() completed.
  #ended(promise) {
    clearInterval(this.#monitor)
    if (!this.#closing) {
      this.#closing = true
      promise.then(() => this.emit('close'), () => {})
    }
    return promise
  }

  /**
   * Changes the thread bounds at run time. Growing starts threads as work arrives; shrinking
   * retires surplus threads between tasks, never interrupting a running one.
   */
  resize(options) {
    if (options === null || typeof options !== 'object') throw invalidType('options', 'of type object', options)
    if (this.closed) throw poolClosed()
    const { minThreads, maxThreads } = options
    const [min, max] = threadBounds(undefined, minThreads, maxThreads, this.minThreads, this.maxThreads)
    native.resize(this.#handle, min, max)
  }

  /** Zeroes the counters and latency histograms and restarts the utilization clock. */
  resetStats() {
    native.resetStats(this.#handle)
  }

  [asyncDispose]() {
    return this.close()
  }

  stats() {
    return native.stats(this.#handle)
  }

  get threads() { return native.threads(this.#handle) }
  get queueSize() { return native.queueSize(this.#handle) }
  get running() { return native.running(this.#handle) }
  get completed() { return native.completed(this.#handle) }
  get utilization() { return native.utilization(this.#handle) }
  get closed() { return native.closed(this.#handle) }
  get minThreads() { return native.minThreads(this.#handle) }
  get maxThreads() { return native.maxThreads(this.#handle) }
  /** True while the queue is at or above maxQueue: wait for 'drain' before adding more. */
  get needsDrain() { return this.#maxQueue !== Infinity && native.queueSize(this.#handle) >= this.#maxQueue }
}

module.exports = { WorkerPool, AbortError }
module.exports.default = module.exports
