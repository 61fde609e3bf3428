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

/// For `src/state_altrep.c`: the model behind `handle` in rkeras's file format (a raw
/// vector) and its tag in `*tag` (see [`crate::r_lent::rkeras_state_tag`]), or an error
/// message (a string) when the handle is dead or the model cannot be read now. During a
/// fit the bytes are those of the model as of the last finished step (`crate::r_lent`).
/// Never unwinds into C.
#[no_mangle]
pub extern "C" fn rkeras_state_bytes(handle: extendr_api::SEXP, tag: *mut f64) -> extendr_api::SEXP {
    let r = std::panic::catch_unwind(|| {
        let h = unsafe { Robj::from_sexp(handle) };
        crate::r_lent::read_model(h, |m| Ok(m.to_bytes(true)))
    });
    let out: Robj = match r {
        Ok(Ok((t, bytes))) => {
            if !tag.is_null() {
                unsafe { *tag = t as f64 };
            }
            Raw::from_bytes(&bytes).into()
        }
        Ok(Err(e)) => e.as_str().into(),
        Err(_) => "internal error (panic) while serializing the model".into(),
    };
    // the caller protects it at once (no allocation happens in between)
    unsafe { out.get() }
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
