//! Pooling layers, channels last: `layer_max_pooling_1d/2d`, `layer_average_pooling_1d/2d`
//! (`pool_size`, `strides`, `padding = "valid" | "same"`) and the global poolings
//! (`keepdims`). A 1-d pooling runs as a 2-d one with a single row. Keras "same": the output
//! has `ceil(in / stride)` positions and the window starts `pad_total / 2` before the input,
//! `pad_total = max((out - 1) * stride + pool - in, 0)`; padded positions are skipped (an
//! average divides by the number of input values in its window).

use super::channels_first;
use super::padding::DataFormat;
use super::{fmt_shape, ConfigEntries, Layer, LayerDef, LayerSpec, WeightCount};
use crate::keras_h5::KerasLayerConfig;
use crate::keras_json::{int_list, Json};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use crate::{forkjoin, parts};
use serde::{Deserialize, Serialize};

/// Max or average.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolOp {
    Max,
    Average,
}

/// `padding` of a pooling layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    #[default]
    Valid,
    Same,
}

impl Padding {
    fn name(self) -> &'static str {
        match self {
            Padding::Valid => "valid",
            Padding::Same => "same",
        }
    }
}

fn shape_str(v: &[usize]) -> String {
    v.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
}

/// A size argument of a Keras config: one integer or a list of `rank` positive integers.
fn size_arg(c: &KerasLayerConfig<'_>, key: &str, rank: usize) -> Result<Option<Vec<usize>>, String> {
    let v = match c.get(key) {
        None => return Ok(None),
        Some(v) if v.is_null() => return Ok(None),
        Some(v) => v,
    };
    let list: Vec<i64> = if v.is_number() { c.int_arg(key)?.into_iter().collect() } else { c.int_list(key)? };
    let list = if list.len() == 1 { vec![list[0]; rank] } else { list };
    if list.len() != rank || list.iter().any(|&d| d < 1) {
        return Err(format!(
            "layer '{}' ({}): `{key}` must be {rank} positive integer(s), got {list:?}",
            c.name, c.class
        ));
    }
    Ok(Some(list.into_iter().map(|d| d as usize).collect()))
}

/// The geometry of a pooling over a `(h, w, c)` sample.
#[derive(Clone, Debug, PartialEq)]
struct Geometry {
    h: usize,
    w: usize,
    c: usize,
    pool: [usize; 2],
    stride: [usize; 2],
    pad: [usize; 2],
    out: [usize; 2],
}

/// Output positions and padding before the input along one axis.
fn axis(input: usize, pool: usize, stride: usize, padding: Padding) -> Option<(usize, usize)> {
    match padding {
        Padding::Valid => (input >= pool).then(|| ((input - pool) / stride + 1, 0)),
        Padding::Same => {
            let out = input.div_ceil(stride);
            let total = ((out - 1) * stride + pool).saturating_sub(input);
            Some((out, total / 2))
        }
    }
}

/// Checks a windowed pooling of `rank` spatial axes on per-sample `input`.
fn geometry(
    layer: &str,
    class: &str,
    rank: usize,
    pool: &[usize],
    strides: Option<&[usize]>,
    padding: Padding,
    input: &[usize],
) -> Result<Geometry, String> {
    if input.len() != rank + 1 {
        let what = if rank == 1 { "(batch, steps, features)" } else { "(batch, rows, cols, channels)" };
        return Err(format!(
            "{layer}: {class} takes {}-d input {what}, got shape (None, {})",
            rank + 2,
            fmt_shape(input)
        ));
    }
    let strides = strides.unwrap_or(pool);
    for (what, v) in [("pool_size", pool), ("strides", strides)] {
        if v.len() != rank || v.contains(&0) {
            return Err(format!(
                "{layer}: {class} `{what}` must be {rank} positive integer(s), got ({})",
                shape_str(v)
            ));
        }
    }
    let (h, w, c) = if rank == 1 { (1, input[0], input[1]) } else { (input[0], input[1], input[2]) };
    let (p, s) =
        if rank == 1 { ([1, pool[0]], [1, strides[0]]) } else { ([pool[0], pool[1]], [strides[0], strides[1]]) };
    let (Some((oh, ph)), Some((ow, pw))) = (axis(h, p[0], s[0], padding), axis(w, p[1], s[1], padding)) else {
        return Err(format!(
            "{layer}: {class} pool_size ({}) is larger than the input (None, {}) with padding = \"valid\"",
            shape_str(pool),
            fmt_shape(input)
        ));
    };
    if h.checked_mul(w).and_then(|n| n.checked_mul(c)).is_none_or(|n| n > u32::MAX as usize) {
        return Err(format!("{layer}: {class} input (None, {}) is too large", fmt_shape(input)));
    }
    Ok(Geometry { h, w, c, pool: p, stride: s, pad: [ph, pw], out: [oh, ow] })
}

/// A built pooling layer (windowed or global).
pub struct Pool {
    spec: LayerSpec,
    op: PoolOp,
    g: Geometry,
    shape: Vec<usize>,
    /// Max pooling: for each output value of the batch, the offset of its maximum in the sample.
    argmax: Vec<u32>,
    /// Global average pooling 1-d: it averages over the unmasked steps of a masked input.
    takes_mask: bool,
    /// The mask of the input (`m[b * steps + t]`) when it has one.
    mask: Option<Vec<bool>>,
}

impl Pool {
    fn new(spec: LayerSpec, op: PoolOp, g: Geometry, shape: Vec<usize>) -> Self {
        Pool { spec, op, g, shape, argmax: Vec::new(), takes_mask: false, mask: None }
    }

    /// Keras 3 `GlobalAveragePooling1D` on a masked input: per sample and feature, the sum
    /// over the unmasked steps divided by their number (NaN, as in Keras, when there is none).
    fn masked_mean<T: Real>(&self, x: &[T], mask: &[bool], out: &mut [T]) {
        let (steps, c) = (self.g.w, self.g.c);
        for ((xr, o), m) in x.chunks_exact(steps * c).zip(out.chunks_exact_mut(c)).zip(mask.chunks_exact(steps)) {
            o.iter_mut().for_each(|v| *v = T::zero());
            let mut count = 0usize;
            for (row, _) in xr.chunks_exact(c).zip(m).filter(|(_, &keep)| keep) {
                o.iter_mut().zip(row).for_each(|(a, b)| *a += *b);
                count += 1;
            }
            let inv = T::one() / T::c(count as f64);
            o.iter_mut().for_each(|v| *v *= inv);
        }
    }

    /// The input gradient of [`Pool::masked_mean`].
    fn masked_mean_backward<T: Real>(&self, g: &[T], mask: &[bool], dx: &mut [T]) {
        let (steps, c) = (self.g.w, self.g.c);
        for ((d, gr), m) in dx.chunks_exact_mut(steps * c).zip(g.chunks_exact(c)).zip(mask.chunks_exact(steps)) {
            let inv = T::one() / T::c(m.iter().filter(|&&k| k).count() as f64);
            for (row, &keep) in d.chunks_exact_mut(c).zip(m) {
                if keep {
                    row.iter_mut().zip(gr).for_each(|(a, b)| *a = *b * inv);
                } else {
                    row.iter_mut().for_each(|a| *a = T::zero());
                }
            }
        }
    }

    /// The input rows and columns of output position `(oy, ox)`.
    fn window(&self, oy: usize, ox: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let g = &self.g;
        let rng = |o: usize, a: usize, n: usize| {
            let start = (o * g.stride[a]) as isize - g.pad[a] as isize;
            let end = start + g.pool[a] as isize;
            (start.max(0) as usize)..(end.min(n as isize) as usize)
        };
        (rng(oy, 0, g.h), rng(ox, 1, g.w))
    }
}

impl Pool {
    /// The forward pass of whole images `x` into `out` (and, for max pooling, `argmax`:
    /// offsets within each image).
    fn images<T: Real>(&self, x: &[T], out: &mut [T], argmax: &mut [u32]) {
        let (c, w) = (self.g.c, self.g.w);
        let in_len = self.g.h * w * c;
        let out_len = self.g.out[0] * self.g.out[1] * c;
        for (b, xr) in x.chunks_exact(in_len).enumerate() {
            for oy in 0..self.g.out[0] {
                for ox in 0..self.g.out[1] {
                    let (rows, cols) = self.window(oy, ox);
                    let o0 = b * out_len + (oy * self.g.out[1] + ox) * c;
                    let o = &mut out[o0..o0 + c];
                    match self.op {
                        PoolOp::Max => {
                            let am = &mut argmax[o0..o0 + c];
                            let mut first = true;
                            for y in rows.clone() {
                                for xx in cols.clone() {
                                    let i0 = (y * w + xx) * c;
                                    let v = &xr[i0..i0 + c];
                                    if first {
                                        o.copy_from_slice(v);
                                        for (k, a) in am.iter_mut().enumerate() {
                                            *a = (i0 + k) as u32;
                                        }
                                        first = false;
                                    } else {
                                        for k in 0..c {
                                            if v[k] > o[k] {
                                                o[k] = v[k];
                                                am[k] = (i0 + k) as u32;
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        PoolOp::Average => {
                            o.iter_mut().for_each(|v| *v = T::zero());
                            for y in rows.clone() {
                                for xx in cols.clone() {
                                    let i0 = (y * w + xx) * c;
                                    o.iter_mut().zip(&xr[i0..i0 + c]).for_each(|(a, b)| *a += *b);
                                }
                            }
                            let inv = T::one() / T::c((rows.len() * cols.len()) as f64);
                            o.iter_mut().for_each(|v| *v *= inv);
                        }
                    }
                }
            }
        }
    }

    /// The input gradient `dx` of whole images from their output gradient `g`.
    fn images_backward<T: Real>(&self, g: &[T], argmax: &[u32], dx: &mut [T]) {
        let (c, w) = (self.g.c, self.g.w);
        let in_len = self.g.h * w * c;
        let out_len = self.g.out[0] * self.g.out[1] * c;
        dx.fill(T::zero());
        for (b, (d, gr)) in dx.chunks_exact_mut(in_len).zip(g.chunks_exact(out_len)).enumerate() {
            match self.op {
                PoolOp::Max => {
                    let am = &argmax[b * out_len..(b + 1) * out_len];
                    for (gv, &a) in gr.iter().zip(am) {
                        d[a as usize] += *gv;
                    }
                }
                PoolOp::Average => {
                    for oy in 0..self.g.out[0] {
                        for ox in 0..self.g.out[1] {
                            let (rows, cols) = self.window(oy, ox);
                            let inv = T::one() / T::c((rows.len() * cols.len()) as f64);
                            let o0 = (oy * self.g.out[1] + ox) * c;
                            let gv = &gr[o0..o0 + c];
                            for y in rows.clone() {
                                for xx in cols.clone() {
                                    let i0 = (y * w + xx) * c;
                                    d[i0..i0 + c].iter_mut().zip(gv).for_each(|(a, b)| *a += *b * inv);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

impl<T: Real> Layer<T> for Pool {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    /// Images are independent: two threads take half of them each when worth it.
    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, _training: bool, _rng: &mut Rng) {
        let x = xs[0];
        let n = x.rows();
        out.resize_batch(n, &self.shape);
        if let Some(mask) = self.mask.as_deref().filter(|m| m.len() == n * self.g.w) {
            self.masked_mean(&x.data, mask, &mut out.data);
            return;
        }
        let out_len = self.g.out[0] * self.g.out[1] * self.g.c;
        let mut argmax = std::mem::take(&mut self.argmax);
        argmax.resize(if self.op == PoolOp::Max { n * out_len } else { 0 }, 0);
        if n >= 2 && parts::split_elementwise(x.data.len()) {
            let half = n / 2;
            let (x0, x1) = x.data.split_at(x.data.len() / n * half);
            let (o0, o1) = out.data.split_at_mut(half * out_len);
            let (a0, a1) = argmax.split_at_mut(if self.op == PoolOp::Max { half * out_len } else { 0 });
            forkjoin::join(|| self.images(x0, o0, a0), || self.images(x1, o1, a1));
        } else {
            self.images(&x.data, &mut out.data, &mut argmax);
        }
        self.argmax = argmax;
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
        if let Some(mask) = self.mask.as_deref().filter(|m| m.len() == dx.data.len() / self.g.c) {
            self.masked_mean_backward(&g.data, mask, &mut dx.data);
            return;
        }
        let n = xs[0].rows();
        if n >= 2 && parts::split_elementwise(dx.data.len()) {
            let half = n / 2;
            let at = dx.data.len() / n * half;
            let (d0, d1) = dx.data.split_at_mut(at);
            let (g0, g1) = g.data.split_at(g.data.len() / n * half);
            let a = &self.argmax[..];
            let (a0, a1) = a.split_at(if self.op == PoolOp::Max { g.data.len() / n * half } else { 0 });
            forkjoin::join(|| self.images_backward(g0, a0, d0), || self.images_backward(g1, a1, d1));
        } else {
            self.images_backward(&g.data, &self.argmax, &mut dx.data);
        }
    }

    fn set_input_mask(&mut self, mask: Option<&[bool]>) {
        match mask {
            Some(m) if self.takes_mask => {
                let kept = self.mask.get_or_insert_with(Vec::new);
                kept.clear();
                kept.extend_from_slice(m);
            }
            _ => self.mask = None,
        }
    }
}

macro_rules! windowed {
    ($(#[$doc:meta])* $name:ident, $class:literal, $op:expr, $rank:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            pub pool_size: Vec<usize>,
            /// `None`: the pool size.
            #[serde(default)]
            pub strides: Option<Vec<usize>>,
            #[serde(default)]
            pub padding: Padding,
            #[serde(default, skip_serializing_if = "DataFormat::is_channels_last")]
            pub data_format: DataFormat,
        }

        impl $name {
            fn geometry(&self, layer: &str, input: &[usize]) -> Result<Geometry, String> {
                geometry(layer, $class, $rank, &self.pool_size, self.strides.as_deref(), self.padding, input)
            }
        }

        impl LayerDef for $name {
            fn build<T: Real>(
                &self,
                spec: &LayerSpec,
                inputs: &[&[usize]],
                _: &mut Rng,
            ) -> Result<Box<dyn Layer<T>>, String> {
                channels_first::build(self.data_format, spec, inputs[0], |input| {
                    let g = self.geometry(&spec.name, input)?;
                    let shape = if $rank == 1 { vec![g.out[1], g.c] } else { vec![g.out[0], g.out[1], g.c] };
                    Ok(Box::new(Pool::new(spec.clone(), $op, g, shape)))
                })
            }

            fn keras_config(&self, c: &mut ConfigEntries) {
                let strides = self.strides.as_ref().unwrap_or(&self.pool_size);
                c.push(("pool_size", int_list(self.pool_size.iter().map(|&d| d as i64))));
                c.push(("padding", Json::s(self.padding.name())));
                c.push(("strides", int_list(strides.iter().map(|&d| d as i64))));
                c.push(("data_format", self.data_format.json()));
            }

            fn keras2_config(&self, _layer: &str, c: &mut ConfigEntries) -> Result<(), String> {
                let start = c.len();
                self.keras_config(c);
                if $rank == 1 {
                    // tf.keras 2's Pooling1D.get_config() lists strides first: strides, pool_size,
                    // padding, data_format (its Pooling2D's order is Keras 3's)
                    c[start..start + 3].rotate_right(1);
                }
                Ok(())
            }

            fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
                let data_format = DataFormat::from_keras(c)?;
                let pool_size = size_arg(c, "pool_size", $rank)?
                    .ok_or_else(|| format!("layer '{}' ({}): `pool_size` is missing", c.name, c.class))?;
                let strides = size_arg(c, "strides", $rank)?;
                let padding = match c.get("padding").and_then(|v| v.as_str()).map(str::to_lowercase).as_deref() {
                    None | Some("valid") => Padding::Valid,
                    Some("same") => Padding::Same,
                    Some(p) => return Err(format!("layer '{}' ({}): unknown padding \"{p}\"", c.name, c.class)),
                };
                Ok($name { pool_size, strides, padding, data_format })
            }

            fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
                channels_first::weight_count(self.data_format, shape, |shape| match self.geometry("", shape) {
                    Ok(g) => {
                        *shape = if $rank == 1 { vec![g.out[1], g.c] } else { vec![g.out[0], g.out[1], g.c] };
                        WeightCount::Values(0)
                    }
                    Err(_) => WeightCount::Unknown,
                })
            }
        }
    };
}

macro_rules! global {
    ($(#[$doc:meta])* $name:ident, $class:literal, $op:expr, $rank:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            #[serde(default)]
            pub keepdims: bool,
            #[serde(default, skip_serializing_if = "DataFormat::is_channels_last")]
            pub data_format: DataFormat,
        }

        impl $name {
            fn shapes(&self, layer: &str, input: &[usize]) -> Result<(Geometry, Vec<usize>), String> {
                if input.len() != $rank + 1 {
                    let what = if $rank == 1 { "(batch, steps, features)" } else { "(batch, rows, cols, channels)" };
                    return Err(format!(
                        "{layer}: {} takes {}-d input {what}, got shape (None, {})",
                        $class,
                        $rank + 2,
                        fmt_shape(input)
                    ));
                }
                let pool = &input[..$rank];
                let g = geometry(layer, $class, $rank, pool, None, Padding::Valid, input)?;
                let c = input[$rank];
                let shape = if self.keepdims { [vec![1; $rank], vec![c]].concat() } else { vec![c] };
                Ok((g, shape))
            }
        }

        impl LayerDef for $name {
            fn build<T: Real>(
                &self,
                spec: &LayerSpec,
                inputs: &[&[usize]],
                _: &mut Rng,
            ) -> Result<Box<dyn Layer<T>>, String> {
                channels_first::build(self.data_format, spec, inputs[0], |input| {
                    let (g, shape) = self.shapes(&spec.name, input)?;
                    let mut pool = Pool::new(spec.clone(), $op, g, shape);
                    // Keras 3: of the global poolings, only the 1-d average supports masks
                    pool.takes_mask = $op == PoolOp::Average && $rank == 1;
                    Ok(Box::new(pool))
                })
            }

            fn keras_config(&self, c: &mut ConfigEntries) {
                c.push(("data_format", self.data_format.json()));
                c.push(("keepdims", Json::Bool(self.keepdims)));
            }

            fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
                Ok($name { keepdims: c.bool_or("keepdims", false), data_format: DataFormat::from_keras(c)? })
            }

            fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
                channels_first::weight_count(self.data_format, shape, |shape| match self.shapes("", shape) {
                    Ok((_, s)) => {
                        *shape = s;
                        WeightCount::Values(0)
                    }
                    Err(_) => WeightCount::Unknown,
                })
            }
        }
    };
}

windowed!(
    /// `layer_max_pooling_1d()`'s arguments.
    MaxPooling1DConfig, "MaxPooling1D", PoolOp::Max, 1
);
windowed!(
    /// `layer_max_pooling_2d()`'s arguments.
    MaxPooling2DConfig, "MaxPooling2D", PoolOp::Max, 2
);
windowed!(
    /// `layer_average_pooling_1d()`'s arguments.
    AveragePooling1DConfig, "AveragePooling1D", PoolOp::Average, 1
);
windowed!(
    /// `layer_average_pooling_2d()`'s arguments.
    AveragePooling2DConfig, "AveragePooling2D", PoolOp::Average, 2
);
global!(
    /// `layer_global_max_pooling_1d()`'s arguments.
    GlobalMaxPooling1DConfig, "GlobalMaxPooling1D", PoolOp::Max, 1
);
global!(
    /// `layer_global_max_pooling_2d()`'s arguments.
    GlobalMaxPooling2DConfig, "GlobalMaxPooling2D", PoolOp::Max, 2
);
global!(
    /// `layer_global_average_pooling_1d()`'s arguments.
    GlobalAveragePooling1DConfig, "GlobalAveragePooling1D", PoolOp::Average, 1
);
global!(
    /// `layer_global_average_pooling_2d()`'s arguments.
    GlobalAveragePooling2DConfig, "GlobalAveragePooling2D", PoolOp::Average, 2
);

#[cfg(test)]
#[path = "pooling_tests.rs"]
mod tests;
