'use strict'
// Password hashing kernels: bcrypt and scrypt/pbkdf2 differential against bcryptjs and
// node:crypto, Argon2 round trips and PHC format, bad input, and abort of a long hash.
// Costs are kept low (bcrypt 4–6, argon2 memoryCost 1024, scrypt N 1024) so the file is quick.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const bcryptjs = require('bcryptjs')
const { WorkerPool } = require('..')
const { rejectsWith, waitFor, withPool } = require('./helpers')

let pool
before(() => { pool = new WorkerPool({ threads: 2 }) })
after(() => pool.destroy())

/** A deterministic PRNG so failures reproduce. */
function rng(seed) {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function randomBytes(rand, n) {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256)
  return b
}

function randomText(rand, n) {
  // Whole code points (a lone surrogate would become U+FFFD, as in Buffer.from).
  const chars = Array.from('abcXYZ019 !~éß€😀')
  let s = ''
  for (let i = 0; i < n; i++) s += chars[Math.floor(rand() * chars.length)]
  return s
}

/** Checks that the pool still answers after a rejection. */
async function stillAnswers() {
  assert.equal(await pool.run('fib', 10), 55)
}

describe('scrypt', () => {
  it('equals crypto.scryptSync on random passwords, salts and params', async () => {
    const rand = rng(1)
    for (let i = 0; i < 24; i++) {
      const password = i % 2 ? randomBytes(rand, Math.floor(rand() * 80)) : randomText(rand, Math.floor(rand() * 20))
      const salt = i % 3 ? randomBytes(rand, Math.floor(rand() * 40)) : randomText(rand, 8)
      const N = 2 ** (1 + Math.floor(rand() * 10))
      const r = 1 + Math.floor(rand() * 8)
      const p = 1 + Math.floor(rand() * 3)
      const keylen = Math.floor(rand() * 100)
      const expected = crypto.scryptSync(password, salt, keylen, { N, r, p })
      const got = await pool.run('scrypt', { password, salt, keylen, N, r, p })
      assert.ok(Buffer.isBuffer(got))
      assert.deepEqual(got, expected, JSON.stringify({ i, N, r, p, keylen }))
    }
  })

  it('uses Node\'s defaults (N 16384, r 8, p 1) and accepts every binary type', async () => {
    const expected = crypto.scryptSync('pw', 'salt', 32)
    assert.deepEqual(await pool.run('scrypt', { password: 'pw', salt: 'salt', keylen: 32 }), expected)
    const pw = new TextEncoder().encode('pw')
    const salt = new TextEncoder().encode('salt')
    const viaViews = await pool.run('scrypt', {
      password: new DataView(pw.buffer),
      salt: salt.buffer,
      keylen: 32,
      N: 0,
      maxmem: 0,
    })
    assert.deepEqual(viaViews, expected)
  })

  it('refuses what crypto.scrypt refuses at the maxmem boundary, with its code', async () => {
    const base = { password: 'p', salt: 's', keylen: 16 }
    for (const [N, r, p] of [[1024, 8, 1], [2048, 3, 2], [16, 1, 5]]) {
      const need = 128 * r * (N + p + 2)
      for (const maxmem of [need, need - 1, need + 1]) {
        let nodeCode = null
        try { crypto.scryptSync('p', 's', 16, { N, r, p, maxmem }) } catch (e) { nodeCode = e.code }
        const task = pool.run('scrypt', { ...base, N, r, p, maxmem })
        if (nodeCode === null) {
          assert.deepEqual(await task, crypto.scryptSync('p', 's', 16, { N, r, p, maxmem }))
        } else {
          assert.equal(nodeCode, 'ERR_CRYPTO_INVALID_SCRYPT_PARAMS')
          await rejectsWith(task, RangeError, 'ERR_CRYPTO_INVALID_SCRYPT_PARAMS')
        }
      }
    }
    // The default maxmem (32 MiB) refuses N = 32768 (and N = 2^30) like Node.
    assert.throws(() => crypto.scryptSync('p', 's', 16, { N: 32768 }), { code: 'ERR_CRYPTO_INVALID_SCRYPT_PARAMS' })
    await rejectsWith(pool.run('scrypt', { ...base, N: 32768 }), RangeError, 'ERR_CRYPTO_INVALID_SCRYPT_PARAMS')
    await rejectsWith(pool.run('scrypt', { ...base, N: 2 ** 30 }), RangeError, 'ERR_CRYPTO_INVALID_SCRYPT_PARAMS')
    // Above the pool's hard cap (1 GiB) even with a huge maxmem.
    await rejectsWith(pool.run('scrypt', { ...base, N: 2 ** 20, r: 8, maxmem: 2 ** 40 }), RangeError, 'ERR_CRYPTO_INVALID_SCRYPT_PARAMS')
    await rejectsWith(pool.run('scrypt', { ...base, N: 1000 }), RangeError, 'ERR_CRYPTO_INVALID_SCRYPT_PARAMS')
    await stillAnswers()
  })
})

describe('pbkdf2', () => {
  it('equals crypto.pbkdf2Sync on random inputs and every digest', async () => {
    const rand = rng(2)
    for (const digest of ['sha1', 'sha256', 'sha384', 'sha512']) {
      for (let i = 0; i < 8; i++) {
        const password = i % 2 ? randomBytes(rand, Math.floor(rand() * 200)) : randomText(rand, Math.floor(rand() * 30))
        const salt = randomBytes(rand, Math.floor(rand() * 64))
        const iterations = 1 + Math.floor(rand() * 2000)
        const keylen = Math.floor(rand() * 150)
        const got = await pool.run('pbkdf2', { password, salt, iterations, keylen, digest })
        assert.deepEqual(got, crypto.pbkdf2Sync(password, salt, iterations, keylen, digest), `${digest} ${i}`)
      }
    }
    assert.deepEqual(
      await pool.run('pbkdf2', { password: 'p', salt: 's', iterations: 3, keylen: 40 }),
      crypto.pbkdf2Sync('p', 's', 3, 40, 'sha256'),
    )
  })

  it('rejects bad parameters like Node', async () => {
    const base = { password: 'p', salt: 's', iterations: 1, keylen: 8 }
    await rejectsWith(pool.run('pbkdf2', { ...base, iterations: 0 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(pool.run('pbkdf2', { ...base, iterations: 2 ** 31 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(pool.run('pbkdf2', { ...base, keylen: -1 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(pool.run('pbkdf2', { ...base, keylen: 2 ** 21 }), RangeError, 'ERR_OUT_OF_RANGE')
    // Work bound: iterations × output blocks ≤ 2^31 − 1 (one SHA-256 block at the maximum is fine).
    await rejectsWith(pool.run('pbkdf2', { ...base, iterations: 2 ** 31 - 1, keylen: 33 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(pool.run('pbkdf2', { ...base, digest: 'md5' }), TypeError, 'ERR_CRYPTO_INVALID_DIGEST')
    await rejectsWith(pool.run('pbkdf2', { ...base, digest: 256 }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('pbkdf2', { ...base, iterations: '1' }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('pbkdf2', { password: 'p', iterations: 1, keylen: 8 }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await stillAnswers()
  })
})

describe('bcrypt', () => {
  it('pool hashes verify with bcryptjs, and bcryptjs hashes verify with the pool', async () => {
    const rand = rng(3)
    for (let i = 0; i < 6; i++) {
      const password = randomText(rand, Math.floor(rand() * 40))
      const cost = 4 + (i % 3)
      const h = await pool.run('bcrypt.hash', { password, cost })
      assert.match(h, new RegExp(`^\\$2b\\$0${cost}\\$[./A-Za-z0-9]{53}$`))
      assert.equal(bcryptjs.compareSync(password, h), true)
      assert.equal(bcryptjs.compareSync(password + 'x', h), false)
      const theirs = bcryptjs.hashSync(password, cost)
      assert.equal(await pool.run('bcrypt.verify', { password, hash: theirs }), true)
      assert.equal(await pool.run('bcrypt.verify', { password: password + 'x', hash: theirs }), false)
      assert.equal(await pool.run('bcrypt.verify', { password: Buffer.from(password), hash: theirs }), true)
    }
  })

  it('reads at most 72 bytes, exactly like bcryptjs', async () => {
    for (const password of ['a'.repeat(72), 'a'.repeat(100), 'é'.repeat(40), '€'.repeat(30)]) {
      const h = await pool.run('bcrypt.hash', { password, cost: 4 })
      const first72 = Buffer.from(password).subarray(0, 72)
      assert.equal(await pool.run('bcrypt.verify', { password: first72, hash: h }), true)
      assert.equal(await pool.run('bcrypt.verify', { password: first72.subarray(0, 71), hash: h }), false)
      for (const candidate of [password, password + 'tail', 'a'.repeat(71)]) {
        const theirs = bcryptjs.compareSync(candidate, h)
        assert.equal(await pool.run('bcrypt.verify', { password: candidate, hash: h }), theirs, candidate)
      }
      assert.equal(bcryptjs.truncates(password), Buffer.byteLength(password) > 72)
    }
  })

  it('works in runBatch, stopping at the first malformed hash', async () => {
    const hash = bcryptjs.hashSync('pw', 4)
    assert.deepEqual(await pool.runBatch('bcrypt.verify', [{ password: 'pw', hash }, { password: 'no', hash }]), [true, false])
    await assert.rejects(pool.runBatch('bcrypt.verify', [{ password: 'pw', hash }, { password: 'pw', hash: 'bad' }]),
      (e) => e.code === 'ERR_INVALID_ARG_VALUE')
  })

  it('uses a random salt: two hashes of one password differ', async () => {
    const [a, b] = await Promise.all([
      pool.run('bcrypt.hash', { password: 'same', cost: 4 }),
      pool.run('bcrypt.hash', { password: 'same', cost: 4 }),
    ])
    assert.notEqual(a, b)
  })

  it('a malformed stored hash rejects with ERR_INVALID_ARG_VALUE, not false', async () => {
    const good = bcryptjs.hashSync('pw', 4)
    for (const hash of ['', 'nope', good.slice(0, 59), good + 'x', good.replace('$2b$', '$2c$'),
      good.replace('$2b$04$', '$2b$03$'), good.replace('$2b$04$', '$2b$32$'), good.replace(/.$/, '!'),
      '$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$aGFzaA', good.replace('$2b$', '$2x$')]) {
      await rejectsWith(pool.run('bcrypt.verify', { password: 'pw', hash }), TypeError, 'ERR_INVALID_ARG_VALUE')
    }
    await stillAnswers()
  })

  it('refuses a salt or hash whose last character has unused bits set, accepts the other prefixes', async () => {
    // 22 salt characters carry 128 bits and 31 hash characters 184: the last one of each has
    // 4 (salt, index 28) or 2 (hash, index 59) bits that a canonical encoder leaves zero.
    const ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
    const good = bcryptjs.hashSync('pw', 4)
    const at = (i, c) => good.slice(0, i) + c + good.slice(i + 1)
    for (const [i, spare] of [[28, 16], [59, 4]]) {
      const base = ALPHABET.indexOf(good[i]) - (ALPHABET.indexOf(good[i]) % spare)
      for (let extra = 1; extra < spare; extra++) {
        const hash = at(i, ALPHABET[base + extra])
        await rejectsWith(pool.run('bcrypt.verify', { password: 'pw', hash }), TypeError, 'ERR_INVALID_ARG_VALUE')
      }
    }
    for (const prefix of ['$2a$', '$2b$', '$2y$']) {
      assert.equal(await pool.run('bcrypt.verify', { password: 'pw', hash: prefix + good.slice(4) }), true, prefix)
    }
  })

  it('bad input is a typed error with a code', async () => {
    await rejectsWith(pool.run('bcrypt.hash', { password: 'x', cost: 3 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(pool.run('bcrypt.hash', { password: 'x', cost: 32 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(pool.run('bcrypt.hash', { password: 'x', cost: 4.5 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(pool.run('bcrypt.hash', { password: 'x', cost: '4' }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('bcrypt.hash', { cost: 4 }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('bcrypt.hash', { password: 42, cost: 4 }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('bcrypt.hash', 'password'), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('bcrypt.hash', Buffer.from('password')), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('bcrypt.hash', null), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('bcrypt.verify', { password: 'x' }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('bcrypt.verify', { password: 'x', hash: Buffer.from('x') }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await stillAnswers()
  })
})

describe('argon2', () => {
  const cheap = { memoryCost: 1024, timeCost: 1 }

  it('round trips for every type, wrong password gives false', async () => {
    for (const type of ['argon2d', 'argon2i', 'argon2id']) {
      const h = await pool.run('argon2.hash', { password: 'correct horse', type, ...cheap, parallelism: 2 })
      assert.match(h, new RegExp(`^\\$${type}\\$v=19\\$m=1024,t=1,p=2\\$[A-Za-z0-9+/]{22}\\$[A-Za-z0-9+/]{43}$`))
      assert.equal(await pool.run('argon2.verify', { password: 'correct horse', hash: h }), true)
      assert.equal(await pool.run('argon2.verify', { password: Buffer.from('correct horse'), hash: h }), true)
      assert.equal(await pool.run('argon2.verify', { password: 'correct horsE', hash: h }), false)
    }
  })

  it('defaults to argon2id, m=19456, t=2, p=1; random salts differ; a given salt is used', async () => {
    const a = await pool.run('argon2.hash', { password: 'x' })
    assert.match(a, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    const b = await pool.run('argon2.hash', { password: 'x' })
    assert.notEqual(a, b)
    const salted = await pool.run('argon2.hash', { password: 'password', salt: 'somesalt', memoryCost: 65536, timeCost: 2 })
    // The reference implementation's own self-test value (phc-winner-argon2 src/test.c).
    assert.equal(salted, '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc')
  })

  it('a malformed or unbounded stored hash rejects with ERR_INVALID_ARG_VALUE', async () => {
    const h = await pool.run('argon2.hash', { password: 'pw', ...cheap })
    for (const hash of ['', 'nope', h.replace('$argon2id$', '$argon2x$'), h.replace(/\$[^$]*\$([^$]*)$/, '$$$1'),
      '$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc',
      '$argon2i$v=19$m=65536,t=2,p=1c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA',
      bcryptjs.hashSync('pw', 4)]) {
      await rejectsWith(pool.run('argon2.verify', { password: 'pw', hash }), TypeError, 'ERR_INVALID_ARG_VALUE')
    }
    await stillAnswers()
  })

  it('parallelism 4 computes on the task\'s own thread: no thread is started (Linux)', {
    skip: !fs.existsSync('/proc/self/task') && 'no /proc/self/task',
  }, () => withPool({ threads: 1 }, async (one) => {
    // A thread inherits its creator's name, so a helper started by a pool thread would be
    // listed as one more pool-* thread while the hash runs.
    const poolThreads = () => fs.readdirSync('/proc/self/task').filter((t) => {
      try { return fs.readFileSync(`/proc/self/task/${t}/comm`, 'utf8').startsWith('pool-') } catch { return false }
    }).length
    const watch = async (task) => {
      let settled = false
      task.then(() => { settled = true }, () => { settled = true })
      let samples = 0
      let peak = 0
      for (; !settled; samples++) {
        peak = Math.max(peak, poolThreads())
        await new Promise(setImmediate)
      }
      return { result: await task, samples, peak }
    }
    await one.run('fib', 1) // the pool's thread is started
    const baseline = poolThreads()
    const h = await watch(one.run('argon2.hash', { password: 'pw', memoryCost: 16384, timeCost: 8, parallelism: 4 }))
    const big = await watch(one.run('argon2.hash', { password: 'pw', memoryCost: 65536, timeCost: 2, parallelism: 4 }))
    // A stored p=4 string: the decoded parameters would use one thread per lane.
    const v = await watch(one.run('argon2.verify', { password: 'pw', hash: h.result }))
    assert.match(h.result, /\$m=16384,t=8,p=4\$/)
    assert.equal(v.result, true)
    for (const [name, r] of Object.entries({ reused: h, oneShot: big, verify: v })) {
      assert.ok(r.samples >= 3, `${name}: only ${r.samples} samples while it ran`)
      assert.equal(r.peak, baseline, `${name}: ${r.peak} pool-* threads while it ran, ${baseline} before`)
    }
  }))

  it('bad input is a typed error with a code; huge parameters are refused', async () => {
    await rejectsWith(pool.run('argon2.hash', { password: 'x', type: 'argon3' }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(pool.run('argon2.hash', { password: 'x', type: 1 }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('argon2.hash', { password: 'x', memoryCost: 2 ** 32 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(pool.run('argon2.hash', { password: 'x', memoryCost: 2 ** 20 + 1 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(pool.run('argon2.hash', { password: 'x', memoryCost: 7 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(pool.run('argon2.hash', { password: 'x', timeCost: 0 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(pool.run('argon2.hash', { password: 'x', timeCost: 2 ** 31 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(pool.run('argon2.hash', { password: 'x', parallelism: 256 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(pool.run('argon2.hash', { password: 'x', salt: 'short' }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(pool.run('argon2.hash', { password: 'x', salt: 12345678 }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('argon2.hash', {}), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('argon2.verify', { password: 'x', hash: null }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await stillAnswers()
  })
})

describe('cancellation', () => {
  it('aborting a running bcrypt.hash (cost 16) rejects with ABORT_ERR at once', async () => {
    const ac = new AbortController()
    const task = pool.run('bcrypt.hash', { password: 'x', cost: 16 }, { signal: ac.signal })
    task.catch(() => {}) // checked below
    await waitFor(() => pool.running === 1, 'the hash running')
    ac.abort()
    // At once: settled by abort() itself, before the event loop turns again, while the hash
    // (seconds of CPU, no hook inside) still runs on its thread.
    const done = () => 'settled'
    const first = await Promise.race([task.then(done, done), new Promise(setImmediate).then(() => 'next turn')])
    assert.equal(first, 'settled')
    assert.equal(pool.running, 1, 'the hash is still running')
    await rejectsWith(task, Error, 'ABORT_ERR')
    // The other thread still answers while the aborted hash finishes in the background.
    await stillAnswers()
  })

  it('a timeout rejects a long hash at once', () => withPool({ threads: 1 }, async (one) => {
    // ~0.6 s of CPU with no hook inside: rejected at 20 ms while the hash still runs, not
    // when it ends. (Quiet or loaded, the thread needs far longer than the timer + one turn.)
    const input = { password: 'x', salt: 'y', keylen: 16, N: 2 ** 17, r: 8, maxmem: 2 ** 28 }
    await rejectsWith(one.run('scrypt', input, { timeout: 20 }), Error, 'ERR_POOL_TIMEOUT')
    assert.equal(one.running, 1, 'the hash is still running')
  }))
})
