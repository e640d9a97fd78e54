'use strict'
// xxh64 / xxh3 (64-bit) of B buffers of 4 MiB. Both alternatives hash on the calling thread:
// @node-rs/xxhash synchronously, hash-wasm through async functions awaited one at a time (its
// natural use: they compute on the calling thread).
const { createPool, check } = require('../harness')
const { MiB, randomBuffers } = require('../data')

function xxhashWorkload(kernel) {
  const rsName = '@node-rs/xxhash'
  const wasmName = 'hash-wasm'
  return {
    name: kernel,
    title: (s) => `${kernel} of ${s.buffers} × 4 MiB`,
    unit: 'MiB/s',
    better: 'higher',
    sizes: (opts) => ({ buffers: opts.quick ? 32 : 64, bufferBytes: 4 * MiB }),
    describe: (s) => `${s.buffers} random buffers of 4 MiB (${s.buffers * 4} MiB per rep); pool: one task per buffer, all at once`,
    contenders: ['pool', rsName, wasmName],
    targets: [
      { vs: rsName, op: '>=', ratio: 1 },
      { vs: wasmName, op: '>=', ratio: 1 },
    ],
    async setup(name, { threads, sizes }) {
      const buffers = randomBuffers(sizes.buffers, sizes.bufferBytes)
      const units = (buffers.length * sizes.bufferBytes) / MiB
      const rs = require('@node-rs/xxhash')
      const rsFn = kernel === 'xxh64' ? (b) => rs.xxh64(b) : (b) => rs.xxh3.xxh64(b)
      const ref = [rsFn(buffers[0]), rsFn(buffers[buffers.length - 1])]
      const verify = (r) => check(r.length === buffers.length && r[0] === ref[0] && r[r.length - 1] === ref[1], `${name} ${kernel} equals @node-rs/xxhash`)
      if (name === 'pool') {
        const pool = createPool(threads)
        return { units, run: () => Promise.all(buffers.map((b) => pool.run(kernel, b))), verify, close: () => pool.close() }
      }
      if (name === rsName) return { units, run: async () => buffers.map(rsFn), verify }
      if (name === wasmName) {
        const hw = require('hash-wasm')
        const fn = kernel === 'xxh64' ? hw.xxhash64 : hw.xxhash3
        return {
          units,
          run: async () => {
            const out = []
            for (const b of buffers) out.push(BigInt(`0x${await fn(b)}`))
            return out
          },
          verify,
        }
      }
      throw new Error(`unknown contender ${name}`)
    },
  }
}

module.exports = { xxhashWorkload }
