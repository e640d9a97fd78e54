// Type tests for index.d.ts and prometheus.d.ts (`npm run test:types`, never run). Every
// `exact<T>()(value)` fails to compile unless `value` has exactly type T; every
// `@ts-expect-error` fails to compile unless the next line is an error.

import { WorkerPool, AbortError } from 'pool'
import type { KernelName, PoolStats, PoolError, CsvRecord, CsvValue, JsonValue, ThreadStats } from 'pool'
import { registerPoolMetrics } from 'pool/prometheus'
import type { PoolMetricsHandle } from 'pool/prometheus'
import { Registry } from 'prom-client'
import { once } from 'node:events'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
declare function exact<T>(): <V>(value: V, ...mismatch: Equal<V, T> extends true ? [] : ['type mismatch', V]) => void

async function kernels(pool: WorkerPool, buf: Buffer, u8: Uint8Array) {
  exact<Buffer>()(await pool.run('sha256', buf))
  exact<Buffer>()(await pool.run('sha256', 'text'))
  exact<Buffer>()(await pool.run('blake3', { data: u8 }))
  exact<Buffer>()(await pool.run('hmac', { algorithm: 'sha256', key: 'k', data: buf }))
  exact<bigint>()(await pool.run('xxh64', buf))
  exact<bigint>()(await pool.run('xxh128', { data: buf, seed: 7n }))
  exact<number>()(await pool.run('xxh32', { data: buf, seed: 1 }))
  exact<number>()(await pool.run('crc32', buf))
  exact<number>()(await pool.run('fib', 30))
  exact<string>()(await pool.run('bcrypt.hash', { password: 'pw' }))
  exact<string>()(await pool.run('bcrypt.hash', { password: buf, cost: 10 }))
  exact<boolean>()(await pool.run('bcrypt.verify', { password: 'pw', hash: '$2b$...' }))
  exact<string>()(await pool.run('argon2.hash', { password: 'pw', type: 'argon2id', memoryCost: 19456 }))
  exact<boolean>()(await pool.run('argon2.verify', { password: 'pw', hash: '$argon2id$...' }))
  exact<Buffer>()(await pool.run('scrypt', { password: 'pw', salt: 'salt', keylen: 64 }))
  exact<Buffer>()(await pool.run('pbkdf2', { password: 'pw', salt: buf, iterations: 1000, keylen: 32, digest: 'sha512' }))
  exact<JsonValue>()(await pool.run('json.parse', '{"a":1}'))
  exact<JsonValue>()(await pool.run('json.parse', buf))
  exact<null | boolean | number | string | Buffer>()(await pool.run('echo', 'x'))
  const meta = await pool.run('image.metadata', buf)
  exact<'jpeg' | 'png' | 'webp' | 'gif'>()(meta.format)
  exact<number | null>()(meta.orientation)
  const { data, info } = await pool.run('image.transform', {
    data: u8, rotate: 'auto', resize: { width: 800, height: 600, fit: 'cover', position: 'centre', withoutEnlargement: true },
    background: '#fff', format: 'jpeg', quality: 80, limitInputPixels: false,
  })
  exact<Buffer>()(data)
  exact<'jpeg' | 'png' | 'webp'>()(info.format)
  // @ts-expect-error fit names are sharp's
  await pool.run('image.transform', { data: buf, resize: { fit: 'crop' } })

  // csv.parse: the result follows the header/dynamicTyping options.
  exact<string[][]>()(await pool.run('csv.parse', 'a,b\n1,2'))
  exact<string[][]>()(await pool.run('csv.parse', { data: buf }))
  exact<string[][]>()(await pool.run('csv.parse', { data: 'x', header: false, delimiter: ';' }))
  exact<CsvRecord<string>[]>()(await pool.run('csv.parse', { data: 'a\n1', header: true }))
  exact<CsvValue[][]>()(await pool.run('csv.parse', { data: 'a\n1', dynamicTyping: true }))
  exact<CsvRecord<CsvValue>[]>()(await pool.run('csv.parse', { data: 'a\n1', header: true, dynamicTyping: true }))
  const header: boolean = Math.random() > 0.5
  exact<CsvRecord<string>[] | string[][]>()(await pool.run('csv.parse', { data: 'a\n1', header }))
  const rows = await pool.run('csv.parse', { data: 'name,age\nada,36', header: true })
  const name = rows[0]?.['name']
  if (typeof name === 'string') exact<string>()(name)
  exact<string[] | undefined>()(rows[0]?.__parsed_extra)

  // runBatch: an array of the kernel's output.
  exact<Buffer[]>()(await pool.runBatch('sha256', [buf, 'text', u8]))
  exact<number[]>()(await pool.runBatch('fib', [1, 2, 3], { priority: 1 }))
  exact<bigint[]>()(await pool.runBatch('xxh3', [buf] as const))
  exact<string[][][]>()(await pool.runBatch('csv.parse', ['a,b', 'c,d']))

  // A kernel name known only at run time must be narrowed to KernelName first.
  const dynamic: string = 'sha256'
  if ((WorkerPool.kernels as string[]).includes(dynamic)) {
    exact<Buffer>()(await pool.run(dynamic as 'sha256', buf))
  }
  const names: KernelName[] = WorkerPool.kernels
  void names

  // @ts-expect-error fib takes a number
  pool.run('fib', 'x')
  // @ts-expect-error sha256 takes binary, a string or { data }
  pool.run('sha256', 42)
  // @ts-expect-error bcrypt.hash needs { password }
  pool.run('bcrypt.hash', 'pw')
  // @ts-expect-error cost is a number
  pool.run('bcrypt.hash', { password: 'pw', cost: '12' })
  // @ts-expect-error hmac: unsupported algorithm
  pool.run('hmac', { algorithm: 'md5', key: 'k', data: 'd' })
  // @ts-expect-error unknown kernel name
  pool.run('sha257', buf)
  // @ts-expect-error internal kernel, not part of the API
  pool.run('__panic', null)
  // @ts-expect-error a plain string is not a kernel name
  pool.run(dynamic, buf)
  // @ts-expect-error runBatch takes an array
  pool.runBatch('fib', 1)
  // @ts-expect-error every input must suit the kernel
  pool.runBatch('fib', [1, '2'])
  // @ts-expect-error the result of sha256 is a Buffer, not a string
  const s: string = await pool.run('sha256', buf)
  void s
}

async function options(buf: Buffer) {
  const pool = new WorkerPool({
    threads: 4,
    maxQueue: 100,
    timeout: 5_000,
    retries: 2,
    idleTimeout: 30_000,
    monitorInterval: 1_000,
    maxInputBytes: 64 << 20,
    limitInputPixels: 24_000_000,
  })
  new WorkerPool({ limitInputPixels: false })
  new WorkerPool()
  new WorkerPool({ minThreads: 0, maxThreads: 8, maxQueue: Infinity })
  const ac = new AbortController()
  await pool.run('sha256', buf, { signal: ac.signal, priority: 1, timeout: 100, retries: 1 })
  await pool.run('sha256', buf, { signal: AbortSignal.timeout(10) })
  pool.resize({ minThreads: 1, maxThreads: 4 })
  pool.resize({ maxThreads: 2 })

  // @ts-expect-error threads is a number
  new WorkerPool({ threads: '4' })
  // @ts-expect-error unknown option
  new WorkerPool({ thread: 4 })
  // @ts-expect-error limitInputPixels is a number or a boolean
  new WorkerPool({ limitInputPixels: '1e6' })
  // @ts-expect-error priority is a number
  pool.run('fib', 1, { priority: 'high' })
  // @ts-expect-error signal is an AbortSignal
  pool.run('fib', 1, { signal: ac })
  // @ts-expect-error resize takes an object
  pool.resize(4)

  exact<void>()(pool.resize({ minThreads: 2 }))
  exact<void>()(pool.resetStats())
  exact<Promise<void>>()(pool.close())
  exact<Promise<void>>()(pool.destroy())
  exact<Promise<void>>()(pool[Symbol.asyncDispose]())
  exact<boolean>()(pool.needsDrain)
  exact<boolean>()(pool.closed)
  exact<number>()(pool.threads + pool.minThreads + pool.maxThreads + pool.queueSize + pool.running + pool.completed + pool.utilization)
  // @ts-expect-error read-only
  pool.threads = 3

  const stats = pool.stats()
  exact<PoolStats>()(stats)
  exact<number>()(stats.retried + stats.timedOut + stats.cancelled + stats.failed + stats.minThreads)
  exact<number>()(stats.runTime.p99)
  exact<ThreadStats | undefined>()(stats.perThread[0])
  exact<number | null>()(stats.perThread[0]!.lastActive)
  exact<number>()(stats.batched)
  exact<{ name: string; lanes: number } | null>()(WorkerPool.bcryptBackend)
  new WorkerPool({ batching: false })
  // @ts-expect-error batching is a boolean
  new WorkerPool({ batching: 'off' })
}

function events(pool: WorkerPool) {
  pool.on('drain', () => {})
  pool.once('queue-full', ({ kernel }) => { exact<string>()(kernel) })
  pool.on('metrics', (stats) => { exact<PoolStats>()(stats) })
  pool.on('error', (err) => { exact<Error>()(err) })
  pool.once('close', () => {})
  const onDrain = () => {}
  pool.on('drain', onDrain).off('drain', onDrain)
  // @ts-expect-error 'metrics' listeners get PoolStats
  pool.on('metrics', (stats: string) => stats)
  // @ts-expect-error unknown event
  pool.on('drained', () => {})
  // @ts-expect-error 'drain' has no arguments
  pool.emit('drain', 1)
  return once(pool, 'drain')
}

async function errors(pool: WorkerPool) {
  try {
    await pool.run('json.parse', '{')
  } catch (e) {
    const err = e as PoolError
    if (err.code === 'ERR_POOL_JSON_SYNTAX') exact<number | undefined>()(err.line)
    // @ts-expect-error not a code the pool uses
    if (err.code === 'ERR_SOMETHING') return
  }
  const abort = new AbortError('stop', { cause: 1 })
  exact<'ABORT_ERR'>()(abort.code)
  exact<'AbortError'>()(abort.name)
}

async function disposal() {
  await using pool = new WorkerPool({ threads: 1 })
  exact<number>()(await pool.run('fib', 10))
}

function prometheus(pool: WorkerPool) {
  const registry = new Registry()
  const handle = registerPoolMetrics(pool, registry, { prefix: 'app_pool_', labels: { pool: 'hash' } })
  exact<PoolMetricsHandle>()(handle)
  handle.unregister()
  registerPoolMetrics(pool)
  registerPoolMetrics(pool, registry)
  // @ts-expect-error prefix is a string
  registerPoolMetrics(pool, registry, { prefix: 1 })
  // @ts-expect-error the first argument is a pool
  registerPoolMetrics(registry)
  // @ts-expect-error label values are strings or numbers
  registerPoolMetrics(pool, registry, { labels: { pool: true } })
}

export { kernels, options, events, errors, disposal, prometheus }

// pool/bullmq
import { createClient, createWorker, createProcessor, toBullPriority } from 'pool/bullmq'
{
  const p = new WorkerPool()
  const processor = createProcessor(p, { timeout: 1000, kernels: ['sha256'] })
  const n: number = processor.length
  const w = createWorker('q', p, { connection: { host: '127.0.0.1', port: 6379 }, concurrency: 2 })
  const c = createClient('q', { connection: { host: '127.0.0.1', port: 6379 } })
  const digest: Promise<Buffer> = c.run('sha256', Buffer.from('x'), { priority: 5, attempts: 3, signal: AbortSignal.timeout(10) })
  const bp: number = toBullPriority(10)
  void [n, w.close({ force: true, graceMs: 100 }), c.close(), digest, bp]
}
