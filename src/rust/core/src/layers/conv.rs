//! `layer_conv_1d` and `layer_conv_2d` (channels_last): im2col then one GEMM.
//! Input `(batch, h, w, cin)` (1d: `(batch, steps, cin)`, run as `h = 1`); kernel
//! `(kh, kw, cin, cout)` (1d: `(k, cin, cout)`), bias `(cout)`. The im2col rows are ordered
//! `(ky, kx, c)`, so the kernel read row-major is the `(kh*kw*cin) x cout` matrix.

use super::channels_first;
use super::kernel_bias::{kernel_bias_layer_methods, Init, KernelBias};
use super::padding::DataFormat;
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
use crate::{forkjoin, parts};
use faer::{MatMut, MatRef};
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

pub(super) fn one() -> usize {
    1
}
fn is_one(v: &usize) -> bool {
    *v == 1
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
            #[serde(default, skip_serializing_if = "DataFormat::is_channels_last")]
            pub data_format: DataFormat,
            /// Input and output channels split into this many groups, each convolved alone.
            #[serde(default = "one", skip_serializing_if = "is_one")]
            pub groups: usize,
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
                    data_format: self.data_format,
                    groups: self.groups,
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
                let a = self.common();
                channels_first::build(self.data_format, spec, inputs[0], |input| {
                    Ok(Box::new(Conv::new(spec, &a, input, rng)?))
                })
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
                    data_format: DataFormat::from_keras(c)?,
                    groups: r.5,
                })
            }

            fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
                channels_first::weight_count(self.data_format, shape, |s| self.common().weight_count(s))
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

type KerasArgs = (usize, Vec<usize>, Vec<usize>, Padding, Vec<usize>, usize);

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
    let groups = match c.int_arg("groups")? {
        None => 1,
        Some(g) if g >= 1 => g as usize,
        Some(g) => return Err(err(format!("groups must be a positive integer, got {g}"))),
    };
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
            let got = v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ");
            return Err(err(format!("{key} must be {rank} positive integer(s), got [{got}]")));
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
    Ok((filters, kernel_size, strides, padding, dilation, groups))
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
    pub(super) data_format: DataFormat,
    pub(super) groups: usize,
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
        c.push(("data_format", self.data_format.json()));
        c.push(("dilation_rate", ints(self.dilation_rate)));
        c.push(("groups", Json::Int(self.groups as i64)));
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
        let n = (g.kh * g.kw).checked_mul(g.cin / self.groups).and_then(|k| k.checked_mul(g.cout));
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
        let cin = input[r];
        if a.groups == 0 || !cin.is_multiple_of(a.groups) || !a.filters.is_multiple_of(a.groups) {
            return Err(format!(
                "{layer} ({}): groups = {} must divide both the input channels ({cin}) and filters ({})",
                a.class, a.groups, a.filters
            ));
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

    /// Where tap `kx` of the taps starting at input column `ix0` reads, if inside the input.
    #[inline]
    fn col(&self, ix0: isize, kx: usize) -> Option<usize> {
        let ix = ix0 + (kx * self.dw) as isize;
        (ix >= 0 && ix < self.w as isize).then_some(ix as usize)
    }

    /// Calls `f(row, ky, span)` for each output row of `images` images and each kernel row
    /// `ky`: `span` is `Some((x_offset, ix0))` where the kernel row lies inside the input
    /// (`x_offset` of the input row's first value, `ix0` the column of its first tap, maybe
    /// outside), `None` where it lies in the padding.
    #[inline]
    fn rows(&self, images: usize, mut f: impl FnMut(usize, usize, Option<(usize, isize)>)) {
        let mut row = 0;
        for n in 0..images {
            for oy in 0..self.oh {
                for ox in 0..self.ow {
                    let ix0 = (ox * self.sw) as isize - self.pl as isize;
                    for ky in 0..self.kh {
                        let iy = (oy * self.sh + ky * self.dh) as isize - self.pt as isize;
                        let inside = iy >= 0 && iy < self.h as isize;
                        f(row, ky, inside.then(|| ((n * self.h + iy as usize) * self.w * self.cin, ix0)));
                    }
                    row += 1;
                }
            }
        }
    }

    /// Whether the taps of a kernel row starting at `ix0` are one contiguous run of the input.
    #[inline]
    fn contiguous(&self, ix0: isize) -> bool {
        self.dw == 1 && ix0 >= 0 && ix0 as usize + self.kw <= self.w
    }

    /// The im2col rows of the images `x` (whole images, channels last) into `cols`, every
    /// value written (padding taps as zeros).
    pub(super) fn im2col<T: Real>(&self, x: &[T], cols: &mut [T]) {
        let (k, cin, run) = (self.k(), self.cin, self.kw * self.cin);
        let images = x.len() / (self.h * self.w * cin);
        self.rows(images, |row, ky, span| {
            let seg = &mut cols[row * k + ky * run..row * k + (ky + 1) * run];
            match span {
                None => seg.fill(T::zero()),
                Some((base, ix0)) if self.contiguous(ix0) => {
                    let s = base + ix0 as usize * cin;
                    seg.copy_from_slice(&x[s..s + run]);
                }
                Some((base, ix0)) => {
                    for (kx, d) in seg.chunks_exact_mut(cin).enumerate() {
                        match self.col(ix0, kx) {
                            Some(ix) => d.copy_from_slice(&x[base + ix * cin..base + (ix + 1) * cin]),
                            None => d.fill(T::zero()),
                        }
                    }
                }
            }
        });
    }

    /// The input gradient of the images whose im2col gradient is `cols`: each column's
    /// value added back to the input value it was copied from.
    pub(super) fn col2im<T: Real>(&self, cols: &[T], dx: &mut [T]) {
        let (k, cin, run) = (self.k(), self.cin, self.kw * self.cin);
        let images = dx.len() / (self.h * self.w * cin);
        dx.fill(T::zero());
        let add = |d: &mut [T], s: &[T]| d.iter_mut().zip(s).for_each(|(d, s)| *d += *s);
        self.rows(images, |row, ky, span| {
            let seg = &cols[row * k + ky * run..row * k + (ky + 1) * run];
            match span {
                None => {}
                Some((base, ix0)) if self.contiguous(ix0) => {
                    let s = base + ix0 as usize * cin;
                    add(&mut dx[s..s + run], seg);
                }
                Some((base, ix0)) => {
                    for (kx, s) in seg.chunks_exact(cin).enumerate() {
                        if let Some(ix) = self.col(ix0, kx) {
                            add(&mut dx[base + ix * cin..base + (ix + 1) * cin], s);
                        }
                    }
                }
            }
        });
    }
}

/// The forward pass of some whole images: im2col, bias, product, activation.
struct Forward<'a, T> {
    g: &'a Geom,
    kernel: &'a [T],
    /// Empty without a bias.
    bias: &'a [T],
    activation: Activation,
}

impl<T: Real> Forward<'_, T> {
    /// `x`: the images; `cols`, `out`, `z` (empty unless kept): their rows.
    fn images(&self, x: &[T], cols: &mut [T], out: &mut [T], z: &mut [T]) {
        let (k, cout) = (self.g.k(), self.g.cout);
        let m = out.len() / cout;
        self.g.im2col(x, cols);
        if !self.bias.is_empty() {
            out.chunks_exact_mut(cout).for_each(|row| row.copy_from_slice(self.bias));
        }
        let o = MatMut::from_row_major_slice_mut(out, m, cout);
        gemm(o, op(cols, m, k, false), op(self.kernel, k, cout, false), !self.bias.is_empty());
        if !z.is_empty() {
            z.copy_from_slice(out);
        }
        self.activation.forward(out, cout);
    }
}

/// Runs `a` and `b`, on two threads when allowed now.
/// The kernel of a grouped convolution spread into the full GEMM matrix, and its gradient.
struct Grouped<T> {
    groups: usize,
    /// `(kh*kw*cin) x cout`: row `(tap, c)` and column `o` hold Keras' `(tap, c - group(o) * cg,
    /// o)` when input channel `c` is in output channel `o`'s group, and zero otherwise.
    full: Vec<T>,
    dfull: Vec<T>,
}

impl<T: Real> Grouped<T> {
    /// Visits each kernel entry with its place in the full matrix: `f(keras, full)`.
    fn each(&self, g: &Geom, mut f: impl FnMut(usize, usize)) {
        let (cin, cout) = (g.cin, g.cout);
        let (cg, og) = (cin / self.groups, cout / self.groups);
        for tap in 0..g.kh * g.kw {
            for c in 0..cg {
                for o in 0..cout {
                    f((tap * cg + c) * cout + o, (tap * cin + o / og * cg + c) * cout + o);
                }
            }
        }
    }

    /// Writes Keras' kernel into the full matrix (the zeros between groups stay).
    fn spread(&mut self, g: &Geom, kernel: &[T]) {
        let mut full = std::mem::take(&mut self.full);
        self.each(g, |k, f| full[f] = kernel[k]);
        self.full = full;
    }

    /// Reads the kernel gradient out of the full matrix's.
    fn gather(&self, g: &Geom, dkernel: &mut [T]) {
        self.each(g, |k, f| dkernel[k] = self.dfull[f]);
    }
}

fn both(a: impl FnOnce(), b: impl FnOnce() + Send) {
    if crate::linalg::may_split() {
        forkjoin::join(a, b);
    } else {
        a();
        b();
    }
}

pub struct Conv<T> {
    spec: LayerSpec,
    g: Geom,
    activation: Activation,
    out_shape: Vec<usize>,
    kb: KernelBias<T>,
    /// With `groups > 1`, Keras' kernel `(kh, kw, cin / groups, cout)` is `kb.kernel`; the GEMMs
    /// use it spread into the block-diagonal `(kh*kw*cin) x cout` matrix, zero between groups.
    grouped: Option<Grouped<T>>,
    /// The im2col matrix of the last forward pass (rows `batch*oh*ow`, columns `kh*kw*cin`);
    /// the backward pass, once done with it, turns it into dL/d(cols) for the input gradient.
    cols: Vec<T>,
    /// Pre-activation values, kept only for activations whose derivative needs them.
    z: Vec<T>,
}

impl<T: Real> Conv<T> {
    fn new(spec: &LayerSpec, a: &Common<'_>, input: &[usize], rng: &mut Rng) -> Result<Self, String> {
        let g = Geom::new(&spec.name, a, input)?;
        let cg = g.cin / a.groups;
        let shape = if a.rank == 2 { vec![g.kh, g.kw, cg, g.cout] } else { vec![g.kw, cg, g.cout] };
        let what = format!("{} (a ({}) kernel)", spec.name, fmt_shape(&shape));
        let field = g.kh * g.kw;
        let init = Init {
            kernel: a.kernel_initializer,
            bias: a.bias_initializer,
            use_bias: a.use_bias,
            fan_in: field * cg,
            fan_out: field * g.cout,
        };
        let grouped = if a.groups > 1 {
            let n = g.k().checked_mul(g.cout).ok_or_else(|| format!("{what}: too many weights"))?;
            Some(Grouped { groups: a.groups, full: try_zeros(n, &what)?, dfull: try_zeros(n, &what)? })
        } else {
            None
        };
        Ok(Conv {
            spec: spec.clone(),
            out_shape: g.out_shape(a.rank),
            activation: a.activation,
            kb: KernelBias::new(&what, shape, init, rng)?,
            grouped,
            cols: Vec::new(),
            z: Vec::new(),
            g,
        })
    }

    /// Whether the passes of `batch` images are computed in two halves (images, or the
    /// kernel gradient's columns), the halves on two threads when allowed: decided by the
    /// shapes alone, so results never depend on the thread count.
    fn halves(&self, batch: usize) -> bool {
        let m = batch * self.g.oh * self.g.ow;
        batch >= 2 && self.g.cout >= 2 && m * self.g.k() * self.g.cout >= parts::MIN_PRODUCT_WORK
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
        let (k, cout, per) = (self.g.k(), self.g.cout, self.g.oh * self.g.ow);
        self.cols.resize(batch * per * k, T::zero());
        out.resize_batch(batch, &self.out_shape);
        let keep_z = self.activation.needs_input_for_backward();
        self.z.resize(if keep_z { out.data.len() } else { 0 }, T::zero());
        let halves = self.halves(batch);
        let kernel = match &mut self.grouped {
            Some(gr) => {
                gr.spread(&self.g, &self.kb.kernel);
                &gr.full[..]
            }
            None => &self.kb.kernel[..],
        };
        let fwd = Forward { g: &self.g, kernel, bias: &self.kb.bias, activation: self.activation };
        if halves {
            let half = batch / 2;
            let (x0, x1) = x.data.split_at(x.data.len() / batch * half);
            let (c0, c1) = self.cols.split_at_mut(half * per * k);
            let (o0, o1) = out.data.split_at_mut(half * per * cout);
            let (z0, z1) = self.z.split_at_mut(if keep_z { half * per * cout } else { 0 });
            both(|| fwd.images(x0, c0, o0, z0), || fwd.images(x1, c1, o1, z1));
        } else {
            fwd.images(&x.data, &mut self.cols, &mut out.data, &mut self.z);
        }
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
        let (k, cout, per) = (self.g.k(), self.g.cout, self.g.oh * self.g.ow);
        let m = batch * per;
        let halves = self.halves(batch);
        let (half, hc) = (batch / 2 * per, cout / 2);
        // dL/d(pre-activation), in row halves
        if !g_is_preactivation {
            let (a, z, y) = (self.activation, &self.z[..], &out.data[..]);
            let deriv = |rows: std::ops::Range<usize>, g: &mut [T]| {
                let at = rows.start * cout..rows.end * cout;
                a.backward(if z.is_empty() { z } else { &z[at.clone()] }, &y[at], g, cout);
            };
            if halves {
                let (g0, g1) = g.data.split_at_mut(half * cout);
                both(|| deriv(0..half, g0), || deriv(half..m, g1));
            } else {
                deriv(0..m, &mut g.data);
            }
        }
        // the kernel and bias gradients, in halves of their columns (output channels)
        let (cols, gd) = (&self.cols[..], &g.data[..]);
        let kernel_grad = |dk: MatMut<'_, T>, db: &mut [T], c: std::ops::Range<usize>| {
            gemm(dk, op(cols, k, m, true), MatRef::from_row_major_slice(gd, m, cout).subcols(c.start, c.len()), false);
            if !db.is_empty() {
                db.fill(T::zero());
                for row in gd.chunks_exact(cout) {
                    db.iter_mut().zip(&row[c.clone()]).for_each(|(d, v)| *d += *v);
                }
            }
        };
        let dkernel = match &mut self.grouped {
            Some(gr) => &mut gr.dfull[..],
            None => &mut self.kb.dkernel[..],
        };
        let dk = MatMut::from_row_major_slice_mut(dkernel, k, cout);
        let db = &mut self.kb.dbias[..];
        if halves {
            let (dk0, dk1) = dk.split_at_col_mut(hc);
            let (db0, db1) = db.split_at_mut(if db.is_empty() { 0 } else { hc });
            both(|| kernel_grad(dk0, db0, 0..hc), || kernel_grad(dk1, db1, hc..cout));
        } else {
            kernel_grad(dk, db, 0..cout);
        }
        if let Some(gr) = &self.grouped {
            gr.gather(&self.g, &mut self.kb.dkernel);
        }
        // the input gradient: dL/d(cols) (in place of cols), then back to the images
        if let Some(dx) = dxs[0].as_deref_mut() {
            dx.resize(&x.shape);
            let kernel = self.grouped.as_ref().map_or(&self.kb.kernel[..], |gr| &gr.full[..]);
            let geom = &self.g;
            let input_grad = |g: &[T], dcols: &mut [T], dx: &mut [T]| {
                let rows = g.len() / cout;
                let dc = MatMut::from_row_major_slice_mut(dcols, rows, k);
                gemm(dc, op(g, rows, cout, false), op(kernel, cout, k, true), false);
                geom.col2im(dcols, dx);
            };
            if halves {
                let (g0, g1) = g.data.split_at(half * cout);
                let (c0, c1) = self.cols.split_at_mut(half * k);
                let at = dx.data.len() / batch * (batch / 2);
                let (d0, d1) = dx.data.split_at_mut(at);
                both(|| input_grad(g0, c0, d0), || input_grad(g1, c1, d1));
            } else {
                input_grad(&g.data, &mut self.cols, &mut dx.data);
            }
        }
    }

    kernel_bias_layer_methods!(kb, activation);
}

#[cfg(test)]
#[path = "conv_tests.rs"]
mod tests;
