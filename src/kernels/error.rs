//! How kernels fail: a coded [`KernelError`] for bad input or a failed operation, or
//! [`RunError::Cancelled`] when a running kernel noticed its token.

use crate::executor::Cancelled;
use std::fmt;

/// The JS error class an error maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    Type,
    Range,
    /// A plain `Error`.
    Generic,
    /// A `SyntaxError`.
    Syntax,
}

/// Where in a text input an error is, as `line`, `column` and `position` properties of the JS
/// error (1-based line and column; 0-based position).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextPos {
    pub line: u32,
    pub column: Option<u32>,
    pub position: Option<u64>,
}

/// A kernel failure with a stable `code` for JS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
    /// For malformed text input: where the error is.
    pub at: Option<TextPos>,
}

impl KernelError {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
            at: None,
        }
    }
    pub fn invalid_type(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Type, "ERR_INVALID_ARG_TYPE", message)
    }
    pub fn out_of_range(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Range, "ERR_OUT_OF_RANGE", message)
    }
    /// A value of the right type that is not acceptable (e.g. a malformed stored hash); Node
    /// throws these as `TypeError`.
    pub fn invalid_value(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Type, "ERR_INVALID_ARG_VALUE", message)
    }
    /// scrypt parameters Node would refuse (`RangeError`, as in `crypto.scrypt`).
    pub fn scrypt_params(message: impl Into<String>) -> Self {
        Self::new(
            ErrorKind::Range,
            "ERR_CRYPTO_INVALID_SCRYPT_PARAMS",
            message,
        )
    }
    /// An unsupported digest name (`TypeError`, as in `crypto.pbkdf2`).
    pub fn invalid_digest(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Type, "ERR_CRYPTO_INVALID_DIGEST", message)
    }
    /// The operating system or a library failed (e.g. no randomness available).
    pub fn operation_failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Generic, "ERR_CRYPTO_OPERATION_FAILED", message)
    }
    /// Attaches the position of a text error.
    pub fn at(mut self, pos: TextPos) -> Self {
        self.at = Some(pos);
        self
    }
    /// Prefixes the message, e.g. with the index of a batch input.
    pub fn context(mut self, prefix: impl fmt::Display) -> Self {
        self.message = format!("{prefix}: {}", self.message);
        self
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for KernelError {}

/// Why a running kernel returned without a result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunError {
    /// It saw its token cancelled; the pool decides what the caller sees (abort, timeout or
    /// pool closed), so this carries nothing.
    Cancelled,
    Failed(KernelError),
}

impl From<Cancelled> for RunError {
    fn from(_: Cancelled) -> Self {
        RunError::Cancelled
    }
}

impl From<KernelError> for RunError {
    fn from(e: KernelError) -> Self {
        RunError::Failed(e)
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Cancelled => f.write_str("cancelled"),
            RunError::Failed(e) => e.fmt(f),
        }
    }
}
