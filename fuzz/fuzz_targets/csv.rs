//! `csv.parse`: options from the first bytes, then the rest as the document. `parse` must never
//! panic and its packed table must be self-consistent (what lib/csv.js relies on to slice it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pool::executor::CancelToken;
use pool::kernels::csv::{parse, Options, Stop};

// Single- and multi-byte characters, including ones that share a first byte (é/è, €/…).
const CHARS: [char; 12] = [',', '"', ';', '\t', '|', '\'', ' ', 'é', 'è', '€', '…', '😀'];

fuzz_target!(|input: &[u8]| {
    if input.len() < 2 {
        return;
    }
    let (head, data) = input.split_at(2);
    let delimiter = CHARS[usize::from(head[0] & 0x0f) % CHARS.len()];
    let quote = CHARS[usize::from(head[0] >> 4) % CHARS.len()];
    if delimiter == quote {
        return; // options() rejects this before parse is reached
    }
    let opts = Options {
        delimiter,
        quote,
        dynamic_typing: head[1] & 1 != 0,
        skip_empty_lines: head[1] & 2 != 0,
        ..Options::default()
    };
    let t = match parse(data, opts, &CancelToken::never()) {
        Ok(t) => t,
        Err(Stop::Syntax(u)) => {
            let lines = 1 + data.iter().filter(|&&b| b == b'\n' || b == b'\r').count() as u64;
            assert!(u.line >= 1 && u.line <= lines, "line {} of {lines}", u.line);
            return;
        }
        Err(Stop::Cancelled) => panic!("cancelled with a token that never cancels"),
    };
    assert_eq!(t.next, data.len(), "a whole-document parse ends at the end");
    let text = std::str::from_utf8(&t.text).expect("text is UTF-8");
    if t.ascii {
        assert!(text.is_ascii());
    }
    let fields: u64 = t.rows.iter().map(|&r| u64::from(r)).sum();
    assert_eq!(fields, t.ends.len() as u64);
    assert_eq!(t.rows.len(), t.row_bytes.len());
    assert!(t.rows.iter().all(|&r| r >= 1));
    assert_eq!(t.types.len(), if opts.dynamic_typing { t.ends.len() } else { 0 });
    assert!(t.ends.windows(2).all(|w| w[0] <= w[1]));
    assert!(t.row_bytes.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(t.row_bytes.last().map_or(0, |&b| b as usize), t.text.len());
    let units = text.encode_utf16().count() as u32;
    assert_eq!(t.ends.last().copied().unwrap_or(0), units);
    // Each row's byte end lands on a char boundary where the row's last field ends.
    let mut field = 0usize;
    for (r, &n) in t.rows.iter().enumerate() {
        field += n as usize;
        let b = t.row_bytes[r] as usize;
        assert!(text.is_char_boundary(b));
        assert_eq!(text[..b].encode_utf16().count() as u32, t.ends[field - 1]);
    }
    if data.is_empty() {
        assert!(t.rows.is_empty());
    }
});
