//! A model: a chain of built layers with its activations and gradient buffers, plus the
//! compile configuration (optimizer, loss, metrics). Sequential models and functional
//! chains (`layer_input()` + `keras_model()`) share this representation.

use crate::activations::Activation;
use crate::denormal;
use crate::layers::{self, fmt_shape, Layer, LayerSpec};
use crate::losses::logits::LogitsLoss;
use crate::losses::{self, Loss};
use crate::metrics::{resolve_metric, Metric};
use crate::optimizers::{Optimizer, OptimizerConfig};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use serde::{Deserialize, Serialize};

/// The architecture as R describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub name: String,
    /// "Sequential" or "Functional".
    #[serde(default = "sequential")]
    pub class_name: String,
    /// Per-sample input shape (no batch axis).
    pub input_shape: Vec<usize>,
    /// Name of the input layer (functional models).
    #[serde(default)]
    pub input_name: Option<String>,
    pub layers: Vec<LayerSpec>,
}

/// Accepts every Keras name and alias of a loss (`"mse"`, `"kld"`, ...).
fn loss_by_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Loss, D::Error> {
    let name = String::deserialize(d)?;
    Loss::from_name(&name).map_err(serde::de::Error::custom)
}

fn sequential() -> String {
    "Sequential".into()
}

/// What `compile()` sets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompileSpec {
    pub optimizer: OptimizerConfig,
    #[serde(deserialize_with = "loss_by_name")]
    pub loss: Loss,
    /// Metric names as the user gave them; they are the log keys. As in Keras, these
    /// ignore sample and class weights.
    #[serde(default)]
    pub metrics: Vec<String>,
    /// Metrics computed with the sample (and class) weights (Keras' `weighted_metrics`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weighted_metrics: Vec<String>,
    /// The loss takes logits (Keras' `from_logits = TRUE`; cross-entropies only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_logits: bool,
}

/// How the loss gradient reaches the last layer.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fusion {
    None,
    SoftmaxCrossentropy {
        sparse: bool,
    },
    SigmoidBinaryCrossentropy,
    /// A cross-entropy from logits: its gradient is that of the last layer's output.
    Logits(LogitsLoss),
}

/// The compiled state: optimizer with its moments, loss, and the resolved metrics.
pub struct Compiled<T: Real> {
    pub spec: CompileSpec,
    pub optimizer: Optimizer<T>,
    fusion: Fusion,
    /// The lowest layer whose gradients are needed (the first with trainable weights);
    /// trainable flags change only at compile time, as in Keras.
    first_trainable: Option<usize>,
}

/// Per-step scratch reused across steps.
#[derive(Default)]
struct Scratch<T> {
    /// A chunk of prediction input, kept between calls (no fresh pages per call).
    input: Tensor<T>,
    acts: Vec<Tensor<T>>,
    g: Tensor<T>,
    dx: Tensor<T>,
    per_sample: Vec<T>,
    metric_tmp: Vec<T>,
}

pub struct Model<T: Real> {
    pub spec: ModelSpec,
    layers: Vec<Box<dyn Layer<T>>>,
    pub compiled: Option<Compiled<T>>,
    /// Stream for dropout masks (and anything random during training).
    pub rng: Rng,
    scratch: Scratch<T>,
}

impl CompileSpec {
    /// The log keys: `loss`, then each metric's (see [`metric_key`]), weighted ones last.
    pub fn log_keys(&self) -> Vec<String> {
        let mut keys = vec!["loss".to_string()];
        for (name, weighted) in self.all_metrics() {
            let key = metric_key(&keys, name, weighted);
            keys.push(key);
        }
        keys
    }

    /// Every metric name with whether it is weighted, in log order.
    fn all_metrics(&self) -> impl Iterator<Item = (&String, bool)> {
        self.metrics.iter().map(|n| (n, false)).chain(self.weighted_metrics.iter().map(|n| (n, true)))
    }
}

/// The log key of a metric, as Keras 3 names it: the name given; for a weighted metric whose
/// name is taken, `weighted_<name>`; a name taken again gets `_1`, `_2`, ...
fn metric_key(taken: &[String], name: &str, weighted: bool) -> String {
    let free = |k: &str| !taken.iter().any(|t| t == k);
    let base = if weighted && !free(name) { format!("weighted_{name}") } else { name.to_string() };
    if free(&base) {
        return base;
    }
    (1..).map(|i| format!("{base}_{i}")).find(|k| free(k)).unwrap()
}

/// Running, sample-weighted means of the loss and metrics over an epoch (Keras 3 semantics).
#[derive(Clone, Debug, Default)]
pub struct Running {
    pub names: Vec<String>,
    metrics: Vec<Metric>,
    /// Per metric: whether it takes the sample weights (`weighted_metrics`).
    weighted: Vec<bool>,
    sums: Vec<f64>,
    weights: Vec<f64>,
}

impl Running {
    pub fn reset(&mut self) {
        self.sums.iter_mut().for_each(|v| *v = 0.0);
        self.weights.iter_mut().for_each(|v| *v = 0.0);
    }

    /// Current values, keyed by name (`loss` first in `names`).
    pub fn values(&self) -> impl Iterator<Item = (&str, f64)> {
        self.names.iter().enumerate().map(move |(i, n)| {
            let mean = if self.weights[i] > 0.0 { self.sums[i] / self.weights[i] } else { f64::NAN };
            let v = if i == 0 { mean } else { self.metrics[i - 1].finalize(mean) };
            (n.as_str(), v)
        })
    }
}

impl<T: Real> Model<T> {
    /// Builds every layer in order, checking shapes and name uniqueness.
    pub fn build(spec: ModelSpec, rng: &mut Rng) -> Result<Self, String> {
        let mut seen = std::collections::HashSet::new();
        if let Some(n) = &spec.input_name {
            seen.insert(n.clone());
        }
        let mut layers = Vec::with_capacity(spec.layers.len());
        let mut shape = spec.input_shape.clone();
        for ls in &spec.layers {
            if !seen.insert(ls.name.clone()) {
                return Err(format!(
                    "All layer names should be unique: the name \"{}\" is used more than once in model \"{}\"",
                    ls.name, spec.name
                ));
            }
            let layer = layers::build::<T>(ls, &shape, rng)?;
            shape = layer.output_shape().to_vec();
            layers.push(layer);
        }
        let train_rng = rng.fork();
        Ok(Model { spec, layers, compiled: None, rng: train_rng, scratch: Scratch::default() })
    }

    pub fn layers(&self) -> &[Box<dyn Layer<T>>] {
        &self.layers
    }

    /// Mutable access to the built layers (weights and gradients).
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer<T>>] {
        &mut self.layers
    }

    /// Per-sample output shape.
    pub fn output_shape(&self) -> Vec<usize> {
        self.layers.last().map(|l| l.output_shape().to_vec()).unwrap_or_else(|| self.spec.input_shape.clone())
    }

    /// Per-sample input shape.
    pub fn input_shape(&self) -> &[usize] {
        &self.spec.input_shape
    }

    /// Total number of weights, and how many of them are trainable.
    pub fn count_params(&self) -> (usize, usize) {
        let mut total = 0;
        let mut trainable = 0;
        for l in &self.layers {
            let n = l.param_count();
            total += n;
            if l.spec().trainable {
                trainable += n;
            }
        }
        (total, trainable)
    }

    /// Sets up the optimizer (fresh state, like Keras' recompile), loss and metrics.
    pub fn compile(&mut self, spec: CompileSpec) -> Result<(), String> {
        let sizes: Vec<usize> = self.trainable_sizes();
        let out_act = self.layers.last().and_then(|l| l.output_activation());
        let fusion = match (out_act, spec.loss) {
            _ if spec.from_logits => Fusion::Logits(LogitsLoss::of(spec.loss).ok_or_else(|| {
                format!("from_logits = TRUE is only for the cross-entropy losses, not {}", spec.loss.name())
            })?),
            (Some(Activation::Softmax), Loss::CategoricalCrossentropy) => Fusion::SoftmaxCrossentropy { sparse: false },
            (Some(Activation::Softmax), Loss::SparseCategoricalCrossentropy) => {
                Fusion::SoftmaxCrossentropy { sparse: true }
            }
            (Some(Activation::Sigmoid), Loss::BinaryCrossentropy) => Fusion::SigmoidBinaryCrossentropy,
            _ => Fusion::None,
        };
        let optimizer = Optimizer::new(spec.optimizer.clone(), &sizes);
        let first_trainable = self.layers.iter().position(|l| l.spec().trainable && l.param_count() > 0);
        for (i, l) in self.layers.iter_mut().enumerate() {
            l.set_input_gradient_needed(first_trainable.is_some_and(|f| i > f));
        }
        self.compiled = Some(Compiled { spec, optimizer, fusion, first_trainable });
        Ok(())
    }

    fn trainable_sizes(&self) -> Vec<usize> {
        self.layers
            .iter()
            .filter(|l| l.spec().trainable)
            .flat_map(|l| l.weights().into_iter().map(|w| w.values.len()))
            .collect()
    }

    /// Resolves the compiled metrics for targets with `y_cols` columns into a fresh tracker.
    pub fn new_running(&self, y_cols: usize) -> Result<Running, String> {
        let c = self.compiled.as_ref().ok_or_else(not_compiled)?;
        let k = self.output_shape().last().copied().unwrap_or(1);
        let mut r = Running { names: vec!["loss".into()], ..Default::default() };
        let keys = c.spec.log_keys();
        for ((name, weighted), key) in c.spec.all_metrics().zip(keys.into_iter().skip(1)) {
            let m = resolve_metric(name, k, y_cols)?;
            let want = m.y_columns(k);
            if want != y_cols {
                return Err(format!(
                    "metric \"{name}\" needs targets with {} for an output of {}, got targets with {}{}",
                    crate::data::count(want, "column"),
                    crate::data::count(k, "unit"),
                    crate::data::count(y_cols, "column"),
                    if want == 1 { " (it takes integer class labels, not one-hot rows)" } else { "" }
                ));
            }
            r.metrics.push(m);
            r.weighted.push(weighted);
            r.names.push(key);
        }
        r.sums = vec![0.0; r.names.len()];
        r.weights = vec![0.0; r.names.len()];
        Ok(r)
    }

    /// Forward pass; the output is in the last activation buffer.
    fn forward(&mut self, x: &Tensor<T>, training: bool) {
        let n = self.layers.len();
        let acts = &mut self.scratch.acts;
        if acts.len() != n {
            acts.resize_with(n, Tensor::default);
        }
        for i in 0..n {
            let (done, rest) = acts.split_at_mut(i);
            if !training && i > 0 && self.layers[i].is_identity_at_inference() {
                // hand the previous output on; nothing reads it again at inference
                std::mem::swap(&mut done[i - 1], &mut rest[0]);
                continue;
            }
            let input = if i == 0 { x } else { &done[i - 1] };
            self.layers[i].forward(input, &mut rest[0], training, &mut self.rng);
        }
    }

    /// Predictions for a batch (inference mode), copied into `out`.
    pub fn predict_batch(&mut self, x: &Tensor<T>, out: &mut Tensor<T>) {
        let _flush = denormal::flush();
        if self.layers.is_empty() {
            out.clone_from(x);
            return;
        }
        self.forward(x, false);
        let last = self.scratch.acts.last().unwrap();
        out.resize(&last.shape);
        out.data.copy_from_slice(&last.data);
    }

    /// Loss of the last forward pass against `y`; writes the loss gradient into scratch `g`
    /// when `with_grad`. Updates the running means. Returns the batch loss.
    fn loss_and_metrics(&mut self, y: &Tensor<T>, w: Option<&[T]>, with_grad: bool, run: &mut Running) -> f64 {
        let c = self.compiled.as_ref().expect("compiled");
        let Scratch { acts, g, per_sample, metric_tmp, .. } = &mut self.scratch;
        let pred = acts.last().unwrap();
        let n = pred.rows();
        let k = pred.row_len();
        per_sample.resize(n, T::zero());
        g.resize(&pred.shape);
        let loss = match (c.fusion, with_grad) {
            (Fusion::SoftmaxCrossentropy { sparse }, true) => {
                losses::softmax_crossentropy_fused(sparse, &y.data, &pred.data, n, k, w, per_sample, &mut g.data)
            }
            (Fusion::SigmoidBinaryCrossentropy, true) => {
                losses::sigmoid_binary_crossentropy_fused(&y.data, &pred.data, n, k, w, per_sample, &mut g.data)
            }
            (Fusion::Logits(kind), with_grad) => {
                kind.compute(&y.data, &pred.data, n, k, w, per_sample, with_grad.then_some(&mut g.data[..]))
            }
            (_, true) => c.spec.loss.compute(&y.data, &pred.data, n, k, w, per_sample, Some(&mut g.data)),
            (_, false) => c.spec.loss.compute(&y.data, &pred.data, n, k, w, per_sample, None),
        };
        // NaN predictions make a NaN loss, as in Keras (clipping must not hide them).
        let loss = if pred.data.iter().any(|v| v.is_nan()) { f64::NAN } else { loss };
        // Keras 3: the loss tracker is a mean weighted by batch size.
        run.sums[0] += loss * n as f64;
        run.weights[0] += n as f64;
        metric_tmp.resize(n, T::zero());
        for (j, m) in run.metrics.iter().enumerate() {
            m.per_sample(&y.data, &pred.data, n, k, metric_tmp);
            let w = if run.weighted[j] { w } else { None };
            let (mut sum, mut wsum) = (0.0, 0.0);
            for i in 0..n {
                let wi = w.map_or(1.0, |w| w[i].to_f64().unwrap());
                sum += wi * metric_tmp[i].to_f64().unwrap();
                wsum += wi;
            }
            run.sums[j + 1] += sum;
            run.weights[j + 1] += wsum;
        }
        loss
    }

    /// Forward (training mode), loss, and backward: fills every layer's parameter gradients.
    /// Returns the batch loss.
    pub fn backprop(&mut self, x: &Tensor<T>, y: &Tensor<T>, w: Option<&[T]>, run: &mut Running) -> f64 {
        let _flush = denormal::flush();
        self.forward(x, true);
        let loss = self.loss_and_metrics(y, w, true, run);
        let c = self.compiled.as_ref().unwrap();
        // the gradient is of the last layer's pre-activation when its activation was fused
        let fused = matches!(c.fusion, Fusion::SoftmaxCrossentropy { .. } | Fusion::SigmoidBinaryCrossentropy);
        let n = self.layers.len();
        let Some(stop) = c.first_trainable else {
            return loss;
        };
        let s = &mut self.scratch;
        for i in (stop..n).rev() {
            let input = if i == 0 { x } else { &s.acts[i - 1] };
            let dx = if i > stop { Some(&mut s.dx) } else { None };
            self.layers[i].backward(input, &s.acts[i], &mut s.g, dx, fused && i == n - 1);
            if i > stop {
                std::mem::swap(&mut s.g, &mut s.dx);
            }
        }
        loss
    }

    /// One optimizer step on a batch. Returns the batch loss (before the update).
    pub fn train_step(&mut self, x: &Tensor<T>, y: &Tensor<T>, w: Option<&[T]>, run: &mut Running) -> f64 {
        let _flush = denormal::flush();
        let loss = self.backprop(x, y, w, run);
        let c = self.compiled.as_mut().unwrap();
        let (mut params, mut grads): (Vec<&mut [T]>, Vec<&mut [T]>) =
            self.layers.iter_mut().filter(|l| l.spec().trainable).flat_map(|l| l.params_and_grads()).unzip();
        c.optimizer.apply(&mut params, &mut grads);
        loss
    }

    /// Loss and metrics on a batch in inference mode (no update).
    pub fn test_step(&mut self, x: &Tensor<T>, y: &Tensor<T>, w: Option<&[T]>, run: &mut Running) -> f64 {
        let _flush = denormal::flush();
        self.forward(x, false);
        self.loss_and_metrics(y, w, false, run)
    }

    /// All weights as `(layer name, weight name, shape, values)` in Keras order.
    pub fn get_weights(&self) -> Vec<(String, &'static str, Vec<usize>, Vec<T>)> {
        self.layers
            .iter()
            .flat_map(|l| {
                let name = l.spec().name.clone();
                l.weights().into_iter().map(move |w| (name.clone(), w.name, w.shape, w.values.to_vec()))
            })
            .collect()
    }

    /// Replaces all weights, checking count and every shape first (nothing changes on error).
    pub fn set_weights(&mut self, values: &[(Vec<usize>, Vec<T>)]) -> Result<(), String> {
        let expected: Vec<(String, Vec<usize>)> = self
            .layers
            .iter()
            .flat_map(|l| {
                let ln = l.spec().name.clone();
                l.weights().into_iter().map(move |w| (format!("{}/{}", ln, w.name), w.shape))
            })
            .collect();
        if expected.len() != values.len() {
            return Err(format!("the model has {} weight arrays, {} were given", expected.len(), values.len()));
        }
        for (i, ((name, shape), (vs, data))) in expected.iter().zip(values).enumerate() {
            let want: usize = shape.iter().product();
            if data.len() != want || (vs != shape && vs.iter().product::<usize>() != want) {
                return Err(format!(
                    "weight {} ({}) must have shape ({}), got shape ({})",
                    i + 1,
                    name,
                    fmt_shape(shape),
                    fmt_shape(vs)
                ));
            }
        }
        let mut it = values.iter();
        for l in self.layers.iter_mut() {
            for (p, _) in l.params_and_grads() {
                p.copy_from_slice(&it.next().unwrap().1);
            }
        }
        Ok(())
    }

    /// The model's output for the whole of `x` (see [`Model::predict_with`]).
    pub fn predict(&mut self, x: &Tensor<T>, batch_size: usize) -> Tensor<T> {
        let rl = x.row_len();
        let copy = |rows: std::ops::Range<usize>, dst: &mut [T]| {
            dst.copy_from_slice(&x.data[rows.start * rl..rows.end * rl]);
            Ok::<(), std::convert::Infallible>(())
        };
        match self.predict_with(x.rows(), batch_size, copy) {
            Ok(t) => t,
            Err(never) => match never {},
        }
    }

    /// The model's output for `n` rows whose inputs `fill(rows, dst)` writes into `dst`
    /// (row-major, batch first), a chunk at a time; the first error of `fill` stops it.
    ///
    /// Rows are independent at inference, so the work is done in chunks of
    /// [`PREDICT_CHUNK`] rows whatever `batch_size` says (keras' `batch_size` only bounds
    /// memory); larger batches are honoured. Reading the input a chunk at a time keeps it
    /// in cache for the first layer and needs no copy of the whole input.
    pub fn predict_with<E>(
        &mut self,
        n: usize,
        batch_size: usize,
        fill: impl Fn(std::ops::Range<usize>, &mut [T]) -> Result<(), E>,
    ) -> Result<Tensor<T>, E> {
        let batch_size = batch_size.max(PREDICT_CHUNK);
        let input_shape = self.spec.input_shape.clone();
        let mut out_shape = vec![n];
        out_shape.extend(self.output_shape());
        let mut out = Tensor::zeros(&out_shape);
        let ol = out.row_len();
        let mut xb = std::mem::take(&mut self.scratch.input);
        let mut run = || {
            let mut start = 0;
            while start < n {
                let end = (start + batch_size).min(n);
                xb.resize_batch(end - start, &input_shape);
                fill(start..end, &mut xb.data)?;
                let _flush = denormal::flush();
                let chunk = &mut out.data[start * ol..end * ol];
                if self.layers.is_empty() {
                    chunk.copy_from_slice(&xb.data);
                } else {
                    self.forward(&xb, false);
                    chunk.copy_from_slice(&self.scratch.acts.last().unwrap().data);
                }
                start = end;
            }
            Ok(())
        };
        let r = run();
        self.scratch.input = xb;
        r.map(|()| out)
    }
}

/// Rows per forward pass in [`Model::predict`] at least.
pub const PREDICT_CHUNK: usize = 2048;

pub fn not_compiled() -> String {
    "You must compile your model before training/testing. Use `compile(model, optimizer, loss)`.".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model(last_activation: &str, loss: &str, optimizer: serde_json::Value) -> Model<f32> {
        let dense = |name: &str, units: usize, act: &str| json!({"class_name": "Dense", "name": name, "units": units, "activation": act});
        let spec: ModelSpec = serde_json::from_value(json!({
            "name": "m", "input_shape": [300],
            "layers": [
                dense("d1", 256, "relu"),
                {"class_name": "Dropout", "name": "drop1", "rate": 0.4},
                dense("d2", 96, "swish"),
                {"class_name": "Dropout", "name": "drop2", "rate": 0.3},
                dense("d3", 10, last_activation),
            ]
        }))
        .unwrap();
        let mut m = Model::<f32>::build(spec, &mut Rng::seed_from(3)).unwrap();
        let compile = json!({"optimizer": optimizer, "loss": loss, "metrics": ["accuracy"]});
        m.compile(serde_json::from_value(compile).unwrap()).unwrap();
        m
    }

    fn train(m: &mut Model<f32>) -> Vec<Vec<f32>> {
        let mut r = Rng::seed_from(4);
        let x = Tensor::from_vec(&[128, 300], (0..128 * 300).map(|_| r.uniform() as f32).collect());
        let y = Tensor::from_vec(&[128, 10], (0..1280).map(|i| ((i / 10) % 10 == i % 10) as u8 as f32).collect());
        let mut run = m.new_running(10).unwrap();
        for _ in 0..4 {
            m.train_step(&x, &y, None, &mut run);
        }
        let mut out = Tensor::default();
        m.predict_batch(&x, &mut out);
        m.get_weights().into_iter().map(|w| w.3).chain([out.data]).collect()
    }

    #[test]
    fn two_threads_train_bitwise_like_one() {
        let cases = [
            ("softmax", "categorical_crossentropy", json!({"name": "rmsprop", "learning_rate": 0.001})),
            ("softmax", "mse", json!({"name": "adam", "learning_rate": 0.001, "amsgrad": true})),
            ("sigmoid", "binary_crossentropy", json!({"name": "sgd", "learning_rate": 0.01, "momentum": 0.9})),
            ("linear", "mse", json!({"name": "rmsprop", "learning_rate": 0.001, "momentum": 0.5, "centered": true})),
        ];
        for (act, loss, opt) in cases {
            let one = crate::linalg::sequential(|| train(&mut model(act, loss, opt.clone())));
            crate::linalg::set_threads(2);
            let two = train(&mut model(act, loss, opt.clone()));
            assert_eq!(one, two, "{act} {loss} {opt}");
            assert!(one.iter().flatten().all(|v| v.is_finite()));
        }
    }

    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    #[test]
    fn denormal_products_are_zero_as_in_keras_and_the_callers_mode_is_kept() {
        // Keras (TensorFlow and JAX backends) gives 0 for 1e-20 * 1e-20, a denormal in f32
        let spec: ModelSpec = serde_json::from_value(json!({
            "name": "m", "input_shape": [1],
            "layers": [{"class_name": "Dense", "name": "d", "units": 1, "activation": "linear"}]
        }))
        .unwrap();
        let mut m = Model::<f32>::build(spec, &mut Rng::seed_from(3)).unwrap();
        m.set_weights(&[(vec![1, 1], vec![1e-20]), (vec![1], vec![0.0])]).unwrap();
        let x = Tensor::from_vec(&[2, 1], vec![1e-20, 1e20]);
        let out = m.predict(&x, 32);
        assert_eq!(out.data, vec![0.0, 1.0]);
        let tiny = std::hint::black_box(1e-20f32);
        assert!(tiny * tiny > 0.0, "the caller's arithmetic keeps IEEE denormals");
        // an RMSprop slot decaying under zero gradients reaches 0, not a denormal
        m.compile(
            serde_json::from_value(json!({"optimizer": {"name": "rmsprop", "learning_rate": 0.001}, "loss": "mse"}))
                .unwrap(),
        )
        .unwrap();
        let (zx, zy) = (Tensor::from_vec(&[1, 1], vec![0.0]), Tensor::from_vec(&[1, 1], vec![0.0]));
        let (gx, gy) = (Tensor::from_vec(&[1, 1], vec![1.0]), Tensor::from_vec(&[1, 1], vec![1e-17]));
        let mut run = m.new_running(1).unwrap();
        m.train_step(&gx, &gy, None, &mut run);
        for _ in 0..600 {
            m.train_step(&zx, &zy, None, &mut run);
        }
        let slot = m.compiled.as_ref().unwrap().optimizer.state().slots[0][0][0];
        assert_eq!(slot, 0.0, "without the flush it stops at the smallest denormal, 1.4e-45");
    }
}
