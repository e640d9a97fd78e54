//! Encoding with sharp's defaults: JPEG baseline 4:2:0 with box-averaged chroma and
//! optimised Huffman tables (jpeg-encoder), PNG unfiltered at zlib level 6 (png), WebP at
//! effort 4 with full-quality alpha (libwebp through the `webp` crate). No metadata is
//! written. PNG is written in row strips with the token polled between; the JPEG and WebP
//! encoders take the image in one call.

use super::decode::{Image, Model};
use super::{OutputFormat, TransformOptions};
use crate::executor::CancelToken;
use crate::kernels::{KernelError, RunError};

/// Rows written between two cancellation checks (PNG).
const ROWS_PER_POLL: usize = 128;

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
        OutputFormat::Jpeg => jpeg(img, opts.quality)?,
        OutputFormat::Png => png(img, opts.compression_level, token)?,
        OutputFormat::Webp => webp(img, opts.quality, opts.lossless)?,
    })
}

fn jpeg(img: &Image, quality: u8) -> Result<Vec<u8>, KernelError> {
    use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder, SamplingFactor};
    let fail = |e| failed(OutputFormat::Jpeg, e);
    let colour = match img.model {
        Model::Luma => ColorType::Luma,
        Model::Rgb => ColorType::Rgb,
        Model::LumaA | Model::Rgba => return Err(fail("alpha was not flattened".into())),
    };
    let w = u16::try_from(img.width).map_err(|e| fail(e.to_string()))?;
    let h = u16::try_from(img.height).map_err(|e| fail(e.to_string()))?;
    // Compressed output is far smaller than the pixels; this avoids most regrowth.
    let mut out = Vec::with_capacity(img.data.len() / 8 + 1024);
    let mut enc = Encoder::new(&mut out, quality);
    // sharp: 4:2:0 at every quality (jpeg-encoder would switch to 4:4:4 at 90 and above),
    // chroma averaged as libjpeg does.
    enc.set_sampling_factor(SamplingFactor::F_2_2);
    enc.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    enc.set_optimized_huffman_tables(true);
    enc.encode(&img.data, w, h, colour)
        .map_err(|e| fail(e.to_string()))?;
    Ok(out)
}

fn png(img: &Image, level: u8, token: &CancelToken<'_>) -> Result<Vec<u8>, RunError> {
    let fail = |e: &dyn std::fmt::Display| failed(OutputFormat::Png, e);
    let colour = match img.model {
        Model::Luma => png::ColorType::Grayscale,
        Model::LumaA => png::ColorType::GrayscaleAlpha,
        Model::Rgb => png::ColorType::Rgb,
        Model::Rgba => png::ColorType::Rgba,
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
