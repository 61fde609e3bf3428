//! Keras 3 losses with exact gradients, over row-major `(n, k)` blocks.
//!
//! Every loss is first reduced per sample over the last axis (the `k`
//! columns), giving `l_i`, then over the batch with Keras's default
//! `SUM_OVER_BATCH_SIZE` reduction: `L = Σ_i w_i l_i / n` (`w_i = 1` without
//! sample weights). The gradient written by [`Loss::compute`] is `dL/dy_pred`
//! of exactly that value, including the clipping Keras applies (where a clip
//! is active the derivative is 0, as autodiff gives; at the clip bounds
//! themselves the value passes through).
//!
//! Formulas (ε = 1e-7, see `keras/src/losses/losses.py` and the backends'
//! `nn.py` in Keras 3); `mean`/`Σ` run over the last axis:
//!
//! | loss | l_i |
//! |---|---|
//! | `categorical_crossentropy` | q = p / Σp, q̂ = clip(q, ε, 1−ε), −Σ y log q̂ |
//! | `sparse_categorical_crossentropy` | same with `y` the class index |
//! | `binary_crossentropy` | p̂ = clip(p, ε, 1−ε), −mean(y log p̂ + (1−y) log(1−p̂)) |
//! | `mean_squared_error` | mean((y−p)²) |
//! | `mean_absolute_error` | mean(\|y−p\|) |
//! | `mean_absolute_percentage_error` | 100·mean(\|y−p\| / max(\|y\|, ε)) |
//! | `mean_squared_logarithmic_error` | mean((log(max(p,ε)+1) − log(max(y,ε)+1))²) |
//! | `hinge` | mean(max(1 − y·p, 0)) |
//! | `squared_hinge` | mean(max(1 − y·p, 0)²) |
//! | `categorical_hinge` | max(max_j((1−y_j)p_j) − Σ y p + 1, 0) |
//! | `kl_divergence` | ŷ = clip(y, ε, 1), p̂ = clip(p, ε, 1), Σ ŷ log(ŷ/p̂) |
//! | `poisson` | mean(p − y log(p + ε)) |
//! | `log_cosh` | mean(x + softplus(−2x) − log 2), x = p − y |
//! | `cosine_similarity` | −Σ ŷ p̂ with v̂ = v / sqrt(max(Σv², ε²)) |
//! | `huber` (δ = 1) | mean(x²/2 if \|x\| ≤ δ else δ\|x\| − δ²/2), x = p − y |
//!
//! `hinge`/`squared_hinge`: as in Keras, when every `y_true` value of the
//! batch is 0 or 1 the labels are mapped to −1/1 (`2y − 1`); otherwise they are
//! used as given.

use crate::Real;

pub mod logits;

/// Huber loss transition point δ (Keras default 1.0).
pub const HUBER_DELTA: f64 = 1.0;

/// A Keras loss, identified by its canonical Keras name in `serde`
/// (e.g. `"categorical_crossentropy"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// −Σ y log p after rescaling rows of p to sum 1 and clipping.
    CategoricalCrossentropy,
    /// Categorical crossentropy with integer class labels (one `y` column).
    SparseCategoricalCrossentropy,
    /// Element-wise binary crossentropy, averaged over the last axis.
    BinaryCrossentropy,
    /// mean((y − p)²).
    MeanSquaredError,
    /// mean(|y − p|).
    MeanAbsoluteError,
    /// 100·mean(|y − p| / max(|y|, ε)).
    MeanAbsolutePercentageError,
    /// mean((log1p-ish(p) − log1p-ish(y))²).
    MeanSquaredLogarithmicError,
    /// mean(max(1 − y p, 0)), {0,1} labels mapped to {−1,1}.
    Hinge,
    /// mean(max(1 − y p, 0)²), {0,1} labels mapped to {−1,1}.
    SquaredHinge,
    /// max(neg − pos + 1, 0).
    CategoricalHinge,
    /// Σ y log(y / p) with both clipped to [ε, 1].
    KullbackLeiblerDivergence,
    /// mean(p − y log(p + ε)).
    Poisson,
    /// mean(log cosh(p − y)).
    LogCosh,
    /// Negative cosine similarity along the last axis.
    CosineSimilarity,
    /// Huber loss with δ = 1.
    Huber,
}

const ALL: [Loss; 15] = [
    Loss::CategoricalCrossentropy,
    Loss::SparseCategoricalCrossentropy,
    Loss::BinaryCrossentropy,
    Loss::MeanSquaredError,
    Loss::MeanAbsoluteError,
    Loss::MeanAbsolutePercentageError,
    Loss::MeanSquaredLogarithmicError,
    Loss::Hinge,
    Loss::SquaredHinge,
    Loss::CategoricalHinge,
    Loss::KullbackLeiblerDivergence,
    Loss::Poisson,
    Loss::LogCosh,
    Loss::CosineSimilarity,
    Loss::Huber,
];

/// Accepted names and the loss each one means (canonical names included).
const ALIASES: &[(&str, Loss)] = &[
    ("categorical_crossentropy", Loss::CategoricalCrossentropy),
    ("sparse_categorical_crossentropy", Loss::SparseCategoricalCrossentropy),
    ("binary_crossentropy", Loss::BinaryCrossentropy),
    ("bce", Loss::BinaryCrossentropy),
    ("mean_squared_error", Loss::MeanSquaredError),
    ("mse", Loss::MeanSquaredError),
    ("MSE", Loss::MeanSquaredError),
    ("mean_absolute_error", Loss::MeanAbsoluteError),
    ("mae", Loss::MeanAbsoluteError),
    ("MAE", Loss::MeanAbsoluteError),
    ("mean_absolute_percentage_error", Loss::MeanAbsolutePercentageError),
    ("mape", Loss::MeanAbsolutePercentageError),
    ("MAPE", Loss::MeanAbsolutePercentageError),
    ("mean_squared_logarithmic_error", Loss::MeanSquaredLogarithmicError),
    ("msle", Loss::MeanSquaredLogarithmicError),
    ("MSLE", Loss::MeanSquaredLogarithmicError),
    ("hinge", Loss::Hinge),
    ("squared_hinge", Loss::SquaredHinge),
    ("categorical_hinge", Loss::CategoricalHinge),
    ("kl_divergence", Loss::KullbackLeiblerDivergence),
    ("kullback_leibler_divergence", Loss::KullbackLeiblerDivergence),
    ("kld", Loss::KullbackLeiblerDivergence),
    ("KLD", Loss::KullbackLeiblerDivergence),
    ("poisson", Loss::Poisson),
    ("log_cosh", Loss::LogCosh),
    ("logcosh", Loss::LogCosh),
    ("cosine_similarity", Loss::CosineSimilarity),
    ("cosine_proximity", Loss::CosineSimilarity),
    ("huber", Loss::Huber),
    ("huber_loss", Loss::Huber),
];

impl Loss {
    /// All losses, in declaration order.
    pub fn all() -> &'static [Loss] {
        &ALL
    }

    /// Every accepted loss name (canonical names and aliases).
    pub fn valid_names() -> impl Iterator<Item = &'static str> {
        ALIASES.iter().map(|(s, _)| *s)
    }

    /// Parses a Keras loss name or alias (`"mse"`, `"kld"`, `"logcosh"`,
    /// `"cosine_proximity"` → [`Loss::CosineSimilarity`], `"huber_loss"`, ...).
    /// The error message lists the valid names.
    pub fn from_name(name: &str) -> Result<Loss, String> {
        ALIASES.iter().find(|(s, _)| *s == name).map(|(_, l)| *l).ok_or_else(|| {
            let names: Vec<&str> = Loss::valid_names().collect();
            format!("Unknown loss '{}'. Valid losses are: {}", name, names.join(", "))
        })
    }

    /// The canonical Keras name (the function name in `keras.losses`).
    pub fn name(&self) -> &'static str {
        match self {
            Loss::CategoricalCrossentropy => "categorical_crossentropy",
            Loss::SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
            Loss::BinaryCrossentropy => "binary_crossentropy",
            Loss::MeanSquaredError => "mean_squared_error",
            Loss::MeanAbsoluteError => "mean_absolute_error",
            Loss::MeanAbsolutePercentageError => "mean_absolute_percentage_error",
            Loss::MeanSquaredLogarithmicError => "mean_squared_logarithmic_error",
            Loss::Hinge => "hinge",
            Loss::SquaredHinge => "squared_hinge",
            Loss::CategoricalHinge => "categorical_hinge",
            Loss::KullbackLeiblerDivergence => "kl_divergence",
            Loss::Poisson => "poisson",
            Loss::LogCosh => "log_cosh",
            Loss::CosineSimilarity => "cosine_similarity",
            Loss::Huber => "huber",
        }
    }

    /// Number of `y_true` columns expected for `k` output columns: 1 for
    /// `sparse_categorical_crossentropy` (the class index), `k` otherwise.
    pub fn y_columns(&self, k: usize) -> usize {
        match self {
            Loss::SparseCategoricalCrossentropy => 1,
            _ => k,
        }
    }

    /// Computes the per-sample losses `l_i` into `per_sample` (length `n`,
    /// unweighted) and returns `L = Σ_i w_i l_i / n` as `f64` (0 when `n == 0`).
    ///
    /// If `grad` is `Some`, it receives `dL/dy_pred` (length `n * k`),
    /// overwriting its content. `y_true` has `n * self.y_columns(k)` values,
    /// `y_pred` has `n * k`, `sample_weight` (if any) has `n`.
    ///
    /// Sparse labels are class indices stored as floats; they are rounded to
    /// the nearest integer. A label that is not finite or falls outside
    /// `0..k` is treated like an all-zero one-hot row (what the JAX/NumPy
    /// backends' `one_hot` produce): that sample's loss and gradient are 0.
    /// Callers are expected to validate labels beforehand.
    ///
    /// Panics if a slice length does not match `n` and `k`. Does not allocate.
    #[allow(clippy::too_many_arguments)]
    pub fn compute<T: Real>(
        &self,
        y_true: &[T],
        y_pred: &[T],
        n: usize,
        k: usize,
        sample_weight: Option<&[T]>,
        per_sample: &mut [T],
        mut grad: Option<&mut [T]>,
    ) -> f64 {
        let yc = self.y_columns(k);
        check_lengths(y_true, y_pred, n, k, yc, sample_weight, per_sample);
        if let Some(g) = grad.as_deref() {
            assert_eq!(g.len(), n * k, "grad must have n*k values");
        }
        if n == 0 {
            return 0.0;
        }
        if k == 0 {
            per_sample.iter_mut().for_each(|v| *v = T::zero());
            return 0.0;
        }
        // Keras maps {0,1} hinge labels to {-1,1} only if the whole batch is binary.
        let hinge01 = matches!(self, Loss::Hinge | Loss::SquaredHinge)
            && y_true.iter().all(|v| *v == T::zero() || *v == T::one());
        let inv_n = T::one() / T::from_usize(n).unwrap();
        let mut total = 0.0f64;
        for i in 0..n {
            let w = sample_weight.map_or(T::one(), |sw| sw[i]);
            let yt = &y_true[i * yc..(i + 1) * yc];
            let yp = &y_pred[i * k..(i + 1) * k];
            let g = grad.as_deref_mut().map(|g| &mut g[i * k..(i + 1) * k]);
            let l = self.row(yt, yp, g, w * inv_n, hinge01);
            per_sample[i] = l;
            total += (w * l).to_f64().unwrap_or(f64::NAN);
        }
        total / n as f64
    }

    /// Loss of one sample; when `g` is given writes `s · dl/dp` into it.
    #[inline]
    fn row<T: Real>(&self, yt: &[T], yp: &[T], g: Option<&mut [T]>, s: T, hinge01: bool) -> T {
        let zero = T::zero();
        let one = T::one();
        let two = T::c(2.0);
        let eps = T::c(crate::EPSILON);
        let k = T::from_usize(yp.len()).unwrap();
        let inv_k = one / k;
        let sk = s * inv_k;
        match self {
            Loss::CategoricalCrossentropy => cce_row(yt, yp, g, s),
            Loss::SparseCategoricalCrossentropy => scce_row(yt[0], yp, g, s),
            Loss::BinaryCrossentropy => {
                let hi = one - eps;
                ew_sum(yt, yp, g, sk, |y, p| {
                    let pc = p.max(eps).min(hi);
                    let v = -(y * pc.ln() + (one - y) * (one - pc).ln());
                    let d = if p >= eps && p <= hi { (pc - y) / (pc * (one - pc)) } else { zero };
                    (v, d)
                }) * inv_k
            }
            Loss::MeanSquaredError => {
                ew_sum(yt, yp, g, sk, |y, p| {
                    let e = p - y;
                    (e * e, two * e)
                }) * inv_k
            }
            Loss::MeanAbsoluteError => {
                ew_sum(yt, yp, g, sk, |y, p| {
                    let e = p - y;
                    (e.abs(), sign(e))
                }) * inv_k
            }
            Loss::MeanAbsolutePercentageError => {
                let hundred = T::c(100.0);
                ew_sum(yt, yp, g, sk * hundred, |y, p| {
                    let e = p - y;
                    let den = y.abs().max(eps);
                    (e.abs() / den, sign(e) / den)
                }) * inv_k
                    * hundred
            }
            Loss::MeanSquaredLogarithmicError => {
                ew_sum(yt, yp, g, sk, |y, p| {
                    let a = (p.max(eps) + one).ln();
                    let b = (y.max(eps) + one).ln();
                    let e = a - b;
                    let d = if p >= eps { two * e / (p + one) } else { zero };
                    (e * e, d)
                }) * inv_k
            }
            Loss::Hinge => {
                ew_sum(yt, yp, g, sk, |y, p| {
                    let y = if hinge01 { two * y - one } else { y };
                    let m = one - y * p;
                    if m > zero {
                        (m, -y)
                    } else {
                        (zero, zero)
                    }
                }) * inv_k
            }
            Loss::SquaredHinge => {
                ew_sum(yt, yp, g, sk, |y, p| {
                    let y = if hinge01 { two * y - one } else { y };
                    let m = one - y * p;
                    if m > zero {
                        (m * m, -two * m * y)
                    } else {
                        (zero, zero)
                    }
                }) * inv_k
            }
            Loss::CategoricalHinge => {
                let mut pos = zero;
                let mut neg = T::neg_infinity();
                let mut jmax = 0;
                for (j, (y, p)) in yt.iter().zip(yp).enumerate() {
                    pos += *y * *p;
                    let v = (one - *y) * *p;
                    if v > neg {
                        neg = v;
                        jmax = j;
                    }
                }
                let m = neg - pos + one;
                let l = m.max(zero);
                if let Some(g) = g {
                    if m > zero {
                        for (gj, y) in g.iter_mut().zip(yt) {
                            *gj = -s * *y;
                        }
                        g[jmax] += s * (one - yt[jmax]);
                    } else {
                        g.iter_mut().for_each(|v| *v = zero);
                    }
                }
                l
            }
            Loss::KullbackLeiblerDivergence => ew_sum(yt, yp, g, s, |y, p| {
                let yc = y.max(eps).min(one);
                let pc = p.max(eps).min(one);
                let d = if p >= eps && p <= one { -yc / pc } else { zero };
                (yc * (yc / pc).ln(), d)
            }),
            Loss::Poisson => ew_sum(yt, yp, g, sk, |y, p| (p - y * (p + eps).ln(), one - y / (p + eps))) * inv_k,
            Loss::LogCosh => {
                let ln2 = T::c(std::f64::consts::LN_2);
                ew_sum(yt, yp, g, sk, |y, p| {
                    let x = p - y;
                    (x + crate::activations::softplus(-two * x) - ln2, x.tanh())
                }) * inv_k
            }
            Loss::CosineSimilarity => {
                let (mut spp, mut syy, mut syp) = (zero, zero, zero);
                for (y, p) in yt.iter().zip(yp) {
                    spp += *p * *p;
                    syy += *y * *y;
                    syp += *y * *p;
                }
                let eps2 = eps * eps;
                let rp = one / spp.max(eps2).sqrt();
                let ry = one / syy.max(eps2).sqrt();
                let l = -syp * rp * ry;
                if let Some(g) = g {
                    let a = -s * ry * rp;
                    // the clamp makes rp constant when Σp² < ε²
                    let b = if spp >= eps2 { s * ry * syp * rp * rp * rp } else { zero };
                    for ((gj, y), p) in g.iter_mut().zip(yt).zip(yp) {
                        *gj = a * *y + b * *p;
                    }
                }
                l
            }
            Loss::Huber => {
                let delta = T::c(HUBER_DELTA);
                let half = T::c(0.5);
                ew_sum(yt, yp, g, sk, |y, p| {
                    let x = p - y;
                    let ax = x.abs();
                    if ax <= delta {
                        (half * x * x, x)
                    } else {
                        (delta * ax - half * delta * delta, delta * sign(x))
                    }
                }) * inv_k
            }
        }
    }
}

impl Loss {
    /// The per-sample values of this loss (from logits when `from_logits`) for `y_pred` of
    /// shape `(n, k)`, checking the shapes.
    pub fn per_sample_values<T: Real>(
        self,
        from_logits: bool,
        y_true: &crate::tensor::Tensor<T>,
        y_pred: &crate::tensor::Tensor<T>,
    ) -> Result<Vec<T>, String> {
        let (n, k) = (y_pred.rows(), y_pred.row_len());
        if y_true.rows() != n || y_true.row_len() != self.y_columns(k) {
            return Err(format!("y_true has shape ({}, {}), y_pred ({n}, {k})", y_true.rows(), y_true.row_len()));
        }
        let mut per = vec![T::zero(); n];
        if from_logits {
            let kind = logits::LogitsLoss::of(self).ok_or_else(|| {
                format!("from_logits = TRUE is only for the cross-entropy losses, not {}", self.name())
            })?;
            kind.compute(&y_true.data, &y_pred.data, n, k, None, &mut per, None);
        } else {
            self.compute(&y_true.data, &y_pred.data, n, k, None, &mut per, None);
        }
        Ok(per)
    }
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Loss {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Loss::from_name(s)
    }
}

fn check_lengths<T>(
    y_true: &[T],
    y_pred: &[T],
    n: usize,
    k: usize,
    yc: usize,
    sample_weight: Option<&[T]>,
    per_sample: &[T],
) {
    assert_eq!(y_true.len(), n * yc, "y_true must have n*{yc} values");
    assert_eq!(y_pred.len(), n * k, "y_pred must have n*k values");
    assert_eq!(per_sample.len(), n, "per_sample must have n values");
    if let Some(w) = sample_weight {
        assert_eq!(w.len(), n, "sample_weight must have n values");
    }
}

/// sign with sign(0) = 0 (the derivative TF/JAX use for |x| at 0).
#[inline]
fn sign<T: Real>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

/// Σ_j v(y_j, p_j) for an element-wise `f(y, p) -> (v, dv/dp)`; when `g` is
/// given writes `gs · dv/dp_j` into it.
#[inline(always)]
fn ew_sum<T: Real, F: Fn(T, T) -> (T, T)>(yt: &[T], yp: &[T], g: Option<&mut [T]>, gs: T, f: F) -> T {
    let mut sum = T::zero();
    match g {
        Some(g) => {
            for ((gj, y), p) in g.iter_mut().zip(yt).zip(yp) {
                let (v, d) = f(*y, *p);
                sum += v;
                *gj = gs * d;
            }
        }
        None => {
            for (y, p) in yt.iter().zip(yp) {
                sum += f(*y, *p).0;
            }
        }
    }
    sum
}

/// Sparse label → class index (rounded), or `None` if not finite / out of range.
#[inline]
pub(crate) fn label_index<T: Real>(y: T, k: usize) -> Option<usize> {
    if !y.is_finite() {
        return None;
    }
    let r = y.round();
    if r < T::zero() {
        return None;
    }
    let c = r.to_usize()?;
    (c < k).then_some(c)
}

/// Categorical crossentropy of one row with Keras's rescale + clip, and the
/// gradient through both: with q = p/S, q̂ = clip(q), a_j = dl/dq_j
/// (= −y_j/q̂_j inside the clip range, else 0), dl/dp_m = (a_m − Σ_j a_j q_j)/S.
#[inline]
fn cce_row<T: Real>(yt: &[T], yp: &[T], g: Option<&mut [T]>, s: T) -> T {
    let zero = T::zero();
    let eps = T::c(crate::EPSILON);
    let hi = T::one() - eps;
    let mut sum_p = zero;
    for p in yp {
        sum_p += *p;
    }
    let inv = T::one() / sum_p;
    let mut l = zero;
    let mut dot = zero;
    for (y, p) in yt.iter().zip(yp) {
        let q = *p * inv;
        let qc = q.max(eps).min(hi);
        if *y != zero {
            l -= *y * qc.ln();
            if q >= eps && q <= hi {
                dot -= *y / qc * q;
            }
        }
    }
    if let Some(g) = g {
        let si = s * inv;
        for ((gj, y), p) in g.iter_mut().zip(yt).zip(yp) {
            let q = *p * inv;
            let a = if *y != zero && q >= eps && q <= hi { -*y / q } else { zero };
            *gj = si * (a - dot);
        }
    }
    l
}

/// Sparse categorical crossentropy of one row (see [`cce_row`]).
#[inline]
fn scce_row<T: Real>(label: T, yp: &[T], g: Option<&mut [T]>, s: T) -> T {
    let zero = T::zero();
    let eps = T::c(crate::EPSILON);
    let hi = T::one() - eps;
    let c = match label_index(label, yp.len()) {
        Some(c) => c,
        None => {
            if let Some(g) = g {
                g.iter_mut().for_each(|v| *v = zero);
            }
            return zero;
        }
    };
    let mut sum_p = zero;
    for p in yp {
        sum_p += *p;
    }
    let inv = T::one() / sum_p;
    let q = yp[c] * inv;
    let qc = q.max(eps).min(hi);
    let l = -qc.ln();
    if let Some(g) = g {
        if q >= eps && q <= hi {
            // a_c = -1/q, Σ a_j q_j = -1
            let si = s * inv;
            g.iter_mut().for_each(|v| *v = si);
            g[c] = si * (T::one() - T::one() / q);
        } else {
            g.iter_mut().for_each(|v| *v = zero);
        }
    }
    l
}

/// The loop the fused and from-logits kernels share: zero rows or columns give 0;
/// otherwise, with `scale` (evaluated then) and each row's weight `w_i` (1 without sample
/// weights), `row(i, w_i * scale)` computes row `i`'s loss (writing its gradient, scaled by
/// its second argument), which goes to `per_sample[i]`. Returns `Σ w_i l_i / n`.
pub(crate) fn weighted_rows<T: Real>(
    n: usize,
    k: usize,
    sample_weight: Option<&[T]>,
    per_sample: &mut [T],
    scale: impl FnOnce() -> T,
    mut row: impl FnMut(usize, T) -> T,
) -> f64 {
    if n == 0 || k == 0 {
        per_sample.iter_mut().for_each(|v| *v = T::zero());
        return 0.0;
    }
    let scale = scale();
    let mut total = 0.0f64;
    for i in 0..n {
        let w = sample_weight.map_or(T::one(), |sw| sw[i]);
        let l = row(i, w * scale);
        per_sample[i] = l;
        total += (w * l).to_f64().unwrap_or(f64::NAN);
    }
    total / n as f64
}

/// Fused softmax + (sparse) categorical crossentropy.
///
/// `p` are the softmax outputs (rows sum to 1) of logits z, `y_true` the
/// one-hot / probability rows (`n * k`) or, if `sparse`, class indices (`n`).
/// Writes the per-sample losses (the Keras value: p rescaled and clipped to
/// [ε, 1−ε], exactly as [`Loss::compute`]) and `grad = dL/dz` with
/// `L = Σ w_i l_i / n`, i.e. `w_i (p Σy − y) / n` (= `w_i (p − y)/n` for
/// one-hot or probability labels). The gradient is that of the unclipped loss
/// of the logits, like the from-logits path of the backends; it differs from
/// autodiff through the clip only where a probability is below ε or above
/// 1 − ε. Sparse labels follow [`Loss::compute`] (invalid ⇒ loss and gradient 0).
/// Returns the reduced loss. Does not allocate.
#[allow(clippy::too_many_arguments)]
pub fn softmax_crossentropy_fused<T: Real>(
    sparse: bool,
    y_true: &[T],
    p: &[T],
    n: usize,
    k: usize,
    sample_weight: Option<&[T]>,
    per_sample: &mut [T],
    grad: &mut [T],
) -> f64 {
    let yc = if sparse { 1 } else { k };
    check_lengths(y_true, p, n, k, yc, sample_weight, per_sample);
    assert_eq!(grad.len(), n * k, "grad must have n*k values");
    weighted_rows(
        n,
        k,
        sample_weight,
        per_sample,
        || T::one() / T::from_usize(n).unwrap(),
        |i, s| {
            let yp = &p[i * k..(i + 1) * k];
            let g = &mut grad[i * k..(i + 1) * k];
            if sparse {
                let label = y_true[i];
                let l = scce_row(label, yp, None, s);
                match label_index(label, k) {
                    Some(c) => {
                        for (gj, pj) in g.iter_mut().zip(yp) {
                            *gj = s * *pj;
                        }
                        g[c] -= s;
                    }
                    None => g.iter_mut().for_each(|v| *v = T::zero()),
                }
                l
            } else {
                let yt = &y_true[i * k..(i + 1) * k];
                let l = cce_row(yt, yp, None, s);
                let sy: T = yt.iter().copied().sum();
                for ((gj, pj), yj) in g.iter_mut().zip(yp).zip(yt) {
                    *gj = s * (*pj * sy - *yj);
                }
                l
            }
        },
    )
}

/// Fused sigmoid + binary crossentropy.
///
/// `p` are sigmoid outputs of logits z (`n * k`), `y_true` has `n * k` values.
/// Writes the Keras per-sample BCE (p clipped to [ε, 1−ε], mean over the last
/// axis) and `grad = dL/dz = w_i (p − y) / (n k)`, the unclipped from-logits
/// gradient. Returns the reduced loss. Does not allocate.
#[allow(clippy::too_many_arguments)]
pub fn sigmoid_binary_crossentropy_fused<T: Real>(
    y_true: &[T],
    p: &[T],
    n: usize,
    k: usize,
    sample_weight: Option<&[T]>,
    per_sample: &mut [T],
    grad: &mut [T],
) -> f64 {
    check_lengths(y_true, p, n, k, k, sample_weight, per_sample);
    assert_eq!(grad.len(), n * k, "grad must have n*k values");
    let one = T::one();
    let eps = T::c(crate::EPSILON);
    let hi = one - eps;
    let inv_k = one / T::from_usize(k.max(1)).unwrap();
    weighted_rows(
        n,
        k,
        sample_weight,
        per_sample,
        || inv_k / T::from_usize(n).unwrap(),
        |i, s| {
            let yt = &y_true[i * k..(i + 1) * k];
            let yp = &p[i * k..(i + 1) * k];
            let g = &mut grad[i * k..(i + 1) * k];
            let mut sum = T::zero();
            for ((gj, y), p) in g.iter_mut().zip(yt).zip(yp) {
                let pc = p.max(eps).min(hi);
                sum -= *y * pc.ln() + (one - *y) * (one - pc).ln();
                *gj = s * (*p - *y);
            }
            sum * inv_k
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activations::Activation;
    use crate::testutil::*;

    /// Per-sample values (and the reduced loss) without gradient.
    fn values(loss: Loss, y: &[f64], p: &[f64], n: usize, k: usize) -> (Vec<f64>, f64) {
        let mut ps = vec![0.0; n];
        let l = loss.compute(y, p, n, k, None, &mut ps, None);
        (ps, l)
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    /// Random (y_true, y_pred) for `loss`, kept clear of kinks and clip bounds.
    fn sample(loss: Loss, n: usize, k: usize, rng: &mut Rng) -> (Vec<f64>, Vec<f64>) {
        let mut y = Vec::new();
        let mut p = Vec::new();
        for _ in 0..n {
            loop {
                let mut yr = Vec::with_capacity(k);
                let mut pr = Vec::with_capacity(k);
                let away = |rng: &mut Rng| {
                    let m = if rng.below(2) == 0 { rng.uniform(0.1, 0.9) } else { rng.uniform(1.1, 2.0) };
                    if rng.below(2) == 0 {
                        m
                    } else {
                        -m
                    }
                };
                match loss {
                    Loss::CategoricalCrossentropy => {
                        // soft labels and unnormalised p exercise the rescale
                        let mut t = 0.0;
                        for _ in 0..k {
                            let v = rng.uniform(0.0, 1.0);
                            t += v;
                            yr.push(v);
                        }
                        yr.iter_mut().for_each(|v| *v /= t);
                        (0..k).for_each(|_| pr.push(rng.uniform(0.1, 1.0)));
                    }
                    Loss::SparseCategoricalCrossentropy => {
                        yr.push(rng.below(k) as f64);
                        (0..k).for_each(|_| pr.push(rng.uniform(0.1, 1.0)));
                    }
                    Loss::BinaryCrossentropy | Loss::KullbackLeiblerDivergence => {
                        for _ in 0..k {
                            let yv = match rng.below(3) {
                                0 => 0.0,
                                1 => 1.0,
                                _ => rng.uniform(0.05, 0.95),
                            };
                            yr.push(yv);
                            pr.push(rng.uniform(0.05, 0.95));
                        }
                    }
                    Loss::MeanAbsoluteError | Loss::MeanAbsolutePercentageError | Loss::Huber => {
                        for _ in 0..k {
                            let yv = away(rng);
                            yr.push(yv);
                            pr.push(yv + away(rng));
                        }
                    }
                    Loss::MeanSquaredLogarithmicError | Loss::Poisson => {
                        for _ in 0..k {
                            yr.push(if rng.below(4) == 0 { 0.0 } else { rng.uniform(0.0, 3.0) });
                            pr.push(rng.uniform(0.1, 3.0));
                        }
                    }
                    Loss::Hinge | Loss::SquaredHinge => {
                        for _ in 0..k {
                            yr.push(rng.below(2) as f64); // {0,1} labels
                            pr.push(away(rng)); // |1 - y'p| >= 0.1
                        }
                    }
                    Loss::CategoricalHinge => {
                        let c = rng.below(k);
                        for j in 0..k {
                            yr.push(if j == c { 1.0 } else { 0.0 });
                            pr.push(rng.uniform(-1.0, 1.0));
                        }
                    }
                    _ => {
                        for _ in 0..k {
                            yr.push(rng.uniform(-2.0, 2.0));
                            pr.push(rng.uniform(-2.0, 2.0));
                        }
                    }
                }
                let ok = match loss {
                    Loss::CategoricalHinge => {
                        // keep clear of the max() kink and of a tie for the max
                        let mut vals: Vec<f64> = yr.iter().zip(&pr).map(|(y, p)| (1.0 - y) * p).collect();
                        vals.sort_by(|a, b| b.partial_cmp(a).unwrap());
                        let pos: f64 = yr.iter().zip(&pr).map(|(y, p)| y * p).sum();
                        (vals[0] - pos + 1.0).abs() > 0.05 && vals[0] - vals[1] > 0.05
                    }
                    _ => true,
                };
                if ok {
                    y.extend(yr);
                    p.extend(pr);
                    break;
                }
            }
        }
        (y, p)
    }

    #[test]
    fn gradient_check_every_loss() {
        let (n, k) = (4, 5);
        for (li, &loss) in Loss::all().iter().enumerate() {
            let mut rng = Rng::new(1000 + li as u64);
            let (y, p) = sample(loss, n, k, &mut rng);
            let w: Vec<f64> = (0..n).map(|_| rng.uniform(0.2, 2.0)).collect();
            for weights in [None, Some(&w[..])] {
                let mut ps = vec![0.0; n];
                let mut g = vec![f64::NAN; n * k];
                let l = loss.compute(&y, &p, n, k, weights, &mut ps, Some(&mut g));
                // reduced value consistent with the per-sample values
                let expect: f64 = (0..n).map(|i| weights.map_or(1.0, |w| w[i]) * ps[i]).sum::<f64>() / n as f64;
                assert!(close(l, expect, 1e-12), "{}", loss.name());
                let num = fd_grad(&p, |pp| {
                    let mut ps = vec![0.0; n];
                    loss.compute(&y, pp, n, k, weights, &mut ps, None)
                });
                let what = format!("{} (weights: {})", loss.name(), weights.is_some());
                assert_grad_close(&what, &g, &num, 1e-5);
            }
        }
    }

    #[test]
    fn hinge_with_pm1_labels_gradient() {
        let (n, k) = (3, 4);
        let mut rng = Rng::new(5);
        let y: Vec<f64> = (0..n * k).map(|_| if rng.below(2) == 0 { -1.0 } else { 1.0 }).collect();
        let p: Vec<f64> =
            (0..n * k).map(|_| rng.uniform(0.1, 0.9) * if rng.below(2) == 0 { 1.0 } else { -1.0 }).collect();
        for loss in [Loss::Hinge, Loss::SquaredHinge] {
            let mut ps = vec![0.0; n];
            let mut g = vec![0.0; n * k];
            loss.compute(&y, &p, n, k, None, &mut ps, Some(&mut g));
            let num = fd_grad(&p, |pp| loss.compute(&y, pp, n, k, None, &mut vec![0.0; n], None));
            assert_grad_close(loss.name(), &g, &num, 1e-5);
        }
    }

    #[test]
    fn clipped_regions_have_zero_gradient() {
        // BCE with p at 0 and 1: clipped, derivative 0 (as autodiff through clip)
        let y = [1.0, 0.0];
        let p = [0.0, 1.0];
        let mut ps = [0.0];
        let mut g = [9.0; 2];
        let l = Loss::BinaryCrossentropy.compute(&y, &p, 1, 2, None, &mut ps, Some(&mut g));
        assert!(close(l, -(1e-7f64).ln(), 1e-9));
        assert_eq!(g, [0.0, 0.0]);
        // CCE with a zero probability for the true class
        let y = [0.0, 1.0, 0.0];
        let p = [0.5, 0.0, 0.5];
        let mut g = [9.0; 3];
        let l = Loss::CategoricalCrossentropy.compute(&y, &p, 1, 3, None, &mut ps, Some(&mut g));
        assert!(close(l, -(1e-7f64).ln(), 1e-9));
        assert_eq!(g, [0.0, 0.0, 0.0]);
    }

    #[test]
    fn hand_computed_values() {
        let tol = 1e-12;
        // categorical CE: -ln 0.7
        let (ps, _) = values(Loss::CategoricalCrossentropy, &[0.0, 1.0, 0.0], &[0.2, 0.7, 0.1], 1, 3);
        assert!(close(ps[0], -(0.7f64).ln(), tol));
        // rescaling: p = 2 * (0.2, 0.7, 0.1) gives the same value
        let (ps, _) = values(Loss::CategoricalCrossentropy, &[0.0, 1.0, 0.0], &[0.4, 1.4, 0.2], 1, 3);
        assert!(close(ps[0], -(0.7f64).ln(), tol));
        // Keras docstring example: [0.0513, 2.303]
        let y = [0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        let p = [0.05, 0.95, 0.0, 0.1, 0.8, 0.1];
        let (ps, l) = values(Loss::CategoricalCrossentropy, &y, &p, 2, 3);
        assert!(close(ps[0], -(0.95f64).ln(), tol) && close(ps[1], -(0.1f64).ln(), tol));
        assert!((ps[0] - 0.0513).abs() < 1e-4 && (ps[1] - 2.303).abs() < 1e-3);
        assert!(close(l, (ps[0] + ps[1]) / 2.0, tol));
        let (ps2, _) = values(Loss::SparseCategoricalCrossentropy, &[1.0, 2.0], &p, 2, 3);
        assert!(close(ps2[0], ps[0], tol) && close(ps2[1], ps[1], tol));
        // BCE Keras docstring example: [0.916, 0.714]
        let (ps, _) = values(Loss::BinaryCrossentropy, &[0.0, 1.0, 0.0, 0.0], &[0.6, 0.4, 0.4, 0.6], 2, 2);
        assert!(close(ps[0], -(0.4f64).ln(), tol));
        assert!(close(ps[1], -((0.6f64).ln() + (0.4f64).ln()) / 2.0, tol));
        assert!((ps[0] - 0.916).abs() < 1e-3 && (ps[1] - 0.714).abs() < 1e-3);
        // mse / mae
        let (ps, _) = values(Loss::MeanSquaredError, &[1.0, 2.0, 3.0], &[1.5, 2.0, 1.0], 1, 3);
        assert!(close(ps[0], (0.25 + 0.0 + 4.0) / 3.0, tol));
        let (ps, _) = values(Loss::MeanAbsoluteError, &[1.0, 2.0, 3.0], &[1.5, 2.0, 1.0], 1, 3);
        assert!(close(ps[0], 2.5 / 3.0, tol));
        // mape: 100 * mean(|y-p|/max(|y|,eps)); y=0 uses eps
        let (ps, _) = values(Loss::MeanAbsolutePercentageError, &[2.0, -4.0], &[1.0, -5.0], 1, 2);
        assert!(close(ps[0], 100.0 * (0.5 + 0.25) / 2.0, tol));
        let (ps, _) = values(Loss::MeanAbsolutePercentageError, &[0.0], &[1e-7], 1, 1);
        assert!(close(ps[0], 100.0, 1e-9));
        // msle
        let (ps, _) = values(Loss::MeanSquaredLogarithmicError, &[1.0, 0.0], &[3.0, -1.0], 1, 2);
        let a = (4.0f64).ln() - (2.0f64).ln();
        let b = (1.0 + 1e-7f64).ln() - (1.0 + 1e-7f64).ln();
        assert!(close(ps[0], (a * a + b * b) / 2.0, tol));
        // hinge with {0,1} labels: y' = (-1, 1)
        let (ps, _) = values(Loss::Hinge, &[0.0, 1.0], &[0.3, 0.4], 1, 2);
        assert!(close(ps[0], ((1.0 + 0.3) + (1.0 - 0.4)) / 2.0, tol));
        let (ps, _) = values(Loss::SquaredHinge, &[0.0, 1.0], &[0.3, 0.4], 1, 2);
        assert!(close(ps[0], (1.3f64.powi(2) + 0.6f64.powi(2)) / 2.0, tol));
        // not all labels binary -> used as given
        let (ps, _) = values(Loss::Hinge, &[0.0, 1.0, -1.0, 1.0], &[0.3, 0.4, 0.5, 2.0], 2, 2);
        assert!(close(ps[0], (1.0 + 0.6) / 2.0, tol));
        assert!(close(ps[1], (1.5 + 0.0) / 2.0, tol));
        // categorical hinge: pos = 0.7, neg = max(0.2, 0.1) = 0.2 -> 0.5
        let (ps, _) = values(Loss::CategoricalHinge, &[0.0, 1.0, 0.0], &[0.2, 0.7, 0.1], 1, 3);
        assert!(close(ps[0], 0.5, tol));
        // kld: y=(0.5,0.5,0) p=(0.25,0.5,0.25); y=0 clipped to eps
        let (ps, _) = values(Loss::KullbackLeiblerDivergence, &[0.5, 0.5, 0.0], &[0.25, 0.5, 0.25], 1, 3);
        let e = 1e-7f64;
        assert!(close(ps[0], 0.5 * 2f64.ln() + e * (e / 0.25).ln(), tol));
        // poisson
        let (ps, _) = values(Loss::Poisson, &[1.0, 2.0], &[2.0, 0.5], 1, 2);
        let v = ((2.0 - (2.0 + e).ln()) + (0.5 - 2.0 * (0.5 + e).ln())) / 2.0;
        assert!(close(ps[0], v, tol));
        // logcosh: Keras docstring example 0.108
        let (ps, l) = values(Loss::LogCosh, &[0.0, 1.0, 0.0, 0.0], &[1.0, 1.0, 0.0, 0.0], 2, 2);
        assert!(close(ps[0], (1f64).cosh().ln() / 2.0, tol) && ps[1].abs() < 1e-15);
        assert!((l - 0.108).abs() < 1e-3);
        // logcosh stable for large errors: |x| - ln 2
        let (ps, _) = values(Loss::LogCosh, &[0.0], &[1000.0], 1, 1);
        assert!(close(ps[0], 1000.0 - 2f64.ln(), tol));
        // cosine similarity: keras docstring [-0, -1, 1]
        let y = [0.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let p = [1.0, 0.0, 1.0, 1.0, -1.0, -1.0];
        let (ps, _) = values(Loss::CosineSimilarity, &y, &p, 3, 2);
        assert!(ps[0].abs() < tol && close(ps[1], -1.0, tol) && close(ps[2], 1.0, tol));
        // zero vector -> 0
        let (ps, _) = values(Loss::CosineSimilarity, &[1.0, 2.0], &[0.0, 0.0], 1, 2);
        assert_eq!(ps[0], 0.0);
        // huber (delta 1): Keras docstring example 0.155
        let (ps, l) = values(Loss::Huber, &[0.0, 1.0, 0.0, 0.0], &[0.6, 0.4, 0.4, 0.6], 2, 2);
        assert!(close(ps[0], 0.18, tol) && close(ps[1], 0.13, tol) && close(l, 0.155, tol));
        let (ps, _) = values(Loss::Huber, &[0.0], &[3.0], 1, 1);
        assert!(close(ps[0], 3.0 - 0.5, tol));
    }

    #[test]
    fn sample_weights_reduce_as_sum_over_batch_size() {
        let y = [0.0, 1.0, 2.0, 3.0];
        let p = [1.0, 1.0, 2.0, 5.0];
        let mut ps = [0.0; 2];
        let w = [0.5, 2.0];
        let l = Loss::MeanSquaredError.compute(&y, &p, 2, 2, Some(&w), &mut ps, None);
        assert!(close(ps[0], 0.5, 1e-15) && close(ps[1], 2.0, 1e-15));
        assert!(close(l, (0.5 * 0.5 + 2.0 * 2.0) / 2.0, 1e-15));
    }

    #[test]
    fn sparse_invalid_labels_contribute_zero() {
        let p = [0.2, 0.7, 0.1, 0.3, 0.3, 0.4];
        for bad in [3.0, -1.0, f64::NAN] {
            let y = [1.0, bad];
            let mut ps = [0.0; 2];
            let mut g = [9.0; 6];
            let l = Loss::SparseCategoricalCrossentropy.compute(&y, &p, 2, 3, None, &mut ps, Some(&mut g));
            assert!(close(ps[0], -(0.7f64).ln(), 1e-12));
            assert_eq!(ps[1], 0.0);
            assert_eq!(&g[3..], &[0.0, 0.0, 0.0]);
            assert!(close(l, ps[0] / 2.0, 1e-12));
        }
        // labels are rounded to the nearest integer
        let mut ps = [0.0];
        Loss::SparseCategoricalCrossentropy.compute(&[0.9999999], &p[..3], 1, 3, None, &mut ps, None);
        assert!(close(ps[0], -(0.7f64).ln(), 1e-12));
    }

    #[test]
    fn fused_softmax_crossentropy_matches_composition() {
        let (n, k) = (4, 6);
        let mut rng = Rng::new(77);
        let z: Vec<f64> = (0..n * k).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let w: Vec<f64> = (0..n).map(|_| rng.uniform(0.2, 2.0)).collect();
        let labels: Vec<f64> = (0..n).map(|_| rng.below(k) as f64).collect();
        let mut onehot = vec![0.0; n * k];
        for i in 0..n {
            onehot[i * k + labels[i] as usize] = 1.0;
        }
        // soft labels too (rows sum to 1)
        let mut soft: Vec<f64> = (0..n * k).map(|_| rng.uniform(0.0, 1.0)).collect();
        for row in soft.chunks_mut(k) {
            let s: f64 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= s);
        }
        let mut p = z.clone();
        Activation::Softmax.forward(&mut p, k);
        for (sparse, y, loss) in [
            (true, &labels, Loss::SparseCategoricalCrossentropy),
            (false, &onehot, Loss::CategoricalCrossentropy),
            (false, &soft, Loss::CategoricalCrossentropy),
        ] {
            for weights in [None, Some(&w[..])] {
                let mut ps = vec![0.0; n];
                let mut g = vec![0.0; n * k];
                let l = softmax_crossentropy_fused(sparse, y, &p, n, k, weights, &mut ps, &mut g);
                // value equals the unfused loss on the probabilities
                let mut ps2 = vec![0.0; n];
                let l2 = loss.compute(y, &p, n, k, weights, &mut ps2, None);
                assert!(close(l, l2, 1e-14));
                let num = fd_grad(&z, |zz| {
                    let mut pp = zz.to_vec();
                    Activation::Softmax.forward(&mut pp, k);
                    loss.compute(y, &pp, n, k, weights, &mut vec![0.0; n], None)
                });
                assert_grad_close("softmax+ce fused", &g, &num, 1e-5);
                // and equals chaining the unfused gradient through softmax backward
                let mut g2 = vec![0.0; n * k];
                loss.compute(y, &p, n, k, weights, &mut ps2, Some(&mut g2));
                Activation::Softmax.backward(&[], &p, &mut g2, k);
                assert_grad_close("softmax+ce chained", &g2, &g, 1e-9);
            }
        }
    }

    #[test]
    fn fused_sigmoid_bce_matches_composition() {
        let (n, k) = (4, 3);
        let mut rng = Rng::new(99);
        let z: Vec<f64> = (0..n * k).map(|_| rng.uniform(-3.0, 3.0)).collect();
        let y: Vec<f64> =
            (0..n * k).map(|_| if rng.below(3) == 0 { rng.uniform(0.0, 1.0) } else { rng.below(2) as f64 }).collect();
        let w: Vec<f64> = (0..n).map(|_| rng.uniform(0.2, 2.0)).collect();
        let mut p = z.clone();
        Activation::Sigmoid.forward(&mut p, k);
        for weights in [None, Some(&w[..])] {
            let mut ps = vec![0.0; n];
            let mut g = vec![0.0; n * k];
            let l = sigmoid_binary_crossentropy_fused(&y, &p, n, k, weights, &mut ps, &mut g);
            let mut ps2 = vec![0.0; n];
            let l2 = Loss::BinaryCrossentropy.compute(&y, &p, n, k, weights, &mut ps2, None);
            assert!(close(l, l2, 1e-14));
            let num = fd_grad(&z, |zz| {
                let mut pp = zz.to_vec();
                Activation::Sigmoid.forward(&mut pp, k);
                Loss::BinaryCrossentropy.compute(&y, &pp, n, k, weights, &mut vec![0.0; n], None)
            });
            assert_grad_close("sigmoid+bce fused", &g, &num, 1e-5);
        }
    }

    #[test]
    fn names_and_aliases() {
        for &l in Loss::all() {
            assert_eq!(Loss::from_name(l.name()).unwrap(), l);
            let js = serde_json::to_string(&l).unwrap();
            let back: Loss = serde_json::from_str(&js).unwrap();
            assert_eq!(back, l);
        }
        let cases = [
            ("mse", Loss::MeanSquaredError),
            ("mae", Loss::MeanAbsoluteError),
            ("mape", Loss::MeanAbsolutePercentageError),
            ("msle", Loss::MeanSquaredLogarithmicError),
            ("kld", Loss::KullbackLeiblerDivergence),
            ("kl_divergence", Loss::KullbackLeiblerDivergence),
            ("kullback_leibler_divergence", Loss::KullbackLeiblerDivergence),
            ("logcosh", Loss::LogCosh),
            ("log_cosh", Loss::LogCosh),
            ("cosine_similarity", Loss::CosineSimilarity),
            ("cosine_proximity", Loss::CosineSimilarity),
            ("huber", Loss::Huber),
            ("huber_loss", Loss::Huber),
        ];
        for (s, l) in cases {
            assert_eq!(Loss::from_name(s).unwrap(), l, "{s}");
        }
        assert_eq!(Loss::SparseCategoricalCrossentropy.y_columns(10), 1);
        assert_eq!(Loss::CategoricalCrossentropy.y_columns(10), 10);
        let e = Loss::from_name("nope").unwrap_err();
        assert!(e.contains("nope") && e.contains("mean_squared_error") && e.contains("kld"), "{e}");
    }

    /// Values computed with Keras 3.15.1 (JAX backend, float32).
    #[test]
    fn matches_keras_reference_values() {
        let check = |loss: Loss, y: &[f64], p: &[f64], k: usize, expect: &[f64]| {
            let n = expect.len();
            let (ps, _) = values(loss, y, p, n, k);
            for i in 0..n {
                assert!(
                    (ps[i] - expect[i]).abs() <= 2e-6 * (1.0 + expect[i].abs()),
                    "{}: sample {i}: {} vs keras {}",
                    loss.name(),
                    ps[i],
                    expect[i]
                );
            }
        };
        let yb = [0.0, 1.0, 1.0, 1.0, 0.0, 0.0];
        let pb = [0.2, 0.9, 1.0, 0.0, 0.3, 0.55];
        check(Loss::BinaryCrossentropy, &yb, &pb, 3, &[0.10950141, 5.757759]);
        let y = [0.0, 1.0, 0.0, 0.2, 0.3, 0.5];
        let p = [0.4, 1.4, 0.2, 0.0, 0.5, 1.5];
        check(Loss::CategoricalCrossentropy, &y, &p, 3, &[0.35667497, 3.7833486]);
        check(Loss::SparseCategoricalCrossentropy, &[1.0, 2.0], &p, 3, &[0.35667497, 0.2876821]);
        let yr = [1.0, -2.0, 0.0, 3.0, 0.5, -1.0];
        let pr = [0.5, -1.0, 2.0, 2.0, 0.0, -3.0];
        check(Loss::MeanSquaredError, &yr, &pr, 3, &[1.75, 1.75]);
        check(Loss::MeanAbsoluteError, &yr, &pr, 3, &[1.1666667, 1.1666667]);
        check(Loss::MeanAbsolutePercentageError, &yr, &pr, 3, &[6.66666688e+08, 1.11111115e+02]);
        check(Loss::MeanSquaredLogarithmicError, &yr, &pr, 3, &[0.42990324, 0.08238761]);
        check(Loss::Hinge, &yr, &pr, 3, &[0.5, 0.33333334]);
        check(Loss::SquaredHinge, &yr, &pr, 3, &[0.4166667, 0.33333334]);
        check(Loss::CategoricalHinge, &yr, &pr, 3, &[0.5, 0.0]);
        check(Loss::KullbackLeiblerDivergence, &yr, &pr, 3, &[0.6931456, 7.7124743]);
        check(Loss::LogCosh, &yr, &pr, 3, &[0.6262994, 0.6262994]);
        check(Loss::CosineSimilarity, &yr, &pr, 3, &[-0.48795003, -0.77966654]);
        check(Loss::Huber, &yr, &pr, 3, &[0.7083334, 0.7083334]);
        let pb2: Vec<f64> = pb.iter().map(|v| v - 0.5).collect();
        check(Loss::Hinge, &yb, &pb2, 3, &[0.6, 1.1166667]);
        check(Loss::KullbackLeiblerDivergence, &y, &[0.3, 0.6, 0.1, 0.0, 0.5, 1.0], 3, &[0.5108228, 2.4019103]);
        let ya: Vec<f64> = yr.iter().map(|v: &f64| v.abs()).collect();
        let pa: Vec<f64> = pr.iter().map(|v: &f64| v.abs() + 0.1).collect();
        check(Loss::Poisson, &ya, &pa, 3, &[1.3734016, 1.0313594]);
    }

    #[test]
    fn f32_matches_f64() {
        let (n, k) = (3, 4);
        for (li, &loss) in Loss::all().iter().enumerate() {
            let mut rng = Rng::new(500 + li as u64);
            let (y, p) = sample(loss, n, k, &mut rng);
            let mut ps = vec![0.0; n];
            let mut g = vec![0.0; n * k];
            let l = loss.compute(&y, &p, n, k, None, &mut ps, Some(&mut g));
            let y32: Vec<f32> = y.iter().map(|v| *v as f32).collect();
            let p32: Vec<f32> = p.iter().map(|v| *v as f32).collect();
            let mut ps32 = vec![0.0f32; n];
            let mut g32 = vec![0.0f32; n * k];
            let l32 = loss.compute(&y32, &p32, n, k, None, &mut ps32, Some(&mut g32));
            assert!(close(l32, l, 1e-4), "{} {l32} {l}", loss.name());
            for i in 0..n * k {
                assert!(close(g32[i] as f64, g[i], 1e-4), "{}", loss.name());
            }
        }
    }
}
