//! `layer_dense`: `output = activation(dot(input, kernel) + bias)` on the last axis.
//! Input `(batch, ..., in)`, output `(batch, ..., units)`; kernel `(in, units)`, bias `(units)`.

use super::{Layer, LayerKind, LayerSpec, WeightRef};
use crate::activations::Activation;
use crate::linalg::matmul;
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
        let m = x.data.len() / self.inputs;
        out.resize_batch(x.rows(), &self.out_shape);
        if self.use_bias {
            for row in out.data.chunks_exact_mut(self.units) {
                row.copy_from_slice(&self.bias);
            }
        }
        let beta = if self.use_bias { T::one() } else { T::zero() };
        matmul(m, self.inputs, self.units, T::one(), &x.data, false, &self.kernel, false, beta, &mut out.data);
        if self.activation.needs_input_for_backward() {
            self.z.clear();
            self.z.extend_from_slice(&out.data);
        }
        self.activation.forward(&mut out.data, self.units);
    }

    fn backward(
        &mut self, x: &Tensor<T>, out: &Tensor<T>, g: &mut Tensor<T>, dx: Option<&mut Tensor<T>>,
        g_is_preactivation: bool,
    ) {
        let m = x.data.len() / self.inputs;
        if !g_is_preactivation {
            self.activation.backward(&self.z, &out.data, &mut g.data, self.units);
        }
        matmul(self.inputs, m, self.units, T::one(), &x.data, true, &g.data, false, T::zero(), &mut self.dkernel);
        if self.use_bias {
            self.dbias.iter_mut().for_each(|v| *v = T::zero());
            for row in g.data.chunks_exact(self.units) {
                for (d, v) in self.dbias.iter_mut().zip(row) {
                    *d += *v;
                }
            }
        }
        if let Some(dx) = dx {
            dx.resize(&x.shape);
            matmul(m, self.units, self.inputs, T::one(), &g.data, false, &self.kernel, true, T::zero(), &mut dx.data);
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
