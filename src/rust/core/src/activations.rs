//! Activation functions (Keras 3 definitions) with in-place forward and
//! backward passes over row-major `(n, k)` blocks.
//!
//! Element-wise activations ignore `k`; `softmax` and `log_softmax` work on
//! each row of `k` values (the last axis), as Keras does with `axis = -1`.

use crate::Real;

/// A Keras activation, by its Keras name (`serde` uses the snake_case name,
/// e.g. `"hard_sigmoid"`).
///
/// Definitions follow `keras/src/activations/activations.py` (Keras 3):
///
/// | variant | y = f(x) |
/// |---|---|
/// | `Linear` | x |
/// | `Relu` | max(x, 0) |
/// | `Sigmoid` | 1 / (1 + e^-x) |
/// | `Tanh` | tanh x |
/// | `Softmax` | e^(x_j - max) / Σ e^(x - max), per row |
/// | `Elu` | x if x ≥ 0 else α(e^x − 1), α = 1 |
/// | `Selu` | λ·elu(x, α), λ = 1.0507009873554805, α = 1.6732632423543772 |
/// | `Softplus` | log(1 + e^x) |
/// | `Softsign` | x / (1 + \|x\|) |
/// | `HardSigmoid` | relu6(x + 3) / 6 (Keras 3; Keras 2 used 0.2x + 0.5) |
/// | `Exponential` | e^x |
/// | `Swish`, `Silu` | x·sigmoid(x) (the same function under its two names) |
/// | `Gelu` | x·Φ(x) = x·(1 + erf(x/√2))/2 (Keras default `approximate=False`) |
/// | `Relu6` | min(max(x, 0), 6) |
/// | `LeakyRelu` | x if x > 0 else 0.2x (Keras 3 default `negative_slope`) |
/// | `Mish` | x·tanh(softplus(x)) |
/// | `LogSoftmax` | x_j − max − log Σ e^(x − max), per row |
///
/// At kinks (relu at 0, relu6 at 0 and 6, hard_sigmoid at ±3, ...) the
/// backward pass uses the one-sided derivative of the "inactive" side, i.e. 0
/// for relu at 0, like the autodiff of `maximum` in most backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// Identity.
    Linear,
    /// max(x, 0).
    Relu,
    /// Logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// Softmax over each row (last axis).
    Softmax,
    /// Exponential linear unit with α = 1.
    Elu,
    /// Scaled exponential linear unit.
    Selu,
    /// log(1 + e^x).
    Softplus,
    /// x / (1 + |x|).
    Softsign,
    /// Keras 3 hard sigmoid: relu6(x + 3) / 6.
    HardSigmoid,
    /// e^x.
    Exponential,
    /// x·sigmoid(x); Keras 3 registers `"swish"` as an alias of `silu`.
    Swish,
    /// Gaussian error linear unit, exact (erf) form.
    Gelu,
    /// min(max(x, 0), 6).
    Relu6,
    /// Leaky relu with negative slope 0.2.
    LeakyRelu,
    /// x·tanh(softplus(x)).
    Mish,
    /// x·sigmoid(x); same function as [`Activation::Swish`].
    Silu,
    /// Log-softmax over each row (last axis).
    LogSoftmax,
}

const ALL: [Activation; 18] = [
    Activation::Linear,
    Activation::Relu,
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Softmax,
    Activation::Elu,
    Activation::Selu,
    Activation::Softplus,
    Activation::Softsign,
    Activation::HardSigmoid,
    Activation::Exponential,
    Activation::Swish,
    Activation::Gelu,
    Activation::Relu6,
    Activation::LeakyRelu,
    Activation::Mish,
    Activation::Silu,
    Activation::LogSoftmax,
];

/// SELU scale λ (Keras / Klambauer et al.).
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_5;
/// SELU α.
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
/// Negative slope of [`Activation::LeakyRelu`] (Keras 3 default).
pub const LEAKY_RELU_SLOPE: f64 = 0.2;

impl Activation {
    /// All activations, in declaration order.
    pub fn all() -> &'static [Activation] {
        &ALL
    }

    /// Parses a Keras activation name (`"linear"`, `"relu"`, `"silu"`,
    /// `"swish"`, `"hard_sigmoid"`, ...). The error message lists the valid
    /// names.
    pub fn from_name(name: &str) -> Result<Activation, String> {
        ALL.iter().copied().find(|a| a.name() == name).ok_or_else(|| {
            let names: Vec<&str> = ALL.iter().map(|a| a.name()).collect();
            format!("Unknown activation '{}'. Valid activations are: {}", name, names.join(", "))
        })
    }

    /// The Keras name of the activation.
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
            Activation::Elu => "elu",
            Activation::Selu => "selu",
            Activation::Softplus => "softplus",
            Activation::Softsign => "softsign",
            Activation::HardSigmoid => "hard_sigmoid",
            Activation::Exponential => "exponential",
            Activation::Swish => "swish",
            Activation::Gelu => "gelu",
            Activation::Relu6 => "relu6",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Mish => "mish",
            Activation::Silu => "silu",
            Activation::LogSoftmax => "log_softmax",
        }
    }

    /// True for the activations that normalise over the last axis
    /// (`softmax`, `log_softmax`); all others are element-wise.
    pub fn is_row_wise(&self) -> bool {
        matches!(self, Activation::Softmax | Activation::LogSoftmax)
    }

    /// Whether [`Activation::backward`] reads `input` (the pre-activation x).
    ///
    /// When this is false, `backward` only reads `output` and `grad`; callers
    /// may then skip keeping x and pass an empty slice as `input`.
    /// (`output` is always read except by `swish`/`silu`/`gelu`/`mish`, which
    /// only need `input`, and `linear`, which needs neither.)
    pub fn needs_input_for_backward(&self) -> bool {
        matches!(self, Activation::Swish | Activation::Silu | Activation::Gelu | Activation::Mish)
    }

    /// Applies the activation in place over a row-major `(n, k)` block `x`.
    ///
    /// `softmax`/`log_softmax` are computed per row of `k` values with the row
    /// maximum subtracted first, so they are stable for large inputs.
    /// `x.len()` must be a multiple of `k` for those two (`k` is ignored by
    /// element-wise activations). Does not allocate.
    pub fn forward<T: Real>(&self, x: &mut [T], k: usize) {
        let zero = T::zero();
        let one = T::one();
        match self {
            Activation::Linear => {}
            Activation::Relu => x.iter_mut().for_each(|v| *v = v.max(zero)),
            Activation::Sigmoid => x.iter_mut().for_each(|v| *v = sigmoid(*v)),
            Activation::Tanh => x.iter_mut().for_each(|v| *v = v.tanh()),
            Activation::Softmax => {
                if k == 0 {
                    return;
                }
                for row in x.chunks_exact_mut(k) {
                    softmax_row(row);
                }
            }
            Activation::LogSoftmax => {
                if k == 0 {
                    return;
                }
                for row in x.chunks_exact_mut(k) {
                    let m = row_max(row);
                    let mut s = zero;
                    for v in row.iter() {
                        s += (*v - m).exp();
                    }
                    let lse = m + s.ln();
                    for v in row.iter_mut() {
                        *v -= lse;
                    }
                }
            }
            Activation::Elu => x.iter_mut().for_each(|v| {
                if *v < zero {
                    *v = v.exp_m1();
                }
            }),
            Activation::Selu => {
                let scale = T::c(SELU_SCALE);
                let sa = T::c(SELU_SCALE * SELU_ALPHA);
                x.iter_mut().for_each(|v| {
                    *v = if *v >= zero { scale * *v } else { sa * v.exp_m1() };
                })
            }
            Activation::Softplus => x.iter_mut().for_each(|v| *v = softplus(*v)),
            Activation::Softsign => x.iter_mut().for_each(|v| *v /= one + v.abs()),
            Activation::HardSigmoid => {
                let three = T::c(3.0);
                let six = T::c(6.0);
                x.iter_mut().for_each(|v| *v = (*v + three).max(zero).min(six) / six)
            }
            Activation::Exponential => x.iter_mut().for_each(|v| *v = v.exp()),
            Activation::Swish | Activation::Silu => x.iter_mut().for_each(|v| *v = *v * sigmoid(*v)),
            Activation::Gelu => x.iter_mut().for_each(|v| {
                let xf = v.to_f64().unwrap_or(f64::NAN);
                *v = T::c(xf * norm_cdf(xf));
            }),
            Activation::Relu6 => {
                let six = T::c(6.0);
                x.iter_mut().for_each(|v| *v = v.max(zero).min(six))
            }
            Activation::LeakyRelu => {
                let a = T::c(LEAKY_RELU_SLOPE);
                x.iter_mut().for_each(|v| {
                    if *v < zero {
                        *v = a * *v;
                    }
                })
            }
            Activation::Mish => x.iter_mut().for_each(|v| *v = *v * mish_tanh_sp(*v)),
        }
    }

    /// Backward pass: turns `grad` = dL/dy into dL/dx in place.
    ///
    /// `input` is the pre-activation x and `output` the activation y = f(x),
    /// both row-major `(n, k)` like `grad`. Only the slices the activation
    /// needs are read (see [`Activation::needs_input_for_backward`]); an unused
    /// one may be empty. Does not allocate.
    pub fn backward<T: Real>(&self, input: &[T], output: &[T], grad: &mut [T], k: usize) {
        let zero = T::zero();
        let one = T::one();
        match self {
            Activation::Linear => {}
            Activation::Relu => zip_y(grad, output, |y| if y > zero { one } else { zero }),
            Activation::Sigmoid => zip_y(grad, output, |y| y * (one - y)),
            Activation::Tanh => zip_y(grad, output, |y| one - y * y),
            Activation::Softmax => {
                if k == 0 {
                    return;
                }
                // dx_j = y_j (g_j - Σ_i g_i y_i)
                for (g, y) in grad.chunks_exact_mut(k).zip(output.chunks_exact(k)) {
                    let mut dot = zero;
                    for (gi, yi) in g.iter().zip(y) {
                        dot += *gi * *yi;
                    }
                    for (gi, yi) in g.iter_mut().zip(y) {
                        *gi = *yi * (*gi - dot);
                    }
                }
            }
            Activation::LogSoftmax => {
                if k == 0 {
                    return;
                }
                // y = x - lse(x): dx_j = g_j - softmax_j Σ_i g_i, softmax = e^y
                for (g, y) in grad.chunks_exact_mut(k).zip(output.chunks_exact(k)) {
                    let mut s = zero;
                    for gi in g.iter() {
                        s += *gi;
                    }
                    for (gi, yi) in g.iter_mut().zip(y) {
                        *gi -= yi.exp() * s;
                    }
                }
            }
            // x >= 0 <=> y >= 0; for x < 0, dy/dx = e^x = y + 1.
            Activation::Elu => zip_y(grad, output, |y| if y >= zero { one } else { y + one }),
            Activation::Selu => {
                let scale = T::c(SELU_SCALE);
                let sa = T::c(SELU_SCALE * SELU_ALPHA);
                // for x < 0: y = sa (e^x - 1), dy/dx = sa e^x = y + sa
                zip_y(grad, output, |y| if y >= zero { scale } else { y + sa })
            }
            // d softplus / dx = sigmoid(x) = 1 - e^{-y}
            Activation::Softplus => zip_y(grad, output, |y| -(-y).exp_m1()),
            // 1 / (1 + |x|)^2 = (1 - |y|)^2
            Activation::Softsign => zip_y(grad, output, |y| {
                let t = one - y.abs();
                t * t
            }),
            Activation::HardSigmoid => {
                let sixth = T::c(1.0 / 6.0);
                zip_y(grad, output, |y| if y > zero && y < one { sixth } else { zero })
            }
            Activation::Exponential => zip_y(grad, output, |y| y),
            Activation::Swish | Activation::Silu => zip_y(grad, input, |x| {
                let s = sigmoid(x);
                s * (one + x * (one - s))
            }),
            Activation::Gelu => {
                let inv_sqrt_2pi = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
                zip_y(grad, input, |x| {
                    let xf = x.to_f64().unwrap_or(f64::NAN);
                    let pdf = inv_sqrt_2pi * (-0.5 * xf * xf).exp();
                    T::c(norm_cdf(xf) + xf * pdf)
                })
            }
            Activation::Relu6 => {
                let six = T::c(6.0);
                zip_y(grad, output, |y| if y > zero && y < six { one } else { zero })
            }
            Activation::LeakyRelu => {
                let a = T::c(LEAKY_RELU_SLOPE);
                zip_y(grad, output, |y| if y > zero { one } else { a })
            }
            Activation::Mish => zip_y(grad, input, mish_grad),
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Activation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Activation::from_name(s)
    }
}

/// grad[i] *= d(v[i]) for a per-element derivative `d` of the read value.
#[inline]
fn zip_y<T: Real>(grad: &mut [T], v: &[T], d: impl Fn(T) -> T) {
    debug_assert_eq!(grad.len(), v.len());
    for (g, y) in grad.iter_mut().zip(v) {
        *g *= d(*y);
    }
}

#[inline]
fn row_max<T: Real>(row: &[T]) -> T {
    row.iter().fold(T::neg_infinity(), |m, v| m.max(*v))
}

/// Stable softmax of one row, in place.
#[inline]
pub(crate) fn softmax_row<T: Real>(row: &mut [T]) {
    let m = row_max(row);
    let mut s = T::zero();
    for v in row.iter_mut() {
        *v = (*v - m).exp();
        s += *v;
    }
    let inv = T::one() / s;
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// Mish cut-off: above it tanh(softplus(x)) is 1 to double precision.
const MISH_CUT: f64 = 20.0;

/// tanh(softplus(x)) with one exp: with u = e^x and m = u(u + 2),
/// tanh(log(1 + u)) = m / (m + 2).
#[inline]
fn mish_tanh_sp<T: Real>(x: T) -> T {
    if x > T::c(MISH_CUT) {
        return T::one();
    }
    let u = x.exp();
    let m = u * (u + T::c(2.0));
    m / (m + T::c(2.0))
}

/// d mish / dx = t + x (1 − t²) σ(x), t = tanh(softplus(x)); with u = e^x,
/// m = u(u + 2): 1 − t² = 4(m + 1)/(m + 2)², σ(x) = u/(1 + u).
#[inline]
fn mish_grad<T: Real>(x: T) -> T {
    if x > T::c(MISH_CUT) {
        return T::one();
    }
    let one = T::one();
    let two = T::c(2.0);
    let u = x.exp();
    let m = u * (u + two);
    let d = m + two;
    let t = m / d;
    t + x * T::c(4.0) * (m + one) / (d * d) * u / (one + u)
}

/// Numerically stable logistic sigmoid.
#[inline]
pub fn sigmoid<T: Real>(x: T) -> T {
    let one = T::one();
    if x >= T::zero() {
        one / (one + (-x).exp())
    } else {
        let e = x.exp();
        e / (one + e)
    }
}

/// Numerically stable softplus log(1 + e^x) = max(x, 0) + log1p(e^-|x|).
#[inline]
pub fn softplus<T: Real>(x: T) -> T {
    x.max(T::zero()) + (-x.abs()).exp().ln_1p()
}

// ---- erf / erfc -------------------------------------------------------------
//
// |z| < 1: Maclaurin polynomial of erf(z)/z in z² (19 terms, Horner).
// 1 ≤ z < 4: erfc(z) = e^{-z²}·S(z) with S fitted piecewise (Chebyshev fits
// generated offline against a double-precision reference, converted to
// monomials in the segment's local variable).
// z ≥ 4: S(z) from the Laplace continued fraction (24 levels, converged to
// double precision there).
// Accuracy: ~2e-15 relative for erf, erfc (checked in the tests).

/// Maclaurin coefficients of erf(z)/z in powers of z² (|z| < 1).
const ERF_TAYLOR: [f64; 19] = [
    std::f64::consts::FRAC_2_SQRT_PI,
    -0.37612638903183754,
    0.11283791670955126,
    -0.026866170645131252,
    0.005223977625442188,
    -0.0008548327023450852,
    0.00012055332981789664,
    -1.492565035840625e-05,
    1.6462114365889246e-06,
    -1.6365844691234924e-07,
    1.4807192815879218e-08,
    -1.2290555301717926e-09,
    9.422759064650411e-11,
    -6.7113668551641105e-12,
    4.4632242632864775e-13,
    -2.7835162072109212e-14,
    1.6342614095367152e-15,
    -9.063970842808673e-17,
    4.763348040515068e-18,
];
/// erfc(z)·e^{z²} on [a, b] as a polynomial in t = (z − (a+b)/2)/((b−a)/2),
/// least-squares Chebyshev fits (max relative error ~2e-15), lowest degree first.
const ERFC_SCALED_1_2: [f64; 15] = [
    0.3215854164543175,
    -0.08181145886628084,
    0.019037759963870273,
    -0.004116363162408748,
    0.0008360838095600432,
    -0.000160811173800648,
    2.947085750584563e-05,
    -5.171326486262605e-06,
    8.72304206447134e-07,
    -1.4191752419485051e-07,
    2.2329130600107245e-08,
    -3.3981327220875866e-09,
    5.03649419988239e-10,
    -7.801701984308586e-11,
    1.0916209921231325e-11,
];
const ERFC_SCALED_2_3: [f64; 14] = [
    0.21080636406114353,
    -0.03717367339489712,
    0.006234499271664405,
    -0.0010001961727664878,
    0.00015418980099516348,
    -2.292471676574135e-05,
    3.2971846088376246e-06,
    -4.5991383183685745e-07,
    6.235153138093096e-08,
    -8.231013369396836e-09,
    1.0588503164422928e-09,
    -1.3324465299288673e-10,
    1.715404416193494e-11,
    -2.038667180229957e-12,
];
const ERFC_SCALED_3_4: [f64; 13] = [
    0.15529365560889433,
    -0.020661788916626,
    0.00266528329812749,
    -0.0003341343049635684,
    4.079289543305368e-05,
    -4.858403629473744e-06,
    5.653391143080296e-07,
    -6.435949258714799e-08,
    7.176556354620929e-09,
    -7.842745100320361e-10,
    8.414404434234843e-11,
    -9.178063401035266e-12,
    9.560966172507028e-13,
];

#[inline]
fn horner(c: &[f64], t: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &ci| acc * t + ci)
}

/// erfc(z)·e^{z²} for z ≥ 1.
#[inline]
fn erfc_scaled_ge1(z: f64) -> f64 {
    if z < 2.0 {
        horner(&ERFC_SCALED_1_2, (z - 1.5) * 2.0)
    } else if z < 3.0 {
        horner(&ERFC_SCALED_2_3, (z - 2.5) * 2.0)
    } else if z < 4.0 {
        horner(&ERFC_SCALED_3_4, (z - 3.5) * 2.0)
    } else {
        // 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + ...)))) / √π, bottom-up
        let mut f = z;
        let mut m = 24.0;
        while m > 0.0 {
            f = z + 0.5 * m / f;
            m -= 1.0;
        }
        1.0 / (std::f64::consts::PI.sqrt() * f)
    }
}

/// Error function erf(x) in double precision (relative error ~1e-15).
pub fn erf(x: f64) -> f64 {
    let a = x.abs();
    if a < 1.0 {
        x * horner(&ERF_TAYLOR, x * x)
    } else if a.is_nan() {
        x
    } else {
        let r = 1.0 - (-a * a).exp() * erfc_scaled_ge1(a);
        if x < 0.0 {
            -r
        } else {
            r
        }
    }
}

/// Complementary error function erfc(x) = 1 − erf(x), accurate also in the
/// upper tail (relative error ~1e-15).
pub fn erfc(x: f64) -> f64 {
    if x >= 1.0 {
        (-x * x).exp() * erfc_scaled_ge1(x)
    } else {
        1.0 - erf(x)
    }
}

/// Standard normal CDF Φ(x) = (1 + erf(x/√2))/2, via erfc in the lower tail
/// so that x·Φ(x) keeps its relative accuracy for negative x.
pub fn norm_cdf(x: f64) -> f64 {
    let z = x * std::f64::consts::FRAC_1_SQRT_2;
    if z < 0.0 {
        0.5 * erfc(-z)
    } else {
        0.5 * (1.0 + erf(z))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    /// Random inputs in [-3, 3] that keep clear of the activation's kinks.
    fn inputs(act: Activation, len: usize, seed: u64) -> Vec<f64> {
        let mut rng = Rng::new(seed);
        let kinks: &[f64] = match act {
            Activation::Relu | Activation::LeakyRelu | Activation::Elu | Activation::Selu => &[0.0],
            Activation::Relu6 => &[0.0, 6.0],
            Activation::HardSigmoid => &[-3.0, 3.0],
            _ => &[],
        };
        let (lo, hi) = match act {
            Activation::Relu6 => (-2.0, 8.0),
            Activation::HardSigmoid => (-4.5, 4.5),
            _ => (-3.0, 3.0),
        };
        let mut v = Vec::with_capacity(len);
        while v.len() < len {
            let x = rng.uniform(lo, hi);
            if kinks.iter().all(|kx| (x - kx).abs() > 0.05) {
                v.push(x);
            }
        }
        v
    }

    #[test]
    fn gradient_check_every_activation() {
        let (n, k) = (4, 5);
        for (ai, &act) in Activation::all().iter().enumerate() {
            let x = inputs(act, n * k, 100 + ai as u64);
            let mut rng = Rng::new(7 + ai as u64);
            let r: Vec<f64> = (0..n * k).map(|_| rng.uniform(-1.0, 1.0)).collect();
            // scalar objective L = Σ r ⊙ f(x)
            let objective = |xx: &[f64]| {
                let mut y = xx.to_vec();
                act.forward(&mut y, k);
                y.iter().zip(&r).map(|(a, b)| a * b).sum::<f64>()
            };
            let mut y = x.clone();
            act.forward(&mut y, k);
            let mut g = r.clone();
            if act.needs_input_for_backward() {
                act.backward(&x, &y, &mut g, k);
            } else {
                // callers may pass an empty input when it is not needed
                act.backward(&[], &y, &mut g, k);
            }
            let num = fd_grad(&x, objective);
            assert_grad_close(act.name(), &g, &num, 1e-5);
        }
    }

    #[test]
    fn names_roundtrip_and_errors() {
        for &a in Activation::all() {
            assert_eq!(Activation::from_name(a.name()).unwrap(), a);
            let js = serde_json::to_string(&a).unwrap();
            assert_eq!(js, format!("\"{}\"", a.name()));
            let back: Activation = serde_json::from_str(&js).unwrap();
            assert_eq!(back, a);
        }
        assert_eq!(Activation::from_name("hard_sigmoid").unwrap(), Activation::HardSigmoid);
        assert_eq!(Activation::from_name("linear").unwrap(), Activation::Linear);
        let e = Activation::from_name("relu7").unwrap_err();
        assert!(e.contains("relu7") && e.contains("softmax") && e.contains("leaky_relu"), "{e}");
    }

    #[test]
    fn softmax_rows_sum_to_one_and_stable() {
        let mut x = vec![1000.0f64, 1001.0, 999.0, -5.0, 0.0, 5.0];
        Activation::Softmax.forward(&mut x, 3);
        for row in x.chunks(3) {
            let s: f64 = row.iter().sum();
            assert!((s - 1.0).abs() < 1e-12);
            assert!(row.iter().all(|v| v.is_finite() && *v > 0.0));
        }
        // e^0/(e^-1 + e^0 + e^-2)
        let e = (1.0f64).exp();
        let expected = 1.0 / (1.0 / e + 1.0 + 1.0 / (e * e));
        assert!((x[1] - expected).abs() < 1e-12);
        let mut xf = vec![1000.0f32, 1001.0];
        Activation::Softmax.forward(&mut xf, 2);
        assert!((xf[0] + xf[1] - 1.0).abs() < 1e-6);
        assert!((xf[1] - 0.731_058_6).abs() < 1e-6);
        // log_softmax stable too, and equals log of softmax
        let mut l = vec![1000.0f64, 1001.0];
        Activation::LogSoftmax.forward(&mut l, 2);
        assert!((l[1].exp() - 0.7310585786300049).abs() < 1e-12);
        assert!(l.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn reference_values() {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + b.abs());
        let f = |act: Activation, x: f64| {
            let mut v = [x];
            act.forward(&mut v, 1);
            v[0]
        };
        assert!(close(f(Activation::Relu, -1.0), 0.0));
        assert!(close(f(Activation::Sigmoid, 0.0), 0.5));
        assert!(close(f(Activation::Sigmoid, -800.0), 0.0));
        assert!(close(f(Activation::Sigmoid, 800.0), 1.0));
        assert!(close(f(Activation::Elu, -1.0), (-1.0f64).exp() - 1.0));
        assert!(close(f(Activation::Selu, 1.0), SELU_SCALE));
        assert!(close(f(Activation::Selu, -1.0), SELU_SCALE * SELU_ALPHA * ((-1.0f64).exp() - 1.0)));
        assert!(close(f(Activation::Softplus, 0.0), 2f64.ln()));
        assert!(close(f(Activation::Softplus, 1000.0), 1000.0));
        assert!(close(f(Activation::Softsign, 1.0), 0.5));
        assert!(close(f(Activation::HardSigmoid, 0.0), 0.5));
        assert!(close(f(Activation::HardSigmoid, 1.5), 0.75));
        assert!(close(f(Activation::HardSigmoid, -3.5), 0.0));
        assert!(close(f(Activation::HardSigmoid, 3.5), 1.0));
        assert!(close(f(Activation::Relu6, 7.0), 6.0));
        assert!(close(f(Activation::LeakyRelu, -1.0), -0.2));
        assert!(close(f(Activation::Swish, 1.0), 1.0 / (1.0 + (-1.0f64).exp())));
        assert!(close(f(Activation::Silu, 1.0), f(Activation::Swish, 1.0)));
        // gelu(1) = Φ(1) = 0.8413447460685429; gelu(-2) = -2 Φ(-2)
        assert!(close(f(Activation::Gelu, 1.0), 0.8413447460685429));
        assert!(close(f(Activation::Gelu, -2.0), -2.0 * 0.022750131948179195));
        // mish(1) = tanh(ln(1+e))
        assert!(close(f(Activation::Mish, 1.0), (1.0 + 1f64.exp()).ln().tanh()));
        assert!(close(f(Activation::Exponential, 1.0), 1f64.exp()));
    }

    /// Values computed with Keras 3.15.1 (JAX backend, float32).
    #[test]
    fn matches_keras_reference_values() {
        let x = [-3.5, -2.0, -0.3, 0.0, 0.7, 2.5, 7.0];
        let table: &[(&str, [f64; 7])] = &[
            (
                "sigmoid",
                [
                    0.02931223064661026,
                    0.11920291930437088,
                    0.4255574941635132,
                    0.5,
                    0.6681877374649048,
                    0.9241418242454529,
                    0.9990890026092529,
                ],
            ),
            (
                "tanh",
                [
                    -0.9981779456138611,
                    -0.9640275835990906,
                    -0.2913126051425934,
                    0.0,
                    0.6043677926063538,
                    0.9866143465042114,
                    0.9999983310699463,
                ],
            ),
            ("elu", [-0.9698026180267334, -0.8646647334098816, -0.25918176770210266, 0.0, 0.699999988079071, 2.5, 7.0]),
            (
                "selu",
                [
                    -1.7050093412399292,
                    -1.5201665163040161,
                    -0.45566728711128235,
                    0.0,
                    0.7354906797409058,
                    2.6267526149749756,
                    7.354907035827637,
                ],
            ),
            (
                "softplus",
                [
                    0.029750417917966843,
                    0.12692800164222717,
                    0.554355263710022,
                    0.6931471824645996,
                    1.1031861305236816,
                    2.578889846801758,
                    7.000911235809326,
                ],
            ),
            (
                "softsign",
                [
                    -0.7777777910232544,
                    -0.6666666865348816,
                    -0.23076924681663513,
                    0.0,
                    0.4117646813392639,
                    0.7142857313156128,
                    0.875,
                ],
            ),
            (
                "hard_sigmoid",
                [0.0, 0.1666666716337204, 0.45000001788139343, 0.5, 0.6166666746139526, 0.9166666865348816, 1.0],
            ),
            (
                "exponential",
                [
                    0.03019738383591175,
                    0.1353352814912796,
                    0.740818202495575,
                    1.0,
                    2.0137526988983154,
                    12.182494163513184,
                    1096.6331787109375,
                ],
            ),
            (
                "silu",
                [
                    -0.10259281098842621,
                    -0.23840583860874176,
                    -0.12766724824905396,
                    0.0,
                    0.46773141622543335,
                    2.310354471206665,
                    6.993622779846191,
                ],
            ),
            (
                "gelu",
                [
                    -0.0008142017759382725,
                    -0.045500267297029495,
                    -0.11462658643722534,
                    0.0,
                    0.5306254029273987,
                    2.48447585105896,
                    7.0,
                ],
            ),
            ("relu6", [0.0, 0.0, 0.0, 0.0, 0.699999988079071, 2.5, 6.0]),
            (
                "leaky_relu",
                [-0.699999988079071, -0.4000000059604645, -0.06000000238418579, 0.0, 0.699999988079071, 2.5, 7.0],
            ),
            (
                "mish",
                [
                    -0.10409574210643768,
                    -0.2525014579296112,
                    -0.15113317966461182,
                    0.0,
                    0.5611484050750732,
                    2.4713923931121826,
                    6.999989032745361,
                ],
            ),
        ];
        for (name, expect) in table {
            let act = Activation::from_name(name).unwrap();
            let mut y = x;
            act.forward(&mut y, 7);
            for i in 0..7 {
                assert!(
                    (y[i] - expect[i]).abs() <= 1e-6 * (1.0 + expect[i].abs()),
                    "{name}({}) = {} vs keras {}",
                    x[i],
                    y[i],
                    expect[i]
                );
            }
        }
        let mut s: [f64; 6] = [1.0, 2.0, 3.0, 1000.0, 1001.0, 999.0];
        Activation::Softmax.forward(&mut s, 3);
        let e = [0.09003057330846786, 0.2447284758090973, 0.6652409434318542];
        for i in 0..3 {
            assert!((s[i] - e[i]).abs() < 1e-7 && (s[3 + (i + 2) % 3] - e[i]).abs() < 1e-7);
        }
        let mut l: [f64; 3] = [1.0, 2.0, 3.0];
        Activation::LogSoftmax.forward(&mut l, 3);
        assert!((l[0] + 2.4076058864593506).abs() < 1e-6 && (l[2] + 0.40760594606399536).abs() < 1e-6);
    }

    /// Slow reference erf: Maclaurin series (80 terms) for |x| < 2.5, else
    /// 1 − erfc from a long continued fraction; full double precision there.
    fn erf_reference(x: f64) -> f64 {
        if x.abs() >= 2.5 {
            (1.0 - erfc_reference(x.abs())).copysign(x)
        } else {
            let (mut term, mut sum, x2) = (x, x, x * x);
            for n in 1..80 {
                term *= -x2 / n as f64;
                sum += term / (2 * n + 1) as f64;
            }
            std::f64::consts::FRAC_2_SQRT_PI * sum
        }
    }

    fn erfc_reference(x: f64) -> f64 {
        if x >= 1.0 {
            let mut f = x;
            for m in (1..=1000).rev() {
                f = x + 0.5 * m as f64 / f;
            }
            (-x * x).exp() / (std::f64::consts::PI.sqrt() * f)
        } else {
            1.0 - erf_reference(x)
        }
    }

    #[test]
    fn erf_matches_slow_reference_on_dense_grid() {
        let mut worst_erf: f64 = 0.0;
        let mut worst_erfc: f64 = 0.0;
        for i in -8000..=8000 {
            let x = i as f64 * 0.001 + 1e-4;
            let e = erf_reference(x);
            worst_erf = worst_erf.max(((erf(x) - e) / e).abs());
            let ec = erfc_reference(x);
            worst_erfc = worst_erfc.max(((erfc(x) - ec) / ec).abs());
        }
        assert!(worst_erf < 1e-14, "erf rel err {worst_erf:e}");
        assert!(worst_erfc < 1e-14, "erfc rel err {worst_erfc:e}");
    }

    #[test]
    fn erf_accuracy() {
        // reference values (A&S / high-precision tables)
        let cases = [
            (0.1, 0.1124629160182849),
            (0.5, 0.5204998778130465),
            (1.0, 0.8427007929497149),
            (2.0, 0.9953222650189527),
            (2.5, 0.999_593_047_982_555),
            (3.0, 0.9999779095030014),
        ];
        for (x, e) in cases {
            assert!((erf(x) - e).abs() < 1e-15, "erf({x})");
            assert!((erf(-x) + e).abs() < 1e-15, "erf(-{x})");
        }
        let tails = [
            (1.0, 0.15729920705028513),
            (2.0, 4.677734981047266e-3),
            (3.0, 2.209049699858544e-5),
            (5.0, 1.537_459_794_428_035e-12),
            (10.0, 2.088487583762545e-45),
        ];
        for (x, e) in tails {
            assert!(((erfc(x) - e) / e).abs() < 1e-12, "erfc({x}) = {} vs {e}", erfc(x));
        }
        assert!((erfc(-1.0) - (2.0 - 0.15729920705028513)).abs() < 1e-15);
        assert_eq!(erf(30.0), 1.0);
        assert_eq!(erf(-30.0), -1.0);
    }

    #[test]
    fn f32_forward_backward_consistent_with_f64() {
        let (n, k) = (3, 4);
        for (ai, &act) in Activation::all().iter().enumerate() {
            let x = inputs(act, n * k, 900 + ai as u64);
            let mut y64 = x.clone();
            act.forward(&mut y64, k);
            let x32: Vec<f32> = x.iter().map(|v| *v as f32).collect();
            let mut y32 = x32.clone();
            act.forward(&mut y32, k);
            let mut g64 = vec![1.0f64; n * k];
            act.backward(&x, &y64, &mut g64, k);
            let mut g32 = vec![1.0f32; n * k];
            act.backward(&x32, &y32, &mut g32, k);
            for i in 0..n * k {
                assert!((y64[i] - y32[i] as f64).abs() < 1e-4 * (1.0 + y64[i].abs()), "{}", act.name());
                assert!((g64[i] - g32[i] as f64).abs() < 1e-4 * (1.0 + g64[i].abs()), "{}", act.name());
            }
        }
    }
}
