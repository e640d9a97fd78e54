'use strict'
// A 2048×1536 RGBA PNG (the photo with a gradient alpha band) → 720×540 → PNG. Both sides at
// sharp's PNG defaults: compression level 6, no adaptive filtering.
const { photo, transformWorkload } = require('./image-lib')

async function input() {
  const sharp = require('sharp')
  const [w, h] = [2048, 1536]
  const alpha = Buffer.alloc(w * h)
  for (let y = 0; y < h; y++) alpha.fill(Math.round(64 + (191 * y) / (h - 1)), y * w, (y + 1) * w)
  const rgb = await photo().resize(w, h, { fit: 'fill' }).removeAlpha().raw().toBuffer()
  return sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
    .joinChannel(alpha, { raw: { width: w, height: h, channels: 1 } })
    .png()
    .toBuffer()
}

module.exports = transformWorkload({
  name: 'image-png',
  title: '2048×1536 RGBA PNG → 720×540 → PNG',
  describe: 'decode a 2048×1536 RGBA PNG, resize to 720×540, encode PNG at compression level 6',
  images: 48,
  input,
  pool: { resize: { width: 720, height: 540 }, format: 'png' },
  sharp: (s) => s.resize(720, 540).png(),
  out: ['png', 720, 540],
})
