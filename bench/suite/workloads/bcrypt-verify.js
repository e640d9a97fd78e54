'use strict'
// bcrypt.verify at cost 10 of N stored hashes, all submitted at once: a login burst. Every
// contender checks the same hashes (made with bcryptjs, untimed); a third of the passwords are
// wrong, so both answers are exercised.
const { check } = require('../harness')
const { passwordPool, PASSWORDS } = require('./password-lib')

const COST = 10

module.exports = {
  name: 'bcrypt-verify',
  title: (s) => `bcrypt.verify cost ${s.cost} × ${s.hashes}`,
  unit: 'verifies/s',
  better: 'higher',
  sizes: (opts) => ({ cost: COST, hashes: opts.quick ? 16 : 32 }),
  describe: (s) => `${s.hashes} × verify(password, stored cost-${s.cost} hash) at once, a third of them wrong`,
  contenders: ['pool', 'bcrypt', '@node-rs/bcrypt'],
  targets: [{ vs: '@node-rs/bcrypt', op: '>=', ratio: 1.4 }],
  async setup(name, { threads, sizes }) {
    const n = sizes.hashes
    const passwords = PASSWORDS(n)
    const bcryptjs = require('bcryptjs')
    const stored = passwords.map((pw) => bcryptjs.hashSync(pw, sizes.cost))
    const tried = passwords.map((pw, i) => (i % 3 === 0 ? `${pw}!` : pw))
    const expected = tried.map((_, i) => i % 3 !== 0)
    const verify = (got) => check(got.length === n && got.every((v, i) => v === expected[i]), `${name} verify answers`)
    const all = (f) => () => Promise.all(tried.map((pw, i) => f(pw, stored[i])))
    switch (name) {
      case 'pool': {
        const { pool, close, extra } = await passwordPool(threads)
        return { units: n, run: all((password, hash) => pool.run('bcrypt.verify', { password, hash })), verify, close, extra }
      }
      case 'bcrypt': {
        const bcrypt = require('bcrypt')
        return { units: n, run: all((pw, h) => bcrypt.compare(pw, h)), verify }
      }
      case '@node-rs/bcrypt': {
        const rs = require('@node-rs/bcrypt')
        return { units: n, run: all((pw, h) => rs.verify(pw, h)), verify }
      }
    }
    throw new Error(`unknown contender ${name}`)
  },
}
