'use strict'
// The work every compat suite gives the pool: a few kernels a server would use, with the
// answers computed independently (node:crypto, JSON.parse, a loop) for the runner's own
// assertions. Not a test file itself.

const crypto = require('node:crypto')

function fib(n) {
  let a = 0
  let b = 1
  for (let i = 0; i < n; i++) [a, b] = [b, a + b]
  return a
}

/** Runs the workload on `pool`; resolves with [actual, expected] pairs keyed by name. */
async function workload(pool) {
  const data = crypto.randomBytes(256 << 10)
  const doc = JSON.stringify({ items: Array.from({ length: 100 }, (_, i) => ({ i, name: `item ${i}` })) })
  const [digest, many, n, parsed] = await Promise.all([
    pool.run('sha256', data),
    pool.runBatch('crc32', [data.subarray(0, 10), data.subarray(10, 20)]),
    pool.run('fib', 25),
    pool.run('json.parse', doc),
  ])
  return {
    sha256: [digest.toString('hex'), crypto.createHash('sha256').update(data).digest('hex')],
    crc32: [many.length, 2],
    fib: [n, fib(25)],
    json: [parsed, JSON.parse(doc)],
  }
}

module.exports = { workload }
