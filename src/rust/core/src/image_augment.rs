//! Keras' `ImageDataGenerator` random transforms and standardization (keras 2.x /
//! keras-preprocessing, kept in Keras 3 as `keras.src.legacy.preprocessing.image`), on a batch
//! of channels-last images `(n, h, w, c)`, row-major f32.
//!
//! Conventions copied from Keras so that a transform with the same parameters gives the same
//! image (checked against `ImageDataGenerator.apply_transform()` in the R tests):
//! - `apply_affine_transform()` builds the matrix as rotation . shift . shear . zoom in
//!   coordinates `(x0, x1)` with the centre offset `(h / 2 - 0.5, w / 2 - 0.5)`, then swaps both
//!   axes of the matrix (Keras' `M' = P M P`), so `x0` is the column and `x1` the row of the
//!   output. Hence `tx` (which Keras draws from `height_shift_range` and scales by the height)
//!   moves the image along its columns and `ty` along its rows, exactly as Keras does; the
//!   centre offset pairs the height with the column, which only matters for non-square images.
//! - Sampling is scipy's `ndimage.affine_transform(order = 1)`: the input coordinate of output
//!   pixel `(r, c)` is `M' (r, c) + offset`, linearly interpolated; outside the image scipy's
//!   modes apply: `nearest` clamps the coordinate to `[0, n - 1]`, `reflect` extends the grid
//!   half-sample symmetrically (`dcba|abcd|dcba`), `wrap` wraps the coordinate with period
//!   `n - 1` (scipy's "wrap", not "grid-wrap"), `constant` gives `cval` as soon as a coordinate
//!   leaves `[0, n - 1]` (no blending with `cval`).
//! - `apply_transform()` order: affine, channel shift (one intensity for all channels, clipped
//!   to the image's min and max), horizontal flip, vertical flip, brightness (PIL's
//!   `ImageEnhance.Brightness` on the image as 8-bit: values truncated to integers, scaled to
//!   0..255 first when they leave that range, and scaled back).
//! - The random draws follow `get_random_transform()`'s order (rotation, height shift, width
//!   shift, shear, zoom x and y, flip draws, channel shift, brightness) on the core's own stream;
//!   the numbers differ from numpy's, the distributions are the same.
//! - `standardize()` order: rescale, samplewise centre, samplewise std (`std + 1e-6`), featurewise
//!   centre, featurewise std (`std + 1e-6`). (`preprocessing_function` runs before, ZCA after,
//!   both on the R side.)

use crate::rng::Rng;
use serde::Deserialize;

/// What lies outside the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FillMode {
    Nearest,
    Constant,
    Reflect,
    Wrap,
}

/// The random part of an `ImageDataGenerator`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AugmentConfig {
    /// Degrees: theta ~ U(-r, r).
    pub rotation_range: f64,
    /// `height_shift_range` values: one number r (U(-r, r)) or, with `height_shift_choice`,
    /// the values to choose from (times a random sign). Fractions of the height when all < 1.
    pub height_shift_range: Vec<f64>,
    pub height_shift_choice: bool,
    pub width_shift_range: Vec<f64>,
    pub width_shift_choice: bool,
    /// Degrees.
    pub shear_range: f64,
    pub zoom_range: [f64; 2],
    pub channel_shift_range: f64,
    pub brightness_range: Option<[f64; 2]>,
    pub horizontal_flip: bool,
    pub vertical_flip: bool,
    pub fill_mode: FillMode,
    pub cval: f64,
}

/// One image's transform (Keras' `transform_parameters`; missing fields are the identity).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Transform {
    pub theta: f64,
    pub tx: f64,
    pub ty: f64,
    pub shear: f64,
    pub zx: f64,
    pub zy: f64,
    pub flip_horizontal: bool,
    pub flip_vertical: bool,
    pub channel_shift_intensity: Option<f64>,
    pub brightness: Option<f64>,
}

impl Default for Transform {
    fn default() -> Self {
        Transform {
            theta: 0.0,
            tx: 0.0,
            ty: 0.0,
            shear: 0.0,
            zx: 1.0,
            zy: 1.0,
            flip_horizontal: false,
            flip_vertical: false,
            channel_shift_intensity: None,
            brightness: None,
        }
    }
}

fn uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.uniform()
}

fn draw_shift(rng: &mut Rng, range: &[f64], choice: bool, extent: usize) -> f64 {
    if range.is_empty() || range.iter().all(|v| *v == 0.0) {
        return 0.0;
    }
    let mut t = if choice {
        let v = range[rng.below(range.len())];
        if rng.uniform() < 0.5 {
            -v
        } else {
            v
        }
    } else {
        uniform(rng, -range[0], range[0])
    };
    if range.iter().cloned().fold(f64::NEG_INFINITY, f64::max) < 1.0 {
        t *= extent as f64;
    }
    t
}

impl AugmentConfig {
    /// Checks the ranges (R checks them first; this keeps the core safe on its own).
    pub fn validate(&self) -> Result<(), String> {
        let finite = [self.rotation_range, self.shear_range, self.channel_shift_range, self.cval];
        if finite.iter().any(|v| !v.is_finite()) || self.zoom_range.iter().any(|v| !v.is_finite()) {
            return Err("image augmentation ranges must be finite".into());
        }
        if self.rotation_range < 0.0 || self.shear_range < 0.0 || self.channel_shift_range < 0.0 {
            return Err("rotation_range, shear_range and channel_shift_range must be >= 0".into());
        }
        if self.zoom_range[0] <= 0.0 || self.zoom_range[1] < self.zoom_range[0] {
            return Err(format!("zoom_range must satisfy 0 < lower <= upper, got {:?}", self.zoom_range));
        }
        for r in [&self.height_shift_range, &self.width_shift_range] {
            if r.iter().any(|v| !v.is_finite() || *v < 0.0) {
                return Err("height_shift_range and width_shift_range must be finite and >= 0".into());
            }
        }
        if let Some([lo, hi]) = self.brightness_range {
            if !(lo.is_finite() && hi.is_finite() && lo >= 0.0 && lo <= hi) {
                return Err(format!("brightness_range must satisfy 0 <= lower <= upper, got [{lo}, {hi}]"));
            }
        }
        Ok(())
    }

    /// A random transform for an `h` x `w` image (Keras' `get_random_transform()`, same order of draws).
    pub fn random_transform(&self, rng: &mut Rng, h: usize, w: usize) -> Transform {
        let theta =
            if self.rotation_range != 0.0 { uniform(rng, -self.rotation_range, self.rotation_range) } else { 0.0 };
        let tx = draw_shift(rng, &self.height_shift_range, self.height_shift_choice, h);
        let ty = draw_shift(rng, &self.width_shift_range, self.width_shift_choice, w);
        let shear = if self.shear_range != 0.0 { uniform(rng, -self.shear_range, self.shear_range) } else { 0.0 };
        let (zx, zy) = if self.zoom_range == [1.0, 1.0] {
            (1.0, 1.0)
        } else {
            (uniform(rng, self.zoom_range[0], self.zoom_range[1]), uniform(rng, self.zoom_range[0], self.zoom_range[1]))
        };
        // Keras draws both flip coins whether or not flips are on.
        let flip_horizontal = (rng.uniform() < 0.5) && self.horizontal_flip;
        let flip_vertical = (rng.uniform() < 0.5) && self.vertical_flip;
        let channel_shift_intensity = (self.channel_shift_range != 0.0)
            .then(|| uniform(rng, -self.channel_shift_range, self.channel_shift_range));
        let brightness = self.brightness_range.map(|[lo, hi]| uniform(rng, lo, hi));
        Transform { theta, tx, ty, shear, zx, zy, flip_horizontal, flip_vertical, channel_shift_intensity, brightness }
    }
}

type Mat3 = [[f64; 3]; 3];

fn matmul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut c = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            c[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
        }
    }
    c
}

/// Keras' affine matrix for an `h` x `w` image, centred and with its axes swapped to
/// (row, col): input coordinate = `m[..2][..2] (r, c) + m[..2][2]`. `None` for the identity
/// (Keras then leaves the image untouched).
pub fn affine_matrix(t: &Transform, h: usize, w: usize) -> Option<Mat3> {
    let mut m: Option<Mat3> = None;
    let mut then = |b: Mat3| {
        m = Some(match m {
            None => b,
            Some(a) => matmul(&a, &b),
        })
    };
    if t.theta != 0.0 {
        let th = t.theta.to_radians();
        then([[th.cos(), -th.sin(), 0.0], [th.sin(), th.cos(), 0.0], [0.0, 0.0, 1.0]]);
    }
    if t.tx != 0.0 || t.ty != 0.0 {
        then([[1.0, 0.0, t.tx], [0.0, 1.0, t.ty], [0.0, 0.0, 1.0]]);
    }
    if t.shear != 0.0 {
        let s = t.shear.to_radians();
        then([[1.0, -s.sin(), 0.0], [0.0, s.cos(), 0.0], [0.0, 0.0, 1.0]]);
    }
    if t.zx != 1.0 || t.zy != 1.0 {
        then([[t.zx, 0.0, 0.0], [0.0, t.zy, 0.0], [0.0, 0.0, 1.0]]);
    }
    let m = m?;
    // transform_matrix_offset_center(m, h, w)
    let (ox, oy) = (h as f64 / 2.0 - 0.5, w as f64 / 2.0 - 0.5);
    let offset = [[1.0, 0.0, ox], [0.0, 1.0, oy], [0.0, 0.0, 1.0]];
    let reset = [[1.0, 0.0, -ox], [0.0, 1.0, -oy], [0.0, 0.0, 1.0]];
    let m = matmul(&matmul(&offset, &m), &reset);
    // swap columns 0 and 1, then rows 0 and 1
    let mut s = m;
    for row in s.iter_mut() {
        row.swap(0, 1);
    }
    s.swap(0, 1);
    Some(s)
}

/// scipy's order-1 sampling along one axis of length `n`: the two indices and the weight of
/// the second, or `None` when the point is outside and the mode is `constant`.
#[inline]
fn axis_sample(cc: f64, n: usize, mode: FillMode) -> Option<(usize, usize, f64)> {
    let last = (n - 1) as f64;
    let cc = match mode {
        FillMode::Constant => {
            if !(0.0..=last).contains(&cc) {
                return None;
            }
            cc
        }
        FillMode::Nearest => cc.clamp(0.0, last),
        FillMode::Wrap => {
            if n <= 1 {
                0.0
            } else if cc < 0.0 {
                cc + last * ((-cc / last).trunc() + 1.0)
            } else if cc > last {
                cc - last * (cc / last).trunc()
            } else {
                cc
            }
        }
        FillMode::Reflect => cc, // the grid is extended below
    };
    if !cc.is_finite() {
        return None;
    }
    let start = cc.floor();
    let t = cc - start;
    let idx = |k: f64| -> usize {
        match mode {
            FillMode::Reflect => {
                // half-sample symmetric: ... b a | a b c d | d c ...
                let period = 2 * n as i64;
                let mut k = (k as i64).rem_euclid(period);
                if k >= n as i64 {
                    k = period - 1 - k;
                }
                k as usize
            }
            _ => (k.max(0.0) as usize).min(n - 1),
        }
    };
    Some((idx(start), idx(start + 1.0), t))
}

/// One image `(h, w, c)` through Keras' `apply_transform()` into `out`.
pub fn apply_transform(
    img: &[f32],
    [h, w, c]: [usize; 3],
    t: &Transform,
    fill_mode: FillMode,
    cval: f64,
    out: &mut [f32],
) -> Result<(), String> {
    debug_assert_eq!(img.len(), h * w * c);
    debug_assert_eq!(out.len(), h * w * c);
    match affine_matrix(t, h, w) {
        None => out.copy_from_slice(img),
        Some(m) => {
            let mut acc = vec![0f64; c];
            for r in 0..h {
                for col in 0..w {
                    let (rf, cf) = (r as f64, col as f64);
                    let ir = m[0][2] + m[0][0] * rf + m[0][1] * cf;
                    let ic = m[1][2] + m[1][0] * rf + m[1][1] * cf;
                    let o = &mut out[(r * w + col) * c..(r * w + col + 1) * c];
                    match (axis_sample(ir, h, fill_mode), axis_sample(ic, w, fill_mode)) {
                        (Some((r0, r1, tr)), Some((c0, c1, tc))) => {
                            acc.iter_mut().for_each(|a| *a = 0.0);
                            for (ri, wr) in [(r0, 1.0 - tr), (r1, tr)] {
                                for (ci, wc) in [(c0, 1.0 - tc), (c1, tc)] {
                                    let wgt = wr * wc;
                                    if wgt == 0.0 {
                                        continue;
                                    }
                                    let p = &img[(ri * w + ci) * c..(ri * w + ci + 1) * c];
                                    for (a, v) in acc.iter_mut().zip(p) {
                                        *a += wgt * *v as f64;
                                    }
                                }
                            }
                            for (o, a) in o.iter_mut().zip(&acc) {
                                *o = *a as f32;
                            }
                        }
                        _ => o.iter_mut().for_each(|v| *v = cval as f32),
                    }
                }
            }
        }
    }
    if let Some(intensity) = t.channel_shift_intensity {
        let (lo, hi) = min_max(out);
        for v in out.iter_mut() {
            *v = (*v as f64 + intensity).clamp(lo as f64, hi as f64) as f32;
        }
    }
    if t.flip_horizontal {
        for r in 0..h {
            for col in 0..w / 2 {
                for k in 0..c {
                    out.swap((r * w + col) * c + k, (r * w + (w - 1 - col)) * c + k);
                }
            }
        }
    }
    if t.flip_vertical {
        for r in 0..h / 2 {
            let (top, bottom) = out.split_at_mut((h - 1 - r) * w * c);
            top[r * w * c..(r + 1) * w * c].swap_with_slice(&mut bottom[..w * c]);
        }
    }
    if let Some(b) = t.brightness {
        brightness_shift(out, c, b)?;
    }
    Ok(())
}

fn min_max(x: &[f32]) -> (f32, f32) {
    x.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| (lo.min(*v), hi.max(*v)))
}

/// Keras' `apply_brightness_shift(x, brightness, scale = FALSE)`: through an 8-bit PIL image.
fn brightness_shift(x: &mut [f32], c: usize, brightness: f64) -> Result<(), String> {
    if !matches!(c, 1 | 3 | 4) {
        return Err(format!("brightness_range needs images with 1, 3 or 4 channels, got {c}"));
    }
    let (lo, hi) = min_max(x);
    let local_scale = lo < 0.0 || hi > 255.0;
    // array_to_img(scale = local_scale): shift to 0, divide by the max (when not 0), times 255
    let span = hi - lo;
    let to_u8 = |v: f32| -> f32 {
        let v = if local_scale {
            let s = v - lo;
            (if span != 0.0 { s / span } else { s }) * 255.0
        } else {
            v
        };
        (v.clamp(0.0, 255.0) as u8) as f32
    };
    let alpha = brightness as f32;
    for (i, v) in x.iter_mut().enumerate() {
        let p = to_u8(*v);
        // ImageEnhance.Brightness blends with black; an alpha channel is kept as it is
        let q = if c == 4 && i % 4 == 3 { p } else { (alpha * p).clamp(0.0, 255.0).trunc() };
        *v = if local_scale { q / 255.0 * span + lo } else { q };
    }
    Ok(())
}

/// The deterministic part of an `ImageDataGenerator` (without `preprocessing_function` and ZCA).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandardizeConfig {
    pub rescale: Option<f64>,
    pub samplewise_center: bool,
    pub samplewise_std_normalization: bool,
    /// Per-channel mean from `fit_image_data_generator()`.
    pub mean: Option<Vec<f64>>,
    /// Per-channel standard deviation from `fit_image_data_generator()`.
    pub std: Option<Vec<f64>>,
}

impl StandardizeConfig {
    pub fn is_identity(&self) -> bool {
        self.rescale.is_none_or(|r| r == 0.0)
            && !self.samplewise_center
            && !self.samplewise_std_normalization
            && self.mean.is_none()
            && self.std.is_none()
    }

    /// One image `(h, w, c)` standardized in place (Keras' `standardize()`).
    pub fn apply(&self, img: &mut [f32], c: usize) -> Result<(), String> {
        for (what, v) in [("mean", &self.mean), ("std", &self.std)] {
            if let Some(v) = v {
                if v.len() != c {
                    return Err(format!("the featurewise {what} has {} channels, the images have {c}", v.len()));
                }
            }
        }
        if let Some(r) = self.rescale.filter(|r| *r != 0.0) {
            let r = r as f32;
            img.iter_mut().for_each(|v| *v *= r);
        }
        let n = img.len() as f64;
        if self.samplewise_center && n > 0.0 {
            let mean = (img.iter().map(|v| *v as f64).sum::<f64>() / n) as f32;
            img.iter_mut().for_each(|v| *v -= mean);
        }
        if self.samplewise_std_normalization && n > 0.0 {
            let mean = img.iter().map(|v| *v as f64).sum::<f64>() / n;
            let sd = (img.iter().map(|v| (*v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
            let d = (sd + 1e-6) as f32;
            img.iter_mut().for_each(|v| *v /= d);
        }
        if let Some(mean) = &self.mean {
            for px in img.chunks_mut(c) {
                for (v, m) in px.iter_mut().zip(mean) {
                    *v -= *m as f32;
                }
            }
        }
        if let Some(std) = &self.std {
            for px in img.chunks_mut(c) {
                for (v, s) in px.iter_mut().zip(std) {
                    *v /= (*s + 1e-6) as f32;
                }
            }
        }
        Ok(())
    }
}

/// A batch `(n, h, w, c)`: each image through a random transform (when `augment` is given;
/// its draws from `seed`), then standardized (when `standardize` is given).
pub fn process_batch(
    x: &[f32],
    shape: [usize; 4],
    augment: Option<&AugmentConfig>,
    standardize: Option<&StandardizeConfig>,
    seed: u64,
) -> Result<Vec<f32>, String> {
    let [n, h, w, c] = shape;
    let size = h * w * c;
    if x.len() != n * size {
        return Err(format!("image batch has {} values, its shape {:?} needs {}", x.len(), shape, n * size));
    }
    if h == 0 || w == 0 || c == 0 {
        return Err(format!("images must have a height, width and channels of at least 1, got {:?}", shape));
    }
    if let Some(a) = augment {
        a.validate()?;
    }
    let mut out = vec![0f32; x.len()];
    let mut rng = Rng::seed_from(seed);
    for (img, o) in x.chunks(size).zip(out.chunks_mut(size)) {
        match augment {
            Some(a) => {
                let t = a.random_transform(&mut rng, h, w);
                apply_transform(img, [h, w, c], &t, a.fill_mode, a.cval, o)?;
            }
            None => o.copy_from_slice(img),
        }
        if let Some(s) = standardize {
            s.apply(o, c)?;
        }
    }
    Ok(out)
}

/// Images `(n, h, w, c)` each through its given transform (Keras' `apply_transform()`).
pub fn apply_transforms(
    x: &[f32],
    shape: [usize; 4],
    transforms: &[Transform],
    fill_mode: FillMode,
    cval: f64,
) -> Result<Vec<f32>, String> {
    let [n, h, w, c] = shape;
    let size = h * w * c;
    if x.len() != n * size || size == 0 {
        return Err(format!("image batch has {} values, its shape {:?} needs {}", x.len(), shape, n * size));
    }
    if transforms.len() != n {
        return Err(format!("{} transforms for {} images", transforms.len(), n));
    }
    let mut out = vec![0f32; x.len()];
    for ((img, o), t) in x.chunks(size).zip(out.chunks_mut(size)).zip(transforms) {
        apply_transform(img, [h, w, c], t, fill_mode, cval, o)?;
    }
    Ok(out)
}

/// A random permutation of `0..n` from `seed` (the flow's shuffling).
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    Rng::seed_from(seed).shuffle(&mut v);
    v
}

/// One 64-bit seed from several parts (splitmix64 over them), so that a flow with a fixed
/// `seed` gets a distinct, repeatable stream for every epoch and batch.
pub fn mix_seed(parts: &[u64]) -> u64 {
    let mut z: u64 = 0x9E37_79B9_7F4A_7C15;
    for p in parts {
        z = z.wrapping_add(*p).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
    }
    z
}

#[cfg(test)]
#[path = "image_augment_tests.rs"]
mod tests;
