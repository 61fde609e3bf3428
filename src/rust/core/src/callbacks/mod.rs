//! Callbacks with Keras hook order over one shared, sorted logs map.
//!
//! The training loop calls each hook on every callback in list order before the next hook
//! starts, with one shared [`Logs`] map: a key a callback adds is seen by those after it.

mod checkpoint;
mod csv;
mod early_stopping;
mod history;
mod logs;
mod lr_scheduler;
mod progbar;
pub mod pyformat;
mod reduce_lr;
mod remote_monitor;
mod spec;
mod tensorboard;
mod terminate_nan;
#[cfg(test)]
pub(crate) mod tests;

pub use checkpoint::{save_file, write_atomic, ModelCheckpoint};
pub use early_stopping::EarlyStopping;
pub use history::History;
pub use logs::Logs;
pub use lr_scheduler::LearningRateScheduler;
pub use progbar::ProgbarLogger;
pub use reduce_lr::ReduceLrOnPlateau;
pub use remote_monitor::RemoteMonitor;
pub use spec::CallbackSpec;
pub use tensorboard::{TensorBoard, TensorBoardSpec, UpdateFreq};
pub use terminate_nan::TerminateOnNan;

use crate::model::Model;
use crate::Real;

/// Why the loop must stop now (besides a normal end or `stop_training`).
#[derive(Debug, Clone, PartialEq)]
pub enum Halt {
    /// A plain error with its message (bad batch, I/O failure...).
    Error(String),
    /// An R condition raised in user code; the binding holds the condition itself.
    RCondition(String),
    /// Esc / Ctrl-C.
    Interrupt,
}

pub type HookResult = Result<(), Halt>;

/// What a running fit looks like to callbacks (Keras `params`).
#[derive(Clone, Debug, Default)]
pub struct Params {
    pub epochs: usize,
    /// Batches per epoch, when known.
    pub steps: Option<usize>,
    pub verbose: u8,
    pub samples: Option<usize>,
    pub batch_size: Option<usize>,
    pub validation_samples: Option<usize>,
    pub do_validation: bool,
}

/// Where text goes and how interrupts are seen: R's console in the package, a string in tests.
pub trait Host {
    fn print(&mut self, text: &str);
    /// A warning for the user (R raises it as a warning once the call returns).
    fn warn(&mut self, message: &str) {
        self.print(&format!("Warning: {message}\n"));
    }
    /// True once the user pressed Esc / Ctrl-C. Called on the thread that runs the loop.
    fn interrupted(&mut self) -> bool {
        false
    }
    /// Seconds on a monotonic clock.
    fn now(&self) -> f64;
    /// What the console can show (colours, backspaces); progress bars follow it.
    fn console_style(&self) -> crate::progress::ConsoleStyle {
        crate::progress::ConsoleStyle::default()
    }
}

/// A host that records output, for tests.
#[derive(Default)]
pub struct StringHost {
    pub out: String,
    pub start: Option<std::time::Instant>,
    /// What the recorded console can show (default: Keras' bytes).
    pub style: crate::progress::ConsoleStyle,
}

impl Host for StringHost {
    fn print(&mut self, text: &str) {
        self.out.push_str(text);
    }
    fn now(&self) -> f64 {
        self.start.map_or(0.0, |s| s.elapsed().as_secs_f64())
    }
    fn console_style(&self) -> crate::progress::ConsoleStyle {
        self.style
    }
}

/// What a hook can reach: the model (weights, learning rate), the console, and the stop flag.
pub struct Ctx<'a, T: Real> {
    pub model: &'a mut Model<T>,
    pub host: &'a mut dyn Host,
    pub params: &'a Params,
    pub stop_training: bool,
    /// Training batches run so far in this fit (the optimizer's iterations).
    pub iterations: u64,
}

impl<T: Real> Ctx<'_, T> {
    pub fn learning_rate(&self) -> Option<f64> {
        self.model.compiled.as_ref().map(|c| c.optimizer.learning_rate())
    }
    pub fn set_learning_rate(&mut self, lr: f64) {
        if let Some(c) = self.model.compiled.as_mut() {
            c.optimizer.set_learning_rate(lr);
        }
    }
}

/// A Keras callback. Epoch and batch indices are 0-based here; R adapters add 1.
#[allow(unused_variables)]
pub trait Callback<T: Real> {
    fn on_train_begin(&mut self, cx: &mut Ctx<T>, logs: &mut Logs) -> HookResult {
        Ok(())
    }
    fn on_train_end(&mut self, cx: &mut Ctx<T>, logs: &mut Logs) -> HookResult {
        Ok(())
    }
    fn on_epoch_begin(&mut self, cx: &mut Ctx<T>, epoch: usize, logs: &mut Logs) -> HookResult {
        Ok(())
    }
    fn on_epoch_end(&mut self, cx: &mut Ctx<T>, epoch: usize, logs: &mut Logs) -> HookResult {
        Ok(())
    }
    fn on_train_batch_begin(&mut self, cx: &mut Ctx<T>, batch: usize, logs: &mut Logs) -> HookResult {
        Ok(())
    }
    fn on_train_batch_end(&mut self, cx: &mut Ctx<T>, batch: usize, logs: &mut Logs) -> HookResult {
        Ok(())
    }
    fn on_test_begin(&mut self, cx: &mut Ctx<T>, logs: &mut Logs) -> HookResult {
        Ok(())
    }
    fn on_test_end(&mut self, cx: &mut Ctx<T>, logs: &mut Logs) -> HookResult {
        Ok(())
    }
    fn on_test_batch_begin(&mut self, cx: &mut Ctx<T>, batch: usize, logs: &mut Logs) -> HookResult {
        Ok(())
    }
    fn on_test_batch_end(&mut self, cx: &mut Ctx<T>, batch: usize, logs: &mut Logs) -> HookResult {
        Ok(())
    }
    fn on_predict_begin(&mut self, cx: &mut Ctx<T>, logs: &mut Logs) -> HookResult {
        Ok(())
    }
    fn on_predict_end(&mut self, cx: &mut Ctx<T>, logs: &mut Logs) -> HookResult {
        Ok(())
    }
    fn on_predict_batch_begin(&mut self, cx: &mut Ctx<T>, batch: usize, logs: &mut Logs) -> HookResult {
        Ok(())
    }
    fn on_predict_batch_end(&mut self, cx: &mut Ctx<T>, batch: usize, logs: &mut Logs) -> HookResult {
        Ok(())
    }
    /// Called when a run ends early with an error or interrupt, after `on_train_end`
    /// (or instead of it when the error happened before training began). Close files here.
    fn on_abort(&mut self) {}
    /// The callback's state after a run, as Keras exposes it on the callback object
    /// (`es$stopped_epoch`, `$best`, `$wait`): name and value pairs.
    fn state(&self) -> Vec<(&'static str, f64)> {
        Vec::new()
    }
}

/// Keras' `best` before any epoch: +inf when the monitor is minimized, -inf when maximized.
pub(crate) fn best_or_start(best: Option<f64>, maximize: bool) -> f64 {
    best.unwrap_or(if maximize { f64::NEG_INFINITY } else { f64::INFINITY })
}

/// A hook, for dispatching over the list.
#[derive(Clone, Copy, Debug)]
pub enum Hook {
    TrainBegin,
    TrainEnd,
    EpochBegin(usize),
    EpochEnd(usize),
    TrainBatchBegin(usize),
    TrainBatchEnd(usize),
    TestBegin,
    TestEnd,
    TestBatchBegin(usize),
    TestBatchEnd(usize),
    PredictBegin,
    PredictEnd,
    PredictBatchBegin(usize),
    PredictBatchEnd(usize),
}

/// Calls `hook` on every callback in order with the one shared logs map.
pub fn dispatch<T: Real>(
    cbs: &mut [Box<dyn Callback<T> + '_>],
    cx: &mut Ctx<T>,
    hook: Hook,
    logs: &mut Logs,
) -> HookResult {
    for cb in cbs.iter_mut() {
        match hook {
            Hook::TrainBegin => cb.on_train_begin(cx, logs),
            Hook::TrainEnd => cb.on_train_end(cx, logs),
            Hook::EpochBegin(e) => cb.on_epoch_begin(cx, e, logs),
            Hook::EpochEnd(e) => cb.on_epoch_end(cx, e, logs),
            Hook::TrainBatchBegin(b) => cb.on_train_batch_begin(cx, b, logs),
            Hook::TrainBatchEnd(b) => cb.on_train_batch_end(cx, b, logs),
            Hook::TestBegin => cb.on_test_begin(cx, logs),
            Hook::TestEnd => cb.on_test_end(cx, logs),
            Hook::TestBatchBegin(b) => cb.on_test_batch_begin(cx, b, logs),
            Hook::TestBatchEnd(b) => cb.on_test_batch_end(cx, b, logs),
            Hook::PredictBegin => cb.on_predict_begin(cx, logs),
            Hook::PredictEnd => cb.on_predict_end(cx, logs),
            Hook::PredictBatchBegin(b) => cb.on_predict_batch_begin(cx, b, logs),
            Hook::PredictBatchEnd(b) => cb.on_predict_batch_end(cx, b, logs),
        }?;
    }
    Ok(())
}

/// Monitor direction shared by EarlyStopping, ReduceLROnPlateau and ModelCheckpoint
/// (Keras 3 `MonitorCallback`): `"auto"` is "min" for losses and error metrics, "max" for
/// accuracy-type metrics and AUC.
pub fn monitor_maximizes(monitor: &str, mode: &str) -> bool {
    match mode {
        "min" => false,
        "max" => true,
        _ => {
            let base = monitor.strip_prefix("val_").unwrap_or(monitor);
            base.ends_with("acc")
                || base.ends_with("accuracy")
                || base.ends_with("auc")
                || base.starts_with("precision")
                || base.starts_with("recall")
        }
    }
}

/// Strict improvement with `min_delta` as Keras tests it; `best = None` always improves.
pub fn improves(current: f64, best: Option<f64>, min_delta: f64, maximize: bool) -> bool {
    match best {
        None => true,
        Some(b) => {
            let d = min_delta.abs();
            if maximize {
                current - d > b
            } else {
                current + d < b
            }
        }
    }
}
