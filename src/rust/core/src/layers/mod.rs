//! Layers: explicit forward/backward on batch-first N-d tensors.
//!
//! A layer is described by a [`LayerSpec`] (what R builds with `layer_*()`), built for a
//! per-sample input shape into a [`Layer`], and then run: `forward` caches what `backward`
//! needs; `backward` fills the parameter gradients and, when asked, `dL/dx`.

mod activation;
mod channels_first;
mod conv;
mod conv_keras;
mod conv_transpose;
mod dense;
mod depthwise;
mod dot;
mod dropout;
mod embedding;
mod kernel_bias;
mod masking;
mod merge;
mod normalization;
mod padding;
mod pooling;
mod reshape;
mod rnn;
mod separable;
mod spatial_dropout;
mod time_distributed;
mod upsampling;

pub use activation::{ActivationConfig, ActivationLayer};
pub use conv::{Conv, Conv1DConfig, Conv2DConfig, Padding};
pub use conv_transpose::{Conv2DTransposeConfig, ConvTranspose};
pub use dense::{Dense, DenseConfig};
pub use depthwise::{Depthwise, DepthwiseConv2DConfig};
pub use dot::{Dot, DotConfig};
pub use dropout::{Dropout, DropoutConfig};
pub use embedding::{check_ids, Embedding, EmbeddingConfig, MAX_INPUT_DIM};
pub use masking::{Masking, MaskingConfig};
pub use merge::{
    AddConfig, AverageConfig, Concatenate, ConcatenateConfig, Elementwise, MaximumConfig, MergeOp, MinimumConfig,
    MultiplyConfig, SubtractConfig,
};
pub use normalization::{BatchNorm, BatchNormalizationConfig};
pub use padding::{Cropping1DConfig, Cropping2DConfig, DataFormat, Pad, ZeroPadding1DConfig, ZeroPadding2DConfig};
pub use pooling::{
    AveragePooling1DConfig, AveragePooling2DConfig, GlobalAveragePooling1DConfig, GlobalAveragePooling2DConfig,
    GlobalMaxPooling1DConfig, GlobalMaxPooling2DConfig, MaxPooling1DConfig, MaxPooling2DConfig, Pool,
};
pub use reshape::{FlattenConfig, Permute, PermuteConfig, RepeatVector, RepeatVectorConfig, Reshape, ReshapeConfig};
pub use rnn::{GRUConfig, LSTMConfig, Recurrent, SimpleRNNConfig};
pub use separable::{Separable, SeparableConv2DConfig};

pub use spatial_dropout::{SpatialDropout, SpatialDropout1DConfig, SpatialDropout2DConfig};
pub use time_distributed::{TimeDistributed, TimeDistributedConfig};
pub use upsampling::{Interpolation, UpSampling1DConfig, UpSampling2DConfig, Upsample};

use crate::activations::Activation;
use crate::keras_h5::KerasLayerConfig;
use crate::keras_json::Json;
use crate::model::ModelSpec;
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

pub(crate) fn yes() -> bool {
    true
}

/// The config entries of a layer in a Keras model config, after `name`, `trainable` and
/// `dtype`, in the order Keras writes them.
pub type ConfigEntries = Vec<(&'static str, Json)>;

/// What the size check of a file's architecture learns from one layer (see
/// [`LayerDef::weight_count`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightCount {
    /// The kind does not infer its shapes for the check: the check ends here.
    Unknown,
    /// The weights or the output shape do not fit in `usize`.
    TooBig,
    /// This many weight values (trainable and state); the shape now is the output's.
    Values(usize),
}

/// What a layer does with a Keras mask on its (first) input: Keras 3's `supports_masking` and
/// `compute_mask()`. Whatever the flow, a layer whose input carries a mask receives it through
/// [`Layer::set_input_mask`] before its `forward` and `backward`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskFlow {
    /// The output carries no mask: the layer does not support masking (Keras 3 drops the mask,
    /// with a warning), or it uses the mask up (global average pooling, a recurrent layer
    /// returning only its last output).
    Stop,
    /// The output carries the input's mask (`supports_masking` with the default `compute_mask()`:
    /// dense, dropout, activation, a recurrent layer returning sequences). For a merge layer, the
    /// inputs' masks combined as Keras does (`or` of the masks when every input has one).
    Pass,
    /// The layer makes a new mask from its input, [`LayerDef::make_mask`] (embedding with
    /// `mask_zero`, masking).
    Make,
    /// A masked input is a build error: Keras would use the mask in a way rkeras does not yet.
    Refuse,
}

/// A Keras mask: one bool per row (every axis but the last) of a batch-first tensor, true where
/// the row counts: for `(batch, steps, features)`, `m[b * steps + t]`.
pub type Mask = Vec<bool>;

/// One layer kind, described by the arguments R gives (its serde fields, unchanged on the
/// wire: `{"class_name": "Dense", "name": ..., "units": ...}`). Everything rkeras knows
/// about a kind besides its built [`Layer`] lives in its implementation, in the kind's file;
/// [`layer_kinds!`] lists the kinds once and dispatches to them. The Keras class name is the
/// name of the kind's variant in that list (it is also the serde tag).
pub trait LayerDef: Sized {
    /// Whether the layer merges a list of input tensors (it takes a list in R).
    const MERGE: bool = false;
    /// Whether Keras 3.15.1 writes a `build_config` for the layer in `to_json()` (layers with
    /// a `build()` of their own; a merge layer's holds the list of input shapes).
    const BUILD_CONFIG: bool = true;
    /// Whether the layer's `call()` takes `training` (recorded in its functional call kwargs).
    const TAKES_TRAINING: bool = false;
    /// Whether Keras 3 records `"mask": null` in the layer's functional call kwargs (a `call()`
    /// with a `mask` argument and `training=None`, such as batch normalization's).
    const MASK_KWARG: bool = false;

    /// Builds the layer for the per-sample shapes of its inputs (their number and emptiness
    /// are already checked), checking they fit.
    fn build<T: Real>(&self, spec: &LayerSpec, inputs: &[&[usize]], rng: &mut Rng)
        -> Result<Box<dyn Layer<T>>, String>;

    /// The layer's own `get_config()` entries in Keras 3.
    fn keras_config(&self, c: &mut ConfigEntries);

    /// The layer's whole `get_config()` in Keras 3, for a kind whose config is not the base
    /// layer's `name`, `trainable`, `dtype` followed by [`LayerDef::keras_config`] (spatial
    /// dropout writes `rate, seed, name, dtype`: its constructor takes no `trainable`).
    fn keras_layer_config(&self, _name: &str) -> Option<ConfigEntries> {
        None
    }

    /// The layer's own config entries as tf.keras 2 writes them (by default those of Keras 3);
    /// an error when tf.keras 2 cannot represent the layer.
    fn keras2_config(&self, _layer: &str, c: &mut ConfigEntries) -> Result<(), String> {
        self.keras_config(c);
        Ok(())
    }

    /// The kind read from a Keras layer config (either generation).
    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String>;

    /// For the size check of a file's architecture before building it: the weight values of
    /// the layer on per-sample input `shape` of a chain, updating `shape` to the output.
    fn weight_count(&self, _shape: &mut Vec<usize>) -> WeightCount {
        WeightCount::Unknown
    }

    /// A lower bound of the layer's weight values whatever its input (for graphs, whose size
    /// check does not infer shapes).
    fn min_weight_count(&self) -> usize {
        0
    }

    /// What the layer does with a mask on its input (see [`MaskFlow`]); by default it drops it,
    /// as Keras 3 does for a layer without `supports_masking`.
    fn mask_flow(&self) -> MaskFlow {
        MaskFlow::Stop
    }

    /// For a kind whose flow is [`MaskFlow::Make`]: the mask of its output from its (first)
    /// input `x`, written into `mask` (resized to the output's rows).
    fn make_mask<T: Real>(&self, _x: &Tensor<T>, mask: &mut Mask) {
        mask.clear();
    }
}

/// Lists the layer kinds: each `Variant(Config)` line names a Keras class and the type that
/// implements [`LayerDef`] for it. Generates [`LayerKind`] (serde, tagged by `class_name`),
/// its dispatch to the kinds, the reader's class lookup and [`SUPPORTED_LAYERS`]. Kinds after
/// `test:` exist in unit tests only and are not read from Keras files.
macro_rules! layer_kinds {
    ($first:ident($first_def:ty) $(, $kind:ident($def:ty))* $(,)?; test: $($tkind:ident($tdef:ty)),* $(,)?) => {
        /// The layer kinds, tagged by their Keras class name.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "class_name")]
        pub enum LayerKind {
            $first($first_def),
            $($kind($def),)*
            /// A functional model used as a layer (applied to tensors, or added to a sequential
            /// model): its nodes are inlined into the outer graph when the model is built.
            Functional { model: Box<ModelSpec> },
            /// A sequential model used as a layer.
            Sequential { model: Box<ModelSpec> },
            $(
                #[cfg(test)]
                $tkind($tdef),
            )*
        }

        /// The layer classes rkeras builds, for error messages.
        pub const SUPPORTED_LAYERS: &str = concat!(
            stringify!($first),
            $(", ", stringify!($kind),)*
            ", InputLayer, and Functional and Sequential models"
        );

        /// Applies `$f` (a generic macro body over the kind's config `$d` of type `$D`) to the
        /// kind of a layer, `$nested` to a nested model.
        macro_rules! dispatch {
            ($self_:expr, $d:ident => $e:expr, nested => $n:expr) => {
                match $self_ {
                    LayerKind::$first($d) => $e,
                    $(LayerKind::$kind($d) => $e,)*
                    LayerKind::Functional { .. } | LayerKind::Sequential { .. } => $n,
                    $(
                        #[cfg(test)]
                        LayerKind::$tkind($d) => $e,
                    )*
                }
            };
        }

        /// Applies `$e` with `$D` bound to the kind's config type.
        macro_rules! dispatch_type {
            ($self_:expr, $D:ident => $e:expr, nested => $n:expr) => {
                match $self_ {
                    LayerKind::$first(_) => { type $D = $first_def; $e }
                    $(LayerKind::$kind(_) => { type $D = $def; $e })*
                    LayerKind::Functional { .. } | LayerKind::Sequential { .. } => $n,
                    $(
                        #[cfg(test)]
                        LayerKind::$tkind(_) => { type $D = $tdef; $e }
                    )*
                }
            };
        }

        impl LayerKind {
            /// Keras class name, as `summary()` shows it.
            pub fn class_name(&self) -> &'static str {
                match self {
                    LayerKind::$first(_) => stringify!($first),
                    $(LayerKind::$kind(_) => stringify!($kind),)*
                    LayerKind::Functional { .. } => "Functional",
                    LayerKind::Sequential { .. } => "Sequential",
                    $(
                        #[cfg(test)]
                        LayerKind::$tkind(_) => stringify!($tkind),
                    )*
                }
            }

            /// The kind of Keras layer class `class` (without module), read from its config;
            /// `None` for a class rkeras does not build.
            pub(crate) fn from_keras(class: &str, c: &mut KerasLayerConfig<'_>) -> Option<Result<LayerKind, String>> {
                Some(match class {
                    stringify!($first) => <$first_def as LayerDef>::from_keras(c).map(LayerKind::$first),
                    $(stringify!($kind) => <$def as LayerDef>::from_keras(c).map(LayerKind::$kind),)*
                    _ => return None,
                })
            }
        }
    };
}

layer_kinds! {
    Dense(DenseConfig),
    Dropout(DropoutConfig),
    Activation(ActivationConfig),
    Flatten(FlattenConfig),
    Concatenate(ConcatenateConfig),
    Add(AddConfig),
    Subtract(SubtractConfig),
    Multiply(MultiplyConfig),
    Average(AverageConfig),
    Maximum(MaximumConfig),
    Minimum(MinimumConfig),
    Dot(DotConfig),
    Reshape(ReshapeConfig),
    Permute(PermuteConfig),
    RepeatVector(RepeatVectorConfig),
    Masking(MaskingConfig),
    TimeDistributed(TimeDistributedConfig),
    Conv2D(Conv2DConfig),
    Conv1D(Conv1DConfig),
    MaxPooling1D(MaxPooling1DConfig),
    MaxPooling2D(MaxPooling2DConfig),
    AveragePooling1D(AveragePooling1DConfig),
    AveragePooling2D(AveragePooling2DConfig),
    GlobalMaxPooling1D(GlobalMaxPooling1DConfig),
    GlobalMaxPooling2D(GlobalMaxPooling2DConfig),
    GlobalAveragePooling1D(GlobalAveragePooling1DConfig),
    GlobalAveragePooling2D(GlobalAveragePooling2DConfig),
    Conv2DTranspose(Conv2DTransposeConfig),
    DepthwiseConv2D(DepthwiseConv2DConfig),
    SeparableConv2D(SeparableConv2DConfig),
    ZeroPadding1D(ZeroPadding1DConfig),
    ZeroPadding2D(ZeroPadding2DConfig),
    Cropping1D(Cropping1DConfig),
    Cropping2D(Cropping2DConfig),
    UpSampling1D(UpSampling1DConfig),
    UpSampling2D(UpSampling2DConfig),
    SpatialDropout1D(SpatialDropout1DConfig),
    SpatialDropout2D(SpatialDropout2DConfig),
    BatchNormalization(BatchNormalizationConfig),
    Embedding(EmbeddingConfig),
    SimpleRNN(SimpleRNNConfig),
    LSTM(LSTMConfig),
    GRU(GRUConfig);
    test:
    // a layer with state (a weight the optimizer does not train)
    TestScaleShift(test_state::ScaleShiftConfig),
    // a layer that uses its input's mask, as recurrent layers do
    TestMaskUse(test_mask::MaskUseConfig),
}

impl LayerKind {
    /// The model of a nested-model layer.
    pub fn nested(&self) -> Option<&ModelSpec> {
        match self {
            LayerKind::Functional { model } | LayerKind::Sequential { model } => Some(model),
            _ => None,
        }
    }

    /// Whether the layer merges several input tensors (it takes a list in R).
    pub fn is_merge(&self) -> bool {
        dispatch_type!(self, D => D::MERGE, nested => false)
    }

    /// Whether Keras 3 writes a `build_config` for the layer (see [`LayerDef::BUILD_CONFIG`]).
    pub fn has_build_config(&self) -> bool {
        dispatch_type!(self, D => D::BUILD_CONFIG, nested => true)
    }

    /// Whether the layer's `call()` takes `training` (see [`LayerDef::TAKES_TRAINING`]).
    pub fn takes_training(&self) -> bool {
        dispatch_type!(self, D => D::TAKES_TRAINING, nested => false)
    }

    /// The layer's own config entries in Keras 3 (none for a nested model, whose entry is
    /// its model config).
    pub fn keras_config(&self) -> ConfigEntries {
        let mut c = Vec::new();
        dispatch!(self, d => d.keras_config(&mut c), nested => ());
        c
    }

    /// See [`LayerDef::keras_layer_config`].
    pub fn keras_layer_config(&self, name: &str) -> Option<ConfigEntries> {
        dispatch!(self, d => d.keras_layer_config(name), nested => None)
    }

    /// The layer's own config entries as tf.keras 2 writes them.
    pub fn keras2_config(&self, layer: &str) -> Result<ConfigEntries, String> {
        let mut c = Vec::new();
        dispatch!(self, d => d.keras2_config(layer, &mut c)?, nested => ());
        Ok(c)
    }

    /// Whether Keras 3 records `"mask": null` in the layer's call kwargs (see
    /// [`LayerDef::MASK_KWARG`]).
    pub fn mask_kwarg(&self) -> bool {
        dispatch_type!(self, D => D::MASK_KWARG, nested => true)
    }

    /// See [`LayerDef::weight_count`].
    pub fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
        dispatch!(self, d => d.weight_count(shape), nested => WeightCount::Unknown)
    }

    /// See [`LayerDef::min_weight_count`].
    pub fn min_weight_count(&self) -> usize {
        dispatch!(self, d => d.min_weight_count(), nested => 0)
    }

    /// See [`LayerDef::mask_flow`] (a nested model is inlined before masks are planned).
    pub fn mask_flow(&self) -> MaskFlow {
        dispatch!(self, d => d.mask_flow(), nested => MaskFlow::Stop)
    }

    /// See [`LayerDef::make_mask`].
    pub fn make_mask<T: Real>(&self, x: &Tensor<T>, mask: &mut Mask) {
        dispatch!(self, d => d.make_mask(x, mask), nested => mask.clear())
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
    /// Keras masks: sets the mask of the layer's (first) input for the next `forward` and
    /// `backward`. `Some(m)` for an input of shape `(batch, steps, ...)` holds `m[b * steps + t]`,
    /// true where step `t` of sample `b` counts; `None` when the input carries no mask. Layers
    /// that do not use masks (most) keep this default, which ignores it.
    fn set_input_mask(&mut self, _mask: Option<&[bool]>) {}
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
    dispatch!(&spec.kind, d => d.build(spec, inputs, rng), nested => {
        Err(format!("{}: a nested model is inlined into its outer model, not built alone", spec.name))
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
mod mask_tests;
#[cfg(test)]
mod spatial_tests;
#[cfg(test)]
mod test_mask;
#[cfg(test)]
mod test_state;

#[cfg(test)]
mod wire_tests {
    use super::*;

    /// The specs R sends and rkeras files and RDS states hold: each kind deserializes from and
    /// serializes to these bytes (those of the struct variants before `LayerDef`).
    const SPECS: [&str; 34] = [
        r#"{"name":"d","trainable":true,"class_name":"Dense","units":3,"activation":"relu","use_bias":false,"kernel_initializer":{"name":"he_normal"},"bias_initializer":{"name":"constant","value":0.5}}"#,
        r#"{"name":"do","trainable":true,"class_name":"Dropout","rate":0.25}"#,
        r#"{"name":"a","trainable":false,"class_name":"Activation","activation":"softmax"}"#,
        r#"{"name":"f","trainable":true,"class_name":"Flatten"}"#,
        r#"{"name":"c","trainable":true,"class_name":"Concatenate","axis":-1}"#,
        r#"{"name":"add","trainable":true,"class_name":"Add"}"#,
        r#"{"name":"sub","trainable":true,"class_name":"Subtract"}"#,
        r#"{"name":"mul","trainable":true,"class_name":"Multiply"}"#,
        r#"{"name":"avg","trainable":true,"class_name":"Average"}"#,
        r#"{"name":"max","trainable":true,"class_name":"Maximum"}"#,
        r#"{"name":"min","trainable":true,"class_name":"Minimum"}"#,
        r#"{"name":"dot","trainable":true,"class_name":"Dot","axes":[1,-1],"normalize":true}"#,
        r#"{"name":"r","trainable":true,"class_name":"Reshape","target_shape":[2,-1]}"#,
        r#"{"name":"p","trainable":true,"class_name":"Permute","dims":[2,1]}"#,
        r#"{"name":"rv","trainable":true,"class_name":"RepeatVector","n":4}"#,
        r#"{"name":"mp","trainable":true,"class_name":"MaxPooling2D","pool_size":[2,3],"strides":null,"padding":"same"}"#,
        r#"{"name":"gap","trainable":true,"class_name":"GlobalAveragePooling1D","keepdims":true}"#,
        r#"{"name":"ct","trainable":true,"class_name":"Conv2DTranspose","filters":2,"kernel_size":[3,3],"strides":[2,2],"padding":"same","output_padding":[1,1],"dilation_rate":[1,1],"activation":"relu","use_bias":true,"kernel_initializer":{"name":"glorot_uniform"},"bias_initializer":{"name":"zeros"}}"#,
        r#"{"name":"dw","trainable":true,"class_name":"DepthwiseConv2D","kernel_size":[3,3],"strides":[1,1],"padding":"valid","depth_multiplier":2,"dilation_rate":[1,1],"activation":"linear","use_bias":false,"depthwise_initializer":{"name":"he_normal"},"bias_initializer":{"name":"zeros"}}"#,
        r#"{"name":"sc","trainable":true,"class_name":"SeparableConv2D","filters":4,"kernel_size":[2,2],"strides":[1,1],"padding":"valid","dilation_rate":[2,2],"depth_multiplier":1,"activation":"tanh","use_bias":true,"depthwise_initializer":{"name":"glorot_uniform"},"pointwise_initializer":{"name":"glorot_normal"},"bias_initializer":{"name":"zeros"}}"#,
        r#"{"name":"zp","trainable":true,"class_name":"ZeroPadding2D","padding":[[1,2],[0,3]],"data_format":"channels_last"}"#,
        r#"{"name":"cr","trainable":true,"class_name":"Cropping1D","cropping":[2,0],"data_format":"channels_last"}"#,
        r#"{"name":"up","trainable":true,"class_name":"UpSampling2D","size":[2,3],"data_format":"channels_first","interpolation":"bilinear"}"#,
        r#"{"name":"sd","trainable":true,"class_name":"SpatialDropout1D","rate":0.25}"#,
        r#"{"name":"bn","trainable":true,"class_name":"BatchNormalization","axis":-1,"momentum":0.9,"epsilon":0.01,"center":false,"scale":true,"beta_initializer":{"name":"zeros"},"gamma_initializer":{"name":"ones"},"moving_mean_initializer":{"name":"zeros"},"moving_variance_initializer":{"name":"constant","value":2.0}}"#,
        r#"{"name":"emb","trainable":true,"class_name":"Embedding","input_dim":5000,"output_dim":50,"embeddings_initializer":{"name":"random_uniform","minval":-0.05,"maxval":0.05}}"#,
        r#"{"name":"embm","trainable":true,"class_name":"Embedding","input_dim":50,"output_dim":5,"embeddings_initializer":{"name":"random_uniform","minval":-0.05,"maxval":0.05},"mask_zero":true}"#,
        r#"{"name":"mk","trainable":true,"class_name":"Masking","mask_value":-1.0}"#,
        r#"{"name":"td","trainable":true,"class_name":"TimeDistributed","layer":{"name":"d","trainable":false,"class_name":"Dropout","rate":0.5}}"#,
        r#"{"name":"inner","trainable":true,"class_name":"Sequential","model":{"name":"s","class_name":"Sequential","input_shape":[2],"layers":[{"name":"f2","trainable":true,"class_name":"Flatten"}]}}"#,
        r#"{"name":"ss","trainable":true,"class_name":"TestScaleShift","momentum":0.5}"#,
        r#"{"name":"sr","trainable":true,"class_name":"SimpleRNN","units":3,"activation":"relu","use_bias":true,"kernel_initializer":{"name":"glorot_uniform"},"recurrent_initializer":{"name":"identity","gain":0.5},"bias_initializer":{"name":"zeros"},"dropout":0.0,"recurrent_dropout":0.0,"return_sequences":true,"go_backwards":false,"unroll":false}"#,
        r#"{"name":"l","trainable":true,"class_name":"LSTM","units":4,"activation":"tanh","recurrent_activation":"sigmoid","use_bias":true,"kernel_initializer":{"name":"glorot_uniform"},"recurrent_initializer":{"name":"orthogonal","gain":1.0},"bias_initializer":{"name":"zeros"},"unit_forget_bias":true,"dropout":0.2,"recurrent_dropout":0.2,"return_sequences":false,"go_backwards":true,"unroll":false}"#,
        r#"{"name":"g","trainable":true,"class_name":"GRU","units":2,"activation":"tanh","recurrent_activation":"hard_sigmoid","use_bias":false,"kernel_initializer":{"name":"he_normal"},"recurrent_initializer":{"name":"orthogonal","gain":2.0},"bias_initializer":{"name":"zeros"},"dropout":0.0,"recurrent_dropout":0.0,"return_sequences":false,"go_backwards":false,"unroll":true,"reset_after":false}"#,
    ];

    #[test]
    fn every_kind_keeps_its_wire_format() {
        for s in SPECS {
            let spec: LayerSpec = serde_json::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(serde_json::to_string(&spec).unwrap(), s);
        }
    }

    #[test]
    fn defaults_and_errors_are_those_of_the_spec_format() {
        let d: LayerSpec = serde_json::from_str(r#"{"class_name":"Dense","name":"d","units":2}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"name":"d","trainable":true,"class_name":"Dense","units":2,"activation":"linear","use_bias":true,"kernel_initializer":{"name":"glorot_uniform"},"bias_initializer":{"name":"zeros"}}"#
        );
        let c: LayerSpec = serde_json::from_str(r#"{"class_name":"Concatenate","name":"c"}"#).unwrap();
        assert_eq!(c.kind, LayerKind::Concatenate(ConcatenateConfig { axis: -1 }));
        let e = serde_json::from_str::<LayerSpec>(r#"{"class_name":"Dense","name":"d"}"#).unwrap_err();
        assert!(e.to_string().contains("missing field `units`"), "{e}");
        let e = serde_json::from_str::<LayerSpec>(r#"{"class_name":"Conv9D","name":"x"}"#).unwrap_err();
        assert!(e.to_string().starts_with("unknown variant `Conv9D`, expected one of `Dense`, `Dropout`"), "{e}");
    }

    #[test]
    fn the_supported_list_names_every_readable_kind() {
        assert_eq!(
            SUPPORTED_LAYERS,
            "Dense, Dropout, Activation, Flatten, Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum, \
             Dot, Reshape, Permute, RepeatVector, Masking, TimeDistributed, Conv2D, Conv1D, MaxPooling1D, MaxPooling2D, AveragePooling1D, \
             AveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D, \
             Conv2DTranspose, DepthwiseConv2D, SeparableConv2D, ZeroPadding1D, ZeroPadding2D, Cropping1D, Cropping2D, \
             UpSampling1D, UpSampling2D, SpatialDropout1D, SpatialDropout2D, BatchNormalization, Embedding, SimpleRNN, LSTM, GRU, InputLayer, and Functional and Sequential \
             models"
        );
    }
}
