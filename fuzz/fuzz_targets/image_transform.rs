//! `image.transform` on arbitrary bytes: byte 0 picks the options (output format, resize or
//! not, fit, rotation), the rest is the image; the decoder is chosen by its magic bytes (JPEG,
//! PNG, WebP, GIF), as the pool does. `prepare` and `run` must not panic, every failure
//! carries an image code, and every output is an image of the size `info` reports, whose
//! header the kernels read back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pool::executor::CancelToken;
use pool::kernels::image::{Metadata, Transform};
use pool::kernels::{Field, Input, Kernel, KernelError, Output, Param, RunError, Ty, Value};

/// Small enough to keep a run fast (a 1 MP RGBA frame is 4 MiB), large enough for every
/// fixture but the tower photos.
const LIMIT: f64 = (1 << 20) as f64;

fn image_code(e: &KernelError) {
    assert!(
        matches!(
            e.code,
            "ERR_POOL_IMAGE_DECODE" | "ERR_POOL_IMAGE_FORMAT" | "ERR_POOL_IMAGE_TOO_LARGE"
        ),
        "unexpected error {e}"
    );
}

/// The declared params of `resize` (an object param of `image.transform`).
fn resize_spec() -> &'static [Param] {
    Transform::INPUT
        .params()
        .iter()
        .find_map(|p| match p.ty {
            Ty::Object(spec) if p.name == "resize" => Some(spec),
            _ => None,
        })
        .expect("image.transform declares resize")
}

fn field<'a>(props: &'a [(&'static str, Output)], name: &str) -> &'a Output {
    &props.iter().find(|(n, _)| *n == name).expect(name).1
}

fuzz_target!(|input: &[u8]| {
    let Some((&op, data)) = input.split_first() else {
        return;
    };
    let format = ["jpeg", "png", "webp"][usize::from(op & 3) % 3];
    let fit = ["cover", "contain", "fill", "inside", "outside"][usize::from(op >> 2 & 7) % 5];
    let mut given = vec![
        ("format", Field::Str(format.into())),
        ("limitInputPixels", Field::Number(LIMIT)),
        ("rotate", Field::Number(f64::from(op >> 5 & 3) * 90.0)),
        ("background", Field::Str("#80808080".into())),
    ];
    if op & 0x80 == 0 || op & 3 == 3 {
        // A small box, odd on one side: every resample path, tiny encodes.
        let w = 1.0 + f64::from(op & 0x1f);
        given.push((
            "resize",
            Field::object(
                "resize",
                resize_spec(),
                &[
                    ("width", Field::Number(w)),
                    ("height", Field::Number(17.0)),
                    ("fit", Field::Str(fit.into())),
                ],
            ),
        ));
    }
    let value = Value::Bytes(data);
    let args = match Transform::prepare(Input::record(value, Transform::INPUT.params(), &given)) {
        Ok(a) => a,
        Err(e) => return image_code(&e),
    };
    let out = match Transform::run(&args, value, &CancelToken::never()) {
        Ok(o) => o,
        Err(RunError::Failed(e)) => return image_code(&e),
        Err(RunError::Cancelled) => panic!("cancelled with a token that never cancels"),
    };
    let Output::Object(props) = out else {
        panic!("the result is an object")
    };
    let Output::Bytes(bytes) = field(&props, "data") else {
        panic!("data is bytes")
    };
    let Output::Object(info) = field(&props, "info") else {
        panic!("info is an object")
    };
    let meta = Metadata::run(
        &Metadata::prepare(Input::plain(Metadata::INPUT, Value::Bytes(bytes))).expect("output"),
        Value::Bytes(bytes),
        &CancelToken::never(),
    )
    .expect("the output's header reads back");
    let Output::Object(meta) = meta else {
        panic!("metadata is an object")
    };
    for name in ["format", "width", "height"] {
        assert_eq!(field(&meta, name), field(info, name), "{name}");
    }
});
