//! `layer_dense`: `output = activation(dot(input, kernel) + bias)` on the last axis.
//! Input `(batch, ..., in)`, output `(batch, ..., units)`; kernel `(in, units)`, bias `(units)`.

use super::{Layer, LayerKind, LayerSpec, WeightRef};
use crate::activations::Activation;
use crate::linalg::{gemm, op};
use crate::parts::{self, SharedCols};
use crate::rng::Rng;
use crate::tensor::{try_zeros, Tensor};
use crate::Real;

pub struct Dense<T> {
    spec: LayerSpec,
    inputs: usize,
    units: usize,
    activation: Activation,
    use_bias: bool,
    out_shape: Vec<usize>,
    kernel: Vec<T>,
    bias: Vec<T>,
    dkernel: Vec<T>,
    dbias: Vec<T>,
    /// Pre-activation values, kept only for activations whose derivative needs them.
    z: Vec<T>,
}

impl<T: Real> Dense<T> {
    pub fn new(spec: LayerSpec, input_shape: &[usize], rng: &mut Rng) -> Result<Self, String> {
        let LayerKind::Dense { units, activation, use_bias, kernel_initializer, bias_initializer } = &spec.kind else {
            unreachable!("Dense::new on a non-dense spec")
        };
        if *units == 0 {
            return Err(format!("{}: units must be a positive integer", spec.name));
        }
        let inputs = *input_shape.last().unwrap();
        let what = format!("{} (a {inputs} x {units} kernel)", spec.name);
        let n = inputs.checked_mul(*units).ok_or_else(|| format!("{what}: too many weights"))?;
        let mut kernel = try_zeros(n, &what)?;
        kernel_initializer.fill(&mut kernel, inputs, *units, rng);
        let dkernel = try_zeros(n, &what)?;
        let mut bias = try_zeros(if *use_bias { *units } else { 0 }, &what)?;
        bias_initializer.fill(&mut bias, inputs, *units, rng);
        let mut out_shape = input_shape.to_vec();
        *out_shape.last_mut().unwrap() = *units;
        Ok(Dense {
            inputs,
            units: *units,
            activation: *activation,
            use_bias: *use_bias,
            out_shape,
            dkernel,
            dbias: vec![T::zero(); bias.len()],
            kernel,
            bias,
            z: Vec::new(),
            spec,
        })
    }
}

impl<T: Real> Layer<T> for Dense<T> {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }

    fn forward(&mut self, x: &Tensor<T>, out: &mut Tensor<T>, _training: bool, _rng: &mut Rng) {
        let (m, units) = (x.data.len() / self.inputs, self.units);
        out.resize_batch(x.rows(), &self.out_shape);
        let keep_z = self.activation.needs_input_for_backward();
        self.z.resize(if keep_z { out.data.len() } else { 0 }, T::zero());
        let row_wise = self.activation.is_row_wise();
        let (xm, wm) = (op(&x.data, m, self.inputs, false), op(&self.kernel, self.inputs, units, false));
        let (bias, activation, use_bias) = (&self.bias, self.activation, self.use_bias);
        let outs = SharedCols::new(&mut out.data, units);
        let zs = SharedCols::new(&mut self.z, units);
        // Each part: its units' bias, product, (saved pre-activation,) activation.
        parts::run(parts::split_product(m * self.inputs * units, units), |part| {
            let mut o = outs.part(part);
            let cols = o.cols();
            if use_bias {
                for i in 0..m {
                    o.row(i).copy_from_slice(&bias[cols.clone()]);
                }
            }
            gemm(o.mat(), xm, wm.subcols(cols.start, cols.len()), use_bias);
            if keep_z {
                let mut z = zs.part(part);
                for i in 0..m {
                    z.row(i).copy_from_slice(o.row(i));
                }
            }
            if !row_wise {
                for i in 0..m {
                    activation.forward(o.row(i), cols.len());
                }
            }
        });
        if row_wise {
            self.activation.forward(&mut out.data, units);
        }
    }

    fn backward(
        &mut self, x: &Tensor<T>, out: &Tensor<T>, g: &mut Tensor<T>, dx: Option<&mut Tensor<T>>,
        g_is_preactivation: bool,
    ) {
        let (m, units, inputs) = (x.data.len() / self.inputs, self.units, self.inputs);
        let act = (!g_is_preactivation).then_some(self.activation);
        if let Some(a) = act.filter(|a| a.is_row_wise()) {
            a.backward(&self.z, &out.data, &mut g.data, units);
        }
        let elementwise = act.filter(|a| !a.is_row_wise());
        let (xt, z, y) = (op(&x.data, inputs, m, true), &self.z[..], &out.data[..]);
        let gs = SharedCols::new(&mut g.data, units);
        let dks = SharedCols::new(&mut self.dkernel, units);
        let dbs = SharedCols::new(&mut self.dbias, units);
        let use_bias = self.use_bias;
        // Each part: its units' activation derivative, kernel and bias gradients.
        parts::run(parts::split_product(m * inputs * units, units), |part| {
            let mut gp = gs.part(part);
            let cols = gp.cols();
            if let Some(a) = elementwise {
                for i in 0..m {
                    let at = i * units + cols.start..i * units + cols.end;
                    let zi = if z.is_empty() { z } else { &z[at.clone()] };
                    a.backward(zi, &y[at], gp.row(i), cols.len());
                }
            }
            gemm(dks.part(part).mat(), xt, gp.mat_ref(), false);
            if use_bias {
                let mut db = dbs.part(part);
                let db = db.row(0);
                db.iter_mut().for_each(|v| *v = T::zero());
                for i in 0..m {
                    for (d, v) in db.iter_mut().zip(gp.row(i).iter()) {
                        *d += *v;
                    }
                }
            }
        });
        if let Some(dx) = dx {
            dx.resize(&x.shape);
            let (gm, wt) = (op(&g.data, m, units, false), op(&self.kernel, units, inputs, true));
            let dxs = SharedCols::new(&mut dx.data, inputs);
            // Each part: the gradient for its share of the inputs.
            parts::run(parts::split_product(m * units * inputs, inputs), |part| {
                let mut d = dxs.part(part);
                let cols = d.cols();
                gemm(d.mat(), gm, wt.subcols(cols.start, cols.len()), false);
            });
        }
    }

    fn weights(&self) -> Vec<WeightRef<'_, T>> {
        let mut w = vec![WeightRef { name: "kernel", shape: vec![self.inputs, self.units], values: &self.kernel }];
        if self.use_bias {
            w.push(WeightRef { name: "bias", shape: vec![self.units], values: &self.bias });
        }
        w
    }

    fn params_and_grads(&mut self) -> Vec<(&mut [T], &mut [T])> {
        let mut v = vec![(&mut self.kernel[..], &mut self.dkernel[..])];
        if self.use_bias {
            v.push((&mut self.bias[..], &mut self.dbias[..]));
        }
        v
    }

    fn output_activation(&self) -> Option<Activation> {
        Some(self.activation)
    }
}
