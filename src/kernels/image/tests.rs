//! The kernels on their own: headers, the bounded walk, limits before allocation, resizing in
//! strips, orientation and crop, every format round trip, coded errors, cancellation. The
//! comparisons with sharp itself are in `__test__/image.test.js`.

use super::decode::{self, Image, Model};
use super::encode;
use super::options::{parse_colour, Fit, Resize, Rgba, Rotate};
use super::resample::apply_in_strips;
use super::resize;
use super::*;
use crate::executor::{CancelToken, TaskCtl};
use crate::kernels::conformance::CONFORMANCE;
use crate::kernels::{Field, KernelId};
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

#[test]
fn strips_give_the_pixels_of_one_resize() {
    for model in [Model::Luma, Model::Rgb, Model::Rgba, Model::LumaA] {
        let img = pattern(97, 61, model);
        let h = Header {
            format: Format::Png,
            width: 97,
            height: 61,
            channels: model.channels() as u8,
            has_alpha: matches!(model, Model::Rgba | Model::LumaA),
            orientation: Some(6),
            size: 0,
        };
        for opts in [
            with(OutputFormat::Png, sized(20, 30, Fit::Cover)),
            with(OutputFormat::Png, sized(33, 0, Fit::Inside)),
            with(OutputFormat::Png, sized(200, 90, Fit::Fill)),
        ] {
            let plan = resize::plan(&h, &opts);
            let one = apply_in_strips(img.clone(), &plan, &never(), usize::MAX).unwrap();
            let many = apply_in_strips(img.clone(), &plan, &never(), 97).unwrap();
            // Equal up to the rounding of the filter weights: a strip's source offset is a
            // product of floats, so a weight can round the other way (a ±1 step, rarely).
            // Under alpha the steps are in premultiplied colour, one per pass, so a colour
            // may move by up to 2 × 255 / alpha.
            let c = model.channels();
            let alpha = matches!(model, Model::Rgba | Model::LumaA);
            let mut differ = 0;
            for (p, q) in one.data.chunks(c).zip(many.data.chunks(c)) {
                let a = if alpha { p[c - 1].min(q[c - 1]) } else { 255 };
                for i in 0..c {
                    let step = if alpha && i < c - 1 {
                        1 + 510 / u16::from(a.max(1))
                    } else {
                        1
                    };
                    let d = u16::from(p[i].abs_diff(q[i]));
                    assert!(d <= step, "{model:?} {:?}: {p:?} {q:?}", opts.resize);
                    differ += usize::from(d > 0);
                }
            }
            assert!(
                differ * 100 <= one.data.len(),
                "{model:?}: {differ} values differ"
            );
            assert_eq!((one.width, one.height), (plan.keep.width, plan.keep.height));
        }
    }
}

#[test]
fn a_crop_maps_back_through_every_orientation() {
    let img = pattern(13, 7, Model::Rgb);
    for o in 1..=8u8 {
        let oriented = orient::orient(img.clone(), o, &never()).unwrap();
        let (ow, oh) = (oriented.width, oriented.height);
        for r in [
            orient::Rect {
                left: 0,
                top: 0,
                width: ow,
                height: oh,
            },
            orient::Rect {
                left: 1,
                top: 2,
                width: 3,
                height: 2,
            },
            orient::Rect {
                left: ow - 2,
                top: oh - 3,
                width: 2,
                height: 3,
            },
        ] {
            let stored = orient::rect_to_stored(o, r, img.width, img.height);
            let a = orient::orient(orient::crop(img.clone(), stored), o, &never()).unwrap();
            let b = orient::crop(oriented.clone(), r);
            assert_eq!(a, b, "orientation {o}, {r:?}");
        }
    }
}

#[test]
fn every_format_round_trips() {
    let src = file("tower/tower.jpg");
    let reference = pixels(&src);
    for format in [OutputFormat::Jpeg, OutputFormat::Png, OutputFormat::Webp] {
        let (out, w, h) = transform(&src, &with(format, None), &never()).unwrap();
        assert_eq!((w, h), (512, 512));
        let hd = header(&out);
        assert_eq!(hd.format.name(), format.name());
        let db = psnr(&pixels(&out), &reference);
        // PNG is lossless; JPEG and WebP at quality 80 stay close to the source.
        let min = if format == OutputFormat::Png {
            99.0
        } else {
            30.0
        };
        assert!(db >= min, "{format:?}: {db:.1} dB");
    }
    // Lossless WebP of an alpha PNG keeps every visible pixel (libwebp, like sharp by
    // default, may change the colour under alpha 0).
    let alpha = file("alpha.png");
    let lossless = TransformOptions {
        lossless: true,
        ..with(OutputFormat::Webp, None)
    };
    let (out, ..) = transform(&alpha, &lossless, &never()).unwrap();
    let (a, b) = (pixels(&out), pixels(&alpha));
    let visible = |p: &[u8]| {
        if p[3] == 0 {
            [0; 4]
        } else {
            [p[0], p[1], p[2], p[3]]
        }
    };
    let differ = a
        .data
        .chunks(4)
        .zip(b.data.chunks(4))
        .filter(|(x, y)| visible(x) != visible(y));
    assert_eq!(differ.count(), 0);
    // PNG of every PNG flavour decodes to the same 8-bit pixels.
    for name in [
        "grey.png",
        "grey-alpha.png",
        "palette.png",
        "palette-alpha.png",
        "rgb16.png",
    ] {
        let data = file(name);
        let (out, ..) = transform(&data, &with(OutputFormat::Png, None), &never()).unwrap();
        assert_eq!(pixels(&out), pixels(&data), "{name}");
    }
    // Interlaced and progressive inputs decode like their plain twins.
    let plain = pixels(&file("odd.jpg"));
    assert!(psnr(&pixels(&file("progressive.jpg")), &plain) > 35.0);
    assert_eq!(pixels(&file("interlaced.png")).width, 30);
}

#[test]
fn jpeg_output_flattens_alpha_on_the_background() {
    let data = file("alpha.png");
    let red = TransformOptions {
        background: Rgba {
            r: 255,
            g: 0,
            b: 0,
            a: 255,
        },
        quality: 100,
        ..with(OutputFormat::Jpeg, None)
    };
    let (out, ..) = transform(&data, &red, &never()).unwrap();
    let img = pixels(&out);
    assert_eq!(img.model, Model::Rgb);
    // The top-left pixel is fully transparent; the bottom-right one opaque (255, 255, 106).
    let at = |x: usize, y: usize| &img.data[(y * 40 + x) * 3..(y * 40 + x) * 3 + 3];
    // (4:2:0 chroma averages the corner with its textured neighbours.)
    let near = |p: &[u8], q: [u8; 3]| p.iter().zip(q).all(|(a, b)| a.abs_diff(b) <= 24);
    assert!(near(at(0, 0), [255, 0, 0]), "{:?}", at(0, 0));
    assert!(near(at(39, 29), [255, 255, 106]), "{:?}", at(39, 29));
}

#[test]
fn contain_embeds_on_the_background_and_cover_crops() {
    let data = file("odd.jpg"); // 37 × 23
    let contain = TransformOptions {
        background: Rgba {
            r: 0,
            g: 0,
            b: 255,
            a: 255,
        },
        ..with(OutputFormat::Png, sized(50, 50, Fit::Contain))
    };
    let (out, w, h) = transform(&data, &contain, &never()).unwrap();
    assert_eq!((w, h), (50, 50));
    let img = pixels(&out);
    assert_eq!(&img.data[..3], &[0, 0, 255]);
    let (_, w, h) = transform(
        &data,
        &with(OutputFormat::Png, sized(10, 10, Fit::Cover)),
        &never(),
    )
    .unwrap();
    assert_eq!((w, h), (10, 10));
    // Orientation 6 swaps the output's sides.
    let (_, w, h) = transform(
        &file("orient-6.jpg"),
        &with(OutputFormat::Jpeg, None),
        &never(),
    )
    .unwrap();
    assert_eq!((w, h), (48, 64));
    let explicit = TransformOptions {
        rotate: Rotate::Turns(0),
        ..with(OutputFormat::Jpeg, None)
    };
    let (_, w, h) = transform(&file("orient-6.jpg"), &explicit, &never()).unwrap();
    assert_eq!((w, h), (64, 48));
}

#[test]
fn every_stage_polls_its_token() {
    let (task, pool) = (TaskCtl::new(), AtomicBool::new(true));
    let stopped = CancelToken::new(&task, &pool);
    let data = file("alpha.png");
    let r = transform(&data, &with(OutputFormat::Png, None), &stopped);
    assert_eq!(r.err(), Some(RunError::Cancelled));
    let h = header(&data);
    assert_eq!(
        decode::decode(&data, &h, &stopped).err(),
        Some(RunError::Cancelled)
    );
    let img = pattern(64, 64, Model::Rgb);
    let plan = resize::plan(&h, &with(OutputFormat::Png, sized(10, 0, Fit::Inside)));
    assert_eq!(
        apply_in_strips(img.clone(), &plan, &stopped, 1).err(),
        Some(RunError::Cancelled)
    );
    assert_eq!(
        orient::orient(img.clone(), 6, &stopped).err(),
        Some(RunError::Cancelled)
    );
    let opts = TransformOptions::default();
    assert_eq!(
        encode::encode(&img, OutputFormat::Png, &opts, &stopped).err(),
        Some(RunError::Cancelled)
    );
}

#[test]
fn the_kernels_are_registered() {
    assert_eq!(
        KernelId::from_name("image.metadata"),
        Some(KernelId::ImageMetadata)
    );
    assert_eq!(
        KernelId::from_name("image.transform"),
        Some(KernelId::ImageTransform)
    );
}

/// Where the time goes on one image (`POOL_IMAGE=path cargo test --release --lib stage_times
/// -- --ignored --nocapture`); a measurement aid, not a check.
#[test]
#[ignore]
fn stage_times() {
    use std::time::Instant;
    let data = std::fs::read(std::env::var("POOL_IMAGE").expect("POOL_IMAGE")).unwrap();
    let h = header(&data);
    let opts = TransformOptions {
        resize: sized(720, 588, Fit::Cover),
        format: Some(OutputFormat::Jpeg),
        ..TransformOptions::default()
    };
    let plan = super::plan(&h, &opts).unwrap();
    let t = never();
    let time = |name: &str, f: &mut dyn FnMut()| {
        let mut best = f64::MAX;
        for _ in 0..7 {
            let t0 = Instant::now();
            f();
            best = best.min(t0.elapsed().as_secs_f64() * 1e3);
        }
        eprintln!("{name:28} {best:7.2} ms");
    };
    {
        let img = decode::decode(&data, &h, &t).unwrap();
        time("decode", &mut || {
            decode::decode(&data, &h, &t).unwrap();
        });
        time("resample", &mut || {
            apply_in_strips(img.clone(), &plan, &t, 4 << 20).unwrap();
        });
        time("  of which the copy", &mut || {
            std::hint::black_box(img.clone());
        });
        let small = apply_in_strips(img.clone(), &plan, &t, 4 << 20).unwrap();
        let done = orient::finish(small.clone(), &plan, &opts, &t).unwrap();
        time("encode", &mut || {
            encode::encode(&done, OutputFormat::Jpeg, &opts, &t).unwrap();
        });
    }
    time("whole transform", &mut || {
        transform(&data, &opts, &t).unwrap();
    });
}
