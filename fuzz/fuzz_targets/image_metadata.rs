//! `image.metadata` on arbitrary bytes, as the pool runs it: `prepare` (the bounded header walk
//! on the JS thread) and `run` (the full walk on a worker when `prepare` left it). Neither may
//! panic; every failure carries an image code; a header read by `prepare` is the one `run`
//! reports, and a header `prepare` accepted has a size within the pixel limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pool::executor::CancelToken;
use pool::kernels::image::{Metadata, Probed, DEFAULT_LIMIT_INPUT_PIXELS};
use pool::kernels::{Input, Kernel, KernelError, Output, RunError, Value};

fn image_code(e: &KernelError) {
    assert!(
        matches!(
            e.code,
            "ERR_POOL_IMAGE_DECODE" | "ERR_POOL_IMAGE_FORMAT" | "ERR_POOL_IMAGE_TOO_LARGE"
        ),
        "unexpected error {e}"
    );
}

fn number(props: &[(&'static str, Output)], name: &str) -> f64 {
    match props.iter().find(|(n, _)| *n == name) {
        Some((_, Output::Number(n))) => *n,
        _ => panic!("no number {name}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let value = Value::Bytes(data);
    let args = match Metadata::prepare(Input::plain(Metadata::INPUT, value)) {
        Ok(a) => a,
        Err(e) => return image_code(&e),
    };
    let out = match Metadata::run(&args, value, &CancelToken::never()) {
        Ok(o) => o,
        Err(RunError::Failed(e)) => {
            assert!(
                matches!(*args, Probed::Later { .. }),
                "run failed on a header prepare had read: {e}"
            );
            return image_code(&e);
        }
        Err(RunError::Cancelled) => panic!("cancelled with a token that never cancels"),
    };
    let Output::Object(props) = out else {
        panic!("metadata is an object")
    };
    let (w, h) = (number(&props, "width"), number(&props, "height"));
    assert!(w >= 1.0 && h >= 1.0, "{w}x{h}");
    assert!(w * h <= DEFAULT_LIMIT_INPUT_PIXELS as f64, "{w}x{h} over the limit");
    assert_eq!(number(&props, "size"), data.len() as f64);
    let channels = number(&props, "channels");
    assert!((1.0..=4.0).contains(&channels));
    if let Probed::Read(hd) = *args {
        assert_eq!((f64::from(hd.width), f64::from(hd.height)), (w, h));
    }
});
