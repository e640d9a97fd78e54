'use strict'
// bcrypt.hash at cost 10 for N passwords, all submitted at once. bcryptjs on the main thread gets
// fewer hashes (it blocks the loop for all of them; hashes/s stays comparable).
const { check } = require('../harness')
const { createJsPool } = require('../pools')
const { passwordPool, PASSWORDS } = require('./password-lib')

const COST = 10

module.exports = {
  name: 'bcrypt',
  title: (s) => `bcrypt cost ${s.cost} × ${s.hashes}`,
  unit: 'hashes/s',
  better: 'higher',
  sizes: (opts) => ({ cost: COST, hashes: opts.quick ? 16 : 32, bcryptjsMainHashes: opts.quick ? 4 : 8 }),
  describe: (s) => `${s.hashes} × bcrypt.hash(password, ${s.cost}) at once (bcryptjs on the main thread: ${s.bcryptjsMainHashes}, hashSync in a loop)`,
  contenders: ['pool', 'bcrypt', '@node-rs/bcrypt', 'bcryptjs (main thread)', 'bcryptjs in piscina'],
  targets: [{ vs: '@node-rs/bcrypt', op: '>=', ratio: 1.4 }, { vs: 'bcrypt', op: '>=', ratio: 1.4 }],
  async setup(name, { threads, sizes }) {
    const { cost } = sizes
    const n = name === 'bcryptjs (main thread)' ? sizes.bcryptjsMainHashes : sizes.hashes
    const passwords = PASSWORDS(n)
    const prefix = `$2b$${cost}$`
    const bcryptjs = require('bcryptjs')
    const verify = (hashes) => {
      check(hashes.length === n && hashes.every((h) => typeof h === 'string' && h.length === 60 && h.startsWith(prefix)), `${name} hash format`)
      check(bcryptjs.compareSync(passwords[0], hashes[0]), `${name}: bcryptjs verifies the first hash`) // ~60 ms, untimed
    }
    const all = (f) => () => Promise.all(passwords.map(f))
    switch (name) {
      case 'pool': {
        const { pool, close, extra } = await passwordPool(threads)
        return { units: n, run: all((password) => pool.run('bcrypt.hash', { password, cost })), verify, close, extra }
      }
      case 'bcrypt': {
        const bcrypt = require('bcrypt')
        return { units: n, run: all((pw) => bcrypt.hash(pw, cost)), verify }
      }
      case '@node-rs/bcrypt': {
        const rs = require('@node-rs/bcrypt')
        return { units: n, run: all((pw) => rs.hash(pw, { cost })), verify }
      }
      case 'bcryptjs (main thread)':
        return { units: n, run: async () => passwords.map((pw) => bcryptjs.hashSync(pw, cost)), verify }
      case 'bcryptjs in piscina': {
        const p = await createJsPool('piscina', threads)
        return { units: n, run: all((password) => p.run('bcryptjs', { password, cost })), verify, close: () => p.close() }
      }
    }
    throw new Error(`unknown contender ${name}`)
  },
}
