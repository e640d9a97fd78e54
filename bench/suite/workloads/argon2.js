'use strict'
// argon2id with the defaults of both libraries (m=19456 KiB, t=2, p=1, 32-byte tag) for N
// passwords, all submitted at once.
const { createPool, check } = require('../harness')

const PHC = '$argon2id$v=19$m=19456,t=2,p=1$'

module.exports = {
  name: 'argon2',
  title: (s) => `argon2id defaults × ${s.hashes}`,
  unit: 'hashes/s',
  better: 'higher',
  sizes: (opts) => ({ hashes: opts.quick ? 16 : 32 }),
  describe: (s) => `${s.hashes} × argon2id hash with each library's defaults (m=19456 KiB, t=2, p=1) at once`,
  contenders: ['pool', '@node-rs/argon2'],
  targets: [{ vs: '@node-rs/argon2', op: '>=', ratio: 1.05 }],
  async setup(name, { threads, sizes }) {
    const n = sizes.hashes
    const passwords = Array.from({ length: n }, (_, i) => `correct horse battery staple #${i}`)
    const rs = require('@node-rs/argon2')
    const verify = async (hashes) => {
      check(hashes.length === n && hashes.every((h) => typeof h === 'string' && h.startsWith(PHC)), `${name} PHC strings`)
      check(await rs.verify(hashes[0], passwords[0]), `${name}: @node-rs/argon2 verifies the first hash`)
    }
    if (name === 'pool') {
      const pool = createPool(threads)
      return { units: n, run: () => Promise.all(passwords.map((password) => pool.run('argon2.hash', { password }))), verify, close: () => pool.close() }
    }
    if (name === '@node-rs/argon2') return { units: n, run: () => Promise.all(passwords.map((pw) => rs.hash(pw))), verify }
    throw new Error(`unknown contender ${name}`)
  },
}
