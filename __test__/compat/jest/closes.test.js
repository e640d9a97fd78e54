'use strict'
// A Jest suite that closes its pool in afterAll.
const { WorkerPool } = require('pool')
const { workload } = require('../workload.js')

let pool

beforeAll(() => {
  pool = new WorkerPool({ threads: 2 })
})

afterAll(async () => {
  await pool.close()
  expect(pool.closed).toBe(true)
})

test('runs kernels and gets the right answers', async () => {
  const results = await workload(pool)
  for (const [actual, expected] of Object.values(results)) expect(actual).toEqual(expected)
})

test('rejects a bad input with a coded error', async () => {
  await expect(pool.run('fib', 'x')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' })
})
