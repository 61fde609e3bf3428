//! `layer_embedding`: row `id` of the `(input_dim, output_dim)` weight `embeddings` for each
//! integer id of the input. Input `(batch, ...)` of ids (carried as floats, exact up to
//! 2^24), output `(batch, ..., output_dim)`. No gradient flows to the ids.
//!
//! With `mask_zero`, the output carries a Keras mask: true where the id is not 0 (see
//! [`super::MaskFlow::Make`]); the id 0 still looks up row 0.
//!
//! Ids are checked before a model runs ([`check_ids`], called by the data checks for every
//! embedding that reads a model input); an id that still arrives bad (not an integer, or
//! outside `[0, input_dim)`) gives a zero row and no gradient, never a panic.

use super::{fmt_shape, ConfigEntries, Layer, LayerDef, LayerKind, LayerSpec, Mask, MaskFlow, WeightCount, WeightRef};
use crate::init::Initializer;
use crate::keras_h5::keras2;
use crate::keras_h5::KerasLayerConfig;
use crate::keras_json::{initializer_json, Json};
use crate::rng::Rng;
use crate::tensor::{try_zeros, Tensor};
use crate::Real;
use crate::{forkjoin, parts};
use serde::{Deserialize, Serialize};

/// The largest vocabulary: ids travel as f32, whose integers are exact up to 2^24.
pub const MAX_INPUT_DIM: usize = 1 << 24;

/// `layer_embedding()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingConfig {
    pub input_dim: usize,
    pub output_dim: usize,
    #[serde(default = "uniform")]
    pub embeddings_initializer: Initializer,
    /// Id 0 is padding: the output's mask is false there.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mask_zero: bool,
}

fn uniform() -> Initializer {
    Initializer::RandomUniform { minval: -0.05, maxval: 0.05 }
}

impl LayerDef for EmbeddingConfig {
    fn build<T: Real>(
        &self,
        spec: &LayerSpec,
        inputs: &[&[usize]],
        rng: &mut Rng,
    ) -> Result<Box<dyn Layer<T>>, String> {
        Ok(Box::new(Embedding::new(spec.clone(), inputs[0], rng)?))
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        c.push(("input_dim", Json::Int(self.input_dim as i64)));
        c.push(("output_dim", Json::Int(self.output_dim as i64)));
        c.push(("embeddings_initializer", initializer_json(&self.embeddings_initializer)));
        for k in ["embeddings_regularizer", "activity_regularizer", "embeddings_constraint"] {
            c.push((k, Json::Null));
        }
        c.push(("mask_zero", Json::Bool(self.mask_zero)));
        c.push(("quantization_config", Json::Null));
    }

    fn keras2_config(&self, _layer: &str, c: &mut ConfigEntries) -> Result<(), String> {
        c.push(("input_dim", Json::Int(self.input_dim as i64)));
        c.push(("output_dim", Json::Int(self.output_dim as i64)));
        c.push(("embeddings_initializer", keras2::initializer(&self.embeddings_initializer)));
        for k in ["embeddings_regularizer", "activity_regularizer", "embeddings_constraint"] {
            c.push((k, Json::Null));
        }
        c.push(("mask_zero", Json::Bool(self.mask_zero)));
        c.push(("input_length", Json::Null));
        Ok(())
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        c.require_null(&[
            "embeddings_regularizer",
            "activity_regularizer",
            "embeddings_constraint",
            "lora_rank",
            "quantization_config",
        ])?;
        let err = |what: &str| format!("layer '{}' (Embedding): {what}", c.name);
        if c.bool_or("sparse", false) {
            return Err(err("sparse = true is not supported by rkeras"));
        }
        let dim = |key: &str| {
            c.usize_arg(key)
                .filter(|u| *u > 0)
                .ok_or_else(|| err(&format!("`{key}` is missing or not a positive integer")))
        };
        let (input_dim, output_dim) = (dim("input_dim")?, dim("output_dim")?);
        Ok(EmbeddingConfig {
            input_dim,
            output_dim,
            embeddings_initializer: c.initializer("embeddings_initializer", uniform()),
            mask_zero: c.bool_or("mask_zero", false),
        })
    }

    fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
        shape.push(self.output_dim);
        self.input_dim.checked_mul(self.output_dim).map_or(WeightCount::TooBig, WeightCount::Values)
    }

    fn min_weight_count(&self) -> usize {
        self.input_dim.saturating_mul(self.output_dim)
    }

    fn mask_flow(&self) -> MaskFlow {
        if self.mask_zero {
            MaskFlow::Make
        } else {
            MaskFlow::Stop
        }
    }

    /// Keras: `ops.not_equal(inputs, 0)`, one entry per id.
    fn make_mask<T: Real>(&self, x: &Tensor<T>, mask: &mut Mask) {
        mask.clear();
        mask.extend(x.data.iter().map(|v| *v != T::zero()));
    }
}

/// The row of id value `v` in a table of `input_dim` rows, if `v` is a valid id.
#[inline]
fn row_of<T: Real>(v: T, input_dim: usize) -> Option<usize> {
    let f = v.to_f64().unwrap_or(f64::NAN);
    (f >= 0.0 && f < input_dim as f64 && f.fract() == 0.0).then_some(f as usize)
}

/// Checks the ids `data` (batch first, `sample` the per-sample shape) an embedding `layer`
/// with `input_dim` rows reads: each an integer in `[0, input_dim)`. The error names the first
/// bad value and its position as R counts (1-based), row `row0 + i + 1`; `what` names the
/// data (`x`).
pub fn check_ids<T: Real>(
    data: &[T],
    sample: &[usize],
    row0: usize,
    layer: &str,
    input_dim: usize,
    what: &str,
) -> Result<(), String> {
    let rl = sample.iter().product::<usize>().max(1);
    let Some(k) = data.iter().position(|v| row_of(*v, input_dim).is_none()) else { return Ok(()) };
    let v = data[k].to_f64().unwrap_or(f64::NAN);
    let (row, within) = (row0 + k / rl + 1, k % rl);
    let at = if sample.len() <= 1 {
        format!("row {row}, step {}", within + 1)
    } else {
        let mut idx = vec![0; sample.len()];
        let mut r = within;
        for (i, d) in sample.iter().enumerate().rev() {
            idx[i] = r % d + 1;
            r /= d;
        }
        format!("row {row}, position ({})", fmt_shape(&idx))
    };
    let why = if v.is_nan() {
        "is missing (NA/NaN)".to_string()
    } else if v.fract() != 0.0 {
        format!("is {v}, not an integer")
    } else {
        format!("is {v}, outside [0, {input_dim})")
    };
    Err(format!(
        "{layer} (Embedding): {what}[{at}] {why}; ids must be whole numbers from 0 to {} (input_dim = {input_dim})",
        input_dim - 1
    ))
}

pub struct Embedding<T> {
    spec: LayerSpec,
    input_dim: usize,
    output_dim: usize,
    out_shape: Vec<usize>,
    embeddings: Vec<T>,
    dembeddings: Vec<T>,
}

impl<T: Real> Embedding<T> {
    pub fn new(spec: LayerSpec, input_shape: &[usize], rng: &mut Rng) -> Result<Self, String> {
        let LayerKind::Embedding(EmbeddingConfig { input_dim, output_dim, embeddings_initializer, .. }) = &spec.kind
        else {
            unreachable!("Embedding::new on another kind")
        };
        let (input_dim, output_dim) = (*input_dim, *output_dim);
        if input_dim == 0 || output_dim == 0 {
            return Err(format!("{}: input_dim and output_dim must be positive integers", spec.name));
        }
        if input_dim > MAX_INPUT_DIM {
            return Err(format!(
                "{}: input_dim = {input_dim} is larger than rkeras supports ({MAX_INPUT_DIM}: ids travel as float32)",
                spec.name
            ));
        }
        let what = format!("{} (a {input_dim} x {output_dim} embedding)", spec.name);
        let n = input_dim.checked_mul(output_dim).ok_or_else(|| format!("{what}: too many weights"))?;
        let mut embeddings = try_zeros(n, &what)?;
        embeddings_initializer.fill(&mut embeddings, input_dim, output_dim, rng);
        let mut out_shape = input_shape.to_vec();
        out_shape.push(output_dim);
        Ok(Embedding { input_dim, output_dim, out_shape, embeddings, dembeddings: try_zeros(n, &what)?, spec })
    }

    /// Output rows for the ids `ids` into `out` (`ids.len() * output_dim` values).
    fn gather(&self, ids: &[T], out: &mut [T]) {
        let d = self.output_dim;
        for (o, v) in out.chunks_exact_mut(d).zip(ids) {
            match row_of(*v, self.input_dim) {
                Some(r) => o.copy_from_slice(&self.embeddings[r * d..(r + 1) * d]),
                None => o.iter_mut().for_each(|x| *x = T::zero()),
            }
        }
    }
}

impl<T: Real> Layer<T> for Embedding<T> {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, _training: bool, _rng: &mut Rng) {
        let x = xs[0];
        out.resize_batch(x.rows(), &self.out_shape);
        let d = self.output_dim;
        if parts::split_elementwise(out.data.len()) && x.data.len() > 1 {
            let half = x.data.len() / 2;
            let (i0, i1) = x.data.split_at(half);
            let (o0, o1) = out.data.split_at_mut(half * d);
            let this = &*self;
            forkjoin::join(|| this.gather(i0, o0), || this.gather(i1, o1));
        } else {
            self.gather(&x.data, &mut out.data);
        }
    }

    fn backward(
        &mut self,
        xs: &[&Tensor<T>],
        _out: &Tensor<T>,
        g: &mut Tensor<T>,
        dxs: &mut [Option<&mut Tensor<T>>],
        _g_is_preactivation: bool,
    ) {
        let x = xs[0];
        let d = self.output_dim;
        // A dense gradient, zeroed whole: a shared layer's gradient buffer also receives the
        // gradients of its other applications, so the rows this pass touched are not the only
        // ones to clear (a memset of the table costs far less than the optimizer's pass over it).
        self.dembeddings.iter_mut().for_each(|v| *v = T::zero());
        for (gr, v) in g.data.chunks_exact(d).zip(&x.data) {
            if let Some(r) = row_of(*v, self.input_dim) {
                self.dembeddings[r * d..(r + 1) * d].iter_mut().zip(gr).for_each(|(a, b)| *a += *b);
            }
        }
        // ids have no gradient
        if let Some(dx) = dxs[0].as_deref_mut() {
            dx.resize(&x.shape);
            dx.data.iter_mut().for_each(|v| *v = T::zero());
        }
    }

    fn weights(&self) -> Vec<WeightRef<'_, T>> {
        vec![WeightRef {
            name: "embeddings",
            shape: vec![self.input_dim, self.output_dim],
            values: &self.embeddings,
            trainable: true,
        }]
    }

    fn push_params<'a>(&'a mut self, params: &mut Vec<&'a mut [T]>, grads: &mut Vec<&'a mut [T]>) {
        params.push(&mut self.embeddings);
        grads.push(&mut self.dembeddings);
    }

    fn push_weights_mut<'a>(&'a mut self, out: &mut Vec<&'a mut [T]>) {
        out.push(&mut self.embeddings);
    }
}

#[cfg(test)]
#[path = "embedding_tests.rs"]
mod tests;
