'use strict'
// image.metadata and image.transform against sharp itself (a devDependency, run in the same
// process): metadata of every fixture, output sizes over a grid of sizes, fits and options,
// pixels within PSNR >= 35 dB of sharp's with the same kernel, the eight EXIF orientations,
// alpha flattened into JPEG, every output decoded by sharp; then bad input (decompression
// bombs refused before anything is queued, truncated/corrupt data, unknown formats, bad
// options), with the pool serving on.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const sharp = require('sharp')
const { WorkerPool } = require('..')
const { rejectsWith, withPool, settled, waitFor, yardstick, LONG, TESTDATA } = require('./helpers')

const IMAGES = path.join(TESTDATA, 'images')
const file = (name) => fs.readFileSync(path.join(IMAGES, name))
const TOWER = file('tower/tower.jpg')

sharp.cache(false)

let pool
before(() => { pool = new WorkerPool({ threads: 2 }) })
after(() => pool.destroy())

/** Decoded pixels, by sharp: `{ data, width, height, channels }`. */
async function pixels(buf) {
  const { data, info } = await sharp(buf).raw().toBuffer({ resolveWithObject: true })
  return { data, width: info.width, height: info.height, channels: info.channels }
}

/**
 * PSNR in dB between two decoded images of the same size and bands (Infinity when equal).
 * With alpha, colours are compared premultiplied: what shows, not the colour under alpha 0.
 */
function psnr(a, b) {
  assert.deepEqual([a.width, a.height, a.channels], [b.width, b.height, b.channels], 'size and bands')
  const c = a.channels
  const alpha = c === 2 || c === 4
  let se = 0
  for (let i = 0; i < a.data.length; i += c) {
    for (let k = 0; k < c; k++) {
      let x = a.data[i + k]
      let y = b.data[i + k]
      if (alpha && k < c - 1) {
        x *= a.data[i + c - 1] / 255
        y *= b.data[i + c - 1] / 255
      }
      se += (x - y) ** 2
    }
  }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255) / (se / a.data.length))
}

/** sharp's pipeline for the same options as image.transform. */
function viaSharp(input, o = {}) {
  let s = sharp(input)
  s = o.rotate === undefined || o.rotate === 'auto' ? s.rotate() : s.rotate(o.rotate)
  if (o.resize) s = s.resize({ ...o.resize, background: o.resize.background ?? o.background ?? '#000000' })
  const format = o.format ?? null
  if (format === 'jpeg' && o.background) s = s.flatten({ background: o.background })
  if (format === 'jpeg') s = s.jpeg({ quality: o.quality ?? 80 })
  else if (format === 'png') s = s.png()
  else if (format === 'webp') s = s.webp({ quality: o.quality ?? 80, lossless: o.lossless ?? false })
  return s.toBuffer({ resolveWithObject: true })
}

/** Both transforms: ours `{ data, info }` and sharp's `{ data, info }`. */
async function both(input, o) {
  const [ours, theirs] = await Promise.all([pool.run('image.transform', { data: input, ...o }), viaSharp(input, o)])
  return { ours, theirs }
}

/** Both, settled: `{ ours, theirs }` each `{ ok, value | error }`. */
async function bothSettled(input, o) {
  const [ours, theirs] = await Promise.all([settled(pool.run('image.transform', { data: input, ...o })), settled(viaSharp(input, o))])
  return { ours, theirs }
}

describe('image.metadata', () => {
  const names = fs.readdirSync(IMAGES).filter((n) => /\.(jpg|png|webp|gif)$/.test(n) && !/truncated|corrupt|bomb/.test(n))
  names.push('tower/tower.jpg', 'tower/tower_grayscale.jpg', 'tower/tower_progressive.jpg')

  it('has the fixtures', () => assert.ok(names.length >= 30, `${names.length} fixtures`))

  for (const name of names) {
    it(`equals sharp's for ${name}`, async () => {
      const buf = file(name)
      const m = await sharp(buf).metadata()
      const want = {
        format: m.format, width: m.width, height: m.height, channels: m.channels, hasAlpha: m.hasAlpha,
        orientation: m.orientation ?? null, size: buf.length,
      }
      assert.deepEqual(await pool.run('image.metadata', buf), want)
      assert.deepEqual(await pool.run('image.metadata', { data: new Uint8Array(buf) }), want)
    })
  }

  it('reads only the header: a 100,000 × 100,000 PNG without a limit', async () => {
    const m = await pool.run('image.metadata', { data: file('bomb.png'), limitInputPixels: false })
    assert.deepEqual([m.width, m.height, m.channels], [100000, 100000, 1])
  })
})

// The size grid is pure kernel geometry, the same under every Node version: scripts/test-matrix.js
// sets POOL_TEST_MATRIX and it runs once, under npm test (it is two thirds of the matrix's time).
const GRID = process.env.POOL_TEST_MATRIX ? { skip: 'Node-version independent: run once, by npm test' } : {}

describe('image.transform: output sizes equal sharp\'s', GRID, () => {
  const dims = [[2725, 2225], [640, 480], [37, 23], [1, 50], [50, 1], [100, 100], [1023, 767], [3, 1000]]
  const targets = [[720, 588], [200, 0], [0, 150], [1000, 1000], [1, 1], [64, 37], [99, 101], [2, 0]]
  const fits = ['cover', 'contain', 'fill', 'inside', 'outside']

  // Solid images (the sizes do not depend on the pixels), in each format and with EXIF 6.
  async function inputs(w, h) {
    const src = sharp({ create: { width: w, height: h, channels: 3, background: '#808080' } })
    return {
      jpeg: await src.clone().jpeg().toBuffer(),
      png: await src.clone().png({ compressionLevel: 1 }).toBuffer(),
      webp: await src.clone().webp({ quality: 50 }).toBuffer(),
      'jpeg, EXIF 6': await src.clone().jpeg().withMetadata({ orientation: 6 }).toBuffer(),
    }
  }

  for (const [w, h] of dims) {
    it(`${w}×${h}: ${targets.length} targets × ${fits.length} fits × withoutEnlargement × 4 inputs`, async () => {
      const files = await inputs(w, h)
      const misses = []
      let n = 0
      for (const [kind, buf] of Object.entries(files)) {
        for (const [tw, th] of targets) {
          for (const fit of fits) {
            for (const withoutEnlargement of [false, true]) {
              const resize = { fit, withoutEnlargement }
              if (tw) resize.width = tw
              if (th) resize.height = th
              // Always JPEG at quality 1 (bounded to 65535 per side in both, and fast): only
              // the size is compared here; the input's format decides sharp's shrink-on-load.
              const o = { resize, format: 'jpeg', quality: 1 }
              const { ours, theirs } = await bothSettled(buf, o)
              n++
              if (!theirs.ok) {
                // Too large for the format in sharp too (WebP 16383, JPEG 65535 per side).
                if (ours.ok || ours.error.code !== 'ERR_POOL_IMAGE_TOO_LARGE') misses.push(`${kind} ${JSON.stringify(resize)}: sharp refused (${theirs.error.message}), we gave ${ours.ok ? 'an image' : ours.error.code}`)
                continue
              }
              if (!ours.ok) {
                // A documented difference: we refuse outputs over the pixel limit (sharp has
                // none); nothing in this grid is that large.
                misses.push(`${kind} ${JSON.stringify(resize)}: ${ours.error.code} ${ours.error.message}`)
                continue
              }
              const got = [ours.value.info.width, ours.value.info.height]
              const want = [theirs.value.info.width, theirs.value.info.height]
              if (got.join() !== want.join()) misses.push(`${kind} ${JSON.stringify(resize)}: ${got} vs sharp ${want}`)
            }
          }
        }
      }
      assert.deepEqual(misses, [], `${misses.length} of ${n} differ`)
    })
  }

  it('with every kernel, withoutReduction and explicit rotations', async () => {
    const misses = []
    for (const [w, h] of [[1023, 767], [37, 23], [640, 480]]) {
      const files = await inputs(w, h)
      for (const kernel of ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'mks2013', 'mks2021']) {
        for (const [tw, th] of [[200, 0], [99, 101], [3000, 0]]) {
          const resize = { width: tw, height: th || undefined, kernel, fit: 'inside' }
          for (const kind of ['jpeg', 'png']) {
            const { ours, theirs } = await both(files[kind], { resize, format: 'png', compressionLevel: 1 })
            if (ours.info.width !== theirs.info.width || ours.info.height !== theirs.info.height) {
              misses.push(`${w}×${h} ${kind} ${JSON.stringify(resize)}: ${ours.info.width}×${ours.info.height} vs ${theirs.info.width}×${theirs.info.height}`)
            }
          }
        }
      }
      for (const rotate of [90, 180, 270, -90, 0]) {
        for (const resize of [{ width: 300, height: 100 }, { width: 50, fit: 'inside' }, { height: 77, fit: 'outside', withoutReduction: true }]) {
          const { ours, theirs } = await both(files['jpeg, EXIF 6'], { rotate, resize, format: 'jpeg', quality: 1 })
          if (ours.info.width !== theirs.info.width || ours.info.height !== theirs.info.height) {
            misses.push(`${w}×${h} rotate ${rotate} ${JSON.stringify(resize)}: ${ours.info.width}×${ours.info.height} vs ${theirs.info.width}×${theirs.info.height}`)
          }
        }
      }
    }
    assert.deepEqual(misses, [])
  })
})

describe('image.transform: pixels within 35 dB of sharp\'s', () => {
  const MIN_DB = 35
  const odd = file('odd.jpg')
  const cases = [
    ['tower cover 200×150', TOWER, { resize: { width: 200, height: 150 } }],
    ['tower inside 333 mitchell', TOWER, { resize: { width: 333, kernel: 'mitchell' } }],
    ['tower fill 97×301 cubic', TOWER, { resize: { width: 97, height: 301, fit: 'fill', kernel: 'cubic' } }],
    ['tower contain 300×300 north, translucent background', TOWER, { resize: { width: 300, height: 300, fit: 'contain', position: 'north', background: '#ff000080' } }],
    ['tower cover 150×150 left top', TOWER, { resize: { width: 150, height: 150, position: 'left top' } }],
    ['tower outside 100×300 lanczos2', TOWER, { resize: { width: 100, height: 300, fit: 'outside', kernel: 'lanczos2' } }],
    ['tower 97 linear', TOWER, { resize: { width: 97, kernel: 'linear' } }],
    ['tower 200 mks2013', TOWER, { resize: { width: 200, kernel: 'mks2013' } }],
    ['tower 200 mks2021', TOWER, { resize: { width: 200, kernel: 'mks2021' } }],
    ['tower 64 (JPEG shrink-on-load in sharp)', TOWER, { resize: { width: 64 } }],
    ['tower upscale 1000', TOWER, { resize: { width: 1000 } }],
    ['grey tower 120×90', file('tower/tower_grayscale.jpg'), { resize: { width: 120, height: 90 } }],
    ['progressive tower 256', file('tower/tower_progressive.jpg'), { resize: { width: 256 } }],
    ['odd upscale fill 100×80', odd, { resize: { width: 100, height: 80, fit: 'fill' } }],
    ['odd rotate 90 cover 20×30', odd, { rotate: 90, resize: { width: 20, height: 30 } }],
    ['4:4:4 JPEG 20', file('444.jpg'), { resize: { width: 20 } }],
    ['alpha PNG fill 17×13', file('alpha.png'), { resize: { width: 17, height: 13, fit: 'fill' } }],
    ['alpha PNG contain 60×60 transparent', file('alpha.png'), { resize: { width: 60, height: 60, fit: 'contain', background: 'transparent' } }],
    ['grey+alpha PNG 20', file('grey-alpha.png'), { resize: { width: 20 } }],
    ['palette PNG', file('palette.png'), {}],
    ['16-bit PNG', file('rgb16.png'), {}],
    ['interlaced PNG', file('interlaced.png'), {}],
    ['GIF', file('pattern.gif'), {}],
    ['GIF with transparency', file('alpha.gif'), {}],
    // sharp reloads a WebP at the smaller size with libwebp's scaler, which averages in YUV
    // with its chroma at half size; we area-average the RGB. On this synthetic texture
    // (a blue channel changing every pixel) that gives 33 dB; on a photo (next case) > 35.
    ['lossy WebP 20 (libwebp\'s scaler in sharp)', file('lossy.webp'), { resize: { width: 20 } }, 30],
    ['WebP photo 200 (libwebp\'s scaler in sharp)', 'tower.webp', { resize: { width: 200 } }],
    ['alpha WebP', file('alpha.webp'), {}],
    ['1×50 PNG 3 wide', file('1x50.png'), { resize: { width: 3, height: 7, fit: 'fill' } }],
  ]
  for (const [name, given, o, min = MIN_DB] of cases) {
    it(name, async () => {
      const input = given === 'tower.webp' ? await sharp(TOWER).webp({ quality: 90 }).toBuffer() : given
      // Compared as PNG (lossless), so only decoding and resampling differ.
      const { ours, theirs } = await both(input, { ...o, format: 'png' })
      assert.deepEqual([ours.info.width, ours.info.height], [theirs.info.width, theirs.info.height])
      const db = psnr(await pixels(ours.data), await pixels(theirs.data))
      if (process.env.POOL_IMAGE_PSNR) console.log(`# ${name}: ${db.toFixed(1)} dB`)
      assert.ok(db >= min, `${db.toFixed(1)} dB`)
    })
  }

  it('JPEG output (resampled in YCbCr) stays within 35 dB of sharp\'s JPEG', async () => {
    for (const resize of [{ width: 200, height: 150 }, { width: 64 }, undefined]) {
      const { ours, theirs } = await both(TOWER, { resize, format: 'jpeg', quality: 90 })
      assert.equal(ours.info.format, 'jpeg')
      const db = psnr(await pixels(ours.data), await pixels(theirs.data))
      assert.ok(db >= MIN_DB, `${JSON.stringify(resize)}: ${db.toFixed(1)} dB`)
    }
  })

  it('WebP output at quality 90 stays within 35 dB of sharp\'s', async () => {
    const { ours, theirs } = await both(TOWER, { resize: { width: 256 }, format: 'webp', quality: 90 })
    const db = psnr(await pixels(ours.data), await pixels(theirs.data))
    assert.ok(db >= MIN_DB, `${db.toFixed(1)} dB`)
  })
})

describe('image.transform: EXIF orientation', () => {
  for (let o = 1; o <= 8; o++) {
    it(`orientation ${o} equals sharp's autoOrient, with and without a resize`, async () => {
      const input = file(`orient-${o}.jpg`)
      for (const resize of [undefined, { width: 30, height: 20 }, { width: 25, fit: 'inside' }]) {
        const { ours, theirs } = await both(input, { resize, format: 'png' })
        assert.deepEqual([ours.info.width, ours.info.height], [theirs.info.width, theirs.info.height])
        const db = psnr(await pixels(ours.data), await pixels(theirs.data))
        assert.ok(db >= 35, `${JSON.stringify(resize)}: ${db.toFixed(1)} dB`)
      }
      // The EXIF tag is gone from the output.
      const { data } = await pool.run('image.transform', input)
      assert.equal((await sharp(data).metadata()).orientation, undefined)
    })
  }

  it('applies the orientation of PNG and WebP too', async () => {
    for (const name of ['orient-6.png', 'orient-6.webp']) {
      const { ours, theirs } = await both(file(name), { format: 'png' })
      assert.deepEqual([ours.info.width, ours.info.height], [48, 64])
      assert.deepEqual([theirs.info.width, theirs.info.height], [48, 64])
      assert.ok(psnr(await pixels(ours.data), await pixels(theirs.data)) >= 35, name)
    }
  })

  it('an explicit rotation ignores EXIF, as sharp\'s rotate(angle)', async () => {
    for (const rotate of [0, 90, 180, 270, -90, 450]) {
      const { ours, theirs } = await both(file('orient-6.jpg'), { rotate, format: 'png' })
      assert.deepEqual([ours.info.width, ours.info.height], [theirs.info.width, theirs.info.height], `${rotate}`)
      assert.ok(psnr(await pixels(ours.data), await pixels(theirs.data)) >= 35, `${rotate}`)
    }
  })
})

describe('image.transform: alpha, formats, defaults', () => {
  it('flattens alpha into JPEG on the background (default black, as sharp)', async () => {
    for (const background of ['#ff8000', undefined]) {
      const { ours, theirs } = await both(file('alpha.png'), { format: 'jpeg', quality: 95, background })
      assert.equal((await sharp(ours.data).metadata()).hasAlpha, false)
      const db = psnr(await pixels(ours.data), await pixels(theirs.data))
      assert.ok(db >= 35, `${background}: ${db.toFixed(1)} dB`)
    }
  })

  it('keeps the input\'s format by default (PNG for GIF), quality 80, 4:2:0', async () => {
    const cases = [['odd.jpg', 'jpeg'], ['alpha.png', 'png'], ['lossy.webp', 'webp'], ['pattern.gif', 'png']]
    for (const [name, format] of cases) {
      const { data, info } = await pool.run('image.transform', file(name))
      assert.equal(info.format, format, name)
      assert.equal(info.size, data.length)
      assert.equal((await sharp(data).metadata()).format, format)
    }
    const { data } = await pool.run('image.transform', TOWER)
    const meta = await sharp(data).metadata()
    assert.equal(meta.chromaSubsampling, '4:2:0')
    // Quality 80 by default: the same bytes as asking for it.
    assert.deepEqual((await pool.run('image.transform', { data: TOWER, quality: 80 })).data, data)
    assert.ok((await pool.run('image.transform', { data: TOWER, quality: 30 })).data.length < data.length)
  })

  it('every output decodes in sharp, with the size info says', async () => {
    const inputs = ['odd.jpg', 'grey.jpg', 'alpha.png', 'grey-alpha.png', 'palette-alpha.png', 'rgb16.png', 'alpha.webp', 'lossy.webp', 'alpha.gif', '50x1.png']
    for (const name of inputs) {
      for (const format of ['jpeg', 'png', 'webp']) {
        for (const o of [{}, { resize: { width: 7, height: 9, fit: 'contain', background: '#00ff0080' } }, { lossless: true, compressionLevel: 0 }]) {
          const { data, info } = await pool.run('image.transform', { data: file(name), format, ...o })
          const m = await sharp(data).metadata()
          assert.deepEqual([m.format, m.width, m.height], [format, info.width, info.height], `${name} → ${format} ${JSON.stringify(o)}`)
          await sharp(data).raw().toBuffer()
        }
      }
    }
  })

  it('reads Buffer, Uint8Array, ArrayBuffer and DataView input, small and large', async () => {
    const small = file('odd.jpg')
    assert.ok(TOWER.length > 64 * 1024, 'the tower is read in place')
    for (const buf of [small, TOWER]) {
      const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)
      const want = await pool.run('image.transform', { data: buf, format: 'png' })
      for (const data of [new Uint8Array(ab), ab, new DataView(ab)]) {
        assert.deepEqual(await pool.run('image.transform', { data, format: 'png' }), want)
      }
      assert.deepEqual(await pool.run('image.transform', buf), await pool.run('image.transform', { data: buf }))
    }
  })

  it('reads a JPEG whose frame header follows 5000 segments (on the worker)', async () => {
    const m = await pool.run('image.metadata', file('many-segments.jpg'))
    assert.deepEqual([m.format, m.width, m.height], ['jpeg', 64, 48])
    const { info } = await pool.run('image.transform', { data: file('many-segments.jpg'), resize: { width: 32 } })
    assert.deepEqual([info.width, info.height], [32, 24])
  })
})

describe('image kernels: bad input', () => {
  async function stillServes(p = pool) {
    const { info } = await p.run('image.transform', { data: file('odd.jpg'), resize: { width: 10 } })
    assert.equal(info.width, 10)
  }

  it('refuses decompression bombs from the header, before queuing anything', async () => {
    // One thread, kept busy: a bomb that were queued would wait behind it; it is refused at
    // once, on the JS thread, where no pixel buffer is ever allocated.
    await withPool({ threads: 1 }, async (p) => {
      const busy = settled(p.run('fib', LONG, { timeout: 60_000 }))
      await waitFor(() => p.running === 1, 'the blocker to start')
      for (const name of ['bomb.png', 'bomb.jpg']) {
        const e = await rejectsWith(p.run('image.transform', file(name)), RangeError, 'ERR_POOL_IMAGE_TOO_LARGE')
        assert.match(e.message, /exceeds pixel limit/)
        await rejectsWith(p.run('image.metadata', file(name)), RangeError, 'ERR_POOL_IMAGE_TOO_LARGE')
      }
      assert.equal(p.running, 1)
      assert.equal(p.queueSize, 0)
      await p.destroy()
      await busy
    })
    await stillServes()
  })

  it('takes limitInputPixels per task, as sharp', async () => {
    const odd = file('odd.jpg') // 37 × 23 = 851 pixels
    await pool.run('image.transform', { data: odd, limitInputPixels: 851 })
    await rejectsWith(pool.run('image.transform', { data: odd, limitInputPixels: 850 }), RangeError, 'ERR_POOL_IMAGE_TOO_LARGE')
    await rejectsWith(pool.run('image.metadata', { data: odd, limitInputPixels: 850 }), RangeError, 'ERR_POOL_IMAGE_TOO_LARGE')
    await pool.run('image.metadata', { data: file('bomb.jpg'), limitInputPixels: 0 })
    await rejectsWith(pool.run('image.transform', { data: odd, limitInputPixels: -1 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(pool.run('image.transform', { data: odd, limitInputPixels: '1' }), TypeError, 'ERR_INVALID_ARG_TYPE')
    // An output larger than the limit (and sharp's default) is refused before it is made.
    await rejectsWith(pool.run('image.transform', { data: odd, resize: { width: 100000, height: 100000, fit: 'fill' }, format: 'png' }), RangeError, 'ERR_POOL_IMAGE_TOO_LARGE')
    await rejectsWith(pool.run('image.transform', { data: odd, resize: { width: 20000 }, format: 'webp' }), RangeError, 'ERR_POOL_IMAGE_TOO_LARGE')
  })

  it('takes limitInputPixels pool-wide; a task\'s own overrides it', async () => {
    const odd = file('odd.jpg') // 37 × 23 = 851 pixels
    // The default pool limit is sharp's: the 100,000 × 100,000 headers are refused, the
    // same with `true`.
    for (const options of [{}, { limitInputPixels: true }, { limitInputPixels: 268402689 }]) {
      await withPool({ threads: 1, ...options }, async (p) => {
        for (const name of ['bomb.png', 'bomb.jpg']) {
          for (const kernel of ['image.metadata', 'image.transform']) {
            await rejectsWith(p.run(kernel, file(name)), RangeError, 'ERR_POOL_IMAGE_TOO_LARGE')
          }
        }
        await p.run('image.transform', odd)
      })
    }
    await withPool({ threads: 1, limitInputPixels: 850 }, async (p) => {
      for (const kernel of ['image.metadata', 'image.transform']) {
        const e = await rejectsWith(p.run(kernel, odd), RangeError, 'ERR_POOL_IMAGE_TOO_LARGE')
        assert.match(e.message, /37x23 is 851 pixels, more than limitInputPixels \(850\)/)
        // A task's own limit wins, higher or lower than the pool's; `true` is sharp's default.
        await p.run(kernel, { data: odd, limitInputPixels: 851 })
        await p.run(kernel, { data: odd, limitInputPixels: true })
        await p.run(kernel, { data: odd, limitInputPixels: false })
        await p.run(kernel, { data: odd, limitInputPixels: 0 })
      }
    })
    await withPool({ threads: 1, limitInputPixels: 851 }, async (p) => {
      await p.run('image.transform', odd)
      await rejectsWith(p.run('image.transform', { data: odd, limitInputPixels: 850 }), RangeError, 'ERR_POOL_IMAGE_TOO_LARGE')
    })
    for (const off of [0, false]) {
      await withPool({ threads: 1, limitInputPixels: off }, async (p) => {
        const m = await p.run('image.metadata', file('bomb.png'))
        assert.deepEqual([m.width, m.height], [100000, 100000])
        await rejectsWith(p.run('image.metadata', { data: file('bomb.png'), limitInputPixels: true }), RangeError, 'ERR_POOL_IMAGE_TOO_LARGE')
      })
    }
  })

  it('validates the pool-wide limitInputPixels as sharp does', () => {
    for (const bad of ['1', null, {}, 1n]) {
      assert.throws(() => new WorkerPool({ limitInputPixels: bad }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /"limitInputPixels" option must be of type number or boolean/ })
    }
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
      assert.throws(() => new WorkerPool({ limitInputPixels: bad }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: /"limitInputPixels"/ })
    }
  })

  it('rejects truncated or corrupt data with ERR_POOL_IMAGE_DECODE and the reason', async () => {
    for (const name of ['truncated.jpg', 'truncated.png', 'corrupt.png', 'truncated.webp', 'truncated.gif']) {
      const e = await rejectsWith(pool.run('image.transform', file(name)), Error, 'ERR_POOL_IMAGE_DECODE')
      assert.match(e.message, /^Invalid (jpeg|png|webp|gif) data: ./, name)
    }
    // Every prefix of a valid file settles, resolved or with a code.
    for (const name of ['odd.jpg', 'alpha.png', 'lossy.webp', 'pattern.gif']) {
      const buf = file(name)
      for (let len = 0; len < buf.length; len += 13) {
        for (const kernel of ['image.metadata', 'image.transform']) {
          const r = await settled(pool.run(kernel, buf.subarray(0, len)))
          if (!r.ok) assert.match(r.error.code, /^ERR_POOL_IMAGE_(DECODE|FORMAT)$/, `${name}[0..${len}] ${r.error.message}`)
        }
      }
    }
    await stillServes()
  })

  it('rejects an unknown format with ERR_POOL_IMAGE_FORMAT', async () => {
    for (const data of [file('not-an-image.bin'), Buffer.alloc(0), Buffer.from('GIF8'), Buffer.from('<svg/>')]) {
      await rejectsWith(pool.run('image.transform', data), Error, 'ERR_POOL_IMAGE_FORMAT')
      await rejectsWith(pool.run('image.metadata', data), Error, 'ERR_POOL_IMAGE_FORMAT')
    }
    await stillServes()
  })

  it('rejects bad options with TypeError/RangeError and Node-style codes', async () => {
    const data = file('odd.jpg')
    const bad = [
      [{ rotate: 45 }, RangeError, 'ERR_OUT_OF_RANGE'],
      [{ rotate: 'left' }, TypeError, 'ERR_INVALID_ARG_VALUE'],
      [{ rotate: null }, TypeError, 'ERR_INVALID_ARG_TYPE'],
      [{ resize: 100 }, TypeError, 'ERR_INVALID_ARG_TYPE'],
      [{ resize: { width: 0 } }, RangeError, 'ERR_OUT_OF_RANGE'],
      [{ resize: { width: 10.5 } }, RangeError, 'ERR_OUT_OF_RANGE'],
      [{ resize: { height: '10' } }, TypeError, 'ERR_INVALID_ARG_TYPE'],
      [{ resize: { width: 10, fit: 'crop' } }, TypeError, 'ERR_INVALID_ARG_VALUE'],
      [{ resize: { width: 10, position: 'entropy' } }, TypeError, 'ERR_INVALID_ARG_VALUE'],
      [{ resize: { width: 10, kernel: 'box' } }, TypeError, 'ERR_INVALID_ARG_VALUE'],
      [{ resize: { width: 10, withoutEnlargement: 1 } }, TypeError, 'ERR_INVALID_ARG_TYPE'],
      [{ resize: { width: 10, withoutEnlargement: true, withoutReduction: true } }, TypeError, 'ERR_INVALID_ARG_VALUE'],
      [{ background: 'red' }, TypeError, 'ERR_INVALID_ARG_VALUE'],
      [{ background: 0xffffff }, TypeError, 'ERR_INVALID_ARG_TYPE'],
      [{ format: 'avif' }, TypeError, 'ERR_INVALID_ARG_VALUE'],
      [{ quality: 0 }, RangeError, 'ERR_OUT_OF_RANGE'],
      [{ quality: 101 }, RangeError, 'ERR_OUT_OF_RANGE'],
      [{ quality: '80' }, TypeError, 'ERR_INVALID_ARG_TYPE'],
      [{ lossless: 'yes' }, TypeError, 'ERR_INVALID_ARG_TYPE'],
      [{ compressionLevel: 10 }, RangeError, 'ERR_OUT_OF_RANGE'],
    ]
    for (const [o, Ctor, code] of bad) {
      const e = await rejectsWith(pool.run('image.transform', { data, ...o }), Ctor, code)
      assert.match(e.message, /input\./, JSON.stringify(o))
    }
    const e = await rejectsWith(pool.run('image.transform', { data, resize: { width: -5 } }), RangeError, 'ERR_OUT_OF_RANGE')
    assert.match(e.message, /"input\.resize\.width"/)
    await rejectsWith(pool.run('image.transform', { data: 42 }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('image.transform', 42), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(pool.run('image.metadata', null), TypeError, 'ERR_INVALID_ARG_TYPE')
    await stillServes()
  })

  it('an abort stops a large JPEG in the middle of its decode and frees the thread', async () => {
    // Noise decodes slowly: a few hundred ms for 36 MP. The yardstick decodes 40% of it.
    const noise = (side) => sharp({ create: { width: side, height: side, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } } })
      .jpeg({ quality: 90 }).toBuffer()
    const [big, small] = await Promise.all([noise(6000), noise(3800)])
    await withPool({ threads: 1 }, async (p) => {
      const ac = new AbortController()
      const task = p.run('image.transform', { data: big, resize: { width: 64, height: 64 } }, { signal: ac.signal })
      await waitFor(() => p.running === 1, 'the transform running')
      ac.abort()
      const ruler = yardstick('image.transform', { data: small, resize: { width: 64, height: 64 } })
      await rejectsWith(task, Error, 'ABORT_ERR')
      await ruler.before(p.run('echo', 1), 'the pool thread was free')
    })
  })

  it('aborts with the caller\'s AbortError and keeps serving', async () => {
    const ac = new AbortController()
    const p = pool.run('image.transform', { data: TOWER, resize: { width: 2000 }, format: 'png' }, { signal: ac.signal })
    ac.abort()
    await rejectsWith(p, Error, 'ABORT_ERR')
    await stillServes()
  })
})
