//! `layer_masking`: a row (every axis but the last: a step of `(batch, steps, features)`)
//! whose values all equal `mask_value` is masked: the output is zero there and the output's
//! Keras mask is false there (Keras 3 `Masking`: `where(any(x != mask_value, -1), x, 0)`).
//! Other rows pass unchanged. Any input of rank 2 or more.

use super::{fmt_shape, ConfigEntries, Layer, LayerDef, LayerSpec, Mask, MaskFlow, WeightCount};
use crate::keras_h5::KerasLayerConfig;
use crate::keras_json::Json;
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use serde::{Deserialize, Serialize};

/// `layer_masking()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaskingConfig {
    #[serde(default)]
    pub mask_value: f64,
}

/// Whether each row of `x` (rows of `d` values) has a value other than `v`, into `keep`.
fn rows_kept<T: Real>(x: &[T], d: usize, v: T, keep: &mut Mask) {
    keep.clear();
    keep.extend(x.chunks_exact(d).map(|r| r.iter().any(|a| *a != v)));
}

impl LayerDef for MaskingConfig {
    const BUILD_CONFIG: bool = false;

    fn build<T: Real>(&self, spec: &LayerSpec, inputs: &[&[usize]], _: &mut Rng) -> Result<Box<dyn Layer<T>>, String> {
        let shape = inputs[0];
        if shape.len() < 2 {
            return Err(format!(
                "{}: Masking takes input of shape (batch, steps, features), got (None, {}); a mask marks steps, so \
                 give each sample a steps axis (array_reshape() to (samples, steps, features))",
                spec.name,
                fmt_shape(shape)
            ));
        }
        if !self.mask_value.is_finite() {
            return Err(format!("{}: mask_value must be a finite number, got {}", spec.name, self.mask_value));
        }
        Ok(Box::new(Masking {
            spec: spec.clone(),
            shape: shape.to_vec(),
            value: T::c(self.mask_value),
            keep: Vec::new(),
        }))
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        c.push(("mask_value", Json::Float(self.mask_value)));
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        let mask_value = match c.get("mask_value") {
            None => 0.0,
            Some(v) => v
                .as_f64()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("layer '{}' (Masking): `mask_value` must be a number, got {v}", c.name))?,
        };
        Ok(MaskingConfig { mask_value })
    }

    fn weight_count(&self, _shape: &mut Vec<usize>) -> WeightCount {
        WeightCount::Values(0)
    }

    fn mask_flow(&self) -> MaskFlow {
        MaskFlow::Make
    }

    fn make_mask<T: Real>(&self, x: &Tensor<T>, mask: &mut Mask) {
        let d = x.shape.last().copied().unwrap_or(1).max(1);
        rows_kept(&x.data, d, T::c(self.mask_value), mask);
    }
}

pub struct Masking<T> {
    spec: LayerSpec,
    shape: Vec<usize>,
    value: T,
    /// Per row of the last batch: whether it is kept.
    keep: Mask,
}

impl<T: Real> Layer<T> for Masking<T> {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, _training: bool, _rng: &mut Rng) {
        let x = xs[0];
        let d = *self.shape.last().unwrap();
        rows_kept(&x.data, d, self.value, &mut self.keep);
        out.resize(&x.shape);
        for ((o, r), k) in out.data.chunks_exact_mut(d).zip(x.data.chunks_exact(d)).zip(&self.keep) {
            if *k {
                o.copy_from_slice(r);
            } else {
                o.iter_mut().for_each(|v| *v = T::zero());
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
        let Some(dx) = dxs[0].as_deref_mut() else { return };
        let d = *self.shape.last().unwrap();
        dx.resize(&xs[0].shape);
        for ((o, r), k) in dx.data.chunks_exact_mut(d).zip(g.data.chunks_exact(d)).zip(&self.keep) {
            if *k {
                o.copy_from_slice(r);
            } else {
                o.iter_mut().for_each(|v| *v = T::zero());
            }
        }
    }
}
