//! `layer_dense`: `output = activation(dot(input, kernel) + bias)` on the last axis.
//! Input `(batch, ..., in)`, output `(batch, ..., units)`; kernel `(in, units)`, bias `(units)`.

use super::kernel_bias::{kernel_bias_layer_methods, Init, KernelBias};
use super::{ConfigEntries, Layer, LayerDef, LayerKind, LayerSpec, WeightCount, WeightRef};
use crate::activations::Activation;
use crate::init::Initializer;
use crate::keras_h5::keras2;
use crate::keras_h5::KerasLayerConfig;
use crate::keras_json::{activation_name, initializer_json, Json};
use crate::linalg::{gemm, op};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use crate::{forkjoin, parts};
use faer::{MatMut, MatRef};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// `layer_dense()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DenseConfig {
    pub units: usize,
    #[serde(default = "linear")]
    pub activation: Activation,
    #[serde(default = "super::yes")]
    pub use_bias: bool,
    #[serde(default = "glorot")]
    pub kernel_initializer: Initializer,
    #[serde(default = "zeros")]
    pub bias_initializer: Initializer,
}

fn linear() -> Activation {
    Activation::Linear
}

fn glorot() -> Initializer {
    Initializer::GlorotUniform
}

fn zeros() -> Initializer {
    Initializer::Zeros
}

impl LayerDef for DenseConfig {
    fn build<T: Real>(
        &self,
        spec: &LayerSpec,
        inputs: &[&[usize]],
        rng: &mut Rng,
    ) -> Result<Box<dyn Layer<T>>, String> {
        Ok(Box::new(Dense::new(spec.clone(), inputs[0], rng)?))
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        c.push(("units", Json::Int(self.units as i64)));
        c.push(("activation", Json::s(activation_name(self.activation))));
        c.push(("use_bias", Json::Bool(self.use_bias)));
        c.push(("kernel_initializer", initializer_json(&self.kernel_initializer)));
        c.push(("bias_initializer", initializer_json(&self.bias_initializer)));
        for k in ["kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint"] {
            c.push((k, Json::Null));
        }
        c.push(("quantization_config", Json::Null));
    }

    fn keras2_config(&self, layer: &str, c: &mut ConfigEntries) -> Result<(), String> {
        c.push(("units", Json::Int(self.units as i64)));
        c.push(("activation", keras2::activation(self.activation, layer)?));
        c.push(("use_bias", Json::Bool(self.use_bias)));
        c.push(("kernel_initializer", keras2::initializer(&self.kernel_initializer)));
        c.push(("bias_initializer", keras2::initializer(&self.bias_initializer)));
        for k in
            ["kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"]
        {
            c.push((k, Json::Null));
        }
        Ok(())
    }

    fn mask_flow(&self) -> super::MaskFlow {
        super::MaskFlow::Pass
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        c.require_null(&[
            "kernel_regularizer",
            "bias_regularizer",
            "activity_regularizer",
            "kernel_constraint",
            "bias_constraint",
            "lora_rank",
            "quantization_config",
        ])?;
        let units = c
            .usize_arg("units")
            .filter(|u| *u > 0)
            .ok_or_else(|| format!("layer '{}' (Dense): `units` is missing or not a positive integer", c.name))?;
        Ok(DenseConfig {
            units,
            activation: c.activation("activation")?,
            use_bias: c.bool_or("use_bias", true),
            kernel_initializer: c.initializer("kernel_initializer", Initializer::GlorotUniform),
            bias_initializer: c.initializer("bias_initializer", Initializer::Zeros),
        })
    }

    fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
        let inputs = *shape.last().unwrap_or(&0);
        let n = inputs.checked_mul(self.units).and_then(|k| k.checked_add(if self.use_bias { self.units } else { 0 }));
        if let Some(last) = shape.last_mut() {
            *last = self.units;
        }
        n.map_or(WeightCount::TooBig, WeightCount::Values)
    }

    fn min_weight_count(&self) -> usize {
        self.units
    }
}

/// One forward pass's operands, for any stretch of rows.
struct Forward<'a, T> {
    x: MatRef<'a, T>,
    kernel: MatRef<'a, T>,
    bias: Option<&'a [T]>,
    activation: Activation,
    keep_z: bool,
}

impl<T: Real> Forward<'_, T> {
    /// Rows `rows` of the output into `out` (and of the pre-activation into `z`).
    fn rows(&self, rows: Range<usize>, out: &mut [T], z: &mut [T]) {
        let (r, units) = (rows.len(), self.kernel.ncols());
        if let Some(b) = self.bias {
            for row in out.chunks_exact_mut(units) {
                row.copy_from_slice(b);
            }
        }
        let o = MatMut::from_row_major_slice_mut(out, r, units);
        gemm(o, self.x.subrows(rows.start, r), self.kernel, self.bias.is_some());
        if self.keep_z {
            z.copy_from_slice(out);
        }
        self.activation.forward(out, units);
    }

    /// The partial product of the input's columns `cols` with the same kernel rows, into
    /// `out` (all rows).
    fn partial(&self, cols: Range<usize>, out: &mut [T]) {
        let (m, units) = (self.x.nrows(), self.kernel.ncols());
        let o = MatMut::from_row_major_slice_mut(out, m, units);
        gemm(o, self.x.subcols(cols.start, cols.len()), self.kernel.subrows(cols.start, cols.len()), false);
    }

    /// Rows of the output from the two partial products: `out = (out + partial) + bias`
    /// (and the pre-activation into `z`), then the activation.
    fn sum(&self, out: &mut [T], partial: &[T], z: &mut [T]) {
        let units = self.kernel.ncols();
        for (o, p) in out.chunks_exact_mut(units).zip(partial.chunks_exact(units)) {
            match self.bias {
                Some(b) => o.iter_mut().zip(p).zip(b).for_each(|((o, p), b)| *o = *o + *p + *b),
                None => o.iter_mut().zip(p).for_each(|(o, p)| *o += *p),
            }
        }
        if self.keep_z {
            z.copy_from_slice(out);
        }
        self.activation.forward(out, units);
    }
}

/// One backward pass's operands, row-major slices: the layer input `x` (`m x inputs`),
/// dL/d(pre-activation) `g` (`m x units`) and the kernel (`inputs x units`).
struct Backward<'a, T> {
    x: &'a [T],
    g: &'a [T],
    kernel: &'a [T],
    m: usize,
    inputs: usize,
    units: usize,
}

impl<T: Real> Backward<'_, T> {
    /// Kernel-gradient rows `k_rows` into `dk`, bias-gradient entries `b_cols` into `db`
    /// (empty without bias), input-gradient rows `x_rows` into `dx`.
    fn part(
        &self,
        k_rows: Range<usize>,
        dk: &mut [T],
        b_cols: Range<usize>,
        db: &mut [T],
        x_rows: Range<usize>,
        dx: Option<&mut [T]>,
    ) {
        let (m, inputs, units) = (self.m, self.inputs, self.units);
        let g = op(self.g, m, units, false);
        let dkm = MatMut::from_row_major_slice_mut(dk, k_rows.len(), units);
        gemm(dkm, op(self.x, inputs, m, true).subrows(k_rows.start, k_rows.len()), g, false);
        if !db.is_empty() {
            db.iter_mut().for_each(|v| *v = T::zero());
            for row in self.g.chunks_exact(units) {
                for (d, v) in db.iter_mut().zip(&row[b_cols.clone()]) {
                    *d += *v;
                }
            }
        }
        if let Some(dx) = dx {
            let dxm = MatMut::from_row_major_slice_mut(dx, x_rows.len(), inputs);
            gemm(dxm, g.subrows(x_rows.start, x_rows.len()), op(self.kernel, units, inputs, true), false);
        }
    }
}

pub struct Dense<T> {
    spec: LayerSpec,
    inputs: usize,
    units: usize,
    activation: Activation,
    out_shape: Vec<usize>,
    kb: KernelBias<T>,
    /// Pre-activation values, kept only for activations whose derivative needs them.
    z: Vec<T>,
    /// The second partial product (see [`parts::dense_kernel_row_halves`]).
    partial: Vec<T>,
    /// Whether training needs dL/d(input) (see [`Layer::set_input_gradient_needed`]).
    input_gradient: bool,
}

impl<T: Real> Dense<T> {
    pub fn new(spec: LayerSpec, input_shape: &[usize], rng: &mut Rng) -> Result<Self, String> {
        let LayerKind::Dense(DenseConfig { units, activation, use_bias, kernel_initializer, bias_initializer }) =
            &spec.kind
        else {
            unreachable!("Dense::new on a non-dense spec")
        };
        if *units == 0 {
            return Err(format!("{}: units must be a positive integer", spec.name));
        }
        let inputs = *input_shape.last().unwrap();
        let what = format!("{} (a {inputs} x {units} kernel)", spec.name);
        let init = Init {
            kernel: kernel_initializer,
            bias: bias_initializer,
            use_bias: *use_bias,
            fan_in: inputs,
            fan_out: *units,
        };
        let kb = KernelBias::new(&what, vec![inputs, *units], init, rng)?;
        let mut out_shape = input_shape.to_vec();
        *out_shape.last_mut().unwrap() = *units;
        Ok(Dense {
            inputs,
            units: *units,
            activation: *activation,
            out_shape,
            kb,
            z: Vec::new(),
            partial: Vec::new(),
            input_gradient: true,
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

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, training: bool, _rng: &mut Rng) {
        let x = xs[0];
        let (m, units, inputs) = (x.data.len() / self.inputs, self.units, self.inputs);
        out.resize_batch(x.rows(), &self.out_shape);
        let keep_z = self.activation.needs_input_for_backward();
        self.z.resize(if keep_z { out.data.len() } else { 0 }, T::zero());
        let fwd = Forward {
            x: op(&x.data, m, inputs, false),
            kernel: op(&self.kb.kernel, inputs, units, false),
            bias: self.kb.use_bias().then_some(&self.kb.bias[..]),
            activation: self.activation,
            keep_z,
        };
        let split = parts::split_product(m * inputs * units, m);
        if training && parts::dense_kernel_row_halves(m, inputs, units, self.input_gradient) {
            // Each part: the product with half the kernel rows; then each part: its rows'
            // sum, bias, (saved pre-activation,) activation.
            let half = inputs / 2;
            self.partial.resize(out.data.len(), T::zero());
            let (o, p) = (&mut out.data, &mut self.partial);
            if split {
                forkjoin::join(|| fwd.partial(0..half, o), || fwd.partial(half..inputs, p));
                let (o0, o1) = o.split_at_mut(m / 2 * units);
                let (p0, p1) = p.split_at(m / 2 * units);
                let (z0, z1) = self.z.split_at_mut(if keep_z { m / 2 * units } else { 0 });
                forkjoin::join(|| fwd.sum(o0, p0, z0), || fwd.sum(o1, p1, z1));
            } else {
                fwd.partial(0..half, o);
                fwd.partial(half..inputs, p);
                fwd.sum(o, p, &mut self.z);
            }
        } else if split {
            // Each part: its rows' bias, product, (saved pre-activation,) activation.
            let half = m / 2;
            let (o0, o1) = out.data.split_at_mut(half * units);
            let (z0, z1) = self.z.split_at_mut(if keep_z { half * units } else { 0 });
            forkjoin::join(|| fwd.rows(0..half, o0, z0), || fwd.rows(half..m, o1, z1));
        } else {
            fwd.rows(0..m, &mut out.data, &mut self.z);
        }
    }

    fn backward(
        &mut self,
        xs: &[&Tensor<T>],
        out: &Tensor<T>,
        g: &mut Tensor<T>,
        dxs: &mut [Option<&mut Tensor<T>>],
        g_is_preactivation: bool,
    ) {
        let x = xs[0];
        let dx = dxs[0].as_deref_mut();
        let (m, units, inputs) = (x.data.len() / self.inputs, self.units, self.inputs);
        let split = parts::split_product(m * inputs * units, m);
        // dL/d(pre-activation), in row halves
        if !g_is_preactivation {
            let (a, z, y) = (self.activation, &self.z[..], &out.data[..]);
            let deriv = |rows: std::ops::Range<usize>, g: &mut [T]| {
                let at = rows.start * units..rows.end * units;
                a.backward(if z.is_empty() { z } else { &z[at.clone()] }, &y[at], g, units);
            };
            if split {
                let (g0, g1) = g.data.split_at_mut(m / 2 * units);
                forkjoin::join(|| deriv(0..m / 2, g0), || deriv(m / 2..m, g1));
            } else {
                deriv(0..m, &mut g.data);
            }
        }
        let bwd = Backward { x: &x.data, g: &g.data, kernel: &self.kb.kernel, m, inputs, units };
        let bias = self.kb.use_bias();
        let dbias = &mut self.kb.dbias[..];
        let dx = dx.map(|d| {
            d.resize(&x.shape);
            &mut d.data[..]
        });
        // Each part: half the kernel gradient's rows, half the bias gradient, half the
        // input gradient's rows.
        if split {
            let (k0, k1) = self.kb.dkernel.split_at_mut(inputs / 2 * units);
            let (b0, b1) = dbias.split_at_mut(if bias { units / 2 } else { 0 });
            let (d0, d1) = match dx {
                Some(d) => {
                    let (d0, d1) = d.split_at_mut(m / 2 * inputs);
                    (Some(d0), Some(d1))
                }
                None => (None, None),
            };
            forkjoin::join(
                || bwd.part(0..inputs / 2, k0, 0..units / 2, b0, 0..m / 2, d0),
                || bwd.part(inputs / 2..inputs, k1, units / 2..units, b1, m / 2..m, d1),
            );
        } else {
            bwd.part(0..inputs, &mut self.kb.dkernel, 0..units, dbias, 0..m, dx);
        }
    }

    fn set_input_gradient_needed(&mut self, needed: bool) {
        self.input_gradient = needed;
    }

    kernel_bias_layer_methods!(kb, activation);
}
