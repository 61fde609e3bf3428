//! `callback_learning_rate_scheduler()`: Keras 3 `LearningRateScheduler`. The schedule is a
//! closure (the binding wraps the user's R function `schedule(epoch, lr)`, epoch 0-based).

use super::reduce_lr::py_repr;
use super::{Callback, Ctx, Halt, HookResult, Logs};
use crate::Real;

pub struct LearningRateScheduler<F> {
    schedule: F,
    verbose: u8,
}

impl<F: FnMut(usize, f64) -> Result<f64, Halt>> LearningRateScheduler<F> {
    pub fn new(schedule: F, verbose: u8) -> Self {
        LearningRateScheduler { schedule, verbose }
    }
}

impl<T: Real, F: FnMut(usize, f64) -> Result<f64, Halt>> Callback<T> for LearningRateScheduler<F> {
    fn on_epoch_begin(&mut self, cx: &mut Ctx<T>, epoch: usize, _logs: &mut Logs) -> HookResult {
        let lr = cx.learning_rate().ok_or_else(|| Halt::Error("model is not compiled".into()))?;
        // the schedule may read the model (an R function that saves it): lend it
        let new = crate::paused::paused(cx.model, || (self.schedule)(epoch, lr))?;
        if !new.is_finite() {
            return Err(Halt::Error(format!(
                "callback_learning_rate_scheduler(): the schedule must return a finite number, got {new}"
            )));
        }
        cx.set_learning_rate(new);
        if self.verbose > 0 {
            cx.host.print(&format!(
                "\nEpoch {}: LearningRateScheduler setting learning rate to {}.\n",
                epoch + 1,
                py_repr(new)
            ));
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, cx: &mut Ctx<T>, _epoch: usize, logs: &mut Logs) -> HookResult {
        if let Some(lr) = cx.learning_rate() {
            logs.insert("learning_rate", lr);
        }
        Ok(())
    }
}
