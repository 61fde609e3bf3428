//! `array_reshape()` results that only permute columns are views of their source
//! (`src/reshape_altrep.c`); R copies one out when R code asks for its memory, and
//! [`view_parts`] lets the conversion to tensors read it straight from the source.

use extendr_api::prelude::*;
use extendr_api::SEXP;

// SEXP points to an opaque R struct: fine across FFI
#[allow(improper_ctypes)]
extern "C" {
    fn rkeras_reshape_view(src: SEXP, prefix: SEXP, idx: SEXP) -> SEXP;
    fn rkeras_view_parts(x: SEXP) -> SEXP;
}

/// A view of `x` (double or integer) as a `rows x (length / rows)` matrix with its
/// columns reordered to `cols` (1-based), with dimensions `dim`.
pub fn reshape_view(x: Robj, rows: i32, cols: Vec<i32>, dim: Vec<i32>) -> std::result::Result<Robj, String> {
    if !matches!(x.rtype(), Rtype::Doubles | Rtype::Integers) {
        return Err(format!("cannot reshape a {} array here", crate::r_convert::r_typeof(&x)));
    }
    let rows = rows.max(1) as usize;
    let ncol = x.len() / rows;
    if ncol * rows != x.len() || cols.iter().any(|&c| c < 1 || c as usize > ncol) {
        return Err(format!("column indexes must lie in 1..{ncol} of a {rows}-row matrix"));
    }
    if dim.iter().map(|&d| d.max(0) as usize).product::<usize>() != rows * cols.len() {
        return Err("dim does not match the reshaped length".into());
    }
    let prefix = Robj::from(rows as i32);
    let idx = Robj::from(cols);
    // SAFETY: the arguments are checked and protected by their Robj owners for the call.
    let mut view = unsafe { Robj::from_sexp(rkeras_reshape_view(x.get(), prefix.get(), idx.get())) };
    view.set_attrib("dim", dim).map_err(|e| e.to_string())?;
    Ok(view)
}

/// The source, its rows and the 1-based columns of a view not copied out yet.
pub fn view_parts(x: &Robj) -> Option<(Robj, usize, Vec<i32>)> {
    // SAFETY: reads the ALTREP's fields; the result is owned by `x`.
    let parts = unsafe { Robj::from_sexp(rkeras_view_parts(x.get())) };
    let list = parts.as_list()?;
    let src = list.elt(0).ok()?;
    let rows = list.elt(1).ok()?.as_real()? as usize;
    let cols = list.elt(2).ok()?.as_integer_slice()?.to_vec();
    Some((src, rows, cols))
}
