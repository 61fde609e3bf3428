//! `callback_reduce_lr_on_plateau()`: Keras 3 `ReduceLROnPlateau`, state machine exactly.

use super::early_stopping::{auto, val_loss};
use super::{improves, monitor_maximizes, Callback, Ctx, Halt, HookResult, Logs};
use crate::Real;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReduceLrSpec {
    #[serde(default = "val_loss")]
    pub monitor: String,
    #[serde(default = "factor")]
    pub factor: f64,
    #[serde(default = "patience")]
    pub patience: usize,
    #[serde(default)]
    pub verbose: u8,
    #[serde(default = "auto")]
    pub mode: String,
    #[serde(default = "min_delta")]
    pub min_delta: f64,
    #[serde(default)]
    pub cooldown: usize,
    #[serde(default)]
    pub min_lr: f64,
}

fn factor() -> f64 {
    0.1
}
fn patience() -> usize {
    10
}
fn min_delta() -> f64 {
    1e-4
}

pub struct ReduceLrOnPlateau {
    spec: ReduceLrSpec,
    maximize: bool,
    best: Option<f64>,
    cooldown_counter: usize,
    wait: usize,
}

impl ReduceLrOnPlateau {
    pub fn new(spec: ReduceLrSpec) -> Result<Self, String> {
        if spec.factor >= 1.0 {
            return Err(format!("ReduceLROnPlateau does not support a factor >= 1.0. Received factor={}", spec.factor));
        }
        let maximize = monitor_maximizes(&spec.monitor, &spec.mode);
        Ok(ReduceLrOnPlateau { spec, maximize, best: None, cooldown_counter: 0, wait: 0 })
    }
}

/// Python `repr` of a float, as Keras prints learning rates.
pub fn py_repr(v: f64) -> String {
    crate::csv_log::python_float_repr(v)
}

impl<T: Real> Callback<T> for ReduceLrOnPlateau {
    fn state(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("wait", self.wait as f64),
            ("best", super::best_or_start(self.best, self.maximize)),
            ("cooldown_counter", self.cooldown_counter as f64),
        ]
    }

    fn on_train_begin(&mut self, _cx: &mut Ctx<T>, _logs: &mut Logs) -> HookResult {
        self.best = None;
        self.cooldown_counter = 0;
        self.wait = 0;
        Ok(())
    }

    fn on_epoch_end(&mut self, cx: &mut Ctx<T>, epoch: usize, logs: &mut Logs) -> HookResult {
        let lr = cx.learning_rate().ok_or_else(|| Halt::Error("model is not compiled".into()))?;
        logs.insert("learning_rate", lr);
        let Some(current) = logs.get(&self.spec.monitor) else {
            let avail: Vec<&str> = logs.keys().collect();
            cx.host.warn(&format!(
                "Learning rate reduction is conditioned on metric `{}` which is not available. Available metrics are: {}",
                self.spec.monitor,
                avail.join(",")
            ));
            return Ok(());
        };
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if improves(current, self.best, self.spec.min_delta, self.maximize) {
            self.best = Some(current);
            self.wait = 0;
        } else if self.cooldown_counter == 0 {
            self.wait += 1;
            if self.wait >= self.spec.patience {
                let old = lr;
                if old > self.spec.min_lr as f32 as f64 {
                    let new = (old * self.spec.factor).max(self.spec.min_lr);
                    cx.set_learning_rate(new);
                    if self.spec.verbose > 0 {
                        cx.host.print(&format!(
                            "\nEpoch {}: ReduceLROnPlateau reducing learning rate to {}.\n",
                            epoch + 1,
                            py_repr(new)
                        ));
                    }
                    self.cooldown_counter = self.spec.cooldown;
                    self.wait = 0;
                }
            }
        }
        Ok(())
    }
}
