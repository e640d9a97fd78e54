'use strict'
// An upload from a phone: a 12 MP (4032×3024) JPEG stored sideways with EXIF orientation 6 →
// auto-rotated → 800×600 cover → JPEG q80 (sharp: rotate() then resize()).
const { photo, transformWorkload } = require('./image-lib')

module.exports = transformWorkload({
  name: 'image-phone',
  title: '12 MP phone JPEG, EXIF orientation 6 → rotate → 800×600 cover → JPEG q80',
  describe: 'decode a 4032×3024 JPEG with EXIF orientation 6, rotate it upright, resize to 800×600 cover, encode JPEG q80',
  images: 48,
  input: () => photo().resize(4032, 3024, { fit: 'fill' }).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer(),
  pool: { rotate: 'auto', resize: { width: 800, height: 600, fit: 'cover' }, format: 'jpeg', quality: 80 },
  sharp: (s) => s.rotate().resize(800, 600).jpeg({ quality: 80 }),
  out: ['jpeg', 800, 600],
})
