//! JPEG shrink-on-load: a JPEG that sharp would reload at 1/n scale is decoded straight to
//! that size. zune-jpeg hands over its raw planes (after the IDCT, before chroma upsampling
//! and colour conversion) one iMCU row at a time; each n × n block of luma becomes its mean,
//! the chroma planes are averaged over the same area at their own resolution (for 4:2:0 at
//! 1/2 that is no work at all, and libjpeg's scaled decode also gives chroma at its own
//! resolution there), and only the small result is converted to RGB, or not at all for JPEG
//! output: the resize, orientation and embed work on YCbCr as on RGB (all linear, or a
//! background converted once), and the encoder takes YCbCr as it is. Against a full decode
//! this skips the upsampling and colour conversion of every source pixel and never holds the
//! full-size image: 2725 × 2225 at 1/2 takes 7.8 ms here against 11 ms for the full RGB decode
//! alone, which the mean then had to read back (18 MB).
//!
//! Only the common layouts take this path: grey, or YCbCr whose luma has the largest sampling
//! factors and whose chroma factors divide n. Others (CMYK, RGB-coded, odd sampling) are
//! decoded in full and shrunk by `resample`.

use super::decode::{Image, Model};
use super::{decode_error, Header};
use crate::executor::CancelToken;
use crate::kernels::RunError;
use zune_jpeg::errors::DecodeErrors;
use zune_jpeg::zune_core::{bytestream::ZCursor, colorspace::ColorSpace, options};
use zune_jpeg::{JpegDecoder, RawImcuRowStatus};

/// How one plane's samples map onto output pixels: each output pixel is the mean of a
/// `bw × bh` block of the plane.
#[derive(Clone, Copy)]
struct Block {
    bw: usize,
    bh: usize,
}

/// `data` (whose header is `h`) decoded at `width × height` = the whole n × n blocks of the
/// image at 1/n, or `None` when its layout does not take this path. A colour image comes as
/// RGB, or as YCbCr when `ycbcr` (for the JPEG encoder, which then converts nothing).
pub fn decode(
    data: &[u8],
    h: &Header,
    n: u32,
    (width, height): (u32, u32),
    ycbcr: bool,
    token: &CancelToken<'_>,
) -> Result<Option<Image>, RunError> {
    let err = |e: DecodeErrors| match e {
        DecodeErrors::Cancelled => RunError::Cancelled,
        e => decode_error("jpeg", e).into(),
    };
    let n = n as usize;
    let (w, ht) = (width as usize, height as usize);
    if w * n > h.width as usize || ht * n > h.height as usize {
        return Ok(None); // a side shorter than n: its one pixel is a partial block
    }
    let opts = options::DecoderOptions::default()
        .set_max_width(h.width as usize)
        .set_max_height(h.height as usize)
        .set_strict_mode(true);
    let mut dec = JpegDecoder::new_with_options(ZCursor::new(data), opts);
    let stop = token.detach();
    dec.set_cancel(move || stop.is_cancelled());
    dec.decode_headers().map_err(err)?;
    let model = match dec.input_colorspace() {
        Some(ColorSpace::Luma) => Model::Luma,
        Some(ColorSpace::YCbCr) if ycbcr => Model::Ycbcr,
        Some(ColorSpace::YCbCr) => Model::Rgb,
        _ => return Ok(None),
    };
    let info = dec
        .info()
        .ok_or_else(|| decode_error("jpeg", "no frame header"))?;
    if (u32::from(info.width), u32::from(info.height)) != (h.width, h.height) {
        return Err(decode_error(
            "jpeg",
            format!(
                "the frame is {}x{}, the header says {}x{}",
                info.width, info.height, h.width, h.height
            ),
        )
        .into());
    }
    let mut raw = dec.raw_output();
    let count = raw.num_components().unwrap_or(0);
    let Some(layout) = raw.layout() else {
        return Ok(None);
    };
    if count != model.channels() {
        return Ok(None);
    }
    let layout = &layout[..count];
    let (hmax, vmax) = (
        layout[0].horizontal_sampling_factor,
        layout[0].vertical_sampling_factor,
    );
    let mut blocks = Vec::with_capacity(count);
    for p in layout {
        let (hs, vs) = (p.horizontal_sampling_factor, p.vertical_sampling_factor);
        // Luma must be the full-resolution plane, and each chroma block a whole number of
        // its samples.
        if hs == 0 || vs == 0 || hs > hmax || vs > vmax || hmax % hs != 0 || vmax % vs != 0 {
            return Ok(None);
        }
        let (sx, sy) = (hmax / hs, vmax / vs);
        if !n.is_multiple_of(sx) || !n.is_multiple_of(sy) {
            return Ok(None);
        }
        blocks.push(Block {
            bw: n / sx,
            bh: n / sy,
        });
    }
    // One iMCU row of each plane; its height (8 × v) is a multiple of the block height, as
    // n ≤ 8 divides 8, so no block spans two iMCU rows.
    let strides: Vec<usize> = layout.iter().map(|p| p.width).collect();
    let mut rows: Vec<Vec<u8>> = layout
        .iter()
        .map(|p| vec![0; p.width * p.vertical_sampling_factor * 8])
        .collect();
    // The planes' means for one output row, then the row itself.
    let mut means: Vec<Vec<u8>> = vec![vec![0; w]; count];
    let mut cols = Vec::new();
    let mut out = vec![0u8; w * ht * model.channels()];
    let mut y = 0;
    while y < ht {
        token.check()?;
        let mut planes: Vec<&mut [u8]> = rows.iter_mut().map(Vec::as_mut_slice).collect();
        let written = match raw
            .decode_next_imcu_row(&mut planes, &strides)
            .map_err(err)?
        {
            RawImcuRowStatus::RowReady { rows_written } => rows_written,
            RawImcuRowStatus::NeedMoreInput | RawImcuRowStatus::Complete => {
                return Err(decode_error("jpeg", "the image data ended early").into())
            }
            _ => return Err(decode_error("jpeg", "unexpected raw row status").into()),
        };
        // Whole blocks only: a last partial block row is dropped, as libvips does.
        let here = (written[0] / n).min(ht - y);
        for r in 0..here {
            for (i, b) in blocks.iter().enumerate() {
                let top = r * b.bh;
                if top + b.bh > written[i] {
                    return Err(decode_error("jpeg", "a chroma plane ended early").into());
                }
                block_means(
                    &rows[i][top * strides[i]..],
                    strides[i],
                    *b,
                    &mut cols,
                    &mut means[i],
                );
            }
            let dst = &mut out[(y + r) * w * model.channels()..][..w * model.channels()];
            match model {
                Model::Luma => dst.copy_from_slice(&means[0]),
                Model::Ycbcr => interleave(&means[0], &means[1], &means[2], dst),
                _ => ycbcr_to_rgb(&means[0], &means[1], &means[2], dst),
            }
        }
        y += here;
        if here == 0 {
            return Err(decode_error("jpeg", "the image data ended early").into());
        }
    }
    Ok(Some(Image {
        width,
        height,
        model,
        data: out,
    }))
}

/// The mean of each `b.bw × b.bh` block along the top of `plane` (rows `stride` apart),
/// rounded, into `out` (one per block). `cols` is scratch space.
fn block_means(plane: &[u8], stride: usize, b: Block, cols: &mut Vec<u16>, out: &mut [u8]) {
    let w = out.len();
    match (b.bw, b.bh) {
        (1, 1) => out.copy_from_slice(&plane[..w]),
        (2, 2) => mean_2x2(&plane[..2 * w], &plane[stride..stride + 2 * w], out),
        (bw, bh) => {
            // Column sums first (at most 8 × 255), then each block's columns.
            cols.clear();
            cols.resize(bw * w, 0);
            for row in 0..bh {
                let line = &plane[row * stride..row * stride + bw * w];
                for (c, &v) in cols.iter_mut().zip(line) {
                    *c += u16::from(v);
                }
            }
            // Both sides are powers of two (1–8): the mean is a shift.
            let shift = (bw * bh).trailing_zeros();
            match bw {
                1 => row_means::<1>(cols, shift, out),
                2 => row_means::<2>(cols, shift, out),
                4 => row_means::<4>(cols, shift, out),
                _ => row_means::<8>(cols, shift, out),
            }
        }
    }
}

/// Each `BW` consecutive column sums as one rounded mean of `1 << shift` samples; `BW` is a
/// constant so that the inner sum unrolls.
fn row_means<const BW: usize>(cols: &[u16], shift: u32, out: &mut [u8]) {
    let half = (1u16 << shift) >> 1;
    for (o, block) in out.iter_mut().zip(cols.chunks_exact(BW)) {
        let block: &[u16; BW] = block.try_into().unwrap();
        *o = ((block.iter().sum::<u16>() + half) >> shift) as u8;
    }
}

/// 2 × 2 means of two rows (4:2:0 luma at 1/2, the common case), 16 at a time through
/// fixed-size arrays so that the compiler vectorises it (6× the plain loop here).
fn mean_2x2(r0: &[u8], r1: &[u8], out: &mut [u8]) {
    let whole = out.len() / 16 * 16;
    let (head, tail) = out.split_at_mut(whole);
    for ((o, a), b) in head
        .chunks_exact_mut(16)
        .zip(r0.chunks_exact(32))
        .zip(r1.chunks_exact(32))
    {
        let (a, b): (&[u8; 32], &[u8; 32]) = (a.try_into().unwrap(), b.try_into().unwrap());
        let mut v = [0u16; 32];
        for j in 0..32 {
            v[j] = u16::from(a[j]) + u16::from(b[j]);
        }
        for j in 0..16 {
            o[j] = ((v[2 * j] + v[2 * j + 1] + 2) >> 2) as u8;
        }
    }
    for (i, o) in tail.iter_mut().enumerate() {
        let j = 2 * (whole + i);
        let s = u16::from(r0[j]) + u16::from(r0[j + 1]) + u16::from(r1[j]) + u16::from(r1[j + 1]);
        *o = ((s + 2) >> 2) as u8;
    }
}

fn interleave(y: &[u8], cb: &[u8], cr: &[u8], out: &mut [u8]) {
    for (((px, &l), &b), &r) in out.chunks_exact_mut(3).zip(y).zip(cb).zip(cr) {
        px.copy_from_slice(&[l, b, r]);
    }
}

/// JFIF's YCbCr → RGB (ITU-R BT.601, full range), in 16-bit fixed point as libjpeg does it.
fn ycbcr_to_rgb(y: &[u8], cb: &[u8], cr: &[u8], rgb: &mut [u8]) {
    const ONE: i32 = 1 << 16;
    const HALF: i32 = ONE / 2;
    const CR_R: i32 = (1.402 * ONE as f64 + 0.5) as i32;
    const CB_G: i32 = (0.344_136 * ONE as f64 + 0.5) as i32;
    const CR_G: i32 = (0.714_136 * ONE as f64 + 0.5) as i32;
    const CB_B: i32 = (1.772 * ONE as f64 + 0.5) as i32;
    let clamp = |v: i32| v.clamp(0, 255) as u8;
    for (((px, &l), &b), &r) in rgb.chunks_exact_mut(3).zip(y).zip(cb).zip(cr) {
        let (l, b, r) = (i32::from(l), i32::from(b) - 128, i32::from(r) - 128);
        px[0] = clamp(l + ((CR_R * r + HALF) >> 16));
        px[1] = clamp(l - ((CB_G * b + CR_G * r - HALF) >> 16));
        px[2] = clamp(l + ((CB_B * b + HALF) >> 16));
    }
}
