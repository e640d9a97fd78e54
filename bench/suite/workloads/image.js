'use strict'
// sharp's own benchmark task: a 2725×2225 JPEG → 720×588 (cover, lanczos3) → JPEG quality 80.
// The input is the vendored photo brought to sharp's benchmark size by sharp, untimed.
const { photo, transformWorkload, napiImage } = require('./image-lib')

// jimp decodes, resizes and encodes in JavaScript on the main thread: a few images are enough.
const jimp = {
  images: 8,
  async one(src) {
    const { Jimp } = require('jimp')
    const img = await Jimp.read(src)
    img.cover({ w: 720, h: 588 })
    return img.getBuffer('image/jpeg', { quality: 80 })
  },
}

const [WIDTH, HEIGHT] = [720, 588]

module.exports = transformWorkload({
  name: 'image',
  title: `2725×2225 JPEG → ${WIDTH}×${HEIGHT} → JPEG q80`,
  describe: `decode a 2725×2225 JPEG, resize to ${WIDTH}×${HEIGHT} cover with lanczos3, encode JPEG q80`,
  images: 96,
  input: () => photo().resize(2725, 2225, { fit: 'fill' }).jpeg({ quality: 80 }).toBuffer(),
  pool: { resize: { width: WIDTH, height: HEIGHT, fit: 'cover', kernel: 'lanczos3' }, format: 'jpeg', quality: 80 },
  sharp: (s) => s.resize(WIDTH, HEIGHT, { kernel: 'lanczos3' }).jpeg({ quality: 80 }),
  out: ['jpeg', WIDTH, HEIGHT],
  others: { '@napi-rs/image': napiImage({ width: WIDTH, height: HEIGHT }, 'jpeg', 80), jimp },
})
