'use strict'
// A small JPEG to a WebP thumbnail: 600×450 JPEG → width 225 → WebP q75.
const { photo, transformWorkload, napiImage } = require('./image-lib')

module.exports = transformWorkload({
  name: 'image-webp',
  title: '600×450 JPEG → width 225 → WebP q75',
  describe: 'decode a 600×450 JPEG, resize to width 225, encode WebP q75',
  images: 480,
  input: () => photo().resize(600, 450, { fit: 'fill' }).jpeg({ quality: 80 }).toBuffer(),
  pool: { resize: { width: 225 }, format: 'webp', quality: 75 },
  sharp: (s) => s.resize(225).webp({ quality: 75 }),
  out: ['webp', 225, 169],
  // @napi-rs/image: width 225 inside a tall box keeps the aspect ratio, as sharp's resize(225).
  others: { '@napi-rs/image': napiImage({ width: 225, height: 10000, fit: 'inside' }, 'webp', 75) },
})
