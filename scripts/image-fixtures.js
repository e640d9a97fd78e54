'use strict'
// Writes the small image fixtures in testdata/images/ with sharp (a devDependency): the eight
// EXIF orientations, alpha, grey, palette, 16-bit, interlaced, progressive, odd sizes, 1×N,
// GIF, and bad input (a PNG and a JPEG whose headers claim more pixels than any limit allows,
// truncated and corrupt files, a JPEG whose frame header follows 5000 segments, a text file).
// testdata/images/tower/ is vendored as published (see testdata/README.md), not written here.
// Run: node scripts/image-fixtures.js, then commit the files with the code that reads them.
// The output is deterministic for a given sharp/libvips version (printed at the end).
const fs = require('node:fs')
const path = require('node:path')
const zlib = require('node:zlib')
const sharp = require('sharp')

const dir = path.join(__dirname, '..', 'testdata', 'images')
fs.mkdirSync(dir, { recursive: true })
sharp.concurrency(1)
sharp.cache(false)

const write = (name, buf) => fs.writeFileSync(path.join(dir, name), buf)

// An asymmetric RGB(A) test pattern: gradients, a texture, and a white block at the top left,
// so that every orientation and crop position is told apart.
function pattern (w, h, channels = 3) {
  const px = Buffer.alloc(w * h * channels)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * channels
      const corner = x < w / 6 && y < h / 5
      px[i] = corner ? 255 : Math.round((x * 255) / Math.max(1, w - 1))
      px[i + 1] = corner ? 255 : Math.round((y * 255) / Math.max(1, h - 1))
      px[i + 2] = corner ? 255 : ((x * 7 + y * 13) % 64) + 96
      if (channels === 4) px[i + 3] = Math.round(((x + y) * 255) / Math.max(1, w + h - 2))
    }
  }
  return sharp(px, { raw: { width: w, height: h, channels } })
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function pngChunk (type, data) {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  let c = 0xffffffff
  for (const b of body) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8)
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  body.copy(out, 4)
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0, 8 + data.length)
  return out
}

// A valid-looking grey PNG whose IHDR claims w × h, with one row of image data.
function bombPng (w, h) {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 0 // grey
  return Buffer.concat([
    Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(Buffer.alloc(Math.min(w, 1 << 20) + 1))),
    pngChunk('IEND', Buffer.alloc(0)),
  ])
}

// `jpeg` with its frame header's size set to w × h (the data stays a 64×48 image).
function resizeSof (jpeg, w, h) {
  const out = Buffer.from(jpeg)
  for (let at = 2; at < out.length;) {
    const marker = out[at + 1]
    const len = out.readUInt16BE(at + 2)
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      out.writeUInt16BE(h, at + 5)
      out.writeUInt16BE(w, at + 7)
      return out
    }
    at += 2 + len
  }
  throw new Error('no SOF')
}

// `jpeg` with `n` empty COM segments inserted after SOI.
function manySegments (jpeg, n) {
  const com = Buffer.from([0xff, 0xfe, 0x00, 0x02])
  return Buffer.concat([jpeg.subarray(0, 2), Buffer.concat(Array(n).fill(com)), jpeg.subarray(2)])
}

async function main () {
  const base = pattern(64, 48)
  for (let o = 1; o <= 8; o++) {
    write(`orient-${o}.jpg`, await base.clone().jpeg({ quality: 95 }).withMetadata({ orientation: o }).toBuffer())
  }
  write('orient-6.png', await base.clone().png().withMetadata({ orientation: 6 }).toBuffer())
  write('orient-6.webp', await base.clone().webp({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer())
  write('alpha.png', await pattern(40, 30, 4).png().toBuffer())
  write('alpha.webp', await pattern(40, 30, 4).webp({ lossless: true }).toBuffer())
  write('grey.png', await pattern(33, 21).greyscale().png().toBuffer())
  write('grey.jpg', await pattern(33, 21).toColourspace('b-w').jpeg({ quality: 95 }).toBuffer())
  write('grey-alpha.png', await pattern(33, 21, 4).toColourspace('b-w').png().toBuffer())
  write('palette.png', await pattern(30, 20).png({ palette: true, colours: 16 }).toBuffer())
  write('palette-alpha.png', await pattern(30, 20, 4).png({ palette: true, colours: 16 }).toBuffer())
  write('rgb16.png', await pattern(30, 20).toColourspace('rgb16').png().toBuffer())
  write('interlaced.png', await pattern(30, 20).png({ progressive: true }).toBuffer())
  write('odd.jpg', await pattern(37, 23).jpeg({ quality: 95 }).toBuffer())
  write('progressive.jpg', await pattern(37, 23).jpeg({ quality: 95, progressive: true }).toBuffer())
  write('444.jpg', await pattern(37, 23).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer())
  write('1x50.png', await pattern(1, 50).png().toBuffer())
  write('50x1.png', await pattern(50, 1).png().toBuffer())
  write('lossy.webp', await pattern(37, 23).webp({ quality: 90 }).toBuffer())
  write('pattern.gif', await pattern(37, 23).gif().toBuffer())
  write('alpha.gif', await pattern(37, 23, 4).gif().toBuffer())

  // Bad input.
  write('bomb.png', bombPng(100000, 100000))
  write('bomb.jpg', resizeSof(await base.clone().jpeg().toBuffer(), 65535, 65535))
  write('many-segments.jpg', manySegments(await base.clone().jpeg().toBuffer(), 5000))
  const odd = fs.readFileSync(path.join(dir, 'odd.jpg'))
  write('truncated.jpg', odd.subarray(0, Math.floor(odd.length / 2)))
  const png = fs.readFileSync(path.join(dir, 'alpha.png'))
  const corrupt = Buffer.from(png)
  const idat = corrupt.indexOf('IDAT')
  for (let i = idat + 8; i < idat + 40 && i < corrupt.length; i++) corrupt[i] ^= 0x5a
  write('corrupt.png', corrupt)
  write('truncated.png', png.subarray(0, Math.floor(png.length * 0.6)))
  const webp = fs.readFileSync(path.join(dir, 'lossy.webp'))
  write('truncated.webp', webp.subarray(0, 40))
  const gif = fs.readFileSync(path.join(dir, 'pattern.gif'))
  write('truncated.gif', gif.subarray(0, Math.floor(gif.length / 2)))
  write('not-an-image.bin', Buffer.from('this is not an image, just some text'))
  console.log(`testdata/images written (sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips})`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
