import type { ConnectionOptions, Job, Queue, QueueEvents, Worker, WorkerOptions, BackoffOptions, DefaultJobOptions } from 'bullmq'
import type { KernelName, KernelInput, KernelOutput, WorkerPool } from './index.js'

/** What a job of pool/bullmq carries (before the envelope): the arguments of `pool.run`. */
export interface PoolJobData<K extends KernelName = KernelName> {
  kernel: K
  input: KernelInput<K>
  /** Milliseconds; the pool task's timeout (overrides the processor's default). */
  timeout?: number
  /** The pool's priority (higher first) on the worker's own pool queue. */
  priority?: number
}

export interface ProcessorOptions {
  /** Default timeout (ms) for jobs that set none. */
  timeout?: number
  /** Kernel names this processor accepts; others fail with ERR_POOL_UNKNOWN_KERNEL (unrecoverable). */
  kernels?: readonly KernelName[]
}

/**
 * A BullMQ processor running `job.data.kernel` on `pool`. Declared with three parameters, so
 * BullMQ passes its AbortSignal (cancelJob, cancelAllJobs, a lost lock), which aborts the task.
 * Deterministic failures throw BullMQ's UnrecoverableError; ERR_POOL_TIMEOUT,
 * ERR_POOL_KERNEL_PANIC, ERR_POOL_QUEUE_FULL and ERR_POOL_CLOSED throw plain errors (retried).
 */
export declare function createProcessor(
  pool: WorkerPool,
  options?: ProcessorOptions,
): (job: Job, token: string | undefined, signal: AbortSignal | undefined) => Promise<unknown>

export interface CloseOptions {
  /** Abort what still runs after `graceMs` and move those jobs back to waiting at once. */
  force?: boolean
  /** Milliseconds to wait for running jobs before a forced close aborts them (default 0). */
  graceMs?: number
}

export interface PoolWorkerOptions extends Omit<WorkerOptions, 'connection' | 'concurrency'>, ProcessorOptions {
  connection: ConnectionOptions
  /** Jobs taken at once (default pool.threads). */
  concurrency?: number
}

export interface PoolWorker extends Worker {
  /** Take no more jobs and wait for the running ones; `{ force: true }` requeues them instead. */
  close(options?: boolean | CloseOptions): Promise<void>
}

export declare function createWorker(queueName: string, pool: WorkerPool, options: PoolWorkerOptions): PoolWorker

export interface ClientOptions {
  connection: ConnectionOptions
  prefix?: string
  defaultJobOptions?: DefaultJobOptions
}

export interface ClientRunOptions {
  timeout?: number
  /** The pool's priority, higher first; mapped with toBullPriority(). */
  priority?: number
  attempts?: number
  backoff?: number | BackoffOptions
  jobId?: string
  /** Removes the job while it waits, or cancels it on the worker running it. */
  signal?: AbortSignal
}

export interface PoolClient {
  run<K extends KernelName, I extends KernelInput<K>>(kernel: K, input: I, options?: ClientRunOptions): Promise<KernelOutput<K, I>>
  /** Waits for pending runs; `{ force: true }` rejects them with ERR_POOL_CLOSED (the jobs stay queued). */
  close(options?: boolean | { force?: boolean }): Promise<void>
  on(event: 'error', listener: (err: Error) => void): this
  readonly queue: Queue
  readonly events: QueueEvents
}

export declare function createClient(queueName: string, options: ClientOptions): PoolClient

/** Pool priority (higher first, default 0) → BullMQ priority (1..2,097,151, lower first): 1,048,576 − round(p), clamped. */
export declare function toBullPriority(priority?: number): number

/** Envelope version written by encode() (see README "Scaling out"). */
export declare const ENVELOPE_VERSION: number
/** Converts a value into plain JSON that keeps Buffers, typed arrays, bigints, NaN and Dates. */
export declare function encode(value: unknown): unknown
/** The inverse of encode(). */
export declare function decode(value: unknown): unknown
/** The client's error for a job's failedReason. */
export declare function errorFromFailedReason(failedReason: string, jobId: string): Error

declare const _default: {
  createProcessor: typeof createProcessor
  createWorker: typeof createWorker
  createClient: typeof createClient
  toBullPriority: typeof toBullPriority
  encode: typeof encode
  decode: typeof decode
  errorFromFailedReason: typeof errorFromFailedReason
  ENVELOPE_VERSION: number
}
export default _default
