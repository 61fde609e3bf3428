//! `callback_terminate_on_naan()`: stops when a training batch's loss is NaN or infinite.

use super::{Callback, Ctx, HookResult, Logs};
use crate::Real;

#[derive(Default)]
pub struct TerminateOnNan;

impl<T: Real> Callback<T> for TerminateOnNan {
    fn on_train_batch_end(&mut self, cx: &mut Ctx<T>, batch: usize, logs: &mut Logs) -> HookResult {
        if let Some(loss) = logs.get("loss") {
            if !loss.is_finite() {
                cx.host.print(&format!("Batch {}: Invalid loss, terminating training\n", batch));
                cx.stop_training = true;
            }
        }
        Ok(())
    }
}
