'use strict'
// sha256 of B buffers of 4 MiB, all submitted at once: the pool reads each buffer in place on its
// threads; the alternatives are node:crypto on the main thread, WebCrypto (libuv pool, which
// copies the input) and piscina running createHash on copies transferred to its workers (the copy
// is made before the timed run, as a user who owns the buffers could skip it).
const crypto = require('node:crypto')
const { createPool, check } = require('../harness')
const { createJsPool } = require('../pools')
const { MiB, randomBuffers } = require('../data')

module.exports = {
  name: 'sha256',
  title: (s) => `sha256 of ${s.buffers} × 4 MiB`,
  unit: 'MiB/s',
  better: 'higher',
  sizes: (opts) => ({ buffers: opts.quick ? 32 : 64, bufferBytes: 4 * MiB }),
  describe: (s) => `${s.buffers} random buffers of 4 MiB (${s.buffers * 4} MiB per rep), one task per buffer, all at once`,
  contenders: ['pool', 'createHash (main thread)', 'crypto.subtle.digest', 'piscina (transfer)'],
  targets: [
    { vs: 'piscina (transfer)', op: '>=', ratio: 1.2 },
    { vs: 'createHash (main thread)', op: '>=', ratio: 1.8 },
  ],
  async setup(name, { threads, sizes }) {
    const buffers = randomBuffers(sizes.buffers, sizes.bufferBytes)
    const last = buffers.length - 1
    const ref = [buffers[0], buffers[last]].map((b) => crypto.createHash('sha256').update(b).digest())
    const units = (buffers.length * sizes.bufferBytes) / MiB
    const verify = (r) => {
      const eq = (a, b) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)
      check(r.length === buffers.length && eq(r[0], ref[0]) && eq(r[last], ref[1]), `${name} sha256 digests`)
    }
    switch (name) {
      case 'pool': {
        const pool = createPool(threads)
        return { units, run: () => Promise.all(buffers.map((b) => pool.run('sha256', b))), verify, close: () => pool.close() }
      }
      case 'createHash (main thread)':
        return { units, run: async () => buffers.map((b) => crypto.createHash('sha256').update(b).digest()), verify }
      case 'crypto.subtle.digest':
        return {
          units,
          run: async () => (await Promise.all(buffers.map((b) => crypto.subtle.digest('SHA-256', b)))).map((ab) => new Uint8Array(ab)),
          verify,
        }
      case 'piscina (transfer)': {
        const p = await createJsPool('piscina', threads)
        return {
          units,
          prepare: () => buffers.map((b) => new Uint8Array(b)), // own ArrayBuffer each (untimed)
          run: (copies) => Promise.all(copies.map((c) => p.run('sha256', c, [c.buffer]))),
          verify,
          close: () => p.close(),
        }
      }
    }
    throw new Error(`unknown contender ${name}`)
  },
}
