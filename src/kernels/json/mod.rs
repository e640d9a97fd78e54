//! `json.parse`: an iterative (no recursion) RFC 8259 validator that accepts exactly what
//! `JSON.parse` accepts, finds the first error (line, column, position) and records split points
//! so the JS side can build a large document with `JSON.parse` on slices.
//!
//! A large top-level array or object can be validated in pieces (see [`Piece`]): each call
//! starts at an element (or member) boundary and stops after the first group ending `target`
//! bytes later, so the JS side builds one piece's groups while a worker validates the next.
//!
//! The result is the parsers' [`Packed`] piece: its `kind` (see [`kind`]) says what its
//! `offsets` hold, `[a, b)` pairs of whole consecutive elements or members, in UTF-16 units for
//! string input and bytes for binary input. An error (syntax, or nesting too deep) is reported
//! with its line, column and position in the whole text.

use super::{data_bytes, ErrorKind, Input, InputKind, Kernel, KernelError, Output, Packed};
use super::{Param, RunError, TextPos, Value};
use crate::executor::CancelToken;

/// What a piece's `offsets` hold (`Packed::kind`).
pub mod kind {
    /// Nothing: build the whole text with one `JSON.parse`.
    pub const WHOLE: u32 = 0;
    /// `[a, b)` pairs, each holding whole consecutive elements of the top-level array.
    pub const ARRAY: u32 = 1;
    /// `[a, b)` pairs, each holding whole consecutive members of the top-level object.
    pub const OBJECT: u32 = 2;
}

/// `json.parse`. A plain string or binary input is the whole text. lib/json.js sends a long
/// string as `{ data: utf8Bytes, utf16: 1 }` (report UTF-16 offsets), and a large document in
/// pieces with `start`, `startUnits` (`start` in UTF-16 units), `kind` (the first piece's) and
/// `target` (see [`Piece`]).
pub struct JsonParse;

/// Checked `json.parse` arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JsonArgs {
    pub utf16: bool,
    pub piece: Piece,
    pub start_units: usize,
}

const MAX_OFFSET: u64 = (1 << 53) - 1;

impl Kernel for JsonParse {
    const NAME: &'static str = "json.parse";
    const INPUT: InputKind = InputKind::Data(&[
        Param::int("utf16", 0, 1, Some(0)),
        Param::int("start", 0, MAX_OFFSET, Some(0)),
        Param::int("startUnits", 0, MAX_OFFSET, Some(0)),
        Param::int("kind", 0, 2, Some(kind::WHOLE as u64)),
        Param::int("target", 0, MAX_OFFSET, Some(MAX_OFFSET)),
    ]);
    type Args = Box<JsonArgs>;

    fn prepare(mut input: Input<'_>) -> Result<Self::Args, KernelError> {
        let Some(_) = input.value.as_bytes() else {
            return Err(KernelError::invalid_type(
                "The \"input\" argument of json.parse must be a string or binary",
            ));
        };
        let f = &mut input.fields;
        let size = |n: u64| n.min(usize::MAX as u64) as usize;
        let utf16 = matches!(input.value, Value::Str(_)) || f.int("utf16")? == 1;
        let piece = Piece {
            start: size(f.int("start")?),
            kind: f.int("kind")? as u32,
            target: match f.int("target")? {
                MAX_OFFSET => usize::MAX,
                n => size(n),
            },
        };
        let start_units = size(f.int("startUnits")?);
        Ok(Box::new(JsonArgs {
            utf16,
            piece,
            start_units,
        }))
    }

    fn run(
        args: &Self::Args,
        data: Value<'_>,
        token: &CancelToken<'_>,
    ) -> Result<Output, RunError> {
        let text = data_bytes(Self::NAME, data)?;
        let JsonArgs {
            utf16,
            piece,
            start_units,
        } = **args;
        let packed = parse_piece(text, utf16, piece, start_units, token)?;
        Ok(Output::Packed(Box::new(packed)))
    }
}

/// The deepest nesting accepted.
pub const MAX_DEPTH: usize = 10_000;
/// Documents smaller than this are parsed with one `JSON.parse`.
pub const WHOLE_LIMIT: usize = 1 << 20;
/// Target size of one group of elements or members.
pub const GROUP_BYTES: usize = 256 * 1024;
const POLL_BYTES: usize = 64 * 1024;

/// Why validation stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    Cancelled,
    /// Byte offset of the error, and whether it is a depth error.
    Error {
        at: usize,
        depth: bool,
    },
}

/// Split points found by [`validate`], in bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct Split {
    pub kind: u32,
    pub groups: Vec<(usize, usize)>,
    /// Where the next piece starts (just after a top-level comma), if the text is not done.
    pub next: Option<usize>,
}

/// Where a piece of a large top-level array or object starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Byte offset: 0, or a `next` of the previous piece.
    pub start: usize,
    /// The previous piece's `kind` (1 array, 2 object); ignored when `start` is 0.
    pub kind: u32,
    /// Stop after the first group ending this many bytes or more after `start`.
    pub target: usize,
}

impl Piece {
    /// The whole text in one call.
    pub const WHOLE: Piece = Piece {
        start: 0,
        kind: 0,
        target: usize::MAX,
    };
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
    next_poll: usize,
}

impl Cursor<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && is_ws(self.s[self.i]) {
            self.i += 1;
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn err(&self) -> Stop {
        Stop::Error {
            at: self.i.min(self.s.len()),
            depth: false,
        }
    }
    fn string(&mut self) -> Result<(), Stop> {
        // at the opening quote
        self.i += 1;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.err());
            };
            match b {
                b'"' => {
                    self.i += 1;
                    return Ok(());
                }
                b'\\' => {
                    self.i += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        Some(b'u') => {
                            self.i += 1;
                            for _ in 0..4 {
                                match self.peek() {
                                    Some(h) if h.is_ascii_hexdigit() => self.i += 1,
                                    _ => return Err(self.err()),
                                }
                            }
                        }
                        _ => return Err(self.err()),
                    }
                }
                0..=0x1f => return Err(self.err()),
                _ => self.i += 1,
            }
        }
    }
    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }
    fn number(&mut self) -> Result<(), Stop> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err()),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.err());
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.err());
            }
        }
        Ok(())
    }
    fn literal(&mut self, word: &[u8]) -> Result<(), Stop> {
        for &w in word {
            if self.peek() != Some(w) {
                return Err(self.err());
            }
            self.i += 1;
        }
        Ok(())
    }
    fn poll(&mut self, token: &CancelToken<'_>) -> Result<(), Stop> {
        if self.i >= self.next_poll {
            self.next_poll = self.i + POLL_BYTES;
            if token.is_cancelled() {
                return Err(Stop::Cancelled);
            }
        }
        Ok(())
    }
}

/// Validates `s` as JSON exactly as `JSON.parse` would (after UTF-8 decoding with U+FFFD
/// replacement) and finds split points. Iterative: nesting costs heap, never stack.
pub fn validate(s: &[u8], token: &CancelToken<'_>) -> Result<Split, Stop> {
    validate_piece(s, Piece::WHOLE, token)
}

/// [`validate`] from `piece.start`: the whole text when that is 0, else (a `next` of the
/// previous piece, just after a top-level comma) the rest of the top-level array or object.
/// Stops after the first group ending `piece.target` or more bytes after the start.
pub fn validate_piece(s: &[u8], piece: Piece, token: &CancelToken<'_>) -> Result<Split, Stop> {
    let mut c = Cursor {
        s,
        i: 0,
        next_poll: 0,
    };
    let mut stack: Vec<u8> = Vec::new();
    let split = s.len() >= WHOLE_LIMIT || piece.start > 0;
    let mut groups = Vec::new();
    let mut group_start: Option<usize> = None;
    let stop_at = piece.start.saturating_add(piece.target);
    let top;
    if piece.start == 0 {
        c.ws();
        top = c.peek();
    } else {
        // Inside the top-level container, after a comma: a value (or member) must come.
        let open = if piece.kind == 2 { b'{' } else { b'[' };
        top = Some(open);
        stack.push(open);
        c.i = piece.start.min(s.len());
        c.next_poll = c.i;
        c.ws();
        group_start = Some(c.i);
        if open == b'{' {
            member_key(&mut c)?;
        }
    }
    // `expect_value`: a value must come next; otherwise a value just ended.
    let mut expect_value = true;
    loop {
        c.poll(token)?;
        if expect_value {
            c.ws();
            match c.peek() {
                Some(b'{') | Some(b'[') => {
                    let open = s[c.i];
                    if stack.len() >= MAX_DEPTH {
                        return Err(Stop::Error {
                            at: c.i,
                            depth: true,
                        });
                    }
                    stack.push(open);
                    c.i += 1;
                    c.ws();
                    let close = if open == b'{' { b'}' } else { b']' };
                    if c.peek() == Some(close) {
                        c.i += 1;
                        stack.pop();
                        expect_value = false;
                        continue;
                    }
                    if stack.len() == 1 {
                        group_start = Some(c.i);
                    }
                    if open == b'{' {
                        member_key(&mut c)?;
                    }
                    continue;
                }
                Some(b'"') => c.string()?,
                Some(b'-' | b'0'..=b'9') => c.number()?,
                Some(b't') => c.literal(b"true")?,
                Some(b'f') => c.literal(b"false")?,
                Some(b'n') => c.literal(b"null")?,
                _ => return Err(c.err()),
            }
            expect_value = false;
            continue;
        }
        // A value just ended.
        let end = c.i;
        c.ws();
        let Some(&open) = stack.last() else {
            if c.i < s.len() {
                return Err(c.err());
            }
            break;
        };
        let close = if open == b'{' { b'}' } else { b']' };
        match c.peek() {
            Some(b',') => {
                c.i += 1;
                if stack.len() == 1 {
                    if let Some(a) = group_start {
                        if split && end - a >= GROUP_BYTES {
                            groups.push((a, end));
                            group_start = None;
                            if end >= stop_at {
                                let kind = if open == b'{' { 2 } else { 1 };
                                return Ok(Split {
                                    kind,
                                    groups,
                                    next: Some(c.i),
                                });
                            }
                        }
                    }
                    c.ws();
                    if group_start.is_none() {
                        group_start = Some(c.i);
                    }
                }
                if open == b'{' {
                    c.ws();
                    member_key(&mut c)?;
                }
                expect_value = true;
            }
            Some(b) if b == close => {
                c.i += 1;
                stack.pop();
                if stack.is_empty() {
                    if let Some(a) = group_start.take() {
                        groups.push((a, end));
                    }
                }
            }
            _ => return Err(c.err()),
        }
    }
    let kind = match top {
        _ if !split => 0,
        Some(b'[') => 1,
        Some(b'{') => 2,
        _ => 0,
    };
    if kind == 0 {
        groups.clear();
    }
    Ok(Split {
        kind,
        groups,
        next: None,
    })
}

/// A member's key and colon; the cursor is at the key.
fn member_key(c: &mut Cursor<'_>) -> Result<(), Stop> {
    if c.peek() != Some(b'"') {
        return Err(c.err());
    }
    c.string()?;
    c.ws();
    if c.peek() != Some(b':') {
        return Err(c.err());
    }
    c.i += 1;
    Ok(())
}

/// Converts increasing byte offsets of UTF-8 text to UTF-16 offsets.
struct Utf16<'a> {
    s: &'a [u8],
    byte: usize,
    unit: usize,
}

impl Utf16<'_> {
    fn at(&mut self, to: usize) -> usize {
        if to < self.byte {
            self.byte = 0;
            self.unit = 0;
        }
        for chunk in self.s[self.byte..to].chunks(64) {
            if chunk.is_ascii() {
                self.unit += chunk.len();
                continue;
            }
            for &b in chunk {
                if b & 0xc0 != 0x80 {
                    self.unit += 1;
                }
                if b >= 0xf0 {
                    self.unit += 1;
                }
            }
        }
        self.byte = to;
        self.unit
    }
}

/// Runs the kernel on the whole text (see the module docs). `utf16`: report offsets in UTF-16
/// units (string input) rather than bytes.
pub fn parse(s: &[u8], utf16: bool, token: &CancelToken<'_>) -> Result<Packed, RunError> {
    parse_piece(s, utf16, Piece::WHOLE, 0, token)
}

/// [`parse`] of one piece; `start_units` is `piece.start` in UTF-16 units (when `utf16`).
pub fn parse_piece(
    s: &[u8],
    utf16: bool,
    piece: Piece,
    start_units: usize,
    token: &CancelToken<'_>,
) -> Result<Packed, RunError> {
    let mut conv = Utf16 {
        s,
        byte: piece.start.min(s.len()),
        unit: if piece.start == 0 { 0 } else { start_units },
    };
    let mut off = |b: usize| -> u32 {
        if utf16 {
            conv.at(b) as u32
        } else {
            b as u32
        }
    };
    match validate_piece(s, piece, token) {
        Ok(split) => {
            let mut offsets = Vec::with_capacity(2 * split.groups.len());
            for (a, b) in split.groups {
                offsets.push(off(a));
                offsets.push(off(b));
            }
            let (next, next_units) = match split.next {
                Some(next) => (next, off(next) as usize),
                None => (s.len(), 0),
            };
            Ok(Packed {
                done: split.next.is_none(),
                next,
                next_units,
                kind: split.kind,
                offsets,
                ..Packed::default()
            })
        }
        Err(Stop::Cancelled) => Err(RunError::Cancelled),
        Err(Stop::Error { at, depth }) => {
            let line_start = s[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            let line = s[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            let position = off(at);
            let column = position - off(line_start) + 1;
            let line = line.min(u32::MAX as usize) as u32;
            let e = if depth {
                KernelError::new(
                    ErrorKind::Range,
                    "ERR_POOL_JSON_DEPTH",
                    format!("JSON nesting deeper than {MAX_DEPTH} at line {line} column {column}"),
                )
            } else {
                let unit = if utf16 { "position" } else { "byte" };
                KernelError::new(
                    ErrorKind::Syntax,
                    "ERR_POOL_JSON_SYNTAX",
                    format!("Invalid JSON at line {line} column {column} ({unit} {position})"),
                )
            };
            Err(e
                .at(TextPos {
                    line,
                    column: Some(column),
                    position: Some(position.into()),
                })
                .into())
        }
    }
}

#[cfg(test)]
mod tests;
