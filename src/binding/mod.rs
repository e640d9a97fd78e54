//! The only module that touches Node-API, and the only one with `unsafe`.
//!
//! The hot entry points are plain `napi_create_function` callbacks rather than `#[napi]`
//! methods: a `#[napi]` class method pays for napi-derive's per-call argument handling before
//! doing anything, a large share of the per-task budget. Each callback takes the pool handle (a
//! tagged external) as its first argument; `index.js` wraps them in the public `WorkerPool`.

mod job;
mod js;
mod pool;

use crate::kernels::Kernel;
use js::{JsResult, Value};
use napi::bindgen_prelude::{JsValue, Object};
use napi::sys;
use napi_derive::napi;
use std::ptr;

/// Registers the raw entry points on the addon's exports.
#[napi(module_exports)]
pub fn init(exports: Object, env: napi::Env) -> napi::Result<()> {
    // SAFETY: module registration runs on the JS thread with the env being initialised.
    let env = unsafe { js::Env::from_raw(env.raw()) };
    let raw_exports = exports.raw();
    let fns: [(&std::ffi::CStr, js::RawCallback); 12] = [
        (c"createPool", create_pool),
        (c"run", run),
        (c"runBatch", run_batch),
        (c"lastTag", last_tag),
        (c"cancel", cancel),
        (c"close", close),
        (c"destroy", destroy),
        (c"stats", stats),
        (c"info", info),
        (c"resize", resize),
        (c"resetStats", reset_stats),
        (c"watch", watch),
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
    Kernel::ALL.iter().map(|k| k.name()).collect()
}

/// The machine's available parallelism (affinity- and cgroup-aware): the default `threads`.
#[napi]
pub fn default_threads() -> u32 {
    crate::executor::default_threads() as u32
}

/// Runs an entry point's body with a panic guard: a panic must not unwind into Node (that
/// aborts the process), so it becomes a thrown `Error` with code `ERR_POOL_INTERNAL`.
fn guarded(env: js::Env, f: impl FnOnce() -> Value) -> Value {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => match env.error(
            js::ErrorClass::Error,
            "ERR_POOL_INTERNAL",
            "pool: internal error (a bug; please report it)",
        ) {
            Ok(e) => env.throw(e),
            Err(_) => ptr::null_mut(),
        },
    }
}

/// Returns `f(env, args)` or throws a TypeError for a bad handle.
fn with_core<const N: usize>(
    raw_env: sys::napi_env,
    info: sys::napi_callback_info,
    f: impl FnOnce(js::Env, &pool::Core, [Value; N]) -> Value,
) -> Value {
    // SAFETY: every caller is a callback Node invoked with this env, on its JS thread.
    let env = unsafe { js::Env::from_raw(raw_env) };
    guarded(env, || {
        let Ok(args) = env.args::<N>(info) else {
            return ptr::null_mut();
        };
        match pool::core_of(env, args[0]) {
            Some(core) => f(env, core, args),
            None => match env.error(
                js::ErrorClass::Type,
                "ERR_INVALID_ARG_TYPE",
                "Invalid pool handle",
            ) {
                Ok(e) => env.throw(e),
                Err(_) => ptr::null_mut(),
            },
        }
    })
}

fn num(env: js::Env, v: Value, default: f64) -> f64 {
    env.get_f64(v).unwrap_or(default)
}

unsafe extern "C" fn create_pool(raw_env: sys::napi_env, info: sys::napi_callback_info) -> Value {
    // SAFETY: called by Node with a live env on the JS thread.
    let env = unsafe { js::Env::from_raw(raw_env) };
    guarded(env, || {
        let Ok([min, max, queue, timeout, idle, retries, max_input, nice, notify, resource]) =
            env.args::<10>(info)
        else {
            return ptr::null_mut();
        };
        let options = pool::Options {
            min_threads: num(env, min, 0.0),
            max_threads: num(env, max, 0.0),
            max_queue: num(env, queue, f64::INFINITY),
            timeout_ms: num(env, timeout, -1.0),
            idle_timeout_ms: num(env, idle, -1.0),
            retries: num(env, retries, 0.0),
            max_input: num(env, max_input, f64::INFINITY),
            nice: num(env, nice, 0.0),
            notify,
            resource,
        };
        pool::create(env, options).unwrap_or(ptr::null_mut())
    })
}

unsafe extern "C" fn run(raw_env: sys::napi_env, info: sys::napi_callback_info) -> Value {
    with_core::<6>(
        raw_env,
        info,
        |env, core, [_, kernel, input, prio, timeout, retries]| {
            core.run(
                env,
                num(env, kernel, -1.0),
                input,
                num(env, prio, 0.0),
                num(env, timeout, -1.0),
                num(env, retries, -1.0),
            )
        },
    )
}

unsafe extern "C" fn run_batch(raw_env: sys::napi_env, info: sys::napi_callback_info) -> Value {
    with_core::<6>(
        raw_env,
        info,
        |env, core, [_, kernel, inputs, prio, timeout, retries]| {
            core.run_batch(
                env,
                num(env, kernel, -1.0),
                inputs,
                num(env, prio, 0.0),
                num(env, timeout, -1.0),
                num(env, retries, -1.0),
            )
        },
    )
}

unsafe extern "C" fn last_tag(raw_env: sys::napi_env, info: sys::napi_callback_info) -> Value {
    with_core::<1>(raw_env, info, |env, core, _| {
        env.number(core.last_tag()).unwrap_or(ptr::null_mut())
    })
}

unsafe extern "C" fn cancel(raw_env: sys::napi_env, info: sys::napi_callback_info) -> Value {
    with_core::<3>(raw_env, info, |env, core, [_, tag, error]| {
        core.cancel(env, num(env, tag, -1.0), error);
        env.undefined()
    })
}

unsafe extern "C" fn close(raw_env: sys::napi_env, info: sys::napi_callback_info) -> Value {
    with_core::<1>(raw_env, info, |env, core, _| core.close(env))
}

unsafe extern "C" fn destroy(raw_env: sys::napi_env, info: sys::napi_callback_info) -> Value {
    with_core::<1>(raw_env, info, |env, core, _| core.destroy(env))
}

unsafe extern "C" fn stats(raw_env: sys::napi_env, info: sys::napi_callback_info) -> Value {
    with_core::<1>(raw_env, info, |env, core, _| {
        core.stats(env).unwrap_or(ptr::null_mut())
    })
}

unsafe extern "C" fn info(raw_env: sys::napi_env, info: sys::napi_callback_info) -> Value {
    with_core::<2>(raw_env, info, |env, core, [_, which]| {
        env.number(core.info(num(env, which, -1.0)))
            .unwrap_or(ptr::null_mut())
    })
}

unsafe extern "C" fn resize(raw_env: sys::napi_env, info: sys::napi_callback_info) -> Value {
    with_core::<3>(raw_env, info, |env, core, [_, min, max]| {
        core.resize(env, num(env, min, 0.0), num(env, max, 0.0))
    })
}

unsafe extern "C" fn reset_stats(raw_env: sys::napi_env, info: sys::napi_callback_info) -> Value {
    with_core::<1>(raw_env, info, |env, core, _| {
        core.reset_stats();
        env.undefined()
    })
}

unsafe extern "C" fn watch(raw_env: sys::napi_env, info: sys::napi_callback_info) -> Value {
    with_core::<2>(raw_env, info, |env, core, [_, bits]| {
        core.set_watch(num(env, bits, 0.0));
        env.undefined()
    })
}
