//! Layers: explicit forward/backward on batch-first N-d tensors.
//!
//! A layer is described by a [`LayerSpec`] (what R builds with `layer_*()`), built for a
//! per-sample input shape into a [`Layer`], and then run: `forward` caches what `backward`
//! needs; `backward` fills the parameter gradients and, when asked, `dL/dx`.

mod activation;
mod dense;
mod dot;
mod dropout;
mod merge;
mod reshape;

pub use activation::ActivationLayer;
pub use dense::Dense;
pub use dot::Dot;
pub use dropout::Dropout;
pub use merge::{Concatenate, Elementwise, MergeOp};
pub use reshape::{Permute, RepeatVector, Reshape};

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
    Concatenate {
        #[serde(default = "last_axis")]
        axis: i64,
    },
    Add {},
    Subtract {},
    Multiply {},
    Average {},
    Maximum {},
    Minimum {},
    Dot {
        /// Keras axes, counting the batch axis as 0 (negative from the end).
        axes: [i64; 2],
        #[serde(default)]
        normalize: bool,
    },
    Reshape {
        /// Per-sample target shape; one entry may be -1.
        target_shape: Vec<i64>,
    },
    Permute {
        /// A permutation of the per-sample axes, 1-based as in Keras.
        dims: Vec<usize>,
    },
    RepeatVector {
        n: usize,
    },
    /// A functional model used as a layer (applied to tensors, or added to a sequential
    /// model): its nodes are inlined into the outer graph when the model is built.
    Functional {
        model: Box<crate::model::ModelSpec>,
    },
    /// A sequential model used as a layer.
    Sequential {
        model: Box<crate::model::ModelSpec>,
    },
    /// A test-only layer with state (a weight the optimizer does not train).
    #[cfg(test)]
    TestScaleShift {
        momentum: f64,
    },
}

fn last_axis() -> i64 {
    -1
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
            LayerKind::Concatenate { .. } => "Concatenate",
            LayerKind::Add {} => "Add",
            LayerKind::Subtract {} => "Subtract",
            LayerKind::Multiply {} => "Multiply",
            LayerKind::Average {} => "Average",
            LayerKind::Maximum {} => "Maximum",
            LayerKind::Minimum {} => "Minimum",
            LayerKind::Dot { .. } => "Dot",
            LayerKind::Reshape { .. } => "Reshape",
            LayerKind::Permute { .. } => "Permute",
            LayerKind::RepeatVector { .. } => "RepeatVector",
            LayerKind::Functional { .. } => "Functional",
            LayerKind::Sequential { .. } => "Sequential",
            #[cfg(test)]
            LayerKind::TestScaleShift { .. } => "TestScaleShift",
        }
    }

    /// The model of a nested-model layer.
    pub fn nested(&self) -> Option<&crate::model::ModelSpec> {
        match self {
            LayerKind::Functional { model } | LayerKind::Sequential { model } => Some(model),
            _ => None,
        }
    }

    /// Whether the layer merges several input tensors (it takes a list in R).
    pub fn is_merge(&self) -> bool {
        matches!(
            self,
            LayerKind::Concatenate { .. }
                | LayerKind::Add {}
                | LayerKind::Subtract {}
                | LayerKind::Multiply {}
                | LayerKind::Average {}
                | LayerKind::Maximum {}
                | LayerKind::Minimum {}
                | LayerKind::Dot { .. }
        )
    }
}

/// A named weight of a layer, in Keras order and shape. A weight that is not trainable is
/// layer state (batch normalization's moving statistics): the optimizer never sees it.
pub struct WeightRef<'a, T> {
    pub name: &'static str,
    pub shape: Vec<usize>,
    pub values: &'a [T],
    pub trainable: bool,
}

/// A built layer.
pub trait Layer<T: Real>: Send {
    fn spec(&self) -> &LayerSpec;
    /// Per-sample output shape (no batch axis).
    fn output_shape(&self) -> &[usize];
    /// Runs the layer on its inputs `xs` (batch first; one tensor except for merge layers)
    /// into `out`, caching what `backward` needs.
    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, training: bool, rng: &mut Rng);
    /// `g` holds dL/d(output) on entry (it may be overwritten). Fills the parameter gradients
    /// and, for each input whose `dxs` entry is given, overwrites it with dL/d(input). When
    /// `g_is_preactivation`, `g` is already the gradient with respect to the pre-activation
    /// (fused softmax/sigmoid + cross-entropy).
    fn backward(
        &mut self,
        xs: &[&Tensor<T>],
        out: &Tensor<T>,
        g: &mut Tensor<T>,
        dxs: &mut [Option<&mut Tensor<T>>],
        g_is_preactivation: bool,
    );
    /// The weights in Keras order: the trainable ones, then the state (dense: kernel
    /// `in x units`, then bias). None by default.
    fn weights(&self) -> Vec<WeightRef<'_, T>> {
        Vec::new()
    }
    /// Pushes the trainable weights and their gradients (what the optimizer updates), in
    /// [`Layer::weights`] order. Pushing into reused vectors keeps a training step free of
    /// allocations.
    fn push_params<'a>(&'a mut self, _params: &mut Vec<&'a mut [T]>, _grads: &mut Vec<&'a mut [T]>) {}
    /// Pushes every weight, trainable ones and state, in [`Layer::weights`] order.
    fn push_weights_mut<'a>(&'a mut self, _out: &mut Vec<&'a mut [T]>) {}
    /// The trainable weights with their gradients, as pairs (see [`Layer::push_params`]).
    fn params_and_grads(&mut self) -> Vec<(&mut [T], &mut [T])> {
        let (mut p, mut g) = (Vec::new(), Vec::new());
        self.push_params(&mut p, &mut g);
        p.into_iter().zip(g).collect()
    }
    /// Whether training needs dL/d(input) from this layer (false for the first layer with
    /// weights to train); set when the model is compiled. Layers may assume it is needed.
    fn set_input_gradient_needed(&mut self, _needed: bool) {}
    /// Number of weight values (trainable and state).
    fn param_count(&self) -> usize {
        self.weights().iter().map(|w| w.values.len()).sum()
    }
    /// Number of weight values the optimizer may train (when the layer is trainable).
    fn trainable_param_count(&self) -> usize {
        self.weights().iter().filter(|w| w.trainable).map(|w| w.values.len()).sum()
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

/// Builds a layer for the per-sample shapes of its inputs, checking they fit.
pub fn build<T: Real>(spec: &LayerSpec, inputs: &[&[usize]], rng: &mut Rng) -> Result<Box<dyn Layer<T>>, String> {
    for s in inputs {
        if s.is_empty() || s.contains(&0) {
            return Err(format!("{}: input shape ({}) has an empty axis", spec.name, fmt_shape(s)));
        }
    }
    let merge = spec.kind.is_merge();
    match (merge, inputs.len()) {
        (false, 1) => {}
        (false, n) => {
            return Err(format!("{} ({}) takes one input tensor, got {n}", spec.name, spec.kind.class_name()));
        }
        (true, n) if n < 2 => {
            return Err(format!(
                "{} ({}) merges a list of at least 2 tensors, got {n}",
                spec.name,
                spec.kind.class_name()
            ));
        }
        _ => {}
    }
    let input_shape = inputs[0];
    let s = spec.clone();
    Ok(match &spec.kind {
        LayerKind::Dense { .. } => Box::new(Dense::new(s, input_shape, rng)?),
        LayerKind::Dropout { rate } => {
            if !(0.0..1.0).contains(rate) {
                return Err(format!("{}: dropout rate must be in [0, 1), got {rate}", spec.name));
            }
            Box::new(Dropout::new(s, input_shape))
        }
        LayerKind::Activation { .. } => Box::new(ActivationLayer::new(s, input_shape)),
        LayerKind::Flatten {} => Box::new(Reshape::flatten(s, input_shape)),
        LayerKind::Concatenate { axis } => Box::new(Concatenate::new(s, *axis, inputs)?),
        LayerKind::Add {} => Box::new(Elementwise::new(s, MergeOp::Add, inputs)?),
        LayerKind::Subtract {} => Box::new(Elementwise::new(s, MergeOp::Subtract, inputs)?),
        LayerKind::Multiply {} => Box::new(Elementwise::new(s, MergeOp::Multiply, inputs)?),
        LayerKind::Average {} => Box::new(Elementwise::new(s, MergeOp::Average, inputs)?),
        LayerKind::Maximum {} => Box::new(Elementwise::new(s, MergeOp::Maximum, inputs)?),
        LayerKind::Minimum {} => Box::new(Elementwise::new(s, MergeOp::Minimum, inputs)?),
        LayerKind::Dot { axes, normalize } => Box::new(Dot::new(s, *axes, *normalize, inputs)?),
        LayerKind::Reshape { target_shape } => Box::new(Reshape::new(s, target_shape, input_shape)?),
        LayerKind::Permute { dims } => Box::new(Permute::new(s, dims, input_shape)?),
        LayerKind::RepeatVector { n } => Box::new(RepeatVector::new(s, *n, input_shape)?),
        LayerKind::Functional { .. } | LayerKind::Sequential { .. } => {
            return Err(format!("{}: a nested model is inlined into its outer model, not built alone", spec.name))
        }
        #[cfg(test)]
        LayerKind::TestScaleShift { momentum } => Box::new(test_state::ScaleShift::new(s, *momentum, input_shape)),
    })
}

/// The shapes of a layer's inputs as Keras prints them in errors: `(None, 4), (None, 5)`.
pub fn fmt_shapes(shapes: &[&[usize]]) -> String {
    shapes.iter().map(|s| format!("(None, {})", fmt_shape(s))).collect::<Vec<_>>().join(", ")
}

/// Formats a per-sample shape the way Keras prints it, without the batch axis: `28, 28`.
pub fn fmt_shape(shape: &[usize]) -> String {
    shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
pub(crate) mod gradcheck;
#[cfg(test)]
mod gradcheck_graph;
#[cfg(test)]
mod test_state;
