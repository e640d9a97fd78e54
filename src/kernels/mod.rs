//! The built-in kernels, free of napi: pure functions from an [`Input`] to an [`Output`].
//!
//! The registry is a closed set: [`Kernel`] names every kernel, [`Kernel::from_name`] maps the
//! public name, and [`run`] dispatches by `match`. Each kernel family lives in its own module with
//! a pure core function that tests, benches and the pool share. Long kernels poll their
//! [`CancelToken`] often enough to stop within 10 ms.

#![forbid(unsafe_code)]

pub mod checksum;
#[cfg(test)]
mod conformance;
pub mod csv;
pub mod fib;
pub mod hash;
pub mod json;
pub mod password;

use crate::executor::{CancelToken, Cancelled};
use std::fmt;

/// Every kernel the pool can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    Echo,
    Fib,
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    Sha3_256,
    Sha3_512,
    Blake2b512,
    Blake3,
    Hmac,
    Xxh32,
    Xxh64,
    Xxh3,
    Xxh128,
    Crc32,
    Crc32c,
    BcryptHash,
    BcryptVerify,
    Argon2Hash,
    Argon2Verify,
    Scrypt,
    Pbkdf2,
    CsvParse,
    JsonParse,
    /// Internal: panics on purpose, so tests can prove a panic rejects one task only.
    Panic,
}

/// What a kernel accepts; tells the binding how to convert the JS value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// `null`, boolean, number, string or binary.
    Any,
    Number,
    /// Anything; ignored.
    Ignored,
    /// Binary (`Buffer`, `TypedArray`, `DataView`, `ArrayBuffer`) or a string (read as UTF-8),
    /// or an object `{ data, ...params }` whose `data` is binary or a string and whose named
    /// params are read into [`Input::Record`] in this order (other properties are ignored). At
    /// most [`MAX_PARAMS`] names.
    Record(&'static [&'static str]),
    /// An object whose named properties (no `data`) are read into [`Input::Object`] in this
    /// order; other properties are ignored. At most [`MAX_FIELDS`] names.
    Object(&'static [&'static str]),
}

/// The most params an [`InputKind::Record`] kernel reads. `csv.parse` and `json.parse` take
/// their public options plus the internal piece params (`start`, `target`, ...) the JS side
/// sends when it splits a large document into pieces.
pub const MAX_PARAMS: usize = 8;

/// `given` padded with `Missing` to the [`MAX_PARAMS`] slots of an [`Input::Record`].
pub fn record_params<'a>(given: &[Param<'a>]) -> [Param<'a>; MAX_PARAMS] {
    let mut ps = [Param::Missing; MAX_PARAMS];
    for (slot, p) in ps.iter_mut().zip(given) {
        *slot = *p;
    }
    ps
}

/// The most properties an [`InputKind::Object`] kernel reads.
pub const MAX_FIELDS: usize = 7;

impl Kernel {
    /// All kernels, public ones first, in registry order.
    pub const ALL: [Kernel; 28] = [
        Kernel::Echo,
        Kernel::Fib,
        Kernel::Md5,
        Kernel::Sha1,
        Kernel::Sha224,
        Kernel::Sha256,
        Kernel::Sha384,
        Kernel::Sha512,
        Kernel::Sha3_256,
        Kernel::Sha3_512,
        Kernel::Blake2b512,
        Kernel::Blake3,
        Kernel::Hmac,
        Kernel::Xxh32,
        Kernel::Xxh64,
        Kernel::Xxh3,
        Kernel::Xxh128,
        Kernel::Crc32,
        Kernel::Crc32c,
        Kernel::BcryptHash,
        Kernel::BcryptVerify,
        Kernel::Argon2Hash,
        Kernel::Argon2Verify,
        Kernel::Scrypt,
        Kernel::Pbkdf2,
        Kernel::CsvParse,
        Kernel::JsonParse,
        Kernel::Panic,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Echo => "echo",
            Kernel::Fib => "fib",
            Kernel::Md5 => "md5",
            Kernel::Sha1 => "sha1",
            Kernel::Sha224 => "sha224",
            Kernel::Sha256 => "sha256",
            Kernel::Sha384 => "sha384",
            Kernel::Sha512 => "sha512",
            Kernel::Sha3_256 => "sha3-256",
            Kernel::Sha3_512 => "sha3-512",
            Kernel::Blake2b512 => "blake2b512",
            Kernel::Blake3 => "blake3",
            Kernel::Hmac => "hmac",
            Kernel::Xxh32 => "xxh32",
            Kernel::Xxh64 => "xxh64",
            Kernel::Xxh3 => "xxh3",
            Kernel::Xxh128 => "xxh128",
            Kernel::Crc32 => "crc32",
            Kernel::Crc32c => "crc32c",
            Kernel::BcryptHash => "bcrypt.hash",
            Kernel::BcryptVerify => "bcrypt.verify",
            Kernel::Argon2Hash => "argon2.hash",
            Kernel::Argon2Verify => "argon2.verify",
            Kernel::Scrypt => "scrypt",
            Kernel::Pbkdf2 => "pbkdf2",
            Kernel::CsvParse => "csv.parse",
            Kernel::JsonParse => "json.parse",
            Kernel::Panic => "__panic",
        }
    }

    pub fn from_name(name: &str) -> Option<Kernel> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Internal kernels are callable but not listed in `WorkerPool.kernels`.
    pub fn is_internal(self) -> bool {
        self.name().starts_with("__")
    }

    pub fn input_kind(self) -> InputKind {
        match self {
            Kernel::Echo => InputKind::Any,
            Kernel::Fib => InputKind::Number,
            Kernel::Md5
            | Kernel::Sha1
            | Kernel::Sha224
            | Kernel::Sha256
            | Kernel::Sha384
            | Kernel::Sha512
            | Kernel::Sha3_256
            | Kernel::Sha3_512
            | Kernel::Blake2b512
            | Kernel::Blake3
            | Kernel::Crc32
            | Kernel::Crc32c => InputKind::Record(&[]),
            Kernel::Xxh32 | Kernel::Xxh64 | Kernel::Xxh3 | Kernel::Xxh128 => {
                InputKind::Record(&["seed"])
            }
            Kernel::Hmac => InputKind::Record(&["algorithm", "key"]),
            Kernel::BcryptHash => InputKind::Object(&["password", "cost"]),
            Kernel::BcryptVerify | Kernel::Argon2Verify => InputKind::Object(&["password", "hash"]),
            Kernel::Argon2Hash => InputKind::Object(&[
                "password",
                "type",
                "memoryCost",
                "timeCost",
                "parallelism",
                "salt",
            ]),
            Kernel::Scrypt => {
                InputKind::Object(&["password", "salt", "keylen", "N", "r", "p", "maxmem"])
            }
            Kernel::Pbkdf2 => {
                InputKind::Object(&["password", "salt", "iterations", "keylen", "digest"])
            }
            Kernel::CsvParse => InputKind::Record(csv::PARAMS),
            Kernel::JsonParse => InputKind::Record(JSON_PARAMS),
            Kernel::Panic => InputKind::Ignored,
        }
    }
}

/// A kernel's view of its input. Strings and binary are borrowed from the job that owns them.
// `Object` makes the enum ~230 bytes; an `Input` is a short-lived view built once per task on
// the stack, so boxing its params would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Input<'a> {
    Null,
    Bool(bool),
    Number(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
    /// An object input of an [`InputKind::Record`] kernel: its `data` (binary, or a string as
    /// UTF-8) and its params in the order the kernel named them (unused slots are `Missing`).
    Record {
        data: &'a [u8],
        params: [Param<'a>; MAX_PARAMS],
    },
    /// An object input of an [`InputKind::Object`] kernel: its properties in the order the
    /// kernel named them (unused slots are `Missing`).
    Object {
        params: [Param<'a>; MAX_FIELDS],
    },
}

impl<'a> Input<'a> {
    /// The bytes of a binary input, of a string as UTF-8, or of a record's `data`.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match *self {
            Input::Str(s) => Some(s.as_bytes()),
            Input::Bytes(b) | Input::Record { data: b, .. } => Some(b),
            _ => None,
        }
    }

    /// Param `i` of a record input; `Missing` for plain inputs.
    pub fn param(&self, i: usize) -> Param<'a> {
        match self {
            Input::Record { params, .. } => params.get(i).copied().unwrap_or(Param::Missing),
            Input::Object { params } => params.get(i).copied().unwrap_or(Param::Missing),
            _ => Param::Missing,
        }
    }
}

/// One named property of an object input, as the binding read it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Param<'a> {
    /// Absent or `undefined`.
    Missing,
    Number(f64),
    BigInt(BigInt),
    Str(&'a str),
    Bytes(&'a [u8]),
    /// Any other value, by its `typeof` name (`"null"` for null), for error messages.
    Other(&'static str),
}

impl Param<'_> {
    /// The JS type name, for "Received type …" messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Param::Missing => "undefined",
            Param::Number(_) => "number",
            Param::BigInt(_) => "bigint",
            Param::Str(_) => "string",
            Param::Bytes(_) => "object",
            Param::Other(t) => t,
        }
    }
}

/// A JS bigint's sign and magnitude; `magnitude` is `None` when it needs more than 128 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BigInt {
    pub negative: bool,
    pub magnitude: Option<u128>,
}

/// A kernel's result, turned into a JS value by the binding.
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
    /// A parsed CSV document (or piece); becomes
    /// `{ text, ends, rows, rowBytes, types, nums?, ascii, next }`.
    Csv(Box<csv::Table>),
}

/// The JS error class an error maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    Type,
    Range,
    /// A plain `Error`.
    Generic,
    /// A plain `Error` with a 1-based `line` property (malformed text input).
    Syntax {
        line: u32,
    },
}

/// A kernel failure with a stable `code` for JS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
}

impl KernelError {
    pub fn invalid_type(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Type,
            code: "ERR_INVALID_ARG_TYPE",
            message: message.into(),
        }
    }
    pub fn out_of_range(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Range,
            code: "ERR_OUT_OF_RANGE",
            message: message.into(),
        }
    }
    /// A value of the right type that is not acceptable (e.g. a malformed stored hash); Node
    /// throws these as `TypeError`.
    pub fn invalid_value(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Type,
            code: "ERR_INVALID_ARG_VALUE",
            message: message.into(),
        }
    }
    /// scrypt parameters Node would refuse (`RangeError`, as in `crypto.scrypt`).
    pub fn scrypt_params(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Range,
            code: "ERR_CRYPTO_INVALID_SCRYPT_PARAMS",
            message: message.into(),
        }
    }
    /// An unsupported digest name (`TypeError`, as in `crypto.pbkdf2`).
    pub fn invalid_digest(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Type,
            code: "ERR_CRYPTO_INVALID_DIGEST",
            message: message.into(),
        }
    }
    /// The operating system or a library failed (e.g. no randomness available).
    pub fn operation_failed(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Generic,
            code: "ERR_CRYPTO_OPERATION_FAILED",
            message: message.into(),
        }
    }
    /// The kernel stopped because its token was cancelled; the binding decides what the caller
    /// sees (abort, timeout or pool closed).
    pub fn cancelled() -> Self {
        Self {
            kind: ErrorKind::Generic,
            code: "ABORT_ERR",
            message: "the task was cancelled".into(),
        }
    }
    pub fn is_cancelled(&self) -> bool {
        self.code == "ABORT_ERR"
    }
}

impl From<Cancelled> for KernelError {
    fn from(_: Cancelled) -> Self {
        Self::cancelled()
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for KernelError {}

/// Cheap checks run on the JS thread before a task is queued, so bad input rejects at once.
pub fn prepare(kernel: Kernel, input: &Input<'_>) -> Result<(), KernelError> {
    match kernel {
        Kernel::Fib => fib::validate(input).map(drop),
        Kernel::Echo => match input {
            Input::Null | Input::Bool(_) | Input::Number(_) | Input::Str(_) | Input::Bytes(_) => {
                Ok(())
            }
            Input::Record { .. } | Input::Object { .. } => Err(echo_type_error()),
        },
        Kernel::Md5
        | Kernel::Sha1
        | Kernel::Sha224
        | Kernel::Sha256
        | Kernel::Sha384
        | Kernel::Sha512
        | Kernel::Sha3_256
        | Kernel::Sha3_512
        | Kernel::Blake2b512
        | Kernel::Blake3
        | Kernel::Crc32
        | Kernel::Crc32c => data(kernel, input).map(drop),
        Kernel::Hmac => hash::hmac_params(input).map(drop),
        Kernel::Xxh32 | Kernel::Xxh64 | Kernel::Xxh3 | Kernel::Xxh128 => {
            data(kernel, input)?;
            checksum::seed(kernel, input.param(0)).map(drop)
        }
        Kernel::BcryptHash => password::bcrypt_hash_params(input).map(drop),
        Kernel::BcryptVerify => password::bcrypt_verify_params(input).map(drop),
        Kernel::Argon2Hash => password::argon2_hash_params(input).map(drop),
        Kernel::Argon2Verify => password::argon2_verify_params(input).map(drop),
        Kernel::Scrypt => password::scrypt_params(input).map(drop),
        Kernel::Pbkdf2 => password::pbkdf2_params(input).map(drop),
        Kernel::CsvParse => csv::options(input).map(drop),
        Kernel::JsonParse => {
            json_input(input)?;
            json_piece(input).map(drop)
        }
        Kernel::Panic => Ok(()),
    }
}

/// Runs a kernel. `input` has passed [`prepare`].
pub fn run(
    kernel: Kernel,
    input: &Input<'_>,
    token: &CancelToken<'_>,
) -> Result<Output, KernelError> {
    match kernel {
        Kernel::Echo => Ok(match *input {
            Input::Null => Output::Null,
            Input::Bool(b) => Output::Bool(b),
            Input::Number(n) => Output::Number(n),
            Input::Str(s) => Output::Str(s.to_owned()),
            Input::Bytes(b) => Output::Bytes(b.to_vec()),
            Input::Record { .. } | Input::Object { .. } => return Err(echo_type_error()),
        }),
        Kernel::Fib => {
            let n = fib::validate(input)?;
            Ok(Output::Number(fib::fib(n, token)? as f64))
        }
        Kernel::Md5 => digest(kernel, input, token, hash::digest::<md5::Md5>),
        Kernel::Sha1 => digest(kernel, input, token, hash::digest::<sha1::Sha1>),
        Kernel::Sha224 => digest(kernel, input, token, hash::digest::<sha2::Sha224>),
        Kernel::Sha256 => digest(kernel, input, token, hash::digest::<sha2::Sha256>),
        Kernel::Sha384 => digest(kernel, input, token, hash::digest::<sha2::Sha384>),
        Kernel::Sha512 => digest(kernel, input, token, hash::digest::<sha2::Sha512>),
        Kernel::Sha3_256 => digest(kernel, input, token, hash::digest::<sha3::Sha3_256>),
        Kernel::Sha3_512 => digest(kernel, input, token, hash::digest::<sha3::Sha3_512>),
        Kernel::Blake2b512 => digest(kernel, input, token, hash::digest::<blake2::Blake2b512>),
        Kernel::Blake3 => digest(kernel, input, token, hash::blake3),
        Kernel::Hmac => {
            let (alg, key, data) = hash::hmac_params(input)?;
            Ok(Output::Bytes(hash::hmac(alg, key, data, token)?))
        }
        Kernel::Xxh32 => {
            let seed = checksum::seed(kernel, input.param(0))? as u32;
            let h = checksum::xxh32(data(kernel, input)?, seed, token)?;
            Ok(Output::Number(h.into()))
        }
        Kernel::Xxh64 => {
            let seed = checksum::seed(kernel, input.param(0))?;
            let h = checksum::xxh64(data(kernel, input)?, seed, token)?;
            Ok(Output::BigUint(h.into()))
        }
        Kernel::Xxh3 => {
            let seed = checksum::seed(kernel, input.param(0))?;
            let h = checksum::xxh3_64(data(kernel, input)?, seed, token)?;
            Ok(Output::BigUint(h.into()))
        }
        Kernel::Xxh128 => {
            let seed = checksum::seed(kernel, input.param(0))?;
            let h = checksum::xxh3_128(data(kernel, input)?, seed, token)?;
            Ok(Output::BigUint(h))
        }
        Kernel::Crc32 => Ok(Output::Number(
            checksum::crc32(data(kernel, input)?, token)?.into(),
        )),
        Kernel::Crc32c => Ok(Output::Number(
            checksum::crc32c(data(kernel, input)?, token)?.into(),
        )),
        Kernel::BcryptHash => {
            let (pw, cost) = password::bcrypt_hash_params(input)?;
            Ok(Output::Str(password::bcrypt_hash(pw, cost, token)?))
        }
        Kernel::BcryptVerify => {
            let (pw, hash) = password::bcrypt_verify_params(input)?;
            Ok(Output::Bool(password::bcrypt_verify(pw, hash, token)?))
        }
        Kernel::Argon2Hash => Ok(Output::Str(password::argon2_hash(
            &password::argon2_hash_params(input)?,
            token,
        )?)),
        Kernel::Argon2Verify => {
            let (pw, hash) = password::argon2_verify_params(input)?;
            Ok(Output::Bool(password::argon2_verify(pw, hash, token)?))
        }
        Kernel::Scrypt => Ok(Output::Bytes(password::scrypt(
            &password::scrypt_params(input)?,
            token,
        )?)),
        Kernel::Pbkdf2 => Ok(Output::Bytes(password::pbkdf2(
            &password::pbkdf2_params(input)?,
            token,
        )?)),
        Kernel::CsvParse => {
            let (data, opts) = csv::options(input)?;
            match csv::parse(data, opts, token) {
                Ok(t) => Ok(Output::Csv(Box::new(t))),
                Err(csv::Stop::Cancelled) => Err(KernelError::cancelled()),
                Err(csv::Stop::Syntax(e)) => Err(csv::syntax_error(e)),
            }
        }
        Kernel::JsonParse => {
            let (bytes, utf16) = json_input(input)?;
            let (piece, start_units) = json_piece(input)?;
            match json::parse_piece(bytes, utf16, piece, start_units, token) {
                Ok(packed) => Ok(Output::Bytes(packed)),
                Err(_) => Err(KernelError::cancelled()),
            }
        }
        Kernel::Panic => panic!("__panic kernel: panicking on purpose"),
    }
}

/// The text of a `json.parse` input and whether offsets are reported in UTF-16 units (string
/// input) rather than bytes.
fn json_input<'a>(input: &Input<'a>) -> Result<(&'a [u8], bool), KernelError> {
    match *input {
        Input::Str(s) => Ok((s.as_bytes(), true)),
        Input::Bytes(b) => Ok((b, false)),
        // lib/json.js sends long strings as `{ data: utf8Bytes, utf16: 1 }`.
        Input::Record { data, params } => Ok((data, params[0] == Param::Number(1.0))),
        _ => Err(KernelError::invalid_type(
            "The \"input\" argument of json.parse must be a string or binary",
        )),
    }
}

/// The params `json.parse` reads from `{ data, ... }`, all set by lib/json.js only: `utf16`
/// (1: the data is a string's UTF-8, report UTF-16 offsets), and for a large document
/// validated in pieces `start`, `startUnits`, `kind` and `target` (see [`json::Piece`]).
const JSON_PARAMS: &[&str] = &["utf16", "start", "startUnits", "kind", "target"];

/// The piece of a `json.parse` input to validate (the whole text unless lib/json.js asks for
/// a piece) and its start in UTF-16 units.
fn json_piece(input: &Input<'_>) -> Result<(json::Piece, usize), KernelError> {
    let num = |i: usize, default: usize| match input.param(i) {
        Param::Missing => Ok(default),
        Param::Number(n) if n >= 0.0 && n.fract() == 0.0 => Ok(n.min(usize::MAX as f64) as usize),
        _ => Err(KernelError::invalid_value(format!(
            "The \"{}\" param of json.parse must be a non-negative integer",
            JSON_PARAMS[i]
        ))),
    };
    let piece = json::Piece {
        start: num(1, 0)?,
        kind: num(3, 0)?.min(2) as u32,
        target: num(4, usize::MAX)?,
    };
    Ok((piece, num(2, 0)?))
}

fn echo_type_error() -> KernelError {
    KernelError::invalid_type("echo input must be null, a boolean, a number, a string or binary")
}

/// The bytes a data kernel hashes: binary, a string, or a record's `data`.
fn data<'a>(kernel: Kernel, input: &Input<'a>) -> Result<&'a [u8], KernelError> {
    input.as_bytes().ok_or_else(|| {
        KernelError::invalid_type(format!(
            "{} input must be binary, a string or {{ data }}",
            kernel.name()
        ))
    })
}

/// A digest kernel: `f` hashes the input's bytes into a `Buffer`.
fn digest(
    kernel: Kernel,
    input: &Input<'_>,
    token: &CancelToken<'_>,
    f: fn(&[u8], &CancelToken<'_>) -> Result<Vec<u8>, Cancelled>,
) -> Result<Output, KernelError> {
    Ok(Output::Bytes(f(data(kernel, input)?, token)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in Kernel::ALL {
            assert_eq!(Kernel::from_name(k.name()), Some(k));
        }
        assert_eq!(Kernel::from_name("nope"), None);
        assert!(Kernel::Panic.is_internal());
        assert!(!Kernel::Sha256.is_internal());
    }

    #[test]
    fn record_kinds_fit_the_param_slots() {
        for k in Kernel::ALL {
            if let InputKind::Record(names) = k.input_kind() {
                assert!(names.len() <= MAX_PARAMS, "{}", k.name());
                assert!(!names.contains(&"data"), "{}", k.name());
            }
            if let InputKind::Object(names) = k.input_kind() {
                assert!(names.len() <= MAX_FIELDS, "{}", k.name());
            }
        }
    }

    #[test]
    fn record_inputs_reach_the_kernels() {
        let t = CancelToken::never();
        let rec = |seed| Input::Record {
            data: b"abc",
            params: record_params(&[seed]),
        };
        assert_eq!(
            run(Kernel::Sha256, &rec(Param::Missing), &t),
            run(Kernel::Sha256, &Input::Str("abc"), &t)
        );
        assert_eq!(
            run(Kernel::Xxh64, &rec(Param::Number(0.0)), &t),
            run(Kernel::Xxh64, &Input::Bytes(b"abc"), &t)
        );
        let big = Param::BigInt(BigInt {
            negative: false,
            magnitude: Some(5),
        });
        assert_eq!(
            run(Kernel::Xxh3, &rec(big), &t),
            run(Kernel::Xxh3, &rec(Param::Number(5.0)), &t)
        );
        assert!(matches!(
            run(Kernel::Xxh128, &rec(big), &t),
            Ok(Output::BigUint(_))
        ));
        assert!(matches!(
            run(Kernel::Crc32, &rec(Param::Missing), &t),
            Ok(Output::Number(n)) if n == 891568578.0
        ));
        assert_eq!(
            prepare(Kernel::Xxh32, &rec(Param::Number(-1.0)))
                .unwrap_err()
                .code,
            "ERR_OUT_OF_RANGE"
        );
        assert_eq!(
            prepare(Kernel::Echo, &rec(Param::Missing))
                .unwrap_err()
                .code,
            "ERR_INVALID_ARG_TYPE"
        );
    }

    #[test]
    fn echo_returns_input() {
        let t = CancelToken::never();
        assert_eq!(
            run(Kernel::Echo, &Input::Number(1.5), &t),
            Ok(Output::Number(1.5))
        );
        assert_eq!(
            run(Kernel::Echo, &Input::Str("hé"), &t),
            Ok(Output::Str("hé".into()))
        );
        assert_eq!(
            run(Kernel::Echo, &Input::Bytes(&[1, 2]), &t),
            Ok(Output::Bytes(vec![1, 2]))
        );
        assert_eq!(run(Kernel::Echo, &Input::Null, &t), Ok(Output::Null));
        assert_eq!(
            run(Kernel::Echo, &Input::Bool(true), &t),
            Ok(Output::Bool(true))
        );
    }

    #[test]
    fn prepare_rejects_bad_input_with_codes() {
        assert_eq!(
            prepare(Kernel::Fib, &Input::Str("x")).unwrap_err().kind,
            ErrorKind::Type
        );
        assert_eq!(
            prepare(Kernel::Fib, &Input::Number(79.0)).unwrap_err().code,
            "ERR_OUT_OF_RANGE"
        );
        assert_eq!(
            prepare(Kernel::Sha256, &Input::Number(1.0))
                .unwrap_err()
                .code,
            "ERR_INVALID_ARG_TYPE"
        );
        assert!(prepare(Kernel::Sha256, &Input::Str("")).is_ok());
    }
}
