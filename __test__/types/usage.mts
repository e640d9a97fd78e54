// ESM consumers: named and default imports of both entry points (`npm run test:types`).
import pool, { WorkerPool } from 'pool'
import prometheus, { registerPoolMetrics } from 'pool/prometheus'
import { Registry } from 'prom-client'

const a: WorkerPool = new pool.WorkerPool({ threads: 1 })
const b = new WorkerPool({ threads: 1 })
const digest: Buffer = await a.run('sha256', 'x')
const n: bigint = await b.run('xxh64', digest)
prometheus.registerPoolMetrics(a, new Registry()).unregister()
registerPoolMetrics(b, new Registry(), { prefix: 'b_' })
// @ts-expect-error fib takes a number
await b.run('fib', 'x')
void n
