//! The weights of a layer with a kernel and an optional bias (dense, convolutions): their
//! values, their gradients, and how the model sees them.

use super::WeightRef;
use crate::init::Initializer;
use crate::rng::Rng;
use crate::tensor::try_zeros;
use crate::Real;

pub struct KernelBias<T> {
    pub kernel: Vec<T>,
    pub dkernel: Vec<T>,
    /// Empty without a bias.
    pub bias: Vec<T>,
    pub dbias: Vec<T>,
    /// The kernel's Keras shape.
    kernel_shape: Vec<usize>,
}

/// How a kernel-and-bias layer initializes its weights.
pub struct Init<'a> {
    pub kernel: &'a Initializer,
    pub bias: &'a Initializer,
    pub use_bias: bool,
    pub fan_in: usize,
    pub fan_out: usize,
}

impl<T: Real> KernelBias<T> {
    /// A kernel of Keras shape `kernel_shape` whose last axis is the bias length, drawn
    /// (kernel, then bias) from `rng`; `what` names the layer in allocation errors.
    pub fn new(what: &str, kernel_shape: Vec<usize>, init: Init<'_>, rng: &mut Rng) -> Result<Self, String> {
        let n = kernel_shape
            .iter()
            .try_fold(1usize, |a, d| a.checked_mul(*d))
            .ok_or_else(|| format!("{what}: too many weights"))?;
        let units = *kernel_shape.last().unwrap_or(&0);
        let mut kernel = try_zeros(n, what)?;
        init.kernel.fill(&mut kernel, init.fan_in, init.fan_out, rng);
        let mut bias = try_zeros(if init.use_bias { units } else { 0 }, what)?;
        init.bias.fill(&mut bias, init.fan_in, init.fan_out, rng);
        Ok(KernelBias { dkernel: try_zeros(n, what)?, dbias: vec![T::zero(); bias.len()], kernel, bias, kernel_shape })
    }

    pub fn use_bias(&self) -> bool {
        !self.bias.is_empty()
    }

    /// `kernel` then `bias`, in Keras order.
    pub fn weights(&self) -> Vec<WeightRef<'_, T>> {
        let mut w =
            vec![WeightRef { name: "kernel", shape: self.kernel_shape.clone(), values: &self.kernel, trainable: true }];
        if self.use_bias() {
            w.push(WeightRef { name: "bias", shape: vec![self.bias.len()], values: &self.bias, trainable: true });
        }
        w
    }

    pub fn push_params<'a>(&'a mut self, params: &mut Vec<&'a mut [T]>, grads: &mut Vec<&'a mut [T]>) {
        params.push(&mut self.kernel);
        grads.push(&mut self.dkernel);
        if !self.bias.is_empty() {
            params.push(&mut self.bias);
            grads.push(&mut self.dbias);
        }
    }

    pub fn push_weights_mut<'a>(&'a mut self, out: &mut Vec<&'a mut [T]>) {
        out.push(&mut self.kernel);
        if !self.bias.is_empty() {
            out.push(&mut self.bias);
        }
    }
}
