//! The executor's concurrency primitives, in one place so that the model checker can swap them.
//!
//! Everything in the executor that synchronises threads (mutexes, condition variables, atomics,
//! the `Arc` around `Shared`, thread spawning, the spin hint, the once-flag) comes from here:
//! - normal builds ([`native`]): parking_lot's `Mutex`/`MutexGuard`/`Condvar` and std's atomics,
//!   `Arc`, `Once` and threads, re-exported as they are (no wrapper, nothing on the hot path);
//! - the test build under `--cfg loom` (`npm run test:loom`; loom is a dev-dependency), the
//!   [`mocked`] ones: loom's, behind the parking_lot API the executor is written against
//!   (`lock()` without poisoning, `MutexGuard::unlocked`, `wait(&mut guard)`, `wait_for`), so the
//!   loom models in `loom_tests/` drive the real `Executor`, `Shared` and worker loop.
//!
//! Time is std's in both builds: loom has no clock. The code whose course depends on the clock is
//! kept deterministic in a model instead: the spin window is a single poll ([`MODEL`]), timed
//! waits are untimed (they never time out, so idle retirement is not explored), and a deadline of
//! zero is due on the watcher's first look (`at <= now` always holds); whether a longer one is
//! due would depend on the real clock, so the models use only zero. See "Model checking" in
//! ARCHITECTURE.md.
//!
//! Not swapped: the pool-wide abort flag (`Shared::abort`) and `TaskCtl`'s `Arc` are std's in
//! both builds, because they appear in the crate's API (`CancelToken::new` takes the flag, the
//! binding keeps the `Arc`s); the metrics' atomics and lock are std's/parking_lot's (no other
//! lock or loom operation is taken inside their critical sections, so they cannot block a model).

/// Whether this is the model-checking build: the spin loop polls once instead of spinning.
pub(crate) const MODEL: bool = cfg!(all(loom, test));

#[cfg(not(all(loom, test)))]
mod native;
#[cfg(not(all(loom, test)))]
pub(crate) use native::*;

#[cfg(all(loom, test))]
mod mocked;
#[cfg(all(loom, test))]
pub(crate) use mocked::*;
