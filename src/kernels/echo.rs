//! `echo` (returns its input: the per-task overhead benchmark's kernel) and the internal
//! `__panic` (panics on purpose, so tests can prove a panic rejects one task only).

use super::{Input, InputKind, Kernel, KernelError, Output, RunError, Value};
use crate::executor::CancelToken;

pub struct Echo;

impl Kernel for Echo {
    const NAME: &'static str = "echo";
    const INPUT: InputKind = InputKind::Any;
    type Args = ();

    fn prepare(_input: Input<'_>) -> Result<(), KernelError> {
        // InputKind::Any admits exactly the values echo returns.
        Ok(())
    }

    fn run(_: &(), data: Value<'_>, _: &CancelToken<'_>) -> Result<Output, RunError> {
        Ok(match data {
            Value::Null => Output::Null,
            Value::Bool(b) => Output::Bool(b),
            Value::Number(n) => Output::Number(n),
            Value::Str(s) => Output::Str(s.to_owned()),
            Value::Bytes(b) => Output::Bytes(b.to_vec()),
        })
    }
}

pub struct Panic;

impl Kernel for Panic {
    const NAME: &'static str = "__panic";
    const INPUT: InputKind = InputKind::Ignored;
    type Args = ();

    fn prepare(_input: Input<'_>) -> Result<(), KernelError> {
        Ok(())
    }

    fn run(_: &(), _: Value<'_>, _: &CancelToken<'_>) -> Result<Output, RunError> {
        panic!("__panic kernel: panicking on purpose")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_returns_its_input() {
        let t = CancelToken::never();
        for (v, out) in [
            (Value::Number(1.5), Output::Number(1.5)),
            (Value::Str("hé"), Output::Str("hé".into())),
            (Value::Bytes(&[1, 2]), Output::Bytes(vec![1, 2])),
            (Value::Null, Output::Null),
            (Value::Bool(true), Output::Bool(true)),
        ] {
            assert!(Echo::prepare(Input::plain(Echo::INPUT, v)).is_ok());
            assert_eq!(Echo::run(&(), v, &t), Ok(out));
        }
    }
}
