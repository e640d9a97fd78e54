//! `json.parse`: `validate` and `parse` must never panic, must agree with each other, must
//! report offsets and split groups inside the input, and (where the grammars coincide) must
//! accept exactly what serde_json accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pool::executor::CancelToken;
use pool::kernels::json::{parse, validate, Stop, MAX_DEPTH};
use pool::kernels::RunError;

/// Where `JSON.parse` (our reference) and serde_json legitimately differ, skip the comparison:
/// invalid UTF-8 (we validate after U+FFFD replacement, serde_json rejects), `\u` surrogate
/// escapes (JSON.parse accepts lone ones), deep nesting (serde_json stops at 128). Numbers
/// beyond f64 are fine: serde_json is built with `arbitrary_precision`, so it accepts them as
/// JSON.parse does (which gives ±Infinity).
fn comparable(data: &[u8]) -> bool {
    if std::str::from_utf8(data).is_err() {
        return false;
    }
    let lower = data.to_ascii_lowercase();
    if lower.windows(3).any(|w| w == b"\\ud") {
        return false;
    }
    let mut depth = 0usize;
    let mut max = 0usize;
    for &b in data {
        if b == b'[' || b == b'{' {
            depth += 1;
            max = max.max(depth);
        } else if b == b']' || b == b'}' {
            depth = depth.saturating_sub(1);
        }
    }
    max < 100
}

fuzz_target!(|data: &[u8]| {
    let token = CancelToken::never();
    let v = validate(data, &token);
    match &v {
        Ok(split) => {
            assert!(split.kind <= 2, "kind {}", split.kind);
            let mut last = 0;
            for &(a, b) in &split.groups {
                assert!(a <= b && b <= data.len() && a >= last, "group {a}..{b} of {}", data.len());
                last = b;
            }
        }
        Err(Stop::Error { at, depth }) => {
            assert!(*at <= data.len(), "error at {at} beyond {}", data.len());
            if *depth {
                // Only a document nested beyond MAX_DEPTH gets a depth error.
                let opens = data.iter().filter(|&&b| b == b'[' || b == b'{').count();
                assert!(opens > MAX_DEPTH);
            }
        }
        Err(Stop::Cancelled) => panic!("cancelled with a token that never cancels"),
    }
    for utf16 in [false, true] {
        let p = parse(data, utf16, &token);
        match (&v, p) {
            (Ok(split), Ok(p)) => {
                assert_eq!(p.kind, split.kind);
                assert!(p.done, "a whole-text parse is one piece");
                assert_eq!(p.offsets.len(), 2 * split.groups.len());
                assert!(p.offsets.windows(2).all(|w| w[0] <= w[1]), "offsets ascend");
            }
            (Ok(_), Err(_)) => panic!("validate accepted, parse rejected"),
            (Err(Stop::Error { at, depth }), Err(RunError::Failed(e))) => {
                let code = if *depth { "ERR_POOL_JSON_DEPTH" } else { "ERR_POOL_JSON_SYNTAX" };
                assert_eq!(e.code, code, "validate and parse disagree on the kind of error");
                let pos = e.at.expect("a position");
                assert!(pos.line >= 1 && pos.column.unwrap_or(0) >= 1, "line/column are 1-based");
                let position = pos.position.expect("an offset") as usize;
                if !utf16 {
                    assert_eq!(position, *at, "byte position");
                } else if let Ok(text) = std::str::from_utf8(data) {
                    // utf16 is only used for JS strings, which reach the kernel as valid UTF-8.
                    if text.is_char_boundary(*at) {
                        assert_eq!(position, text[..*at].encode_utf16().count(), "UTF-16 position");
                    }
                }
            }
            (Err(_), Ok(_)) => panic!("validate rejected, parse accepted"),
            (_, Err(RunError::Cancelled)) | (Err(Stop::Cancelled), _) => {
                panic!("cancelled with a token that never cancels")
            }
        }
    }
    if comparable(data) {
        let serde_ok = serde_json::from_slice::<serde_json::Value>(data).is_ok();
        let ours = v.is_ok();
        assert_eq!(ours, serde_ok, "ours accepts: {ours}, serde_json accepts: {serde_ok}");
    }
});
