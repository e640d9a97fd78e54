/// <reference types="node" />
import { EventEmitter } from 'node:events'

/** Binary input: read as raw bytes. */
export type Binary = Buffer | NodeJS.TypedArray | DataView | ArrayBuffer

/** Input and output type of each built-in kernel. */
export interface Kernels {
  echo: { input: null | boolean | number | string | Binary; output: null | boolean | number | string | Buffer }
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
  /** BLAKE3, default 32-byte output. */
  blake3: { input: HashInput; output: Buffer }
  hmac: { input: HmacInput; output: Buffer }
  /** Unsigned 32-bit result; seed must fit in 32 bits. */
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
   * rejects with a `RangeError` (`ERR_POOL_JSON_DEPTH`). Large documents are built on the event
   * loop in short slices.
   */
  'json.parse': { input: Binary | string; output: JsonValue }
}

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

export type CsvValue = string | number | boolean | null | Date
export type CsvRow = CsvValue[] | { [field: string]: CsvValue | CsvValue[] }

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

export type KernelName = keyof Kernels

export interface PoolOptions {
  /** Worker threads (1–1024). Default: the machine's available parallelism. */
  threads?: number
  /** Tasks allowed to wait (running ones not counted); integer ≥ 0 or Infinity (default). */
  maxQueue?: number
  /** Default run-time limit per task in ms, counted from when the task starts running. */
  timeout?: number
}

export interface RunOptions {
  /** Finite number, default 0; higher runs first, FIFO among equals. */
  priority?: number
  /** Run-time limit in ms for this task (overrides the pool default). */
  timeout?: number
  /** Aborting rejects the task with an AbortError (code ABORT_ERR, cause = signal.reason). */
  signal?: AbortSignal
}

export interface TimeSummary {
  count: number
  mean: number
  p50: number
  p90: number
  p99: number
  max: number
}

export interface PoolStats {
  threads: number
  queueSize: number
  running: number
  completed: number
  failed: number
  cancelled: number
  timedOut: number
  utilization: number
  closed: boolean
  /** Run time per task, ms. */
  runTime: TimeSummary
  /** Time from submission to start, ms. */
  waitTime: TimeSummary
}

/** Rejection reason of an aborted task. */
export declare class AbortError extends Error {
  readonly name: 'AbortError'
  readonly code: 'ABORT_ERR'
  constructor(message?: string, options?: { cause?: unknown })
}

export declare class WorkerPool extends EventEmitter {
  constructor(options?: PoolOptions)
  /** Names of the built-in kernels. */
  static readonly kernels: KernelName[]
  run<K extends KernelName>(kernel: K, input: Kernels[K]['input'], options?: RunOptions): Promise<Kernels[K]['output']>
  runBatch<K extends KernelName>(kernel: K, inputs: ReadonlyArray<Kernels[K]['input']>, options?: RunOptions): Promise<Array<Kernels[K]['output']>>
  /** Stop accepting; queued and running tasks finish; resolves when every thread has exited. */
  close(): Promise<void>
  /** Stop accepting; queued tasks reject, running ones are stopped; resolves when threads exited. */
  destroy(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
  stats(): PoolStats
  readonly threads: number
  readonly queueSize: number
  readonly running: number
  readonly completed: number
  readonly utilization: number
  readonly closed: boolean
}

declare const _default: { WorkerPool: typeof WorkerPool; AbortError: typeof AbortError }
export default _default
