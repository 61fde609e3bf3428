//! A test-only layer that uses the Keras mask of its input the way recurrent layers do: per
//! feature `y = x * gamma` (gamma trained) on the steps that count. With `pass` (as
//! `return_sequences = TRUE`) the output is `(batch, steps, features)`, zero on masked steps,
//! and carries the mask on; without it the output is the sum over the unmasked steps,
//! `(batch, features)`, with no mask. An input without a mask counts every step.

use super::{ConfigEntries, Layer, LayerDef, LayerSpec, MaskFlow, WeightRef};
use crate::keras_h5::KerasLayerConfig;
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaskUseConfig {
    pub pass: bool,
}

impl LayerDef for MaskUseConfig {
    fn build<T: Real>(&self, spec: &LayerSpec, inputs: &[&[usize]], _: &mut Rng) -> Result<Box<dyn Layer<T>>, String> {
        let s = inputs[0];
        if s.len() != 2 {
            return Err(format!("{}: TestMaskUse takes (batch, steps, features)", spec.name));
        }
        let (steps, d) = (s[0], s[1]);
        let shape = if self.pass { vec![steps, d] } else { vec![d] };
        Ok(Box::new(MaskUse {
            spec: spec.clone(),
            pass: self.pass,
            steps,
            shape,
            gamma: (0..d).map(|j| T::c(0.5 + 0.25 * j as f64)).collect(),
            dgamma: vec![T::zero(); d],
            mask: None,
        }))
    }

    fn keras_config(&self, _: &mut ConfigEntries) {}

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        Err(format!("layer '{}' (TestMaskUse) is a test layer, not read from Keras files", c.name))
    }

    fn mask_flow(&self) -> MaskFlow {
        if self.pass {
            MaskFlow::Pass
        } else {
            MaskFlow::Stop
        }
    }
}

pub struct MaskUse<T> {
    spec: LayerSpec,
    pass: bool,
    steps: usize,
    shape: Vec<usize>,
    gamma: Vec<T>,
    dgamma: Vec<T>,
    mask: Option<Vec<bool>>,
}

impl<T: Real> MaskUse<T> {
    fn counts(&self, b: usize, t: usize) -> bool {
        self.mask.as_ref().is_none_or(|m| m[b * self.steps + t])
    }
}

impl<T: Real> Layer<T> for MaskUse<T> {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, _training: bool, _rng: &mut Rng) {
        let x = xs[0];
        let (n, d) = (x.rows(), self.gamma.len());
        if let Some(m) = &self.mask {
            assert_eq!(m.len(), n * self.steps, "{}: the mask has one entry per (sample, step)", self.spec.name);
        }
        out.resize_batch(n, &self.shape);
        out.data.iter_mut().for_each(|v| *v = T::zero());
        for b in 0..n {
            for t in (0..self.steps).filter(|&t| self.counts(b, t)) {
                let xr = &x.data[(b * self.steps + t) * d..][..d];
                let o0 = if self.pass { (b * self.steps + t) * d } else { b * d };
                for j in 0..d {
                    out.data[o0 + j] += xr[j] * self.gamma[j];
                }
            }
        }
    }

    fn backward(
        &mut self,
        xs: &[&Tensor<T>],
        _out: &Tensor<T>,
        g: &mut Tensor<T>,
        dxs: &mut [Option<&mut Tensor<T>>],
        _pre: bool,
    ) {
        let x = xs[0];
        let (n, d) = (x.rows(), self.gamma.len());
        self.dgamma.iter_mut().for_each(|v| *v = T::zero());
        let mut dx = dxs[0].as_deref_mut();
        if let Some(dx) = dx.as_deref_mut() {
            dx.resize(&x.shape);
            dx.data.iter_mut().for_each(|v| *v = T::zero());
        }
        for b in 0..n {
            for t in 0..self.steps {
                if !self.counts(b, t) {
                    continue;
                }
                let i0 = (b * self.steps + t) * d;
                let g0 = if self.pass { i0 } else { b * d };
                for j in 0..d {
                    self.dgamma[j] += g.data[g0 + j] * x.data[i0 + j];
                    if let Some(dx) = dx.as_deref_mut() {
                        dx.data[i0 + j] = g.data[g0 + j] * self.gamma[j];
                    }
                }
            }
        }
    }

    fn weights(&self) -> Vec<WeightRef<'_, T>> {
        vec![WeightRef { name: "gamma", shape: vec![self.gamma.len()], values: &self.gamma, trainable: true }]
    }

    fn push_params<'a>(&'a mut self, params: &mut Vec<&'a mut [T]>, grads: &mut Vec<&'a mut [T]>) {
        params.push(&mut self.gamma);
        grads.push(&mut self.dgamma);
    }

    fn push_weights_mut<'a>(&'a mut self, out: &mut Vec<&'a mut [T]>) {
        out.push(&mut self.gamma);
    }

    fn set_input_mask(&mut self, mask: Option<&[bool]>) {
        self.mask = mask.map(<[bool]>::to_vec);
    }
}
