//! The pool's job type: a kernel plus its converted input, and conversion between JS values
//! and kernel inputs/outputs.
//!
//! # Input contract
//! Strings, numbers and binary inputs up to [`COPY_MAX`] bytes are copied on the JS thread.
//! Larger binary inputs are read in place: the job holds a Node-API reference to the view so
//! the memory stays alive, and the reference is released on the JS thread when the task leaves
//! the pool. JS must not detach, transfer or write to such a buffer while its task is pending.
//! Object inputs `{ data, ...params }` follow the same rule for `data`; the params a kernel
//! names are always copied, and other properties are never read. Object inputs of
//! [`InputKind::Object`] kernels (the password hashes) have no `data`: the named properties
//! are copied (passwords and salts are small) and binary or non-object inputs are refused.

use super::js::{ByteView, Env, ErrorClass, Fail, JsRef, JsResult, Value};
use crate::executor::{self, CancelToken};
use crate::kernels::{
    self, BigInt, ErrorKind, Input, InputKind, Kernel, KernelError, Output, Param, MAX_FIELDS,
    MAX_PARAMS,
};
use napi::sys::ValueType as T;
use std::ffi::CString;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Binary inputs at most this long are copied; longer ones are read in place.
pub(super) const COPY_MAX: usize = 64 * 1024;

/// Counts jobs that are reading JS memory in place, so environment teardown can wait for them
/// before V8 frees that memory.
#[derive(Default)]
pub(super) struct InPlaceReaders(AtomicUsize);

impl InPlaceReaders {
    pub fn active(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

/// JS-owned bytes kept alive by a reference.
pub(super) struct JsBytes {
    ptr: *const u8,
    len: usize,
    keep: JsRef,
}

// SAFETY: the bytes are only read (never written) from the worker, and they stay allocated
// while `keep` holds the view: `keep` is released only on the JS thread after the job has
// finished (`Job::release`), and environment teardown waits for in-place readers first. JS
// writing to or detaching the buffer meanwhile breaks the documented input contract.
unsafe impl Send for JsBytes {}

pub(super) enum Owned {
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    Bytes(Vec<u8>),
    Js(JsBytes),
    /// An object input `{ data, ...params }` of an [`InputKind::Record`] kernel. `data` is a
    /// `Str`, `Bytes` or `Js`; the params are always copied.
    Record {
        data: Box<Owned>,
        params: Vec<OwnedParam>,
    },
    /// An object input of an [`InputKind::Object`] kernel: its named properties, copied.
    Object(Vec<OwnedParam>),
}

/// A copied [`Param`].
pub(super) enum OwnedParam {
    Missing,
    Number(f64),
    BigInt(BigInt),
    Str(String),
    Bytes(Vec<u8>),
    Other(&'static str),
}

impl OwnedParam {
    fn view(&self) -> Param<'_> {
        match self {
            OwnedParam::Missing => Param::Missing,
            OwnedParam::Number(n) => Param::Number(*n),
            OwnedParam::BigInt(b) => Param::BigInt(*b),
            OwnedParam::Str(s) => Param::Str(s),
            OwnedParam::Bytes(b) => Param::Bytes(b),
            OwnedParam::Other(t) => Param::Other(t),
        }
    }
}

impl Owned {
    fn view(&self) -> Input<'_> {
        match self {
            Owned::Null => Input::Null,
            Owned::Bool(b) => Input::Bool(*b),
            Owned::Number(n) => Input::Number(*n),
            Owned::Str(s) => Input::Str(s),
            Owned::Bytes(b) => Input::Bytes(b),
            // SAFETY: see `JsBytes`: `ptr` points to `len` readable bytes for as long as the
            // job (and so `keep`) lives; `len > COPY_MAX`, so `ptr` is not null.
            Owned::Js(j) => Input::Bytes(unsafe { std::slice::from_raw_parts(j.ptr, j.len) }),
            Owned::Record { data, params } => {
                let mut ps = [Param::Missing; MAX_PARAMS];
                for (slot, p) in ps.iter_mut().zip(params) {
                    *slot = p.view();
                }
                Input::Record {
                    data: data.view().as_bytes().unwrap_or_default(),
                    params: ps,
                }
            }
            Owned::Object(params) => {
                let mut ps = [Param::Missing; MAX_FIELDS];
                for (slot, p) in ps.iter_mut().zip(params) {
                    *slot = p.view();
                }
                Input::Object { params: ps }
            }
        }
    }

    fn release(self, env: Env) {
        match self {
            Owned::Js(j) => env.delete_ref(j.keep),
            Owned::Record { data, .. } => data.release(env),
            _ => {}
        }
    }

    /// Bytes of data the input carries (for the pool's `maxInputBytes`).
    fn byte_len(&self) -> usize {
        let param = |p: &OwnedParam| match p {
            OwnedParam::Str(s) => s.len(),
            OwnedParam::Bytes(b) => b.len(),
            _ => 0,
        };
        match self {
            Owned::Str(s) => s.len(),
            Owned::Bytes(b) => b.len(),
            Owned::Js(j) => j.len,
            Owned::Record { data, params } => {
                data.byte_len() + params.iter().map(param).sum::<usize>()
            }
            Owned::Object(params) => params.iter().map(param).sum(),
            Owned::Null | Owned::Bool(_) | Owned::Number(_) => 0,
        }
    }

    fn in_place(&self) -> bool {
        match self {
            Owned::Js(_) => true,
            Owned::Record { data, .. } => data.in_place(),
            _ => false,
        }
    }
}

pub(super) enum Payload {
    One(Owned),
    Many(Vec<Owned>),
    /// A batch of plain numbers, passed in as one `Float64Array`.
    Numbers(Vec<f64>),
}

pub(super) struct Job {
    pub kernel: Kernel,
    pub payload: Payload,
    /// Set when the payload reads JS memory in place.
    pub readers: Option<Arc<InPlaceReaders>>,
}

pub(super) enum JobOutput {
    One(Result<Output, KernelError>),
    /// All outputs in order, or the index and error of the first failure.
    Many(Result<Outputs, (usize, KernelError)>),
}

/// A batch chunk's outputs: numbers stay unboxed so the whole batch can travel back to JS as
/// one `Float64Array`.
pub(super) enum Outputs {
    Values(Vec<Output>),
    Numbers(Vec<f64>),
}

impl Job {
    pub fn new(kernel: Kernel, payload: Payload, readers: &Arc<InPlaceReaders>) -> Self {
        let in_place = match &payload {
            Payload::One(o) => o.in_place(),
            Payload::Many(v) => v.iter().any(Owned::in_place),
            Payload::Numbers(_) => false,
        };
        Job {
            kernel,
            payload,
            readers: in_place.then(|| Arc::clone(readers)),
        }
    }

    /// Releases what the job holds of JS. JS thread only (it takes an `Env`).
    pub fn release(self, env: Env) {
        match self.payload {
            Payload::One(o) => o.release(env),
            Payload::Many(v) => v.into_iter().for_each(|o| o.release(env)),
            Payload::Numbers(_) => {}
        }
    }
}

impl executor::Job for Job {
    type Output = JobOutput;

    fn failed(out: &JobOutput) -> bool {
        matches!(out, JobOutput::One(Err(_)) | JobOutput::Many(Err(_)))
    }

    fn run(&mut self, token: &CancelToken<'_>) -> JobOutput {
        let _reading = self.readers.as_deref().map(|r| {
            r.0.fetch_add(1, Ordering::AcqRel);
            Reading(r)
        });
        match &self.payload {
            Payload::One(input) => JobOutput::One(kernels::run(self.kernel, &input.view(), token)),
            Payload::Many(inputs) => JobOutput::Many(run_all(
                self.kernel,
                inputs.iter().map(Owned::view),
                Vec::with_capacity(inputs.len()),
                token,
            )),
            Payload::Numbers(nums) => JobOutput::Many(run_numbers(self.kernel, nums, token)),
        }
    }
}

/// The numbers fast path: outputs stay unboxed while every output is a number.
fn run_numbers(
    kernel: Kernel,
    nums: &[f64],
    token: &CancelToken<'_>,
) -> Result<Outputs, (usize, KernelError)> {
    let mut out = Vec::with_capacity(nums.len());
    for (i, &n) in nums.iter().enumerate() {
        if i % 64 == 0 && token.is_cancelled() {
            return Err((i, KernelError::cancelled()));
        }
        match kernels::run(kernel, &Input::Number(n), token) {
            Ok(Output::Number(x)) => out.push(x),
            Ok(other) => {
                // Not a numeric kernel after all: finish generically.
                let mut values: Vec<Output> = out.into_iter().map(Output::Number).collect();
                values.push(other);
                let rest = nums[i + 1..].iter().map(|&n| Input::Number(n));
                return run_all(kernel, rest, values, token).map_err(|(j, e)| (i + 1 + j, e));
            }
            Err(e) => return Err((i, e)),
        }
    }
    Ok(Outputs::Numbers(out))
}

/// Runs `kernel` over a chunk in order, stopping at the first failure or cancellation.
fn run_all<'a>(
    kernel: Kernel,
    inputs: impl Iterator<Item = Input<'a>>,
    mut out: Vec<Output>,
    token: &CancelToken<'_>,
) -> Result<Outputs, (usize, KernelError)> {
    for (i, input) in inputs.enumerate() {
        if token.is_cancelled() {
            return Err((i, KernelError::cancelled()));
        }
        out.push(kernels::run(kernel, &input, token).map_err(|e| (i, e))?);
    }
    Ok(Outputs::Values(out))
}

struct Reading<'a>(&'a InPlaceReaders);

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn type_name(env: Env, v: Value) -> &'static str {
    match env.type_of(v) {
        Ok(T::napi_undefined) => "undefined",
        Ok(T::napi_null) => "null",
        Ok(T::napi_boolean) => "boolean",
        Ok(T::napi_number) => "number",
        Ok(T::napi_string) => "string",
        Ok(T::napi_symbol) => "symbol",
        Ok(T::napi_function) => "function",
        Ok(T::napi_bigint) => "bigint",
        Ok(T::napi_external) => "external",
        _ => "object",
    }
}

fn wrong_type(kernel: Kernel, expected: &str, env: Env, v: Value) -> KernelError {
    KernelError::invalid_type(format!(
        "The \"input\" argument of kernel '{}' must be {expected}. Received type {}",
        kernel.name(),
        type_name(env, v)
    ))
}

fn detached() -> KernelError {
    KernelError {
        kind: ErrorKind::Type,
        code: "ERR_INVALID_STATE",
        message: "The input's ArrayBuffer is detached".into(),
    }
}

fn binary(env: Env, v: Value) -> Result<Option<Owned>, KernelError> {
    let view = match env.byte_view(v) {
        Ok(Some(view)) => view,
        Ok(None) => return Ok(None),
        Err(_) => return Err(detached()),
    };
    let ByteView { ptr, len } = view;
    if len <= COPY_MAX {
        return Ok(Some(Owned::Bytes(copy_view(ptr, len))));
    }
    let keep = env
        .create_ref(v, 1)
        .map_err(|_| KernelError::invalid_type("cannot hold the input"))?;
    Ok(Some(Owned::Js(JsBytes { ptr, len, keep })))
}

fn copy_view(ptr: *const u8, len: usize) -> Vec<u8> {
    if len == 0 {
        return Vec::new();
    }
    // SAFETY: `byte_view` returned a non-null `ptr` to `len` bytes of a live, attached buffer;
    // we copy them right away on the JS thread.
    unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec()
}

/// Reads the named properties of an object input (copied).
fn params(env: Env, obj: Value, names: &[&str]) -> Result<Vec<OwnedParam>, KernelError> {
    let unreadable = |_: Fail| KernelError::invalid_type("unreadable input");
    let mut params = Vec::with_capacity(names.len());
    for name in names {
        let key = CString::new(*name).map_err(|_| KernelError::invalid_type("bad param name"))?;
        let v = env.get_named(obj, &key).map_err(unreadable)?;
        params.push(param(env, v)?);
    }
    Ok(params)
}

/// Reads an object input `{ data, ...params }`: the named params (copied), then `data` (read
/// like a plain binary input, so a large `data` is read in place).
fn record(env: Env, kernel: Kernel, obj: Value, names: &[&str]) -> Result<Owned, KernelError> {
    let unreadable = |_: Fail| KernelError::invalid_type("unreadable input");
    let params = params(env, obj, names)?;
    let v = env.get_named(obj, c"data").map_err(unreadable)?;
    let data = match env.type_of(v).map_err(unreadable)? {
        T::napi_string => Some(Owned::Str(env.get_string(v).map_err(unreadable)?)),
        T::napi_object => binary(env, v)?,
        _ => None,
    };
    let Some(data) = data else {
        return Err(KernelError::invalid_type(format!(
            "The \"input.data\" property of kernel '{}' must be {BYTES}. Received type {}",
            kernel.name(),
            type_name(env, v)
        )));
    };
    Ok(Owned::Record {
        data: Box::new(data),
        params,
    })
}

/// Copies one param of an object input.
fn param(env: Env, v: Value) -> Result<OwnedParam, KernelError> {
    let unreadable = |_: Fail| KernelError::invalid_type("unreadable input");
    Ok(match env.type_of(v).map_err(unreadable)? {
        T::napi_undefined => OwnedParam::Missing,
        T::napi_number => OwnedParam::Number(env.get_f64(v).map_err(unreadable)?),
        T::napi_bigint => {
            let (negative, magnitude) = env.get_bigint_u128(v).map_err(unreadable)?;
            OwnedParam::BigInt(BigInt {
                negative,
                magnitude,
            })
        }
        T::napi_string => OwnedParam::Str(env.get_string(v).map_err(unreadable)?),
        T::napi_object => match env.byte_view(v) {
            Ok(Some(ByteView { ptr, len })) => OwnedParam::Bytes(copy_view(ptr, len)),
            Ok(None) => OwnedParam::Other("object"),
            Err(_) => return Err(detached()),
        },
        _ => OwnedParam::Other(type_name(env, v)),
    })
}

/// Converts a JS value to a kernel input and runs the kernel's cheap checks. Inputs carrying
/// more than `max_bytes` of data are refused before any kernel work.
pub(super) fn to_input(
    env: Env,
    kernel: Kernel,
    v: Value,
    max_bytes: usize,
) -> Result<Owned, KernelError> {
    let t = env
        .type_of(v)
        .map_err(|_| KernelError::invalid_type("unreadable input"))?;
    let fail = |_: Fail| KernelError::invalid_type("unreadable input");
    let owned = match (kernel.input_kind(), t) {
        (InputKind::Ignored, _) => Owned::Null,
        (InputKind::Number | InputKind::Any, T::napi_number) => {
            Owned::Number(env.get_f64(v).map_err(fail)?)
        }
        (InputKind::Number, _) => return Err(wrong_type(kernel, "of type number", env, v)),
        (InputKind::Any | InputKind::Record(_), T::napi_string) => {
            Owned::Str(env.get_string(v).map_err(fail)?)
        }
        (InputKind::Any, T::napi_null) => Owned::Null,
        (InputKind::Any, T::napi_boolean) => Owned::Bool(env.get_bool(v).map_err(fail)?),
        (InputKind::Any, T::napi_object) => match binary(env, v)? {
            Some(o) => o,
            None => {
                return Err(wrong_type(
                    kernel,
                    "null, a boolean, a number, a string or binary",
                    env,
                    v,
                ))
            }
        },
        (InputKind::Any, _) => {
            return Err(wrong_type(
                kernel,
                "null, a boolean, a number, a string or binary",
                env,
                v,
            ))
        }
        (InputKind::Record(names), T::napi_object) => match binary(env, v)? {
            Some(o) => o,
            None => record(env, kernel, v, names)?,
        },
        (InputKind::Record(_), _) => return Err(wrong_type(kernel, RECORD, env, v)),
        (InputKind::Object(names), T::napi_object) => match env.byte_view(v) {
            Ok(None) => Owned::Object(params(env, v, names)?),
            _ => return Err(wrong_type(kernel, "an object", env, v)),
        },
        (InputKind::Object(_), _) => return Err(wrong_type(kernel, "an object", env, v)),
    };
    let len = owned.byte_len();
    if len > max_bytes {
        owned.release(env);
        return Err(KernelError {
            kind: ErrorKind::Range,
            code: "ERR_POOL_INPUT_TOO_LARGE",
            message: format!(
                "The input of kernel '{}' is {len} bytes, more than the pool's maxInputBytes ({max_bytes})",
                kernel.name()
            ),
        });
    }
    if let Err(e) = kernels::prepare(kernel, &owned.view()) {
        owned.release(env);
        return Err(e);
    }
    Ok(owned)
}

const BYTES: &str = "a string, Buffer, TypedArray, DataView or ArrayBuffer";
const RECORD: &str =
    "a string, Buffer, TypedArray, DataView, ArrayBuffer or an object with a \"data\" property";

/// Turns a kernel output into a JS value.
pub(super) fn to_js(env: Env, out: Output) -> JsResult<Value> {
    match out {
        Output::Null => env.null(),
        Output::Bool(b) => env.boolean(b),
        Output::Number(n) => env.number(n),
        Output::Str(s) => env.string(&s),
        Output::Bytes(b) => env.buffer(b),
        Output::BigUint(n) => env.bigint_u128(n),
        Output::Csv(t) => {
            let t = *t;
            let obj = env.object()?;
            env.set(obj, c"ends", env.uint32_array(&t.ends)?)?;
            env.set(obj, c"rows", env.uint32_array(&t.rows)?)?;
            env.set(obj, c"rowBytes", env.uint32_array(&t.row_bytes)?)?;
            let types = if t.types.is_empty() && !t.ends.is_empty() {
                env.undefined()
            } else {
                env.uint8_array(&t.types)?
            };
            env.set(obj, c"types", types)?;
            if !t.nums.is_empty() {
                let nums = env.float64_array(t.nums.len(), std::iter::once(&t.nums[..]))?;
                env.set(obj, c"nums", nums)?;
            }
            env.set(obj, c"ascii", env.boolean(t.ascii)?)?;
            env.set(obj, c"next", env.number(t.next as f64)?)?;
            // Large texts are handed over without a copy; JS decodes them in slices.
            env.set(obj, c"text", env.buffer(t.text)?)?;
            Ok(obj)
        }
    }
}

/// A JS error for a kernel error.
pub(super) fn error(env: Env, e: &KernelError) -> JsResult<Value> {
    let class = match e.kind {
        ErrorKind::Type => ErrorClass::Type,
        ErrorKind::Range => ErrorClass::Range,
        ErrorKind::Generic | ErrorKind::Syntax { .. } => ErrorClass::Error,
    };
    let err = env.error(class, e.code, &e.message)?;
    if let ErrorKind::Syntax { line } = e.kind {
        env.set(err, c"line", env.number(line.into())?)?;
    }
    Ok(err)
}
