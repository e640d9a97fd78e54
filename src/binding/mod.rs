//! The only module that touches Node-API, and the only one with `unsafe`.
//!
//! Exports (typed in `lib/internal/native.d.ts` and the generated `binding.d.ts`):
//! - `run`, `runBatch`, `cancel`: the per-task entry points, registered as plain
//!   `napi_create_function` callbacks (see `bench/entry-cost.js`: a `#[napi]` function pays
//!   for napi-derive's argument handling on every call, a large share of the per-task budget);
//! - everything else as `#[napi]` functions, constants and enums: `createPool` (one
//!   [`PoolOptions`] object), `close`, `destroy`, `stats`, `resize`, `resetStats`, `watch`, the
//!   state getters, `kernelNames`, `defaultThreads`, `parserConstants`, `MAX_THREADS` and
//!   `EventBit`.
//!
//! Each takes the pool handle (a tagged external) first; `index.js` wraps them in the public
//! `WorkerPool`.

mod convert;
mod core;
mod create;
mod drain;
mod gate;
mod job;
mod js;
mod stats;

use self::core::Schedule;
use crate::kernels::{csv, json, KernelId};
use create::{core_of, spawn_error, PoolOptions, MAX_THREADS};
use js::{ErrorClass, JsResult, Value};
use napi::bindgen_prelude::{JsValue, Object, Unknown};
use napi::sys;
use napi_derive::napi;
use std::ptr;

/// Registers the raw entry points on the addon's exports.
#[napi(module_exports)]
pub fn init(exports: Object, env: napi::Env) -> napi::Result<()> {
    // SAFETY: module registration runs on the JS thread with the env being initialised.
    let env = unsafe { js::Env::from_raw(env.raw()) };
    let raw_exports = exports.raw();
    let fns: [(&std::ffi::CStr, js::RawCallback); 4] = [
        (c"run", run),
        (c"runBatch", run_batch),
        (c"cancel", cancel),
        (c"__rawNoop", raw_noop),
    ];
    let install = || -> JsResult<()> {
        for (name, f) in fns {
            env.set(raw_exports, name, env.function(name, f)?)?;
        }
        Ok(())
    };
    install().map_err(|_| napi::Error::from_reason("pool: could not register its functions"))
}

/// Every kernel name, indexed by the kernel id `run` takes (internal ones start with `__`).
#[napi]
pub fn kernel_names() -> Vec<&'static str> {
    KernelId::ALL.iter().map(|k| k.name()).collect()
}

/// The SIMD backend bcrypt batches run on.
#[napi(object)]
pub struct SimdBackend {
    /// `"avx2"`, `"avx512"`, `"avx2_12"`, `"sse41"`, `"neon"` or `"scalar"`.
    pub name: String,
    /// Hashes per batch.
    pub lanes: u32,
}

/// bcrypt's SIMD backend, or null until it has been picked (in the background, after the
/// first bcrypt task a batching pool takes).
#[napi]
pub fn bcrypt_backend() -> Option<SimdBackend> {
    crate::kernels::password::bcrypt_backend().map(|(name, lanes)| SimdBackend {
        name: name.to_owned(),
        lanes: lanes as u32,
    })
}

/// The machine's available parallelism (affinity- and cgroup-aware): the default `threads`.
#[napi]
pub fn default_threads() -> u32 {
    crate::executor::default_threads() as u32
}

/// What a `json.parse` piece's `offsets` hold (its `kind`).
#[napi(object)]
pub struct JsonKinds {
    /// Nothing: build the whole text with one `JSON.parse`.
    pub whole: u32,
    /// `[a, b)` pairs of whole consecutive elements of the top-level array.
    pub array: u32,
    /// `[a, b)` pairs of whole consecutive members of the top-level object.
    pub object: u32,
}

/// The type of each field of a `csv.parse` piece with `dynamicTyping` (its `types`).
#[napi(object)]
pub struct CsvTags {
    pub string: u32,
    /// Matches papaparse's `FLOAT`; its value is in `nums`.
    pub number: u32,
    pub r#true: u32,
    pub r#false: u32,
    /// Starts like an ISO date; JS applies papaparse's `ISO_DATE`.
    pub maybe_date: u32,
    pub empty: u32,
}

/// The parsers' constants, from their Rust definitions (read once by `lib/`).
#[napi(object)]
pub struct ParserConstants {
    /// The deepest nesting `json.parse` accepts.
    pub json_max_depth: u32,
    pub json_kind: JsonKinds,
    pub csv_tag: CsvTags,
}

#[napi]
pub fn parser_constants() -> ParserConstants {
    use csv::tag;
    ParserConstants {
        json_max_depth: json::MAX_DEPTH as u32,
        json_kind: JsonKinds {
            whole: json::kind::WHOLE,
            array: json::kind::ARRAY,
            object: json::kind::OBJECT,
        },
        csv_tag: CsvTags {
            string: tag::STRING.into(),
            number: tag::NUMBER.into(),
            r#true: tag::TRUE.into(),
            r#false: tag::FALSE.into(),
            maybe_date: tag::MAYBE_DATE.into(),
            empty: tag::EMPTY.into(),
        },
    }
}

/// Runs an entry point's body with a panic guard: a panic must not unwind into Node (that
/// aborts the process), so it becomes a thrown `Error` with code `ERR_POOL_INTERNAL`.
fn guarded(env: js::Env, f: impl FnOnce() -> Value) -> Value {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => match env.error(
            ErrorClass::Error,
            "ERR_POOL_INTERNAL",
            "pool: internal error (a bug; please report it)",
        ) {
            Ok(e) => env.throw(e),
            Err(_) => ptr::null_mut(),
        },
    }
}

/// Throws the TypeError for a value that is not a pool handle.
fn bad_handle(env: js::Env) -> Value {
    match env.error(
        ErrorClass::Type,
        "ERR_INVALID_ARG_TYPE",
        "Invalid pool handle",
    ) {
        Ok(e) => env.throw(e),
        Err(_) => ptr::null_mut(),
    }
}

/// Returns `f(env, core, args)` for a raw entry point, or throws a TypeError for a bad handle.
fn with_core<const N: usize>(
    raw_env: sys::napi_env,
    info: sys::napi_callback_info,
    f: impl FnOnce(js::Env, &self::core::Core, [Value; N]) -> Value,
) -> Value {
    // SAFETY: every caller is a callback Node invoked with this env, on its JS thread.
    let env = unsafe { js::Env::from_raw(raw_env) };
    guarded(env, || {
        let Ok(args) = env.args::<N>(info) else {
            return ptr::null_mut();
        };
        match core_of(env, args[0]) {
            Some(core) => f(env, core, args),
            None => bad_handle(env),
        }
    })
}

/// The same for a `#[napi]` function: `Err` carries the pending exception.
fn with_handle<T>(
    env: &napi::Env,
    handle: Unknown<'_>,
    f: impl FnOnce(js::Env, &self::core::Core) -> napi::Result<T>,
) -> napi::Result<T> {
    // SAFETY: `#[napi]` functions run on the JS thread with the env Node passed them.
    let e = unsafe { js::Env::from_raw(env.raw()) };
    match core_of(e, handle.raw()) {
        Some(core) => f(e, core),
        None => {
            bad_handle(e);
            Err(pending())
        }
    }
}

/// The error that tells napi-rs an exception is already pending.
fn pending() -> napi::Error {
    napi::Error::from_status(napi::Status::PendingException)
}

/// A raw value as a `#[napi]` return value.
fn unknown<'a>(env: &'a napi::Env, v: Value) -> napi::Result<Unknown<'a>> {
    if v.is_null() {
        return Err(pending());
    }
    // SAFETY: `v` is a live value of this call's scope and env.
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), v) })
}

/// `run`/`runBatch`'s optional scheduling arguments (absent: the pool's defaults).
fn schedule(env: js::Env, priority: Value, timeout: Value, retries: Value) -> Schedule {
    Schedule {
        priority: env
            .get_f64(priority)
            .ok()
            .filter(|p| p.is_finite())
            .unwrap_or(0.0),
        timeout: env.get_f64(timeout).ok().filter(|t| *t >= 0.0),
        retries: env
            .get_f64(retries)
            .ok()
            .filter(|r| *r >= 0.0)
            .map(|r| r.min(u32::MAX as f64) as u32),
    }
}

/// The promise alone, or `[promise, taskHandle]` when JS asked for the handle (to abort it).
fn with_task_handle(env: js::Env, want: Value, (promise, handle): (Value, f64)) -> Value {
    if promise.is_null() || !env.get_bool(want).unwrap_or(false) {
        return promise;
    }
    let pair = || -> JsResult<Value> {
        let a = env.array(2)?;
        env.set_element(a, 0, promise)?;
        env.set_element(a, 1, env.number(handle)?)?;
        Ok(a)
    };
    pair().unwrap_or(ptr::null_mut())
}

/// `run(handle, kernelId, input, priority?, timeoutMs?, retries?, withHandle?)`.
unsafe extern "C" fn run(raw_env: sys::napi_env, info: sys::napi_callback_info) -> Value {
    with_core::<7>(
        raw_env,
        info,
        |env, core, [_, kernel, input, prio, timeout, retries, want]| {
            let kernel = env.get_f64(kernel).unwrap_or(-1.0);
            let s = schedule(env, prio, timeout, retries);
            with_task_handle(env, want, core.run(env, kernel, input, s))
        },
    )
}

/// `runBatch(handle, kernelId, inputs, priority?, timeoutMs?, retries?, withHandle?)`.
unsafe extern "C" fn run_batch(raw_env: sys::napi_env, info: sys::napi_callback_info) -> Value {
    with_core::<7>(
        raw_env,
        info,
        |env, core, [_, kernel, inputs, prio, timeout, retries, want]| {
            let kernel = env.get_f64(kernel).unwrap_or(-1.0);
            let s = schedule(env, prio, timeout, retries);
            with_task_handle(env, want, core.run_batch(env, kernel, inputs, s))
        },
    )
}

/// `cancel(handle, taskHandle, abortError)`.
unsafe extern "C" fn cancel(raw_env: sys::napi_env, info: sys::napi_callback_info) -> Value {
    with_core::<3>(raw_env, info, |env, core, [_, task, error]| {
        core.cancel(env, env.get_f64(task).unwrap_or(-1.0), error);
        env.undefined()
    })
}

/// Does nothing, as a raw function: `bench/entry-cost.js` compares it with `__napiNoop`.
unsafe extern "C" fn raw_noop(raw_env: sys::napi_env, info: sys::napi_callback_info) -> Value {
    with_core::<1>(raw_env, info, |env, _, _| env.undefined())
}

/// Does nothing, as a `#[napi]` function (see `raw_noop`).
#[napi(js_name = "__napiNoop", ts_args_type = "handle: PoolHandle")]
pub fn napi_noop(env: &napi::Env, handle: Unknown<'_>) -> napi::Result<()> {
    with_handle(env, handle, |_, _| Ok(()))
}

/// A new pool. Throws `ERR_POOL_THREAD_SPAWN` if its threads cannot start.
#[napi(
    ts_args_type = "options: PoolOptions, notify: (kind: EventBit, arg: unknown) => void, resource: { hasRef(): boolean }",
    ts_return_type = "PoolHandle"
)]
pub fn create_pool<'a>(
    env: &'a napi::Env,
    options: PoolOptions,
    notify: Unknown<'_>,
    resource: Unknown<'_>,
) -> napi::Result<Unknown<'a>> {
    // SAFETY: `#[napi]` functions run on the JS thread with the env Node passed them.
    let e = unsafe { js::Env::from_raw(env.raw()) };
    let v = create::create(e, &options, notify.raw(), resource.raw()).unwrap_or(ptr::null_mut());
    unknown(env, v)
}

/// Stops accepting tasks; queued and running ones finish; resolves when the threads exited.
#[napi(ts_args_type = "handle: PoolHandle", ts_return_type = "Promise<void>")]
pub fn close<'a>(env: &'a napi::Env, handle: Unknown<'_>) -> napi::Result<Unknown<'a>> {
    with_handle(env, handle, |e, core| unknown(env, core.close(e)))
}

/// Stops accepting tasks, rejects queued ones, stops running ones; resolves when the threads
/// exited.
#[napi(ts_args_type = "handle: PoolHandle", ts_return_type = "Promise<void>")]
pub fn destroy<'a>(env: &'a napi::Env, handle: Unknown<'_>) -> napi::Result<Unknown<'a>> {
    with_handle(env, handle, |e, core| unknown(env, core.destroy(e)))
}

/// Changes the thread bounds (validated in JS). Throws if a thread could not be started.
#[napi(ts_args_type = "handle: PoolHandle, minThreads: number, maxThreads: number")]
pub fn resize(
    env: &napi::Env,
    handle: Unknown<'_>,
    min_threads: u32,
    max_threads: u32,
) -> napi::Result<()> {
    with_handle(env, handle, |e, core| {
        let max = max_threads.clamp(1, MAX_THREADS) as usize;
        let min = (min_threads as usize).min(max);
        core.exec.resize(min, max).map_err(|err| {
            if let Ok(v) = spawn_error(e, &err) {
                e.throw(v);
            }
            pending()
        })
    })
}

/// Zeroes the counters and histograms.
#[napi(ts_args_type = "handle: PoolHandle")]
pub fn reset_stats(env: &napi::Env, handle: Unknown<'_>) -> napi::Result<()> {
    with_handle(env, handle, |_, core| {
        core.exec.metrics().reset();
        Ok(())
    })
}

/// Which events (`EventBit`s) `index.js` has listeners for.
#[napi(ts_args_type = "handle: PoolHandle, bits: number")]
pub fn watch(env: &napi::Env, handle: Unknown<'_>, bits: u32) -> napi::Result<()> {
    with_handle(env, handle, |_, core| {
        core.watch.set(bits);
        Ok(())
    })
}

/// Declares a `#[napi]` getter of one number or boolean of the pool.
// The doc is a plain string literal: napi-derive copies a `///` comment passed through a macro
// into binding.d.ts with its raw-string prefix (`r" ...`).
macro_rules! getter {
    ($($doc:literal,)? $name:ident -> $ty:ty, |$core:ident| $body:expr) => {
        $(#[doc = $doc])?
        #[napi(ts_args_type = "handle: PoolHandle")]
        pub fn $name(env: &napi::Env, handle: Unknown<'_>) -> napi::Result<$ty> {
            with_handle(env, handle, |_, $core| Ok($body))
        }
    };
}

getter!(
    "Threads alive.",
    threads -> u32, |c| c.exec.threads() as u32
);
getter!(
    "Tasks waiting for a thread.",
    queue_size -> f64, |c| c.exec.queued() as f64
);
getter!(
    "Tasks running.",
    running -> u32, |c| c.exec.running() as u32
);
getter!(
    "Tasks that left the pool (any outcome).",
    completed -> f64, |c| c.exec.metrics().completed() as f64
);
getter!(
    "Busy share of the threads' time since the pool started (or `resetStats`).",
    utilization -> f64, |c| c.exec.metrics().utilization()
);
getter!(
    "`close()` or `destroy()` was called.",
    closed -> bool, |c| c.closing()
);
getter!(min_threads -> u32, |c| c.exec.min_threads() as u32);
getter!(max_threads -> u32, |c| c.exec.max_threads() as u32);
getter!(
    "Whether the pool keeps the process alive now (tasks in flight): the async resource's `hasRef()`.",
    keeps_alive -> bool, |c| c.inflight.get() > 0 && !c.tsfn.get().is_null()
);
