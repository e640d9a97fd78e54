'use strict'
const { it } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

it('loads as an ES module (named and default exports, same class as CommonJS)', () => {
  const out = execFileSync(process.execPath, [path.join(__dirname, 'fixtures', 'esm.mjs')], {
    encoding: 'utf8',
    timeout: 20000,
  })
  assert.deepEqual(JSON.parse(out), { sameClass: true, abortError: true, fib: 6765 })
  assert.equal(require('..').WorkerPool, require('../lib/index.js').WorkerPool)
})
