//! Keras metrics as per-sample values over row-major `(n, k)` blocks, plus
//! the resolution of metric strings (including `"accuracy"` / `"acc"`).
//!
//! The training loop keeps a sample-weighted running mean of the per-sample
//! values and reports [`Metric::finalize`] of it (the identity except for
//! RMSE, which is the square root of the running mean squared error). Because
//! every sample contributes `k` elements, this equals Keras's element-wise
//! weighted mean for the accuracy metrics too.

use crate::losses::{label_index, Loss};
use crate::Real;

/// A Keras metric.
///
/// `y_true` has one column (a class index stored as a float) for the sparse
/// variants and `LossFn(Loss::SparseCategoricalCrossentropy)`, `k` columns
/// otherwise (see [`Metric::y_columns`]).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// mean over the last axis of `[(p > threshold) == y]` (Keras default threshold 0.5).
    BinaryAccuracy {
        /// Decision threshold.
        threshold: f64,
    },
    /// `argmax(y) == argmax(p)` (first maximum wins ties, as `argmax` does).
    CategoricalAccuracy,
    /// `y == argmax(p)` with `y` a class index.
    SparseCategoricalAccuracy,
    /// `argmax(y)` is among the `k` largest predictions (ties at the boundary count as in).
    TopKCategoricalAccuracy {
        /// How many top predictions count as a hit (Keras default 5).
        k: usize,
    },
    /// The class index `y` is among the `k` largest predictions.
    SparseTopKCategoricalAccuracy {
        /// How many top predictions count as a hit (Keras default 5).
        k: usize,
    },
    /// A loss function used as a metric (`"mse"`, `"binary_crossentropy"`, ...):
    /// the per-sample loss value.
    LossFn(Loss),
    /// sqrt of the (weighted) mean squared error; per-sample values are the
    /// squared errors averaged over the last axis, [`Metric::finalize`] takes the root.
    RootMeanSquaredError,
    /// Cosine similarity (positive: 1 for identical directions), the
    /// `keras.metrics.CosineSimilarity` metric. Note this is the negative of
    /// the `cosine_similarity` loss.
    CosineSimilarity,
}

/// Metric names accepted by [`resolve_metric`] besides `"accuracy"`/`"acc"`
/// and `"crossentropy"`/`"ce"` (loss names are accepted too).
const METRIC_NAMES: &[&str] = &[
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "root_mean_squared_error",
    "cosine_similarity",
    "log_cosh_error",
];

/// Default `k` of the top-k accuracy metrics.
pub const DEFAULT_TOP_K: usize = 5;

/// Resolves a metric string as TF2 / Keras 3 `compile()` does.
///
/// * `"accuracy"` / `"acc"` by shapes only (the loss is not consulted):
///   `k == 1` → `BinaryAccuracy { threshold: 0.5 }`; else `y_columns == 1`
///   → `SparseCategoricalAccuracy`; else `CategoricalAccuracy`.
/// * `"crossentropy"` / `"ce"` the same way → `LossFn` of
///   `binary_crossentropy`, `sparse_categorical_crossentropy` or
///   `categorical_crossentropy`.
/// * Explicit metric names: `binary_accuracy`, `categorical_accuracy`,
///   `sparse_categorical_accuracy`, `top_k_categorical_accuracy` (k = 5),
///   `sparse_top_k_categorical_accuracy` (k = 5), `root_mean_squared_error`,
///   `cosine_similarity` (the positive metric), `log_cosh_error`.
/// * Any loss name or alias of [`Loss::from_name`] (`mse`, `mae`, `mape`,
///   `msle`, `binary_crossentropy`, `kld`, `hinge`, `poisson`, ...) →
///   `LossFn`. `"cosine_proximity"` → `LossFn(CosineSimilarity)` (−cos, the
///   Keras 2.2 metric).
///
/// `k` is the number of output columns, `y_columns` the number of `y_true`
/// columns. The error message lists the valid names.
pub fn resolve_metric(name: &str, k: usize, y_columns: usize) -> Result<Metric, String> {
    let is_binary = k == 1;
    let is_sparse = !is_binary && y_columns == 1;
    match name {
        "accuracy" | "acc" => Ok(if is_binary {
            Metric::BinaryAccuracy { threshold: 0.5 }
        } else if is_sparse {
            Metric::SparseCategoricalAccuracy
        } else {
            Metric::CategoricalAccuracy
        }),
        "crossentropy" | "ce" => Ok(Metric::LossFn(if is_binary {
            Loss::BinaryCrossentropy
        } else if is_sparse {
            Loss::SparseCategoricalCrossentropy
        } else {
            Loss::CategoricalCrossentropy
        })),
        "binary_accuracy" => Ok(Metric::BinaryAccuracy { threshold: 0.5 }),
        "categorical_accuracy" => Ok(Metric::CategoricalAccuracy),
        "sparse_categorical_accuracy" => Ok(Metric::SparseCategoricalAccuracy),
        "top_k_categorical_accuracy" => Ok(Metric::TopKCategoricalAccuracy { k: DEFAULT_TOP_K }),
        "sparse_top_k_categorical_accuracy" => Ok(Metric::SparseTopKCategoricalAccuracy { k: DEFAULT_TOP_K }),
        "root_mean_squared_error" => Ok(Metric::RootMeanSquaredError),
        "cosine_similarity" => Ok(Metric::CosineSimilarity),
        "log_cosh_error" => Ok(Metric::LossFn(Loss::LogCosh)),
        _ => Loss::from_name(name).map(Metric::LossFn).map_err(|_| {
            let mut names: Vec<&str> = vec!["accuracy", "acc", "crossentropy", "ce"];
            names.extend_from_slice(METRIC_NAMES);
            names.extend(Loss::valid_names().filter(|s| *s != "cosine_similarity"));
            format!("Unknown metric '{}'. Valid metrics are: {}", name, names.join(", "))
        }),
    }
}

impl Metric {
    /// The Keras default name of the metric (e.g. `"categorical_accuracy"`,
    /// `"mean_squared_error"`). Note that Keras logs a metric given as a
    /// string under that string, not under this name.
    pub fn name(&self) -> &'static str {
        match self {
            Metric::BinaryAccuracy { .. } => "binary_accuracy",
            Metric::CategoricalAccuracy => "categorical_accuracy",
            Metric::SparseCategoricalAccuracy => "sparse_categorical_accuracy",
            Metric::TopKCategoricalAccuracy { .. } => "top_k_categorical_accuracy",
            Metric::SparseTopKCategoricalAccuracy { .. } => "sparse_top_k_categorical_accuracy",
            Metric::LossFn(l) => l.name(),
            Metric::RootMeanSquaredError => "root_mean_squared_error",
            Metric::CosineSimilarity => "cosine_similarity",
        }
    }

    /// Number of `y_true` columns the metric expects for `k` output columns.
    pub fn y_columns(&self, k: usize) -> usize {
        match self {
            Metric::SparseCategoricalAccuracy | Metric::SparseTopKCategoricalAccuracy { .. } => 1,
            Metric::LossFn(l) => l.y_columns(k),
            _ => k,
        }
    }

    /// Writes the per-sample metric values into `out` (length `n`).
    ///
    /// `y_true` has `n * self.y_columns(k)` values, `y_pred` `n * k`.
    /// Sparse labels are compared as Keras does (`y == argmax` as floats for
    /// the accuracy; rounded to the nearest index for top-k, where an invalid
    /// label is a miss). Panics on length mismatch. Does not allocate.
    pub fn per_sample<T: Real>(&self, y_true: &[T], y_pred: &[T], n: usize, k: usize, out: &mut [T]) {
        let yc = self.y_columns(k);
        assert_eq!(y_true.len(), n * yc, "y_true must have n*{yc} values");
        assert_eq!(y_pred.len(), n * k, "y_pred must have n*k values");
        assert_eq!(out.len(), n, "out must have n values");
        if n == 0 {
            return;
        }
        if k == 0 {
            out.iter_mut().for_each(|v| *v = T::zero());
            return;
        }
        let one = T::one();
        let zero = T::zero();
        let hit = |b: bool| if b { one } else { zero };
        match self {
            Metric::LossFn(loss) => {
                loss.compute(y_true, y_pred, n, k, None, out, None);
            }
            Metric::BinaryAccuracy { threshold } => {
                let t = T::c(*threshold);
                let inv_k = one / T::from_usize(k).unwrap();
                for ((o, yt), yp) in out.iter_mut().zip(y_true.chunks_exact(k)).zip(y_pred.chunks_exact(k)) {
                    let mut c = zero;
                    for (y, p) in yt.iter().zip(yp) {
                        let pred = if *p > t { one } else { zero };
                        if pred == *y {
                            c += one;
                        }
                    }
                    *o = c * inv_k;
                }
            }
            Metric::CategoricalAccuracy => {
                for ((o, yt), yp) in out.iter_mut().zip(y_true.chunks_exact(k)).zip(y_pred.chunks_exact(k)) {
                    *o = hit(argmax(yt) == argmax(yp));
                }
            }
            Metric::SparseCategoricalAccuracy => {
                for ((o, y), yp) in out.iter_mut().zip(y_true).zip(y_pred.chunks_exact(k)) {
                    *o = hit(*y == T::from_usize(argmax(yp)).unwrap());
                }
            }
            Metric::TopKCategoricalAccuracy { k: top } => {
                for ((o, yt), yp) in out.iter_mut().zip(y_true.chunks_exact(k)).zip(y_pred.chunks_exact(k)) {
                    *o = hit(in_top_k(yp, argmax(yt), *top));
                }
            }
            Metric::SparseTopKCategoricalAccuracy { k: top } => {
                for ((o, y), yp) in out.iter_mut().zip(y_true).zip(y_pred.chunks_exact(k)) {
                    *o = hit(label_index(*y, k).is_some_and(|c| in_top_k(yp, c, *top)));
                }
            }
            Metric::RootMeanSquaredError => {
                let inv_k = one / T::from_usize(k).unwrap();
                for ((o, yt), yp) in out.iter_mut().zip(y_true.chunks_exact(k)).zip(y_pred.chunks_exact(k)) {
                    let mut s = zero;
                    for (y, p) in yt.iter().zip(yp) {
                        let e = *p - *y;
                        s += e * e;
                    }
                    *o = s * inv_k;
                }
            }
            Metric::CosineSimilarity => {
                Loss::CosineSimilarity.compute(y_true, y_pred, n, k, None, out, None);
                out.iter_mut().for_each(|v| *v = -*v);
            }
        }
    }

    /// Turns the sample-weighted running mean of the per-sample values into
    /// the reported value: the identity, except `sqrt` for RMSE.
    pub fn finalize(&self, mean: f64) -> f64 {
        match self {
            Metric::RootMeanSquaredError => mean.sqrt(),
            _ => mean,
        }
    }
}

/// Index of the first maximum (NaN never wins), like `argmax`.
#[inline]
fn argmax<T: Real>(row: &[T]) -> usize {
    let mut best = 0;
    let mut bv = row[0];
    for (j, v) in row.iter().enumerate().skip(1) {
        if *v > bv || (bv.is_nan() && !v.is_nan()) {
            bv = *v;
            best = j;
        }
    }
    best
}

/// Whether `target` is among the `top` largest of `row`: fewer than `top`
/// entries are strictly greater than `row[target]` (ties at the boundary
/// count as in, like `in_top_k`).
#[inline]
fn in_top_k<T: Real>(row: &[T], target: usize, top: usize) -> bool {
    let t = row[target];
    if t.is_nan() {
        return false;
    }
    row.iter().filter(|v| **v > t).count() < top
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_resolution() {
        assert_eq!(resolve_metric("accuracy", 1, 1).unwrap(), Metric::BinaryAccuracy { threshold: 0.5 });
        assert_eq!(resolve_metric("acc", 10, 1).unwrap(), Metric::SparseCategoricalAccuracy);
        assert_eq!(resolve_metric("accuracy", 10, 10).unwrap(), Metric::CategoricalAccuracy);
        // multi-column binary_crossentropy setup: shapes only -> categorical (TF2)
        assert_eq!(resolve_metric("accuracy", 3, 3).unwrap(), Metric::CategoricalAccuracy);
        assert_eq!(resolve_metric("crossentropy", 1, 1).unwrap(), Metric::LossFn(Loss::BinaryCrossentropy));
        assert_eq!(resolve_metric("ce", 5, 1).unwrap(), Metric::LossFn(Loss::SparseCategoricalCrossentropy));
        assert_eq!(resolve_metric("ce", 5, 5).unwrap(), Metric::LossFn(Loss::CategoricalCrossentropy));
    }

    #[test]
    fn explicit_names() {
        let cases = [
            ("mae", Metric::LossFn(Loss::MeanAbsoluteError)),
            ("mse", Metric::LossFn(Loss::MeanSquaredError)),
            ("mape", Metric::LossFn(Loss::MeanAbsolutePercentageError)),
            ("msle", Metric::LossFn(Loss::MeanSquaredLogarithmicError)),
            ("binary_accuracy", Metric::BinaryAccuracy { threshold: 0.5 }),
            ("categorical_accuracy", Metric::CategoricalAccuracy),
            ("sparse_categorical_accuracy", Metric::SparseCategoricalAccuracy),
            ("top_k_categorical_accuracy", Metric::TopKCategoricalAccuracy { k: 5 }),
            ("sparse_top_k_categorical_accuracy", Metric::SparseTopKCategoricalAccuracy { k: 5 }),
            ("root_mean_squared_error", Metric::RootMeanSquaredError),
            ("binary_crossentropy", Metric::LossFn(Loss::BinaryCrossentropy)),
            ("categorical_crossentropy", Metric::LossFn(Loss::CategoricalCrossentropy)),
            ("sparse_categorical_crossentropy", Metric::LossFn(Loss::SparseCategoricalCrossentropy)),
            ("kld", Metric::LossFn(Loss::KullbackLeiblerDivergence)),
            ("hinge", Metric::LossFn(Loss::Hinge)),
            ("logcosh", Metric::LossFn(Loss::LogCosh)),
            ("log_cosh_error", Metric::LossFn(Loss::LogCosh)),
            ("cosine_similarity", Metric::CosineSimilarity),
            ("cosine_proximity", Metric::LossFn(Loss::CosineSimilarity)),
        ];
        for (s, m) in cases {
            assert_eq!(resolve_metric(s, 10, 10).unwrap(), m, "{s}");
        }
        let e = resolve_metric("f1", 10, 10).unwrap_err();
        assert!(e.contains("'f1'") && e.contains("accuracy") && e.contains("mse"), "{e}");
        let m = Metric::TopKCategoricalAccuracy { k: 3 };
        let js = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Metric>(&js).unwrap(), m);
        assert_eq!(Metric::SparseCategoricalAccuracy.y_columns(10), 1);
        assert_eq!(Metric::LossFn(Loss::SparseCategoricalCrossentropy).y_columns(10), 1);
        assert_eq!(Metric::RootMeanSquaredError.y_columns(10), 10);
    }

    #[test]
    fn accuracy_counts() {
        let (n, k) = (4, 3);
        let p = [
            0.1, 0.7, 0.2, //
            0.5, 0.3, 0.2, //
            0.2, 0.2, 0.6, //
            0.4, 0.4, 0.2, // tie: argmax = 0
        ];
        let labels = [1.0, 1.0, 2.0, 0.0];
        let mut onehot = [0.0; 12];
        for i in 0..n {
            onehot[i * k + labels[i] as usize] = 1.0;
        }
        let mut out = [0.0; 4];
        Metric::CategoricalAccuracy.per_sample(&onehot, &p, n, k, &mut out);
        assert_eq!(out, [1.0, 0.0, 1.0, 1.0]);
        Metric::SparseCategoricalAccuracy.per_sample(&labels, &p, n, k, &mut out);
        assert_eq!(out, [1.0, 0.0, 1.0, 1.0]);
        Metric::TopKCategoricalAccuracy { k: 2 }.per_sample(&onehot, &p, n, k, &mut out);
        assert_eq!(out, [1.0, 1.0, 1.0, 1.0]);
        Metric::TopKCategoricalAccuracy { k: 1 }.per_sample(&onehot, &p, n, k, &mut out);
        assert_eq!(out, [1.0, 0.0, 1.0, 1.0]);
        // ties straddling the boundary count as in: row 3 label 1 with k = 1
        Metric::SparseTopKCategoricalAccuracy { k: 1 }.per_sample(&[1.0, 2.0, 0.0, 1.0], &p, n, k, &mut out);
        assert_eq!(out, [1.0, 0.0, 0.0, 1.0]);
        Metric::SparseTopKCategoricalAccuracy { k: 5 }.per_sample(&[1.0, 2.0, 0.0, 7.0], &p, n, k, &mut out);
        assert_eq!(out, [1.0, 1.0, 1.0, 0.0]); // invalid label 7 is a miss
        let mean: f64 = out.iter().sum::<f64>() / 4.0;
        assert_eq!(mean, 0.75);

        // binary accuracy, element-wise then mean over the last axis
        let y = [1.0, 0.0, 1.0, 1.0];
        let pb = [0.6, 0.4, 0.5, 0.9]; // 0.5 is not > 0.5 -> predicted 0
        let mut o2 = [0.0; 2];
        Metric::BinaryAccuracy { threshold: 0.5 }.per_sample(&y, &pb, 2, 2, &mut o2);
        assert_eq!(o2, [1.0, 0.5]);
        let mut o4 = [0.0f32; 4];
        let y32: Vec<f32> = y.iter().map(|v| *v as f32).collect();
        let p32: Vec<f32> = pb.iter().map(|v| *v as f32).collect();
        Metric::BinaryAccuracy { threshold: 0.7 }.per_sample(&y32, &p32, 4, 1, &mut o4);
        assert_eq!(o4, [0.0, 1.0, 0.0, 1.0]);
    }

    #[test]
    fn loss_metrics_and_rmse() {
        let y = [1.0, 2.0, 3.0, 4.0];
        let p = [1.0, 4.0, 3.0, 3.0];
        let mut out = [0.0; 2];
        let m = resolve_metric("mse", 2, 2).unwrap();
        m.per_sample(&y, &p, 2, 2, &mut out);
        assert_eq!(out, [2.0, 0.5]);
        assert_eq!(m.finalize(1.25), 1.25);
        let r = Metric::RootMeanSquaredError;
        r.per_sample(&y, &p, 2, 2, &mut out);
        assert_eq!(out, [2.0, 0.5]);
        assert_eq!(r.finalize((out[0] + out[1]) / 2.0), 1.25f64.sqrt());
        let mae = resolve_metric("mae", 2, 2).unwrap();
        mae.per_sample(&y, &p, 2, 2, &mut out);
        assert_eq!(out, [1.0, 0.5]);
        // cosine similarity metric is +cos
        let c = resolve_metric("cosine_similarity", 2, 2).unwrap();
        c.per_sample(&[1.0, 1.0, 0.0, 1.0], &[2.0, 2.0, 1.0, 0.0], 2, 2, &mut out);
        assert!((out[0] - 1.0).abs() < 1e-12 && out[1].abs() < 1e-12);
        // sparse crossentropy as a metric
        let sce = resolve_metric("ce", 3, 1).unwrap();
        let mut o1 = [0.0];
        sce.per_sample(&[1.0], &[0.2, 0.7, 0.1], 1, 3, &mut o1);
        assert!((o1[0] + 0.7f64.ln()).abs() < 1e-12);
    }
}
