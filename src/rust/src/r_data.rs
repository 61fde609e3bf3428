//! Batch sources from R's data descriptions: `list(type = "arrays", x, y, w)` or
//! `list(type = "generator", fn, steps)`.

use crate::r_convert::{bad_value, from_tensor, matrix_dims, to_tensor, to_weights, with_columns, Columns};
use crate::r_generator::{CondSlot, Expect, RGenerator};
use crate::r_interrupt;
use extendr_api::prelude::*;
use rkeras_core::data::check_x_shape;
use rkeras_core::model::Model;
use rkeras_core::tensor::Tensor;

/// In-memory data converted once to row-major f32: one array per model input and (when
/// targets are needed) per output.
pub struct Arrays {
    pub xs: Vec<Tensor<f32>>,
    pub ys: Vec<Tensor<f32>>,
    pub w: Option<Vec<f32>>,
}

impl Arrays {
    pub fn rows(&self) -> usize {
        self.xs[0].rows()
    }
}

/// One array (a model with one input or output), or an unnamed list of arrays, one per model
/// input or output in order (R matches named lists to names before the call).
pub fn to_tensors(v: &Robj, n: usize, what: &str) -> std::result::Result<Vec<Tensor<f32>>, String> {
    let list = v.as_list().filter(|_| !v.inherits("data.frame"));
    match list {
        None if n == 1 => Ok(vec![to_tensor(v, what)?]),
        None => Err(format!(
            "`{what}` must be a list of {n} arrays (one per model {}), got a {} value",
            if what.ends_with('x') { "input" } else { "output" },
            crate::r_convert::r_typeof(v)
        )),
        Some(l) if l.len() != n => Err(format!(
            "`{what}` is a list of {} arrays, the model has {n} {}",
            l.len(),
            if what.ends_with('x') { "inputs" } else { "outputs" }
        )),
        Some(l) if n == 1 => Ok(vec![to_tensor(&l.elt(0).unwrap(), what)?]),
        Some(l) => l.values().enumerate().map(|(i, e)| to_tensor(&e, &format!("{what}[[{}]]", i + 1))).collect(),
    }
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
    let xs = to_tensors(&field(d, "x"), model.n_inputs(), &format!("{prefix}x"))?;
    let ys = if needs_y { to_tensors(&field(d, "y"), model.n_outputs(), &format!("{prefix}y"))? } else { Vec::new() };
    model.check_data(&xs, needs_y.then_some(&ys[..])).map_err(|e| format!("{prefix}{e}"))?;
    let w = to_weights(&field(d, "w"), xs[0].rows(), &format!("{prefix}sample_weight"))?;
    Ok(Data::Arrays(Arrays { xs, ys, w }))
}

/// Hands converted arrays' memory on to the next call's conversion
/// ([`rkeras_core::convert::buffer`]): a `fit()` in a loop then writes into pages that are
/// mapped already instead of faulting in a fresh copy each call.
pub fn recycle(d: Data) {
    if let Data::Arrays(a) = d {
        for t in a.xs.into_iter().chain(a.ys) {
            rkeras_core::convert::recycle(t.data);
        }
    }
}

/// `x` of an in-memory data description (`list(type = "arrays", x, ...)`), else None.
pub fn arrays_x(d: &Robj) -> Option<Robj> {
    (field(d, "type").as_str() == Some("arrays")).then(|| field(d, "x"))
}

/// Why a chunked prediction stopped.
enum Stop {
    Bad(rkeras_core::convert::BadValue),
    Ids(String),
    Interrupted,
}

/// The model's predictions for an R array, read and converted a chunk at a time (on both
/// threads) rather than copied whole first, as `rk_predict`'s result list: `status = "ok"`
/// with the value, or `status = "interrupted"` when Esc / Ctrl-C came (polled before each
/// chunk, like fit() polls before each batch; R then raises `rkeras_interrupted`).
pub fn predict_array(model: &mut Model<f32>, x: &Robj, batch_size: usize) -> std::result::Result<Robj, String> {
    let dims = matrix_dims(x);
    let one = model.n_inputs() == 1 && x.as_list().is_none();
    let r = if one && dims.iter().product::<usize>() == x.len() && check_x_shape(&dims, model.input_shape()).is_ok() {
        let ids = model.id_checks();
        let sample = model.input_shape().to_vec();
        let run = |c: Columns<'_>| {
            model.predict_with(c.rows(), batch_size, |_, rows, dst| {
                if r_interrupt::pending() {
                    return Err(Stop::Interrupted);
                }
                let row0 = rows.start;
                c.read(rows, dst).map_err(Stop::Bad)?;
                for k in &ids {
                    rkeras_core::layers::check_ids(dst, &sample, row0, &k.layer, k.input_dim, "x")
                        .map_err(Stop::Ids)?;
                }
                Ok(())
            })
        };
        with_columns(x, &dims, run)
    } else {
        None
    };
    let t = match r {
        Some(Ok(t)) => t,
        Some(Err(Stop::Bad(bad))) => return Err(bad_value("x", &dims, bad)),
        Some(Err(Stop::Ids(e))) => return Err(e),
        Some(Err(Stop::Interrupted)) => return Ok(list!(status = "interrupted").into()),
        None => {
            // several inputs, other types and shapes: the full conversion gives the errors (or
            // handles logicals)
            let xs = to_tensors(x, model.n_inputs(), "x")?;
            model.check_data(&xs, None)?;
            model.predict_all(&xs, batch_size)
        }
    };
    Ok(list!(status = "ok", value = outputs_to_r(&t), warnings = Vec::<String>::new()).into())
}

/// Predictions as R arrays: one array for a one-output model, else a list in output order.
pub fn outputs_to_r(ts: &[Tensor<f32>]) -> Robj {
    if ts.len() == 1 {
        from_tensor(&ts[0])
    } else {
        List::from_values(ts.iter().map(from_tensor)).into()
    }
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
        inputs: model
            .input_names()
            .into_iter()
            .enumerate()
            .map(|(i, n)| (n, model.input_shape_of(i).to_vec()))
            .collect(),
        outputs: (0..model.n_outputs())
            .map(|o| {
                let loss = model.compiled.as_ref().map(|c| c.spec.loss_of(o));
                (model.output_names()[o].clone(), model.output_shape_of(o), loss)
            })
            .collect(),
        needs_y,
        ids: model.id_checks(),
    };
    RGenerator::new(f, steps, expect, slot.clone(), overlap)
}
