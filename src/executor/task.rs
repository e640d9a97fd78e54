//! The per-task control block and the cancellation token kernels poll.
//!
//! A [`TaskCtl`] is shared (through an `Arc`) by the submitter on the JS thread, the worker that
//! runs the task and the pool's deadline watcher. Its state only moves forward:
//!
//! ```text
//! Queued ──► Running ──► Done
//!   │           ├──────► Cancelled   (abort while running, or destroy)
//!   │           └──────► TimedOut    (deadline watcher)
//!   └──────────────────► Cancelled   (abort while queued: the worker skips it)
//! ```
//!
//! Every transition is a compare-and-swap, so exactly one party wins a race between, say, an abort
//! and the deadline watcher, and that party alone reports the outcome. Those races are
//! model-checked with loom, inside the real executor (`loom_tests/`, `npm run test:loom`); the
//! atomics come through [`sync`](super::sync) so that loom can swap in its own.
//!
//! # Memory ordering
//! The state is a flag, not a publication of other data: results travel through the pool's
//! event queue (a mutex). CAS uses `AcqRel` to keep transitions totally ordered per task; kernels
//! poll with `Relaxed` loads because a late observation only delays the stop by one poll.

use super::sync::atomic::{AtomicU8, Ordering};
// The pool-wide abort flag is std's in every build (it is in `CancelToken::new`'s signature; see
// `sync`), so loom does not explore its orderings.
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Where a task is in its life. See the module docs for the allowed transitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum TaskState {
    Queued = 0,
    Running = 1,
    Done = 2,
    Cancelled = 3,
    TimedOut = 4,
}

impl TaskState {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Queued,
            1 => Self::Running,
            2 => Self::Done,
            3 => Self::Cancelled,
            _ => Self::TimedOut,
        }
    }
}

/// Shared control block of one task.
#[derive(Debug)]
pub struct TaskCtl {
    state: AtomicU8,
}

impl Default for TaskCtl {
    fn default() -> Self {
        Self::new()
    }
}

impl TaskCtl {
    #[cfg(not(all(loom, test)))]
    pub const fn new() -> Self {
        Self {
            state: AtomicU8::new(TaskState::Queued as u8),
        }
    }

    /// loom's atomics cannot be built in a `const fn`.
    #[cfg(all(loom, test))]
    pub fn new() -> Self {
        Self {
            state: AtomicU8::new(TaskState::Queued as u8),
        }
    }

    pub fn state(&self) -> TaskState {
        TaskState::from_u8(self.state.load(Ordering::Acquire))
    }

    fn transition(&self, from: TaskState, to: TaskState) -> bool {
        self.state
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Queued → Running; false if the task was cancelled while it waited.
    pub(crate) fn start(&self) -> bool {
        self.transition(TaskState::Queued, TaskState::Running)
    }

    /// Running → Done; false if an abort or the deadline got there first.
    pub(crate) fn finish(&self) -> bool {
        self.transition(TaskState::Running, TaskState::Done)
    }

    /// Running → TimedOut; false if the task already finished or was cancelled.
    pub(crate) fn expire(&self) -> bool {
        self.transition(TaskState::Running, TaskState::TimedOut)
    }

    /// Queued or Running → Cancelled. Returns the state the task was cancelled from, or `None`
    /// if it had already reached a final state.
    pub(crate) fn cancel(&self) -> Option<TaskState> {
        [TaskState::Queued, TaskState::Running]
            .into_iter()
            .find(|&from| self.transition(from, TaskState::Cancelled))
    }

    fn stopped(&self) -> bool {
        matches!(
            TaskState::from_u8(self.state.load(Ordering::Relaxed)),
            TaskState::Cancelled | TaskState::TimedOut
        )
    }
}

/// What a kernel polls in its long loops. Cheap: two relaxed loads. It borrows the task's
/// control block and the pool's abort flag; [`detach`](Self::detach) gives an owning copy.
#[derive(Clone, Copy)]
pub struct CancelToken<'a> {
    task: &'a Arc<TaskCtl>,
    pool: &'a Arc<AtomicBool>,
}

/// A [`CancelToken`] that owns its flags: `'static`, for a callback a library keeps (zune-jpeg's
/// cancel check).
#[derive(Clone)]
pub struct DetachedToken {
    task: Arc<TaskCtl>,
    pool: Arc<AtomicBool>,
}

impl DetachedToken {
    /// As [`CancelToken::is_cancelled`].
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.pool.load(Ordering::Relaxed) || self.task.stopped()
    }
}

/// Returned by a kernel that noticed its token and stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

impl<'a> CancelToken<'a> {
    pub(crate) fn new(task: &'a Arc<TaskCtl>, pool: &'a Arc<AtomicBool>) -> Self {
        Self { task, pool }
    }

    /// A token that is never cancelled: for tests, benches and direct calls.
    pub fn never() -> CancelToken<'static> {
        #[cfg(not(all(loom, test)))]
        static TASK: std::sync::LazyLock<Arc<TaskCtl>> =
            std::sync::LazyLock::new(|| Arc::new(TaskCtl::new()));
        #[cfg(not(all(loom, test)))]
        let task = &*TASK;
        // A loom atomic cannot live in a static. (The loom test build runs only the loom models,
        // which do not call this.)
        #[cfg(all(loom, test))]
        let task: &'static Arc<TaskCtl> = Box::leak(Box::new(Arc::new(TaskCtl::new())));
        static POOL: std::sync::LazyLock<Arc<AtomicBool>> =
            std::sync::LazyLock::new(|| Arc::new(AtomicBool::new(false)));
        CancelToken { task, pool: &POOL }
    }

    /// The same token, owning its flags (two reference-count increments).
    pub fn detach(&self) -> DetachedToken {
        DetachedToken {
            task: Arc::clone(self.task),
            pool: Arc::clone(self.pool),
        }
    }

    /// True once the task was aborted, timed out, or the pool is being destroyed.
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.pool.load(Ordering::Relaxed) || self.task.stopped()
    }

    /// `Err(Cancelled)` once [`is_cancelled`](Self::is_cancelled) is true, for use with `?`.
    #[inline]
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }
}

// Outside a loom model loom's atomics panic, so these run in the normal build only.
#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn transitions_are_one_way() {
        let t = TaskCtl::new();
        assert!(t.start());
        assert!(!t.start(), "cannot start twice");
        assert!(t.finish());
        assert_eq!(t.cancel(), None, "a finished task cannot be cancelled");
        assert!(!t.expire());
        assert_eq!(t.state(), TaskState::Done);
    }

    #[test]
    fn cancel_while_queued_prevents_start() {
        let t = TaskCtl::new();
        assert_eq!(t.cancel(), Some(TaskState::Queued));
        assert!(!t.start());
        assert_eq!(t.state(), TaskState::Cancelled);
    }

    #[test]
    fn expire_and_cancel_race_has_one_winner() {
        let t = TaskCtl::new();
        assert!(t.start());
        assert!(t.expire());
        assert_eq!(t.cancel(), None);
        assert!(!t.finish());
        assert_eq!(t.state(), TaskState::TimedOut);
    }

    #[test]
    fn token_sees_task_and_pool_flags() {
        let t = Arc::new(TaskCtl::new());
        let pool = Arc::new(AtomicBool::new(false));
        let tok = CancelToken::new(&t, &pool);
        let detached = tok.detach();
        assert!(t.start());
        assert!(!tok.is_cancelled());
        assert!(!detached.is_cancelled());
        pool.store(true, Ordering::Relaxed);
        assert!(tok.is_cancelled());
        assert!(detached.is_cancelled());
        pool.store(false, Ordering::Relaxed);
        t.cancel();
        assert_eq!(tok.check(), Err(Cancelled));
        assert!(detached.is_cancelled());
        assert!(!CancelToken::never().is_cancelled());
        assert!(!CancelToken::never().detach().is_cancelled());
    }
}
