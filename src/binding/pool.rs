//! The pool handle on the JS side: submission, settlement and lifecycle.
//!
//! One [`Core`] per `WorkerPool`, owned by `Rc`s held by the JS handle (an external) and by the
//! pool's single threadsafe function. It lives on the JS thread only. Workers reach the JS
//! thread through [`Gate`]: when the executor's event queue goes from empty to non-empty, a
//! worker calls the threadsafe function once; [`drain`] then settles a budgeted slice of the
//! events and re-signals itself for the rest.

use super::job::{self, InPlaceReaders, Job, JobOutput, Outputs, Payload};
use super::js::{Deferred, Env, ErrorClass, JsRef, JsResult, Value};
use crate::executor::{
    self, Config, Event, Executor, Outcome, SubmitError, Task, TaskCtl, TaskState,
};
use crate::kernels::{self, Input, Kernel, KernelError};
use napi::sys;
use parking_lot::RwLock;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// JS task handles are `generation * 2^32 + slot`, kept below 2^53 so they are exact doubles.
const TAG_SLOTS: f64 = 4_294_967_296.0;
const GENERATION_MASK: u32 = (1 << 21) - 1;

/// Settlements per drain call before yielding back to the event loop.
const DRAIN_BUDGET: usize = 1024;
/// And the time limit for one drain call.
const DRAIN_TIME: Duration = Duration::from_millis(1);
/// How long environment teardown waits for kernels reading JS memory in place to notice the
/// cancellation (they poll at least every few milliseconds).
const TEARDOWN_WAIT: Duration = Duration::from_secs(2);

/// The threadsafe function, as workers see it.
struct Tsfn(sys::napi_threadsafe_function);

// SAFETY: `napi_call_threadsafe_function` is documented as callable from any thread. The
// pointer is only used while the `Gate` holds it, and the gate is emptied (under the write
// lock) before the function is released or finalized.
unsafe impl Send for Tsfn {}
// SAFETY: as above; the pointer is never written through `&Tsfn`.
unsafe impl Sync for Tsfn {}

/// Guards every worker-side use of the threadsafe function. Closing it takes the write lock,
/// so after `close()` returns no worker is inside a call and none will start one.
#[derive(Default)]
struct Gate(RwLock<Option<Tsfn>>);

impl Gate {
    fn signal(&self) {
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
    fn close(&self) -> Option<Tsfn> {
        self.0.write().take()
    }
}

/// What a pending promise is waiting for.
enum Waiting {
    One(Arc<TaskCtl>),
    Batch(Box<Batch>),
}

struct Batch {
    ctls: Vec<Arc<TaskCtl>>,
    /// Chunk outputs, in chunk order.
    parts: Vec<Option<Outputs>>,
    /// Chunks that have not left the pool yet.
    left: usize,
    /// Number of inputs (for counting completions).
    inputs: usize,
}

/// What a task needs to be queued again after a timeout or a panic.
struct Retry {
    left: u32,
    priority: f64,
    timeout: Option<Duration>,
}

struct Entry {
    /// `None` once the promise is settled; the entry stays until every chunk left the pool.
    deferred: Option<Deferred>,
    /// `None` without retries (the common case costs one word).
    retry: Option<Box<Retry>>,
    /// Tells this entry from earlier users of the same slot in the handle given to JS.
    generation: u32,
    waiting: Waiting,
    kernel: Kernel,
}

/// Pending tasks by slot; a task's executor tag is `slot | chunk << 32`.
#[derive(Default)]
struct Slab {
    entries: Vec<Option<Entry>>,
    free: Vec<u32>,
}

/// Pool events `index.js` asked to hear about (bits of `Core::watch`), and the kind numbers
/// passed to its notify function.
pub(super) const EVENT_DRAIN: u32 = 1;
pub(super) const EVENT_QUEUE_FULL: u32 = 2;
pub(super) const EVENT_ERROR: u32 = 4;

impl Entry {
    /// Whether a failure that may be retried (a timeout, a panic) will run the task again.
    fn will_retry(&self, closed: bool) -> bool {
        self.deferred.is_some() && self.retry.as_ref().is_some_and(|r| r.left > 0) && !closed
    }
}

impl Slab {
    fn insert(&mut self, e: Entry) -> u32 {
        if let Some(i) = self.free.pop() {
            self.entries[i as usize] = Some(e);
            i
        } else {
            self.entries.push(Some(e));
            (self.entries.len() - 1) as u32
        }
    }
    fn get(&mut self, i: u32) -> Option<&mut Entry> {
        self.entries.get_mut(i as usize)?.as_mut()
    }
    fn remove(&mut self, i: u32) -> Option<Entry> {
        let e = self.entries.get_mut(i as usize)?.take();
        if e.is_some() {
            self.free.push(i);
        }
        e
    }
    /// Entries in use: tasks somewhere in the pool.
    fn len(&self) -> usize {
        self.entries.len() - self.free.len()
    }
}

fn split(tag: u64) -> (u32, usize) {
    (tag as u32, (tag >> 32) as usize)
}

/// Errors the pool itself raises (as opposed to kernel errors).
#[derive(Clone, Copy)]
pub(super) enum PoolError {
    Closed,
    QueueFull,
    Timeout,
    UnknownKernel,
}

pub(super) fn pool_error(env: Env, e: PoolError, kernel: Option<Kernel>) -> JsResult<Value> {
    let k = kernel.map_or("?", Kernel::name);
    match e {
        PoolError::Closed => env.error(ErrorClass::Error, "ERR_POOL_CLOSED", "The pool is closed"),
        PoolError::QueueFull => env.error(
            ErrorClass::Error,
            "ERR_POOL_QUEUE_FULL",
            "The pool's queue is full (maxQueue reached)",
        ),
        PoolError::Timeout => env.error(
            ErrorClass::Error,
            "ERR_POOL_TIMEOUT",
            &format!("Kernel '{k}' ran past its timeout"),
        ),
        PoolError::UnknownKernel => env.error(
            ErrorClass::Error,
            "ERR_POOL_UNKNOWN_KERNEL",
            "Unknown kernel",
        ),
    }
}

pub(super) struct Core {
    exec: Executor<Job>,
    gate: Arc<Gate>,
    readers: Arc<InPlaceReaders>,
    tsfn: Cell<sys::napi_threadsafe_function>,
    slab: RefCell<Slab>,
    backlog: RefCell<VecDeque<Event<Job>>>,
    scratch: RefCell<Vec<Event<Job>>>,
    /// Unsettled promises (tasks and close/destroy waiters). Keeps the process alive while > 0.
    inflight: Cell<usize>,
    /// Weak while idle, strong while anything is in flight, so an unreferenced busy pool is not
    /// collected under its own pending promises.
    handle_ref: RefCell<Option<JsRef>>,
    closed: Cell<bool>,
    exited: Cell<bool>,
    torn_down: Cell<bool>,
    close_waiters: RefCell<Vec<Deferred>>,
    default_timeout: Option<Duration>,
    default_retries: u32,
    max_input: usize,
    /// `index.js`'s `(kind, arg) => …` that emits pool events; held weakly (the pool object
    /// owns it), called only for the kinds set in `watch`.
    notify: Option<JsRef>,
    watch: Cell<u32>,
    /// A task was queued since the last 'drain'.
    drain_armed: Cell<bool>,
    last_tag: Cell<f64>,
    generation: Cell<u32>,
}

impl Core {
    fn keep_alive(&self, env: Env) {
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

    fn let_go(&self, env: Env) {
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

    /// A task's limit: the pool default for a negative/NaN `ms` (none given), else `ms`.
    fn timeout(&self, ms: f64) -> Option<Duration> {
        if ms.is_nan() || ms < 0.0 {
            self.default_timeout
        } else {
            limit(ms)
        }
    }

    /// A task's retry budget: the pool default for a negative/NaN `n` (none given).
    fn retry(&self, n: f64, priority: f64, timeout: Option<Duration>) -> Option<Box<Retry>> {
        let left = if n.is_nan() || n < 0.0 {
            self.default_retries
        } else {
            n.min(u32::MAX as f64) as u32
        };
        (left > 0).then(|| {
            Box::new(Retry {
                left,
                priority,
                timeout,
            })
        })
    }

    /// Calls `index.js`'s notify function for `kind` if it asked for it.
    fn emit(&self, env: Env, kind: u32, arg: Value) {
        self.emit_to(env, self.notify_fn(env), kind, arg);
    }

    /// The notify function as a local handle (alive until the current callback returns), or
    /// `None` if the pool's JS wrapper (which owns it) was collected.
    fn notify_fn(&self, env: Env) -> Option<Value> {
        self.notify.as_ref().and_then(|r| env.ref_value(r))
    }

    fn emit_to(&self, env: Env, f: Option<Value>, kind: u32, arg: Value) {
        if self.watch.get() & kind == 0 {
            return;
        }
        if let (Some(f), Ok(k)) = (f, env.number(kind as f64)) {
            let _ = env.call(f, &[k, arg]);
        }
    }

    /// Queues a task that panicked or ran past its timeout again, if its entry still waits and
    /// has retries left. Hands the job back when it is not retried.
    fn try_retry(
        &self,
        tag: u64,
        job: Job,
        result: &Option<Result<JobOutput, executor::Panic>>,
    ) -> Option<Job> {
        let (slot, chunk) = split(tag);
        let stopped = |e: &KernelError| e.is_cancelled();
        let timed_out = |slab: &mut Slab| match slab.get(slot).map(|e| &e.waiting) {
            Some(Waiting::One(c)) => c.state() == TaskState::TimedOut,
            Some(Waiting::Batch(b)) => b
                .ctls
                .get(chunk)
                .is_some_and(|c| c.state() == TaskState::TimedOut),
            None => false,
        };
        let (priority, timeout) = {
            let mut slab = self.slab.borrow_mut();
            let retriable = match result {
                Some(Err(_)) => true,
                Some(Ok(JobOutput::One(Err(e)))) => stopped(e) && timed_out(&mut slab),
                Some(Ok(JobOutput::Many(Err((_, e))))) => stopped(e) && timed_out(&mut slab),
                _ => false,
            };
            match slab.get(slot) {
                Some(e) if retriable && e.will_retry(self.closed.get()) => {
                    let r = e.retry.as_mut().expect("will_retry checked it");
                    r.left -= 1;
                    (r.priority, r.timeout)
                }
                _ => return Some(job),
            }
        };
        let task = Task::new(tag, job, priority, timeout);
        let ctl = Arc::clone(&task.ctl);
        // Not bounded by maxQueue: the task was admitted once already.
        match self.exec.requeue(task) {
            Ok(()) => {
                self.exec.metrics().record_retry();
                match self.slab.borrow_mut().get(slot).map(|e| &mut e.waiting) {
                    Some(Waiting::One(c)) => *c = ctl,
                    Some(Waiting::Batch(b)) => {
                        if let Some(c) = b.ctls.get_mut(chunk) {
                            *c = ctl;
                        }
                    }
                    None => {}
                }
                None
            }
            Err(SubmitError::QueueFull(t) | SubmitError::Closed(t)) => Some(t.job),
        }
    }

    /// Settles the promise of slot `slot` if it is still pending; counts the outcome.
    fn settle(&self, env: Env, slot: u32, outcome: Outcome, value: JsResult<Value>) {
        let taken = {
            let mut slab = self.slab.borrow_mut();
            let Some(e) = slab.get(slot) else { return };
            let n = match &e.waiting {
                Waiting::One(_) => 1,
                Waiting::Batch(b) => b.inputs as u64,
            };
            e.deferred.take().map(|d| (d, n))
        };
        if let Some((d, n)) = taken {
            self.settle_deferred(env, d, n, outcome, value);
        }
    }

    fn settle_deferred(
        &self,
        env: Env,
        d: Deferred,
        n: u64,
        outcome: Outcome,
        value: JsResult<Value>,
    ) {
        let v = value.unwrap_or_else(|_| env.undefined());
        let _ = env.settle(d, outcome == Outcome::Fulfilled, v);
        self.exec.metrics().record_outcome(outcome, n.max(1));
        self.let_go(env);
    }

    /// Cancels every task of slot `slot` (used when a batch fails or is aborted).
    fn cancel_slot(&self, slot: u32) {
        let ctls: Vec<Arc<TaskCtl>> = match self.slab.borrow_mut().get(slot) {
            Some(Entry {
                waiting: Waiting::One(c),
                ..
            }) => vec![Arc::clone(c)],
            Some(Entry {
                waiting: Waiting::Batch(b),
                ..
            }) => b.ctls.clone(),
            None => return,
        };
        for c in &ctls {
            self.exec.cancel(c);
        }
    }

    fn kernel_of(&self, slot: u32) -> Option<Kernel> {
        self.slab.borrow_mut().get(slot).map(|e| e.kernel)
    }

    /// A task left the pool (ran, failed, or was skipped/handed back).
    fn finished(
        &self,
        env: Env,
        tag: u64,
        job: Job,
        result: Option<Result<JobOutput, executor::Panic>>,
    ) {
        let Some(job) = self.try_retry(tag, job, &result) else {
            return;
        };
        job.release(env);
        let (slot, chunk) = split(tag);
        let kernel = self.kernel_of(slot);
        let failure = |e: &KernelError| (Outcome::Failed, job::error(env, e));
        let panic = |p: &executor::Panic| {
            let k = kernel.map_or("?", Kernel::name);
            (
                Outcome::Failed,
                env.error(
                    ErrorClass::Error,
                    "ERR_POOL_KERNEL_PANIC",
                    &format!("Kernel '{k}' panicked: {}", p.0),
                ),
            )
        };
        let is_batch = matches!(
            self.slab.borrow_mut().get(slot),
            Some(Entry {
                waiting: Waiting::Batch(_),
                ..
            })
        );
        if !is_batch {
            let settled = match &result {
                Some(Ok(JobOutput::One(Ok(_)))) => None,
                // Stopped on its token while the promise is pending: the deadline's Expired event
                // was overtaken, or the pool is shutting down.
                Some(Ok(JobOutput::One(Err(e)))) if e.is_cancelled() => {
                    let ctl = match self.slab.borrow_mut().get(slot) {
                        Some(Entry {
                            waiting: Waiting::One(c),
                            ..
                        }) => Some(Arc::clone(c)),
                        _ => None,
                    };
                    Some(stopped(env, ctl.as_deref(), kernel))
                }
                Some(Ok(JobOutput::One(Err(e)))) => Some(failure(e)),
                Some(Err(p)) => Some(panic(p)),
                // Skipped or handed back by destroy: the promise was settled when it was cancelled.
                _ => Some((
                    Outcome::Cancelled,
                    pool_error(env, PoolError::Closed, kernel),
                )),
            };
            match (settled, result) {
                (None, Some(Ok(JobOutput::One(Ok(out))))) => {
                    let pending = self
                        .slab
                        .borrow_mut()
                        .get(slot)
                        .is_some_and(|e| e.deferred.is_some());
                    if pending {
                        self.settle(env, slot, Outcome::Fulfilled, job::to_js(env, out));
                    }
                }
                (Some((o, v)), _) => self.settle(env, slot, o, v),
                _ => {}
            }
            self.slab.borrow_mut().remove(slot);
            return;
        }
        // A chunk of a batch.
        let mut fail = None;
        let done = {
            let mut slab = self.slab.borrow_mut();
            let Some(e) = slab.get(slot) else { return };
            let pending = e.deferred.is_some();
            let Waiting::Batch(b) = &mut e.waiting else {
                return;
            };
            b.left -= 1;
            if pending {
                match result {
                    Some(Ok(JobOutput::Many(Ok(outs)))) => b.parts[chunk] = Some(outs),
                    Some(Ok(JobOutput::Many(Err((_, e))))) if !e.is_cancelled() => {
                        fail = Some(failure(&e))
                    }
                    Some(Err(p)) => fail = Some(panic(&p)),
                    // Stopped on its token (see the single-task case above).
                    _ => fail = Some(stopped(env, b.ctls.get(chunk).map(|c| &**c), kernel)),
                }
            }
            b.left == 0
        };
        if let Some((o, v)) = fail {
            self.settle(env, slot, o, v);
            self.cancel_slot(slot);
        }
        if done {
            let entry = self.slab.borrow_mut().remove(slot);
            if let Some(Entry {
                deferred: Some(d),
                waiting: Waiting::Batch(b),
                ..
            }) = entry
            {
                let n = b.inputs as u64;
                let v = batch_array(env, *b);
                let outcome = if v.is_ok() {
                    Outcome::Fulfilled
                } else {
                    Outcome::Failed
                };
                self.settle_deferred(env, d, n, outcome, v);
            }
        }
    }

    fn expired(&self, env: Env, tag: u64, ctl: &Arc<TaskCtl>) {
        let (slot, _) = split(tag);
        // The task's Finished may have overtaken this event and freed (or reused) the slot.
        let same_task = match self.slab.borrow_mut().get(slot) {
            Some(Entry {
                waiting: Waiting::One(c),
                ..
            }) => Arc::ptr_eq(c, ctl),
            Some(Entry {
                waiting: Waiting::Batch(b),
                ..
            }) => b.ctls.iter().any(|c| Arc::ptr_eq(c, ctl)),
            None => false,
        };
        if !same_task {
            return;
        }
        let retrying = self
            .slab
            .borrow_mut()
            .get(slot)
            .is_some_and(|e| e.will_retry(self.closed.get()));
        if retrying {
            return; // run again when the kernel stops (see `try_retry`)
        }
        let kernel = self.kernel_of(slot);
        self.settle(
            env,
            slot,
            Outcome::TimedOut,
            pool_error(env, PoolError::Timeout, kernel),
        );
        self.cancel_slot(slot);
    }

    fn all_exited(&self, env: Env) {
        if self.exited.replace(true) {
            return;
        }
        self.exec.join_exited();
        for d in self.close_waiters.borrow_mut().drain(..) {
            let _ = env.settle(d, true, env.undefined());
            self.let_go(env);
        }
        self.release_tsfn();
    }

    fn release_tsfn(&self) {
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
                // Threads also exit when they retire; the pool is done once it is closed and
                // none is left (then none can start again).
                Event::Exited { .. } => {
                    if self.exec.is_closed() && self.exec.live_threads() == 0 {
                        self.all_exited(env);
                    }
                }
                Event::Fault(message) => {
                    if let Ok(e) = env.error(ErrorClass::Error, "ERR_POOL_THREAD_SPAWN", &message) {
                        self.emit_to(env, notify, EVENT_ERROR, e);
                    }
                }
            }
            if i % 64 == 63 && start.elapsed() >= DRAIN_TIME {
                break;
            }
        }
        let more = !self.backlog.borrow().is_empty();
        if !more && self.drain_armed.get() && self.slab.borrow().len() == 0 {
            self.drain_armed.set(false);
            self.emit_to(env, notify, EVENT_DRAIN, env.undefined());
        }
        more
    }
}

/// The rejection for a pending task whose kernel stopped on its token: a timeout if its deadline
/// expired, else the pool is shutting down.
fn stopped(env: Env, ctl: Option<&TaskCtl>, kernel: Option<Kernel>) -> (Outcome, JsResult<Value>) {
    if ctl.is_some_and(|c| c.state() == TaskState::TimedOut) {
        (
            Outcome::TimedOut,
            pool_error(env, PoolError::Timeout, kernel),
        )
    } else {
        (
            Outcome::Cancelled,
            pool_error(env, PoolError::Closed, kernel),
        )
    }
}

/// Concatenates a batch's chunk outputs: one `Float64Array` when every output is a number
/// (`index.js` turns it into an Array), else one Array.
fn batch_array(env: Env, b: Batch) -> JsResult<Value> {
    let parts: Vec<Outputs> = b.parts.into_iter().flatten().collect();
    if parts.iter().all(|p| matches!(p, Outputs::Numbers(_))) {
        let slices = parts.iter().filter_map(|p| match p {
            Outputs::Numbers(v) => Some(v.as_slice()),
            Outputs::Values(_) => None,
        });
        return env.float64_array(b.inputs, slices);
    }
    // Start empty and append: V8 gives `new Array(n)` slow dictionary elements for large n.
    let arr = env.array(0)?;
    let mut i = 0u32;
    let mut put = |v: Value| {
        let r = env.set_element(arr, i, v);
        i += 1;
        r
    };
    for part in parts {
        match part {
            Outputs::Numbers(v) => v.into_iter().try_for_each(|n| put(env.number(n)?))?,
            Outputs::Values(v) => v.into_iter().try_for_each(|o| put(job::to_js(env, o)?))?,
        }
    }
    Ok(arr)
}

// ---------------------------------------------------------------------------------------------
// Node-API callbacks

unsafe extern "C" fn call_js(
    env: sys::napi_env,
    _cb: Value,
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

unsafe extern "C" fn tsfn_finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the `Rc<Core>` leaked in `create` for the threadsafe function; Node
    // calls this once, on the JS thread.
    let core = unsafe { Rc::from_raw(data as *const Core) };
    core.gate.close();
    core.tsfn.set(ptr::null_mut());
}

unsafe extern "C" fn handle_finalize(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the `Rc<Core>` leaked in `create` for the handle; called once.
    let core = unsafe { Rc::from_raw(data as *const Core) };
    // SAFETY: finalizers run on the JS thread with the env that owns the handle.
    let env = unsafe { Env::from_raw(env) };
    if !core.torn_down.get() {
        // SAFETY: removes the hook added in `create` with the same function and argument.
        unsafe {
            sys::napi_remove_env_cleanup_hook(
                env.raw(),
                Some(env_teardown),
                Rc::as_ptr(&core) as *mut c_void,
            )
        };
    }
    // Collected while idle and unclosed: stop the threads (they exit on their own).
    for t in core.exec.destroy() {
        t.job.release(env);
    }
    core.closed.set(true);
    if let Some(r) = core.handle_ref.borrow_mut().take() {
        env.delete_ref(r);
    }
    core.release_tsfn();
}

/// Runs when the environment (the main thread at exit, or a Worker) is torn down: after this no
/// worker may touch the threadsafe function or JS memory.
unsafe extern "C" fn env_teardown(arg: *mut c_void) {
    // SAFETY: `arg` is `Rc::as_ptr` of a Core kept alive by the handle's Rc: the handle's
    // finalizer removes this hook before dropping it, unless this hook ran first.
    let core = unsafe { &*(arg as *const Core) };
    core.torn_down.set(true);
    core.closed.set(true);
    core.gate.close();
    // Jobs handed back hold references we cannot release now; the environment frees them.
    std::mem::forget(core.exec.destroy());
    // Kernels reading JS memory in place see the cancellation within milliseconds; wait for
    // them so V8 does not free that memory under them. Never wait on other kernels.
    let until = Instant::now() + TEARDOWN_WAIT;
    while core.readers.active() > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_micros(200));
    }
}

// ---------------------------------------------------------------------------------------------
// Entry points (registered in `mod.rs`)

/// Pool options, validated in JS (numbers; Infinity or negative where "none" is allowed).
pub(super) struct Options {
    pub min_threads: f64,
    pub max_threads: f64,
    pub max_queue: f64,
    pub timeout_ms: f64,
    pub idle_timeout_ms: f64,
    pub retries: f64,
    pub max_input: f64,
    /// `(kind, arg) => …`, or not a function for none.
    pub notify: Value,
    /// Added to each pool thread's nice value (0 for none; Linux only).
    pub nice: f64,
    /// The threadsafe function's async resource: an object whose `hasRef()` says whether the
    /// pool keeps the process alive (async_hooks users such as `jest --detectOpenHandles` ask
    /// it), or not an object for Node's default.
    pub resource: Value,
}

/// A thread-start hook that raises the thread's nice value by `inc` (1..=19; index.js checks),
/// so that under CPU contention the event loop thread wins over pool threads. Linux only: there
/// `setpriority(PRIO_PROCESS, 0, …)` applies to the calling thread, elsewhere to the process.
#[cfg(target_os = "linux")]
fn nice_hook(inc: f64) -> Option<executor::ThreadStart> {
    if inc.is_nan() || inc < 1.0 {
        return None;
    }
    // The target is fixed here, on the creating (JS) thread: a thread started later may be
    // started by a pool thread whose nice value is already raised, and must not add to it.
    // SAFETY: a plain syscall on the calling thread with no pointers involved; for `who == 0`
    // it cannot fail.
    let base = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    let target = (base + inc.min(19.0) as i32).min(19);
    Some(Arc::new(move || {
        // SAFETY: as above. A failing setpriority leaves the nice value as it was, which is
        // harmless (it is only a scheduling hint).
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS, 0, target);
        }
    }))
}

#[cfg(not(target_os = "linux"))]
fn nice_hook(_inc: f64) -> Option<executor::ThreadStart> {
    None
}

/// What `new WorkerPool()` and `resize()` throw when the OS refuses a thread.
fn spawn_error(env: Env, e: &std::io::Error) -> JsResult<Value> {
    env.error(
        ErrorClass::Error,
        "ERR_POOL_THREAD_SPAWN",
        &format!("Could not start pool threads: {e}"),
    )
}

/// The most threads a pool may have (index.js validates against the same bound).
const MAX_THREADS: usize = 1024;

/// A count from JS: `usize::MAX` for Infinity/negative/NaN.
fn count(n: f64) -> usize {
    if n.is_finite() && n >= 0.0 {
        n as usize
    } else {
        usize::MAX
    }
}

/// `createPool(minThreads, maxThreads, maxQueue, timeoutMs, idleTimeoutMs, retries,
/// maxInputBytes, notify, resource) → handle`.
pub(super) fn create(env: Env, o: Options) -> JsResult<Value> {
    let gate = Arc::new(Gate::default());
    let g = Arc::clone(&gate);
    let max_threads = if o.max_threads >= 1.0 {
        count(o.max_threads).min(MAX_THREADS)
    } else {
        executor::default_threads()
    };
    let config = Config {
        min_threads: (count(o.min_threads)).min(max_threads),
        max_threads,
        idle_timeout: limit(o.idle_timeout_ms),
        max_queue: count(o.max_queue),
        on_thread_start: nice_hook(o.nice),
        ..Config::default()
    };
    let notify = if env.type_of(o.notify)? == sys::ValueType::napi_function {
        Some(env.create_ref(o.notify, 0)?)
    } else {
        None
    };
    let exec = match Executor::new(config, move || g.signal()) {
        Ok(e) => e,
        Err(e) => {
            let err = spawn_error(env, &e)?;
            env.throw(err);
            return Err(super::js::Fail(sys::Status::napi_pending_exception));
        }
    };
    let core = Rc::new(Core {
        exec,
        gate,
        readers: Arc::default(),
        tsfn: Cell::new(ptr::null_mut()),
        slab: RefCell::default(),
        backlog: RefCell::default(),
        scratch: RefCell::default(),
        inflight: Cell::new(0),
        handle_ref: RefCell::new(None),
        closed: Cell::new(false),
        exited: Cell::new(false),
        torn_down: Cell::new(false),
        close_waiters: RefCell::default(),
        default_timeout: limit(o.timeout_ms),
        default_retries: if o.retries >= 0.0 {
            o.retries.min(u32::MAX as f64) as u32
        } else {
            0
        },
        max_input: count(o.max_input),
        notify,
        watch: Cell::new(0),
        drain_armed: Cell::new(false),
        last_tag: Cell::new(-1.0),
        generation: Cell::new(0),
    });
    let name = env.string("pool")?;
    let resource = if env.type_of(o.resource)? == sys::ValueType::napi_object {
        o.resource
    } else {
        ptr::null_mut()
    };
    let mut tsfn = ptr::null_mut();
    let ctx = Rc::into_raw(Rc::clone(&core)) as *mut c_void;
    // SAFETY: JS thread, live env. No JS function: `call_js` does the work. `ctx` is an owned
    // `Rc<Core>` that `tsfn_finalize` takes back.
    let status = unsafe {
        sys::napi_create_threadsafe_function(
            env.raw(),
            ptr::null_mut(),
            resource,
            name,
            0,
            1,
            ctx,
            Some(tsfn_finalize),
            ctx,
            Some(call_js),
            &mut tsfn,
        )
    };
    if status != sys::Status::napi_ok {
        // SAFETY: creation failed, so the Rc we leaked for it is still ours.
        drop(unsafe { Rc::from_raw(ctx as *const Core) });
        return Err(super::js::Fail(status));
    }
    // SAFETY: JS thread; a fresh function. Unref'd: an idle pool never keeps the process alive.
    unsafe { sys::napi_unref_threadsafe_function(env.raw(), tsfn) };
    core.tsfn.set(tsfn);
    *core.gate.0.write() = Some(Tsfn(tsfn));
    // SAFETY: adds a hook whose argument stays valid until it is removed (see `env_teardown`).
    unsafe {
        sys::napi_add_env_cleanup_hook(
            env.raw(),
            Some(env_teardown),
            Rc::as_ptr(&core) as *mut c_void,
        )
    };
    let handle = env.external(
        Rc::into_raw(Rc::clone(&core)) as *mut c_void,
        handle_finalize,
    )?;
    *core.handle_ref.borrow_mut() = Some(env.create_ref(handle, 0)?);
    Ok(handle)
}

pub(super) fn core_of(env: Env, v: Value) -> Option<&'static Core> {
    let p = env.external_data(v)?;
    // SAFETY: only our tagged externals pass `external_data`, and their data is an
    // `Rc<Core>` alive at least as long as the handle, which the caller's argument keeps
    // reachable for the duration of this call. The `'static` never escapes the call.
    Some(unsafe { &*(p as *const Core) })
}

impl Core {
    fn reject_now(&self, env: Env, e: JsResult<Value>) -> Value {
        self.exec.metrics().record_outcome(Outcome::Failed, 1);
        env.rejected(e.unwrap_or_else(|_| env.undefined()))
    }

    fn reject_closed(&self, env: Env) -> Value {
        self.exec.metrics().record_outcome(Outcome::Cancelled, 1);
        env.rejected(pool_error(env, PoolError::Closed, None).unwrap_or_else(|_| env.undefined()))
    }

    /// The checks every submission starts with: a known kernel id and an open pool. `Err` holds
    /// the already-rejected promise to return.
    fn admit(&self, env: Env, kernel: f64) -> Result<Kernel, Value> {
        self.last_tag.set(-1.0);
        let Some(kernel) = kernel_by_id(kernel) else {
            return Err(self.reject_now(env, pool_error(env, PoolError::UnknownKernel, None)));
        };
        if self.closed.get() {
            return Err(self.reject_closed(env));
        }
        Ok(kernel)
    }

    /// `run(handle, kernelId, input, priority, timeoutMs, retries) → Promise`.
    pub fn run(
        &self,
        env: Env,
        kernel: f64,
        input: Value,
        priority: f64,
        timeout_ms: f64,
        retries: f64,
    ) -> Value {
        let kernel = match self.admit(env, kernel) {
            Ok(k) => k,
            Err(rejected) => return rejected,
        };
        let owned = match job::to_input(env, kernel, input, self.max_input) {
            Ok(o) => o,
            // A getter of an object input threw: reject with what it threw.
            Err(e) => match env.take_exception() {
                Some(thrown) => return self.reject_now(env, Ok(thrown)),
                None => return self.reject_now(env, job::error(env, &e)),
            },
        };
        let Ok((deferred, promise)) = env.promise() else {
            return ptr::null_mut();
        };
        let job = Job::new(kernel, Payload::One(owned), &self.readers);
        let priority = if priority.is_finite() { priority } else { 0.0 };
        let timeout = self.timeout(timeout_ms);
        let mut task = Task::new(0, job, priority, timeout);
        let slot = self.slab.borrow_mut().insert(Entry {
            deferred: Some(deferred),
            retry: self.retry(retries, priority, timeout),
            generation: self.next_generation(),
            waiting: Waiting::One(Arc::clone(&task.ctl)),
            kernel,
        });
        task.tag = slot as u64;
        self.submit(env, slot, task);
        promise
    }

    fn submit(&self, env: Env, slot: u32, task: Task<Job>) {
        self.keep_alive(env);
        self.drain_armed.set(true);
        match self.exec.submit(task) {
            Ok(()) => self.set_last(slot),
            Err(SubmitError::QueueFull(t)) => {
                t.job.release(env);
                let kernel = self.kernel_of(slot);
                self.settle(
                    env,
                    slot,
                    Outcome::Failed,
                    pool_error(env, PoolError::QueueFull, kernel),
                );
                self.slab.borrow_mut().remove(slot);
                self.queue_full(env, kernel);
            }
            Err(SubmitError::Closed(t)) => {
                t.job.release(env);
                self.settle(
                    env,
                    slot,
                    Outcome::Cancelled,
                    pool_error(env, PoolError::Closed, None),
                );
                self.slab.borrow_mut().remove(slot);
            }
        }
    }

    fn queue_full(&self, env: Env, kernel: Option<Kernel>) {
        if self.watch.get() & EVENT_QUEUE_FULL != 0 {
            let name = env.string(kernel.map_or("?", Kernel::name));
            self.emit(
                env,
                EVENT_QUEUE_FULL,
                name.unwrap_or_else(|_| env.undefined()),
            );
        }
    }

    /// `runBatch(handle, kernelId, inputs, priority, timeoutMs, retries) → Promise<Array>`.
    pub fn run_batch(
        &self,
        env: Env,
        kernel: f64,
        inputs: Value,
        priority: f64,
        timeout_ms: f64,
        retries: f64,
    ) -> Value {
        let kernel = match self.admit(env, kernel) {
            Ok(k) => k,
            Err(rejected) => return rejected,
        };
        if let Ok(Some(nums)) = env.float64_elements(inputs) {
            return self.run_numbers(env, kernel, nums, priority, timeout_ms, retries);
        }
        let len = match env.is_array(inputs) {
            Ok(true) => env.array_len(inputs).unwrap_or(0) as usize,
            _ => {
                let e = KernelError::invalid_type("The \"inputs\" argument must be an Array");
                return self.reject_now(env, job::error(env, &e));
            }
        };
        // Inputs go straight into their chunk.
        let per = self.chunk_len(len);
        let mut parts: Vec<Vec<job::Owned>> = Vec::with_capacity(len.div_ceil(per));
        for i in 0..len {
            let v = match env.get_element(inputs, i as u32) {
                Ok(v) => v,
                Err(_) => return ptr::null_mut(), // a getter threw: propagate
            };
            match job::to_input(env, kernel, v, self.max_input) {
                Ok(o) => {
                    if i % per == 0 {
                        parts.push(Vec::with_capacity(per.min(len - i)));
                    }
                    if let Some(part) = parts.last_mut() {
                        part.push(o);
                    }
                }
                Err(mut e) => {
                    for part in parts {
                        Job::new(kernel, Payload::Many(part), &self.readers).release(env);
                    }
                    if let Some(thrown) = env.take_exception() {
                        return self.reject_now(env, Ok(thrown));
                    }
                    e.message = format!("inputs[{i}]: {}", e.message);
                    return self.reject_now(env, job::error(env, &e));
                }
            }
        }
        let parts = parts.into_iter().map(Payload::Many).collect();
        self.submit_batch(env, kernel, parts, len, priority, timeout_ms, retries)
    }

    /// Inputs per chunk for a batch of `len`: enough chunks to keep every thread busy and
    /// balance uneven inputs (8 per thread), few enough that per-chunk costs vanish next to the
    /// per-input work.
    fn chunk_len(&self, len: usize) -> usize {
        len.div_ceil(len.clamp(1, self.exec.max_threads().saturating_mul(8)))
            .max(1)
    }

    /// A batch of plain numbers, handed over by `index.js` as one `Float64Array`.
    fn run_numbers(
        &self,
        env: Env,
        kernel: Kernel,
        nums: &[f64],
        priority: f64,
        timeout_ms: f64,
        retries: f64,
    ) -> Value {
        for (i, &n) in nums.iter().enumerate() {
            if let Err(mut e) = kernels::prepare(kernel, &Input::Number(n)) {
                e.message = format!("inputs[{i}]: {}", e.message);
                return self.reject_now(env, job::error(env, &e));
            }
        }
        let per = self.chunk_len(nums.len());
        let parts = nums
            .chunks(per)
            .map(|c| Payload::Numbers(c.to_vec()))
            .collect();
        self.submit_batch(
            env,
            kernel,
            parts,
            nums.len(),
            priority,
            timeout_ms,
            retries,
        )
    }

    /// Queues a batch's chunks under one promise.
    #[allow(clippy::too_many_arguments)]
    fn submit_batch(
        &self,
        env: Env,
        kernel: Kernel,
        parts: Vec<Payload>,
        len: usize,
        priority: f64,
        timeout_ms: f64,
        retries: f64,
    ) -> Value {
        let Ok((deferred, promise)) = env.promise() else {
            return ptr::null_mut();
        };
        if len == 0 {
            let _ = env.array(0).and_then(|a| env.settle(deferred, true, a));
            return promise;
        }
        let priority = if priority.is_finite() { priority } else { 0.0 };
        let timeout = self.timeout(timeout_ms);
        let tasks: Vec<Task<Job>> = parts
            .into_iter()
            .map(|p| Task::new(0, Job::new(kernel, p, &self.readers), priority, timeout))
            .collect();
        let batch = Batch {
            ctls: tasks.iter().map(|t| Arc::clone(&t.ctl)).collect(),
            parts: (0..tasks.len()).map(|_| None).collect(),
            left: tasks.len(),
            inputs: len,
        };
        let slot = self.slab.borrow_mut().insert(Entry {
            deferred: Some(deferred),
            retry: self.retry(retries, priority, timeout),
            generation: self.next_generation(),
            waiting: Waiting::Batch(Box::new(batch)),
            kernel,
        });
        self.keep_alive(env);
        self.drain_armed.set(true);
        let mut refused = false;
        for (chunk, mut task) in tasks.into_iter().enumerate() {
            task.tag = slot as u64 | (chunk as u64) << 32;
            if refused {
                self.finished(env, task.tag, task.job, None);
                continue;
            }
            if let Err(SubmitError::QueueFull(t) | SubmitError::Closed(t)) = self.exec.submit(task)
            {
                refused = true;
                self.settle(
                    env,
                    slot,
                    Outcome::Failed,
                    pool_error(env, PoolError::QueueFull, Some(kernel)),
                );
                self.cancel_slot(slot);
                self.finished(env, t.tag, t.job, None);
            }
        }
        if !refused {
            self.set_last(slot);
        } else {
            self.queue_full(env, Some(kernel));
        }
        promise
    }

    /// `cancel(handle, tag, error)`: rejects the task's promise with `error` (an AbortError
    /// made in JS) and stops its work.
    pub fn cancel(&self, env: Env, tag: f64, error: Value) {
        if tag.is_nan() || tag < 0.0 {
            return;
        }
        let (slot, generation) = ((tag % TAG_SLOTS) as u32, (tag / TAG_SLOTS) as u32);
        let pending = self
            .slab
            .borrow_mut()
            .get(slot)
            .is_some_and(|e| e.generation == generation && e.deferred.is_some());
        if pending {
            self.settle(env, slot, Outcome::Cancelled, Ok(error));
            self.cancel_slot(slot);
        }
    }

    /// The JS-side handle of the task just submitted, for `cancel`: slot and generation in one
    /// exact double, so a late abort cannot hit a later task that reused the slot.
    pub fn last_tag(&self) -> f64 {
        self.last_tag.get()
    }

    fn set_last(&self, slot: u32) {
        let generation = self.slab.borrow_mut().get(slot).map_or(0, |e| e.generation);
        self.last_tag
            .set(generation as f64 * TAG_SLOTS + slot as f64);
    }

    fn next_generation(&self) -> u32 {
        let g = self.generation.get();
        self.generation.set((g + 1) & GENERATION_MASK);
        g
    }

    fn wait_exit(&self, env: Env) -> Value {
        let Ok((d, p)) = env.promise() else {
            return ptr::null_mut();
        };
        if self.exited.get() || self.torn_down.get() {
            let _ = env.settle(d, true, env.undefined());
        } else {
            self.keep_alive(env);
            self.close_waiters.borrow_mut().push(d);
        }
        p
    }

    /// `close(handle) → Promise<void>`: queued and running tasks finish, then threads exit.
    pub fn close(&self, env: Env) -> Value {
        self.closed.set(true);
        self.exec.close();
        self.wait_exit(env)
    }

    /// `destroy(handle) → Promise<void>`: queued tasks are rejected, running ones stopped.
    pub fn destroy(&self, env: Env) -> Value {
        self.closed.set(true);
        for t in self.exec.destroy() {
            let (slot, _) = split(t.tag);
            self.settle(
                env,
                slot,
                Outcome::Cancelled,
                pool_error(env, PoolError::Closed, None),
            );
            self.finished(env, t.tag, t.job, None);
        }
        let pending: Vec<u32> = {
            let slab = self.slab.borrow();
            slab.entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.as_ref().is_some_and(|e| e.deferred.is_some()))
                .map(|(i, _)| i as u32)
                .collect()
        };
        for slot in pending {
            self.settle(
                env,
                slot,
                Outcome::Cancelled,
                pool_error(env, PoolError::Closed, None),
            );
        }
        self.wait_exit(env)
    }

    pub fn stats(&self, env: Env) -> JsResult<Value> {
        let s = self.exec.metrics().snapshot();
        let o = env.object()?;
        let num = |o: Value, k: &std::ffi::CStr, v: f64| env.set(o, k, env.number(v)?);
        num(o, c"threads", self.exec.threads() as f64)?;
        num(o, c"minThreads", self.exec.min_threads() as f64)?;
        num(o, c"maxThreads", self.exec.max_threads() as f64)?;
        num(o, c"queueSize", self.exec.queued() as f64)?;
        num(o, c"running", self.exec.running() as f64)?;
        num(o, c"completed", s.completed as f64)?;
        num(o, c"failed", s.failed as f64)?;
        num(o, c"cancelled", s.cancelled as f64)?;
        num(o, c"timedOut", s.timed_out as f64)?;
        num(o, c"retried", s.retried as f64)?;
        num(o, c"utilization", s.utilization)?;
        env.set(o, c"closed", env.boolean(self.closed.get())?)?;
        for (key, h) in [(c"runTime", &s.run_time), (c"waitTime", &s.wait_time)] {
            let ho = env.object()?;
            num(ho, c"count", h.count as f64)?;
            num(ho, c"mean", h.mean)?;
            num(ho, c"p50", h.p50)?;
            num(ho, c"p90", h.p90)?;
            num(ho, c"p99", h.p99)?;
            num(ho, c"max", h.max)?;
            env.set(o, key, ho)?;
        }
        let per = env.array(0)?;
        for (i, t) in s.threads.iter().enumerate() {
            let to = env.object()?;
            num(to, c"thread", t.index as f64)?;
            env.set(to, c"alive", env.boolean(t.alive)?)?;
            num(to, c"tasks", t.tasks as f64)?;
            num(to, c"errors", t.errors as f64)?;
            num(to, c"busyMs", t.busy_ms)?;
            num(to, c"avgRunMs", t.avg_run_ms)?;
            let last = match t.last_active {
                Some(ms) => env.number(ms)?,
                None => env.null()?,
            };
            env.set(to, c"lastActive", last)?;
            env.set_element(per, i as u32, to)?;
        }
        env.set(o, c"perThread", per)?;
        Ok(o)
    }

    /// `resetStats(handle)`: zeroes counters and histograms.
    pub fn reset_stats(&self) {
        self.exec.metrics().reset();
    }

    /// `watch(handle, bits)`: which events `index.js` has listeners for.
    pub fn set_watch(&self, bits: f64) {
        self.watch.set(if bits >= 0.0 { bits as u32 } else { 0 });
    }

    /// `resize(handle, minThreads, maxThreads)` (validated in JS). Throws if a thread could not
    /// be started.
    pub fn resize(&self, env: Env, min: f64, max: f64) -> Value {
        let max = count(max).clamp(1, MAX_THREADS);
        let min = count(min).min(max);
        match self.exec.resize(min, max) {
            Ok(()) => env.undefined(),
            Err(e) => match spawn_error(env, &e) {
                Ok(err) => env.throw(err),
                Err(_) => ptr::null_mut(),
            },
        }
    }

    /// One scalar property: 0 threads, 1 queueSize, 2 running, 3 completed, 4 utilization,
    /// 5 closed, 6 minThreads, 7 maxThreads, 8 whether the pool keeps the process alive.
    pub fn info(&self, which: f64) -> f64 {
        match which as u32 {
            0 => self.exec.threads() as f64,
            1 => self.exec.queued() as f64,
            2 => self.exec.running() as f64,
            3 => self.exec.metrics().completed() as f64,
            4 => self.exec.metrics().utilization(),
            5 => self.closed.get() as u8 as f64,
            6 => self.exec.min_threads() as f64,
            7 => self.exec.max_threads() as f64,
            8 => (self.inflight.get() > 0 && !self.tsfn.get().is_null()) as u8 as f64,
            _ => f64::NAN,
        }
    }
}

/// A time limit of `ms` milliseconds; `None` (no limit) for a negative value (JS passes -1 for
/// none), NaN, Infinity or a value too large for a `Duration` (beyond ~584 billion years).
fn limit(ms: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(ms / 1000.0).ok()
}

fn kernel_by_id(id: f64) -> Option<Kernel> {
    if id >= 0.0 && id.fract() == 0.0 {
        Kernel::ALL.get(id as usize).copied()
    } else {
        None
    }
}
