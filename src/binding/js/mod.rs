//! Thin wrappers over the raw Node-API calls the binding needs.
//!
//! [`Env`] is a `napi_env` that is live on the current (JS) thread; it can only be made with the
//! `unsafe` [`Env::from_raw`], inside a callback that Node invoked with that env. [`Value`]s
//! come from `Env` methods and are valid for the current callback's handle scope: the binding
//! never stores one. Under those two invariants the methods below are safe to call.

mod binary;

use napi::sys;
use std::ffi::{c_void, CStr};
use std::ptr;

pub(super) type Value = sys::napi_value;
pub(super) type Status = sys::napi_status;

/// A failed Node-API call. The only expected one is a pending exception during teardown; the
/// binding turns any other into a thrown error or an ignored settlement.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fail(#[allow(dead_code)] pub Status);

pub(super) type JsResult<T> = Result<T, Fail>;

fn ok(status: Status) -> JsResult<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Fail(status))
    }
}

/// The JS error classes the binding creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ErrorClass {
    Error,
    Type,
    Range,
    Syntax,
}

/// A bounded view of JS-owned binary data (Buffer, TypedArray, DataView or ArrayBuffer).
pub(super) struct ByteView {
    pub ptr: *const u8,
    pub len: usize,
}

#[derive(Clone, Copy)]
pub(super) struct Env(sys::napi_env);

/// Tags the pool handle externals so a stray external is never mistaken for one.
static HANDLE_TAG: sys::napi_type_tag = sys::napi_type_tag {
    lower: 0x706f_6f6c_2d68_616e,
    upper: 0x646c_652d_7631_0001,
};

impl Env {
    /// # Safety
    /// `raw` must be the env Node passed to the currently running callback, on its JS thread.
    pub unsafe fn from_raw(raw: sys::napi_env) -> Self {
        Env(raw)
    }

    pub fn raw(self) -> sys::napi_env {
        self.0
    }

    /// Reads up to `N` arguments (missing ones are `undefined`).
    pub fn args<const N: usize>(self, info: sys::napi_callback_info) -> JsResult<[Value; N]> {
        let mut argv = [ptr::null_mut(); N];
        let mut argc = N;
        // SAFETY: env invariant; `info` is the callback info of the current call; argv has room
        // for `argc` values.
        ok(unsafe {
            sys::napi_get_cb_info(
                self.0,
                info,
                &mut argc,
                argv.as_mut_ptr(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        })?;
        Ok(argv)
    }

    pub fn type_of(self, v: Value) -> JsResult<i32> {
        let mut t = 0;
        // SAFETY: env and value invariants.
        ok(unsafe { sys::napi_typeof(self.0, v, &mut t) })?;
        Ok(t)
    }

    pub fn get_f64(self, v: Value) -> JsResult<f64> {
        let mut n = 0.0;
        // SAFETY: env and value invariants.
        ok(unsafe { sys::napi_get_value_double(self.0, v, &mut n) })?;
        Ok(n)
    }

    pub fn get_bool(self, v: Value) -> JsResult<bool> {
        let mut b = false;
        // SAFETY: env and value invariants.
        ok(unsafe { sys::napi_get_value_bool(self.0, v, &mut b) })?;
        Ok(b)
    }

    pub fn get_string(self, v: Value) -> JsResult<String> {
        let mut len = 0;
        // SAFETY: env and value invariants; a null buffer asks for the UTF-8 length only.
        ok(unsafe { sys::napi_get_value_string_utf8(self.0, v, ptr::null_mut(), 0, &mut len) })?;
        let mut buf = vec![0u8; len + 1];
        let mut written = 0;
        // SAFETY: `buf` has room for `len` bytes plus the NUL Node-API writes.
        ok(unsafe {
            sys::napi_get_value_string_utf8(
                self.0,
                v,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut written,
            )
        })?;
        buf.truncate(written);
        // Node-API replaces lone surrogates with U+FFFD, so the bytes are valid UTF-8.
        Ok(String::from_utf8(buf)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// `obj[key]` (runs getters; a throwing getter leaves its exception pending and fails).
    pub fn get_named(self, obj: Value, key: &CStr) -> JsResult<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: env and value invariants; `key` is NUL-terminated.
        ok(unsafe { sys::napi_get_named_property(self.0, obj, key.as_ptr(), &mut out) })?;
        Ok(out)
    }

    pub fn is_array(self, v: Value) -> JsResult<bool> {
        let mut b = false;
        // SAFETY: env and value invariants.
        ok(unsafe { sys::napi_is_array(self.0, v, &mut b) })?;
        Ok(b)
    }

    pub fn array_len(self, v: Value) -> JsResult<u32> {
        let mut n = 0;
        // SAFETY: env and value invariants; `v` was checked to be an array.
        ok(unsafe { sys::napi_get_array_length(self.0, v, &mut n) })?;
        Ok(n)
    }

    pub fn get_element(self, arr: Value, i: u32) -> JsResult<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: env and value invariants.
        ok(unsafe { sys::napi_get_element(self.0, arr, i, &mut out) })?;
        Ok(out)
    }

    pub fn array(self, len: usize) -> JsResult<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: env invariant.
        ok(unsafe { sys::napi_create_array_with_length(self.0, len, &mut out) })?;
        Ok(out)
    }

    pub fn set_element(self, arr: Value, i: u32, v: Value) -> JsResult<()> {
        // SAFETY: env and value invariants.
        ok(unsafe { sys::napi_set_element(self.0, arr, i, v) })
    }

    pub fn object(self) -> JsResult<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: env invariant.
        ok(unsafe { sys::napi_create_object(self.0, &mut out) })?;
        Ok(out)
    }

    pub fn set(self, obj: Value, key: &CStr, v: Value) -> JsResult<()> {
        // SAFETY: env and value invariants; `key` is NUL-terminated.
        ok(unsafe { sys::napi_set_named_property(self.0, obj, key.as_ptr(), v) })
    }

    pub fn undefined(self) -> Value {
        let mut out = ptr::null_mut();
        // SAFETY: env invariant. Cannot fail with a valid env.
        unsafe { sys::napi_get_undefined(self.0, &mut out) };
        out
    }

    pub fn null(self) -> JsResult<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: env invariant.
        ok(unsafe { sys::napi_get_null(self.0, &mut out) })?;
        Ok(out)
    }

    pub fn boolean(self, b: bool) -> JsResult<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: env invariant.
        ok(unsafe { sys::napi_get_boolean(self.0, b, &mut out) })?;
        Ok(out)
    }

    pub fn number(self, n: f64) -> JsResult<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: env invariant.
        ok(unsafe { sys::napi_create_double(self.0, n, &mut out) })?;
        Ok(out)
    }

    pub fn string(self, s: &str) -> JsResult<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: env invariant; pointer and length describe `s`.
        ok(unsafe {
            sys::napi_create_string_utf8(self.0, s.as_ptr().cast(), s.len() as isize, &mut out)
        })?;
        Ok(out)
    }

    /// An error object of `class` with `code` and `message`.
    pub fn error(self, class: ErrorClass, code: &str, message: &str) -> JsResult<Value> {
        let (code, msg) = (self.string(code)?, self.string(message)?);
        let mut out = ptr::null_mut();
        if class == ErrorClass::Syntax {
            // Node-API 8 has no syntax-error constructor: `new SyntaxError(message)`, then `code`.
            let ctor = self.get_named(self.global()?, c"SyntaxError")?;
            // SAFETY: env invariant; `ctor` is a constructor of this scope, `msg` its argument.
            ok(unsafe { sys::napi_new_instance(self.0, ctor, 1, &msg, &mut out) })?;
            self.set(out, c"code", code)?;
            return Ok(out);
        }
        // SAFETY: env invariant; `code` and `msg` are strings of this scope.
        ok(unsafe {
            match class {
                ErrorClass::Type => sys::napi_create_type_error(self.0, code, msg, &mut out),
                ErrorClass::Range => sys::napi_create_range_error(self.0, code, msg, &mut out),
                _ => sys::napi_create_error(self.0, code, msg, &mut out),
            }
        })?;
        Ok(out)
    }

    fn global(self) -> JsResult<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: env invariant.
        ok(unsafe { sys::napi_get_global(self.0, &mut out) })?;
        Ok(out)
    }

    /// Takes the pending exception (say, from a getter that threw), if there is one.
    pub fn take_exception(self) -> Option<Value> {
        let mut pending = false;
        let mut out = ptr::null_mut();
        // SAFETY: env invariant; out-pointers are valid locals. Both calls are allowed while an
        // exception is pending.
        unsafe {
            ok(sys::napi_is_exception_pending(self.0, &mut pending)).ok()?;
            if !pending {
                return None;
            }
            ok(sys::napi_get_and_clear_last_exception(self.0, &mut out)).ok()?;
        }
        Some(out)
    }

    pub fn throw(self, error: Value) -> Value {
        // SAFETY: env invariant; throwing an error object we made.
        unsafe { sys::napi_throw(self.0, error) };
        ptr::null_mut()
    }

    pub fn promise(self) -> JsResult<(Deferred, Value)> {
        let mut d = ptr::null_mut();
        let mut p = ptr::null_mut();
        // SAFETY: env invariant.
        ok(unsafe { sys::napi_create_promise(self.0, &mut d, &mut p) })?;
        Ok((Deferred(d), p))
    }

    /// Settles and consumes a deferred.
    pub fn settle(self, d: Deferred, fulfil: bool, v: Value) -> JsResult<()> {
        // SAFETY: env invariant; `d` came from `promise()` in this env and, being consumed here
        // by value, is settled exactly once (Node-API frees it on settlement).
        ok(unsafe {
            if fulfil {
                sys::napi_resolve_deferred(self.0, d.0, v)
            } else {
                sys::napi_reject_deferred(self.0, d.0, v)
            }
        })
    }

    /// A promise that is already rejected with `error`.
    pub fn rejected(self, error: Value) -> Value {
        match self.promise() {
            Ok((d, p)) => {
                let _ = self.settle(d, false, error);
                p
            }
            Err(_) => ptr::null_mut(),
        }
    }

    pub fn create_ref(self, v: Value, count: u32) -> JsResult<JsRef> {
        let mut r = ptr::null_mut();
        // SAFETY: env and value invariants.
        ok(unsafe { sys::napi_create_reference(self.0, v, count, &mut r) })?;
        Ok(JsRef(r))
    }

    pub fn delete_ref(self, r: JsRef) {
        // SAFETY: env invariant; `r` was made by `create_ref` in this env and is consumed.
        unsafe { sys::napi_delete_reference(self.0, r.0) };
    }

    /// The value a reference points to, or `None` if it was weak and got collected.
    pub fn ref_value(self, r: &JsRef) -> Option<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: env invariant; `r` is a live reference of this env.
        let status = unsafe { sys::napi_get_reference_value(self.0, r.0, &mut out) };
        (status == sys::Status::napi_ok && !out.is_null()).then_some(out)
    }

    /// Calls `f` with `undefined` as `this`. A throw stays pending in the env (it reaches
    /// `uncaughtException` when control returns to Node).
    pub fn call(self, f: Value, args: &[Value]) -> JsResult<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: env and value invariants; `args` holds `args.len()` live values.
        ok(unsafe {
            sys::napi_call_function(
                self.0,
                self.undefined(),
                f,
                args.len(),
                args.as_ptr(),
                &mut out,
            )
        })?;
        Ok(out)
    }

    pub fn ref_up(self, r: &JsRef) {
        // SAFETY: env invariant; `r` is a live reference of this env.
        unsafe { sys::napi_reference_ref(self.0, r.0, ptr::null_mut()) };
    }

    pub fn ref_down(self, r: &JsRef) {
        // SAFETY: as for `ref_up`.
        unsafe { sys::napi_reference_unref(self.0, r.0, ptr::null_mut()) };
    }

    /// A tagged external owning `data`; `finalize` runs when it is collected.
    pub fn external(
        self,
        data: *mut c_void,
        finalize: unsafe extern "C" fn(sys::napi_env, *mut c_void, *mut c_void),
    ) -> JsResult<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: env invariant; `data` is owned by the external from here on (freed by
        // `finalize`).
        unsafe {
            ok(sys::napi_create_external(
                self.0,
                data,
                Some(finalize),
                ptr::null_mut(),
                &mut out,
            ))?;
            ok(sys::napi_type_tag_object(self.0, out, &HANDLE_TAG))?;
        }
        Ok(out)
    }

    /// The data pointer of an external made by [`Env::external`], or `None` for any other
    /// value.
    pub fn external_data(self, v: Value) -> Option<*mut c_void> {
        let mut tagged = false;
        let mut data = ptr::null_mut();
        // SAFETY: env and value invariants. The tag check runs first, so only our own
        // externals reach `napi_get_value_external`.
        unsafe {
            if sys::napi_check_object_type_tag(self.0, v, &HANDLE_TAG, &mut tagged)
                != sys::Status::napi_ok
                || !tagged
            {
                return None;
            }
            ok(sys::napi_get_value_external(self.0, v, &mut data)).ok()?;
        }
        Some(data)
    }

    pub fn function(self, name: &CStr, cb: RawCallback) -> JsResult<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: env invariant; `name` is NUL-terminated; `cb` is a plain `extern "C"` fn.
        ok(unsafe {
            sys::napi_create_function(
                self.0,
                name.as_ptr(),
                name.to_bytes().len() as isize,
                Some(cb),
                ptr::null_mut(),
                &mut out,
            )
        })?;
        Ok(out)
    }
}

pub(super) type RawCallback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> Value;

/// A pending promise's resolver. Moved, never copied, so it is settled at most once.
pub(super) struct Deferred(sys::napi_deferred);

/// A Node-API reference. Deleted explicitly with [`Env::delete_ref`] on the JS thread.
pub(super) struct JsRef(sys::napi_ref);

// SAFETY: a `JsRef` is an opaque handle. It may be carried by a job through a worker thread,
// but every Node-API call on it (`delete_ref`, `ref_up`, `ref_down`) takes an `Env`, which
// exists only on the JS thread.
unsafe impl Send for JsRef {}
