//! Weight initializers with Keras names and formulas (keras.initializers).

use crate::rng::Rng;
use crate::Real;
use serde::{Deserialize, Serialize};

/// An initializer as R describes it: `list(name = "glorot_uniform")`, or with parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum Initializer {
    GlorotUniform,
    GlorotNormal,
    HeUniform,
    HeNormal,
    LecunUniform,
    LecunNormal,
    Zeros,
    Ones,
    Constant {
        value: f64,
    },
    RandomNormal {
        #[serde(default)]
        mean: f64,
        #[serde(default = "default_stddev")]
        stddev: f64,
    },
    RandomUniform {
        #[serde(default = "default_minval")]
        minval: f64,
        #[serde(default = "default_maxval")]
        maxval: f64,
    },
    TruncatedNormal {
        #[serde(default)]
        mean: f64,
        #[serde(default = "default_stddev")]
        stddev: f64,
    },
    /// A random orthogonal matrix (Keras' `Orthogonal`): the weight read as a
    /// `(fan_in, size / fan_in)` matrix has orthonormal rows or columns, times `gain`.
    Orthogonal {
        #[serde(default = "default_gain")]
        gain: f64,
    },
    /// `gain` times the identity matrix (Keras' `Identity`), the weight read as a
    /// `(fan_in, size / fan_in)` matrix.
    Identity {
        #[serde(default = "default_gain")]
        gain: f64,
    },
}

fn default_gain() -> f64 {
    1.0
}

fn default_stddev() -> f64 {
    0.05
}
fn default_minval() -> f64 {
    -0.05
}
fn default_maxval() -> f64 {
    0.05
}

/// Names accepted in R (for error messages).
pub const INITIALIZER_NAMES: &[&str] = &[
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "zeros",
    "ones",
    "constant",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "orthogonal",
    "identity",
];

/// Keras' correction so that a normal truncated at two standard deviations has the wanted stddev.
const TRUNC_STD: f64 = 0.879_625_661_034_239_8;

fn truncated_normal(rng: &mut Rng, mean: f64, stddev: f64) -> f64 {
    loop {
        let z = rng.normal();
        if z.abs() <= 2.0 {
            return mean + stddev * z;
        }
    }
}

impl Initializer {
    /// Fills `out` for a weight with the given fans (dense kernel: fan_in = inputs, fan_out = units).
    pub fn fill<T: Real>(&self, out: &mut [T], fan_in: usize, fan_out: usize, rng: &mut Rng) {
        let (fi, fo) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
        let uniform = |out: &mut [T], rng: &mut Rng, lo: f64, hi: f64| {
            for v in out.iter_mut() {
                *v = T::c(lo + (hi - lo) * rng.uniform());
            }
        };
        let trunc = |out: &mut [T], rng: &mut Rng, var: f64| {
            let sd = var.sqrt() / TRUNC_STD;
            for v in out.iter_mut() {
                *v = T::c(truncated_normal(rng, 0.0, sd));
            }
        };
        match *self {
            Initializer::GlorotUniform => {
                let l = (6.0 / (fi + fo)).sqrt();
                uniform(out, rng, -l, l)
            }
            Initializer::HeUniform => {
                let l = (6.0 / fi).sqrt();
                uniform(out, rng, -l, l)
            }
            Initializer::LecunUniform => {
                let l = (3.0 / fi).sqrt();
                uniform(out, rng, -l, l)
            }
            Initializer::GlorotNormal => trunc(out, rng, 2.0 / (fi + fo)),
            Initializer::HeNormal => trunc(out, rng, 2.0 / fi),
            Initializer::LecunNormal => trunc(out, rng, 1.0 / fi),
            Initializer::Zeros => out.iter_mut().for_each(|v| *v = T::zero()),
            Initializer::Ones => out.iter_mut().for_each(|v| *v = T::one()),
            Initializer::Constant { value } => out.iter_mut().for_each(|v| *v = T::c(value)),
            Initializer::RandomNormal { mean, stddev } => {
                out.iter_mut().for_each(|v| *v = T::c(mean + stddev * rng.normal()))
            }
            Initializer::RandomUniform { minval, maxval } => uniform(out, rng, minval, maxval),
            Initializer::TruncatedNormal { mean, stddev } => {
                out.iter_mut().for_each(|v| *v = T::c(truncated_normal(rng, mean, stddev)))
            }
            Initializer::Orthogonal { gain } => {
                let rows = fan_in.max(1).min(out.len().max(1));
                orthogonal(out, rows, out.len() / rows, gain, rng)
            }
            Initializer::Identity { gain } => {
                let rows = fan_in.max(1).min(out.len().max(1));
                let cols = out.len() / rows;
                for (i, v) in out.iter_mut().enumerate() {
                    *v = if i / cols == i % cols { T::c(gain) } else { T::zero() };
                }
            }
        }
    }
}

/// Keras' orthogonal initializer on a `rows x cols` row-major `out`: the QR decomposition of a
/// `(max, min)` matrix of standard normals, Q with its columns' signs set so that R has a
/// positive diagonal (modified Gram-Schmidt gives exactly that Q), transposed when there are
/// fewer rows than columns, times `gain`. Computed in f64, so f32 and f64 weights agree.
fn orthogonal<T: Real>(out: &mut [T], rows: usize, cols: usize, gain: f64, rng: &mut Rng) {
    let (m, n) = (rows.max(cols), rows.min(cols));
    if n == 0 {
        return;
    }
    // a: m x n, column-major (column j at j*m), drawn row by row as numpy's (m, n) normal
    let mut a = vec![0f64; m * n];
    for i in 0..m {
        for j in 0..n {
            a[j * m + i] = rng.normal();
        }
    }
    for j in 0..n {
        for k in 0..j {
            let (qk, qj) = a.split_at_mut(j * m);
            let qk = &qk[k * m..(k + 1) * m];
            let qj = &mut qj[..m];
            let d: f64 = qk.iter().zip(qj.iter()).map(|(x, y)| x * y).sum();
            qj.iter_mut().zip(qk).for_each(|(y, x)| *y -= d * x);
        }
        let col = &mut a[j * m..(j + 1) * m];
        let norm = col.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 0.0 {
            col.iter_mut().for_each(|x| *x /= norm);
        }
    }
    for r in 0..rows {
        for c in 0..cols {
            // q is m x n; out = q (rows >= cols) or q^T (rows < cols)
            let v = if rows >= cols { a[c * m + r] } else { a[r * m + c] };
            out[r * cols + c] = T::c(gain * v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glorot_uniform_respects_keras_limit() {
        let mut rng = Rng::seed_from(3);
        let mut w = vec![0f32; 784 * 256];
        Initializer::GlorotUniform.fill(&mut w, 784, 256, &mut rng);
        let l = (6.0f64 / (784.0 + 256.0)).sqrt() as f32; // 0.0760
        assert!((l - 0.0760).abs() < 1e-4);
        assert!(w.iter().all(|v| v.abs() <= l));
        let max = w.iter().fold(0f32, |a, v| a.max(v.abs()));
        assert!(max > 0.99 * l);
    }

    #[test]
    fn he_normal_has_the_keras_stddev() {
        let mut rng = Rng::seed_from(4);
        let mut w = vec![0f64; 100_000];
        Initializer::HeNormal.fill(&mut w, 50, 10, &mut rng);
        let sd = (w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64).sqrt();
        assert!((sd - (2.0f64 / 50.0).sqrt()).abs() < 0.005, "sd {sd}");
    }

    #[test]
    fn orthogonal_has_orthonormal_rows_or_columns_and_repeats_under_a_seed() {
        for &(rows, cols) in &[(4usize, 16usize), (16, 4), (5, 5)] {
            let mut w = vec![0f64; rows * cols];
            Initializer::Orthogonal { gain: 2.0 }.fill(&mut w, rows, cols, &mut Rng::seed_from(9));
            let (a, b, outer) = if rows < cols { (rows, cols, true) } else { (cols, rows, false) };
            for i in 0..a {
                for j in 0..a {
                    let d: f64 =
                        (0..b)
                            .map(|k| {
                                if outer {
                                    w[i * cols + k] * w[j * cols + k]
                                } else {
                                    w[k * cols + i] * w[k * cols + j]
                                }
                            })
                            .sum();
                    let want = if i == j { 4.0 } else { 0.0 };
                    assert!((d - want).abs() < 1e-12, "{rows}x{cols} ({i},{j}): {d}");
                }
            }
            let mut again = vec![0f64; rows * cols];
            Initializer::Orthogonal { gain: 2.0 }.fill(&mut again, rows, cols, &mut Rng::seed_from(9));
            assert_eq!(w, again);
        }
        let mut w = vec![0f32; 6];
        Initializer::Identity { gain: 0.5 }.fill(&mut w, 2, 3, &mut Rng::seed_from(1));
        assert_eq!(w, [0.5, 0.0, 0.0, 0.0, 0.5, 0.0]);
    }

    #[test]
    fn parses_r_specs_and_rejects_unknown() {
        let i: Initializer = serde_json::from_str(r#"{"name":"random_normal","stddev":0.1}"#).unwrap();
        assert_eq!(i, Initializer::RandomNormal { mean: 0.0, stddev: 0.1 });
        assert!(serde_json::from_str::<Initializer>(r#"{"name":"bogus"}"#).is_err());
    }
}
