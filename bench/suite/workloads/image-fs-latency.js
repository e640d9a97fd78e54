'use strict'
// What image work does to the rest of a server: `fs.promises.readFile` of a small file, one
// after another, while 16 of sharp's task (2725×2225 JPEG → 720×588 → JPEG q80) are in flight.
// sharp runs its tasks on libuv's thread pool (4 threads), which fs shares, so a read waits for
// a thread; the pool's threads are its own. Value: the reads' p99 latency.
const fs = require('node:fs')
const path = require('node:path')
const { ROOT, createPool, check } = require('../harness')
const { percentile } = require('../../lib')
const { IN_FLIGHT, inFlight, photo } = require('./image-lib')

const FILE = path.join(ROOT, 'testdata', 'images', 'tower', 'LICENSE-MIT')

module.exports = {
  name: 'image-fs-latency',
  title: (s) => `fs.promises.readFile p99 while ${IN_FLIGHT} resizes are in flight (${s.images} images)`,
  unit: 'ms',
  better: 'lower',
  valueName: 'p99 latency of one readFile',
  sizes: (opts) => ({ images: opts.quick ? 32 : 64 }),
  describe: (s) => `${s.images} × sharp's task with ${IN_FLIGHT} in flight, and readFile(a 1 KB file) in a loop until they are done`,
  contenders: ['pool', 'sharp'],
  targets: [{ vs: 'sharp', op: '<=', ratio: 0.2 }],
  async setup(contender, { threads, sizes }) {
    const src = await photo().resize(2725, 2225, { fit: 'fill' }).jpeg({ quality: 80 }).toBuffer()
    const expected = fs.readFileSync(FILE)
    const n = sizes.images
    let one
    let close
    if (contender === 'pool') {
      const pool = createPool(threads)
      const opts = { data: src, resize: { width: 720, height: 588, kernel: 'lanczos3' }, format: 'jpeg', quality: 80 }
      one = () => pool.run('image.transform', opts).then((r) => r.data)
      close = () => pool.close()
    } else if (contender === 'sharp') {
      const sharp = require('sharp')
      sharp.cache(false)
      one = () => sharp(src).resize(720, 588, { kernel: 'lanczos3' }).jpeg({ quality: 80 }).toBuffer()
    } else {
      throw new Error(`unknown contender ${contender}`)
    }
    return {
      units: n,
      run: async () => {
        let done = false
        const images = inFlight(n, IN_FLIGHT, one).finally(() => { done = true })
        const reads = []
        while (!done) {
          const t0 = performance.now()
          const got = await fs.promises.readFile(FILE)
          reads.push(performance.now() - t0)
          check(got.equals(expected), `${contender}: readFile returned the file`)
        }
        return { images: await images, reads }
      },
      verify: ({ images, reads }) => {
        check(images.length === n && images.every((b) => b[0] === 0xff && b[1] === 0xd8), `${contender}: ${n} JPEGs`)
        check(reads.length >= 10, `${contender}: ${reads.length} reads`)
      },
      value: ({ reads }) => percentile(reads, 99),
      close,
    }
  },
}
