//! `layer_conv_2d_transpose` (channels_last): the input gradient of a convolution, used as a
//! layer. Input `(batch, h, w, cin)`, kernel `(kh, kw, filters, cin)` (Keras' layout), bias
//! `(filters)`, output `(batch, oh, ow, filters)`.
//!
//! Read row-major, the kernel is the `(kh*kw*filters) x cin` matrix of a convolution from the
//! output `(oh, ow, filters)` back to the input `(h, w, cin)`. So the forward pass is that
//! convolution's backward pass (`cols = x K^T`, then col2im into the output) and the backward
//! pass is its forward pass (im2col of the output gradient, `dx = cols K`, `dK = cols^T x`),
//! on the [`Geom`] of conv.rs with the roles of input and output swapped.
//!
//! Sizes and padding per spatial axis, as Keras 3 (`compute_conv_transpose_output_shape`, and
//! the JAX backend's padding): with `eff = (k - 1) * d + 1`, input position `i` and tap `t`
//! land on output position `i * s + t * d - pad`;
//! - `valid`: `out = (len - 1) * s + eff + op` (`op` = `output_padding`, by default
//!   `max(eff, s) - eff`), `pad = 0`;
//! - `same`: `out = len * s` without `output_padding`, else `(len - 1) * s + eff % 2 + op`;
//!   `pad = eff - 1 - min(ceil(p / 2), eff - 1)` with `p = s + eff - 2` (no `output_padding`)
//!   or `eff + eff % 2 - 2 + op`.

use super::channels_first;
use super::conv::{ints, Geom};
use super::conv_keras::{glorot, linear, ones2, positive, shape_args, tuple, valid, zeros};
use super::kernel_bias::{activate, kernel_bias_layer_methods, Init, KernelBias};
use super::padding::DataFormat;
use super::{fmt_shape, ConfigEntries, Layer, LayerDef, LayerSpec, Padding, WeightCount, WeightRef};
use crate::activations::Activation;
use crate::init::Initializer;
use crate::keras_h5::keras2;
use crate::keras_h5::KerasLayerConfig;
use crate::keras_json::{activation_name, initializer_json, Json};
use crate::linalg::{gemm, op};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use faer::MatMut;
use serde::{Deserialize, Serialize};

const CLASS: &str = "Conv2DTranspose";
const UNSUPPORTED: [&str; 5] =
    ["kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"];

/// `layer_conv_2d_transpose()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conv2DTransposeConfig {
    pub filters: usize,
    pub kernel_size: Vec<usize>,
    #[serde(default = "ones2")]
    pub strides: Vec<usize>,
    #[serde(default = "valid")]
    pub padding: Padding,
    /// `None`: Keras' default (see the module docs).
    #[serde(default)]
    pub output_padding: Option<Vec<usize>>,
    #[serde(default = "ones2")]
    pub dilation_rate: Vec<usize>,
    #[serde(default = "linear")]
    pub activation: Activation,
    #[serde(default = "super::yes")]
    pub use_bias: bool,
    #[serde(default = "glorot")]
    pub kernel_initializer: Initializer,
    #[serde(default = "zeros")]
    pub bias_initializer: Initializer,
    #[serde(default, skip_serializing_if = "DataFormat::is_channels_last")]
    pub data_format: DataFormat,
}

/// Output length and padding before, for one spatial axis (see the module docs).
fn axis(len: usize, k: usize, s: usize, d: usize, padding: Padding, op: Option<usize>) -> Option<(usize, usize)> {
    let eff = (k - 1).checked_mul(d)? + 1;
    let base = len.checked_sub(1)?.checked_mul(s)?;
    match padding {
        Padding::Same => {
            let (out, p) = match op {
                None => (len.checked_mul(s)?, s + eff - 2),
                Some(op) => (base + eff % 2 + op, eff + eff % 2 - 2 + op),
            };
            let left = (p / 2 + p % 2).min(eff - 1);
            Some((out, eff - 1 - left))
        }
        _ => Some((base.checked_add(eff)? + op.unwrap_or(s.max(eff) - eff), 0)),
    }
}

impl Conv2DTransposeConfig {
    /// The geometry of the convolution this layer transposes: from the output `(oh, ow,
    /// filters)` to the input `(h, w, cin)`.
    fn geom(&self, layer: &str, input: &[usize]) -> Result<Geom, String> {
        let e = |what: String| format!("{layer} ({CLASS}): {what}");
        if input.len() != 3 {
            return Err(e(format!(
                "expects input of shape (height, width, channels) per sample, got ({}) (rank {} instead of 4)",
                fmt_shape(input),
                input.len() + 1
            )) + if input.len() == 1 {
                "; images stored one per row of a matrix must be reshaped first, e.g. \
                 array_reshape(x, c(n, 28, 28, 1))"
            } else {
                ""
            });
        }
        for (key, v) in
            [("kernel_size", &self.kernel_size), ("strides", &self.strides), ("dilation_rate", &self.dilation_rate)]
        {
            if v.len() != 2 || v.contains(&0) {
                return Err(e(format!("{key} must be 2 positive integer(s), got ({})", fmt_shape(v))));
            }
        }
        if self.filters == 0 {
            return Err(e("filters must be a positive integer".into()));
        }
        if self.padding == Padding::Causal {
            return Err(e("padding must be 'valid' or 'same'".into()));
        }
        if let Some(op) = &self.output_padding {
            if op.len() != 2 || op.iter().zip(&self.strides).any(|(o, s)| o >= s) {
                return Err(e(format!(
                    "output_padding ({}) must be 2 non-negative integers, each less than its stride ({})",
                    fmt_shape(op),
                    fmt_shape(&self.strides)
                )));
            }
        }
        if self.strides.iter().any(|s| *s > 1) && self.dilation_rate.iter().any(|d| *d > 1) {
            return Err(e(format!(
                "strides ({}) > 1 cannot be combined with dilation_rate ({}) > 1",
                fmt_shape(&self.strides),
                fmt_shape(&self.dilation_rate)
            )));
        }
        let op = |i: usize| self.output_padding.as_ref().map(|o| o[i]);
        let ax =
            |i: usize| axis(input[i], self.kernel_size[i], self.strides[i], self.dilation_rate[i], self.padding, op(i));
        match (ax(0), ax(1)) {
            (Some((oh, pt)), Some((ow, pl))) if oh > 0 && ow > 0 => Ok(Geom {
                h: oh,
                w: ow,
                cin: self.filters,
                kh: self.kernel_size[0],
                kw: self.kernel_size[1],
                sh: self.strides[0],
                sw: self.strides[1],
                dh: self.dilation_rate[0],
                dw: self.dilation_rate[1],
                pt,
                pl,
                oh: input[0],
                ow: input[1],
                cout: input[2],
            }),
            _ => Err(e(format!(
                "kernel_size ({}), strides ({}) and output_padding ({}) give no output for the input ({})",
                fmt_shape(&self.kernel_size),
                fmt_shape(&self.strides),
                self.output_padding.as_deref().map_or("None".into(), fmt_shape),
                fmt_shape(input)
            ))),
        }
    }

    fn shape_entries(&self, c: &mut ConfigEntries) {
        c.push(("filters", Json::Int(self.filters as i64)));
        c.push(("kernel_size", ints(&self.kernel_size)));
        c.push(("strides", ints(&self.strides)));
        c.push(("padding", Json::s(self.padding.name())));
    }

    fn output_padding_json(&self) -> Json {
        self.output_padding.as_deref().map_or(Json::Null, ints)
    }

    fn nulls(c: &mut ConfigEntries) {
        for k in UNSUPPORTED {
            c.push((k, Json::Null));
        }
    }
}

impl LayerDef for Conv2DTransposeConfig {
    fn build<T: Real>(
        &self,
        spec: &LayerSpec,
        inputs: &[&[usize]],
        rng: &mut Rng,
    ) -> Result<Box<dyn Layer<T>>, String> {
        channels_first::build(self.data_format, spec, inputs[0], |input| {
            Ok(Box::new(ConvTranspose::new(spec, self, input, rng)?))
        })
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        self.shape_entries(c);
        c.push(("output_padding", self.output_padding_json()));
        c.push(("data_format", self.data_format.json()));
        c.push(("dilation_rate", ints(&self.dilation_rate)));
        c.push(("activation", Json::s(activation_name(self.activation))));
        c.push(("use_bias", Json::Bool(self.use_bias)));
        c.push(("kernel_initializer", initializer_json(&self.kernel_initializer)));
        c.push(("bias_initializer", initializer_json(&self.bias_initializer)));
        Self::nulls(c);
    }

    fn keras2_config(&self, layer: &str, c: &mut ConfigEntries) -> Result<(), String> {
        self.shape_entries(c);
        c.push(("data_format", self.data_format.json()));
        c.push(("dilation_rate", ints(&self.dilation_rate)));
        c.push(("groups", Json::Int(1)));
        c.push(("activation", keras2::activation(self.activation, layer)?));
        c.push(("use_bias", Json::Bool(self.use_bias)));
        c.push(("kernel_initializer", keras2::initializer(&self.kernel_initializer)));
        c.push(("bias_initializer", keras2::initializer(&self.bias_initializer)));
        Self::nulls(c);
        c.push(("output_padding", self.output_padding_json()));
        Ok(())
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        let a = shape_args(c, &UNSUPPORTED)?;
        Ok(Conv2DTransposeConfig {
            filters: positive(c, "filters", None)?,
            output_padding: tuple(c, "output_padding", 2, None, 0)?,
            kernel_size: a.kernel_size,
            strides: a.strides,
            padding: a.padding,
            dilation_rate: a.dilation_rate,
            activation: c.activation("activation")?,
            use_bias: c.bool_or("use_bias", true),
            kernel_initializer: c.initializer("kernel_initializer", Initializer::GlorotUniform),
            bias_initializer: c.initializer("bias_initializer", Initializer::Zeros),
            data_format: a.data_format,
        })
    }

    fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
        channels_first::weight_count(self.data_format, shape, |shape| {
            let Ok(g) = self.geom("", shape) else { return WeightCount::Unknown };
            let n = (g.kh * g.kw).checked_mul(g.cin).and_then(|k| k.checked_mul(g.cout));
            let n = n.and_then(|n| n.checked_add(if self.use_bias { self.filters } else { 0 }));
            *shape = vec![g.h, g.w, self.filters];
            n.map_or(WeightCount::TooBig, WeightCount::Values)
        })
    }

    fn min_weight_count(&self) -> usize {
        self.filters
    }
}

/// A built `Conv2DTranspose` layer.
pub struct ConvTranspose<T> {
    spec: LayerSpec,
    /// The transposed convolution: `h, w, cin` are this layer's output and `filters`,
    /// `oh, ow, cout` its input and `cin`.
    g: Geom,
    activation: Activation,
    out_shape: Vec<usize>,
    /// Kernel `(kh, kw, filters, cin)`: the `(kh*kw*filters) x cin` matrix; bias `(filters)`.
    kb: KernelBias<T>,
    /// `x K^T` in forward, im2col of the output gradient in backward (rows `batch*h*w`).
    cols: Vec<T>,
    /// Pre-activation values, kept only for activations whose derivative needs them.
    z: Vec<T>,
}

impl<T: Real> ConvTranspose<T> {
    fn new(spec: &LayerSpec, a: &Conv2DTransposeConfig, input: &[usize], rng: &mut Rng) -> Result<Self, String> {
        let g = a.geom(&spec.name, input)?;
        let what = format!("{} (a {} kernel)", spec.name, fmt_shape(&[g.kh, g.kw, g.cin, g.cout]));
        let field = g.kh * g.kw;
        // Keras' fans of a (kh, kw, filters, cin) kernel: in = field * filters, out = field * cin
        let init = Init {
            kernel: &a.kernel_initializer,
            bias: &a.bias_initializer,
            use_bias: a.use_bias,
            fan_in: field * g.cin,
            fan_out: field * g.cout,
        };
        let shape = vec![g.kh, g.kw, g.cin, g.cout];
        Ok(ConvTranspose {
            spec: spec.clone(),
            out_shape: vec![g.h, g.w, a.filters],
            activation: a.activation,
            kb: KernelBias::with_units(&what, shape, a.filters, init, rng)?,
            cols: Vec::new(),
            z: Vec::new(),
            g,
        })
    }
}

impl<T: Real> Layer<T> for ConvTranspose<T> {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, _training: bool, _rng: &mut Rng) {
        let x = xs[0];
        let batch = x.rows();
        let (k, cin, filters) = (self.g.k(), self.g.cout, self.g.cin);
        let m = batch * self.g.oh * self.g.ow;
        self.cols.resize(m * k, T::zero());
        let cols = MatMut::from_row_major_slice_mut(&mut self.cols, m, k);
        gemm(cols, op(&x.data, m, cin, false), op(&self.kb.kernel, cin, k, true), false);
        out.resize_batch(batch, &self.out_shape);
        self.g.col2im(&self.cols, &mut out.data);
        if self.kb.use_bias() {
            for row in out.data.chunks_exact_mut(filters) {
                row.iter_mut().zip(&self.kb.bias).for_each(|(o, b)| *o += *b);
            }
        }
        activate(self.activation, &mut self.z, &mut out.data, filters);
    }

    fn backward(
        &mut self,
        xs: &[&Tensor<T>],
        out: &Tensor<T>,
        g: &mut Tensor<T>,
        dxs: &mut [Option<&mut Tensor<T>>],
        g_is_preactivation: bool,
    ) {
        let x = xs[0];
        let batch = x.rows();
        let (k, cin, filters) = (self.g.k(), self.g.cout, self.g.cin);
        let m = batch * self.g.oh * self.g.ow;
        if !g_is_preactivation {
            self.activation.backward(&self.z, &out.data, &mut g.data, filters);
        }
        self.kb.bias_grad(&g.data);
        self.cols.resize(m * k, T::zero());
        self.g.im2col(&g.data, &mut self.cols);
        let dk = MatMut::from_row_major_slice_mut(&mut self.kb.dkernel, k, cin);
        gemm(dk, op(&self.cols, k, m, true), op(&x.data, m, cin, false), false);
        if let Some(dx) = dxs[0].as_deref_mut() {
            dx.resize(&x.shape);
            let d = MatMut::from_row_major_slice_mut(&mut dx.data, m, cin);
            gemm(d, op(&self.cols, m, k, false), op(&self.kb.kernel, k, cin, false), false);
        }
    }

    kernel_bias_layer_methods!(kb, activation);
}

#[cfg(test)]
#[path = "conv_transpose_tests.rs"]
mod tests;
