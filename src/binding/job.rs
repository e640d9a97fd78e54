//! The pool's job: a kernel's prepared arguments and its input's data, and the conversion of a
//! JS input into them.
//!
//! # Input contract
//! Strings, numbers and binary inputs up to [`COPY_MAX`] bytes are copied on the JS thread.
//! Larger binary inputs are read in place: the job holds a Node-API reference to the view so
//! the memory stays alive, and the reference is released on the JS thread when the task leaves
//! the pool. JS must not detach, transfer or write to such a buffer while its task is pending.
//! Object inputs `{ data, ...params }` follow the same rule for `data`; the params a kernel
//! declares are always copied, and other properties are never read. Object inputs of
//! [`InputKind::Object`] kernels (the password hashes) have no `data`: the declared properties
//! are copied (passwords and salts are small) and binary or non-object inputs are refused.

use super::core::Defaults;
use super::js::{ByteView, Env, Fail, JsRef, Value as JsValue};
use crate::executor::{self, BatchKey, CancelToken};
use crate::kernels::{
    Args, BigInt, ErrorKind, Field, Fields, Input, InputKind, KernelError, KernelId, Output, Param,
    RunError, Ty, Value,
};
use crate::pending::{JobOutput, Outputs};
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

/// An input's data: a plain value, or a record's `data`.
pub(super) enum Data {
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    Bytes(Vec<u8>),
    Js(JsBytes),
}

impl Data {
    fn view(&self) -> Value<'_> {
        match self {
            Data::Null => Value::Null,
            Data::Bool(b) => Value::Bool(*b),
            Data::Number(n) => Value::Number(*n),
            Data::Str(s) => Value::Str(s),
            Data::Bytes(b) => Value::Bytes(b),
            // SAFETY: see `JsBytes`: `ptr` points to `len` readable bytes for as long as the
            // job (and so `keep`) lives; `len > COPY_MAX`, so `ptr` is not null.
            Data::Js(j) => Value::Bytes(unsafe { std::slice::from_raw_parts(j.ptr, j.len) }),
        }
    }

    fn release(self, env: Env) {
        if let Data::Js(j) = self {
            env.delete_ref(j.keep);
        }
    }

    fn byte_len(&self) -> usize {
        match self {
            Data::Str(s) => s.len(),
            Data::Bytes(b) => b.len(),
            Data::Js(j) => j.len,
            Data::Null | Data::Bool(_) | Data::Number(_) => 0,
        }
    }

    fn in_place(&self) -> bool {
        matches!(self, Data::Js(_))
    }
}

/// One task's input: its data and its kernel's prepared arguments (which name the kernel).
pub(super) struct Prepared {
    data: Data,
    args: Args,
}

pub(super) enum Payload {
    One(Prepared),
    Many(Vec<Prepared>),
    /// A batch of plain numbers, passed in as one `Float64Array`. A number's arguments are the
    /// number itself, so the worker prepares each again (a range check) rather than carrying
    /// an `Args` beside every number.
    Numbers(KernelId, Vec<f64>),
}

pub(super) struct Job {
    payload: Payload,
    /// Set when the payload reads JS memory in place.
    readers: Option<Arc<InPlaceReaders>>,
}

impl Job {
    pub fn new(payload: Payload, readers: &Arc<InPlaceReaders>) -> Self {
        let in_place = match &payload {
            Payload::One(p) => p.data.in_place(),
            Payload::Many(v) => v.iter().any(|p| p.data.in_place()),
            Payload::Numbers(..) => false,
        };
        Job {
            payload,
            readers: in_place.then(|| Arc::clone(readers)),
        }
    }

    /// Releases what the job holds of JS. JS thread only (it takes an `Env`).
    pub fn release(self, env: Env) {
        match self.payload {
            Payload::One(p) => p.data.release(env),
            Payload::Many(v) => v.into_iter().for_each(|p| p.data.release(env)),
            Payload::Numbers(..) => {}
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
            Payload::One(p) => JobOutput::One(p.args.run(p.data.view(), token)),
            Payload::Many(inputs) => JobOutput::Many(run_all(
                inputs.iter().map(|p| p.args.run(p.data.view(), token)),
                Vec::with_capacity(inputs.len()),
                token,
            )),
            Payload::Numbers(kernel, nums) => JobOutput::Many(run_numbers(*kernel, nums, token)),
        }
    }

    fn batch(&self) -> Option<BatchKey> {
        match &self.payload {
            Payload::One(p) => p.args.batch(),
            Payload::Many(_) | Payload::Numbers(..) => None,
        }
    }

    fn run_batch(jobs: &mut [&mut Self], tokens: &[CancelToken<'_>]) -> Vec<JobOutput> {
        let outs = {
            let _reading: Vec<Reading<'_>> = jobs
                .iter()
                .filter_map(|j| j.readers.as_deref())
                .map(|r| {
                    r.0.fetch_add(1, Ordering::AcqRel);
                    Reading(r)
                })
                .collect();
            let items: Option<Vec<_>> = jobs
                .iter()
                .map(|j| match &j.payload {
                    Payload::One(p) => Some((&p.args, p.data.view())),
                    Payload::Many(_) | Payload::Numbers(..) => None,
                })
                .collect();
            items.and_then(|items| Args::run_batch(&items, tokens))
        };
        match outs {
            Some(outs) => outs.into_iter().map(JobOutput::One).collect(),
            // Not one kernel's single tasks (their batch keys say they are): one by one.
            None => jobs
                .iter_mut()
                .zip(tokens)
                .map(|(j, t)| executor::Job::run(&mut **j, t))
                .collect(),
        }
    }
}

/// Prepares and runs `kernel` on a number (checked on the JS thread already).
fn run_number(kernel: KernelId, n: f64, token: &CancelToken<'_>) -> Result<Output, RunError> {
    let value = Value::Number(n);
    kernel
        .prepare(Input::plain(kernel.input(), value))?
        .run(value, token)
}

/// The numbers fast path: outputs stay unboxed while every output is a number.
fn run_numbers(
    kernel: KernelId,
    nums: &[f64],
    token: &CancelToken<'_>,
) -> Result<Outputs, (usize, RunError)> {
    let mut out = Vec::with_capacity(nums.len());
    for (i, &n) in nums.iter().enumerate() {
        if i % 64 == 0 && token.is_cancelled() {
            return Err((i, RunError::Cancelled));
        }
        match run_number(kernel, n, token) {
            Ok(Output::Number(x)) => out.push(x),
            Ok(other) => {
                // Not a numeric kernel after all: finish generically.
                let mut values: Vec<Output> = out.into_iter().map(Output::Number).collect();
                values.push(other);
                let rest = nums[i + 1..].iter().map(|&n| run_number(kernel, n, token));
                return run_all(rest, values, token).map_err(|(j, e)| (i + 1 + j, e));
            }
            Err(e) => return Err((i, e)),
        }
    }
    Ok(Outputs::Numbers(out))
}

/// Runs a chunk's kernels in order (the iterator runs each), stopping at the first failure or
/// cancellation.
fn run_all(
    runs: impl Iterator<Item = Result<Output, RunError>>,
    mut out: Vec<Output>,
    token: &CancelToken<'_>,
) -> Result<Outputs, (usize, RunError)> {
    for (i, r) in runs.enumerate() {
        if token.is_cancelled() {
            return Err((i, RunError::Cancelled));
        }
        out.push(r.map_err(|e| (i, e))?);
    }
    Ok(Outputs::Values(out))
}

struct Reading<'a>(&'a InPlaceReaders);

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn type_name(env: Env, v: JsValue) -> &'static str {
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

fn wrong_type(kernel: KernelId, expected: &str, env: Env, v: JsValue) -> KernelError {
    KernelError::invalid_type(format!(
        "The \"input\" argument of kernel '{}' must be {expected}. Received type {}",
        kernel.name(),
        type_name(env, v)
    ))
}

fn unreadable(_: Fail) -> KernelError {
    KernelError::invalid_type("unreadable input")
}

fn detached() -> KernelError {
    KernelError::new(
        ErrorKind::Type,
        "ERR_INVALID_STATE",
        "The input's ArrayBuffer is detached",
    )
}

fn binary(env: Env, v: JsValue) -> Result<Option<Data>, KernelError> {
    let view = match env.byte_view(v) {
        Ok(Some(view)) => view,
        Ok(None) => return Ok(None),
        Err(_) => return Err(detached()),
    };
    let ByteView { ptr, len } = view;
    if len <= COPY_MAX {
        return Ok(Some(Data::Bytes(copy_view(ptr, len))));
    }
    let keep = env
        .create_ref(v, 1)
        .map_err(|_| KernelError::invalid_type("cannot hold the input"))?;
    Ok(Some(Data::Js(JsBytes { ptr, len, keep })))
}

fn copy_view(ptr: *const u8, len: usize) -> Vec<u8> {
    if len == 0 {
        return Vec::new();
    }
    // SAFETY: `byte_view` returned a non-null `ptr` to `len` bytes of a live, attached buffer;
    // we copy them right away on the JS thread.
    unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec()
}

/// Reads the declared params of an object input (copied).
fn fields(env: Env, obj: JsValue, spec: &'static [Param]) -> Result<Fields, KernelError> {
    Ok(Fields::new(spec, values(env, obj, spec)?))
}

fn values(env: Env, obj: JsValue, spec: &'static [Param]) -> Result<Vec<Field>, KernelError> {
    let mut values = Vec::with_capacity(spec.len());
    for p in spec {
        let key = CString::new(p.name).map_err(|_| KernelError::invalid_type("bad param name"))?;
        let v = env.get_named(obj, &key).map_err(unreadable)?;
        values.push(field(env, v, p)?);
    }
    Ok(values)
}

/// Copies one param of an object input; a plain object only where the param is declared as
/// one (then its declared params are read the same way).
fn field(env: Env, v: JsValue, param: &Param) -> Result<Field, KernelError> {
    Ok(match env.type_of(v).map_err(unreadable)? {
        T::napi_undefined => Field::Missing,
        T::napi_number => Field::Number(env.get_f64(v).map_err(unreadable)?),
        T::napi_boolean => Field::Bool(env.get_bool(v).map_err(unreadable)?),
        T::napi_bigint => {
            let (negative, magnitude) = env.get_bigint_u128(v).map_err(unreadable)?;
            Field::BigInt(BigInt {
                negative,
                magnitude,
            })
        }
        T::napi_string => Field::Str(env.get_string(v).map_err(unreadable)?),
        T::napi_object => match env.byte_view(v) {
            Ok(Some(ByteView { ptr, len })) => Field::Bytes(copy_view(ptr, len)),
            Ok(None) => match param.ty {
                Ty::Object(spec) if !env.is_array(v).map_err(unreadable)? => {
                    Field::Object(Fields::nested(param.name, spec, values(env, v, spec)?))
                }
                _ => Field::Other("object"),
            },
            Err(_) => return Err(detached()),
        },
        _ => Field::Other(type_name(env, v)),
    })
}

/// Reads an object input `{ data, ...params }`: the declared params (copied), then `data`
/// (read like a plain binary input, so a large `data` is read in place).
fn record(
    env: Env,
    kernel: KernelId,
    obj: JsValue,
    spec: &'static [Param],
) -> Result<(Data, Fields), KernelError> {
    let fields = fields(env, obj, spec)?;
    let v = env.get_named(obj, c"data").map_err(unreadable)?;
    let data = match env.type_of(v).map_err(unreadable)? {
        T::napi_string => Some(Data::Str(env.get_string(v).map_err(unreadable)?)),
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
    Ok((data, fields))
}

const ANY: &str = "null, a boolean, a number, a string or binary";

/// Reads a JS value as `kernel`'s input kind says.
fn read(env: Env, kernel: KernelId, v: JsValue) -> Result<(Data, Fields), KernelError> {
    let t = env.type_of(v).map_err(unreadable)?;
    let kind = kernel.input();
    let plain = |d: Data| Ok((d, Fields::absent(kind.params())));
    match (kind, t) {
        (InputKind::Ignored, _) => plain(Data::Null),
        (InputKind::Number | InputKind::Any, T::napi_number) => {
            plain(Data::Number(env.get_f64(v).map_err(unreadable)?))
        }
        (InputKind::Number, _) => Err(wrong_type(kernel, "of type number", env, v)),
        (InputKind::Any | InputKind::Data(_), T::napi_string) => {
            plain(Data::Str(env.get_string(v).map_err(unreadable)?))
        }
        (InputKind::Any, T::napi_null) => plain(Data::Null),
        (InputKind::Any, T::napi_boolean) => {
            plain(Data::Bool(env.get_bool(v).map_err(unreadable)?))
        }
        (InputKind::Any, T::napi_object) => match binary(env, v)? {
            Some(d) => plain(d),
            None => Err(wrong_type(kernel, ANY, env, v)),
        },
        (InputKind::Any, _) => Err(wrong_type(kernel, ANY, env, v)),
        (InputKind::Data(spec), T::napi_object) => match binary(env, v)? {
            Some(d) => plain(d),
            None => record(env, kernel, v, spec),
        },
        (InputKind::Data(_), _) => Err(wrong_type(kernel, RECORD, env, v)),
        (InputKind::Object(spec), T::napi_object) => match env.byte_view(v) {
            Ok(None) => Ok((Data::Null, fields(env, v, spec)?)),
            _ => Err(wrong_type(kernel, "an object", env, v)),
        },
        (InputKind::Object(_), _) => Err(wrong_type(kernel, "an object", env, v)),
    }
}

/// Converts a JS value to a task's input and runs the kernel's `prepare` with the pool's
/// params. Inputs carrying more than the pool's `maxInputBytes` of data are refused before any
/// kernel work.
pub(super) fn to_input(
    env: Env,
    kernel: KernelId,
    v: JsValue,
    defaults: &Defaults,
) -> Result<Prepared, KernelError> {
    let max_bytes = defaults.max_input;
    let (data, fields) = read(env, kernel, v)?;
    let len = data.byte_len() + fields.byte_len();
    if len > max_bytes {
        data.release(env);
        return Err(KernelError::new(
            ErrorKind::Range,
            "ERR_POOL_INPUT_TOO_LARGE",
            format!(
                "The input of kernel '{}' is {len} bytes, more than the pool's maxInputBytes \
                 ({max_bytes})",
                kernel.name()
            ),
        ));
    }
    match kernel.prepare(Input {
        value: data.view(),
        fields,
        pool: defaults.params,
    }) {
        Ok(args) => Ok(Prepared { data, args }),
        Err(e) => {
            data.release(env);
            Err(e)
        }
    }
}

/// Checks a number of a numeric batch the way `to_input` would.
pub(super) fn check_number(kernel: KernelId, n: f64) -> Result<(), KernelError> {
    kernel
        .prepare(Input::plain(kernel.input(), Value::Number(n)))
        .map(drop)
}

const BYTES: &str = "a string, Buffer, TypedArray, DataView or ArrayBuffer";
const RECORD: &str =
    "a string, Buffer, TypedArray, DataView, ArrayBuffer or an object with a \"data\" property";
