//! Pixel moves after resizing, on the (small) resized image: EXIF orientation (rotate, then
//! mirror, as sharp), crop, `contain`'s embed on the background, alpha flattening and the
//! colour model the encoder takes.

use super::decode::{Image, Model};
use super::options::Rgba;
use super::resize::Plan;
use super::{OutputFormat, TransformOptions};
use crate::executor::CancelToken;
use crate::kernels::RunError;

/// A pixel rectangle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    pub fn full(width: u32, height: u32) -> Rect {
        Rect {
            left: 0,
            top: 0,
            width,
            height,
        }
    }
}

/// The stored pixel shown at oriented `(x, y)`, for a stored image of `w × h`: EXIF
/// orientation as sharp applies it.
#[inline]
fn source(orientation: u8, x: u32, y: u32, w: u32, h: u32) -> (u32, u32) {
    match orientation {
        2 => (w - 1 - x, y),
        3 => (w - 1 - x, h - 1 - y),
        4 => (x, h - 1 - y),
        5 => (y, x),
        6 => (y, h - 1 - x),
        7 => (w - 1 - y, h - 1 - x),
        8 => (w - 1 - y, x),
        _ => (x, y),
    }
}

/// Maps a rectangle of the oriented image back to the stored image (`w × h`) it shows.
pub fn rect_to_stored(orientation: u8, r: Rect, w: u32, h: u32) -> Rect {
    // The stored pixels of two opposite corners of `r`; the stored rectangle spans them.
    let (x0, y0) = source(orientation, r.left, r.top, w, h);
    let (x1, y1) = source(
        orientation,
        r.left + r.width - 1,
        r.top + r.height - 1,
        w,
        h,
    );
    Rect {
        left: x0.min(x1),
        top: y0.min(y1),
        width: x0.abs_diff(x1) + 1,
        height: y0.abs_diff(y1) + 1,
    }
}

/// Rows moved between two cancellation checks.
const ROWS_PER_POLL: u32 = 256;

/// Applies an EXIF orientation (1 returns `img` unchanged).
pub fn orient(img: Image, orientation: u8, token: &CancelToken<'_>) -> Result<Image, RunError> {
    if !(2..=8).contains(&orientation) {
        return Ok(img);
    }
    let c = img.model.channels();
    let (w, h) = (img.width, img.height);
    let (ow, oh) = if orientation >= 5 { (h, w) } else { (w, h) };
    let mut out = vec![0u8; img.data.len()];
    let row_len = ow as usize * c;
    for (y, row) in out.chunks_exact_mut(row_len).enumerate() {
        let y = y as u32;
        if y.is_multiple_of(ROWS_PER_POLL) {
            token.check()?;
        }
        if orientation == 4 {
            // A vertical flip moves whole rows.
            let s = (h - 1 - y) as usize * row_len;
            row.copy_from_slice(&img.data[s..s + row_len]);
            continue;
        }
        for (x, px) in row.chunks_exact_mut(c).enumerate() {
            let (sx, sy) = source(orientation, x as u32, y, w, h);
            let s = (sy as usize * w as usize + sx as usize) * c;
            px.copy_from_slice(&img.data[s..s + c]);
        }
    }
    Ok(Image {
        width: ow,
        height: oh,
        model: img.model,
        data: out,
    })
}

/// The part `r` of `img` (all of it: returned as is).
pub fn crop(img: Image, r: Rect) -> Image {
    if r == Rect::full(img.width, img.height) {
        return img;
    }
    let c = img.model.channels();
    let stride = img.stride();
    let mut data = Vec::with_capacity(r.width as usize * r.height as usize * c);
    for y in r.top..r.top + r.height {
        let s = y as usize * stride + r.left as usize * c;
        data.extend_from_slice(&img.data[s..s + r.width as usize * c]);
    }
    Image {
        width: r.width,
        height: r.height,
        model: img.model,
        data,
    }
}

/// A colour's grey as sharp's `ApplyAlpha` takes it (Rec. 709 weights).
fn grey(c: Rgba) -> u8 {
    (0.2126 * f64::from(c.r) + 0.7152 * f64::from(c.g) + 0.0722 * f64::from(c.b))
        .round()
        .clamp(0.0, 255.0) as u8
}

/// `colour` as a pixel of `model`.
fn pixel(model: Model, colour: Rgba) -> Vec<u8> {
    match model {
        Model::Luma => vec![grey(colour)],
        Model::LumaA => vec![grey(colour), colour.a],
        Model::Rgb => vec![colour.r, colour.g, colour.b],
        Model::Rgba => vec![colour.r, colour.g, colour.b, colour.a],
        Model::Ycbcr => {
            let (y, cb, cr) = jpeg_encoder::rgb_to_ycbcr(colour.r, colour.g, colour.b);
            vec![y, cb, cr]
        }
    }
}

/// Adds an opaque alpha band.
fn add_alpha(img: Image) -> Image {
    let (model, c) = match img.model {
        Model::Luma => (Model::LumaA, 1),
        Model::Rgb => (Model::Rgba, 3),
        // Only JPEG output is YCbCr, and its padding is opaque.
        Model::LumaA | Model::Rgba | Model::Ycbcr => return img,
    };
    let mut data = Vec::with_capacity(img.data.len() / c * (c + 1));
    for px in img.data.chunks_exact(c) {
        data.extend_from_slice(px);
        data.push(255);
    }
    Image { model, data, ..img }
}

/// Places `img` at `at` on a `w × h` canvas of `colour` (sharp's embed for `contain`; a
/// translucent colour gives the image an alpha band first, as sharp's `ApplyAlpha`).
fn embed(img: Image, at: Rect, w: u32, h: u32, colour: Rgba) -> Image {
    let img = if colour.a < 255 { add_alpha(img) } else { img };
    let c = img.model.channels();
    let mut data = pixel(img.model, colour).repeat(w as usize * h as usize);
    let stride = img.stride();
    for (y, row) in img.data.chunks_exact(stride).enumerate() {
        let d = ((at.top as usize + y) * w as usize + at.left as usize) * c;
        data[d..d + stride].copy_from_slice(row);
    }
    Image {
        width: w,
        height: h,
        model: img.model,
        data,
    }
}

/// Composites an image with alpha over `colour` and drops the alpha (sharp's `flatten`).
fn flatten(img: Image, colour: Rgba) -> Image {
    let (model, c) = match img.model {
        Model::LumaA => (Model::Luma, 1),
        Model::Rgba => (Model::Rgb, 3),
        _ => return img,
    };
    let bg = pixel(model, colour);
    let mut data = Vec::with_capacity(img.data.len() / (c + 1) * c);
    for px in img.data.chunks_exact(c + 1) {
        let a = u32::from(px[c]);
        for (v, b) in px[..c].iter().zip(&bg) {
            data.push(((u32::from(*v) * a + u32::from(*b) * (255 - a) + 127) / 255) as u8);
        }
    }
    Image { model, data, ..img }
}

/// Grey → RGB(A): WebP has no grey.
fn grey_to_rgb(img: Image) -> Image {
    let (model, c) = match img.model {
        Model::Luma => (Model::Rgb, 1),
        Model::LumaA => (Model::Rgba, 2),
        _ => return img,
    };
    let mut data = Vec::with_capacity(img.data.len() / c * (c + 2));
    for px in img.data.chunks_exact(c) {
        data.extend_from_slice(&[px[0], px[0], px[0]]);
        data.extend_from_slice(&px[1..]);
    }
    Image { model, data, ..img }
}

/// Orientation, `contain`'s embed, and the colour model the output format takes (alpha
/// flattened onto the background for JPEG).
pub fn finish(
    img: Image,
    plan: &Plan,
    opts: &TransformOptions,
    token: &CancelToken<'_>,
) -> Result<Image, RunError> {
    let mut img = orient(img, plan.orientation, token)?;
    token.check()?;
    if let Some((at, w, h)) = plan.embed {
        let mut colour = opts
            .resize
            .and_then(|r| r.background)
            .unwrap_or(opts.background);
        if plan.format == OutputFormat::Jpeg {
            // JPEG has no alpha: the padding is flattened onto the background anyway.
            colour = flatten_colour(colour, opts.background);
        }
        img = embed(img, at, w, h, colour);
    }
    Ok(match plan.format {
        OutputFormat::Jpeg => flatten(img, opts.background),
        OutputFormat::Png => img,
        OutputFormat::Webp => grey_to_rgb(img),
    })
}

/// `colour` composited over `bg`, opaque.
fn flatten_colour(colour: Rgba, bg: Rgba) -> Rgba {
    let a = u32::from(colour.a);
    let mix = |c: u8, b: u8| ((u32::from(c) * a + u32::from(b) * (255 - a) + 127) / 255) as u8;
    Rgba {
        r: mix(colour.r, bg.r),
        g: mix(colour.g, bg.g),
        b: mix(colour.b, bg.b),
        a: 255,
    }
}
