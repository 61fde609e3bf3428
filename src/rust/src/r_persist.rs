//! Conversions for persistence and introspection: JSON (headers, specs) to R values.

use extendr_api::prelude::*;
use serde_json::Value;

/// A JSON value as R data: objects become named lists, arrays unnamed lists (so that
/// `to_json()` sends them back as arrays), integers that fit become integers, other numbers
/// doubles, null `NULL`.
pub fn json_to_r(v: &Value) -> Robj {
    match v {
        Value::Null => ().into(),
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) if i.unsigned_abs() < i32::MAX as u64 => (i as i32).into(),
            _ => n.as_f64().unwrap_or(f64::NAN).into(),
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(a) => List::from_values(a.iter().map(json_to_r)).into(),
        Value::Object(m) => List::from_names_and_values(m.keys(), m.values().map(json_to_r))
            .map(Robj::from)
            .unwrap_or_else(|_| List::new(0).into()),
    }
}

/// Any serializable core value (a spec) as R data.
pub fn to_r<T: serde::Serialize>(x: &T) -> Robj {
    serde_json::to_value(x).map(|v| json_to_r(&v)).unwrap_or_else(|_| ().into())
}

/// For `src/state_altrep.c`: the model behind `handle` in rkeras's file format and its tag
/// in `*tag` (see [`crate::r_lent::rkeras_state_tag`]), or with `*is_error = 1` an error
/// message (NUL-terminated) when the handle is dead or the model cannot be read now. During
/// a fit the bytes are those of the model as of the last finished step (`crate::r_lent`).
/// The bytes are a Rust allocation of `*len` bytes: C copies them into an R vector under
/// `R_ExecWithCleanup` and gives them back to [`rkeras_bytes_free`], so an R allocation
/// error never jumps over a Rust frame and never leaks them. Never unwinds into C.
#[no_mangle]
pub extern "C" fn rkeras_state_take(
    handle: extendr_api::SEXP,
    tag: *mut f64,
    len: *mut usize,
    is_error: *mut i32,
) -> *mut u8 {
    let r = std::panic::catch_unwind(|| {
        let h = unsafe { Robj::from_sexp(handle) };
        crate::r_lent::read_model(h, |m| Ok(m.to_bytes(true)))
    });
    let (bytes, error) = match r {
        Ok(Ok((t, bytes))) => {
            if !tag.is_null() {
                unsafe { *tag = t as f64 };
            }
            (bytes, false)
        }
        Ok(Err(e)) => (format!("{e}\0").into_bytes(), true),
        Err(_) => (b"internal error (panic) while serializing the model\0".to_vec(), true),
    };
    let bytes = bytes.into_boxed_slice();
    unsafe {
        *len = bytes.len();
        *is_error = error as i32;
    }
    Box::into_raw(bytes) as *mut u8
}

/// Frees bytes [`rkeras_state_take`] handed out (`len` as it said).
#[no_mangle]
pub extern "C" fn rkeras_bytes_free(ptr: *mut u8, len: usize) {
    if !ptr.is_null() {
        // SAFETY: from Box::into_raw of a boxed slice of `len` bytes in rkeras_state_take.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
    }
}

// SEXP points to an opaque R struct: fine across FFI
#[allow(improper_ctypes)]
extern "C" {
    fn rkeras_new_state(handle: extendr_api::SEXP) -> extendr_api::SEXP;
}

/// A lazy `model$state` for the model behind `h` (see `src/state_altrep.c`).
pub fn lazy_state(h: &Robj) -> Robj {
    unsafe { Robj::from_sexp(rkeras_new_state(h.get())) }
}
