//! Reading a model while its own `fit()` (or `evaluate()`, `predict()`) runs, for R code the
//! loop calls: `saveRDS(model)`, `save_model()`, `save_model_hdf5()` in a callback or a
//! generator. The loop holds the model then (its handle is empty); the core lends it to
//! the code it waits on (`rkeras_core::paused`) and this file finds the loan of the model
//! behind a handle: [`with_model`](crate::r_api::with_model) records which model it took out
//! of which handle.

use extendr_api::prelude::*;
use rkeras_core::model::Model;
use std::cell::RefCell;

type R<T> = std::result::Result<T, String>;

thread_local! {
    /// (handle, model address) for each model taken out of its handle, innermost last.
    static TAKEN: RefCell<Vec<(usize, usize)>> = const { RefCell::new(Vec::new()) };
}

/// The key of a handle: the address of the R external pointer object (also what
/// `model$state` holds, see `src/state_altrep.c`).
pub(crate) fn key(h: &Robj) -> usize {
    unsafe { h.get() as usize }
}

struct Taken;

impl Drop for Taken {
    fn drop(&mut self) {
        TAKEN.with(|t| t.borrow_mut().pop());
    }
}

/// Runs `f` with the model at address `model` recorded as taken out of the handle `handle`.
pub(crate) fn taken<T>(handle: usize, model: usize, f: impl FnOnce() -> T) -> T {
    TAKEN.with(|t| t.borrow_mut().push((handle, model)));
    let _taken = Taken;
    f()
}

fn taken_model(handle: usize) -> Option<usize> {
    TAKEN.with(|t| t.try_borrow().ok().and_then(|t| t.iter().rev().find(|(h, _)| *h == handle).map(|(_, m)| *m)))
}

const BUSY: &str = "the model is busy: it cannot be used from inside its own fit()";

/// Runs `f` on the model behind `h` for reading: the model itself when it is in its handle
/// (tag 0), otherwise the model its running loop lends to the R code now running, as of
/// the last finished step, tagged with the loan's serial number (`rkeras_core::paused`).
pub(crate) fn read_model<T>(h: Robj, f: impl FnOnce(&Model<f32>) -> R<T>) -> R<(u64, T)> {
    let Some(at) = taken_model(key(&h)) else {
        return crate::r_api::with_model(h, |m| f(m)).map(|v| (0, v));
    };
    match rkeras_core::paused::peek::<f32, _>(at, f) {
        None => Err(BUSY.into()),
        Some(Err(e)) => Err(format!("{BUSY}: {e}")),
        Some(Ok((serial, r))) => r.map(|v| (serial, v)),
    }
}

/// [`read_model`] without the tag.
pub(crate) fn with_model_ref<T>(h: Robj, f: impl FnOnce(&Model<f32>) -> R<T>) -> R<T> {
    read_model(h, f).map(|(_, v)| v)
}

/// For `src/state_altrep.c`: the tag the bytes of the model behind `handle` (a live
/// external pointer) would get now: 0 when it is in its handle, the loan's serial number
/// when its loop lends it, -2 when it cannot be read now. Never allocates, never unwinds.
#[no_mangle]
pub extern "C" fn rkeras_state_tag(handle: extendr_api::SEXP) -> f64 {
    std::panic::catch_unwind(|| match taken_model(handle as usize) {
        None => 0.0,
        Some(at) => rkeras_core::paused::serial(at).map_or(-2.0, |s| s as f64),
    })
    .unwrap_or(-2.0)
}
