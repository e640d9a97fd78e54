'use strict'
// A node:test file that never closes its pool: its process must still exit on its own.
const { it } = require('node:test')
const assert = require('node:assert/strict')
const { WorkerPool } = require('pool')
const { workload } = require('../workload.js')

const pool = new WorkerPool({ threads: 2 })

it('runs kernels and gets the right answers (pool left open)', async () => {
  const results = await workload(pool)
  for (const [name, [actual, expected]] of Object.entries(results)) assert.deepEqual(actual, expected, name)
  assert.equal(pool.closed, false)
})
