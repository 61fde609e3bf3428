//! The one training loop (`fit`), and `evaluate` / `predict` over batch sources, with Keras
//! hook order. Batches come from a [`BatchSource`]: in-memory arrays or (in the binding) an
//! R closure. When the source is slow (an R closure), the next batch is fetched on this
//! thread while a worker thread computes the current step.

use crate::callbacks::{dispatch, Callback, Ctx, Halt, History, Hook, Host, Logs, Params, ProgbarLogger};
use crate::model::{Model, Running};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;

/// One batch: inputs (one per model input), targets (one per output; none for
/// prediction), optional per-sample weights. Buffers are reused.
#[derive(Clone, Debug, Default)]
pub struct Batch<T> {
    pub xs: Vec<Tensor<T>>,
    pub ys: Vec<Tensor<T>>,
    pub w: Option<Vec<T>>,
}

impl<T: Real> Batch<T> {
    /// A batch of one input and one target.
    pub fn single(x: Tensor<T>, y: Tensor<T>, w: Option<Vec<T>>) -> Self {
        Batch { xs: vec![x], ys: vec![y], w }
    }

    /// Number of samples.
    pub fn rows(&self) -> usize {
        self.xs.first().map_or(0, Tensor::rows)
    }

    /// Target values per sample, per output.
    pub fn y_lens(&self) -> Vec<usize> {
        self.ys.iter().map(Tensor::row_len).collect()
    }
}

/// Where batches come from.
pub trait BatchSource<T: Real> {
    /// Batches per epoch.
    fn steps(&self) -> usize;
    /// Called before each epoch's first batch (reshuffling happens here).
    fn begin_epoch(&mut self, _rng: &mut Rng) {}
    /// Fills `batch` with batch `step` of epoch `epoch` (both 0-based).
    fn fill(&mut self, epoch: usize, step: usize, batch: &mut Batch<T>) -> Result<(), Halt>;
    /// True when filling is slow enough to overlap with compute.
    fn overlap(&self) -> bool {
        false
    }
    /// Number of samples, when known.
    fn samples(&self) -> Option<usize> {
        None
    }
}

/// In-memory data, row-major, batch first; a subset of rows (`validation_split` keeps the
/// last rows aside), reshuffled per epoch when asked.
pub struct ArraySource<'a, T> {
    xs: Vec<&'a Tensor<T>>,
    ys: Vec<&'a Tensor<T>>,
    w: Option<&'a [T]>,
    rows: Vec<usize>,
    batch_size: usize,
    shuffle: bool,
}

impl<'a, T: Real> ArraySource<'a, T> {
    /// Rows `range` of the inputs `xs` and targets `ys` (none for prediction) in batches
    /// of `batch_size`.
    pub fn new(
        xs: Vec<&'a Tensor<T>>,
        ys: Vec<&'a Tensor<T>>,
        w: Option<&'a [T]>,
        range: std::ops::Range<usize>,
        batch_size: usize,
        shuffle: bool,
    ) -> Self {
        ArraySource { xs, ys, w, rows: range.collect(), batch_size: batch_size.max(1), shuffle }
    }
}

/// Copies the listed rows of `src` into `dst` (one pass, no reallocation once sized; two
/// halves on two threads when large: the rows come from memory, not cache).
pub fn gather_rows<T: Real>(src: &Tensor<T>, rows: &[usize], dst: &mut Tensor<T>) {
    let rl = src.row_len().max(1);
    dst.resize_batch(rows.len(), &src.shape[1..]);
    let copy = |dst: &mut [T], rows: &[usize]| {
        for (d, &r) in dst.chunks_exact_mut(rl).zip(rows) {
            d.copy_from_slice(&src.data[r * rl..(r + 1) * rl]);
        }
    };
    if crate::parts::split_elementwise(dst.data.len()) && rows.len() > 1 {
        let half = rows.len() / 2;
        let (d0, d1) = dst.data.split_at_mut(half * rl);
        crate::forkjoin::join(|| copy(d0, &rows[..half]), || copy(d1, &rows[half..]));
    } else {
        copy(&mut dst.data, rows);
    }
}

impl<T: Real> BatchSource<T> for ArraySource<'_, T> {
    fn steps(&self) -> usize {
        self.rows.len().div_ceil(self.batch_size)
    }

    fn begin_epoch(&mut self, rng: &mut Rng) {
        if self.shuffle {
            // a fresh permutation of the rows each epoch (as tf.keras does), drawn only from
            // the model's stream: a fit resumed from a saved model repeats an uninterrupted one
            self.rows.sort_unstable();
            rng.shuffle(&mut self.rows);
        }
    }

    fn fill(&mut self, _epoch: usize, step: usize, b: &mut Batch<T>) -> Result<(), Halt> {
        let lo = step * self.batch_size;
        let hi = (lo + self.batch_size).min(self.rows.len());
        let idx = &self.rows[lo..hi];
        b.xs.resize_with(self.xs.len(), Tensor::default);
        for (x, bx) in self.xs.iter().zip(b.xs.iter_mut()) {
            gather_rows(x, idx, bx);
        }
        // prediction data has no targets
        b.ys.resize_with(self.ys.len(), Tensor::default);
        for (y, by) in self.ys.iter().zip(b.ys.iter_mut()) {
            gather_rows(y, idx, by);
        }
        match self.w {
            Some(w) => {
                let bw = b.w.get_or_insert_with(Vec::new);
                bw.clear();
                bw.extend(idx.iter().map(|&r| w[r]));
            }
            None => b.w = None,
        }
        Ok(())
    }

    fn samples(&self) -> Option<usize> {
        Some(self.rows.len())
    }
}

/// `fit()` settings beyond the data, as R sends them.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitConfig {
    pub epochs: usize,
    pub initial_epoch: usize,
    pub verbose: u8,
    /// Weight per class index (0-based), training only.
    #[serde(default)]
    pub class_weight: Option<Vec<f64>>,
    #[serde(default)]
    pub batch_size: Option<usize>,
    #[serde(default)]
    pub shuffle: bool,
    #[serde(default)]
    pub validation_split: f64,
    /// Samples per validation step (default: `batch_size`).
    #[serde(default)]
    pub validation_batch_size: Option<usize>,
}

/// How a fit ended.
#[derive(Debug, Default)]
pub struct FitOutcome {
    pub history: History,
    pub params: Params,
    /// `None` when training ran to the end or a callback stopped it.
    pub halt: Option<Halt>,
    /// Epoch (0-based) and step (0-based) where a halt happened.
    pub epoch: usize,
    pub step: usize,
    /// Each of the caller's callbacks' state after the run ([`Callback::state`]), in order.
    pub callback_states: Vec<Vec<(&'static str, f64)>>,
}

/// Multiplies each sample's weight by its class weight (class = argmax of one-hot y, or the
/// label), for a single-output model.
pub fn apply_class_weight<T: Real>(cw: &[f64], b: &mut Batch<T>) {
    let y = &b.ys[0];
    let n = y.rows();
    let k = y.row_len().max(1);
    let w = b.w.get_or_insert_with(|| vec![T::one(); n]);
    for (i, wi) in w.iter_mut().enumerate() {
        let row = &y.data[i * k..(i + 1) * k];
        let class = if k == 1 {
            row[0].to_f64().unwrap_or(0.0).round().max(0.0) as usize
        } else {
            let mut best = 0;
            for j in 1..k {
                if row[j] > row[best] {
                    best = j;
                }
            }
            best
        };
        *wi *= T::c(cw.get(class).copied().unwrap_or(1.0));
    }
}

/// The callbacks of one call: the user's, then the progress bar when `verbose > 0`, with
/// History fed at every epoch end. (Keras runs History before the bar; neither changes the
/// logs, so their order does not matter.)
struct CallbackSet<'c, T: Real> {
    list: Vec<Box<dyn Callback<T> + 'c>>,
    history: History,
    params: Params,
    stop: bool,
}

impl<'c, T: Real> CallbackSet<'c, T> {
    fn new(mut list: Vec<Box<dyn Callback<T> + 'c>>, params: Params) -> Self {
        if params.verbose > 0 {
            list.push(Box::new(ProgbarLogger::new(params.verbose)));
        }
        CallbackSet { list, history: History::default(), params, stop: false }
    }

    fn fire(&mut self, model: &mut Model<T>, host: &mut dyn Host, hook: Hook, logs: &mut Logs) -> Result<(), Halt> {
        let iterations = model.compiled.as_ref().map_or(0, |c| c.optimizer.iterations());
        let mut cx = Ctx { model, host, params: &self.params, stop_training: self.stop, iterations };
        let r = dispatch(&mut self.list, &mut cx, hook, logs);
        if let (Ok(()), Hook::EpochEnd(e)) = (&r, hook) {
            let _ = Callback::<T>::on_epoch_end(&mut self.history, &mut cx, e, logs);
        }
        self.stop = cx.stop_training;
        r
    }

    /// Lets every callback close its files after a halt.
    fn on_abort(&mut self) {
        for cb in self.list.iter_mut() {
            cb.on_abort();
        }
    }

    /// Ends the run after a halt: `on_train_end` for everyone (files are flushed and closed),
    /// errors from it ignored, then `on_abort`.
    fn abort(&mut self, model: &mut Model<T>, host: &mut dyn Host, logs: &mut Logs) {
        let _ = self.fire(model, host, Hook::TrainEnd, logs);
        self.on_abort();
    }
}

/// Fills `b` from `src`, with the model readable meanwhile by the code the source runs
/// (an R generator that saves the model: see [`crate::paused`]).
fn fill<T: Real>(
    model: &mut Model<T>,
    src: &mut (dyn BatchSource<T> + '_),
    epoch: usize,
    step: usize,
    b: &mut Batch<T>,
) -> Result<(), Halt> {
    crate::paused::paused(model, || src.fill(epoch, step, b))
}

fn running_logs(run: &Running) -> Logs {
    Logs::sorted(run.values().map(|(k, v)| (k.to_string(), v)))
}

/// Trains `model` on `train`, validating on `val` at every epoch end.
pub fn fit<'c, 'v, T: Real>(
    model: &mut Model<T>,
    train: &mut (dyn BatchSource<T> + 'v),
    mut val: Option<&mut (dyn BatchSource<T> + 'v)>,
    callbacks: Vec<Box<dyn Callback<T> + 'c>>,
    host: &mut dyn Host,
    cfg: &FitConfig,
) -> FitOutcome {
    let steps = train.steps();
    let params = Params {
        epochs: cfg.epochs,
        steps: Some(steps),
        verbose: cfg.verbose,
        samples: train.samples(),
        batch_size: cfg.batch_size,
        validation_samples: val.as_ref().and_then(|v| v.samples()),
        do_validation: val.is_some(),
    };
    let n_callbacks = callbacks.len();
    let mut set = CallbackSet::new(callbacks, params.clone());
    let mut out = FitOutcome { params, ..Default::default() };
    let mut epoch_logs = Logs::new();
    let mut run: Option<Running> = None;
    let mut cur = Batch::default();
    let mut next = Batch::default();

    let result: Result<(), Halt> = (|| {
        set.fire(model, host, Hook::TrainBegin, &mut Logs::new())?;
        for epoch in cfg.initial_epoch..cfg.epochs {
            out.epoch = epoch;
            out.step = 0;
            if let Some(r) = run.as_mut() {
                r.reset();
            }
            set.fire(model, host, Hook::EpochBegin(epoch), &mut Logs::new())?;
            train.begin_epoch(&mut model.rng);
            if steps > 0 {
                fill(model, train, epoch, 0, &mut cur)?;
            }
            for step in 0..steps {
                out.step = step;
                set.fire(model, host, Hook::TrainBatchBegin(step), &mut Logs::new())?;
                if let Some(cw) = &cfg.class_weight {
                    apply_class_weight(cw, &mut cur);
                }
                if run.is_none() {
                    run = Some(model.new_running(&cur.y_lens()).map_err(Halt::Error)?);
                }
                let r = run.as_mut().unwrap();
                let last = step + 1 == steps;
                if train.overlap() && !last {
                    // one thread for the step, so the R closure keeps the other core; code
                    // the closure runs reads the model after the step (crate::paused)
                    let fetched = crate::paused::overlapped(
                        model,
                        |m| {
                            crate::linalg::sequential(|| m.train_step(&cur.xs, &cur.ys, cur.w.as_deref(), r));
                        },
                        || train.fill(epoch, step + 1, &mut next),
                    );
                    if host.interrupted() {
                        return Err(Halt::Interrupt);
                    }
                    fetched?;
                } else {
                    model.train_step(&cur.xs, &cur.ys, cur.w.as_deref(), r);
                    if host.interrupted() {
                        return Err(Halt::Interrupt);
                    }
                    if !last {
                        fill(model, train, epoch, step + 1, &mut next)?;
                    }
                }
                let mut logs = running_logs(run.as_ref().unwrap());
                set.fire(model, host, Hook::TrainBatchEnd(step), &mut logs)?;
                std::mem::swap(&mut cur, &mut next);
                if set.stop {
                    break;
                }
            }
            epoch_logs = run.as_ref().map(running_logs).unwrap_or_default();
            if let Some(v) = val.as_deref_mut() {
                let vlogs = evaluate_with(model, v, &mut set, host)?;
                let mut all: Vec<(String, f64)> = epoch_logs.iter().map(|(k, v)| (k.to_string(), v)).collect();
                all.extend(vlogs.iter().map(|(k, v)| (format!("val_{k}"), v)));
                epoch_logs = Logs::sorted(all);
            }
            let mut logs = epoch_logs.clone();
            set.fire(model, host, Hook::EpochEnd(epoch), &mut logs)?;
            if set.stop {
                break;
            }
        }
        let mut logs = epoch_logs.clone();
        set.fire(model, host, Hook::TrainEnd, &mut logs)
    })();

    if let Err(h) = result {
        set.abort(model, host, &mut epoch_logs.clone());
        out.halt = Some(h);
    }
    out.history = set.history;
    out.callback_states = set.list.iter().take(n_callbacks).map(|c| c.state()).collect();
    out
}

/// Validation / evaluation pass with `on_test_*` hooks; returns the final logs (no prefix).
fn evaluate_with<T: Real>(
    model: &mut Model<T>,
    src: &mut dyn BatchSource<T>,
    set: &mut CallbackSet<'_, T>,
    host: &mut dyn Host,
) -> Result<Logs, Halt> {
    let steps = src.steps();
    let saved_steps = set.params.steps;
    set.params.steps = Some(steps);
    set.fire(model, host, Hook::TestBegin, &mut Logs::new())?;
    let mut b = Batch::default();
    let mut run: Option<Running> = None;
    src.begin_epoch(&mut model.rng);
    for step in 0..steps {
        set.fire(model, host, Hook::TestBatchBegin(step), &mut Logs::new())?;
        fill(model, src, 0, step, &mut b)?;
        if run.is_none() {
            run = Some(model.new_running(&b.y_lens()).map_err(Halt::Error)?);
        }
        model.test_step(&b.xs, &b.ys, b.w.as_deref(), run.as_mut().unwrap());
        if host.interrupted() {
            return Err(Halt::Interrupt);
        }
        let mut logs = running_logs(run.as_ref().unwrap());
        set.fire(model, host, Hook::TestBatchEnd(step), &mut logs)?;
    }
    let mut logs = run.as_ref().map(running_logs).unwrap_or_default();
    set.fire(model, host, Hook::TestEnd, &mut logs)?;
    set.params.steps = saved_steps;
    Ok(logs)
}

/// `evaluate()`: loss and metrics over a source, with callbacks and an optional progress bar.
pub fn evaluate<'c, T: Real>(
    model: &mut Model<T>,
    src: &mut dyn BatchSource<T>,
    callbacks: Vec<Box<dyn Callback<T> + 'c>>,
    host: &mut dyn Host,
    verbose: u8,
) -> Result<Logs, Halt> {
    let params = Params { epochs: 1, steps: Some(src.steps()), verbose, ..Default::default() };
    let mut set = CallbackSet::new(callbacks, params);
    let r = evaluate_with(model, src, &mut set, host);
    if r.is_err() {
        set.on_abort();
    }
    r
}

/// `predict()` over a source (generators), with `on_predict_*` hooks; one tensor per model
/// output. Targets are ignored.
pub fn predict_source<'c, T: Real>(
    model: &mut Model<T>,
    src: &mut dyn BatchSource<T>,
    callbacks: Vec<Box<dyn Callback<T> + 'c>>,
    host: &mut dyn Host,
    verbose: u8,
) -> Result<Vec<Tensor<T>>, Halt> {
    let steps = src.steps();
    let mut set = CallbackSet::new(callbacks, Params { epochs: 1, steps: Some(steps), verbose, ..Default::default() });
    let n_out = model.n_outputs();
    let mut b = Batch::default();
    let mut preds: Vec<Tensor<T>> = (0..n_out).map(|_| Tensor::default()).collect();
    let mut outs: Vec<Vec<T>> = vec![Vec::new(); n_out];
    let mut rows = 0;
    let mut sample_shapes: Vec<Vec<usize>> = (0..n_out).map(|o| model.output_shape_of(o)).collect();
    let r: Result<(), Halt> = (|| {
        set.fire(model, host, Hook::PredictBegin, &mut Logs::new())?;
        for step in 0..steps {
            set.fire(model, host, Hook::PredictBatchBegin(step), &mut Logs::new())?;
            fill(model, src, 0, step, &mut b)?;
            model.predict_batch(&b.xs, &mut preds);
            if host.interrupted() {
                return Err(Halt::Interrupt);
            }
            rows += b.rows();
            for ((pred, out), shape) in preds.iter().zip(outs.iter_mut()).zip(sample_shapes.iter_mut()) {
                *shape = pred.shape[1..].to_vec();
                out.extend_from_slice(&pred.data);
            }
            set.fire(model, host, Hook::PredictBatchEnd(step), &mut Logs::new())?;
        }
        set.fire(model, host, Hook::PredictEnd, &mut Logs::new())
    })();
    if let Err(h) = r {
        set.on_abort();
        return Err(h);
    }
    Ok(outs
        .into_iter()
        .zip(sample_shapes)
        .map(|(out, s)| {
            let mut shape = vec![rows];
            shape.extend(s);
            Tensor::from_vec(&shape, out)
        })
        .collect())
}
