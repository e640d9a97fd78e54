//! `json.parse`: an iterative (no recursion) RFC 8259 validator that accepts exactly what
//! `JSON.parse` accepts, finds the first error (line, column, position) and records split points
//! so the JS side can build a large document with `JSON.parse` on slices.
//!
//! A large top-level array or object can be validated in pieces (see [`Piece`]): each call
//! starts at an element (or member) boundary and stops after the first group ending `target`
//! bytes later, so the JS side builds one piece's groups while a worker validates the next.
//!
//! The result is packed into little-endian `u32`s:
//! - ok: `[0, kind, next, nextUnits, a0, b0, a1, b1, …]` where `kind` is 0 (parse the whole
//!   text at once), 1 (top-level array: each `[a, b)` holds whole consecutive elements) or
//!   2 (top-level object: each range holds whole consecutive members), and `next` (bytes) and
//!   `nextUnits` (offsets' unit) say where the next piece starts (`next` 0: the text is done);
//! - error: `[1 | 2, position, line, column]` (1 syntax, 2 nesting too deep), in the whole text.
//!
//! Offsets are UTF-16 units for string input and bytes for binary input.

use crate::executor::CancelToken;

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

/// Runs the kernel on the whole text and packs the result (see the module docs). `utf16`:
/// report offsets in UTF-16 units (string input) rather than bytes.
pub fn parse(s: &[u8], utf16: bool, token: &CancelToken<'_>) -> Result<Vec<u8>, Stop> {
    parse_piece(s, utf16, Piece::WHOLE, 0, token)
}

/// [`parse`] of one piece; `start_units` is `piece.start` in UTF-16 units (when `utf16`).
pub fn parse_piece(
    s: &[u8],
    utf16: bool,
    piece: Piece,
    start_units: usize,
    token: &CancelToken<'_>,
) -> Result<Vec<u8>, Stop> {
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
    let words: Vec<u32> = match validate_piece(s, piece, token) {
        Ok(split) => {
            let mut w = vec![0, split.kind, 0, 0];
            for (a, b) in split.groups {
                w.push(off(a));
                w.push(off(b));
            }
            if let Some(next) = split.next {
                w[2] = next as u32;
                w[3] = off(next);
            }
            w
        }
        Err(Stop::Cancelled) => return Err(Stop::Cancelled),
        Err(Stop::Error { at, depth }) => {
            let line_start = s[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            let line = s[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            let pos = off(at);
            let col = pos - off(line_start) + 1;
            vec![if depth { 2 } else { 1 }, pos, line as u32, col]
        }
    };
    Ok(words.iter().flat_map(|w| w.to_le_bytes()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let packed = parse("[\n  1,\n  x]".as_bytes(), true, &CancelToken::never()).unwrap();
        let w: Vec<u32> = packed
            .chunks(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(w, vec![1, 9, 3, 3]);
        let packed = parse("\"é\" x".as_bytes(), true, &CancelToken::never()).unwrap();
        assert_eq!(&packed[4..8], &4u32.to_le_bytes());
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
            let words = |p: Vec<u8>| -> Vec<u32> {
                p.chunks(4)
                    .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                    .collect()
            };
            let all = words(parse(doc.as_bytes(), true, &t).unwrap());
            let (mut piece, mut units, mut got) = (
                Piece {
                    target: GROUP_BYTES,
                    ..Piece::WHOLE
                },
                0,
                vec![],
            );
            loop {
                let w = words(parse_piece(doc.as_bytes(), true, piece, units, &t).unwrap());
                got.extend_from_slice(&w[4..]);
                if w[2] == 0 {
                    break;
                }
                (piece.start, piece.kind, units) = (w[2] as usize, w[1], w[3] as usize);
            }
            assert_eq!(got, all[4..]);
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
}
