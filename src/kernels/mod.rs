//! The built-in kernels, free of napi.
//!
//! A kernel is a type implementing [`Kernel`], in its family's module (`hash`, `checksum`,
//! `password`, `csv`, `json`, `image`, `fib`, `echo`), listed once in [`registry`]. Its `prepare` runs
//! on the JS thread when a task is submitted: it reads the declared params by name, checks
//! them, and returns the typed arguments that travel in the job, so bad input rejects at once
//! and nothing is parsed twice. Its `run` runs on a worker thread with those arguments and the
//! input's data, polling the [`CancelToken`] often enough to stop within ~10 ms.

#![forbid(unsafe_code)]

pub mod checksum;
#[cfg(test)]
mod conformance;
pub mod csv;
pub mod echo;
mod error;
pub mod fib;
pub mod hash;
pub mod image;
mod input;
pub mod json;
mod output;
pub mod password;
mod registry;

pub use error::{ErrorKind, KernelError, RunError, TextPos};
pub use input::{
    check_range, BigInt, Field, Fields, Input, InputKind, Param, PoolParams, Ty, Value,
};
pub use output::{Output, Packed};
pub use registry::{Args, KernelId};

use crate::executor::{BatchKey, CancelToken};

/// One kernel: its public name, how its input is read, its `prepare` (JS thread) and its `run`
/// (a worker thread). See the module docs; ARCHITECTURE.md has a walk-through of adding one.
pub trait Kernel {
    /// The name JS calls it by (`'sha256'`, `'bcrypt.hash'`); internal ones start with `__`.
    const NAME: &'static str;
    /// How the binding reads the JS input, with the named params and their types and bounds.
    const INPUT: InputKind;
    /// The checked arguments `prepare` returns; they are queued with the task. Keep them small
    /// (box large ones): see `registry::tests::args_stay_small`.
    type Args: Send + 'static;
    /// Cheap checks and conversion on the JS thread, before the task is queued.
    fn prepare(input: Input<'_>) -> Result<Self::Args, KernelError>;
    /// The work, on a worker thread. `data` is the input's value (a plain input, or a record's
    /// `data`; `Value::Null` for object inputs), the same value `prepare` saw.
    fn run(args: &Self::Args, data: Value<'_>, token: &CancelToken<'_>)
        -> Result<Output, RunError>;
    /// Optional batching: queued tasks of this kernel with equal keys (`key` is this kernel's
    /// own: the registry adds the kernel) may run together through `run_batch`, e.g. in SIMD
    /// lanes. `None` (the default): every task runs alone.
    fn batch(_args: &Self::Args) -> Option<BatchKey> {
        None
    }
    /// Runs tasks whose `batch` keys are equal, each with its own token; one result per item,
    /// in order. Items already cancelled should be skipped (their results are discarded).
    fn run_batch(
        items: &[(&Self::Args, Value<'_>)],
        tokens: &[CancelToken<'_>],
    ) -> Vec<Result<Output, RunError>> {
        items
            .iter()
            .zip(tokens)
            .map(|((args, data), token)| Self::run(args, *data, token))
            .collect()
    }
}

/// The bytes a data kernel reads: binary, a string, or a record's `data`.
pub(crate) fn data_bytes<'a>(name: &str, data: Value<'a>) -> Result<&'a [u8], KernelError> {
    data.as_bytes().ok_or_else(|| {
        KernelError::invalid_type(format!(
            "{name} input must be binary, a string or {{ data }}"
        ))
    })
}
