//! Batch sources from R's data descriptions: `list(type = "arrays", x, y, w)` or
//! `list(type = "generator", fn, steps)`.

use crate::r_convert::{bad_value, from_tensor, matrix_dims, to_tensor, to_weights, with_columns, Columns};
use crate::r_generator::{CondSlot, Expect, RGenerator};
use crate::r_interrupt;
use extendr_api::prelude::*;
use rkeras_core::data::{check_x_shape, check_xy};
use rkeras_core::model::Model;
use rkeras_core::tensor::Tensor;

/// In-memory data converted once to row-major f32.
pub struct Arrays {
    pub x: Tensor<f32>,
    pub y: Tensor<f32>,
    pub w: Option<Vec<f32>>,
}

/// What R described.
pub enum Data {
    Arrays(Arrays),
    Generator(Function, usize),
}

/// A length-1 double or integer as f64.
pub fn number(x: &Robj) -> Option<f64> {
    x.as_real().or_else(|| x.as_integer().map(|v| v as f64))
}

fn field(d: &Robj, name: &str) -> Robj {
    d.dollar(name).unwrap_or_else(|_| ().into())
}

/// Converts and checks R's data description against the model (`needs_y`: targets required).
pub fn read_data(d: &Robj, model: &Model<f32>, needs_y: bool, prefix: &str) -> std::result::Result<Data, String> {
    let ty = field(d, "type").as_str().unwrap_or("").to_string();
    if ty == "generator" {
        let f = field(d, "fn").as_function().ok_or("generator must be a function")?;
        let steps = number(&field(d, "steps")).unwrap_or(0.0) as usize;
        return Ok(Data::Generator(f, steps));
    }
    let x = to_tensor(&field(d, "x"), &format!("{prefix}x"))?;
    let y = if needs_y { to_tensor(&field(d, "y"), &format!("{prefix}y"))? } else { Tensor::default() };
    let loss = model.compiled.as_ref().map(|c| c.spec.loss);
    let out = model.output_shape();
    check_xy(&x, needs_y.then_some(&y), model.input_shape(), &out, loss).map_err(|e| format!("{prefix}{e}"))?;
    let w = to_weights(&field(d, "w"), x.rows(), &format!("{prefix}sample_weight"))?;
    Ok(Data::Arrays(Arrays { x, y, w }))
}

/// Hands converted arrays' memory on to the next call's conversion
/// ([`rkeras_core::convert::buffer`]): a `fit()` in a loop then writes into pages that are
/// mapped already instead of faulting in a fresh copy each call.
pub fn recycle(d: Data) {
    if let Data::Arrays(a) = d {
        rkeras_core::convert::recycle(a.x.data);
        rkeras_core::convert::recycle(a.y.data);
    }
}

/// `x` of an in-memory data description (`list(type = "arrays", x, ...)`), else None.
pub fn arrays_x(d: &Robj) -> Option<Robj> {
    (field(d, "type").as_str() == Some("arrays")).then(|| field(d, "x"))
}

/// Why a chunked prediction stopped.
enum Stop {
    Bad(rkeras_core::convert::BadValue),
    Interrupted,
}

/// The model's predictions for an R array, read and converted a chunk at a time (on both
/// threads) rather than copied whole first, as `rk_predict`'s result list: `status = "ok"`
/// with the value, or `status = "interrupted"` when Esc / Ctrl-C came (polled before each
/// chunk, like fit() polls before each batch; R then raises `rkeras_interrupted`).
pub fn predict_array(model: &mut Model<f32>, x: &Robj, batch_size: usize) -> std::result::Result<Robj, String> {
    let dims = matrix_dims(x);
    let r = if dims.iter().product::<usize>() == x.len() && check_x_shape(&dims, model.input_shape()).is_ok() {
        let run = |c: Columns<'_>| {
            model.predict_with(c.rows(), batch_size, |rows, dst| {
                if r_interrupt::pending() {
                    return Err(Stop::Interrupted);
                }
                c.read(rows, dst).map_err(Stop::Bad)
            })
        };
        with_columns(x, &dims, run)
    } else {
        None
    };
    let t = match r {
        Some(Ok(t)) => t,
        Some(Err(Stop::Bad(bad))) => return Err(bad_value("x", &dims, bad)),
        Some(Err(Stop::Interrupted)) => return Ok(list!(status = "interrupted").into()),
        None => {
            // other types and shapes: the full conversion gives the errors (or handles logicals)
            let t = to_tensor(x, "x")?;
            check_x_shape(&t.shape, model.input_shape())?;
            model.predict(&t, batch_size)
        }
    };
    Ok(list!(status = "ok", value = from_tensor(&t), warnings = Vec::<String>::new()).into())
}

/// A generator source for this model.
pub fn generator(
    model: &Model<f32>,
    f: Function,
    steps: usize,
    needs_y: bool,
    slot: &CondSlot,
    overlap: bool,
) -> RGenerator {
    let expect = Expect {
        input_shape: model.input_shape().to_vec(),
        output_shape: model.output_shape(),
        loss: model.compiled.as_ref().map(|c| c.spec.loss),
        needs_y,
    };
    RGenerator::new(f, steps, expect, slot.clone(), overlap)
}
