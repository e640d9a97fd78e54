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
use std::borrow::Cow;

/// The params `csv.parse` reads from `{ data, ... }`, in order.
pub const PARAMS: &[&str] = &["delimiter", "quote", "dynamicTyping", "skipEmptyLines"];

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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            delimiter: ',',
            quote: '"',
            dynamic_typing: false,
            skip_empty_lines: false,
        }
    }
}

/// A parsed document, packed: every field's unescaped text concatenated into `text`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
    /// `text` is all ASCII (UTF-16 offsets equal byte offsets).
    pub ascii: bool,
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
    let opts = Options {
        delimiter: ch(0, "delimiter", ',')?,
        quote: ch(1, "quote", '"')?,
        dynamic_typing: flag(2, "dynamicTyping")?,
        skip_empty_lines: flag(3, "skipEmptyLines")?,
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

/// Parses `data` (UTF-8; invalid sequences become U+FFFD).
pub fn parse(data: &[u8], opts: Options, token: &CancelToken<'_>) -> Result<Table, Stop> {
    let src: Cow<'_, str> = String::from_utf8_lossy(data);
    let bytes = src.as_bytes();
    let mut d = [0u8; 4];
    let mut q = [0u8; 4];
    let d: &[u8] = opts.delimiter.encode_utf8(&mut d).as_bytes();
    let q: &[u8] = opts.quote.encode_utf8(&mut q).as_bytes();
    let (d0, q0) = (d[0], q[0]);
    let mut special = [false; 256];
    for b in [b'\r', b'\n', d0] {
        special[usize::from(b)] = true;
    }
    let at = |i: usize, pat: &[u8]| bytes.len() >= i + pat.len() && &bytes[i..i + pat.len()] == pat;

    let mut t = Table {
        ascii: true,
        ..Table::default()
    };
    let mut text: Vec<u8> = Vec::with_capacity(bytes.len());
    t.ends.reserve(bytes.len() / 16);
    let mut u16_len: u64 = 0;
    let mut row_fields: u32 = 0;
    let mut lines = 0usize;
    let n = bytes.len();
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
                let Some(off) = bytes[i..].iter().position(|&b| b == q0) else {
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
                k += bytes[k..]
                    .iter()
                    .position(|&b| special[usize::from(b)])
                    .unwrap_or(n - k);
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
        // Close the field.
        let field = &text[field_start..];
        let units = utf16_units(field, &mut t.ascii);
        u16_len += units;
        t.ends.push(u16_len as u32);
        if opts.dynamic_typing {
            t.types.push(type_tag(field));
        }
        row_fields += 1;
        if !end_of_row {
            i += d.len();
            continue;
        }
        // Close the row.
        if opts.skip_empty_lines && row_fields == 1 && field.is_empty() {
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
        if i >= n {
            break;
        }
    }
    t.text = text;
    Ok(t)
}

/// UTF-16 length of a UTF-8 slice; clears `ascii` if it has any non-ASCII byte.
fn utf16_units(s: &[u8], ascii: &mut bool) -> u64 {
    if s.is_ascii() {
        return s.len() as u64;
    }
    *ascii = false;
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

fn type_tag(field: &[u8]) -> u8 {
    match field {
        b"" => tag::EMPTY,
        b"true" | b"TRUE" => tag::TRUE,
        b"false" | b"FALSE" => tag::FALSE,
        [a, b, c, d, b'-', ..] if [a, b, c, d].iter().all(|x| x.is_ascii_digit()) => {
            tag::MAYBE_DATE
        }
        _ => match std::str::from_utf8(field) {
            Ok(s) if is_float(s) => tag::NUMBER,
            _ => tag::STRING,
        },
    }
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
        assert_eq!(type_tag(b"TRUE"), tag::TRUE);
        assert_eq!(type_tag(b"True"), tag::STRING);
        assert_eq!(type_tag(b"false"), tag::FALSE);
        assert_eq!(type_tag(b""), tag::EMPTY);
        assert_eq!(type_tag(b"2024-01-01T00:00Z"), tag::MAYBE_DATE);
        assert_eq!(type_tag(b"12"), tag::NUMBER);
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
            params: [d, Param::Missing, Param::Missing, Param::Missing],
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
