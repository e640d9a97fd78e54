//! `fib`: the naive doubly recursive Fibonacci, on purpose: it is the CPU-burn workload JS pools
//! are compared with, so the same recursion runs on both sides.

use super::{Input, InputKind, Kernel, KernelError, Output, RunError, Value};
use crate::executor::{CancelToken, Cancelled};

pub struct Fib;

impl Kernel for Fib {
    const NAME: &'static str = "fib";
    const INPUT: InputKind = InputKind::Number;
    /// `n`, checked.
    type Args = u32;

    fn prepare(input: Input<'_>) -> Result<u32, KernelError> {
        validate(input.value)
    }

    fn run(&n: &u32, _: Value<'_>, token: &CancelToken<'_>) -> Result<Output, RunError> {
        Ok(Output::Number(fib(n, token)? as f64))
    }
}

/// fib(78) is the largest Fibonacci number below 2^53, so it is exact as a JS number.
pub const MAX_N: u32 = 78;

/// Below this, subtrees run without polling: fib(24) is ~75k calls, well under a millisecond.
const POLL_ABOVE: u32 = 24;

pub fn validate(input: Value<'_>) -> Result<u32, KernelError> {
    let Value::Number(n) = input else {
        return Err(KernelError::invalid_type("fib input must be a number"));
    };
    if n.fract() != 0.0 || !(0.0..=MAX_N as f64).contains(&n) {
        return Err(KernelError::out_of_range(format!(
            "fib input must be an integer from 0 to {MAX_N}, received {n}"
        )));
    }
    Ok(n as u32)
}

/// Plain recursion, no polling.
pub fn fib_plain(n: u32) -> u64 {
    if n < 2 {
        n as u64
    } else {
        fib_plain(n - 1) + fib_plain(n - 2)
    }
}

/// The same recursion, polling `token` at every call above [`POLL_ABOVE`].
pub fn fib(n: u32, token: &CancelToken<'_>) -> Result<u64, Cancelled> {
    if n <= POLL_ABOVE {
        return Ok(fib_plain(n));
    }
    token.check()?;
    Ok(fib(n - 1, token)? + fib(n - 2, token)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        let t = CancelToken::never();
        let expect = [0u64, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55];
        for (n, &v) in expect.iter().enumerate() {
            assert_eq!(fib(n as u32, &t), Ok(v));
        }
        assert_eq!(fib(30, &t), Ok(832_040));
    }

    #[test]
    fn validates_range_and_type() {
        assert_eq!(validate(Value::Number(78.0)), Ok(78));
        assert_eq!(validate(Value::Number(0.0)), Ok(0));
        for bad in [-1.0, 79.0, 1.5, f64::NAN, f64::INFINITY] {
            assert_eq!(
                validate(Value::Number(bad)).unwrap_err().code,
                "ERR_OUT_OF_RANGE",
                "{bad}"
            );
        }
        assert_eq!(
            validate(Value::Null).unwrap_err().code,
            "ERR_INVALID_ARG_TYPE"
        );
    }
}
