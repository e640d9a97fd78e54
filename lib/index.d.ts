/// <reference types="node" />
import { EventEmitter } from 'node:events'

/** Binary input: read as raw bytes. */
export type Binary = Buffer | NodeJS.TypedArray | DataView | ArrayBuffer

/**
 * Input and output type of each built-in kernel: `pool.run(name, input)` accepts
 * `Kernels[name]['input']` and resolves with `Kernels[name]['output']` (for `csv.parse`, the
 * output is narrowed by the `header`/`dynamicTyping` options: see {@link CsvParseOutput}).
 */
export interface Kernels {
  /** Returns its input (binary → a new Buffer with the same bytes). */
  echo: { input: null | boolean | number | string | Binary; output: null | boolean | number | string | Buffer }
  /** Naive recursive fib(n), integer 0 ≤ n ≤ 78. */
  fib: { input: number; output: number }
  md5: { input: HashInput; output: Buffer }
  sha1: { input: HashInput; output: Buffer }
  sha224: { input: HashInput; output: Buffer }
  sha256: { input: HashInput; output: Buffer }
  sha384: { input: HashInput; output: Buffer }
  sha512: { input: HashInput; output: Buffer }
  'sha3-256': { input: HashInput; output: Buffer }
  'sha3-512': { input: HashInput; output: Buffer }
  blake2b512: { input: HashInput; output: Buffer }
  /** BLAKE3, 32-byte output. */
  blake3: { input: HashInput; output: Buffer }
  hmac: { input: HmacInput; output: Buffer }
  /** Unsigned 32-bit result; the seed must fit in 32 bits. */
  xxh32: { input: SeededHashInput; output: number }
  xxh64: { input: SeededHashInput; output: bigint }
  /** XXH3, 64-bit output. */
  xxh3: { input: SeededHashInput; output: bigint }
  /** XXH3, 128-bit output. */
  xxh128: { input: SeededHashInput; output: bigint }
  /** CRC-32 (ISO-HDLC, as zlib.crc32); unsigned 32-bit. */
  crc32: { input: HashInput; output: number }
  /** CRC-32C (Castagnoli); unsigned 32-bit. */
  crc32c: { input: HashInput; output: number }
  /** bcrypt: a new `$2b$` hash with a random salt. Only the first 72 password bytes count. */
  'bcrypt.hash': { input: BcryptHashInput; output: string }
  /** Whether `password` matches a `$2a$`/`$2b$`/`$2y$` hash; a malformed hash rejects (ERR_INVALID_ARG_VALUE). */
  'bcrypt.verify': { input: PasswordVerifyInput; output: boolean }
  /** Argon2 (version 0x13): a PHC string `$argon2id$v=19$m=…,t=…,p=…$salt$hash`. */
  'argon2.hash': { input: Argon2HashInput; output: string }
  /** Whether `password` matches an Argon2 PHC string; a malformed hash rejects (ERR_INVALID_ARG_VALUE). */
  'argon2.verify': { input: PasswordVerifyInput; output: boolean }
  /** scrypt, byte-equal to `crypto.scrypt`. */
  scrypt: { input: ScryptInput; output: Buffer }
  /** PBKDF2-HMAC, byte-equal to `crypto.pbkdf2`. */
  pbkdf2: { input: Pbkdf2Input; output: Buffer }
  /**
   * RFC 4180 CSV (UTF-8 text) → rows: arrays of fields, or objects keyed by the header row
   * with `header: true`. Unterminated quote: rejects with `ERR_POOL_CSV_SYNTAX` and `line`.
   */
  'csv.parse': { input: CsvParseInput; output: CsvRow[] }
  /**
   * JSON text (a string, or UTF-8 binary) → the value `JSON.parse` gives. Invalid text rejects
   * with a `SyntaxError` (`ERR_POOL_JSON_SYNTAX`) carrying 1-based `line`/`column` and 0-based
   * `position` (UTF-16 units for a string, bytes for binary); nesting deeper than 10,000
   * rejects with a `RangeError` (`ERR_POOL_JSON_DEPTH`).
   */
  'json.parse': { input: Binary | string; output: JsonValue }
  /**
   * sharp's `metadata()` from the header alone (no pixel is decoded): JPEG, PNG, WebP, GIF.
   * Rejects an unknown format (`ERR_POOL_IMAGE_FORMAT`), a truncated header
   * (`ERR_POOL_IMAGE_DECODE`) and more pixels than `limitInputPixels`
   * (`ERR_POOL_IMAGE_TOO_LARGE`, a `RangeError`).
   */
  'image.metadata': { input: ImageMetadataInput; output: ImageMetadata }
  /**
   * Decode, auto-orient (or rotate), resize as sharp, flatten alpha into JPEG, encode; no
   * metadata is copied. Errors as `image.metadata`, and `ERR_POOL_IMAGE_DECODE` for corrupt
   * pixel data.
   */
  'image.transform': { input: ImageTransformInput; output: ImageTransformOutput }
}

/** Names of the built-in kernels. */
export type KernelName = keyof Kernels
/** What kernel `K` accepts. */
export type KernelInput<K extends KernelName> = Kernels[K]['input']
/**
 * What kernel `K` resolves with for an input of type `I`: `Kernels[K]['output']`, narrowed for
 * `csv.parse` by the input's `header`/`dynamicTyping` options.
 */
export type KernelOutput<K extends KernelName, I = KernelInput<K>> = K extends 'csv.parse'
  ? CsvParseOutput<I>
  : Kernels[K]['output']

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

export interface CsvParseOptions {
  data: Binary | string
  /** One character, not CR or LF (default ','). */
  delimiter?: string
  /** One character, not CR or LF, other than the delimiter (default '"'). */
  quote?: string
  /**
   * Rows become objects keyed by the first row's fields (papaparse's rules: a BOM is stripped,
   * duplicates renamed `a_1`…, missing fields absent, extra ones in `__parsed_extra`).
   */
  header?: boolean
  /** papaparse's dynamicTyping: numbers, `true`/`TRUE`/`false`/`FALSE`, ISO dates, '' → null. */
  dynamicTyping?: boolean
  /** Drops records that are one empty field (an empty line, or `""`). */
  skipEmptyLines?: boolean
}

export type CsvParseInput = Binary | string | CsvParseOptions

/** A field with `dynamicTyping: true`; without it every field is a string. */
export type CsvValue = string | number | boolean | null | Date

/**
 * A row with `header: true`. A field the row lacks is absent (`undefined`); fields beyond the
 * header's are collected in `__parsed_extra`.
 */
export interface CsvRecord<V = CsvValue> {
  [field: string]: V | V[] | undefined
  __parsed_extra?: V[]
}

export type CsvRow = CsvValue[] | CsvRecord

// `data` is in the patterns so they are not weak types (all-optional types match no object
// that lacks their properties).
type CsvField<I> = I extends { data: unknown; dynamicTyping?: false | undefined } ? string : CsvValue

/**
 * `csv.parse`'s result for input `I`: `string[][]` for plain text; records with
 * `header: true`; `CsvValue` fields with `dynamicTyping: true`; a union when an option is only
 * known to be a `boolean`.
 */
export type CsvParseOutput<I> = I extends string | Binary
  ? string[][]
  : I extends { header: true }
    ? CsvRecord<CsvField<I>>[]
    : I extends { data: unknown; header?: false | undefined }
      ? CsvField<I>[][]
      : CsvRecord<CsvField<I>>[] | CsvField<I>[][]

/** A password: binary, or a string (as UTF-8). */
export type Password = Binary | string

export interface BcryptHashInput {
  password: Password
  /** log2 of the rounds, integer 4–31 (default 12). */
  cost?: number
}

export interface PasswordVerifyInput {
  password: Password
  /** The stored hash string. */
  hash: string
}

export interface Argon2HashInput {
  password: Password
  /** Default 'argon2id'. */
  type?: 'argon2d' | 'argon2i' | 'argon2id'
  /** KiB, integer 8·parallelism – 1048576 (1 GiB); default 19456. */
  memoryCost?: number
  /** Passes, integer 1–1024; default 2. */
  timeCost?: number
  /** Lanes, integer 1–255; default 1. */
  parallelism?: number
  /** 8–48 bytes; default 16 random bytes from the OS CSPRNG. */
  salt?: Binary | string
}

export interface ScryptInput {
  password: Password
  salt: Binary | string
  /** Output length in bytes, integer 0–1048576. */
  keylen: number
  /** Power of 2 > 1 (default 16384; 0 means the default, as in Node). */
  N?: number
  /** Default 8. */
  r?: number
  /** Default 1. */
  p?: number
  /** Bytes; refuses when 128·r·(N + p + 2) exceeds it (default 32 MiB, hard cap 1 GiB). */
  maxmem?: number
}

export interface Pbkdf2Input {
  password: Password
  salt: Binary | string
  /** Integer 1–2147483647. */
  iterations: number
  /** Output length in bytes, integer 0–1048576. */
  keylen: number
  /** Default 'sha256'. */
  digest?: 'sha1' | 'sha256' | 'sha384' | 'sha512'
}

/** Data to hash: binary, a string (hashed as UTF-8), or `{ data }` (other fields ignored). */
export type HashInput = Binary | string | { data: Binary | string }

/**
 * Data to hash, optionally with a seed (default 0): a non-negative safe integer, or a bigint
 * that fits the hash's seed (u32 for xxh32, u64 otherwise).
 */
export type SeededHashInput = HashInput | { data: Binary | string; seed?: number | bigint }

export interface HmacInput {
  algorithm: 'sha1' | 'sha256' | 'sha384' | 'sha512'
  key: Binary | string
  data: Binary | string
}

/**
 * sharp's `limitInputPixels`: the most pixels (width × height) a header may claim, checked
 * before any pixel buffer is allocated. Absent: the pool's (default 268402689, 0x3FFF × 0x3FFF);
 * `true`: 268402689; `0` or `false`: no limit.
 */
export type LimitInputPixels = number | boolean

export type ImageMetadataInput = Binary | { data: Binary; limitInputPixels?: LimitInputPixels }

export interface ImageMetadata {
  format: 'jpeg' | 'png' | 'webp' | 'gif'
  width: number
  height: number
  /** Bands of the decoded image: 1 grey, 2 grey + alpha, 3 RGB (or YCbCr JPEG), 4 RGBA or CMYK. */
  channels: 1 | 2 | 3 | 4
  hasAlpha: boolean
  /** The EXIF orientation tag, 1–8, or null when there is none. */
  orientation: number | null
  /** The input's length in bytes. */
  size: number
}

export interface ImageResizeOptions {
  /** Positive integer; absent or null: from `height` and the aspect ratio. */
  width?: number | null
  height?: number | null
  /** Default 'cover'. */
  fit?: 'cover' | 'contain' | 'fill' | 'inside' | 'outside'
  /** For `cover`/`contain`: sharp's position or gravity names, or a gravity number 0–8. Default 'centre'. */
  position?:
    | 'centre' | 'center' | 'top' | 'right top' | 'right' | 'right bottom' | 'bottom' | 'left bottom'
    | 'left' | 'left top' | 'north' | 'northeast' | 'east' | 'southeast' | 'south' | 'southwest'
    | 'west' | 'northwest' | number
  /** Default 'lanczos3'. */
  kernel?: 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3' | 'mks2013' | 'mks2021'
  withoutEnlargement?: boolean
  withoutReduction?: boolean
  /** `contain`'s padding; default the transform's `background`. */
  background?: string
}

export interface ImageTransformOptions {
  data: Binary
  /** 'auto' (default): the EXIF orientation; or a multiple of 90 applied before resizing, EXIF ignored. */
  rotate?: 'auto' | number
  resize?: ImageResizeOptions
  /**
   * '#rgb', '#rgba', '#rrggbb', '#rrggbbaa', 'white', 'black' or 'transparent': alpha is
   * flattened onto it for JPEG, and `contain` pads with it. Default opaque black, as sharp.
   */
  background?: string
  /** Default: the input's format ('png' for GIF input). */
  format?: 'jpeg' | 'jpg' | 'png' | 'webp'
  /** JPEG and WebP, integer 1–100; default 80. */
  quality?: number
  /** WebP: lossless. Default false. */
  lossless?: boolean
  /** PNG: zlib level 0–9; default 6. */
  compressionLevel?: number
  limitInputPixels?: LimitInputPixels
}

export type ImageTransformInput = Binary | ImageTransformOptions

export interface ImageTransformOutput {
  data: Buffer
  info: { format: 'jpeg' | 'png' | 'webp'; width: number; height: number; size: number }
}

export interface PoolOptions {
  /** Integer 1–1024: sets minThreads = maxThreads. Default: the machine's available parallelism. */
  threads?: number
  /** Integer 0–1024: threads kept even when idle. Default min(default threads, maxThreads). */
  minThreads?: number
  /** Integer 1–1024: threads the pool may grow to. Default max(default threads, minThreads). */
  maxThreads?: number
  /** ms ≥ 0 or Infinity (default): threads above minThreads retire after this long idle. */
  idleTimeout?: number
  /** Tasks allowed to wait (running ones not counted); integer ≥ 0 or Infinity (default). */
  maxQueue?: number
  /** Default run-time limit per task in ms (≥ 0 or Infinity, the default), counted from when the task starts running. */
  timeout?: number
  /** Integer 0–100 (default 0): re-runs after ERR_POOL_TIMEOUT or ERR_POOL_KERNEL_PANIC. */
  retries?: number
  /** ms > 0: emit 'metrics' with `pool.stats()` this often (the timer never keeps the process alive). */
  monitorInterval?: number
  /** Integer 0–19 (default 0): added to each pool thread's nice value (Linux only), so the event loop thread wins under CPU contention. */
  niceIncrement?: number
  /** Integer ≥ 0 or Infinity (default 1 GiB): larger inputs reject with ERR_POOL_INPUT_TOO_LARGE before any work. */
  maxInputBytes?: number
  /**
   * Default true: a thread that takes a `bcrypt.hash` or `bcrypt.verify` task with more of the
   * same cost queued right behind it runs them together in SIMD lanes (8 on AVX2, up to 16 on
   * AVX-512); `false` runs every task alone. Order, results, errors, aborts and timeouts are
   * each task's own either way.
   */
  batching?: boolean
  /**
   * The image kernels' `limitInputPixels` for every task (a task's own overrides it): default
   * 268402689 (sharp's) or `true`; `0` or `false`: no limit.
   */
  limitInputPixels?: LimitInputPixels
}

export interface RunOptions {
  /** Finite number, default 0; higher runs first, FIFO among equals. */
  priority?: number
  /** Run-time limit in ms for this task (overrides the pool default). */
  timeout?: number
  /** Re-runs after a timeout or a kernel panic, integer 0–100 (overrides the pool default). */
  retries?: number
  /** Aborting rejects the task with an AbortError (code ABORT_ERR, cause = signal.reason). */
  signal?: AbortSignal
}

export interface ResizeOptions {
  /** Integer 0–1024. */
  minThreads?: number
  /** Integer 1–1024, ≥ minThreads. */
  maxThreads?: number
}

/** A latency summary, in milliseconds (log-linear histogram: quantiles within ~6%). */
export interface TimeSummary {
  count: number
  mean: number
  p50: number
  p90: number
  p99: number
  max: number
}

export interface ThreadStats {
  /** Slot index; the thread is named `pool-worker-<thread>`. */
  thread: number
  /** Whether a thread holds this slot now (idle threads above minThreads retire). */
  alive: boolean
  tasks: number
  errors: number
  busyMs: number
  avgRunMs: number
  /** When the slot last finished a task (ms since the Unix epoch), or null if never. */
  lastActive: number | null
}

export interface PoolStats {
  /** Threads alive now. */
  threads: number
  minThreads: number
  maxThreads: number
  queueSize: number
  running: number
  /** Tasks settled, any outcome, since creation or resetStats(). */
  completed: number
  failed: number
  cancelled: number
  timedOut: number
  retried: number
  /** Of the tasks run, those that ran in a SIMD batch with others (see `batching`). */
  batched: number
  /** Busy thread-time / alive thread-time, 0..1. */
  utilization: number
  closed: boolean
  /** Run time per task, ms. */
  runTime: TimeSummary
  /** Time from submission to start, ms. */
  waitTime: TimeSummary
  perThread: ThreadStats[]
}

/** Every `code` the pool's errors carry. */
export type PoolErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_INVALID_STATE'
  | 'ERR_CRYPTO_INVALID_SCRYPT_PARAMS'
  | 'ERR_CRYPTO_INVALID_DIGEST'
  | 'ERR_CRYPTO_OPERATION_FAILED'
  | 'ABORT_ERR'
  | 'ERR_POOL_CLOSED'
  | 'ERR_POOL_QUEUE_FULL'
  | 'ERR_POOL_TIMEOUT'
  | 'ERR_POOL_KERNEL_PANIC'
  | 'ERR_POOL_UNKNOWN_KERNEL'
  | 'ERR_POOL_INPUT_TOO_LARGE'
  | 'ERR_POOL_JSON_SYNTAX'
  | 'ERR_POOL_JSON_DEPTH'
  | 'ERR_POOL_CSV_SYNTAX'
  | 'ERR_POOL_THREAD_SPAWN'
  | 'ERR_POOL_INTERNAL'

/** What a task rejects with (narrow with `err.code`). */
export interface PoolError extends Error {
  code: PoolErrorCode
  /** ERR_POOL_JSON_SYNTAX: 1-based; ERR_POOL_CSV_SYNTAX: 1-based line where the quoted field began. */
  line?: number
  /** ERR_POOL_JSON_SYNTAX: 1-based. */
  column?: number
  /** ERR_POOL_JSON_SYNTAX: 0-based (UTF-16 units for a string, bytes for binary). */
  position?: number
}

/** Rejection reason of an aborted task. */
export declare class AbortError extends Error {
  readonly name: 'AbortError'
  readonly code: 'ABORT_ERR'
  constructor(message?: string, options?: { cause?: unknown })
}

/** The pool's events and their listener arguments. */
export interface PoolEvents {
  /** Nothing queued and nothing running (emitted when the last in-flight task settles). */
  drain: []
  /** A task was just rejected with ERR_POOL_QUEUE_FULL. */
  'queue-full': [info: { kernel: string }]
  /** Every `monitorInterval` ms. */
  metrics: [stats: PoolStats]
  /** A pool-level fault no single task owns (e.g. a thread failed to start). */
  error: [error: Error]
  /** After close() or destroy() completed (once). */
  close: []
}

type Listener<E extends keyof PoolEvents> = (...args: PoolEvents[E]) => void

export declare class WorkerPool extends EventEmitter {
  constructor(options?: PoolOptions)
  /** Names of the built-in kernels. */
  static readonly kernels: KernelName[]
  /**
   * bcrypt's SIMD backend (`name`: 'avx2', 'avx512', 'avx2_12', 'sse41', 'neon' or 'scalar';
   * `lanes`: hashes per batch), or null until the process picked it: in the background, after
   * the first bcrypt task a batching pool took (the crate times its candidates, ~0.4 s of one core).
   */
  static readonly bcryptBackend: { name: string; lanes: number } | null

  /** Runs one task; never throws, every failure is a rejection with a coded Error. */
  run<K extends KernelName, I extends KernelInput<K>>(kernel: K, input: I, options?: RunOptions): Promise<KernelOutput<K, I>>
  /** Runs many inputs of one kernel; results in input order; the first failure rejects the whole batch. */
  runBatch<K extends KernelName, I extends KernelInput<K>>(kernel: K, inputs: readonly I[], options?: RunOptions): Promise<Array<KernelOutput<K, I>>>
  /** Changes the thread bounds (validated as in the constructor); never interrupts a running task. */
  resize(options: ResizeOptions): void
  /** Stop accepting; queued and running tasks finish; resolves when every thread has exited. */
  close(): Promise<void>
  /** Stop accepting; queued tasks reject, running ones are stopped; resolves when threads exited. */
  destroy(): Promise<void>
  /** Same as close(), for `await using pool = new WorkerPool()`. */
  [Symbol.asyncDispose](): Promise<void>
  stats(): PoolStats
  /** Zeroes counters and histograms and restarts the utilization clock. */
  resetStats(): void

  /** Threads alive now. */
  readonly threads: number
  readonly minThreads: number
  readonly maxThreads: number
  readonly queueSize: number
  readonly running: number
  readonly completed: number
  readonly utilization: number
  readonly closed: boolean
  /** `queueSize >= maxQueue` (always false with an unbounded queue): wait for 'drain'. */
  readonly needsDrain: boolean

  on<E extends keyof PoolEvents>(event: E, listener: Listener<E>): this
  on(event: 'newListener' | 'removeListener', listener: (event: string | symbol, listener: (...args: any[]) => void) => void): this
  once<E extends keyof PoolEvents>(event: E, listener: Listener<E>): this
  once(event: 'newListener' | 'removeListener', listener: (event: string | symbol, listener: (...args: any[]) => void) => void): this
  off<E extends keyof PoolEvents>(event: E, listener: Listener<E>): this
  off(event: 'newListener' | 'removeListener', listener: (event: string | symbol, listener: (...args: any[]) => void) => void): this
  addListener<E extends keyof PoolEvents>(event: E, listener: Listener<E>): this
  addListener(event: 'newListener' | 'removeListener', listener: (event: string | symbol, listener: (...args: any[]) => void) => void): this
  removeListener<E extends keyof PoolEvents>(event: E, listener: Listener<E>): this
  removeListener(event: 'newListener' | 'removeListener', listener: (event: string | symbol, listener: (...args: any[]) => void) => void): this
  prependListener<E extends keyof PoolEvents>(event: E, listener: Listener<E>): this
  prependListener(event: 'newListener' | 'removeListener', listener: (event: string | symbol, listener: (...args: any[]) => void) => void): this
  prependOnceListener<E extends keyof PoolEvents>(event: E, listener: Listener<E>): this
  prependOnceListener(event: 'newListener' | 'removeListener', listener: (event: string | symbol, listener: (...args: any[]) => void) => void): this
  emit<E extends keyof PoolEvents>(event: E, ...args: PoolEvents[E]): boolean
}

declare const _default: { WorkerPool: typeof WorkerPool; AbortError: typeof AbortError }
export default _default
