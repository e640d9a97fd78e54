//! The resampling a [`Plan`] asks for, step by step as sharp's libvips does it, so that the
//! pixels (not only the sizes) come out as sharp's:
//!
//! 1. what sharp's loader would have produced: a JPEG it reloads at 1/n scale becomes the
//!    mean of each n × n block (about what libjpeg's scaled IDCT keeps; libvips drops the
//!    partial blocks), a WebP it reloads smaller is area-averaged to that size (libwebp's
//!    scaler);
//! 2. `vips_reduce`'s integer pre-shrink (its gap of 2): an axis reduced 4× or more is first
//!    box-shrunk (subsampled for the nearest kernel), edge pixels repeated to fill the last
//!    block;
//! 3. the kernel on the rest, or, on an axis that grows, libvips' interpolator (bicubic,
//!    bilinear or nearest) with its sampling: output x reads input x / scale, edges repeated.
//!
//! Steps 1–2 also make the work smaller. Only the part of the result that is kept (`cover`)
//! is computed, in horizontal strips with the token polled between them.

use super::decode::{Image, Model};
use super::decode_error;
use super::options::Filter;
use super::orient;
use super::resize::{algorithm, pre_shrink, Load, Plan};
use crate::executor::CancelToken;
use crate::kernels::RunError;
use fast_image_resize as fir;

/// Source pixels resampled between two cancellation checks (a few ms of lanczos3).
const PIXELS_PER_STRIP: usize = 4 << 20;
/// Rows box-shrunk between two cancellation checks.
const ROWS_PER_POLL: usize = 64;
/// Repeated edge pixels around an axis that grows (the bicubic interpolator's reach).
const PAD: u32 = 2;

fn resize_error(e: impl std::fmt::Display) -> RunError {
    // fast_image_resize refuses only sizes the plan never makes: report, don't panic.
    decode_error("resized", e).into()
}

/// Resamples `img` (decoded at full size) to the plan's resized size, computing only
/// `plan.keep`.
pub fn apply(img: Image, plan: &Plan, token: &CancelToken<'_>) -> Result<Image, RunError> {
    apply_in_strips(img, plan, token, PIXELS_PER_STRIP)
}

pub(super) fn apply_in_strips(
    img: Image,
    plan: &Plan,
    token: &CancelToken<'_>,
    pps: usize,
) -> Result<Image, RunError> {
    let (lw, lh) = (plan.load_width, plan.load_height);
    let img = match plan.load {
        Load::Full => img,
        // Whole blocks only, so fast_image_resize's box filter gives each block's mean.
        Load::JpegShrink(n) => {
            let block_mean = Pass::reduce(fir::ResizeAlg::Convolution(fir::FilterType::Box));
            let extent = (f64::from(lw * n), f64::from(lh * n));
            let all = orient::Rect::full(lw, lh);
            block_mean.run(img, extent, (lw, lh), all, token, pps)?
        }
        Load::WebpScale => area_resize(&img, lw, lh, token)?,
    };
    from_load_in_strips(img, plan, token, pps)
}

/// Resamples `img`, already at the plan's load size (a JPEG decoded shrunk), to its resized
/// size.
pub fn from_load(img: Image, plan: &Plan, token: &CancelToken<'_>) -> Result<Image, RunError> {
    from_load_in_strips(img, plan, token, PIXELS_PER_STRIP)
}

fn from_load_in_strips(
    img: Image,
    plan: &Plan,
    token: &CancelToken<'_>,
    pps: usize,
) -> Result<Image, RunError> {
    let (lw, lh) = (plan.load_width, plan.load_height);
    debug_assert_eq!((img.width, img.height), (lw, lh));
    let (rw, rh) = (plan.resize_width, plan.resize_height);
    if (rw, rh) == (lw, lh) {
        return Ok(orient::crop(img, plan.keep));
    }
    let (kx, ky) = (pre_shrink(lw, rw), pre_shrink(lh, rh));
    let (img, mut extent) = if kx == 1 && ky == 1 {
        (img, (f64::from(lw), f64::from(lh)))
    } else if plan.kernel == Filter::Nearest {
        // Subsampled: whole blocks only.
        let img = subsample(&img, kx, ky);
        let extent = (f64::from(img.width), f64::from(img.height));
        (img, extent)
    } else {
        let img = box_shrink(&img, lw, lh, kx, ky, token)?;
        (
            img,
            (f64::from(lw) / f64::from(kx), f64::from(lh) / f64::from(ky)),
        )
    };
    let kernel = Pass::reduce(algorithm(plan.kernel, false));
    let (grow_x, grow_y) = (rw > lw, rh > lh);
    if !grow_x && !grow_y {
        return kernel.run(img, extent, (rw, rh), plan.keep, token, pps);
    }
    // An axis grows: libvips reduces the other axis first (if it shrinks), then interpolates
    // both axes with its affine (the other one at scale 1).
    let mut img = img;
    if !grow_x && rw < lw {
        let h = img.height;
        let all = orient::Rect::full(rw, h);
        img = kernel.run(img, (extent.0, f64::from(h)), (rw, h), all, token, pps)?;
        extent.0 = f64::from(rw);
    }
    if !grow_y && rh < lh {
        let w = img.width;
        let all = orient::Rect::full(w, rh);
        img = kernel.run(img, (f64::from(w), extent.1), (w, rh), all, token, pps)?;
        extent.1 = f64::from(rh);
    }
    token.check()?;
    let affine = Pass {
        alg: algorithm(plan.kernel, true),
        affine: true,
    };
    affine.run(img, extent, (rw, rh), plan.keep, token, pps)
}

/// One fast_image_resize step.
struct Pass {
    alg: fir::ResizeAlg,
    /// libvips' affine (its interpolation when enlarging): edges repeated, and output x
    /// reading input x / scale, half an output pixel from fast_image_resize's centred
    /// sampling, on both axes (an axis at scale 1 too).
    affine: bool,
}

impl Pass {
    fn reduce(alg: fir::ResizeAlg) -> Pass {
        Pass { alg, affine: false }
    }

    /// The part `keep` of the `size` image that the first `extent` pixels of `img` map onto.
    fn run(
        &self,
        img: Image,
        extent: (f64, f64),
        size: (u32, u32),
        keep: orient::Rect,
        token: &CancelToken<'_>,
        pps: usize,
    ) -> Result<Image, RunError> {
        let sx = extent.0 / f64::from(size.0);
        let sy = extent.1 / f64::from(size.1);
        let (pad, shift) = if self.affine { (PAD, 0.5) } else { (0, 0.0) };
        let img = pad_edges(img, pad, pad);
        let x0 = f64::from(pad) + (f64::from(keep.left) - shift) * sx;
        let y0 = f64::from(pad) + (f64::from(keep.top) - shift) * sy;
        let src = Src {
            img: &img,
            alg: self.alg,
        };
        src.rows(
            x0,
            f64::from(keep.width) * sx,
            y0,
            sy,
            keep.width,
            keep.height,
            token,
            pps,
        )
    }
}

struct Src<'a> {
    img: &'a Image,
    alg: fir::ResizeAlg,
}

/// Where one call's output rows read the source: rows `y0 + y × sy` on, each the span
/// `[x0, x0 + box_w)`.
#[derive(Clone, Copy)]
struct Span {
    x0: f64,
    box_w: f64,
    y0: f64,
    sy: f64,
}

impl Src<'_> {
    /// `height` output rows of `width` pixels read from `span`, in strips.
    #[allow(clippy::too_many_arguments)]
    fn rows(
        &self,
        x0: f64,
        box_w: f64,
        y0: f64,
        sy: f64,
        width: u32,
        height: u32,
        token: &CancelToken<'_>,
        pixels_per_strip: usize,
    ) -> Result<Image, RunError> {
        use fir::pixels::{U8x2, U8x3, U8x4, U8};
        let span = Span { x0, box_w, y0, sy };
        let size = (width, height);
        // Typed calls: only these four pixel types of fast_image_resize are compiled in (its
        // untyped `resize` dispatches over all of them, megabytes of code).
        let data = match self.img.model.channels() {
            1 => self.typed::<U8>(span, size, token, pixels_per_strip)?,
            2 => self.typed::<U8x2>(span, size, token, pixels_per_strip)?,
            3 => self.typed::<U8x3>(span, size, token, pixels_per_strip)?,
            _ => self.typed::<U8x4>(span, size, token, pixels_per_strip)?,
        };
        Ok(Image {
            width,
            height,
            model: self.img.model,
            data,
        })
    }

    fn typed<P: fir::PixelTrait>(
        &self,
        span: Span,
        (width, height): (u32, u32),
        token: &CancelToken<'_>,
        pixels_per_strip: usize,
    ) -> Result<Vec<u8>, RunError> {
        let img = self.img;
        let src = fir::images::TypedImageRef::<P>::from_buffer(img.width, img.height, &img.data)
            .map_err(resize_error)?;
        let (iw, ih) = (f64::from(img.width), f64::from(img.height));
        // Premultiplied alpha while resampling (fast_image_resize's default), as sharp does.
        let options = fir::ResizeOptions::new().resize_alg(self.alg);
        let stride = width as usize * img.model.channels();
        let mut out = vec![0u8; stride * height as usize];
        let src_rows = (f64::from(height) * span.sy).ceil() as usize;
        let strips = (src_rows.max(1) * img.width as usize)
            .div_ceil(pixels_per_strip.max(1))
            .clamp(1, height.max(1) as usize);
        let rows_per_strip = (height as usize).div_ceil(strips).max(1);
        let mut resizer = fir::Resizer::new();
        for (i, rows) in out.chunks_mut(stride * rows_per_strip).enumerate() {
            token.check()?;
            let n = (rows.len() / stride) as u32;
            let mut dst =
                fir::images::TypedImage::<P>::from_buffer(width, n, rows).map_err(resize_error)?;
            // The source box of these rows. fast_image_resize centres output pixel i at
            // in0 + (i + 0.5) × scale and takes filter taps from the whole source, not only
            // the box, so strips (and the cover crop) give the pixels of one full resize (up
            // to the rounding of the weights).
            let left = span.x0.clamp(0.0, iw);
            let top = (span.y0 + (i * rows_per_strip) as f64 * span.sy).clamp(0.0, ih);
            let strip = options.crop(
                left,
                top,
                span.box_w.min(iw - left),
                (f64::from(n) * span.sy).min(ih - top),
            );
            resizer
                .resize_typed(&src, &mut dst, &strip)
                .map_err(resize_error)?;
        }
        Ok(out)
    }
}

/// `img` with `px` columns and `py` rows of its edge pixels repeated on each side.
fn pad_edges(img: Image, px: u32, py: u32) -> Image {
    if px == 0 && py == 0 {
        return img;
    }
    let c = img.model.channels();
    let (w, h) = (img.width as usize, img.height as usize);
    let (pw, ph) = (w + 2 * px as usize, h + 2 * py as usize);
    let mut data = Vec::with_capacity(pw * ph * c);
    for y in 0..ph {
        let sy = y.saturating_sub(py as usize).min(h - 1);
        let row = &img.data[sy * w * c..(sy + 1) * w * c];
        for _ in 0..px {
            data.extend_from_slice(&row[..c]);
        }
        data.extend_from_slice(row);
        for _ in 0..px {
            data.extend_from_slice(&row[(w - 1) * c..]);
        }
    }
    Image {
        width: pw as u32,
        height: ph as u32,
        model: img.model,
        data,
    }
}

/// For each output pixel of an axis of `src` pixels shrunk to `dst`: the first source pixel
/// and the weights of those it covers (the share of each in the output pixel's span).
fn area_weights(src: u32, dst: u32) -> Vec<(usize, Vec<f32>)> {
    let s = f64::from(src) / f64::from(dst);
    (0..dst)
        .map(|i| {
            let (a, b) = (f64::from(i) * s, (f64::from(i) + 1.0) * s);
            let first = a.floor() as usize;
            let last = (b.ceil() as usize).min(src as usize);
            let w = (first..last)
                .map(|j| ((b.min(j as f64 + 1.0) - a.max(j as f64)) / s) as f32)
                .collect();
            (first, w)
        })
        .collect()
}

/// `img` area-averaged to `w × h` (as libwebp's scaler reduces: every channel, alpha too,
/// straight, each output pixel the mean of the source area it covers).
fn area_resize(img: &Image, w: u32, h: u32, token: &CancelToken<'_>) -> Result<Image, RunError> {
    let c = img.model.channels();
    let (xs, ys) = (area_weights(img.width, w), area_weights(img.height, h));
    let stride = img.stride();
    let mut across = vec![0f32; img.height as usize * w as usize * c];
    for (y, row) in across.chunks_exact_mut(w as usize * c).enumerate() {
        if y.is_multiple_of(ROWS_PER_POLL * 4) {
            token.check()?;
        }
        let src = &img.data[y * stride..(y + 1) * stride];
        for (px, (first, weights)) in row.chunks_exact_mut(c).zip(&xs) {
            for (j, &wt) in weights.iter().enumerate() {
                let s = &src[(first + j) * c..(first + j + 1) * c];
                for (p, &v) in px.iter_mut().zip(s) {
                    *p += wt * f32::from(v);
                }
            }
        }
    }
    token.check()?;
    let row_len = w as usize * c;
    let mut data = vec![0u8; h as usize * row_len];
    let mut sum = vec![0f32; row_len];
    for (out, (first, weights)) in data.chunks_exact_mut(row_len).zip(&ys) {
        sum.fill(0.0);
        for (j, &wt) in weights.iter().enumerate() {
            let src = &across[(first + j) * row_len..(first + j + 1) * row_len];
            for (s, &v) in sum.iter_mut().zip(src) {
                *s += wt * v;
            }
        }
        for (o, &s) in out.iter_mut().zip(&sum) {
            *o = s.round().clamp(0.0, 255.0) as u8;
        }
    }
    Ok(Image {
        width: w,
        height: h,
        model: img.model,
        data,
    })
}

/// The top-left pixel of every whole `kx × ky` block (libvips' subsample).
fn subsample(img: &Image, kx: u32, ky: u32) -> Image {
    let c = img.model.channels();
    let (w, h) = ((img.width / kx).max(1), (img.height / ky).max(1));
    let stride = img.stride();
    let mut data = Vec::with_capacity(w as usize * h as usize * c);
    for y in 0..h as usize {
        let row = &img.data[y * ky as usize * stride..];
        for x in 0..w as usize {
            let s = x * kx as usize * c;
            data.extend_from_slice(&row[s..s + c]);
        }
    }
    Image {
        width: w,
        height: h,
        model: img.model,
        data,
    }
}

/// Division by a block's pixel count, rounded to nearest: a shift for powers of two, else a
/// multiply by a 32-bit reciprocal (exact for sums up to 255 × n while n < 4096), else a
/// division.
#[derive(Clone, Copy)]
struct Divisor {
    n: u32,
    shift: Option<u32>,
    recip: Option<u64>,
}

impl Divisor {
    fn new(n: u32) -> Self {
        Divisor {
            n,
            shift: n.is_power_of_two().then(|| n.trailing_zeros()),
            recip: (n < 4096).then(|| (1u64 << 32).div_ceil(u64::from(n))),
        }
    }

    #[inline]
    fn mean(self, sum: u32) -> u8 {
        let x = sum + self.n / 2;
        let v = match (self.shift, self.recip) {
            (Some(s), _) => x >> s,
            (None, Some(r)) => ((u64::from(x) * r) >> 32) as u32,
            _ => x / self.n,
        };
        v.min(255) as u8
    }
}

/// The mean of each `kx × ky` block of the top-left `w × h` of `img`, the last partial blocks
/// filled by repeating the edge (libvips' shrink with `ceil`). With alpha the colours are
/// averaged premultiplied, as sharp resamples.
fn box_shrink(
    img: &Image,
    w: u32,
    h: u32,
    kx: u32,
    ky: u32,
    token: &CancelToken<'_>,
) -> Result<Image, RunError> {
    let c = img.model.channels();
    let alpha = matches!(img.model, Model::LumaA | Model::Rgba);
    let (w, h) = (w.min(img.width) as usize, h.min(img.height) as usize);
    let (kx, ky) = (kx as usize, ky as usize);
    let (ow, oh) = (w.div_ceil(kx), h.div_ceil(ky));
    let stride = img.stride();
    let n = (kx * ky) as u64;
    let mut out = vec![0u8; ow * oh * c];
    // Column sums of one block row: colours premultiplied (× alpha) when there is alpha.
    let mut acc = vec![0u32; w * c];
    for (oy, out_row) in out.chunks_exact_mut(ow * c).enumerate() {
        if oy.is_multiple_of(ROWS_PER_POLL) {
            token.check()?;
        }
        acc.fill(0);
        for j in 0..ky {
            let y = (oy * ky + j).min(h - 1);
            let row = &img.data[y * stride..y * stride + w * c];
            if alpha {
                for (a, px) in acc.chunks_exact_mut(c).zip(row.chunks_exact(c)) {
                    let al = u32::from(px[c - 1]);
                    for i in 0..c - 1 {
                        a[i] += u32::from(px[i]) * al;
                    }
                    a[c - 1] += al;
                }
            } else {
                for (a, &p) in acc.iter_mut().zip(row) {
                    *a += u32::from(p);
                }
            }
        }
        if alpha {
            for (ox, px) in out_row.chunks_exact_mut(c).enumerate() {
                let mut sum = [0u64; 4];
                for i in 0..kx {
                    let x = (ox * kx + i).min(w - 1);
                    for (s, &a) in sum.iter_mut().zip(&acc[x * c..x * c + c]) {
                        *s += u64::from(a);
                    }
                }
                let al = sum[c - 1];
                for i in 0..c - 1 {
                    px[i] = (sum[i] + al / 2)
                        .checked_div(al)
                        .map_or(0, |v| v.min(255) as u8);
                }
                px[c - 1] = ((al + n / 2) / n) as u8;
            }
        } else {
            // The hot path (a JPEG shrunk on load): whole blocks without clamping, and the mean
            // without a division per value.
            let div = Divisor::new(n as u32);
            let whole = w / kx;
            let (head, tail) = out_row.split_at_mut(whole * c);
            for (block, px) in acc.chunks_exact(kx * c).zip(head.chunks_exact_mut(c)) {
                for (ch, p) in px.iter_mut().enumerate() {
                    let s: u32 = block[ch..].iter().step_by(c).sum();
                    *p = div.mean(s);
                }
            }
            if !tail.is_empty() {
                // The last partial block: the edge repeated.
                for (ch, p) in tail.iter_mut().enumerate() {
                    let s: u32 = (0..kx)
                        .map(|i| acc[(whole * kx + i).min(w - 1) * c + ch])
                        .sum();
                    *p = div.mean(s);
                }
            }
        }
    }
    Ok(Image {
        width: ow as u32,
        height: oh as u32,
        model: img.model,
        data: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_shrink_averages_blocks_and_repeats_edges() {
        let img = Image {
            width: 3,
            height: 1,
            model: Model::Luma,
            data: vec![10, 20, 61],
        };
        let out = box_shrink(&img, 3, 1, 2, 1, &CancelToken::never()).unwrap();
        // [10, 20] → 15; [61, 61 repeated] → 61.
        assert_eq!((out.width, out.data), (2, vec![15, 61]));
        let img = Image {
            width: 2,
            height: 1,
            model: Model::LumaA,
            data: vec![200, 255, 0, 0],
        };
        // Premultiplied: the transparent pixel's colour does not count.
        let out = box_shrink(&img, 2, 1, 2, 1, &CancelToken::never()).unwrap();
        assert_eq!(out.data, vec![200, 128]);
    }

    #[test]
    fn area_resize_averages_covered_areas() {
        let img = Image {
            width: 3,
            height: 1,
            model: Model::Luma,
            data: vec![0, 90, 180],
        };
        // 3 → 2: each output covers 1.5 pixels: (0 + 0.5 × 90) / 1.5 and (0.5 × 90 + 180) / 1.5.
        let out = area_resize(&img, 2, 1, &CancelToken::never()).unwrap();
        assert_eq!(out.data, vec![30, 150]);
    }

    #[test]
    fn divisor_rounds_as_division() {
        for n in [
            1, 2, 3, 4, 5, 6, 7, 9, 12, 16, 25, 49, 63, 64, 100, 255, 4095, 4096, 5000,
        ] {
            let d = Divisor::new(n);
            for s in (0..=255 * n)
                .step_by((n as usize / 7).max(1))
                .chain([255 * n])
            {
                assert_eq!(
                    u32::from(d.mean(s)),
                    ((s + n / 2) / n).min(255),
                    "{s} / {n}"
                );
            }
        }
    }

    #[test]
    fn subsample_and_pad() {
        let img = Image {
            width: 5,
            height: 1,
            model: Model::Luma,
            data: vec![1, 2, 3, 4, 5],
        };
        assert_eq!(subsample(&img, 2, 1).data, vec![1, 3]);
        let padded = pad_edges(img, 2, 1);
        assert_eq!((padded.width, padded.height), (9, 3));
        assert_eq!(&padded.data[..9], &[1, 1, 1, 2, 3, 4, 5, 5, 5]);
    }
}
#[cfg(test)]
mod upscale {
    use super::super::options::Resize;
    use super::super::{resize, Format, Header, OutputFormat, TransformOptions};
    use super::*;

    /// A 50 × 1 image covered to 100 × 100: the first output pixel sits on a source pixel
    /// centre, which made fast_image_resize subtract past zero with Catmull-Rom (see
    /// `resize::inside`): a panic in debug, an out-of-bounds read in release.
    #[test]
    fn a_cover_crop_on_a_pixel_centre() {
        for (w, h, tw, th) in [(50, 1, 100, 100), (1, 50, 100, 100), (7, 5, 21, 30)] {
            let opts = TransformOptions {
                format: Some(OutputFormat::Png),
                resize: Some(Resize {
                    width: tw,
                    height: th,
                    ..Resize::default()
                }),
                ..TransformOptions::default()
            };
            let h = Header {
                format: Format::Png,
                width: w,
                height: h,
                channels: 3,
                has_alpha: false,
                orientation: None,
                size: 0,
            };
            let plan = resize::plan(&h, &opts);
            let img = Image {
                width: w,
                height: h.height,
                model: Model::Rgb,
                data: vec![128; (w * h.height * 3) as usize],
            };
            let out = apply(img, &plan, &CancelToken::never()).unwrap();
            assert_eq!((out.width, out.height), (tw, th));
            assert!(out.data.iter().all(|&v| v == 128));
        }
    }
}
