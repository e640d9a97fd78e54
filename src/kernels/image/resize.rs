//! sharp's resize geometry ([`plan`]: fit, withoutEnlargement/withoutReduction, its
//! shrink-on-load sizes, libvips' rounding, crop and embed positions) and the kernels it
//! resamples with. The resampling itself is in `resample.rs`.

use super::options::{Filter, Fit, Position, Rotate};
use super::orient::{self, Rect};
use super::{Format, Header, OutputFormat, TransformOptions};
use fast_image_resize as fir;

/// How sharp's loader would have brought the image to the size its resize starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Load {
    /// Decoded at full size.
    Full,
    /// A JPEG reloaded at 1/n scale by libjpeg, its last partial blocks dropped (libvips
    /// rounds the size down).
    JpegShrink(u32),
    /// A WebP reloaded by libwebp's scaler at the load size (rounded to the nearest pixel).
    WebpScale,
}

/// Where the pixels go, decided from the header alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub format: OutputFormat,
    /// EXIF-style orientation (1–8) applied after resizing.
    pub orientation: u8,
    pub load: Load,
    /// The size the loader would have given, where sharp's resize starts.
    pub load_width: u32,
    pub load_height: u32,
    /// Size of the resized image in the stored orientation.
    pub resize_width: u32,
    pub resize_height: u32,
    pub kernel: Filter,
    /// The part of the resized (stored-orientation) image that is kept: all of it, or the
    /// `cover` crop mapped back through the orientation. Only this part is computed.
    pub keep: Rect,
    /// `contain`: where the oriented image sits, and the canvas size.
    pub embed: Option<(Rect, u32, u32)>,
    pub out_width: u32,
    pub out_height: u32,
}

/// sharp's `ResolveShrink`.
fn resolve_shrink(w: u32, h: u32, tw: u32, th: u32, fit: Fit, down: bool, up: bool) -> (f64, f64) {
    let (w, h) = (f64::from(w), f64::from(h));
    let (mut hs, mut vs) = (1.0f64, 1.0f64);
    if tw > 0 && th > 0 {
        hs = w / f64::from(tw);
        vs = h / f64::from(th);
        match fit {
            // CROP and MIN: the smaller shrink wins.
            Fit::Cover | Fit::Outside => {
                let s = hs.min(vs);
                (hs, vs) = (s, s);
            }
            // EMBED and MAX: the larger shrink wins.
            Fit::Contain | Fit::Inside => {
                let s = hs.max(vs);
                (hs, vs) = (s, s);
            }
            Fit::Fill => {}
        }
    } else if tw > 0 {
        hs = w / f64::from(tw);
        if fit != Fit::Fill {
            vs = hs;
        }
    } else if th > 0 {
        vs = h / f64::from(th);
        if fit != Fit::Fill {
            hs = vs;
        }
    }
    // `up`: withoutReduction (never shrink); `down`: withoutEnlargement (never grow).
    if up {
        hs = hs.min(1.0);
        vs = vs.min(1.0);
    } else if down {
        hs = hs.max(1.0);
        vs = vs.max(1.0);
    }
    (hs.min(w), vs.min(h))
}

/// libvips' `VIPS_ROUND_UINT`.
fn round_uint(x: f64) -> u32 {
    (x + 0.5) as u32
}

/// libvips' integer pre-shrink of an axis reduced from `len` to `target`: `vips_reduce` with
/// its default gap of 2 box-shrinks by this first (and `vips_resize` subsamples by it for the
/// nearest kernel), leaving at least a 2× reduction to the kernel.
pub(super) fn pre_shrink(len: u32, target: u32) -> u32 {
    if target == 0 || target >= len {
        return 1;
    }
    ((f64::from(len) / f64::from(target) / 2.0).floor() as u32).max(1)
}

/// The length `vips_resize(scale = 1 / shrink)` gives an axis of `len` pixels.
fn resized_len(len: u32, shrink: f64, kernel: Filter) -> u32 {
    let mut len = len;
    let mut scale = 1.0 / shrink;
    if kernel == Filter::Nearest && scale < 1.0 {
        // vips_resize subsamples nearest first, keeping the whole blocks only.
        let k = pre_shrink(len, round_uint(f64::from(len) * scale).max(1));
        if k > 1 {
            len /= k;
            scale *= f64::from(k);
        }
    }
    let scale = scale.max(1.0 / f64::from(len));
    round_uint(f64::from(len) * scale).max(1)
}

/// The JPEG shrink-on-load factor sharp picks (`fastShrinkOnLoad: true`, its default).
fn jpeg_shrink_on_load(shrink: f64) -> u32 {
    let mut s = match shrink {
        s if s >= 8.0 => 8,
        s if s >= 4.0 => 4,
        s if s >= 2.0 => 2,
        _ => 1,
    };
    // sharp lowers it for libjpeg's rounding errors.
    if s > 1 && shrink as u32 == s {
        s /= 2;
    }
    s
}

/// The EXIF orientation with the effect of `rotate`.
fn orientation(h: &Header, rotate: Rotate) -> u8 {
    match rotate {
        Rotate::Auto => h.orientation.unwrap_or(1),
        Rotate::Turns(t) => [1, 6, 3, 8][usize::from(t & 3)],
    }
}

/// Plans the geometry as sharp's pipeline does.
pub fn plan(h: &Header, opts: &TransformOptions) -> Plan {
    let format = opts.format.unwrap_or(match h.format {
        Format::Jpeg => OutputFormat::Jpeg,
        Format::Webp => OutputFormat::Webp,
        // No GIF encoder: GIF input becomes PNG unless a format is asked for.
        Format::Png | Format::Gif => OutputFormat::Png,
    });
    let orientation = orientation(h, opts.rotate);
    let swap = orientation >= 5;
    let oriented = |w: u32, ht: u32| if swap { (ht, w) } else { (w, ht) };
    let (sw, sh) = (h.width, h.height);
    let mut plan = Plan {
        format,
        orientation,
        load: Load::Full,
        load_width: sw,
        load_height: sh,
        resize_width: sw,
        resize_height: sh,
        kernel: Filter::default(),
        keep: Rect::full(sw, sh),
        embed: None,
        out_width: oriented(sw, sh).0,
        out_height: oriented(sw, sh).1,
    };
    let Some(r) = opts.resize.filter(|r| r.width > 0 || r.height > 0) else {
        return plan;
    };
    plan.kernel = r.kernel;
    let (tw, th) = (r.width, r.height);
    // Targets in the stored orientation: sharp swaps them for a 90/270 auto-rotation, and
    // rotates first for an explicit angle, which gives the same sizes.
    let (rtw, rth) = oriented(tw, th);
    let shrink = |w, ht| {
        let (down, up) = (r.without_enlargement, r.without_reduction);
        resolve_shrink(w, ht, rtw, rth, r.fit, down, up)
    };
    let (mut hs, mut vs) = shrink(sw, sh);
    // sharp reloads a JPEG at 1/2, 1/4 or 1/8 scale (libjpeg's scaled IDCT) and a WebP at
    // 1/shrink (libwebp's scaler), then resizes from that size; not after an explicit
    // rotation. We decode at full size, but plan from the size the reload would have, so that
    // the output size is sharp's to the pixel.
    let explicit = matches!(opts.rotate, Rotate::Turns(t) if t != 0);
    let (mut lw, mut lh) = (sw, sh);
    if !explicit {
        let s = hs.min(vs);
        match h.format {
            Format::Jpeg => {
                let f = jpeg_shrink_on_load(s);
                if f > 1 {
                    plan.load = Load::JpegShrink(f);
                    (lw, lh) = ((sw / f).max(1), (sh / f).max(1));
                }
            }
            Format::Webp if s > 1.0 => {
                let scaled = |n: u32| ((f64::from(n) / s).round() as u32).max(1);
                (lw, lh) = (scaled(sw), scaled(sh));
                if (lw, lh) != (sw, sh) {
                    plan.load = Load::WebpScale;
                }
            }
            _ => {}
        }
        if (lw, lh) != (sw, sh) {
            (hs, vs) = shrink(lw, lh);
        }
    }
    (plan.load_width, plan.load_height) = (lw, lh);
    let (rw, rh) = if hs != 1.0 || vs != 1.0 {
        (resized_len(lw, hs, r.kernel), resized_len(lh, vs, r.kernel))
    } else {
        (lw, lh)
    };
    (plan.resize_width, plan.resize_height) = (rw, rh);
    plan.keep = Rect::full(rw, rh);
    let (ow, oh) = oriented(rw, rh);
    (plan.out_width, plan.out_height) = (ow, oh);
    let (bw, bh) = (if tw > 0 { tw } else { ow }, if th > 0 { th } else { oh });
    if (ow, oh) == (bw, bh) {
        return plan;
    }
    match r.fit {
        Fit::Contain => {
            let (left, top) = embed_position(ow, oh, bw, bh, r.position);
            let (cw, ch) = (ow.max(bw), oh.max(bh));
            let at = Rect {
                left,
                top,
                width: ow,
                height: oh,
            };
            plan.embed = Some((at, cw, ch));
            (plan.out_width, plan.out_height) = (cw, ch);
        }
        Fit::Cover => {
            let (bw, bh) = (bw.min(ow), bh.min(oh));
            let (left, top) = crop_position(ow, oh, bw, bh, r.position);
            let crop = Rect {
                left,
                top,
                width: bw,
                height: bh,
            };
            plan.keep = orient::rect_to_stored(orientation, crop, rw, rh);
            (plan.out_width, plan.out_height) = (bw, bh);
        }
        Fit::Fill | Fit::Inside | Fit::Outside => {}
    }
    plan
}

/// sharp's `CalculateEmbedPosition`: where an `iw × ih` image sits on an `ow × oh` canvas.
fn embed_position(iw: u32, ih: u32, ow: u32, oh: u32, p: Position) -> (u32, u32) {
    let (dx, dy) = (ow.saturating_sub(iw), oh.saturating_sub(ih));
    match p {
        Position::Centre => (dx / 2, dy / 2),
        Position::North => (dx / 2, 0),
        Position::East => (dx, dy / 2),
        Position::South => (dx / 2, dy),
        Position::West => (0, dy / 2),
        Position::NorthEast => (dx, 0),
        Position::SouthEast => (dx, dy),
        Position::SouthWest => (0, dy),
        Position::NorthWest => (0, 0),
    }
}

/// sharp's `CalculateCrop` (gravity): where an `ow × oh` crop starts in an `iw × ih` image.
fn crop_position(iw: u32, ih: u32, ow: u32, oh: u32, p: Position) -> (u32, u32) {
    let (dx, dy) = (iw - ow, ih - oh);
    let (cx, cy) = (dx.div_ceil(2), dy.div_ceil(2));
    match p {
        Position::Centre => (cx, cy),
        Position::North => (cx, 0),
        Position::East => (dx, cy),
        Position::South => (cx, dy),
        Position::West => (0, cy),
        Position::NorthEast => (dx, 0),
        Position::SouthEast => (dx, dy),
        Position::SouthWest => (0, dy),
        Position::NorthWest => (0, 0),
    }
}

// The kernels, each exactly 0 outside its support and never exactly 0 inside it.
//
// fast_image_resize 6.1.0 drops leading zero weights from each output pixel's window and then
// subtracts the first pixel's window start from every other's (`Resizer::do_convolution`). A
// kernel with an exact zero inside its support (Catmull-Rom at |x| = 1, the Magic Kernels at
// whole numbers) lets the first window start later than a following one when the first output
// pixel sits exactly on a source pixel centre, and that subtraction wraps: its SIMD loops
// then read outside the image (a crash in release builds, seen with a 50×1 image covered to
// 100×100). A zero inside the support is therefore returned as the smallest positive weight,
// which the fixed-point weights round to 0 again.

/// `v`, or the smallest positive weight instead of an exact 0.
fn inside(v: f64) -> f64 {
    if v == 0.0 {
        f64::MIN_POSITIVE
    } else {
        v
    }
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let px = std::f64::consts::PI * x;
        px.sin() / px
    }
}

fn lanczos3(x: f64) -> f64 {
    if x.abs() >= 3.0 {
        0.0
    } else {
        inside(sinc(x) * sinc(x / 3.0))
    }
}

fn lanczos2(x: f64) -> f64 {
    if x.abs() >= 2.0 {
        0.0
    } else {
        inside(sinc(x) * sinc(x / 2.0))
    }
}

/// Mitchell–Netravali cubics: Catmull-Rom (B = 0, C = 1/2, libvips' "cubic" and its bicubic
/// interpolator) and Mitchell (B = C = 1/3).
fn cubic(x: f64, b: f64, c: f64) -> f64 {
    let x = x.abs();
    let v = if x < 1.0 {
        ((12.0 - 9.0 * b - 6.0 * c) * x * x * x
            + (-18.0 + 12.0 * b + 6.0 * c) * x * x
            + (6.0 - 2.0 * b))
            / 6.0
    } else if x < 2.0 {
        ((-b - 6.0 * c) * x * x * x
            + (6.0 * b + 30.0 * c) * x * x
            + (-12.0 * b - 48.0 * c) * x
            + (8.0 * b + 24.0 * c))
            / 6.0
    } else {
        return 0.0;
    };
    inside(v)
}

fn catmull_rom(x: f64) -> f64 {
    cubic(x, 0.0, 0.5)
}

fn mitchell(x: f64) -> f64 {
    cubic(x, 1.0 / 3.0, 1.0 / 3.0)
}

fn triangle(x: f64) -> f64 {
    let x = x.abs();
    if x >= 1.0 {
        0.0
    } else {
        1.0 - x
    }
}

/// Magic Kernel Sharp 2013, as libvips defines it.
fn mks2013(x: f64) -> f64 {
    let x = x.abs();
    let v = if x >= 2.5 {
        return 0.0;
    } else if x >= 1.5 {
        (x - 2.5) * (x - 2.5) / -8.0
    } else if x >= 0.5 {
        (4.0 * x * x - 11.0 * x + 7.0) / 4.0
    } else {
        17.0 / 16.0 - 7.0 * x * x / 4.0
    };
    inside(v)
}

/// Magic Kernel Sharp 2021, as libvips defines it.
fn mks2021(x: f64) -> f64 {
    let x = x.abs();
    let v = if x >= 4.5 {
        return 0.0;
    } else if x >= 3.5 {
        (4.0 * x * x - 36.0 * x + 81.0) / -1152.0
    } else if x >= 2.5 {
        (4.0 * x * x - 27.0 * x + 45.0) / 144.0
    } else if x >= 1.5 {
        (24.0 * x * x - 113.0 * x + 130.0) / -144.0
    } else if x >= 0.5 {
        (140.0 * x * x - 379.0 * x + 239.0) / 144.0
    } else {
        577.0 / 576.0 - 239.0 * x * x / 144.0
    };
    inside(v)
}

/// The resampler for `kernel`. When the image grows, libvips interpolates instead of
/// reducing: nearest, bilinear, or bicubic (Catmull-Rom) for every other kernel.
pub(super) fn algorithm(kernel: Filter, grows: bool) -> fir::ResizeAlg {
    let (name, f, support): (&'static str, fn(f64) -> f64, f64) = match (kernel, grows) {
        (Filter::Nearest, _) => return fir::ResizeAlg::Nearest,
        (Filter::Linear, _) => ("linear", triangle, 1.0),
        (_, true) | (Filter::Cubic, false) => ("cubic", catmull_rom, 2.0),
        (Filter::Mitchell, false) => ("mitchell", mitchell, 2.0),
        (Filter::Lanczos2, false) => ("lanczos2", lanczos2, 2.0),
        (Filter::Lanczos3, false) => ("lanczos3", lanczos3, 3.0),
        (Filter::Mks2013, false) => ("mks2013", mks2013, 2.5),
        (Filter::Mks2021, false) => ("mks2021", mks2021, 4.5),
    };
    let filter = fir::Filter::new(name, f, support).expect("support is positive");
    fir::ResizeAlg::Convolution(fir::FilterType::Custom(filter))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_are_zero_outside_and_never_zero_inside() {
        type Kernel = fn(f64) -> f64;
        let kernels: [(Kernel, f64); 7] = [
            (lanczos3, 3.0),
            (lanczos2, 2.0),
            (catmull_rom, 2.0),
            (mitchell, 2.0),
            (triangle, 1.0),
            (mks2013, 2.5),
            (mks2021, 4.5),
        ];
        for (i, (f, support)) in kernels.into_iter().enumerate() {
            // Every multiple of 1/64 (the exact zeros sit on whole and half numbers).
            for k in 0..(support * 64.0) as i32 {
                let x = f64::from(k) / 64.0;
                assert_ne!(f(x), 0.0, "kernel {i} at {x}");
                assert_ne!(f(-x), 0.0, "kernel {i} at -{x}");
            }
            assert_eq!(f(support), 0.0, "kernel {i}");
            assert_eq!(f(support + 0.1), 0.0, "kernel {i}");
        }
        assert_eq!(catmull_rom(0.0), 1.0);
        assert!((catmull_rom(0.5) - 0.5625).abs() < 1e-12);
        assert!((mitchell(0.0) - 8.0 / 9.0).abs() < 1e-12);
    }
}
