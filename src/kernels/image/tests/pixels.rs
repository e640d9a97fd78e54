//! The kernels' pixels: strips, orientation and crop, format round trips, backgrounds,
//! cancellation, and the stage-time measurement aid.

use super::*;
use std::sync::Arc;

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
    let (task, pool) = (Arc::new(TaskCtl::new()), Arc::new(AtomicBool::new(true)));
    let stopped = CancelToken::new(&task, &pool);
    let data = file("alpha.png");
    let r = transform(&data, &with(OutputFormat::Png, None), &stopped);
    assert_eq!(r.err(), Some(RunError::Cancelled));
    let h = header(&data);
    assert_eq!(
        decode::decode(&data, &h, &stopped).err(),
        Some(RunError::Cancelled)
    );
    let img = pattern(h.width, h.height, Model::Rgb);
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

/// Where the time goes on one image (`POOL_IMAGE=path [POOL_SIZE=WxH] [POOL_FORMAT=png] cargo test --release --lib stage_times
/// -- --ignored --nocapture`); a measurement aid, not a check.
#[test]
#[ignore]
fn stage_times() {
    use std::time::Instant;
    let data = std::fs::read(std::env::var("POOL_IMAGE").expect("POOL_IMAGE")).unwrap();
    let h = header(&data);
    // POOL_SIZE=WxH (default sharp's task, 720x588) and POOL_FORMAT=jpeg|png|webp.
    let size = std::env::var("POOL_SIZE").unwrap_or_else(|_| "720x588".into());
    let (w, ht) = size.split_once('x').expect("POOL_SIZE is WxH");
    let format = match std::env::var("POOL_FORMAT").as_deref() {
        Ok("png") => OutputFormat::Png,
        Ok("webp") => OutputFormat::Webp,
        _ => OutputFormat::Jpeg,
    };
    let opts = TransformOptions {
        resize: sized(w.parse().unwrap(), ht.parse().unwrap(), Fit::Cover),
        format: Some(format),
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
        time("full decode", &mut || {
            decode::decode(&data, &h, &t).unwrap();
        });
        time("resample from full", &mut || {
            apply_in_strips(img.clone(), &plan, &t, 4 << 20).unwrap();
        });
        time("  of which the copy", &mut || {
            std::hint::black_box(img.clone());
        });
        let mut small = apply_in_strips(img.clone(), &plan, &t, 4 << 20).unwrap();
        if let resize::Load::JpegShrink(n) = plan.load {
            let size = (plan.load_width, plan.load_height);
            let shrunk = || super::super::shrink::decode(&data, &h, n, size, true, &t).unwrap();
            if let Some(loaded) = shrunk() {
                time("decode shrunk on load", &mut || {
                    shrunk();
                });
                time("resample from the load", &mut || {
                    super::super::resample::from_load(loaded.clone(), &plan, &t).unwrap();
                });
                small = super::super::resample::from_load(loaded, &plan, &t).unwrap();
            }
        }
        let done = orient::finish(small.clone(), &plan, &opts, &t).unwrap();
        time("encode", &mut || {
            encode::encode(&done, format, &opts, &t).unwrap();
        });
    }
    time("whole transform", &mut || {
        transform(&data, &opts, &t).unwrap();
    });
}
