//! Kernel results and errors as JS values.

use super::js::{Env, ErrorClass, JsResult, Value};
use crate::kernels::{ErrorKind, KernelError, Output, Packed};
use crate::pending::Outputs;
use std::ffi::CString;

/// A kernel output as a JS value.
pub(super) fn to_js(env: Env, out: Output) -> JsResult<Value> {
    match out {
        Output::Null => env.null(),
        Output::Bool(b) => env.boolean(b),
        Output::Number(n) => env.number(n),
        Output::Str(s) => env.string(&s),
        Output::Bytes(b) => env.buffer(b),
        Output::BigUint(n) => env.bigint_u128(n),
        Output::Packed(p) => packed(env, *p),
        Output::Object(props) => object(env, props),
    }
}

fn object(env: Env, props: Vec<(&'static str, Output)>) -> JsResult<Value> {
    let obj = env.object()?;
    for (key, v) in props {
        // Keys are the kernels' own identifiers, never input: a NUL in one is a kernel bug.
        let key = CString::new(key).expect("property names have no NUL");
        env.set(obj, &key, to_js(env, v)?)?;
    }
    Ok(obj)
}

/// The parsers' packed piece: an object with the fields of [`Packed`], camelCased (the one
/// place its JS shape is made; lib/csv.js and lib/json.js read it).
fn packed(env: Env, p: Packed) -> JsResult<Value> {
    let obj = env.object()?;
    env.set(obj, c"done", env.boolean(p.done)?)?;
    env.set(obj, c"next", env.number(p.next as f64)?)?;
    env.set(obj, c"nextUnits", env.number(p.next_units as f64)?)?;
    env.set(obj, c"kind", env.number(p.kind.into())?)?;
    env.set(obj, c"offsets", env.uint32_array(&p.offsets)?)?;
    env.set(obj, c"rows", env.uint32_array(&p.rows)?)?;
    env.set(obj, c"rowBytes", env.uint32_array(&p.row_bytes)?)?;
    env.set(obj, c"types", env.uint8_array(&p.types)?)?;
    let nums = env.float64_array(p.nums.len(), std::iter::once(&p.nums[..]))?;
    env.set(obj, c"nums", nums)?;
    env.set(obj, c"ascii", env.boolean(p.ascii)?)?;
    // Large texts are handed over without a copy; JS decodes them in slices.
    env.set(obj, c"text", env.buffer(p.text)?)?;
    Ok(obj)
}

/// Concatenates a batch's chunk outputs: one `Float64Array` when every output is a number
/// (`index.js` turns it into an Array), else one Array.
pub(super) fn batch(env: Env, parts: Vec<Outputs>, inputs: usize) -> JsResult<Value> {
    if parts.iter().all(|p| matches!(p, Outputs::Numbers(_))) {
        let slices = parts.iter().filter_map(|p| match p {
            Outputs::Numbers(v) => Some(v.as_slice()),
            Outputs::Values(_) => None,
        });
        return env.float64_array(inputs, slices);
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
            Outputs::Values(v) => v.into_iter().try_for_each(|o| put(to_js(env, o)?))?,
        }
    }
    Ok(arr)
}

/// A JS error for a kernel (or pool) error, with `line`/`column`/`position` for text errors.
pub(super) fn error(env: Env, e: &KernelError) -> JsResult<Value> {
    let class = match e.kind {
        ErrorKind::Type => ErrorClass::Type,
        ErrorKind::Range => ErrorClass::Range,
        ErrorKind::Syntax => ErrorClass::Syntax,
        ErrorKind::Generic => ErrorClass::Error,
    };
    let err = env.error(class, e.code, &e.message)?;
    if let Some(at) = e.at {
        env.set(err, c"line", env.number(at.line.into())?)?;
        if let Some(c) = at.column {
            env.set(err, c"column", env.number(c.into())?)?;
        }
        if let Some(p) = at.position {
            env.set(err, c"position", env.number(p as f64)?)?;
        }
    }
    Ok(err)
}
