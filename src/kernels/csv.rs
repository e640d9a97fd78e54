//! `csv.parse`: an RFC 4180 parser that mirrors papaparse's reading of quotes, producing one
//! packed table the binding hands to JS in a handful of values.
//!
//! Our own state machine rather than the `csv` crate: the crate accepts an unterminated quote
//! silently (we must reject it with the line where the quoted field began), and papaparse, which
//! the JS results are checked against, treats a quote that is not followed by a delimiter or a
//! line break as literal and allows whitespace between a closing quote and the delimiter.
//!
//! Semantics: a field that starts with the quote character is quoted; inside it a doubled quote
//! is one quote, delimiters and line breaks (CR, LF, CRLF) are literal, and it ends at a quote
//! followed (after optional spaces/tabs) by the delimiter, a line break or the end. Quotes inside
//! an unquoted field are literal. CR, LF and CRLF all end a record. A line break at the very end
//! of the input ends the last record and does not start another. Invalid UTF-8 is replaced
//! with U+FFFD (as `Buffer#toString`).

use super::{ErrorKind, Input, KernelError, Param};
use crate::executor::CancelToken;

/// The params `csv.parse` reads from `{ data, ... }`, in order. `start` and `target` are set
/// only by lib/csv.js when it parses a large document in pieces: parse from byte `start` (the
/// start of a record) and stop after the first record that ends `target` or more bytes later.
pub const PARAMS: &[&str] = &[
    "delimiter",
    "quote",
    "dynamicTyping",
    "skipEmptyLines",
    "start",
    "target",
];

/// Field type tags, computed when `dynamic_typing` is set (papaparse's `dynamicTyping` rules).
pub mod tag {
    /// A string.
    pub const STRING: u8 = 0;
    /// Matches papaparse's `FLOAT` regex; JS applies `parseFloat` and its ±2^53 bound.
    pub const NUMBER: u8 = 1;
    /// `true` or `TRUE`.
    pub const TRUE: u8 = 2;
    /// `false` or `FALSE`.
    pub const FALSE: u8 = 3;
    /// Starts like an ISO date (`dddd-`); JS applies papaparse's `ISO_DATE` regex.
    pub const MAYBE_DATE: u8 = 4;
    /// The empty string (papaparse gives `null`).
    pub const EMPTY: u8 = 5;
}

/// Parsing options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub delimiter: char,
    pub quote: char,
    pub dynamic_typing: bool,
    pub skip_empty_lines: bool,
    /// Byte offset of the first record to parse (a piece's start).
    pub start: usize,
    /// Stop after the first record ending at least this many bytes after `start`.
    pub target: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            delimiter: ',',
            quote: '"',
            dynamic_typing: false,
            skip_empty_lines: false,
            start: 0,
            target: usize::MAX,
        }
    }
}

/// A parsed document, packed: every field's unescaped text concatenated into `text`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// All fields' text, concatenated (valid UTF-8: cut from a `str` at ASCII boundaries).
    pub text: Vec<u8>,
    /// For each field, where it ends in `text`, in UTF-16 code units from the start of `text`.
    pub ends: Vec<u32>,
    /// For each record, its number of fields.
    pub rows: Vec<u32>,
    /// For each record, where its last field ends in `text`, in bytes.
    pub row_bytes: Vec<u32>,
    /// For each field, a [`tag`] (empty unless `dynamic_typing`).
    pub types: Vec<u8>,
    /// For each [`tag::NUMBER`] field in order, its value (JS `parseFloat`, within ±2^53).
    pub nums: Vec<f64>,
    /// `text` is all ASCII (UTF-16 offsets equal byte offsets).
    pub ascii: bool,
    /// Byte offset in the input where the next piece starts (the input's length when done).
    pub next: usize,
}

/// An unterminated quoted field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unterminated {
    /// 1-based line where the quoted field began.
    pub line: u64,
}

/// Reads and checks the options of an input (plain text: defaults).
pub fn options<'a>(input: &Input<'a>) -> Result<(&'a [u8], Options), KernelError> {
    let data = input.as_bytes().ok_or_else(|| {
        KernelError::invalid_type(
            "csv.parse input must be a string, binary or { data, delimiter, quote, header, \
             dynamicTyping, skipEmptyLines }",
        )
    })?;
    let ch = |i: usize, name: &str, default: char| -> Result<char, KernelError> {
        match input.param(i) {
            Param::Missing => Ok(default),
            Param::Str(s) => {
                let mut it = s.chars();
                match (it.next(), it.next()) {
                    (Some(c), None) if c != '\r' && c != '\n' => Ok(c),
                    _ => Err(KernelError::invalid_value(format!(
                        "The \"{name}\" option must be a single character other than CR or LF. \
                         Received {s:?}"
                    ))),
                }
            }
            p => Err(KernelError::invalid_type(format!(
                "The \"{name}\" option must be of type string. Received type {}",
                p.type_name()
            ))),
        }
    };
    let flag = |i: usize, name: &str| -> Result<bool, KernelError> {
        match input.param(i) {
            Param::Missing => Ok(false),
            Param::Number(n) => Ok(n != 0.0),
            p => Err(KernelError::invalid_type(format!(
                "The \"{name}\" option must be of type boolean. Received type {}",
                p.type_name()
            ))),
        }
    };
    let offset = |i: usize, default: usize| -> Result<usize, KernelError> {
        match input.param(i) {
            Param::Missing => Ok(default),
            Param::Number(n) if n >= 0.0 && n.fract() == 0.0 => {
                Ok(n.min(usize::MAX as f64) as usize)
            }
            _ => Err(KernelError::invalid_value(format!(
                "The \"{}\" param of csv.parse must be a non-negative integer",
                PARAMS[i]
            ))),
        }
    };
    let opts = Options {
        delimiter: ch(0, "delimiter", ',')?,
        quote: ch(1, "quote", '"')?,
        dynamic_typing: flag(2, "dynamicTyping")?,
        skip_empty_lines: flag(3, "skipEmptyLines")?,
        start: offset(4, 0)?,
        target: offset(5, usize::MAX)?,
    };
    if opts.delimiter == opts.quote {
        return Err(KernelError::invalid_value(
            "The \"delimiter\" and \"quote\" options must differ",
        ));
    }
    if data.len() > u32::MAX as usize / 2 {
        return Err(KernelError::out_of_range(
            "csv.parse input must be at most 2 GiB",
        ));
    }
    Ok((data, opts))
}

/// The error JS sees for an unterminated quote.
pub fn syntax_error(e: Unterminated) -> KernelError {
    KernelError {
        kind: ErrorKind::Syntax {
            line: e.line.min(u64::from(u32::MAX)) as u32,
        },
        code: "ERR_POOL_CSV_SYNTAX",
        message: format!("Unterminated quoted field starting on line {}", e.line),
    }
}

/// Rows between cancellation polls.
const POLL_ROWS: usize = 4096;

/// Why parsing stopped early.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    Cancelled,
    Syntax(Unterminated),
}

/// Parses `data` (UTF-8; invalid sequences become U+FFFD) from `opts.start`, stopping after
/// the first record that ends `opts.target` or more bytes later.
pub fn parse(data: &[u8], opts: Options, token: &CancelToken<'_>) -> Result<Table, Stop> {
    let start = opts.start.min(data.len());
    let rest = &data[start..];
    let mut t = match scan(rest, opts, token) {
        Ok(t) => t,
        Err(Stop::Syntax(Unterminated { line })) => {
            // `scan` counted lines from `start`, which is the start of a line.
            let before = line_of(data, start) - 1;
            return Err(Stop::Syntax(Unterminated {
                line: before + line,
            }));
        }
        Err(e) => return Err(e),
    };
    let done = &rest[..t.next];
    if !t.ascii && std::str::from_utf8(done).is_err() {
        // Invalid UTF-8: parse the same bytes again with U+FFFD substituted (what
        // `Buffer#toString` does). Substitution never creates or removes an ASCII byte or a
        // valid character, so the records (and where this piece ends) stay the same; `done`
        // ends after a line break, so it is decoded as the whole input would be.
        let fixed = String::from_utf8_lossy(done);
        let whole = Options {
            start: 0,
            target: usize::MAX,
            ..opts
        };
        let next = t.next;
        t = scan(fixed.as_bytes(), whole, token)?;
        t.next = next;
    }
    t.next += start;
    Ok(t)
}

/// Parses `bytes` (UTF-8 or not: `ends` are only right for valid UTF-8) from its start; stops
/// after the first record ending `opts.target` or more bytes in. `next` is relative to `bytes`.
fn scan(bytes: &[u8], opts: Options, token: &CancelToken<'_>) -> Result<Table, Stop> {
    let mut d = [0u8; 4];
    let mut q = [0u8; 4];
    let d: &[u8] = opts.delimiter.encode_utf8(&mut d).as_bytes();
    let q: &[u8] = opts.quote.encode_utf8(&mut q).as_bytes();
    let (d0, q0) = (d[0], q[0]);
    // (First byte inline: a memcmp call per field was a quarter of the parse time.)
    let at = |i: usize, pat: &[u8]| {
        bytes.get(i) == Some(&pat[0]) && (pat.len() == 1 || bytes[i..].starts_with(pat))
    };

    let mut t = Table {
        ascii: true,
        ..Table::default()
    };
    let n = bytes.len();
    let cap = n.min(opts.target.saturating_add(64 * 1024));
    let mut text: Vec<u8> = Vec::with_capacity(cap);
    t.ends.reserve(cap / 16);
    let mut row_fields: u32 = 0;
    let mut lines = 0usize;
    let mut i = 0usize;
    if n == 0 {
        return Ok(t);
    }
    loop {
        // At the start of a field.
        let field_start = text.len();
        let end_of_row;
        if at(i, q) {
            let open = i;
            i += q.len();
            loop {
                // Find the next quote.
                let Some(off) = memchr::memchr(q0, &bytes[i..]) else {
                    return Err(Stop::Syntax(Unterminated {
                        line: line_of(bytes, open),
                    }));
                };
                let k = i + off;
                if !at(k, q) {
                    text.extend_from_slice(&bytes[i..=k]);
                    i = k + 1;
                    continue;
                }
                text.extend_from_slice(&bytes[i..k]);
                let after = k + q.len();
                if at(after, q) {
                    text.extend_from_slice(q);
                    i = after + q.len();
                    continue;
                }
                let mut j = after;
                let closes = loop {
                    if j == n || bytes[j] == b'\r' || bytes[j] == b'\n' || at(j, d) {
                        break true;
                    }
                    if bytes[j] != b' ' && bytes[j] != b'\t' {
                        break false;
                    }
                    j += 1;
                };
                if closes {
                    i = j;
                    break;
                }
                // A quote not followed by a delimiter or line break is literal.
                text.extend_from_slice(q);
                i = after;
            }
            // Now at the end, a line break or a delimiter.
            end_of_row = i == n || bytes[i] == b'\r' || bytes[i] == b'\n';
        } else {
            let mut k = i;
            loop {
                k += memchr::memchr3(b'\r', b'\n', d0, &bytes[k..]).unwrap_or(n - k);
                // A multi-byte delimiter's first byte alone is not a delimiter.
                if k < n && bytes[k] == d0 && !at(k, d) {
                    k += 1;
                    continue;
                }
                break;
            }
            text.extend_from_slice(&bytes[i..k]);
            i = k;
            end_of_row = i == n || bytes[i] == b'\r' || bytes[i] == b'\n';
        }
        // Close the field (`ends` holds byte offsets until the end, see below).
        let field = &text[field_start..];
        t.ends.push(text.len() as u32);
        if opts.dynamic_typing {
            let tag = type_tag(field, &mut t.nums);
            t.types.push(tag);
        }
        row_fields += 1;
        if !end_of_row {
            i += d.len();
            continue;
        }
        // Close the row.
        if opts.skip_empty_lines && row_fields == 1 && field_start == text.len() {
            t.ends.pop();
            t.types.pop();
        } else {
            t.rows.push(row_fields);
            t.row_bytes.push(text.len() as u32);
        }
        row_fields = 0;
        if i < n {
            i += if bytes[i] == b'\r' && i + 1 < n && bytes[i + 1] == b'\n' {
                2
            } else {
                1
            };
        }
        lines += 1;
        if lines.is_multiple_of(POLL_ROWS) && token.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        if i >= n || i >= opts.target {
            break;
        }
    }
    t.next = i;
    t.ascii = text.is_ascii();
    if !t.ascii {
        // Byte ends to UTF-16 ends.
        let mut prev = 0usize;
        let mut units = 0u64;
        for e in t.ends.iter_mut() {
            let end = *e as usize;
            units += utf16_units(&text[prev..end]);
            prev = end;
            *e = units as u32;
        }
    }
    t.text = text;
    Ok(t)
}

/// UTF-16 length of a UTF-8 slice.
fn utf16_units(s: &[u8]) -> u64 {
    if s.is_ascii() {
        return s.len() as u64;
    }
    s.iter()
        .map(|&b| u64::from(b & 0xC0 != 0x80) + u64::from(b >= 0xF0))
        .sum()
}

/// 1-based line of byte `pos` (CR, LF and CRLF each end one line).
fn line_of(bytes: &[u8], pos: usize) -> u64 {
    let mut line = 1;
    let mut k = 0;
    while k < pos {
        match bytes[k] {
            b'\n' => line += 1,
            b'\r' => {
                line += 1;
                if k + 1 < pos && bytes[k + 1] == b'\n' {
                    k += 1;
                }
            }
            _ => {}
        }
        k += 1;
    }
    line
}

/// JS `\s`.
fn js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// papaparse's `FLOAT`: `^\s*-?(\d+\.?|\.\d+|\d+\.\d+)([eE][-+]?\d+)?\s*$`.
pub fn is_float(s: &str) -> bool {
    let s = s.trim_matches(js_space).as_bytes();
    let mut i = 0;
    if s.first() == Some(&b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < s.len() && s[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    let int = digits(&mut i);
    if i < s.len() && s[i] == b'.' {
        i += 1;
        let frac = digits(&mut i);
        if int == 0 && frac == 0 {
            return false;
        }
    } else if int == 0 {
        return false;
    }
    if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        i += 1;
        if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == s.len()
}

/// The largest magnitude papaparse turns into a number (exclusive).
const MAX_FLOAT: f64 = 9_007_199_254_740_992.0;

/// The field's [`tag`]; for a number, also pushes its value to `nums`.
fn type_tag(field: &[u8], nums: &mut Vec<f64>) -> u8 {
    match field {
        b"" => tag::EMPTY,
        b"true" | b"TRUE" => tag::TRUE,
        b"false" | b"FALSE" => tag::FALSE,
        [a, b, c, d, b'-', ..] if [a, b, c, d].iter().all(|x| x.is_ascii_digit()) => {
            tag::MAYBE_DATE
        }
        _ => match std::str::from_utf8(field) {
            Ok(s) if is_float(s) => match number(s) {
                Some(n) => {
                    nums.push(n);
                    tag::NUMBER
                }
                None => tag::STRING,
            },
            _ => tag::STRING,
        },
    }
}

/// JS `parseFloat` of a string matching papaparse's `FLOAT`, if strictly within ±2^53
/// (papaparse keeps the string otherwise). Both round correctly, so they agree.
fn number(s: &str) -> Option<f64> {
    let n: f64 = s.trim_matches(js_space).parse().ok()?;
    (n > -MAX_FLOAT && n < MAX_FLOAT).then_some(n)
}

#[cfg(test)]
mod tests {
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
        let task = crate::executor::TaskCtl::new();
        let pool = std::sync::atomic::AtomicBool::new(true);
        let token = CancelToken::new(&task, &pool);
        assert_eq!(
            parse(big.as_bytes(), Options::default(), &token),
            Err(Stop::Cancelled)
        );
    }

    #[test]
    fn options_are_checked() {
        let rec = |d: Param<'static>| Input::Record {
            data: b"a",
            params: crate::kernels::record_params(&[d]),
        };
        assert!(options(&rec(Param::Missing)).is_ok());
        assert_eq!(
            options(&rec(Param::Str(";;"))).unwrap_err().code,
            "ERR_INVALID_ARG_VALUE"
        );
        assert_eq!(
            options(&rec(Param::Str("\""))).unwrap_err().code,
            "ERR_INVALID_ARG_VALUE"
        );
        assert_eq!(
            options(&rec(Param::Number(1.0))).unwrap_err().code,
            "ERR_INVALID_ARG_TYPE"
        );
    }
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
