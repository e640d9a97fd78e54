'use strict'
// The short version of `npm run fuzz`: 3000 seeded random run()/runBatch() calls with hostile
// inputs and options (corrupted images among them), in a child process (a crash fails the test
// instead of the runner).
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFile } = require('node:child_process')

function fuzz(seed, calls) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, '..', 'scripts', 'fuzz.js'), '--json', '--seed', String(seed), '--calls', String(calls)],
      { timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout) => {
        const line = stdout.trim().split('\n').pop()
        try {
          resolve(JSON.parse(line))
        } catch {
          reject(err ?? new Error(`no summary in: ${stdout.slice(-500)}`))
        }
      })
  })
}

test('3000 hostile calls: no crash, every promise settles with a coded error or a value, pool still works', async () => {
  const s = await fuzz(20261122, 3000)
  assert.equal(s.hung, false, 'the driver hung')
  assert.equal(s.crashes, 0, `the driver crashed: exit ${s.exitCode}, signal ${s.signal}`)
  assert.ok(s.calls >= 3000, `only ${s.calls} calls made`)
  assert.equal(s.unsettled, 0)
  // Every call that returned a promise settled (close()/destroy() promises are counted too).
  const threw = s.failures.filter((f) => f.kind === 'sync-throw').length
  assert.ok(s.fulfilled + s.rejected >= s.calls - threw, `${s.fulfilled} + ${s.rejected} settled of ${s.calls} calls`)
  assert.deepEqual(s.failures.map((f) => `${f.kind}: ${f.desc} -> ${f.detail.split('\n')[0]}`), [])
  assert.equal(s.fib20, 6765)
  // The run reached the interesting paths, not only argument checks.
  assert.ok(s.fulfilled > 300, `only ${s.fulfilled} fulfilled`)
  for (const code of ['ERR_INVALID_ARG_TYPE', 'ABORT_ERR', 'ERR_POOL_UNKNOWN_KERNEL', 'ERR_INVALID_STATE', 'ERR_POOL_JSON_SYNTAX']) {
    assert.ok(s.rejectedByCode[code] > 0, `no ${code} rejection seen: ${JSON.stringify(s.rejectedByCode)}`)
  }
  // Corrupted images reached the decoders (not only the header checks) and some decoded.
  assert.ok(s.images.calls > 200, `only ${s.images.calls} image calls`)
  assert.ok(s.images.fulfilled > 30, `only ${s.images.fulfilled} images fulfilled`)
  for (const code of ['ERR_POOL_IMAGE_DECODE', 'ERR_POOL_IMAGE_FORMAT', 'ERR_POOL_IMAGE_TOO_LARGE']) {
    assert.ok(s.images.rejectedByCode[code] > 0, `no ${code} rejection seen: ${JSON.stringify(s.images.rejectedByCode)}`)
  }
  assert.equal(s.exitCode, 0)
})
