'use strict'
// An AVA suite that never closes its pool: AVA must still finish (its worker exits).
const test = require('ava')
const { WorkerPool } = require('pool')
const { workload } = require('../workload.js')

const pool = new WorkerPool({ threads: 2 })

test('runs kernels and gets the right answers (pool left open)', async (t) => {
  const results = await workload(pool)
  for (const [name, [actual, expected]] of Object.entries(results)) t.deepEqual(actual, expected, name)
  t.false(pool.closed)
})
