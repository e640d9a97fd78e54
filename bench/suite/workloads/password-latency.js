'use strict'
// One password hash at a time (a quiet sign-up endpoint): bcrypt cost 10 and argon2id defaults,
// N hashes awaited one after another. Value: the median time of one hash. Batching never applies
// here (nothing is queued behind a task), so this is the scalar path's latency.
const { check } = require('../harness')
const { median } = require('../../lib')
const { passwordPool, PASSWORDS } = require('./password-lib')

module.exports = {
  name: 'password-latency',
  title: (s) => `one hash at a time (bcrypt cost 10 / argon2id defaults) × ${s.hashes}`,
  unit: 'ms',
  better: 'lower',
  valueName: 'median time of one hash',
  sizes: (opts) => ({ hashes: opts.quick ? 6 : 12 }),
  describe: (s) => `${s.hashes} × await hash(password), one at a time; median per rep`,
  contenders: ['pool bcrypt', '@node-rs/bcrypt', 'bcrypt', 'pool argon2', '@node-rs/argon2'],
  // Each row is compared with the pool row of its algorithm.
  compareTo: (c) => (c.includes('argon2') ? 'pool argon2' : 'pool bcrypt'),
  targets: [
    { vs: '@node-rs/bcrypt', op: '<=', ratio: 1.0, pool: 'pool bcrypt' },
    { vs: '@node-rs/argon2', op: '<=', ratio: 1.0, pool: 'pool argon2' },
  ],
  async setup(name, { threads, sizes }) {
    const passwords = PASSWORDS(sizes.hashes)
    let hash
    let close
    let extra
    if (name.startsWith('pool')) {
      const p = await passwordPool(threads)
      hash = name === 'pool bcrypt'
        ? (password) => p.pool.run('bcrypt.hash', { password, cost: 10 })
        : (password) => p.pool.run('argon2.hash', { password })
      ;({ close, extra } = p)
    } else if (name === '@node-rs/bcrypt') {
      const rs = require('@node-rs/bcrypt')
      hash = (pw) => rs.hash(pw, { cost: 10 })
    } else if (name === 'bcrypt') {
      const bcrypt = require('bcrypt')
      hash = (pw) => bcrypt.hash(pw, 10)
    } else if (name === '@node-rs/argon2') {
      const rs = require('@node-rs/argon2')
      hash = (pw) => rs.hash(pw)
    } else {
      throw new Error(`unknown contender ${name}`)
    }
    return {
      units: passwords.length,
      run: async () => {
        const times = []
        for (const pw of passwords) {
          const t0 = performance.now()
          const h = await hash(pw)
          times.push(performance.now() - t0)
          check(typeof h === 'string' && h.startsWith('$'), `${name} returned a hash string`)
        }
        return times
      },
      value: (times) => median(times),
      close,
      extra,
    }
  },
}
