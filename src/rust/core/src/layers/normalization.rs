//! `layer_batch_normalization` (Keras 3 `BatchNormalization`): per feature along `axis` (by
//! default the last axis; any input rank), over the batch and every other axis.
//!
//! Training (`fit()`, `train_on_batch()`): `y = gamma * (x - mean) / sqrt(var + epsilon) + beta`
//! with the batch's mean and biased variance (`ops.moments`), and the moving statistics
//! become `moving * momentum + batch * (1 - momentum)`. Inference (`predict()`, `evaluate()`,
//! validation) and a frozen layer (`trainable = FALSE`, as in Keras): the moving statistics.
//! Weights in Keras order: `gamma` (when `scale`), `beta` (when `center`), then the state
//! `moving_mean`, `moving_variance` (not trainable), each of shape `(features)`.
//!
//! A sample of shape `s` with `p = axis` viewed as `(outer, c, inner)`: `outer` the product of
//! the batch and `s[..p]`, `c = s[p]`, `inner` the product of `s[p+1..]` (1 for the last axis).

use super::{fmt_shape, ConfigEntries, Layer, LayerDef, LayerSpec, WeightCount, WeightRef};
use crate::init::Initializer;
use crate::keras_h5::keras2;
use crate::keras_h5::KerasLayerConfig;
use crate::keras_json::{initializer_json, Json};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use serde::{Deserialize, Serialize};

fn minus_one() -> i64 {
    -1
}
fn momentum() -> f64 {
    0.99
}
fn epsilon() -> f64 {
    1e-3
}
fn zeros() -> Initializer {
    Initializer::Zeros
}
fn ones() -> Initializer {
    Initializer::Ones
}

/// `layer_batch_normalization()`'s arguments. `axis` counts the batch axis as 0, as Keras
/// does: `-1` is the last axis, `1` the first axis of a sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchNormalizationConfig {
    #[serde(default = "minus_one")]
    pub axis: i64,
    #[serde(default = "momentum")]
    pub momentum: f64,
    #[serde(default = "epsilon")]
    pub epsilon: f64,
    #[serde(default = "super::yes")]
    pub center: bool,
    #[serde(default = "super::yes")]
    pub scale: bool,
    #[serde(default = "zeros")]
    pub beta_initializer: Initializer,
    #[serde(default = "ones")]
    pub gamma_initializer: Initializer,
    #[serde(default = "zeros")]
    pub moving_mean_initializer: Initializer,
    #[serde(default = "ones")]
    pub moving_variance_initializer: Initializer,
}

impl BatchNormalizationConfig {
    /// Checks the numbers, and the axis against per-sample `input`: the axis as an index
    /// into the sample's shape.
    fn check(&self, layer: &str, input: &[usize]) -> Result<usize, String> {
        let what = format!("{layer} (BatchNormalization)");
        if !(self.epsilon > 0.0 && self.epsilon.is_finite()) {
            return Err(format!("{what}: epsilon must be a positive number, got {}", self.epsilon));
        }
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(format!("{what}: momentum must be in [0, 1], got {}", self.momentum));
        }
        let r = input.len() as i64;
        let a = self.axis;
        if a == 0 || a < -r || a > r {
            let batch = if a == 0 || a == -r - 1 { " (the batch axis)" } else { "" };
            return Err(format!(
                "{what}: axis {a}{batch} is not a feature axis of input shape (None, {}); use -1 (the last axis) \
                 or 1 to {r}, counting the batch axis as 0",
                fmt_shape(input)
            ));
        }
        Ok(if a > 0 { (a - 1) as usize } else { (r + a) as usize })
    }

    fn nulls(c: &mut ConfigEntries) {
        for k in ["beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"] {
            c.push((k, Json::Null));
        }
    }

    fn head(&self, c: &mut ConfigEntries) {
        c.push(("axis", Json::Int(self.axis)));
        c.push(("momentum", Json::Float(self.momentum)));
        c.push(("epsilon", Json::Float(self.epsilon)));
        c.push(("center", Json::Bool(self.center)));
        c.push(("scale", Json::Bool(self.scale)));
    }
}

impl LayerDef for BatchNormalizationConfig {
    // call(inputs, training=None, mask=None): Keras 3 records the mask, not the training flag
    const MASK_KWARG: bool = true;

    fn build<T: Real>(
        &self,
        spec: &LayerSpec,
        inputs: &[&[usize]],
        rng: &mut Rng,
    ) -> Result<Box<dyn Layer<T>>, String> {
        let p = self.check(&spec.name, inputs[0])?;
        Ok(Box::new(BatchNorm::new(spec.clone(), self, inputs[0], p, rng)))
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        self.head(c);
        c.push(("beta_initializer", initializer_json(&self.beta_initializer)));
        c.push(("gamma_initializer", initializer_json(&self.gamma_initializer)));
        c.push(("moving_mean_initializer", initializer_json(&self.moving_mean_initializer)));
        c.push(("moving_variance_initializer", initializer_json(&self.moving_variance_initializer)));
        Self::nulls(c);
        c.push(("synchronized", Json::Bool(false)));
        c.push(("renorm", Json::Bool(false)));
        c.push(("renorm_clipping", Json::Null));
        c.push(("renorm_momentum", Json::Float(0.99)));
    }

    /// tf.keras 2 writes the same entries up to `gamma_constraint` (its built layer turns
    /// `axis` into a list of positive axes; the integer reads back the same).
    fn keras2_config(&self, _layer: &str, c: &mut ConfigEntries) -> Result<(), String> {
        self.head(c);
        c.push(("beta_initializer", keras2::initializer(&self.beta_initializer)));
        c.push(("gamma_initializer", keras2::initializer(&self.gamma_initializer)));
        c.push(("moving_mean_initializer", keras2::initializer(&self.moving_mean_initializer)));
        c.push(("moving_variance_initializer", keras2::initializer(&self.moving_variance_initializer)));
        Self::nulls(c);
        Ok(())
    }

    /// Keras computes the training statistics over the unmasked steps only, which rkeras does
    /// not do yet: a masked input is refused rather than normalised differently.
    fn mask_flow(&self) -> super::MaskFlow {
        super::MaskFlow::Refuse
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        c.require_null(&[
            "beta_regularizer",
            "gamma_regularizer",
            "beta_constraint",
            "gamma_constraint",
            "renorm_clipping",
            "virtual_batch_size",
            "adjustment",
        ])?;
        let err = |what: String| format!("layer '{}' (BatchNormalization): {what}", c.name);
        if c.bool_or("renorm", false) {
            return Err(err("renorm = true (batch renormalization) is not supported by rkeras".into()));
        }
        // tf.keras 2 writes the built layer's axes as a list of positive axes
        let axis = match c.get("axis") {
            None => -1,
            Some(serde_json::Value::Array(_)) => match c.int_list("axis")?[..] {
                [a] => a,
                _ => return Err(err("normalizing over several axes is not supported by rkeras".into())),
            },
            Some(_) => c.int_arg("axis")?.unwrap_or(-1),
        };
        let num = |key: &str, default: f64| match c.get(key) {
            None | Some(serde_json::Value::Null) => Ok(default),
            Some(v) => v.as_f64().ok_or_else(|| err(format!("{key} = {v} is not a number"))),
        };
        let (momentum, epsilon) = (num("momentum", 0.99)?, num("epsilon", 1e-3)?);
        Ok(BatchNormalizationConfig {
            axis,
            momentum,
            epsilon,
            center: c.bool_or("center", true),
            scale: c.bool_or("scale", true),
            beta_initializer: c.initializer("beta_initializer", Initializer::Zeros),
            gamma_initializer: c.initializer("gamma_initializer", Initializer::Ones),
            moving_mean_initializer: c.initializer("moving_mean_initializer", Initializer::Zeros),
            moving_variance_initializer: c.initializer("moving_variance_initializer", Initializer::Ones),
        })
    }

    fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
        let Ok(p) = self.check("", shape) else { return WeightCount::Unknown };
        let per = 2 + usize::from(self.center) + usize::from(self.scale);
        shape[p].checked_mul(per).map_or(WeightCount::TooBig, WeightCount::Values)
    }

    fn min_weight_count(&self) -> usize {
        2
    }
}

pub struct BatchNorm<T> {
    spec: LayerSpec,
    shape: Vec<usize>,
    /// Features, and the product of the sample axes after the normalized one.
    c: usize,
    inner: usize,
    momentum: f64,
    epsilon: f64,
    gamma: Vec<T>,
    beta: Vec<T>,
    moving_mean: Vec<T>,
    moving_var: Vec<T>,
    dgamma: Vec<T>,
    dbeta: Vec<T>,
    /// Per feature, of the last forward pass: the mean it subtracted and `1/sqrt(var + eps)`.
    mean: Vec<T>,
    inv: Vec<T>,
    /// Per feature scratch: the scale and shift of `y = x * a + b`; sums for backward.
    a: Vec<T>,
    b: Vec<T>,
    p: Vec<T>,
    sums: Vec<f64>,
    sums2: Vec<f64>,
    /// Whether the last forward pass used the batch statistics.
    batch_stats: bool,
    input_gradient: bool,
}

impl<T: Real> BatchNorm<T> {
    fn new(spec: LayerSpec, cfg: &BatchNormalizationConfig, input: &[usize], p: usize, rng: &mut Rng) -> Self {
        let c = input[p];
        let init = |init: &Initializer, on: bool, rng: &mut Rng| {
            let mut v = vec![T::zero(); if on { c } else { 0 }];
            init.fill(&mut v, c, c, rng);
            v
        };
        // Keras builds gamma, beta, moving_mean, moving_variance in this order
        let gamma = init(&cfg.gamma_initializer, cfg.scale, rng);
        let beta = init(&cfg.beta_initializer, cfg.center, rng);
        let moving_mean = init(&cfg.moving_mean_initializer, true, rng);
        let moving_var = init(&cfg.moving_variance_initializer, true, rng);
        BatchNorm {
            spec,
            shape: input.to_vec(),
            c,
            inner: input[p + 1..].iter().product(),
            momentum: cfg.momentum,
            epsilon: cfg.epsilon,
            dgamma: vec![T::zero(); gamma.len()],
            dbeta: vec![T::zero(); beta.len()],
            gamma,
            beta,
            moving_mean,
            moving_var,
            mean: vec![T::zero(); c],
            inv: vec![T::zero(); c],
            a: vec![T::zero(); c],
            b: vec![T::zero(); c],
            p: vec![T::zero(); c],
            sums: vec![0.0; c],
            sums2: vec![0.0; c],
            batch_stats: false,
            input_gradient: true,
        }
    }

    /// Calls `f(feature, values)` for each contiguous run of one feature's values in `x`.
    #[inline]
    fn runs<'x>(&self, x: &'x [T], mut f: impl FnMut(usize, &'x [T])) {
        let (c, inner) = (self.c, self.inner);
        for row in x.chunks_exact(c * inner) {
            for j in 0..c {
                f(j, &row[j * inner..(j + 1) * inner]);
            }
        }
    }

    /// Values per feature in a batch of `len` values.
    fn count(&self, len: usize) -> usize {
        len / self.c
    }

    /// The batch mean and biased variance (two passes, summed in f64) into `mean` and `inv`.
    fn batch_moments(&mut self, x: &[T]) {
        let n = self.count(x.len()).max(1) as f64;
        let mut sums = std::mem::take(&mut self.sums);
        let mut sums2 = std::mem::take(&mut self.sums2);
        sums.iter_mut().for_each(|s| *s = 0.0);
        self.runs(x, |j, run| sums[j] += run.iter().map(|v| v.to_f64().unwrap()).sum::<f64>());
        sums.iter_mut().for_each(|s| *s /= n);
        sums2.iter_mut().for_each(|s| *s = 0.0);
        self.runs(x, |j, run| {
            let m = sums[j];
            sums2[j] += run.iter().map(|v| (v.to_f64().unwrap() - m).powi(2)).sum::<f64>();
        });
        for j in 0..self.c {
            self.mean[j] = T::c(sums[j]);
            // the variance as Keras has it (f32), for the moving average and the scale
            self.inv[j] = T::c(sums2[j] / n);
        }
        self.sums = sums;
        self.sums2 = sums2;
    }
}

impl<T: Real> Layer<T> for BatchNorm<T> {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, training: bool, _rng: &mut Rng) {
        let x = xs[0];
        // a frozen layer runs in inference mode, as in Keras
        self.batch_stats = training && self.spec.trainable;
        let eps = T::c(self.epsilon);
        if self.batch_stats {
            self.batch_moments(&x.data);
            let (m, m1) = (T::c(self.momentum), T::c(1.0 - self.momentum));
            for j in 0..self.c {
                let var = self.inv[j];
                self.moving_mean[j] = self.moving_mean[j] * m + self.mean[j] * m1;
                self.moving_var[j] = self.moving_var[j] * m + var * m1;
                self.inv[j] = T::one() / (var + eps).sqrt();
            }
        } else {
            for j in 0..self.c {
                self.mean[j] = self.moving_mean[j];
                self.inv[j] = T::one() / (self.moving_var[j] + eps).sqrt();
            }
        }
        // y = x * a + b with a = gamma * inv, b = beta - mean * a (Keras' ops.batch_normalization)
        for j in 0..self.c {
            let a = if self.gamma.is_empty() { self.inv[j] } else { self.gamma[j] * self.inv[j] };
            self.a[j] = a;
            self.b[j] = if self.beta.is_empty() { T::zero() } else { self.beta[j] } - self.mean[j] * a;
        }
        out.resize(&x.shape);
        let (a, b, c, inner) = (&self.a, &self.b, self.c, self.inner);
        for (o, xr) in out.data.chunks_exact_mut(c * inner).zip(x.data.chunks_exact(c * inner)) {
            if inner == 1 {
                for (((o, x), a), b) in o.iter_mut().zip(xr).zip(a).zip(b) {
                    *o = *x * *a + *b;
                }
                continue;
            }
            for ((o, xr), (a, b)) in o.chunks_exact_mut(inner).zip(xr.chunks_exact(inner)).zip(a.iter().zip(b)) {
                o.iter_mut().zip(xr).for_each(|(o, x)| *o = *x * *a + *b);
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
        let x = xs[0];
        // per feature: sum(g) and sum(g * xhat), xhat = (x - mean) * inv
        let mut sg = std::mem::take(&mut self.sums);
        let mut sgx = std::mem::take(&mut self.sums2);
        sg.iter_mut().for_each(|s| *s = 0.0);
        sgx.iter_mut().for_each(|s| *s = 0.0);
        let (c, inner) = (self.c, self.inner);
        for (gr, xr) in g.data.chunks_exact(c * inner).zip(x.data.chunks_exact(c * inner)) {
            for j in 0..c {
                let (m, inv) = (self.mean[j], self.inv[j]);
                let (mut s1, mut s2) = (0.0, 0.0);
                for (gv, xv) in gr[j * inner..(j + 1) * inner].iter().zip(&xr[j * inner..(j + 1) * inner]) {
                    let gv = gv.to_f64().unwrap();
                    s1 += gv;
                    s2 += gv * ((*xv - m) * inv).to_f64().unwrap();
                }
                sg[j] += s1;
                sgx[j] += s2;
            }
        }
        if !self.beta.is_empty() {
            self.dbeta.iter_mut().zip(&sg).for_each(|(d, s)| *d = T::c(*s));
        }
        if !self.gamma.is_empty() {
            self.dgamma.iter_mut().zip(&sgx).for_each(|(d, s)| *d = T::c(*s));
        }
        if let (true, Some(dx)) = (self.input_gradient, dxs[0].as_deref_mut()) {
            dx.resize(&x.shape);
            let n = self.count(x.data.len()).max(1) as f64;
            // training: dx = gamma * inv * (g - mean(g) - xhat * mean(g * xhat));
            // inference statistics are constants: dx = gamma * inv * g. Per feature:
            // dx = a * g - a * mean(g) - p * (x - mean), p = a * inv * mean(g * xhat)
            for j in 0..c {
                let a = if self.gamma.is_empty() { self.inv[j] } else { self.gamma[j] * self.inv[j] };
                let (mg, mgx) = if self.batch_stats { (sg[j] / n, sgx[j] / n) } else { (0.0, 0.0) };
                self.a[j] = a;
                self.b[j] = a * T::c(mg);
                self.p[j] = a * self.inv[j] * T::c(mgx);
            }
            let rows = g.data.chunks_exact(c * inner).zip(x.data.chunks_exact(c * inner));
            let coef = self.a.iter().zip(&self.b).zip(&self.p).zip(&self.mean);
            for (dr, (gr, xr)) in dx.data.chunks_exact_mut(c * inner).zip(rows) {
                let runs = dr.chunks_exact_mut(inner).zip(gr.chunks_exact(inner).zip(xr.chunks_exact(inner)));
                for ((d, (gv, xv)), (((&a, &amg), &p), &m)) in runs.zip(coef.clone()) {
                    for ((d, gv), xv) in d.iter_mut().zip(gv).zip(xv) {
                        *d = a * *gv - amg - p * (*xv - m);
                    }
                }
            }
        }
        self.sums = sg;
        self.sums2 = sgx;
    }

    fn weights(&self) -> Vec<WeightRef<'_, T>> {
        let shape = vec![self.c];
        let mut w = Vec::with_capacity(4);
        if !self.gamma.is_empty() {
            w.push(WeightRef { name: "gamma", shape: shape.clone(), values: &self.gamma, trainable: true });
        }
        if !self.beta.is_empty() {
            w.push(WeightRef { name: "beta", shape: shape.clone(), values: &self.beta, trainable: true });
        }
        w.push(WeightRef { name: "moving_mean", shape: shape.clone(), values: &self.moving_mean, trainable: false });
        w.push(WeightRef { name: "moving_variance", shape, values: &self.moving_var, trainable: false });
        w
    }

    fn push_params<'a>(&'a mut self, params: &mut Vec<&'a mut [T]>, grads: &mut Vec<&'a mut [T]>) {
        if !self.gamma.is_empty() {
            params.push(&mut self.gamma);
            grads.push(&mut self.dgamma);
        }
        if !self.beta.is_empty() {
            params.push(&mut self.beta);
            grads.push(&mut self.dbeta);
        }
    }

    fn push_weights_mut<'a>(&'a mut self, out: &mut Vec<&'a mut [T]>) {
        if !self.gamma.is_empty() {
            out.push(&mut self.gamma);
        }
        if !self.beta.is_empty() {
            out.push(&mut self.beta);
        }
        out.push(&mut self.moving_mean);
        out.push(&mut self.moving_var);
    }

    fn set_input_gradient_needed(&mut self, needed: bool) {
        self.input_gradient = needed;
    }
}

#[cfg(test)]
#[path = "normalization_tests.rs"]
mod tests;
