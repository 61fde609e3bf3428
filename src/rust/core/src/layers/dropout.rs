//! `layer_dropout`: inverted dropout. Training keeps each value with probability `1 - rate`
//! and scales it by `1 / (1 - rate)`; inference is the identity. Any input shape.

use super::{Layer, LayerKind, LayerSpec};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;

pub struct Dropout<T> {
    spec: LayerSpec,
    rate: f64,
    shape: Vec<usize>,
    /// 0 or 1/(1-rate) per element of the last training batch; empty after inference.
    mask: Vec<T>,
}

impl<T: Real> Dropout<T> {
    pub fn new(spec: LayerSpec, input_shape: &[usize]) -> Self {
        let LayerKind::Dropout { rate } = spec.kind else { unreachable!() };
        Dropout { spec, rate, shape: input_shape.to_vec(), mask: Vec::new() }
    }
}

impl<T: Real> Layer<T> for Dropout<T> {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    fn forward(&mut self, x: &Tensor<T>, out: &mut Tensor<T>, training: bool, rng: &mut Rng) {
        out.resize(&x.shape);
        if !training || self.rate == 0.0 {
            out.data.copy_from_slice(&x.data);
            self.mask.clear();
            return;
        }
        // keep when a uniform u32 is at or above rate * 2^32
        let threshold = (self.rate * 4_294_967_296.0) as u64;
        let scale = T::c(1.0 / (1.0 - self.rate));
        self.mask.resize(x.data.len(), T::zero());
        for ((m, o), v) in self.mask.iter_mut().zip(out.data.iter_mut()).zip(&x.data) {
            *m = if (rng.next_u32() as u64) >= threshold { scale } else { T::zero() };
            *o = *v * *m;
        }
    }

    fn backward(
        &mut self, _x: &Tensor<T>, _out: &Tensor<T>, g: &mut Tensor<T>, dx: Option<&mut Tensor<T>>, _pre: bool,
    ) {
        if let Some(dx) = dx {
            dx.resize(&g.shape);
            if self.mask.is_empty() {
                dx.data.copy_from_slice(&g.data);
            } else {
                for ((d, gv), m) in dx.data.iter_mut().zip(&g.data).zip(&self.mask) {
                    *d = *gv * *m;
                }
            }
        }
    }
}
