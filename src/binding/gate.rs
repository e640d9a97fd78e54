//! The pool's one threadsafe function, as worker threads see it.

use napi::sys;
use parking_lot::RwLock;
use std::ptr;

/// The threadsafe function's raw handle.
pub(super) struct Tsfn(pub sys::napi_threadsafe_function);

// SAFETY: `napi_call_threadsafe_function` is documented as callable from any thread. The
// pointer is only used while the `Gate` holds it, and the gate is emptied (under the write
// lock) before the function is released or finalized.
unsafe impl Send for Tsfn {}
// SAFETY: as above; the pointer is never written through `&Tsfn`.
unsafe impl Sync for Tsfn {}

/// Guards every worker-side use of the threadsafe function. Closing it takes the write lock,
/// so after `close()` returns no worker is inside a call and none will start one. (Node up to
/// 24.13 frees threadsafe functions at environment teardown while other threads still hold
/// them; the function's finalizer, the env cleanup hook and pool shutdown close the gate first.)
#[derive(Default)]
pub(super) struct Gate(RwLock<Option<Tsfn>>);

impl Gate {
    pub fn open(&self, t: sys::napi_threadsafe_function) {
        *self.0.write() = Some(Tsfn(t));
    }

    /// Asks the JS thread to drain the pool's events (the executor's wake hook).
    pub fn signal(&self) {
        if let Some(t) = &*self.0.read() {
            // SAFETY: see `Tsfn`: the gate is open, so the function is alive. Non-blocking; a
            // closing function returns an error we can ignore (the pool is going away).
            unsafe {
                sys::napi_call_threadsafe_function(
                    t.0,
                    ptr::null_mut(),
                    sys::ThreadsafeFunctionCallMode::nonblocking,
                )
            };
        }
    }

    /// Closes the gate and returns the function if it was open.
    pub fn close(&self) -> Option<Tsfn> {
        self.0.write().take()
    }
}
