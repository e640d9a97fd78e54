'use strict'
// Shared by the image workloads: inputs made by sharp from the vendored photo (untimed), N tasks
// with 16 in flight (as a server has them), and the pool-vs-sharp transform workload they share.
// sharp runs with its defaults (libuv's pool of 4 for the tasks, libvips' threads inside each)
// and its operation cache off, as in sharp's own benchmark, so every image is decoded.
const fs = require('node:fs')
const path = require('node:path')
const { ROOT, createPool, check } = require('../harness')

const IN_FLIGHT = 16

/** Runs `task(i)` `n` times with at most `limit` at once; resolves with the results in order. */
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

/** testdata/images/tower/large_image.jpg (a real photo, 2268×1512) in a sharp pipeline. */
function photo() {
  const sharp = require('sharp')
  return sharp(fs.readFileSync(path.join(ROOT, 'testdata', 'images', 'tower', 'large_image.jpg')))
}

const MAGIC = { jpeg: [0xff, 0xd8], png: [0x89, 0x50], webp: [0x52, 0x49] }

/**
 * A workload of `images` transforms, 16 in flight: `input()` makes the source (untimed), `pool`
 * is image.transform's options without `data`, `sharp(s)` the same pipeline on sharp instance
 * `s`; `out` the expected `[format, width, height]` of every result. `others` adds contenders:
 * `{ name: { one(src) → Promise<Buffer>, images? } }` (`images`: fewer for a slow one; the
 * value is per image either way).
 */
function transformWorkload({ name, title, describe, images, input, pool: poolOpts, sharp: pipeline, out, others = {} }) {
  const [format, width, height] = out
  return {
    name,
    title: (s) => `${title}, ${s.images} images`,
    unit: 'images/s',
    better: 'higher',
    sizes: (opts) => ({ images: opts.quick ? Math.ceil(images / 3) : images }),
    describe: (s) => `${s.images} × (${describe}), ${IN_FLIGHT} in flight`,
    contenders: ['pool', 'sharp', ...Object.keys(others)],
    targets: [{ vs: 'sharp', op: '>=', ratio: 1.0 }],
    async setup(contender, { threads, sizes }) {
      const src = await input()
      const other = others[contender]
      const n = other?.images ? Math.min(other.images, sizes.images) : sizes.images
      const verify = async (outs) => {
        const magic = MAGIC[format]
        check(outs.length === n && outs.every((b) => Buffer.isBuffer(b) && b[0] === magic[0] && b[1] === magic[1]), `${contender}: ${n} ${format} images`)
        const m = await require('sharp')(outs[n - 1]).metadata() // untimed
        check(m.format === format && m.width === width && m.height === height, `${contender}: ${m.format} ${m.width}×${m.height}`)
      }
      if (contender === 'pool') {
        const pool = createPool(threads)
        const one = () => pool.run('image.transform', { data: src, ...poolOpts }).then((r) => r.data)
        return { units: n, run: () => inFlight(n, IN_FLIGHT, one), verify, close: () => pool.close() }
      }
      if (contender === 'sharp') {
        const sharp = require('sharp')
        sharp.cache(false)
        const one = () => pipeline(sharp(src)).toBuffer()
        return { units: n, run: () => inFlight(n, IN_FLIGHT, one), verify }
      }
      if (other) {
        const one = () => other.one(src)
        return { units: n, run: () => inFlight(n, IN_FLIGHT, one), verify }
      }
      throw new Error(`unknown contender ${contender}`)
    },
  }
}

/** @napi-rs/image (Rust's `image` crate on libuv's pool) with sharp's fit and filter names. */
function napiImage({ width, height, fit = 'cover', kernel = 'lanczos3' }, format, quality) {
  const { Transformer, ResizeFit, ResizeFilterType } = require('@napi-rs/image')
  const opts = {
    width,
    height,
    fit: { cover: ResizeFit.Cover, fill: ResizeFit.Fill, inside: ResizeFit.Inside }[fit],
    filter: { lanczos3: ResizeFilterType.Lanczos3 }[kernel],
  }
  return { one: (src) => new Transformer(src).resize(opts)[format](quality) }
}

module.exports = { IN_FLIGHT, inFlight, photo, transformWorkload, napiImage }
