// A vitest suite that never closes its pool: vitest must still finish without a teardown timeout.
import { test, expect } from 'vitest'
import { WorkerPool } from 'pool'
import workload from '../workload.js'

const pool = new WorkerPool({ threads: 2 })

test('runs kernels and gets the right answers (pool left open)', async () => {
  const results = await workload.workload(pool)
  for (const [actual, expected] of Object.values(results)) expect(actual).toEqual(expected)
  expect(pool.closed).toBe(false)
})
