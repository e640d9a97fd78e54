//! Header-only reading: format, dimensions, bands, alpha and EXIF orientation, without
//! decoding a pixel. Every read is bounds-checked; a header that ends early is a decode error.
//!
//! On the JS thread ([`Walk::Bounded`]) the walk over segments/chunks/blocks before the frame
//! header is capped, and EXIF blocks over 64 KiB are not parsed there: such a file gives
//! `Ok(None)` and is read again on a worker with [`Walk::Full`]. A crafted file of a million
//! tiny segments then costs the event loop a few microseconds, not a second.

use super::{decode_error, unsupported_format};
use crate::kernels::KernelError;

/// An input format the kernels read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    Gif,
}

impl Format {
    /// sharp's name for it (`metadata().format`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Gif => "gif",
        }
    }
}

/// What a header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// Bands of the decoded image, as sharp reports them (1 grey, 2 grey+alpha, 3, 4).
    pub channels: u8,
    pub has_alpha: bool,
    /// The EXIF orientation tag (1–8), if present and valid.
    pub orientation: Option<u8>,
    /// The input's length in bytes.
    pub size: usize,
}

impl Header {
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// How far a probe may walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Walk {
    /// On the JS thread: at most [`MAX_STEPS`] segments, chunks or blocks, and EXIF blocks up
    /// to [`MAX_EXIF`] bytes.
    Bounded,
    /// On a worker: to the end if need be.
    Full,
}

/// Segments/chunks/blocks walked before giving up on the JS thread (real files need a few
/// dozen; a large ICC profile in JPEG takes at most 255).
pub const MAX_STEPS: usize = 4096;
/// EXIF blocks parsed on the JS thread: JPEG's are at most this long anyway.
pub const MAX_EXIF: usize = 64 * 1024;

/// Counts the steps of a walk; `None` once a bounded walk is over its cap.
struct Steps {
    walk: Walk,
    n: usize,
}

impl Steps {
    fn new(walk: Walk) -> Self {
        Steps { walk, n: 0 }
    }
    fn step(&mut self) -> Option<()> {
        self.n += 1;
        (self.walk == Walk::Full || self.n <= MAX_STEPS).then_some(())
    }
}

/// Identifies the format by its signature and reads its header; `Ok(None)`: a bounded walk
/// gave up (read it again with [`Walk::Full`]).
pub fn probe(data: &[u8], walk: Walk) -> Result<Option<Header>, KernelError> {
    let format = sniff(data).ok_or_else(unsupported_format)?;
    let h = match format {
        Format::Jpeg => jpeg(data, walk),
        Format::Png => png(data, walk),
        Format::Webp => webp(data, walk),
        Format::Gif => gif(data, walk),
    }?;
    if let Some(h) = &h {
        if h.width == 0 || h.height == 0 {
            return Err(decode_error(
                format.name(),
                format!("the image has zero size ({}x{})", h.width, h.height),
            ));
        }
    }
    Ok(h)
}

/// The format a signature names.
pub fn sniff(data: &[u8]) -> Option<Format> {
    if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Some(Format::Webp)
    } else if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        Some(Format::Gif)
    } else {
        None
    }
}

fn truncated(format: Format) -> KernelError {
    decode_error(format.name(), "the header is truncated")
}

fn be16(d: &[u8], at: usize) -> Option<u32> {
    Some(u16::from_be_bytes(d.get(at..at.checked_add(2)?)?.try_into().ok()?).into())
}
fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        d.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}
fn le16(d: &[u8], at: usize) -> Option<u32> {
    Some(u16::from_le_bytes(d.get(at..at.checked_add(2)?)?.try_into().ok()?).into())
}
fn le24(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at.checked_add(3)?)?;
    Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
}
fn le32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        d.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// The orientation tag of a TIFF-structured EXIF block, if valid (1–8). `Err(())`: a bounded
/// walk may not parse a block this large.
fn exif_orientation(tiff: &[u8], walk: Walk) -> Result<Option<u8>, ()> {
    if walk == Walk::Bounded && tiff.len() > MAX_EXIF {
        return Err(());
    }
    // A malformed EXIF block is ignored, as libvips ignores it: it does not make the image
    // unreadable.
    let Ok(exif) = exif::Reader::new().read_raw(tiff.to_vec()) else {
        return Ok(None);
    };
    Ok(exif
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|v| u8::try_from(v).ok())
        .filter(|v| (1..=8).contains(v)))
}

/// JPEG: markers up to the frame header (SOFn); the first APP1 "Exif" before it gives the
/// orientation.
fn jpeg(d: &[u8], walk: Walk) -> Result<Option<Header>, KernelError> {
    let bad = || truncated(Format::Jpeg);
    let mut steps = Steps::new(walk);
    let mut at = 2;
    let mut orientation = None;
    let mut seen_exif = false;
    loop {
        if steps.step().is_none() {
            return Ok(None);
        }
        // Markers may be preceded by 0xFF fill bytes.
        while d.get(at) == Some(&0xFF) && d.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        if d.get(at) != Some(&0xFF) {
            return Err(decode_error("jpeg", "expected a marker"));
        }
        let marker = *d.get(at + 1).ok_or_else(bad)?;
        at += 2;
        match marker {
            // Standalone markers: no length.
            0x01 | 0xD0..=0xD7 => continue,
            0xD9 | 0xDA => {
                return Err(decode_error("jpeg", "no frame header before the scan"));
            }
            _ => {}
        }
        let len = be16(d, at).ok_or_else(bad)? as usize;
        if len < 2 {
            return Err(decode_error("jpeg", "a segment length is < 2"));
        }
        let seg = d.get(at + 2..at + len).ok_or_else(bad)?;
        match marker {
            0xE1 if !seen_exif && seg.starts_with(b"Exif\0\0") => {
                seen_exif = true;
                match exif_orientation(&seg[6..], walk) {
                    Ok(o) => orientation = o,
                    Err(()) => return Ok(None),
                }
            }
            // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let height = be16(seg, 1).ok_or_else(bad)?;
                let width = be16(seg, 3).ok_or_else(bad)?;
                let channels = match *seg.get(5).ok_or_else(bad)? {
                    n @ (1 | 3 | 4) => n,
                    n => {
                        return Err(decode_error(
                            "jpeg",
                            format!("unsupported number of components: {n}"),
                        ))
                    }
                };
                return Ok(Some(Header {
                    format: Format::Jpeg,
                    width,
                    height,
                    channels,
                    has_alpha: false,
                    orientation,
                    size: d.len(),
                }));
            }
            _ => {}
        }
        at += len;
    }
}

/// PNG: IHDR, then the chunks before IDAT for tRNS (alpha) and eXIf (orientation).
fn png(d: &[u8], walk: Walk) -> Result<Option<Header>, KernelError> {
    let bad = || truncated(Format::Png);
    if d.get(12..16) != Some(b"IHDR") {
        return Err(decode_error("png", "the IHDR chunk is missing"));
    }
    let width = be32(d, 16).ok_or_else(bad)?;
    let height = be32(d, 20).ok_or_else(bad)?;
    if width > 0x7fff_ffff || height > 0x7fff_ffff {
        return Err(decode_error("png", "the image size is over 2^31 - 1"));
    }
    let (mut channels, mut has_alpha) = match *d.get(25).ok_or_else(bad)? {
        0 => (1, false),
        2 | 3 => (3, false),
        4 => (2, true),
        6 => (4, true),
        n => return Err(decode_error("png", format!("invalid colour type {n}"))),
    };
    let mut steps = Steps::new(walk);
    let mut orientation = None;
    let mut at = 8;
    while let (Some(len), Some(kind)) = (be32(d, at), d.get(at + 4..at + 8)) {
        if steps.step().is_none() {
            return Ok(None);
        }
        let body = at + 8..(at + 8).saturating_add(len as usize);
        match kind {
            b"IDAT" | b"IEND" => break,
            // As libpng. The png crate (0.18.1) accepts such a palette and then panics
            // expanding it (image-rs/image-png#694).
            b"PLTE" if len % 3 != 0 => {
                return Err(decode_error(
                    "png",
                    format!("the PLTE chunk is {len} bytes, not a multiple of 3"),
                ));
            }
            b"tRNS" if !has_alpha => {
                has_alpha = true;
                channels += 1;
            }
            b"eXIf" => {
                if let Some(b) = d.get(body.clone()) {
                    match exif_orientation(b, walk) {
                        Ok(o) => orientation = o,
                        Err(()) => return Ok(None),
                    }
                }
            }
            _ => {}
        }
        at = body.end.saturating_add(4);
    }
    Ok(Some(Header {
        format: Format::Png,
        width,
        height,
        channels,
        has_alpha,
        orientation,
        size: d.len(),
    }))
}

/// WebP: the first chunk (VP8, VP8L or VP8X) gives the size; VP8X flags alpha and EXIF.
fn webp(d: &[u8], walk: Walk) -> Result<Option<Header>, KernelError> {
    let bad = || truncated(Format::Webp);
    let kind = d.get(12..16).ok_or_else(bad)?;
    let body = 20;
    let (width, height, has_alpha, has_exif) = match kind {
        b"VP8 " => {
            // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit sizes.
            if d.get(body + 3..body + 6) != Some(&[0x9d, 0x01, 0x2a]) {
                return Err(decode_error("webp", "bad VP8 start code"));
            }
            let w = le16(d, body + 6).ok_or_else(bad)? & 0x3fff;
            let h = le16(d, body + 8).ok_or_else(bad)? & 0x3fff;
            (w, h, false, false)
        }
        b"VP8L" => {
            if d.get(body) != Some(&0x2f) {
                return Err(decode_error("webp", "bad VP8L signature"));
            }
            let bits = le32(d, body + 1).ok_or_else(bad)?;
            let w = (bits & 0x3fff) + 1;
            let h = ((bits >> 14) & 0x3fff) + 1;
            (w, h, bits >> 28 & 1 == 1, false)
        }
        b"VP8X" => {
            let flags = *d.get(body).ok_or_else(bad)?;
            let w = le24(d, body + 4).ok_or_else(bad)? + 1;
            let h = le24(d, body + 7).ok_or_else(bad)? + 1;
            (w, h, flags & 0x10 != 0, flags & 0x08 != 0)
        }
        _ => return Err(decode_error("webp", "unknown first chunk")),
    };
    let mut orientation = None;
    if has_exif {
        let mut steps = Steps::new(walk);
        let mut at = 12;
        while let (Some(kind), Some(len)) = (d.get(at..at + 4), le32(d, at + 4)) {
            if steps.step().is_none() {
                return Ok(None);
            }
            let end = (at + 8).saturating_add(len as usize);
            if kind == b"EXIF" {
                if let Some(b) = d.get(at + 8..end) {
                    // Some writers keep JPEG's "Exif\0\0" prefix.
                    let tiff = b.strip_prefix(b"Exif\0\0").unwrap_or(b);
                    match exif_orientation(tiff, walk) {
                        Ok(o) => orientation = o,
                        Err(()) => return Ok(None),
                    }
                }
                break;
            }
            at = end.saturating_add(len as usize & 1);
        }
    }
    Ok(Some(Header {
        format: Format::Webp,
        width,
        height,
        channels: if has_alpha { 4 } else { 3 },
        has_alpha,
        orientation,
        size: d.len(),
    }))
}

/// GIF: the logical screen size; alpha when a graphic control extension before the first
/// image sets the transparency flag (libvips decodes such GIFs to RGBA, others to RGB).
fn gif(d: &[u8], walk: Walk) -> Result<Option<Header>, KernelError> {
    let bad = || truncated(Format::Gif);
    let width = le16(d, 6).ok_or_else(bad)?;
    let height = le16(d, 8).ok_or_else(bad)?;
    let flags = *d.get(10).ok_or_else(bad)?;
    let mut at = 13;
    if flags & 0x80 != 0 {
        at += 3 << ((flags & 7) + 1);
    }
    let mut steps = Steps::new(walk);
    let mut has_alpha = false;
    // Extensions up to the first image descriptor (0x2C) or the trailer (0x3B).
    while d.get(at) == Some(&0x21) {
        let label = *d.get(at + 1).ok_or_else(bad)?;
        if label == 0xF9 && d.get(at + 2) == Some(&4) {
            has_alpha |= d.get(at + 3).ok_or_else(bad)? & 1 == 1;
        }
        at += 2;
        // Sub-blocks, each length-prefixed, up to a zero length.
        loop {
            if steps.step().is_none() {
                return Ok(None);
            }
            let n = *d.get(at).ok_or_else(bad)? as usize;
            at += 1 + n;
            if n == 0 {
                break;
            }
        }
    }
    Ok(Some(Header {
        format: Format::Gif,
        width,
        height,
        channels: if has_alpha { 4 } else { 3 },
        has_alpha,
        orientation: None,
        size: d.len(),
    }))
}
