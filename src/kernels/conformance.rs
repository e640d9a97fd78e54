//! Test support: reading the vendored vectors in `testdata/` (see its README) by path. A missing file fails the test
//! (panics); it never skips.

use serde_json::Value;

pub const CONFORMANCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");

pub fn read(rel: &str) -> String {
    let path = format!("{CONFORMANCE}/{rel}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

pub fn json(rel: &str) -> Value {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}
