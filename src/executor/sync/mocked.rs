//! `--cfg loom` test builds: loom's primitives behind the parking_lot/std API the executor uses.
//!
//! Each wrapper keeps the normal build's semantics where loom can model them; the exceptions are
//! said where they are (timed waits never time out; `is_finished` is always false).

pub(crate) use loom::sync::{atomic, Arc};
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

/// parking_lot's `Mutex`: `lock` returns the guard (a panic while locked poisons nothing the
/// executor relies on, so a poisoned lock is taken as it is).
pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(loom::sync::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        MutexGuard {
            mutex: self,
            guard: Some(self.0.lock().unwrap_or_else(|e| e.into_inner())),
        }
    }
}

/// parking_lot's `MutexGuard`. `guard` is `None` only inside [`MutexGuard::unlocked`] and
/// [`Condvar::wait`], which hold `&mut self`, so no one can dereference it then.
pub(crate) struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
    guard: Option<loom::sync::MutexGuard<'a, T>>,
}

impl<T> MutexGuard<'_, T> {
    /// Releases the lock while `f` runs, then takes it again (parking_lot's).
    pub(crate) fn unlocked<U>(this: &mut Self, f: impl FnOnce() -> U) -> U {
        this.guard = None;
        let out = f();
        this.guard = Some(this.mutex.0.lock().unwrap_or_else(|e| e.into_inner()));
        out
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("the lock is held")
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("the lock is held")
    }
}

/// parking_lot's `Condvar` (waits take `&mut guard`).
pub(crate) struct Condvar(loom::sync::Condvar);

/// parking_lot's `WaitTimeoutResult`; under loom a wait never times out.
pub(crate) struct WaitTimeoutResult;

impl WaitTimeoutResult {
    pub(crate) fn timed_out(&self) -> bool {
        false
    }
}

impl Condvar {
    pub(crate) fn new() -> Self {
        Self(loom::sync::Condvar::new())
    }

    pub(crate) fn wait<T>(&self, g: &mut MutexGuard<'_, T>) {
        let held = g.guard.take().expect("the lock is held");
        g.guard = Some(self.0.wait(held).unwrap_or_else(|e| e.into_inner()));
    }

    /// Loom has no clock: an untimed wait, woken only by a notification.
    pub(crate) fn wait_for<T>(
        &self,
        g: &mut MutexGuard<'_, T>,
        _timeout: Duration,
    ) -> WaitTimeoutResult {
        self.wait(g);
        WaitTimeoutResult
    }

    /// As [`wait_for`](Self::wait_for).
    pub(crate) fn wait_until<T>(
        &self,
        g: &mut MutexGuard<'_, T>,
        _deadline: Instant,
    ) -> WaitTimeoutResult {
        self.wait(g);
        WaitTimeoutResult
    }

    /// parking_lot's returns whether a thread was woken; nothing in the executor reads it.
    pub(crate) fn notify_one(&self) {
        self.0.notify_one();
    }

    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}

/// std's `Once`. (A std `Once` would block the one OS thread loom runs every model thread on if
/// two of them met it at once.)
pub(crate) struct Once(loom::sync::Mutex<bool>);

impl Once {
    pub(crate) fn new() -> Self {
        Self(loom::sync::Mutex::new(false))
    }

    pub(crate) fn call_once(&self, f: impl FnOnce()) {
        let mut done = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !*done {
            *done = true;
            f();
        }
    }
}

pub(crate) mod thread {
    /// std's `thread::Builder`, spawning a loom thread.
    pub(crate) struct Builder(loom::thread::Builder);

    impl Builder {
        pub(crate) fn new() -> Self {
            Self(loom::thread::Builder::new())
        }

        pub(crate) fn name(self, name: String) -> Self {
            Self(self.0.name(name))
        }

        pub(crate) fn stack_size(self, size: usize) -> Self {
            Self(self.0.stack_size(size))
        }

        pub(crate) fn spawn<F, T>(self, f: F) -> std::io::Result<JoinHandle<T>>
        where
            F: FnOnce() -> T + Send + 'static,
            T: Send + 'static,
        {
            self.0.spawn(f).map(JoinHandle)
        }
    }

    pub(crate) struct JoinHandle<T>(loom::thread::JoinHandle<T>);

    impl<T> JoinHandle<T> {
        pub(crate) fn join(self) -> std::thread::Result<T> {
            self.0.join()
        }

        /// Loom cannot tell without blocking: a retired thread's handle is then kept until
        /// `join_exited` (which joins them all) instead of being reaped by the next `grow`.
        pub(crate) fn is_finished(&self) -> bool {
            false
        }
    }
}

pub(crate) mod hint {
    /// A yield to loom's scheduler.
    pub(crate) use loom::hint::spin_loop;
}
