//! `layer_conv_1d` and `layer_conv_2d` (channels_last): im2col then one GEMM.
//! Input `(batch, h, w, cin)` (1d: `(batch, steps, cin)`, run as `h = 1`); kernel
//! `(kh, kw, cin, cout)` (1d: `(k, cin, cout)`), bias `(cout)`. The im2col rows are ordered
//! `(ky, kx, c)`, so the kernel read row-major is the `(kh*kw*cin) x cout` matrix.

use super::{fmt_shape, ConfigEntries, Layer, LayerDef, LayerSpec, WeightCount, WeightRef};
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

/// Keras padding modes (`causal` for 1d only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    Valid,
    Same,
    Causal,
}

impl Padding {
    pub(super) fn name(self) -> &'static str {
        match self {
            Padding::Valid => "valid",
            Padding::Same => "same",
            Padding::Causal => "causal",
        }
    }
}

fn valid() -> Padding {
    Padding::Valid
}
fn ones1() -> Vec<usize> {
    vec![1]
}
fn ones2() -> Vec<usize> {
    vec![1, 1]
}
fn linear() -> Activation {
    Activation::Linear
}
fn glorot() -> Initializer {
    Initializer::GlorotUniform
}
fn zeros() -> Initializer {
    Initializer::Zeros
}

macro_rules! conv_config {
    ($(#[$m:meta])* $name:ident, $class:literal, $rank:literal, $ones:literal) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            pub filters: usize,
            pub kernel_size: Vec<usize>,
            #[serde(default = $ones)]
            pub strides: Vec<usize>,
            #[serde(default = "valid")]
            pub padding: Padding,
            #[serde(default = $ones)]
            pub dilation_rate: Vec<usize>,
            #[serde(default = "linear")]
            pub activation: Activation,
            #[serde(default = "super::yes")]
            pub use_bias: bool,
            #[serde(default = "glorot")]
            pub kernel_initializer: Initializer,
            #[serde(default = "zeros")]
            pub bias_initializer: Initializer,
        }

        impl $name {
            fn common(&self) -> Common<'_> {
                Common {
                    class: $class,
                    rank: $rank,
                    filters: self.filters,
                    kernel_size: &self.kernel_size,
                    strides: &self.strides,
                    padding: self.padding,
                    dilation_rate: &self.dilation_rate,
                    activation: self.activation,
                    use_bias: self.use_bias,
                    kernel_initializer: &self.kernel_initializer,
                    bias_initializer: &self.bias_initializer,
                }
            }
        }

        impl LayerDef for $name {
            fn build<T: Real>(
                &self,
                spec: &LayerSpec,
                inputs: &[&[usize]],
                rng: &mut Rng,
            ) -> Result<Box<dyn Layer<T>>, String> {
                Ok(Box::new(Conv::new(spec, &self.common(), inputs[0], rng)?))
            }

            fn keras_config(&self, c: &mut ConfigEntries) {
                self.common().config(c, false);
            }

            fn keras2_config(&self, layer: &str, c: &mut ConfigEntries) -> Result<(), String> {
                self.common().keras2(layer, c)
            }

            fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
                let r = read_keras(c, $rank)?;
                Ok($name {
                    filters: r.0,
                    kernel_size: r.1,
                    strides: r.2,
                    padding: r.3,
                    dilation_rate: r.4,
                    activation: c.activation("activation")?,
                    use_bias: c.bool_or("use_bias", true),
                    kernel_initializer: c.initializer("kernel_initializer", Initializer::GlorotUniform),
                    bias_initializer: c.initializer("bias_initializer", Initializer::Zeros),
                })
            }

            fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
                self.common().weight_count(shape)
            }

            fn min_weight_count(&self) -> usize {
                self.filters
            }
        }
    };
}

conv_config!(
    /// `layer_conv_2d()`'s arguments.
    Conv2DConfig, "Conv2D", 2, "ones2"
);
conv_config!(
    /// `layer_conv_1d()`'s arguments.
    Conv1DConfig, "Conv1D", 1, "ones1"
);

type KerasArgs = (usize, Vec<usize>, Vec<usize>, Padding, Vec<usize>);

/// The shape arguments of a Keras conv config (either generation).
fn read_keras(c: &mut KerasLayerConfig<'_>, rank: usize) -> Result<KerasArgs, String> {
    c.require_null(&[
        "kernel_regularizer",
        "bias_regularizer",
        "activity_regularizer",
        "kernel_constraint",
        "bias_constraint",
    ])?;
    let (name, class) = (c.name.to_string(), c.class.to_string());
    let err = |what: String| format!("layer '{name}' ({class}): {what}");
    if let Some(f) = c.get("data_format").and_then(|v| v.as_str()) {
        if f != "channels_last" {
            return Err(err(format!("data_format = '{f}' is not supported (only channels_last)")));
        }
    }
    if c.int_arg("groups")?.unwrap_or(1) != 1 {
        return Err(err("groups other than 1 are not supported".into()));
    }
    let filters = c
        .usize_arg("filters")
        .filter(|f| *f > 0)
        .ok_or_else(|| err("`filters` is missing or not a positive integer".into()))?;
    let tuple = |key: &str, default: usize| -> Result<Vec<usize>, String> {
        let v: Vec<i64> = match c.get(key) {
            None | Some(serde_json::Value::Null) if default > 0 => vec![default as i64; rank],
            Some(serde_json::Value::Number(_)) => vec![c.int_arg(key)?.unwrap_or(0); rank],
            _ => c.int_list(key)?,
        };
        if v.len() != rank || v.iter().any(|x| *x <= 0) {
            return Err(err(format!("{key} must be {rank} positive integer(s)")));
        }
        Ok(v.into_iter().map(|x| x as usize).collect())
    };
    let kernel_size = tuple("kernel_size", 0)?;
    let strides = tuple("strides", 1)?;
    let dilation = tuple("dilation_rate", 1)?;
    let padding = match c.get("padding").and_then(|v| v.as_str()).unwrap_or("valid") {
        "valid" => Padding::Valid,
        "same" => Padding::Same,
        "causal" if rank == 1 => Padding::Causal,
        p => return Err(err(format!("padding = '{p}' is not supported"))),
    };
    Ok((filters, kernel_size, strides, padding, dilation))
}

/// The arguments of either kind (and of the depthwise layers, whose `filters` is `cin * depth_multiplier`).
pub(super) struct Common<'a> {
    pub(super) class: &'static str,
    pub(super) rank: usize,
    pub(super) filters: usize,
    pub(super) kernel_size: &'a [usize],
    pub(super) strides: &'a [usize],
    pub(super) padding: Padding,
    pub(super) dilation_rate: &'a [usize],
    pub(super) activation: Activation,
    pub(super) use_bias: bool,
    pub(super) kernel_initializer: &'a Initializer,
    pub(super) bias_initializer: &'a Initializer,
}

pub(super) fn ints(v: &[usize]) -> Json {
    Json::Arr(v.iter().map(|x| Json::Int(*x as i64)).collect())
}

impl Common<'_> {
    fn shape_args(&self, c: &mut ConfigEntries) {
        c.push(("filters", Json::Int(self.filters as i64)));
        c.push(("kernel_size", ints(self.kernel_size)));
        c.push(("strides", ints(self.strides)));
        c.push(("padding", Json::s(self.padding.name())));
        c.push(("data_format", Json::s("channels_last")));
        c.push(("dilation_rate", ints(self.dilation_rate)));
        c.push(("groups", Json::Int(1)));
    }

    fn config(&self, c: &mut ConfigEntries, _keras2: bool) {
        self.shape_args(c);
        c.push(("activation", Json::s(activation_name(self.activation))));
        c.push(("use_bias", Json::Bool(self.use_bias)));
        c.push(("kernel_initializer", initializer_json(self.kernel_initializer)));
        c.push(("bias_initializer", initializer_json(self.bias_initializer)));
        self.nulls(c);
    }

    fn keras2(&self, layer: &str, c: &mut ConfigEntries) -> Result<(), String> {
        self.shape_args(c);
        c.push(("activation", keras2::activation(self.activation, layer)?));
        c.push(("use_bias", Json::Bool(self.use_bias)));
        c.push(("kernel_initializer", keras2::initializer(self.kernel_initializer)));
        c.push(("bias_initializer", keras2::initializer(self.bias_initializer)));
        self.nulls(c);
        Ok(())
    }

    fn nulls(&self, c: &mut ConfigEntries) {
        for k in
            ["kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"]
        {
            c.push((k, Json::Null));
        }
    }

    fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
        let Ok(g) = Geom::new("", self, shape) else { return WeightCount::Unknown };
        let n = (g.kh * g.kw).checked_mul(g.cin).and_then(|k| k.checked_mul(g.cout));
        let n = n.and_then(|n| n.checked_add(if self.use_bias { g.cout } else { 0 }));
        *shape = g.out_shape(self.rank);
        n.map_or(WeightCount::TooBig, WeightCount::Values)
    }
}

/// The geometry of one convolution, 1d as 2d with `h = kh = 1`.
#[derive(Clone, Debug)]
pub(super) struct Geom {
    pub(super) h: usize,
    pub(super) w: usize,
    pub(super) cin: usize,
    pub(super) kh: usize,
    pub(super) kw: usize,
    pub(super) sh: usize,
    pub(super) sw: usize,
    pub(super) dh: usize,
    pub(super) dw: usize,
    pub(super) pt: usize,
    pub(super) pl: usize,
    pub(super) oh: usize,
    pub(super) ow: usize,
    pub(super) cout: usize,
}

/// Output length and padding before, for one spatial axis.
fn axis(len: usize, k: usize, s: usize, d: usize, p: Padding) -> Option<(usize, usize)> {
    let eff = (k - 1) * d + 1;
    match p {
        Padding::Valid => (eff <= len).then(|| ((len - eff) / s + 1, 0)),
        Padding::Same => {
            let out = len.div_ceil(s);
            let total = ((out - 1) * s + eff).saturating_sub(len);
            Some((out, total / 2))
        }
        Padding::Causal => Some(((len - 1) / s + 1, eff - 1)),
    }
}

impl Geom {
    pub(super) fn new(layer: &str, a: &Common<'_>, input: &[usize]) -> Result<Geom, String> {
        let r = a.rank;
        let what = if r == 2 { "(height, width, channels)" } else { "(steps, channels)" };
        if input.len() != r + 1 {
            return Err(format!(
                "{layer} ({}): expects input of shape {what} per sample, got ({}) (rank {} instead of {})",
                a.class,
                fmt_shape(input),
                input.len() + 1,
                r + 2
            ) + if r == 2 && input.len() == 1 {
                "; images stored one per row of a matrix must be reshaped first, e.g. \
                 array_reshape(x, c(n, 28, 28, 1))"
            } else {
                ""
            });
        }
        let pos = |v: &[usize], key: &str| {
            if v.len() == r && v.iter().all(|x| *x > 0) {
                Ok(())
            } else {
                Err(format!("{layer} ({}): {key} must be {r} positive integer(s), got ({})", a.class, fmt_shape(v)))
            }
        };
        pos(a.kernel_size, "kernel_size")?;
        pos(a.strides, "strides")?;
        pos(a.dilation_rate, "dilation_rate")?;
        if a.filters == 0 {
            return Err(format!("{layer} ({}): filters must be a positive integer", a.class));
        }
        if a.padding == Padding::Causal && r != 1 {
            return Err(format!("{layer} ({}): padding 'causal' is only for 1d convolutions", a.class));
        }
        let at = |v: &[usize], i: usize| {
            if r == 2 {
                v[i]
            } else if i == 0 {
                1
            } else {
                v[0]
            }
        };
        let (h, w) = (at(input, 0), at(input, 1));
        let (kh, kw) = (at(a.kernel_size, 0), at(a.kernel_size, 1));
        let (sh, sw) = (at(a.strides, 0), at(a.strides, 1));
        let (dh, dw) = (at(a.dilation_rate, 0), at(a.dilation_rate, 1));
        let (padh, padw) = if r == 1 && a.padding == Padding::Causal {
            (Padding::Valid, Padding::Causal)
        } else {
            (a.padding, a.padding)
        };
        match (axis(h, kh, sh, dh, padh), axis(w, kw, sw, dw, padw)) {
            (Some((oh, pt)), Some((ow, pl))) => Ok(Geom { h, w, cin: input[r], kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout: a.filters }),
            _ => Err(format!(
                "{layer} ({}): kernel_size ({}) with dilation_rate ({}) is larger than the input ({}) with padding 'valid'",
                a.class,
                fmt_shape(a.kernel_size),
                fmt_shape(a.dilation_rate),
                fmt_shape(&input[..r])
            )),
        }
    }

    pub(super) fn out_shape(&self, rank: usize) -> Vec<usize> {
        if rank == 2 {
            vec![self.oh, self.ow, self.cout]
        } else {
            vec![self.ow, self.cout]
        }
    }

    /// Columns of the im2col matrix.
    pub(super) fn k(&self) -> usize {
        self.kh * self.kw * self.cin
    }

    /// Calls `f(col_offset, x_offset)` for each in-bounds (ky, kx) tap of output (n, oy, ox).
    #[inline]
    fn taps(&self, n: usize, oy: usize, ox: usize, mut f: impl FnMut(usize, usize)) {
        for ky in 0..self.kh {
            let iy = (oy * self.sh + ky * self.dh) as isize - self.pt as isize;
            if iy < 0 || iy >= self.h as isize {
                continue;
            }
            for kx in 0..self.kw {
                let ix = (ox * self.sw + kx * self.dw) as isize - self.pl as isize;
                if ix < 0 || ix >= self.w as isize {
                    continue;
                }
                f((ky * self.kw + kx) * self.cin, ((n * self.h + iy as usize) * self.w + ix as usize) * self.cin);
            }
        }
    }

    pub(super) fn im2col<T: Real>(&self, x: &[T], batch: usize, cols: &mut [T]) {
        let (k, cin) = (self.k(), self.cin);
        cols.iter_mut().for_each(|v| *v = T::zero());
        let mut row = 0;
        for n in 0..batch {
            for oy in 0..self.oh {
                for ox in 0..self.ow {
                    let dst = &mut cols[row * k..(row + 1) * k];
                    self.taps(n, oy, ox, |c, xi| dst[c..c + cin].copy_from_slice(&x[xi..xi + cin]));
                    row += 1;
                }
            }
        }
    }

    pub(super) fn col2im<T: Real>(&self, cols: &[T], batch: usize, dx: &mut [T]) {
        let (k, cin) = (self.k(), self.cin);
        dx.iter_mut().for_each(|v| *v = T::zero());
        let mut row = 0;
        for n in 0..batch {
            for oy in 0..self.oh {
                for ox in 0..self.ow {
                    let src = &cols[row * k..(row + 1) * k];
                    self.taps(n, oy, ox, |c, xi| {
                        dx[xi..xi + cin].iter_mut().zip(&src[c..c + cin]).for_each(|(d, s)| *d += *s)
                    });
                    row += 1;
                }
            }
        }
    }
}

pub struct Conv<T> {
    spec: LayerSpec,
    g: Geom,
    rank: usize,
    activation: Activation,
    use_bias: bool,
    out_shape: Vec<usize>,
    kernel: Vec<T>,
    bias: Vec<T>,
    dkernel: Vec<T>,
    dbias: Vec<T>,
    /// The im2col matrix of the last forward pass (rows `batch*oh*ow`, columns `kh*kw*cin`).
    cols: Vec<T>,
    /// dL/d(cols), for the input gradient.
    dcols: Vec<T>,
    /// Pre-activation values, kept only for activations whose derivative needs them.
    z: Vec<T>,
}

impl<T: Real> Conv<T> {
    fn new(spec: &LayerSpec, a: &Common<'_>, input: &[usize], rng: &mut Rng) -> Result<Self, String> {
        let g = Geom::new(&spec.name, a, input)?;
        let (k, cout) = (g.k(), g.cout);
        let what = format!("{} (a {} x {cout} kernel)", spec.name, fmt_shape(&[g.kh, g.kw, g.cin]));
        let n = k.checked_mul(cout).ok_or_else(|| format!("{what}: too many weights"))?;
        let mut kernel = try_zeros(n, &what)?;
        let field = g.kh * g.kw;
        a.kernel_initializer.fill(&mut kernel, field * g.cin, field * cout, rng);
        let mut bias = try_zeros(if a.use_bias { cout } else { 0 }, &what)?;
        a.bias_initializer.fill(&mut bias, field * g.cin, field * cout, rng);
        Ok(Conv {
            spec: spec.clone(),
            out_shape: g.out_shape(a.rank),
            rank: a.rank,
            activation: a.activation,
            use_bias: a.use_bias,
            dkernel: try_zeros(n, &what)?,
            dbias: vec![T::zero(); bias.len()],
            kernel,
            bias,
            cols: Vec::new(),
            dcols: Vec::new(),
            z: Vec::new(),
            g,
        })
    }
}

impl<T: Real> Layer<T> for Conv<T> {
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
        self.g.im2col(&x.data, batch, &mut self.cols);
        out.resize_batch(batch, &self.out_shape);
        if self.use_bias {
            for row in out.data.chunks_exact_mut(cout) {
                row.copy_from_slice(&self.bias);
            }
        }
        let o = MatMut::from_row_major_slice_mut(&mut out.data, m, cout);
        gemm(o, op(&self.cols, m, k, false), op(&self.kernel, k, cout, false), self.use_bias);
        let keep_z = self.activation.needs_input_for_backward();
        self.z.resize(if keep_z { out.data.len() } else { 0 }, T::zero());
        if keep_z {
            self.z.copy_from_slice(&out.data);
        }
        self.activation.forward(&mut out.data, cout);
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
        let dk = MatMut::from_row_major_slice_mut(&mut self.dkernel, k, cout);
        gemm(dk, op(&self.cols, k, m, true), op(&g.data, m, cout, false), false);
        if self.use_bias {
            self.dbias.iter_mut().for_each(|v| *v = T::zero());
            for row in g.data.chunks_exact(cout) {
                self.dbias.iter_mut().zip(row).for_each(|(d, v)| *d += *v);
            }
        }
        if let Some(dx) = dxs[0].as_deref_mut() {
            self.dcols.resize(m * k, T::zero());
            let dc = MatMut::from_row_major_slice_mut(&mut self.dcols, m, k);
            gemm(dc, op(&g.data, m, cout, false), op(&self.kernel, cout, k, true), false);
            dx.resize(&x.shape);
            self.g.col2im(&self.dcols, batch, &mut dx.data);
        }
    }

    fn weights(&self) -> Vec<WeightRef<'_, T>> {
        let g = &self.g;
        let shape = if self.rank == 2 { vec![g.kh, g.kw, g.cin, g.cout] } else { vec![g.kw, g.cin, g.cout] };
        let mut w = vec![WeightRef { name: "kernel", shape, values: &self.kernel[..], trainable: true }];
        if self.use_bias {
            w.push(WeightRef { name: "bias", shape: vec![g.cout], values: &self.bias, trainable: true });
        }
        w
    }

    fn push_params<'a>(&'a mut self, params: &mut Vec<&'a mut [T]>, grads: &mut Vec<&'a mut [T]>) {
        params.push(&mut self.kernel);
        grads.push(&mut self.dkernel);
        if self.use_bias {
            params.push(&mut self.bias);
            grads.push(&mut self.dbias);
        }
    }

    fn push_weights_mut<'a>(&'a mut self, out: &mut Vec<&'a mut [T]>) {
        out.push(&mut self.kernel);
        if self.use_bias {
            out.push(&mut self.bias);
        }
    }

    fn output_activation(&self) -> Option<Activation> {
        Some(self.activation)
    }
}

#[cfg(test)]
#[path = "conv_tests.rs"]
mod tests;
