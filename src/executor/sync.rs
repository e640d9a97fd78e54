//! The synchronisation primitives of the model-checked code ([`task`](super::task)).
//!
//! In the test build under `--cfg loom` (loom is a dev-dependency) these are loom's instrumented
//! atomics, so the loom models can explore every interleaving and every weak-memory outcome of
//! the task state machine; otherwise they are the std ones, re-exported as they are (no wrapper,
//! no extra indirection on the hot path). See "Model checking" in ARCHITECTURE.md and
//! `npm run test:loom`.

#[cfg(all(loom, test))]
pub(crate) use loom::sync::atomic;

#[cfg(not(all(loom, test)))]
pub(crate) use std::sync::atomic;
