//! `layer_spatial_dropout_1d` and `layer_spatial_dropout_2d`: dropout of whole channels. In
//! training each (sample, channel) is kept with probability `1 - rate` and scaled by
//! `1 / (1 - rate)`, the same factor on every step (1d, input `(batch, steps, channels)`) or
//! every row and column (2d, `(batch, rows, cols, channels)` or channels first) — Keras'
//! noise shape `(batch, 1, channels)` / `(batch, 1, 1, channels)`. Inference is the identity.
//!
//! The masks come from the model's training stream as [`super::Dropout`]'s do: one word per
//! (sample, channel), in that order, kept when the word is at or above `rate * 2^32`, so that
//! `set.seed()` repeats them.

use super::dropout::{keep_rule, pass_through};
use super::padding::{DataFormat, Grid};
use super::{ConfigEntries, Layer, LayerDef, LayerSpec, WeightCount};
use crate::keras_h5::KerasLayerConfig;
use crate::keras_json::Json;
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use serde::{Deserialize, Serialize};

fn check_rate(layer: &str, class: &str, rate: f64) -> Result<(), String> {
    if !(0.0..1.0).contains(&rate) {
        return Err(format!("{layer}: {class} rate must be in [0, 1), got {rate}"));
    }
    Ok(())
}

fn read_rate(c: &KerasLayerConfig<'_>) -> Result<f64, String> {
    c.require_null(&["noise_shape"])?;
    c.get("rate")
        .and_then(|v| v.as_f64())
        .filter(|r| (0.0..1.0).contains(r))
        .ok_or_else(|| format!("layer '{}' ({}): `rate` is missing or not in [0, 1)", c.name, c.class))
}

/// A built spatial dropout layer.
pub struct SpatialDropout<T> {
    spec: LayerSpec,
    rate: f64,
    g: Grid,
    shape: Vec<usize>,
    /// 0 or 1/(1-rate) per (sample, channel) of the last training batch; empty after inference.
    mask: Vec<T>,
    words: Vec<u32>,
}

impl<T: Real> SpatialDropout<T> {
    fn new(spec: LayerSpec, rate: f64, g: Grid, input: &[usize]) -> Self {
        SpatialDropout { spec, rate, g, shape: input.to_vec(), mask: Vec::new(), words: Vec::new() }
    }

    /// `out = x * mask` per (sample, channel) (`out` may be the gradient, `x` its source).
    fn apply(&self, x: &[T], out: &mut [T]) {
        let (c, inner) = (self.g.channels(), self.g.inner);
        let per_channel = self.g.h * self.g.w;
        let len = self.g.len();
        for ((xs, os), m) in x.chunks_exact(len).zip(out.chunks_exact_mut(len)).zip(self.mask.chunks_exact(c)) {
            if inner == 1 {
                // channels first: one run per channel
                for ((xc, oc), &m) in xs.chunks_exact(per_channel).zip(os.chunks_exact_mut(per_channel)).zip(m) {
                    oc.iter_mut().zip(xc).for_each(|(o, v)| *o = *v * m);
                }
            } else {
                for (xp, op) in xs.chunks_exact(c).zip(os.chunks_exact_mut(c)) {
                    for ((o, v), &m) in op.iter_mut().zip(xp).zip(m) {
                        *o = *v * m;
                    }
                }
            }
        }
    }
}

impl<T: Real> Layer<T> for SpatialDropout<T> {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, training: bool, rng: &mut Rng) {
        let x = xs[0];
        out.resize(&x.shape);
        if pass_through(training, self.rate, &x.data, &mut out.data, &mut self.mask) {
            return;
        }
        let (threshold, scale) = keep_rule::<T>(self.rate);
        let n = x.rows() * self.g.channels();
        self.words.resize(n, 0);
        let start = rng.word_pos();
        rng.words_from(start).fill(&mut self.words);
        rng.set_word_pos(start + n as u128);
        self.mask.clear();
        self.mask.extend(self.words.iter().map(|&u| if u >= threshold { scale } else { T::zero() }));
        self.apply(&x.data, &mut out.data);
    }

    fn is_identity_at_inference(&self) -> bool {
        true
    }

    fn backward(
        &mut self,
        _xs: &[&Tensor<T>],
        _out: &Tensor<T>,
        g: &mut Tensor<T>,
        dxs: &mut [Option<&mut Tensor<T>>],
        _pre: bool,
    ) {
        if let Some(dx) = dxs[0].as_deref_mut() {
            dx.resize(&g.shape);
            if self.mask.is_empty() {
                dx.data.copy_from_slice(&g.data);
            } else {
                self.apply(&g.data, &mut dx.data);
            }
        }
    }
}

/// `layer_spatial_dropout_1d()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpatialDropout1DConfig {
    pub rate: f64,
}

/// `layer_spatial_dropout_2d()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpatialDropout2DConfig {
    pub rate: f64,
    #[serde(default)]
    pub data_format: DataFormat,
}

/// Keras 3's spatial dropout `get_config()` is `rate, seed, name, dtype` (then
/// `data_format` for 2d), without `trainable`, which its constructor does not take.
fn keras3_full(rate: f64, name: &str, format: Option<DataFormat>) -> ConfigEntries {
    let mut c =
        vec![("rate", Json::Float(rate)), ("seed", Json::Null), ("name", Json::s(name)), ("dtype", Json::s("float32"))];
    if let Some(f) = format {
        c.push(("data_format", f.json()));
    }
    c
}

fn keras2(rate: f64, c: &mut ConfigEntries) {
    c.push(("rate", Json::Float(rate)));
    c.push(("noise_shape", Json::Null));
    c.push(("seed", Json::Null));
}

impl LayerDef for SpatialDropout1DConfig {
    const BUILD_CONFIG: bool = false;
    const TAKES_TRAINING: bool = true;

    fn build<T: Real>(&self, spec: &LayerSpec, inputs: &[&[usize]], _: &mut Rng) -> Result<Box<dyn Layer<T>>, String> {
        check_rate(&spec.name, "SpatialDropout1D", self.rate)?;
        let g = Grid::of(&spec.name, "SpatialDropout1D", 1, DataFormat::ChannelsLast, inputs[0])?;
        Ok(Box::new(SpatialDropout::<T>::new(spec.clone(), self.rate, g, inputs[0])))
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        c.push(("rate", Json::Float(self.rate)));
        c.push(("seed", Json::Null));
    }

    fn keras_layer_config(&self, name: &str) -> Option<ConfigEntries> {
        Some(keras3_full(self.rate, name, None))
    }

    fn keras2_config(&self, _layer: &str, c: &mut ConfigEntries) -> Result<(), String> {
        keras2(self.rate, c);
        Ok(())
    }

    fn mask_flow(&self) -> super::MaskFlow {
        super::MaskFlow::Pass
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        Ok(SpatialDropout1DConfig { rate: read_rate(c)? })
    }

    fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
        if shape.len() != 2 {
            return WeightCount::Unknown;
        }
        WeightCount::Values(0)
    }
}

impl LayerDef for SpatialDropout2DConfig {
    const BUILD_CONFIG: bool = false;
    const TAKES_TRAINING: bool = true;

    fn build<T: Real>(&self, spec: &LayerSpec, inputs: &[&[usize]], _: &mut Rng) -> Result<Box<dyn Layer<T>>, String> {
        check_rate(&spec.name, "SpatialDropout2D", self.rate)?;
        let g = Grid::of(&spec.name, "SpatialDropout2D", 2, self.data_format, inputs[0])?;
        Ok(Box::new(SpatialDropout::<T>::new(spec.clone(), self.rate, g, inputs[0])))
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        c.push(("rate", Json::Float(self.rate)));
        c.push(("seed", Json::Null));
        c.push(("data_format", self.data_format.json()));
    }

    fn keras_layer_config(&self, name: &str) -> Option<ConfigEntries> {
        Some(keras3_full(self.rate, name, Some(self.data_format)))
    }

    fn keras2_config(&self, layer: &str, c: &mut ConfigEntries) -> Result<(), String> {
        // tf.keras 2 does not write SpatialDropout2D's data_format (it reads back as channels last)
        if self.data_format != DataFormat::ChannelsLast {
            return Err(format!(
                "layer '{layer}': tf.keras 2 does not save SpatialDropout2D's data_format, so a channels_first one \
                 cannot be saved for Keras 2 (use keras_version = 3)"
            ));
        }
        keras2(self.rate, c);
        Ok(())
    }

    fn mask_flow(&self) -> super::MaskFlow {
        super::MaskFlow::Pass
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        Ok(SpatialDropout2DConfig { rate: read_rate(c)?, data_format: DataFormat::from_keras(c)? })
    }

    fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
        if shape.len() != 3 {
            return WeightCount::Unknown;
        }
        WeightCount::Values(0)
    }
}
