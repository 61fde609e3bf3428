//! `callback_tensorboard()`: TensorBoard event logs as Keras 3 `TensorBoard` writes them
//! (tensorboard-format.md section 5), through [`crate::tfevents::EventWriter`].
//!
//! Runs `<log_dir>/train` and `<log_dir>/validation`, each a new event file per fit, created
//! on first write:
//! * `keras` (train, step 0, before training, when `write_graph`): the model's
//!   [`crate::keras_json::model_to_json`], for TensorBoard's Graphs tab;
//! * `epoch_<key>` at epoch end, step = epoch (0-based): train keys and `epoch_learning_rate`
//!   in `train/`, `val_` keys with the prefix stripped in `validation/`;
//! * `evaluation_<key>_vs_iterations` (validation) at the end of each validation pass, step =
//!   the optimizer's iterations;
//! * `batch_<key>` (train) when `update_freq` is `"batch"` or N: every Nth batch of a global,
//!   1-based batch counter, the running epoch means;
//! * `<weight path>/histogram` (train) at epochs `0, f, 2f, ...` for `histogram_freq = f`:
//!   `<model>/<layer>/<weight>` for Sequential models, `<layer>/<weight>` for functional
//!   ones, as Keras' variable paths are.
//!
//! One deliberate difference: with `update_freq = N > 1`, Keras 3 drops the `epoch_*`
//! summaries of epochs whose last global batch is not a multiple of N (its batch-level
//! `record_if` condition is still active at epoch end). Here epoch summaries are always
//! written. Files are flushed at every epoch end, so a running TensorBoard updates live, and
//! closed at the end of training or when training is aborted.

use super::{Callback, Ctx, Halt, HookResult, Logs};
use crate::keras_json::model_to_json;
use crate::model::Model;
use crate::tfevents::EventWriter;
use crate::Real;
use serde::Deserialize;
use std::path::PathBuf;

/// `callback_tensorboard()` as R describes it (the supported Keras arguments).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorBoardSpec {
    #[serde(default = "default_log_dir")]
    pub log_dir: String,
    /// Weight histograms every this many epochs; 0 disables them.
    #[serde(default)]
    pub histogram_freq: usize,
    #[serde(default = "yes")]
    pub write_graph: bool,
    #[serde(default)]
    pub update_freq: UpdateFreq,
}

fn default_log_dir() -> String {
    "logs".into()
}

fn yes() -> bool {
    true
}

/// Keras `update_freq`: `"epoch"`, `"batch"` (every batch) or a number of batches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "UpdateFreqArg")]
pub enum UpdateFreq {
    #[default]
    Epoch,
    /// Batch summaries every this many batches (>= 1).
    Batches(u64),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum UpdateFreqArg {
    Name(String),
    Every(f64),
}

impl TryFrom<UpdateFreqArg> for UpdateFreq {
    type Error = String;
    fn try_from(a: UpdateFreqArg) -> Result<Self, String> {
        match a {
            UpdateFreqArg::Name(s) if s == "epoch" => Ok(UpdateFreq::Epoch),
            UpdateFreqArg::Name(s) if s == "batch" => Ok(UpdateFreq::Batches(1)),
            UpdateFreqArg::Every(n) if n >= 1.0 && n.fract() == 0.0 && n < 1e15 => Ok(UpdateFreq::Batches(n as u64)),
            UpdateFreqArg::Name(s) => {
                Err(format!("`update_freq` must be \"epoch\", \"batch\" or a whole number >= 1, got \"{s}\""))
            }
            UpdateFreqArg::Every(n) => {
                Err(format!("`update_freq` must be \"epoch\", \"batch\" or a whole number >= 1, got {n}"))
            }
        }
    }
}

/// The TensorBoard callback.
pub struct TensorBoard {
    spec: TensorBoardSpec,
    train: Option<EventWriter>,
    val: Option<EventWriter>,
    /// Training batches seen since `on_train_begin`, counted at batch begin (Keras'
    /// `_global_train_batch`, 1-based in batch summaries).
    global_batch: u64,
}

#[derive(Clone, Copy)]
enum Run {
    Train,
    Validation,
}

impl TensorBoard {
    pub fn new(spec: TensorBoardSpec) -> Result<Self, String> {
        if spec.log_dir.is_empty() {
            return Err("callback_tensorboard(): `log_dir` must not be empty".into());
        }
        Ok(TensorBoard { spec, train: None, val: None, global_batch: 0 })
    }

    fn run_dir(&self, run: Run) -> PathBuf {
        let name = match run {
            Run::Train => "train",
            Run::Validation => "validation",
        };
        PathBuf::from(&self.spec.log_dir).join(name)
    }

    /// The run's writer, creating its directory and event file on first use.
    fn writer(&mut self, run: Run) -> Result<&mut EventWriter, Halt> {
        let dir = self.run_dir(run);
        let slot = match run {
            Run::Train => &mut self.train,
            Run::Validation => &mut self.val,
        };
        if slot.is_none() {
            *slot = Some(EventWriter::create(&dir).map_err(|e| io_halt(&dir, e))?);
        }
        Ok(slot.as_mut().unwrap())
    }

    fn scalars(&mut self, run: Run, step: i64, values: impl IntoIterator<Item = (String, f64)>) -> HookResult {
        let w = self.writer(run)?;
        for (tag, v) in values {
            w.scalar(&tag, step, v as f32).map_err(|e| io_halt(w.path(), e))?;
        }
        Ok(())
    }

    fn histograms<T: Real>(&mut self, model: &Model<T>, epoch: usize) -> HookResult {
        // Keras variable paths: Sequential builds its layers inside its own name scope,
        // functional layers are built outside any model.
        let prefix = match model.spec.class_name.as_str() {
            "Functional" => String::new(),
            _ => format!("{}/", model.spec.name),
        };
        let w = self.writer(Run::Train)?;
        for layer in model.layers() {
            for weight in layer.weights() {
                let tag = format!("{prefix}{}/{}/histogram", layer.spec().name, weight.name).replace(':', "_");
                let data: Vec<f64> = weight.values.iter().map(|v| v.to_f64().unwrap_or(f64::NAN)).collect();
                w.histogram(&tag, epoch as i64, &data).map_err(|e| io_halt(w.path(), e))?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> HookResult {
        for w in [self.train.as_mut(), self.val.as_mut()].into_iter().flatten() {
            w.flush().map_err(|e| io_halt(w.path(), e))?;
        }
        Ok(())
    }

    /// Flushes and closes both files; the next fit starts new ones.
    fn close(&mut self) -> HookResult {
        let r = self.flush();
        self.train = None;
        self.val = None;
        r
    }
}

fn io_halt(path: &std::path::Path, e: std::io::Error) -> Halt {
    Halt::Error(format!("callback_tensorboard(): cannot write '{}': {e}", path.display()))
}

impl<T: Real> Callback<T> for TensorBoard {
    fn on_train_begin(&mut self, cx: &mut Ctx<T>, _logs: &mut Logs) -> HookResult {
        self.global_batch = 0;
        if self.spec.write_graph {
            let json = model_to_json(cx.model);
            let w = self.writer(Run::Train)?;
            w.keras_model_json(&json).map_err(|e| io_halt(w.path(), e))?;
            w.flush().map_err(|e| io_halt(w.path(), e))?;
        }
        Ok(())
    }

    fn on_train_batch_begin(&mut self, _cx: &mut Ctx<T>, _batch: usize, _logs: &mut Logs) -> HookResult {
        self.global_batch += 1;
        Ok(())
    }

    fn on_train_batch_end(&mut self, _cx: &mut Ctx<T>, _batch: usize, logs: &mut Logs) -> HookResult {
        match self.spec.update_freq {
            UpdateFreq::Batches(n) if self.global_batch.is_multiple_of(n) => {
                let values: Vec<_> = logs.iter().map(|(k, v)| (format!("batch_{k}"), v)).collect();
                self.scalars(Run::Train, self.global_batch as i64, values)
            }
            _ => Ok(()),
        }
    }

    fn on_test_end(&mut self, cx: &mut Ctx<T>, logs: &mut Logs) -> HookResult {
        let values: Vec<_> = logs.iter().map(|(k, v)| (format!("evaluation_{k}_vs_iterations"), v)).collect();
        self.scalars(Run::Validation, cx.iterations as i64, values)
    }

    fn on_epoch_end(&mut self, cx: &mut Ctx<T>, epoch: usize, logs: &mut Logs) -> HookResult {
        if !logs.is_empty() {
            let mut train = Logs::new();
            for (k, v) in logs.iter().filter(|(k, _)| !k.starts_with("val_")) {
                train.insert(k, v);
            }
            if let Some(lr) = cx.learning_rate() {
                train.insert("learning_rate", lr);
            }
            let val: Vec<_> =
                logs.iter().filter_map(|(k, v)| Some((format!("epoch_{}", k.strip_prefix("val_")?), v))).collect();
            self.scalars(Run::Train, epoch as i64, train.iter().map(|(k, v)| (format!("epoch_{k}"), v)))?;
            if !val.is_empty() {
                self.scalars(Run::Validation, epoch as i64, val)?;
            }
        }
        let f = self.spec.histogram_freq;
        if f > 0 && epoch.is_multiple_of(f) {
            self.histograms(cx.model, epoch)?;
        }
        self.flush()
    }

    fn on_train_end(&mut self, _cx: &mut Ctx<T>, _logs: &mut Logs) -> HookResult {
        self.close()
    }

    fn on_abort(&mut self) {
        let _ = self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callbacks::{CallbackSpec, History, StringHost};
    use crate::keras_json::model_to_json;
    use crate::model::Model;
    use crate::rng::Rng;
    use crate::tensor::Tensor;
    use crate::tfevents::{histogram_buckets, read_scalars, read_summaries, ScalarRecord, HISTOGRAM_BUCKETS};
    use crate::train::{fit, ArraySource, FitConfig, FitOutcome};
    use std::path::Path;

    fn tmpdir(name: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        std::env::temp_dir().join(format!("tb_{name}_{}_{nanos}", std::process::id()))
    }

    fn model(class_name: &str) -> Model<f32> {
        let spec = serde_json::json!({
            "name": if class_name == "Sequential" { "sequential" } else { "functional" },
            "class_name": class_name, "input_shape": [4],
            "input_name": if class_name == "Sequential" { None } else { Some("input_layer") },
            "layers": [
                {"name": "dense", "class_name": "Dense", "units": 8, "activation": "relu"},
                {"name": "dense_1", "class_name": "Dense", "units": 1, "activation": "sigmoid"}
            ]
        });
        let mut m = Model::build(serde_json::from_value(spec).unwrap(), &mut Rng::seed_from(7)).unwrap();
        let compile = serde_json::json!({
            "optimizer": {"name": "rmsprop", "learning_rate": 0.001},
            "loss": "binary_crossentropy", "metrics": ["accuracy"]
        });
        m.compile(serde_json::from_value(compile).unwrap()).unwrap();
        m
    }

    /// 40 rows: the first 30 train (3 batches of 10), the last 10 validate.
    fn data() -> (Tensor<f32>, Tensor<f32>) {
        let mut r = crate::testutil::Rng::new(3);
        let x: Vec<f32> = (0..160).map(|_| r.uniform(0.0, 1.0) as f32).collect();
        let y: Vec<f32> = x.chunks(4).map(|row| if row[0] + row[1] > 1.0 { 1.0 } else { 0.0 }).collect();
        (Tensor::from_vec(&[40, 4], x), Tensor::from_vec(&[40, 1], y))
    }

    fn run_fit(m: &mut Model<f32>, cbs: Vec<Box<dyn Callback<f32>>>, validate: bool, epochs: usize) -> FitOutcome {
        let (x, y) = data();
        let mut train = ArraySource::new(vec![&x], vec![&y], None, 0..30, 10, true);
        let mut val = ArraySource::new(vec![&x], vec![&y], None, 30..40, 10, false);
        let cfg = FitConfig { epochs, ..Default::default() };
        let val: Option<&mut dyn crate::train::BatchSource<f32>> = if validate { Some(&mut val) } else { None };
        fit(m, &mut train, val, cbs, &mut StringHost::default(), &cfg)
    }

    fn spec(dir: &Path, extra: serde_json::Value) -> TensorBoardSpec {
        let mut v = serde_json::json!({"log_dir": dir.to_str().unwrap()});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    fn series(recs: &[ScalarRecord], run: &str, tag: &str) -> Vec<(i64, f64)> {
        recs.iter().filter(|r| r.run == run && r.tag == tag).map(|r| (r.step, r.value)).collect()
    }

    fn history(h: &History, key: &str) -> Vec<f64> {
        h.metrics.iter().find(|(k, _)| k == key).unwrap().1.clone()
    }

    /// `(epoch, value as f32)` for every epoch of a history key.
    fn expected(h: &History, key: &str) -> Vec<(i64, f64)> {
        history(h, key).iter().enumerate().map(|(e, v)| (e as i64, *v as f32 as f64)).collect()
    }

    #[test]
    fn keras_tags_steps_and_values() {
        let dir = tmpdir("fit");
        let mut m = model("Sequential");
        let tb =
            TensorBoard::new(spec(&dir, serde_json::json!({"histogram_freq": 2, "update_freq": "batch"}))).unwrap();
        let out = run_fit(&mut m, vec![Box::new(tb)], true, 3);
        assert!(out.halt.is_none());
        let h = &out.history;
        let recs = read_scalars(&dir).unwrap();
        for key in ["loss", "accuracy"] {
            assert_eq!(series(&recs, "train", &format!("epoch_{key}")), expected(h, key), "{key}");
            assert_eq!(series(&recs, "validation", &format!("epoch_{key}")), expected(h, &format!("val_{key}")));
            let eval: Vec<_> = expected(h, &format!("val_{key}")).iter().map(|&(e, v)| (3 * (e + 1), v)).collect();
            assert_eq!(series(&recs, "validation", &format!("evaluation_{key}_vs_iterations")), eval);
            let batch = series(&recs, "train", &format!("batch_{key}"));
            assert_eq!(batch.iter().map(|b| b.0).collect::<Vec<_>>(), (1..=9).collect::<Vec<_>>());
            // the batch value is the running epoch mean: at an epoch's last batch, the epoch value
            for (e, v) in expected(h, key) {
                assert_eq!(batch[3 * e as usize + 2].1, v);
            }
        }
        let lr = series(&recs, "train", "epoch_learning_rate");
        assert_eq!(lr, [(0, 0.001f32 as f64), (1, 0.001f32 as f64), (2, 0.001f32 as f64)]);
        let mut tags: Vec<_> = recs.iter().map(|r| format!("{}/{}", r.run, r.tag)).collect();
        tags.dedup();
        assert_eq!(tags.len(), 2 + 3 + 2 + 2); // batch_*, epoch_* + lr, validation epoch_* and evaluation_*

        // Write order, the graph tag and the histograms.
        let all = read_summaries(&dir).unwrap();
        let train: Vec<_> = all.iter().filter(|r| r.run == "train" && !r.tag.starts_with("batch_")).collect();
        let names: Vec<_> = train.iter().map(|r| format!("{}@{}", r.tag, r.step)).collect();
        let hist = |e| {
            ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]
                .map(|w| format!("sequential/{w}/histogram@{e}"))
                .to_vec()
        };
        let epoch = |e| ["epoch_accuracy", "epoch_loss", "epoch_learning_rate"].map(|t| format!("{t}@{e}")).to_vec();
        let want = [vec!["keras@0".to_string()], epoch(0), hist(0), epoch(1), epoch(2), hist(2)].concat();
        assert_eq!(names, want);
        assert_eq!(train[0].plugin, "graph_keras_model");
        assert_eq!(train[0].text().unwrap(), model_to_json(&m));
        // epoch 2 is the last one: its histograms are of the final weights
        for (i, (_, _, _, values)) in m.get_weights().iter().enumerate() {
            let data: Vec<f64> = values.iter().map(|v| *v as f64).collect();
            let h = train[train.len() - 4 + i].histogram().unwrap();
            assert_eq!(h, histogram_buckets(&data, HISTOGRAM_BUCKETS));
            assert_eq!(h.iter().map(|r| r[2]).sum::<f64>(), data.len() as f64);
        }
        let val: Vec<_> =
            all.iter().filter(|r| r.run == "validation").map(|r| format!("{}@{}", r.tag, r.step)).collect();
        assert_eq!(
            val[..4],
            [
                "evaluation_accuracy_vs_iterations@3",
                "evaluation_loss_vs_iterations@3",
                "epoch_accuracy@0",
                "epoch_loss@0"
            ]
        );

        // A second fit writes new files; the batch counter restarts, the iterations go on.
        let tb = TensorBoard::new(spec(&dir, serde_json::json!({"update_freq": "batch"}))).unwrap();
        run_fit(&mut m, vec![Box::new(tb)], true, 1);
        for run in ["train", "validation"] {
            assert_eq!(std::fs::read_dir(dir.join(run)).unwrap().count(), 2);
        }
        let recs = read_scalars(&dir).unwrap();
        let steps = |tag| series(&recs, "validation", tag).iter().map(|s| s.0).collect::<Vec<_>>();
        assert_eq!(steps("evaluation_loss_vs_iterations"), [3, 6, 9, 12]);
        assert_eq!(series(&recs, "train", "batch_loss").len(), 9 + 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// update_freq = N: every Nth global batch, and (unlike Keras) every epoch's summaries.
    /// Functional weights have no model prefix; no validation, no validation run.
    #[test]
    fn update_freq_n_functional_no_graph() {
        let dir = tmpdir("freq2");
        let mut m = model("Functional");
        let s = spec(&dir, serde_json::json!({"update_freq": 2, "write_graph": false, "histogram_freq": 1}));
        run_fit(&mut m, vec![Box::new(TensorBoard::new(s).unwrap())], false, 3);
        let recs = read_scalars(&dir).unwrap();
        let steps: Vec<_> = series(&recs, "train", "batch_loss").iter().map(|s| s.0).collect();
        assert_eq!(steps, [2, 4, 6, 8]);
        assert_eq!(series(&recs, "train", "epoch_loss").len(), 3);
        assert!(!dir.join("validation").exists());
        let all = read_summaries(&dir).unwrap();
        assert!(all.iter().all(|r| r.tag != "keras"));
        let hist: Vec<_> = all.iter().filter(|r| r.plugin == "histograms" && r.step == 1).map(|r| &r.tag[..]).collect();
        assert_eq!(
            hist,
            ["dense/kernel/histogram", "dense/bias/histogram", "dense_1/kernel/histogram", "dense_1/bias/histogram"]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A run stopped by an error keeps what was written; files are closed.
    struct FailAt(usize);
    impl Callback<f32> for FailAt {
        fn on_epoch_end(&mut self, _cx: &mut Ctx<f32>, epoch: usize, _logs: &mut Logs) -> HookResult {
            if epoch == self.0 {
                Err(Halt::Error("boom".into()))
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn abort_keeps_logs_and_io_errors_halt() {
        let dir = tmpdir("abort");
        let mut m = model("Sequential");
        let tb = TensorBoard::new(spec(&dir, serde_json::json!({}))).unwrap();
        let out = run_fit(&mut m, vec![Box::new(FailAt(1)), Box::new(tb)], true, 3);
        assert_eq!(out.halt, Some(Halt::Error("boom".into())));
        let recs = read_scalars(&dir).unwrap();
        assert_eq!(series(&recs, "train", "epoch_loss").len(), 1);
        assert_eq!(series(&recs, "validation", "evaluation_loss_vs_iterations").len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();

        // log_dir below a regular file: the run stops with an error naming the path
        let file = tmpdir("notadir");
        std::fs::write(&file, b"x").unwrap();
        let tb = TensorBoard::new(spec(&file.join("logs"), serde_json::json!({}))).unwrap();
        let out = run_fit(&mut m, vec![Box::new(tb)], false, 1);
        let Some(Halt::Error(msg)) = out.halt else { panic!("expected an error") };
        assert!(msg.starts_with("callback_tensorboard(): cannot write '") && msg.contains("notadir"), "{msg}");
        std::fs::remove_file(&file).unwrap();
    }

    #[test]
    fn spec_parsing() {
        let parse =
            |v: serde_json::Value| serde_json::from_value::<CallbackSpec>(v).map(|_| ()).map_err(|e| e.to_string());
        let tb = |v: serde_json::Value| serde_json::from_value::<TensorBoardSpec>(v);
        let d = tb(serde_json::json!({})).unwrap();
        assert_eq!(
            (d.log_dir.as_str(), d.histogram_freq, d.write_graph, d.update_freq),
            ("logs", 0, true, UpdateFreq::Epoch)
        );
        assert_eq!(tb(serde_json::json!({"update_freq": "batch"})).unwrap().update_freq, UpdateFreq::Batches(1));
        assert_eq!(tb(serde_json::json!({"update_freq": 3})).unwrap().update_freq, UpdateFreq::Batches(3));
        assert_eq!(tb(serde_json::json!({"update_freq": 3.0})).unwrap().update_freq, UpdateFreq::Batches(3));
        for bad in [serde_json::json!("often"), serde_json::json!(0), serde_json::json!(1.5)] {
            let e = tb(serde_json::json!({"update_freq": bad})).unwrap_err().to_string();
            assert!(e.contains("`update_freq` must be \"epoch\", \"batch\" or a whole number >= 1"), "{e}");
        }
        assert!(parse(serde_json::json!({"type": "tensorboard", "log_dir": "x", "histogram_freq": 1})).is_ok());
        let e = parse(serde_json::json!({"type": "tensorboard", "write_images": true})).unwrap_err();
        assert!(e.contains("unknown field `write_images`"), "{e}");
        assert!(TensorBoard::new(tb(serde_json::json!({"log_dir": ""})).unwrap()).is_err());
    }
}
