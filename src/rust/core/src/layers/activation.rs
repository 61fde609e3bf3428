//! `layer_activation`: applies an activation (softmax over the last axis). Any input shape.

use super::{Layer, LayerKind, LayerSpec};
use crate::activations::Activation;
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;

pub struct ActivationLayer {
    spec: LayerSpec,
    activation: Activation,
    shape: Vec<usize>,
}

impl ActivationLayer {
    pub fn new(spec: LayerSpec, input_shape: &[usize]) -> Self {
        let LayerKind::Activation { activation } = spec.kind else { unreachable!() };
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
