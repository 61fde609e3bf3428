//! `layer_flatten`: `(batch, d1, d2, ...)` to `(batch, d1*d2*...)` in row-major order,
//! so element `[i, r, c]` of a `(n, 4, 5)` input lands at position `r*5 + c` (0-based).

use super::{Layer, LayerSpec};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;

pub struct Flatten {
    spec: LayerSpec,
    shape: Vec<usize>,
}

impl Flatten {
    pub fn new(spec: LayerSpec, input_shape: &[usize]) -> Self {
        Flatten { spec, shape: vec![input_shape.iter().product()] }
    }
}

impl<T: Real> Layer<T> for Flatten {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, _training: bool, _rng: &mut Rng) {
        let x = xs[0];
        out.resize_batch(x.rows(), &self.shape);
        out.data.copy_from_slice(&x.data);
    }

    fn backward(
        &mut self,
        xs: &[&Tensor<T>],
        _out: &Tensor<T>,
        g: &mut Tensor<T>,
        dxs: &mut [Option<&mut Tensor<T>>],
        _pre: bool,
    ) {
        if let Some(dx) = dxs[0].as_deref_mut() {
            dx.resize(&xs[0].shape);
            dx.data.copy_from_slice(&g.data);
        }
    }
}
