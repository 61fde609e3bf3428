//! `callback_early_stopping()`: Keras 3 `EarlyStopping`, state machine and messages exactly.

use super::{improves, monitor_maximizes, Callback, Ctx, HookResult, Logs};
use crate::Real;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStoppingSpec {
    #[serde(default = "val_loss")]
    pub monitor: String,
    #[serde(default)]
    pub min_delta: f64,
    #[serde(default)]
    pub patience: usize,
    #[serde(default)]
    pub verbose: u8,
    #[serde(default = "auto")]
    pub mode: String,
    #[serde(default)]
    pub baseline: Option<f64>,
    #[serde(default)]
    pub restore_best_weights: bool,
    #[serde(default)]
    pub start_from_epoch: usize,
}

pub(crate) fn val_loss() -> String {
    "val_loss".into()
}
pub(crate) fn auto() -> String {
    "auto".into()
}

pub struct EarlyStopping<T> {
    spec: EarlyStoppingSpec,
    maximize: bool,
    wait: usize,
    pub stopped_epoch: usize,
    pub best: Option<f64>,
    pub best_epoch: usize,
    best_weights: Option<Vec<(Vec<usize>, Vec<T>)>>,
}

impl<T: Real> EarlyStopping<T> {
    pub fn new(spec: EarlyStoppingSpec) -> Self {
        let maximize = monitor_maximizes(&spec.monitor, &spec.mode);
        EarlyStopping { spec, maximize, wait: 0, stopped_epoch: 0, best: None, best_epoch: 0, best_weights: None }
    }

    fn snapshot(cx: &Ctx<T>) -> Vec<(Vec<usize>, Vec<T>)> {
        cx.model.get_weights().into_iter().map(|(_, _, s, v)| (s, v)).collect()
    }
}

impl<T: Real> Callback<T> for EarlyStopping<T> {
    fn state(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("wait", self.wait as f64),
            ("stopped_epoch", self.stopped_epoch as f64),
            ("best", super::best_or_start(self.best, self.maximize)),
            ("best_epoch", self.best_epoch as f64),
            ("patience", self.spec.patience as f64),
            ("min_delta", self.spec.min_delta),
        ]
    }

    fn on_train_begin(&mut self, _cx: &mut Ctx<T>, _logs: &mut Logs) -> HookResult {
        self.wait = 0;
        self.stopped_epoch = 0;
        self.best = None;
        self.best_weights = None;
        self.best_epoch = 0;
        Ok(())
    }

    fn on_epoch_end(&mut self, cx: &mut Ctx<T>, epoch: usize, logs: &mut Logs) -> HookResult {
        let Some(current) = logs.get(&self.spec.monitor) else {
            let avail: Vec<&str> = logs.keys().collect();
            cx.host.warn(&format!(
                "Early stopping conditioned on metric `{}` which is not available. Available metrics are: {}",
                self.spec.monitor,
                avail.join(",")
            ));
            return Ok(());
        };
        if epoch < self.spec.start_from_epoch {
            return Ok(());
        }
        if self.spec.restore_best_weights && self.best_weights.is_none() {
            self.best_weights = Some(Self::snapshot(cx));
            self.best_epoch = epoch;
        }
        self.wait += 1;
        if improves(current, self.best, self.spec.min_delta, self.maximize) {
            self.best = Some(current);
            self.best_epoch = epoch;
            if self.spec.restore_best_weights {
                self.best_weights = Some(Self::snapshot(cx));
            }
            if self.spec.baseline.is_none() || improves(current, self.spec.baseline, self.spec.min_delta, self.maximize)
            {
                self.wait = 0;
            }
            return Ok(());
        }
        if self.wait >= self.spec.patience && epoch > 0 {
            self.stopped_epoch = epoch;
            cx.stop_training = true;
        }
        Ok(())
    }

    fn on_train_end(&mut self, cx: &mut Ctx<T>, _logs: &mut Logs) -> HookResult {
        if self.stopped_epoch > 0 && self.spec.verbose > 0 {
            cx.host.print(&format!("Epoch {}: early stopping\n", self.stopped_epoch + 1));
        }
        if self.spec.restore_best_weights {
            if let Some(w) = self.best_weights.take() {
                if self.spec.verbose > 0 {
                    cx.host.print(&format!(
                        "Restoring model weights from the end of the best epoch: {}.\n",
                        self.best_epoch + 1
                    ));
                }
                cx.model.set_weights(&w).map_err(super::Halt::Error)?;
            }
        }
        Ok(())
    }
}
