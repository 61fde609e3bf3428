//! The weights of a layer with a kernel and an optional bias (dense, convolutions): their
//! values, their gradients, and how the model sees them.

use super::WeightRef;
use crate::activations::Activation;
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
        let units = *kernel_shape.last().unwrap_or(&0);
        Self::with_units(what, kernel_shape, units, init, rng)
    }

    /// As [`KernelBias::new`], for a kernel whose bias length `units` is not its last axis.
    pub fn with_units(
        what: &str,
        kernel_shape: Vec<usize>,
        units: usize,
        init: Init<'_>,
        rng: &mut Rng,
    ) -> Result<Self, String> {
        let n = kernel_shape
            .iter()
            .try_fold(1usize, |a, d| a.checked_mul(*d))
            .ok_or_else(|| format!("{what}: too many weights"))?;
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

    /// The bias gradient (with a bias): the column sums of `g`, rows of the bias length.
    pub fn bias_grad(&mut self, g: &[T]) {
        if self.use_bias() {
            self.dbias.iter_mut().for_each(|v| *v = T::zero());
            for row in g.chunks_exact(self.dbias.len()) {
                self.dbias.iter_mut().zip(row).for_each(|(d, v)| *d += *v);
            }
        }
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

/// Applies `activation` to `out` (rows of `units`), first keeping the pre-activation values in
/// `z` when the activation's derivative needs them (`z` is emptied otherwise).
pub fn activate<T: Real>(activation: Activation, z: &mut Vec<T>, out: &mut [T], units: usize) {
    let keep_z = activation.needs_input_for_backward();
    z.resize(if keep_z { out.len() } else { 0 }, T::zero());
    if keep_z {
        z.copy_from_slice(out);
    }
    activation.forward(out, units);
}

/// The [`Layer`](super::Layer) methods of a layer whose weights are the [`KernelBias`] in
/// field `$kb` and whose last step is the activation in field `$act`: its weights in Keras
/// order, what the optimizer trains, and the activation fused with the loss gradient.
macro_rules! kernel_bias_layer_methods {
    ($kb:ident, $act:ident) => {
        fn weights(&self) -> Vec<WeightRef<'_, T>> {
            self.$kb.weights()
        }

        fn push_params<'a>(&'a mut self, params: &mut Vec<&'a mut [T]>, grads: &mut Vec<&'a mut [T]>) {
            self.$kb.push_params(params, grads);
        }

        fn push_weights_mut<'a>(&'a mut self, out: &mut Vec<&'a mut [T]>) {
            self.$kb.push_weights_mut(out);
        }

        fn output_activation(&self) -> Option<Activation> {
            Some(self.$act)
        }
    };
}
pub(crate) use kernel_bias_layer_methods;
