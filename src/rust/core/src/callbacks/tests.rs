//! Callback semantics against real Keras 3 traces (`tests/fixtures/keras`): hook order
//! and shared logs, EarlyStopping and ReduceLROnPlateau state machines, TerminateOnNaN.

use super::*;
use crate::activations::Activation;
use crate::init::Initializer;
use crate::layers::{DenseConfig, LayerKind, LayerSpec};
use crate::losses::Loss;
use crate::model::{CompileSpec, Model, ModelSpec};
use crate::optimizers::OptimizerConfig;
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::train::{fit, ArraySource, FitConfig};
use std::cell::RefCell;
use std::rc::Rc;

fn reference(name: &str) -> serde_json::Value {
    let path = crate::testutil::fixture(&format!("keras/{name}"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub(crate) fn tiny_model(lr: f64) -> Model<f32> {
    let dense = LayerSpec {
        name: "d".into(),
        trainable: true,
        kind: LayerKind::Dense(DenseConfig {
            units: 2,
            activation: Activation::Softmax,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
        }),
    };
    let spec = ModelSpec::chain("m", "Sequential", vec![3], None, vec![dense]);
    let mut m = Model::build(spec, &mut Rng::seed_from(1)).unwrap();
    let mut opt = OptimizerConfig::defaults("rmsprop").unwrap();
    opt.learning_rate = lr;
    m.compile(CompileSpec::single(opt, Loss::CategoricalCrossentropy, vec!["accuracy".into()])).unwrap();
    m
}

type Trace = Rc<RefCell<Vec<(String, String, Vec<usize>, Vec<String>)>>>;

struct Recorder {
    name: &'static str,
    trace: Trace,
}

impl Recorder {
    fn rec(&self, hook: &str, args: Vec<usize>, logs: &Logs) -> HookResult {
        let keys = logs.keys().map(String::from).collect();
        self.trace.borrow_mut().push((self.name.into(), hook.into(), args, keys));
        Ok(())
    }
}

impl Callback<f32> for Recorder {
    fn on_train_begin(&mut self, _: &mut Ctx<f32>, l: &mut Logs) -> HookResult {
        self.rec("on_train_begin", vec![], l)
    }
    fn on_train_end(&mut self, _: &mut Ctx<f32>, l: &mut Logs) -> HookResult {
        self.rec("on_train_end", vec![], l)
    }
    fn on_epoch_begin(&mut self, _: &mut Ctx<f32>, e: usize, l: &mut Logs) -> HookResult {
        self.rec("on_epoch_begin", vec![e], l)
    }
    fn on_epoch_end(&mut self, _: &mut Ctx<f32>, e: usize, l: &mut Logs) -> HookResult {
        self.rec("on_epoch_end", vec![e], l)
    }
    fn on_train_batch_begin(&mut self, _: &mut Ctx<f32>, b: usize, l: &mut Logs) -> HookResult {
        self.rec("on_train_batch_begin", vec![b], l)
    }
    fn on_train_batch_end(&mut self, _: &mut Ctx<f32>, b: usize, l: &mut Logs) -> HookResult {
        self.rec("on_train_batch_end", vec![b], l)
    }
    fn on_test_begin(&mut self, _: &mut Ctx<f32>, l: &mut Logs) -> HookResult {
        self.rec("on_test_begin", vec![], l)
    }
    fn on_test_end(&mut self, _: &mut Ctx<f32>, l: &mut Logs) -> HookResult {
        self.rec("on_test_end", vec![], l)
    }
    fn on_test_batch_begin(&mut self, _: &mut Ctx<f32>, b: usize, l: &mut Logs) -> HookResult {
        self.rec("on_test_batch_begin", vec![b], l)
    }
    fn on_test_batch_end(&mut self, _: &mut Ctx<f32>, b: usize, l: &mut Logs) -> HookResult {
        self.rec("on_test_batch_end", vec![b], l)
    }
}

fn data(rows: usize) -> (Tensor<f32>, Tensor<f32>) {
    let mut r = Rng::seed_from(5);
    let x = Tensor::from_vec(&[rows, 3], (0..rows * 3).map(|_| r.uniform() as f32).collect());
    let y = Tensor::from_vec(
        &[rows, 2],
        (0..rows).flat_map(|i| if i % 2 == 0 { [1.0, 0.0] } else { [0.0, 1.0] }).collect(),
    );
    (x, y)
}

#[test]
fn hooks_fire_in_keras_order_with_one_shared_sorted_logs_map() {
    let trace: Trace = Rc::default();
    let mut model = tiny_model(0.001);
    // Keras' reference run: 75 training rows in batches of 32 (3 steps), 25 validation rows.
    let (x, y) = data(100);
    let mut train = ArraySource::new(vec![&x], vec![&y], None, 0..75, 32, true);
    let mut val = ArraySource::new(vec![&x], vec![&y], None, 75..100, 32, false);
    let reduce = ReduceLrOnPlateau::new(serde_json::from_str(r#"{"patience": 100}"#).unwrap()).unwrap();
    let cbs: Vec<Box<dyn Callback<f32>>> = vec![
        Box::new(Recorder { name: "first", trace: trace.clone() }),
        Box::new(reduce),
        Box::new(Recorder { name: "second", trace: trace.clone() }),
    ];
    let cfg = FitConfig { epochs: 2, ..Default::default() };
    let out = fit(&mut model, &mut train, Some(&mut val), cbs, &mut StringHost::default(), &cfg);
    assert!(out.halt.is_none());
    let want: Vec<(String, String, Vec<usize>, Vec<String>)> = reference("hook_trace.json")
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let args = e[2].as_array().unwrap().iter().map(|a| a.as_u64().unwrap() as usize).collect();
            let keys = e[3].as_object().unwrap().keys().cloned().collect();
            (e[0].as_str().unwrap().into(), e[1].as_str().unwrap().into(), args, keys)
        })
        .collect();
    let got = trace.borrow().clone();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        // serde_json objects are sorted; compare key sets, and order separately below
        let mut gk = g.3.clone();
        gk.sort();
        assert_eq!((&g.0, &g.1, &g.2, &gk), (&w.0, &w.1, &w.2, &w.3), "hook mismatch");
    }
    let second_end = got.iter().find(|e| e.0 == "second" && e.1 == "on_epoch_end").unwrap();
    assert_eq!(second_end.3, vec!["accuracy", "loss", "val_accuracy", "val_loss", "learning_rate"]);
    let names: Vec<&str> = out.history.metrics.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, vec!["accuracy", "loss", "val_accuracy", "val_loss", "learning_rate"]);
}

#[test]
fn progress_bar_follows_the_hosts_console_style() {
    use crate::progress::ConsoleStyle;
    let (x, y) = data(100);
    let run = |style: ConsoleStyle| {
        let mut model = tiny_model(0.001);
        let mut train = ArraySource::new(vec![&x], vec![&y], None, 0..75, 32, true);
        let mut host = StringHost { style, ..Default::default() };
        let cfg = FitConfig { epochs: 2, verbose: 1, ..Default::default() };
        let out = fit(&mut model, &mut train, None, Vec::new(), &mut host, &cfg);
        assert!(out.halt.is_none());
        host.out
    };
    let keras = run(ConsoleStyle::default());
    assert!(keras.contains("\x1b[1m3/3\x1b[0m \x1b[32m") && keras.contains("\x08\r"), "{keras:?}");
    let plain = run(ConsoleStyle { color: false, backspaces: false });
    assert!(plain.starts_with("Epoch 1/2\n\r1/3 \u{2501}"), "{plain:?}");
    assert!(!plain.contains('\x1b') && !plain.contains('\x08'), "{plain:?}");
    assert_eq!(plain.matches("\nEpoch 2/2\n").count(), 1);
    assert!(plain.contains("\r3/3 \u{2501}"), "{plain:?}");
}

/// Drives a callback through `on_train_begin`, `on_epoch_end(val_loss = seq[e])` until it
/// stops training, and `on_train_end`; returns (epochs run, console output, model).
fn drive(
    cb: &mut dyn Callback<f32>,
    seq: &[f64],
    model: &mut Model<f32>,
    mut each: impl FnMut(usize, &mut Model<f32>, f64),
) -> (usize, String) {
    let mut host = StringHost::default();
    let params = Params { epochs: seq.len(), ..Default::default() };
    let mut run = 0;
    {
        let mut cx = Ctx { model, host: &mut host, params: &params, stop_training: false, iterations: 0 };
        cb.on_train_begin(&mut cx, &mut Logs::new()).unwrap();
        for (e, v) in seq.iter().enumerate() {
            let before = cx.learning_rate().unwrap();
            cb.on_epoch_end(&mut cx, e, &mut Logs::sorted(vec![("val_loss".to_string(), *v)])).unwrap();
            run += 1;
            each(e, cx.model, before);
            if cx.stop_training {
                break;
            }
        }
        cb.on_train_end(&mut cx, &mut Logs::new()).unwrap();
    }
    (run, host.out)
}

#[test]
fn early_stopping_matches_keras_traces() {
    let r = reference("early_stopping.json");
    let seq: Vec<f64> = r["seq"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let cases = [
        ("patience5", r#"{"patience": 5, "verbose": 1}"#),
        ("patience0", r#"{"patience": 0, "verbose": 1}"#),
        ("patience5_min_delta0.02", r#"{"patience": 5, "min_delta": 0.02, "verbose": 1}"#),
        ("patience2_baseline0.75", r#"{"patience": 2, "baseline": 0.75, "verbose": 1}"#),
        ("patience2_start_from_epoch4", r#"{"patience": 2, "start_from_epoch": 4, "verbose": 1}"#),
    ];
    for (name, spec) in cases {
        let want = &r["results"][name];
        let mut es = EarlyStopping::<f32>::new(serde_json::from_str(spec).unwrap());
        let mut model = tiny_model(0.001);
        let (run, out) = drive(&mut es, &seq, &mut model, |_, _, _| {});
        assert_eq!(run as u64, want["epochs_run"].as_u64().unwrap(), "{name}: epochs run");
        assert_eq!(es.stopped_epoch as u64, want["stopped_epoch"].as_u64().unwrap(), "{name}");
        assert_eq!(es.best, want["best"].as_f64(), "{name}: best");
        assert_eq!(es.best_epoch as u64, want["best_epoch"].as_u64().unwrap(), "{name}: best epoch");
        assert_eq!(out, want["stdout"].as_str().unwrap(), "{name}: output");
    }
}

#[test]
fn early_stopping_restores_the_best_weights() {
    let mut es = EarlyStopping::<f32>::new(
        serde_json::from_str(r#"{"patience": 1, "restore_best_weights": true, "verbose": 1}"#).unwrap(),
    );
    let mut model = tiny_model(0.001);
    let mut at_best = Vec::new();
    let seq = [1.0, 0.5, 0.7, 0.8];
    // the weights change every epoch; train end must put back those of epoch 2 (index 1)
    let (_, out) = drive(&mut es, &seq, &mut model, |e, m, _| {
        if e == 1 {
            at_best = m.get_weights()[0].3.clone();
        }
        let next: Vec<(Vec<usize>, Vec<f32>)> =
            m.get_weights().into_iter().map(|(_, _, s, v)| (s, v.iter().map(|x| x + 1.0).collect())).collect();
        m.set_weights(&next).unwrap();
    });
    assert!(out.ends_with("Restoring model weights from the end of the best epoch: 2.\n"), "{out}");
    assert_eq!(model.get_weights()[0].3, at_best);
}

#[test]
fn reduce_lr_on_plateau_matches_keras_traces() {
    let r = reference("reduce_lr.json");
    let seq: Vec<f64> = r["seq"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let cases = [
        ("patience2", r#"{"factor": 0.5, "patience": 2, "verbose": 1}"#),
        ("patience2_cooldown2", r#"{"factor": 0.5, "patience": 2, "cooldown": 2, "verbose": 1}"#),
        ("patience2_minlr", r#"{"factor": 0.5, "patience": 2, "min_lr": 5e-5, "verbose": 1}"#),
    ];
    for (name, spec) in cases {
        let want = &r["results"][name];
        let mut cb = ReduceLrOnPlateau::new(serde_json::from_str(spec).unwrap()).unwrap();
        let mut model = tiny_model(0.001);
        let mut trace = Vec::new();
        let (_, out) = drive(&mut cb, &seq, &mut model, |e, m, before| {
            let after = m.compiled.as_ref().unwrap().optimizer.learning_rate();
            trace.push((e, before, after));
        });
        let want_trace: Vec<(usize, f64, f64)> = want["lr_trace"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t[0].as_u64().unwrap() as usize, t[1].as_f64().unwrap(), t[2].as_f64().unwrap()))
            .collect();
        assert_eq!(trace, want_trace, "{name}: learning-rate trace");
        assert_eq!(out, want["stdout"].as_str().unwrap(), "{name}: output");
    }
    assert!(ReduceLrOnPlateau::new(serde_json::from_str(r#"{"factor": 1.0}"#).unwrap()).is_err());
}

#[test]
fn terminate_on_nan_stops_after_the_bad_batch_and_the_epoch_is_still_logged() {
    let mut model = tiny_model(1e30);
    let (mut x, y) = data(64);
    x.data[30] = f32::NAN; // row 10: the second batch of 8
    let mut train = ArraySource::new(vec![&x], vec![&y], None, 0..64, 8, false);
    let mut host = StringHost::default();
    let cbs: Vec<Box<dyn Callback<f32>>> = vec![Box::new(TerminateOnNan)];
    let out = fit(&mut model, &mut train, None, cbs, &mut host, &FitConfig { epochs: 5, ..Default::default() });
    assert_eq!(host.out, "Batch 1: Invalid loss, terminating training\n");
    assert_eq!(out.history.epochs, vec![0]);
    assert!(out.history.metrics.iter().any(|(k, v)| k == "loss" && !v[0].is_finite()));
}
