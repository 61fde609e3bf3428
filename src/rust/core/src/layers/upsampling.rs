//! `layer_upsampling_1d` (each step repeated `size` times) and `layer_upsampling_2d` (rows and
//! columns repeated `size` times, or, with `interpolation = "bilinear"`, resized as Keras 3
//! does with `ops.image.resize(..., "bilinear")`, no antialiasing as the output is larger:
//! output row `i` samples the input at `(i + 0.5) / size - 0.5`, clamped to `[0, rows - 1]`,
//! between its two nearest rows, and the same for the columns — half-pixel centers, the
//! edges repeated).

use super::padding::{DataFormat, Grid};
use super::{fmt_shape, ConfigEntries, Layer, LayerDef, LayerSpec, WeightCount};
use crate::keras_h5::KerasLayerConfig;
use crate::keras_json::{int_list, Json};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use serde::{Deserialize, Serialize};

/// `interpolation` of `layer_upsampling_2d()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interpolation {
    #[default]
    Nearest,
    Bilinear,
}

impl Interpolation {
    fn name(self) -> &'static str {
        match self {
            Interpolation::Nearest => "nearest",
            Interpolation::Bilinear => "bilinear",
        }
    }
}

/// One output position of a bilinear axis: the input positions below and above the sample
/// point and the weight of the one above.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Tap<T> {
    lo: usize,
    hi: usize,
    f: T,
}

/// The bilinear taps of an axis of `n` positions upsampled `size` times.
fn taps<T: Real>(n: usize, size: usize) -> Vec<Tap<T>> {
    (0..n * size)
        .map(|i| {
            let s = ((i as f64 + 0.5) / size as f64 - 0.5).clamp(0.0, (n - 1) as f64);
            let lo = s.floor() as usize;
            Tap { lo, hi: (lo + 1).min(n - 1), f: T::c(s - lo as f64) }
        })
        .collect()
}

/// Checks the layer's input and size: the grid, output rows and columns and shape.
fn geometry(
    layer: &str,
    class: &str,
    rank: usize,
    format: DataFormat,
    size: [usize; 2],
    input: &[usize],
) -> Result<(Grid, [usize; 2], Vec<usize>), String> {
    let g = Grid::of(layer, class, rank, format, input)?;
    let given = if rank == 1 { format!("{}", size[1]) } else { format!("({}, {})", size[0], size[1]) };
    if size.contains(&0) {
        return Err(format!("{layer}: {class} `size` must be positive, got {given}"));
    }
    let (oh, ow) = (g.h.checked_mul(size[0]), g.w.checked_mul(size[1]));
    let shape = oh.zip(ow).map(|(oh, ow)| (g.shape_with(oh, ow), [oh, ow]));
    match shape {
        Some((shape, hw))
            if shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).is_some_and(|n| n <= u32::MAX as usize) =>
        {
            Ok((g, hw, shape))
        }
        _ => Err(format!("{layer}: {class} size {given} makes the input (None, {}) too large", fmt_shape(input))),
    }
}

/// The bilinear taps of the rows and of the columns.
type Taps<T> = (Vec<Tap<T>>, Vec<Tap<T>>);

/// A built upsampling layer.
pub struct Upsample<T> {
    spec: LayerSpec,
    g: Grid,
    size: [usize; 2],
    out_hw: [usize; 2],
    shape: Vec<usize>,
    /// Bilinear: the taps of the rows and of the columns; `None`: nearest.
    taps: Option<Taps<T>>,
}

impl<T: Real> Upsample<T> {
    fn new(spec: LayerSpec, g: Grid, size: [usize; 2], out_hw: [usize; 2], shape: Vec<usize>, bilinear: bool) -> Self {
        let taps = bilinear.then(|| (taps(g.h, size[0]), taps(g.w, size[1])));
        Upsample { spec, g, size, out_hw, shape, taps }
    }

    fn planes(&self, rows: usize) -> (usize, usize, usize) {
        let in_plane = self.g.h * self.g.w * self.g.inner;
        let out_plane = self.out_hw[0] * self.out_hw[1] * self.g.inner;
        (rows * self.g.outer, in_plane, out_plane)
    }
}

impl<T: Real> Layer<T> for Upsample<T> {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, _training: bool, _rng: &mut Rng) {
        let x = xs[0];
        out.resize_batch(x.rows(), &self.shape);
        let (planes, ip, op) = self.planes(x.rows());
        let (w, c) = (self.g.w, self.g.inner);
        let [oh, ow] = self.out_hw;
        for p in 0..planes {
            let (xi, oi) = (&x.data[p * ip..(p + 1) * ip], &mut out.data[p * op..(p + 1) * op]);
            match &self.taps {
                None => {
                    for y in 0..oh {
                        let row = &xi[(y / self.size[0]) * w * c..][..w * c];
                        let orow = &mut oi[y * ow * c..][..ow * c];
                        for (xo, o) in orow.chunks_exact_mut(c).enumerate() {
                            let i = xo / self.size[1] * c;
                            o.copy_from_slice(&row[i..i + c]);
                        }
                    }
                }
                Some((ty, tx)) => {
                    for (y, a) in ty.iter().enumerate() {
                        let (r0, r1) = (&xi[a.lo * w * c..][..w * c], &xi[a.hi * w * c..][..w * c]);
                        let orow = &mut oi[y * ow * c..][..ow * c];
                        for (b, o) in tx.iter().zip(orow.chunks_exact_mut(c)) {
                            let (l, h) = (b.lo * c, b.hi * c);
                            for k in 0..c {
                                let top = r0[l + k] + (r0[h + k] - r0[l + k]) * b.f;
                                let bottom = r1[l + k] + (r1[h + k] - r1[l + k]) * b.f;
                                o[k] = top + (bottom - top) * a.f;
                            }
                        }
                    }
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
        let Some(dx) = dxs[0].as_deref_mut() else { return };
        dx.resize(&xs[0].shape);
        dx.data.iter_mut().for_each(|v| *v = T::zero());
        let (planes, ip, op) = self.planes(xs[0].rows());
        let (w, c) = (self.g.w, self.g.inner);
        let [oh, ow] = self.out_hw;
        for p in 0..planes {
            let (di, gi) = (&mut dx.data[p * ip..(p + 1) * ip], &g.data[p * op..(p + 1) * op]);
            match &self.taps {
                None => {
                    for y in 0..oh {
                        let row = &mut di[(y / self.size[0]) * w * c..][..w * c];
                        let grow = &gi[y * ow * c..][..ow * c];
                        for (xo, gv) in grow.chunks_exact(c).enumerate() {
                            let i = xo / self.size[1] * c;
                            row[i..i + c].iter_mut().zip(gv).for_each(|(d, g)| *d += *g);
                        }
                    }
                }
                Some((ty, tx)) => {
                    for (y, a) in ty.iter().enumerate() {
                        let grow = &gi[y * ow * c..][..ow * c];
                        for (b, gv) in tx.iter().zip(grow.chunks_exact(c)) {
                            let (fy, fx) = (a.f, b.f);
                            let weights = [
                                (a.lo, b.lo, (T::one() - fy) * (T::one() - fx)),
                                (a.lo, b.hi, (T::one() - fy) * fx),
                                (a.hi, b.lo, fy * (T::one() - fx)),
                                (a.hi, b.hi, fy * fx),
                            ];
                            for (r, col, wt) in weights {
                                let d = &mut di[(r * w + col) * c..][..c];
                                d.iter_mut().zip(gv).for_each(|(d, g)| *d += *g * wt);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `layer_upsampling_1d()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpSampling1DConfig {
    pub size: usize,
}

impl LayerDef for UpSampling1DConfig {
    fn build<T: Real>(&self, spec: &LayerSpec, inputs: &[&[usize]], _: &mut Rng) -> Result<Box<dyn Layer<T>>, String> {
        let size = [1, self.size];
        let (g, hw, shape) = geometry(&spec.name, "UpSampling1D", 1, DataFormat::ChannelsLast, size, inputs[0])?;
        Ok(Box::new(Upsample::<T>::new(spec.clone(), g, size, hw, shape, false)))
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        c.push(("size", Json::Int(self.size as i64)));
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        let size = match c.get("size") {
            None | Some(serde_json::Value::Null) => 2,
            Some(serde_json::Value::Array(_)) => match c.int_list("size")?[..] {
                [s] => s,
                _ => return Err(format!("layer '{}' (UpSampling1D): `size` must be one integer", c.name)),
            },
            Some(_) => c.int_arg("size")?.unwrap_or(2),
        };
        if size < 1 {
            return Err(format!("layer '{}' (UpSampling1D): `size` must be positive, got {size}", c.name));
        }
        Ok(UpSampling1DConfig { size: size as usize })
    }

    fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
        match geometry("", "UpSampling1D", 1, DataFormat::ChannelsLast, [1, self.size], shape) {
            Ok((_, _, s)) => {
                *shape = s;
                WeightCount::Values(0)
            }
            Err(_) => WeightCount::Unknown,
        }
    }
}

/// `layer_upsampling_2d()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpSampling2DConfig {
    pub size: [usize; 2],
    #[serde(default)]
    pub data_format: DataFormat,
    #[serde(default)]
    pub interpolation: Interpolation,
}

impl LayerDef for UpSampling2DConfig {
    fn build<T: Real>(&self, spec: &LayerSpec, inputs: &[&[usize]], _: &mut Rng) -> Result<Box<dyn Layer<T>>, String> {
        let (g, hw, shape) = geometry(&spec.name, "UpSampling2D", 2, self.data_format, self.size, inputs[0])?;
        let bilinear = self.interpolation == Interpolation::Bilinear;
        Ok(Box::new(Upsample::<T>::new(spec.clone(), g, self.size, hw, shape, bilinear)))
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        c.push(("size", int_list(self.size.iter().map(|&d| d as i64))));
        c.push(("data_format", self.data_format.json()));
        c.push(("interpolation", Json::s(self.interpolation.name())));
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        let data_format = DataFormat::from_keras(c)?;
        let size: Vec<i64> = match c.get("size") {
            None | Some(serde_json::Value::Null) => vec![2, 2],
            Some(serde_json::Value::Array(_)) => c.int_list("size")?,
            Some(_) => vec![c.int_arg("size")?.unwrap_or(2); 2],
        };
        let size = match size[..] {
            [h, w] if h > 0 && w > 0 => [h as usize, w as usize],
            _ => {
                return Err(format!(
                    "layer '{}' (UpSampling2D): `size` must be 2 positive integers, got {size:?}",
                    c.name
                ))
            }
        };
        let interpolation = match c.get("interpolation").and_then(|v| v.as_str()).map(str::to_lowercase).as_deref() {
            None | Some("nearest") => Interpolation::Nearest,
            Some("bilinear") => Interpolation::Bilinear,
            Some(other) => {
                return Err(format!(
                    "layer '{}' (UpSampling2D): interpolation = \"{other}\" is not supported by rkeras \
                     (only \"nearest\" and \"bilinear\")",
                    c.name
                ))
            }
        };
        Ok(UpSampling2DConfig { size, data_format, interpolation })
    }

    fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
        match geometry("", "UpSampling2D", 2, self.data_format, self.size, shape) {
            Ok((_, _, s)) => {
                *shape = s;
                WeightCount::Values(0)
            }
            Err(_) => WeightCount::Unknown,
        }
    }
}
