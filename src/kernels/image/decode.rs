//! Decoding the first frame to 8-bit interleaved pixels. The output buffer is sized from the
//! header, which was already checked against `limitInputPixels`, and every decoder is told that
//! size as its own limit. PNG (non-interlaced) and GIF are read in row strips with the token
//! polled between; zune-jpeg polls it itself (its cancel check, every 1024 MCUs: about a
//! quarter megapixel); image-webp decodes a frame in one call, polled before and after.

use super::{decode_error, Format, Header};
use crate::executor::CancelToken;
use crate::kernels::RunError;
use std::io::Cursor;

/// How the bytes of a pixel are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    Luma,
    LumaA,
    Rgb,
    Rgba,
    /// JFIF's YCbCr: only from a JPEG decoded shrunk ([`super::shrink`]) for JPEG output,
    /// which then skips two colour conversions.
    Ycbcr,
}

impl Model {
    pub fn channels(self) -> usize {
        match self {
            Model::Luma => 1,
            Model::LumaA => 2,
            Model::Rgb | Model::Ycbcr => 3,
            Model::Rgba => 4,
        }
    }
}

/// An 8-bit interleaved image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub model: Model,
    pub data: Vec<u8>,
}

impl Image {
    pub fn stride(&self) -> usize {
        self.width as usize * self.model.channels()
    }
}

/// Rows decoded between two cancellation checks (PNG, GIF).
const ROWS_PER_POLL: usize = 64;

/// Decodes the first frame of `data`, whose header is `h`.
pub fn decode(data: &[u8], h: &Header, token: &CancelToken<'_>) -> Result<Image, RunError> {
    token.check()?;
    let img = match h.format {
        Format::Jpeg => jpeg(data, h, token)?,
        Format::Png => png(data, h, token)?,
        Format::Gif => gif(data, h, token)?,
        Format::Webp => webp(data, h)?,
    };
    if img.width != h.width || img.height != h.height {
        return Err(decode_error(
            h.format.name(),
            format!(
                "the frame is {}x{}, the header says {}x{}",
                img.width, img.height, h.width, h.height
            ),
        )
        .into());
    }
    Ok(img)
}

fn jpeg(data: &[u8], h: &Header, token: &CancelToken<'_>) -> Result<Image, RunError> {
    use zune_jpeg::errors::DecodeErrors;
    use zune_jpeg::zune_core::{bytestream::ZCursor, colorspace::ColorSpace, options};
    let err = |e: DecodeErrors| match e {
        DecodeErrors::Cancelled => RunError::Cancelled,
        e => decode_error("jpeg", e).into(),
    };
    let opts = options::DecoderOptions::default()
        .set_max_width(h.width as usize)
        .set_max_height(h.height as usize)
        .set_strict_mode(true);
    let mut dec = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(data), opts);
    // The decoder keeps its check, so it gets a token that owns its flags.
    let stop = token.detach();
    dec.set_cancel(move || stop.is_cancelled());
    dec.decode_headers().map_err(err)?;
    let (out, model) = match dec.input_colorspace() {
        Some(ColorSpace::Luma) => (ColorSpace::Luma, Model::Luma),
        // RGB even for JPEG output: zune-jpeg's YCbCr output is slower than its RGB path
        // (16 vs 11 ms for 2725 × 2225 here), and converting the small result back is cheap.
        _ => (ColorSpace::RGB, Model::Rgb),
    };
    dec.set_options(opts.jpeg_set_out_colorspace(out));
    let info = dec
        .info()
        .ok_or_else(|| decode_error("jpeg", "no frame header"))?;
    let mut img = Image {
        width: info.width.into(),
        height: info.height.into(),
        model,
        data: Vec::new(),
    };
    let size = img.stride() * img.height as usize;
    if dec.output_buffer_size() != Some(size) {
        return Err(decode_error("jpeg", "unexpected output size").into());
    }
    img.data = vec![0; size];
    dec.decode_into(&mut img.data).map_err(err)?;
    Ok(img)
}

fn png(data: &[u8], h: &Header, token: &CancelToken<'_>) -> Result<Image, RunError> {
    let err = |e: png::DecodingError| decode_error("png", e);
    // Room for an 8-bit RGBA frame, the decoder's row buffers and metadata chunks.
    let limit = (h.pixels() as usize).saturating_mul(4).max(1 << 20) + (16 << 20);
    let mut dec = png::Decoder::new_with_limits(Cursor::new(data), png::Limits { bytes: limit });
    // Palette → RGB(A), tRNS → alpha, < 8 bits → 8 bits, 16 bits → 8 bits.
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    dec.set_ignore_text_chunk(true);
    let mut reader = dec.read_info().map_err(err)?;
    let model = match reader.output_color_type().0 {
        png::ColorType::Grayscale => Model::Luma,
        png::ColorType::GrayscaleAlpha => Model::LumaA,
        png::ColorType::Rgb => Model::Rgb,
        png::ColorType::Rgba => Model::Rgba,
        png::ColorType::Indexed => {
            return Err(decode_error("png", "the palette was not expanded").into())
        }
    };
    let info = reader.info();
    let interlaced = info.interlaced;
    let mut img = Image {
        width: info.width,
        height: info.height,
        model,
        data: Vec::new(),
    };
    let stride = img.stride();
    let size = stride * img.height as usize;
    if reader.output_buffer_size() != Some(size) {
        return Err(decode_error("png", "unexpected output size").into());
    }
    img.data = vec![0; size];
    if interlaced {
        // Adam7 passes fill rows out of order: one call.
        reader.next_frame(&mut img.data).map_err(err)?;
    } else {
        for (i, row) in img.data.chunks_exact_mut(stride).enumerate() {
            if i.is_multiple_of(ROWS_PER_POLL) {
                token.check()?;
            }
            if reader.read_row(row).map_err(err)?.is_none() {
                return Err(decode_error("png", "the image data ended early").into());
            }
        }
    }
    Ok(img)
}

/// The first frame of a GIF on a transparent canvas of the logical screen size, as libvips
/// renders it: RGBA when the header declares transparency, else RGB.
fn gif(data: &[u8], h: &Header, token: &CancelToken<'_>) -> Result<Image, RunError> {
    let err = |e: gif::DecodingError| decode_error("gif", e);
    let (w, ht) = (h.width as usize, h.height as usize);
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    opts.set_memory_limit(gif::MemoryLimit::Bytes(
        std::num::NonZeroU64::new(h.pixels() * 4 + (1 << 20)).expect("not zero"),
    ));
    let mut dec = opts.read_info(Cursor::new(data)).map_err(err)?;
    let frame = dec
        .next_frame_info()
        .map_err(err)?
        .ok_or_else(|| decode_error("gif", "there is no image in the file"))?;
    let (fl, ft) = (usize::from(frame.left), usize::from(frame.top));
    let (fw, fh) = (usize::from(frame.width), usize::from(frame.height));
    let interlaced = frame.interlaced;
    // The frame is allocated before it is clipped: a frame larger than the screen (which the
    // pixel limit checked) is refused rather than allocated.
    if fw * fh > w * ht {
        return Err(decode_error(
            "gif",
            format!("the first frame ({fw}x{fh}) is larger than the {w}x{ht} screen"),
        )
        .into());
    }
    let mut buf = vec![0u8; fw * fh * 4];
    if interlaced || fw == 0 {
        // The decoder de-interlaces whole frames only.
        dec.read_into_buffer(&mut buf).map_err(err)?;
    } else {
        for chunk in buf.chunks_mut(fw * 4 * ROWS_PER_POLL) {
            token.check()?;
            if !dec.fill_buffer(chunk).map_err(err)? {
                return Err(decode_error("gif", "the frame data ended early").into());
            }
        }
    }
    let mut rgba = if (fl, ft, fw, fh) == (0, 0, w, ht) {
        buf
    } else {
        // Clipped to the screen; the rest stays transparent. A frame right of the screen
        // (`fl >= w`, so `cw == 0`) shows nothing and has no row start inside the canvas.
        let mut canvas = vec![0; w * ht * 4];
        let cw = fw.min(w.saturating_sub(fl));
        let rows = if cw == 0 {
            0
        } else {
            fh.min(ht.saturating_sub(ft))
        };
        for y in 0..rows {
            let dst = ((ft + y) * w + fl) * 4;
            canvas[dst..dst + cw * 4].copy_from_slice(&buf[y * fw * 4..(y * fw + cw) * 4]);
        }
        canvas
    };
    let model = if h.has_alpha {
        Model::Rgba
    } else {
        // No transparency declared: drop the alpha band in place.
        for i in 0..w * ht {
            rgba.copy_within(i * 4..i * 4 + 3, i * 3);
        }
        rgba.truncate(w * ht * 3);
        Model::Rgb
    };
    Ok(Image {
        width: h.width,
        height: h.height,
        model,
        data: rgba,
    })
}

fn webp(data: &[u8], h: &Header) -> Result<Image, RunError> {
    let err = |e: image_webp::DecodingError| decode_error("webp", e);
    let mut dec = image_webp::WebPDecoder::new(Cursor::new(data)).map_err(err)?;
    dec.set_memory_limit((h.pixels() as usize).saturating_mul(4) + (16 << 20));
    let (width, height) = dec.dimensions();
    let model = if dec.has_alpha() {
        Model::Rgba
    } else {
        Model::Rgb
    };
    let mut img = Image {
        width,
        height,
        model,
        data: Vec::new(),
    };
    let size = img.stride() * height as usize;
    if dec.output_buffer_size() != Some(size) || (width, height) != (h.width, h.height) {
        return Err(decode_error("webp", "the frame size differs from the header").into());
    }
    img.data = vec![0; size];
    dec.read_image(&mut img.data).map_err(err)?;
    Ok(img)
}
