//! `image.transform`'s params as the binding reads them ([`PARAMS`]) and as a typed struct
//! with sharp's defaults ([`TransformOptions::read`]); errors name the property.

use super::{limit_input_pixels, DEFAULT_LIMIT_INPUT_PIXELS};
use crate::kernels::{Field, Fields, KernelError, Param, PoolParams};

/// The largest `resize.width`/`resize.height` (libvips' own coordinate limit). The output is
/// also bounded by the pixel limit and by the format.
pub const MAX_SIDE: u32 = 10_000_000;

const RESIZE: &[Param] = &[
    // Positive integers up to MAX_SIDE, or absent (or null) for "auto".
    Param::raw("width"),
    Param::raw("height"),
    Param::opt_str("fit"),
    // A position or gravity name, or sharp's gravity number (0–8).
    Param::raw("position"),
    Param::opt_str("kernel"),
    Param::bool("withoutEnlargement", false),
    Param::bool("withoutReduction", false),
    Param::opt_str("background"),
];

pub(super) const PARAMS: &[Param] = &[
    // 'auto' (EXIF orientation) or a multiple of 90.
    Param::raw("rotate"),
    Param::object("resize", RESIZE),
    Param::opt_str("background"),
    Param::opt_str("format"),
    Param::int("quality", 1, 100, Some(80)),
    Param::bool("lossless", false),
    Param::int("compressionLevel", 0, 9, Some(6)),
    // A pixel count (0: none), or a boolean; absent: the pool's. See `limit_input_pixels`.
    Param::raw("limitInputPixels"),
];

/// `rotate`: `'auto'` (the EXIF orientation, sharp's `autoOrient()`), or an angle applied
/// before resizing with EXIF ignored (sharp's `rotate(angle).resize(...)`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rotate {
    #[default]
    Auto,
    /// Clockwise quarter turns (0–3).
    Turns(u8),
}

impl Rotate {
    fn read(f: Field) -> Result<Rotate, KernelError> {
        match f {
            Field::Missing => Ok(Rotate::Auto),
            Field::Str(s) if s == "auto" => Ok(Rotate::Auto),
            // Like sharp, any multiple of 90 (negative too).
            Field::Number(n) if n.is_finite() && n.fract() == 0.0 && n % 90.0 == 0.0 => {
                Ok(Rotate::Turns(((n / 90.0) as i64).rem_euclid(4) as u8))
            }
            Field::Number(n) => Err(KernelError::out_of_range(format!(
                "The value of \"input.rotate\" is out of range. It must be a multiple of 90. \
                 Received {n}"
            ))),
            Field::Str(s) => Err(invalid("rotate", "'auto' or a multiple of 90", &s)),
            f => Err(KernelError::invalid_type(format!(
                "The \"input.rotate\" property must be 'auto' or a number. Received {}",
                f.received()
            ))),
        }
    }
}

/// A string param that is not one of the accepted names.
fn invalid(name: &str, accepted: &str, got: &str) -> KernelError {
    KernelError::invalid_value(format!(
        "The property 'input.{name}' must be one of {accepted}. Received '{got}'"
    ))
}

/// Parses a named option with `parse`, or `default` when absent.
fn named<T>(
    name: &str,
    value: Option<String>,
    parse: fn(&str) -> Option<T>,
    accepted: &str,
    default: T,
) -> Result<T, KernelError> {
    match value {
        None => Ok(default),
        Some(s) => parse(&s).ok_or_else(|| invalid(name, accepted, &s)),
    }
}

/// sharp's `fit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fit {
    #[default]
    Cover,
    Contain,
    Fill,
    Inside,
    Outside,
}

impl Fit {
    const NAMES: &'static str = "'cover', 'contain', 'fill', 'inside', 'outside'";
    fn from_name(name: &str) -> Option<Fit> {
        Some(match name {
            "cover" => Fit::Cover,
            "contain" => Fit::Contain,
            "fill" => Fit::Fill,
            "inside" => Fit::Inside,
            "outside" => Fit::Outside,
            _ => return None,
        })
    }
}

/// sharp's `position` for `cover` and `contain`, in its gravity numbering (0 centre, 1 north,
/// 2 east, 3 south, 4 west, 5 northeast, 6 southeast, 7 southwest, 8 northwest).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Position {
    #[default]
    Centre,
    North,
    East,
    South,
    West,
    NorthEast,
    SouthEast,
    SouthWest,
    NorthWest,
}

impl Position {
    const ALL: [Position; 9] = [
        Position::Centre,
        Position::North,
        Position::East,
        Position::South,
        Position::West,
        Position::NorthEast,
        Position::SouthEast,
        Position::SouthWest,
        Position::NorthWest,
    ];
    const NAMES: &'static str = "a position ('top', 'right top', ...), a gravity ('north', \
        'northeast', ..., 'centre') or a gravity number 0-8";

    /// sharp's position names (`'right top'`) and gravity names (`'northeast'`).
    fn from_name(name: &str) -> Option<Position> {
        Some(match name {
            "centre" | "center" => Position::Centre,
            "top" | "north" => Position::North,
            "right" | "east" => Position::East,
            "bottom" | "south" => Position::South,
            "left" | "west" => Position::West,
            "right top" | "northeast" => Position::NorthEast,
            "right bottom" | "southeast" => Position::SouthEast,
            "left bottom" | "southwest" => Position::SouthWest,
            "left top" | "northwest" => Position::NorthWest,
            _ => return None,
        })
    }

    fn read(f: Field) -> Result<Position, KernelError> {
        match f {
            Field::Missing => Ok(Position::Centre),
            Field::Str(s) => Position::from_name(&s)
                .ok_or_else(|| invalid("resize.position", Position::NAMES, &s)),
            Field::Number(n) if n.fract() == 0.0 && (0.0..=8.0).contains(&n) => {
                Ok(Position::ALL[n as usize])
            }
            Field::Number(n) => Err(KernelError::out_of_range(format!(
                "The value of \"input.resize.position\" is out of range. It must be a gravity \
                 number >= 0 && <= 8. Received {n}"
            ))),
            f => Err(KernelError::invalid_type(format!(
                "The \"input.resize.position\" property must be of type string or number. \
                 Received {}",
                f.received()
            ))),
        }
    }
}

/// sharp's `kernel`: the reduction kernel (when an axis grows, libvips interpolates instead;
/// see `resize::algorithm`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Filter {
    Nearest,
    Linear,
    Cubic,
    Mitchell,
    Lanczos2,
    #[default]
    Lanczos3,
    Mks2013,
    Mks2021,
}

impl Filter {
    const NAMES: &'static str =
        "'nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3', 'mks2013', 'mks2021'";
    fn from_name(name: &str) -> Option<Filter> {
        Some(match name {
            "nearest" => Filter::Nearest,
            "linear" => Filter::Linear,
            "cubic" => Filter::Cubic,
            "mitchell" => Filter::Mitchell,
            "lanczos2" => Filter::Lanczos2,
            "lanczos3" => Filter::Lanczos3,
            "mks2013" => Filter::Mks2013,
            "mks2021" => Filter::Mks2021,
            _ => return None,
        })
    }
}

/// `resize`: as sharp's `resize({ width, height, fit, position, kernel, withoutEnlargement,
/// withoutReduction, background })`. `width`/`height` 0: not given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resize {
    pub width: u32,
    pub height: u32,
    pub fit: Fit,
    pub position: Position,
    pub kernel: Filter,
    pub without_enlargement: bool,
    pub without_reduction: bool,
    /// `contain`'s padding; the transform's `background` when not given.
    pub background: Option<Rgba>,
}

/// `resize.width`/`resize.height`: a positive integer, or absent/null.
fn side(name: &str, f: Field) -> Result<u32, KernelError> {
    match f {
        Field::Missing | Field::Other("null") => Ok(0),
        Field::Number(n) if n.fract() == 0.0 && n >= 1.0 && n <= f64::from(MAX_SIDE) => {
            Ok(n as u32)
        }
        Field::Number(n) => Err(KernelError::out_of_range(format!(
            "The value of \"input.resize.{name}\" is out of range. It must be an integer >= 1 \
             && <= {MAX_SIDE}. Received {n}"
        ))),
        f => Err(KernelError::invalid_type(format!(
            "The \"input.resize.{name}\" property must be of type number. Received {}",
            f.received()
        ))),
    }
}

impl Resize {
    fn read(f: &mut Fields) -> Result<Resize, KernelError> {
        let r = Resize {
            width: side("width", f.raw("width"))?,
            height: side("height", f.raw("height"))?,
            fit: named(
                "resize.fit",
                f.opt_str("fit")?,
                Fit::from_name,
                Fit::NAMES,
                Fit::Cover,
            )?,
            position: Position::read(f.raw("position"))?,
            kernel: named(
                "resize.kernel",
                f.opt_str("kernel")?,
                Filter::from_name,
                Filter::NAMES,
                Filter::Lanczos3,
            )?,
            without_enlargement: f.bool("withoutEnlargement")?,
            without_reduction: f.bool("withoutReduction")?,
            background: colour("resize.background", f.opt_str("background")?)?,
        };
        if r.without_enlargement && r.without_reduction {
            return Err(KernelError::invalid_value(
                "The options 'input.resize.withoutEnlargement' and \
                 'input.resize.withoutReduction' cannot both be true",
            ));
        }
        Ok(r)
    }
}

/// A colour; alpha 0–255.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgba {
    pub r: u8,
    pub g: u8,
    pub b: u8,
    pub a: u8,
}

impl Rgba {
    /// sharp's default background for `contain` and for flattening: opaque black.
    pub const BLACK: Rgba = Rgba {
        r: 0,
        g: 0,
        b: 0,
        a: 255,
    };
}

/// `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`, `white`, `black` or `transparent` (a subset of
/// the CSS colours sharp's `color` package parses).
pub fn parse_colour(s: &str) -> Option<Rgba> {
    let s = s.trim().to_ascii_lowercase();
    let named = |r, g, b, a| Some(Rgba { r, g, b, a });
    match s.as_str() {
        "white" => return named(255, 255, 255, 255),
        "black" => return named(0, 0, 0, 255),
        "transparent" => return named(0, 0, 0, 0),
        _ => {}
    }
    let hex = s.strip_prefix('#')?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let digit = |i: usize| u8::from_str_radix(&hex[i..i + 1], 16).ok().map(|d| d * 17);
    let pair = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    match hex.len() {
        3 => named(digit(0)?, digit(1)?, digit(2)?, 255),
        4 => named(digit(0)?, digit(1)?, digit(2)?, digit(3)?),
        6 => named(pair(0)?, pair(2)?, pair(4)?, 255),
        8 => named(pair(0)?, pair(2)?, pair(4)?, pair(6)?),
        _ => None,
    }
}

fn colour(name: &str, value: Option<String>) -> Result<Option<Rgba>, KernelError> {
    value
        .map(|s| {
            parse_colour(&s).ok_or_else(|| {
                KernelError::invalid_value(format!(
                    "The property 'input.{name}' must be a colour: '#rgb', '#rgba', '#rrggbb', \
                     '#rrggbbaa', 'white', 'black' or 'transparent'. Received '{s}'"
                ))
            })
        })
        .transpose()
}

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Jpeg,
    Png,
    Webp,
}

impl OutputFormat {
    const NAMES: &'static str = "'jpeg', 'jpg', 'png', 'webp'";
    fn from_name(name: &str) -> Option<OutputFormat> {
        Some(match name {
            "jpeg" | "jpg" => OutputFormat::Jpeg,
            "png" => OutputFormat::Png,
            "webp" => OutputFormat::Webp,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpeg",
            OutputFormat::Png => "png",
            OutputFormat::Webp => "webp",
        }
    }
    /// The largest side the format stores.
    pub(super) fn max_side(self) -> u32 {
        match self {
            OutputFormat::Jpeg => 65535,
            OutputFormat::Png => 0x7fff_ffff,
            OutputFormat::Webp => 16383,
        }
    }
}

/// Everything `image.transform` takes besides the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransformOptions {
    pub rotate: Rotate,
    pub resize: Option<Resize>,
    /// For flattening alpha into JPEG, and `contain`'s padding unless `resize.background`.
    pub background: Rgba,
    /// `None`: the input's format (PNG for GIF input: there is no GIF encoder).
    pub format: Option<OutputFormat>,
    /// JPEG and WebP quality, 1–100.
    pub quality: u8,
    /// WebP: lossless.
    pub lossless: bool,
    /// PNG: zlib level, 0–9.
    pub compression_level: u8,
    /// Largest `width × height` a header may claim; `u64::MAX` for no limit.
    pub limit_input_pixels: u64,
}

impl Default for TransformOptions {
    fn default() -> Self {
        Self {
            rotate: Rotate::Auto,
            resize: None,
            background: Rgba::BLACK,
            format: None,
            quality: 80,
            lossless: false,
            compression_level: 6,
            limit_input_pixels: DEFAULT_LIMIT_INPUT_PIXELS,
        }
    }
}

impl TransformOptions {
    /// Reads and checks the params declared in [`PARAMS`]; what a task leaves out of
    /// `pool`'s params comes from them.
    pub(super) fn read(f: &mut Fields, pool: PoolParams) -> Result<TransformOptions, KernelError> {
        let resize = match f.object("resize")? {
            Some(mut r) => Some(Resize::read(&mut r)?),
            None => None,
        };
        Ok(TransformOptions {
            rotate: Rotate::read(f.raw("rotate"))?,
            resize,
            background: colour("background", f.opt_str("background")?)?.unwrap_or(Rgba::BLACK),
            format: f
                .opt_str("format")?
                .map(|s| {
                    OutputFormat::from_name(&s)
                        .ok_or_else(|| invalid("format", OutputFormat::NAMES, &s))
                })
                .transpose()?,
            quality: f.int("quality")? as u8,
            lossless: f.bool("lossless")?,
            compression_level: f.int("compressionLevel")? as u8,
            limit_input_pixels: limit_input_pixels(
                f.raw("limitInputPixels"),
                pool.limit_input_pixels,
            )?,
        })
    }
}
