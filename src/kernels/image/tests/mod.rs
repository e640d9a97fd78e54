//! The kernels on their own: headers, the bounded walk, limits before allocation, resizing in
//! strips, orientation and crop, every format round trip, coded errors, cancellation. The
//! comparisons with sharp itself are in `__test__/image.test.js`. Headers, limits, errors and
//! options here; pixels (strips, orientation, formats, backgrounds, cancellation) in `pixels.rs`.

use super::decode::{self, Image, Model};
use super::encode;
use super::options::{parse_colour, Fit, Resize, Rgba, Rotate};
use super::resample::apply_in_strips;
use super::resize;
use super::*;
use crate::executor::{CancelToken, TaskCtl};
use crate::kernels::conformance::CONFORMANCE;
use crate::kernels::{Field, KernelId, PoolParams};
use std::sync::atomic::AtomicBool;

fn file(name: &str) -> Vec<u8> {
    let path = format!("{CONFORMANCE}/images/{name}");
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn never() -> CancelToken<'static> {
    CancelToken::never()
}

fn header(data: &[u8]) -> Header {
    probe::probe(data, Walk::Full).unwrap().unwrap()
}

/// Decodes any output back to RGB(A) pixels with the kernels' own decoders.
fn pixels(data: &[u8]) -> Image {
    decode::decode(data, &header(data), &never()).expect("output decodes")
}

/// PSNR over all bytes, in dB (infinite when equal).
fn psnr(a: &Image, b: &Image) -> f64 {
    assert_eq!((a.width, a.height, a.model), (b.width, b.height, b.model));
    let se: f64 = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum();
    10.0 * (255.0 * 255.0 / (se / a.data.len() as f64)).log10()
}

/// A smooth RGB test image with a bright corner, so orientations and crops differ.
fn pattern(w: u32, h: u32, model: Model) -> Image {
    let c = model.channels();
    let mut data = Vec::with_capacity(w as usize * h as usize * c);
    for y in 0..h {
        for x in 0..w {
            let v = [
                (x * 255 / w.max(2)) as u8,
                (y * 255 / h.max(2)) as u8,
                ((x + 2 * y) % 200) as u8,
                (255 - (x + y) * 255 / (w + h)) as u8,
            ];
            data.extend_from_slice(&v[..c]);
        }
    }
    Image {
        width: w,
        height: h,
        model,
        data,
    }
}

fn with(format: OutputFormat, resize: Option<Resize>) -> TransformOptions {
    TransformOptions {
        format: Some(format),
        resize,
        ..TransformOptions::default()
    }
}

fn sized(width: u32, height: u32, fit: Fit) -> Option<Resize> {
    Some(Resize {
        width,
        height,
        fit,
        ..Resize::default()
    })
}

fn code(r: Result<impl std::fmt::Debug, RunError>) -> &'static str {
    match r {
        Err(RunError::Failed(e)) => e.code,
        other => panic!("expected a coded failure, got {other:?}"),
    }
}

#[test]
fn headers() {
    type Case = (&'static str, Format, u32, u32, u8, bool, Option<u8>);
    let cases: &[Case] = &[
        ("odd.jpg", Format::Jpeg, 37, 23, 3, false, None),
        ("grey.jpg", Format::Jpeg, 33, 21, 1, false, None),
        (
            "tower/tower_grayscale.jpg",
            Format::Jpeg,
            512,
            512,
            1,
            false,
            None,
        ),
        ("orient-6.jpg", Format::Jpeg, 64, 48, 3, false, Some(6)),
        ("orient-6.png", Format::Png, 64, 48, 3, false, Some(6)),
        ("orient-6.webp", Format::Webp, 64, 48, 3, false, Some(6)),
        ("alpha.png", Format::Png, 40, 30, 4, true, None),
        ("grey-alpha.png", Format::Png, 33, 21, 2, true, None),
        ("palette.png", Format::Png, 30, 20, 3, false, None),
        ("palette-alpha.png", Format::Png, 30, 20, 4, true, None),
        ("alpha.webp", Format::Webp, 40, 30, 4, true, None),
        ("lossy.webp", Format::Webp, 37, 23, 3, false, None),
        ("pattern.gif", Format::Gif, 37, 23, 3, false, None),
        ("alpha.gif", Format::Gif, 37, 23, 4, true, None),
        ("bomb.png", Format::Png, 100_000, 100_000, 1, false, None),
        ("tower/tower.jpg", Format::Jpeg, 512, 512, 3, false, None),
    ];
    for &(name, format, width, height, channels, has_alpha, orientation) in cases {
        let data = file(name);
        let h = probe::probe(&data, Walk::Bounded).unwrap().unwrap();
        let want = Header {
            format,
            width,
            height,
            channels,
            has_alpha,
            orientation,
            size: data.len(),
        };
        assert_eq!(h, want, "{name}");
    }
    for o in 1..=8 {
        let h = header(&file(&format!("orient-{o}.jpg")));
        assert_eq!(h.orientation, Some(o));
    }
}

#[test]
fn a_long_walk_is_left_to_the_worker() {
    // 5000 segments before the frame header: over the JS thread's cap, read on the worker.
    let data = file("many-segments.jpg");
    assert_eq!(probe::probe(&data, Walk::Bounded), Ok(None));
    assert_eq!(header(&data).width, 64);
    let args = Transform::prepare(Input::plain(Transform::INPUT, Value::Bytes(&data))).unwrap();
    assert!(args.planned.is_none());
    let out = Transform::run(&args, Value::Bytes(&data), &never()).unwrap();
    let Output::Object(props) = out else {
        panic!("an object")
    };
    assert_eq!(props[0].0, "data");
    let Output::Bytes(jpeg) = &props[0].1 else {
        panic!("bytes")
    };
    assert_eq!(header(jpeg).width, 64);
}

#[test]
fn bombs_are_refused_from_the_header() {
    for name in ["bomb.png", "bomb.jpg"] {
        let data = file(name);
        let meta = Metadata::prepare(Input::plain(Metadata::INPUT, Value::Bytes(&data)));
        assert_eq!(
            meta.err().unwrap().code,
            "ERR_POOL_IMAGE_TOO_LARGE",
            "{name}"
        );
        let e = Transform::prepare(Input::plain(Transform::INPUT, Value::Bytes(&data)));
        let e = e.err().unwrap();
        assert_eq!(e.code, "ERR_POOL_IMAGE_TOO_LARGE", "{name}");
        assert_eq!(e.kind, ErrorKind::Range);
        // Without a limit, the header is accepted (and only then would pixels be allocated).
        let unlimited = Input::record(
            Value::Bytes(&data),
            Transform::INPUT.params(),
            &[("limitInputPixels", Field::Bool(false))],
        );
        let job = Transform::prepare(unlimited).unwrap();
        let plan = job.planned.unwrap().1;
        assert_eq!(
            (plan.out_width, plan.out_height),
            (header(&data).width, header(&data).height)
        );
    }
    // A limit set per task.
    let data = file("odd.jpg");
    let limited = |n: f64| {
        Transform::prepare(Input::record(
            Value::Bytes(&data),
            Transform::INPUT.params(),
            &[("limitInputPixels", Field::Number(n))],
        ))
    };
    assert!(limited(37.0 * 23.0).is_ok());
    assert_eq!(
        limited(37.0 * 23.0 - 1.0).err().unwrap().code,
        "ERR_POOL_IMAGE_TOO_LARGE"
    );
    assert_eq!(limited(-1.0).err().unwrap().code, "ERR_OUT_OF_RANGE");
    assert_eq!(limited(1.5).err().unwrap().code, "ERR_OUT_OF_RANGE");
}

#[test]
fn the_pool_sets_the_default_limit_and_a_task_overrides_it() {
    let data = file("odd.jpg"); // 37 x 23
    let pool = |limit| PoolParams {
        limit_input_pixels: limit,
    };
    let meta = |given: &[(&str, Field)], p| {
        Metadata::prepare(
            Input::record(Value::Bytes(&data), Metadata::INPUT.params(), given).in_pool(p),
        )
        .map(drop)
        .map_err(|e| e.code)
    };
    let transform = |given: &[(&str, Field)], p| {
        Transform::prepare(
            Input::record(Value::Bytes(&data), Transform::INPUT.params(), given).in_pool(p),
        )
        .map(drop)
        .map_err(|e| e.code)
    };
    let big = "ERR_POOL_IMAGE_TOO_LARGE";
    type Run<'a> = &'a dyn Fn(&[(&str, Field)], PoolParams) -> Result<(), &'static str>;
    for run in [&meta as Run, &transform] {
        assert_eq!(run(&[], pool(851)), Ok(()));
        assert_eq!(run(&[], pool(850)), Err(big));
        // A task's own value wins, lower or higher; `true` is sharp's default, not the pool's.
        let n = |n| [("limitInputPixels", Field::Number(n))];
        assert_eq!(run(&n(850.0), pool(851)), Err(big));
        assert_eq!(run(&n(851.0), pool(850)), Ok(()));
        assert_eq!(run(&n(0.0), pool(1)), Ok(()));
        let b = |b| [("limitInputPixels", Field::Bool(b))];
        assert_eq!(run(&b(true), pool(1)), Ok(()));
        assert_eq!(run(&b(false), pool(1)), Ok(()));
        assert_eq!(run(&[], pool(u64::MAX)), Ok(()));
    }
    // The bomb under a pool without a limit is accepted; under the default it is not.
    let bomb = file("bomb.png");
    let job = |p| {
        Metadata::prepare(Input::plain(Metadata::INPUT, Value::Bytes(&bomb)).in_pool(p))
            .map(drop)
            .map_err(|e| e.code)
    };
    assert_eq!(job(PoolParams::default()), Err(big));
    assert_eq!(job(pool(u64::MAX)), Ok(()));
}

#[test]
fn an_output_over_the_limit_or_the_format_is_refused() {
    let data = file("odd.jpg");
    let huge = with(OutputFormat::Webp, sized(20000, 0, Fit::Inside));
    assert_eq!(
        code(transform(&data, &huge, &never())),
        "ERR_POOL_IMAGE_TOO_LARGE"
    );
    let huge = with(OutputFormat::Png, sized(1_000_000, 1_000_000, Fit::Fill));
    assert_eq!(
        code(transform(&data, &huge, &never())),
        "ERR_POOL_IMAGE_TOO_LARGE"
    );
}

/// A GIF whose first frame (2 × 2, at `left`, `top`) lies partly or wholly off its 4 × 4
/// screen. (Found by the image_transform fuzz target: a frame right of the screen panicked.)
fn gif_with_frame_at(left: u16, top: u16) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut out, 4, 4, &[255, 0, 0, 0, 0, 255]).unwrap();
        let mut frame = gif::Frame::from_indexed_pixels(2, 2, vec![0, 1, 1, 0], None);
        (frame.left, frame.top) = (left, top);
        enc.write_frame(&frame).unwrap();
    }
    out
}

#[test]
fn a_gif_frame_off_the_screen_shows_as_far_as_it_is_on_it() {
    for (left, top, red) in [
        (0, 0, 2),
        (3, 3, 1),
        (4, 0, 0),
        (10, 1, 0),
        (1, 4, 0),
        (900, 900, 0),
    ] {
        let data = gif_with_frame_at(left, top);
        let (out, w, h) = transform(&data, &with(OutputFormat::Png, None), &never())
            .unwrap_or_else(|e| panic!("frame at {left},{top}: {e}"));
        assert_eq!((w, h), (4, 4));
        let img = pixels(&out);
        let reds = img
            .data
            .chunks(img.model.channels())
            .filter(|p| p[0] == 255)
            .count();
        assert_eq!(reds, red, "frame at {left},{top}");
    }
}

/// A 1 × 1 palette PNG whose PLTE chunk is `plte` (stored, not compressed, pixel data).
fn png_with_palette(plte: &[u8]) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    // zlib: a stored block of the one row (filter 0, index 0), then its Adler-32 (a=1, b=2).
    let idat = [0x78, 0x01, 0x01, 2, 0, 0xfd, 0xff, 0, 0, 0, 2, 0, 1];
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 3, 0, 0, 0]);
    chunk(&mut out, b"PLTE", plte);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn a_png_palette_of_a_partial_entry_is_a_decode_error() {
    // Found by the image_transform fuzz target: the png crate panicked on it.
    let good = png_with_palette(&[255, 0, 0]);
    let (out, w, h) = transform(&good, &with(OutputFormat::Png, None), &never()).unwrap();
    assert_eq!((w, h), (1, 1));
    assert_eq!(pixels(&out).data, [255, 0, 0]);
    for len in [4, 5, 7, 8] {
        let bad = png_with_palette(&[255; 8][..len]);
        for walk in [Walk::Bounded, Walk::Full] {
            let e = probe::probe(&bad, walk).unwrap_err();
            assert_eq!(e.code, "ERR_POOL_IMAGE_DECODE", "{len}: {}", e.message);
        }
        let e = Transform::prepare(Input::plain(Transform::INPUT, Value::Bytes(&bad)));
        assert_eq!(e.err().unwrap().code, "ERR_POOL_IMAGE_DECODE");
    }
}

#[test]
fn bad_data_has_coded_errors() {
    for (name, want) in [
        ("truncated.jpg", "ERR_POOL_IMAGE_DECODE"),
        ("truncated.png", "ERR_POOL_IMAGE_DECODE"),
        ("corrupt.png", "ERR_POOL_IMAGE_DECODE"),
        ("truncated.webp", "ERR_POOL_IMAGE_DECODE"),
        ("truncated.gif", "ERR_POOL_IMAGE_DECODE"),
        ("not-an-image.bin", "ERR_POOL_IMAGE_FORMAT"),
    ] {
        let r = transform(&file(name), &TransformOptions::default(), &never());
        assert_eq!(code(r), want, "{name}");
    }
    assert_eq!(
        probe::probe(b"", Walk::Bounded).unwrap_err().code,
        "ERR_POOL_IMAGE_FORMAT"
    );
    // Every prefix of a valid file fails with a code (or, for a long enough prefix of a
    // format whose decoder tolerates it, succeeds); none panics.
    for name in [
        "odd.jpg",
        "alpha.png",
        "lossy.webp",
        "pattern.gif",
        "interlaced.png",
    ] {
        let data = file(name);
        for len in (0..data.len()).step_by(7) {
            match transform(&data[..len], &TransformOptions::default(), &never()) {
                Ok(_) => {}
                Err(RunError::Failed(e)) => assert!(e.code.starts_with("ERR_POOL_IMAGE_")),
                Err(RunError::Cancelled) => panic!("cancelled"),
            }
        }
    }
}

#[test]
fn options_are_checked_with_codes() {
    let data = file("odd.jpg");
    let prep = |given: &[(&str, Field)]| {
        Transform::prepare(Input::record(
            Value::Bytes(&data),
            Transform::INPUT.params(),
            given,
        ))
        .err()
        .map(|e| (e.code, e.message))
    };
    let resize = |given: &[(&str, Field)]| {
        let f = Field::object("resize", resize_params(), given);
        prep(&[("resize", f)])
    };
    let s = |v: &str| Field::Str(v.into());
    let n = Field::Number;
    assert_eq!(prep(&[]), None);
    assert_eq!(prep(&[("rotate", n(-90.0))]), None);
    assert_eq!(prep(&[("rotate", n(45.0))]).unwrap().0, "ERR_OUT_OF_RANGE");
    assert_eq!(
        prep(&[("rotate", s("left"))]).unwrap().0,
        "ERR_INVALID_ARG_VALUE"
    );
    assert_eq!(prep(&[("quality", n(0.0))]).unwrap().0, "ERR_OUT_OF_RANGE");
    assert_eq!(
        prep(&[("quality", n(101.0))]).unwrap().0,
        "ERR_OUT_OF_RANGE"
    );
    assert_eq!(
        prep(&[("format", s("tiff"))]).unwrap().0,
        "ERR_INVALID_ARG_VALUE"
    );
    assert_eq!(
        prep(&[("format", n(1.0))]).unwrap().0,
        "ERR_INVALID_ARG_TYPE"
    );
    assert_eq!(
        prep(&[("background", s("#12"))]).unwrap().0,
        "ERR_INVALID_ARG_VALUE"
    );
    assert_eq!(
        prep(&[("lossless", n(1.0))]).unwrap().0,
        "ERR_INVALID_ARG_TYPE"
    );
    assert_eq!(
        prep(&[("resize", n(1.0))]).unwrap().0,
        "ERR_INVALID_ARG_TYPE"
    );
    assert_eq!(
        resize(&[("width", n(10.0)), ("height", Field::Other("null"))]),
        None
    );
    let (c, m) = resize(&[("width", n(0.0))]).unwrap();
    assert_eq!(c, "ERR_OUT_OF_RANGE");
    assert!(m.contains("input.resize.width"), "{m}");
    assert_eq!(resize(&[("height", n(1.5))]).unwrap().0, "ERR_OUT_OF_RANGE");
    assert_eq!(
        resize(&[("width", s("10"))]).unwrap().0,
        "ERR_INVALID_ARG_TYPE"
    );
    assert_eq!(
        resize(&[("fit", s("crop"))]).unwrap().0,
        "ERR_INVALID_ARG_VALUE"
    );
    assert_eq!(
        resize(&[("kernel", s("box"))]).unwrap().0,
        "ERR_INVALID_ARG_VALUE"
    );
    assert_eq!(
        resize(&[("position", n(9.0))]).unwrap().0,
        "ERR_OUT_OF_RANGE"
    );
    assert_eq!(
        resize(&[("position", s("entropy"))]).unwrap().0,
        "ERR_INVALID_ARG_VALUE"
    );
    let both = [
        ("width", n(5.0)),
        ("withoutEnlargement", Field::Bool(true)),
        ("withoutReduction", Field::Bool(true)),
    ];
    assert_eq!(resize(&both).unwrap().0, "ERR_INVALID_ARG_VALUE");
    for name in ["right top", "northeast", "centre", "center", "left bottom"] {
        assert_eq!(
            resize(&[("width", n(5.0)), ("position", s(name))]),
            None,
            "{name}"
        );
    }
    assert_eq!(
        parse_colour("#fFf8"),
        Some(Rgba {
            r: 255,
            g: 255,
            b: 255,
            a: 136
        })
    );
    assert_eq!(
        parse_colour("#102030"),
        Some(Rgba {
            r: 16,
            g: 32,
            b: 48,
            a: 255
        })
    );
    assert_eq!(parse_colour("red"), None);
}

/// The params declared for `resize`.
fn resize_params() -> &'static [crate::kernels::Param] {
    let resize = Transform::INPUT
        .params()
        .iter()
        .find(|p| p.name == "resize");
    match resize.map(|p| p.ty) {
        Some(crate::kernels::Ty::Object(p)) => p,
        _ => panic!("resize is an object param"),
    }
}

mod pixels;
mod shrink_on_load;
