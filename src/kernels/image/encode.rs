//! Encoding with sharp's defaults: JPEG baseline 4:2:0 with box-averaged chroma and
//! optimised Huffman tables (jpeg-encoder), PNG unfiltered at zlib level 6 (png), WebP at
//! effort 4 with full-quality alpha (libwebp through the `webp` crate). No metadata is
//! written. PNG is written in row strips with the token polled between. A large JPEG is fed
//! to jpeg-encoder row by row and written through a writer, both polling the token (its DCT
//! pass between the two cannot be interrupted); libwebp takes the image in one call.

use super::decode::{Image, Model};
use super::{OutputFormat, TransformOptions};
use crate::executor::CancelToken;
use crate::kernels::{KernelError, RunError};

/// Rows written between two cancellation checks (PNG, and JPEG's colour conversion).
const ROWS_PER_POLL: usize = 128;
/// JPEG bytes written between two cancellation checks.
const BYTES_PER_POLL: usize = 64 << 10;
/// Pixels from which a JPEG goes through [`Polled`]: a smaller one is encoded in a few
/// milliseconds, with the crate's own SIMD colour conversion.
const POLLED_JPEG_PIXELS: usize = 2 << 20;

/// An encoder refusing the image: the plan checked sizes and models, so this is a bug or an
/// impossible size; it rejects the task with a coded error rather than panicking.
fn failed(format: OutputFormat, e: impl std::fmt::Display) -> KernelError {
    KernelError::new(
        crate::kernels::ErrorKind::Generic,
        "ERR_POOL_IMAGE_ENCODE",
        format!("{} encoding failed: {e}", format.name()),
    )
}

/// Encodes `img`, already in a model `format` takes (see [`super::orient::finish`]).
pub fn encode(
    img: &Image,
    format: OutputFormat,
    opts: &TransformOptions,
    token: &CancelToken<'_>,
) -> Result<Vec<u8>, RunError> {
    token.check()?;
    Ok(match format {
        OutputFormat::Jpeg => jpeg(img, opts.quality, token)?,
        OutputFormat::Png => png(img, opts.compression_level, token)?,
        OutputFormat::Webp => webp(img, opts.quality, opts.lossless)?,
    })
}

fn jpeg(img: &Image, quality: u8, token: &CancelToken<'_>) -> Result<Vec<u8>, RunError> {
    use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder, JfifWrite, SamplingFactor};
    let fail = |e| failed(OutputFormat::Jpeg, e);
    let colour = match img.model {
        Model::Luma => ColorType::Luma,
        Model::Rgb => ColorType::Rgb,
        Model::Ycbcr => ColorType::Ycbcr,
        Model::LumaA | Model::Rgba => return Err(fail("alpha was not flattened".into()).into()),
    };
    let w = u16::try_from(img.width).map_err(|e| fail(e.to_string()))?;
    let h = u16::try_from(img.height).map_err(|e| fail(e.to_string()))?;
    // sharp: 4:2:0 at every quality (jpeg-encoder would switch to 4:4:4 at 90 and above),
    // chroma averaged as libjpeg does.
    fn encoder<W: JfifWrite>(out: W, quality: u8) -> Encoder<W> {
        let mut enc = Encoder::new(out, quality);
        enc.set_sampling_factor(SamplingFactor::F_2_2);
        enc.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
        enc.set_optimized_huffman_tables(true);
        enc
    }
    // Compressed output is far smaller than the pixels; this avoids most regrowth.
    let mut out = Vec::with_capacity(img.data.len() / 8 + 1024);
    if img.data.len() / img.model.channels() < POLLED_JPEG_PIXELS {
        encoder(&mut out, quality)
            .encode(&img.data, w, h, colour)
            .map_err(|e| fail(e.to_string()))?;
        return Ok(out);
    }
    let writer = PolledWriter {
        out: &mut out,
        token,
        unpolled: 0,
    };
    let rows = Polled { img, token, w, h };
    // `Polled` stops the encoder by unwinding with `Stop` (its callback cannot fail);
    // `resume_unwind` does so without the panic hook, and any other panic goes on up.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        encoder(writer, quality).encode_image(rows)
    })) {
        Ok(Ok(())) => Ok(out),
        Ok(Err(_)) if token.is_cancelled() => Err(RunError::Cancelled),
        Ok(Err(e)) => Err(fail(e.to_string()).into()),
        Err(p) if p.is::<Stop>() => Err(RunError::Cancelled),
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// The payload `Polled` unwinds with when the token is cancelled.
struct Stop;

/// An RGB or grey image as jpeg-encoder's row source, polling the token every
/// [`ROWS_PER_POLL`] rows.
struct Polled<'a> {
    img: &'a Image,
    token: &'a CancelToken<'a>,
    w: u16,
    h: u16,
}

impl jpeg_encoder::ImageBuffer for Polled<'_> {
    fn get_jpeg_color_type(&self) -> jpeg_encoder::JpegColorType {
        match self.img.model {
            Model::Luma => jpeg_encoder::JpegColorType::Luma,
            _ => jpeg_encoder::JpegColorType::Ycbcr,
        }
    }
    fn width(&self) -> u16 {
        self.w
    }
    fn height(&self) -> u16 {
        self.h
    }
    fn fill_buffers(&self, y: u16, buffers: &mut [Vec<u8>; 4]) {
        if usize::from(y).is_multiple_of(ROWS_PER_POLL) && self.token.is_cancelled() {
            std::panic::resume_unwind(Box::new(Stop));
        }
        let stride = self.img.stride();
        let row = &self.img.data[usize::from(y) * stride..][..stride];
        match self.img.model {
            Model::Luma => return buffers[0].extend_from_slice(row),
            Model::Ycbcr => {
                for px in row.chunks_exact(3) {
                    buffers[0].push(px[0]);
                    buffers[1].push(px[1]);
                    buffers[2].push(px[2]);
                }
                return;
            }
            _ => {}
        }
        // In chunks, as the crate's own conversion, so that the compiler vectorises it.
        const CHUNK: usize = 16;
        let mut out = [[0u8; CHUNK]; 3];
        let mut chunks = row.chunks_exact(3 * CHUNK);
        for chunk in &mut chunks {
            for (i, px) in chunk.chunks_exact(3).enumerate() {
                let (l, cb, cr) = jpeg_encoder::rgb_to_ycbcr(px[0], px[1], px[2]);
                (out[0][i], out[1][i], out[2][i]) = (l, cb, cr);
            }
            for (buf, o) in buffers.iter_mut().zip(&out) {
                buf.extend_from_slice(o);
            }
        }
        for px in chunks.remainder().chunks_exact(3) {
            let (l, cb, cr) = jpeg_encoder::rgb_to_ycbcr(px[0], px[1], px[2]);
            buffers[0].push(l);
            buffers[1].push(cb);
            buffers[2].push(cr);
        }
    }
}

/// The encoder's output, failing once the token is cancelled (checked every
/// [`BYTES_PER_POLL`] bytes): the encoder then returns at once with an I/O error.
struct PolledWriter<'a> {
    out: &'a mut Vec<u8>,
    token: &'a CancelToken<'a>,
    unpolled: usize,
}

impl std::io::Write for PolledWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.unpolled += buf.len();
        if self.unpolled >= BYTES_PER_POLL {
            self.unpolled = 0;
            if self.token.is_cancelled() {
                return Err(std::io::Error::other("cancelled"));
            }
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn png(img: &Image, level: u8, token: &CancelToken<'_>) -> Result<Vec<u8>, RunError> {
    let fail = |e: &dyn std::fmt::Display| failed(OutputFormat::Png, e);
    let colour = match img.model {
        Model::Luma => png::ColorType::Grayscale,
        Model::LumaA => png::ColorType::GrayscaleAlpha,
        Model::Rgb => png::ColorType::Rgb,
        Model::Rgba => png::ColorType::Rgba,
        Model::Ycbcr => return Err(fail(&"YCbCr reaches only the JPEG encoder").into()),
    };
    let mut out = Vec::with_capacity(img.data.len() / 2 + 1024);
    let mut enc = png::Encoder::new(&mut out, img.width, img.height);
    enc.set_color(colour);
    enc.set_depth(png::BitDepth::Eight);
    // sharp's default: no adaptive filtering (libpng's FILTER_NONE).
    enc.set_filter(png::Filter::NoFilter);
    enc.set_deflate_compression(match level {
        0 => png::DeflateCompression::NoCompression,
        n => png::DeflateCompression::Level(n),
    });
    let mut writer = enc.write_header().map_err(|e| fail(&e))?;
    {
        let mut stream = writer.stream_writer().map_err(|e| fail(&e))?;
        for rows in img.data.chunks(img.stride() * ROWS_PER_POLL) {
            token.check()?;
            std::io::Write::write_all(&mut stream, rows).map_err(|e| fail(&e))?;
        }
        stream.finish().map_err(|e| fail(&e))?;
    }
    writer.finish().map_err(|e| fail(&e))?;
    Ok(out)
}

fn webp(img: &Image, quality: u8, lossless: bool) -> Result<Vec<u8>, KernelError> {
    let fail = |e: String| failed(OutputFormat::Webp, e);
    let layout = match img.model {
        Model::Rgb => webp::PixelLayout::Rgb,
        Model::Rgba => webp::PixelLayout::Rgba,
        m => return Err(fail(format!("{m:?} was not converted to RGB"))),
    };
    let mut config = webp::WebPConfig::new().map_err(|()| fail("libwebp config".into()))?;
    config.quality = f32::from(quality);
    config.lossless = i32::from(lossless);
    // sharp's effort 4 and alphaQuality 100 (libwebp's defaults too, set for clarity).
    config.method = 4;
    config.alpha_quality = 100;
    let enc = webp::Encoder::new(&img.data, layout, img.width, img.height);
    let mem = enc
        .encode_advanced(&config)
        .map_err(|e| fail(format!("{e:?}")))?;
    Ok(mem.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::TaskCtl;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    /// A gradient large enough for the polled path.
    fn large(model: Model) -> Image {
        let (w, h) = (1800u32, 1200u32);
        let c = model.channels();
        let mut data = Vec::with_capacity(w as usize * h as usize * c);
        for y in 0..h {
            for x in 0..w {
                data.extend_from_slice(&[(x / 8) as u8, (y / 5) as u8, ((x + y) % 251) as u8][..c]);
            }
        }
        Image {
            width: w,
            height: h,
            model,
            data,
        }
    }

    #[test]
    fn the_polled_jpeg_path_writes_what_the_crate_writes() {
        for model in [Model::Rgb, Model::Luma] {
            let img = large(model);
            assert!(img.data.len() / model.channels() >= POLLED_JPEG_PIXELS);
            let polled = jpeg(&img, 80, &CancelToken::never()).unwrap();
            // The crate's own path on the same pixels, with the same settings.
            let mut direct = Vec::new();
            let mut enc = jpeg_encoder::Encoder::new(&mut direct, 80);
            enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
            enc.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
            enc.set_optimized_huffman_tables(true);
            let colour = match model {
                Model::Luma => jpeg_encoder::ColorType::Luma,
                _ => jpeg_encoder::ColorType::Rgb,
            };
            enc.encode(&img.data, 1800, 1200, colour).unwrap();
            // The same scalar colour formula as the crate's; its SIMD version may round a
            // few values differently, so the files may differ by a few bytes, not more.
            let diff = polled.len().abs_diff(direct.len());
            assert!(
                diff * 1000 <= direct.len(),
                "{model:?}: {} vs {} bytes",
                polled.len(),
                direct.len()
            );
            assert_eq!(polled[..2], [0xFF, 0xD8]);
        }
    }

    #[test]
    fn the_polled_jpeg_path_stops_on_its_token() {
        let (task, pool) = (Arc::new(TaskCtl::new()), Arc::new(AtomicBool::new(true)));
        let stopped = CancelToken::new(&task, &pool);
        let img = large(Model::Rgb);
        assert_eq!(jpeg(&img, 80, &stopped).err(), Some(RunError::Cancelled));
        // The writer fails once a poll sees the token.
        let mut out = Vec::new();
        let mut w = PolledWriter {
            out: &mut out,
            token: &stopped,
            unpolled: 0,
        };
        use std::io::Write;
        assert!(w.write_all(&[0; 100]).is_ok());
        assert!(w.write_all(&vec![0; BYTES_PER_POLL]).is_err());
    }
}
