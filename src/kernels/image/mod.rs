//! Image kernels with sharp's semantics and defaults: `image.metadata` (the header only, no
//! pixel decoded) and `image.transform` (decode, EXIF auto-orientation or an explicit
//! rotation, sharp's resize with its fit modes, embed, alpha flattening, encode; metadata is
//! not copied to the output).
//!
//! `prepare` (JS thread) checks the options and reads the header ([`probe`]), so a bad
//! option, an unknown format or an image over `limitInputPixels` rejects before anything is
//! queued or allocated. A header that would take a long walk to reach (thousands of segments
//! or chunks, a large EXIF block) is left to the worker, which makes the same checks before
//! its first pixel buffer. `run` goes through [`decode`], [`resample`], [`orient`]
//! (orientation, embed, flatten, colour model) and [`encode`], polling the token between the
//! stages and between row strips inside the stages it drives itself. A JPEG that sharp would
//! reload smaller is decoded straight to that size by [`shrink`] when its layout allows.

mod decode;
mod encode;
mod options;
mod orient;
mod probe;
mod resample;
mod resize;
mod shrink;
#[cfg(test)]
mod tests;

pub use options::{OutputFormat, TransformOptions};
pub use probe::{Format, Header};

use super::{data_bytes, ErrorKind, Field, Input, InputKind, Kernel, KernelError};
use super::{Output, Param, RunError, Value};
use crate::executor::CancelToken;
use probe::Walk;
use resize::{Load, Plan};
use std::fmt;

/// sharp's default `limitInputPixels`: 0x3FFF × 0x3FFF.
pub const DEFAULT_LIMIT_INPUT_PIXELS: u64 = 0x3FFF * 0x3FFF;

/// Truncated or corrupt data, with the decoder's reason.
fn decode_error(format: &str, e: impl fmt::Display) -> KernelError {
    KernelError::new(
        ErrorKind::Generic,
        "ERR_POOL_IMAGE_DECODE",
        format!("Invalid {format} data: {e}"),
    )
}

/// An image (or a requested output) over a pixel limit or a format's size limit.
fn too_large(message: String) -> KernelError {
    KernelError::new(ErrorKind::Range, "ERR_POOL_IMAGE_TOO_LARGE", message)
}

fn unsupported_format() -> KernelError {
    KernelError::new(
        ErrorKind::Generic,
        "ERR_POOL_IMAGE_FORMAT",
        "Input buffer contains unsupported image format (not JPEG, PNG, WebP or GIF)",
    )
}

/// `limitInputPixels`: a pixel count (0: no limit), `true` (sharp's default) or `false` (no
/// limit), as sharp takes it; absent, the pool's (`pool`). No limit is `u64::MAX`.
fn limit_input_pixels(f: Field, pool: u64) -> Result<u64, KernelError> {
    const NAME: &str = "input.limitInputPixels";
    match f {
        Field::Missing => Ok(pool),
        Field::Bool(true) => Ok(DEFAULT_LIMIT_INPUT_PIXELS),
        Field::Bool(false) => Ok(u64::MAX),
        Field::Number(n) => {
            if !(n.is_finite() && n.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(&n))
            {
                return Err(KernelError::out_of_range(format!(
                    "The value of \"{NAME}\" is out of range. It must be an integer >= 0 or a \
                     boolean. Received {n}"
                )));
            }
            Ok(if n == 0.0 { u64::MAX } else { n as u64 })
        }
        f => Err(KernelError::invalid_type(format!(
            "The \"{NAME}\" property must be of type number or boolean. Received {}",
            f.received()
        ))),
    }
}

fn check_pixels(h: &Header, limit: u64) -> Result<(), KernelError> {
    let pixels = h.pixels();
    if pixels > limit {
        return Err(too_large(format!(
            "Input image exceeds pixel limit: {}x{} is {pixels} pixels, more than \
             limitInputPixels ({limit})",
            h.width, h.height
        )));
    }
    Ok(())
}

/// The header of `data` read in full (on a worker), checked against `limit`.
fn read_header(data: &[u8], limit: u64) -> Result<Header, KernelError> {
    let h = probe::probe(data, Walk::Full)?.expect("a full walk always ends");
    check_pixels(&h, limit)?;
    Ok(h)
}

/// `image.metadata`: format, size, bands, alpha and EXIF orientation from the header.
pub struct Metadata;

/// The header read by `prepare`, or the limit to check it against on the worker.
pub enum Probed {
    Read(Header),
    Later { limit: u64 },
}

impl Kernel for Metadata {
    const NAME: &'static str = "image.metadata";
    const INPUT: InputKind = InputKind::Data(&[Param::raw("limitInputPixels")]);
    type Args = Box<Probed>;

    fn prepare(mut input: Input<'_>) -> Result<Box<Probed>, KernelError> {
        let data = data_bytes(Self::NAME, input.value)?;
        let limit = limit_input_pixels(
            input.fields.raw("limitInputPixels"),
            input.pool.limit_input_pixels,
        )?;
        Ok(Box::new(match probe::probe(data, Walk::Bounded)? {
            Some(h) => {
                check_pixels(&h, limit)?;
                Probed::Read(h)
            }
            None => Probed::Later { limit },
        }))
    }

    fn run(args: &Box<Probed>, data: Value<'_>, _: &CancelToken<'_>) -> Result<Output, RunError> {
        let h = match **args {
            Probed::Read(h) => h,
            Probed::Later { limit } => read_header(data_bytes(Self::NAME, data)?, limit)?,
        };
        Ok(h.to_output())
    }
}

impl Header {
    /// sharp's `metadata()` shape: `{ format, width, height, channels, hasAlpha, orientation,
    /// size }`, `orientation` null when the image has none.
    fn to_output(self) -> Output {
        Output::Object(vec![
            ("format", Output::Str(self.format.name().into())),
            ("width", Output::Number(self.width.into())),
            ("height", Output::Number(self.height.into())),
            ("channels", Output::Number(self.channels.into())),
            ("hasAlpha", Output::Bool(self.has_alpha)),
            (
                "orientation",
                self.orientation
                    .map_or(Output::Null, |o| Output::Number(o.into())),
            ),
            ("size", Output::Number(self.size as f64)),
        ])
    }
}

/// `image.transform`: `{ data, rotate, resize, background, format, quality, lossless,
/// compressionLevel, limitInputPixels }` → `{ data: Buffer, info: { format, width, height,
/// size } }`.
pub struct Transform;

/// What `prepare` settles: the options, and the header and geometry when it could read them.
pub struct TransformJob {
    opts: TransformOptions,
    planned: Option<(Header, Plan)>,
}

impl Kernel for Transform {
    const NAME: &'static str = "image.transform";
    const INPUT: InputKind = InputKind::Data(options::PARAMS);
    type Args = Box<TransformJob>;

    fn prepare(mut input: Input<'_>) -> Result<Box<TransformJob>, KernelError> {
        let data = data_bytes(Self::NAME, input.value)?;
        let opts = TransformOptions::read(&mut input.fields, input.pool)?;
        let planned = match probe::probe(data, Walk::Bounded)? {
            Some(h) => Some((h, plan(&h, &opts)?)),
            None => None,
        };
        Ok(Box::new(TransformJob { opts, planned }))
    }

    fn run(
        job: &Box<TransformJob>,
        data: Value<'_>,
        token: &CancelToken<'_>,
    ) -> Result<Output, RunError> {
        let data = data_bytes(Self::NAME, data)?;
        let (h, plan) = match job.planned {
            Some(p) => p,
            None => {
                let h = read_header(data, job.opts.limit_input_pixels)?;
                (h, plan(&h, &job.opts)?)
            }
        };
        let out = pipeline(data, &h, &plan, &job.opts, token)?;
        let info = Output::Object(vec![
            ("format", Output::Str(plan.format.name().into())),
            ("width", Output::Number(plan.out_width.into())),
            ("height", Output::Number(plan.out_height.into())),
            ("size", Output::Number(out.len() as f64)),
        ]);
        Ok(Output::Object(vec![
            ("data", Output::Bytes(out)),
            ("info", info),
        ]))
    }
}

/// The geometry of a transform from the header alone, with every size checked: the input
/// against `limitInputPixels`, the output against the same limit (at least sharp's default)
/// and the output format's largest side.
fn plan(h: &Header, opts: &TransformOptions) -> Result<Plan, KernelError> {
    check_pixels(h, opts.limit_input_pixels)?;
    let plan = resize::plan(h, opts);
    let out_pixels = u64::from(plan.out_width) * u64::from(plan.out_height);
    let limit = opts.limit_input_pixels.max(DEFAULT_LIMIT_INPUT_PIXELS);
    if out_pixels > limit {
        return Err(too_large(format!(
            "The output image would be {}x{}, more than the pixel limit ({limit})",
            plan.out_width, plan.out_height
        )));
    }
    let max_side = plan.format.max_side();
    if plan.out_width > max_side || plan.out_height > max_side {
        return Err(too_large(format!(
            "The output image would be {}x{}, too large for {} (at most {max_side} per side)",
            plan.out_width,
            plan.out_height,
            plan.format.name()
        )));
    }
    Ok(plan)
}

/// Decode, resize, orient/embed/flatten, encode.
fn pipeline(
    data: &[u8],
    h: &Header,
    plan: &Plan,
    opts: &TransformOptions,
    token: &CancelToken<'_>,
) -> Result<Vec<u8>, RunError> {
    token.check()?;
    let shrunk = match plan.load {
        Load::JpegShrink(n) => {
            let ycbcr = plan.format == OutputFormat::Jpeg;
            shrink::decode(
                data,
                h,
                n,
                (plan.load_width, plan.load_height),
                ycbcr,
                token,
            )?
        }
        _ => None,
    };
    token.check()?;
    let img = match shrunk {
        Some(img) => resample::from_load(img, plan, token)?,
        None => {
            let img = decode::decode(data, h, token)?;
            token.check()?;
            resample::apply(img, plan, token)?
        }
    };
    token.check()?;
    let img = orient::finish(img, plan, opts, token)?;
    token.check()?;
    let out = encode::encode(&img, plan.format, opts, token)?;
    token.check()?;
    Ok(out)
}

/// Transforms `data` directly (tests, benches): the header is read in full.
pub fn transform(
    data: &[u8],
    opts: &TransformOptions,
    token: &CancelToken<'_>,
) -> Result<(Vec<u8>, u32, u32), RunError> {
    let h = read_header(data, opts.limit_input_pixels)?;
    let plan = plan(&h, opts)?;
    let out = pipeline(data, &h, &plan, opts, token)?;
    Ok((out, plan.out_width, plan.out_height))
}
