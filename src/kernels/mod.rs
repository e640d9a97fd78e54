//! The built-in kernels, free of napi: pure functions from an [`Input`] to an [`Output`].
//!
//! The registry is a closed set: [`Kernel`] names every kernel, [`Kernel::from_name`] maps the
//! public name, and [`run`] dispatches by `match`. Each kernel family lives in its own module with
//! a pure core function that tests, benches and the pool share. Long kernels poll their
//! [`CancelToken`] often enough to stop within 10 ms.

#![forbid(unsafe_code)]

pub mod fib;
pub mod hash;

use crate::executor::{CancelToken, Cancelled};
use std::fmt;

/// Every kernel the pool can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    Echo,
    Fib,
    Sha256,
    /// Internal: panics on purpose, so tests can prove a panic rejects one task only.
    Panic,
}

/// What a kernel accepts; tells the binding how to convert the JS value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// `null`, boolean, number, string or binary.
    Any,
    Number,
    /// Binary (`Buffer`, `TypedArray`, `DataView`, `ArrayBuffer`) or a string, read as UTF-8.
    Bytes,
    /// Anything; ignored.
    Ignored,
}

impl Kernel {
    /// All kernels, public ones first, in registry order.
    pub const ALL: [Kernel; 4] = [Kernel::Echo, Kernel::Fib, Kernel::Sha256, Kernel::Panic];

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Echo => "echo",
            Kernel::Fib => "fib",
            Kernel::Sha256 => "sha256",
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
            Kernel::Sha256 => InputKind::Bytes,
            Kernel::Panic => InputKind::Ignored,
        }
    }
}

/// A kernel's view of its input. Strings and binary are borrowed from the job that owns them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Input<'a> {
    Null,
    Bool(bool),
    Number(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
}

impl Input<'_> {
    /// The bytes of a binary input, or of a string as UTF-8.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Input::Str(s) => Some(s.as_bytes()),
            Input::Bytes(b) => Some(b),
            _ => None,
        }
    }
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
}

/// The JS error class an error maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    Type,
    Range,
    /// A plain `Error`.
    Generic,
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
        },
        Kernel::Sha256 => input
            .as_bytes()
            .map(drop)
            .ok_or_else(|| KernelError::invalid_type("sha256 input must be binary or a string")),
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
        }),
        Kernel::Fib => {
            let n = fib::validate(input)?;
            Ok(Output::Number(fib::fib(n, token)? as f64))
        }
        Kernel::Sha256 => {
            let data = input.as_bytes().ok_or_else(|| {
                KernelError::invalid_type("sha256 input must be binary or a string")
            })?;
            Ok(Output::Bytes(hash::sha256(data, token)?.to_vec()))
        }
        Kernel::Panic => panic!("__panic kernel: panicking on purpose"),
    }
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
