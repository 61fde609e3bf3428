//! `layer_depthwise_conv_2d` (channels_last): each input channel convolved with its own
//! `depth_multiplier` kernels. Input `(batch, h, w, cin)`, kernel `(kh, kw, cin, dm)` (Keras'
//! layout), bias `(cin * dm)`, output `(batch, oh, ow, cin * dm)` where output channel
//! `c * dm + j` comes from input channel `c` and kernel slice `[.., .., c, j]` (as Keras' JAX
//! backend, a grouped convolution with `cin` groups). Sizes and padding are those of Conv2D.
//!
//! The input goes through conv.rs' im2col (rows `(ky, kx, c)`); the per-channel products
//! below then read each row's tap `t` and channel `c` against kernel row `t * cin + c`.
//! [`super::separable`] uses the same kernels for its depthwise step.

use super::channels_first;
use super::conv::{ints, Common, Geom};
use super::conv_keras::{glorot, linear, ones2, positive, shape_args, valid, zeros};
use super::kernel_bias::{activate, kernel_bias_layer_methods, Init, KernelBias};
use super::padding::DataFormat;
use super::{fmt_shape, ConfigEntries, Layer, LayerDef, LayerSpec, Padding, WeightCount, WeightRef};
use crate::activations::Activation;
use crate::init::Initializer;
use crate::keras_h5::keras2;
use crate::keras_h5::KerasLayerConfig;
use crate::keras_json::{activation_name, initializer_json, Json};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use serde::{Deserialize, Serialize};

/// `out[r, c*dm + j] += sum_t cols[r, t*cin + c] * kernel[(t*cin + c)*dm + j]` for every row
/// `r` of `cols` (`taps * cin` columns); `out` has `cin * dm` columns.
pub(super) fn depthwise_forward<T: Real>(
    cols: &[T],
    kernel: &[T],
    out: &mut [T],
    (taps, cin, dm): (usize, usize, usize),
) {
    let (k, cm) = (taps * cin, cin * dm);
    for (row, o) in cols.chunks_exact(k).zip(out.chunks_exact_mut(cm)) {
        for (xs, ks) in row.chunks_exact(cin).zip(kernel.chunks_exact(cm)) {
            if dm == 1 {
                o.iter_mut().zip(xs.iter().zip(ks)).for_each(|(o, (x, w))| *o += *x * *w);
            } else {
                for (c, x) in xs.iter().enumerate() {
                    let (oc, kc) = (&mut o[c * dm..(c + 1) * dm], &ks[c * dm..(c + 1) * dm]);
                    oc.iter_mut().zip(kc).for_each(|(o, w)| *o += *x * *w);
                }
            }
        }
    }
}

/// The gradients of [`depthwise_forward`] for the output gradient `g`: overwrites `dkernel`
/// and, when given, `dcols`.
pub(super) fn depthwise_backward<T: Real>(
    cols: &[T],
    kernel: &[T],
    g: &[T],
    dkernel: &mut [T],
    mut dcols: Option<&mut [T]>,
    (taps, cin, dm): (usize, usize, usize),
) {
    let (k, cm) = (taps * cin, cin * dm);
    dkernel.iter_mut().for_each(|v| *v = T::zero());
    for (r, (row, gr)) in cols.chunks_exact(k).zip(g.chunks_exact(cm)).enumerate() {
        for (xs, dks) in row.chunks_exact(cin).zip(dkernel.chunks_exact_mut(cm)) {
            for (c, x) in xs.iter().enumerate() {
                let (dkc, gc) = (&mut dks[c * dm..(c + 1) * dm], &gr[c * dm..(c + 1) * dm]);
                dkc.iter_mut().zip(gc).for_each(|(d, g)| *d += *x * *g);
            }
        }
        if let Some(dc) = dcols.as_deref_mut() {
            let drow = &mut dc[r * k..(r + 1) * k];
            for (dxs, ks) in drow.chunks_exact_mut(cin).zip(kernel.chunks_exact(cm)) {
                for (c, d) in dxs.iter_mut().enumerate() {
                    let (kc, gc) = (&ks[c * dm..(c + 1) * dm], &gr[c * dm..(c + 1) * dm]);
                    *d = kc.iter().zip(gc).fold(T::zero(), |s, (w, g)| s + *w * *g);
                }
            }
        }
    }
}

/// The geometry of a depthwise step on `input`: Conv2D's, with `cin * depth_multiplier`
/// output channels.
pub(super) fn depthwise_geom(
    layer: &str,
    class: &'static str,
    a: (&[usize], &[usize], Padding, &[usize]),
    depth_multiplier: usize,
    input: &[usize],
) -> Result<Geom, String> {
    if depth_multiplier == 0 {
        return Err(format!("{layer} ({class}): depth_multiplier must be a positive integer"));
    }
    let cin = input.last().copied().unwrap_or(1);
    let filters = cin.checked_mul(depth_multiplier).ok_or_else(|| {
        format!("{layer} ({class}): {cin} channels times depth_multiplier {depth_multiplier} is too many")
    })?;
    let none = Initializer::Zeros;
    let common = Common {
        class,
        rank: 2,
        filters,
        kernel_size: a.0,
        strides: a.1,
        padding: a.2,
        dilation_rate: a.3,
        activation: Activation::Linear,
        use_bias: false,
        kernel_initializer: &none,
        bias_initializer: &none,
        data_format: DataFormat::ChannelsLast,
        groups: 1,
    };
    Geom::new(layer, &common, input)
}

const CLASS: &str = "DepthwiseConv2D";
const UNSUPPORTED: [&str; 5] =
    ["depthwise_regularizer", "bias_regularizer", "activity_regularizer", "depthwise_constraint", "bias_constraint"];

/// `layer_depthwise_conv_2d()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DepthwiseConv2DConfig {
    pub kernel_size: Vec<usize>,
    #[serde(default = "ones2")]
    pub strides: Vec<usize>,
    #[serde(default = "valid")]
    pub padding: Padding,
    #[serde(default = "one")]
    pub depth_multiplier: usize,
    #[serde(default = "ones2")]
    pub dilation_rate: Vec<usize>,
    #[serde(default = "linear")]
    pub activation: Activation,
    #[serde(default = "super::yes")]
    pub use_bias: bool,
    #[serde(default = "glorot")]
    pub depthwise_initializer: Initializer,
    #[serde(default = "zeros")]
    pub bias_initializer: Initializer,
    #[serde(default, skip_serializing_if = "DataFormat::is_channels_last")]
    pub data_format: DataFormat,
}

pub(super) fn one() -> usize {
    1
}

impl DepthwiseConv2DConfig {
    fn geom(&self, layer: &str, input: &[usize]) -> Result<Geom, String> {
        let a = (&self.kernel_size[..], &self.strides[..], self.padding, &self.dilation_rate[..]);
        depthwise_geom(layer, CLASS, a, self.depth_multiplier, input)
    }
}

impl LayerDef for DepthwiseConv2DConfig {
    fn build<T: Real>(
        &self,
        spec: &LayerSpec,
        inputs: &[&[usize]],
        rng: &mut Rng,
    ) -> Result<Box<dyn Layer<T>>, String> {
        channels_first::build(self.data_format, spec, inputs[0], |input| {
            Ok(Box::new(Depthwise::new(spec, self, input, rng)?))
        })
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        c.push(("depth_multiplier", Json::Int(self.depth_multiplier as i64)));
        c.push(("kernel_size", ints(&self.kernel_size)));
        c.push(("strides", ints(&self.strides)));
        c.push(("padding", Json::s(self.padding.name())));
        c.push(("data_format", self.data_format.json()));
        c.push(("dilation_rate", ints(&self.dilation_rate)));
        c.push(("activation", Json::s(activation_name(self.activation))));
        c.push(("use_bias", Json::Bool(self.use_bias)));
        c.push(("depthwise_initializer", initializer_json(&self.depthwise_initializer)));
        c.push(("bias_initializer", initializer_json(&self.bias_initializer)));
        for k in UNSUPPORTED {
            c.push((k, Json::Null));
        }
    }

    fn keras2_config(&self, layer: &str, c: &mut ConfigEntries) -> Result<(), String> {
        c.push(("kernel_size", ints(&self.kernel_size)));
        c.push(("strides", ints(&self.strides)));
        c.push(("padding", Json::s(self.padding.name())));
        c.push(("data_format", self.data_format.json()));
        c.push(("dilation_rate", ints(&self.dilation_rate)));
        c.push(("groups", Json::Int(1)));
        c.push(("activation", keras2::activation(self.activation, layer)?));
        c.push(("use_bias", Json::Bool(self.use_bias)));
        c.push(("bias_initializer", keras2::initializer(&self.bias_initializer)));
        for k in ["bias_regularizer", "activity_regularizer", "bias_constraint"] {
            c.push((k, Json::Null));
        }
        c.push(("depth_multiplier", Json::Int(self.depth_multiplier as i64)));
        c.push(("depthwise_initializer", keras2::initializer(&self.depthwise_initializer)));
        c.push(("depthwise_regularizer", Json::Null));
        c.push(("depthwise_constraint", Json::Null));
        Ok(())
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        let a = shape_args(c, &UNSUPPORTED)?;
        Ok(DepthwiseConv2DConfig {
            depth_multiplier: positive(c, "depth_multiplier", Some(1))?,
            kernel_size: a.kernel_size,
            strides: a.strides,
            padding: a.padding,
            dilation_rate: a.dilation_rate,
            activation: c.activation("activation")?,
            use_bias: c.bool_or("use_bias", true),
            depthwise_initializer: c.initializer("depthwise_initializer", Initializer::GlorotUniform),
            bias_initializer: c.initializer("bias_initializer", Initializer::Zeros),
            data_format: a.data_format,
        })
    }

    fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
        channels_first::weight_count(self.data_format, shape, |shape| {
            let Ok(g) = self.geom("", shape) else { return WeightCount::Unknown };
            let n = g.k().checked_mul(self.depth_multiplier);
            let n = n.and_then(|n| n.checked_add(if self.use_bias { g.cout } else { 0 }));
            *shape = g.out_shape(2);
            n.map_or(WeightCount::TooBig, WeightCount::Values)
        })
    }

    fn min_weight_count(&self) -> usize {
        self.depth_multiplier
    }
}

/// A built `DepthwiseConv2D` layer.
pub struct Depthwise<T> {
    spec: LayerSpec,
    /// `cout` is `cin * dm`.
    g: Geom,
    dm: usize,
    activation: Activation,
    out_shape: Vec<usize>,
    /// Kernel `(kh, kw, cin, dm)`, bias `(cin * dm)`.
    kb: KernelBias<T>,
    /// The im2col matrix of the last forward pass.
    cols: Vec<T>,
    dcols: Vec<T>,
    z: Vec<T>,
}

impl<T: Real> Depthwise<T> {
    fn new(spec: &LayerSpec, a: &DepthwiseConv2DConfig, input: &[usize], rng: &mut Rng) -> Result<Self, String> {
        let g = a.geom(&spec.name, input)?;
        let what = format!("{} (a {} kernel)", spec.name, fmt_shape(&[g.kh, g.kw, g.cin, a.depth_multiplier]));
        let field = g.kh * g.kw;
        let init = Init {
            kernel: &a.depthwise_initializer,
            bias: &a.bias_initializer,
            use_bias: a.use_bias,
            fan_in: field * g.cin,
            fan_out: field * a.depth_multiplier,
        };
        let shape = vec![g.kh, g.kw, g.cin, a.depth_multiplier];
        Ok(Depthwise {
            spec: spec.clone(),
            out_shape: g.out_shape(2),
            dm: a.depth_multiplier,
            activation: a.activation,
            kb: KernelBias::with_units(&what, shape, g.cout, init, rng)?,
            cols: Vec::new(),
            dcols: Vec::new(),
            z: Vec::new(),
            g,
        })
    }
}

impl<T: Real> Layer<T> for Depthwise<T> {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, _training: bool, _rng: &mut Rng) {
        let x = xs[0];
        let batch = x.rows();
        let (k, cout) = (self.g.k(), self.g.cout);
        let m = batch * self.g.oh * self.g.ow;
        self.cols.resize(m * k, T::zero());
        self.g.im2col(&x.data, &mut self.cols);
        out.resize_batch(batch, &self.out_shape);
        if self.kb.use_bias() {
            out.data.chunks_exact_mut(cout).for_each(|r| r.copy_from_slice(&self.kb.bias));
        } else {
            out.data.iter_mut().for_each(|v| *v = T::zero());
        }
        depthwise_forward(&self.cols, &self.kb.kernel, &mut out.data, (self.g.kh * self.g.kw, self.g.cin, self.dm));
        activate(self.activation, &mut self.z, &mut out.data, cout);
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
        let (k, cout) = (self.g.k(), self.g.cout);
        let m = batch * self.g.oh * self.g.ow;
        if !g_is_preactivation {
            self.activation.backward(&self.z, &out.data, &mut g.data, cout);
        }
        self.kb.bias_grad(&g.data);
        let dx = dxs[0].as_deref_mut();
        self.dcols.resize(if dx.is_some() { m * k } else { 0 }, T::zero());
        let dcols = dx.is_some().then_some(&mut self.dcols[..]);
        let taps = self.g.kh * self.g.kw;
        let kb = &mut self.kb;
        depthwise_backward(&self.cols, &kb.kernel, &g.data, &mut kb.dkernel, dcols, (taps, self.g.cin, self.dm));
        if let Some(dx) = dx {
            dx.resize(&x.shape);
            self.g.col2im(&self.dcols, &mut dx.data);
        }
    }

    // Keras 3 names it `kernel` (tf.keras 2: `depthwise_kernel`)
    kernel_bias_layer_methods!(kb, activation);
}

#[cfg(test)]
#[path = "depthwise_tests.rs"]
mod tests;
