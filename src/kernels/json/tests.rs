//! `json.parse`: what it accepts, where errors are, pieces and splits.

use super::*;
use crate::kernels::Field;

fn ok(s: &str) -> bool {
    validate(s.as_bytes(), &CancelToken::never()).is_ok()
}
fn err_at(s: &[u8]) -> usize {
    match validate(s, &CancelToken::never()) {
        Err(Stop::Error { at, .. }) => at,
        other => panic!("{other:?}"),
    }
}

#[test]
fn accepts_what_json_parse_accepts() {
    for s in [
        "1",
        " -0.5e+10 ",
        "\"\\uD800\"",
        "[]",
        "{}",
        "[1,[2,{\"a\":[]}],\"x\"]",
        "{\"__proto__\":1,\"a\":{\"b\":null}}",
        "\t\r\n true",
        "\"é\"",
    ] {
        assert!(ok(s), "{s}");
    }
}

#[test]
fn rejects_the_rest() {
    for s in [
        "",
        "[1,]",
        "{\"a\":1,}",
        "01",
        "1.",
        "-",
        "NaN",
        "[1 2]",
        "\"\\x\"",
        "\"\t\"",
        "//",
        "[",
        "{\"a\"}",
        "tru",
        "1 2",
        "\u{feff}1",
        "{1:2}",
        "[]]",
        ".5",
        "1e",
    ] {
        assert!(!ok(s), "{s:?}");
    }
    assert!(!ok("\u{a0}1"));
}

#[test]
fn error_positions() {
    assert_eq!(err_at(b"[1,]"), 3);
    assert_eq!(err_at(b"{\"a\":1"), 6);
    let at = |s: &str, utf16| match parse(s.as_bytes(), utf16, &CancelToken::never()) {
        Err(RunError::Failed(e)) => (e.kind, e.code, e.at.unwrap(), e.message),
        other => panic!("{other:?}"),
    };
    let (kind, code, pos, message) = at("[\n  1,\n  x]", true);
    assert_eq!((kind, code), (ErrorKind::Syntax, "ERR_POOL_JSON_SYNTAX"));
    assert_eq!(
        pos,
        TextPos {
            line: 3,
            column: Some(3),
            position: Some(9)
        }
    );
    assert_eq!(message, "Invalid JSON at line 3 column 3 (position 9)");
    // UTF-16 units for strings, bytes for binary.
    assert_eq!(at("\"é\" x", true).2.position, Some(4));
    assert_eq!(at("\"é\" x", false).2.position, Some(5));
    assert!(at("\"é\" x", false).3.ends_with("(byte 5)"));
    let (kind, code, pos, _) = at(&"[".repeat(MAX_DEPTH + 1), true);
    assert_eq!(
        (kind, code, pos.line),
        (ErrorKind::Range, "ERR_POOL_JSON_DEPTH", 1)
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = "[".repeat(100_000);
    match validate(deep.as_bytes(), &CancelToken::never()) {
        Err(Stop::Error { at, depth: true }) => assert_eq!(at, MAX_DEPTH),
        other => panic!("{other:?}"),
    }
    let fine = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(ok(&fine));
}

/// Validates `doc` in pieces of `target` bytes; returns the groups and the kind.
fn in_pieces(doc: &str, target: usize) -> (u32, Vec<(usize, usize)>) {
    let t = CancelToken::never();
    let mut piece = Piece {
        target,
        ..Piece::WHOLE
    };
    let mut groups = Vec::new();
    loop {
        let split = validate_piece(doc.as_bytes(), piece, &t).unwrap();
        groups.extend(split.groups);
        match split.next {
            Some(next) => {
                assert!(next > piece.start);
                piece.start = next;
                piece.kind = split.kind;
            }
            None => return (split.kind, groups),
        }
    }
}

#[test]
fn pieces_find_the_same_groups_and_errors() {
    let item = "{\"k\":\"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvé😀\"}";
    let n = 3 * WHOLE_LIMIT / item.len();
    let arr = format!(" [ {} ] ", vec![item; n].join(" ,\n "));
    let obj = format!(
        "{{{}}}",
        (0..n)
            .map(|i| format!("\"k{i}\" : {item}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for doc in [&arr, &obj] {
        let whole = validate(doc.as_bytes(), &CancelToken::never()).unwrap();
        assert!(whole.groups.len() > 4);
        for target in [0, 1, GROUP_BYTES, 3 * GROUP_BYTES] {
            assert_eq!(in_pieces(doc, target), (whole.kind, whole.groups.clone()));
        }
        // Offsets in UTF-16 units carry over from piece to piece.
        let t = CancelToken::never();
        let all = parse(doc.as_bytes(), true, &t).unwrap();
        assert!(all.done);
        let (mut piece, mut units, mut got) = (
            Piece {
                target: GROUP_BYTES,
                ..Piece::WHOLE
            },
            0,
            vec![],
        );
        loop {
            let p = parse_piece(doc.as_bytes(), true, piece, units, &t).unwrap();
            got.extend_from_slice(&p.offsets);
            if p.done {
                break;
            }
            (piece.start, piece.kind, units) = (p.next, p.kind, p.next_units);
        }
        assert_eq!(got, all.offsets);
    }
    // An error in a later piece is reported where it is in the whole text.
    let bad = format!("{}, 1,]", &arr[..arr.len() - 3]);
    let at = bad.len() - 1;
    let mut piece = Piece {
        target: GROUP_BYTES,
        ..Piece::WHOLE
    };
    loop {
        match validate_piece(bad.as_bytes(), piece, &CancelToken::never()) {
            Ok(split) => {
                piece.start = split.next.unwrap();
                piece.kind = split.kind;
            }
            Err(e) => {
                assert!(piece.start > 0);
                assert_eq!(e, Stop::Error { at, depth: false });
                break;
            }
        }
    }
}

#[test]
fn splits_large_arrays_and_objects() {
    let item = "{\"k\":\"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\"}";
    let n = 2 * WHOLE_LIMIT / item.len();
    let doc = format!("[ {} ]", vec![item; n].join(" , "));
    let split = validate(doc.as_bytes(), &CancelToken::never()).unwrap();
    assert_eq!(split.kind, 1);
    assert!(split.groups.len() > 2);
    let mut count = 0;
    for (a, b) in &split.groups {
        let part = format!("[{}]", &doc[*a..*b]);
        let v: serde_json::Value = serde_json::from_str(&part).unwrap();
        count += v.as_array().unwrap().len();
    }
    assert_eq!(count, n);
    let obj = format!(
        "{{{}}}",
        (0..n)
            .map(|i| format!("\"k{i}\" : {item}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let split = validate(obj.as_bytes(), &CancelToken::never()).unwrap();
    assert_eq!(split.kind, 2);
    let mut count = 0;
    for (a, b) in &split.groups {
        let part = format!("{{{}}}", &obj[*a..*b]);
        let v: serde_json::Value = serde_json::from_str(&part).unwrap();
        count += v.as_object().unwrap().len();
    }
    assert_eq!(count, n);
}

#[test]
fn the_kernel_reads_its_params_by_name() {
    let t = CancelToken::never();
    let plain = JsonParse::prepare(Input::plain(JsonParse::INPUT, Value::Str("[1]"))).unwrap();
    assert_eq!(
        *plain,
        JsonArgs {
            utf16: true,
            piece: Piece::WHOLE,
            start_units: 0
        }
    );
    let bin = JsonParse::prepare(Input::plain(JsonParse::INPUT, Value::Bytes(b"[1]"))).unwrap();
    assert!(!bin.utf16);
    let piece = Input::record(
        Value::Bytes(b"[1, 2]"),
        JsonParse::INPUT.params(),
        &[
            ("utf16", Field::Number(1.0)),
            ("start", Field::Number(4.0)),
            ("startUnits", Field::Number(3.0)),
            ("kind", Field::Number(1.0)),
            ("target", Field::Number(8.0)),
        ],
    );
    let args = JsonParse::prepare(piece).unwrap();
    assert_eq!(
        *args,
        JsonArgs {
            utf16: true,
            piece: Piece {
                start: 4,
                kind: 1,
                target: 8
            },
            start_units: 3
        }
    );
    let Ok(Output::Packed(p)) = JsonParse::run(&args, Value::Bytes(b"[1, 2]"), &t) else {
        panic!()
    };
    assert!(p.done);
    assert_eq!((p.kind, p.offsets.clone()), (kind::ARRAY, vec![3, 4]));
    let bad = Input::record(
        Value::Str("1"),
        JsonParse::INPUT.params(),
        &[("kind", Field::Number(3.0))],
    );
    assert_eq!(
        JsonParse::prepare(bad).unwrap_err().code,
        "ERR_OUT_OF_RANGE"
    );
    assert_eq!(
        JsonParse::prepare(Input::plain(JsonParse::INPUT, Value::Null))
            .unwrap_err()
            .code,
        "ERR_INVALID_ARG_TYPE"
    );
}
