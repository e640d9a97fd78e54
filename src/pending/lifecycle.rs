//! A pool's lifecycle on the JS side, one state with its transitions in one place.
//!
//! ```text
//! Open ──close/destroy/collected──► Closing ──last thread exited──► Exited
//!   └──────────────┴──────────── environment torn down ────────────► TornDown
//! ```

/// Where a pool is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    /// Accepting tasks.
    Open,
    /// `close()`/`destroy()` was called (or the handle was collected): no new tasks; threads
    /// are finishing.
    Closing,
    /// Every thread has exited; close/destroy promises are resolved.
    Exited,
    /// The environment (the main thread at exit, or a Worker) is gone: nothing may touch JS.
    TornDown,
}

impl Lifecycle {
    /// Whether tasks are accepted.
    pub fn is_open(self) -> bool {
        self == Lifecycle::Open
    }

    /// Whether close/destroy promises can resolve at once (no thread will report again).
    pub fn is_done(self) -> bool {
        matches!(self, Lifecycle::Exited | Lifecycle::TornDown)
    }

    /// `close()`, `destroy()` or the handle's finalizer: Open → Closing. Idempotent.
    pub fn close(&mut self) {
        if *self == Lifecycle::Open {
            *self = Lifecycle::Closing;
        }
    }

    /// The last thread exited while closing: Closing → Exited. True the first time only (the
    /// caller then resolves the close waiters).
    pub fn exited(&mut self) -> bool {
        let first = *self == Lifecycle::Closing;
        if first {
            *self = Lifecycle::Exited;
        }
        first
    }

    /// The environment's cleanup hook ran: terminal.
    pub fn tear_down(&mut self) {
        *self = Lifecycle::TornDown;
    }
}

#[cfg(test)]
mod tests {
    use super::Lifecycle::*;

    #[test]
    fn transitions() {
        let mut l = Open;
        assert!(l.is_open() && !l.is_done());
        assert!(
            !l.exited(),
            "threads exiting while open (retirement) change nothing"
        );
        assert_eq!(l, Open);
        l.close();
        l.close();
        assert_eq!(l, Closing);
        assert!(!l.is_open() && !l.is_done());
        assert!(l.exited());
        assert!(!l.exited(), "only the first exit resolves the waiters");
        assert_eq!(l, Exited);
        l.close();
        assert_eq!(l, Exited, "closing again does not go back");
        assert!(l.is_done());
        l.tear_down();
        assert_eq!(l, TornDown);
        l.close();
        assert!(!l.exited());
        assert_eq!(l, TornDown);
        assert!(l.is_done());
        let mut open = Open;
        open.tear_down();
        assert_eq!(open, TornDown);
    }
}
