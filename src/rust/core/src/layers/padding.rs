//! `layer_zero_padding_1d/2d` and `layer_cropping_1d/2d`: zeros added around, or values cut
//! from, the steps (1d) or the rows and columns (2d) of each sample. Both run as one layer
//! that places the input at a signed offset in the output: the output position is the input
//! position plus `before` (a negative `before` crops). Channels last by default; channels first is
//! supported where Keras has it (not for `Cropping1D`).
//!
//! The sample is seen as `(outer, h, w, inner)`: channels last `(1, rows, cols, channels)`,
//! channels first `(channels, rows, cols, 1)`; a 1-d layer has one row (`h = 1`).
//!
//! This file also holds what the spatial layers share: [`DataFormat`], the [`Grid`] view of
//! a sample, and the readers of Keras' tuple arguments.

use super::{fmt_shape, ConfigEntries, Layer, LayerDef, LayerSpec, WeightCount};
use crate::keras_h5::KerasLayerConfig;
use crate::keras_json::{int_list, Json};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use serde::{Deserialize, Serialize};

/// `data_format` of a spatial layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    #[default]
    ChannelsLast,
    ChannelsFirst,
}

impl DataFormat {
    /// For serde: the convolutions and poolings, which had no `data_format` before
    /// channels_first, leave the default out of their specs.
    pub(crate) fn is_channels_last(&self) -> bool {
        *self == DataFormat::ChannelsLast
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            DataFormat::ChannelsLast => "channels_last",
            DataFormat::ChannelsFirst => "channels_first",
        }
    }

    pub(crate) fn json(self) -> Json {
        Json::s(self.name())
    }

    /// The `data_format` of a Keras config (channels last when absent or null).
    pub(crate) fn from_keras(c: &KerasLayerConfig<'_>) -> Result<DataFormat, String> {
        match c.get("data_format") {
            None | Some(serde_json::Value::Null) => Ok(DataFormat::ChannelsLast),
            Some(v) => match v.as_str() {
                Some("channels_last") => Ok(DataFormat::ChannelsLast),
                Some("channels_first") => Ok(DataFormat::ChannelsFirst),
                _ => Err(format!(
                    "layer '{}' ({}): data_format = {v} is not \"channels_last\" or \"channels_first\"",
                    c.name, c.class
                )),
            },
        }
    }
}

/// A sample of a spatial layer as `(outer, h, w, inner)` (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Grid {
    pub outer: usize,
    pub h: usize,
    pub w: usize,
    pub inner: usize,
    rank: usize,
    format: DataFormat,
}

impl Grid {
    /// The grid of per-sample `input` for a layer of `rank` spatial axes, checking the rank.
    pub(crate) fn of(
        layer: &str,
        class: &str,
        rank: usize,
        format: DataFormat,
        input: &[usize],
    ) -> Result<Grid, String> {
        if input.len() != rank + 1 {
            let what = match (rank, format) {
                (1, DataFormat::ChannelsLast) => "(batch, steps, features)",
                (1, DataFormat::ChannelsFirst) => "(batch, features, steps)",
                (_, DataFormat::ChannelsLast) => "(batch, rows, cols, channels)",
                (_, DataFormat::ChannelsFirst) => "(batch, channels, rows, cols)",
            };
            return Err(format!(
                "{layer}: {class} takes {}-d input {what}, got shape (None, {})",
                rank + 2,
                fmt_shape(input)
            ));
        }
        // the spatial axes: the first `rank` (channels last) or the last `rank` (channels first)
        let spatial = match format {
            DataFormat::ChannelsLast => &input[..rank],
            DataFormat::ChannelsFirst => &input[1..],
        };
        let (h, w) = if rank == 1 { (1, spatial[0]) } else { (spatial[0], spatial[1]) };
        let (outer, inner) = match format {
            DataFormat::ChannelsLast => (1, input[rank]),
            DataFormat::ChannelsFirst => (input[0], 1),
        };
        Ok(Grid { outer, h, w, inner, rank, format })
    }

    /// Number of channels.
    pub(crate) fn channels(&self) -> usize {
        self.outer * self.inner
    }

    /// The spatial sizes as Keras lists them: `[steps]` or `[rows, cols]`.
    pub(crate) fn spatial(&self) -> Vec<usize> {
        if self.rank == 1 {
            vec![self.w]
        } else {
            vec![self.h, self.w]
        }
    }

    /// The per-sample shape of this layout with `h` rows and `w` columns (1d: `w` steps).
    pub(crate) fn shape_with(&self, h: usize, w: usize) -> Vec<usize> {
        let c = self.channels();
        match (self.rank, self.format) {
            (1, DataFormat::ChannelsLast) => vec![w, c],
            (1, DataFormat::ChannelsFirst) => vec![c, w],
            (_, DataFormat::ChannelsLast) => vec![h, w, c],
            (_, DataFormat::ChannelsFirst) => vec![c, h, w],
        }
    }

    /// Values per sample.
    pub(crate) fn len(&self) -> usize {
        self.outer * self.h * self.w * self.inner
    }
}

/// `(before, after)` pairs, one per spatial axis, of a Keras config tuple argument: one
/// integer (every side), `rank` integers (2d: symmetric per axis; 1d: the pair itself) or
/// `rank` pairs. `None` when the key is absent or null.
pub(crate) fn keras_pairs(c: &KerasLayerConfig<'_>, key: &str, rank: usize) -> Result<Option<Vec<[usize; 2]>>, String> {
    let v = match c.get(key) {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(v) => v,
    };
    let bad = || {
        format!(
            "layer '{}' ({}): `{key}` = {v} is not a non-negative integer, {rank} of them or {rank} pairs of them",
            c.name, c.class
        )
    };
    let int = |v: &serde_json::Value| v.as_i64().filter(|&d| d >= 0).map(|d| d as usize);
    let pair = |v: &serde_json::Value| -> Option<[usize; 2]> {
        match v {
            serde_json::Value::Array(p) if p.len() == 2 => Some([int(&p[0])?, int(&p[1])?]),
            v => int(v).map(|d| [d, d]),
        }
    };
    let pairs = match v {
        serde_json::Value::Array(items) if rank == 1 && items.len() == 2 => {
            vec![[int(&items[0]).ok_or_else(bad)?, int(&items[1]).ok_or_else(bad)?]]
        }
        serde_json::Value::Array(items) if rank > 1 && items.len() == rank => {
            items.iter().map(pair).collect::<Option<Vec<_>>>().ok_or_else(bad)?
        }
        v => vec![int(v).map(|d| [d, d]).ok_or_else(bad)?; rank],
    };
    Ok(Some(pairs))
}

fn pair_json(p: [usize; 2]) -> Json {
    int_list(p.iter().map(|&d| d as i64))
}

/// Which of the two layer families.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Pad,
    Crop,
}

/// A padding or cropping: the input grid, the output rows and columns, the signed offset of
/// the input in the output and the output's per-sample shape.
type Geometry = (Grid, [usize; 2], [isize; 2], Vec<usize>);

/// The geometry of a padding or cropping of per-sample `input`.
fn geometry(
    layer: &str,
    class: &str,
    op: Op,
    rank: usize,
    format: DataFormat,
    sides: &[[usize; 2]],
    input: &[usize],
) -> Result<Geometry, String> {
    let g = Grid::of(layer, class, rank, format, input)?;
    let sizes = g.spatial();
    let axis_names: &[&str] = if rank == 1 { &["steps"] } else { &["rows", "cols"] };
    let arg = if op == Op::Pad { "padding" } else { "cropping" };
    let sides_str = || {
        if rank == 1 {
            format!("({}, {})", sides[0][0], sides[0][1])
        } else {
            format!("(({}, {}), ({}, {}))", sides[0][0], sides[0][1], sides[1][0], sides[1][1])
        }
    };
    let mut out = Vec::with_capacity(rank);
    for a in 0..rank {
        let total = sides[a][0].checked_add(sides[a][1]);
        let n = match op {
            Op::Pad => total.and_then(|t| t.checked_add(sizes[a])).filter(|&n| n <= u32::MAX as usize),
            Op::Crop => {
                if total.is_none_or(|t| t >= sizes[a]) {
                    return Err(format!(
                        "{layer}: {class} cropping {} leaves nothing of the input's {} {}: input shape (None, {})",
                        sides_str(),
                        sizes[a],
                        axis_names[a],
                        fmt_shape(input)
                    ));
                }
                total.map(|t| sizes[a] - t)
            }
        };
        let Some(n) = n else {
            return Err(format!("{layer}: {class} {arg} {} is too large", sides_str()));
        };
        out.push(n);
    }
    let (oh, ow) = if rank == 1 { (1, out[0]) } else { (out[0], out[1]) };
    let shape = g.shape_with(oh, ow);
    if shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).is_none_or(|n| n > u32::MAX as usize) {
        return Err(format!("{layer}: {class} output (None, {}) is too large", fmt_shape(&shape)));
    }
    let signed = |s: usize| if op == Op::Pad { s as isize } else { -(s as isize) };
    let before = if rank == 1 { [0, signed(sides[0][0])] } else { [signed(sides[0][0]), signed(sides[1][0])] };
    Ok((g, [oh, ow], before, shape))
}

/// A built padding or cropping layer.
pub struct Pad {
    spec: LayerSpec,
    g: Grid,
    out_hw: [usize; 2],
    shape: Vec<usize>,
    /// Per plane (one channel when channels first, all of them when channels last): the
    /// contiguous runs `(input offset, output offset)` of `run` values each that the
    /// input and the output share.
    runs: Vec<(usize, usize)>,
    run: usize,
    /// Whether the output has positions no input reaches (padding: they are zeros).
    padded: bool,
    /// Whether the input has positions the output drops (cropping: their gradient is zero).
    cropped: bool,
}

impl Pad {
    fn new(spec: LayerSpec, g: Grid, out_hw: [usize; 2], before: [isize; 2], shape: Vec<usize>) -> Pad {
        let [oh, ow] = out_hw;
        let x0 = before[1].max(0) as usize;
        let x1 = (g.w as isize + before[1]).min(ow as isize) as usize;
        let x_in = (x0 as isize - before[1]) as usize;
        let runs = (0..oh)
            .filter_map(|y| {
                let y_in = y as isize - before[0];
                (0..g.h as isize)
                    .contains(&y_in)
                    .then(|| ((y_in as usize * g.w + x_in) * g.inner, (y * ow + x0) * g.inner))
            })
            .collect();
        let padded = before.iter().any(|&b| b > 0) || oh > g.h || ow > g.w;
        let cropped = before.iter().any(|&b| b < 0) || oh < g.h || ow < g.w;
        Pad { spec, g, out_hw, shape, runs, run: (x1 - x0) * g.inner, padded, cropped }
    }

    fn planes(&self, rows: usize) -> (usize, usize, usize) {
        let in_plane = self.g.h * self.g.w * self.g.inner;
        let out_plane = self.out_hw[0] * self.out_hw[1] * self.g.inner;
        (rows * self.g.outer, in_plane, out_plane)
    }
}

impl<T: Real> Layer<T> for Pad {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, _training: bool, _rng: &mut Rng) {
        let x = xs[0];
        out.resize_batch(x.rows(), &self.shape);
        if self.padded {
            out.data.iter_mut().for_each(|v| *v = T::zero());
        }
        let (planes, ip, op) = self.planes(x.rows());
        for p in 0..planes {
            let (xi, oi) = (&x.data[p * ip..(p + 1) * ip], &mut out.data[p * op..(p + 1) * op]);
            for &(i, o) in &self.runs {
                oi[o..o + self.run].copy_from_slice(&xi[i..i + self.run]);
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
        if self.cropped {
            dx.data.iter_mut().for_each(|v| *v = T::zero());
        }
        let (planes, ip, op) = self.planes(xs[0].rows());
        for p in 0..planes {
            let (di, gi) = (&mut dx.data[p * ip..(p + 1) * ip], &g.data[p * op..(p + 1) * op]);
            for &(i, o) in &self.runs {
                di[i..i + self.run].copy_from_slice(&gi[o..o + self.run]);
            }
        }
    }
}

macro_rules! pad_kind {
    ($(#[$doc:meta])* $name:ident, $class:literal, $op:expr, $rank:literal, $field:ident: $ty:ty,
     $format:ident, $to:expr, $from:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            pub $field: $ty,
            #[serde(default)]
            pub data_format: DataFormat,
        }

        impl $name {
            fn sides(&self) -> Vec<[usize; 2]> {
                #[allow(clippy::redundant_closure_call)]
                ($to)(self.$field)
            }

            fn geometry(&self, layer: &str, input: &[usize]) -> Result<Geometry, String> {
                geometry(layer, $class, $op, $rank, self.data_format, &self.sides(), input)
            }

            fn value(&self) -> Json {
                let s = self.sides();
                if $rank == 1 { pair_json(s[0]) } else { Json::Arr(s.into_iter().map(pair_json).collect()) }
            }
        }

        impl LayerDef for $name {
            fn build<T: Real>(
                &self,
                spec: &LayerSpec,
                inputs: &[&[usize]],
                _: &mut Rng,
            ) -> Result<Box<dyn Layer<T>>, String> {
                if !$format && self.data_format != DataFormat::ChannelsLast {
                    return Err(format!("{}: {} supports data_format = \"channels_last\" only", spec.name, $class));
                }
                let (g, out_hw, before, shape) = self.geometry(&spec.name, inputs[0])?;
                Ok(Box::new(Pad::new(spec.clone(), g, out_hw, before, shape)))
            }

            fn keras_config(&self, c: &mut ConfigEntries) {
                c.push((stringify!($field), self.value()));
                if $format {
                    c.push(("data_format", self.data_format.json()));
                }
            }

            fn keras2_config(&self, layer: &str, c: &mut ConfigEntries) -> Result<(), String> {
                c.push((stringify!($field), self.value()));
                // tf.keras 2's ZeroPadding1D and Cropping1D have no data_format
                if $rank == 2 {
                    c.push(("data_format", self.data_format.json()));
                } else if self.data_format != DataFormat::ChannelsLast {
                    return Err(format!(
                        "layer '{layer}': tf.keras 2's {} has no data_format, so a channels_first one cannot be saved \
                         for Keras 2 (use keras_version = 3)",
                        $class
                    ));
                }
                Ok(())
            }

            fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
                let data_format = DataFormat::from_keras(c)?;
                if !$format && data_format != DataFormat::ChannelsLast {
                    return Err(format!("layer '{}' ({}): only channels_last is supported", c.name, c.class));
                }
                let sides = keras_pairs(c, stringify!($field), $rank)?.unwrap_or_else(|| {
                    // Keras' defaults
                    if $op == Op::Pad || $rank == 1 { vec![[1, 1]; $rank] } else { vec![[0, 0]; $rank] }
                });
                #[allow(clippy::redundant_closure_call)]
                Ok($name { $field: ($from)(sides), data_format })
            }

            fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
                match self.geometry("", shape) {
                    Ok((_, _, _, s)) => {
                        *shape = s;
                        WeightCount::Values(0)
                    }
                    Err(_) => WeightCount::Unknown,
                }
            }
        }
    };
}

pad_kind!(
    /// `layer_zero_padding_1d()`'s arguments: zeros before and after the steps.
    ZeroPadding1DConfig, "ZeroPadding1D", Op::Pad, 1, padding: [usize; 2], true,
    |p: [usize; 2]| vec![p], |s: Vec<[usize; 2]>| s[0]
);
pad_kind!(
    /// `layer_zero_padding_2d()`'s arguments: `((top, bottom), (left, right))` rows and columns of zeros.
    ZeroPadding2DConfig, "ZeroPadding2D", Op::Pad, 2, padding: [[usize; 2]; 2], true,
    |p: [[usize; 2]; 2]| p.to_vec(), |s: Vec<[usize; 2]>| [s[0], s[1]]
);
pad_kind!(
    /// `layer_cropping_1d()`'s arguments: steps cut at the start and the end (channels last only,
    /// as in Keras).
    Cropping1DConfig, "Cropping1D", Op::Crop, 1, cropping: [usize; 2], false,
    |p: [usize; 2]| vec![p], |s: Vec<[usize; 2]>| s[0]
);
pad_kind!(
    /// `layer_cropping_2d()`'s arguments: `((top, bottom), (left, right))` rows and columns cut.
    Cropping2DConfig, "Cropping2D", Op::Crop, 2, cropping: [[usize; 2]; 2], true,
    |p: [[usize; 2]; 2]| p.to_vec(), |s: Vec<[usize; 2]>| [s[0], s[1]]
);
