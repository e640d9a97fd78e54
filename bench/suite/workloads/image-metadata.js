'use strict'
// `image.metadata` of a 12 MP JPEG (EXIF orientation 6) against sharp's `metadata()`: the header
// only, no pixel decoded, many calls with 16 in flight.
const { createPool, check } = require('../harness')
const { IN_FLIGHT, inFlight, photo } = require('./image-lib')

module.exports = {
  name: 'image-metadata',
  title: (s) => `metadata of a 12 MP JPEG × ${s.calls}`,
  unit: 'calls/s',
  better: 'higher',
  sizes: (opts) => ({ calls: opts.quick ? 2000 : 10000 }),
  describe: (s) => `${s.calls} × metadata(4032×3024 JPEG with EXIF orientation 6), ${IN_FLIGHT} in flight`,
  contenders: ['pool', 'sharp'],
  targets: [{ vs: 'sharp', op: '>=', ratio: 1.0 }],
  async setup(contender, { threads, sizes }) {
    const src = await photo().resize(4032, 3024, { fit: 'fill' }).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer()
    const n = sizes.calls
    const verify = (outs) => {
      const ok = outs.every((m) => m.format === 'jpeg' && m.width === 4032 && m.height === 3024 && m.orientation === 6)
      check(outs.length === n && ok, `${contender}: ${n} × jpeg 4032×3024 orientation 6`)
    }
    let one
    let close
    if (contender === 'pool') {
      const pool = createPool(threads)
      one = () => pool.run('image.metadata', src)
      close = () => pool.close()
    } else if (contender === 'sharp') {
      const sharp = require('sharp')
      sharp.cache(false)
      one = () => sharp(src).metadata()
    } else {
      throw new Error(`unknown contender ${contender}`)
    }
    return { units: n, run: () => inFlight(n, IN_FLIGHT, one), verify, close }
  },
}
