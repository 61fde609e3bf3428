//! `time_distributed(layer)`: applies one layer (one set of weights) to every step of a
//! `(batch, steps, ...)` input, as Keras 3's `TimeDistributed`: the input is read as
//! `(batch * steps, ...)` (the same values, batch first), the inner layer runs on that and its
//! output is read back as `(batch, steps, ...)`. The weights are the inner layer's. A Keras
//! mask passes on unchanged.

use super::{fmt_shape, ConfigEntries, Layer, LayerDef, LayerKind, LayerSpec, MaskFlow, WeightCount, WeightRef};
use crate::activations::Activation;
use crate::keras_h5::KerasLayerConfig;
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use serde::{Deserialize, Serialize};

/// `time_distributed()`'s argument: the layer applied to every step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeDistributedConfig {
    pub layer: Box<LayerSpec>,
}

impl LayerDef for TimeDistributedConfig {
    const TAKES_TRAINING: bool = true;
    const MASK_KWARG: bool = true;

    fn build<T: Real>(
        &self,
        spec: &LayerSpec,
        inputs: &[&[usize]],
        rng: &mut Rng,
    ) -> Result<Box<dyn Layer<T>>, String> {
        let shape = inputs[0];
        let inner = &self.layer;
        if shape.len() < 2 {
            return Err(format!(
                "{}: TimeDistributed applies \"{}\" ({}) to every step of an input of shape (batch, steps, ...), at \
                 least 3-d; got input shape (None, {}). Give each sample a steps axis (array_reshape() to \
                 (samples, steps, ...))",
                spec.name,
                inner.name,
                inner.kind.class_name(),
                fmt_shape(shape)
            ));
        }
        if inner.kind.nested().is_some() || inner.kind.is_merge() {
            return Err(format!(
                "{}: TimeDistributed of a {} (\"{}\") is not supported by rkeras; wrap a single layer",
                spec.name,
                inner.kind.class_name(),
                inner.name
            ));
        }
        if matches!(inner.kind, LayerKind::TimeDistributed(_)) {
            return Err(format!(
                "{}: TimeDistributed of a TimeDistributed layer is not supported by rkeras",
                spec.name
            ));
        }
        let inner_layer = super::build::<T>(inner, &[&shape[1..]], rng).map_err(|e| format!("{}: {e}", spec.name))?;
        let mut out_shape = vec![shape[0]];
        out_shape.extend_from_slice(inner_layer.output_shape());
        Ok(Box::new(TimeDistributed {
            spec: spec.clone(),
            inner: inner_layer,
            steps: shape[0],
            in_inner: shape[1..].to_vec(),
            out_shape,
            xin: Tensor::default(),
            yin: Tensor::default(),
            saved_shape: Vec::new(),
        }))
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        c.push(("layer", crate::keras_json::layer_object(&self.layer)));
    }

    fn keras2_config(&self, _layer: &str, c: &mut ConfigEntries) -> Result<(), String> {
        c.push(("layer", crate::keras_h5::keras2::layer_object(&self.layer)?));
        Ok(())
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        let layer = c.layer("layer")?;
        Ok(TimeDistributedConfig { layer: Box::new(layer) })
    }

    fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
        if shape.len() < 2 {
            return WeightCount::Unknown;
        }
        let steps = shape[0];
        let mut inner = shape[1..].to_vec();
        let w = self.layer.kind.weight_count(&mut inner);
        if let WeightCount::Values(_) = w {
            shape.clear();
            shape.push(steps);
            shape.extend(inner);
        }
        w
    }

    fn min_weight_count(&self) -> usize {
        self.layer.kind.min_weight_count()
    }

    fn mask_flow(&self) -> MaskFlow {
        MaskFlow::Pass
    }
}

pub struct TimeDistributed<T: Real> {
    spec: LayerSpec,
    inner: Box<dyn Layer<T>>,
    steps: usize,
    /// Per-sample shape the inner layer takes (the input's without its steps axis).
    in_inner: Vec<usize>,
    out_shape: Vec<usize>,
    /// The input as `(batch * steps, ...)`, and the inner layer's output.
    xin: Tensor<T>,
    yin: Tensor<T>,
    /// The shape of the output gradient while it is read as the inner layer's.
    saved_shape: Vec<usize>,
}

impl<T: Real> Layer<T> for TimeDistributed<T> {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, training: bool, rng: &mut Rng) {
        let x = xs[0];
        let rows = x.rows() * self.steps;
        self.xin.resize_batch(rows, &self.in_inner);
        self.xin.data.copy_from_slice(&x.data);
        self.inner.forward(&[&self.xin], &mut self.yin, training, rng);
        out.resize_batch(x.rows(), &self.out_shape);
        out.data.copy_from_slice(&self.yin.data);
    }

    fn backward(
        &mut self,
        xs: &[&Tensor<T>],
        _out: &Tensor<T>,
        g: &mut Tensor<T>,
        dxs: &mut [Option<&mut Tensor<T>>],
        g_is_preactivation: bool,
    ) {
        let x = xs[0];
        self.saved_shape.clear();
        self.saved_shape.extend_from_slice(&g.shape);
        g.shape.clear();
        g.shape.push(x.rows() * self.steps);
        g.shape.extend_from_slice(self.inner.output_shape());
        let mut dx = [dxs[0].as_deref_mut()];
        self.inner.backward(&[&self.xin], &self.yin, g, &mut dx, g_is_preactivation);
        if let Some(dx) = dx[0].as_deref_mut() {
            dx.shape.clear();
            dx.shape.extend_from_slice(&x.shape);
        }
        g.shape.clear();
        g.shape.extend_from_slice(&self.saved_shape);
    }

    /// The inner layer's; none trainable when it is frozen.
    fn weights(&self) -> Vec<WeightRef<'_, T>> {
        let frozen = !self.inner.spec().trainable;
        let mut w = self.inner.weights();
        if frozen {
            w.iter_mut().for_each(|w| w.trainable = false);
        }
        w
    }

    fn push_params<'a>(&'a mut self, params: &mut Vec<&'a mut [T]>, grads: &mut Vec<&'a mut [T]>) {
        if self.inner.spec().trainable {
            self.inner.push_params(params, grads);
        }
    }

    fn push_weights_mut<'a>(&'a mut self, out: &mut Vec<&'a mut [T]>) {
        self.inner.push_weights_mut(out);
    }

    fn set_input_gradient_needed(&mut self, needed: bool) {
        self.inner.set_input_gradient_needed(needed);
    }

    fn param_count(&self) -> usize {
        self.inner.param_count()
    }

    fn trainable_param_count(&self) -> usize {
        if self.inner.spec().trainable {
            self.inner.trainable_param_count()
        } else {
            0
        }
    }

    fn is_identity_at_inference(&self) -> bool {
        self.inner.is_identity_at_inference()
    }

    fn output_activation(&self) -> Option<Activation> {
        self.inner.output_activation()
    }
}

#[cfg(test)]
#[path = "time_distributed_tests.rs"]
mod tests;
