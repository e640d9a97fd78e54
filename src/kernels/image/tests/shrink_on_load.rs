//! JPEG shrink-on-load from raw planes against the full decode and a block mean, for every
//! sampling layout jpeg-encoder writes, grey, progressive and CMYK, at 1/2, 1/4 and 1/8.

use super::*;
use crate::kernels::image::shrink as raw;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use std::sync::Arc;

/// A 517 × 389 crop of the photo (odd sizes: partial MCUs and partial blocks at both edges).
fn photo() -> Image {
    let full = pixels(&file("tower/large_image.jpg"));
    let (w, h) = (517usize, 389usize);
    let mut data = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        let row = (y + 300) * full.stride() + 600 * 3;
        data.extend_from_slice(&full.data[row..row + w * 3]);
    }
    Image {
        width: w as u32,
        height: h as u32,
        model: Model::Rgb,
        data,
    }
}

fn jpeg(img: &Image, colour: ColorType, sampling: SamplingFactor) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, 90);
    enc.set_sampling_factor(sampling);
    enc.encode(&img.data, img.width as u16, img.height as u16, colour)
        .unwrap();
    out
}

/// Each whole n × n block of `img` replaced by its mean.
fn block_mean(img: &Image, n: usize) -> Image {
    let c = img.model.channels();
    let (w, h) = (img.width as usize / n, img.height as usize / n);
    let mut data = Vec::with_capacity(w * h * c);
    for y in 0..h {
        for x in 0..w {
            for ch in 0..c {
                let mut s = 0u32;
                for dy in 0..n {
                    for dx in 0..n {
                        s += u32::from(
                            img.data[(y * n + dy) * img.stride() + (x * n + dx) * c + ch],
                        );
                    }
                }
                data.push(((s + (n * n / 2) as u32) / (n * n) as u32) as u8);
            }
        }
    }
    Image {
        width: w as u32,
        height: h as u32,
        model: img.model,
        data,
    }
}

fn shrunk(data: &[u8], n: u32) -> Option<Image> {
    let h = header(data);
    let size = (h.width / n, h.height / n);
    raw::decode(data, &h, n, size, false, &never()).unwrap()
}

#[test]
fn raw_planes_give_the_block_means_of_the_full_decode() {
    use SamplingFactor::*;
    let img = photo();
    for (sampling, takes) in [
        (F_1_1, [true, true, true]),
        (F_2_1, [true, true, true]),
        (F_1_2, [true, true, true]),
        (F_2_2, [true, true, true]),
        (F_4_1, [false, true, true]),
        (F_4_2, [false, true, true]),
        (F_2_4, [false, true, true]),
    ] {
        let data = jpeg(&img, ColorType::Rgb, sampling);
        let full = pixels(&data);
        for (n, takes) in [2, 4, 8].into_iter().zip(takes) {
            let got = shrunk(&data, n);
            assert_eq!(got.is_some(), takes, "{sampling:?} at 1/{n}");
            if let Some(got) = got {
                let db = psnr(&got, &block_mean(&full, n as usize));
                // The full decode upsamples chroma before the mean; the raw planes do not.
                assert!(db > 44.0, "{sampling:?} at 1/{n}: {db:.1} dB");
            }
        }
    }
    let grey = decode::decode(&file("grey.jpg"), &header(&file("grey.jpg")), &never()).unwrap();
    let got = shrunk(&file("grey.jpg"), 2).expect("grey takes the path");
    assert_eq!(got.model, Model::Luma);
    assert!(psnr(&got, &block_mean(&grey, 2)) > 45.0);
    for name in [
        "tower/tower_progressive.jpg",
        "444.jpg",
        "odd.jpg",
        "progressive.jpg",
    ] {
        let data = file(name);
        let full = pixels(&data);
        let got = shrunk(&data, 2).unwrap_or_else(|| panic!("{name} takes the path"));
        let db = psnr(&got, &block_mean(&full, 2));
        // odd.jpg and progressive.jpg are 37 × 23 patterns with hard colour edges, where the
        // full decode's upsampled (smoothed) chroma and the 4:2:0 chroma plane differ most.
        assert!(db > 35.0, "{name}: {db:.1} dB");
    }
    // CMYK is decoded in full (converted by formula there).
    let cmyk: Vec<u8> = img
        .data
        .chunks(3)
        .flat_map(|p| [p[0], p[1], p[2], 40])
        .collect();
    let cmyk = Image {
        model: Model::Rgba,
        data: cmyk,
        ..img
    };
    assert!(shrunk(&jpeg(&cmyk, ColorType::Cmyk, F_1_1), 2).is_none());
}

#[test]
fn a_transform_shrunk_on_load_matches_the_full_decode_and_polls_its_token() {
    let data = jpeg(&photo(), ColorType::Rgb, SamplingFactor::F_2_2);
    let h = header(&data);
    let opts = with(OutputFormat::Png, sized(120, 90, Fit::Cover));
    let plan = super::plan(&h, &opts).unwrap();
    assert_eq!(plan.load, resize::Load::JpegShrink(2));
    let (out, w, ht) = transform(&data, &opts, &never()).unwrap();
    assert_eq!((w, ht), (120, 90));
    let full = decode::decode(&data, &h, &never()).unwrap();
    let reference = apply_in_strips(full, &plan, &never(), usize::MAX).unwrap();
    let db = psnr(&pixels(&out), &reference);
    assert!(db > 38.0, "{db:.1} dB");
    // JPEG output stays in YCbCr from the raw planes to the encoder: the same image as
    // through RGB, and `contain`'s padding in the background colour.
    let through_rgb = encode::encode(&reference, OutputFormat::Jpeg, &opts, &never()).unwrap();
    let jpeg_opts = with(OutputFormat::Jpeg, sized(120, 90, Fit::Cover));
    let (out, ..) = transform(&data, &jpeg_opts, &never()).unwrap();
    let db = psnr(&pixels(&out), &pixels(&through_rgb));
    assert!(db > 40.0, "{db:.1} dB");
    let mut contain = with(OutputFormat::Jpeg, sized(120, 120, Fit::Contain));
    contain.resize.as_mut().unwrap().background = Some(parse_colour("#ff0000").unwrap());
    let (out, w, ht) = transform(&data, &contain, &never()).unwrap();
    assert_eq!((w, ht), (120, 120));
    let img = pixels(&out);
    let corner = &img.data[..3];
    assert!(
        corner[0] > 240 && corner[1] < 15 && corner[2] < 15,
        "{corner:?}"
    );
    let (task, pool) = (Arc::new(TaskCtl::new()), Arc::new(AtomicBool::new(true)));
    let stopped = CancelToken::new(&task, &pool);
    let r = raw::decode(&data, &h, 2, (258, 194), false, &stopped);
    assert_eq!(r.err(), Some(RunError::Cancelled));
    // Truncated data is a decode error, not a short image.
    let cut = &data[..data.len() / 2];
    let r = raw::decode(cut, &h, 2, (258, 194), false, &never());
    assert_eq!(code(r.map(|_| ())), "ERR_POOL_IMAGE_DECODE");
}
