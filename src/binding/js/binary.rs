//! The binary and numeric conversions of [`Env`]: views of JS buffers, typed arrays made from
//! Rust slices, `Buffer`s handed over without a copy, and bigints. Same invariants as the
//! parent module.

use super::{ok, ByteView, Env, Fail, JsResult, Value};
use napi::sys;
use std::ffi::c_void;
use std::ptr;

impl Env {
    /// A bigint's sign (true if negative) and magnitude, or `None` as the magnitude when it
    /// needs more than 128 bits.
    pub fn get_bigint_u128(self, v: Value) -> JsResult<(bool, Option<u128>)> {
        let mut sign = 0;
        let mut words = [0u64; 2];
        let mut count = words.len();
        // SAFETY: env and value invariants; `words` has room for `count` words; Node writes at
        // most that many and sets `count` to the number the bigint needs.
        ok(unsafe {
            sys::napi_get_value_bigint_words(self.0, v, &mut sign, &mut count, words.as_mut_ptr())
        })?;
        let magnitude =
            (count <= words.len()).then(|| u128::from(words[1]) << 64 | u128::from(words[0]));
        Ok((sign != 0, magnitude))
    }

    /// A non-negative bigint.
    pub fn bigint_u128(self, n: u128) -> JsResult<Value> {
        let words = [n as u64, (n >> 64) as u64];
        let mut out = ptr::null_mut();
        // SAFETY: env invariant; `words` holds the 2 words Node reads.
        ok(unsafe {
            sys::napi_create_bigint_words(self.0, 0, words.len(), words.as_ptr(), &mut out)
        })?;
        Ok(out)
    }

    /// The bytes behind a Buffer, TypedArray, DataView or ArrayBuffer; `Ok(None)` for any other
    /// value; `Err` for a detached buffer.
    pub fn byte_view(self, v: Value) -> JsResult<Option<ByteView>> {
        let (mut is_ta, mut is_dv, mut is_ab) = (false, false, false);
        let mut data: *mut c_void = ptr::null_mut();
        let mut len = 0usize;
        let mut backing: Value = ptr::null_mut();
        // SAFETY: env and value invariants; out-pointers are valid locals.
        unsafe {
            ok(sys::napi_is_typedarray(self.0, v, &mut is_ta))?;
            if is_ta {
                let (mut ty, mut count, mut offset) = (0, 0usize, 0usize);
                ok(sys::napi_get_typedarray_info(
                    self.0,
                    v,
                    &mut ty,
                    &mut count,
                    &mut data,
                    &mut backing,
                    &mut offset,
                ))?;
                len = count * typed_array_element_size(ty);
            } else {
                ok(sys::napi_is_dataview(self.0, v, &mut is_dv))?;
                if is_dv {
                    let mut offset = 0usize;
                    ok(sys::napi_get_dataview_info(
                        self.0,
                        v,
                        &mut len,
                        &mut data,
                        &mut backing,
                        &mut offset,
                    ))?;
                } else {
                    ok(sys::napi_is_arraybuffer(self.0, v, &mut is_ab))?;
                    if !is_ab {
                        return Ok(None);
                    }
                    backing = v;
                    ok(sys::napi_get_arraybuffer_info(
                        self.0, v, &mut data, &mut len,
                    ))?;
                }
            }
        }
        if !backing.is_null() && self.is_detached(backing)? {
            return Err(Fail(sys::Status::napi_detachable_arraybuffer_expected));
        }
        if data.is_null() {
            len = 0;
        }
        Ok(Some(ByteView {
            ptr: data as *const u8,
            len,
        }))
    }

    fn is_detached(self, ab: Value) -> JsResult<bool> {
        let mut d = false;
        // SAFETY: env invariant; `ab` is an ArrayBuffer value from this scope. For a
        // SharedArrayBuffer Node-API reports false (it cannot be detached).
        ok(unsafe { sys::napi_is_detached_arraybuffer(self.0, ab, &mut d) })?;
        Ok(d)
    }

    /// The elements of a `Float64Array`, or `None` for any other value. The slice is valid for
    /// the current callback (JS cannot run, so cannot detach or resize it, meanwhile).
    pub fn float64_elements<'a>(self, v: Value) -> JsResult<Option<&'a [f64]>> {
        let mut is_ta = false;
        let (mut ty, mut len, mut data, mut offset) = (0, 0usize, ptr::null_mut(), 0usize);
        let mut backing = ptr::null_mut();
        // SAFETY: env and value invariants; out-pointers are valid locals.
        unsafe {
            ok(sys::napi_is_typedarray(self.0, v, &mut is_ta))?;
            if !is_ta {
                return Ok(None);
            }
            ok(sys::napi_get_typedarray_info(
                self.0,
                v,
                &mut ty,
                &mut len,
                &mut data,
                &mut backing,
                &mut offset,
            ))?;
        }
        if ty != sys::TypedarrayType::float64_array {
            return Ok(None);
        }
        if len == 0 || data.is_null() {
            return Ok(Some(&[]));
        }
        // SAFETY: a Float64Array's data pointer is 8-byte aligned (its byteOffset must be a
        // multiple of 8) and holds `len` doubles; no JS runs while the slice is used.
        Ok(Some(unsafe {
            std::slice::from_raw_parts(data as *const f64, len)
        }))
    }

    /// A new `Float64Array` of `len` elements, filled with the concatenated `parts` (whose
    /// lengths add up to at most `len`; the rest stays zero).
    pub fn float64_array<'a>(
        self,
        len: usize,
        parts: impl Iterator<Item = &'a [f64]>,
    ) -> JsResult<Value> {
        let (mut ab, mut data, mut out) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
        // SAFETY: env invariant; Node allocates `len * 8` zeroed, writable, suitably aligned
        // bytes at `data`; we write within them before any JS can see the array.
        unsafe {
            ok(sys::napi_create_arraybuffer(
                self.0,
                len * 8,
                &mut data,
                &mut ab,
            ))?;
            let dst = data.cast::<f64>();
            let mut at = 0usize;
            for p in parts {
                let n = p.len().min(len - at);
                if n > 0 {
                    ptr::copy_nonoverlapping(p.as_ptr(), dst.add(at), n);
                }
                at += n;
            }
            ok(sys::napi_create_typedarray(
                self.0,
                sys::TypedarrayType::float64_array,
                len,
                ab,
                0,
                &mut out,
            ))?;
        }
        Ok(out)
    }

    /// A new typed array of type `ty` holding a copy of the `count` elements of `elem` bytes
    /// each at `src`.
    ///
    /// # Safety
    /// `src` must point to `count * elem` readable bytes (it may dangle when `count` is 0).
    unsafe fn typed_copy(
        self,
        ty: i32,
        elem: usize,
        src: *const u8,
        count: usize,
    ) -> JsResult<Value> {
        let (mut ab, mut data, mut out) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
        let len = count * elem;
        // SAFETY: env invariant; Node allocates `len` writable bytes at `data`, which we fill
        // from `src` (readable for `len` bytes, the caller's contract) before any JS can see
        // the array; nothing is copied when `len` is 0.
        unsafe {
            ok(sys::napi_create_arraybuffer(
                self.0, len, &mut data, &mut ab,
            ))?;
            if len > 0 {
                ptr::copy_nonoverlapping(src, data.cast::<u8>(), len);
            }
            ok(sys::napi_create_typedarray(
                self.0, ty, count, ab, 0, &mut out,
            ))?;
        }
        Ok(out)
    }

    /// A new `Uint32Array` with a copy of `v`.
    pub fn uint32_array(self, v: &[u32]) -> JsResult<Value> {
        // SAFETY: a `&[u32]` is `v.len() * 4` readable bytes.
        unsafe {
            self.typed_copy(
                sys::TypedarrayType::uint32_array,
                4,
                v.as_ptr().cast(),
                v.len(),
            )
        }
    }

    /// A new `Uint8Array` with a copy of `v`.
    pub fn uint8_array(self, v: &[u8]) -> JsResult<Value> {
        // SAFETY: a `&[u8]` is `v.len()` readable bytes.
        unsafe { self.typed_copy(sys::TypedarrayType::uint8_array, 1, v.as_ptr(), v.len()) }
    }

    /// A `Buffer` holding `bytes`: copied when small, handed over without a copy when large.
    pub fn buffer(self, bytes: Vec<u8>) -> JsResult<Value> {
        const HAND_OVER_ABOVE: usize = 64 * 1024;
        let mut out = ptr::null_mut();
        if bytes.len() > HAND_OVER_ABOVE {
            let boxed = Box::new(bytes);
            let (data, len) = (boxed.as_ptr() as *mut c_void, boxed.len());
            let hint = Box::into_raw(boxed);
            // SAFETY: env invariant; `data`/`len` describe the heap block owned by `hint`, which
            // stays alive (and unmoved: it is a boxed Vec's buffer) until `drop_vec` frees it.
            let status = unsafe {
                sys::napi_create_external_buffer(
                    self.0,
                    len,
                    data,
                    Some(drop_vec),
                    hint.cast(),
                    &mut out,
                )
            };
            if status == sys::Status::napi_ok {
                return Ok(out);
            }
            // Runtimes that forbid external buffers: take the Vec back and copy.
            // SAFETY: Node-API did not take ownership, so `hint` is still ours.
            let bytes = unsafe { Box::from_raw(hint) };
            return self.buffer_copy(&bytes);
        }
        self.buffer_copy(&bytes)
    }

    fn buffer_copy(self, bytes: &[u8]) -> JsResult<Value> {
        let mut out = ptr::null_mut();
        let mut data = ptr::null_mut();
        // SAFETY: env invariant; Node copies `bytes.len()` bytes from a valid slice.
        ok(unsafe {
            sys::napi_create_buffer_copy(
                self.0,
                bytes.len(),
                bytes.as_ptr().cast(),
                &mut data,
                &mut out,
            )
        })?;
        Ok(out)
    }
}

fn typed_array_element_size(ty: i32) -> usize {
    use sys::TypedarrayType as T;
    match ty {
        T::int8_array | T::uint8_array | T::uint8_clamped_array => 1,
        T::int16_array | T::uint16_array => 2,
        T::int32_array | T::uint32_array | T::float32_array => 4,
        11 => 2, // float16_array, in newer Node-API headers
        _ => 8,  // float64, bigint64, biguint64
    }
}

unsafe extern "C" fn drop_vec(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the `Box<Vec<u8>>` leaked in `Env::buffer`; Node calls this finalizer
    // exactly once, after the Buffer is unreachable.
    drop(unsafe { Box::from_raw(hint.cast::<Vec<u8>>()) });
}
