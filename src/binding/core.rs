//! [`Core`]: one pool as the JS thread holds it, and task submission.
//!
//! One `Core` per `WorkerPool`, owned by `Rc`s held by the JS handle (an external) and by the
//! pool's threadsafe function; it lives on the JS thread only. Which promise a task settles,
//! and how, is decided by [`Pending`] (napi-free); this file and `drain.rs` only carry those
//! decisions out in JS.

use super::convert;
use super::gate::Gate;
use super::job::{self, InPlaceReaders, Job, Payload, Prepared};
use super::js::{Deferred, Env, JsRef, JsResult, Value};
use crate::executor::{Event, Executor, SubmitError, Task};
use crate::kernels::{KernelError, KernelId, PoolParams};
use crate::pending::{tag, Lifecycle, Pending, Retry, Settle, Settlement};
use napi::sys;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

/// Pool events `index.js` can listen to: the bits of `Core::watch` and the `kind` passed to its
/// notify function. Exported to JS as `EventBit`.
#[napi_derive::napi]
pub enum EventBit {
    Drain = 1,
    QueueFull = 2,
    Error = 4,
}

/// Per-task defaults from the pool options.
pub(super) struct Defaults {
    pub timeout: Option<Duration>,
    pub retries: u32,
    pub max_input: usize,
    /// Kernel params set pool-wide (`limitInputPixels`).
    pub params: PoolParams,
}

/// A task's scheduling options as `run`/`runBatch` pass them (validated in `index.js`).
#[derive(Clone, Copy)]
pub(super) struct Schedule {
    pub priority: f64,
    /// Milliseconds; `None`: the pool's default.
    pub timeout: Option<f64>,
    /// `None`: the pool's default.
    pub retries: Option<u32>,
}

pub(super) struct Core {
    pub exec: Executor<Job>,
    pub gate: Arc<Gate>,
    pub readers: Arc<InPlaceReaders>,
    pub tsfn: Cell<sys::napi_threadsafe_function>,
    pub pending: RefCell<Pending<Deferred>>,
    pub backlog: RefCell<VecDeque<Event<Job>>>,
    pub scratch: RefCell<Vec<Event<Job>>>,
    /// Unsettled promises (tasks and close/destroy waiters). Keeps the process alive while > 0.
    pub inflight: Cell<usize>,
    /// Weak while idle, strong while anything is in flight, so an unreferenced busy pool is not
    /// collected under its own pending promises.
    pub handle_ref: RefCell<Option<JsRef>>,
    pub lifecycle: Cell<Lifecycle>,
    pub close_waiters: RefCell<Vec<Deferred>>,
    pub defaults: Defaults,
    /// `index.js`'s `(kind, arg) => …` that emits pool events; held weakly (the pool object
    /// owns it), called only for the kinds set in `watch`.
    pub notify: Option<JsRef>,
    pub watch: Cell<u32>,
    /// A task was queued since the last 'drain'.
    pub drain_armed: Cell<bool>,
}

impl Core {
    /// One more unsettled promise. From 0 to 1, the pool starts keeping the process alive.
    pub fn keep_alive(&self, env: Env) {
        let n = self.inflight.get();
        if n == 0 {
            let t = self.tsfn.get();
            if !t.is_null() {
                // SAFETY: JS thread, live env; `t` is our unreleased threadsafe function.
                unsafe { sys::napi_ref_threadsafe_function(env.raw(), t) };
            }
            if let Some(r) = &*self.handle_ref.borrow() {
                env.ref_up(r);
            }
            // The notify function closes over the JS wrapper: holding it keeps the wrapper
            // (and its listeners) alive while work is in flight, e.g. for a pending
            // `once(pool, 'drain')` on a pool nothing else references.
            if let Some(r) = &self.notify {
                env.ref_up(r);
            }
        }
        self.inflight.set(n + 1);
    }

    /// One promise fewer. At 0 the pool no longer keeps the process alive.
    pub fn let_go(&self, env: Env) {
        let n = self.inflight.get() - 1;
        self.inflight.set(n);
        if n == 0 {
            let t = self.tsfn.get();
            if !t.is_null() {
                // SAFETY: as in `keep_alive`.
                unsafe { sys::napi_unref_threadsafe_function(env.raw(), t) };
            }
            if let Some(r) = &*self.handle_ref.borrow() {
                env.ref_down(r);
            }
            if let Some(r) = &self.notify {
                env.ref_down(r);
            }
        }
    }

    pub fn closing(&self) -> bool {
        !self.lifecycle.get().is_open()
    }

    /// Settles a promise as [`Pending`] decided; `aborted` is the caller's AbortError for
    /// [`Settlement::Aborted`].
    pub fn settle(&self, env: Env, s: Settle<Deferred>, aborted: Option<Value>) {
        let mut outcome = s.settlement.outcome();
        let result = match s.settlement {
            Settlement::Value(out) => convert::to_js(env, out).map(|v| (true, v)),
            Settlement::Batch { parts, inputs } => {
                convert::batch(env, parts, inputs).map(|v| (true, v))
            }
            Settlement::Aborted => Ok((false, aborted.unwrap_or_else(|| env.undefined()))),
            other => match other.error(Some(s.kernel)) {
                Some(e) => convert::error(env, &e).map(|v| (false, v)),
                None => Ok((false, env.undefined())),
            },
        };
        // A value that could not be made (the environment is going away) still settles.
        let (fulfil, v) = result.unwrap_or_else(|_| {
            outcome = crate::executor::Outcome::Failed;
            (false, env.undefined())
        });
        let _ = env.settle(s.promise, fulfil, v);
        self.exec.metrics().record_outcome(outcome, s.count);
        self.let_go(env);
    }

    /// Settles what `Pending` returned and cancels the control blocks it named.
    pub fn carry_out(
        &self,
        env: Env,
        (settle, cancel): (Option<Settle<Deferred>>, Vec<Arc<crate::executor::TaskCtl>>),
    ) {
        if let Some(s) = settle {
            self.settle(env, s, None);
        }
        for c in &cancel {
            self.exec.cancel(c);
        }
    }

    /// Calls `index.js`'s notify function for `kind` if it asked for it. `f` is the notify
    /// function as a local handle (see `notify_fn`).
    pub fn emit_to(&self, env: Env, f: Option<Value>, kind: EventBit, arg: Value) {
        let kind = kind as u32;
        if self.watch.get() & kind == 0 {
            return;
        }
        if let (Some(f), Ok(k)) = (f, env.number(kind.into())) {
            let _ = env.call(f, &[k, arg]);
        }
    }

    /// The notify function as a local handle (alive until the current callback returns), or
    /// `None` if the pool's JS wrapper (which owns it) was collected.
    pub fn notify_fn(&self, env: Env) -> Option<Value> {
        self.notify.as_ref().and_then(|r| env.ref_value(r))
    }

    fn queue_full(&self, env: Env, kernel: KernelId) {
        if self.watch.get() & EventBit::QueueFull as u32 != 0 {
            let name = env
                .string(kernel.name())
                .unwrap_or_else(|_| env.undefined());
            self.emit_to(env, self.notify_fn(env), EventBit::QueueFull, name);
        }
    }

    fn timeout(&self, ms: Option<f64>) -> Option<Duration> {
        match ms {
            None => self.defaults.timeout,
            Some(ms) => limit(ms),
        }
    }

    fn retry(&self, s: &Schedule, timeout: Option<Duration>) -> Option<Retry> {
        let left = s.retries.unwrap_or(self.defaults.retries);
        (left > 0).then_some(Retry {
            left,
            priority: s.priority,
            timeout,
        })
    }

    fn reject_now(&self, env: Env, e: JsResult<Value>, outcome: crate::executor::Outcome) -> Value {
        self.exec.metrics().record_outcome(outcome, 1);
        env.rejected(e.unwrap_or_else(|_| env.undefined()))
    }

    fn reject_error(&self, env: Env, e: &KernelError) -> Value {
        self.reject_now(
            env,
            convert::error(env, e),
            crate::executor::Outcome::Failed,
        )
    }

    /// The checks every submission starts with: a known kernel id and an open pool. `Err` holds
    /// the already-rejected promise to return.
    fn admit(&self, env: Env, kernel: f64) -> Result<KernelId, Value> {
        let Some(k) = KernelId::from_id(kernel) else {
            let e = KernelError::new(
                crate::kernels::ErrorKind::Generic,
                "ERR_POOL_UNKNOWN_KERNEL",
                "Unknown kernel",
            );
            return Err(self.reject_error(env, &e));
        };
        if self.closing() {
            let e = Settlement::Closed.error(None).expect("an error");
            let v = convert::error(env, &e);
            return Err(self.reject_now(env, v, crate::executor::Outcome::Cancelled));
        }
        Ok(k)
    }

    /// `run(handle, kernelId, input, …)`: the task's promise, and its abort handle (-1 when it
    /// was rejected before it was queued).
    pub fn run(&self, env: Env, kernel: f64, input: Value, s: Schedule) -> (Value, f64) {
        let kernel = match self.admit(env, kernel) {
            Ok(k) => k,
            Err(rejected) => return (rejected, -1.0),
        };
        let prepared = match job::to_input(env, kernel, input, &self.defaults) {
            Ok(p) => p,
            // A getter of an object input threw: reject with what it threw.
            Err(e) => {
                let rejected = match env.take_exception() {
                    Some(thrown) => {
                        self.reject_now(env, Ok(thrown), crate::executor::Outcome::Failed)
                    }
                    None => self.reject_error(env, &e),
                };
                return (rejected, -1.0);
            }
        };
        let Ok((deferred, promise)) = env.promise() else {
            return (ptr::null_mut(), -1.0);
        };
        let timeout = self.timeout(s.timeout);
        let mut task = Task::new(
            0,
            Job::new(Payload::One(prepared), &self.readers),
            s.priority,
            timeout,
        );
        let slot = self.pending.borrow_mut().insert_one(
            deferred,
            kernel,
            Arc::clone(&task.ctl),
            self.retry(&s, timeout),
        );
        task.tag = tag(slot, 0);
        self.keep_alive(env);
        self.drain_armed.set(true);
        let refused = match self.exec.submit(task) {
            Ok(()) => return (promise, self.pending.borrow().handle(slot)),
            Err(SubmitError::QueueFull(t)) => (t, Settlement::QueueFull),
            Err(SubmitError::Closed(t)) => (t, Settlement::Closed),
        };
        let (t, why) = refused;
        t.job.release(env);
        let full = why == Settlement::QueueFull;
        let s = self.pending.borrow_mut().refuse_one(slot, why);
        self.carry_out(env, (s, Vec::new()));
        if full {
            self.queue_full(env, kernel);
        }
        (promise, -1.0)
    }

    /// `runBatch(handle, kernelId, inputs, …)`: one promise for all inputs, and its abort
    /// handle.
    pub fn run_batch(&self, env: Env, kernel: f64, inputs: Value, s: Schedule) -> (Value, f64) {
        let kernel = match self.admit(env, kernel) {
            Ok(k) => k,
            Err(rejected) => return (rejected, -1.0),
        };
        if let Ok(Some(nums)) = env.float64_elements(inputs) {
            for (i, &n) in nums.iter().enumerate() {
                if let Err(e) = job::check_number(kernel, n) {
                    return (
                        self.reject_error(env, &e.context(format!("inputs[{i}]"))),
                        -1.0,
                    );
                }
            }
            let per = self.chunk_len(nums.len());
            let parts = nums
                .chunks(per)
                .map(|c| Payload::Numbers(kernel, c.to_vec()))
                .collect();
            return self.submit_batch(env, kernel, parts, nums.len(), s);
        }
        let len = match env.is_array(inputs) {
            Ok(true) => env.array_len(inputs).unwrap_or(0) as usize,
            _ => {
                let e = KernelError::invalid_type("The \"inputs\" argument must be an Array");
                return (self.reject_error(env, &e), -1.0);
            }
        };
        // Inputs go straight into their chunk.
        let per = self.chunk_len(len);
        let mut parts: Vec<Vec<Prepared>> = Vec::with_capacity(len.div_ceil(per));
        for i in 0..len {
            let v = match env.get_element(inputs, i as u32) {
                Ok(v) => v,
                Err(_) => return (ptr::null_mut(), -1.0), // a getter threw: propagate
            };
            match job::to_input(env, kernel, v, &self.defaults) {
                Ok(p) => {
                    if i % per == 0 {
                        parts.push(Vec::with_capacity(per.min(len - i)));
                    }
                    if let Some(part) = parts.last_mut() {
                        part.push(p);
                    }
                }
                Err(e) => {
                    for part in parts {
                        Job::new(Payload::Many(part), &self.readers).release(env);
                    }
                    let rejected = match env.take_exception() {
                        Some(thrown) => {
                            self.reject_now(env, Ok(thrown), crate::executor::Outcome::Failed)
                        }
                        None => self.reject_error(env, &e.context(format!("inputs[{i}]"))),
                    };
                    return (rejected, -1.0);
                }
            }
        }
        let parts = parts.into_iter().map(Payload::Many).collect();
        self.submit_batch(env, kernel, parts, len, s)
    }

    /// Inputs per chunk for a batch of `len`: enough chunks to keep every thread busy and
    /// balance uneven inputs (8 per thread), few enough that per-chunk costs vanish next to the
    /// per-input work.
    fn chunk_len(&self, len: usize) -> usize {
        len.div_ceil(len.clamp(1, self.exec.max_threads().saturating_mul(8)))
            .max(1)
    }

    /// Queues a batch's chunks under one promise.
    fn submit_batch(
        &self,
        env: Env,
        kernel: KernelId,
        parts: Vec<Payload>,
        len: usize,
        s: Schedule,
    ) -> (Value, f64) {
        let Ok((deferred, promise)) = env.promise() else {
            return (ptr::null_mut(), -1.0);
        };
        if len == 0 {
            let _ = env.array(0).and_then(|a| env.settle(deferred, true, a));
            return (promise, -1.0);
        }
        let timeout = self.timeout(s.timeout);
        let tasks: Vec<Task<Job>> = parts
            .into_iter()
            .map(|p| Task::new(0, Job::new(p, &self.readers), s.priority, timeout))
            .collect();
        let ctls = tasks.iter().map(|t| Arc::clone(&t.ctl)).collect();
        let slot = self.pending.borrow_mut().insert_batch(
            deferred,
            kernel,
            ctls,
            len,
            self.retry(&s, timeout),
        );
        self.keep_alive(env);
        self.drain_armed.set(true);
        let mut refused = None;
        for (chunk, mut task) in tasks.into_iter().enumerate() {
            task.tag = tag(slot, chunk);
            if refused.is_some() {
                self.finished(env, task.tag, task.job, None);
                continue;
            }
            let (t, why) = match self.exec.submit(task) {
                Ok(()) => continue,
                Err(SubmitError::QueueFull(t)) => (t, Settlement::QueueFull),
                Err(SubmitError::Closed(t)) => (t, Settlement::Closed),
            };
            refused = Some(why == Settlement::QueueFull);
            let done = self.pending.borrow_mut().refuse_batch(slot, why);
            self.carry_out(env, done);
            self.finished(env, t.tag, t.job, None);
        }
        match refused {
            None => (promise, self.pending.borrow().handle(slot)),
            Some(full) => {
                if full {
                    self.queue_full(env, kernel);
                }
                (promise, -1.0)
            }
        }
    }

    /// `cancel(handle, taskHandle, error)`: rejects the task's promise with `error` (an
    /// AbortError made in JS) and stops its work.
    pub fn cancel(&self, env: Env, handle: f64, error: Value) {
        let aborted = self.pending.borrow_mut().abort(handle);
        if let Some((s, ctls)) = aborted {
            self.settle(env, s, Some(error));
            for c in &ctls {
                self.exec.cancel(c);
            }
        }
    }

    fn wait_exit(&self, env: Env) -> Value {
        let Ok((d, p)) = env.promise() else {
            return ptr::null_mut();
        };
        if self.lifecycle.get().is_done() {
            let _ = env.settle(d, true, env.undefined());
        } else {
            self.keep_alive(env);
            self.close_waiters.borrow_mut().push(d);
        }
        p
    }

    fn set_closing(&self) {
        let mut l = self.lifecycle.get();
        l.close();
        self.lifecycle.set(l);
    }

    /// `close(handle) → Promise<void>`: queued and running tasks finish, then threads exit.
    pub fn close(&self, env: Env) -> Value {
        self.set_closing();
        self.exec.close();
        self.wait_exit(env)
    }

    /// `destroy(handle) → Promise<void>`: queued tasks are rejected, running ones stopped.
    pub fn destroy(&self, env: Env) -> Value {
        self.set_closing();
        for t in self.exec.destroy() {
            self.finished(env, t.tag, t.job, None);
        }
        let closed = self.pending.borrow_mut().close_all();
        for s in closed {
            self.settle(env, s, None);
        }
        self.wait_exit(env)
    }

    /// The handle was collected, or the environment is going away: no more tasks.
    pub fn shut(&self) {
        self.set_closing();
    }
}

/// A time limit of `ms` milliseconds; `None` (no limit) for NaN, Infinity or a value too large
/// for a `Duration` (beyond ~584 billion years).
pub(super) fn limit(ms: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(ms / 1000.0).ok()
}
