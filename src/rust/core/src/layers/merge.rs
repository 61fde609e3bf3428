//! Merge layers: `layer_add`, `layer_subtract`, `layer_multiply`, `layer_average`,
//! `layer_maximum`, `layer_minimum` (element by element over inputs of one shape) and
//! `layer_concatenate` (along one axis; the others must match).

use super::{fmt_shapes, ConfigEntries, Layer, LayerDef, LayerSpec};
use crate::keras_h5::KerasLayerConfig;
use crate::keras_json::Json;
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use serde::{Deserialize, Serialize};

/// The element-wise merge kinds: `layer_add()` and the like take no arguments.
macro_rules! elementwise_kinds {
    ($($config:ident => $op:ident),* $(,)?) => {$(
        #[doc = concat!("`layer_", stringify!($op), "()` (no arguments; see [`MergeOp::", stringify!($op), "`]).")]
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        pub struct $config {}

        impl LayerDef for $config {
            const MERGE: bool = true;

            fn build<T: Real>(
                &self,
                spec: &LayerSpec,
                inputs: &[&[usize]],
                _: &mut Rng,
            ) -> Result<Box<dyn Layer<T>>, String> {
                Ok(Box::new(Elementwise::new(spec.clone(), MergeOp::$op, inputs)?))
            }

            fn keras_config(&self, _: &mut ConfigEntries) {}

            fn from_keras(_: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
                Ok($config {})
            }

            /// Keras: the `or` of the inputs' masks when every input has one.
            fn mask_flow(&self) -> super::MaskFlow {
                super::MaskFlow::Pass
            }
        }
    )*};
}

elementwise_kinds! {
    AddConfig => Add,
    SubtractConfig => Subtract,
    MultiplyConfig => Multiply,
    AverageConfig => Average,
    MaximumConfig => Maximum,
    MinimumConfig => Minimum,
}

/// `layer_concatenate()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConcatenateConfig {
    #[serde(default = "last_axis")]
    pub axis: i64,
}

fn last_axis() -> i64 {
    -1
}

impl LayerDef for ConcatenateConfig {
    const MERGE: bool = true;

    fn build<T: Real>(&self, spec: &LayerSpec, inputs: &[&[usize]], _: &mut Rng) -> Result<Box<dyn Layer<T>>, String> {
        Ok(Box::new(Concatenate::new(spec.clone(), self.axis, inputs)?))
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        c.push(("axis", Json::Int(self.axis)));
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        Ok(ConcatenateConfig { axis: c.int_arg("axis")?.unwrap_or(-1) })
    }

    /// Along the last axis, Keras' mask is the `or` of the inputs' masks (an input without one
    /// counts as all true); along another axis the masks are concatenated, which rkeras does not
    /// do yet.
    fn mask_flow(&self) -> super::MaskFlow {
        if self.axis == -1 {
            super::MaskFlow::Pass
        } else {
            super::MaskFlow::Refuse
        }
    }
}

/// The element-wise operation of a merge layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MergeOp {
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
}

pub struct Elementwise {
    spec: LayerSpec,
    op: MergeOp,
    shape: Vec<usize>,
    /// Maximum/minimum: which input gave each output element (the first that did).
    winner: Vec<u32>,
}

impl Elementwise {
    pub fn new(spec: LayerSpec, op: MergeOp, inputs: &[&[usize]]) -> Result<Self, String> {
        if op == MergeOp::Subtract && inputs.len() != 2 {
            return Err(format!(
                "{}: a Subtract layer should be called on exactly 2 inputs, got {} ({})",
                spec.name,
                inputs.len(),
                fmt_shapes(inputs)
            ));
        }
        if inputs.iter().any(|s| *s != inputs[0]) {
            return Err(format!("{}: inputs have incompatible shapes: {}", spec.name, fmt_shapes(inputs)));
        }
        Ok(Elementwise { spec, op, shape: inputs[0].to_vec(), winner: Vec::new() })
    }
}

impl<T: Real> Layer<T> for Elementwise {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, _training: bool, _rng: &mut Rng) {
        out.resize(&xs[0].shape);
        out.data.copy_from_slice(&xs[0].data);
        for x in &xs[1..] {
            let o = out.data.iter_mut().zip(&x.data);
            match self.op {
                MergeOp::Add | MergeOp::Average => o.for_each(|(o, v)| *o += *v),
                MergeOp::Subtract => o.for_each(|(o, v)| *o -= *v),
                MergeOp::Multiply => o.for_each(|(o, v)| *o *= *v),
                // NaN wins, as in Keras' maximum/minimum
                MergeOp::Maximum => o.for_each(|(o, v)| *o = if *v > *o || v.is_nan() { *v } else { *o }),
                MergeOp::Minimum => o.for_each(|(o, v)| *o = if *v < *o || v.is_nan() { *v } else { *o }),
            }
        }
        if self.op == MergeOp::Average {
            let inv = T::c(1.0 / xs.len() as f64);
            out.data.iter_mut().for_each(|o| *o *= inv);
        }
    }

    fn backward(
        &mut self,
        xs: &[&Tensor<T>],
        out: &Tensor<T>,
        g: &mut Tensor<T>,
        dxs: &mut [Option<&mut Tensor<T>>],
        _pre: bool,
    ) {
        let n = xs.len();
        if matches!(self.op, MergeOp::Maximum | MergeOp::Minimum) {
            self.winner.resize(out.data.len(), 0);
            for (i, w) in self.winner.iter_mut().enumerate() {
                *w = (0..n).find(|&k| same(xs[k].data[i], out.data[i])).unwrap_or(0) as u32;
            }
        }
        for k in 0..n {
            let Some(dx) = dxs[k].as_deref_mut() else { continue };
            dx.resize(&xs[k].shape);
            let d = dx.data.iter_mut().zip(&g.data);
            match self.op {
                MergeOp::Add => d.for_each(|(d, g)| *d = *g),
                MergeOp::Subtract if k == 0 => d.for_each(|(d, g)| *d = *g),
                MergeOp::Subtract => d.for_each(|(d, g)| *d = -*g),
                MergeOp::Average => {
                    let inv = T::c(1.0 / n as f64);
                    d.for_each(|(d, g)| *d = *g * inv)
                }
                MergeOp::Multiply => {
                    for (i, (d, g)) in d.enumerate() {
                        let mut p = *g;
                        for (j, x) in xs.iter().enumerate() {
                            if j != k {
                                p *= x.data[i];
                            }
                        }
                        *d = p;
                    }
                }
                MergeOp::Maximum | MergeOp::Minimum => {
                    for ((d, g), w) in d.zip(&self.winner) {
                        *d = if *w as usize == k { *g } else { T::zero() };
                    }
                }
            }
        }
    }
}

fn same<T: Real>(a: T, b: T) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// `layer_concatenate(axis)`: joins the inputs along `axis`.
pub struct Concatenate {
    spec: LayerSpec,
    shape: Vec<usize>,
    /// Per input: the length of one contiguous run along and after the axis.
    runs: Vec<usize>,
    /// Number of runs per sample (product of the axes before `axis`).
    outer: usize,
}

impl Concatenate {
    pub fn new(spec: LayerSpec, axis: i64, inputs: &[&[usize]]) -> Result<Self, String> {
        let rank = inputs[0].len();
        // Keras counts the batch axis: axis 1 is the first per-sample axis, -1 the last
        let a = if axis < 0 { rank as i64 + 1 + axis } else { axis };
        if a < 1 || a > rank as i64 {
            return Err(format!(
                "{}: axis {axis} is out of range for inputs of shape {}",
                spec.name,
                fmt_shapes(&inputs[..1])
            ));
        }
        let a = (a - 1) as usize;
        let fits = |s: &[usize]| s.len() == rank && (0..rank).all(|i| i == a || s[i] == inputs[0][i]);
        if !inputs.iter().all(|s| fits(s)) {
            return Err(format!(
                "{}: a Concatenate layer requires inputs with matching shapes except for the concatenation axis (axis {axis}); got {}",
                spec.name,
                fmt_shapes(inputs)
            ));
        }
        let mut shape = inputs[0].to_vec();
        shape[a] = inputs.iter().map(|s| s[a]).sum();
        let after: usize = inputs[0][a + 1..].iter().product();
        let runs = inputs.iter().map(|s| s[a] * after).collect();
        let outer = inputs[0][..a].iter().product();
        Ok(Concatenate { spec, shape, runs, outer })
    }
}

impl<T: Real> Layer<T> for Concatenate {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, _training: bool, _rng: &mut Rng) {
        let rows = xs[0].rows() * self.outer;
        out.resize_batch(xs[0].rows(), &self.shape);
        let width: usize = self.runs.iter().sum();
        for (r, o) in out.data.chunks_exact_mut(width).enumerate().take(rows) {
            let mut at = 0;
            for (x, &run) in xs.iter().zip(&self.runs) {
                o[at..at + run].copy_from_slice(&x.data[r * run..(r + 1) * run]);
                at += run;
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
        let width: usize = self.runs.iter().sum();
        let mut at = 0;
        for (k, &run) in self.runs.iter().enumerate() {
            if let Some(dx) = dxs[k].as_deref_mut() {
                dx.resize(&xs[k].shape);
                for (d, gr) in dx.data.chunks_exact_mut(run).zip(g.data.chunks_exact(width)) {
                    d.copy_from_slice(&gr[at..at + run]);
                }
            }
            at += run;
        }
    }
}
