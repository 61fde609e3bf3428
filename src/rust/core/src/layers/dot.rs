//! `layer_dot(axes, normalize)`: per sample, the dot product of two tensors along one axis of
//! each (Keras' `batch_dot`). Inputs of rank 2 give `(batch, 1)`; rank 3 inputs `(batch, a, c)`
//! and `(batch, b, c)` dotted over `c` give `(batch, a, b)`. With `normalize`, each vector along
//! the dotted axis is first scaled to unit L2 norm (`x * min(1/|x|, 1e7)`, Keras' epsilon 1e-7),
//! so that the result is the cosine similarity.

use super::{fmt_shapes, ConfigEntries, Layer, LayerDef, LayerSpec};
use crate::keras_h5::KerasLayerConfig;
use crate::keras_json::{int_list, Json};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `layer_dot()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DotConfig {
    /// Keras axes, counting the batch axis as 0 (negative from the end).
    pub axes: [i64; 2],
    #[serde(default)]
    pub normalize: bool,
}

impl LayerDef for DotConfig {
    const MERGE: bool = true;

    fn build<T: Real>(&self, spec: &LayerSpec, inputs: &[&[usize]], _: &mut Rng) -> Result<Box<dyn Layer<T>>, String> {
        Ok(Box::new(Dot::new(spec.clone(), self.axes, self.normalize, inputs)?))
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        let [a, b] = self.axes;
        // Keras writes one integer for equal axes
        c.push(("axes", if a == b { Json::Int(a) } else { int_list([a, b]) }));
        c.push(("normalize", Json::Bool(self.normalize)));
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        let name = c.name;
        let axes = match c.get("axes") {
            Some(Value::Array(a)) if a.len() == 2 => {
                let ax =
                    |v: &Value| v.as_i64().ok_or_else(|| format!("layer '{name}' (Dot): axes {a:?} are not integers"));
                [ax(&a[0])?, ax(&a[1])?]
            }
            Some(v) if v.is_i64() => [v.as_i64().unwrap(); 2],
            other => {
                return Err(format!("layer '{name}' (Dot): axes {} are not supported", other.unwrap_or(&Value::Null)))
            }
        };
        Ok(DotConfig { axes, normalize: c.bool_or("normalize", false) })
    }
}

/// One input seen as a `(free, c)` matrix per sample, through strides.
#[derive(Clone, Copy)]
struct View {
    free: usize,
    /// Stride between free positions and along the dotted axis.
    sf: usize,
    sc: usize,
    size: usize,
}

impl View {
    fn of(shape: &[usize], axis: usize) -> Self {
        let size = shape.iter().product();
        if shape.len() == 1 {
            return View { free: 1, sf: 0, sc: 1, size };
        }
        // rank 2 per sample
        if axis == 0 {
            View { free: shape[1], sf: 1, sc: shape[1], size }
        } else {
            View { free: shape[0], sf: shape[1], sc: 1, size }
        }
    }

    fn at(&self, f: usize, c: usize) -> usize {
        f * self.sf + c * self.sc
    }
}

pub struct Dot {
    spec: LayerSpec,
    shape: Vec<usize>,
    views: [View; 2],
    c: usize,
    normalize: bool,
    /// The (normalized) inputs of the last forward pass and, per vector, the scale applied.
    unit: [Vec<f64>; 2],
    scale: [Vec<f64>; 2],
    /// Whether a vector's scale was capped at 1/epsilon (its norm is below epsilon).
    capped: [Vec<bool>; 2],
}

const INV_EPSILON: f64 = 1e7;

impl Dot {
    pub fn new(spec: LayerSpec, axes: [i64; 2], normalize: bool, inputs: &[&[usize]]) -> Result<Self, String> {
        if inputs.len() != 2 {
            return Err(format!(
                "{}: a Dot layer should be called on exactly 2 inputs, got {} ({})",
                spec.name,
                inputs.len(),
                fmt_shapes(inputs)
            ));
        }
        let (s0, s1) = (inputs[0], inputs[1]);
        if s0.len() != s1.len() || s0.len() > 2 {
            return Err(format!(
                "{}: Dot takes two inputs of rank 2 or two of rank 3 (with the batch axis), got {}",
                spec.name,
                fmt_shapes(inputs)
            ));
        }
        let rank = s0.len() as i64 + 1;
        let resolve = |a: i64| {
            let a = if a < 0 { rank + a } else { a };
            (1..rank).contains(&a).then_some((a - 1) as usize)
        };
        let (Some(a0), Some(a1)) = (resolve(axes[0]), resolve(axes[1])) else {
            return Err(format!(
                "{}: axes ({}, {}) are out of range for inputs {} (the batch axis, 0, cannot be dotted)",
                spec.name,
                axes[0],
                axes[1],
                fmt_shapes(inputs)
            ));
        };
        if s0[a0] != s1[a1] {
            return Err(format!(
                "{}: incompatible input shapes for Dot: {} (dimension {} of axis {} vs {} of axis {})",
                spec.name,
                fmt_shapes(inputs),
                s0[a0],
                axes[0],
                s1[a1],
                axes[1]
            ));
        }
        let views = [View::of(s0, a0), View::of(s1, a1)];
        let shape = if s0.len() == 1 { vec![1] } else { vec![views[0].free, views[1].free] };
        let none = || [Vec::new(), Vec::new()];
        Ok(Dot {
            spec,
            shape,
            views,
            c: s0[a0],
            normalize,
            unit: none(),
            scale: none(),
            capped: [Vec::new(), Vec::new()],
        })
    }
}

impl<T: Real> Layer<T> for Dot {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, _training: bool, _rng: &mut Rng) {
        let n = xs[0].rows();
        let c = self.c;
        for (k, x_k) in xs.iter().enumerate().take(2) {
            let v = self.views[k];
            let (unit, scale, capped) = (&mut self.unit[k], &mut self.scale[k], &mut self.capped[k]);
            unit.resize(n * v.size, 0.0);
            scale.resize(n * v.free, 1.0);
            capped.resize(n * v.free, false);
            for s in 0..n {
                let x = &x_k.data[s * v.size..(s + 1) * v.size];
                let u = &mut unit[s * v.size..(s + 1) * v.size];
                for f in 0..v.free {
                    let mut ss = 0.0;
                    for j in 0..c {
                        let e = x[v.at(f, j)].to_f64().unwrap();
                        ss += e * e;
                    }
                    let (sc, cap) = if !self.normalize {
                        (1.0, false)
                    } else {
                        let inv = 1.0 / ss.sqrt();
                        if inv.is_finite() && inv < INV_EPSILON {
                            (inv, false)
                        } else {
                            (INV_EPSILON, true)
                        }
                    };
                    scale[s * v.free + f] = sc;
                    capped[s * v.free + f] = cap;
                    for j in 0..c {
                        u[v.at(f, j)] = x[v.at(f, j)].to_f64().unwrap() * sc;
                    }
                }
            }
        }
        out.resize_batch(n, &self.shape);
        let [v0, v1] = self.views;
        let per = v0.free * v1.free;
        for s in 0..n {
            let a = &self.unit[0][s * v0.size..(s + 1) * v0.size];
            let b = &self.unit[1][s * v1.size..(s + 1) * v1.size];
            for p in 0..v0.free {
                for q in 0..v1.free {
                    let dot: f64 = (0..c).map(|j| a[v0.at(p, j)] * b[v1.at(q, j)]).sum();
                    out.data[s * per + p * v1.free + q] = T::c(dot);
                }
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
        let n = xs[0].rows();
        let c = self.c;
        let [v0, v1] = self.views;
        let per = v0.free * v1.free;
        for k in 0..2 {
            let Some(dx) = dxs[k].as_deref_mut() else { continue };
            dx.resize(&xs[k].shape);
            let (v, w) = if k == 0 { (v0, v1) } else { (v1, v0) };
            for s in 0..n {
                let other = &self.unit[1 - k][s * w.size..(s + 1) * w.size];
                let mine = &self.unit[k][s * v.size..(s + 1) * v.size];
                let gs = &g.data[s * per..(s + 1) * per];
                let d = &mut dx.data[s * v.size..(s + 1) * v.size];
                for f in 0..v.free {
                    // gradient with respect to the (normalized) vector f
                    let du = |j: usize| -> f64 {
                        (0..w.free)
                            .map(|q| {
                                let gi = if k == 0 { f * v1.free + q } else { q * v1.free + f };
                                gs[gi].to_f64().unwrap() * other[w.at(q, j)]
                            })
                            .sum()
                    };
                    let sc = self.scale[k][s * v.free + f];
                    if !self.normalize || self.capped[k][s * v.free + f] {
                        for j in 0..c {
                            d[v.at(f, j)] = T::c(du(j) * sc);
                        }
                    } else {
                        // d(x/|x|) = (du - u (u . du)) / |x|
                        let proj: f64 = (0..c).map(|j| mine[v.at(f, j)] * du(j)).sum();
                        for j in 0..c {
                            d[v.at(f, j)] = T::c((du(j) - mine[v.at(f, j)] * proj) * sc);
                        }
                    }
                }
            }
        }
    }
}
