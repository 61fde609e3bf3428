//! Cross-entropies from logits (`from_logits = TRUE` in Keras): the loss takes the raw
//! scores `z` of a linear output layer and applies the softmax or sigmoid itself, in the
//! stable forms the Keras backends use (log-softmax; `max(z, 0) - z y + log1p(exp(-|z|))`),
//! without Keras' ε clipping of probabilities. The gradient is `dL/dz`, which the last layer
//! receives as the gradient of its output.

use super::{check_lengths, label_index, weighted_rows};
use crate::Real;

/// Which cross-entropy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogitsLoss {
    /// One-hot or probability rows `y` (`n * k`).
    Categorical,
    /// Integer class labels `y` (`n`); an invalid label gives loss and gradient 0.
    SparseCategorical,
    /// Targets in [0, 1] per output (`n * k`), mean over the last axis.
    Binary,
}

impl LogitsLoss {
    /// The from-logits form of `loss`, if it has one.
    pub fn of(loss: super::Loss) -> Option<LogitsLoss> {
        match loss {
            super::Loss::CategoricalCrossentropy => Some(LogitsLoss::Categorical),
            super::Loss::SparseCategoricalCrossentropy => Some(LogitsLoss::SparseCategorical),
            super::Loss::BinaryCrossentropy => Some(LogitsLoss::Binary),
            _ => None,
        }
    }

    /// Per-sample losses into `per_sample` and, when given, `grad = dL/dz` for
    /// `L = Σ w_i l_i / n`. Returns the reduced loss. Does not allocate.
    #[allow(clippy::too_many_arguments)]
    pub fn compute<T: Real>(
        self,
        y_true: &[T],
        z: &[T],
        n: usize,
        k: usize,
        sample_weight: Option<&[T]>,
        per_sample: &mut [T],
        mut grad: Option<&mut [T]>,
    ) -> f64 {
        let yc = if self == LogitsLoss::SparseCategorical { 1 } else { k };
        check_lengths(y_true, z, n, k, yc, sample_weight, per_sample);
        weighted_rows(
            n,
            k,
            sample_weight,
            per_sample,
            || T::one() / T::from_usize(n).unwrap(),
            |i, s| {
                let zr = &z[i * k..(i + 1) * k];
                let g = grad.as_deref_mut().map(|g| &mut g[i * k..(i + 1) * k]);
                match self {
                    LogitsLoss::Categorical => categorical_row(&y_true[i * k..(i + 1) * k], zr, s, g),
                    LogitsLoss::SparseCategorical => sparse_row(y_true[i], zr, s, g),
                    LogitsLoss::Binary => binary_row(&y_true[i * k..(i + 1) * k], zr, s, g),
                }
            },
        )
    }
}

/// `log Σ exp(z)`, computed from the row maximum.
fn log_sum_exp<T: Real>(z: &[T]) -> T {
    let m = z.iter().copied().fold(T::neg_infinity(), T::max);
    m + z.iter().map(|v| (*v - m).exp()).sum::<T>().ln()
}

/// `-Σ y log softmax(z)`; gradient `s (softmax(z) Σy - y)`.
fn categorical_row<T: Real>(y: &[T], z: &[T], s: T, g: Option<&mut [T]>) -> T {
    let lse = log_sum_exp(z);
    let l = y.iter().zip(z).map(|(yj, zj)| *yj * (lse - *zj)).sum();
    if let Some(g) = g {
        let sy: T = y.iter().copied().sum();
        for ((gj, zj), yj) in g.iter_mut().zip(z).zip(y) {
            *gj = s * ((*zj - lse).exp() * sy - *yj);
        }
    }
    l
}

/// `lse(z) - z_label`; gradient `s (softmax(z) - onehot(label))`.
fn sparse_row<T: Real>(label: T, z: &[T], s: T, g: Option<&mut [T]>) -> T {
    let Some(c) = label_index(label, z.len()) else {
        if let Some(g) = g {
            g.iter_mut().for_each(|v| *v = T::zero());
        }
        return T::zero();
    };
    let lse = log_sum_exp(z);
    if let Some(g) = g {
        for (gj, zj) in g.iter_mut().zip(z) {
            *gj = s * (*zj - lse).exp();
        }
        g[c] -= s;
    }
    lse - z[c]
}

/// Mean over the row of `max(z, 0) - z y + log1p(exp(-|z|))`; gradient `s (σ(z) - y) / k`.
fn binary_row<T: Real>(y: &[T], z: &[T], s: T, g: Option<&mut [T]>) -> T {
    let inv_k = T::one() / T::from_usize(z.len()).unwrap();
    let mut sum = T::zero();
    for (yj, zj) in y.iter().zip(z) {
        sum += zj.max(T::zero()) - *zj * *yj + (-zj.abs()).exp().ln_1p();
    }
    if let Some(g) = g {
        let sk = s * inv_k;
        for ((gj, zj), yj) in g.iter_mut().zip(z).zip(y) {
            let sig = T::one() / (T::one() + (-*zj).exp());
            *gj = sk * (sig - *yj);
        }
    }
    sum * inv_k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::Loss;
    use crate::testutil::*;

    fn softmax(z: &[f64]) -> Vec<f64> {
        let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|v| v / s).collect()
    }

    /// Values computed by hand: -log softmax, and the logistic loss.
    #[test]
    fn values_by_hand() {
        let z = [1.0, 2.0, 0.5, -1.0, 0.0, 3.0];
        let y = [0.0, 1.0, 0.0, 1.0, 0.0, 0.0];
        let mut per = [0.0; 2];
        let l = LogitsLoss::Categorical.compute(&y, &z, 2, 3, None, &mut per, None);
        let want0 = -softmax(&z[..3])[1].ln();
        let want1 = -softmax(&z[3..])[0].ln();
        assert!((per[0] - want0).abs() < 1e-12 && (per[1] - want1).abs() < 1e-12);
        assert!((l - (want0 + want1) / 2.0).abs() < 1e-12);
        let mut per_s = [0.0; 2];
        LogitsLoss::SparseCategorical.compute(&[1.0, 0.0], &z, 2, 3, None, &mut per_s, None);
        assert_eq!(per, per_s);
        // binary: y = 1 gives log(1 + e^-z), y = 0 gives log(1 + e^z); huge logits stay finite
        let mut pb = [0.0; 1];
        LogitsLoss::Binary.compute(&[1.0, 0.0], &[2.0, 500.0], 1, 2, None, &mut pb, None);
        let want = ((1.0 + (-2.0f64).exp()).ln() + 500.0) / 2.0;
        assert!((pb[0] - want).abs() < 1e-12, "{} {want}", pb[0]);
    }

    /// Equal to the probability-space loss on softmax/sigmoid outputs away from the clip.
    #[test]
    fn agrees_with_loss_on_probabilities() {
        let mut r = Rng::new(3);
        let (n, k) = (5, 4);
        let z: Vec<f64> = (0..n * k).map(|_| r.uniform(-2.0, 2.0)).collect();
        let y: Vec<f64> = (0..n * k).map(|i| if i % k == i / k % k { 1.0 } else { 0.0 }).collect();
        let p: Vec<f64> = z.chunks(k).flat_map(softmax).collect();
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        LogitsLoss::Categorical.compute(&y, &z, n, k, None, &mut a, None);
        Loss::CategoricalCrossentropy.compute(&y, &p, n, k, None, &mut b, None);
        for i in 0..n {
            assert!((a[i] - b[i]).abs() < 1e-9);
        }
        let sig: Vec<f64> = z.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
        let yb: Vec<f64> = (0..n * k).map(|_| r.uniform(0.0, 1.0)).collect();
        LogitsLoss::Binary.compute(&yb, &z, n, k, None, &mut a, None);
        Loss::BinaryCrossentropy.compute(&yb, &sig, n, k, None, &mut b, None);
        for i in 0..n {
            assert!((a[i] - b[i]).abs() < 1e-9);
        }
    }

    /// Finite-difference gradient check, with sample weights.
    #[test]
    fn gradient_matches_finite_differences() {
        let mut r = Rng::new(11);
        let (n, k) = (3, 5);
        let z: Vec<f64> = (0..n * k).map(|_| r.uniform(-3.0, 3.0)).collect();
        let w = [0.5, 2.0, 1.0];
        let cases = [
            (LogitsLoss::Categorical, (0..n * k).map(|_| r.uniform(0.0, 1.0)).collect::<Vec<f64>>()),
            (LogitsLoss::SparseCategorical, vec![4.0, 0.0, 2.0]),
            (LogitsLoss::Binary, (0..n * k).map(|_| r.uniform(0.0, 1.0)).collect()),
        ];
        for (kind, y) in cases {
            let mut per = vec![0.0; n];
            let mut g = vec![0.0; n * k];
            kind.compute(&y, &z, n, k, Some(&w), &mut per, Some(&mut g));
            let num = fd_grad(&z, |zz| {
                let mut p = vec![0.0; n];
                kind.compute(&y, zz, n, k, Some(&w), &mut p, None)
            });
            for (a, b) in g.iter().zip(&num) {
                assert!(rel_err(*a, *b) < 1e-6, "{kind:?}: {a} vs {b}");
            }
        }
    }
}
