//! What kernels return: an [`Output`], turned into a JS value by the binding.

/// A kernel's result.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    /// Becomes a `Buffer`.
    Bytes(Vec<u8>),
    /// Becomes a non-negative `bigint`.
    BigUint(u128),
    /// One piece of a parsed document, for the JS builder to turn into values.
    Packed(Box<Packed>),
    /// Becomes a plain object with these properties, in this order (e.g. `image.metadata`'s
    /// result, or `image.transform`'s `{ data, info }`).
    Object(Vec<(&'static str, Output)>),
}

/// The one result format of the parsers (`csv.parse`, `json.parse`): a piece of a document,
/// described by typed arrays that reach JS without a copy. It becomes a JS object with exactly
/// these properties (camelCase), which `lib/csv.js` and `lib/json.js` read; parts a parser does
/// not use are empty.
///
/// A large document is parsed in pieces: a piece starts at byte `start` (a parser param) and
/// the result says where the next one starts (`next`, and `next_units` in the offsets' unit),
/// or that the document is `done`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Packed {
    /// The document ends with this piece.
    pub done: bool,
    /// Byte offset in the input where the next piece starts.
    pub next: usize,
    /// The same in the unit of `offsets` (UTF-16 units for string input, else bytes).
    pub next_units: usize,
    /// What `offsets` index: for `json.parse` a [`json_kind`](crate::kernels::json::kind)
    /// (the whole text, or `[a, b)` pairs of whole array elements or object members in the
    /// input); for `csv.parse` 0 (the end of each field in `text`, in UTF-16 units).
    pub kind: u32,
    pub offsets: Vec<u32>,
    /// `csv.parse`: each row's field count.
    pub rows: Vec<u32>,
    /// `csv.parse`: where each row's last field ends in `text`, in bytes.
    pub row_bytes: Vec<u32>,
    /// `csv.parse`: every field's unescaped text, concatenated (valid UTF-8).
    pub text: Vec<u8>,
    /// `csv.parse` with `dynamicTyping`: each field's [`tag`](crate::kernels::csv::tag).
    pub types: Vec<u8>,
    /// `csv.parse` with `dynamicTyping`: the value of each number field, in order.
    pub nums: Vec<f64>,
    /// `text` is all ASCII (UTF-16 offsets equal byte offsets).
    pub ascii: bool,
}
