//! `layer_separable_conv_2d` (channels_last): a depthwise convolution (kernel `(kh, kw, cin,
//! dm)`, no bias, strides/padding/dilation as given) then a pointwise 1x1 convolution (kernel
//! `(1, 1, cin * dm, filters)`, read row-major as the `(cin * dm) x filters` GEMM matrix), then
//! the bias `(filters)` and the activation, as Keras 3. Input `(batch, h, w, cin)`, output
//! `(batch, oh, ow, filters)`.

use super::channels_first;
use super::conv::{ints, Geom};
use super::conv_keras::{glorot, linear, ones2, positive, shape_args, valid, zeros};
use super::depthwise::{depthwise_backward, depthwise_forward, depthwise_geom, one};
use super::kernel_bias::{activate, Init, KernelBias};
use super::padding::DataFormat;
use super::{fmt_shape, ConfigEntries, Layer, LayerDef, LayerSpec, Padding, WeightCount, WeightRef};
use crate::activations::Activation;
use crate::init::Initializer;
use crate::keras_h5::keras2;
use crate::keras_h5::KerasLayerConfig;
use crate::keras_json::{activation_name, initializer_json, Json};
use crate::linalg::{gemm, op};
use crate::rng::Rng;
use crate::tensor::{try_zeros, Tensor};
use crate::Real;
use faer::MatMut;
use serde::{Deserialize, Serialize};

const CLASS: &str = "SeparableConv2D";
const UNSUPPORTED: [&str; 7] = [
    "depthwise_regularizer",
    "pointwise_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "depthwise_constraint",
    "pointwise_constraint",
    "bias_constraint",
];

/// `layer_separable_conv_2d()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeparableConv2DConfig {
    pub filters: usize,
    pub kernel_size: Vec<usize>,
    #[serde(default = "ones2")]
    pub strides: Vec<usize>,
    #[serde(default = "valid")]
    pub padding: Padding,
    #[serde(default = "ones2")]
    pub dilation_rate: Vec<usize>,
    #[serde(default = "one")]
    pub depth_multiplier: usize,
    #[serde(default = "linear")]
    pub activation: Activation,
    #[serde(default = "super::yes")]
    pub use_bias: bool,
    #[serde(default = "glorot")]
    pub depthwise_initializer: Initializer,
    #[serde(default = "glorot")]
    pub pointwise_initializer: Initializer,
    #[serde(default = "zeros")]
    pub bias_initializer: Initializer,
    #[serde(default, skip_serializing_if = "DataFormat::is_channels_last")]
    pub data_format: DataFormat,
}

impl SeparableConv2DConfig {
    fn geom(&self, layer: &str, input: &[usize]) -> Result<Geom, String> {
        if self.filters == 0 {
            return Err(format!("{layer} ({CLASS}): filters must be a positive integer"));
        }
        let a = (&self.kernel_size[..], &self.strides[..], self.padding, &self.dilation_rate[..]);
        depthwise_geom(layer, CLASS, a, self.depth_multiplier, input)
    }

    fn shape_entries(&self, c: &mut ConfigEntries) {
        c.push(("filters", Json::Int(self.filters as i64)));
        c.push(("kernel_size", ints(&self.kernel_size)));
        c.push(("strides", ints(&self.strides)));
        c.push(("padding", Json::s(self.padding.name())));
        c.push(("data_format", self.data_format.json()));
        c.push(("dilation_rate", ints(&self.dilation_rate)));
    }
}

impl LayerDef for SeparableConv2DConfig {
    fn build<T: Real>(
        &self,
        spec: &LayerSpec,
        inputs: &[&[usize]],
        rng: &mut Rng,
    ) -> Result<Box<dyn Layer<T>>, String> {
        channels_first::build(self.data_format, spec, inputs[0], |input| {
            Ok(Box::new(Separable::new(spec, self, input, rng)?))
        })
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        c.push(("depth_multiplier", Json::Int(self.depth_multiplier as i64)));
        self.shape_entries(c);
        c.push(("activation", Json::s(activation_name(self.activation))));
        c.push(("use_bias", Json::Bool(self.use_bias)));
        c.push(("depthwise_initializer", initializer_json(&self.depthwise_initializer)));
        c.push(("pointwise_initializer", initializer_json(&self.pointwise_initializer)));
        c.push(("bias_initializer", initializer_json(&self.bias_initializer)));
        for k in UNSUPPORTED {
            c.push((k, Json::Null));
        }
    }

    fn keras2_config(&self, layer: &str, c: &mut ConfigEntries) -> Result<(), String> {
        self.shape_entries(c);
        c.push(("groups", Json::Int(1)));
        c.push(("activation", keras2::activation(self.activation, layer)?));
        c.push(("use_bias", Json::Bool(self.use_bias)));
        // tf.keras 2 writes its Conv base class' (unused) kernel settings too
        c.push(("kernel_initializer", keras2::initializer(&Initializer::GlorotUniform)));
        c.push(("bias_initializer", keras2::initializer(&self.bias_initializer)));
        for k in
            ["kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"]
        {
            c.push((k, Json::Null));
        }
        c.push(("depth_multiplier", Json::Int(self.depth_multiplier as i64)));
        c.push(("depthwise_initializer", keras2::initializer(&self.depthwise_initializer)));
        c.push(("pointwise_initializer", keras2::initializer(&self.pointwise_initializer)));
        for k in ["depthwise_regularizer", "pointwise_regularizer", "depthwise_constraint", "pointwise_constraint"] {
            c.push((k, Json::Null));
        }
        Ok(())
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        let a = shape_args(c, &UNSUPPORTED)?;
        c.require_null(&["kernel_regularizer", "kernel_constraint"])?;
        Ok(SeparableConv2DConfig {
            filters: positive(c, "filters", None)?,
            depth_multiplier: positive(c, "depth_multiplier", Some(1))?,
            kernel_size: a.kernel_size,
            strides: a.strides,
            padding: a.padding,
            dilation_rate: a.dilation_rate,
            activation: c.activation("activation")?,
            use_bias: c.bool_or("use_bias", true),
            depthwise_initializer: c.initializer("depthwise_initializer", Initializer::GlorotUniform),
            pointwise_initializer: c.initializer("pointwise_initializer", Initializer::GlorotUniform),
            bias_initializer: c.initializer("bias_initializer", Initializer::Zeros),
            data_format: a.data_format,
        })
    }

    fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
        channels_first::weight_count(self.data_format, shape, |shape| {
            let Ok(g) = self.geom("", shape) else { return WeightCount::Unknown };
            let n = g.k().checked_mul(self.depth_multiplier);
            let n = n.and_then(|n| n.checked_add(g.cout.checked_mul(self.filters)?));
            let n = n.and_then(|n| n.checked_add(if self.use_bias { self.filters } else { 0 }));
            *shape = vec![g.oh, g.ow, self.filters];
            n.map_or(WeightCount::TooBig, WeightCount::Values)
        })
    }

    fn min_weight_count(&self) -> usize {
        self.filters
    }
}

/// A built `SeparableConv2D` layer.
pub struct Separable<T> {
    spec: LayerSpec,
    /// The depthwise step (`cout` is `cin * dm`).
    g: Geom,
    dm: usize,
    filters: usize,
    activation: Activation,
    out_shape: Vec<usize>,
    /// `(kh, kw, cin, dm)`.
    depthwise: Vec<T>,
    ddepthwise: Vec<T>,
    /// The pointwise kernel `(1, 1, cin * dm, filters)` and the bias `(filters)`.
    pw: KernelBias<T>,
    cols: Vec<T>,
    dcols: Vec<T>,
    /// The depthwise output `(rows, cin * dm)` and its gradient.
    mid: Vec<T>,
    dmid: Vec<T>,
    z: Vec<T>,
}

impl<T: Real> Separable<T> {
    fn new(spec: &LayerSpec, a: &SeparableConv2DConfig, input: &[usize], rng: &mut Rng) -> Result<Self, String> {
        let g = a.geom(&spec.name, input)?;
        let dm = a.depth_multiplier;
        let what = format!("{} (a {} kernel)", spec.name, fmt_shape(&[g.kh, g.kw, g.cin, dm]));
        let nd = g.k().checked_mul(dm).ok_or_else(|| format!("{what}: too many weights"))?;
        let field = g.kh * g.kw;
        let mut depthwise = try_zeros(nd, &what)?;
        a.depthwise_initializer.fill(&mut depthwise, field * g.cin, field * dm, rng);
        let init = Init {
            kernel: &a.pointwise_initializer,
            bias: &a.bias_initializer,
            use_bias: a.use_bias,
            fan_in: g.cout,
            fan_out: a.filters,
        };
        let pw = KernelBias::new(&what, vec![1, 1, g.cout, a.filters], init, rng)?;
        Ok(Separable {
            spec: spec.clone(),
            out_shape: vec![g.oh, g.ow, a.filters],
            dm,
            filters: a.filters,
            activation: a.activation,
            ddepthwise: try_zeros(nd, &what)?,
            depthwise,
            pw,
            cols: Vec::new(),
            dcols: Vec::new(),
            mid: Vec::new(),
            dmid: Vec::new(),
            z: Vec::new(),
            g,
        })
    }
}

impl<T: Real> Layer<T> for Separable<T> {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, _training: bool, _rng: &mut Rng) {
        let x = xs[0];
        let batch = x.rows();
        let (k, cm, f) = (self.g.k(), self.g.cout, self.filters);
        let m = batch * self.g.oh * self.g.ow;
        self.cols.resize(m * k, T::zero());
        self.g.im2col(&x.data, &mut self.cols);
        self.mid.clear();
        self.mid.resize(m * cm, T::zero());
        depthwise_forward(&self.cols, &self.depthwise, &mut self.mid, (self.g.kh * self.g.kw, self.g.cin, self.dm));
        out.resize_batch(batch, &self.out_shape);
        let use_bias = self.pw.use_bias();
        if use_bias {
            out.data.chunks_exact_mut(f).for_each(|r| r.copy_from_slice(&self.pw.bias));
        }
        let o = MatMut::from_row_major_slice_mut(&mut out.data, m, f);
        gemm(o, op(&self.mid, m, cm, false), op(&self.pw.kernel, cm, f, false), use_bias);
        activate(self.activation, &mut self.z, &mut out.data, f);
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
        let (k, cm, f) = (self.g.k(), self.g.cout, self.filters);
        let m = batch * self.g.oh * self.g.ow;
        if !g_is_preactivation {
            self.activation.backward(&self.z, &out.data, &mut g.data, f);
        }
        self.pw.bias_grad(&g.data);
        let dp = MatMut::from_row_major_slice_mut(&mut self.pw.dkernel, cm, f);
        gemm(dp, op(&self.mid, cm, m, true), op(&g.data, m, f, false), false);
        self.dmid.resize(m * cm, T::zero());
        let dmid = MatMut::from_row_major_slice_mut(&mut self.dmid, m, cm);
        gemm(dmid, op(&g.data, m, f, false), op(&self.pw.kernel, f, cm, true), false);
        let dx = dxs[0].as_deref_mut();
        self.dcols.resize(if dx.is_some() { m * k } else { 0 }, T::zero());
        let dcols = dx.is_some().then_some(&mut self.dcols[..]);
        let shape = (self.g.kh * self.g.kw, self.g.cin, self.dm);
        depthwise_backward(&self.cols, &self.depthwise, &self.dmid, &mut self.ddepthwise, dcols, shape);
        if let Some(dx) = dx {
            dx.resize(&x.shape);
            self.g.col2im(&self.dcols, &mut dx.data);
        }
    }

    fn weights(&self) -> Vec<WeightRef<'_, T>> {
        let g = &self.g;
        let shape = vec![g.kh, g.kw, g.cin, self.dm];
        let mut w = vec![WeightRef { name: "depthwise_kernel", shape, values: &self.depthwise[..], trainable: true }];
        let mut pw = self.pw.weights();
        pw[0].name = "pointwise_kernel";
        w.extend(pw);
        w
    }

    fn push_params<'a>(&'a mut self, params: &mut Vec<&'a mut [T]>, grads: &mut Vec<&'a mut [T]>) {
        params.push(&mut self.depthwise);
        grads.push(&mut self.ddepthwise);
        self.pw.push_params(params, grads);
    }

    fn push_weights_mut<'a>(&'a mut self, out: &mut Vec<&'a mut [T]>) {
        out.push(&mut self.depthwise);
        self.pw.push_weights_mut(out);
    }

    fn output_activation(&self) -> Option<Activation> {
        Some(self.activation)
    }
}
