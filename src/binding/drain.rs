//! The JS side of the executor's events: when the event queue goes from empty to non-empty a
//! worker signals the pool's threadsafe function once; [`call_js`] then drains a budgeted slice
//! of the events and re-signals itself for the rest.

use super::core::{Core, EventBit};
use super::job::Job;
use super::js::{Env, ErrorClass};
use crate::executor::{Event, SubmitError, Task, TaskCtl};
use crate::pending::Ended;
use napi::sys;
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Settlements per drain call before yielding back to the event loop.
const DRAIN_BUDGET: usize = 1024;
/// And the time limit for one drain call.
const DRAIN_TIME: Duration = Duration::from_millis(1);

impl Core {
    /// A task left the pool (ran, failed, or was skipped/handed back): run it again if it
    /// timed out or panicked with retries left, else release what it holds and settle.
    pub fn finished(&self, env: Env, tag: u64, job: Job, result: Ended) {
        let mut job = job;
        let again = self
            .pending
            .borrow_mut()
            .retry(tag, &result, self.closing());
        if let Some((priority, timeout)) = again {
            let task = Task::new(tag, job, priority, timeout);
            let ctl = Arc::clone(&task.ctl);
            // Not bounded by maxQueue: the task was admitted once already.
            match self.exec.requeue(task) {
                Ok(()) => {
                    self.exec.metrics().record_retry();
                    self.pending.borrow_mut().requeued(tag, ctl);
                    return;
                }
                Err(SubmitError::QueueFull(t) | SubmitError::Closed(t)) => job = t.job,
            }
        }
        job.release(env);
        let done = self.pending.borrow_mut().finished(tag, result);
        self.carry_out(env, done);
    }

    fn expired(&self, env: Env, tag: u64, ctl: &Arc<TaskCtl>) {
        let expired = self.pending.borrow_mut().expired(tag, ctl, self.closing());
        if let Some((s, cancel)) = expired {
            self.carry_out(env, (Some(s), cancel));
        }
    }

    /// The last thread exited after close/destroy: resolve the waiters, release the function.
    fn all_exited(&self, env: Env) {
        let mut l = self.lifecycle.get();
        let first = l.exited();
        self.lifecycle.set(l);
        if !first {
            return;
        }
        self.exec.join_exited();
        for d in self.close_waiters.borrow_mut().drain(..) {
            let _ = env.settle(d, true, env.undefined());
            self.let_go(env);
        }
        self.release_tsfn();
    }

    pub fn release_tsfn(&self) {
        self.gate.close();
        let t = self.tsfn.replace(ptr::null_mut());
        if !t.is_null() {
            // SAFETY: JS thread; `t` is our threadsafe function, released exactly once (the
            // cell is now null). Its finalizer drops the context `Rc`.
            unsafe {
                sys::napi_release_threadsafe_function(
                    t,
                    sys::ThreadsafeFunctionReleaseMode::release,
                )
            };
        }
    }

    /// Handles events, at most `DRAIN_BUDGET` or `DRAIN_TIME` per call. Returns true if more are
    /// waiting.
    fn drain(&self, env: Env) -> bool {
        // Taken while in-flight work still holds it strongly: settling the last task below
        // makes the reference weak, and 'drain' is emitted after that.
        let notify = self.notify_fn(env);
        {
            let mut backlog = self.backlog.borrow_mut();
            if backlog.len() < DRAIN_BUDGET {
                let mut scratch = self.scratch.borrow_mut();
                self.exec.take_events(&mut scratch);
                backlog.extend(scratch.drain(..));
            }
        }
        let start = Instant::now();
        for i in 0..DRAIN_BUDGET {
            let Some(ev) = self.backlog.borrow_mut().pop_front() else {
                break;
            };
            match ev {
                Event::Finished { tag, job, result } => self.finished(env, tag, job, result),
                Event::Expired { tag, ctl } => self.expired(env, tag, &ctl),
                // Threads also exit when they retire; the pool is done once it is closing and
                // none is left (then none can start again).
                Event::Exited { .. } => {
                    if self.closing() && self.exec.live_threads() == 0 {
                        self.all_exited(env);
                    }
                }
                Event::Fault(message) => {
                    if let Ok(e) = env.error(ErrorClass::Error, "ERR_POOL_THREAD_SPAWN", &message) {
                        self.emit_to(env, notify, EventBit::Error, e);
                    }
                }
            }
            if i % 64 == 63 && start.elapsed() >= DRAIN_TIME {
                break;
            }
        }
        let more = !self.backlog.borrow().is_empty();
        if !more && self.drain_armed.get() && self.pending.borrow().is_empty() {
            self.drain_armed.set(false);
            self.emit_to(env, notify, EventBit::Drain, env.undefined());
        }
        more
    }
}

/// The threadsafe function's callback: drains, and signals again if events are left.
pub(super) unsafe extern "C" fn call_js(
    env: sys::napi_env,
    _cb: sys::napi_value,
    context: *mut c_void,
    _data: *mut c_void,
) {
    if env.is_null() || context.is_null() {
        return; // the function is being torn down
    }
    // SAFETY: Node calls this on the JS thread with a live env.
    let env = unsafe { Env::from_raw(env) };
    // SAFETY: `context` is the `Rc<Core>` leaked in `create`, alive until `tsfn_finalize`.
    let core = unsafe { &*(context as *const Core) };
    // A panic must not unwind into Node; a failed drain leaves its events for the next call.
    let more = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| core.drain(env)));
    if more.unwrap_or(true) {
        core.gate.signal();
    }
}

pub(super) unsafe extern "C" fn tsfn_finalize(
    _env: sys::napi_env,
    data: *mut c_void,
    _hint: *mut c_void,
) {
    // SAFETY: `data` is the `Rc<Core>` leaked in `create` for the threadsafe function; Node
    // calls this once, on the JS thread.
    let core = unsafe { Rc::from_raw(data as *const Core) };
    core.gate.close();
    core.tsfn.set(ptr::null_mut());
}
