//! Shape layers: `layer_reshape` (same values, new per-sample shape), `layer_flatten`
//! (`(batch, d1, d2, ...)` to `(batch, d1*d2*...)` in row-major order, so element `[i, r, c]` of a
//! `(n, 4, 5)` input lands at position `r*5 + c`), `layer_permute` (per-sample axes reordered)
//! and `layer_repeat_vector` (`(batch, d)` to `(batch, n, d)`).

use super::{fmt_shape, ConfigEntries, Layer, LayerDef, LayerSpec, WeightCount};
use crate::keras_h5::KerasLayerConfig;
use crate::keras_json::{int_list, Json};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use serde::{Deserialize, Serialize};

/// `layer_flatten()` (no arguments).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlattenConfig {}

impl LayerDef for FlattenConfig {
    fn build<T: Real>(&self, spec: &LayerSpec, inputs: &[&[usize]], _: &mut Rng) -> Result<Box<dyn Layer<T>>, String> {
        Ok(Box::new(Reshape::flatten(spec.clone(), inputs[0])))
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        c.push(("data_format", Json::s("channels_last")));
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        if c.get("data_format").and_then(|v| v.as_str()) == Some("channels_first") {
            return Err(format!(
                "layer '{}' (Flatten): data_format = \"channels_first\" is not supported by rkeras",
                c.name
            ));
        }
        Ok(FlattenConfig {})
    }

    fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
        match shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) {
            Some(n) => {
                *shape = vec![n];
                WeightCount::Values(0)
            }
            None => WeightCount::TooBig,
        }
    }
}

/// `layer_reshape()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReshapeConfig {
    /// Per-sample target shape; one entry may be -1.
    pub target_shape: Vec<i64>,
}

impl LayerDef for ReshapeConfig {
    const BUILD_CONFIG: bool = false;

    fn build<T: Real>(&self, spec: &LayerSpec, inputs: &[&[usize]], _: &mut Rng) -> Result<Box<dyn Layer<T>>, String> {
        Ok(Box::new(Reshape::new(spec.clone(), &self.target_shape, inputs[0])?))
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        c.push(("target_shape", int_list(self.target_shape.iter().copied())));
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        Ok(ReshapeConfig { target_shape: c.int_list("target_shape")? })
    }
}

/// `layer_permute()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PermuteConfig {
    /// A permutation of the per-sample axes, 1-based as in Keras.
    pub dims: Vec<usize>,
}

impl LayerDef for PermuteConfig {
    fn build<T: Real>(&self, spec: &LayerSpec, inputs: &[&[usize]], _: &mut Rng) -> Result<Box<dyn Layer<T>>, String> {
        Ok(Box::new(Permute::new(spec.clone(), &self.dims, inputs[0])?))
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        c.push(("dims", int_list(self.dims.iter().map(|&d| d as i64))));
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        let dims = c.int_list("dims")?;
        if dims.iter().any(|&d| d < 1) {
            return Err(format!("layer '{}' (Permute): dims {dims:?} must count the axes from 1", c.name));
        }
        Ok(PermuteConfig { dims: dims.into_iter().map(|d| d as usize).collect() })
    }
}

/// `layer_repeat_vector()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RepeatVectorConfig {
    pub n: usize,
}

impl LayerDef for RepeatVectorConfig {
    fn build<T: Real>(&self, spec: &LayerSpec, inputs: &[&[usize]], _: &mut Rng) -> Result<Box<dyn Layer<T>>, String> {
        Ok(Box::new(RepeatVector::new(spec.clone(), self.n, inputs[0])?))
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        c.push(("n", Json::Int(self.n as i64)));
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        let n = c
            .usize_arg("n")
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("layer '{}' (RepeatVector): `n` is missing or not a positive integer", c.name))?;
        Ok(RepeatVectorConfig { n })
    }
}

pub struct Reshape {
    spec: LayerSpec,
    shape: Vec<usize>,
}

impl Reshape {
    /// `layer_flatten`: one axis holding every value of a sample.
    pub fn flatten(spec: LayerSpec, input: &[usize]) -> Self {
        Reshape { spec, shape: vec![input.iter().product()] }
    }

    pub fn new(spec: LayerSpec, target: &[i64], input: &[usize]) -> Result<Self, String> {
        let size: usize = input.iter().product();
        let unknown = target.iter().filter(|&&d| d == -1).count();
        let bad = target.is_empty() || unknown > 1 || target.iter().any(|&d| d == 0 || d < -1);
        let known: usize = target.iter().filter(|&&d| d > 0).map(|&d| d as usize).product();
        let err = || {
            let t = target.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ");
            format!(
                "{}: the total size of the new array must be unchanged: input shape ({}) has {size} values, target_shape ({t}) cannot hold them",
                spec.name,
                fmt_shape(input)
            )
        };
        if bad || known == 0 || !size.is_multiple_of(known) || (unknown == 0 && known != size) {
            return Err(err());
        }
        let shape = target.iter().map(|&d| if d == -1 { size / known } else { d as usize }).collect();
        Ok(Reshape { spec, shape })
    }
}

impl<T: Real> Layer<T> for Reshape {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, _training: bool, _rng: &mut Rng) {
        out.resize_batch(xs[0].rows(), &self.shape);
        out.data.copy_from_slice(&xs[0].data);
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

/// `layer_permute(dims)`: output axis `i` is input axis `dims[i]` (1-based, per sample).
pub struct Permute {
    spec: LayerSpec,
    shape: Vec<usize>,
    /// For each output element of one sample (row-major), its offset in the input sample.
    source: Vec<usize>,
}

impl Permute {
    pub fn new(spec: LayerSpec, dims: &[usize], input: &[usize]) -> Result<Self, String> {
        let mut sorted = dims.to_vec();
        sorted.sort_unstable();
        if sorted != (1..=input.len()).collect::<Vec<_>>() {
            let d = dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ");
            return Err(format!(
                "{}: `dims` must be a permutation of 1..{} (the axes of input shape ({})), got ({d})",
                spec.name,
                input.len(),
                fmt_shape(input)
            ));
        }
        let shape: Vec<usize> = dims.iter().map(|&d| input[d - 1]).collect();
        let mut in_strides = vec![1; input.len()];
        for i in (0..input.len().saturating_sub(1)).rev() {
            in_strides[i] = in_strides[i + 1] * input[i + 1];
        }
        let size: usize = input.iter().product();
        let mut source = Vec::with_capacity(size);
        let mut idx = vec![0usize; shape.len()];
        for _ in 0..size {
            source.push(idx.iter().zip(dims).map(|(&i, &d)| i * in_strides[d - 1]).sum());
            for a in (0..idx.len()).rev() {
                idx[a] += 1;
                if idx[a] < shape[a] {
                    break;
                }
                idx[a] = 0;
            }
        }
        Ok(Permute { spec, shape, source })
    }
}

impl<T: Real> Layer<T> for Permute {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, _training: bool, _rng: &mut Rng) {
        let x = xs[0];
        out.resize_batch(x.rows(), &self.shape);
        let len = self.source.len();
        for (o, xr) in out.data.chunks_exact_mut(len).zip(x.data.chunks_exact(len)) {
            for (o, &s) in o.iter_mut().zip(&self.source) {
                *o = xr[s];
            }
        }
    }

    fn backward(
        &mut self,
        xs: &[&Tensor<T>],
        _out: &Tensor<T>,
        g: &mut Tensor<T>,
        dxs: &mut [Option<&mut Tensor<T>>],
        _pre: bool,
    ) {
        let Some(dx) = dxs[0].as_deref_mut() else { return };
        dx.resize(&xs[0].shape);
        let len = self.source.len();
        for (d, gr) in dx.data.chunks_exact_mut(len).zip(g.data.chunks_exact(len)) {
            for (gv, &s) in gr.iter().zip(&self.source) {
                d[s] = *gv;
            }
        }
    }
}

/// `layer_repeat_vector(n)`: repeats a `(batch, d)` input `n` times into `(batch, n, d)`.
pub struct RepeatVector {
    spec: LayerSpec,
    shape: Vec<usize>,
}

impl RepeatVector {
    pub fn new(spec: LayerSpec, n: usize, input: &[usize]) -> Result<Self, String> {
        if input.len() != 1 {
            return Err(format!(
                "{}: RepeatVector takes 2-d input (batch, features), got shape (None, {})",
                spec.name,
                fmt_shape(input)
            ));
        }
        if n == 0 {
            return Err(format!("{}: `n` must be a positive integer", spec.name));
        }
        Ok(RepeatVector { spec, shape: vec![n, input[0]] })
    }
}

impl<T: Real> Layer<T> for RepeatVector {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, _training: bool, _rng: &mut Rng) {
        let x = xs[0];
        let (n, d) = (self.shape[0], self.shape[1]);
        out.resize_batch(x.rows(), &self.shape);
        for (o, xr) in out.data.chunks_exact_mut(n * d).zip(x.data.chunks_exact(d)) {
            for o in o.chunks_exact_mut(d) {
                o.copy_from_slice(xr);
            }
        }
    }

    fn backward(
        &mut self,
        xs: &[&Tensor<T>],
        _out: &Tensor<T>,
        g: &mut Tensor<T>,
        dxs: &mut [Option<&mut Tensor<T>>],
        _pre: bool,
    ) {
        let Some(dx) = dxs[0].as_deref_mut() else { return };
        let (n, d) = (self.shape[0], self.shape[1]);
        dx.resize(&xs[0].shape);
        for (dr, gr) in dx.data.chunks_exact_mut(d).zip(g.data.chunks_exact(n * d)) {
            dr.copy_from_slice(&gr[..d]);
            for r in gr[d..].chunks_exact(d) {
                dr.iter_mut().zip(r).for_each(|(a, b)| *a += *b);
            }
        }
    }
}
