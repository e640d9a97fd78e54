//! Making a pool, and what ends it: the handle's finalizer and the environment's teardown.

use super::core::{limit, Core, Defaults};
use super::drain::{call_js, tsfn_finalize};
use super::gate::Gate;
use super::js::{Env, ErrorClass, Fail, JsResult, Value};
use crate::executor::{self, Config, Executor};
use crate::kernels::PoolParams;
use crate::pending::Lifecycle;
use napi::sys;
use napi_derive::napi;
use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The most threads a pool may have (`index.js` validates against it).
#[napi]
pub const MAX_THREADS: u32 = 1024;

/// How long environment teardown waits for kernels reading JS memory in place to notice the
/// cancellation (they poll at least every few milliseconds).
const TEARDOWN_WAIT: Duration = Duration::from_secs(2);

/// `createPool`'s options, validated by `index.js`. An absent bound is no bound.
#[napi(object)]
pub struct PoolOptions {
    pub min_threads: u32,
    /// At least 1.
    pub max_threads: u32,
    /// Tasks allowed to wait for a thread.
    pub max_queue: Option<f64>,
    /// Default run-time limit of a task, in milliseconds.
    pub timeout: Option<f64>,
    /// How long a thread above `minThreads` stays idle before it exits, in milliseconds.
    pub idle_timeout: Option<f64>,
    /// Default retries of a task that timed out or panicked.
    pub retries: u32,
    /// The most bytes of data one input may carry.
    pub max_input_bytes: Option<f64>,
    /// Added to each pool thread's nice value (0 for none; Linux only).
    pub nice_increment: u32,
    /// Whether queued tasks of batchable kernels (bcrypt) run together.
    pub batching: bool,
    /// The images' default `limitInputPixels` (0 for none); absent: sharp's default.
    pub limit_input_pixels: Option<f64>,
}

/// A count from JS: `usize::MAX` for absent, Infinity or NaN.
fn count(n: Option<f64>) -> usize {
    match n {
        Some(n) if n.is_finite() && n >= 0.0 => n as usize,
        _ => usize::MAX,
    }
}

/// The kernel params the options set for every task.
fn pool_params(o: &PoolOptions) -> PoolParams {
    let mut p = PoolParams::default();
    match o.limit_input_pixels {
        Some(n) if n >= 1.0 => p.limit_input_pixels = n as u64,
        Some(_) => p.limit_input_pixels = u64::MAX,
        None => {}
    }
    p
}

/// A thread-start hook that raises the thread's nice value by `inc` (1..=19; index.js checks),
/// so that under CPU contention the event loop thread wins over pool threads. Linux only: there
/// `setpriority(PRIO_PROCESS, 0, …)` applies to the calling thread, elsewhere to the process.
#[cfg(target_os = "linux")]
fn nice_hook(inc: u32) -> Option<executor::ThreadStart> {
    if inc == 0 {
        return None;
    }
    // The target is fixed here, on the creating (JS) thread: a thread started later may be
    // started by a pool thread whose nice value is already raised, and must not add to it.
    // SAFETY: plain syscalls on the calling thread with no pointers involved. For `who == 0`
    // getpriority cannot fail; a failing setpriority leaves the nice value as it was, which is
    // harmless (it is only a scheduling hint).
    let base = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    let target = (base + inc.min(19) as i32).min(19);
    Some(Arc::new(move || {
        // SAFETY: as above.
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS, 0, target);
        }
    }))
}

#[cfg(not(target_os = "linux"))]
fn nice_hook(_inc: u32) -> Option<executor::ThreadStart> {
    None
}

/// What `new WorkerPool()` and `resize()` throw when the OS refuses a thread.
pub(super) fn spawn_error(env: Env, e: &std::io::Error) -> JsResult<Value> {
    env.error(
        ErrorClass::Error,
        "ERR_POOL_THREAD_SPAWN",
        &format!("Could not start pool threads: {e}"),
    )
}

/// A new pool's handle. `notify` is `index.js`'s event callback (or not a function for none);
/// `resource` the threadsafe function's async resource, whose `hasRef()` says whether the pool
/// keeps the process alive (what `jest --detectOpenHandles` asks), or not an object for
/// Node's default.
pub(super) fn create(env: Env, o: &PoolOptions, notify: Value, resource: Value) -> JsResult<Value> {
    let gate = Arc::new(Gate::default());
    let g = Arc::clone(&gate);
    let max_threads = (o.max_threads.clamp(1, MAX_THREADS)) as usize;
    let config = Config {
        min_threads: (o.min_threads as usize).min(max_threads),
        max_threads,
        idle_timeout: o.idle_timeout.and_then(limit),
        max_queue: count(o.max_queue),
        on_thread_start: nice_hook(o.nice_increment),
        batching: o.batching,
        ..Config::default()
    };
    let notify = if env.type_of(notify)? == sys::ValueType::napi_function {
        Some(env.create_ref(notify, 0)?)
    } else {
        None
    };
    let exec = match Executor::new(config, move || g.signal()) {
        Ok(e) => e,
        Err(e) => {
            let err = spawn_error(env, &e)?;
            env.throw(err);
            return Err(Fail(sys::Status::napi_pending_exception));
        }
    };
    let core = Rc::new(Core {
        exec,
        gate,
        readers: Arc::default(),
        tsfn: Cell::new(ptr::null_mut()),
        pending: RefCell::default(),
        backlog: RefCell::default(),
        scratch: RefCell::default(),
        inflight: Cell::new(0),
        handle_ref: RefCell::new(None),
        lifecycle: Cell::new(Lifecycle::Open),
        close_waiters: RefCell::default(),
        defaults: Defaults {
            timeout: o.timeout.and_then(limit),
            retries: o.retries,
            max_input: count(o.max_input_bytes),
            params: pool_params(o),
        },
        notify,
        watch: Cell::new(0),
        drain_armed: Cell::new(false),
    });
    let name = env.string("pool")?;
    let resource = if env.type_of(resource)? == sys::ValueType::napi_object {
        resource
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
        return Err(Fail(status));
    }
    // SAFETY: JS thread; a fresh function. Unref'd: an idle pool never keeps the process alive.
    unsafe { sys::napi_unref_threadsafe_function(env.raw(), tsfn) };
    core.tsfn.set(tsfn);
    core.gate.open(tsfn);
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

/// The `Core` behind a pool handle, or `None` for any other value.
pub(super) fn core_of(env: Env, v: Value) -> Option<&'static Core> {
    let p = env.external_data(v)?;
    // SAFETY: only our tagged externals pass `external_data`, and their data is an
    // `Rc<Core>` alive at least as long as the handle, which the caller's argument keeps
    // reachable for the duration of this call. The `'static` never escapes the call.
    Some(unsafe { &*(p as *const Core) })
}

unsafe extern "C" fn handle_finalize(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the `Rc<Core>` leaked in `create` for the handle; called once.
    let core = unsafe { Rc::from_raw(data as *const Core) };
    // SAFETY: finalizers run on the JS thread with the env that owns the handle.
    let env = unsafe { Env::from_raw(env) };
    if core.lifecycle.get() != Lifecycle::TornDown {
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
    core.shut();
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
    let mut l = core.lifecycle.get();
    l.tear_down();
    core.lifecycle.set(l);
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
