// Types of what lib/internal/native.js exports: the addon. The #[napi] exports are declared in
// the generated binding.d.ts; the per-task entry points below are raw `napi_create_function`
// callbacks (src/binding/mod.rs), which napi-rs cannot see, so they are declared here by hand.
import type { PoolHandle } from '../../binding.js'

export * from '../../binding.js'

/** Kernel ids are indexes into `kernelNames()`. */
export type KernelId = number

/**
 * Queues one task. `priority` (higher first), `timeoutMs` (Infinity for none) and `retries` are
 * validated by lib/index.js. With `withHandle` true the result is `[promise, taskHandle]`, the
 * handle being what `cancel` takes.
 */
export declare function run(handle: PoolHandle, kernel: KernelId, input: unknown): Promise<unknown>
export declare function run(handle: PoolHandle, kernel: KernelId, input: unknown, priority: number, timeoutMs: number, retries: number): Promise<unknown>
export declare function run(handle: PoolHandle, kernel: KernelId, input: unknown, priority: number, timeoutMs: number, retries: number, withHandle: true): [Promise<unknown>, number]

/** Queues one task per input; settles with all results in order, or the first failure. */
export declare function runBatch(handle: PoolHandle, kernel: KernelId, inputs: unknown[], priority?: number, timeoutMs?: number, retries?: number): Promise<unknown[]>
export declare function runBatch(handle: PoolHandle, kernel: KernelId, inputs: unknown[], priority: number, timeoutMs: number, retries: number, withHandle: true): [Promise<unknown[]>, number]

/** Cancels a task by its handle: a queued one rejects with `abortError` at once, a running one at its next check. */
export declare function cancel(handle: PoolHandle, taskHandle: number, abortError: Error): void

/** Does nothing, as a raw callback (bench/entry-cost.js). */
export declare function __rawNoop(handle: PoolHandle): void
