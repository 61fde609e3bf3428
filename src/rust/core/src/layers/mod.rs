//! Layers: explicit forward/backward on batch-first N-d tensors.
//!
//! A layer is described by a [`LayerSpec`] (what R builds with `layer_*()`), built for a
//! per-sample input shape into a [`Layer`], and then run: `forward` caches what `backward`
//! needs; `backward` fills the parameter gradients and, when asked, `dL/dx`.

mod activation;
mod dense;
mod dropout;
mod flatten;

pub use activation::ActivationLayer;
pub use dense::Dense;
pub use dropout::Dropout;
pub use flatten::Flatten;

use crate::activations::Activation;
use crate::init::Initializer;
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use serde::{Deserialize, Serialize};

/// What R describes: the layer kind with its Keras arguments, its name and whether it trains.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerSpec {
    pub name: String,
    #[serde(default = "yes")]
    pub trainable: bool,
    #[serde(flatten)]
    pub kind: LayerKind,
}

fn yes() -> bool {
    true
}

fn glorot() -> Initializer {
    Initializer::GlorotUniform
}

fn zeros() -> Initializer {
    Initializer::Zeros
}

/// The layer kinds, tagged by their Keras class name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class_name")]
pub enum LayerKind {
    Dense {
        units: usize,
        #[serde(default = "linear")]
        activation: Activation,
        #[serde(default = "yes")]
        use_bias: bool,
        #[serde(default = "glorot")]
        kernel_initializer: Initializer,
        #[serde(default = "zeros")]
        bias_initializer: Initializer,
    },
    Dropout {
        rate: f64,
    },
    Activation {
        activation: Activation,
    },
    Flatten {},
}

fn linear() -> Activation {
    Activation::Linear
}

impl LayerKind {
    /// Keras class name, as `summary()` shows it.
    pub fn class_name(&self) -> &'static str {
        match self {
            LayerKind::Dense { .. } => "Dense",
            LayerKind::Dropout { .. } => "Dropout",
            LayerKind::Activation { .. } => "Activation",
            LayerKind::Flatten {} => "Flatten",
        }
    }
}

/// A named weight of a layer, in Keras order and shape.
pub struct WeightRef<'a, T> {
    pub name: &'static str,
    pub shape: Vec<usize>,
    pub values: &'a [T],
}

/// A built layer.
pub trait Layer<T: Real>: Send {
    fn spec(&self) -> &LayerSpec;
    /// Per-sample output shape (no batch axis).
    fn output_shape(&self) -> &[usize];
    /// Runs the layer on `x` (batch first) into `out`, caching what `backward` needs.
    fn forward(&mut self, x: &Tensor<T>, out: &mut Tensor<T>, training: bool, rng: &mut Rng);
    /// `g` holds dL/d(output) on entry (it may be overwritten). Fills the parameter gradients
    /// and, when `dx` is given, writes dL/dx. When `g_is_preactivation`, `g` is already
    /// the gradient with respect to the pre-activation (fused softmax/sigmoid + cross-entropy).
    fn backward(
        &mut self,
        x: &Tensor<T>,
        out: &Tensor<T>,
        g: &mut Tensor<T>,
        dx: Option<&mut Tensor<T>>,
        g_is_preactivation: bool,
    );
    /// The weights, Keras order (dense: kernel `in x units`, then bias). None by default.
    fn weights(&self) -> Vec<WeightRef<'_, T>> {
        Vec::new()
    }
    /// Mutable weights and their gradients, same order as [`Layer::weights`].
    fn params_and_grads(&mut self) -> Vec<(&mut [T], &mut [T])> {
        Vec::new()
    }
    /// Whether training needs dL/d(input) from this layer (false for the first layer with
    /// weights to train); set when the model is compiled. Layers may assume it is needed.
    fn set_input_gradient_needed(&mut self, _needed: bool) {}
    /// Number of weight values.
    fn param_count(&self) -> usize {
        self.weights().iter().map(|w| w.values.len()).sum()
    }
    /// Whether the layer passes its input through unchanged at inference (dropout), so that
    /// the model can hand the buffer on instead of copying it.
    fn is_identity_at_inference(&self) -> bool {
        false
    }
    /// The activation applied last, for fusing it with the loss gradient.
    fn output_activation(&self) -> Option<Activation> {
        None
    }
}

/// Builds a layer for a per-sample input shape, checking the shape fits.
pub fn build<T: Real>(spec: &LayerSpec, input_shape: &[usize], rng: &mut Rng) -> Result<Box<dyn Layer<T>>, String> {
    if input_shape.is_empty() || input_shape.contains(&0) {
        return Err(format!("{}: input shape ({}) has an empty axis", spec.name, fmt_shape(input_shape)));
    }
    Ok(match &spec.kind {
        LayerKind::Dense { .. } => Box::new(Dense::new(spec.clone(), input_shape, rng)?),
        LayerKind::Dropout { rate } => {
            if !(0.0..1.0).contains(rate) {
                return Err(format!("{}: dropout rate must be in [0, 1), got {rate}", spec.name));
            }
            Box::new(Dropout::new(spec.clone(), input_shape))
        }
        LayerKind::Activation { .. } => Box::new(ActivationLayer::new(spec.clone(), input_shape)),
        LayerKind::Flatten {} => Box::new(Flatten::new(spec.clone(), input_shape)),
    })
}

/// Formats a per-sample shape the way Keras prints it, without the batch axis: `28, 28`.
pub fn fmt_shape(shape: &[usize]) -> String {
    shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
pub(crate) mod gradcheck;
