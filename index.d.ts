/// <reference types="node" />
import { EventEmitter } from 'node:events'

/** Binary input: read as raw bytes. */
export type Binary = Buffer | NodeJS.TypedArray | DataView | ArrayBuffer

/** Input and output type of each built-in kernel. */
export interface Kernels {
  echo: { input: null | boolean | number | string | Binary; output: null | boolean | number | string | Buffer }
  fib: { input: number; output: number }
  sha256: { input: Binary | string; output: Buffer }
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
