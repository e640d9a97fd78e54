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

use super::{data_bytes, Field, Input, InputKind, Kernel, KernelError, Output, Packed, Param};
use super::{ErrorKind, RunError, TextPos, Value};
use crate::executor::CancelToken;

/// The largest offset JS can pass exactly.
const MAX_OFFSET: u64 = (1 << 53) - 1;

/// `csv.parse`. Its public options are checked by lib/csv.js, which passes `dynamicTyping` and
/// `skipEmptyLines` as 0/1 (`header` is applied in JS). `start` and `target` are set only by
/// lib/csv.js when it parses a large document in pieces: parse from byte `start` (the start of
/// a record) and stop after the first record that ends `target` or more bytes later.
pub struct CsvParse;

impl Kernel for CsvParse {
    const NAME: &'static str = "csv.parse";
    const INPUT: InputKind = InputKind::Data(&[
        Param::raw("delimiter"),
        Param::raw("quote"),
        Param::int("dynamicTyping", 0, 1, Some(0)),
        Param::int("skipEmptyLines", 0, 1, Some(0)),
        Param::int("start", 0, MAX_OFFSET, Some(0)),
        Param::int("target", 0, MAX_OFFSET, Some(MAX_OFFSET)),
    ]);
    type Args = Box<Options>;

    fn prepare(input: Input<'_>) -> Result<Self::Args, KernelError> {
        options(input).map(Box::new)
    }

    fn run(
        opts: &Self::Args,
        data: Value<'_>,
        token: &CancelToken<'_>,
    ) -> Result<Output, RunError> {
        let data = data_bytes(Self::NAME, data)?;
        match parse(data, **opts, token) {
            Ok(t) => Ok(Output::Packed(Box::new(t.packed(data.len())))),
            Err(Stop::Cancelled) => Err(RunError::Cancelled),
            Err(Stop::Syntax(e)) => Err(syntax_error(e).into()),
        }
    }
}

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

impl Table {
    /// The table as the parsers' packed result, for an input of `len` bytes.
    pub fn packed(self, len: usize) -> Packed {
        Packed {
            done: self.next >= len,
            next: self.next,
            next_units: self.next,
            kind: 0,
            offsets: self.ends,
            rows: self.rows,
            row_bytes: self.row_bytes,
            text: self.text,
            types: self.types,
            nums: self.nums,
            ascii: self.ascii,
        }
    }
}

/// An unterminated quoted field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unterminated {
    /// 1-based line where the quoted field began.
    pub line: u64,
}

/// Reads and checks the options of an input (plain text: defaults).
pub fn options(mut input: Input<'_>) -> Result<Options, KernelError> {
    let data = input.value.as_bytes().ok_or_else(|| {
        KernelError::invalid_type(
            "csv.parse input must be a string, binary or { data, delimiter, quote, header, \
             dynamicTyping, skipEmptyLines }",
        )
    })?;
    let f = &mut input.fields;
    let mut ch = |name: &str, default: char| -> Result<char, KernelError> {
        match f.raw(name) {
            Field::Missing => Ok(default),
            Field::Str(s) => {
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
    let delimiter = ch("delimiter", ',')?;
    let quote = ch("quote", '"')?;
    let offset = |n: u64| n.min(usize::MAX as u64) as usize;
    let opts = Options {
        delimiter,
        quote,
        dynamic_typing: f.int("dynamicTyping")? == 1,
        skip_empty_lines: f.int("skipEmptyLines")? == 1,
        start: offset(f.int("start")?),
        target: match f.int("target")? {
            MAX_OFFSET => usize::MAX,
            n => offset(n),
        },
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
    Ok(opts)
}

/// The error JS sees for an unterminated quote.
pub fn syntax_error(e: Unterminated) -> KernelError {
    KernelError::new(
        ErrorKind::Generic,
        "ERR_POOL_CSV_SYNTAX",
        format!("Unterminated quoted field starting on line {}", e.line),
    )
    .at(TextPos {
        line: e.line.min(u64::from(u32::MAX)) as u32,
        column: None,
        position: None,
    })
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
mod tests;
