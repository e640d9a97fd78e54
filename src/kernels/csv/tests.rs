//! `csv.parse` against papaparse's reading of quotes, pieces, typing and cancellation.

use super::*;

fn rows(src: &str, opts: Options) -> Result<Vec<Vec<String>>, Stop> {
    let t = parse(src.as_bytes(), opts, &CancelToken::never())?;
    // Map UTF-16 ends back to strings.
    let units: Vec<u16> = std::str::from_utf8(&t.text)
        .unwrap()
        .encode_utf16()
        .collect();
    let mut out = Vec::new();
    let (mut f, mut prev) = (0usize, 0usize);
    for &count in &t.rows {
        let mut row = Vec::new();
        for _ in 0..count {
            let end = t.ends[f] as usize;
            row.push(String::from_utf16(&units[prev..end]).unwrap());
            prev = end;
            f += 1;
        }
        out.push(row);
    }
    assert_eq!(f, t.ends.len());
    Ok(out)
}

fn p(src: &str) -> Vec<Vec<String>> {
    rows(src, Options::default()).unwrap()
}

fn v(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[test]
fn basics_and_line_endings() {
    assert_eq!(p(""), v(&[]));
    assert_eq!(p("\n"), v(&[&[""]]));
    assert_eq!(p("a,b\n1,2\n"), v(&[&["a", "b"], &["1", "2"]]));
    assert_eq!(p("a,b\r\n1,2"), v(&[&["a", "b"], &["1", "2"]]));
    assert_eq!(p("a\rb\r\rc"), v(&[&["a"], &["b"], &[""], &["c"]]));
    assert_eq!(p("a,,\n"), v(&[&["a", "", ""]]));
}

#[test]
fn quoting() {
    assert_eq!(
        p("\"a,b\",\"c\"\"d\",\"e\r\nf\"\n"),
        v(&[&["a,b", "c\"d", "e\r\nf"]])
    );
    assert_eq!(p("a\"b,c"), v(&[&["a\"b", "c"]]));
    assert_eq!(p("\"a\"b\",c"), v(&[&["a\"b", "c"]]));
    assert_eq!(p("\"a\"  ,c"), v(&[&["a", "c"]]));
    let tab = Options {
        delimiter: '\t',
        ..Options::default()
    };
    assert_eq!(rows("\"a\"\t\tb", tab).unwrap(), v(&[&["a", "", "b"]]));
    assert_eq!(p("\"\""), v(&[&[""]]));
}

#[test]
fn unicode_and_options() {
    let o = Options {
        delimiter: '§',
        quote: '\'',
        ..Options::default()
    };
    assert_eq!(
        rows("é§'x§''y'§😀\n", o).unwrap(),
        v(&[&["é", "x§'y", "😀"]])
    );
    let t = parse("😀,a".as_bytes(), Options::default(), &CancelToken::never()).unwrap();
    assert_eq!(t.ends, vec![2, 3]);
    assert!(!t.ascii);
}

/// Field strings of a table.
fn fields(t: &Table) -> Vec<String> {
    let units: Vec<u16> = String::from_utf8_lossy(&t.text).encode_utf16().collect();
    let mut prev = 0usize;
    t.ends
        .iter()
        .map(|&e| {
            let s = String::from_utf16(&units[prev..e as usize]).unwrap();
            prev = e as usize;
            s
        })
        .collect()
}

#[test]
fn pieces_add_up_to_the_whole() {
    let docs: [&[u8]; 4] = [
        b"a,\"b\r\nc\"\r\n\r\n1,2\r3,\"x\"\"\"\n\n\"\"\nlast",
        "é,😀\nx,\"y\nz\"\n\n1,2\n".as_bytes(),
        b"ok,\xff\xfe\nq,\"\xc3\"\n\xe2\x82,z\n",
        b"a,b\n",
    ];
    for doc in docs {
        for (dynamic_typing, skip_empty_lines) in [(false, false), (true, true)] {
            let base = Options {
                dynamic_typing,
                skip_empty_lines,
                ..Options::default()
            };
            let whole = parse(doc, base, &CancelToken::never()).unwrap();
            for target in 0..doc.len() + 2 {
                let (mut start, mut rows, mut f, mut types, mut nums) =
                    (0, vec![], vec![], vec![], vec![]);
                while start < doc.len() {
                    let o = Options {
                        start,
                        target,
                        ..base
                    };
                    let t = parse(doc, o, &CancelToken::never()).unwrap();
                    assert!(t.next > start);
                    start = t.next;
                    rows.extend_from_slice(&t.rows);
                    f.extend(fields(&t));
                    types.extend_from_slice(&t.types);
                    nums.extend_from_slice(&t.nums);
                }
                assert_eq!(start, doc.len());
                assert_eq!(rows, whole.rows, "{doc:?} {target}");
                assert_eq!(f, fields(&whole), "{doc:?} {target}");
                assert_eq!((types, nums), (whole.types.clone(), whole.nums.clone()));
            }
        }
    }
}

#[test]
fn a_piece_reports_the_line_in_the_whole_input() {
    let doc = b"a\r\nb\n\"c\nd\"\n1,\"open\nmore";
    let o = Options {
        start: 4,
        ..Options::default()
    };
    assert_eq!(
        parse(doc, o, &CancelToken::never()),
        Err(Stop::Syntax(Unterminated { line: 5 }))
    );
}

#[test]
fn skip_empty_lines() {
    let o = Options {
        skip_empty_lines: true,
        ..Options::default()
    };
    assert_eq!(
        rows("a\n\n\"\"\nb,\n", o).unwrap(),
        v(&[&["a"], &["b", ""]])
    );
}

#[test]
fn unterminated_quote_reports_its_line() {
    let e = |s: &str| rows(s, Options::default()).unwrap_err();
    assert_eq!(e("\"abc"), Stop::Syntax(Unterminated { line: 1 }));
    assert_eq!(
        e("a\r\n\"x\ny\"\r\nb,\"open\nmore"),
        Stop::Syntax(Unterminated { line: 4 })
    );
    assert_eq!(e("a\r\rb,\"c"), Stop::Syntax(Unterminated { line: 3 }));
}

#[test]
fn dynamic_typing_tags() {
    for s in ["1", "-1.5", " 2 ", ".5", "1.", "1e5", "1.5E-3"] {
        assert!(is_float(s), "{s}");
    }
    for s in ["", "-", ".", "1e", "+1", "1.2.3", "0x10", "abc", "1 2"] {
        assert!(!is_float(s), "{s}");
    }
    let mut nums = Vec::new();
    assert_eq!(type_tag(b"TRUE", &mut nums), tag::TRUE);
    assert_eq!(type_tag(b"True", &mut nums), tag::STRING);
    assert_eq!(type_tag(b"false", &mut nums), tag::FALSE);
    assert_eq!(type_tag(b"", &mut nums), tag::EMPTY);
    assert_eq!(type_tag(b"2024-01-01T00:00Z", &mut nums), tag::MAYBE_DATE);
    assert!(nums.is_empty());
    assert_eq!(type_tag(b"12", &mut nums), tag::NUMBER);
    for s in [
        "1.",
        ".5",
        " 2 ",
        "-0",
        "1e5",
        "1.5E-3",
        "-9007199254740991",
    ] {
        assert_eq!(type_tag(s.as_bytes(), &mut nums), tag::NUMBER, "{s}");
    }
    assert_eq!(
        nums,
        [12.0, 1.0, 0.5, 2.0, -0.0, 1e5, 1.5e-3, -9007199254740991.0]
    );
    assert!(nums[4].is_sign_negative());
    for s in ["9007199254740992", "-9007199254740993", "1e400"] {
        assert_eq!(type_tag(s.as_bytes(), &mut nums), tag::STRING, "{s}");
    }
}

#[test]
fn cancels() {
    let big = "a,b\n".repeat(POLL_ROWS * 2);
    let task = std::sync::Arc::new(crate::executor::TaskCtl::new());
    let pool = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let token = CancelToken::new(&task, &pool);
    assert_eq!(
        parse(big.as_bytes(), Options::default(), &token),
        Err(Stop::Cancelled)
    );
}

#[test]
fn options_are_checked() {
    let rec = |d: Field| {
        Input::record(
            Value::Str("a"),
            CsvParse::INPUT.params(),
            &[("delimiter", d)],
        )
    };
    assert_eq!(options(rec(Field::Missing)), Ok(Options::default()));
    let semi = options(rec(Field::Str(";".into()))).unwrap();
    assert_eq!(semi.delimiter, ';');
    for (d, code) in [
        (Field::Str(";;".into()), "ERR_INVALID_ARG_VALUE"),
        (Field::Str("\"".into()), "ERR_INVALID_ARG_VALUE"),
        (Field::Number(1.0), "ERR_INVALID_ARG_TYPE"),
    ] {
        assert_eq!(options(rec(d)).unwrap_err().code, code);
    }
    let typed = Input::record(
        Value::Str("a"),
        CsvParse::INPUT.params(),
        &[
            ("dynamicTyping", Field::Number(1.0)),
            ("start", Field::Number(7.0)),
        ],
    );
    let o = options(typed).unwrap();
    assert!(o.dynamic_typing && !o.skip_empty_lines);
    assert_eq!((o.start, o.target), (7, usize::MAX));
}

#[test]
fn the_kernel_returns_a_packed_piece() {
    let t = CancelToken::never();
    let args = CsvParse::prepare(Input::plain(CsvParse::INPUT, Value::Str("a,b\nc,d\n"))).unwrap();
    let Ok(Output::Packed(p)) = CsvParse::run(&args, Value::Str("a,b\nc,d\n"), &t) else {
        panic!()
    };
    assert!(p.done);
    assert_eq!(
        (p.next, p.rows.clone(), p.offsets.clone()),
        (8, vec![2, 2], vec![1, 2, 3, 4])
    );
    assert_eq!(p.text, b"abcd");
    let e = CsvParse::run(&args, Value::Str("a,\"b\n"), &t).unwrap_err();
    let RunError::Failed(e) = e else { panic!() };
    assert_eq!(
        (e.code, e.at.map(|p| p.line)),
        ("ERR_POOL_CSV_SYNTAX", Some(1))
    );
}

#[cfg(test)]
mod timing {
    use super::*;

    /// `cargo test --release --lib csv::timing -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn parse_speed() {
        let mut doc = String::new();
        for r in 0..100_000 {
            for c in 0..10 {
                if c > 0 {
                    doc.push(',');
                }
                match (r * 7 + c * 3) % 10 {
                    0..=2 => doc.push_str(&format!("{}", r * 31 + c)),
                    3 | 4 => doc.push_str("\"ab, \"\"c\"\" d e f g h\""),
                    5 => doc.push_str(&format!("\"multi\nline {r}\"")),
                    _ => doc.push_str(&format!("hello world gamma delta {}", r * c)),
                }
            }
            doc.push('\n');
        }
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let out = parse(doc.as_bytes(), Options::default(), &CancelToken::never()).unwrap();
            eprintln!(
                "{} MB: {:?} ({} fields)",
                doc.len() / 1_000_000,
                t.elapsed(),
                out.ends.len()
            );
        }
    }
}
