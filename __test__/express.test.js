'use strict'
// examples/express/server.js, end to end: the server runs as a child process on an ephemeral
// port in each mode, and every endpoint's answer is checked against node:crypto, bcryptjs,
// papaparse and sharp computed here; bad input must be a 400 (413 for an image over the pixel
// limit) with a code, and SIGTERM a clean exit 0.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { createHash, randomBytes } = require('node:crypto')
const bcrypt = require('bcryptjs')
const Papa = require('papaparse')
const sharp = require('sharp')

const SERVER = path.join(__dirname, '..', 'examples', 'express', 'server.js')

/** The lines NODE_DEBUG=example adds to the server's stderr. */
const DEBUG_LINE = /^EXAMPLE \d+: .*\n/gm

/**
 * Starts the server with NODE_DEBUG=example; resolves with { child, base, exited, accepted, line }
 * once it printed its port. `accepted(re)` resolves once the server logged, after the call, that
 * it received a request whose "METHOD /path" matches `re` (call it in the tick that sent the
 * request: no output can arrive in between); `exited` gives the stderr without those lines.
 */
function start(mode) {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, MODE: mode, PORT: '0', THREADS: '2', NODE_DEBUG: 'example' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  const waiters = []
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d
    for (const w of waiters.slice()) {
      if (w.test()) waiters.splice(waiters.indexOf(w), 1)
    }
  })
  const accepted = (re) => new Promise((resolve, reject) => {
    const from = stderr.length // earlier tests' requests do not count
    const test = () => {
      const seen = [...stderr.slice(from).matchAll(/^EXAMPLE \d+: accepted (.*)$/gm)].some((m) => re.test(m[1]))
      if (seen) resolve()
      return seen
    }
    if (!test()) waiters.push({ test, reject })
  })
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    for (const w of waiters) w.reject(new Error(`server (${mode}) exited before it logged the request: ${stderr}`))
    resolve({ code, signal, stderr: stderr.replace(DEBUG_LINE, '') })
  }))
  return new Promise((resolve, reject) => {
    let out = ''
    // Only a guard against a server that never starts: far above a loaded machine's start-up.
    const timer = setTimeout(() => reject(new Error(`server (${mode}) did not start: ${stderr}`)), 60_000)
    child.stdout.on('data', (d) => {
      out += d
      const nl = out.indexOf('\n')
      if (nl === -1) return
      clearTimeout(timer)
      const line = JSON.parse(out.slice(0, nl))
      resolve({ child, base: `http://127.0.0.1:${line.listening}`, exited, accepted, line })
    })
    child.once('exit', (code) => reject(new Error(`server (${mode}) exited with ${code}: ${stderr}`)))
  })
}

/** POSTs a Buffer as is (with `type`), or anything else as JSON (a string is sent verbatim). */
async function post(base, route, body, type = 'application/octet-stream') {
  const binary = Buffer.isBuffer(body)
  const res = await fetch(base + route, {
    method: 'POST',
    headers: { 'content-type': binary ? type : 'application/json' },
    body: binary || typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: res.status, body: await res.json() }
}

/** A CSV with the awkward parts: quoted commas, quotes, line breaks in fields, CRLF, blank lines. */
function csvDocument(rows) {
  const lines = ['id,name,note,amount']
  for (let i = 0; i < rows; i++) {
    const note = i % 7 === 0 ? '"multi\nline, with ""quotes"""' : i % 5 === 0 ? '"a, b"' : `n${i}`
    lines.push(`${i},name ${i},${note},${(i * 1.25).toFixed(2)}`)
    if (i % 97 === 0) lines.push('') // blank lines are skipped
  }
  return Buffer.from(lines.join(rows % 2 ? '\r\n' : '\n') + '\n')
}

const image = (name) => fs.readFileSync(path.join(__dirname, '..', 'testdata', 'images', name))

/** PSNR in dB of two same-sized 8-bit buffers. */
function psnr(a, b) {
  assert.equal(a.length, b.length)
  let se = 0
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255) / (se / a.length))
}

function expectedImport(buf) {
  const { data } = Papa.parse(buf.toString('utf8'), { skipEmptyLines: true })
  return { rows: data.length - 1, columns: data[0].length, checksum: createHash('sha256').update(buf).digest('hex') }
}

for (const mode of ['pool', 'inline', 'piscina', 'native']) {
  describe(`examples/express server, MODE=${mode}`, () => {
    let server
    before(async () => { server = await start(mode) })
    after(() => {
      if (server && server.child.exitCode === null) server.child.kill('SIGKILL')
    })

    it('prints the bound port, mode and threads, and answers /health', async () => {
      assert.equal(server.line.mode, mode)
      assert.equal(server.line.threads, 2)
      const res = await fetch(`${server.base}/health`)
      assert.equal(res.status, 200)
      assert.deepEqual(await res.json(), { ok: true, mode })
    })

    it('POST /hash returns the sha256 of the raw body (small, large, empty)', async () => {
      for (const body of [Buffer.from('hello'), randomBytes(300 * 1024), Buffer.alloc(0)]) {
        const res = await post(server.base, '/hash', body)
        assert.equal(res.status, 200)
        assert.deepEqual(res.body, { sha256: createHash('sha256').update(body).digest('hex') })
      }
    })

    it('POST /password returns a bcrypt hash of the requested cost that bcryptjs verifies', async () => {
      const password = 'correct horse battery staple ✓'
      const res = await post(server.base, '/password', { password, cost: 4 })
      assert.equal(res.status, 200)
      assert.match(res.body.hash, /^\$2[aby]\$04\$[./A-Za-z0-9]{53}$/)
      assert.equal(bcrypt.compareSync(password, res.body.hash), true)
      assert.equal(bcrypt.compareSync(`${password}!`, res.body.hash), false)
    })

    it('POST /verify checks a bcryptjs hash: true for the password, false for another', async () => {
      const hash = bcrypt.hashSync('s3cret', 4)
      assert.deepEqual(await post(server.base, '/verify', { password: 's3cret', hash }), { status: 200, body: { ok: true } })
      assert.deepEqual(await post(server.base, '/verify', { password: 's3cret?', hash }), { status: 200, body: { ok: false } })
    })

    it('POST /import returns papaparse\'s row and column count and the body\'s sha256', async () => {
      for (const buf of [csvDocument(20), csvDocument(4001), Buffer.from('a,b\n')]) {
        const res = await post(server.base, '/import', buf, 'text/csv')
        assert.equal(res.status, 200)
        assert.deepEqual(res.body, expectedImport(buf))
      }
      assert.ok(expectedImport(csvDocument(4001)).rows === 4001, 'the fixture has 4001 data rows')
    })

    it('POST /thumbnail returns a 200 × 200 JPEG of the upload, EXIF-oriented, alpha on white', async () => {
      for (const name of ['tower/tower.jpg', 'orient-6.jpg', 'alpha.png', 'lossy.webp', 'pattern.gif', 'odd.jpg']) {
        const upload = image(name)
        const res = await fetch(`${server.base}/thumbnail`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: upload })
        assert.equal(res.status, 200, name)
        assert.equal(res.headers.get('content-type'), 'image/jpeg')
        const jpeg = Buffer.from(await res.arrayBuffer())
        const m = await sharp(jpeg).metadata()
        assert.deepEqual([m.format, m.width, m.height, m.orientation], ['jpeg', 200, 200, undefined], name)
        // The same picture as sharp's own thumbnail of it (what `inline` mode serves).
        const want = await sharp(upload).rotate().resize(200, 200, { fit: 'cover' }).flatten({ background: '#ffffff' }).raw().toBuffer()
        const got = await sharp(jpeg).raw().toBuffer()
        assert.ok(psnr(got, want) > 25, `${name}: PSNR ${psnr(got, want).toFixed(1)} dB against sharp's`)
      }
    })

    it('POST /thumbnail refuses what is not an image, is corrupt or claims too many pixels', async () => {
      const cases = [
        [image('not-an-image.bin'), 400, 'ERR_POOL_IMAGE_FORMAT'],
        [Buffer.alloc(0), 400, 'ERR_POOL_IMAGE_FORMAT'],
        [image('truncated.jpg'), 400, 'ERR_POOL_IMAGE_DECODE'],
        [image('corrupt.png'), 400, 'ERR_POOL_IMAGE_DECODE'],
        [image('bomb.png'), 413, 'ERR_POOL_IMAGE_TOO_LARGE'], // 177 bytes claiming 100,000 × 100,000
      ]
      for (const [body, status, code] of cases) {
        const res = await post(server.base, '/thumbnail', body)
        assert.equal(res.status, status, `${code}: ${JSON.stringify(res.body)}`)
        assert.equal(res.body.code, code, res.body.error)
        assert.equal(typeof res.body.error, 'string')
      }
      assert.equal((await fetch(`${server.base}/health`)).status, 200)
    })

    it('bad input is a 400 with a code, and the server keeps serving', async () => {
      const cases = [
        ['/password', '{"password": ', 'ERR_INVALID_JSON'],
        ['/password', { password: 5 }, 'ERR_INVALID_ARG_TYPE'],
        ['/password', { password: 'x', cost: 40 }, 'ERR_OUT_OF_RANGE'],
        ['/password', { password: 'x', cost: 4.5 }, 'ERR_OUT_OF_RANGE'],
        ['/verify', { password: 'x' }, 'ERR_INVALID_ARG_TYPE'],
        ['/verify', { password: 'x', hash: '$2x$04$' + 'a'.repeat(53) }, 'ERR_INVALID_ARG_VALUE'],
        ['/verify', { password: 'x', hash: '$2b$31$' + 'a'.repeat(53) }, 'ERR_OUT_OF_RANGE'],
        ['/import', Buffer.from('a,b\n1,"open\n2,3\n'), 'ERR_POOL_CSV_SYNTAX'],
      ]
      for (const [route, body, code] of cases) {
        const res = await post(server.base, route, body)
        assert.equal(res.status, 400, `${route} ${String(body)}`)
        assert.equal(res.body.code, code, `${route}: ${res.body.error}`)
        assert.equal(typeof res.body.error, 'string')
      }
      const csv = await post(server.base, '/import', Buffer.from('a,b\n1,"open\n2,3\n'))
      assert.equal(csv.body.error, 'Unterminated quoted field starting on line 2')
      const missing = await fetch(`${server.base}/nope`)
      assert.equal(missing.status, 404)
      assert.equal((await missing.json()).code, 'ERR_NOT_FOUND')
      assert.equal((await fetch(`${server.base}/health`)).status, 200)
    })

    it('SIGTERM finishes the request in flight, then exits 0', async () => {
      // Cost 12 keeps the request running for a few hundred ms after the signal.
      const inFlight = post(server.base, '/password', { password: 'last one', cost: 12 })
      inFlight.catch(() => {}) // awaited below
      // Signal once the server has the request: before that it may still be in the listen
      // backlog, which SIGTERM closes.
      await server.accepted(/^POST \/password$/)
      server.child.kill('SIGTERM')
      const res = await inFlight
      assert.equal(res.status, 200)
      assert.equal(bcrypt.compareSync('last one', res.body.hash), true)
      const { code, signal, stderr } = await server.exited
      assert.deepEqual({ code, signal, stderr }, { code: 0, signal: null, stderr: '' })
    })
  })
}
