'use strict'
// A Jest suite that never closes its pool: Jest must still exit, with no open-handle report.
const { WorkerPool } = require('pool')
const { workload } = require('../workload.js')

const pool = new WorkerPool({ threads: 2 })

test('runs kernels and gets the right answers (pool left open)', async () => {
  const results = await workload(pool)
  for (const [actual, expected] of Object.values(results)) expect(actual).toEqual(expected)
  expect(pool.closed).toBe(false)
})
