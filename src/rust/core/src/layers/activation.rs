//! `layer_activation`: applies an activation (softmax over the last axis). Any input shape.

use super::{ConfigEntries, Layer, LayerDef, LayerKind, LayerSpec, WeightCount};
use crate::activations::Activation;
use crate::keras_h5::{keras2, KerasLayerConfig};
use crate::keras_json::{activation_name, Json};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use serde::{Deserialize, Serialize};

/// `layer_activation()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivationConfig {
    pub activation: Activation,
}

impl LayerDef for ActivationConfig {
    const BUILD_CONFIG: bool = false;

    fn build<T: Real>(&self, spec: &LayerSpec, inputs: &[&[usize]], _: &mut Rng) -> Result<Box<dyn Layer<T>>, String> {
        Ok(Box::new(ActivationLayer::new(spec.clone(), inputs[0])))
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        c.push(("activation", Json::s(activation_name(self.activation))));
    }

    fn keras2_config(&self, layer: &str, c: &mut ConfigEntries) -> Result<(), String> {
        c.push(("activation", keras2::activation(self.activation, layer)?));
        Ok(())
    }

    fn mask_flow(&self) -> super::MaskFlow {
        super::MaskFlow::Pass
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        Ok(ActivationConfig { activation: c.activation("activation")? })
    }

    fn weight_count(&self, _shape: &mut Vec<usize>) -> WeightCount {
        WeightCount::Values(0)
    }
}

pub struct ActivationLayer {
    spec: LayerSpec,
    activation: Activation,
    shape: Vec<usize>,
}

impl ActivationLayer {
    pub fn new(spec: LayerSpec, input_shape: &[usize]) -> Self {
        let LayerKind::Activation(ActivationConfig { activation }) = spec.kind else { unreachable!() };
        ActivationLayer { spec, activation, shape: input_shape.to_vec() }
    }
}

impl<T: Real> Layer<T> for ActivationLayer {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, _training: bool, _rng: &mut Rng) {
        let x = xs[0];
        out.resize(&x.shape);
        out.data.copy_from_slice(&x.data);
        self.activation.forward(&mut out.data, x.last_dim());
    }

    fn backward(
        &mut self,
        xs: &[&Tensor<T>],
        out: &Tensor<T>,
        g: &mut Tensor<T>,
        dxs: &mut [Option<&mut Tensor<T>>],
        pre: bool,
    ) {
        let x = xs[0];
        if let Some(dx) = dxs[0].as_deref_mut() {
            if !pre {
                self.activation.backward(&x.data, &out.data, &mut g.data, x.last_dim());
            }
            dx.resize(&x.shape);
            dx.data.copy_from_slice(&g.data);
        }
    }

    fn output_activation(&self) -> Option<Activation> {
        Some(self.activation)
    }
}
