'use strict'
// An AVA suite that closes its pool in test.after.always.
const test = require('ava')
const { WorkerPool } = require('pool')
const { workload } = require('../workload.js')

const pool = new WorkerPool({ threads: 2 })

test.after.always(async () => {
  await pool.close()
})

test('runs kernels and gets the right answers', async (t) => {
  const results = await workload(pool)
  for (const [name, [actual, expected]] of Object.entries(results)) t.deepEqual(actual, expected, name)
})

test('rejects a bad input with a coded error', async (t) => {
  await t.throwsAsync(pool.run('fib', 'x'), { code: 'ERR_INVALID_ARG_TYPE' })
})
