'use strict'
// A node:test suite that closes its pool in after().
const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { WorkerPool } = require('pool')
const { workload } = require('../workload.js')

describe('a pool closed in after()', () => {
  let pool
  before(() => { pool = new WorkerPool({ threads: 2 }) })
  after(async () => {
    await pool.close()
    assert.equal(pool.closed, true)
  })

  it('runs kernels and gets the right answers', async () => {
    const results = await workload(pool)
    for (const [name, [actual, expected]] of Object.entries(results)) assert.deepEqual(actual, expected, name)
  })

  it('rejects a bad input with a coded error', async () => {
    await assert.rejects(pool.run('fib', 'x'), { code: 'ERR_INVALID_ARG_TYPE' })
  })
})
