//! Shape layers: `layer_reshape` (same values, new per-sample shape), `layer_flatten`
//! (`(batch, d1, d2, ...)` to `(batch, d1*d2*...)` in row-major order, so element `[i, r, c]` of a
//! `(n, 4, 5)` input lands at position `r*5 + c`), `layer_permute` (per-sample axes reordered)
//! and `layer_repeat_vector` (`(batch, d)` to `(batch, n, d)`).

use super::{fmt_shape, Layer, LayerSpec};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;

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
