'use strict'
// sharp's own benchmark task: a 2725×2225 JPEG → 720×588 (cover, lanczos3) → JPEG quality 80,
// N images with 16 in flight (as a server would have them). sharp with its defaults: libuv's
// pool of 4 for the tasks, libvips' threads inside each, its operation cache off (as in sharp's
// own benchmark, so that every image is decoded). The input is a real photo
// (testdata/images/tower/large_image.jpg, 2268×1512) brought to sharp's benchmark size by sharp,
// untimed.
const fs = require('node:fs')
const path = require('node:path')
const { ROOT, createPool, check } = require('../harness')

const IN_FLIGHT = 16
const [WIDTH, HEIGHT] = [720, 588]

/** Runs `task()` `n` times with at most `limit` at once; resolves with the results in order. */
function inFlight(n, limit, task) {
  const out = new Array(n)
  let next = 0
  const lane = async () => {
    while (next < n) {
      const i = next++
      out[i] = await task(i)
    }
  }
  return Promise.all(Array.from({ length: Math.min(limit, n) }, lane)).then(() => out)
}

async function input() {
  const sharp = require('sharp')
  const photo = fs.readFileSync(path.join(ROOT, 'testdata', 'images', 'tower', 'large_image.jpg'))
  return sharp(photo).resize(2725, 2225, { fit: 'fill' }).jpeg({ quality: 80 }).toBuffer()
}

module.exports = {
  name: 'image',
  title: (s) => `2725×2225 JPEG → ${WIDTH}×${HEIGHT} → JPEG q80, ${s.images} images`,
  unit: 'images/s',
  better: 'higher',
  sizes: (opts) => ({ images: opts.quick ? 32 : 96 }),
  describe: (s) => `${s.images} × (decode a 2725×2225 JPEG, resize to ${WIDTH}×${HEIGHT} cover with lanczos3, encode JPEG q80), ${IN_FLIGHT} in flight`,
  contenders: ['pool', 'sharp'],
  targets: [{ vs: 'sharp', op: '>=', ratio: 1.0 }],
  async setup(name, { threads, sizes }) {
    const jpeg = await input()
    const n = sizes.images
    const verify = async (outs) => {
      check(outs.length === n && outs.every((b) => Buffer.isBuffer(b) && b[0] === 0xff && b[1] === 0xd8), `${name}: ${n} JPEGs`)
      const m = await require('sharp')(outs[n - 1]).metadata() // untimed
      check(m.width === WIDTH && m.height === HEIGHT, `${name}: ${m.width}×${m.height}`)
    }
    switch (name) {
      case 'pool': {
        const pool = createPool(threads)
        const resize = { width: WIDTH, height: HEIGHT, fit: 'cover', kernel: 'lanczos3' }
        const one = () => pool.run('image.transform', { data: jpeg, resize, format: 'jpeg', quality: 80 }).then((r) => r.data)
        return { units: n, run: () => inFlight(n, IN_FLIGHT, one), verify, close: () => pool.close() }
      }
      case 'sharp': {
        const sharp = require('sharp')
        sharp.cache(false)
        const one = () => sharp(jpeg).resize(WIDTH, HEIGHT, { kernel: 'lanczos3' }).jpeg({ quality: 80 }).toBuffer()
        return { units: n, run: () => inFlight(n, IN_FLIGHT, one), verify }
      }
    }
    throw new Error(`unknown contender ${name}`)
  },
}
